"""`tui-desk agents password` (piped or typed twice without echo) and `serve-board`'s
command line."""

from __future__ import annotations

import getpass
import io
from pathlib import Path

import pytest

from tests.factories import new_database
from tui_desk import cli
from tui_desk.clock import utcnow
from tui_desk.db.engine import open_database
from tui_desk.services.web_sign_in import sign_in

PASSWORD = "a long wall password"


def run(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


class _Typed(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = new_database(tmp_path / "w.db")
    assert run(["--db", url, "agents", "add", "boss", "--name", "Boss", "--role", "admin"]) == 0
    boss = ["--db", url, "--agent", "boss", "agents", "add"]
    assert run([*boss, "sue", "--name", "Sue", "--role", "supervisor"]) == 0
    assert run([*boss, "ann", "--name", "Ann"]) == 0
    return url


def test_password_from_standard_input(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert run(["--db", url, "--agent", "boss", "agents", "password", "sue"]) == 0
    assert "wallboard password set for sue" in capsys.readouterr().out
    db = open_database(url)
    try:
        assert sign_in(db, "sue", PASSWORD, now=utcnow()).actor.login == "sue"
    finally:
        db.dispose()
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert run(["--db", url, "--agent", "boss", "agents", "password", "ann"]) == 1
    assert "only supervisors and administrators" in capsys.readouterr().err


def test_password_typed_twice_without_echo(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", _Typed())
    typed = iter([PASSWORD, PASSWORD + "?"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(typed))
    assert run(["--db", url, "--agent", "boss", "agents", "password", "sue"]) == 1
    assert "differ" in capsys.readouterr().err
    typed = iter([PASSWORD, PASSWORD])
    assert run(["--db", url, "--agent", "boss", "agents", "password", "sue"]) == 0


def test_serve_board_help_names_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["serve-board", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--max-viewers", "--secure-cookie", "--trust-proxy"):
        assert option in out
    assert "--viewer" not in out
