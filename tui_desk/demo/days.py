"""Day and minute arithmetic on plain ints, for the generator's hot loop."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator


def days_near(day: int, lo: int, hi: int, forward_only: bool) -> Iterator[int]:
    """Days in [lo, hi] by distance from ``day`` (only later ones when ``forward_only``)."""
    if forward_only:
        yield from range(max(day, lo), hi + 1)
        return
    day = min(max(day, lo), hi)
    yield day
    for step in range(1, hi - lo + 1):
        if day - step >= lo:
            yield day - step
        if day + step <= hi:
            yield day + step


class Calendar:
    """Day and minute arithmetic on plain ints, with every needed string precomputed.

    Day index 0 is ``base``; a minute index counts UTC minutes from ``base`` 00:00 UTC.
    A local (Asia/Shanghai) day ``d`` at local minute ``m`` is minute ``d*1440 + m - 480``.
    """

    def __init__(self, base: dt.date, days: int) -> None:
        self.base = base
        self.base_ordinal = base.toordinal()
        self.dates = [base + dt.timedelta(days=i) for i in range(days)]
        self.day = [d.isoformat() for d in self.dates]
        self.weekday = [d.weekday() for d in self.dates]
        self.hms = [f" {m // 60:02d}:{m % 60:02d}:00.000000" for m in range(1440)]

    def ts(self, minute: int) -> str:
        return self.day[minute // 1440] + self.hms[minute % 1440]

    def add_months(self, day: int, months: int) -> int:
        d = self.dates[day]
        m0 = d.month - 1 + months
        target = dt.date(d.year + m0 // 12, m0 % 12 + 1, min(d.day, 28))
        return target.toordinal() - self.base_ordinal
