"""Booking home visits from many processes at once, on both engines: no collector is ever
in two places (nor without the travel buffer), no case gets two visits closer than the
spacing rule, every booking that reported success is in the database, and every attempt
that lost a race was refused with the rule it broke (never a crash, never "database is
locked").

Each booker is a separate process (multiprocessing, spawn) with its own connection pool,
opened by URL as a desk would; they start together behind a barrier and aim at a
deliberately small set of slots, so conflicts are certain.
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import random
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from queue import Empty
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.factories import Factory
from tui_desk.db.engine import Database, DatabaseBusy, open_database
from tui_desk.db.models import Agent, Appointment, AppointmentStatus, Stage
from tui_desk.rules import visits as rules
from tui_desk.rules.profile import load_profile
from tui_desk.services import visits
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import ServiceError, StaleEdit
from tui_desk.services.visits import BookingRefused

SH = ZoneInfo("Asia/Shanghai")
# Monday 2026-11-30, 10:00 in Beijing: the earliest visit day is Thursday 2026-12-03.
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH).astimezone(dt.UTC)
PROFILE = load_profile("cn")
POLICY = visits.visit_policy(PROFILE)

# Thursday and Friday are one day apart (spacing), Monday is four days after Thursday.
DAYS = (dt.date(2026, 12, 3), dt.date(2026, 12, 4), dt.date(2026, 12, 7))
# Hour-long visits every half hour: neighbours overlap, so at most two fit a morning.
STARTS = (dt.time(9, 0), dt.time(9, 30), dt.time(10, 0), dt.time(10, 30))
HOME, AWAY = "朝阳区", "海淀区"
PROCESSES = 8
ATTEMPTS = 15
# What losing a race (or aiming badly) may be refused for; anything else is a test bug.
EXPECTED_RULES = {
    rules.BookingRule.OVERLAP,
    rules.BookingRule.TRAVEL,
    rules.BookingRule.SPACING,
    rules.BookingRule.TERRITORY,
}


def at(day: dt.date, time_of_day: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time_of_day, tzinfo=SH).astimezone(dt.UTC)


@dataclass(frozen=True)
class Attempt:
    case_id: int
    collector_id: int
    starts_at: dt.datetime


@dataclass(frozen=True)
class Outcome:
    attempt: Attempt
    appointment_id: int | None  # set on success
    rules: tuple[str, ...]  # the refused rules (BookingRefused)
    suggestions: tuple[tuple[int, dt.datetime], ...]
    problem: str | None  # any other failure: class and message
    seconds: float


def _attempt(db: Database, actor: Actor, attempt: Attempt) -> Outcome:
    started = time.perf_counter()
    appointment_id: int | None = None
    refused: tuple[str, ...] = ()
    suggestions: tuple[tuple[int, dt.datetime], ...] = ()
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
        suggestions = tuple((s.collector_id, s.starts_at) for s in exc.suggestions)
    except StaleEdit as exc:  # a refused attempt, but not a rule: counted separately
        problem = f"StaleEdit: {exc}"
    except DatabaseBusy as exc:  # SQLite lock wait past its timeout: nothing was saved
        problem = f"busy: {exc}"
    except (ServiceError, OperationalError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    return Outcome(
        attempt, appointment_id, refused, suggestions, problem, time.perf_counter() - started
    )


def _booker(
    url: str, actor: Actor, attempts: Sequence[Attempt], ready: Any, go: Any, results: Any
) -> None:
    """One process: open the database, warm up, wait for the others, then book flat out."""
    outcomes: list[Outcome] = []
    crashes: list[str] = []
    try:
        db = open_database(url)
        try:
            # Connect, and load what a first booking would (mappers, statements, holidays).
            visits.suggest_slots(db, attempts[0].case_id, limit=1, now=NOW, profile=PROFILE)
            ready.put(actor.id)
            if not go.wait(120):
                raise TimeoutError("never told to go")
            for attempt in attempts:
                try:
                    outcomes.append(_attempt(db, actor, attempt))
                except Exception:
                    crashes.append(traceback.format_exc())
        finally:
            db.dispose()
    except Exception:
        crashes.append(traceback.format_exc())
    results.put((actor.id, outcomes, crashes))


def _gather(queue: Any, processes: Sequence[Any], what: str, limit: float) -> list[Any]:
    """One item per process from ``queue``; fail at once if a process died without one."""
    found: list[Any] = []
    deadline = time.monotonic() + limit
    while len(found) < len(processes):
        try:
            found.append(queue.get(timeout=0.2))
            continue
        except Empty:
            pass
        dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
        assert not dead, f"a booker process died before {what} (exit codes {dead})"
        assert time.monotonic() < deadline, f"bookers not {what} after {limit:.0f} s"
    return found


def _run_bookers(url: str, plans: dict[Actor, list[Attempt]]) -> list[Outcome]:
    """One spawned process per actor, released together; every outcome (fails on a crash)."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    processes = [
        ctx.Process(target=_booker, args=(url, actor, attempts, ready, go, results))
        for actor, attempts in plans.items()
    ]
    for process in processes:
        process.start()
    try:
        _gather(ready, processes, "ready", 90)
        go.set()  # every booker is connected and waiting: all start at the same instant
        found = _gather(results, processes, "finished", 120)
    finally:
        go.set()
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
    assert [p.exitcode for p in processes] == [0] * len(processes)
    crashes = [crash for _, _, found_crashes in found for crash in found_crashes]
    assert crashes == [], crashes[0]
    return [outcome for _, outcomes, _ in found for outcome in outcomes]


# --- the world and what the database holds afterwards -----------------------------------


@dataclass
class World:
    db: Database
    url: str
    operators: list[Actor]
    roamer: int  # serves both districts
    local: int  # serves HOME only
    home_cases: list[int]
    away_cases: list[int]


def _actor(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


def _world(db: Database, *, operators: int, home: int, away: int) -> World:
    make = Factory(db, now=NOW)
    actors = [_actor(db, make.agent(login=f"op{i}")) for i in range(operators)]
    roamer = make.collector(login="roamer", name="王芳", districts=(HOME, AWAY))
    local = make.collector(login="local", name="李强", districts=(HOME,))

    def ready(district: str, n: int) -> int:
        borrower = make.borrower(name=f"借款人{n}", district=district)
        return make.case(
            borrower_id=borrower, stage=Stage.DOCUMENTS, registered=True, documents_complete=True
        )

    counter = itertools.count()
    return World(
        db=db,
        url=db.url.render_as_string(hide_password=False),
        operators=actors,
        roamer=roamer,
        local=local,
        home_cases=[ready(HOME, next(counter)) for _ in range(home)],
        away_cases=[ready(AWAY, next(counter)) for _ in range(away)],
    )


@dataclass(frozen=True)
class Visit:
    id: int
    case_id: int
    collector_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    district: str


def _active_visits(db: Database) -> list[Visit]:
    active = [AppointmentStatus(s) for s in sorted(rules.ACTIVE_STATUSES)]
    with db.read() as s:
        rows = s.scalars(select(Appointment).where(Appointment.status.in_(active)))
        return [
            Visit(a.id, a.case_id, a.collector_id, a.starts_at, a.ends_at, a.district) for a in rows
        ]


def collector_clashes(found: Sequence[Visit], buffer: dt.timedelta) -> list[str]:
    """Pairs of one collector's visits that overlap, or that leave less than the travel
    buffer between districts."""
    by_collector: dict[int, list[Visit]] = defaultdict(list)
    for visit in found:
        by_collector[visit.collector_id].append(visit)
    problems = []
    for collector_id, theirs in by_collector.items():
        for a, b in itertools.combinations(sorted(theirs, key=lambda v: v.starts_at), 2):
            gap = buffer if a.district != b.district else dt.timedelta(0)
            if b.starts_at < a.ends_at + gap and a.starts_at < b.ends_at + gap:
                problems.append(f"collector {collector_id}: visits {a.id} and {b.id}")
    return problems


def spacing_violations(found: Sequence[Visit], spacing_days: int, zone: ZoneInfo) -> list[str]:
    """Pairs of one case's visits closer than ``spacing_days`` (office-local dates)."""
    by_case: dict[int, list[Visit]] = defaultdict(list)
    for visit in found:
        by_case[visit.case_id].append(visit)
    problems = []
    for case_id, theirs in by_case.items():
        for a, b in itertools.combinations(theirs, 2):
            apart = abs(a.starts_at.astimezone(zone).date() - b.starts_at.astimezone(zone).date())
            if apart.days < spacing_days:
                problems.append(f"case {case_id}: visits {a.id} and {b.id}")
    return problems


def test_the_checkers_see_clashes_and_spacing() -> None:
    """The after-the-fact checks themselves find what they look for."""
    buffer = dt.timedelta(minutes=30)
    first = Visit(1, 1, 7, at(DAYS[0], STARTS[0]), at(DAYS[0], STARTS[2]), HOME)
    touching = Visit(2, 2, 7, at(DAYS[0], STARTS[2]), at(DAYS[0], dt.time(11)), HOME)
    assert collector_clashes([first, touching], buffer) == []
    away = Visit(3, 3, 7, at(DAYS[0], STARTS[2]), at(DAYS[0], dt.time(11)), AWAY)
    assert collector_clashes([first, away], buffer) == ["collector 7: visits 1 and 3"]
    overlapping = Visit(4, 4, 7, at(DAYS[0], STARTS[1]), at(DAYS[0], STARTS[3]), HOME)
    assert len(collector_clashes([first, overlapping], buffer)) == 1
    elsewhere = Visit(5, 1, 8, at(DAYS[1], STARTS[0]), at(DAYS[1], STARTS[2]), HOME)
    assert spacing_violations([first, elsewhere], 3, SH) == ["case 1: visits 1 and 5"]
    later = Visit(6, 1, 8, at(DAYS[2], STARTS[0]), at(DAYS[2], STARTS[2]), HOME)
    assert spacing_violations([first, later], 3, SH) == []


def _summary(outcomes: Sequence[Outcome], found: Sequence[Visit]) -> str:
    refused = Counter(rule for o in outcomes for rule in o.rules)
    latencies = sorted(o.seconds for o in outcomes)
    return (
        f"attempts {len(outcomes)}, successes {sum(o.appointment_id is not None for o in outcomes)}"
        f", refusals {sum(bool(o.rules) for o in outcomes)} {dict(refused)}"
        f", in the database {len(found)}"
        f", p50 {1000 * latencies[len(latencies) // 2]:.0f} ms"
        f", max {1000 * latencies[-1]:.0f} ms"
    )


# --- the races ----------------------------------------------------------------------------


def test_many_bookers_never_double_book_a_collector_or_crowd_a_case(db: Database) -> None:
    world = _world(db, operators=PROCESSES, home=5, away=2)
    cases = world.home_cases + world.away_cases
    hot = world.home_cases[0]
    plans: dict[Actor, list[Attempt]] = {}
    for n, actor in enumerate(world.operators):
        rng = random.Random(7919 * n + 1)
        attempts = []
        for i in range(ATTEMPTS):
            # One attempt in three goes at the same case on nearby days: spacing races.
            case_id = hot if i % 3 == 0 else rng.choice(cases)
            collector_id = rng.choice((world.roamer, world.local))
            attempts.append(
                Attempt(case_id, collector_id, at(rng.choice(DAYS), rng.choice(STARTS)))
            )
        plans[actor] = attempts

    outcomes = _run_bookers(world.url, plans)
    found = _active_visits(db)
    print(f"\n{db.url.get_backend_name()}: {PROCESSES} bookers, " + _summary(outcomes, found))

    assert len(outcomes) == PROCESSES * ATTEMPTS
    problems = [o.problem for o in outcomes if o.problem is not None]
    assert not any("locked" in p for p in problems), problems
    # On a loaded 2-core machine a SQLite writer can wait past the lock timeout: it is
    # refused as "busy, nothing saved" (a clear message, never a raw error); rare.
    busy = [p for p in problems if p.startswith("busy:")]
    assert len(busy) <= len(outcomes) // 10, busy
    assert [p for p in problems if not p.startswith("busy:")] == []
    # Every attempt either booked or was refused naming a rule it could break here.
    for outcome in outcomes:
        if outcome.problem is not None:
            continue
        assert (outcome.appointment_id is None) == bool(outcome.rules), outcome
        assert set(outcome.rules) <= EXPECTED_RULES, outcome
    refused = Counter(rule for o in outcomes for rule in o.rules)
    assert refused[rules.BookingRule.OVERLAP] > 0 and refused[rules.BookingRule.SPACING] > 0

    # What the database holds is exactly what was reported booked, and it is consistent.
    booked = {o.appointment_id: o.attempt for o in outcomes if o.appointment_id is not None}
    assert booked, "somebody must win"
    assert {v.id: Attempt(v.case_id, v.collector_id, v.starts_at) for v in found} == booked
    assert collector_clashes(found, POLICY.travel_buffer) == []
    assert spacing_violations(found, POLICY.spacing_days, SH) == []
    # Two collectors, three mornings, at most two visits a morning each.
    assert len(found) <= 2 * len(DAYS) * 2


def test_same_slot_at_the_same_instant_has_exactly_one_winner(db: Database) -> None:
    bookers = 6
    world = _world(db, operators=bookers, home=bookers, away=0)
    slot = at(DAYS[0], STARTS[0])
    plans = {
        actor: [Attempt(case_id, world.roamer, slot)]
        for actor, case_id in zip(world.operators, world.home_cases, strict=True)
    }

    outcomes = _run_bookers(world.url, plans)
    found = _active_visits(db)
    print(
        f"\n{db.url.get_backend_name()}: {bookers} bookers, one slot, " + _summary(outcomes, found)
    )

    assert [o.problem for o in outcomes if o.problem] == []
    winners = [o for o in outcomes if o.appointment_id is not None]
    assert len(winners) == 1
    [winner] = winners
    assert [v.id for v in found] == [winner.appointment_id]
    assert (found[0].collector_id, found[0].starts_at) == (world.roamer, slot)
    winning = found[0]
    for loser in outcomes:
        if loser is winner:
            continue
        assert loser.rules == (rules.BookingRule.OVERLAP,), loser
        # The suggestions were made after the winner committed: none clashes with it.
        assert loser.suggestions, loser
        for collector_id, starts_at in loser.suggestions:
            if collector_id == winning.collector_id:
                ends_at = starts_at + POLICY.duration
                assert not (starts_at < winning.ends_at and winning.starts_at < ends_at)
