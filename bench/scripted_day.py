"""A scripted operator's day through the agent-states service, then the agent-time report.

    .venv/bin/python bench/scripted_day.py [--db URL] [--csv]

Two operators work one office day (Asia/Shanghai) on a new SQLite database (or ``--db``,
migrated first): every change of state goes through ``services.agent_states`` at its
scripted moment, exactly as the desk's keys make it (ready on opening, working on a claim,
wrap-up after an outcome, one extension, pauses with a reason, offline on leaving), and
the report is then read as ``tui-desk report agent-time`` reads it. Prints the report
(text, or CSV with ``--csv``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui_desk.db.engine import open_database
from tui_desk.db.migrate import upgrade
from tui_desk.db.models import Agent, Role
from tui_desk.demo.seeder import seed_database
from tui_desk.rules.profile import load_profile
from tui_desk.services import agent_states, reports
from tui_desk.services.context import Actor, Context

PROFILE = load_profile("cn")
DAY = dt.date(2026, 12, 7)
MIDNIGHT = dt.datetime(2026, 12, 6, 16, 0, tzinfo=dt.UTC)  # 00:00 in Beijing on DAY

# (office time, state, pause reason) per operator; "extend" extends the running wrap-up.
SCRIPT: dict[str, list[tuple[str, str, str | None]]] = {
    "op1": [
        ("08:58:00", "ready", None),
        ("09:01:30", "working", None),
        ("09:09:10", "wrap_up", None),
        ("09:10:10", "ready", None),
        ("09:12:00", "working", None),
        ("09:31:45", "wrap_up", None),
        ("09:32:20", "extend", None),
        ("09:33:40", "ready", None),
        ("10:30:00", "paused", "break"),
        ("10:45:00", "ready", None),
        ("10:46:10", "working", None),
        ("11:58:00", "wrap_up", None),
        ("11:59:00", "paused", "meal"),
        ("13:00:00", "ready", None),
        ("13:05:00", "paused", "coaching"),
        ("13:35:00", "ready", None),
        ("13:36:00", "working", None),
        ("17:20:00", "wrap_up", None),
        ("17:21:00", "ready", None),
        ("18:00:00", "offline", None),
    ],
    "op2": [
        ("09:30:00", "ready", None),
        ("09:31:00", "paused", "training"),
        ("11:30:00", "ready", None),
        ("11:32:00", "working", None),
        ("12:10:00", "wrap_up", None),
        ("12:11:00", "paused", "system_problem"),
        ("12:40:00", "ready", None),
        ("12:41:00", "working", None),
        ("16:00:00", "offline", None),
    ],
}


def at(clock: str) -> dt.datetime:
    h, m, s = (int(part) for part in clock.split(":"))
    return MIDNIGHT + dt.timedelta(hours=h, minutes=m, seconds=s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of text")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="scripted-day-")
    url = args.db or f"sqlite:///{folder}/day.db"
    db = open_database(url, create=True)
    upgrade(db)
    seed_database(db, cases=50, seed=7, now=MIDNIGHT)  # cases to work on
    actors: dict[str, Actor] = {}
    with db.write() as s:
        for login, name in (("op1", "王芳"), ("op2", "李雷"), ("sup1", "周主管")):
            role = Role.SUPERVISOR if login == "sup1" else Role.OPERATOR
            agent = Agent(login=login, name=name, role=role, active=True, created_at=MIDNIGHT)
            s.add(agent)
            s.flush()
            actors[login] = Actor.of(agent)
    for login, steps in SCRIPT.items():
        for clock, state, reason in steps:
            ctx = Context.frozen(db, actors[login], at(clock), PROFILE)
            if state == "extend":
                agent_states.extend_wrap_up(ctx)
            elif state == "offline":
                agent_states.go_offline(ctx)
            else:
                case_id = 7 if state in ("working", "wrap_up") else None
                agent_states.change_state(ctx, state, reason=reason, case_id=case_id)
    table = reports.run_report(
        db,
        "agent-time",
        date_from=DAY,
        date_to=DAY,
        profile=PROFILE,
        now=MIDNIGHT + dt.timedelta(days=1),
    )
    print(reports.to_csv(table) if args.csv else reports.render_text(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
