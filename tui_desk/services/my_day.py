"""My day: the acting agent's own office day in one read (one snapshot).

Definitions (``today`` is the office day, ``profile.office_timezone``):

Callbacks due today
    Still pending: the agent's callbacks (``callback_agent_id``) set for today, through
    ``ix_case_callback``; *later* while ahead, *due* once their time came, *missed* when
    more than ``callback_stale_minutes`` late. Done: a callback set for today whose case
    the agent contacted at or after its time today (the contact clears it from the case):
    for each of the agent's contacts today, the case's callback set before it is looked
    up (one probe of ``ix_contact_case_time``).
Promises
    Open promises falling due today and promises due yesterday that broke, on the
    agent's cases (owner) or taken by the agent.
Visits
    The agent's appointments as collector starting today (not cancelled or moved).
Follow-ups
    Scheduled follow-ups of the agent (owner) due today or earlier.
Figures
    Attempts and right-party contacts started today, promises taken today and payments
    recorded today on the agent's cases, as the board counts them (from the running
    totals when the day is counted, else from the rows); time ready, paused, wrap-up and
    working from the agent's state spans (``rules.agent_time``).
Requests
    The agent's override requests still pending, and those decided today.

Each list is capped at ``LINES`` (the oldest first).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from tui_desk.db.models import (
    Appointment,
    AppointmentStatus,
    Borrower,
    CollectionCase,
    ContactAttempt,
    FollowUp,
    FollowUpStatus,
    OverrideRequest,
    Payment,
    PromiseStatus,
    PromiseToPay,
)
from tui_desk.rules.agent_time import day_window, time_in_states
from tui_desk.services import day_counts
from tui_desk.services.agent_time import open_spans_of, spans_in
from tui_desk.services.case_facts import office_today
from tui_desk.services.context import Context
from tui_desk.services.queue import callback_stale_minutes
from tui_desk.services.supervision import request_lines
from tui_desk.views.my_day import (
    CALLBACK_DONE,
    CALLBACK_DUE,
    CALLBACK_LATER,
    CALLBACK_MISSED,
    CallbackLine,
    FollowUpLine,
    MyDay,
    MyFigures,
    PromiseLine,
    VisitLine,
)

LINES = 200


def _i(value: Any) -> int:
    return int(value or 0)


def _names(session: Session, case_ids: set[int]) -> dict[int, str]:
    if not case_ids:
        return {}
    return {
        case_id: name
        for case_id, name in session.execute(
            select(CollectionCase.id, Borrower.name)
            .join(Borrower, Borrower.id == CollectionCase.borrower_id)
            .where(CollectionCase.id.in_(sorted(case_ids)))
        )
    }


def _callbacks(
    session: Session, me: int, start: dt.datetime, end: dt.datetime, now: dt.datetime, stale: int
) -> list[tuple[int, dt.datetime, str]]:
    c = CollectionCase
    found: dict[tuple[int, dt.datetime], str] = {}
    cutoff = now - dt.timedelta(minutes=stale)
    for case_id, due in session.execute(
        select(c.id, c.callback_at)
        .where(c.callback_agent_id == me, c.callback_at >= start, c.callback_at < end)
        .order_by(c.callback_at, c.id)
        .limit(LINES)
    ):
        if due is None:
            continue
        status = CALLBACK_LATER if due > now else CALLBACK_DUE if due >= cutoff else CALLBACK_MISSED
        found[(case_id, due)] = status
    a = ContactAttempt
    earlier = aliased(ContactAttempt)
    set_before = (
        select(earlier.callback_at)
        .where(
            earlier.case_id == a.case_id,
            earlier.started_at < a.started_at,
            earlier.callback_at.is_not(None),
            earlier.voided_at.is_(None),
        )
        .order_by(earlier.started_at.desc())
        .limit(1)
        .correlate(a)
        .scalar_subquery()
    )
    for case_id, started, due in session.execute(
        select(a.case_id, a.started_at, set_before).where(
            a.agent_id == me, a.started_at >= start, a.started_at < end, a.voided_at.is_(None)
        )
    ):
        if due is not None and start <= due < end and due <= started:
            found[(case_id, due)] = CALLBACK_DONE
    ordered = sorted(found.items(), key=lambda item: (item[0][1], item[0][0]))
    return [(case_id, due, status) for (case_id, due), status in ordered[:LINES]]


def _mine(me: int) -> Any:
    return or_(CollectionCase.owner_id == me, PromiseToPay.created_by_id == me)


def _promises(
    session: Session, me: int, day: dt.date, status: PromiseStatus
) -> list[tuple[int, dt.date, int, str]]:
    p = PromiseToPay
    return [
        (case_id, due_on, _i(amount), status.value)
        for case_id, due_on, amount in session.execute(
            select(p.case_id, p.due_on, p.amount_minor)
            .join(CollectionCase, CollectionCase.id == p.case_id)
            .where(p.due_on == day, p.status == status, _mine(me))
            .order_by(p.id)
            .limit(LINES)
        )
    ]


def _figures(
    session: Session, me: int, start: dt.datetime, end: dt.datetime
) -> tuple[int, int, int, int]:
    """(attempts, right-party contacts, promises, collected) today."""
    first, last = day_counts.slot_of(start), day_counts.slot_of(end)
    counted = day_counts.agent_day(session, me, first, last)
    if counted is not None:
        return (
            counted.get("contacts", 0),
            counted.get("right_party_contacts", 0),
            counted.get("promises", 0),
            counted.get("collected_minor", 0),
        )
    c = ContactAttempt
    attempts = right = 0
    for outcome, party, n in session.execute(
        select(c.outcome, c.party, func.count())
        .where(c.agent_id == me, c.started_at >= start, c.started_at < end, c.voided_at.is_(None))
        .group_by(c.outcome, c.party)
    ):
        attempts += _i(n)
        if day_counts.is_right_party(outcome, party):
            right += _i(n)
    p = PromiseToPay
    promises = session.execute(
        select(func.count()).where(p.created_by_id == me, p.created_at >= start, p.created_at < end)
    ).scalar()
    pay = Payment
    collected = session.execute(
        select(func.sum(pay.amount_minor))
        .join(CollectionCase, CollectionCase.id == pay.case_id)
        .where(CollectionCase.owner_id == me, pay.recorded_at >= start, pay.recorded_at < end)
    ).scalar()
    return attempts, right, _i(promises), _i(collected)


def my_day(ctx: Context) -> MyDay:
    """The acting agent's day so far, read in one snapshot (see the module docstring)."""
    now = ctx.now()
    me = ctx.actor.id
    zone = ctx.profile.office_timezone
    today = office_today(now, zone)
    start, end = day_window(today, zone)
    stale = callback_stale_minutes(ctx.profile)
    with ctx.db.snapshot() as s:
        callbacks = _callbacks(s, me, start, end, now, stale)
        due = _promises(s, me, today, PromiseStatus.OPEN)
        broken = _promises(s, me, today - dt.timedelta(days=1), PromiseStatus.BROKEN)
        a = Appointment
        visits = list(
            s.execute(
                select(a.case_id, a.starts_at, a.district, a.status)
                .where(
                    a.collector_id == me,
                    a.starts_at >= start,
                    a.starts_at < end,
                    a.status.not_in([AppointmentStatus.CANCELLED, AppointmentStatus.RESCHEDULED]),
                )
                .order_by(a.starts_at, a.id)
                .limit(LINES)
            )
        )
        f = FollowUp
        follow_ups = list(
            s.execute(
                select(f.case_id, f.due_on, f.channel)
                .where(f.status == FollowUpStatus.SCHEDULED, f.due_on <= today, f.owner_id == me)
                .order_by(f.due_on, f.id)
                .limit(LINES)
            )
        )
        attempts, right, promises, collected = _figures(s, me, start, end)
        spans = spans_in(s, start, end, [me]).get(me, [])
        current = open_spans_of(s, [me]).get(me)
        o = OverrideRequest
        requests = request_lines(
            s,
            select(o)
            .where(
                o.requested_by_id == me,
                or_(o.decided_at.is_(None), and_(o.decided_at >= start, o.decided_at < end)),
            )
            .order_by(o.requested_at.desc(), o.id.desc())
            .limit(LINES),
        )
        case_ids = {c[0] for c in callbacks} | {p[0] for p in due} | {p[0] for p in broken}
        case_ids |= {v[0] for v in visits} | {f[0] for f in follow_ups}
        names = _names(s, case_ids)
    time = time_in_states(spans, start, end, now)
    return MyDay(
        day=today,
        as_of=now,
        state=current.state.value if current is not None else None,
        state_since=current.started_at if current is not None else None,
        callbacks=tuple(
            CallbackLine(case_id, due_at, names.get(case_id, ""), status)
            for case_id, due_at, status in callbacks
        ),
        promises_due=tuple(
            PromiseLine(case_id, names.get(case_id, ""), day, amount, status)
            for case_id, day, amount, status in due
        ),
        promises_broken=tuple(
            PromiseLine(case_id, names.get(case_id, ""), day, amount, status)
            for case_id, day, amount, status in broken
        ),
        visits=tuple(
            VisitLine(case_id, names.get(case_id, ""), starts_at, district, str(status.value))
            for case_id, starts_at, district, status in visits
        ),
        follow_ups=tuple(
            FollowUpLine(case_id, names.get(case_id, ""), due_on, str(channel.value))
            for case_id, due_on, channel in follow_ups
        ),
        figures=MyFigures(
            attempts=attempts,
            right_party_contacts=right,
            promises=promises,
            collected_minor=collected,
            ready_seconds=time.ready,
            paused_seconds=time.paused_total,
            wrap_up_seconds=time.wrap_up,
            working_seconds=time.working,
        ),
        requests=tuple(requests),
    )
