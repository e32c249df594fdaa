"""The visit calendar: a collector's (or everyone's) visits and follow-ups, a day or a week."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.domain import AppointmentStatus
from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class CalendarVisit(SafeText):
    appointment_id: int
    case_id: int
    collector_id: int
    collector_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    borrower_name: str
    district: str
    status: AppointmentStatus


@dataclass(frozen=True)
class CalendarFollowUp(SafeText):
    """A follow-up (回访) due that day: the selected case's, or the collector's own."""

    follow_up_id: int
    case_id: int
    borrower_name: str
    channel: str
    status: str
    owner_name: str | None


@dataclass(frozen=True)
class CalendarSpanDay(SafeText):
    day: dt.date
    visits: tuple[CalendarVisit, ...]
    holiday: str | None = None
    follow_ups: tuple[CalendarFollowUp, ...] = ()


@dataclass(frozen=True)
class CalendarView(SafeText):
    """Visits from ``start`` for ``span_days`` days (7 = a week from Monday, 1 = a day)."""

    start: dt.date
    span_days: int
    timezone: str
    collector_id: int | None  # None: every collector
    collector_name: str | None
    case_id: int | None  # the case the desk has selected (its visits are marked)
    days: tuple[CalendarSpanDay, ...]
    all_collectors: bool = False

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.span_days - 1)

    @property
    def visit_count(self) -> int:
        return sum(len(d.visits) for d in self.days)
