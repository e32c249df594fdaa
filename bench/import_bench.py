"""Import N loan accounts (default 100,000) from a CSV file into a fresh SQLite file.

    .venv/bin/python bench/import_bench.py [N] [--batch-size B] [--payments P] [--again]
                                           [--db URL] [--keep PATH] [--parallel | --inline]

Generates an accounts file the way the loan system exports it (valid ID numbers and
mobile numbers, a fifth of the borrowers with two accounts, 90 % overdue), runs
``services.importer.import_csv`` and prints rows per second, the per-batch commit times
(p50 / p95 / max: how long a desk's save may wait at worst) and the peak RSS.
``--payments P`` then imports P payments on those accounts; ``--again`` re-imports the
accounts file (everything unchanged) and times that too. ``--parallel`` / ``--inline``
force the rows' checks into a helper process or keep them here (default: the importer's
choice, a helper only when a core is idle); the process's own CPU time per row and the
load average are printed beside the figures.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui_desk.collector import paced_for_import
from tui_desk.db.engine import Database, open_database
from tui_desk.db.migrate import upgrade
from tui_desk.demo.reference import CITIES, MOBILE_PREFIXES
from tui_desk.rules.idcard import generate_id
from tui_desk.rules.profile import load_profile
from tui_desk.services.importer import ImportSummary, Progress, import_csv

NOW = dt.datetime(2025, 3, 14, 6, 30, tzinfo=dt.UTC)
PROFILE = load_profile("cn")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰文辉建国红志鹏宇浩婷雪琳晨欣怡"
PRODUCTS = ("consumer_loan", "credit_card", "auto_loan", "cash_advance", "mortgage")
HEADER = (
    "account_id", "borrower_id", "name", "id_number", "address", "city", "district",
    "region_code", "phone", "phone2", "product", "status", "principal",
    "outstanding_principal", "outstanding_interest", "outstanding_penalty",
    "outstanding_fees", "overdue_amount", "annual_rate", "opened_on", "overdue_since",
)  # fmt: skip


def _yuan(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def write_accounts(path: Path, accounts: int, seed: int = 7) -> list[str]:
    """Write ``accounts`` rows; returns the overdue account ids (for payments)."""
    rng = random.Random(seed)
    overdue_ids: list[str] = []
    today = NOW.date()
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        n = 0
        borrower = 0
        while n < accounts:
            borrower += 1
            city = CITIES[rng.randrange(len(CITIES))]
            region, district = city.districts[rng.randrange(len(city.districts))]
            birth = dt.date(1960 + rng.randrange(40), 1 + rng.randrange(12), 1 + rng.randrange(28))
            person = (
                f"C{borrower:08d}",
                SURNAMES[rng.randrange(len(SURNAMES))]
                + "".join(GIVEN[rng.randrange(len(GIVEN))] for _ in range(1 + rng.randrange(2))),
                generate_id(rng, region, birth, borrower % 1000),
                f"{city.name}市{district}{city.streets[rng.randrange(len(city.streets))]}"
                f"{1 + rng.randrange(300)}号{1 + rng.randrange(20)}单元{rng.randrange(2000)}室",
                f"{city.name}市",
                district,
                region,
            )
            phones = [
                f"{MOBILE_PREFIXES[rng.randrange(len(MOBILE_PREFIXES))]}{rng.randrange(10**8):08d}"
            ]
            phones.append(
                f"{MOBILE_PREFIXES[rng.randrange(len(MOBILE_PREFIXES))]}{rng.randrange(10**8):08d}"
                if rng.random() < 0.4
                else ""
            )
            for _ in range(2 if rng.random() < 0.2 else 1):
                if n >= accounts:
                    break
                n += 1
                principal = 500_000 + rng.randrange(20_000) * 1_000
                outstanding = (
                    principal * (20 + rng.randrange(80)) // 100,
                    rng.randrange(500_000),
                    rng.randrange(100_000),
                    rng.randrange(20_000),
                )
                overdue = rng.random() < 0.9
                opened = today - dt.timedelta(days=400 + rng.randrange(1500))
                since = today - dt.timedelta(days=1 + rng.randrange(360)) if overdue else None
                account = f"LN{n:09d}"
                if overdue:
                    overdue_ids.append(account)
                out.writerow(
                    (
                        account,
                        *person[:7],
                        phones[0],
                        phones[1],
                        PRODUCTS[rng.randrange(len(PRODUCTS))],
                        "overdue" if overdue else "current",
                        _yuan(principal),
                        *(_yuan(v) for v in outstanding),
                        _yuan(sum(outstanding) // 3) if overdue else "",
                        f"0.{rng.randrange(500, 2400):04d}",
                        opened.isoformat(),
                        since.isoformat() if since else "",
                    )
                )
    return overdue_ids


def write_payments(path: Path, accounts: list[str], count: int, seed: int = 8) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(("payment_id", "account_id", "amount", "paid_on", "channel", "reference"))
        for i in range(count):
            day = NOW.date() - dt.timedelta(days=rng.randrange(30))
            out.writerow(
                (
                    f"P{i + 1:09d}",
                    accounts[rng.randrange(len(accounts))],
                    _yuan(10_000 + rng.randrange(500_000)),
                    day.isoformat(),
                    "bank_transfer",
                    f"TX{i + 1:010d}",
                )
            )


def _progress(label: str) -> Progress:
    last = [0.0]

    def show(done: int, total: int | None) -> None:
        now = time.monotonic()
        if total and done < total and now - last[0] < 0.5:
            return
        last[0] = now
        print(f"\r  {label:<10} {done:>9,}/{total or 0:,}", end="", file=sys.stderr, flush=True)
        if total is None or done >= total:
            print(file=sys.stderr)

    return show


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process and of its finished children (the checking helper)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def _timed(label: str, run: Callable[[], ImportSummary]) -> ImportSummary:
    load, (own, kids) = os.getloadavg()[0], _cpu()
    summary = run()
    own_after, kids_after = _cpu()
    _report(label, summary)
    rows = max(1, summary.rows)
    print(
        f"  CPU {(own_after - own) / rows * 1e6:,.0f} us a row in this process, "
        f"{(kids_after - kids) / rows * 1e6:,.0f} in the helper; load average "
        f"{load:.2f} before, {os.getloadavg()[0]:.2f} after ({os.cpu_count()} CPUs)"
    )
    return summary


def _report(label: str, summary: ImportSummary) -> None:
    commits = sorted(summary.commit_seconds) or [0.0]
    p95 = commits[min(len(commits) - 1, int(len(commits) * 0.95))]
    rate = summary.rows / summary.elapsed_seconds if summary.elapsed_seconds else 0.0
    print(
        f"{label}: {summary.rows:,} rows in {summary.elapsed_seconds:.1f} s ({rate:,.0f} rows/s); "
        f"created {summary.created:,}, updated {summary.updated:,}, "
        f"unchanged {summary.unchanged:,}, rejected {summary.rejected:,}"
    )
    print(
        f"  {len(summary.commit_seconds)} batch transactions: p50 "
        f"{statistics.median(commits) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {commits[-1] * 1000:.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("accounts", nargs="?", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--payments", type=int, default=0)
    parser.add_argument("--again", action="store_true", help="re-import (all unchanged)")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--keep", type=Path, help="write the SQLite database here and keep it")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--parallel", action="store_true", help="check rows in a helper process")
    mode.add_argument("--inline", action="store_true", help="check rows in this process")
    args = parser.parse_args()
    parallel = True if args.parallel else False if args.inline else None

    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        folder = Path(tmp)
        url = args.db or f"sqlite:///{args.keep or folder / 'bench.db'}"
        db: Database = open_database(url)
        upgrade(db)
        started = time.perf_counter()
        accounts_csv = folder / "accounts.csv"
        overdue = write_accounts(accounts_csv, args.accounts)
        print(
            f"generated {args.accounts:,} accounts in {time.perf_counter() - started:.1f} s "
            f"({accounts_csv.stat().st_size / 1e6:.1f} MB) on {db.describe()}"
        )
        # As ``tui-desk import`` does: what is loaded now lives on, out of the collector's
        # way, and young collections are spaced for the import's chunks.
        with paced_for_import():
            _timed(
                "accounts",
                lambda: import_csv(
                    db,
                    accounts_csv,
                    now=NOW,
                    profile=PROFILE,
                    batch_size=args.batch_size,
                    progress=_progress("accounts"),
                    parallel=parallel,
                ),
            )
            if args.again:
                _timed(
                    "re-import",
                    lambda: import_csv(
                        db,
                        accounts_csv,
                        now=NOW,
                        profile=PROFILE,
                        batch_size=args.batch_size,
                        progress=_progress("again"),
                        parallel=parallel,
                    ),
                )
            if args.payments:
                payments_csv = folder / "payments.csv"
                write_payments(payments_csv, overdue, args.payments)
                _timed(
                    "payments",
                    lambda: import_csv(
                        db,
                        payments_csv,
                        now=NOW,
                        profile=PROFILE,
                        batch_size=args.batch_size,
                        progress=_progress("payments"),
                        parallel=parallel,
                    ),
                )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MB")
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
