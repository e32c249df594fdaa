"""The command line: one clear line on errors, agents, schema upgrades, identity rules."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import Factory, new_database
from tui_desk import cli, clock
from tui_desk.cli import common
from tui_desk.db.engine import open_database
from tui_desk.db.migrate import check_schema, head_revision
from tui_desk.db.models import Agent, AuditEvent, Role, Stage
from tui_desk.rules.profile import load_profile
from tui_desk.services.agents import list_agents
from tui_desk.services.context import Actor, Context
from tui_desk.services.visits import book_visit


def run(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_only_db_upgrade_makes_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    open_database(url, create=True).dispose()  # an empty database, no schema yet
    assert run(["--db", url, "agents", "list"]) == 1
    err = capsys.readouterr().err
    assert "run `tui-desk db upgrade` first" in err and err.count("\n") == 1
    assert run(["--db", url, "db", "current"]) == 1  # current changes nothing
    db = open_database(url)
    assert check_schema(db) is None
    db.dispose()
    assert run(["--db", url, "db", "upgrade"]) == 0
    assert "schema upgraded from (empty) to" in capsys.readouterr().out
    assert run(["--db", url, "db", "upgrade"]) == 0  # a second upgrade has nothing to do
    assert f"schema revision {head_revision()}" in capsys.readouterr().out
    assert run(["--db", url, "agents", "list"]) == 0
    assert run(["--db", url, "db", "current"]) == 0


def test_an_old_schema_is_refused_naming_the_upgrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from alembic import command

    from tui_desk.db.migrate import migration_connection

    url = new_database(tmp_path / "old.db")
    db = open_database(url)
    with migration_connection(db) as cfg:
        command.downgrade(cfg, "-1")
    old = check_schema(db)
    db.dispose()
    assert run(["--db", url, "report", "rpc-rate"]) == 1
    err = capsys.readouterr().err
    assert f"schema revision {old}" in err and "tui-desk db upgrade" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_mistyped_sqlite_path_is_refused_and_only_db_upgrade_creates_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    assert run(["--db", url, "agents", "list"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"tui-desk: there is no database at {tmp_path / 'desk.db'} (a mistyped path?); "
        "create one with: tui-desk db upgrade\n"
    )
    assert not (tmp_path / "desk.db").exists()  # nothing was made on the way
    lost = f"sqlite:///{tmp_path / 'no-such-folder' / 'desk.db'}"
    assert run(["--db", lost, "db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert "no-such-folder does not exist" in err and err.count("\n") == 1
    assert not (tmp_path / "no-such-folder").exists()

    assert run(["--db", url, "db", "upgrade"]) == 0
    db = open_database(url, create=False)
    assert check_schema(db) == head_revision()
    db.dispose()
    # Every command runs with umask 007: the desk's group shares the database, others
    # cannot read it.
    assert (tmp_path / "desk.db").stat().st_mode & 0o777 == 0o660
    assert run(["--db", url, "agents", "list"]) == 0


def test_agents_add_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = new_database(tmp_path / "a.db")
    assert (
        run(["agents", "add", "wang.fang", "--name", "王芳", "--role", "collector", "--db", url])
        == 0
    )
    assert run(["--db", url, "agents", "list"]) == 0
    out = capsys.readouterr().out
    assert "wang.fang" in out and "collector" in out and "王芳" in out
    assert run(["--db", url, "agents", "add", "wang.fang", "--name", "X"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert run(["--db", url, "agents", "add", "Bad Login", "--name", "X"]) == 1
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
        ("postgresql://u@h:abc/db", "not a database URL"),
        ("postgres://u@h/db", "cannot open database"),
        ("postgresql+asyncpg://u@h/db", "unsupported PostgreSQL driver 'asyncpg'"),
        ("sqlite://desk.db", "an SQLite URL names a file"),
        ("sqlite:///", "an SQLite URL names a file"),
        ("sqlite+aiosqlite:///x.db", "unsupported SQLite driver 'aiosqlite'"),
    ],
)
def test_bad_database_url_is_one_line(
    url: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--db", url, "agents", "list"]) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_unknown_login_gets_no_desk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = new_database(tmp_path / "u.db")
    assert run(["--db", url, "--agent", "nobody"]) == 1
    assert "is not a tui-desk agent" in capsys.readouterr().err


def test_inactive_agent_gets_no_desk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = new_database(tmp_path / "i.db")
    run(["--db", url, "agents", "add", "li", "--name", "李", "--role", "operator"])
    run(["--db", url, "agents", "deactivate", "li"])
    capsys.readouterr()
    assert run(["--db", url, "--agent", "li"]) == 1
    assert "inactive" in capsys.readouterr().err


def test_agent_flag_refused_for_ordinary_login_on_real_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = new_database(tmp_path / "r.db")
    run(["--db", url, "agents", "add", "boss", "--name", "Boss", "--role", "supervisor"])
    monkeypatch.setattr(os, "getuid", lambda: 4242)
    monkeypatch.setattr(common, "current_login", lambda: "clerk")
    capsys.readouterr()
    assert run(["--db", url, "--agent", "boss"]) == 1
    assert "only honoured on a demo database" in capsys.readouterr().err


def test_may_choose_agent_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getuid", lambda: 4242)
    assert common.may_choose_agent("clerk", is_demo=True)
    assert not common.may_choose_agent("clerk", is_demo=False)
    monkeypatch.setattr(os, "getuid", lambda: 0)
    assert common.may_choose_agent("root", is_demo=False)


# --- field collectors: schedules and days off -------------------------------------------------


def test_collector_schedule_and_days_off_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = new_database(tmp_path / "s.db")
    assert (
        run(["--db", url, "agents", "add", "wang.fang", "--name", "王芳", "--role", "collector"])
        == 0
    )
    assert "agents schedule wang.fang --districts" in capsys.readouterr().out
    assert run(["--db", url, "agents", "schedule", "wang.fang"]) == 0
    out = capsys.readouterr().out
    assert "09:00-18:00 Asia/Shanghai, weekdays 12345 (Mon Tue Wed Thu Fri)" in out
    assert "none yet" in out
    argv = ["--db", url, "agents", "schedule", "wang.fang", "--hours", "08:30-17:00"]
    argv += ["--weekdays", "123456", "--districts", "朝阳区，海淀区"]
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert "08:30-17:00" in out and "(Mon Tue Wed Thu Fri Sat)" in out
    assert "districts: 朝阳区, 海淀区" in out
    assert run(["--db", url, "agents", "list"]) == 0
    assert "[朝阳区, 海淀区]" in capsys.readouterr().out
    assert (
        run(["--db", url, "agents", "day-off", "wang.fang", "2099-12-04", "--reason", "培训"]) == 0
    )
    assert "days off: 2099-12-04 (培训)" in capsys.readouterr().out
    assert run(["--db", url, "agents", "day-off", "wang.fang", "2099-12-04", "--remove"]) == 0
    assert "days off" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["agents", "schedule", "wang.fang", "--hours", "9-17"], "invalid time '9'"),
        (["agents", "schedule", "wang.fang", "--hours", "09:00"], "use HH:MM-HH:MM"),
        (["agents", "schedule", "wang.fang", "--hours", "18:00-09:00"], "start before they end"),
        (["agents", "schedule", "wang.fang", "--weekdays", "1a"], "invalid weekdays"),
        (["agents", "schedule", "wang.fang", "--timezone", "Mars/Olympus"], "unknown time zone"),
        (["agents", "schedule", "wang.fang", "--districts", " , "], "at least one district"),
        (["agents", "schedule", "li", "--weekdays", "12345"], "li is not a field collector"),
        (["agents", "schedule", "nobody", "--weekdays", "12345"], "no agent with login nobody"),
        (["agents", "day-off", "wang.fang", "2099-02-30"], "invalid date '2099-02-30'"),
        (["agents", "day-off", "wang.fang", "2099-03-01", "--remove"], "no day off on 2099-03-01"),
        (["agents", "day-off", "li", "2099-03-01"], "not a field collector"),
    ],
)
def test_bad_schedule_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    url = new_database(tmp_path / "b.db")
    run(["--db", url, "agents", "add", "wang.fang", "--name", "王芳", "--role", "collector"])
    run(["--db", url, "agents", "add", "li", "--name", "李", "--role", "operator"])
    capsys.readouterr()
    assert run(["--db", url, *argv]) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


# --- the collector's day sheet ------------------------------------------------------------------

SH = ZoneInfo("Asia/Shanghai")
BOOKED_AT = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH).astimezone(dt.UTC)


@pytest.fixture
def visit_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database where collector ``col`` has two visits on Thursday 2026-12-03; the OS
    login is the supervisor ``op`` (``clerk`` is an operator), and the clock reads the
    morning of that day."""
    url = new_database(tmp_path / "v.db")
    assert run(["--db", url, "agents", "list"]) == 0
    db = open_database(url)
    make = Factory(db, now=BOOKED_AT)
    op = make.agent(login="op", role=Role.SUPERVISOR)
    make.agent(login="clerk")
    col = make.collector(login="col", name="王芳")
    make.collector(login="col2", name="李强")
    with db.read() as s:
        agent = s.get(Agent, op)
        assert agent is not None
        actor = Actor.of(agent)
    for name, hour in (("欧阳娜娜", 14), ("张三", 9)):
        borrower = make.borrower(name=name, address=f"北京市朝阳区建国路{hour}号")
        case_id = make.case(
            borrower_id=borrower,
            stage=Stage.DOCUMENTS,
            registered=True,
            documents_complete=True,
            overdue_minor=1_234_567,
        )
        starts_at = dt.datetime(2026, 12, 3, hour, tzinfo=SH)
        book_visit(
            Context.frozen(db, actor, BOOKED_AT, load_profile()),
            case_id,
            collector_id=col,
            starts_at=starts_at,
        )
    db.dispose()
    monkeypatch.setattr(common, "current_login", lambda: "op")
    morning = dt.datetime(2026, 12, 3, 7, 30, tzinfo=SH).astimezone(dt.UTC)
    monkeypatch.setattr(clock, "utcnow", lambda: morning)
    return url


def test_day_sheet_prints_the_day_in_order(
    visit_world: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--db", visit_world, "day-sheet", "--collector", "col"]) == 0  # today
    out = capsys.readouterr().out
    assert out.startswith("Day sheet: 王芳 (col)\n2026-12-03, Thursday")
    assert out.index("张三") < out.index("欧阳娜娜")
    assert "北京市朝阳区建国路9号" in out and "12,345.67" in out
    assert out.rstrip().endswith("Printed 2026-12-03 07:30 (Asia/Shanghai)")
    db = open_database(visit_world)
    with db.read() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "visit.day_sheet"))
        assert event.summary.startswith("op produced the day sheet of col for 2026-12-03")
    db.dispose()


def test_day_sheet_as_markdown_to_a_file(
    visit_world: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "sheet.md"
    argv = ["--db", visit_world, "day-sheet", "--collector", "col", "--date", "2026-12-03"]
    assert run([*argv, "--out", str(target)]) == 0
    assert capsys.readouterr().out == (
        f"wrote the day sheet of col for 2026-12-03 (2 visits) to {target}\n"
    )
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Day sheet: 王芳 (col)")
    assert "| 1 | 09:00-10:00 | 张三 |" in text
    assert run([*argv, "--format", "md"]) == 0
    assert capsys.readouterr().out.startswith("# Day sheet")
    assert run([*argv, "--format", "txt", "--out", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("Day sheet: 王芳 (col)\n")
    # Full addresses: the desk's group may read the sheet, nobody else.
    assert target.stat().st_mode & 0o777 == 0o640


def test_day_sheet_of_another_day_is_empty(
    visit_world: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--db", visit_world, "day-sheet", "--collector", "col", "--date", "2026-12-04"]
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert "2026-12-04, Friday" in out and "No visits on this day." in out


@pytest.mark.parametrize(
    ("argv", "login", "expected"),
    [
        (["--collector", "col", "--date", "3.12.2026"], "op", "invalid date '3.12.2026'"),
        (["--collector", "op"], "op", "op is not a field collector"),
        (["--collector", "ghost"], "op", "no agent with login ghost"),
        (["--collector", "col"], "stranger", "is not a tui-desk agent"),
        (["--collector", "col"], "col2", "a collector sees only their own day sheet"),
        (["--collector", "col"], "clerk", "a day sheet is for its collector or a supervisor"),
        (["--collector", "col", "--out", "/nonexistent/dir/x.txt"], "op", "cannot write"),
    ],
)
def test_day_sheet_refusals_are_one_line(
    visit_world: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    login: str,
    expected: str,
) -> None:
    monkeypatch.setattr(common, "current_login", lambda: login)
    assert run(["--db", visit_world, "day-sheet", *argv]) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err
    # A refused sheet was never produced, so nothing was revealed or audited.
    db = open_database(visit_world)
    with db.read() as s:
        sheets = s.scalars(select(AuditEvent).where(AuditEvent.action == "visit.day_sheet"))
        assert sheets.all() == []
    db.dispose()


def test_day_sheet_honours_agent_only_where_allowed(
    visit_world: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "getuid", lambda: 4242)
    assert run(["--db", visit_world, "--agent", "col", "day-sheet", "--collector", "col"]) == 1
    assert "only honoured on a demo database" in capsys.readouterr().err
    monkeypatch.setattr(os, "getuid", lambda: 0)
    assert run(["--db", visit_world, "--agent", "col", "day-sheet", "--collector", "col"]) == 0
    assert "张三" in capsys.readouterr().out


# --- help in the interface language ---------------------------------------------------------


def _no_language_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "TUI_DESK_LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TUI_DESK_CONFIG", str(tmp_path / "absent.toml"))


def test_help_in_chinese_with_lang_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_language_settings(monkeypatch, tmp_path)
    assert run(["--lang", "zh_CN", "--help"]) == 0
    out = capsys.readouterr().out
    assert "逾期贷款催收终端工作台" in out
    assert "以当前用户身份打开工作台" in out  # the run command's help
    assert out.startswith("用法：tui-desk") and "显示本帮助信息并退出" in out


def test_help_of_a_command_in_chinese_with_lang_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_language_settings(monkeypatch, tmp_path)
    assert run(["agents", "schedule", "--lang=zh_CN", "--help"]) == 0
    assert "工作时间" in capsys.readouterr().out


def test_help_follows_lang_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_language_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert run(["--help"]) == 0
    assert "逾期贷款催收终端工作台" in capsys.readouterr().out
    # The flag wins over the environment.
    assert run(["--lang", "en", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Terminal desk for overdue-loan collection." in out
    assert "逾期" not in out


def test_help_in_english_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_language_settings(monkeypatch, tmp_path)
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tui-desk") and "Terminal desk for overdue-loan collection." in out


def test_a_broken_config_file_still_gets_help(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_language_settings(monkeypatch, tmp_path)
    broken = tmp_path / "broken.toml"
    broken.write_text("language = ", encoding="utf-8")
    monkeypatch.setenv("TUI_DESK_CONFIG", str(broken))
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert run(["--help"]) == 0
    assert "逾期贷款催收终端工作台" in capsys.readouterr().out


# --- exit statuses ----------------------------------------------------------------------------


def test_help_documents_the_exit_statuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_language_settings(monkeypatch, tmp_path)
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    assert "exit status:\n  0  done\n  1  refused or failed\n  2  usage error" in out
    assert run(["import", "--help"]) == 0
    assert "1  refused or failed" in capsys.readouterr().out
    assert run(["--lang", "zh_CN", "--help"]) == 0
    assert "退出状态：" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["frobnicate"],
        ["agents"],  # an action is required
        ["seed"],  # --cases is required
        ["seed", "--cases", "many"],
        ["--lang", "fr", "agents", "list"],
    ],
)
def test_a_usage_error_exits_2(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'never.db'}"
    assert run(["--db", url, *argv]) == 2
    assert "usage: tui-desk" in capsys.readouterr().err
    assert not (tmp_path / "never.db").exists()  # nothing was opened


def test_a_refusal_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = new_database(tmp_path / "r.db")
    Factory(open_database(url)).agent(login="boss", role=Role.SUPERVISOR)
    assert run(["--db", url, "--agent", "boss", "report", "no-such-report"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tui-desk: unknown report 'no-such-report'") and err.count("\n") == 1


# --- every command is an agent's act -------------------------------------------------------


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database with an administrator, a supervisor and an operator; the OS is not root."""
    url = new_database(tmp_path / "team.db")
    db = open_database(url)
    make = Factory(db)
    make.agent(login="adm", role=Role.ADMIN)
    make.agent(login="sup", role=Role.SUPERVISOR)
    make.agent(login="clerk")
    db.dispose()
    monkeypatch.setattr(common, "may_choose_agent", lambda login, is_demo: False)
    return url


def _as(monkeypatch: pytest.MonkeyPatch, login: str) -> None:
    monkeypatch.setattr(common, "current_login", lambda: login)


def _events(url: str, action: str) -> list[AuditEvent]:
    db = open_database(url)
    with db.read() as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        s.expunge_all()
    db.dispose()
    return rows


@pytest.mark.parametrize(
    ("login", "argv", "expected"),
    [
        (
            "clerk",
            ["agents", "add", "x", "--name", "X", "--role", "admin"],
            "may not manage agents",
        ),
        ("clerk", ["agents", "deactivate", "sup"], "may not manage agents"),
        ("clerk", ["agents", "schedule", "sup", "--hours", "09:00-17:00"], "may not manage"),
        ("clerk", ["agents", "day-off", "sup", "2026-12-24"], "may not manage agents"),
        ("sup", ["agents", "add", "x", "--name", "X", "--role", "admin"], "administrator"),
        ("sup", ["agents", "deactivate", "adm"], "add or change an administrator"),
        ("clerk", ["report", "rpc-rate", "--from", "2026-12-01", "--to", "2026-12-02"], "reports"),
        ("clerk", ["report", "list"], "may not run reports"),
        ("nobody", ["report", "list"], "is not a tui-desk agent"),
        ("sup", ["import", "--csv", "/nonexistent.csv"], "may not import data"),
        ("nobody", ["import", "--csv", "/nonexistent.csv"], "imports are run by administrators"),
        ("sup", ["seed", "--cases", "5"], "for the host's administrators"),
    ],
)
def test_commands_check_the_agents_role(
    team: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    login: str,
    argv: list[str],
    expected: str,
) -> None:
    _as(monkeypatch, login)
    assert run(["--db", team, *argv]) == 1
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1, err
    db = open_database(team)
    assert sorted(a.login for a in list_agents(db)) == ["adm", "clerk", "sup"]
    assert all(a.active for a in list_agents(db))
    db.dispose()


def test_a_supervisor_manages_accounts_audited_as_themselves(
    team: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _as(monkeypatch, "sup")
    assert run(["--db", team, "agents", "add", "col", "--name", "王芳", "--role", "collector"]) == 0
    assert run(["--db", team, "agents", "deactivate", "clerk"]) == 0
    assert run(["--db", team, "agents", "day-off", "col", "2026-12-24"]) == 0
    db = open_database(team)
    with db.read() as s:
        sup = s.scalar(select(Agent.id).where(Agent.login == "sup"))
    db.dispose()
    for action in ("agent.add", "agent.deactivate"):
        [event] = _events(team, action)
        assert event.agent_id == sup
    assert run(["--db", team, "report", "list"]) == 0
    assert "rpc-rate" in capsys.readouterr().out


def test_the_host_admin_sets_up_the_first_administrator_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = new_database(tmp_path / "boot.db")
    monkeypatch.setattr(common, "current_login", lambda: "root")
    monkeypatch.setattr(os, "getuid", lambda: 0)
    assert run(["--db", url, "agents", "add", "adm", "--name", "管理员", "--role", "admin"]) == 0
    [event] = _events(url, "agent.add")
    assert event.agent_id is None and event.after is not None
    assert event.after["host_login"] == "root"
    capsys.readouterr()
    # Once an administrator exists, the host's root is no agent of its own.
    assert run(["--db", url, "agents", "add", "x", "--name", "X", "--role", "operator"]) == 1
    assert "is not a tui-desk agent" in capsys.readouterr().err
    # It may still act as a named agent, as before.
    assert run(["--db", url, "--agent", "adm", "agents", "add", "x", "--name", "X", "--role",
                "operator"]) == 0  # fmt: skip
    events = _events(url, "agent.add")
    assert events[-1].agent_id is not None
