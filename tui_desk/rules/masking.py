"""One masking helper for personal data shown on any pane (patterns from the profile)."""

from __future__ import annotations

from tui_desk.rules.identity import US_SSN
from tui_desk.rules.profile import MaskingPolicy

MASK = "*"


def _mask_middle(value: str, keep_start: int, keep_end: int) -> str:
    if not value:
        return value
    if keep_start + keep_end >= len(value):
        # Too short to show anything safely: hide all but the last character.
        return MASK * (len(value) - 1) + value[-1:]
    end = value[len(value) - keep_end :] if keep_end else ""
    return value[:keep_start] + MASK * (len(value) - keep_start - keep_end) + end


def mask_id(id_number: str, policy: MaskingPolicy) -> str:
    """``110105194912310021`` -> ``110105********0021`` under the CN profile.

    The mask follows the profile's document: a Social Security number keeps its shape,
    ``123456789`` -> ``***-**-6789`` (the last four digits, as US practice shows them).
    """
    value = id_number.strip()
    if policy.document == US_SSN and len(value) == 9 and value.isdigit():
        keep = min(max(policy.id_keep_end, 0), 4)
        masked = MASK * (9 - keep) + value[9 - keep :]
        return f"{masked[:3]}-{masked[3:5]}-{masked[5:]}"
    return _mask_middle(value, policy.id_keep_start, policy.id_keep_end)


def mask_phone(number: str, policy: MaskingPolicy) -> str:
    """Mask the national digits of a phone number, keeping any ``+CC`` prefix readable.

    ``+8613812348000`` -> ``+86 138****8000``; ``13812348000`` -> ``138****8000``.
    """
    number = number.strip()
    prefix = ""
    digits = number
    if number.startswith("+86"):
        prefix, digits = "+86 ", number[3:]
    elif number.startswith("+1"):
        prefix, digits = "+1 ", number[2:]
    elif number.startswith("+"):
        prefix, digits = number[:3] + " ", number[3:]
    return prefix + _mask_middle(digits, policy.phone_keep_start, policy.phone_keep_end)


def mask_address(address: str, policy: MaskingPolicy) -> str:
    """Keep the leading city/district part, hide the street and door number."""
    address = address.strip()
    keep = policy.address_keep_start
    if len(address) <= keep:
        return address
    return address[:keep] + MASK * min(6, len(address) - keep)
