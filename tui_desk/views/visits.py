"""Home visits: the slots offered for booking and a collector's day sheet."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.domain import AppointmentStatus
from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class SlotOption(SafeText):
    """A proposed visit slot, with what the operator needs to choose it."""

    collector_id: int
    collector_name: str
    collector_login: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    district: str


@dataclass(frozen=True)
class SheetVisit(SafeText):
    appointment_id: int
    case_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: AppointmentStatus
    borrower_name: str
    address: str
    district: str
    phone: str | None
    outstanding_minor: int
    documents_to_check: tuple[str, ...]
    bring: tuple[str, ...]


@dataclass(frozen=True)
class DaySheet(SafeText):
    collector_id: int
    collector_name: str
    collector_login: str
    day: dt.date
    timezone: str
    visits: tuple[SheetVisit, ...]
