"""Importing from the loan system (both engines): CSV and a paginated JSON feed over real
HTTP, idempotency, updates, bad rows, payments through the ledger, a desk saving meanwhile."""

from __future__ import annotations

import csv
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.factories import Factory, cn_id_number
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    AuditEvent,
    Borrower,
    BorrowerNameGram,
    CaseStatus,
    CollectionCase,
    ImportBatch,
    ImportRejection,
    LoanAccount,
    Payment,
    Phone,
    PhoneKind,
    PromiseStatus,
    PromiseToPay,
    Relation,
    Role,
    Stage,
    VisitOutcome,
    VisitReport,
)
from tui_desk.rules.profile import load_profile
from tui_desk.services import importer, promises
from tui_desk.services.context import Actor, Context
from tui_desk.services.importer.bulk import BulkWriter
from tui_desk.services.importer.tables import PHONE

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 10, 14, 0, tzinfo=SH).astimezone(dt.UTC)
CN = load_profile("cn")
ACCOUNT_COLUMNS = (
    "account_id", "borrower_id", "name", "id_number", "address", "city", "district",
    "region_code", "phone", "phone2", "product", "status", "principal",
    "outstanding_principal", "outstanding_interest", "outstanding_penalty",
    "outstanding_fees", "overdue_amount", "annual_rate", "opened_on", "overdue_since",
)  # fmt: skip


def account(n: int, borrower: int | None = None, **over: str) -> dict[str, str]:
    b = borrower if borrower is not None else n
    row = {
        "account_id": f"LN{n:05d}",
        "borrower_id": f"C{b:05d}",
        "name": ("张伟", "李娜", "王芳", "欧阳明")[b % 4],
        "id_number": cn_id_number("110105", dt.date(1980, 1, 1) + dt.timedelta(days=b), b),
        "address": f"北京市朝阳区建国路{b}号",
        "city": "北京市",
        "district": "朝阳区",
        "region_code": "110105",
        "phone": f"138{b:08d}",
        "phone2": "",
        "product": "consumer_loan",
        "status": "overdue",
        "principal": "50000.00",
        "outstanding_principal": "10000.00",
        "outstanding_interest": "2000.00",
        "outstanding_penalty": "300.00",
        "outstanding_fees": "45.67",
        "overdue_amount": "3000.00",
        "annual_rate": "0.1200",
        "opened_on": "2024-01-05",
        "overdue_since": "2026-01-20",
    }
    row.update(over)
    return row


PAID_OFF = dict.fromkeys(
    ("outstanding_principal", "outstanding_interest", "outstanding_penalty", "outstanding_fees"),
    "0",
)


def write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=list(columns))
        out.writeheader()
        out.writerows(rows)
    return path


def accounts_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    return write_csv(path, rows, ACCOUNT_COLUMNS)


def payments_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    return write_csv(path, rows, ("payment_id", "account_id", "amount", "paid_on", "channel"))


def run_csv(db: Database, path: Path, **kw: Any) -> importer.ImportSummary:
    return importer.import_csv(db, path, now=NOW, profile=CN, **kw)


def count(db: Database, model: type[Any]) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def snapshot(db: Database) -> dict[str, Any]:
    with db.read() as s:
        return {
            "borrowers": s.execute(select(Borrower.__table__)).all(),
            "phones": s.execute(select(Phone.__table__)).all(),
            "accounts": s.execute(select(LoanAccount.__table__)).all(),
            "cases": s.execute(select(CollectionCase.__table__)).all(),
            "payments": s.execute(select(Payment.__table__)).all(),
        }


# --- CSV -------------------------------------------------------------------------------------


def test_csv_import_creates_borrowers_accounts_cases_and_search_data(
    db: Database, tmp_path: Path
) -> None:
    rows = [
        account(1, phone2="010-6512 3456"),
        account(
            2, borrower=1, phone2="010-6512 3456"
        ),  # a second account of borrower 1: one case covers both
        account(3),
        account(4, status="current", overdue_since="", overdue_amount=""),
    ]
    summary = run_csv(db, accounts_csv(tmp_path / "a.csv", rows))
    assert (summary.created, summary.updated, summary.unchanged, summary.rejected) == (4, 0, 0, 0)
    assert count(db, Borrower) == 3
    with db.read() as s:
        b1 = s.scalars(select(Borrower).where(Borrower.external_id == "C00001")).one()
        assert b1.id_rev == b1.id_number[::-1]
        assert sorted(p.e164 for p in b1.phones) == ["+861065123456", "+8613800000001"]
        assert all(p.digits_rev for p in b1.phones)
        grams = set(
            s.scalars(select(BorrowerNameGram.gram).where(BorrowerNameGram.borrower_id == b1.id))
        )
        assert grams == {"李", "娜", "李娜"}
        cases = {c.borrower.external_id: c for c in s.scalars(select(CollectionCase))}
        assert set(cases) == {"C00001", "C00003"}  # the current account opens no case
        case = cases["C00001"]
        assert (case.status, case.stage) == (CaseStatus.OPEN, Stage.NEW)
        assert case.overdue_minor == 600_000 and case.overdue_since == dt.date(2026, 1, 20)
        assert case.next_action_at is not None and case.priority > 0 and case.dpd_bucket > 0
        assert sorted(a.external_id for a in case.accounts) == ["LN00001", "LN00002"]
        current = s.scalars(select(LoanAccount).where(LoanAccount.external_id == "LN00004")).one()
        assert current.case_id is None
        batch = s.get(ImportBatch, summary.batch_id)
        assert batch is not None and batch.finished_at is not None
        assert (batch.created, batch.rejected) == (4, 0)
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "import.batch")))
        assert len(events) == 1 and events[0].after is not None
        assert events[0].after["cases_opened_count"] == 2


def test_the_same_import_twice_changes_nothing(db: Database, tmp_path: Path) -> None:
    path = accounts_csv(
        tmp_path / "a.csv", [account(n, borrower=(n + 1) // 2) for n in range(1, 9)]
    )
    run_csv(db, path)
    before = snapshot(db)
    again = run_csv(db, path, batch_size=3)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 8, 0)
    assert snapshot(db) == before
    assert count(db, ImportBatch) == 2


def test_a_later_import_updates_what_changed(db: Database, tmp_path: Path) -> None:
    run_csv(db, accounts_csv(tmp_path / "a.csv", [account(1), account(2), account(3)]))
    changed = [
        account(1, address="北京市海淀区学院路1号", phone2="13900000009"),  # borrower changed
        {**account(2, status="settled"), **PAID_OFF},
        account(3),
        account(5),
    ]
    summary = run_csv(db, accounts_csv(tmp_path / "b.csv", changed))
    assert (summary.created, summary.updated, summary.unchanged) == (1, 2, 1)
    with db.read() as s:
        b1 = s.scalars(select(Borrower).where(Borrower.external_id == "C00001")).one()
        assert b1.address == "北京市海淀区学院路1号" and len(b1.phones) == 2
        settled = s.scalars(
            select(CollectionCase).join(Borrower).where(Borrower.external_id == "C00002")
        ).one()
        # Settled: toward the archive (stage paid, flagged now), an operator archives it.
        assert settled.stage is Stage.PAID and settled.status is CaseStatus.OPEN
        assert settled.next_action_at == NOW and settled.overdue_minor == 0
        assert summary.cases_toward_archive == [settled.id]


def test_bad_rows_are_reported_and_the_rest_imports(db: Database, tmp_path: Path) -> None:
    rows = [
        account(1),
        account(2, phone="12345"),
        account(3, id_number=cn_id_number("110105", dt.date(1980, 1, 4), 3)[:17] + "0"),
        account(4, outstanding_interest="-10.00"),
        account(5, product="payday_loan"),
        account(6),
        account(6, borrower=7),  # the same account id twice
    ]
    if rows[2]["id_number"] == account(3)["id_number"]:
        rows[2]["id_number"] = rows[2]["id_number"][:17] + "1"
    summary = run_csv(db, accounts_csv(tmp_path / "a.csv", rows))
    assert (summary.created, summary.rejected) == (2, 5)
    reasons = {r.row_no: (r.external_id, r.reason) for r in summary.rejections}
    assert reasons[3][0] == "LN00002" and "invalid phone" in reasons[3][1]
    assert "check digit" in reasons[4][1]
    assert "negative amount in outstanding_interest" in reasons[5][1]
    assert "unknown product payday_loan" in reasons[6][1]
    assert "duplicate account id LN00006" in reasons[8][1] and "row 7" in reasons[8][1]
    with db.read() as s:
        stored = sorted(
            (r.row_no, r.external_id)
            for r in s.scalars(
                select(ImportRejection).where(ImportRejection.batch_id == summary.batch_id)
            )
        )
        assert stored == [(3, "LN00002"), (4, "LN00003"), (5, "LN00004"), (6, "LN00005"),
                          (8, "LN00006")]  # fmt: skip
        assert sorted(s.scalars(select(LoanAccount.external_id))) == ["LN00001", "LN00006"]
    assert count(db, Borrower) == 2


def test_checking_in_a_helper_process_gives_the_same_verdicts(db: Database, tmp_path: Path) -> None:
    rows = [
        account(1),
        account(2, phone="12345"),
        account(3, outstanding_interest="-10.00"),
        account(4, borrower=1),  # the same borrower as row 2, agreeing
        account(5, borrower=1, address="上海市浦东新区世纪大道1号"),  # disagreeing
        account(6),
        account(6, borrower=7),  # the same account id twice
        account(8),
    ]
    path = accounts_csv(tmp_path / "a.csv", rows)
    here = run_csv(db, path, batch_size=3, parallel=False)
    helper = run_csv(db, path, batch_size=3, parallel=True)
    assert here.rejected == 4 and here.created == 4
    assert helper.rejections == here.rejections
    assert (helper.created, helper.updated, helper.unchanged) == (0, 0, here.created)


def test_a_row_failing_half_way_leaves_nothing(db: Database, tmp_path: Path) -> None:
    run_csv(db, accounts_csv(tmp_path / "a.csv", [account(1)]))
    # Account LN00001 now claims a new borrower: the borrower is written first, then the
    # account is refused; the savepoint takes the new borrower away again.
    summary = run_csv(db, accounts_csv(tmp_path / "b.csv", [account(1, borrower=9), account(2)]))
    assert (summary.created, summary.rejected) == (1, 1)
    assert "another borrower" in summary.rejections[0].reason
    with db.read() as s:
        assert sorted(str(e) for e in s.scalars(select(Borrower.external_id))) == [
            "C00001",
            "C00002",
        ]
        assert s.scalar(select(func.count()).select_from(Phone)) == 2


def _phone_row(borrower_id: int, e164: str, kind: Any) -> dict[str, Any]:
    return {
        "borrower_id": borrower_id, "e164": e164, "digits_rev": e164[:0:-1], "kind": kind,
        "relation": Relation.BORROWER, "holder_name": None, "verified": False,
        "do_not_call": False, "created_at": NOW,
    }  # fmt: skip


def test_driver_writes_leave_the_database_checks_on(db: Database, tmp_path: Path) -> None:
    # Enumeration members go in with SQLite's IN-list checks set aside for that statement;
    # a value outside the list never gets that far, and the checks hold for the next one.
    run_csv(db, accounts_csv(tmp_path / "a.csv", [account(1)]))
    with db.write() as s:
        borrower_id = s.scalars(select(Borrower.id)).one()
        writer = BulkWriter(s.connection())
        writer.insert(PHONE, [_phone_row(borrower_id, "+8613900000001", PhoneKind.MOBILE)])
        with pytest.raises(LookupError):
            writer.insert(PHONE, [_phone_row(borrower_id, "+8613900000002", "fax")])
        mark = "?" if db.is_sqlite else "%s"
        writer.cursor.execute("SAVEPOINT refused")
        with pytest.raises(writer.errors, match=r"(?i)check"):
            writer.cursor.execute(
                "INSERT INTO phone (borrower_id, e164, digits_rev, kind, relation, verified, "
                f"do_not_call, created_at) VALUES ({', '.join([mark] * 8)})",
                (borrower_id, "+8613900000003", "3", "fax", "borrower", False, False, NOW),
            )
        writer.cursor.execute("ROLLBACK TO SAVEPOINT refused")
    with db.read() as s:
        kinds = sorted(str(k) for k in s.scalars(select(Phone.kind)))
    assert kinds == ["mobile", "mobile"]


def test_a_broken_file_is_one_clear_error(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(importer.ImportFailed, match="neither an accounts file"):
        run_csv(db, path)
    with pytest.raises(importer.ImportFailed, match="cannot read"):
        run_csv(db, tmp_path / "missing.csv")


# --- payments --------------------------------------------------------------------------------


def test_payments_apply_through_the_ledger_and_reconcile_door_money(
    db: Database, tmp_path: Path
) -> None:
    run_csv(db, accounts_csv(tmp_path / "a.csv", [account(1), account(2)]))
    make = Factory(db, now=NOW)
    op = make.agent(login="op")
    collector = make.collector(login="col")
    with db.read() as s:
        case_id = s.scalars(
            select(LoanAccount.case_id).where(LoanAccount.external_id == "LN00001")
        ).one()
    assert case_id is not None
    reports = []
    for day, amount in ((3, 50_000), (4, 12_345)):
        when = dt.datetime(2026, 3, day, 10, 0, tzinfo=SH).astimezone(dt.UTC)
        appt = make.appointment(case_id, collector_id=collector, booked_by_id=op, starts_at=when)
        with db.write() as s:
            report = VisitReport(
                appointment_id=appt, case_id=case_id, collector_id=collector,
                work_id_shown=True, name_checked=True, contact_checked=True,
                address_checked=True, documents_ok=True, collected_minor=amount,
                collected_method="cash", receipt_no=f"R-{day}",
                outcome=VisitOutcome.PAID_AT_DOOR, created_at=when,
            )  # fmt: skip
            s.add(report)
            s.flush()
            reports.append(report.id)
    with db.write() as s:
        s.add(
            PromiseToPay(
                case_id=case_id, amount_minor=50_000, due_on=dt.date(2026, 3, 12),
                status=PromiseStatus.OPEN, created_by_id=op,
                created_at=NOW - dt.timedelta(days=5),
            )
        )  # fmt: skip
    rows = [
        {"payment_id": "P1", "account_id": "LN00001", "amount": "500.00",
         "paid_on": "2026-03-06", "channel": "bank_transfer"},
        {"payment_id": "P2", "account_id": "LN09999", "amount": "1.00",
         "paid_on": "2026-03-06", "channel": ""},
        {"payment_id": "P3", "account_id": "LN00002", "amount": "-3",
         "paid_on": "2026-03-06", "channel": ""},
    ]  # fmt: skip
    path = payments_csv(tmp_path / "p.csv", rows)
    summary = run_csv(db, path)
    assert (summary.created, summary.rejected, summary.payments_applied) == (1, 2, 1)
    assert "unknown account LN09999" in summary.rejections[0].reason
    with db.read() as s:
        pay = s.scalars(select(Payment).where(Payment.external_id == "P1")).one()
        assert pay.case_id == case_id and pay.amount_minor == 50_000
        matched = dict(s.execute(select(VisitReport.id, VisitReport.reconciled_payment_id)).all())
        assert matched == {reports[0]: pay.id, reports[1]: None}
        assert s.scalars(select(PromiseToPay.status)).one() is PromiseStatus.KEPT
    assert [d.report_id for d in summary.unmatched_door] == [reports[1]]
    assert summary.unmatched_door_total == 1
    # Again: nothing new, nothing applied twice.
    again = run_csv(db, path)
    assert (again.created, again.unchanged, again.payments_applied) == (0, 1, 0)
    assert count(db, Payment) == 1


# --- JSON over HTTP --------------------------------------------------------------------------


class Feed:
    """A tiny loan-system stand-in: path -> (status, body), every request logged."""

    def __init__(self) -> None:
        self.pages: dict[str, list[tuple[int, bytes]]] = {}
        self.requests: list[str] = []

    def page(self, path: str, *answers: tuple[int, Any]) -> None:
        self.pages[path] = [
            (code, body if isinstance(body, bytes) else json.dumps(body).encode())
            for code, body in answers
        ]


@pytest.fixture
def feed() -> Iterator[tuple[Feed, str]]:
    state = Feed()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            answers = state.pages.get(self.path) or [(404, b"{}")]
            code, body = answers.pop(0) if len(answers) > 1 else answers[0]
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_url(db: Database, url: str, **kw: Any) -> importer.ImportSummary:
    return importer.import_url(db, url, now=NOW, profile=CN, retries=0, **kw)


def test_a_paginated_feed_is_followed_to_the_end(db: Database, feed: tuple[Feed, str]) -> None:
    state, base = feed
    state.page(
        "/export",
        (200, {"items": [account(1), account(2)], "next": "/export?page=2", "total": 5}),
    )
    state.page(
        "/export?page=2",
        (200, {"items": [account(3), account(2)], "next": f"{base}/export?page=3"}),
    )
    payment = {"record": "payment", "payment_id": "P1", "account_id": "LN00001",
               "amount": 123.45, "paid_on": "2026-03-09"}  # fmt: skip
    state.page("/export?page=3", (200, {"items": [payment], "next": None}))
    summary = run_url(db, f"{base}/export", batch_size=2)
    assert state.requests == ["/export", "/export?page=2", "/export?page=3"]
    assert (summary.created, summary.rejected) == (4, 1)
    assert summary.rejections[0].row_no == 4 and "duplicate" in summary.rejections[0].reason
    with db.read() as s:
        # A JSON number is read exactly: 123.45 yuan is 12,345 fen.
        assert s.scalars(select(Payment.amount_minor)).one() == 12_345
    again = run_url(db, f"{base}/export")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)


def test_a_malformed_page_stops_the_import_and_nothing_of_it_goes_in(
    db: Database, feed: tuple[Feed, str]
) -> None:
    state, base = feed
    state.page("/x", (200, {"items": [account(1)], "next": "/x?page=2"}))
    broken = json.dumps({"items": [account(2), account(3)], "next": None}).encode()[:-40]
    state.page("/x?page=2", (200, broken))
    with pytest.raises(importer.ImportFailed, match=r"page 2 .*not valid JSON") as caught:
        run_url(db, f"{base}/x")
    assert caught.value.summary.created == 1
    with db.read() as s:
        assert list(s.scalars(select(LoanAccount.external_id))) == ["LN00001"]
        batch = s.get(ImportBatch, caught.value.summary.batch_id)
        assert batch is not None and batch.finished_at is not None and batch.created == 1
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "import.batch")).one()
        assert event.after is not None and "not valid JSON" in event.after["error"]
    state.page("/y", (200, {"rows": []}))
    with pytest.raises(importer.ImportFailed, match='an "items" list'):
        run_url(db, f"{base}/y")


def test_a_failing_page_keeps_the_pages_before_it_when_checked_ahead(
    db: Database, feed: tuple[Feed, str]
) -> None:
    state, base = feed
    state.page("/x", (200, {"items": [account(1), account(2)], "next": "/x?page=2"}))
    state.page("/x?page=2", (200, {"items": [account(3)], "next": "/x?page=3"}))
    state.page("/x?page=3", (200, b"{not json"))
    with pytest.raises(importer.ImportFailed, match=r"page 3") as caught:
        run_url(db, f"{base}/x", parallel=True, batch_size=1)
    assert caught.value.summary.created == 3
    with db.read() as s:
        assert sorted(s.scalars(select(LoanAccount.external_id))) == [
            "LN00001",
            "LN00002",
            "LN00003",
        ]


def test_server_errors(db: Database, feed: tuple[Feed, str]) -> None:
    state, base = feed
    state.page("/down", (500, b"oops"))
    with pytest.raises(importer.ImportFailed, match="answered 500"):
        run_url(db, f"{base}/down")
    # A 503 once, then the page: retried, imported.
    state.page("/flaky", (503, b"busy"), (200, {"items": [account(1)], "next": None}))
    summary = importer.import_url(db, f"{base}/flaky", now=NOW, profile=CN, retries=2, backoff=0.01)
    assert summary.created == 1 and state.requests.count("/flaky") == 2
    state.page("/loop", (200, {"items": [], "next": "/loop"}))
    with pytest.raises(importer.ImportFailed, match="loops"):
        run_url(db, f"{base}/loop")


# --- a desk saves while an import runs -------------------------------------------------------


def test_a_desk_saves_promptly_while_an_import_runs(db: Database, tmp_path: Path) -> None:
    make = Factory(db, now=NOW)
    op_id = make.agent(login="op")
    op = Actor(id=op_id, login="op", name="op", role=Role.OPERATOR)
    case_id = make.case()
    path = accounts_csv(tmp_path / "a.csv", [account(n) for n in range(1, 401)])
    started = threading.Event()
    chunks_done: list[float] = []
    result: list[importer.ImportSummary] = []

    def progress(done: int, total: int | None) -> None:
        chunks_done.append(time.monotonic())
        started.set()

    def work() -> None:
        result.append(run_csv(db, path, batch_size=20, progress=progress))

    worker = threading.Thread(target=work)
    worker.start()
    assert started.wait(30)
    t0 = time.monotonic()
    promises.record_payment(
        Context.frozen(db, op, NOW, CN),
        case_id,
        amount_minor=1_000,
        paid_on=NOW.date(),
        channel="counter",  # type: ignore[arg-type]
    )
    waited = time.monotonic() - t0
    saved_at = time.monotonic()
    worker.join(60)
    assert result and result[0].created == 400
    # The desk's save went in between the import's batches, not after the whole import.
    assert waited < 2.0
    assert chunks_done[-1] > saved_at


def test_control_characters_in_a_file_are_refused_naming_the_field(
    db: Database, tmp_path: Path
) -> None:
    rows = [
        account(1),
        account(2, name="张\x1b]0;pwned\x07三"),
        account(3, address="北京市\x1b[2J朝阳区"),
        account(4, account_id="LN\x1b[31m4"),
    ]
    summary = run_csv(db, accounts_csv(tmp_path / "a.csv", rows))
    assert (summary.created, summary.rejected) == (1, 3)
    reasons = {r.row_no: (r.external_id, r.reason) for r in summary.rejections}
    assert "name contains the control character U+001B" in reasons[3][1]
    assert "address contains the control character U+001B" in reasons[4][1]
    assert "account_id contains the control character U+001B" in reasons[5][1]
    with db.read() as s:
        stored = list(s.scalars(select(ImportRejection.external_id)))
        names = list(s.scalars(select(Borrower.name)))
    assert all("\x1b" not in (value or "") for value in stored + names)
