"""Importing from the bank's loan system: borrowers, phones, accounts, arrears and payments.

``tui-desk import --csv FILE [--csv FILE ...]`` or ``tui-desk import --url URL``.

Sources
=======

CSV (UTF-8, a BOM is fine; comma-separated, RFC 4180 quoting; the header names the
columns, in any order; unknown columns are ignored). The header decides what a file
holds: a ``payment_id`` column makes it a **payments file**, otherwise a
``borrower_id`` column makes it an **accounts file**. Give both files to one command,
accounts first (payments refer to accounts by their id). Row numbers are spreadsheet
row numbers: the header is row 1, the first record row 2.

Accounts file, **one row = one loan account** with its borrower and the borrower's phones
(a borrower with several accounts repeats its columns on each row, identically)::

    account_id            the loan system's account number (unique)        required
    borrower_id           the loan system's customer number                 required
    name                  borrower's name                                   required
    id_number             resident ID (GB 11643; 15-digit numbers converted) required
    address, city, district, region_code (six digits, GB/T 2260)            required
    timezone              e.g. Asia/Shanghai (default for new borrowers)    optional
    phone                 the borrower's number, any usual format           required
    phone2                a second number of the borrower                   optional
    product               consumer_loan | credit_card | auto_loan | mortgage | cash_advance
    status                current | overdue | settled | written_off
    currency              three letters, default CNY                       optional
    principal             yuan, e.g. 12000.00 (at most two decimals)        required
    outstanding_principal, outstanding_interest, outstanding_penalty,
    outstanding_fees      yuan                                               required
    overdue_amount        yuan in arrears; default: the outstanding total of an overdue
                          account (ignored, i.e. 0, unless status is overdue)
    annual_rate           a fraction (0.1825) or a percentage (18.25%); default 0
    opened_on             YYYY-MM-DD                                         required
    overdue_since         YYYY-MM-DD; required when status is overdue

Payments file, one row = one payment the loan system booked::

    payment_id   the loan system's payment id (unique)      required
    account_id   the account paid                           required
    amount       yuan, above zero                            required
    paid_on      YYYY-MM-DD, not in the future               required
    channel      bank_transfer | direct_debit | counter | door | card | import
                 (default import; ``door`` matches a door collection whatever its date)
    reference    the bank's reference, up to 64 characters  optional

JSON over HTTP (``--url``): the importer sends ``GET URL`` and expects, with status 200::

    {"items": [ITEM, ...], "next": "URL of the next page" | null, "total": N (optional)}

and follows ``next`` (absolute, or relative to the page) until it is null, e.g.
``GET https://loans.example/export?page=2``. An ITEM is an object with the same fields as
a CSV row, plus ``"record": "account"`` (the default) or ``"record": "payment"``;
values are strings or numbers (numbers are read exactly, as decimals). Row numbers
count items across pages from 1. A page that is not JSON of this shape, an HTTP error
(after two retries for 5xx answers and network errors) or a page seen twice stops
the import with one clear line: what earlier pages brought stays imported, nothing of
the failing page is.

What an import does
===================

Idempotent by external id (``account_id``, ``borrower_id``, ``payment_id``): a row equal
to what is stored changes nothing and counts as *unchanged*, so the same import run
twice changes nothing. Otherwise:

- a new borrower is created with its phones; a changed borrower is updated; a phone not
  yet on file is added (phones are never removed: operators' numbers and do-not-call
  marks stay). The search side data (name pieces, reversed digits) follows.
- a new or changed account is written. An account that *becomes* overdue (new and
  overdue, or overdue after being current / settled) joins its borrower's case: a
  borrower without a case gets one (open, stage ``new``, next action from the profile),
  an archived case is reopened (stage ``contacting``).
- the case's overdue amount and date follow its accounts (the overdue ones). When a
  change leaves a case with no overdue account, the case moves toward the archive: its
  next action is set to now, so an operator looks at it, and if every account is settled
  with nothing outstanding its stage becomes ``paid`` (an operator archives it with
  ``Z``, which checks that nothing is owed). The import never archives a case itself:
  door money, complaints or a plan may still need a person.
- a payment is recorded on the account's case (channel as given), then, in the same
  savepoint, promises and the active plan are settled from the ledger
  (``promises.reevaluate_promises``, ``ledger.recompute``, which also reconciles door
  collections of visit reports), as a payment recorded at the desk is. A payment whose
  amount, date, channel or reference changed is corrected and the ledger recomputed.

A bad row (invalid phone or ID check digit, negative amount, unknown product or status,
an id twice in the import, a borrower whose rows disagree, a payment for an unknown
account, ...) is refused with its row number and reason (``import_rejection`` rows and
the printed summary); the rest of the import goes on. Each row is written in its own
savepoint, so a row that fails leaves nothing behind. (Rows that only add - a new
account of a new borrower - are first tried together in one savepoint, a few multi-row
statements, which is what makes 100,000 accounts take well under a minute; should that
fail, it is rolled back and the same rows go in one savepoint each.)

Rows are committed in batches (``batch_size``, at most 1,000 rows per transaction, 500
by default): the database lock is held for a fraction of a second at a time, and rows
are read and checked outside the transaction, so desks' saves go through in between.
A transaction also ends after 0.25 s under the lock (payments, which settle
promises and plans, cost a few milliseconds each). The ``import_batch`` row keeps the running counts (created, updated, unchanged,
rejected) and ``finished_at``; one audit event per batch (``import.batch``) records
the summary, the door collections still unmatched (every visit report's door money that
no bank payment has matched, oldest first), and the cases opened, reopened or moved
toward the archive. The ledger's own ``visit.reconcile`` events name each match.

Benchmark: ``bench/import_bench.py`` (100,000 accounts on SQLite, two cores: about 36 s).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import httpx
from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    AccountStatus,
    Borrower,
    BorrowerNameGram,
    CaseStatus,
    CollectionCase,
    ImportBatch,
    ImportRejection,
    LoanAccount,
    Payment,
    PaymentChannel,
    Phone,
    PhoneKind,
    Product,
    Relation,
    Stage,
    VisitReport,
)
from tui_desk.i18n import _
from tui_desk.rules.imports import (
    AccountRecord,
    BatchLedger,
    PaymentRecord,
    RecordKind,
    Rejected,
    RowError,
    Value,
    header_kind,
    parse_account,
    parse_payment,
    row_identifier,
)
from tui_desk.rules.priority import bucket_number, days_past_due, priority_score
from tui_desk.rules.profile import Profile
from tui_desk.rules.search import name_grams, reverse_digits
from tui_desk.services import audit, ledger
from tui_desk.services.case_state import office_today, recompute_priority
from tui_desk.services.contacts import (
    default_next_action,
    ensure_next_action,
    resolve_now,
    resolve_profile,
)
from tui_desk.services.context import Actor
from tui_desk.services.errors import ServiceError
from tui_desk.services.promises import reevaluate_promises

DEFAULT_BATCH_SIZE = 500
MAX_BATCH_SIZE = 1000
# A transaction also ends once it has held the write lock this long (and the rest of
# its rows go into the next one): a desk's save never waits much longer than this.
TRANSACTION_SECONDS = 0.25
HTTP_TIMEOUT = 30.0
HTTP_RETRIES = 2
MAX_PAGES = 100_000
# The summary and the audit event list at most this many rejections, cases and door
# collections; the counts are always complete.
LIST_LIMIT = 100

Progress = Callable[[int, int | None], None]
"""Called with (rows done, rows in total or None when the source does not say)."""

_PRODUCTS = frozenset(p.value for p in Product)
_CHANNELS = frozenset(c.value for c in PaymentChannel)

_BORROWER = cast(Table, Borrower.__table__)
_PHONE = cast(Table, Phone.__table__)
_GRAM = cast(Table, BorrowerNameGram.__table__)
_ACCOUNT = cast(Table, LoanAccount.__table__)
_CASE = cast(Table, CollectionCase.__table__)

# Built once: the same statement objects keep SQLAlchemy's compiled cache hot, and the
# values travel as parameters (per-row ``.values(...)`` costs more than the insert).
_INSERT_BORROWER = insert(_BORROWER)
_INSERT_PHONE = insert(_PHONE)
_INSERT_GRAM = insert(_GRAM)
_INSERT_ACCOUNT = insert(_ACCOUNT)
_INSERT_CASE = insert(_CASE)
_UPDATE_BORROWER = update(_BORROWER).where(_BORROWER.c.id == bindparam("_id"))
_UPDATE_ACCOUNT = update(_ACCOUNT).where(_ACCOUNT.c.id == bindparam("_id"))
_UPDATE_CASE = (
    update(_CASE).where(_CASE.c.id == bindparam("_id")).values(version=_CASE.c.version + 1)
)
_DELETE_GRAMS = delete(_GRAM).where(_GRAM.c.borrower_id == bindparam("_id"))
_CASE_ACCOUNTS = select(
    _ACCOUNT.c.status,
    _ACCOUNT.c.overdue_minor,
    _ACCOUNT.c.overdue_since,
    _ACCOUNT.c.outstanding_principal_minor
    + _ACCOUNT.c.outstanding_interest_minor
    + _ACCOUNT.c.outstanding_penalty_minor
    + _ACCOUNT.c.outstanding_fees_minor,
).where(_ACCOUNT.c.case_id == bindparam("_id"))


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


class ImportFailed(ServiceError):
    """The source could not be read to the end; ``summary`` says what was imported before."""

    def __init__(self, message: str, summary: ImportSummary) -> None:
        super().__init__(message)
        self.summary = summary


class SourceError(Exception):
    """The source itself is broken (unreadable file, HTTP error, malformed page)."""


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoorCollection:
    """Money a collector took at the door that no bank payment has matched yet."""

    report_id: int
    case_id: int
    amount_minor: int
    collected_at: dt.datetime
    receipt_no: str | None


@dataclass
class ImportSummary:
    batch_id: int
    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejected] = field(default_factory=list)
    cases_opened: list[int] = field(default_factory=list)
    cases_reopened: list[int] = field(default_factory=list)
    cases_toward_archive: list[int] = field(default_factory=list)
    payments_applied: int = 0
    unmatched_door: list[DoorCollection] = field(default_factory=list)
    unmatched_door_total: int = 0
    error: str | None = None
    elapsed_seconds: float = 0.0
    commit_seconds: list[float] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected


@dataclass(frozen=True)
class RawRow:
    """A row as read from the source, before any check."""

    row_no: int
    kind: RecordKind | None
    fields: Mapping[str, Value]
    problem: str | None = None  # the source already knows the row is unusable


@dataclass(frozen=True)
class Chunk:
    rows: list[RawRow]
    total: int | None  # rows in the whole source, when known


# --- sources ---------------------------------------------------------------------------------


def count_csv_rows(path: Path) -> int:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return max(0, sum(1 for row in csv.reader(fh) if any(c.strip() for c in row)) - 1)
    except (OSError, UnicodeDecodeError, csv.Error):
        return 0


def csv_chunks(path: Path, batch_size: int) -> Iterator[Chunk]:
    """The rows of a CSV file, ``batch_size`` at a time (the header decides their kind)."""
    total = count_csv_rows(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header: list[str] | None = None
            kind: RecordKind | None = None
            rows: list[RawRow] = []
            for row_no, values in enumerate(reader, start=1):
                if header is None:
                    header = [c.strip().lower() for c in values]
                    try:
                        kind = header_kind(header)
                    except RowError as exc:
                        raise SourceError(str(exc)) from exc
                    continue
                if not any(v.strip() for v in values):
                    continue
                problem = None
                if len(values) > len(header):
                    problem = _("the row has {n} fields, the header {m}").format(
                        n=len(values), m=len(header)
                    )
                fields: dict[str, Value] = dict(zip(header, values, strict=False))
                rows.append(RawRow(row_no, kind, fields, problem))
                if len(rows) >= batch_size:
                    yield Chunk(rows, total)
                    rows = []
            if header is None:
                raise SourceError(_("the file is empty (no header)"))
            if rows:
                yield Chunk(rows, total)
    except OSError as exc:
        raise SourceError(
            _("cannot read {path}: {error}").format(path=path, error=exc.strerror or exc)
        ) from exc
    except UnicodeDecodeError as exc:
        raise SourceError(
            _("{path} is not UTF-8 text: {error}").format(path=path, error=exc)
        ) from exc
    except csv.Error as exc:
        raise SourceError(
            _("{path} is not valid CSV: {error}").format(path=path, error=exc)
        ) from exc


def _scalar(value: Any) -> bool:
    return value is None or (isinstance(value, str | int | Decimal) and not isinstance(value, bool))


def _page_items(body: Any, page_no: int, url: str) -> tuple[list[Any], str | None, int | None]:
    where = _("page {n} ({url})").format(n=page_no, url=url)
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise SourceError(_('{where}: expected an object with an "items" list').format(where=where))
    nxt = body.get("next")
    if nxt is not None and not isinstance(nxt, str):
        raise SourceError(_('{where}: "next" must be a URL or null').format(where=where))
    total = body.get("total")
    return body["items"], nxt or None, total if isinstance(total, int) else None


def _raw_item(item: Any, row_no: int) -> RawRow:
    if not isinstance(item, dict):
        return RawRow(row_no, None, {}, _("the item is not an object"))
    record = item.get("record", "account")
    fields: dict[str, Value] = {}
    for key, value in item.items():
        if not _scalar(value):
            return RawRow(
                row_no, None, {}, _("field {field} is not a text or a number").format(field=key)
            )
        fields[str(key).lower()] = value
    if record not in ("account", "payment"):
        return RawRow(row_no, None, fields, _("unknown record {value}").format(value=record))
    kind: RecordKind = "payment" if record == "payment" else "account"
    return RawRow(row_no, kind, fields)


def _get(client: httpx.Client, url: str, page_no: int, retries: int, backoff: float) -> Any:
    where = _("page {n} ({url})").format(n=page_no, url=url)
    attempt = 0
    while True:
        try:
            response = client.get(url)
        except httpx.HTTPError as exc:
            problem = _("{where}: {error}").format(
                where=where, error=str(exc) or type(exc).__name__
            )
            retry = True
        else:
            if response.status_code == 200:
                try:
                    return response.json(parse_float=Decimal)
                except ValueError as exc:
                    raise SourceError(
                        _("{where}: the answer is not valid JSON ({error})").format(
                            where=where, error=exc
                        )
                    ) from exc
            problem = _("{where}: the server answered {status} {reason}").format(
                where=where, status=response.status_code, reason=response.reason_phrase
            )
            retry = response.status_code >= 500 or response.status_code == 429
        if not retry or attempt >= retries:
            raise SourceError(problem)
        time.sleep(backoff * (2**attempt))
        attempt += 1


def url_chunks(
    url: str,
    batch_size: int,
    *,
    client: httpx.Client | None = None,
    timeout: float = HTTP_TIMEOUT,
    retries: int = HTTP_RETRIES,
    backoff: float = 0.5,
) -> Iterator[Chunk]:
    """The items of a paginated JSON feed; a page is read and checked whole before use."""
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=True)
    try:
        seen: set[str] = set()
        current: str | None = url
        page_no = 0
        row_no = 0
        while current is not None:
            page_no += 1
            if current in seen or page_no > MAX_PAGES:
                raise SourceError(
                    _("page {n} ({url}) was already read: the feed loops").format(
                        n=page_no, url=current
                    )
                )
            seen.add(current)
            body = _get(http, current, page_no, retries, backoff)
            items, nxt, total = _page_items(body, page_no, current)
            rows: list[RawRow] = []
            for item in items:
                row_no += 1
                rows.append(_raw_item(item, row_no))
            for start in range(0, len(rows), batch_size):
                yield Chunk(rows[start : start + batch_size], total)
            current = str(httpx.URL(current).join(nxt)) if nxt else None
    finally:
        if own:
            http.close()


# --- what is on file -------------------------------------------------------------------------


@dataclass
class _BorrowerState:
    id: int
    values: tuple[str, ...]  # name, id_number, address, city, district, region_code
    timezone: str
    phones: set[str]


@dataclass
class _AccountState:
    id: int
    borrower_id: int
    case_id: int | None
    values: tuple[Any, ...]


@dataclass
class _PaymentState:
    id: int
    account_id: int | None
    values: tuple[Any, ...]


@dataclass
class _Known:
    borrowers: dict[str, _BorrowerState] = field(default_factory=dict)
    accounts: dict[str, _AccountState] = field(default_factory=dict)
    payments: dict[str, _PaymentState] = field(default_factory=dict)
    cases: dict[int, int] = field(default_factory=dict)  # borrower id -> case id


def _borrower_values(b: Any) -> tuple[str, ...]:
    return (b.name, b.id_number, b.address, b.city, b.district, b.region_code)


def _account_values(a: Any) -> tuple[Any, ...]:
    rate = a.annual_rate if isinstance(a.annual_rate, Decimal) else Decimal(str(a.annual_rate))
    return (
        str(a.product),
        str(a.status),
        a.currency,
        a.principal_minor,
        a.outstanding_principal_minor,
        a.outstanding_interest_minor,
        a.outstanding_penalty_minor,
        a.outstanding_fees_minor,
        a.overdue_minor,
        rate.quantize(Decimal("0.0001")),
        a.opened_on,
        a.overdue_since,
    )


def _record_values(rec: AccountRecord) -> tuple[Any, ...]:
    """The same fields as ``_account_values``, from an imported row."""
    return (
        rec.product,
        rec.status,
        rec.currency,
        rec.principal_minor,
        rec.outstanding_principal_minor,
        rec.outstanding_interest_minor,
        rec.outstanding_penalty_minor,
        rec.outstanding_fees_minor,
        rec.overdue_minor,
        rec.annual_rate,
        rec.opened_on,
        rec.overdue_since,
    )


def _payment_values(account_id: int | None, p: Any) -> tuple[Any, ...]:
    return (account_id, p.amount_minor, p.paid_on, str(p.channel), p.reference)


def _in_chunks(values: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _load_known(s: Session, accounts: list[AccountRecord], payments: list[PaymentRecord]) -> _Known:
    known = _Known()
    borrower_ids = sorted({r.borrower.external_id for r in accounts})
    for part in _in_chunks(borrower_ids):
        for row in s.execute(select(_BORROWER).where(_BORROWER.c.external_id.in_(part))):
            known.borrowers[row.external_id] = _BorrowerState(
                row.id, _borrower_values(row), row.timezone, set()
            )
    by_id = {b.id: b for b in known.borrowers.values()}
    ids = sorted(by_id)
    for start in range(0, len(ids), 500):
        part_ids = ids[start : start + 500]
        for bid, e164 in s.execute(
            select(_PHONE.c.borrower_id, _PHONE.c.e164).where(_PHONE.c.borrower_id.in_(part_ids))
        ):
            by_id[bid].phones.add(e164)
    account_ids = sorted(
        {r.external_id for r in accounts} | {r.account_external_id for r in payments}
    )
    for part in _in_chunks(account_ids):
        for row in s.execute(select(_ACCOUNT).where(_ACCOUNT.c.external_id.in_(part))):
            known.accounts[row.external_id] = _AccountState(
                row.id, row.borrower_id, row.case_id, _account_values(row)
            )
    borrower_pks = ids + sorted({a.borrower_id for a in known.accounts.values()})
    for start in range(0, len(borrower_pks), 500):
        for case_id, borrower_id in s.execute(
            select(_CASE.c.id, _CASE.c.borrower_id).where(
                _CASE.c.borrower_id.in_(borrower_pks[start : start + 500])
            )
        ):
            known.cases[borrower_id] = case_id
    payment_ids = sorted({r.external_id for r in payments})
    for part in _in_chunks(payment_ids):
        for p in s.scalars(select(Payment).where(Payment.external_id.in_(part))):
            assert p.external_id is not None
            known.payments[p.external_id] = _PaymentState(
                p.id, p.account_id, _payment_values(p.account_id, p)
            )
        s.expunge_all()
    return known


# --- the run ---------------------------------------------------------------------------------


@dataclass
class _Run:
    db: Database
    actor: Actor | None
    now: dt.datetime
    profile: Profile
    today: dt.date
    summary: ImportSummary
    seen: BatchLedger = field(default_factory=BatchLedger)


def _check(run: _Run, raw: RawRow) -> AccountRecord | PaymentRecord | Rejected:
    ident = row_identifier(raw.fields, raw.kind) if raw.kind else None
    try:
        if raw.kind is not None:
            run.seen.claim(raw.kind, ident, raw.row_no)
        if raw.problem is not None or raw.kind is None:
            raise RowError(raw.problem or _("unknown record"))
        if raw.kind == "payment":
            return parse_payment(raw.fields, raw.row_no, today=run.today, channels=_CHANNELS)
        record = parse_account(raw.fields, raw.row_no, today=run.today, products=_PRODUCTS)
        run.seen.check_borrower(record)
        return record
    except RowError as exc:
        return Rejected(raw.row_no, ident, str(exc))


class _Outcome:
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass
class _ChunkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[Rejected] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    toward_archive: list[int] = field(default_factory=list)
    payments: int = 0
    grams: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _RowEffects:
    """What a row changed in the caches; applied only once its savepoint is released."""

    borrower: tuple[str, _BorrowerState] | None = None
    account: tuple[str, _AccountState] | None = None
    payment: tuple[str, _PaymentState] | None = None
    case: tuple[int, int] | None = None
    opened: int | None = None
    reopened: int | None = None
    toward_archive: int | None = None
    payment_applied: bool = False
    grams: tuple[int, str] | None = None  # (borrower id, name) to index at the chunk's end


def _phone_rows(
    borrower_id: int, numbers: Iterable[tuple[str, str]], now: dt.datetime
) -> list[dict[str, Any]]:
    return [
        {
            "borrower_id": borrower_id,
            "e164": e164,
            "digits_rev": reverse_digits(e164),
            "kind": PhoneKind.LANDLINE if kind == "landline" else PhoneKind.MOBILE,
            "relation": Relation.BORROWER,
            "holder_name": None,
            "verified": False,
            "do_not_call": False,
            "created_at": now,
        }
        for e164, kind in numbers
    ]


def _write_borrower(
    s: Session, run: _Run, rec: AccountRecord, known: _Known, fx: _RowEffects
) -> tuple[int, bool]:
    """The borrower's id, and whether anything about it was written."""
    b = rec.borrower
    values = (b.name, b.id_number, b.address, b.city, b.district, b.region_code)
    state = known.borrowers.get(b.external_id)
    conn = s.connection()
    if state is None:
        zone = b.timezone or "Asia/Shanghai"
        result = conn.execute(
            _INSERT_BORROWER,
            {
                "external_id": b.external_id,
                "name": b.name,
                "id_number": b.id_number,
                "id_rev": reverse_digits(b.id_number),
                "address": b.address,
                "city": b.city,
                "district": b.district,
                "region_code": b.region_code,
                "timezone": zone,
                "created_at": run.now,
            },
        )
        bid = _new_id(result)
        fx.grams = (bid, b.name)
        conn.execute(_INSERT_PHONE, _phone_rows(bid, ((p.e164, p.kind) for p in b.phones), run.now))
        fx.borrower = (b.external_id, _BorrowerState(bid, values, zone, {p.e164 for p in b.phones}))
        return bid, True
    changed = False
    zone = b.timezone or state.timezone
    if values != state.values or zone != state.timezone:
        conn.execute(
            _UPDATE_BORROWER,
            {
                "_id": state.id,
                "name": b.name,
                "id_number": b.id_number,
                "id_rev": reverse_digits(b.id_number),
                "address": b.address,
                "city": b.city,
                "district": b.district,
                "region_code": b.region_code,
                "timezone": zone,
            },
        )
        if b.name != state.values[0]:
            conn.execute(_DELETE_GRAMS, {"_id": state.id})
            fx.grams = (state.id, b.name)
        changed = True
    new_phones = [(p.e164, p.kind) for p in b.phones if p.e164 not in state.phones]
    if new_phones:
        conn.execute(_INSERT_PHONE, _phone_rows(state.id, new_phones, run.now))
        changed = True
    if changed:
        fx.borrower = (
            b.external_id,
            _BorrowerState(state.id, values, zone, state.phones | {e for e, _k in new_phones}),
        )
    return state.id, changed


def _priority(
    run: _Run,
    *,
    overdue_since: dt.date | None,
    overdue_minor: int,
    broken_promises: int,
    next_action_at: dt.datetime | None,
) -> tuple[int, int]:
    # The same rules as case_state.recompute_priority, on plain values (no ORM object).
    dpd = days_past_due(overdue_since, run.today)
    score = priority_score(
        dpd=dpd,
        overdue_minor=overdue_minor,
        broken_promises=broken_promises,
        next_action_due=next_action_at is not None and next_action_at <= run.now,
        weights=run.profile.priority,
    )
    return score.value, bucket_number(dpd, run.profile.dpd_bounds)


def _open_case(s: Session, run: _Run, borrower_id: int, rec: AccountRecord) -> int:
    next_action = default_next_action(run.now, run.profile)
    priority, bucket = _priority(
        run,
        overdue_since=rec.overdue_since,
        overdue_minor=rec.overdue_minor,
        broken_promises=0,
        next_action_at=next_action,
    )
    result = s.connection().execute(
        _INSERT_CASE,
        {
            "borrower_id": borrower_id,
            "status": CaseStatus.OPEN,
            "stage": Stage.NEW,
            "owner_id": None,
            "stale": False,
            "on_hold": False,
            "priority": priority,
            "dpd_bucket": bucket,
            "overdue_since": rec.overdue_since,
            "overdue_minor": rec.overdue_minor,
            "broken_promises": 0,
            "next_action_at": next_action,
            "registered": False,
            "documents_complete": False,
            "opened_at": run.now,
            "version": 1,
        },
    )
    return _new_id(result)


def _refresh_case(s: Session, run: _Run, case_id: int, fx: _RowEffects, *, reopen: bool) -> None:
    """Bring a case's arrears, stage, next action and priority in line with its accounts."""
    conn = s.connection()
    stmt = select(_CASE).where(_CASE.c.id == case_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    case = conn.execute(stmt).one()
    status = CaseStatus(case.status)
    if status is CaseStatus.CLOSED and not reopen:
        return  # archived: read-only; the account rows are kept up to date all the same
    accounts = conn.execute(_CASE_ACCOUNTS, {"_id": case_id}).all()
    overdue = [a for a in accounts if AccountStatus(a[0]) is AccountStatus.OVERDUE]
    overdue_minor = sum(a[1] for a in overdue)
    overdue_since = min((a[2] for a in overdue if a[2] is not None), default=None)
    stage = Stage(case.stage)
    next_action: dt.datetime | None = case.next_action_at
    values: dict[str, Any] = {}
    if reopen and status is CaseStatus.CLOSED:
        status = CaseStatus.OPEN
        stage = Stage.CONTACTING
        next_action = default_next_action(run.now, run.profile)
        values.update(status=status, closed_at=None, close_reason=None)
        fx.reopened = case_id
    if overdue:
        if stage is Stage.PAID:
            stage = Stage.CONTACTING
        if next_action is None:
            next_action = default_next_action(run.now, run.profile)
    else:
        # Nothing overdue any more: toward the archive, an operator decides.
        settled = all(
            AccountStatus(a[0]) is AccountStatus.SETTLED and int(a[3]) == 0 for a in accounts
        )
        if settled:
            stage = Stage.PAID
        if next_action is None or next_action > run.now:
            next_action = run.now
        fx.toward_archive = case_id
    priority, bucket = _priority(
        run,
        overdue_since=overdue_since,
        overdue_minor=overdue_minor,
        broken_promises=case.broken_promises,
        next_action_at=next_action,
    )
    values.update(
        overdue_minor=overdue_minor,
        overdue_since=overdue_since,
        stage=stage,
        next_action_at=next_action,
        priority=priority,
        dpd_bucket=bucket,
    )
    conn.execute(_UPDATE_CASE, {"_id": case_id, **values})


def _apply_account(
    s: Session, run: _Run, rec: AccountRecord, known: _Known, fx: _RowEffects
) -> str:
    existing = known.accounts.get(rec.external_id)
    borrower_id, borrower_changed = _write_borrower(s, run, rec, known, fx)
    if existing is not None and existing.borrower_id != borrower_id:
        raise RowError(
            _("account {id} belongs to another borrower than {other}").format(
                id=rec.external_id, other=rec.borrower.external_id
            )
        )
    values = _record_values(rec)
    if existing is not None and existing.values == values:
        return _Outcome.UPDATED if borrower_changed else _Outcome.UNCHANGED
    overdue = rec.status == AccountStatus.OVERDUE.value
    was_overdue = existing is not None and existing.values[1] == AccountStatus.OVERDUE.value
    case_id = existing.case_id if existing is not None else None
    newly_overdue = overdue and not was_overdue
    opened_here = False
    if newly_overdue:
        known_case = known.cases.get(borrower_id)
        if known_case is None:
            case_id = _open_case(s, run, borrower_id, rec)
            fx.case = (borrower_id, case_id)
            fx.opened = case_id
            opened_here = True
        else:
            case_id = known_case
    columns = {
        "product": Product(rec.product),
        "status": AccountStatus(rec.status),
        "currency": rec.currency,
        "principal_minor": rec.principal_minor,
        "outstanding_principal_minor": rec.outstanding_principal_minor,
        "outstanding_interest_minor": rec.outstanding_interest_minor,
        "outstanding_penalty_minor": rec.outstanding_penalty_minor,
        "outstanding_fees_minor": rec.outstanding_fees_minor,
        "overdue_minor": rec.overdue_minor,
        "annual_rate": rec.annual_rate,
        "opened_on": rec.opened_on,
        "overdue_since": rec.overdue_since,
        "case_id": case_id,
    }
    conn = s.connection()
    if existing is None:
        result = conn.execute(
            _INSERT_ACCOUNT,
            {"external_id": rec.external_id, "borrower_id": borrower_id, **columns},
        )
        account_id = _new_id(result)
    else:
        account_id = existing.id
        conn.execute(_UPDATE_ACCOUNT, {"_id": account_id, **columns})
    if case_id is not None and not opened_here:
        _refresh_case(s, run, case_id, fx, reopen=newly_overdue)
    fx.account = (rec.external_id, _AccountState(account_id, borrower_id, case_id, values))
    return _Outcome.CREATED if existing is None else _Outcome.UPDATED


def _load_case_for_payment(s: Session, case_id: int) -> CollectionCase:
    stmt = (
        select(CollectionCase)
        .where(CollectionCase.id == case_id)
        .execution_options(populate_existing=True)
    )
    if s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return s.scalars(stmt).one()


def _apply_payment(
    s: Session, run: _Run, rec: PaymentRecord, known: _Known, fx: _RowEffects
) -> str:
    account = known.accounts.get(rec.account_external_id)
    if account is None:
        raise RowError(_("unknown account {id}").format(id=rec.account_external_id))
    if account.case_id is None:
        raise RowError(
            _("account {id} is not in collection (it was never overdue)").format(
                id=rec.account_external_id
            )
        )
    values = (account.id, rec.amount_minor, rec.paid_on, rec.channel, rec.reference)
    existing = known.payments.get(rec.external_id)
    if existing is not None:
        if existing.values == values:
            return _Outcome.UNCHANGED
        if existing.account_id != account.id:
            raise RowError(
                _("payment {id} was booked on another account; it cannot move").format(
                    id=rec.external_id
                )
            )
    case = _load_case_for_payment(s, account.case_id)
    if case.status is CaseStatus.CLOSED:
        raise RowError(_("case {id} is archived").format(id=case.id))
    if existing is None:
        payment = Payment(
            external_id=rec.external_id,
            case_id=case.id,
            account_id=account.id,
            amount_minor=rec.amount_minor,
            paid_on=rec.paid_on,
            channel=PaymentChannel(rec.channel),
            reference=rec.reference,
            recorded_by_id=run.actor.id if run.actor else None,
            recorded_at=run.now,
        )
        s.add(payment)
    else:
        found = s.get(Payment, existing.id)
        assert found is not None
        payment = found
        payment.amount_minor = rec.amount_minor
        payment.paid_on = rec.paid_on
        payment.channel = PaymentChannel(rec.channel)
        payment.reference = rec.reference
    s.flush()
    # As a payment recorded at the desk: promises, the active plan (and door money) follow.
    reevaluate_promises(s, case, now=run.now, profile=run.profile, break_overdue=False)
    ledger.recompute(s, case, run.now, run.profile)
    ensure_next_action(case, run.now, run.profile)
    recompute_priority(case, run.now, run.profile)
    s.flush()
    fx.payment = (rec.external_id, _PaymentState(payment.id, account.id, values))
    fx.payment_applied = True
    return _Outcome.CREATED if existing is None else _Outcome.UPDATED


def _commit_effects(known: _Known, fx: _RowEffects, out: _ChunkResult) -> None:
    if fx.grams:
        bid, name = fx.grams
        out.grams.extend({"gram": g, "borrower_id": bid} for g in sorted(name_grams(name)))
    if fx.borrower:
        known.borrowers[fx.borrower[0]] = fx.borrower[1]
    if fx.account:
        known.accounts[fx.account[0]] = fx.account[1]
    if fx.payment:
        known.payments[fx.payment[0]] = fx.payment[1]
    if fx.case:
        known.cases[fx.case[0]] = fx.case[1]
    if fx.opened is not None:
        out.opened.append(fx.opened)
    if fx.reopened is not None:
        out.reopened.append(fx.reopened)
    if fx.toward_archive is not None:
        out.toward_archive.append(fx.toward_archive)
    if fx.payment_applied:
        out.payments += 1


@contextlib.contextmanager
def _savepoint(s: Session, name: str = "import_row") -> Iterator[None]:
    conn = s.connection()
    conn.exec_driver_sql(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {name}")
        conn.exec_driver_sql(f"RELEASE SAVEPOINT {name}")
        raise
    conn.exec_driver_sql(f"RELEASE SAVEPOINT {name}")


def _insert_new_rows(
    s: Session, run: _Run, accounts: list[AccountRecord], known: _Known, out: _ChunkResult
) -> set[AccountRecord]:
    """New accounts of new borrowers, written together: a few multi-row statements.

    The rows are already checked, so such a batch practically never fails; when it
    does, its savepoint is rolled back and the caller writes the same rows one by one,
    each in its own savepoint (so a failing row still leaves nothing behind).
    Returns the rows written here.
    """
    groups: dict[str, list[AccountRecord]] = {}
    for rec in accounts:
        if rec.external_id in known.accounts or rec.borrower.external_id in known.borrowers:
            continue
        groups.setdefault(rec.borrower.external_id, []).append(rec)
    if not groups:
        return set()
    conn = s.connection()
    firsts = [recs[0].borrower for recs in groups.values()]
    try:
        with _savepoint(s, "import_new_rows"):
            ids = list(
                conn.execute(
                    _INSERT_BORROWER.returning(_BORROWER.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "external_id": b.external_id,
                            "name": b.name,
                            "id_number": b.id_number,
                            "id_rev": reverse_digits(b.id_number),
                            "address": b.address,
                            "city": b.city,
                            "district": b.district,
                            "region_code": b.region_code,
                            "timezone": b.timezone or "Asia/Shanghai",
                            "created_at": run.now,
                        }
                        for b in firsts
                    ],
                ).scalars()
            )
            phones: list[dict[str, Any]] = []
            cases: list[dict[str, Any]] = []
            case_owner: list[int] = []
            next_action = default_next_action(run.now, run.profile)
            for bid, recs in zip(ids, groups.values(), strict=True):
                b = recs[0].borrower
                phones += _phone_rows(bid, ((p.e164, p.kind) for p in b.phones), run.now)
                overdue = [r for r in recs if r.status == AccountStatus.OVERDUE.value]
                if overdue:
                    since = min(r.overdue_since for r in overdue if r.overdue_since is not None)
                    amount = sum(r.overdue_minor for r in overdue)
                    priority, bucket = _priority(
                        run,
                        overdue_since=since,
                        overdue_minor=amount,
                        broken_promises=0,
                        next_action_at=next_action,
                    )
                    cases.append(
                        {
                            "borrower_id": bid,
                            "status": CaseStatus.OPEN,
                            "stage": Stage.NEW,
                            "owner_id": None,
                            "stale": False,
                            "on_hold": False,
                            "priority": priority,
                            "dpd_bucket": bucket,
                            "overdue_since": since,
                            "overdue_minor": amount,
                            "broken_promises": 0,
                            "next_action_at": next_action,
                            "registered": False,
                            "documents_complete": False,
                            "opened_at": run.now,
                            "version": 1,
                        }
                    )
                    case_owner.append(bid)
            conn.execute(_INSERT_PHONE, phones)
            case_ids: dict[int, int] = {}
            if cases:
                new_cases = conn.execute(
                    _INSERT_CASE.returning(_CASE.c.id, sort_by_parameter_order=True), cases
                ).scalars()
                case_ids = dict(zip(case_owner, new_cases, strict=True))
            rows: list[dict[str, Any]] = []
            for bid, recs in zip(ids, groups.values(), strict=True):
                for rec in recs:
                    overdue_account = rec.status == AccountStatus.OVERDUE.value
                    rows.append(
                        {
                            "external_id": rec.external_id,
                            "borrower_id": bid,
                            "case_id": case_ids[bid] if overdue_account else None,
                            "product": Product(rec.product),
                            "status": AccountStatus(rec.status),
                            "currency": rec.currency,
                            "principal_minor": rec.principal_minor,
                            "outstanding_principal_minor": rec.outstanding_principal_minor,
                            "outstanding_interest_minor": rec.outstanding_interest_minor,
                            "outstanding_penalty_minor": rec.outstanding_penalty_minor,
                            "outstanding_fees_minor": rec.outstanding_fees_minor,
                            "overdue_minor": rec.overdue_minor,
                            "annual_rate": rec.annual_rate,
                            "opened_on": rec.opened_on,
                            "overdue_since": rec.overdue_since,
                        }
                    )
            account_ids = list(
                conn.execute(
                    _INSERT_ACCOUNT.returning(_ACCOUNT.c.id, sort_by_parameter_order=True), rows
                ).scalars()
            )
    except SQLAlchemyError:
        return set()  # written row by row instead, where the failing row is found
    written: set[AccountRecord] = set()
    position = 0
    for bid, recs in zip(ids, groups.values(), strict=True):
        b = recs[0].borrower
        known.borrowers[b.external_id] = _BorrowerState(
            bid,
            (b.name, b.id_number, b.address, b.city, b.district, b.region_code),
            b.timezone or "Asia/Shanghai",
            {p.e164 for p in b.phones},
        )
        out.grams.extend({"gram": g, "borrower_id": bid} for g in sorted(name_grams(b.name)))
        case_id = case_ids.get(bid)
        if case_id is not None:
            known.cases[bid] = case_id
            out.opened.append(case_id)
        for rec in recs:
            overdue_account = rec.status == AccountStatus.OVERDUE.value
            known.accounts[rec.external_id] = _AccountState(
                account_ids[position],
                bid,
                case_id if overdue_account else None,
                _record_values(rec),
            )
            position += 1
            written.add(rec)
    out.created += len(written)
    return written


def _write_chunk(
    run: _Run, records: list[AccountRecord | PaymentRecord | Rejected]
) -> tuple[_ChunkResult, float, list[AccountRecord | PaymentRecord | Rejected]]:
    """Write the rows in one transaction; returns what it did, its duration and the rows
    it left for the next transaction (when it ran past ``TRANSACTION_SECONDS``)."""
    out = _ChunkResult()
    left: list[AccountRecord | PaymentRecord | Rejected] = []
    accounts = [r for r in records if isinstance(r, AccountRecord)]
    payments = [r for r in records if isinstance(r, PaymentRecord)]
    started = time.perf_counter()
    with run.db.write() as s:
        known = _load_known(s, accounts, payments)
        fast = _insert_new_rows(s, run, accounts, known, out)
        deadline = started + TRANSACTION_SECONDS
        handled = 0
        for position, rec in enumerate(records):
            if rec in fast:
                continue
            # At least one row per transaction, so that a slow start cannot loop forever.
            handled += 1
            if handled > 1 and time.perf_counter() > deadline:
                # Long enough under the lock (payments cost a few ms each): commit, let
                # the desks save, and go on in a new transaction.
                left = [r for r in records[position:] if r not in fast]
                break
            if isinstance(rec, Rejected):
                out.rejections.append(rec)
                continue
            fx = _RowEffects()
            try:
                if isinstance(rec, AccountRecord):
                    # Core statements only: a plain SQL savepoint is all the row needs
                    # (and a third of the price of the ORM's, which counts at 100k rows).
                    with _savepoint(s):
                        outcome = _apply_account(s, run, rec, known, fx)
                else:
                    with s.begin_nested():
                        outcome = _apply_payment(s, run, rec, known, fx)
            except RowError as exc:
                out.rejections.append(Rejected(rec.row_no, rec.external_id, str(exc)))
                continue
            except (SQLAlchemyError, ServiceError) as exc:
                reason = _("the database refused the row: {error}").format(
                    error=str(getattr(exc, "orig", None) or exc).splitlines()[0]
                )
                out.rejections.append(Rejected(rec.row_no, rec.external_id, reason[:300]))
                continue
            _commit_effects(known, fx, out)
            if outcome == _Outcome.CREATED:
                out.created += 1
            elif outcome == _Outcome.UPDATED:
                out.updated += 1
            else:
                out.unchanged += 1
            if fx.payment_applied:
                # The ledger's objects are not needed by the next row; keep the session light.
                s.expunge_all()
        if out.grams:
            # Search side data of the rows that went in (a failed row added none).
            s.connection().execute(_INSERT_GRAM, out.grams)
        if out.rejections:
            s.execute(
                insert(ImportRejection),
                [
                    {
                        "batch_id": run.summary.batch_id,
                        "row_no": r.row_no,
                        "external_id": r.external_id,
                        "reason": r.reason[:300],
                    }
                    for r in out.rejections
                ],
            )
        s.execute(
            update(ImportBatch)
            .where(ImportBatch.id == run.summary.batch_id)
            .values(
                created=ImportBatch.created + out.created,
                updated=ImportBatch.updated + out.updated,
                unchanged=ImportBatch.unchanged + out.unchanged,
                rejected=ImportBatch.rejected + len(out.rejections),
            )
        )
    return out, time.perf_counter() - started, left


def unmatched_door_collections(
    db: Database, limit: int = LIST_LIMIT
) -> tuple[list[DoorCollection], int]:
    """Door money no bank payment has matched yet, oldest first (and how many in all)."""
    where = (VisitReport.collected_minor > 0, VisitReport.reconciled_payment_id.is_(None))
    with db.read() as s:
        total = int(s.scalar(select(func.count()).select_from(VisitReport).where(*where)) or 0)
        rows = s.execute(
            select(
                VisitReport.id,
                VisitReport.case_id,
                VisitReport.collected_minor,
                VisitReport.created_at,
                VisitReport.receipt_no,
            )
            .where(*where)
            .order_by(VisitReport.created_at, VisitReport.id)
            .limit(limit)
        ).all()
    return [DoorCollection(*row) for row in rows], total


def _finish(run: _Run, started: float) -> None:
    summary = run.summary
    summary.unmatched_door, summary.unmatched_door_total = unmatched_door_collections(run.db)
    summary.elapsed_seconds = time.perf_counter() - started
    with run.db.write() as s:
        batch = s.get(ImportBatch, summary.batch_id)
        assert batch is not None
        batch.finished_at = run.now + dt.timedelta(seconds=summary.elapsed_seconds)
        text = (
            f"import from {summary.source}: {summary.created} created, {summary.updated} "
            f"updated, {summary.unchanged} unchanged, {summary.rejected} rejected"
        )
        if summary.error:
            text += f"; stopped: {summary.error}"
        audit.record(
            s,
            run.actor,
            "import.batch",
            "import_batch",
            summary.batch_id,
            text,
            now=run.now,
            after={
                "source": summary.source,
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "rejected": summary.rejected,
                "payments_applied": summary.payments_applied,
                "error": summary.error,
                "rejections": [
                    {"row": r.row_no, "id": r.external_id, "reason": r.reason}
                    for r in summary.rejections
                ],
                "cases_opened": summary.cases_opened[:LIST_LIMIT],
                "cases_opened_count": len(summary.cases_opened),
                "cases_reopened": summary.cases_reopened[:LIST_LIMIT],
                "cases_toward_archive": summary.cases_toward_archive[:LIST_LIMIT],
                "cases_toward_archive_count": len(summary.cases_toward_archive),
                "unmatched_door_total": summary.unmatched_door_total,
                "unmatched_door": [
                    {"report_id": d.report_id, "case_id": d.case_id, "amount_minor": d.amount_minor}
                    for d in summary.unmatched_door
                ],
            },
        )


def run_import(
    db: Database,
    source: str,
    chunks: Iterable[Chunk],
    *,
    actor: Actor | None = None,
    started_by: str | None = None,
    now: dt.datetime | None = None,
    profile: Profile | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import the rows ``chunks`` yields as one batch; see the module docstring.

    Raises ``ImportFailed`` (with the summary of what went in) when the source breaks.
    """
    now = resolve_now(now)
    prof = resolve_profile(profile)
    started = time.perf_counter()
    with db.write() as s:
        batch = ImportBatch(
            source=source[:300],
            started_at=now,
            created=0,
            updated=0,
            unchanged=0,
            rejected=0,
            started_by=(started_by or (actor.login if actor else None)),
        )
        s.add(batch)
        s.flush()
        batch_id = batch.id
    summary = ImportSummary(batch_id=batch_id, source=source)
    run = _Run(db, actor, now, prof, office_today(now, prof), summary)
    done = 0
    try:
        for chunk in chunks:
            if len(chunk.rows) > MAX_BATCH_SIZE:
                raise ValueError("a chunk holds at most 1,000 rows")
            # Checked before the transaction: the lock is held only for the writes.
            records = [_check(run, raw) for raw in chunk.rows]
            while records:
                out, seconds, records = _write_chunk(run, records)
                summary.commit_seconds.append(seconds)
                summary.created += out.created
                summary.updated += out.updated
                summary.unchanged += out.unchanged
                summary.rejected += len(out.rejections)
                summary.payments_applied += out.payments
                room = LIST_LIMIT - len(summary.rejections)
                summary.rejections.extend(out.rejections[: max(0, room)])
                summary.cases_opened.extend(out.opened)
                summary.cases_reopened.extend(out.reopened)
                summary.cases_toward_archive.extend(out.toward_archive)
            done += len(chunk.rows)
            if progress is not None:
                progress(done, chunk.total)
    except SourceError as exc:
        summary.error = str(exc)
    _finish(run, started)
    if summary.error:
        raise ImportFailed(summary.error, summary)
    return summary


def _check_batch_size(batch_size: int) -> None:
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ServiceError(_("the batch size is between 1 and {n} rows").format(n=MAX_BATCH_SIZE))


def import_csv(
    db: Database,
    path: Path,
    *,
    actor: Actor | None = None,
    started_by: str | None = None,
    now: dt.datetime | None = None,
    profile: Profile | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import one CSV file (accounts or payments, by its header) as one batch."""
    _check_batch_size(batch_size)
    return run_import(
        db,
        f"csv:{path}",
        csv_chunks(path, batch_size),
        actor=actor,
        started_by=started_by,
        now=now,
        profile=profile,
        progress=progress,
    )


def import_url(
    db: Database,
    url: str,
    *,
    actor: Actor | None = None,
    started_by: str | None = None,
    now: dt.datetime | None = None,
    profile: Profile | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
    timeout: float = HTTP_TIMEOUT,
    retries: int = HTTP_RETRIES,
    backoff: float = 0.5,
) -> ImportSummary:
    """Import a paginated JSON feed (accounts and payments mixed) as one batch."""
    _check_batch_size(batch_size)
    if not url.startswith(("http://", "https://")):
        raise ServiceError(_("not an http(s) URL: {url}").format(url=url))
    return run_import(
        db,
        url,
        url_chunks(
            url, batch_size, client=client, timeout=timeout, retries=retries, backoff=backoff
        ),
        actor=actor,
        started_by=started_by,
        now=now,
        profile=profile,
        progress=progress,
    )
