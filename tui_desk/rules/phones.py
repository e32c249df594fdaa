"""Phone numbers: one canonical E.164 form for whatever an operator types, and its display.

``+86 138 1234 8000``, ``0086-138-1234-8000``, ``(138) 1234-8000`` and ``13812348000`` are one
number. A number is accepted only when ``phonenumbers`` holds it valid for its region (a
number of the right length is not enough: it must fall in an allocated range).

An import checks a number or two per row, and ``phonenumbers.parse`` with its validation
costs about 0.3 ms. The usual case, a plain national number of the default region
(``13812348000``) or the same with its country code (``+8613812348000``), is read from
``phonenumbers``' own metadata for that region, its patterns compiled once: the same
answer, a few microseconds each (``tests/test_phones.py`` compares both paths). Anything
else goes through the full parse.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumberFormat,
    PhoneNumberType,
)
from phonenumbers import ValidationResult as Possible
from phonenumbers import timezone as phone_timezone
from phonenumbers.phonenumberutil import is_number_type_geographical
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from tui_desk.i18n import _

PhoneKindName = Literal["mobile", "landline"]

# Longer input is refused before parsing: nobody types a 64-character phone number.
MAX_INPUT = 64
# The longest national number ``phonenumbers.parse`` takes (its ``_MAX_LENGTH_FOR_NSN``).
MAX_NATIONAL_DIGITS = 17

_KINDS: dict[int, PhoneKindName] = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
}


@dataclass(frozen=True)
class PhoneCheck:
    """``kind`` is None when the numbering plan does not tell mobile from landline."""

    ok: bool
    e164: str | None
    reason: str | None
    kind: PhoneKindName | None = None
    zone: str | None = None  # with_zone only: the one time zone the number rings in


def _refused(reason: str) -> PhoneCheck:
    return PhoneCheck(ok=False, e164=None, reason=reason)


def _parse_problem(exc: NumberParseException) -> str:
    kind = exc.error_type
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        return _("the country code is missing or unknown")
    if kind in (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD):
        return _("the number is too short")
    if kind == NumberParseException.TOO_LONG:
        return _("the number is too long")
    return _("this is not a phone number")


def _possible_problem(result: int) -> str | None:
    if result == Possible.IS_POSSIBLE:
        return None
    if result == Possible.IS_POSSIBLE_LOCAL_ONLY:
        return _("the number is too short (is the area code missing?)")
    if result == Possible.TOO_SHORT:
        return _("the number is too short")
    if result == Possible.TOO_LONG:
        return _("the number is too long")
    if result == Possible.INVALID_COUNTRY_CODE:
        return _("the country code is missing or unknown")
    return _("the number has the wrong number of digits")


def normalise_phone(raw: str, default_region: str = "CN", *, with_zone: bool = False) -> PhoneCheck:
    """Check a typed number; numbers without ``+``/``00`` are read as ``default_region``'s.

    ``with_zone`` also gives the number's time zone (see ``number_time_zone``) from the
    same parse.
    """
    text = raw.strip()
    if not text:
        return _refused(_("no phone number was given"))
    if len(text) > MAX_INPUT:
        return _refused(_("the number is too long"))
    quick = fast_check(text, default_region, with_zone=with_zone)
    if quick is not None:
        return quick
    return full_check(text, default_region, with_zone=with_zone)


def full_check(text: str, default_region: str, *, with_zone: bool = False) -> PhoneCheck:
    """``normalise_phone`` through ``phonenumbers.parse`` and its validation, for any text."""
    try:
        number = phonenumbers.parse(text, default_region.upper() or None)
    except NumberParseException as exc:
        return _refused(_parse_problem(exc))
    problem = _possible_problem(phonenumbers.is_possible_number_with_reason(number))
    found = phonenumbers.region_code_for_number(number)
    region = found or default_region.upper()
    kind = PhoneNumberType.UNKNOWN
    if problem is None:
        # What is_valid_number decides (a region for the country code and a type its
        # plan knows), with the type worked out once rather than twice.
        kind = phonenumbers.number_type(number)
        if found is None or kind == PhoneNumberType.UNKNOWN:
            problem = _("this is not a valid number in {region}").format(region=region)
    if problem is not None:
        return _refused(problem)
    return PhoneCheck(
        ok=True,
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        reason=None,
        kind=_KINDS.get(kind),
        zone=_zone(number) if with_zone else None,
    )


def format_for_display(e164: str, home_region: str = "CN") -> str:
    """National format for home numbers (``138 1234 8000``), international for others.

    A value that cannot be parsed is returned unchanged rather than hidden.
    """
    try:
        number = phonenumbers.parse(e164, home_region.upper() or None)
    except NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == home_region.upper():
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def number_time_zone(e164: str) -> str | None:
    """The one time zone a number rings in (``+1 312...`` -> America/Chicago), or None
    when the numbering plan names several (or none)."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return None
    return _zone(number)


def _zone(number: phonenumbers.PhoneNumber) -> str | None:
    zones = [z for z in phone_timezone.time_zones_for_number(number) if "/" in z]
    return zones[0] if len(zones) == 1 else None


def example_number(region: str) -> str:
    """A mobile number of ``region`` as people write it there (a form's placeholder)."""
    number = phonenumbers.example_number_for_type(region.upper(), PhoneNumberType.MOBILE)
    if number is None:
        return "+"
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


# -- the fast path -----------------------------------------------------------------------------
#
# What ``phonenumbers.parse`` and the checks in ``full_check`` do with a string of ASCII
# digits, followed step by step on the region's metadata:
# - parse strips an international dialling prefix (``00`` in CN, ``011`` in the US), a
#   national prefix or carrier code (``0``, ``1``), or a leading country code when one
#   starts the digits: a number starting so is left to the full parse (``_Plan.blocked``),
#   as is one with a leading zero (kept as an "Italian leading zero");
# - the type is ``phonenumbers``' ``_number_type_helper`` on the national number: the
#   general pattern, then each special type, then fixed line and mobile, each with its
#   possible lengths (``_Plan.number_type``); a number of no type is left to the full
#   parse, which says why it is refused;
# - the region is the default one when it is the first region of its country code and
#   has no leading-digit pattern (CN, US; the full parse picks among the others);
# - the time zone is the prefix table's entry for the number (a geographic type) or the
#   country's, exactly as ``phonenumbers.timezone.time_zones_for_number`` looks it up.


@dataclass(frozen=True)
class _Desc:
    lengths: frozenset[int]  # empty: any length the general description allows
    pattern: re.Pattern[str]

    def matches(self, digits: str) -> bool:
        return (not self.lengths or len(digits) in self.lengths) and bool(
            self.pattern.fullmatch(digits)
        )


def _desc(desc: object) -> _Desc | None:
    pattern = getattr(desc, "national_number_pattern", None) if desc is not None else None
    if not pattern:
        return None
    return _Desc(frozenset(getattr(desc, "possible_length", ()) or ()), re.compile(pattern))


@dataclass(frozen=True)
class _Plan:
    country_code: int
    prefix: str  # "+" and the country code
    blocked: re.Pattern[str]
    possible: frozenset[int]  # lengths the general description allows, less local-only ones
    general: _Desc
    special: tuple[tuple[int, _Desc], ...]
    fixed_line: _Desc | None
    mobile: _Desc | None
    same_fixed_and_mobile: bool

    def number_type(self, digits: str) -> int:
        if not self.general.matches(digits):
            return PhoneNumberType.UNKNOWN
        for kind, desc in self.special:
            if desc.matches(digits):
                return kind
        if self.fixed_line is not None and self.fixed_line.matches(digits):
            if self.same_fixed_and_mobile or (
                self.mobile is not None and self.mobile.matches(digits)
            ):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if (
            not self.same_fixed_and_mobile
            and self.mobile is not None
            and self.mobile.matches(digits)
        ):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


_SPECIAL_TYPES = (
    (PhoneNumberType.PREMIUM_RATE, "premium_rate"),
    (PhoneNumberType.TOLL_FREE, "toll_free"),
    (PhoneNumberType.SHARED_COST, "shared_cost"),
    (PhoneNumberType.VOIP, "voip"),
    (PhoneNumberType.PERSONAL_NUMBER, "personal_number"),
    (PhoneNumberType.PAGER, "pager"),
    (PhoneNumberType.UAN, "uan"),
    (PhoneNumberType.VOICEMAIL, "voicemail"),
)


@functools.cache
def _plan(region: str) -> _Plan | None:
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or metadata.country_code is None or metadata.leading_digits:
        return None
    code = int(metadata.country_code)
    if COUNTRY_CODE_TO_REGION_CODE.get(code, ())[:1] != (region,):
        return None
    general_desc = metadata.general_desc
    general = _desc(general_desc)
    if general_desc is None or general is None:
        return None
    starts = [str(code), "0"]
    if metadata.international_prefix:
        starts.append(f"(?:{metadata.international_prefix})")
    if metadata.national_prefix_for_parsing:
        starts.append(f"(?:{metadata.national_prefix_for_parsing})")
    local_only = set(general_desc.possible_length_local_only or ())
    return _Plan(
        country_code=code,
        prefix=f"+{code}",
        blocked=re.compile("|".join(f"(?:{s})" for s in starts)),
        possible=frozenset(set(general_desc.possible_length or ()) - local_only),
        general=general,
        special=tuple(
            (kind, desc)
            for kind, name in _SPECIAL_TYPES
            if (desc := _desc(getattr(metadata, name))) is not None
        ),
        fixed_line=_desc(metadata.fixed_line),
        mobile=_desc(metadata.mobile),
        same_fixed_and_mobile=bool(metadata.same_mobile_and_fixed_line_pattern),
    )


def _country_zone(country_code: int) -> str | None:
    # Not a geographic type: the country's entry, whatever the digits (the lookup of
    # ``phonenumbers.timezone`` for such numbers, step for step).
    code = str(country_code)
    for length in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        zones = TIMEZONE_DATA.get(code[: 1 + length])
        if zones is not None:
            return _single_zone(zones)
    return None


def _single_zone(zones: tuple[str, ...] | list[str]) -> str | None:
    named = [z for z in zones if "/" in z]
    return named[0] if len(named) == 1 else None


def _fast_zone(plan: _Plan, kind: int, e164: str) -> str | None:
    if not is_number_type_geographical(kind, plan.country_code):
        return _country_zone(plan.country_code)
    for length in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        zones = TIMEZONE_DATA.get(e164[1 : 1 + length])
        if zones is not None:
            return _single_zone(zones)
    return None


def fast_check(text: str, default_region: str, *, with_zone: bool = False) -> PhoneCheck | None:
    """``full_check``'s answer for a plain national number of ``default_region`` (or the
    same after ``+`` and its country code) that is valid there; None for anything else."""
    plan = _plan(default_region.upper())
    if plan is None:
        return None
    digits = text
    if text.startswith(plan.prefix):
        digits = text[len(plan.prefix) :]
    if (
        not digits.isascii()
        or not digits.isdigit()
        or len(digits) not in plan.possible
        or len(digits) > MAX_NATIONAL_DIGITS
        or plan.blocked.match(digits)
    ):
        return None
    kind = plan.number_type(digits)
    if kind == PhoneNumberType.UNKNOWN:
        return None
    e164 = plan.prefix + digits
    return PhoneCheck(
        ok=True,
        e164=e164,
        reason=None,
        kind=_KINDS.get(kind),
        zone=_fast_zone(plan, kind, e164) if with_zone else None,
    )
