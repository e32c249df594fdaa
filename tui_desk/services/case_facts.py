"""What the queue row and the case header both say about a case: days past due, bucket
and why it stands where it does; personal data masked inside free text."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tui_desk.db.models import (
    Borrower,
    CollectionCase,
    Phone,
    PhoneKind,
    Relation,
)
from tui_desk.rules.identity import US_SSN
from tui_desk.rules.masking import mask_address, mask_id, mask_phone
from tui_desk.rules.priority import days_past_due, dpd_bucket, priority_score
from tui_desk.rules.profile import MaskingPolicy, Profile

if TYPE_CHECKING:
    pass


_ID_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<![0-9+])(\+?86)?(1[3-9][0-9]{9})(?![0-9])")


def office_today(now: dt.datetime, timezone: str) -> dt.date:
    return now.astimezone(ZoneInfo(timezone)).date()


def dpd_and_reason(
    case: CollectionCase | CaseFacts, today: dt.date, now: dt.datetime, profile: Profile
) -> tuple[int, str, str]:
    dpd = days_past_due(case.overdue_since, today)
    score = priority_score(
        dpd=dpd,
        overdue_minor=case.overdue_minor,
        broken_promises=case.broken_promises,
        next_action_due=case.next_action_at is not None and case.next_action_at <= now,
        weights=profile.priority,
        boost=case.priority_boost or 0,
    )
    return dpd, dpd_bucket(dpd, profile.dpd_bounds), score.reason()


@dataclass(frozen=True)
class CaseFacts:
    overdue_since: dt.date | None
    overdue_minor: int
    broken_promises: int
    next_action_at: dt.datetime | None
    priority_boost: int = 0


def scrub_text(text: str, policy: MaskingPolicy, known: Iterable[tuple[str, str]] = ()) -> str:
    """Mask personal data quoted inside free text.

    ``known`` holds (full value, masked value) pairs of this borrower (ID, address,
    numbers) replaced first; then anything shaped like a CN ID or mobile number.
    """
    for full, masked in sorted(known, key=lambda p: -len(p[0])):
        if full:
            text = text.replace(full, masked)
    text = _ID_RE.sub(lambda m: mask_id(m.group(0), policy), text)
    return _MOBILE_RE.sub(
        lambda m: (m.group(1) or "") + mask_phone(m.group(2), policy),
        text,
    )


def known_values(
    borrower: Borrower, phones: Sequence[Phone], policy: MaskingPolicy
) -> list[tuple[str, str]]:
    pairs = [
        (borrower.id_number, mask_id(borrower.id_number, policy)),
        (borrower.address, mask_address(borrower.address, policy)),
    ]
    number = borrower.id_number
    if policy.document == US_SSN and len(number) == 9:
        # Quoted in a note the way it is written: 123-45-6789.
        pairs.append((f"{number[:3]}-{number[3:5]}-{number[5:]}", mask_id(number, policy)))
    for phone in phones:
        pairs.append((phone.e164, mask_phone(phone.e164, policy)))
        national = national_number(phone.e164)
        if national != phone.e164:
            pairs.append((national, mask_phone(national, policy)))
    return pairs


def national_number(e164: str) -> str:
    for prefix in ("+86", "+1"):
        if e164.startswith(prefix):
            return e164[len(prefix) :]
    return e164


def preferred_phone(phones: Iterable[Phone]) -> Phone | None:
    """The number an operator would dial first: the borrower's own, mobile, callable."""
    own = [p for p in phones if p.relation is Relation.BORROWER]
    if not own:
        return None
    own.sort(key=lambda p: (p.do_not_call, p.kind is not PhoneKind.MOBILE, p.id))
    return own[0]
