"""Holds in force, as the supervisors' hold list and the command line show them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.domain import HoldKind


@dataclass(frozen=True)
class HeldCase:
    """One hold still in force on a case."""

    hold_id: int
    case_id: int
    borrower_name: str
    kind: HoldKind
    reason: str
    set_by: str | None
    set_at: dt.datetime
    ends_at: dt.datetime | None
    complaint_id: int | None


@dataclass(frozen=True)
class ReleasedHold:
    """What a release did: the hold, and whether its case is still held by others."""

    hold_id: int
    case_id: int
    kind: HoldKind
    case_still_on_hold: bool
