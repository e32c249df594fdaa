"""Follow-ups on both engines: scheduling at signing, cancelling at payoff, the list, marking
done (owner or supervisor, a note, the next one while money is owed), the missed job."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Row, select, update

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    AgreementStatus,
    AuditEvent,
    CaseStatus,
    CollectionCase,
    FollowUp,
    FollowUpStatus,
    LoanAccount,
    Role,
)
from tui_desk.rules.profile import load_profile
from tui_desk.services.context import Actor, Context
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import PermissionDenied, ServiceError
from tui_desk.services.followups import (
    cancel_after_payoff,
    complete_follow_up,
    follow_up_list,
    mark_missed_follow_ups,
    reassign_follow_up,
    schedule_for_agreement,
    settle_missed_follow_ups,
)
from tui_desk.worker.registry import default_jobs
from tui_desk.worker.runtime import Worker

SH = ZoneInfo("Asia/Shanghai")
# Monday 2 March 2026, 10:00 in Beijing.
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SH).astimezone(dt.UTC)
TODAY = dt.date(2026, 3, 2)
CN = load_profile("cn")
D = dt.date


@dataclass
class World:
    db: Database
    make: Factory
    op: Actor
    other: Actor
    sup: Actor
    case_id: int
    agreement_id: int

    def schedule(
        self,
        effective_on: dt.date,
        payoff_on: dt.date,
        *,
        case_id: int | None = None,
        agreement_id: int | None = None,
        owner: Actor | None = None,
    ) -> list[int]:
        with self.db.write() as s:
            return schedule_for_agreement(
                s,
                case_id=case_id or self.case_id,
                agreement_id=agreement_id or self.agreement_id,
                effective_on=effective_on,
                payoff_on=payoff_on,
                owner_id=(owner or self.op).id,
                now=NOW,
                profile=CN,
            )

    def rows(self, case_id: int | None = None) -> list[FollowUp]:
        with self.db.read() as s:
            rows = list(
                s.scalars(
                    select(FollowUp)
                    .where(FollowUp.case_id == (case_id or self.case_id))
                    .order_by(FollowUp.due_on, FollowUp.id)
                )
            )
            s.expunge_all()
            return rows

    def set(self, follow_up_id: int, **values: Any) -> None:
        with self.db.write() as s:
            s.execute(update(FollowUp).where(FollowUp.id == follow_up_id).values(**values))


def audit_of(db: Database, action: str) -> list[Row[Any]]:
    with db.read() as s:
        return list(
            s.execute(
                select(AuditEvent.agent_id, AuditEvent.entity_id, AuditEvent.case_id, AuditEvent.after)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )  # fmt: skip


@pytest.fixture
def world(db: Database) -> World:
    make = Factory(db, now=NOW)

    def actor(role: Role, login: str, name: str) -> Actor:
        return Actor(make.agent(login=login, name=name, role=role), login, name, role)

    op = actor(Role.OPERATOR, "op", "王小明")
    other = actor(Role.OPERATOR, "other", "赵六")
    sup = actor(Role.SUPERVISOR, "sup", "周主管")
    case_id = make.case(name="欧阳娜娜", owner_id=op.id)
    agreement = make.agreement(
        case_id, created_by_id=op.id, status=AgreementStatus.SIGNED, signed=True
    )
    return World(db, make, op, other, sup, case_id, agreement)


# --- scheduling inside the signing transaction -------------------------------------------


def test_signing_schedules_the_follow_ups_for_the_owner(world: World) -> None:
    ids = world.schedule(D(2026, 1, 31), D(2026, 12, 31))
    rows = world.rows()
    assert [r.id for r in rows] == ids
    # Feb 28 2026 is an adjusted working Saturday; 11-28 is a Saturday -> Friday 11-27.
    assert [r.due_on for r in rows] == [D(2026, 2, 28), D(2026, 5, 28), D(2026, 8, 28), D(2026, 11, 27)]  # fmt: skip
    assert {(r.status, r.channel.value, r.owner_id, r.agreement_id) for r in rows} == {
        (FollowUpStatus.SCHEDULED, "phone", world.op.id, world.agreement_id)
    }
    # The caller audits; the helper writes no event of its own.
    assert audit_of(world.db, "follow_up.done") == []


def test_a_new_agreement_replaces_the_scheduled_follow_ups(world: World) -> None:
    first = world.schedule(TODAY, D(2027, 3, 2))
    world.set(first[0], status=FollowUpStatus.DONE, note="已回访", done_at=NOW)
    second = world.schedule(D(2026, 6, 1), D(2026, 12, 1), owner=world.other)
    by_id = {r.id: r for r in world.rows()}
    assert by_id[first[0]].status is FollowUpStatus.DONE  # history stays
    assert {by_id[i].status for i in first[1:]} == {FollowUpStatus.CANCELLED}
    assert [by_id[i].due_on for i in second] == [D(2026, 7, 1), D(2026, 9, 30)]
    assert {by_id[i].owner_id for i in second} == {world.other.id}


def test_payoff_cancels_only_the_scheduled_ones_after_it(world: World) -> None:
    ids = world.schedule(TODAY, D(2027, 3, 2))  # 04-02, 07-02, 10-02->09-30, 12-30
    world.set(ids[0], status=FollowUpStatus.MISSED)
    with world.db.write() as s:
        cancelled = cancel_after_payoff(s, world.case_id, D(2026, 7, 2), NOW)
    assert cancelled == ids[2:]
    assert [r.status for r in world.rows()] == [
        FollowUpStatus.MISSED,
        FollowUpStatus.SCHEDULED,  # on the payoff day: kept
        FollowUpStatus.CANCELLED,
        FollowUpStatus.CANCELLED,
    ]


# --- the list ------------------------------------------------------------------------------


def test_the_list_is_by_date_with_names_lateness_and_filters(world: World) -> None:
    ids = world.schedule(
        D(2026, 1, 20), D(2026, 12, 31)
    )  # 02-20 is Spring Festival -> Sat 02-14 (调休)
    second_case = world.make.case(name="李四", owner_id=world.other.id)
    theirs = world.schedule(D(2026, 2, 3), D(2026, 6, 30), case_id=second_case, owner=world.other)
    world.set(ids[0], status=FollowUpStatus.MISSED)
    closed = world.make.case(name="王五", status=CaseStatus.CLOSED)
    world.schedule(D(2026, 2, 1), D(2026, 6, 30), case_id=closed)

    lines = follow_up_list(world.db, due_before=D(2026, 3, 9), now=NOW, profile=CN)
    assert [(x.follow_up_id, x.borrower_name, x.status, x.days_overdue) for x in lines] == [
        (ids[0], "欧阳娜娜", "missed", 16),
        (theirs[0], "李四", "scheduled", 0),  # 03-03: tomorrow
    ]
    assert (lines[0].owner_name, lines[0].channel, lines[0].case_id) == (
        "王小明",
        "phone",
        world.case_id,
    )
    mine = follow_up_list(world.db, owner_id=world.op.id, now=NOW, profile=CN)
    assert [x.follow_up_id for x in mine] == ids
    done = follow_up_list(world.db, statuses=("cancelled", "done"), now=NOW, profile=CN)
    assert done == []
    assert len(follow_up_list(world.db, limit=2, now=NOW, profile=CN)) == 2


def test_desk_service_lists_mine_and_everyones_for_supervisors(world: World) -> None:
    world.schedule(D(2026, 2, 1), D(2026, 6, 30))  # 02-28 (late), then 05-29...
    other_case = world.make.case(name="李四")
    world.schedule(D(2026, 2, 5), D(2026, 6, 30), case_id=other_case, owner=world.other)

    def desk(actor: Actor) -> DeskService:
        return DeskService(db=world.db, actor=actor, profile=CN, clock=lambda: NOW)

    assert [x.borrower_name for x in desk(world.op).follow_ups()] == ["欧阳娜娜"]
    # An operator asking for everyone's still gets their own.
    assert [x.borrower_name for x in desk(world.op).follow_ups(mine=False)] == ["欧阳娜娜"]
    assert [x.borrower_name for x in desk(world.sup).follow_ups(mine=False)] == ["欧阳娜娜", "李四"]
    assert desk(world.sup).follow_ups() == []


# --- marking one done --------------------------------------------------------------------------


def test_the_owner_marks_one_done_with_a_note_and_it_is_audited(world: World) -> None:
    ids = world.schedule(D(2026, 2, 1), D(2026, 12, 31))
    with pytest.raises(ServiceError, match="needs a note"):
        complete_follow_up(Context.frozen(world.db, world.op, NOW, CN), ids[0], note="  ")
    with pytest.raises(PermissionDenied, match="another agent"):
        complete_follow_up(Context.frozen(world.db, world.other, NOW, CN), ids[0], note="ok")
    done = complete_follow_up(
        Context.frozen(world.db, world.op, NOW, CN), ids[0], note="按时还款，无异常"
    )
    assert done.next_follow_up_id is None  # later ones are already scheduled
    row = world.rows()[0]
    assert (row.status, row.note, row.done_at) == (FollowUpStatus.DONE, "按时还款，无异常", NOW)
    [event] = audit_of(world.db, "follow_up.done")
    assert (event.agent_id, event.entity_id, event.case_id) == (world.op.id, ids[0], world.case_id)
    assert event.after["note"] == "按时还款，无异常"
    with pytest.raises(ServiceError, match="only a scheduled or missed one"):
        complete_follow_up(Context.frozen(world.db, world.op, NOW, CN), ids[0], note="again")


def test_a_supervisor_may_mark_a_missed_one_done(world: World) -> None:
    ids = world.schedule(D(2026, 1, 1), D(2026, 12, 31))
    world.set(ids[0], status=FollowUpStatus.MISSED)
    complete_follow_up(Context.frozen(world.db, world.sup, NOW, CN), ids[0], note="补回访")
    assert world.rows()[0].status is FollowUpStatus.DONE


def test_the_last_one_done_schedules_the_next_while_money_is_owed(world: World) -> None:
    [only] = world.schedule(D(2026, 1, 25), D(2026, 3, 1))  # 02-25, plan ends 03-01
    done = complete_follow_up(Context.frozen(world.db, world.op, NOW, CN), only, note="还差一期")
    assert done.next_due_on == D(2026, 5, 25)
    later = world.rows()[-1]
    assert (later.id, later.status, later.owner_id) == (
        done.next_follow_up_id,
        FollowUpStatus.SCHEDULED,
        world.op.id,
    )
    # Paid off: the last one done leaves nothing behind.
    with world.db.write() as s:
        s.execute(
            update(LoanAccount)
            .where(LoanAccount.case_id == world.case_id)
            .values(
                outstanding_principal_minor=0,
                outstanding_interest_minor=0,
                outstanding_penalty_minor=0,
                outstanding_fees_minor=0,
            )
        )
    assert done.next_follow_up_id is not None
    finished = complete_follow_up(
        Context.frozen(world.db, world.op, NOW, CN), done.next_follow_up_id, note="已结清"
    )
    assert finished.next_follow_up_id is None


def test_reassign_is_for_supervisors(world: World) -> None:
    ids = world.schedule(D(2026, 2, 1), D(2026, 12, 31))
    with pytest.raises(PermissionDenied):
        reassign_follow_up(
            Context.frozen(world.db, world.op, NOW, load_profile()), ids[1], world.other.id
        )
    reassign_follow_up(
        Context.frozen(world.db, world.sup, NOW, load_profile()), ids[1], world.other.id
    )
    assert world.rows()[1].owner_id == world.other.id
    [event] = audit_of(world.db, "follow_up.reassign")
    assert event.after == {"owner_id": world.other.id}


# --- the worker ------------------------------------------------------------------------------


def test_missed_after_the_grace_days_in_batches_with_one_event_each(world: World) -> None:
    cases = [world.case_id] + [world.make.case(name=f"借款人{n}") for n in range(4)]
    with world.db.write() as s:
        ids = []
        for n, case_id in enumerate(cases):
            row = FollowUp(
                case_id=case_id,
                due_on=D(2026, 2, 20) + dt.timedelta(days=n),  # 02-20 .. 02-24
                channel="phone",
                owner_id=world.op.id,
                status=FollowUpStatus.SCHEDULED,
            )
            s.add(row)
            s.flush()
            ids.append(row.id)
    world.set(ids[1], status=FollowUpStatus.DONE)
    # Today 03-02, three days' grace: dated before 02-27 is missed (02-27 itself is not).
    result = settle_missed_follow_ups(world.db, NOW, batch_size=2)
    assert (result.cutoff, result.missed, result.batches) == (D(2026, 2, 27), 4, 2)
    events = audit_of(world.db, "follow_up.missed")
    assert [e.after["ids"] for e in events] == [[ids[0], ids[2]], [ids[3], ids[4]]]
    assert all(e.agent_id is None for e in events)
    with world.db.read() as s:
        statuses = {r.id: r.status for r in s.execute(select(FollowUp.id, FollowUp.status))}
    assert [statuses[i] for i in ids] == [FollowUpStatus.MISSED, FollowUpStatus.DONE] + [
        FollowUpStatus.MISSED
    ] * 3
    assert "0 missed" in mark_missed_follow_ups(world.db, NOW)


def test_the_worker_runs_the_missed_follow_ups_job(world: World) -> None:
    ids = world.schedule(D(2026, 1, 20), D(2026, 12, 31))  # first 02-20 -> 02-14: long past
    clock_now = NOW
    worker = Worker(world.db, default_jobs("cn"), clock=lambda: clock_now, identity="w")
    result = worker.tick()
    assert "missed_follow_ups" in result.ran_names
    assert all(r.ok for r in result.ran)
    assert world.rows()[0].status is FollowUpStatus.MISSED
    assert {r.status for r in world.rows() if r.id != ids[0]} == {FollowUpStatus.SCHEDULED}
    [event] = audit_of(world.db, "follow_up.missed")
    assert event.after["case_ids"] == [world.case_id]
    worker.release()


def test_an_archived_case_is_not_listed_and_cannot_be_done(world: World) -> None:
    ids = world.schedule(D(2026, 2, 1), D(2026, 12, 31))
    with world.db.write() as s:
        s.execute(
            update(CollectionCase)
            .where(CollectionCase.id == world.case_id)
            .values(status=CaseStatus.CLOSED)
        )
    assert follow_up_list(world.db, now=NOW, profile=CN) == []
    with pytest.raises(ServiceError, match="archived"):
        complete_follow_up(Context.frozen(world.db, world.op, NOW, CN), ids[0], note="x")
