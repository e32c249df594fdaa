"""The identity document a profile files borrowers under, and its region code.

The profile's ``[identity]`` section names them:

- ``document = "cn_resident_id"``: the mainland resident ID (GB 11643, ``rules.idcard``);
  ``region_code = "cn_division"``: the six-digit administrative division (GB/T 2260).
- ``document = "us_ssn"``: a Social Security number, nine digits stored without dashes;
  ``region_code = "us_zip"``: the five-digit ZIP code.

``required = false`` lets a borrower be filed without a document (an empty value); a
document given is always checked. Pure: ``today`` is passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from tui_desk.i18n import N_, _
from tui_desk.rules.idcard import IdCheck, validate_id

CN_RESIDENT_ID = "cn_resident_id"
US_SSN = "us_ssn"
DOCUMENTS = (CN_RESIDENT_ID, US_SSN)
CN_DIVISION = "cn_division"
US_ZIP = "us_zip"
REGION_CODES = (CN_DIVISION, US_ZIP)

DOCUMENT_LABELS = {CN_RESIDENT_ID: N_("resident ID number"), US_SSN: N_("Social Security number")}


@dataclass(frozen=True)
class IdentityPolicy:
    document: str = CN_RESIDENT_ID
    required: bool = True
    region_code: str = CN_DIVISION

    def __post_init__(self) -> None:
        if self.document not in DOCUMENTS:
            raise ValueError(f"identity: document must be one of {DOCUMENTS}")
        if self.region_code not in REGION_CODES:
            raise ValueError(f"identity: region_code must be one of {REGION_CODES}")

    @classmethod
    def from_section(cls, section: Mapping[str, object]) -> IdentityPolicy:
        required = section.get("required", True)
        if not isinstance(required, bool):
            raise ValueError("identity: required must be true or false")
        return cls(
            document=str(section.get("document", CN_RESIDENT_ID)),
            required=required,
            region_code=str(section.get("region_code", CN_DIVISION)),
        )

    @property
    def label(self) -> str:
        return _(DOCUMENT_LABELS[self.document])


def _ssn(raw: str) -> IdCheck:
    digits = raw.replace("-", "").replace(" ", "")
    if len(digits) != 9 or not (digits.isascii() and digits.isdigit()):
        return IdCheck(False, None, _("a Social Security number has nine digits"))
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area.startswith("9"):
        return IdCheck(False, None, _("{area} is not a Social Security area number").format(
            area=area))  # fmt: skip
    if group == "00" or serial == "0000":
        return IdCheck(False, None, _("a Social Security number has no all-zero part"))
    return IdCheck(True, digits, None)


def validate_document(value: str, policy: IdentityPolicy, today: dt.date) -> IdCheck:
    """Check a document number as typed; a valid one comes back normalised.

    An empty value is accepted (normalised to "") only where the profile does not
    require a document.
    """
    raw = value.strip()
    if not raw and not policy.required:
        return IdCheck(True, "", None)
    if policy.document == US_SSN:
        if not raw:
            return IdCheck(False, None, _("no Social Security number was given"))
        return _ssn(raw)
    return validate_id(raw, today)


def region_code_problem(value: str, policy: IdentityPolicy) -> str | None:
    """Why a region code does not fit the profile's kind, or None."""
    digits = value.isascii() and value.isdigit()
    if policy.region_code == US_ZIP:
        if len(value) != 5 or not digits:
            return _("region_code must be a five-digit ZIP code: {value}").format(value=value)
        return None
    if len(value) != 6 or not digits:
        return _("region_code must be six digits: {value}").format(value=value)
    return None
