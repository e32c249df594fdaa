"""The agent-time report against a scripted day of spans, on both engines, and its CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.factories import Factory, new_database
from tests.spans import write_spans
from tui_desk import cli
from tui_desk.db.engine import Database, open_database
from tui_desk.db.models import Role
from tui_desk.domain import AgentState
from tui_desk.rules.profile import load_profile
from tui_desk.services import reports
from tui_desk.services.agent_time import open_spans
from tui_desk.services.context import Actor
from tui_desk.services.errors import PermissionDenied, ServiceError

PROFILE = load_profile("cn")
DAY = dt.date(2026, 3, 10)
# 2026-03-10 00:00 in Beijing
MIDNIGHT = dt.datetime(2026, 3, 9, 16, 0, tzinfo=dt.UTC)
NOW = MIDNIGHT + dt.timedelta(hours=14)  # 14:00 office time on the 10th


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return MIDNIGHT + dt.timedelta(hours=hour, minutes=minute, seconds=second)


def scripted_day(db: Database) -> tuple[int, int]:
    f = Factory(db, now=NOW)
    op1 = f.agent(login="op1", name="王芳")
    op2 = f.agent(login="op2", name="李雷")
    f.agent(login="idle")  # no span: left out
    # op1: began the evening before (working past midnight), a day of work, open at the end.
    write_spans(
        db,
        op1,
        [
            (AgentState.WORKING, at(-1)),
            (AgentState.WRAP_UP, at(0, 30)),
            (AgentState.OFFLINE, at(0, 31)),
            (AgentState.READY, at(9)),
            (AgentState.WORKING, at(9, 2, 15)),
            (AgentState.WRAP_UP, at(9, 20)),
            (AgentState.PAUSED, at(9, 21, 40), "break"),
            (AgentState.READY, at(9, 36, 40)),
            (AgentState.PAUSED, at(12), "meal"),
            (AgentState.READY, at(13)),
        ],
    )
    # op2: one closed stretch of training, then nothing (the rest is offline).
    write_spans(db, op2, [(AgentState.PAUSED, at(10), "training")], until=at(11, 30))
    return op1, op2


def test_a_scripted_day_in_exact_seconds(db: Database) -> None:
    scripted_day(db)
    table = reports.run_report(
        db, "agent-time", date_from=DAY, date_to=DAY, profile=PROFILE, now=NOW
    )
    columns = list(table.columns)
    assert columns[:5] == ["day", "agent", "name", "ready", "paused"]
    assert columns[-4:] == ["working", "wrap-up", "offline", "day length"]
    by_login = {row[1]: dict(zip(columns, row, strict=True)) for row in table.rows}
    assert set(by_login) == {"op1", "op2"}
    op1 = by_login["op1"]
    # ready 09:00-09:02:15, 09:36:40-12:00, 13:00-14:00 (open, up to now)
    assert op1["ready"] == "3:25:35"
    assert op1["paused: break"] == "0:15:00"
    assert op1["paused: meal"] == "1:00:00"
    assert op1["paused"] == "1:15:00"
    assert op1["working"] == "0:47:45"  # 00:00-00:30 and 09:02:15-09:20
    assert op1["wrap-up"] == "0:02:40"  # 00:30-00:31 and 09:20-09:21:40
    assert op1["offline"] == "8:29:00"  # 00:31-09:00
    assert op1["day length"] == "14:00:00"  # the day so far
    op2 = by_login["op2"]
    assert op2["paused: training"] == "1:30:00"
    assert op2["offline"] == "12:30:00"
    assert op2["paused: meal"] == "0:00:00"
    assert table.total is not None
    assert table.total[columns.index("day length")] == "28:00:00"
    assert table.total[columns.index("ready")] == "3:25:35"


def test_past_days_add_up_to_whole_days(db: Database) -> None:
    scripted_day(db)
    later = NOW + dt.timedelta(days=3)
    table = reports.run_report(
        db,
        "agent-time",
        date_from=DAY - dt.timedelta(days=1),
        date_to=DAY + dt.timedelta(days=1),
        profile=PROFILE,
        now=later,
    )
    days = [(row[0], row[1]) for row in table.rows]
    # op1's evening span began on the 9th; op1's open ready span runs through the 11th.
    assert days == [
        ("2026-03-09", "op1"),
        ("2026-03-10", "op1"),
        ("2026-03-10", "op2"),
        ("2026-03-11", "op1"),
    ]
    length = table.columns.index("day length")
    assert all(row[length] == "24:00:00" for row in table.rows)
    assert table.rows[0][table.columns.index("working")] == "1:00:00"
    assert table.rows[3][table.columns.index("ready")] == "24:00:00"


def test_csv_and_text(db: Database) -> None:
    scripted_day(db)
    table = reports.run_report(
        db, "agent-time", date_from=DAY, date_to=DAY, profile=PROFILE, now=NOW
    )
    lines = reports.to_csv(table).splitlines()
    assert lines[0].startswith("day,agent,name,ready,paused,")
    assert lines[1].startswith("2026-03-10,op1,王芳,3:25:35,1:15:00,")
    assert lines[-1].startswith("total,,,")
    assert "op2" in reports.render_text(table)


def test_supervisors_only_and_bounded(db: Database) -> None:
    f = Factory(db, now=NOW)
    op = f.agent(login="op")
    boss = f.agent(login="boss", role=Role.SUPERVISOR)
    operator = Actor(id=op, login="op", name="op", role=Role.OPERATOR)
    with pytest.raises(PermissionDenied):
        reports.report_for(
            operator, db, "agent-time", date_from=DAY, date_to=DAY, profile=PROFILE, now=NOW
        )
    supervisor = Actor(id=boss, login="boss", name="boss", role=Role.SUPERVISOR)
    table = reports.report_for(
        supervisor, db, "agent-time", date_from=DAY, date_to=DAY, profile=PROFILE, now=NOW
    )
    assert table.rows == []
    with pytest.raises(ServiceError):
        reports.run_report(
            db,
            "agent-time",
            date_from=DAY - dt.timedelta(days=200),
            date_to=DAY,
            profile=PROFILE,
            now=NOW,
        )


def test_open_spans(db: Database) -> None:
    op1, _op2 = scripted_day(db)
    with db.read() as s:
        current = open_spans(s)
    assert set(current) == {op1}
    assert current[op1].state is AgentState.READY


def test_cli_writes_the_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = new_database(tmp_path / "r.db")
    db = open_database(url)
    try:
        scripted_day(db)
        Factory(db, now=NOW).agent(login="boss", role=Role.SUPERVISOR)
    finally:
        db.dispose()
    target = tmp_path / "agent-time.csv"
    argv = ["--db", url, "--agent", "boss", "report", "agent-time", "--from", "2026-03-10"]
    argv += ["--to", "2026-03-10", "--csv", str(target)]
    try:
        status = cli.main(argv)
    except SystemExit as exc:
        status = int(exc.code or 0)
    assert status == 0
    assert "wrote agent-time" in capsys.readouterr().out
    text = target.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("day,agent,name,ready,paused,paused: break,")
    assert "2026-03-10,op1,王芳," in text
