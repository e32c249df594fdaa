"""A scripted operator's day for the my-day tests (service and screen).

NOW is 14:00 office time (Asia/Shanghai) on 2026-03-10. The operator ``op`` has: a
callback done at 09:30 (contacted at 09:35), one missed at 11:00, one due at 13:50, one
later at 16:00; a promise due today and one broken yesterday; a follow-up due; a visit as
collector at 15:00; an answered and a pending override request; a morning of spans.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tests.factories import Factory
from tests.spans import write_spans
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    FollowUp,
    FollowUpStatus,
    Outcome,
    OverrideRequest,
    OverrideRequestStatus,
    Payment,
    PaymentChannel,
    PromiseStatus,
    PromiseToPay,
    Relation,
    Role,
)
from tui_desk.domain import AgentState

MIDNIGHT = dt.datetime(2026, 3, 9, 16, 0, tzinfo=dt.UTC)  # 2026-03-10 00:00 in Beijing
NOW = MIDNIGHT + dt.timedelta(hours=14)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return MIDNIGHT + dt.timedelta(hours=hour, minutes=minute)


@dataclass(frozen=True)
class MyDayWorld:
    op: int
    boss: int
    done: int  # case of the callback done
    missed: int
    due: int
    later: int
    promise_case: int
    broken_case: int
    follow_up_case: int
    visit_case: int


def _attempt(s: object, case_id: int, agent_id: int, started: dt.datetime, **kw: object) -> None:
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    s.add(
        ContactAttempt(
            case_id=case_id,
            agent_id=agent_id,
            channel=Channel.PHONE,
            direction=Direction.OUTBOUND,
            party=Relation.BORROWER,
            outcome=kw.pop("outcome", Outcome.NO_ANSWER),
            started_at=started,
            **kw,
        )
    )


def build_my_day(db: Database) -> MyDayWorld:
    f = Factory(db, now=NOW)
    op = f.agent(login="op", name="王芳")
    boss = f.agent(login="boss", name="赵主管", role=Role.SUPERVISOR)
    other = f.agent(login="other")
    done = f.case(name="陈一", owner_id=op, priority=500)
    missed = f.case(name="李二", owner_id=op, priority=400)
    due = f.case(name="张三", owner_id=op, priority=300)
    later = f.case(name="刘四", owner_id=op, priority=200)
    promise_case = f.case(name="周五", owner_id=op, priority=150)
    broken_case = f.case(name="吴六", owner_id=op, priority=140)
    follow_up_case = f.case(name="郑七", owner_id=op, priority=130)
    visit_case = f.case(name="孙八", owner_id=other, priority=120)
    with db.write() as s:
        # Yesterday: the calls that set today's callbacks.
        _attempt(s, done, op, at(-10), outcome=Outcome.CALLBACK, callback_at=at(9, 30))
        # Today: the callback done at 09:35 (clears it from the case) and another call.
        _attempt(s, done, op, at(9, 35), outcome=Outcome.PROMISE)
        _attempt(s, later, op, at(10), outcome=Outcome.CALLBACK, callback_at=at(16))
        _attempt(s, promise_case, op, at(10, 30))
        for case_id, when in ((missed, at(11)), (due, at(13, 50)), (later, at(16))):
            case = s.get(CollectionCase, case_id)
            assert case is not None
            case.callback_at = when
            case.callback_agent_id = op
        s.add(
            PromiseToPay(
                case_id=promise_case,
                amount_minor=50_000,
                due_on=dt.date(2026, 3, 10),
                status=PromiseStatus.OPEN,
                created_by_id=op,
                created_at=at(-30),
            )
        )
        s.add(
            PromiseToPay(
                case_id=broken_case,
                amount_minor=80_000,
                due_on=dt.date(2026, 3, 9),
                status=PromiseStatus.BROKEN,
                created_by_id=op,
                created_at=at(-60),
                resolved_at=at(1),
            )
        )
        s.add(
            PromiseToPay(
                case_id=done,
                amount_minor=12_300,
                due_on=dt.date(2026, 3, 20),
                status=PromiseStatus.OPEN,
                created_by_id=op,
                created_at=at(9, 36),
            )
        )
        s.add(
            FollowUp(
                case_id=follow_up_case,
                due_on=dt.date(2026, 3, 10),
                channel=Channel.PHONE,
                owner_id=op,
                status=FollowUpStatus.SCHEDULED,
            )
        )
        s.add(
            Payment(
                case_id=done,
                amount_minor=12_300,
                paid_on=dt.date(2026, 3, 10),
                recorded_at=at(11),
                channel=PaymentChannel.BANK_TRANSFER,
            )
        )
        s.add(
            OverrideRequest(
                case_id=missed,
                rule="daily_call_cap",
                requested_by_id=op,
                requested_at=at(10),
                reason="borrower asked to be called",
                status=OverrideRequestStatus.REJECTED,
                decided_by_id=boss,
                decided_at=at(10, 5),
                decision_note="not today",
            )
        )
        s.add(
            OverrideRequest(
                case_id=due,
                rule="quiet_hours",
                requested_by_id=op,
                requested_at=at(13),
                reason="asked for a late call",
                status=OverrideRequestStatus.PENDING,
            )
        )
    f.appointment(visit_case, collector_id=op, booked_by_id=other, starts_at=at(15))
    write_spans(
        db,
        op,
        [
            (AgentState.READY, at(9)),
            (AgentState.WORKING, at(9, 30)),
            (AgentState.WRAP_UP, at(9, 40)),
            (AgentState.PAUSED, at(9, 41), "break"),
            (AgentState.READY, at(10)),
        ],
    )
    return MyDayWorld(
        op=op,
        boss=boss,
        done=done,
        missed=missed,
        due=due,
        later=later,
        promise_case=promise_case,
        broken_case=broken_case,
        follow_up_case=follow_up_case,
        visit_case=visit_case,
    )
