"""Seed N demo cases (default 1,000,000) into a fresh SQLite file and print the figures.

    .venv/bin/python bench/seed_bench.py [N] [--seed S] [--keep PATH] [--inline] [--check]

Prints wall time, rows per second, the file size, the CPU time of this process and of
the helper processes together, the peak resident memory of this process and of the
largest helper, and where the time went. ``--check`` also runs SQLite's foreign-key and
integrity checks over the result (slow at a million cases).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui_desk.db.engine import open_database
from tui_desk.db.migrate import upgrade
from tui_desk.demo.seeder import seed_database

NOW = dt.datetime(2025, 3, 14, 6, 30, tzinfo=dt.UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, help="write the database here and keep it")
    parser.add_argument("--inline", action="store_true", help="no helper processes")
    parser.add_argument("--check", action="store_true", help="run foreign-key/integrity checks")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="seed-bench-") as tmp:
        path: Path = args.keep or Path(tmp) / "bench.db"
        if path.exists():
            sys.exit(f"{path} exists; remove it first")
        db = open_database(f"sqlite:///{path}")
        upgrade(db)
        last = [0.0]

        def progress(phase: str, done: int, total: int) -> None:
            now = time.perf_counter()
            if now - last[0] > 2 or done == total:
                last[0] = now
                print(f"  {phase}: {done:,}/{total:,}", file=sys.stderr, flush=True)

        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        summary = seed_database(
            db,
            cases=args.cases,
            seed=args.seed,
            now=NOW,
            progress=progress,
            parallel=False if args.inline else None,
        )
        wall = time.perf_counter() - started
        own = resource.getrusage(resource.RUSAGE_SELF)
        helper = resource.getrusage(resource.RUSAGE_CHILDREN)
        rows = summary.total_rows
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        print(f"cases            {args.cases:,}")
        print(f"rows             {rows:,}")
        print(f"wall time        {wall:.1f} s")
        print(f"rows/s           {rows / wall:,.0f}")
        print(f"cases/s          {args.cases / wall:,.0f}")
        print(f"file size        {size / 1e6:,.0f} MB")
        print(
            f"cpu              {own.ru_utime + own.ru_stime:.1f} s this process, "
            f"{helper.ru_utime + helper.ru_stime:.1f} s helper processes"
        )
        print(
            f"peak RSS         {own.ru_maxrss / 1024:,.0f} MB this process, "
            f"{helper.ru_maxrss / 1024:,.0f} MB largest helper"
        )
        print(
            f"load average     {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
            f"({os.cpu_count()} CPUs; other work on the machine slows every figure)"
        )
        print(
            "phases (s)       "
            + ", ".join(f"{k} {v:.1f}" for k, v in summary.phase_seconds.items())
        )
        for table, count in summary.counts.items():
            print(f"  {table:<22}{count:>12,}")
        if args.check:
            with db.engine.connect() as conn:
                mark = time.perf_counter()
                fk = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                ok = conn.exec_driver_sql("PRAGMA integrity_check").fetchall()
                print(
                    f"foreign_key_check {len(fk)} problems; integrity_check {ok[:3]} "
                    f"({time.perf_counter() - mark:.0f} s)"
                )
        db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
