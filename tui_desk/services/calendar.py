"""The visit calendar's read model: a week or a day, one collector or all of them.

Visits are grouped by local day in the office zone. "All collectors" reads every
collector's visits of the period with one index range per collector-less query
(``ix_appointment_collector_time`` serves the one-collector case).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Appointment,
    Borrower,
    CollectionCase,
    FollowUp,
    FollowUpStatus,
)
from tui_desk.i18n import _
from tui_desk.rules.visits import work_calendar
from tui_desk.services.errors import NotFound
from tui_desk.views.calendar import CalendarFollowUp, CalendarSpanDay, CalendarView, CalendarVisit


def week_start_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def calendar_view(
    db: Database,
    *,
    start: dt.date,
    span_days: int,
    timezone: str,
    collector_id: int | None = None,
    case_id: int | None = None,
    holidays_country: str | None = None,
) -> CalendarView:
    """The visits of one collector (or all) over ``span_days`` local days from ``start``."""
    with db.read() as s:
        return read_calendar_view(
            s,
            start=start,
            span_days=span_days,
            timezone=timezone,
            collector_id=collector_id,
            case_id=case_id,
            holidays_country=holidays_country,
        )


def read_calendar_view(
    s: Session,
    *,
    start: dt.date,
    span_days: int,
    timezone: str,
    collector_id: int | None = None,
    case_id: int | None = None,
    holidays_country: str | None = None,
) -> CalendarView:
    if span_days not in (1, 7):
        raise ValueError("a calendar shows a day or a week")
    if span_days == 7:
        start = week_start_of(start)
    zone = ZoneInfo(timezone)
    lo = dt.datetime.combine(start, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    hi = dt.datetime.combine(
        start + dt.timedelta(days=span_days), dt.time(), tzinfo=zone
    ).astimezone(dt.UTC)
    collector_name: str | None = None
    if collector_id is not None:
        collector = s.get(Agent, collector_id)
        if collector is None:
            raise NotFound(_("agent {agent_id} does not exist").format(agent_id=collector_id))
        collector_name = collector.name
    stmt = (
        select(Appointment, Borrower.name, Agent.name)
        .join(CollectionCase, CollectionCase.id == Appointment.case_id)
        .join(Borrower, Borrower.id == CollectionCase.borrower_id)
        .join(Agent, Agent.id == Appointment.collector_id)
        .where(Appointment.starts_at >= lo, Appointment.starts_at < hi)
        .order_by(Appointment.starts_at, Agent.name, Appointment.id)
    )
    if collector_id is not None:
        stmt = stmt.where(Appointment.collector_id == collector_id)
    by_day: dict[dt.date, list[CalendarVisit]] = {}
    for appt, borrower_name, agent_name in s.execute(stmt):
        by_day.setdefault(appt.starts_at.astimezone(zone).date(), []).append(
            CalendarVisit(
                appointment_id=appt.id,
                case_id=appt.case_id,
                collector_id=appt.collector_id,
                collector_name=agent_name,
                starts_at=appt.starts_at,
                ends_at=appt.ends_at,
                borrower_name=borrower_name,
                district=appt.district,
                status=appt.status,
            )
        )
    follow_ups = _follow_ups(
        s, start, start + dt.timedelta(days=span_days), case_id=case_id,
        owner_id=collector_id,
    )  # fmt: skip
    holiday_of = _holiday_names(holidays_country)
    days = tuple(
        CalendarSpanDay(d, tuple(by_day.get(d, ())), holiday_of(d), follow_ups.get(d, ()))
        for d in (start + dt.timedelta(days=i) for i in range(span_days))
    )
    return CalendarView(
        start=start,
        span_days=span_days,
        timezone=timezone,
        collector_id=collector_id,
        collector_name=collector_name,
        case_id=case_id,
        days=days,
        all_collectors=collector_id is None,
    )


def _follow_ups(
    session: Session,
    first: dt.date,
    end: dt.date,
    *,
    case_id: int | None,
    owner_id: int | None,
) -> dict[dt.date, tuple[CalendarFollowUp, ...]]:
    """Open follow-ups in [first, end) of the selected case, and of the collector shown."""
    who = []
    if case_id is not None:
        who.append(FollowUp.case_id == case_id)
    if owner_id is not None:
        who.append(FollowUp.owner_id == owner_id)
    if not who:
        return {}
    stmt = (
        select(FollowUp, Borrower.name, Agent.name)
        .join(CollectionCase, CollectionCase.id == FollowUp.case_id)
        .join(Borrower, Borrower.id == CollectionCase.borrower_id)
        .outerjoin(Agent, Agent.id == FollowUp.owner_id)
        .where(
            or_(*who),
            FollowUp.due_on >= first,
            FollowUp.due_on < end,
            FollowUp.status.in_((FollowUpStatus.SCHEDULED, FollowUpStatus.MISSED)),
        )
        .order_by(FollowUp.due_on, FollowUp.id)
        .limit(500)
    )
    found: dict[dt.date, list[CalendarFollowUp]] = {}
    for row, borrower_name, owner_name in session.execute(stmt):
        found.setdefault(row.due_on, []).append(
            CalendarFollowUp(
                follow_up_id=row.id,
                case_id=row.case_id,
                borrower_name=borrower_name,
                channel=row.channel.value,
                status=row.status.value,
                owner_name=owner_name,
            )
        )
    return {day: tuple(items) for day, items in found.items()}


def empty_view(
    *,
    start: dt.date,
    span_days: int,
    timezone: str,
    case_id: int | None,
    holidays_country: str | None = None,
) -> CalendarView:
    """The period with no collector to show (the case has no visit yet)."""
    if span_days == 7:
        start = week_start_of(start)
    holiday_of = _holiday_names(holidays_country)
    return CalendarView(
        start=start,
        span_days=span_days,
        timezone=timezone,
        collector_id=None,
        collector_name=None,
        case_id=case_id,
        days=tuple(
            CalendarSpanDay(d, (), holiday_of(d))
            for d in (start + dt.timedelta(days=i) for i in range(span_days))
        ),
    )


def _no_holiday(_day: dt.date) -> str | None:
    return None


def _holiday_names(country: str | None) -> Callable[[dt.date], str | None]:
    if country is None:
        return _no_holiday
    return work_calendar(country).holiday_name


def case_collector(db: Database, case_id: int) -> tuple[int | None, dt.datetime | None]:
    """The collector and start of the case's latest visit (None, None without one)."""
    with db.read() as s:
        return read_case_collector(s, case_id)


def read_case_collector(s: Session, case_id: int) -> tuple[int | None, dt.datetime | None]:
    row = s.execute(
        select(Appointment.collector_id, Appointment.starts_at)
        .where(Appointment.case_id == case_id)
        .order_by(Appointment.starts_at.desc(), Appointment.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None, None
    return row[0], row[1]


def read_next_visit_start(s: Session, case_id: int, since: dt.datetime) -> dt.datetime | None:
    """When the case's next visit at or after ``since`` starts (None without one)."""
    return s.scalar(
        select(Appointment.starts_at)
        .where(Appointment.case_id == case_id, Appointment.starts_at >= since)
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(1)
    )
