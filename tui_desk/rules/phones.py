"""Phone numbers: one canonical E.164 form for whatever an operator types, and its display.

``+86 138 1234 8000``, ``0086-138-1234-8000``, ``(138) 1234-8000`` and ``13812348000`` are one
number. A number is accepted only when ``phonenumbers`` holds it valid for its region (a
number of the right length is not enough: it must fall in an allocated range).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
from phonenumbers import ValidationResult as Possible
from phonenumbers import timezone as phone_timezone

from tui_desk.i18n import _

PhoneKindName = Literal["mobile", "landline"]

# Longer input is refused before parsing: nobody types a 64-character phone number.
MAX_INPUT = 64

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
