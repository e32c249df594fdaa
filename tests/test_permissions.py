"""Roles x actions: the matrix as the business wrote it, and its enforcement in services."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, AuditEvent, Role
from tui_desk.rules import permissions
from tui_desk.rules.permissions import Action, allowed
from tui_desk.rules.profile import load_profile
from tui_desk.services import agents
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, PermissionDenied, ServiceError
from tui_desk.services.personal import reveal

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)

# Written out by hand, not derived from MATRIX: a change to the matrix must be a
# deliberate change here too.                     operator collector supervisor admin
EXPECTED: dict[Action, tuple[bool, bool, bool, bool]] = {
    Action.WORK_CASES: (True, True, True, True),
    Action.OVERRIDE_CONTACT_RULE: (False, False, True, True),
    Action.OVERRIDE_BOOKING_RULE: (False, False, True, True),
    Action.APPROVE_ADJUSTMENT: (False, False, True, True),
    Action.APPROVE_ABOVE_MEANS: (False, False, True, True),
    Action.WAIVE_ABOVE_LIMIT: (False, False, True, True),
    Action.RESTORE_FROM_ARCHIVE: (False, False, True, True),
    Action.REVEAL_PERSONAL_DATA: (True, True, True, True),
    Action.REASSIGN: (False, False, True, True),
    Action.RELEASE_LEASE: (False, False, True, True),
    Action.WRITE_LEASED_CASE: (False, False, True, True),
    Action.EDIT_TEMPLATES: (False, False, True, True),
    Action.RELEASE_HOLD: (False, False, True, True),
    Action.MANAGE_AGENTS: (False, False, True, True),
    Action.MANAGE_ADMINS: (False, False, False, True),
    Action.RUN_REPORTS: (False, False, True, True),
    Action.IMPORT_DATA: (False, False, False, True),
    Action.RECORD_VISIT_REPORT: (True, True, True, True),
    Action.VIEW_BOARD: (False, False, True, True),
    Action.MANAGE_CREDIT: (False, False, True, True),
}
ROLES = (Role.OPERATOR, Role.COLLECTOR, Role.SUPERVISOR, Role.ADMIN)


def test_the_expected_table_covers_every_role_and_action() -> None:
    assert set(EXPECTED) == set(Action)
    assert set(ROLES) == set(Role)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(Action))
def test_matrix_allows_exactly_the_expected(role: Role, action: Action) -> None:
    expected = EXPECTED[action][ROLES.index(role)]
    assert allowed(role, action) is expected
    actor = Actor(id=1, login="someone", name="Someone", role=role)
    assert actor.can(action) is expected
    if expected:
        actor.require(action)
    else:
        with pytest.raises(PermissionDenied):
            actor.require(action)


def test_refusal_names_the_role_the_login_and_the_action() -> None:
    actor = Actor(id=7, login="ann", name="Ann", role=Role.OPERATOR)
    with pytest.raises(PermissionDenied) as refused:
        actor.require(Action.MANAGE_AGENTS)
    assert str(refused.value) == "operator ann may not manage agents"


# --- enforced in services ---------------------------------------------------------------


def _actor(db: Database, login: str, role: Role) -> Actor:
    agents.add_agent(db, login, login.title(), role, now=NOW, profile=load_profile())
    return agents.resolve_actor(db, login)


def _audit_count(db: Database, action: str | None = None) -> int:
    query = select(func.count()).select_from(AuditEvent)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    with db.read() as s:
        return int(s.scalar(query) or 0)


def test_operator_reveals_personal_data_and_it_is_audited(db: Database) -> None:
    make = Factory(db, now=NOW)
    borrower = make.borrower(
        id_number="11010519491231002X", address="北京市朝阳区建国路88号3单元1201室"
    )
    case_id = make.case(borrower_id=borrower)
    phone = make.phone_ids(borrower)[0]
    ann = _actor(db, "ann", Role.OPERATOR)

    assert (
        reveal(Context.frozen(db, ann, NOW, load_profile()), borrower, "id_number")
        == "11010519491231002X"
    )
    assert (
        reveal(Context.frozen(db, ann, NOW, load_profile()), borrower, "address")
        == "北京市朝阳区建国路88号3单元1201室"
    )
    full_phone = reveal(Context.frozen(db, ann, NOW, load_profile()), borrower, "phone", phone)
    assert full_phone.startswith("+86138")

    with db.read() as s:
        events = s.execute(
            select(
                AuditEvent.agent_id,
                AuditEvent.entity,
                AuditEvent.entity_id,
                AuditEvent.case_id,
                AuditEvent.summary,
                AuditEvent.after,
            )
            .where(AuditEvent.action == "personal.reveal")
            .order_by(AuditEvent.id)
        ).all()
    assert [(e.agent_id, e.entity, e.entity_id, e.case_id) for e in events] == [
        (ann.id, "borrower", borrower, case_id),
        (ann.id, "borrower", borrower, case_id),
        (ann.id, "phone", phone, case_id),
    ]
    assert [e.after["field"] for e in events] == ["id_number", "address", "phone"]
    for event in events:
        text = f"{event.summary} {event.after}"
        assert "11010519491231002X" not in text
        assert "建国路" not in text
        assert full_phone not in text and full_phone[3:] not in text


def test_reveal_is_refused_without_the_permission(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every role may reveal today; a role without it must be refused by the service.
    make = Factory(db, now=NOW)
    borrower = make.borrower(id_number="11010519491231002X")
    carl = _actor(db, "carl", Role.COLLECTOR)
    monkeypatch.setitem(
        permissions.MATRIX,
        Role.COLLECTOR,
        permissions.MATRIX[Role.COLLECTOR] - {Action.REVEAL_PERSONAL_DATA},
    )
    before = _audit_count(db)
    with pytest.raises(PermissionDenied, match="collector carl may not reveal personal data"):
        reveal(Context.frozen(db, carl, NOW, load_profile()), borrower, "id_number")
    assert _audit_count(db) == before


def test_reveal_checks_what_it_is_asked_for(db: Database) -> None:
    make = Factory(db, now=NOW)
    borrower = make.borrower()
    other = make.borrower()
    others_phone = make.phone_ids(other)[0]
    ann = _actor(db, "ann", Role.OPERATOR)
    before = _audit_count(db)

    with pytest.raises(NotFound):
        reveal(Context.frozen(db, ann, NOW, load_profile()), 999_999, "address")
    with pytest.raises(NotFound):
        reveal(Context.frozen(db, ann, NOW, load_profile()), borrower, "phone", others_phone)
    with pytest.raises(ServiceError):
        reveal(Context.frozen(db, ann, NOW, load_profile()), borrower, "phone")
    with pytest.raises(ServiceError):
        reveal(Context.frozen(db, ann, NOW, load_profile()), borrower, "address", others_phone)
    assert _audit_count(db) == before


def test_operator_cannot_manage_agents(db: Database) -> None:
    ann = _actor(db, "ann", Role.OPERATOR)
    before = _audit_count(db)
    with pytest.raises(PermissionDenied, match="operator ann may not manage agents"):
        agents.add_agent(
            db, "mallory", "Mallory", Role.ADMIN, actor=ann, now=NOW, profile=load_profile()
        )
    with pytest.raises(PermissionDenied):
        agents.set_active(db, "ann", False, actor=ann, now=NOW)
    with db.read() as s:
        assert s.scalar(select(Agent.id).where(Agent.login == "mallory")) is None
        assert s.scalar(select(Agent.active).where(Agent.login == "ann")) is True
    assert _audit_count(db) == before


def test_admin_manages_agents(db: Database) -> None:
    root = _actor(db, "root", Role.ADMIN)
    added = agents.add_agent(
        db, "bob", "Bob", Role.OPERATOR, actor=root, now=NOW, profile=load_profile()
    )
    assert added.role is Role.OPERATOR
    assert agents.set_active(db, "bob", False, actor=root, now=NOW).active is False
