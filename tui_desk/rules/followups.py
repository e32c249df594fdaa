"""Follow-up (回访) cadence, PROCESS.md step 7: pure date rules, no I/O, no clock.

"The first follow-up is within one month of the agreement taking effect; after that, a
routine check every three months until the debt is fully paid."

The dates are calendar months (``dateutil.relativedelta``, never 30-day steps):

- first: ``effective_on + first_within_months`` months. relativedelta clips a day that the
  target month lacks to its last day (2026-01-31 + 1 month = 2026-02-28), so the first
  follow-up is never later than one month after the effective date.
- then: each follow-up is ``every_months`` calendar months after the previous one
  (chained). "Every three months" is read as "a follow-up is never more than three
  months after the previous one". Anchoring every date on the first one instead
  (first + 3k months) breaks that at month ends: first 2027-01-31 gives 2027-04-30 then
  2027-07-31, one day more than three months after 04-30 (04-30 + 3 months = 07-30).
  Chaining never breaks it; the price is that a clipped day stays clipped
  (2026-02-28, 05-28, 08-28...): the day of the month only ever moves earlier, by at most
  three days, so a borrower is checked a little early, never late.
- working days (``move_to_working_day``): a date that falls on a weekend or public holiday
  (with the CN adjusted working weekends, 调休, from ``holidays``) moves earlier to the
  previous working day, never later, so "no later than one month" and "never more than
  three months after the previous one" still hold; the next date is counted from the
  moved one. A move never reaches back to the effective date or the previous follow-up
  (then the date stays where it was; no holiday run is that long).
- until the balance is 0: no follow-up is scheduled after the payoff date (the date the
  balance reaches 0; at signing, the plan's last due date). One falling on the payoff
  date itself is kept. A payment history that pays off earlier cancels the follow-ups
  after that date; the dates before it are exactly those the rule gives for the earlier
  payoff (the sequence does not depend on the payoff, it is only cut there).

A scheduled follow-up may still be done ``missed_after_days`` days after its date; the
day after that the worker marks it missed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from dateutil.relativedelta import relativedelta

CHANNELS = ("phone", "visit")
# Plans run at most 60 months (profile [plans] max_months): 21 quarterly checks and a first.
MAX_FOLLOW_UPS = 200
_MAX_MOVE_DAYS = 31

_DEFAULTS: Mapping[str, object] = {
    "first_within_months": 1,
    "every_months": 3,
    "channel": "phone",
    "missed_after_days": 3,
    "move_to_working_day": True,
    "list_ahead_days": 7,
}


class WorkingDays(Protocol):
    """What the rule needs of a calendar (``tui_desk.rules.visits.WorkCalendar`` fits)."""

    def is_working_day(self, day: dt.date) -> bool: ...


@dataclass(frozen=True)
class FollowUpPolicy:
    first_within_months: int = 1
    every_months: int = 3
    channel: str = "phone"
    """The type of contact a follow-up is: "phone" (a call) or "visit" (a home visit)."""
    missed_after_days: int = 3
    move_to_working_day: bool = True
    list_ahead_days: int = 7
    """The follow-up list shows what falls due within this many days (and what is missed)."""

    def __post_init__(self) -> None:
        if self.first_within_months < 1 or self.every_months < 1:
            raise ValueError("followups: first_within_months and every_months must be >= 1")
        if self.missed_after_days < 0 or self.list_ahead_days < 0:
            raise ValueError("followups: missed_after_days and list_ahead_days must be >= 0")
        if self.channel not in CHANNELS:
            raise ValueError(f"followups: channel must be one of {CHANNELS}, not {self.channel!r}")

    @classmethod
    def from_section(cls, section: Mapping[str, object]) -> FollowUpPolicy:
        """Build from ``profile.section("followups")``; newer keys fall back to defaults."""

        def get(key: str) -> object:
            return section[key] if key in section else _DEFAULTS[key]

        def num(key: str) -> int:
            return int(str(get(key)))

        move = get("move_to_working_day")
        if not isinstance(move, bool):
            raise ValueError("followups: move_to_working_day must be true or false")
        return cls(
            first_within_months=num("first_within_months"),
            every_months=num("every_months"),
            channel=str(get("channel")),
            missed_after_days=num("missed_after_days"),
            move_to_working_day=move,
            list_ahead_days=num("list_ahead_days"),
        )


def _earlier_working_day(day: dt.date, floor: dt.date, calendar: WorkingDays | None) -> dt.date:
    """``day``, or the last working day before it that is still after ``floor``."""
    if calendar is None:
        return day
    candidate = day
    for _ in range(_MAX_MOVE_DAYS):
        if candidate <= floor:
            break
        if calendar.is_working_day(candidate):
            return candidate
        candidate -= dt.timedelta(days=1)
    return day


def first_follow_up(
    effective_on: dt.date, policy: FollowUpPolicy, calendar: WorkingDays | None = None
) -> dt.date:
    """The first follow-up: at most ``first_within_months`` months after the effective date."""
    nominal = effective_on + relativedelta(months=policy.first_within_months)
    return _earlier_working_day(nominal, effective_on, calendar)


def next_follow_up(
    previous: dt.date, policy: FollowUpPolicy, calendar: WorkingDays | None = None
) -> dt.date:
    """The follow-up after ``previous``: at most ``every_months`` months after it."""
    nominal = previous + relativedelta(months=policy.every_months)
    return _earlier_working_day(nominal, previous, calendar)


def follow_up_dates(
    effective_on: dt.date,
    payoff_on: dt.date,
    policy: FollowUpPolicy,
    calendar: WorkingDays | None = None,
) -> list[dt.date]:
    """Every follow-up date from the effective date up to and including ``payoff_on``.

    Empty when the debt is paid off before the first follow-up would fall.
    """
    dates: list[dt.date] = []
    day = first_follow_up(effective_on, policy, calendar)
    while day <= payoff_on and len(dates) < MAX_FOLLOW_UPS:
        dates.append(day)
        day = next_follow_up(day, policy, calendar)
    return dates


def payoff_date(
    dues: Iterable[tuple[dt.date, int]], payments: Iterable[tuple[dt.date, int]]
) -> dt.date | None:
    """The day the balance reaches 0: the first day cumulative payments cover the total due.

    ``dues`` and ``payments`` are (date, amount in minor units). None while the balance is
    still above 0. Only the total matters for the balance: a payment made before an
    instalment falls due still pays the debt down.
    """
    total = sum(amount for _day, amount in dues)
    if total <= 0:
        return None
    paid = 0
    for day, amount in sorted(payments):
        paid += amount
        if paid >= total:
            return day
    return None


def projected_payoff(dues: Sequence[tuple[dt.date, int]]) -> dt.date | None:
    """The payoff date if every instalment is paid on its due date: the last due date."""
    return max((day for day, amount in dues if amount > 0), default=None)


def missed_cutoff(today: dt.date, policy: FollowUpPolicy) -> dt.date:
    """A scheduled follow-up dated before this day is missed."""
    return today - dt.timedelta(days=policy.missed_after_days)


def is_missed(due_on: dt.date, today: dt.date, policy: FollowUpPolicy) -> bool:
    return due_on < missed_cutoff(today, policy)


def days_overdue(due_on: dt.date, today: dt.date) -> int:
    return max(0, (today - due_on).days)
