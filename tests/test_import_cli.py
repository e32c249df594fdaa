"""``tui-desk import``: CSV files and a JSON feed, the printed summary, exit statuses."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.factories import new_database
from tests.test_importer import account, accounts_csv, payments_csv
from tui_desk import cli
from tui_desk.db.engine import open_database
from tui_desk.db.models import ImportBatch, LoanAccount, Payment


def run(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _rows(url: str, model: type[Any]) -> int:
    db = open_database(url)
    try:
        with db.read() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        db.dispose()


def test_import_csv_files_then_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = new_database(tmp_path / "desk.db")
    accounts = accounts_csv(tmp_path / "accounts.csv", [account(1), account(2)])
    payments = payments_csv(
        tmp_path / "payments.csv",
        [{"payment_id": "P1", "account_id": "LN00001", "amount": "10.00",
          "paid_on": "2025-12-01", "channel": ""}],
    )  # fmt: skip
    argv = ["--db", url, "import", "--csv", str(accounts), "--csv", str(payments)]
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert f"import from csv:{accounts}: 2 created, 0 updated, 0 unchanged, 0 rejected" in out
    assert "payments applied: 1" in out
    assert (_rows(url, LoanAccount), _rows(url, Payment), _rows(url, ImportBatch)) == (2, 1, 2)
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert "0 created, 0 updated, 2 unchanged, 0 rejected" in out
    assert "0 created, 0 updated, 1 unchanged, 0 rejected" in out


def test_rejected_rows_are_printed_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = new_database(tmp_path / "desk.db")
    path = accounts_csv(tmp_path / "a.csv", [account(1), account(2, product="lease")])
    assert run(["--db", url, "import", "--csv", str(path), "--batch-size", "1"]) == 1
    out = capsys.readouterr().out
    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in out
    assert "rejected row 3 (LN00002): unknown product lease" in out


def test_bad_sources_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = new_database(tmp_path / "desk.db")
    assert run(["--db", url, "import", "--csv", str(tmp_path / "nope.csv")]) == 1
    assert "tui-desk: the import stopped: cannot read" in capsys.readouterr().err
    assert run(["--db", url, "import", "--url", "ftp://x"]) == 1
    assert "tui-desk: not an http(s) URL" in capsys.readouterr().err
    assert run(["--db", url, "import", "--csv", "a.csv", "--batch-size", "5000"]) == 1
    assert "batch size" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--db", url, "import"])  # a source is required


@pytest.fixture
def server() -> Iterator[tuple[dict[str, bytes], str]]:
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            data = body or b"{}"
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield pages, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_import_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: tuple[dict[str, bytes], str]
) -> None:
    pages, base = server
    url = new_database(tmp_path / "desk.db")
    pages["/feed"] = json.dumps({"items": [account(1)], "next": "/feed?page=2"}).encode()
    pages["/feed?page=2"] = json.dumps({"items": [account(2)], "next": None}).encode()
    assert run(["--db", url, "import", "--url", f"{base}/feed"]) == 0
    assert "2 created" in capsys.readouterr().out
    pages["/bad"] = b'{"items": [ '
    assert run(["--db", url, "import", "--url", f"{base}/bad"]) == 1
    captured = capsys.readouterr()
    assert "tui-desk: the import stopped: page 1" in captured.err
    assert "not valid JSON" in captured.err
    assert "0 created" in captured.out
