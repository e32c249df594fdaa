"""Many bookers racing for a few home-visit slots: throughput, latency, and proof of no clash.

Usage:
    python bench/booking_bench.py [--db URL] [--processes 16] [--attempts 50]
                                  [--cases 40] [--collectors 4] [--days 3] [--starts 4]

Without ``--db`` it uses a fresh SQLite file in a temporary folder. It seeds its own world
(operators, collectors with hours and territories, registered cases with complete
documents, tagged so an existing database is not disturbed), then starts ``--processes``
booker processes (spawn; each opens the database by URL, as a desk does), releases them at
the same instant and lets each make ``--attempts`` calls of ``visits.book_visit`` flat out.
Every attempt aims at a deliberately small set of slots: the first ``--days`` working days
the lead time allows, ``--starts`` half-hourly start times from 09:00, a random collector;
one attempt in three goes to one of a few "hot" cases, so spacing races happen too.

Printed: bookers, attempts, successes, refusals by rule, other failures (must be none; on
SQLite no "database is locked"), collector overlaps and spacing violations found in the
database afterwards (must be 0), attempts/s and p50/p95/max booking latency. Exit status 1
when anything that must be 0 is not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from queue import Empty
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tui_desk.db.engine import Database, open_database
from tui_desk.db.migrate import upgrade
from tui_desk.db.models import (
    AccountStatus,
    Agent,
    Appointment,
    AppointmentStatus,
    Borrower,
    CaseStatus,
    CollectionCase,
    CollectorDistrict,
    CollectorSchedule,
    LoanAccount,
    Product,
    Role,
    Stage,
)
from tui_desk.rules import visits as rules
from tui_desk.rules.profile import load_profile
from tui_desk.services import visits
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import ServiceError
from tui_desk.services.visits import BookingRefused

PROFILE = load_profile("cn")
POLICY = visits.visit_policy(PROFILE)
ZONE = ZoneInfo(PROFILE.office_timezone)
# Monday 2026-11-30, 10:00 office time: the lead time allows Thursday 2026-12-03 on.
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=ZONE).astimezone(dt.UTC)
HOME, AWAY = "朝阳区", "海淀区"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗欧阳"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


@dataclass(frozen=True)
class Attempt:
    case_id: int
    collector_id: int
    starts_at: dt.datetime


@dataclass(frozen=True)
class Outcome:
    attempt: Attempt
    appointment_id: int | None
    rules: tuple[str, ...]
    problem: str | None
    seconds: float


@dataclass
class World:
    operators: list[Actor]
    collectors: list[int]
    cases: list[int]
    hot: list[int]
    slots: list[dt.datetime]


# --- the world ----------------------------------------------------------------------------


def candidate_slots(days: int, starts: int) -> list[dt.datetime]:
    """The first ``days`` working days the lead time allows, ``starts`` starts each."""
    calendar = rules.work_calendar(PROFILE.holidays_country)
    day = rules.earliest_day(NOW, POLICY, PROFILE.office_timezone)
    chosen: list[dt.date] = []
    while len(chosen) < days:
        if calendar.is_working_day(day) and day.isoweekday() <= 5:
            chosen.append(day)
        day += dt.timedelta(days=1)
    return [
        dt.datetime.combine(d, dt.time(9), tzinfo=ZONE).astimezone(dt.UTC)
        + dt.timedelta(minutes=POLICY.slot_step_minutes * i)
        for d in chosen
        for i in range(starts)
    ]


def seed_world(db: Database, args: argparse.Namespace) -> World:
    """Operators, collectors and ready cases, all tagged with this run's id."""
    tag = uuid.uuid4().hex[:6]
    rng = random.Random(args.seed)
    with db.write() as s:
        operators = [
            Agent(login=f"bb{tag}-op{i}", name=f"坐席{i}", role=Role.OPERATOR, created_at=NOW)
            for i in range(args.processes)
        ]
        collectors = [
            Agent(login=f"bb{tag}-col{i}", name=f"外访{i}", role=Role.COLLECTOR, created_at=NOW)
            for i in range(args.collectors)
        ]
        s.add_all(operators + collectors)
        s.flush()
        for i, collector in enumerate(collectors):
            s.add(
                CollectorSchedule(
                    agent_id=collector.id,
                    timezone=PROFILE.office_timezone,
                    work_start=dt.time(9),
                    work_end=dt.time(18),
                    work_weekdays="12345",
                    updated_at=NOW,
                )
            )
            # Every other collector also serves the second district: travel-buffer races.
            for district in (HOME, AWAY) if i % 2 == 0 else (HOME,):
                s.add(CollectorDistrict(agent_id=collector.id, district=district))
        cases = []
        for n in range(args.cases):
            district = AWAY if n % 4 == 3 else HOME
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
            borrower = Borrower(
                external_id=f"BB{tag}-{n}",
                name=name,
                id_number=f"110105198503{n % 10000:04d}11",
                address=f"北京市{district}建国路{n + 1}号",
                city="北京市",
                district=district,
                region_code="110105",
                timezone=PROFILE.office_timezone,
                created_at=NOW,
            )
            s.add(borrower)
            s.flush()
            overdue_since = NOW.date() - dt.timedelta(days=30 + n % 60)
            case = CollectionCase(
                borrower_id=borrower.id,
                status=CaseStatus.OPEN,
                stage=Stage.DOCUMENTS,
                priority=100,
                overdue_since=overdue_since,
                overdue_minor=100_000 + 1_000 * n,
                broken_promises=0,
                opened_at=NOW - dt.timedelta(days=40),
                registered=True,
                documents_complete=True,
            )
            s.add(case)
            s.flush()
            s.add(
                LoanAccount(
                    external_id=f"BB{tag}-LN{n}",
                    borrower_id=borrower.id,
                    case_id=case.id,
                    product=Product.CONSUMER_LOAN,
                    status=AccountStatus.OVERDUE,
                    currency="CNY",
                    principal_minor=5_000_000,
                    outstanding_principal_minor=1_000_000,
                    outstanding_interest_minor=0,
                    outstanding_penalty_minor=0,
                    outstanding_fees_minor=0,
                    overdue_minor=case.overdue_minor,
                    annual_rate=Decimal("0.1200"),
                    opened_on=overdue_since - dt.timedelta(days=400),
                    overdue_since=overdue_since,
                )
            )
            cases.append(case.id)
        world = World(
            operators=[Actor.of(a) for a in operators],
            collectors=[c.id for c in collectors],
            cases=cases,
            hot=cases[: max(1, len(cases) // 10)],
            slots=candidate_slots(args.days, args.starts),
        )
    return world


def plans_for(world: World, attempts: int, seed: int) -> dict[Actor, list[Attempt]]:
    plans = {}
    for n, actor in enumerate(world.operators):
        rng = random.Random(seed * 1000 + n)
        plans[actor] = [
            Attempt(
                rng.choice(world.hot) if i % 3 == 0 else rng.choice(world.cases),
                rng.choice(world.collectors),
                rng.choice(world.slots),
            )
            for i in range(attempts)
        ]
    return plans


# --- the bookers --------------------------------------------------------------------------


def attempt_once(db: Database, actor: Actor, attempt: Attempt) -> Outcome:
    started = time.perf_counter()
    appointment_id: int | None = None
    refused: tuple[str, ...] = ()
    problem: str | None = None
    try:
        appointment_id = visits.book_visit(
            Context.frozen(db, actor, NOW, PROFILE),
            attempt.case_id,
            collector_id=attempt.collector_id,
            starts_at=attempt.starts_at,
        )
    except BookingRefused as exc:
        refused = tuple(rule.value for rule in exc.rules)
    except (ServiceError, OperationalError) as exc:
        problem = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return Outcome(attempt, appointment_id, refused, problem, time.perf_counter() - started)


def booker(
    url: str, actor: Actor, attempts: Sequence[Attempt], ready: Any, go: Any, results: Any
) -> None:
    outcomes: list[Outcome] = []
    crashes: list[str] = []
    try:
        db = open_database(url)
        try:
            visits.suggest_slots(db, attempts[0].case_id, limit=1, now=NOW, profile=PROFILE)
            ready.put(actor.id)
            if not go.wait(300):
                raise TimeoutError("never told to go")
            for attempt in attempts:
                try:
                    outcomes.append(attempt_once(db, actor, attempt))
                except Exception:
                    crashes.append(traceback.format_exc())
        finally:
            db.dispose()
    except Exception:
        crashes.append(traceback.format_exc())
    results.put((time.monotonic(), outcomes, crashes))


def gather(queue: Any, processes: Sequence[Any], limit: float) -> list[Any]:
    found: list[Any] = []
    deadline = time.monotonic() + limit
    while len(found) < len(processes):
        try:
            found.append(queue.get(timeout=0.2))
            continue
        except Empty:
            pass
        dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
        if dead:
            raise SystemExit(f"a booker process died (exit codes {dead})")
        if time.monotonic() > deadline:
            raise SystemExit(f"bookers did not finish within {limit:.0f} s")
    return found


def run_bookers(
    url: str, plans: dict[Actor, list[Attempt]]
) -> tuple[list[Outcome], list[str], float]:
    ctx = multiprocessing.get_context("spawn")
    ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    processes = [
        ctx.Process(target=booker, args=(url, actor, attempts, ready, go, results))
        for actor, attempts in plans.items()
    ]
    for process in processes:
        process.start()
    try:
        gather(ready, processes, 300)
        started = time.monotonic()
        go.set()
        found = gather(results, processes, 3600)
    finally:
        go.set()
        for process in processes:
            process.join(60)
    wall = max(ended for ended, _, _ in found) - started
    outcomes = [o for _, outcomes, _ in found for o in outcomes]
    crashes = [c for _, _, crashes in found for c in crashes]
    return outcomes, crashes, wall


# --- what the database holds afterwards ---------------------------------------------------


@dataclass(frozen=True)
class Visit:
    id: int
    case_id: int
    collector_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    district: str


def active_visits(db: Database, collectors: Sequence[int]) -> list[Visit]:
    active = [AppointmentStatus(s) for s in sorted(rules.ACTIVE_STATUSES)]
    with db.read() as s:
        rows = s.scalars(
            select(Appointment).where(
                Appointment.collector_id.in_(list(collectors)), Appointment.status.in_(active)
            )
        )
        return [
            Visit(a.id, a.case_id, a.collector_id, a.starts_at, a.ends_at, a.district) for a in rows
        ]


def overlaps(found: Sequence[Visit]) -> int:
    """Pairs of one collector's visits that overlap or break the travel buffer."""
    by_collector: dict[int, list[Visit]] = defaultdict(list)
    for v in found:
        by_collector[v.collector_id].append(v)
    bad = 0
    for theirs in by_collector.values():
        for a, b in itertools.combinations(theirs, 2):
            gap = POLICY.travel_buffer if a.district != b.district else dt.timedelta(0)
            if b.starts_at < a.ends_at + gap and a.starts_at < b.ends_at + gap:
                bad += 1
    return bad


def spacing_violations(found: Sequence[Visit]) -> int:
    by_case: dict[int, list[Visit]] = defaultdict(list)
    for v in found:
        by_case[v.case_id].append(v)
    bad = 0
    for theirs in by_case.values():
        for a, b in itertools.combinations(theirs, 2):
            apart = abs(a.starts_at.astimezone(ZONE).date() - b.starts_at.astimezone(ZONE).date())
            if apart.days < POLICY.spacing_days:
                bad += 1
    return bad


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", metavar="URL", help="database URL (default: a temp SQLite file)")
    parser.add_argument("--processes", type=int, default=16, help="booker processes")
    parser.add_argument("--attempts", type=int, default=50, help="booking attempts each")
    parser.add_argument("--cases", type=int, default=40, help="ready cases to book")
    parser.add_argument("--collectors", type=int, default=4, help="field collectors")
    parser.add_argument("--days", type=int, default=3, help="working days aimed at")
    parser.add_argument("--starts", type=int, default=4, help="half-hourly starts a day")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    for name in ("processes", "attempts", "cases", "collectors", "days", "starts"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")

    with tempfile.TemporaryDirectory(prefix="booking-bench-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = open_database(url)
        upgrade(db)
        world = seed_world(db, args)
        plans = plans_for(world, args.attempts, args.seed)
        load_before = os.getloadavg()[0]
        outcomes, crashes, wall = run_bookers(url, plans)
        found = active_visits(db, world.collectors)
        engine = db.url.get_backend_name()
        db.dispose()

    successes = {o.appointment_id: o.attempt for o in outcomes if o.appointment_id is not None}
    in_db = {v.id: Attempt(v.case_id, v.collector_id, v.starts_at) for v in found}
    refusals = Counter(rule for o in outcomes for rule in o.rules)
    refused = sum(bool(o.rules) for o in outcomes)
    problems = Counter(o.problem for o in outcomes if o.problem)
    locked = sum(n for p, n in problems.items() if "locked" in p)
    latencies = [1000 * o.seconds for o in outcomes]
    clashes, crowded = overlaps(found), spacing_violations(found)
    mismatch = len(set(successes.items()) ^ set(in_db.items()))

    print(f"database                 {engine} ({url if args.db else 'temporary file'})")
    print(f"bookers                  {args.processes}")
    print(
        f"world                    {args.cases} cases, {args.collectors} collectors, "
        f"{len(world.slots)} candidate slots ({args.days} days x {args.starts} starts)"
    )
    print(f"attempts                 {len(outcomes):,}")
    print(f"successes                {len(successes):,}")
    print(f"refusals                 {refused:,}")
    for rule, n in refusals.most_common():
        print(f"  {rule:<22} {n:,}")
    print(f"other failures           {sum(problems.values())} (database is locked: {locked})")
    for problem, n in problems.most_common(5):
        print(f"  {n:>5} x {problem}")
    print(f"crashes                  {len(crashes)}")
    print(f"overlaps found           {clashes}")
    print(f"spacing violations found {crowded}")
    print(f"success/db mismatches    {mismatch}")
    print(f"wall time                {wall:.2f} s")
    print(f"attempts/s               {len(outcomes) / wall:,.0f}")
    print(
        f"latency ms               p50 {statistics.median(latencies):.1f}  "
        f"p95 {percentile(latencies, 0.95):.1f}  max {max(latencies):.1f}"
    )
    print(
        f"load average             {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
        f"({os.cpu_count()} CPUs)"
    )
    if crashes:
        print(crashes[0], file=sys.stderr)
    bad = clashes or crowded or mismatch or crashes or problems
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
