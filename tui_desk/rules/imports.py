"""Reading the loan system's records: one row in, one checked record (or a reason) out.

Pure: no database, no clock (``today`` is passed in). The service
(``services/importer/__init__.py``, whose docstring documents the file and feed formats) turns
the checked records into borrowers, phones, accounts, cases and payments.

Every refusal is a sentence naming the field, shown to the operator with the row number.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from tui_desk.i18n import _
from tui_desk.rules.identity import IdentityPolicy, region_code_problem, validate_document
from tui_desk.rules.phones import PhoneCheck, normalise_phone
from tui_desk.rules.text import first_unsafe, safe_text

CN_IDENTITY = IdentityPolicy()

RecordKind = Literal["account", "payment"]

# Columns every account row must have (the header decides the kind of a CSV file).
ACCOUNT_REQUIRED = (
    "account_id",
    "borrower_id",
    "name",
    "address",
    "city",
    "district",
    "region_code",
    "phone",
    "product",
    "status",
    "principal",
    "outstanding_principal",
    "outstanding_interest",
    "outstanding_penalty",
    "outstanding_fees",
    "opened_on",
)
ACCOUNT_OPTIONAL = (
    # Required or not by the profile's identity document (rules.identity): checked per row.
    "id_number",
    "phone2",
    "overdue_amount",
    "overdue_since",
    "annual_rate",
    "currency",
    "timezone",
)
PAYMENT_REQUIRED = ("payment_id", "account_id", "amount", "paid_on")
PAYMENT_OPTIONAL = ("channel", "reference")

ACCOUNT_STATUSES = ("current", "overdue", "settled", "written_off")
MAX_ID = 64
MAX_REFERENCE = 64
# Upper bound of one amount (in yuan): a typo with extra digits is refused, not imported.
MAX_AMOUNT = Decimal("1000000000")
MAX_MINOR = int(MAX_AMOUNT * 100)
_PLAIN_AMOUNT = re.compile(r"([0-9]{1,10})(?:\.([0-9]{1,2}))?")
RATE_PLACES = Decimal("0.0001")
_FIELD_LIMITS = {"name": 100, "address": 300, "city": 50, "district": 50}

Value = str | int | Decimal | None


class RowError(ValueError):
    """A row that cannot be imported; the message is the reason shown with its number."""


@dataclass(frozen=True)
class PhoneRecord:
    e164: str
    kind: str  # "mobile" or "landline"


@dataclass(frozen=True)
class BorrowerRecord:
    external_id: str
    name: str
    id_number: str
    address: str
    city: str
    district: str
    region_code: str
    timezone: str | None
    phones: tuple[PhoneRecord, ...]
    # The zone a new borrower gets when the row names none: where the first number rings
    # (when that is one zone), else the office's.
    home_zone: str = "Asia/Shanghai"

    @property
    def zone_for_new(self) -> str:
        return self.timezone or self.home_zone

    def facts(self) -> BorrowerFacts:
        """The fields two rows of one borrower must agree on, as plain values."""
        return (
            self.name,
            self.id_number,
            self.address,
            self.city,
            self.district,
            self.region_code,
            self.timezone,
            tuple((p.e164, p.kind) for p in self.phones),
        )

    def differences(self, other: BorrowerRecord) -> list[str]:
        """The fields in which two rows of one borrower disagree."""
        return fact_differences(self.facts(), other.facts())


# What ``BorrowerRecord.facts`` gives: a tuple of strings only, which the garbage collector
# stops tracking (an import keeps one per borrower until its end).
BorrowerFacts = tuple[str, str, str, str, str, str, str | None, tuple[tuple[str, str], ...]]
_FACT_NAMES = (
    "name",
    "id_number",
    "address",
    "city",
    "district",
    "region_code",
    "timezone",
    "phones",
)


def fact_differences(first: BorrowerFacts, second: BorrowerFacts) -> list[str]:
    """The names of the fields in which two borrowers' facts differ."""
    return [n for n, a, b in zip(_FACT_NAMES, first, second, strict=True) if a != b]


@dataclass(frozen=True)
class AccountRecord:
    row_no: int
    external_id: str
    borrower: BorrowerRecord
    product: str
    status: str
    currency: str
    principal_minor: int
    outstanding_principal_minor: int
    outstanding_interest_minor: int
    outstanding_penalty_minor: int
    outstanding_fees_minor: int
    overdue_minor: int
    annual_rate: Decimal
    opened_on: dt.date
    overdue_since: dt.date | None

    @property
    def outstanding_minor(self) -> int:
        return (
            self.outstanding_principal_minor
            + self.outstanding_interest_minor
            + self.outstanding_penalty_minor
            + self.outstanding_fees_minor
        )


@dataclass(frozen=True)
class PaymentRecord:
    row_no: int
    external_id: str
    account_external_id: str
    amount_minor: int
    paid_on: dt.date
    channel: str
    reference: str | None


@dataclass(frozen=True)
class Rejected:
    row_no: int
    external_id: str | None
    reason: str


Record = AccountRecord | PaymentRecord


# --- headers ---------------------------------------------------------------------------------


def header_kind(columns: list[str]) -> RecordKind:
    """What a CSV file holds, from its header: accounts (``borrower_id`` column) or payments.

    A missing required column refuses the whole file, naming the columns.
    """
    present = {c.strip() for c in columns}
    required: tuple[str, ...]
    if "payment_id" in present:
        kind: RecordKind = "payment"
        required = PAYMENT_REQUIRED
    elif "borrower_id" in present:
        kind = "account"
        required = ACCOUNT_REQUIRED
    else:
        raise RowError(
            _(
                "the header names neither an accounts file (account_id, borrower_id, ...) "
                "nor a payments file (payment_id, account_id, amount, paid_on)"
            )
        )
    missing = [c for c in required if c not in present]
    if missing:
        raise RowError(
            _("the {kind} file lacks the columns: {columns}").format(
                kind=kind, columns=", ".join(missing)
            )
        )
    return kind


# --- fields ----------------------------------------------------------------------------------


EARLIEST_DAY = dt.date(1900, 1, 1)
"""No date in a file lies before this (year 1 is a typing or export slip)."""


def _text(row: Mapping[str, Value], name: str, *, required: bool = True, limit: int = 0) -> str:
    raw = row.get(name)
    value = raw if type(raw) is str else "" if raw is None else str(raw)
    bad = first_unsafe(value)
    if bad is not None:
        # Refused, not cleaned: a control character in a name or an address is a sign the
        # file is not what it claims; the row goes to the rejections with the field named.
        raise RowError(
            _("{field} contains the control character U+{code:04X}").format(
                field=name, code=ord(bad)
            )
        )
    value = value.strip()
    if required and not value:
        raise RowError(_("{field} is empty").format(field=name))
    if limit and len(value) > limit:
        raise RowError(_("{field} has more than {n} characters").format(field=name, n=limit))
    return value


def _identifier(row: Mapping[str, Value], name: str) -> str:
    return _text(row, name, limit=MAX_ID)


def to_minor(raw: Value, field: str) -> int:
    """A money amount in yuan (``1234.56``, ``1,234.56`` or a number) in fen.

    At most two decimals; negative amounts are refused.
    """
    if type(raw) is str and (plain := _PLAIN_AMOUNT.fullmatch(raw)) is not None:
        # What the loan system writes (``12000.00``): read without a Decimal, the same
        # value; anything else (and an amount past the limit) takes the general way.
        whole, cents = plain.groups()
        minor = int(whole) * 100 + (0 if cents is None else int(cents.ljust(2, "0")))
        if minor <= MAX_MINOR:
            return minor
    return decimal_to_minor(raw, field)


def decimal_to_minor(raw: Value, field: str) -> int:
    """``to_minor`` for any value, through ``Decimal``."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise RowError(_("{field} is empty").format(field=field))
    if isinstance(raw, bool):
        raise RowError(_("{field} is not an amount: {value}").format(field=field, value=raw))
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise RowError(
            _("{field} is not an amount: {value}").format(field=field, value=raw)
        ) from None
    if not value.is_finite():
        raise RowError(_("{field} is not an amount: {value}").format(field=field, value=raw))
    if value < 0:
        raise RowError(_("negative amount in {field}: {value}").format(field=field, value=raw))
    if value > MAX_AMOUNT:
        raise RowError(_("{field} is implausibly large: {value}").format(field=field, value=raw))
    minor = value * 100
    if minor != minor.to_integral_value():
        raise RowError(
            _("{field} has more than two decimals: {value}").format(field=field, value=raw)
        )
    return int(minor)


def to_date(raw: Value, field: str, today: dt.date, *, required: bool = True) -> dt.date | None:
    text = "" if raw is None else str(raw).strip()
    if not text:
        if required:
            raise RowError(_("{field} is empty").format(field=field))
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise RowError(
            _("{field} is not a date (YYYY-MM-DD): {value}").format(field=field, value=text)
        ) from None
    if day > today:
        raise RowError(
            _("{field} is in the future: {value}").format(field=field, value=day.isoformat())
        )
    if day < EARLIEST_DAY:
        raise RowError(
            _("{field} is before {earliest}: {value}").format(
                field=field, earliest=EARLIEST_DAY.isoformat(), value=day.isoformat()
            )
        )
    return day


def to_rate(raw: Value) -> Decimal:
    """An annual rate as a fraction (``0.1825``) or a percentage (``18.25%``)."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return Decimal("0")
    percent = text.endswith("%")
    try:
        value = Decimal(text.rstrip("%").strip())
    except InvalidOperation:
        raise RowError(_("annual_rate is not a number: {value}").format(value=text)) from None
    if not value.is_finite() or value < 0:
        raise RowError(_("annual_rate must be zero or more: {value}").format(value=text))
    if percent:
        value /= 100
    if value >= 10:
        raise RowError(_("annual_rate is implausibly high: {value}").format(value=text))
    return value.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def _phone(raw: str, field: str, region: str, *, with_zone: bool = False) -> PhoneCheck:
    check = normalise_phone(raw, region, with_zone=with_zone)
    if not check.ok or check.e164 is None:
        raise RowError(
            _("invalid phone in {field} ({value}): {reason}").format(
                field=field, value=raw, reason=check.reason
            )
        )
    return check


def _phone_record(check: PhoneCheck) -> PhoneRecord:
    assert check.e164 is not None
    return PhoneRecord(check.e164, check.kind or "mobile")


# --- rows ------------------------------------------------------------------------------------


def masked_tail(value: str, keep: int = 4) -> str:
    """An identity number as a rejection may show it (printed and stored): all but its
    last ``keep`` characters masked, so the report finds the row without revealing it."""
    value = value.strip()
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


def parse_account(
    row: Mapping[str, Value],
    row_no: int,
    *,
    today: dt.date,
    products: frozenset[str],
    phone_region: str = "CN",
    identity: IdentityPolicy = CN_IDENTITY,
    office_zone: str = "Asia/Shanghai",
    default_currency: str = "CNY",
) -> AccountRecord:
    """One account row (with its borrower and phones), checked; ``RowError`` says why not.

    Numbers without a country code are read as ``phone_region``'s (the profile's
    country); the ID number is the profile's document (``identity``).
    """
    external_id = _identifier(row, "account_id")
    borrower_id = _identifier(row, "borrower_id")
    id_raw = _text(row, "id_number", required=identity.required, limit=18)
    check = validate_document(id_raw, identity, today)
    if not check.ok or check.normalized is None:
        raise RowError(
            _("invalid {document} {value}: {reason}").format(
                document=identity.label, value=masked_tail(id_raw), reason=check.reason
            )
        )
    region_code = _text(row, "region_code")
    problem = region_code_problem(region_code, identity)
    if problem is not None:
        raise RowError(problem)
    first = _phone(_text(row, "phone"), "phone", phone_region, with_zone=True)
    phones: list[PhoneRecord] = [_phone_record(first)]
    second = _text(row, "phone2", required=False)
    if second:
        extra = _phone_record(_phone(second, "phone2", phone_region))
        if extra not in phones:
            phones.append(extra)
    timezone = _text(row, "timezone", required=False, limit=40) or None
    borrower = BorrowerRecord(
        external_id=borrower_id,
        name=_text(row, "name", limit=_FIELD_LIMITS["name"]),
        id_number=check.normalized,
        address=_text(row, "address", limit=_FIELD_LIMITS["address"]),
        city=_text(row, "city", limit=_FIELD_LIMITS["city"]),
        district=_text(row, "district", limit=_FIELD_LIMITS["district"]),
        region_code=region_code,
        timezone=timezone,
        phones=tuple(phones),
        home_zone=first.zone or office_zone,
    )
    product = _text(row, "product").lower()
    if product not in products:
        raise RowError(
            _("unknown product {value} (known: {known})").format(
                value=product, known=", ".join(sorted(products))
            )
        )
    status = _text(row, "status").lower()
    if status not in ACCOUNT_STATUSES:
        raise RowError(
            _("unknown account status {value} (known: {known})").format(
                value=status, known=", ".join(ACCOUNT_STATUSES)
            )
        )
    currency = (_text(row, "currency", required=False) or default_currency).upper()
    if len(currency) != 3 or not currency.isalpha():
        raise RowError(_("currency must be a three-letter code: {value}").format(value=currency))
    amounts = {
        name: to_minor(row.get(name), name)
        for name in (
            "principal",
            "outstanding_principal",
            "outstanding_interest",
            "outstanding_penalty",
            "outstanding_fees",
        )
    }
    outstanding = sum(v for k, v in amounts.items() if k != "principal")
    overdue_raw = row.get("overdue_amount")
    if overdue_raw is None or (isinstance(overdue_raw, str) and not overdue_raw.strip()):
        overdue = outstanding if status == "overdue" else 0
    else:
        overdue = to_minor(overdue_raw, "overdue_amount")
    opened_on = to_date(row.get("opened_on"), "opened_on", today)
    assert opened_on is not None
    overdue_since = to_date(row.get("overdue_since"), "overdue_since", today, required=False)
    if status == "overdue":
        if overdue_since is None:
            raise RowError(_("an overdue account needs overdue_since"))
        if overdue <= 0:
            raise RowError(_("an overdue account needs an overdue amount above zero"))
    else:
        # Only overdue accounts are in arrears; a stale date would age the case.
        overdue_since = None
        overdue = 0
    if overdue_since is not None and overdue_since < opened_on:
        raise RowError(_("overdue_since is before opened_on"))
    return AccountRecord(
        row_no=row_no,
        external_id=external_id,
        borrower=borrower,
        product=product,
        status=status,
        currency=currency,
        principal_minor=amounts["principal"],
        outstanding_principal_minor=amounts["outstanding_principal"],
        outstanding_interest_minor=amounts["outstanding_interest"],
        outstanding_penalty_minor=amounts["outstanding_penalty"],
        outstanding_fees_minor=amounts["outstanding_fees"],
        overdue_minor=overdue,
        annual_rate=to_rate(row.get("annual_rate")),
        opened_on=opened_on,
        overdue_since=overdue_since,
    )


def parse_payment(
    row: Mapping[str, Value],
    row_no: int,
    *,
    today: dt.date,
    channels: frozenset[str],
    default_channel: str = "import",
) -> PaymentRecord:
    """One payment row, checked; ``RowError`` says why not."""
    external_id = _identifier(row, "payment_id")
    account = _identifier(row, "account_id")
    amount = to_minor(row.get("amount"), "amount")
    if amount == 0:
        raise RowError(_("a payment amount must be above zero"))
    paid_on = to_date(row.get("paid_on"), "paid_on", today)
    assert paid_on is not None
    channel = (_text(row, "channel", required=False) or default_channel).lower()
    if channel not in channels:
        raise RowError(
            _("unknown payment channel {value} (known: {known})").format(
                value=channel, known=", ".join(sorted(channels))
            )
        )
    reference = _text(row, "reference", required=False, limit=MAX_REFERENCE) or None
    return PaymentRecord(row_no, external_id, account, amount, paid_on, channel, reference)


def row_identifier(row: Mapping[str, Value], kind: RecordKind) -> str | None:
    """The row's own external id as written (for the report of a refused row)."""
    raw = row.get("payment_id" if kind == "payment" else "account_id")
    value = "" if raw is None else safe_text(str(raw)).strip()
    return value[:MAX_ID] or None


# --- within one batch ------------------------------------------------------------------------


class BatchLedger:
    """What one import has seen so far: ids must be unique, a borrower's rows must agree.

    An id is taken at first sight, even by a row refused for another reason: a second row
    with that id is ambiguous either way, so it is refused too.
    """

    def __init__(self) -> None:
        self._ids: dict[tuple[RecordKind, str], int] = {}
        self._borrowers: dict[str, tuple[int, BorrowerFacts]] = {}

    def claim(self, kind: RecordKind, external_id: str | None, row_no: int) -> None:
        if not external_id:
            return
        first = self._ids.setdefault((kind, external_id), row_no)
        if first != row_no:
            raise RowError(
                _("duplicate {kind} id {id} in this import (first at row {row})").format(
                    kind=kind, id=external_id, row=first
                )
            )

    def check_borrower(self, record: AccountRecord) -> None:
        borrower = record.borrower
        facts = borrower.facts()
        seen = self._borrowers.get(borrower.external_id)
        if seen is None:
            self._borrowers[borrower.external_id] = (record.row_no, facts)
            return
        first_row, first = seen
        diff = fact_differences(first, facts)
        if diff:
            raise RowError(
                _("borrower {id} differs from row {row} in: {fields}").format(
                    id=borrower.external_id, row=first_row, fields=", ".join(diff)
                )
            )
