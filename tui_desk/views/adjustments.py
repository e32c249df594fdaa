"""Hardship adjustments waiting for a supervisor's decision."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.rules.adjustments import Changes, Comparison
from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class PendingAdjustment(SafeText):
    adjustment_id: int
    case_id: int
    plan_id: int | None
    kinds: tuple[str, ...]
    reason: str
    requested_by_id: int
    requested_by: str
    requested_at: dt.datetime
    changes: Changes | None
    comparison: Comparison | None
    reward_minor: int | None
    """Early settlement: the reward asked for."""
