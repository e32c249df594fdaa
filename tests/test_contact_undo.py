"""Undoing the last outcome: the attempt is voided (never deleted), audited, on both engines."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AuditEvent,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    Outcome,
    PaymentChannel,
    PromiseStatus,
    PromiseToPay,
    Stage,
)
from tui_desk.rules.profile import load_profile
from tui_desk.services import case_view, contacts, promises
from tui_desk.services.contact_checks import contact_policy, recent_history
from tui_desk.services.context import Actor, Context, stopped_at
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import PermissionDenied, RuleRefused, ServiceError
from tui_desk.views.contacts import LoggedContact

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)  # Monday 14:00
CN = load_profile("cn")
MINUTE = dt.timedelta(minutes=1)
NEXT = NOW + dt.timedelta(days=1)  # the case's next action before any contact


def actor_of(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        self.op = actor_of(db, self.make.agent(login="op", name="王一"))
        self.other = actor_of(db, self.make.agent(login="op2", name="李二"))
        borrower = self.make.borrower(phones=["+8613812348000"])
        self.case = self.make.case(borrower_id=borrower, stage=Stage.NEW, next_action_at=NEXT)

    def ctx(self, actor: Actor | None = None, now: dt.datetime = NOW) -> Context:
        return Context.frozen(self.db, actor or self.op, now, CN)

    def log(
        self, outcome: Outcome, *, now: dt.datetime = NOW, actor: Actor | None = None, **kw: object
    ) -> LoggedContact:
        return contacts.log_contact(
            self.ctx(actor, now),
            self.case,
            channel=Channel.PHONE,
            direction=Direction.OUTBOUND,
            outcome=outcome,
            **kw,  # type: ignore[arg-type]
        )

    def undo(self, contact_id: int, *, now: dt.datetime = NOW, actor: Actor | None = None) -> None:
        contacts.undo_contact(self.ctx(actor, now), contact_id, "wrong key")

    def case_row(self) -> CollectionCase:
        with self.db.read() as s:
            case = s.get(CollectionCase, self.case)
            assert case is not None
            s.expunge_all()
            return case

    def attempt(self, contact_id: int) -> ContactAttempt:
        with self.db.read() as s:
            row = s.get(ContactAttempt, contact_id)
            assert row is not None
            s.expunge_all()
            return row

    def promise(self, promise_id: int) -> PromiseToPay:
        with self.db.read() as s:
            row = s.get(PromiseToPay, promise_id)
            assert row is not None
            s.expunge_all()
            return row

    def undo_events(self) -> list[AuditEvent]:
        with self.db.read() as s:
            rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "contact.undo")))
            s.expunge_all()
            return rows


@pytest.fixture
def w(db: Database) -> World:
    return World(db)


def test_undo_within_two_minutes_voids_the_attempt_and_is_audited(w: World) -> None:
    logged = w.log(Outcome.REFUSED)
    assert w.case_row().stage is Stage.CONTACTING
    assert w.case_row().next_action_at != NEXT
    w.undo(logged.contact_id, now=NOW + 2 * MINUTE)

    attempt = w.attempt(logged.contact_id)  # still there: voided, not deleted
    assert attempt.voided_at == NOW + 2 * MINUTE
    assert attempt.voided_by_id == w.op.id and attempt.void_reason == "wrong key"
    case = w.case_row()
    assert case.stage is Stage.NEW
    assert case.next_action_at == NEXT  # the case as it was before the attempt
    [event] = w.undo_events()
    assert event.agent_id == w.op.id and event.entity_id == logged.contact_id
    assert event.case_id == w.case
    assert event.before is not None and event.before["voided"] is False
    assert event.after is not None and event.after["voided"] is True
    assert event.after["reason"] == "wrong key"

    with w.db.read() as s:
        assert s.scalar(select(func.count()).select_from(ContactAttempt)) == 1
        history = recent_history(s, w.case, NOW + 3 * MINUTE, contact_policy(CN))
        [line] = case_view.read_contact_log(s, w.case, profile=CN)
    assert history == []  # a voided attempt does not count toward the caps
    assert line.contact_id == logged.contact_id and line.voided


def test_a_voided_attempt_frees_its_place_in_the_cap(w: World) -> None:
    cap = contact_policy(CN).max_connected_calls_per_day
    assert cap is not None
    ids = [w.log(Outcome.REFUSED, now=NOW + i * 10 * MINUTE).contact_id for i in range(cap)]
    later = NOW + cap * 10 * MINUTE
    with pytest.raises(RuleRefused):
        w.log(Outcome.REFUSED, now=later)
    w.undo(ids[-1], now=NOW + (cap - 1) * 10 * MINUTE + MINUTE)
    w.log(Outcome.REFUSED, now=later)


def test_after_two_minutes_it_is_refused(w: World) -> None:
    logged = w.log(Outcome.REFUSED)
    with pytest.raises(RuleRefused, match="within 2 minutes"):
        w.undo(logged.contact_id, now=NOW + 2 * MINUTE + dt.timedelta(seconds=1))
    assert w.attempt(logged.contact_id).voided_at is None
    assert w.undo_events() == []


def test_another_agent_may_not_undo_it(w: World) -> None:
    logged = w.log(Outcome.REFUSED)
    with pytest.raises(PermissionDenied, match="only the agent who logged"):
        w.undo(logged.contact_id, actor=w.other)
    assert w.attempt(logged.contact_id).voided_at is None


def test_only_the_newest_attempt_can_be_undone(w: World) -> None:
    first = w.log(Outcome.NO_ANSWER)
    second = w.log(Outcome.BUSY, now=NOW + MINUTE)
    with pytest.raises(RuleRefused, match="newest"):
        w.undo(first.contact_id, now=NOW + MINUTE)
    w.undo(second.contact_id, now=NOW + MINUTE)
    # The second attempt and its undo were recorded after the first: it stays.
    with pytest.raises(RuleRefused, match="recorded on the case since"):
        w.undo(first.contact_id, now=NOW + 2 * MINUTE)
    assert w.attempt(first.contact_id).voided_at is None
    assert w.attempt(second.contact_id).voided_at is not None


def test_an_attempt_is_undone_once(w: World) -> None:
    logged = w.log(Outcome.REFUSED)
    w.undo(logged.contact_id)
    with pytest.raises(ServiceError, match="already undone"):
        w.undo(logged.contact_id)
    assert len(w.undo_events()) == 1


def test_the_promise_it_created_is_cancelled_and_the_one_it_replaced_stands(w: World) -> None:
    first = w.log(Outcome.PROMISE, promise_amount_minor=50_000, promise_due=dt.date(2026, 3, 9))
    second = w.log(
        Outcome.PROMISE,
        now=NOW + 10 * MINUTE,
        promise_amount_minor=80_000,
        promise_due=dt.date(2026, 3, 10),
    )
    assert first.promise_id is not None and second.promise_id is not None
    assert w.promise(first.promise_id).status is PromiseStatus.CANCELLED
    w.undo(second.contact_id, now=NOW + 11 * MINUTE)
    assert w.promise(second.promise_id).status is PromiseStatus.CANCELLED
    reopened = w.promise(first.promise_id)
    assert reopened.status is PromiseStatus.OPEN and reopened.resolved_at is None
    [event] = w.undo_events()
    assert event.after is not None
    assert event.after["promises_cancelled"] == [second.promise_id]
    assert event.after["promises_reopened"] == [first.promise_id]
    assert w.case_row().next_action_at is not None


def test_the_callback_it_set_is_cleared(w: World) -> None:
    callback = NOW + dt.timedelta(hours=3)
    logged = w.log(Outcome.CALLBACK, callback_at=callback)
    assert w.case_row().callback_at == callback
    w.undo(logged.contact_id, now=NOW + MINUTE)
    case = w.case_row()
    assert case.callback_at is None and case.callback_agent_id is None
    assert case.next_action_at is not None and case.next_action_at != callback


def test_nothing_else_may_have_been_recorded_since(w: World) -> None:
    logged = w.log(Outcome.REFUSED)
    promises.record_payment(
        w.ctx(w.other),
        w.case,
        amount_minor=10_000,
        paid_on=NOW.date(),
        channel=PaymentChannel.COUNTER,
    )
    with pytest.raises(RuleRefused, match=r"payment\.record"):
        w.undo(logged.contact_id, now=NOW + MINUTE)
    assert w.attempt(logged.contact_id).voided_at is None


def test_the_desk_offers_undo(w: World) -> None:
    desk = DeskService(w.db, w.op, CN, clock=stopped_at(NOW + MINUTE))
    logged = w.log(Outcome.REFUSED)
    desk.undo_contact(logged.contact_id)
    assert w.attempt(logged.contact_id).voided_at == NOW + MINUTE


def test_an_undone_outcome_counts_nowhere_on_the_board_nor_in_reports(w: World) -> None:
    from tui_desk.services import board, reports

    kept = w.log(Outcome.NO_ANSWER, now=NOW - 10 * MINUTE)
    undone = w.log(Outcome.REFUSED)
    w.undo(undone.contact_id, now=NOW + MINUTE)
    later = NOW + 2 * MINUTE
    board.refresh_snapshot(w.db, later, CN)
    line = next(a for a in board.read_board(w.db, later, CN).agents if a.agent_id == w.op.id)
    assert line.contacts_today == 1
    day = NOW.astimezone(SH).date()
    table = reports.rpc_rate(w.db, day, day, CN)
    [row] = [r for r in table.rows if r[0] == "op"]
    assert row[2] == 1  # attempts: the undone one is not among them
    assert kept.contact_id != undone.contact_id
