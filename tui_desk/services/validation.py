"""The one validation layer at the service boundary.

Every use case checks its arguments here, at its top, before it opens a transaction: the
type (a wrong type is refused, never a crash), the range (from the policy profile where
the policy sets it), money (positive whole minor units, or decimals with at most two
places, under the profile's cap), record ids (whole numbers a database can hold, so a
huge id is "does not exist", not a driver overflow) and text (length limits; NUL and
terminal control characters refused). A refusal is ``InvalidInput``: a ``ServiceError``
that names the field, so the form can point at it and a fuzzer can check it.

The helpers take ``object`` and return the checked value with its type, so a use case
reads ``amount = check_amount("amount_minor", amount_minor, ctx.profile)`` and carries
on with a value mypy knows.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tui_desk.db.engine import Database
from tui_desk.db.models import LoanAccount
from tui_desk.domain import DOOR_METHODS, VisitOutcome
from tui_desk.formatting import money, unsafe_chars
from tui_desk.i18n import N_, _
from tui_desk.rules.adjustments import Changes
from tui_desk.rules.plans import (
    ANNUITY,
    BIWEEKLY,
    EQUAL_PRINCIPAL,
    GRACE_MODES,
    INTEREST_FREE,
    MONTHLY,
    QUARTERLY,
    WEEKLY,
    PlanLimits,
    PlanRequest,
)
from tui_desk.rules.profile import Profile
from tui_desk.services.errors import NotFound, ServiceError

E = TypeVar("E", bound=enum.Enum)

MAX_ID = 2**63 - 1
"""The largest id a BIGINT column (PostgreSQL, SQLite) holds; above it nothing exists."""
EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(2100, 12, 31)
"""No date the desk handles lies outside these (year 1 and year 9999 are typing slips)."""
SHORT_TEXT = 200
LONG_TEXT = 2000
MAX_IDS = 10_000
"""The most ids one call takes (a supervisor's bulk reassignment)."""

DEFAULT_MAX_AMOUNT_MINOR = 1_000_000_000
DEFAULT_VISIT_MAX_DAYS_AHEAD = 60

_FIELDS: dict[str, str] = {
    "account_id": N_("account"),
    "adjustment_id": N_("adjustment"),
    "agent_login": N_("agent"),
    "agreement_id": N_("agreement"),
    "amount_minor": N_("amount"),
    "appointment_id": N_("visit"),
    "approval_reason": N_("approval reason"),
    "approve": N_("decision"),
    "borrower_confirmation": N_("borrower's confirmation"),
    "borrower_id": N_("borrower"),
    "callback_at": N_("callback time"),
    "case_id": N_("case"),
    "case_ids": N_("cases"),
    "changes": N_("changes"),
    "channel": N_("channel"),
    "collector_id": N_("collector"),
    "collector_login": N_("collector"),
    "complaint_id": N_("complaint"),
    "consent_channel": N_("consent channel"),
    "contact_id": N_("contact"),
    "date_from": N_("from"),
    "date_to": N_("to"),
    "day": N_("day"),
    "delivery": N_("delivery"),
    "description": N_("description"),
    "direction": N_("direction"),
    "do_not_call": N_("do not call"),
    "document_id": N_("document"),
    "effective_on": N_("effective date"),
    "expected_version": N_("version"),
    "follow_up_id": N_("follow-up"),
    "granted_to": N_("granted to"),
    "hold": N_("hold"),
    "holder_name": N_("holder's name"),
    "how": N_("delivery"),
    "kind": N_("kind"),
    "language": N_("language"),
    "limit": N_("page size"),
    "minutes": N_("minutes"),
    "name": N_("name"),
    "district": N_("district"),
    "reference": N_("reference"),
    "note": N_("note"),
    "outcome": N_("outcome"),
    "override_reason": N_("override reason"),
    "owner_login": N_("agent"),
    "paid_on": N_("payment date"),
    "phone_id": N_("phone"),
    "place": N_("place"),
    "plan_id": N_("plan"),
    "promise_amount_minor": N_("promised amount"),
    "promise_due": N_("promised date"),
    "raw": N_("number"),
    "reason": N_("reason"),
    "received_on": N_("received date"),
    "record_version": N_("version"),
    "relation": N_("relation"),
    "report": N_("visit report"),
    "request": N_("plan"),
    "request_id": N_("request"),
    "resolution": N_("resolution"),
    "rule": N_("rule"),
    "search": N_("search"),
    "side": N_("side"),
    "span_days": N_("days"),
    "special_terms": N_("special terms"),
    "start": N_("start"),
    "starts_at": N_("visit time"),
    "status": N_("status"),
    "template": N_("template"),
    "terms": N_("special terms"),
    "to_login": N_("agent"),
    "verified": N_("decision"),
    "week_start": N_("week"),
    "principal": N_("principal"),
    "annual_rate": N_("annual rate"),
    "instalments": N_("instalments"),
    "frequency": N_("frequency"),
    "first_due": N_("first due date"),
    "down_payment": N_("down payment"),
    "down_payment_on": N_("down payment date"),
    "grace_periods": N_("grace periods"),
    "grace_mode": N_("grace mode"),
    "waiver": N_("waiver"),
    "overdue_interest": N_("overdue interest"),
    "suspend_periods": N_("suspended periods"),
    "extend_by": N_("extension"),
    "mismatches": N_("mismatches"),
    "collected_minor": N_("collected amount"),
    "collected_method": N_("collection method"),
    "receipt_no": N_("receipt number"),
    "declared_income_minor": N_("declared income"),
    "obligations_minor": N_("obligations"),
    "affordable_monthly_minor": N_("affordable monthly amount"),
    "notified_how": N_("how notified"),
    "notified_at": N_("notified at"),
    "scope": N_("scope"),
    "bucket": N_("bucket"),
    "stage": N_("stage"),
    "action": N_("action"),
    "since": N_("since"),
    "until": N_("until"),
    "before_id": N_("page"),
    "field": N_("field"),
    "work_id_shown": N_("work ID shown"),
    "name_checked": N_("name checked"),
    "contact_checked": N_("contact checked"),
    "address_checked": N_("address checked"),
    "documents_ok": N_("documents complete"),
    "mine": N_("mine"),
    "all_collectors": N_("all collectors"),
    "replacing": N_("visit"),
}


def field_label(field: str) -> str:
    """The field as the operator knows it ("payment date" for ``paid_on``), translated."""
    label = _FIELDS.get(field)
    return _(label) if label else field.replace("_", " ")


class InvalidInput(ServiceError):
    """An argument outside the rules; ``field`` is the argument's name."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(_("{field}: {problem}").format(field=field_label(field), problem=problem))


class UnknownRecord(InvalidInput, NotFound):
    """An argument naming something that does not exist (a record id no table can hold,
    a template nobody installed): a not-found refusal that names the field."""


# --- the profile's limits -----------------------------------------------------------------


def max_amount_minor(profile: Profile) -> int:
    """The largest single amount (minor units) any use case takes under this profile."""
    return int(profile.section("validation").get("max_amount_minor", DEFAULT_MAX_AMOUNT_MINOR))


def visit_max_days_ahead(profile: Profile) -> int:
    """How many days ahead of today a visit may be booked or moved to."""
    raw = profile.section("validation").get("visit_max_days_ahead", DEFAULT_VISIT_MAX_DAYS_AHEAD)
    return int(raw)


# --- numbers and ids ---------------------------------------------------------------------


def _whole(field: str, value: object) -> int:
    # bool is an int to Python, never to the operator.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, _("is not a whole number"))
    return value


def check_int(field: str, value: object, *, low: int, high: int) -> int:
    number = _whole(field, value)
    if not low <= number <= high:
        raise InvalidInput(field, _("must be from {low} to {high}").format(low=low, high=high))
    return number


def check_id(field: str, value: object) -> int:
    """A record id; anything no table can hold is refused as not existing."""
    number = _whole(field, value)
    if not 1 <= number <= MAX_ID:
        raise UnknownRecord(field, _("does not exist ({value})").format(value=number))
    return number


def check_optional_id(field: str, value: object) -> int | None:
    return None if value is None else check_id(field, value)


def check_ids(field: str, values: object) -> list[int]:
    """A list of record ids (at most ``MAX_IDS``)."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | set | frozenset):
        raise InvalidInput(field, _("is not a list of records"))
    if len(values) > MAX_IDS:
        raise InvalidInput(field, _("at most {n} at a time").format(n=MAX_IDS))
    return [check_id(field, v) for v in values]


def check_version(field: str, value: object) -> int:
    """A row version a form read (a stale one is refused later, by the version check)."""
    return check_int(field, value, low=0, high=MAX_ID)


def check_optional_version(field: str, value: object) -> int | None:
    return None if value is None else check_version(field, value)


def check_flag(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, _("is not yes or no"))
    return value


# --- money -------------------------------------------------------------------------------


def check_amount(field: str, value: object, profile: Profile, *, allow_zero: bool = False) -> int:
    """An amount in minor units: a whole number, positive (or zero where allowed), at most
    the profile's cap."""
    minor = _whole(field, value)
    if minor < 0 or (minor == 0 and not allow_zero):
        raise InvalidInput(field, _("cannot be negative") if allow_zero else _("must be positive"))
    cap = max_amount_minor(profile)
    if minor > cap:
        raise InvalidInput(
            field, _("is above the limit of {limit}").format(limit=money(cap, profile.currency))
        )
    return minor


def check_optional_amount(
    field: str, value: object, profile: Profile, *, allow_zero: bool = False
) -> int | None:
    return None if value is None else check_amount(field, value, profile, allow_zero=allow_zero)


def check_money(field: str, value: object, profile: Profile, *, allow_zero: bool = True) -> Decimal:
    """An amount in major units (``Decimal``) with at most two decimals, under the cap."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InvalidInput(field, _("is not an amount"))
    amount = Decimal(value)
    if not amount.is_finite():
        raise InvalidInput(field, _("is not an amount"))
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(field, _("has more than two decimals"))
    minor = amount * 100
    try:
        whole = int(minor.to_integral_value())
    except (InvalidOperation, OverflowError):
        raise InvalidInput(field, _("is not an amount")) from None
    check_amount(field, whole, profile, allow_zero=allow_zero)
    return amount


def check_fraction(field: str, value: object, *, high: Decimal) -> Decimal:
    """A rate as a fraction (0.12 for 12 %), from 0 to ``high``."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InvalidInput(field, _("is not a number"))
    rate = Decimal(value)
    if not rate.is_finite() or not Decimal(0) <= rate <= high:
        raise InvalidInput(field, _("must be from {low} to {high}").format(low=0, high=high))
    return rate


# --- text --------------------------------------------------------------------------------


def check_text(
    field: str,
    value: object,
    max_len: int,
    *,
    required: bool = False,
    multiline: bool = False,
    missing: str | None = None,
) -> str | None:
    """A free text, stripped; ``None`` when empty and not required.

    No NUL or terminal control character (tab and newline only in ``multiline`` texts),
    at most ``max_len`` characters.
    """
    if value is None:
        value = ""
    elif not isinstance(value, str):
        raise InvalidInput(field, _("is not text"))
    # Judged before stripping: str.strip() would quietly drop \x1c-\x1f at the ends.
    bad = unsafe_chars(value, multiline=multiline)
    if bad:
        raise InvalidInput(
            field,
            _("contains the control character U+{code:04X}").format(code=ord(bad[0])),
        )
    text = value.strip()
    if len(text) > max_len:
        raise InvalidInput(
            field,
            _("has at most {max} characters ({count} given)").format(max=max_len, count=len(text)),
        )
    if not text:
        if required:
            raise InvalidInput(field, missing or _("is required"))
        return None
    return text


def check_required_text(
    field: str,
    value: object,
    max_len: int,
    *,
    multiline: bool = False,
    missing: str | None = None,
) -> str:
    """A text that must be given; ``missing`` says what to write when it is empty."""
    text = check_text(field, value, max_len, required=True, multiline=multiline, missing=missing)
    assert text is not None  # required
    return text


def check_choice(field: str, value: object, kind: type[E], *, problem: str | None = None) -> E:
    """A code the screens send (or the enum itself), else refused with ``problem`` or the
    choices."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str) and not unsafe_chars(value):
        try:
            return kind(value)
        except ValueError:
            pass
    raise InvalidInput(
        field,
        problem
        or _("is not one of: {choices}").format(choices=", ".join(str(k.value) for k in kind)),
    )


def check_code(field: str, value: object, allowed: Iterable[str]) -> str:
    """One of a fixed set of strings (report names, rules...)."""
    choices = tuple(allowed)
    if isinstance(value, str) and value in choices:
        return value
    raise InvalidInput(field, _("is not one of: {choices}").format(choices=", ".join(choices)))


# --- dates and times ---------------------------------------------------------------------


def check_date(
    field: str,
    value: object,
    *,
    earliest: dt.date = EARLIEST_DAY,
    latest: dt.date = LATEST_DAY,
) -> dt.date:
    """A calendar day (not a date and time) from ``earliest`` to ``latest``."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise InvalidInput(field, _("is not a date"))
    if value < max(earliest, EARLIEST_DAY):
        raise InvalidInput(
            field,
            _("must be on or after {day}").format(day=max(earliest, EARLIEST_DAY).isoformat()),
        )
    if value > min(latest, LATEST_DAY):
        raise InvalidInput(
            field,
            _("must be on or before {day}").format(day=min(latest, LATEST_DAY).isoformat()),
        )
    return value


def check_optional_date(
    field: str,
    value: object,
    *,
    earliest: dt.date = EARLIEST_DAY,
    latest: dt.date = LATEST_DAY,
) -> dt.date | None:
    return None if value is None else check_date(field, value, earliest=earliest, latest=latest)


def check_datetime(
    field: str,
    value: object,
    *,
    earliest: dt.datetime | None = None,
    latest: dt.datetime | None = None,
) -> dt.datetime:
    """A moment with its timezone, within ``earliest``..``latest`` (and the desk's years)."""
    if not isinstance(value, dt.datetime):
        raise InvalidInput(field, _("is not a date and time"))
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, _("needs a timezone"))
    check_date(field, value.date())
    if earliest is not None and value < earliest:
        raise InvalidInput(
            field,
            _("must be on or after {day}").format(day=earliest.strftime("%Y-%m-%d %H:%M %Z")),
        )
    if latest is not None and value > latest:
        raise InvalidInput(
            field,
            _("must be on or before {day}").format(day=latest.strftime("%Y-%m-%d %H:%M %Z")),
        )
    return value


def check_optional_datetime(
    field: str,
    value: object,
    *,
    earliest: dt.datetime | None = None,
    latest: dt.datetime | None = None,
) -> dt.datetime | None:
    return None if value is None else check_datetime(field, value, earliest=earliest, latest=latest)


def check_visit_start(
    field: str, value: object, *, now: dt.datetime, profile: Profile
) -> dt.datetime:
    """A visit's start: a moment with its timezone, at most the profile's
    ``visit_max_days_ahead`` days from now (the booking rules judge the rest)."""
    ahead = dt.timedelta(days=visit_max_days_ahead(profile))
    return check_datetime(field, value, latest=now + ahead)


# --- structured arguments ----------------------------------------------------------------


def check_plan_request(value: object, *, today: dt.date, profile: Profile) -> PlanRequest:
    """A plan as the form sends it: known kind and frequency, amounts with two decimals
    under the cap, a sane rate and length, every date from today on."""
    if not isinstance(value, PlanRequest):
        raise InvalidInput("request", _("is not a plan"))
    limits = PlanLimits.from_section(profile.section("plans"))
    check_code("kind", value.kind, (ANNUITY, EQUAL_PRINCIPAL, INTEREST_FREE))
    check_code("frequency", value.frequency, (WEEKLY, BIWEEKLY, MONTHLY, QUARTERLY))
    check_code("grace_mode", value.grace_mode, GRACE_MODES)
    check_money("principal", value.principal, profile, allow_zero=False)
    for name in ("down_payment", "overdue_interest", "waiver"):
        check_money(name, getattr(value, name), profile)
    check_fraction("annual_rate", value.annual_rate, high=limits.max_annual_rate)
    # 260 weekly instalments make the longest plan (max_months of weeks, rounded up).
    longest = limits.max_months * 5
    # Zero is the plan rules' to refuse, in a sentence among the plan's other problems.
    check_int("instalments", value.instalments, low=0, high=longest)
    check_int("grace_periods", value.grace_periods, low=0, high=longest)
    check_date("first_due", value.first_due, earliest=today)
    check_optional_date("down_payment_on", value.down_payment_on, earliest=today)
    return value


def check_changes(value: object) -> Changes:
    """A hardship request's bundle: whole numbers of periods, a known grace mode."""
    if not isinstance(value, Changes):
        raise InvalidInput("changes", _("is not a set of changes"))
    for name in ("suspend_periods", "extend_by", "grace_periods"):
        check_int(name, getattr(value, name), low=0, high=120)
    check_code("grace_mode", value.grace_mode, GRACE_MODES)
    return value


def check_visit_report(value: object, profile: Profile) -> None:
    """What a collector records (a ``VisitReportInput``, whose type its use case checks):
    yes/no checks, texts, amounts (zero allowed)."""
    check_choice("outcome", getattr(value, "outcome", None), VisitOutcome)
    for name in ("work_id_shown", "name_checked", "contact_checked", "address_checked",
                 "documents_ok"):  # fmt: skip
        check_flag(name, getattr(value, name))
    check_text("mismatches", getattr(value, "mismatches", None), LONG_TEXT, multiline=True)
    check_text("note", getattr(value, "note", None), LONG_TEXT, multiline=True)
    method = getattr(value, "collected_method", None)
    if method is not None and method != "":
        check_code("collected_method", method, DOOR_METHODS)  # the form's choices
    check_text("receipt_no", getattr(value, "receipt_no", None), 40)
    check_amount(
        "collected_minor", getattr(value, "collected_minor", None), profile, allow_zero=True
    )
    for name in ("declared_income_minor", "obligations_minor", "affordable_monthly_minor"):
        check_optional_amount(name, getattr(value, name, None), profile, allow_zero=True)


def _profile_days(profile: Profile, section: str, key: str, default: int) -> int:
    return int(profile.section(section).get(key, default))


def office_day(now: dt.datetime, profile: Profile) -> dt.date:
    return now.astimezone(ZoneInfo(profile.office_timezone)).date()


def check_contact_dates(
    now: dt.datetime, profile: Profile, callback_at: object, promise_due: object
) -> None:
    """A callback from now to the profile's ``callback_max_days`` ahead; a promised date
    from today to ``promise_max_days`` ahead (each only when given)."""
    days = _profile_days(profile, "contact", "callback_max_days", 30)
    check_optional_datetime(
        "callback_at", callback_at, earliest=now, latest=now + dt.timedelta(days=days)
    )
    today = office_day(now, profile)
    days = _profile_days(profile, "contact", "promise_max_days", 30)
    check_optional_date(
        "promise_due", promise_due, earliest=today, latest=today + dt.timedelta(days=days)
    )


def check_payment_day(db: Database, case_id: int, value: object, *, today: dt.date) -> dt.date:
    """A payment's date: not in the future, not before the case's first loan began."""
    paid_on = check_date("paid_on", value, latest=today)
    with db.read() as s:
        opened = s.scalar(
            select(func.min(LoanAccount.opened_on)).where(LoanAccount.case_id == case_id)
        )
    if opened is not None and paid_on < opened:
        raise InvalidInput(
            "paid_on",
            _("is before the loan began ({day})").format(day=opened.isoformat()),
        )
    return paid_on
