"""Contact strategies applied by the worker, on both engines: each kind of strategy, the
contact rules, holds and do-not-call refusing, the daily ceiling, leases, and reruns."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    AgreementStatus,
    AuditEvent,
    Borrower,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    InstalmentStatus,
    Outcome,
    Phone,
    PlanInstalment,
    PromiseStatus,
    PromiseToPay,
    Role,
    SmsOutbox,
    StrategyAction,
    StrategyActionStatus,
)
from tui_desk.rules.profile import load_profile
from tui_desk.services import contacts, strategies
from tui_desk.services.case_view import contact_log
from tui_desk.services.context import Actor, Context

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 3, 14, 0, tzinfo=SH).astimezone(dt.UTC)  # Tuesday 14:00 Shanghai
CN = load_profile("cn")
US = load_profile("us-regf")
NUMBER = "+8613812348000"


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        self.op = self.make.agent(login="op", name="王坐席")
        self.borrower = self.make.borrower(name="李四", phones=[NUMBER])
        self.case = self.make.case(borrower_id=self.borrower, owner_id=self.op, overdue_days=5)
        [self.phone] = self.make.phone_ids(self.borrower)

    def run(self, now: dt.datetime = NOW, profile: str = "cn") -> strategies.StrategyRun:
        return strategies.run_strategies(self.db, now, profile=profile)

    def no_answers(self, n: int, *, case: int | None = None) -> None:
        for i in range(n):
            self.make.contact(
                case or self.case, agent_id=self.op, phone_id=self.phone, minutes_ago=30 + 10 * i
            )

    def broken_promise(self, *, hours_ago: int = 2) -> int:
        with self.db.write() as s:
            promise = PromiseToPay(
                case_id=self.case,
                amount_minor=50_000,
                due_on=(NOW - dt.timedelta(days=2)).date(),
                status=PromiseStatus.BROKEN,
                created_by_id=self.op,
                created_at=NOW - dt.timedelta(days=5),
                resolved_at=NOW - dt.timedelta(hours=hours_ago),
            )
            s.add(promise)
            s.flush()
            return promise.id

    def missed_instalment(self, *, signed: bool = True) -> int:
        plan = self.make.plan(
            self.case, created_by_id=self.op, first_due_on=(NOW - dt.timedelta(days=4)).date()
        )
        self.make.agreement(
            self.case,
            created_by_id=self.op,
            plan_id=plan,
            status=AgreementStatus.SIGNED if signed else AgreementStatus.READY,
            signed=signed,
        )
        with self.db.write() as s:
            first = s.scalars(
                select(PlanInstalment).where(
                    PlanInstalment.plan_id == plan, PlanInstalment.seq == 1
                )
            ).one()
            first.status = InstalmentStatus.MISSED
            return first.id

    def actions(self) -> list[StrategyAction]:
        with self.db.read() as s:
            rows = list(s.scalars(select(StrategyAction).order_by(StrategyAction.id)))
            s.expunge_all()
            return rows

    def case_row(self) -> CollectionCase:
        with self.db.read() as s:
            row = s.get(CollectionCase, self.case)
            assert row is not None
            s.expunge(row)
            return row

    def count(self, model: type[SmsOutbox] | type[AuditEvent]) -> int:
        with self.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def world(db: Database) -> World:
    return World(db)


def test_two_no_answers_queue_the_sms_as_an_automatic_contact(world: World) -> None:
    world.no_answers(2)
    run = world.run()
    assert (run.done, run.refused, run.cases) == (1, 0, 1)
    [action] = world.actions()
    assert (action.rule, action.action, action.status) == (
        "two no-answers",
        "sms",
        StrategyActionStatus.DONE,
    )
    with world.db.read() as s:
        [outbox] = s.scalars(select(SmsOutbox))
        attempt = s.get(ContactAttempt, action.contact_id)
        assert attempt is not None and outbox.contact_id == attempt.id
        assert (attempt.agent_id, attempt.channel, outbox.created_by_id) == (
            None,
            Channel.SMS,
            None,
        )
        assert outbox.template == "callback.zh_CN"
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "strategy.action"))
        assert (event.agent_id, event.case_id, event.entity_id) == (None, world.case, action.id)
        assert event.after is not None and event.after["status"] == "done"


def test_a_rerun_does_nothing_twice(world: World) -> None:
    world.no_answers(2)
    world.broken_promise()
    first = world.run()
    events = world.count(AuditEvent)
    second = world.run(NOW + dt.timedelta(minutes=15))
    assert first.done == 2 and (second.done, second.refused) == (0, 0)
    assert len(world.actions()) == 2 and world.count(AuditEvent) == events
    assert world.count(SmsOutbox) == 1


def test_a_third_no_answer_is_not_a_new_event_a_fourth_is(world: World) -> None:
    world.no_answers(2)
    world.run()
    world.make.contact(world.case, agent_id=world.op, phone_id=world.phone, minutes_ago=-5)
    assert world.run(NOW + dt.timedelta(minutes=10)).done == 0
    world.make.contact(world.case, agent_id=world.op, phone_id=world.phone, minutes_ago=-20)
    # The automatic SMS is a contact of its own, but not an unanswered call.
    assert world.run(NOW + dt.timedelta(minutes=25)).done == 1


def test_quiet_hours_in_the_borrowers_zone_refuse_the_sms(world: World) -> None:
    with world.db.write() as s:
        s.execute(
            update(Borrower).where(Borrower.id == world.borrower).values(timezone="Europe/London")
        )  # 14:00 in Shanghai is 06:00 in London
    world.no_answers(2)
    run = world.run()
    assert (run.done, run.refused) == (0, 1)
    [action] = world.actions()
    assert (action.status, action.refused_by) == (StrategyActionStatus.REFUSED, "quiet_hours")
    assert action.reason is not None and "Europe/London" in action.reason
    assert world.count(SmsOutbox) == 0
    # Refused is fired: the event does not come back when the quiet hours end.
    assert world.run(NOW + dt.timedelta(hours=4)).refused == 0


def test_do_not_call_refuses_the_sms_and_the_callback(world: World) -> None:
    with world.db.write() as s:
        s.execute(update(Phone).where(Phone.id == world.phone).values(do_not_call=True))
    world.no_answers(2)
    world.broken_promise()
    world.run()
    assert {(a.action, a.refused_by) for a in world.actions()} == {
        ("sms", "do_not_call"),
        ("callback", "do_not_call"),
    }
    assert world.case_row().callback_at is None and world.count(SmsOutbox) == 0


def test_a_hold_refuses_every_kind_of_action(world: World) -> None:
    world.make.hold(world.case, set_by_id=world.op)
    world.broken_promise()  # a callback
    world.missed_instalment()  # an SMS and a callback
    with world.db.write() as s:  # never contacted in 8 days: raise the priority
        s.execute(
            update(CollectionCase)
            .where(CollectionCase.id == world.case)
            .values(opened_at=NOW - dt.timedelta(days=8))
        )
    world.run()
    found = [(a.action, a.refused_by) for a in world.actions()]
    assert found == [
        ("callback", "hold"),
        ("raise_priority", "hold"),
        ("sms", "hold"),
        ("callback", "daily_ceiling"),  # the fourth action of the day
    ]
    row = world.case_row()
    assert row.callback_at is None and row.priority_boost == 0 and world.count(SmsOutbox) == 0


def test_a_broken_promise_books_a_callback_at_the_usual_answering_hour(world: World) -> None:
    # The borrower answered twice at 19:xx Shanghai time.
    for days in (3, 4):
        world.make.contact(
            world.case,
            agent_id=world.op,
            phone_id=world.phone,
            outcome=Outcome.REFUSED,
            minutes_ago=days * 24 * 60 - 5 * 60 - 10,
        )
    world.broken_promise()
    assert world.run().done == 1
    row = world.case_row()
    assert row.callback_at == dt.datetime(2026, 3, 4, 19, 0, tzinfo=SH)  # Wednesday 19:00
    assert row.callback_agent_id == world.op
    assert row.next_action_at is not None and row.next_action_at <= row.callback_at


def test_without_answered_calls_the_callback_takes_the_profiles_hour(world: World) -> None:
    world.broken_promise(hours_ago=-70)  # found broken on Friday at noon
    friday = dt.datetime(2026, 3, 6, 15, 0, tzinfo=SH).astimezone(dt.UTC)
    world.run(friday)
    assert world.case_row().callback_at == dt.datetime(2026, 3, 9, 10, 0, tzinfo=SH)  # Monday


def test_a_callback_already_booked_is_kept(world: World) -> None:
    booked = NOW + dt.timedelta(hours=3)
    with world.db.write() as s:
        s.execute(
            update(CollectionCase).where(CollectionCase.id == world.case).values(callback_at=booked)
        )
    world.broken_promise()
    world.run()
    [action] = world.actions()
    assert action.refused_by == "callback_booked"
    assert world.case_row().callback_at == booked


def test_no_contact_for_days_raises_the_priority_until_a_contact(world: World) -> None:
    world.make.contact(world.case, agent_id=world.op, outcome=Outcome.BUSY, minutes_ago=8 * 24 * 60)
    before = world.case_row().priority
    assert world.run().done == 1
    row = world.case_row()
    assert row.priority_boost == 300 and row.priority >= before + 300
    op = Actor(id=world.op, login="op", name="王坐席", role=Role.OPERATOR)
    ctx = Context.frozen(world.db, op, NOW + dt.timedelta(minutes=5), CN)
    contacts.log_contact(
        ctx,
        world.case,
        channel=Channel.PHONE,
        direction=Direction.OUTBOUND,
        outcome=Outcome.NO_ANSWER,
        phone_id=world.phone,
    )
    assert world.case_row().priority_boost == 0


def test_a_missed_instalment_under_a_signed_agreement_sends_a_reminder_and_books_a_call(
    world: World,
) -> None:
    world.missed_instalment()
    assert world.run().done == 2
    assert [(a.action, a.status) for a in world.actions()] == [
        ("sms", StrategyActionStatus.DONE),
        ("callback", StrategyActionStatus.DONE),
    ]
    with world.db.read() as s:
        assert s.scalar(select(SmsOutbox.template)) == "reminder.zh_CN"


def test_a_missed_instalment_without_a_signed_agreement_is_no_event(world: World) -> None:
    world.missed_instalment(signed=False)
    assert world.run().done == 0 and world.actions() == []


def test_the_daily_ceiling_refuses_what_comes_after_it(world: World) -> None:
    world.no_answers(2)  # 1 action
    world.broken_promise()  # 1 action
    world.missed_instalment()  # 2 actions: 4 in all, the CN ceiling is 3
    run = world.run()
    assert (run.done, run.refused) == (3, 1)
    refused = [a for a in world.actions() if a.status is StrategyActionStatus.REFUSED]
    assert [(a.rule, a.action, a.refused_by) for a in refused] == [
        ("missed instalment", "callback", "daily_ceiling")
    ]
    # Later the same day a new event finds the ceiling reached.
    world.make.contact(world.case, agent_id=world.op, phone_id=world.phone, minutes_ago=-30)
    world.make.contact(world.case, agent_id=world.op, phone_id=world.phone, minutes_ago=-40)
    later = world.run(NOW + dt.timedelta(hours=1))
    assert (later.done, later.refused) == (0, 1)


def test_a_case_in_an_agents_hands_waits_for_a_later_run(world: World) -> None:
    world.broken_promise()
    with world.db.write() as s:
        s.execute(
            update(CollectionCase)
            .where(CollectionCase.id == world.case)
            .values(lease_holder_id=world.op, lease_expires_at=NOW + dt.timedelta(minutes=10))
        )
    assert world.run().leased == 1 and world.actions() == []
    assert world.run(NOW + dt.timedelta(minutes=15)).done == 1


def test_outside_its_hours_nothing_fires_and_the_event_waits(world: World) -> None:
    world.broken_promise(hours_ago=1)
    night = dt.datetime(2026, 3, 3, 21, 30, tzinfo=SH).astimezone(dt.UTC)
    assert world.run(night).outside_hours and world.actions() == []
    morning = dt.datetime(2026, 3, 4, 9, 0, tzinfo=SH).astimezone(dt.UTC)
    assert world.run(morning).done == 1


def test_the_us_profile_refuses_a_callback_the_7_day_cap_forbids(db: Database) -> None:
    ny = ZoneInfo("America/New_York")
    now = dt.datetime(2026, 3, 3, 11, 0, tzinfo=ny).astimezone(dt.UTC)
    make = Factory(db, now=now)
    op = make.agent(login="op")
    borrower = make.borrower(name="Jane Roe", phones=["+12125550123"])
    with db.write() as s:
        s.execute(
            update(Borrower).where(Borrower.id == borrower).values(timezone="America/New_York")
        )
    case = make.case(borrower_id=borrower, owner_id=op, overdue_days=5)
    [phone] = make.phone_ids(borrower)
    for i in range(7):  # seven attempts in the last day: none allowed for a week
        make.contact(case, agent_id=op, phone_id=phone, outcome=Outcome.BUSY, minutes_ago=60 + i)
    with db.write() as s:
        s.add(
            PromiseToPay(
                case_id=case,
                amount_minor=5_000,
                due_on=(now - dt.timedelta(days=2)).date(),
                status=PromiseStatus.BROKEN,
                created_by_id=op,
                created_at=now - dt.timedelta(days=5),
                resolved_at=now - dt.timedelta(hours=1),
            )
        )
    strategies.run_strategies(db, now, profile="us-regf")
    with db.read() as s:
        [action] = s.scalars(select(StrategyAction))
        assert (action.action, action.refused_by) == ("callback", "weekly_call_cap")


def test_the_contact_log_shows_automatic_actions_by_rule(world: World) -> None:
    world.no_answers(2)
    world.broken_promise()
    world.run()
    lines = contact_log(world.db, world.case, profile=CN)
    auto = [line for line in lines if line.automatic]
    assert {(line.auto_rule, line.auto_action) for line in auto} == {
        ("two no-answers", "sms"),
        ("broken promise", "callback"),
    }
    sms_line = next(line for line in auto if line.auto_action == "sms")
    assert sms_line.auto_id is None and sms_line.contact_id > 0  # the SMS's own attempt
    callback_line = next(line for line in auto if line.auto_action == "callback")
    assert callback_line.auto_id is not None and callback_line.callback_at is not None
    assert callback_line.row_key.startswith("auto-")


def test_apply_to_case_takes_the_profile_it_is_given(world: World) -> None:
    world.no_answers(2)
    prof = replace(CN, strategies=replace(CN.strategies, daily_ceiling=0))
    with world.db.write() as s:
        assert strategies.apply_to_case(s, world.case, NOW, prof) == (0, 1)
    [action] = world.actions()
    assert action.refused_by == "daily_ceiling"


# --- the strategy actions report ---------------------------------------------------------


def test_the_strategy_actions_report_counts_a_scripted_two_days(db: Database) -> None:
    make = Factory(db, now=NOW)
    op = make.agent(login="op")
    sup = Actor(id=make.agent(login="sup", role=Role.SUPERVISOR), login="sup", name="s",
                role=Role.SUPERVISOR)  # fmt: skip
    cases = {}
    for name, number in (
        ("甲", "+8613812340001"),
        ("乙", "+8613812340002"),
        ("丙", "+8613812340003"),
    ):
        borrower = make.borrower(name=name, phones=[number])
        cases[name] = (make.case(borrower_id=borrower, owner_id=op, overdue_days=5), borrower)
    a, b, c = (cases[n][0] for n in ("甲", "乙", "丙"))
    [c_phone] = make.phone_ids(cases["丙"][1])
    for case in (a, c):
        make.contact(case, agent_id=op, minutes_ago=40)
        make.contact(case, agent_id=op, minutes_ago=50)
    make.hold(b, set_by_id=op)
    with db.write() as s:
        s.execute(update(Phone).where(Phone.id == c_phone).values(do_not_call=True))

    def broken(case: int, at: dt.datetime) -> None:
        with db.write() as s:
            s.add(
                PromiseToPay(
                    case_id=case, amount_minor=1_000, due_on=(at - dt.timedelta(days=1)).date(),
                    status=PromiseStatus.BROKEN, created_by_id=op,
                    created_at=at - dt.timedelta(days=3), resolved_at=at,
                )
            )  # fmt: skip

    # Day 1: A's SMS goes (and the gateway accepts it), C's is refused (do-not-call), B's
    # callback is refused (hold). Day 2: A's broken promise books a callback.
    broken(b, NOW - dt.timedelta(hours=1))
    strategies.run_strategies(db, NOW, profile="cn")
    with db.write() as s:
        s.execute(update(SmsOutbox).values(status="sent"))
    day2 = NOW + dt.timedelta(days=1)
    broken(a, day2 - dt.timedelta(hours=1))
    strategies.run_strategies(db, day2, profile="cn")

    from tui_desk.services import reports
    from tui_desk.services.errors import PermissionDenied

    table = reports.report_for(
        sup, db, "strategy-actions", date_from=dt.date(2026, 3, 3), date_to=dt.date(2026, 3, 4),
        profile=CN,
    )  # fmt: skip
    assert table.rows == [
        ("2026-03-03", "broken promise", 1, 1, 0, 0, 1, "hold 1"),
        ("2026-03-03", "two no-answers", 2, 2, 1, 1, 1, "do not call 1"),
        ("2026-03-04", "broken promise", 1, 1, 1, 0, 0, ""),
    ]
    assert table.total == ("total", "", 4, 4, 2, 1, 2, "")
    csv_text = reports.to_csv(table)
    assert csv_text.splitlines()[0] == "day,strategy,fired,actions,done,SMS sent,refused,refused by"
    assert "2026-03-03,two no-answers,2,2,1,1,1,do not call 1" in csv_text
    op_actor = Actor(id=op, login="op", name="op", role=Role.OPERATOR)
    with pytest.raises(PermissionDenied):
        reports.report_for(
            op_actor, db, "strategy-actions", date_from=dt.date(2026, 3, 3),
            date_to=dt.date(2026, 3, 4), profile=CN,
        )  # fmt: skip


def test_a_run_that_dies_midway_is_completed_by_the_next_without_doubles(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = world.make.case(owner_id=world.op, overdue_days=5, name="王五")
    world.no_answers(2)
    world.no_answers(2, case=other)
    real = strategies.apply_to_case
    calls: list[int] = []

    def dies_on_the_second(*args: object, **kwargs: object) -> tuple[int, int] | None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(strategies, "apply_to_case", dies_on_the_second)
    with pytest.raises(RuntimeError):
        strategies.run_strategies(world.db, NOW, profile="cn", batch_size=1)
    assert len(world.actions()) == 1  # the first batch committed, with its audit event
    monkeypatch.setattr(strategies, "apply_to_case", real)
    assert strategies.run_strategies(world.db, NOW, profile="cn").done == 1
    assert sorted(a.case_id for a in world.actions()) == sorted([world.case, other])
    assert world.count(SmsOutbox) == 2
