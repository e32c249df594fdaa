"""Queue urgency: days past due, DPD bucket and the stored priority score (with its reason)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.rules.profile import PriorityWeights

MAX_SCORE = 2_000_000_000


def days_past_due(overdue_since: dt.date | None, today: dt.date) -> int:
    """Whole days an account has been overdue on ``today`` (0 when not overdue)."""
    if overdue_since is None:
        return 0
    return max(0, (today - overdue_since).days)


def dpd_bucket(dpd: int, bounds: tuple[int, ...]) -> str:
    """Bucket label: with bounds (30, 60, 90) -> "0", "1-30", "31-60", "61-90", "91+"."""
    if dpd <= 0:
        return "0"
    low = 1
    for high in bounds:
        if dpd <= high:
            return f"{low}-{high}"
        low = high + 1
    return f"{low}+"


def bucket_number(dpd: int, bounds: tuple[int, ...]) -> int:
    """0 when not past due, else 1 for the first bucket, 2 for the next, ... (stored, indexed)."""
    if dpd <= 0:
        return 0
    for number, high in enumerate(bounds, start=1):
        if dpd <= high:
            return number
    return len(bounds) + 1


def bucket_labels(bounds: tuple[int, ...]) -> list[str]:
    labels = []
    low = 1
    for high in bounds:
        labels.append(f"{low}-{high}")
        low = high + 1
    labels.append(f"{low}+")
    return labels


@dataclass(frozen=True)
class Score:
    value: int
    dpd_part: int
    amount_part: int
    broken_part: int
    due_part: int
    boost_part: int = 0

    def reason(self) -> str:
        """Short "why" line: which factors put the case where it is."""
        parts = [
            ("dpd", self.dpd_part),
            ("amount", self.amount_part),
            ("broken", self.broken_part),
            ("due", self.due_part),
            ("strategy", self.boost_part),
        ]
        return " ".join(f"{name}+{value}" for name, value in parts if value)


def priority_score(
    *,
    dpd: int,
    overdue_minor: int,
    broken_promises: int,
    next_action_due: bool,
    weights: PriorityWeights,
    boost: int = 0,
) -> Score:
    """The formula of the policy profile; higher is more urgent. ``boost`` is what contact
    strategies added (``raise_priority``)."""
    parts = _parts(dpd, overdue_minor, broken_promises, next_action_due, weights, boost)
    return Score(min(MAX_SCORE, sum(parts)), *parts)


def priority_value(
    *,
    dpd: int,
    overdue_minor: int,
    broken_promises: int,
    next_action_due: bool,
    weights: PriorityWeights,
    boost: int = 0,
) -> int:
    """``priority_score(...).value`` without the reason (the seed stores a million)."""
    return min(
        MAX_SCORE, sum(_parts(dpd, overdue_minor, broken_promises, next_action_due, weights, boost))
    )


def _parts(
    dpd: int,
    overdue_minor: int,
    broken_promises: int,
    next_action_due: bool,
    weights: PriorityWeights,
    boost: int,
) -> tuple[int, int, int, int, int]:
    return (
        max(0, dpd) * weights.w_dpd,
        (max(0, overdue_minor) // weights.amount_unit_minor) * weights.w_amount,
        max(0, broken_promises) * weights.w_broken,
        weights.w_due if next_action_due else 0,
        max(0, boost),
    )
