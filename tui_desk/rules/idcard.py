"""Mainland China resident ID numbers (GB 11643-1999): check digit, validation, generation.

An 18-character number is ``RRRRRR YYYYMMDD SSS C``: a six-digit administrative region
(GB/T 2260, its first two digits the province), the birth date, a three-digit sequence
(odd for men, even for women) and an ISO 7064 MOD 11-2 check character (``X`` for 10).
The older 15-digit form has a two-digit year and no check character.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from operator import mul

from tui_desk.i18n import _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_DIGIT_OFFSET = ord("0") * sum(WEIGHTS)

PROVINCE_CODES = frozenset(
    {
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
    }
)


@dataclass(frozen=True)
class IdCheck:
    """Outcome of a validation; ``reason`` explains a refusal, or notes a conversion."""

    ok: bool
    normalized: str | None
    reason: str | None


def _is_ascii_digits(value: str) -> bool:
    # str.isdigit alone accepts other scripts' digits (e.g. Arabic-Indic), which int() reads.
    return value.isascii() and value.isdigit()


def check_digit(first17: str) -> str:
    """The check character for the first 17 digits (ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not _is_ascii_digits(first17):
        raise ValueError("check_digit needs exactly 17 digits")
    # The code points less 48 are the digits: one subtraction instead of 17 int() calls.
    total = sum(map(mul, first17.encode("ascii"), WEIGHTS)) - _DIGIT_OFFSET
    return CHECK_CHARS[total % 11]


def _refused(reason: str) -> IdCheck:
    return IdCheck(ok=False, normalized=None, reason=reason)


def _birth_problem(digits8: str, today: dt.date) -> str | None:
    try:
        birth = dt.date(int(digits8[:4]), int(digits8[4:6]), int(digits8[6:8]))
    except ValueError:
        return _("the birth date {value} is not a real date").format(value=digits8)
    if birth > today:
        return _("the birth date {date} is in the future").format(date=birth.isoformat())
    return None


def _province_problem(value: str) -> str | None:
    if int(value[:2]) not in PROVINCE_CODES:
        return _("{code} is not a province code").format(code=value[:2])
    return None


def validate_id(value: str, today: dt.date) -> IdCheck:
    """Check an ID number as typed; a valid one comes back normalised (upper-case ``X``)."""
    raw = value.strip()
    if not raw:
        return _refused(_("no ID number was given"))
    if len(raw) == 15:
        if not _is_ascii_digits(raw):
            return _refused(_("an old 15-character ID number contains only digits"))
        problem = _province_problem(raw) or _birth_problem("19" + raw[6:12], today)
        if problem:
            return _refused(problem)
        first17 = raw[:6] + "19" + raw[6:]
        return IdCheck(
            ok=True,
            normalized=first17 + check_digit(first17),
            reason=_("converted from the old 15-digit number to 18 digits"),
        )
    if len(raw) != 18:
        return _refused(
            _("an ID number has 18 characters (or 15 in the old format), not {n}").format(
                n=len(raw)
            )
        )
    first17, last = raw[:17], raw[17].upper()
    if not _is_ascii_digits(first17) or not (last == "X" or _is_ascii_digits(last)):
        return _refused(
            _("an ID number contains only digits, with X allowed as the last character")
        )
    problem = _province_problem(raw) or _birth_problem(raw[6:14], today)
    if problem:
        return _refused(problem)
    expected = check_digit(first17)
    if last != expected:
        return _refused(_("the check digit should be {expected}").format(expected=expected))
    return IdCheck(ok=True, normalized=first17 + last, reason=None)


def generate_id(rng: random.Random, region6: str, birth: dt.date, seq: int | None = None) -> str:
    """A valid 18-character number; ``seq`` (0-999) is drawn from ``rng`` when not given."""
    if len(region6) != 6 or not _is_ascii_digits(region6):
        raise ValueError("region6 must be six digits")
    if int(region6[:2]) not in PROVINCE_CODES:
        raise ValueError(f"{region6[:2]} is not a province code")
    if seq is None:
        seq = rng.randrange(1000)
    if not 0 <= seq <= 999:
        raise ValueError("seq must be between 0 and 999")
    first17 = f"{region6}{birth.year:04d}{birth.month:02d}{birth.day:02d}{seq:03d}"
    if len(first17) != 17:
        raise ValueError("the birth year must have four digits")
    return first17 + check_digit(first17)
