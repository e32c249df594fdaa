"""The batch writer: a chunk's rows in one transaction, each row in its own savepoint."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from tui_desk.db.models import (
    AccountStatus,
    CaseStatus,
    ImportBatch,
    ImportRejection,
    Stage,
)
from tui_desk.i18n import _
from tui_desk.rules.imports import AccountRecord, PaymentRecord, Rejected, RowError
from tui_desk.rules.search import name_grams, reverse_digits
from tui_desk.services.contacts import default_next_action
from tui_desk.services.errors import ServiceError
from tui_desk.services.importer.bulk import BulkWriter
from tui_desk.services.importer.checking import Run
from tui_desk.services.importer.known import (
    AccountState,
    BorrowerState,
    Known,
    load_known,
    record_values,
)
from tui_desk.services.importer.rows import (
    ChunkResult,
    Outcome,
    RowEffects,
    account_columns,
    apply_account,
    apply_payment,
    case_priority,
    commit_effects,
    phone_rows,
)
from tui_desk.services.importer.tables import ACCOUNT, BORROWER, CASE, GRAM, PHONE

# A transaction also ends once it has held the write lock this long (and the rest of
# its rows go into the next one): a desk's save never waits much longer than this.
TRANSACTION_SECONDS = 0.25
# SQLite's page cache on the import's connections (the default is 2 MiB): a new case
# goes into a dozen queue indexes at random places, and past ~50,000 cases they no
# longer fit, so every insert would read pages back (measured at 100,000 accounts: the
# case rows 52 instead of 71 us each). Memory only as pages are used; the import runs in
# a process of its own (``tui-desk import``).
SQLITE_CACHE_KIB = 65_536


def _sqlite_cache(s: Session) -> None:
    conn = s.connection()
    if conn.dialect.name != "sqlite":
        return
    info = conn.connection.info
    if not info.get("import_cache"):
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        info["import_cache"] = True


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


class _BulkRefused(Exception):
    """The driver refused a multi-row write: the transaction is rolled back and the chunk
    is written again, row by row."""


def _insert_new_rows(
    s: Session, run: Run, accounts: list[AccountRecord], known: Known, out: ChunkResult
) -> set[int]:
    """New accounts of new borrowers, written together: a few multi-row statements.

    The rows are already checked, so such a batch practically never fails; when it
    does, ``_BulkRefused`` rolls the whole transaction back (these statements are its
    first writes) and the caller writes the same rows one by one, each in its own
    savepoint (so a failing row still leaves nothing behind). No savepoint of their own:
    SQLite would copy every page they touch into its statement journal first, and at
    100,000 accounts a chunk's new rows touch some 2,800 pages of the random-key indexes
    (the queues' priorities, reversed phone and ID digits).
    Returns the ``id()`` of each row written here (records are frozen dataclasses whose
    hash walks every field, the borrower's included: the rows' identities are cheaper).
    """
    groups: dict[str, list[AccountRecord]] = {}
    for rec in accounts:
        if rec.external_id in known.accounts or rec.borrower.external_id in known.borrowers:
            continue
        groups.setdefault(rec.borrower.external_id, []).append(rec)
    if not groups:
        return set()
    bulk = BulkWriter(s.connection())
    firsts = [recs[0].borrower for recs in groups.values()]
    try:
        ids = bulk.new_ids(BORROWER, len(firsts))
        bulk.insert(
            BORROWER,
            [
                {
                    "id": bid,
                    "external_id": b.external_id,
                    "name": b.name,
                    "id_number": b.id_number,
                    "id_rev": reverse_digits(b.id_number),
                    "address": b.address,
                    "city": b.city,
                    "district": b.district,
                    "region_code": b.region_code,
                    "timezone": b.zone_for_new,
                    "created_at": run.now,
                }
                for bid, b in zip(ids, firsts, strict=True)
            ],
        )
        phones: list[dict[str, Any]] = []
        cases: list[dict[str, Any]] = []
        case_owner: list[int] = []
        next_action = default_next_action(run.now, run.profile)
        for bid, recs in zip(ids, groups.values(), strict=True):
            b = recs[0].borrower
            phones += phone_rows(bid, ((p.e164, p.kind) for p in b.phones), run.now)
            overdue = [r for r in recs if r.status == AccountStatus.OVERDUE.value]
            if overdue:
                since = min(r.overdue_since for r in overdue if r.overdue_since is not None)
                amount = sum(r.overdue_minor for r in overdue)
                priority, bucket = case_priority(
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
        bulk.insert(PHONE, phones)
        new_cases = bulk.new_ids(CASE, len(cases))
        for new_id, row in zip(new_cases, cases, strict=True):
            row["id"] = new_id
        bulk.insert(CASE, cases)
        case_ids = dict(zip(case_owner, new_cases, strict=True))
        rows: list[dict[str, Any]] = []
        for bid, recs in zip(ids, groups.values(), strict=True):
            for rec in recs:
                overdue_account = rec.status == AccountStatus.OVERDUE.value
                row = account_columns(rec, case_ids[bid] if overdue_account else None)
                row["external_id"] = rec.external_id
                row["borrower_id"] = bid
                rows.append(row)
        account_ids = bulk.new_ids(ACCOUNT, len(rows))
        for account_id, row in zip(account_ids, rows, strict=True):
            row["id"] = account_id
        bulk.insert(ACCOUNT, rows)
    except (SQLAlchemyError, bulk.errors) as exc:
        raise _BulkRefused from exc  # written row by row instead, where the failing row is found
    written: set[int] = set()
    position = 0
    for bid, recs in zip(ids, groups.values(), strict=True):
        b = recs[0].borrower
        known.borrowers[b.external_id] = BorrowerState(
            bid,
            (b.name, b.id_number, b.address, b.city, b.district, b.region_code),
            b.zone_for_new,
            {p.e164 for p in b.phones},
        )
        out.grams.extend({"gram": g, "borrower_id": bid} for g in sorted(name_grams(b.name)))
        case_id = case_ids.get(bid)
        if case_id is not None:
            known.cases[bid] = case_id
            out.opened.append(case_id)
        for rec in recs:
            overdue_account = rec.status == AccountStatus.OVERDUE.value
            known.accounts[rec.external_id] = AccountState(
                account_ids[position],
                bid,
                case_id if overdue_account else None,
                record_values(rec),
            )
            position += 1
            written.add(id(rec))
    out.created += len(written)
    return written


def write_chunk(
    run: Run, records: list[AccountRecord | PaymentRecord | Rejected], *, bulk: bool = True
) -> tuple[ChunkResult, float, list[AccountRecord | PaymentRecord | Rejected]]:
    """Write the rows in one transaction; returns what it did, its duration and the rows
    it left for the next transaction (when it ran past ``TRANSACTION_SECONDS``).

    ``bulk``: new accounts of new borrowers go in through the driver's multi-row writes
    first; should those fail, the transaction is rolled back and the chunk is written
    again with ``bulk`` False (every row on its own, as any other row).
    """
    try:
        return _write_chunk(run, records, bulk=bulk)
    except _BulkRefused:
        return _write_chunk(run, records, bulk=False)


def _write_chunk(
    run: Run, records: list[AccountRecord | PaymentRecord | Rejected], *, bulk: bool
) -> tuple[ChunkResult, float, list[AccountRecord | PaymentRecord | Rejected]]:
    out = ChunkResult()
    left: list[AccountRecord | PaymentRecord | Rejected] = []
    accounts = [r for r in records if isinstance(r, AccountRecord)]
    payments = [r for r in records if isinstance(r, PaymentRecord)]
    started = time.perf_counter()
    with run.db.write() as s:
        _sqlite_cache(s)
        if run.walcopy is not None:
            run.walcopy.hand_over(s.connection())
        known = load_known(s, accounts, payments)
        fast = _insert_new_rows(s, run, accounts, known, out) if bulk else set()
        deadline = started + TRANSACTION_SECONDS
        handled = 0
        for position, rec in enumerate(records):
            if id(rec) in fast:
                continue
            # At least one row per transaction, so that a slow start cannot loop forever.
            handled += 1
            if handled > 1 and time.perf_counter() > deadline:
                # Long enough under the lock (payments cost a few ms each): commit, let
                # the desks save, and go on in a new transaction.
                left = [r for r in records[position:] if id(r) not in fast]
                break
            if isinstance(rec, Rejected):
                out.rejections.append(rec)
                continue
            fx = RowEffects()
            try:
                if isinstance(rec, AccountRecord):
                    # Core statements only: a plain SQL savepoint is all the row needs
                    # (and a third of the price of the ORM's, which counts at 100k rows).
                    with _savepoint(s):
                        outcome = apply_account(s, run, rec, known, fx)
                else:
                    with s.begin_nested():
                        outcome = apply_payment(s, run, rec, known, fx)
            except RowError as exc:
                out.rejections.append(Rejected(rec.row_no, rec.external_id, str(exc)))
                continue
            except (SQLAlchemyError, ServiceError) as exc:
                reason = _("the database refused the row: {error}").format(
                    error=str(getattr(exc, "orig", None) or exc).splitlines()[0]
                )
                out.rejections.append(Rejected(rec.row_no, rec.external_id, reason[:300]))
                continue
            commit_effects(known, fx, out)
            if outcome == Outcome.CREATED:
                out.created += 1
            elif outcome == Outcome.UPDATED:
                out.updated += 1
            else:
                out.unchanged += 1
            if fx.payment_applied:
                # The ledger's objects are not needed by the next row; keep the session light.
                s.expunge_all()
        if out.grams:
            # Search side data of the rows that went in (a failed row added none), in
            # key order: the table is its primary key's b-tree, so sorted rows land on
            # neighbouring pages.
            out.grams.sort(key=itemgetter("gram", "borrower_id"))
            BulkWriter(s.connection()).insert(GRAM, out.grams)
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
    seconds = time.perf_counter() - started
    if run.walcopy is not None:
        run.walcopy.nudge()
    return out, seconds, left
