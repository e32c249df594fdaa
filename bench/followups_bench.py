"""Follow-ups (回访) at a million cases: the worker's jobs, signing end to end, the list.

Usage:
    python bench/followups_bench.py [--db URL] [--cases 1000000] [--sign 200]
        [--samples 50] [--backlog-days 30]

Without ``--db`` it uses ``/tmp/bench-1m.db`` and seeds it when it holds fewer cases than
``--cases`` (about a minute for 1M on SQLite); an existing file is reused, its schema
upgraded first. The run writes to the database: it signs ``--sign`` agreements (and the
worker's jobs mark what is due), so each run leaves a few hundred more signed cases.

Printed:
    what the database holds (cases, follow-ups by status, agreements signed, active plans);
    the worker's jobs ``missed_follow_ups`` and ``missed_instalments`` on the whole
    database through a ``Worker`` tick (leader lease, fenced batches), a first and a
    second (steady-state) run, with the rows each changed; then the same on a copy of the
    file ``--backlog-days`` ahead (default 30: the backlog of a worker that was down; the
    copy is removed afterwards, the database itself is not moved into the future);
    end to end on ``--sign`` open cases without a plan (stage "visited" or "documents"):
    plan basis, plan, agreement draft, ready, sign (which schedules the follow-ups), each
    as p50 / p95 / max, and the follow-ups each signing created;
    ``follow_up_list`` for the operator with the most open follow-ups and for everyone,
    as the desk calls it (due within the profile's list_ahead_days) and unbounded;
    the process RSS and the load average (2 cores and other work skew every figure).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, exists, func, select

from tui_desk.clock import utcnow
from tui_desk.db.engine import Database, open_database
from tui_desk.db.migrate import ensure_schema
from tui_desk.db.models import (
    Agreement,
    AgreementStatus,
    CaseStatus,
    CollectionCase,
    FollowUp,
    FollowUpStatus,
    PlanStatus,
    RepaymentPlan,
    Stage,
    WorkerJobRun,
)
from tui_desk.demo.seeder import seed_database
from tui_desk.rules.profile import load_profile
from tui_desk.services.agents import resolve_actor
from tui_desk.services.agreements import draft_agreement, mark_ready, sign_agreement
from tui_desk.services.case_state import office_today
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import ServiceError
from tui_desk.services.followups import (
    MISSED_FOLLOW_UPS_EVERY,
    follow_up_list,
    follow_up_policy,
    settle_missed_follow_ups,
)
from tui_desk.services.ledger import MISSED_INSTALMENTS_EVERY, settle_missed_instalments
from tui_desk.services.plans import create_plan, plan_basis
from tui_desk.worker.runtime import Job, Worker

PROFILE_NAME = "cn"
PROFILE = load_profile(PROFILE_NAME)
SUPERVISORS = ("sup01", "demo-sup")
STEPS = ("plan basis", "create plan", "draft agreement", "mark ready", "sign", "total")
DEFAULT_DB = "sqlite:////tmp/bench-1m.db"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    found: dict[str, float] = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(line.split()[1]) / 1024
    return found.get("VmRSS", float("nan")), found.get("VmHWM", float("nan"))


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min, {os.cpu_count()} CPUs)"


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """(p50, p95, max) of ``values``."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, ordered[-1]


def fmt_ms(values: list[float]) -> str:
    if not values:
        return "no samples"
    p50, p95, top = percentiles(values)
    return f"p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   max {top:8.1f} ms   (n={len(values)})"


# --- the database -----------------------------------------------------------------------------


def ensure_seeded(url: str, cases: int) -> Database:
    """Open ``url``, upgrade its schema, and seed it up to ``cases`` cases."""
    db = open_database(url)
    started = time.perf_counter()
    revision = ensure_schema(db)
    log(f"schema {revision} ({time.perf_counter() - started:.1f} s to check/upgrade)")
    with db.read() as s:
        have = s.scalar(select(func.count()).select_from(CollectionCase)) or 0
    if have < cases:
        log(f"{db.describe()} holds {have:,} cases; seeding {cases - have:,} more ...")
        last = [0.0]

        def progress(phase: str, done: int, total: int) -> None:
            now = time.perf_counter()
            if now - last[0] > 10 or done == total:
                last[0] = now
                log(f"  {phase}: {done:,}/{total:,}")

        started = time.perf_counter()
        seed_database(db, cases=cases - have, progress=progress)
        print(f"seeded {cases - have:,} cases in {time.perf_counter() - started:.0f} s")
    else:
        print(f"reusing {db.describe()} ({have:,} cases)")
    return db


def holdings(db: Database) -> dict[str, Any]:
    with db.read() as s:
        cases = dict(
            s.execute(
                select(CollectionCase.status, func.count()).group_by(CollectionCase.status)
            ).all()
        )
        follow_ups = dict(
            s.execute(select(FollowUp.status, func.count()).group_by(FollowUp.status)).all()
        )
        agreements = dict(
            s.execute(select(Agreement.status, func.count()).group_by(Agreement.status)).all()
        )
        plans = dict(
            s.execute(
                select(RepaymentPlan.status, func.count()).group_by(RepaymentPlan.status)
            ).all()
        )
    return {"cases": cases, "follow_ups": follow_ups, "agreements": agreements, "plans": plans}


def print_holdings(title: str, held: dict[str, Any]) -> None:
    cases, fu = held["cases"], held["follow_ups"]
    print(title)
    print(
        f"  cases            {sum(cases.values()):>12,}   open {cases.get(CaseStatus.OPEN, 0):,}"
        f", closed {cases.get(CaseStatus.CLOSED, 0):,}"
    )
    print(
        f"  follow-up rows   {sum(fu.values()):>12,}   "
        + ", ".join(f"{status.value} {fu.get(status, 0):,}" for status in FollowUpStatus)
    )
    agr = held["agreements"]
    print(
        f"  agreements       {sum(agr.values()):>12,}   signed "
        f"{agr.get(AgreementStatus.SIGNED, 0):,}, "
        + ", ".join(
            f"{status.value} {agr.get(status, 0):,}"
            for status in AgreementStatus
            if status is not AgreementStatus.SIGNED
        )
    )
    pl = held["plans"]
    print(
        f"  plans            {sum(pl.values()):>12,}   active {pl.get(PlanStatus.ACTIVE, 0):,}, "
        + ", ".join(
            f"{status.value} {pl.get(status, 0):,}"
            for status in PlanStatus
            if status is not PlanStatus.ACTIVE
        )
    )


# --- the worker's jobs ------------------------------------------------------------------------


def run_job(
    db: Database,
    name: str,
    every: dt.timedelta,
    body: Callable[[Database, dt.datetime], Any],
    ahead: dt.timedelta = dt.timedelta(0),
) -> tuple[float, Any, str]:
    """One ``Worker`` tick running only ``name`` at the real clock (+ ``ahead``);
    (seconds, result, status).

    The job's bookkeeping row is removed first so that it is due whatever ran before.
    """
    job_name = f"bench_{name}"
    with db.write() as s:
        s.execute(delete(WorkerJobRun).where(WorkerJobRun.name == job_name))
    now = utcnow() + ahead
    out: dict[str, Any] = {}

    def run(database: Database, at: dt.datetime) -> str:
        result = body(database, at)
        out["result"] = result
        return str(result.summary())

    worker = Worker(db, [Job(job_name, every, run)], clock=lambda: now, identity="followups-bench")
    started = time.perf_counter()
    try:
        tick = worker.tick()
    finally:
        worker.release()
    seconds = time.perf_counter() - started
    if not tick.leading:
        raise SystemExit(f"the bench worker could not lead: {tick.holder} holds the lease")
    status = tick.ran[0].status if tick.ran else "not run"
    if tick.ran and not tick.ran[0].ok:
        print(f"  !! {name} failed: {status}")
    return seconds, out.get("result"), status


JobSpec = tuple[str, dt.timedelta, Callable[[Database, dt.datetime], Any]]


def worker_jobs() -> list[JobSpec]:
    return [
        (
            "missed_follow_ups",
            MISSED_FOLLOW_UPS_EVERY,
            lambda d, now: settle_missed_follow_ups(d, now, profile=PROFILE_NAME),
        ),
        (
            "missed_instalments",
            MISSED_INSTALMENTS_EVERY,
            lambda d, now: settle_missed_instalments(d, now, profile=PROFILE_NAME),
        ),
    ]


def bench_jobs(db: Database, ahead_days: int = 0) -> None:
    ahead = dt.timedelta(days=ahead_days)
    for name, every, body in worker_jobs():
        for label in ("first run", "second run"):
            log(f"  {name}: {label} ...")
            seconds, result, status = run_job(db, name, every, body, ahead)
            if result is None:
                changed = "?"
            elif hasattr(result, "batches"):
                changed = f"{result.missed:,} follow-ups -> missed in {result.batches} batches"
            else:
                changed = f"{result.missed:,} instalments missed on {result.cases:,} cases"
            print(f"  {name:20s} {label:11s} {seconds:8.2f} s   {changed}   [{status}]")


def bench_backlog(db: Database, days: int) -> None:
    """The jobs on a copy of an SQLite file, ``days`` ahead: a worker that was down."""
    source = db.url.database
    if not db.is_sqlite or source in (None, "", ":memory:"):
        print("backlog: skipped (only on an SQLite file, which is copied first)")
        return
    target = Path(tempfile.gettempdir()) / "followups-bench-backlog.db"
    for leftover in target.parent.glob(target.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    log(f"  copied to {target} in {time.perf_counter() - started:.0f} s")
    copy = open_database(f"sqlite:///{target}")
    try:
        print(
            f"worker jobs {days} days ahead (a worker down that long; on a copy, "
            f"{target.name}, removed afterwards):"
        )
        bench_jobs(copy, days)
    finally:
        copy.dispose()
        for leftover in target.parent.glob(target.name + "*"):
            leftover.unlink()


# --- signing end to end -----------------------------------------------------------------------


def supervisor(db: Database) -> Actor:
    for login in SUPERVISORS:
        try:
            return resolve_actor(db, login)
        except ServiceError:
            continue
    raise SystemExit(f"no supervisor among {SUPERVISORS} in the database")


def candidates(db: Database, rng: random.Random, want: int) -> list[int]:
    """Random open cases in stage visited or documents without a draft or active plan."""
    has_plan = exists().where(
        RepaymentPlan.case_id == CollectionCase.id,
        RepaymentPlan.status.in_((PlanStatus.DRAFT, PlanStatus.ACTIVE)),
    )
    found: list[int] = []
    with db.read() as s:
        top = s.scalar(select(func.max(CollectionCase.id))) or 1
        for _round in range(50):
            picks = sorted({rng.randint(1, top) for _ in range(max(2000, want * 10))})
            for i in range(0, len(picks), 900):
                found += s.scalars(
                    select(CollectionCase.id).where(
                        CollectionCase.id.in_(picks[i : i + 900]),
                        CollectionCase.status == CaseStatus.OPEN,
                        CollectionCase.stage.in_((Stage.VISITED, Stage.DOCUMENTS)),
                        ~has_plan,
                    )
                ).all()
            if len(set(found)) >= want * 2:
                break
    unique = list(dict.fromkeys(found))  # a later round may draw a case again
    rng.shuffle(unique)
    return unique


def bench_signing(db: Database, sign: int, rng: random.Random) -> None:
    actor = supervisor(db)
    ids = candidates(db, rng, sign)
    print(
        f"signing end to end as {actor.login} ({actor.role.value}) on {sign} cases "
        f"({len(ids):,} candidates drawn):"
    )
    times: dict[str, list[float]] = {step: [] for step in STEPS}
    per_signing: Counter[int] = Counter()
    stages: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    first_gaps: list[int] = []
    signed = 0
    for case_id in ids:
        if signed >= sign:
            break
        now = utcnow()
        marks = [time.perf_counter()]
        try:
            basis = plan_basis(db, case_id, actor=actor, now=now, profile=PROFILE)
            marks.append(time.perf_counter())
            stage = basis.stage
            request = basis.request(instalments=12)
            create_plan(
                Context.frozen(db, actor, now, PROFILE),
                case_id,
                request,
                approval_reason="bench: supervisor approval",
            )
            marks.append(time.perf_counter())
            agreement_id = draft_agreement(Context.frozen(db, actor, now, PROFILE), case_id)
            marks.append(time.perf_counter())
            mark_ready(Context.frozen(db, actor, now, PROFILE), agreement_id)
            marks.append(time.perf_counter())
            sign_agreement(
                Context.frozen(db, actor, now, PROFILE),
                agreement_id,
                borrower_confirmation="本人签字",
                place="借款人家中",
            )
            marks.append(time.perf_counter())
        except ServiceError as exc:
            refusals[f"{type(exc).__name__}: {exc}"[:160]] += 1
            continue
        for step, (a, b) in zip(STEPS, itertools.pairwise(marks), strict=False):
            times[step].append((b - a) * 1000)
        times["total"].append((marks[-1] - marks[0]) * 1000)
        with db.read() as s:
            dates = list(
                s.scalars(
                    select(FollowUp.due_on)
                    .where(FollowUp.agreement_id == agreement_id)
                    .order_by(FollowUp.due_on)
                )
            )
        per_signing[len(dates)] += 1
        if dates:
            first_gaps.append((dates[0] - office_today(now, PROFILE)).days)
        stages[stage] += 1
        signed += 1
        if signed % 50 == 0:
            log(f"  signed {signed}/{sign}")
    for step in STEPS:
        print(f"  {step:16s} {fmt_ms(times[step])}")
    total_fu = sum(n * k for n, k in per_signing.items())
    print(
        f"  signed {signed} (from stages {dict(stages)}); follow-ups created per signing: "
        + ", ".join(f"{n} x{k}" for n, k in sorted(per_signing.items()))
        + f"; {total_fu:,} in all"
        + (f", mean {total_fu / signed:.2f}" if signed else "")
    )
    if first_gaps:
        print(
            f"  first follow-up after signing: {min(first_gaps)}-{max(first_gaps)} days "
            f"(median {statistics.median(first_gaps):.0f})"
        )
    for reason, count in refusals.most_common(8):
        print(f"  refused x{count}: {reason}")
    if signed < sign:
        print(f"  !! only {signed} of {sign} signed ({len(ids):,} candidates)")


# --- the list ---------------------------------------------------------------------------------


def bench_list(db: Database, samples: int) -> None:
    today = office_today(utcnow(), PROFILE)
    ahead = follow_up_policy(PROFILE).list_ahead_days
    with db.read() as s:
        open_statuses = (FollowUpStatus.SCHEDULED, FollowUpStatus.MISSED)
        row = s.execute(
            select(FollowUp.owner_id, func.count())
            .where(FollowUp.status.in_(open_statuses), FollowUp.owner_id.is_not(None))
            .group_by(FollowUp.owner_id)
            .order_by(func.count().desc())
            .limit(1)
        ).first()
    owner_id, owned = (row[0], row[1]) if row else (None, 0)
    print(
        f"follow_up_list, {samples} calls each (owner: agent {owner_id}, the most open "
        f"follow-ups: {owned:,}):"
    )
    variants: list[tuple[str, dict[str, Any]]] = [
        ("one owner, desk (due within list_ahead_days)", {"owner_id": owner_id, "ahead": True}),
        ("everyone, desk (due within list_ahead_days)", {"owner_id": None, "ahead": True}),
        ("one owner, unbounded", {"owner_id": owner_id, "ahead": False}),
        ("everyone, unbounded", {"owner_id": None, "ahead": False}),
    ]
    for label, kw in variants:
        due_before = today + dt.timedelta(days=ahead) if kw["ahead"] else None

        def call(owner: int | None = kw["owner_id"], before: dt.date | None = due_before) -> int:
            return len(
                follow_up_list(db, owner_id=owner, due_before=before, now=utcnow(), profile=PROFILE)
            )

        rows = call()  # warm
        samples_ms = []
        for _ in range(samples):
            started = time.perf_counter()
            call()
            samples_ms.append((time.perf_counter() - started) * 1000)
        print(f"  {label:46s} {fmt_ms(samples_ms)}   {rows} rows")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    parser.add_argument("--cases", type=int, default=1_000_000, help="seed up to this many")
    parser.add_argument("--sign", type=int, default=200, help="agreements to sign end to end")
    parser.add_argument("--samples", type=int, default=50, help="follow_up_list calls per case")
    parser.add_argument(
        "--backlog-days",
        type=int,
        default=30,
        help="also run the jobs this many days ahead on a copy of the file (0: skip)",
    )
    parser.add_argument("--seed", type=int, default=11, help="random seed for the case picks")
    args = parser.parse_args()
    print(f"load average at start: {load()}")
    started = time.perf_counter()
    db = ensure_seeded(args.db, args.cases)
    try:
        print_holdings("the database holds:", holdings(db))
        print("worker jobs on the whole database (one Worker tick each, real clock):")
        bench_jobs(db)
        if args.backlog_days > 0:
            bench_backlog(db, args.backlog_days)
        bench_signing(db, args.sign, random.Random(args.seed))
        bench_list(db, args.samples)
        print_holdings("after the run:", holdings(db))
    finally:
        db.dispose()
    rss, peak = rss_mb()
    print(f"process RSS {rss:,.0f} MB (peak {peak:,.0f} MB)")
    print(f"wall time {time.perf_counter() - started:,.0f} s")
    print(f"load average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
