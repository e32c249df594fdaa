"""Supervisor board snapshot: refresh time of each section, and a board's read, at size.

    .venv/bin/python bench/board_bench.py --db sqlite:////tmp/bench-1m.db [--runs 7] [--plans]

The day's rows are first counted once (the running totals' start), and the old way of
refreshing "today" (a full count of the day's rows) is timed beside the new one. Each
section is refreshed alone through ``refresh_snapshot`` (the cursor read, the
aggregates, the fenced upsert), ``runs`` times; then ``board_version`` (what every open
board polls) and ``read_board`` (snapshot rows + live presence). ``now`` defaults to the
newest contact attempt in the database, so "today" is the seeded data's busiest day.
The database gains ``board_snapshot`` and ``board_count`` rows and nothing else.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import func, select, text

from tui_desk.db.engine import Database, open_database
from tui_desk.db.models import CaseStatus, CollectionCase, ContactAttempt
from tui_desk.rules.profile import load_profile
from tui_desk.services import board, day_counts


def _ms(fn: Callable[[], Any], runs: int) -> tuple[float, float, float, float]:
    """Wall p50, p95, max and CPU p50 (this process: SQLite runs in it) in ms."""
    times = []
    cpu = []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, times[-1], statistics.median(cpu)


def _plans(db: Database, now: dt.datetime) -> None:
    """EXPLAIN of every statement a refresh issues (SQLite: QUERY PLAN; PostgreSQL: plain)."""
    profile = load_profile("cn")
    day = board._office_day(now, profile)
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, params))

    from sqlalchemy import event

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.read() as s:
            board._depth(s, profile)
            board._today(s, profile, day)
            board._risks(s, now, profile, day)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    with db.engine.connect() as conn:
        for statement, params in captured:
            print("--", " ".join(statement.split())[:160])
            for row in conn.exec_driver_sql(prefix + statement, params):
                print("   ", row[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--now", help="ISO time (UTC); default: the newest contact attempt")
    parser.add_argument("--plans", action="store_true", help="print the query plans")
    args = parser.parse_args()

    db = open_database(args.db)
    profile = load_profile("cn")
    with db.read() as s:
        newest = s.scalar(select(func.max(ContactAttempt.started_at)))
        open_cases = s.scalar(
            select(func.count())
            .select_from(CollectionCase)
            .where(CollectionCase.status == CaseStatus.OPEN)
        )
    if args.now:
        now = dt.datetime.fromisoformat(args.now).replace(tzinfo=dt.UTC)
    else:
        now = newest + dt.timedelta(minutes=1) if newest else dt.datetime.now(dt.UTC)
    day = board._office_day(now, profile)
    with db.read() as s:
        contacts_today = s.scalar(
            select(func.count())
            .select_from(ContactAttempt)
            .where(ContactAttempt.started_at >= day.start, ContactAttempt.started_at < day.end)
        )
        if db.is_sqlite:
            s.execute(text("SELECT 1"))
    print(f"database      {db.describe()}")
    print(f"open cases    {open_cases:,}")
    print(f"now           {now.isoformat()} (office day {day.today}, {day.hours} hours)")
    print(f"contacts today {contacts_today:,}")
    print(f"runs          {args.runs} each (after one warm-up)")
    print()
    print(f"load average  {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'what':34} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} {'cpu p50':>9}")

    def show(label: str, fn: Callable[[], Any]) -> None:
        fn()  # warm-up: page cache, statement cache
        p50, p95, worst, cpu = _ms(fn, args.runs)
        print(f"{label:34} {p50:9.1f} {p95:9.1f} {worst:9.1f} {cpu:9.1f}", flush=True)

    # The day's rows counted once (what a refresh did every time before the running
    # totals): first with the counters dropped, then what every refresh now costs.
    with db.write() as s:
        s.execute(text("DELETE FROM board_count_day"))
    start = time.perf_counter()
    day_counts.count_slots(db, day.first_slot, day.end_slot, now)
    print(f"{'count the day once (at start)':34} {(time.perf_counter() - start) * 1000:9.1f}")

    def recount() -> None:
        with db.read() as s:
            board.today_recount(s, db, profile, day)

    show("today: full count (old refresh)", recount)
    for name in board.SECTIONS:
        show(f"refresh {name}", partial(board.refresh_snapshot, db, now, profile, sections=[name]))
    show(
        "refresh cheap (fast path)",
        lambda: board.refresh_snapshot(db, now, profile, sections=board.CHEAP_SECTIONS),
    )
    show("board_version", lambda: board.board_version(db))
    show("read_board", lambda: board.read_board(db, now, profile))
    result = board.read_board(db, now, profile)
    print()
    print(f"board v{result.version}: today {result.today}")
    print(f"risks {result.risk_counts}, orphans {result.orphans}")
    if args.plans:
        print()
        _plans(db, now)
    db.dispose()


if __name__ == "__main__":
    main()
