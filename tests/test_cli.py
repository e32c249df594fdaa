"""The command line: one clear line on errors, agents, schema upgrades, identity rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui_desk import __main__ as cli
from tui_desk.db.engine import open_database
from tui_desk.db.migrate import check_schema, head_revision
from tui_desk.services.agents import list_agents


def run(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_every_command_upgrades_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert run(["--db", url, "agents", "list"]) == 0
    db = open_database(url)
    assert check_schema(db) == head_revision()
    db.dispose()


def test_agents_add_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert (
        run(["agents", "add", "wang.fang", "--name", "王芳", "--role", "collector", "--db", url])
        == 0
    )
    assert run(["--db", url, "agents", "list"]) == 0
    out = capsys.readouterr().out
    assert "wang.fang" in out and "collector" in out and "王芳" in out
    assert run(["--db", url, "agents", "add", "wang.fang", "--name", "X"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert run(["--db", url, "agents", "add", "Bad Login", "--name", "X"]) == 2
    assert "invalid login" in capsys.readouterr().err
    assert run(["--db", url, "agents", "deactivate", "wang.fang"]) == 0
    db = open_database(url)
    assert [a.active for a in list_agents(db)] == [False]
    db.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://nobody@127.0.0.1:1/none", "cannot open database"),
        ("mysql://x@localhost/y", "unsupported database"),
        ("not a url", "not a database URL"),
    ],
)
def test_bad_database_url_is_one_line(
    url: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--db", url, "agents", "list"]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_unknown_login_gets_no_desk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'u.db'}"
    assert run(["--db", url, "--agent", "nobody"]) == 2
    assert "is not a tui-desk agent" in capsys.readouterr().err


def test_inactive_agent_gets_no_desk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'i.db'}"
    run(["--db", url, "agents", "add", "li", "--name", "李", "--role", "operator"])
    run(["--db", url, "agents", "deactivate", "li"])
    capsys.readouterr()
    assert run(["--db", url, "--agent", "li"]) == 2
    assert "inactive" in capsys.readouterr().err


def test_agent_flag_refused_for_ordinary_login_on_real_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    run(["--db", url, "agents", "add", "boss", "--name", "Boss", "--role", "supervisor"])
    monkeypatch.setattr(os, "getuid", lambda: 4242)
    monkeypatch.setattr(cli, "current_login", lambda: "clerk")
    capsys.readouterr()
    assert run(["--db", url, "--agent", "boss"]) == 2
    assert "only honoured on a demo database" in capsys.readouterr().err


def test_may_choose_agent_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getuid", lambda: 4242)
    assert cli.may_choose_agent("clerk", is_demo=True)
    assert not cli.may_choose_agent("clerk", is_demo=False)
    monkeypatch.setattr(os, "getuid", lambda: 0)
    assert cli.may_choose_agent("root", is_demo=False)
