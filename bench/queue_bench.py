"""Queue service latency at a million cases and at a thousand: pages, filters, search, take-next.

Usage:
    python bench/queue_bench.py [--db URL ...] [--samples 40] [--takes 200]

Without ``--db`` it uses (and seeds, if missing) ``/tmp/q1m.db`` with 1,000,000 cases
(about a minute) and ``/tmp/q1k.db`` with 1,000. Each database is measured in its own
child process, so the RSS printed is that database's alone. Service level: one call from
the desk's worker thread to the rows it gets back (the UI's keystroke -> frame is
bench/keystroke_bench.py).

Measured, each as p50 / p95 over ``--samples`` calls with varying arguments:
    first page, next page (keyset after a random position), page up (before a random
    position), last page; every filter (scope, each DPD bucket, stages, broken promises,
    due today, on hold, registered, combinations); search by 1-, 2- and 3-character
    names drawn from the borrowers, a phone number typed in several formats, its last 4
    digits, an ID tail, a case number, and queries that match nothing; take-next (a
    write: the bench agents' leases move, audit events are added).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from tui_desk.clock import utcnow
from tui_desk.db.engine import Database, open_database
from tui_desk.db.migrate import upgrade
from tui_desk.db.models import Agent, Borrower, CollectionCase, Phone, Role, Stage
from tui_desk.demo.seeder import seed_database
from tui_desk.rules.priority import bucket_labels
from tui_desk.rules.profile import load_profile
from tui_desk.services.context import Actor, Context
from tui_desk.services.queue import QueueFilter, Scope, queue_page, take_next
from tui_desk.views.queue import QueueKey

BUDGET_MS = 50.0
DEFAULTS = [("sqlite:////tmp/q1m.db", 1_000_000), ("sqlite:////tmp/q1k.db", 1_000)]
PROFILE = load_profile("cn")


def ensure(url: str, cases: int) -> None:
    """Seed ``url`` with ``cases`` cases unless it already holds some."""
    db = open_database(url)
    try:
        upgrade(db)
        with db.read() as s:
            have = s.scalar(select(func.count()).select_from(CollectionCase)) or 0
        if have == 0:
            print(f"seeding {cases:,} cases into {db.describe()} ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            seed_database(db, cases=cases)
            print(f"  seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    finally:
        db.dispose()


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn: Callable[[], object], samples: int) -> list[float]:
    fn()  # warm: statement cache, page cache
    out = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def percentiles(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return statistics.median(values), p95


class Samples:
    """Arguments drawn from the database itself, so searches hit real names and numbers."""

    def __init__(self, db: Database, n: int, rng: random.Random) -> None:
        with db.read() as s:
            top = s.scalar(select(func.max(CollectionCase.id))) or 1
            case_ids = [rng.randint(1, top) for _ in range(n * 3)]
            keys = s.execute(
                select(CollectionCase.priority, CollectionCase.id).where(
                    CollectionCase.id.in_(case_ids), CollectionCase.status == "open"
                )
            ).all()
            self.keys: list[QueueKey] = [(p, i) for p, i in keys][:n]
            b_top = s.scalar(select(func.max(Borrower.id))) or 1
            picks = [rng.randint(1, b_top) for _ in range(n * 2)]
            rows = s.execute(
                select(Borrower.name, Borrower.id_number).where(Borrower.id.in_(picks))
            ).all()
            names = [r[0] for r in rows]
            self.one = [name[0] for name in names][:n]
            self.two = [name[:2] for name in names][:n]
            self.three = [name for name in names if len(name) >= 3][:n]
            self.id_tails = [f"id:{r[1][-4:]}" for r in rows][:n]
            phones = list(
                s.scalars(
                    select(Phone.e164).where(Phone.borrower_id.in_(picks), Phone.e164.like("+86%"))
                )
            )[:n]
            self.case_ids = [f"#{i}" for _, i in self.keys]
        self.full_phones = []
        for i, e164 in enumerate(phones):
            national = e164[3:]
            formats = [
                f"+86 {national[:3]} {national[3:7]} {national[7:]}",
                f"0086-{national[:3]}-{national[3:7]}-{national[7:]}",
                national,
            ]
            self.full_phones.append(formats[i % 3])
        self.suffixes = [e164[-4:] for e164 in phones]
        self.no_match = ["钱钱钱", "乙乙", "Zzyzx", "id:00000X", "99999999", "+86 199 0000 0001"]


def bench(url: str, samples: int, takes: int) -> dict[str, Any]:
    rng = random.Random(7)
    db = open_database(url)
    results: dict[str, Any] = {"db": db.describe(), "rows": []}
    with db.read() as s:
        results["cases"] = s.scalar(select(func.count()).select_from(CollectionCase))
        ops = list(
            s.scalars(select(Agent).where(Agent.role == Role.OPERATOR, Agent.active.is_(True)))
        )
        actors = [Actor.of(a) for a in ops]
    actor = actors[min(1, len(actors) - 1)]
    data = Samples(db, samples, rng)

    def page(flt: QueueFilter, **kw: Any) -> Callable[[], object]:
        return lambda: queue_page(Context(db, actor, utcnow, PROFILE), flt, **kw)

    def cycling(
        make: Callable[[Any], Callable[[], object]], values: list[Any]
    ) -> Callable[[], object]:
        it = iter(range(10**9))
        return lambda: make(values[next(it) % len(values)])()

    def record(name: str, fn: Callable[[], object], n: int = samples) -> None:
        p50, p95 = percentiles(timed(fn, n))
        results["rows"].append((name, p50, p95))
        print(f"  {name:44s} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms", file=sys.stderr, flush=True)

    first = queue_page(Context(db, actor, utcnow, PROFILE), QueueFilter())
    record("first page", page(QueueFilter()))
    record("next page (after the first)", page(QueueFilter(), after=first.rows[-1].key))
    record(
        "next page (after a random position)",
        cycling(lambda k: page(QueueFilter(), after=k), data.keys),
    )
    record(
        "page up (before a random position)",
        cycling(lambda k: page(QueueFilter(), before=k), data.keys),
    )
    record("last page", page(QueueFilter(), before=(-(2**31), 0)))

    filters = [
        QueueFilter(scope=Scope.MINE),
        QueueFilter(scope=Scope.UNOWNED),
        *(QueueFilter(bucket=b) for b in bucket_labels(PROFILE.dpd_bounds)),
        QueueFilter(stage=Stage.CONTACTING),
        QueueFilter(stage=Stage.DOCUMENTS),
        QueueFilter(stage=Stage.AGREEMENT),
        QueueFilter(broken_only=True),
        QueueFilter(due_today=True),
        QueueFilter(on_hold=True),
        QueueFilter(registered_only=True),
        QueueFilter(scope=Scope.MINE, due_today=True, broken_only=True),
        QueueFilter(scope=Scope.UNOWNED, stage=Stage.NEW, due_today=True),
        QueueFilter(registered_only=True, stage=Stage.DOCUMENTS),
    ]
    for flt in filters:
        record(f"filter: {flt.describe()}", page(flt))
    record(
        "filter 31-60, next page at random depth",
        cycling(lambda k: page(QueueFilter(bucket="31-60"), after=k), data.keys),
    )

    def search(values: list[str]) -> Callable[[], object]:
        return cycling(lambda q: page(QueueFilter(search=q)), values)

    record("search: 1-char name", search(data.one))
    record("search: 2-char name", search(data.two))
    record("search: 3-char name", search(data.three))
    record("search: full phone (+86 / 0086- / national)", search(data.full_phones))
    record("search: phone last 4 digits", search(data.suffixes))
    record("search: ID tail (id:NNNN)", search(data.id_tails))
    record("search: case number (#id)", search(data.case_ids))
    record("search: no match", search(data.no_match))
    second_pages = []
    for q in data.one[:10]:
        rows = queue_page(Context(db, actor, utcnow, PROFILE), QueueFilter(search=q)).rows
        if rows:
            second_pages.append((q, rows[-1].key))
    record(
        "search: 1-char name, next page",
        cycling(lambda qk: page(QueueFilter(search=qk[0]), after=qk[1]), second_pages),
    )

    claimers = actors[: max(1, min(10, len(actors)))]
    turn = iter(range(10**9))
    record(
        "take next",
        lambda: take_next(Context(db, claimers[next(turn) % len(claimers)], utcnow, PROFILE)),
        takes,
    )
    results["rss_mb"] = rss_mb()
    db.dispose()
    return results


def child(url: str, samples: int, takes: int, out: Any) -> None:
    out.put(bench(url, samples, takes))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", help="database URL (repeatable)")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--takes", type=int, default=200)
    args = parser.parse_args()
    targets = [(u, 0) for u in args.db] if args.db else DEFAULTS
    for url, cases in targets:
        if cases:
            ensure(url, cases)
    ctx = multiprocessing.get_context("spawn")
    reports = []
    for url, _cases in targets:
        print(f"{url}:", file=sys.stderr, flush=True)
        out = ctx.Queue()
        proc = ctx.Process(target=child, args=(url, args.samples, args.takes, out))
        proc.start()
        reports.append(out.get())
        proc.join()

    names = [name for name, _, _ in reports[0]["rows"]]
    header = f"{'operation':46s}" + "".join(
        f" | {r['cases']:>9,} cases p50/p95 ms" for r in reports
    )
    print(header)
    print("-" * len(header))
    misses = []
    for i, name in enumerate(names):
        cells = []
        for r in reports:
            _, p50, p95 = r["rows"][i]
            cells.append(f" | {p50:12.1f} / {p95:8.1f}   ")
            if p95 > BUDGET_MS:
                misses.append(f"{name} at {r['cases']:,} cases: p95 {p95:.1f} ms")
        print(f"{name:46s}" + "".join(cells))
    print(f"{'RSS (MB)':46s}" + "".join(f" | {r['rss_mb']:23.0f}   " for r in reports))
    print(json.dumps({"budget_ms": BUDGET_MS, "misses": misses}, ensure_ascii=False))
    with open("/proc/loadavg") as fh:
        print(f"load average during the run: {fh.read().split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
