"""What operators type into the desk's small forms, read strictly and explained when wrong.

Each parser returns the value or raises ``InputProblem`` with a sentence for the inline
error line; no other exception leaves a parser, whatever was typed. None of them read the
clock: ``now``/``today`` come from the desk's service.

Digits: full-width digits (what Chinese input methods type) read as 0-9 (their NFKC
form); any other numeric character (superscripts, fractions, other scripts' digits) is
refused, where ``int()`` would take some and crash on others.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from tui_desk.i18n import _

MAX_AMOUNT_MINOR = 10**13
"""Far below what a 64-bit column of minor units holds."""
MAX_SLOT_DAYS = 366
"""How far ahead a visit may be typed (the booking rules say what is allowed within)."""
_AMOUNT = re.compile(r"^\d{1,20}(\.\d{1,2})?$", re.ASCII)
_PLUS_DAYS = re.compile(r"^\+\s*(\d{1,3})\s*d?$", re.ASCII)
_MINUS_DAYS = re.compile(r"^-\s*(\d{1,3})\s*d?$", re.ASCII)
_PLUS_HOURS = re.compile(r"^\+\s*(\d{1,3})\s*h$", re.ASCII)
_PLUS_MINUTES = re.compile(r"^\+\s*(\d{1,4})\s*m$", re.ASCII)
_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})$", re.ASCII)
_WHOLE = re.compile(r"^\d{1,9}$", re.ASCII)
_PERCENT = re.compile(r"^\d{1,4}(\.\d{1,4})?$", re.ASCII)
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


class InputProblem(ValueError):
    """``str(problem)`` is shown under the field as is."""


def normalise_digits(text: str) -> str:
    """Full-width digits become 0-9 (NFKC, applied to those characters only); any other
    numeric character is refused."""
    out = "".join(
        unicodedata.normalize("NFKC", ch) if "\uff10" <= ch <= "\uff19" else ch for ch in text
    )
    for ch in out:
        if ch not in "0123456789" and (ch.isnumeric() or ch.isdigit()):
            raise InputProblem(_("use the digits 0-9, not {char}").format(char=ch))
    return out


def check_text(text: str, *, max_length: int, multiline: bool = False) -> str:
    """A free text as typed: no control characters (newlines only where the field has
    several lines), at most ``max_length`` characters (what the service keeps)."""
    for ch in text:
        if unicodedata.category(ch) == "Cc" and not (multiline and ch in "\n\t"):
            raise InputProblem(_("remove the control character U+{code:04X}").format(code=ord(ch)))
    if len(text) > max_length:
        raise InputProblem(
            _("at most {max} characters ({count} typed)").format(max=max_length, count=len(text))
        )
    return text


# Symbols, pictographs (emoji), format, private-use and unassigned characters: not in a
# name, a login or a reference number, where a clerk or a bank must read them back.
_NOT_IN_NAMES = frozenset({"So", "Sk", "Cf", "Co", "Cs", "Cn"})


def check_name(text: str) -> str:
    """A name, login or reference: letters, marks, digits, spaces and punctuation only."""
    for ch in text:
        if unicodedata.category(ch) in _NOT_IN_NAMES:
            raise InputProblem(
                _("use letters, digits and punctuation only, not {char} (U+{code:04X})").format(
                    char=ch, code=ord(ch)
                )
            )
    return text


def parse_whole(text: str, *, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``."""
    raw = normalise_digits(text.strip())
    if not _WHOLE.match(raw):
        raise InputProblem(
            _("enter a whole number from {low} to {high}").format(low=low, high=high)
        )
    value = int(raw)
    if not low <= value <= high:
        raise InputProblem(_("must be from {low} to {high}").format(low=low, high=high))
    return value


def parse_percent(text: str, *, high: Decimal) -> Decimal:
    """A rate in percent, e.g. ``12`` or ``7.5%``, from 0 to ``high``; returned as a
    fraction (``0.075``)."""
    raw = normalise_digits(text.strip().rstrip("%").strip())
    if not _PERCENT.match(raw):
        raise InputProblem(_("enter the annual rate in percent, e.g. 12 or 7.5"))
    percent = Decimal(raw)
    if percent > high:
        raise InputProblem(_("the rate must be at most {high}%").format(high=high))
    return (percent / 100).quantize(Decimal("0.0001"))


def parse_amount(text: str) -> int:
    """``"1,200.5"`` -> 120050 (minor units); positive, at most two decimals."""
    raw = normalise_digits(text.strip().replace(",", "").replace("¥", "").replace("$", "").strip())
    if not raw:
        raise InputProblem(_("enter an amount"))
    if raw.startswith("-"):
        raise InputProblem(_("the amount must be positive"))
    if not _AMOUNT.match(raw):
        if re.match(r"^\d+\.\d{3,}$", raw, re.ASCII):
            raise InputProblem(_("at most two decimals"))
        raise InputProblem(_("not an amount: use digits, e.g. 1200 or 1200.50"))
    try:
        minor = int((Decimal(raw) * 100).to_integral_value())
    except (InvalidOperation, OverflowError, ValueError):
        raise InputProblem(_("not an amount: use digits, e.g. 1200 or 1200.50")) from None
    if minor <= 0:
        raise InputProblem(_("the amount must be positive"))
    if minor >= MAX_AMOUNT_MINOR:
        raise InputProblem(_("the amount is too large"))
    return minor


def parse_future_date(text: str, today: dt.date, *, max_days: int = 366) -> dt.date:
    """A due date: ``YYYY-MM-DD``, ``+N`` days, ``today`` or ``tomorrow``; not in the past."""
    raw = normalise_digits(text.strip().lower())
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
    raw = normalise_digits(text.strip().lower())
    if not raw or raw in ("today", _("today").lower()):
        return today
    if raw in ("yesterday", _("yesterday").lower()):
        return today - dt.timedelta(days=1)
    if match := _MINUS_DAYS.match(raw):
        day = today - dt.timedelta(days=int(match.group(1)))
    else:
        day = _iso_date(raw, past=True)
    if day > today:
        raise InputProblem(_("the date is in the future"))
    if (today - day).days > max_days:
        raise InputProblem(_("the date is too far in the past"))
    return day


def _iso_date(raw: str, *, past: bool = False) -> dt.date:
    # A date in the past is never "+N days" away: the hint names what the field takes.
    hint = (
        _("not a date: use YYYY-MM-DD, today or -N days")
        if past
        else _("not a date: use YYYY-MM-DD or +N days")
    )
    if not _ISO_DAY.match(raw):
        raise InputProblem(hint)
    try:
        return dt.date.fromisoformat(raw)
    except (ValueError, OverflowError):
        raise InputProblem(hint) from None


def parse_callback(text: str, now: dt.datetime, timezone: str) -> dt.datetime:
    """When to call back (UTC): ``HH:MM`` today, ``tomorrow HH:MM``, ``+Nh`` or ``+Nm``."""
    raw = " ".join(normalise_digits(text.strip().lower()).split())
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


_SLOT = re.compile(r"^(?:(\d{4})-)?(\d{1,2})-(\d{1,2})\s+(\d{1,2})[:.](\d{2})$", re.ASCII)


def parse_slot_start(
    text: str, now: dt.datetime, timezone: str, *, max_days: int = MAX_SLOT_DAYS
) -> dt.datetime:
    """A visit start (UTC) typed as ``YYYY-MM-DD HH:MM`` or ``MM-DD HH:MM`` office time.

    A date without a year is the next such date from today; the day is from today to
    ``max_days`` ahead. Whether the slot is allowed is for the booking rules to say.
    """
    raw = " ".join(normalise_digits(text.strip()).split())
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
    except (ValueError, OverflowError):
        raise InputProblem(_("not a date: {text}").format(text=raw.split(" ")[0])) from None
    if day < today:
        raise InputProblem(_("the date is in the past"))
    if (day - today).days > max_days:
        raise InputProblem(_("the date is more than {days} days ahead").format(days=max_days))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone).astimezone(dt.UTC)
