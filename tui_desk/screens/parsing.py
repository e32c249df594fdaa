"""What operators type into the desk's small forms, read strictly and explained when wrong.

Each parser returns the value or raises ``InputProblem`` with a sentence for the inline
error line. None of them read the clock: ``now``/``today`` come from the desk's service.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from tui_desk.i18n import _

MAX_AMOUNT_MINOR = 10**13
_AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")
_PLUS_DAYS = re.compile(r"^\+\s*(\d{1,3})\s*d?$")
_MINUS_DAYS = re.compile(r"^-\s*(\d{1,3})\s*d?$")
_PLUS_HOURS = re.compile(r"^\+\s*(\d{1,3})\s*h$")
_PLUS_MINUTES = re.compile(r"^\+\s*(\d{1,4})\s*m$")
_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})$")


class InputProblem(ValueError):
    """``str(problem)`` is shown under the field as is."""


def parse_amount(text: str) -> int:
    """``"1,200.5"`` -> 120050 (minor units); positive, at most two decimals."""
    raw = text.strip().replace(",", "").replace("¥", "").replace("$", "").strip()
    if not raw:
        raise InputProblem(_("enter an amount"))
    if raw.startswith("-"):
        raise InputProblem(_("the amount must be positive"))
    if not _AMOUNT.match(raw):
        if re.match(r"^\d+\.\d{3,}$", raw):
            raise InputProblem(_("at most two decimals"))
        raise InputProblem(_("not an amount: use digits, e.g. 1200 or 1200.50"))
    try:
        minor = int((Decimal(raw) * 100).to_integral_value())
    except InvalidOperation:
        raise InputProblem(_("not an amount: use digits, e.g. 1200 or 1200.50")) from None
    if minor <= 0:
        raise InputProblem(_("the amount must be positive"))
    if minor >= MAX_AMOUNT_MINOR:
        raise InputProblem(_("the amount is too large"))
    return minor


def parse_future_date(text: str, today: dt.date, *, max_days: int = 366) -> dt.date:
    """A due date: ``YYYY-MM-DD``, ``+N`` days, ``today`` or ``tomorrow``; not in the past."""
    raw = text.strip().lower()
    if not raw:
        raise InputProblem(_("enter a date: YYYY-MM-DD or +N days"))
    if raw in ("today", _("today").lower()):
        day = today
    elif raw in ("tomorrow", _("tomorrow").lower()):
        day = today + dt.timedelta(days=1)
    elif match := _PLUS_DAYS.match(raw):
        day = today + dt.timedelta(days=int(match.group(1)))
    else:
        day = _iso_date(raw)
    if day < today:
        raise InputProblem(_("the date is in the past"))
    if (day - today).days > max_days:
        raise InputProblem(_("the date is more than {days} days ahead").format(days=max_days))
    return day


def parse_past_date(text: str, today: dt.date, *, max_days: int = 3660) -> dt.date:
    """A date something happened: ``YYYY-MM-DD``, ``today``, ``-N`` days; not in the future."""
    raw = text.strip().lower()
    if not raw or raw in ("today", _("today").lower()):
        return today
    if raw in ("yesterday", _("yesterday").lower()):
        return today - dt.timedelta(days=1)
    if match := _MINUS_DAYS.match(raw):
        day = today - dt.timedelta(days=int(match.group(1)))
    else:
        day = _iso_date(raw)
    if day > today:
        raise InputProblem(_("the date is in the future"))
    if (today - day).days > max_days:
        raise InputProblem(_("the date is too far in the past"))
    return day


def _iso_date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InputProblem(_("not a date: use YYYY-MM-DD or +N days")) from None


def parse_callback(text: str, now: dt.datetime, timezone: str) -> dt.datetime:
    """When to call back (UTC): ``HH:MM`` today, ``tomorrow HH:MM``, ``+Nh`` or ``+Nm``."""
    raw = " ".join(text.strip().lower().split())
    if not raw:
        raise InputProblem(_("enter a time: HH:MM, tomorrow HH:MM or +2h"))
    if match := _PLUS_HOURS.match(raw):
        at = now + dt.timedelta(hours=int(match.group(1)))
    elif match := _PLUS_MINUTES.match(raw):
        at = now + dt.timedelta(minutes=int(match.group(1)))
    else:
        day_offset = 0
        for word in ("tomorrow", _("tomorrow").lower()):
            if raw.startswith(word + " "):
                day_offset = 1
                raw = raw[len(word) + 1 :].strip()
                break
        match = _CLOCK.match(raw)
        if not match:
            raise InputProblem(_("not a time: use HH:MM, tomorrow HH:MM or +2h"))
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            raise InputProblem(_("not a time of day: {text}").format(text=raw))
        zone = ZoneInfo(timezone)
        local_day = now.astimezone(zone).date() + dt.timedelta(days=day_offset)
        at = dt.datetime.combine(local_day, dt.time(hour, minute), tzinfo=zone).astimezone(dt.UTC)
    if at <= now:
        raise InputProblem(_("that time has passed: try tomorrow HH:MM"))
    if at - now > dt.timedelta(days=30):
        raise InputProblem(_("a callback must be within 30 days"))
    return at


_SLOT = re.compile(r"^(?:(\d{4})-)?(\d{1,2})-(\d{1,2})\s+(\d{1,2})[:.](\d{2})$")


def parse_slot_start(text: str, now: dt.datetime, timezone: str) -> dt.datetime:
    """A visit start (UTC) typed as ``YYYY-MM-DD HH:MM`` or ``MM-DD HH:MM`` office time.

    A date without a year is the next such date from today. Whether the slot is allowed
    is for the booking rules to say; this only reads it.
    """
    raw = " ".join(text.strip().split())
    match = _SLOT.match(raw)
    if not match:
        raise InputProblem(_("not a visit time: use YYYY-MM-DD HH:MM or MM-DD HH:MM"))
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    year = int(match.group(1)) if match.group(1) else today.year
    month, day_of_month = int(match.group(2)), int(match.group(3))
    hour, minute = int(match.group(4)), int(match.group(5))
    if hour > 23 or minute > 59:
        raise InputProblem(_("not a time of day: {text}").format(text=f"{hour}:{minute:02d}"))
    try:
        day = dt.date(year, month, day_of_month)
        if match.group(1) is None and day < today:
            day = dt.date(year + 1, month, day_of_month)
    except ValueError:
        raise InputProblem(_("not a date: {text}").format(text=raw.split(" ")[0])) from None
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone).astimezone(dt.UTC)
