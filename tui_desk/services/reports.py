"""Reports from the ledger and the audit trail, for supervisors (screen and CLI).

Every report is ``run(db, *, date_from, date_to, profile) -> ReportTable`` and issues one
SQL aggregate. The period is a range of **office-local days, both ends included**:
timestamps are compared with ``[local midnight of date_from, local midnight after
date_to)`` converted to UTC with the profile's ``office_timezone``; date columns
(``paid_on``, ``due_on``) are compared with the days themselves.

Definitions (one per report in ``REPORTS``):

``rpc-rate``
    Per agent, outbound attempts on the person-to-person channels (phone, visit) started
    in the period. *Connected*: the outcome is one where a person answered
    (``rules.contact.CONNECTED_OUTCOMES``). *Right-party contact*: the outcome is a
    conversation (``CONVERSATION_OUTCOMES``: refused, promise, agrees to a visit,
    callback) **and** the party reached is the borrower (a NULL party counts as the
    borrower, the default target of an attempt). RPC % = right-party contacts / attempts.
    SMS, e-mail and letters are left out: their outcomes (sent, delivered) say nothing
    about whether a person was reached.
``promise-kept``
    Per agent who took the promise, promises falling due in the period. Kept % = kept /
    (kept + broken); open and cancelled promises are shown but not in the rate.
``collected-by-agent``
    Payments with ``paid_on`` in the period, credited to the case's **current owner**
    (the ledger keeps no owner history; unowned cases are one row). Money in yuan.
``collected-by-bucket``
    The same payments by the DPD bucket of the case **on the payment day**, from the
    case's ``overdue_since`` (``paid_on - overdue_since`` days past due, bucketed by the
    profile's bounds, as ``rules.priority.bucket_number``); a case no longer overdue
    counts as current (0). Its total equals ``collected-by-agent``'s.
``roll-rates``
    Cases open at the start of the period (opened before it, not closed before it) with a
    known ``overdue_since``: their bucket on ``date_from`` against their bucket on
    ``date_to`` (days past due from ``overdue_since``, profile bounds), or *closed* when
    the case was closed within the period. Method: the priority refresh does not record
    bucket moves in the audit trail, so buckets are recomputed from ``overdue_since`` as it
    stands now; a case whose arrears were cured and reset is not in the population.
    Roll forward % = cases in a higher bucket at the end / cases in the bucket at the start.
``visit-outcomes``
    Visit reports written in the period by outcome: count, share, money taken at the door.
``follow-up-compliance``
    Per owner, follow-ups (回访) due in the period, cancelled ones left out. *On time*: done
    on or before the due day (office-local day of ``done_at``); *late*: done after it;
    *missed*: marked missed; *open*: still scheduled. Compliance % = on time / due.
``unreconciled-door``
    Per collector, visit reports written in the period with money taken at the door and
    no matching bank payment yet (state as of now): reports, amount, oldest day.
``complaints-by-collector``
    Per agent complained about, complaints received in the period: total, open
    (open or investigating), resolved, dismissed.
``agent-time``
    Per agent and office day, where the time went, from the agent's state spans
    (``agent_state_span``, ``rules.agent_time``): ready, paused (in all, then by each
    reason of the profile's ``[states] pause_reasons`` and any other reason found),
    working, wrap-up and offline, as ``H:MM:SS``. Spans are clipped to the day; an open
    span counts up to now; time no span covers is offline, so a row adds up to the day
    (24 hours, 23 or 25 on a day the clocks change; today up to now). Agents with no span
    touching the period are left out.
``strategy-actions``
    Per office-local day and contact strategy (its profile name), what the worker's
    ``strategies`` job did (``strategy_action`` rows): *fired*, the events the strategy
    fired on (each event once); *actions*, the actions they called for; *done*; *SMS
    sent*, done SMS the gateway has accepted or delivered by now; *refused*, and *refused
    by*, each refusing rule with its count (quiet hours, do not call, hold, daily ceiling...).

Amounts are printed in yuan with two decimals (``12345.67``, no separators, so a CSV
cell is a number); rates in percent with one decimal, ``-`` when there is no denominator.
``to_csv`` gives the text; the CLI writes it as UTF-8 with a BOM so spreadsheet programs
open the Chinese names correctly.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Channel,
    CollectionCase,
    Complaint,
    ComplaintStatus,
    ContactAttempt,
    Direction,
    FollowUp,
    FollowUpStatus,
    OutboxStatus,
    Payment,
    PromiseStatus,
    PromiseToPay,
    Relation,
    SmsOutbox,
    StrategyAction,
    StrategyActionStatus,
    VisitOutcome,
    VisitReport,
)
from tui_desk.formatting import label
from tui_desk.i18n import N_, _
from tui_desk.rules.contact import CONNECTED_OUTCOMES, CONVERSATION_OUTCOMES
from tui_desk.rules.permissions import Action
from tui_desk.rules.priority import bucket_labels
from tui_desk.rules.profile import Profile
from tui_desk.services.context import Actor
from tui_desk.services.errors import ServiceError
from tui_desk.services.validation import InvalidInput
from tui_desk.views.reports import Cell, ReportTable


@dataclass(frozen=True)
class Report:
    name: str
    title: str  # N_() marked; translate when shown
    run: Callable[[Database, dt.date, dt.date, Profile], ReportTable] | None = None
    # A report about time still running (today's open spans) takes "now" as well.
    timed: Callable[[Database, dt.date, dt.date, Profile, dt.datetime], ReportTable] | None = None

    def __call__(
        self,
        db: Database,
        *,
        date_from: dt.date,
        date_to: dt.date,
        profile: Profile,
        now: dt.datetime | None = None,
    ) -> ReportTable:
        if date_to < date_from:
            raise ServiceError(
                _("the period ends ({to}) before it starts ({start})").format(
                    to=date_to.isoformat(), start=date_from.isoformat()
                )
            )
        if self.timed is not None:
            if now is None:
                # No clock given: the period is taken as over (open spans run to its end).
                now = utc_bounds(date_from, date_to, profile.office_timezone)[1]
            return self.timed(db, date_from, date_to, profile, now)
        assert self.run is not None
        return self.run(db, date_from, date_to, profile)


# --- helpers ----------------------------------------------------------------------------


def utc_bounds(date_from: dt.date, date_to: dt.date, zone: str) -> tuple[dt.datetime, dt.datetime]:
    """``[local midnight of date_from, local midnight after date_to)`` in UTC."""
    tz = ZoneInfo(zone)
    start = dt.datetime.combine(date_from, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start, end.astimezone(dt.UTC)


def yuan(minor: int | None) -> str:
    """Minor units as yuan with two decimals, exact: 123456 -> '1234.56'."""
    return f"{Decimal(int(minor or 0)).scaleb(-2):.2f}"


def percent(part: int, whole: int) -> str:
    if not whole:
        return "-"
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))
    return f"{value:.1f}"


def _i(value: Any) -> int:
    return int(value or 0)


def _agent_label(login: str | None, name: str | None, missing: str) -> tuple[str, str]:
    if login is None:
        return missing, ""
    return login, name or ""


def _shift(db: Database, day: InstrumentedAttribute[Any], days: int) -> ColumnElement[Any]:
    """A date column ``days`` earlier, on either engine."""
    if db.is_sqlite:
        return func.date(day, f"-{days} days")
    return day - days


def _bucket_on(
    db: Database,
    overdue_since: InstrumentedAttribute[Any],
    day: dt.date | InstrumentedAttribute[Any],
    bounds: tuple[int, ...],
) -> ColumnElement[int]:
    """``bucket_number(day - overdue_since, bounds)`` as SQL (0 when not overdue).

    Compares ``overdue_since`` with thresholds (``day - high``), so no engine-specific
    date difference is needed; with a literal day the thresholds are plain parameters.
    """

    def minus(n: int) -> Any:
        if isinstance(day, dt.date):
            return literal(day - dt.timedelta(days=n), Date)
        return _shift(db, day, n) if n else day

    whens: list[tuple[ColumnElement[bool], int]] = [
        (overdue_since.is_(None), 0),
        (overdue_since >= minus(0), 0),
    ]
    whens += [(overdue_since >= minus(high), n) for n, high in enumerate(bounds, start=1)]
    return case(*whens, else_=len(bounds) + 1)


def _local_day(db: Database, column: Any, profile: Profile, at: dt.date) -> ColumnElement[Any]:
    """The office-local day of a UTC timestamp column."""
    if db.is_sqlite:
        # SQLite has no zone database: the office's UTC offset on ``at`` (no DST in
        # Asia/Shanghai; elsewhere a period spanning a DST change may be off by an hour).
        noon = dt.datetime.combine(at, dt.time(12), tzinfo=ZoneInfo(profile.office_timezone))
        offset = noon.utcoffset() or dt.timedelta(0)
        return func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")
    return cast(func.timezone(profile.office_timezone, column), Date)


def _bucket_name(number: int, bounds: tuple[int, ...]) -> str:
    return _("current") if number == 0 else bucket_labels(bounds)[number - 1]


# --- the reports --------------------------------------------------------------------------


def rpc_rate(db: Database, date_from: dt.date, date_to: dt.date, profile: Profile) -> ReportTable:
    start, end = utc_bounds(date_from, date_to, profile.office_timezone)
    c = ContactAttempt
    connected = case((c.outcome.in_(sorted(CONNECTED_OUTCOMES)), 1), else_=0)
    rpc = case(
        (
            and_(
                c.outcome.in_(sorted(CONVERSATION_OUTCOMES)),
                or_(c.party.is_(None), c.party == Relation.BORROWER),
            ),
            1,
        ),
        else_=0,
    )
    stmt = (
        select(Agent.login, Agent.name, func.count(), func.sum(connected), func.sum(rpc))
        .select_from(c)
        .outerjoin(Agent, Agent.id == c.agent_id)
        .where(
            c.started_at >= start,
            c.started_at < end,
            c.direction == Direction.OUTBOUND,
            c.channel.in_([Channel.PHONE, Channel.VISIT]),
            c.voided_at.is_(None),  # an undone outcome was a mis-key, not an attempt
        )
        .group_by(c.agent_id, Agent.login, Agent.name)
        .order_by(Agent.login.is_(None), Agent.login)
    )
    rows: list[tuple[Cell, ...]] = []
    totals = [0, 0, 0]
    with db.read() as s:
        for login, name, attempts, conn, right in s.execute(stmt):
            vals = [_i(attempts), _i(conn), _i(right)]
            totals = [a + b for a, b in zip(totals, vals, strict=True)]
            rows.append(
                (*_agent_label(login, name, _("(no agent)")), *vals, percent(vals[2], vals[0]))
            )
    return ReportTable(
        title=_("Right-party contact rate"),
        columns=(
            _("agent"),
            _("name"),
            _("attempts"),
            _("connected"),
            _("right-party"),
            _("RPC %"),
        ),
        rows=rows,
        total=(_("total"), "", *totals, percent(totals[2], totals[0])),
    )


def promise_kept(
    db: Database, date_from: dt.date, date_to: dt.date, profile: Profile
) -> ReportTable:
    p = PromiseToPay

    def n(status: PromiseStatus) -> Any:
        return func.sum(case((p.status == status, 1), else_=0))

    stmt = (
        select(
            Agent.login,
            Agent.name,
            func.count(),
            n(PromiseStatus.KEPT),
            n(PromiseStatus.BROKEN),
            n(PromiseStatus.OPEN),
            n(PromiseStatus.CANCELLED),
        )
        .select_from(p)
        .outerjoin(Agent, Agent.id == p.created_by_id)
        .where(p.due_on >= date_from, p.due_on <= date_to)
        .group_by(p.created_by_id, Agent.login, Agent.name)
        .order_by(Agent.login.is_(None), Agent.login)
    )
    rows: list[tuple[Cell, ...]] = []
    totals = [0] * 5
    with db.read() as s:
        for login, name, *counts in s.execute(stmt):
            vals = [_i(v) for v in counts]
            totals = [a + b for a, b in zip(totals, vals, strict=True)]
            rows.append(
                (*_agent_label(login, name, "-"), *vals, percent(vals[1], vals[1] + vals[2]))
            )
    return ReportTable(
        title=_("Promise-kept rate (promises due in the period)"),
        columns=(
            _("agent"),
            _("name"),
            _("due"),
            _("kept"),
            _("broken"),
            _("open"),
            _("cancelled"),
            _("kept %"),
        ),
        rows=rows,
        total=(_("total"), "", *totals, percent(totals[1], totals[1] + totals[2])),
    )


def collected_by_agent(
    db: Database, date_from: dt.date, date_to: dt.date, profile: Profile
) -> ReportTable:
    pay = Payment
    cc = CollectionCase
    stmt = (
        select(
            Agent.login,
            Agent.name,
            func.count(),
            func.count(func.distinct(pay.case_id)),
            func.sum(pay.amount_minor),
        )
        .select_from(pay)
        .join(cc, cc.id == pay.case_id)
        .outerjoin(Agent, Agent.id == cc.owner_id)
        .where(pay.paid_on >= date_from, pay.paid_on <= date_to)
        .group_by(cc.owner_id, Agent.login, Agent.name)
        .order_by(Agent.login.is_(None), Agent.login)
    )
    rows: list[tuple[Cell, ...]] = []
    n_total = amount_total = 0
    with db.read() as s:
        for login, name, n, cases, amount in s.execute(stmt):
            n_total += _i(n)
            amount_total += _i(amount)
            rows.append(
                (*_agent_label(login, name, _("(unowned)")), _i(n), _i(cases), yuan(amount))
            )
    return ReportTable(
        title=_("Amount collected per agent (case owner)"),
        columns=(_("agent"), _("name"), _("payments"), _("cases"), _("amount")),
        rows=rows,
        total=(_("total"), "", n_total, "", yuan(amount_total)),
    )


def collected_by_bucket(
    db: Database, date_from: dt.date, date_to: dt.date, profile: Profile
) -> ReportTable:
    pay = Payment
    cc = CollectionCase
    bucket = _bucket_on(db, cc.overdue_since, pay.paid_on, profile.dpd_bounds).label("bucket")
    stmt = (
        select(
            bucket, func.count(), func.count(func.distinct(pay.case_id)), func.sum(pay.amount_minor)
        )
        .select_from(pay)
        .join(cc, cc.id == pay.case_id)
        .where(pay.paid_on >= date_from, pay.paid_on <= date_to)
        .group_by(bucket)
        .order_by(bucket)
    )
    rows: list[tuple[Cell, ...]] = []
    n_total = amount_total = 0
    with db.read() as s:
        for number, n, cases, amount in s.execute(stmt):
            n_total += _i(n)
            amount_total += _i(amount)
            rows.append(
                (_bucket_name(_i(number), profile.dpd_bounds), _i(n), _i(cases), yuan(amount))
            )
    return ReportTable(
        title=_("Amount collected per DPD bucket (on the payment day)"),
        columns=(_("bucket"), _("payments"), _("cases"), _("amount")),
        rows=rows,
        total=(_("total"), n_total, "", yuan(amount_total)),
    )


def roll_rates(db: Database, date_from: dt.date, date_to: dt.date, profile: Profile) -> ReportTable:
    start, end = utc_bounds(date_from, date_to, profile.office_timezone)
    cc = CollectionCase
    bounds = profile.dpd_bounds
    closed = -1
    b_from = _bucket_on(db, cc.overdue_since, date_from, bounds).label("b_from")
    b_to = case(
        (and_(cc.closed_at.is_not(None), cc.closed_at < end), closed),
        else_=_bucket_on(db, cc.overdue_since, date_to, bounds),
    ).label("b_to")
    stmt = (
        select(b_from, b_to, func.count())
        .where(
            cc.opened_at < start,
            cc.overdue_since.is_not(None),
            or_(cc.closed_at.is_(None), cc.closed_at >= start),
        )
        .group_by(b_from, b_to)
    )
    numbers = list(range(len(bounds) + 2))
    moves: dict[int, dict[int, int]] = {n: {} for n in numbers}
    with db.read() as s:
        for f, t, n in s.execute(stmt):
            moves[_i(f)][_i(t)] = _i(n)
    rows: list[tuple[Cell, ...]] = []
    for f in numbers:
        row = moves[f]
        count = sum(row.values())
        if f == 0 and not count:
            continue
        forward = sum(n for t, n in row.items() if t > f)
        rows.append(
            (
                _bucket_name(f, bounds),
                count,
                *(row.get(t, 0) for t in numbers),
                row.get(closed, 0),
                percent(forward, count),
            )
        )
    return ReportTable(
        title=_("Roll rates between DPD buckets ({start} to {end})").format(
            start=date_from.isoformat(), end=date_to.isoformat()
        ),
        columns=(
            _("from bucket"),
            _("cases"),
            *(_("to {bucket}").format(bucket=_bucket_name(t, bounds)) for t in numbers),
            _("closed"),
            _("roll forward %"),
        ),
        rows=rows,
    )


def visit_outcomes(
    db: Database, date_from: dt.date, date_to: dt.date, profile: Profile
) -> ReportTable:
    start, end = utc_bounds(date_from, date_to, profile.office_timezone)
    v = VisitReport
    stmt = (
        select(v.outcome, func.count(), func.sum(v.collected_minor))
        .where(v.created_at >= start, v.created_at < end)
        .group_by(v.outcome)
    )
    with db.read() as s:
        found = {VisitOutcome(o): (_i(n), _i(m)) for o, n, m in s.execute(stmt)}
    total_n = sum(n for n, _m in found.values())
    total_m = sum(m for _n, m in found.values())
    rows: list[tuple[Cell, ...]] = [
        (o.value, n, percent(n, total_n), yuan(m))
        for o in VisitOutcome
        for n, m in [found.get(o, (0, 0))]
    ]
    return ReportTable(
        title=_("Visit outcomes (visit reports written in the period)"),
        columns=(_("outcome"), _("reports"), _("share %"), _("collected at door")),
        rows=rows,
        total=(_("total"), total_n, percent(total_n, total_n), yuan(total_m)),
    )


def follow_up_compliance(
    db: Database, date_from: dt.date, date_to: dt.date, profile: Profile
) -> ReportTable:
    f = FollowUp
    done_day = _local_day(db, f.done_at, profile, date_from)
    done = f.status == FollowUpStatus.DONE

    def n(cond: ColumnElement[bool]) -> Any:
        return func.sum(case((cond, 1), else_=0))

    stmt = (
        select(
            Agent.login,
            Agent.name,
            func.count(),
            n(and_(done, done_day <= f.due_on)),
            n(and_(done, done_day > f.due_on)),
            n(f.status == FollowUpStatus.MISSED),
            n(f.status == FollowUpStatus.SCHEDULED),
        )
        .select_from(f)
        .outerjoin(Agent, Agent.id == f.owner_id)
        .where(
            f.due_on >= date_from,
            f.due_on <= date_to,
            f.status != FollowUpStatus.CANCELLED,
        )
        .group_by(f.owner_id, Agent.login, Agent.name)
        .order_by(Agent.login.is_(None), Agent.login)
    )
    rows: list[tuple[Cell, ...]] = []
    totals = [0] * 5
    with db.read() as s:
        for login, name, *counts in s.execute(stmt):
            vals = [_i(v) for v in counts]
            totals = [a + b for a, b in zip(totals, vals, strict=True)]
            rows.append((*_agent_label(login, name, "-"), *vals, percent(vals[1], vals[0])))
    return ReportTable(
        title=_("Follow-up compliance (follow-ups due in the period)"),
        columns=(
            _("agent"),
            _("name"),
            _("due"),
            _("on time"),
            _("late"),
            _("missed"),
            _("open"),
            _("compliance %"),
        ),
        rows=rows,
        total=(_("total"), "", *totals, percent(totals[1], totals[0])),
    )


def unreconciled_door(
    db: Database, date_from: dt.date, date_to: dt.date, profile: Profile
) -> ReportTable:
    start, end = utc_bounds(date_from, date_to, profile.office_timezone)
    v = VisitReport
    stmt = (
        select(
            Agent.login,
            Agent.name,
            func.count(),
            func.sum(v.collected_minor),
            func.min(v.created_at),
        )
        .select_from(v)
        .join(Agent, Agent.id == v.collector_id)
        # The predicate of the partial index ix_visit_report_unreconciled.
        .where(v.collected_minor > 0, v.reconciled_payment_id.is_(None))
        .where(v.created_at >= start, v.created_at < end)
        .group_by(v.collector_id, Agent.login, Agent.name)
        .order_by(Agent.login.is_(None), Agent.login)
    )
    zone = ZoneInfo(profile.office_timezone)
    rows: list[tuple[Cell, ...]] = []
    n_total = amount_total = 0
    with db.read() as s:
        for login, name, n, amount, oldest in s.execute(stmt):
            n_total += _i(n)
            amount_total += _i(amount)
            if isinstance(oldest, str):  # SQLite gives the aggregate back untyped
                oldest = dt.datetime.fromisoformat(oldest).replace(tzinfo=dt.UTC)
            day = oldest.astimezone(zone).date().isoformat() if oldest else ""
            rows.append((login, name, _i(n), yuan(amount), day))
    return ReportTable(
        title=_("Door collections not yet matched by a bank payment"),
        columns=(_("collector"), _("name"), _("reports"), _("amount"), _("oldest")),
        rows=rows,
        total=(_("total"), "", n_total, yuan(amount_total), ""),
    )


def complaints_by_collector(
    db: Database, date_from: dt.date, date_to: dt.date, profile: Profile
) -> ReportTable:
    start, end = utc_bounds(date_from, date_to, profile.office_timezone)
    c = Complaint

    def n(*statuses: ComplaintStatus) -> Any:
        return func.sum(case((c.status.in_(statuses), 1), else_=0))

    stmt = (
        select(
            Agent.login,
            Agent.name,
            func.count(),
            n(ComplaintStatus.OPEN, ComplaintStatus.INVESTIGATING),
            n(ComplaintStatus.RESOLVED),
            n(ComplaintStatus.DISMISSED),
        )
        .select_from(c)
        .outerjoin(Agent, Agent.id == c.against_agent_id)
        .where(c.received_at >= start, c.received_at < end)
        .group_by(c.against_agent_id, Agent.login, Agent.name)
        .order_by(Agent.login.is_(None), Agent.login)
    )
    rows: list[tuple[Cell, ...]] = []
    totals = [0] * 4
    with db.read() as s:
        for login, name, *counts in s.execute(stmt):
            vals = [_i(v) for v in counts]
            totals = [a + b for a, b in zip(totals, vals, strict=True)]
            rows.append((*_agent_label(login, name, _("(no agent named)")), *vals))
    return ReportTable(
        title=_("Complaints per collector (received in the period)"),
        columns=(_("agent"), _("name"), _("complaints"), _("open"), _("resolved"), _("dismissed")),
        rows=rows,
        total=(_("total"), "", *totals),
    )


MAX_AGENT_TIME_DAYS = 92


def agent_time(
    db: Database, date_from: dt.date, date_to: dt.date, profile: Profile, now: dt.datetime
) -> ReportTable:
    from tui_desk.rules.agent_time import NO_REASON, StateTime, clock, day_window, time_in_states
    from tui_desk.services.agent_time import spans_in

    days = (date_to - date_from).days + 1
    if days > MAX_AGENT_TIME_DAYS:
        raise ServiceError(
            _("the agent-time report covers at most {n} days").format(n=MAX_AGENT_TIME_DAYS)
        )
    zone = profile.office_timezone
    start, _end = day_window(date_from, zone)
    _start, end = day_window(date_to, zone)
    with db.read() as s:
        spans = spans_in(s, start, end)
        agents = (
            {
                agent_id: (login, name)
                for agent_id, login, name in s.execute(
                    select(Agent.id, Agent.login, Agent.name).where(Agent.id.in_(sorted(spans)))
                )
            }
            if spans
            else {}
        )
    times: list[tuple[str, str, dt.date, StateTime]] = []
    for agent_id, agent_spans in spans.items():
        login, name = agents.get(agent_id, (str(agent_id), ""))
        for n in range(days):
            day = date_from + dt.timedelta(days=n)
            low, high = day_window(day, zone)
            mine = [
                x
                for x in agent_spans
                if x.started_at < high and (x.ended_at is None or x.ended_at > low)
            ]
            if not mine:
                continue
            times.append((login, name, day, time_in_states(mine, low, high, now)))
    times.sort(key=lambda t: (t[2], t[0]))
    configured = profile.section("states").get("pause_reasons", [])
    reasons = [str(r) for r in configured] if isinstance(configured, list) else []
    for *_who, _day, time in times:
        reasons += [r for r in time.paused if r not in reasons]
    rows: list[tuple[Cell, ...]] = []
    totals = [0] * (6 + len(reasons))
    for login, name, day, time in times:
        values = [
            time.ready,
            time.paused_total,
            *(time.paused.get(r, 0) for r in reasons),
            time.working,
            time.wrap_up,
            time.offline,
        ]
        values.insert(0, time.total)
        totals = [a + b for a, b in zip(totals, values, strict=True)]
        rows.append(
            (day.isoformat(), login, name, *(clock(v) for v in values[1:]), clock(values[0]))
        )
    reason_columns = tuple(
        _("paused: {reason}").format(
            reason=label("pause_reason", r) if r != NO_REASON else _("(no reason)")
        )
        for r in reasons
    )
    return ReportTable(
        title=_("Agent time per day (ready, paused, working, wrap-up, offline)"),
        columns=(
            _("day"),
            _("agent"),
            _("name"),
            _("ready"),
            _("paused"),
            *reason_columns,
            _("working"),
            _("wrap-up"),
            _("offline"),
            _("day length"),
        ),
        rows=rows,
        total=(_("total"), "", "", *(clock(v) for v in totals[1:]), clock(totals[0])),
    )


def strategy_actions(
    db: Database, date_from: dt.date, date_to: dt.date, profile: Profile
) -> ReportTable:
    start, end = utc_bounds(date_from, date_to, profile.office_timezone)
    a = StrategyAction
    day = _local_day(db, a.at, profile, date_from)
    sent = (
        select(SmsOutbox.id)
        .where(
            SmsOutbox.contact_id == a.contact_id,
            SmsOutbox.status.in_((OutboxStatus.SENT, OutboxStatus.DELIVERED)),
        )
        .exists()
    )
    stmt = (
        select(
            day,
            a.rule,
            a.status,
            a.refused_by,
            func.count(),
            func.sum(case((a.seq == 0, 1), else_=0)),
            func.sum(case((sent, 1), else_=0)),
        )
        .where(a.at >= start, a.at < end)
        .group_by(day, a.rule, a.status, a.refused_by)
    )
    found: dict[tuple[str, str], list[int]] = {}
    refusals: dict[tuple[str, str], dict[str, int]] = {}
    with db.read() as s:
        for on, rule, status, refused_by, n, fired, sms_sent in s.execute(stmt):
            key = (str(on)[:10], str(rule))
            counts = found.setdefault(key, [0, 0, 0, 0, 0])
            counts[0] += _i(fired)
            counts[1] += _i(n)
            if StrategyActionStatus(status) is StrategyActionStatus.DONE:
                counts[2] += _i(n)
                counts[3] += _i(sms_sent)
            else:
                counts[4] += _i(n)
                by = refusals.setdefault(key, {})
                by[refused_by or ""] = by.get(refused_by or "", 0) + _i(n)
    rows: list[tuple[Cell, ...]] = []
    totals = [0] * 5
    for key in sorted(found):
        counts = found[key]
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        by_rule = _(", ").join(
            f"{label('rule', rule)} {n}" for rule, n in sorted(refusals.get(key, {}).items())
        )
        rows.append((*key, *counts, by_rule))
    return ReportTable(
        title=_("Contact strategy actions (per day and strategy)"),
        columns=(
            _("day"),
            _("strategy"),
            _("fired"),
            _("actions"),
            _("done"),
            _("SMS sent"),
            _("refused"),
            _("refused by"),
        ),
        rows=rows,
        total=(_("total"), "", *totals, ""),
    )


REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        Report("rpc-rate", N_("Right-party contact rate per agent"), rpc_rate),
        Report("promise-kept", N_("Promise-kept rate per agent"), promise_kept),
        Report("collected-by-agent", N_("Amount collected per agent"), collected_by_agent),
        Report("collected-by-bucket", N_("Amount collected per DPD bucket"), collected_by_bucket),
        Report("roll-rates", N_("Roll rates between DPD buckets"), roll_rates),
        Report("visit-outcomes", N_("Visit outcomes"), visit_outcomes),
        Report("follow-up-compliance", N_("Follow-up compliance per agent"), follow_up_compliance),
        Report("unreconciled-door", N_("Unreconciled door collections"), unreconciled_door),
        Report("complaints-by-collector", N_("Complaints per collector"), complaints_by_collector),
        Report("agent-time", N_("Agent time per day"), timed=agent_time),
        Report("strategy-actions", N_("Contact strategy actions"), strategy_actions),
    )
}


def run_report(
    db: Database,
    name: str,
    *,
    date_from: dt.date,
    date_to: dt.date,
    profile: Profile,
    now: dt.datetime | None = None,
) -> ReportTable:
    try:
        report = REPORTS[name]
    except KeyError:
        raise InvalidInput(
            "name",
            _("unknown report {name!r}; the reports are: {names}").format(
                name=name, names=", ".join(REPORTS)
            ),
        ) from None
    return report(db, date_from=date_from, date_to=date_to, profile=profile, now=now)


def report_for(
    actor: Actor,
    db: Database,
    name: str,
    *,
    date_from: dt.date,
    date_to: dt.date,
    profile: Profile,
    now: dt.datetime | None = None,
) -> ReportTable:
    """``run_report`` for an agent: reports are for supervisors and administrators.
    ``now`` (the caller's clock) ends the time still running today (``agent-time``)."""
    actor.require(Action.RUN_REPORTS)
    return run_report(db, name, date_from=date_from, date_to=date_to, profile=profile, now=now)


def _all_rows(table: ReportTable) -> list[tuple[Cell, ...]]:
    return [*table.rows, *([table.total] if table.total else [])]


def to_csv(table: ReportTable) -> str:
    """Header and rows (and the totals line) as CSV text; no BOM (the writer adds it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows(_all_rows(table))
    return out.getvalue()


def render_text(table: ReportTable, *, cell_width: Callable[[str], int] | None = None) -> str:
    """An aligned plain-text table: text left, numbers right, by terminal cell width."""
    from rich.cells import cell_len

    width = cell_width or cell_len
    rows: Sequence[tuple[Cell, ...]] = _all_rows(table)
    grid = [[str(c) for c in table.columns], *([str(c) for c in r] for r in rows)]
    widths = [max(width(line[i]) for line in grid) for i in range(len(table.columns))]
    numeric = [
        all(isinstance(r[i], int) or _looks_numeric(str(r[i])) for r in rows) if rows else False
        for i in range(len(table.columns))
    ]

    def fmt(line: list[str]) -> str:
        cells = []
        for i, text in enumerate(line):
            pad = " " * (widths[i] - width(text))
            cells.append(pad + text if numeric[i] else text + pad)
        return "  ".join(cells).rstrip()

    lines = [table.title, fmt(grid[0]), "  ".join("-" * w for w in widths)]
    body = [fmt(line) for line in grid[1:]]
    if table.total is not None and body:
        body.insert(len(body) - 1, "  ".join("-" * w for w in widths))
    if not table.rows:
        body = [_("(nothing in this period)"), *body]
    return "\n".join(lines + body) + "\n"


def _looks_numeric(text: str) -> bool:
    if text in ("", "-"):
        return True
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True
