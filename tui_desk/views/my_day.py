"""The operator's own day: callbacks, promises, visits, follow-ups, figures, requests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.views.safe import SafeText
from tui_desk.views.supervision import OverrideRequestLine

# Where a callback due today stands.
CALLBACK_DONE = "done"  # the case was contacted at or after its time
CALLBACK_MISSED = "missed"  # its time passed more than the stale minutes ago, not done
CALLBACK_DUE = "due"  # its time has come (within the stale minutes)
CALLBACK_LATER = "later"  # still ahead today


@dataclass(frozen=True)
class CallbackLine(SafeText):
    case_id: int
    due_at: dt.datetime
    borrower: str
    status: str  # one of the CALLBACK_* values


@dataclass(frozen=True)
class PromiseLine(SafeText):
    case_id: int
    borrower: str
    due_on: dt.date
    amount_minor: int
    status: str  # a PromiseStatus value: open (due today) or broken (due yesterday)


@dataclass(frozen=True)
class VisitLine(SafeText):
    case_id: int
    borrower: str
    starts_at: dt.datetime
    district: str
    status: str  # an AppointmentStatus value


@dataclass(frozen=True)
class FollowUpLine(SafeText):
    case_id: int
    borrower: str
    due_on: dt.date
    channel: str  # a Channel value


@dataclass(frozen=True)
class MyFigures(SafeText):
    """The operator's figures so far today (office day)."""

    attempts: int
    right_party_contacts: int
    promises: int
    collected_minor: int
    ready_seconds: int
    paused_seconds: int
    wrap_up_seconds: int
    working_seconds: int


@dataclass(frozen=True)
class MyDay(SafeText):
    day: dt.date
    as_of: dt.datetime
    state: str | None  # the agent's state now (an AgentState value), None: no span
    state_since: dt.datetime | None
    callbacks: tuple[CallbackLine, ...]  # in time order
    promises_due: tuple[PromiseLine, ...]  # open, due today
    promises_broken: tuple[PromiseLine, ...]  # broken, due yesterday
    visits: tuple[VisitLine, ...]  # today's, as collector
    follow_ups: tuple[FollowUpLine, ...]  # scheduled, due today or earlier
    figures: MyFigures
    requests: tuple[OverrideRequestLine, ...]  # pending, and those answered today
