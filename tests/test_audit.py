"""Every write a service performs appends its audit event, in the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import AuditEvent, CollectionCase, Role
from tui_desk.rules.profile import load_profile
from tui_desk.services import agents
from tui_desk.services.context import Context
from tui_desk.services.personal import reveal
from tui_desk.worker.registry import default_jobs
from tui_desk.worker.runtime import Worker

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def events_after(db: Database, last_id: int) -> list[Row[Any]]:
    with db.read() as s:
        return list(
            s.execute(
                select(
                    AuditEvent.id,
                    AuditEvent.occurred_at,
                    AuditEvent.agent_id,
                    AuditEvent.action,
                    AuditEvent.entity,
                    AuditEvent.entity_id,
                    AuditEvent.case_id,
                    AuditEvent.before,
                    AuditEvent.after,
                )
                .where(AuditEvent.id > last_id)
                .order_by(AuditEvent.id)
            )
        )


def last_event_id(db: Database) -> int:
    events = events_after(db, 0)
    return int(events[-1].id) if events else 0


def test_adding_an_agent_is_audited(db: Database) -> None:
    mark = last_event_id(db)
    root = agents.add_agent(db, "root", "Root", Role.ADMIN, now=NOW, profile=load_profile())
    [by_system] = events_after(db, mark)
    assert (by_system.action, by_system.entity, by_system.entity_id) == (
        "agent.add",
        "agent",
        root.id,
    )
    assert by_system.agent_id is None  # added from the host's shell
    assert by_system.occurred_at == NOW

    admin = agents.resolve_actor(db, "root")
    mark = by_system.id
    bob = agents.add_agent(
        db, "bob", "Bob", Role.OPERATOR, actor=admin, now=NOW, profile=load_profile()
    )
    [by_admin] = events_after(db, mark)
    assert (by_admin.action, by_admin.entity_id, by_admin.agent_id) == (
        "agent.add",
        bob.id,
        admin.id,
    )
    assert by_admin.after == {"login": "bob", "name": "Bob", "role": "operator"}


def test_deactivating_and_activating_an_agent_is_audited(db: Database) -> None:
    agents.add_agent(db, "root", "Root", Role.ADMIN, now=NOW, profile=load_profile())
    admin = agents.resolve_actor(db, "root")
    bob = agents.add_agent(
        db, "bob", "Bob", Role.OPERATOR, actor=admin, now=NOW, profile=load_profile()
    )
    mark = last_event_id(db)

    agents.set_active(db, "bob", False, actor=admin, now=NOW)
    agents.set_active(db, "bob", True, actor=admin, now=NOW)
    events = events_after(db, mark)
    assert [(e.action, e.entity_id, e.agent_id, e.before, e.after) for e in events] == [
        ("agent.deactivate", bob.id, admin.id, {"active": True}, {"active": False}),
        ("agent.activate", bob.id, admin.id, {"active": False}, {"active": True}),
    ]


def test_revealing_personal_data_is_audited(db: Database) -> None:
    make = Factory(db, now=NOW)
    borrower = make.borrower()
    case_id = make.case(borrower_id=borrower)
    phone = make.phone_ids(borrower)[0]
    agents.add_agent(db, "ann", "Ann", Role.OPERATOR, now=NOW, profile=load_profile())
    ann = agents.resolve_actor(db, "ann")
    mark = last_event_id(db)

    reveal(Context.frozen(db, ann, NOW, load_profile()), borrower, "id_number")
    reveal(Context.frozen(db, ann, NOW, load_profile()), borrower, "phone", phone)
    events = events_after(db, mark)
    assert [(e.action, e.entity, e.entity_id, e.case_id, e.agent_id) for e in events] == [
        ("personal.reveal", "borrower", borrower, case_id, ann.id),
        ("personal.reveal", "phone", phone, case_id, ann.id),
    ]


def test_the_worker_job_audits_its_batch_once(db: Database) -> None:
    make = Factory(db, now=NOW)
    cases = [make.case(priority=0, overdue_days=d) for d in (5, 50, 500)]
    mark = last_event_id(db)

    worker = Worker(db, default_jobs(), clock=lambda: NOW)
    assert worker.tick().ran_names == (
        "priority_refresh",
        "broken_promises",
        "missed_instalments",
        "ledger_figures",  # nothing to correct: no write, no event
        "missed_follow_ups",
        "strategies",  # no event stands on these cases: nothing fired, nothing written
        "sms_sender",
        "hold_expiry",  # no hold has an end date here: nothing written
        "stale_states",  # no agent state is open: nothing written
        "board_snapshot",  # writes the board's own table, not audited (no business write)
    )

    [event] = events_after(db, mark)
    assert (event.action, event.entity, event.agent_id) == (
        "priority.refresh",
        "collection_case",
        None,
    )
    assert event.after is not None
    assert (event.after["scanned"], event.after["changed"]) == (3, 3)
    with db.read() as s:
        priorities = s.scalars(select(CollectionCase.priority).where(CollectionCase.id.in_(cases)))
        assert all(p > 0 for p in priorities)
