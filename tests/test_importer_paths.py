"""The import's fast paths store what its plain path stores (both engines): new rows through
the driver's multi-row writes against every row on its own, a refused multi-row write
written again row by row; and what an import sets up around itself on SQLite and in the
collector is given back."""

from __future__ import annotations

import functools
import gc
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, select

from tests.conftest import _pg_admin, _pg_dsn, make_sqlite_db
from tests.test_importer import PAID_OFF, account, accounts_csv, run_csv
from tui_desk.collector import IMPORT_THRESHOLD, paced_for_import
from tui_desk.db.engine import Database, open_database
from tui_desk.services import importer
from tui_desk.services.importer import batch, runner
from tui_desk.services.importer.bulk import BulkWriter
from tui_desk.services.importer.tables import ACCOUNT, BORROWER, CASE, GRAM, PHONE
from tui_desk.services.importer.walcopy import AUTOCHECKPOINT_PAGES


@pytest.fixture
def twin(db: Database, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A second fresh database on the same engine as ``db``."""
    if db.is_sqlite:
        other = make_sqlite_db(request.getfixturevalue("sqlite_template"), tmp_path)
        yield other
        other.dispose()
        return
    template = request.getfixturevalue("pg_template")
    name = f"tdt_{uuid.uuid4().hex[:12]}"
    _pg_admin(f"CREATE DATABASE {name} TEMPLATE {template}")
    other = open_database(_pg_dsn(name))
    yield other
    other.dispose()
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _rows(db: Database, table: Table, *skip: str) -> list[dict[str, Any]]:
    with db.read() as s:
        return [
            {k: v for k, v in row._mapping.items() if k not in skip}
            for row in s.execute(select(table))
        ]


def stored(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the import writes, with the rows' own ids replaced by external ids (the
    two paths may number them in another order), and cases without their version."""
    borrowers = {r["id"]: r["external_id"] for r in _rows(db, BORROWER)}
    cases = {r["id"]: borrowers[r["borrower_id"]] for r in _rows(db, CASE)}

    def plain(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(sorted((k, str(v)) for k, v in row.items()))

    return {
        "borrowers": sorted(plain(r) for r in _rows(db, BORROWER, "id")),
        "phones": sorted(
            plain({**r, "borrower_id": borrowers[r["borrower_id"]]}) for r in _rows(db, PHONE, "id")
        ),
        # A case's version counts its writes: one row at a time, a borrower's second
        # overdue account updates the case its first one opened; the driver writes it once.
        "cases": sorted(
            plain({**r, "borrower_id": borrowers[r["borrower_id"]]})
            for r in _rows(db, CASE, "id", "version")
        ),
        "accounts": sorted(
            plain(
                {
                    **r,
                    "borrower_id": borrowers[r["borrower_id"]],
                    "case_id": cases.get(r["case_id"]),
                }
            )
            for r in _rows(db, ACCOUNT, "id")
        ),
        "grams": sorted((r["gram"], borrowers[r["borrower_id"]]) for r in _rows(db, GRAM)),
    }


def outcome(summary: importer.ImportSummary) -> tuple[Any, ...]:
    return (
        summary.created,
        summary.updated,
        summary.unchanged,
        [(r.row_no, r.external_id, r.reason) for r in summary.rejections],
        len(summary.cases_opened),
        len(summary.cases_reopened),
        len(summary.cases_toward_archive),
    )


FIRST = [
    account(1, phone2="010-6512 3456"),
    account(2, borrower=1, phone2="010-6512 3456"),  # a second account of borrower 1
    account(3, status="current", overdue_since="", overdue_amount=""),
    account(4, borrower=3),  # borrower 3: current, then overdue, one case
    account(5, phone="12345"),  # refused
    account(6, borrower=9),
    account(7, borrower=8, status="current", overdue_since="", overdue_amount=""),
    account(8, borrower=9, overdue_since="2025-12-01"),  # borrower 9 again, rows apart
    account(9, borrower=10, name="欧阳明"),
    account(6, borrower=11),  # the same account id twice: refused
]
MOVED = {"address": "北京市海淀区学院路1号", "phone2": "13900000009"}
LATER = [
    {**account(1), **MOVED},  # borrower changed
    {**account(2, borrower=1, status="settled"), **MOVED, **PAID_OFF},
    account(7, borrower=8),  # becomes overdue: a case for borrower 8
    account(10, borrower=8),  # a new account of a known borrower
    account(11),  # new borrower
    account(12, borrower=12),
    account(13, borrower=12, status="current", overdue_since="", overdue_amount=""),
    account(9, borrower=10, name="欧阳明"),  # unchanged
]


def _import_both(db: Database, path: Path, batch_size: int = 4) -> importer.ImportSummary:
    return run_csv(db, path, batch_size=batch_size, parallel=False)


def test_driver_writes_store_what_row_by_row_writes_store(
    db: Database, twin: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = accounts_csv(tmp_path / "a.csv", FIRST)
    later = accounts_csv(tmp_path / "b.csv", LATER)
    fast = [_import_both(db, first), _import_both(db, later)]
    monkeypatch.setattr(runner, "write_chunk", functools.partial(batch.write_chunk, bulk=False))
    plain = [_import_both(twin, first), _import_both(twin, later)]
    assert [outcome(s) for s in fast] == [outcome(s) for s in plain]
    assert fast[0].created == 8 and fast[0].rejected == 2
    assert stored(db) == stored(twin)
    assert fast[1].rejections == [], fast[1].rejections
    again = _import_both(twin, later)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(LATER))


def test_a_refused_driver_write_is_rolled_back_and_the_rows_go_in_one_by_one(
    db: Database, twin: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = accounts_csv(tmp_path / "a.csv", FIRST)
    plain = _import_both(twin, first, batch_size=20)
    refused: list[int] = []
    insert = BulkWriter.insert

    def refuse_accounts(self: BulkWriter, table: Table, rows: Any) -> None:
        if table is ACCOUNT:
            # The borrowers, phones and cases of these rows are written by now.
            refused.append(len(rows))
            raise self.errors("refused")
        insert(self, table, rows)

    monkeypatch.setattr(BulkWriter, "insert", refuse_accounts)
    summary = _import_both(db, first, batch_size=20)
    assert refused == [8]
    assert outcome(summary) == outcome(plain)
    assert stored(db) == stored(twin)


def test_an_sqlite_import_copies_its_log_and_gives_its_connection_back(
    sqlite_db: Database, tmp_path: Path
) -> None:
    db = sqlite_db
    rows = [account(n) for n in range(1, 41)]
    summary = run_csv(db, accounts_csv(tmp_path / "a.csv", rows), batch_size=10)
    assert summary.created == 40
    assert not [t for t in threading.enumerate() if t.name == "import-walcopy"]
    with db.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        busy, log, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    assert pages == AUTOCHECKPOINT_PAGES  # the pool's connection checkpoints by itself again
    assert busy == 0 and log == copied


def test_the_collector_is_given_back_after_an_import() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    with paced_for_import():
        assert gc.get_threshold() == IMPORT_THRESHOLD
        assert gc.get_freeze_count() >= frozen
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
