"""Take next, claims and leases on both engines: the order of what is taken, who may take
what, lease expiry and release, versions untouched by leases, and many claimers at once
(threads and processes together) never holding one case twice."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.factories import Factory
from tui_desk.clock import utcnow
from tui_desk.db.engine import Database, open_database
from tui_desk.db.models import Agent, AuditEvent, CaseStatus, CollectionCase, Role
from tui_desk.rules.profile import load_profile
from tui_desk.services.case_state import load_for_edit
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import PermissionDenied, ServiceError, StaleEdit
from tui_desk.services.queue import LeaseHeld, claim_case, release_lease, renew_lease, take_next
from tui_desk.views.queue import Claim

NOW = dt.datetime(2024, 5, 8, 6, 0, tzinfo=dt.UTC)  # 14:00 in Shanghai
PROFILE = load_profile("cn")
LEASE = dt.timedelta(minutes=PROFILE.lease_minutes)


@dataclass
class Team:
    me: Actor
    other: Actor
    gone: Actor
    sup: Actor


def _actor(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


def _set(db: Database, case_id: int, **values: Any) -> None:
    """Set case columns directly (the situation a test starts from, not a desk action)."""
    with db.write() as s:
        s.execute(
            update(CollectionCase)
            .where(CollectionCase.id == case_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class Lease:
    lease_holder_id: int | None
    version: int


def _case(db: Database, case_id: int) -> Lease:
    with db.read() as s:
        case = s.get(CollectionCase, case_id)
        assert case is not None
        return Lease(case.lease_holder_id, case.version)


@pytest.fixture
def make(db: Database) -> Factory:
    return Factory(db, now=NOW)


@pytest.fixture
def team(db: Database, make: Factory) -> Team:
    ids = [
        make.agent(login="me", name="甲"),
        make.agent(login="other", name="乙"),
        make.agent(login="gone", name="丙"),
        make.agent(login="sup", name="丁", role=Role.SUPERVISOR),
    ]
    with db.write() as s:
        gone = s.get(Agent, ids[2])
        assert gone is not None
        gone.active = False
    return Team(*(_actor(db, i) for i in ids))


def _take(db: Database, actor: Actor, now: dt.datetime = NOW) -> Claim | None:
    return take_next(Context.frozen(db, actor, now, PROFILE))


# --- what is taken first -------------------------------------------------------------------


def _work(db: Database, claim: Claim | None) -> None:
    """What logging a contact does to the case: the next action moves ahead."""
    assert claim is not None
    _set(
        db,
        claim.case_id,
        next_action_at=NOW + dt.timedelta(days=1),
        callback_at=None,
        callback_agent_id=None,
    )


def test_own_due_callback_then_owned_then_pool(db: Database, make: Factory, team: Team) -> None:
    pool = make.case(priority=900)
    owned = make.case(priority=500, owner_id=team.me.id)
    callback = make.case(priority=100, owner_id=team.me.id)
    _set(db, callback, callback_at=NOW - dt.timedelta(minutes=5), callback_agent_id=team.me.id)

    first = _take(db, team.me)
    assert first is not None
    assert (first.case_id, first.reason) == (callback, "callback")
    assert first.lease_expires_at == NOW + LEASE
    _work(db, first)
    second = _take(db, team.me)
    assert second is not None and (second.case_id, second.reason) == (owned, "owned")
    _work(db, second)
    third = _take(db, team.me)
    assert third is not None and (third.case_id, third.reason) == (pool, "pool")
    # The previous leases were released as the operator moved on.
    assert _case(db, callback).lease_holder_id is None
    assert _case(db, owned).lease_holder_id is None
    assert _case(db, pool).lease_holder_id == team.me.id
    _work(db, third)
    assert _take(db, team.me) is None  # nothing is due any more
    assert _take(db, team.me, NOW + dt.timedelta(days=1)) is not None


def test_an_unworked_case_comes_back(db: Database, make: Factory, team: Team) -> None:
    """Moving on without logging anything leaves the case due: it is offered again."""
    top = make.case(priority=900)
    second = make.case(priority=100)
    assert [c.case_id for c in (_take(db, team.me), _take(db, team.me)) if c] == [top, second]
    claim = _take(db, team.me)
    assert claim is not None and claim.case_id == top


def test_callbacks_wait_for_their_time_and_their_agent(
    db: Database, make: Factory, team: Team
) -> None:
    later = make.case(priority=900)
    _set(db, later, callback_at=NOW + dt.timedelta(hours=1), callback_agent_id=team.me.id)
    theirs = make.case(priority=800)
    _set(db, theirs, callback_at=NOW - dt.timedelta(minutes=10), callback_agent_id=team.other.id)
    plain = make.case(priority=100)
    claim = _take(db, team.me)
    assert claim is not None and claim.case_id == plain
    # Thirty minutes late, the other agent's callback falls to anyone.
    claim = _take(db, team.me, NOW + dt.timedelta(minutes=25))
    assert claim is not None and (claim.case_id, claim.reason) == (theirs, "pool")
    # The other agent gets their own callback first, even before it goes stale.
    _set(db, theirs, lease_holder_id=None, lease_expires_at=None)
    claim = _take(db, team.other)
    assert claim is not None and (claim.case_id, claim.reason) == (theirs, "callback")


def test_never_someone_elses_case_unless_inactive_or_stale(
    db: Database, make: Factory, team: Team
) -> None:
    theirs = make.case(priority=5000, owner_id=team.other.id)
    assert _take(db, team.me) is None

    abandoned = make.case(priority=3000, owner_id=team.gone.id)
    claim = _take(db, team.me)
    assert claim is not None and (claim.case_id, claim.reason) == (abandoned, "stale")

    _set(db, theirs, stale=True)
    claim = _take(db, team.me)
    assert claim is not None and (claim.case_id, claim.reason) == (theirs, "stale")

    # A stale callback of the owner lets anyone call the borrower back.
    _set(db, theirs, stale=False, lease_holder_id=None, lease_expires_at=None)
    _set(db, theirs, callback_at=NOW - dt.timedelta(minutes=31), callback_agent_id=team.other.id)
    claim = _take(db, team.me)
    assert claim is not None and (claim.case_id, claim.reason) == (theirs, "stale")


def test_inactive_owners_cases_are_found_deep_in_the_queue(
    db: Database, make: Factory, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_desk.services.queue import take as queue_take

    monkeypatch.setattr(queue_take, "STALE_SCAN", 1)
    for priority in (900, 800, 700):
        make.case(priority=priority, owner_id=team.other.id)
    abandoned = make.case(priority=10, owner_id=team.gone.id)
    claim = _take(db, team.me)
    assert claim is not None and (claim.case_id, claim.reason) == (abandoned, "stale")


def test_held_closed_and_leased_cases_are_skipped(db: Database, make: Factory, team: Team) -> None:
    held = make.case(priority=900)
    _set(db, held, on_hold=True)
    make.case(priority=800, status=CaseStatus.CLOSED)
    leased = make.case(priority=700)
    _set(db, leased, lease_holder_id=team.other.id, lease_expires_at=NOW + dt.timedelta(minutes=1))
    free = make.case(priority=10)
    claim = _take(db, team.me)
    assert claim is not None and claim.case_id == free
    # Once the other agent's lease runs out, the case is anyone's again.
    claim = _take(db, team.me, NOW + dt.timedelta(minutes=2))
    assert claim is not None and claim.case_id == leased


def test_lease_expiry_lets_another_take_it(db: Database, make: Factory, team: Team) -> None:
    only = make.case(priority=100)
    mine = _take(db, team.me)
    assert mine is not None and mine.case_id == only
    assert _take(db, team.other, NOW + LEASE - dt.timedelta(seconds=1)) is None
    theirs = _take(db, team.other, NOW + LEASE)
    assert theirs is not None and theirs.case_id == only
    assert _case(db, only).lease_holder_id == team.other.id


def test_nothing_to_take_still_releases_the_previous_lease(
    db: Database, make: Factory, team: Team
) -> None:
    only = make.case(priority=100)
    assert _take(db, team.me) is not None
    assert _take(db, team.me) is None  # the only case is the one just left
    assert _case(db, only).lease_holder_id is None
    with db.read() as s:
        actions = list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["case.claim", "case.release"]


def test_a_lease_leaves_the_version_and_stale_edits_are_refused(
    db: Database, make: Factory, team: Team
) -> None:
    case_id = make.case(priority=100)
    opened_at = _case(db, case_id).version
    claim = _take(db, team.me)
    assert claim is not None and claim.version == opened_at
    renew_lease(Context.frozen(db, team.me, NOW + dt.timedelta(minutes=5), PROFILE), case_id)
    assert _case(db, case_id).version == opened_at
    # An edit based on what the operator opened still goes through...
    with db.write() as s:
        case = load_for_edit(s, case_id, expected_version=opened_at)
        case.overdue_minor += 100
    # ...and one based on that same, now stale, read is refused with a clear message.
    with pytest.raises(StaleEdit, match="changed by someone else") as refused, db.write() as s:
        load_for_edit(s, case_id, expected_version=opened_at)
    assert f"yours {opened_at}" in str(refused.value)


# --- claim, renew, release -----------------------------------------------------------------


def test_claim_names_who_holds_the_case_and_until_when(
    db: Database, make: Factory, team: Team
) -> None:
    case_id = make.case(priority=100)
    mine = claim_case(Context.frozen(db, team.me, NOW, PROFILE), case_id)
    assert (mine.case_id, mine.reason) == (case_id, "opened")
    with pytest.raises(LeaseHeld) as held:
        claim_case(Context.frozen(db, team.other, NOW + dt.timedelta(minutes=1), PROFILE), case_id)
    assert str(held.value) == f"case {case_id} is being worked by 甲 until 14:15"
    assert held.value.holder_name == "甲" and held.value.until == NOW + LEASE
    # Claiming it again renews the lease; after expiry another agent may claim it.
    again = claim_case(Context.frozen(db, team.me, NOW + dt.timedelta(minutes=5), PROFILE), case_id)
    assert again.lease_expires_at == NOW + dt.timedelta(minutes=5) + LEASE
    late = NOW + dt.timedelta(minutes=21)
    assert claim_case(Context.frozen(db, team.other, late, PROFILE), case_id).case_id == case_id


def test_claiming_moves_the_lease_and_refuses_closed_cases(
    db: Database, make: Factory, team: Team
) -> None:
    first = make.case(priority=100)
    second = make.case(priority=50, owner_id=team.other.id)
    closed = make.case(priority=10, status=CaseStatus.CLOSED)
    claim_case(Context.frozen(db, team.me, NOW, PROFILE), first)
    # Opening a case owned by someone else is allowed: the operator chose it.
    claim_case(Context.frozen(db, team.me, NOW, PROFILE), second)
    assert _case(db, first).lease_holder_id is None
    assert _case(db, second).lease_holder_id == team.me.id
    with pytest.raises(ServiceError, match="closed"):
        claim_case(Context.frozen(db, team.me, NOW, PROFILE), closed)


def test_renew_is_for_the_holder_only(db: Database, make: Factory, team: Team) -> None:
    case_id = make.case(priority=100)
    claim_case(Context.frozen(db, team.me, NOW, PROFILE), case_id)
    later = NOW + dt.timedelta(minutes=10)
    assert renew_lease(Context.frozen(db, team.me, later, PROFILE), case_id) == later + LEASE
    with pytest.raises(LeaseHeld, match="甲"):
        renew_lease(Context.frozen(db, team.other, later, PROFILE), case_id)
    # After the lease ran out and someone else took the case, renewing fails clearly.
    taken = later + LEASE + dt.timedelta(minutes=1)
    claim_case(Context.frozen(db, team.other, taken, PROFILE), case_id)
    with pytest.raises(LeaseHeld, match="your lease has ended"):
        renew_lease(Context.frozen(db, team.me, taken, PROFILE), case_id)
    release_lease(Context.frozen(db, team.other, taken, load_profile()), case_id)
    with pytest.raises(ServiceError, match="no longer hold"):
        renew_lease(Context.frozen(db, team.me, taken, PROFILE), case_id)


def test_release_by_holder_or_supervisor_only(db: Database, make: Factory, team: Team) -> None:
    case_id = make.case(priority=100)
    claim_case(Context.frozen(db, team.me, NOW, PROFILE), case_id)
    with pytest.raises(PermissionDenied):
        release_lease(Context.frozen(db, team.other, NOW, load_profile()), case_id)
    assert _case(db, case_id).lease_holder_id == team.me.id
    release_lease(Context.frozen(db, team.sup, NOW, load_profile()), case_id)
    assert _case(db, case_id).lease_holder_id is None
    release_lease(
        Context.frozen(db, team.other, NOW, load_profile()), case_id
    )  # nobody holds it: nothing to do
    claim_case(Context.frozen(db, team.me, NOW, PROFILE), case_id)
    release_lease(Context.frozen(db, team.me, NOW, load_profile()), case_id)
    with db.read() as s:
        events = [
            (e.action, e.agent_id) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]
    assert events == [
        ("case.claim", team.me.id),
        ("case.lease_release", team.sup.id),
        ("case.claim", team.me.id),
        ("case.release", team.me.id),
    ]


# --- many claimers at once -----------------------------------------------------------------

THREADS = 8
PROCESSES = 6
ROUNDS = 12
CASES = 16


@dataclass(frozen=True)
class Call:
    agent_id: int
    started: float  # time.monotonic(), comparable across processes on one host
    ended: float
    case_id: int | None


def _hammer(
    url: str, actor: Actor, rounds: int, go: Any, ready: Any = None
) -> tuple[list[Call], list[str]]:
    calls: list[Call] = []
    errors: list[str] = []
    db = open_database(url)
    try:
        if ready is not None:
            ready.put(actor.id)
        go.wait(60)
        for _ in range(rounds):
            started = time.monotonic()
            try:
                claim = take_next(Context(db, actor, utcnow, PROFILE))
            except Exception:
                errors.append(traceback.format_exc())
                continue
            calls.append(
                Call(actor.id, started, time.monotonic(), claim.case_id if claim else None)
            )
    finally:
        db.dispose()
    return calls, errors


def _process_main(url: str, actor: Actor, rounds: int, go: Any, ready: Any, results: Any) -> None:
    results.put(_hammer(url, actor, rounds, go, ready))


def _overlaps(calls: list[Call]) -> list[str]:
    """Holds of one case by two agents that certainly overlapped.

    A claim is in force from some moment inside its call until some moment inside the
    agent's next call (which releases it). If two agents' claims of a case both returned
    before either agent started its next call, both held the case at once.
    """
    holds: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    by_agent: dict[int, list[Call]] = defaultdict(list)
    for call in calls:
        by_agent[call.agent_id].append(call)
    for agent_calls in by_agent.values():
        agent_calls.sort(key=lambda c: c.started)
        for i, call in enumerate(agent_calls):
            if call.case_id is None:
                continue
            released = agent_calls[i + 1].started if i + 1 < len(agent_calls) else float("inf")
            holds[call.case_id].append((call.agent_id, call.ended, released))
    problems = []
    for case_id, spans in holds.items():
        for a, (agent_a, got_a, left_a) in enumerate(spans):
            for agent_b, got_b, left_b in spans[a + 1 :]:
                if agent_a != agent_b and max(got_a, got_b) < min(left_a, left_b):
                    problems.append(f"case {case_id}: agents {agent_a} and {agent_b}")
    return problems


def test_concurrent_claimers_never_share_a_case(db: Database) -> None:
    """Threads and spawned processes press take-next flat out against one database."""
    make = Factory(db, now=NOW)
    for i in range(CASES):
        make.case(priority=1000 - i)
    actors = [_actor(db, make.agent(login=f"w{i:02d}")) for i in range(THREADS + PROCESSES)]
    url = db.url.render_as_string(hide_password=False)

    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    ready = ctx.Queue()
    results = ctx.Queue()
    processes = [
        ctx.Process(target=_process_main, args=(url, actor, ROUNDS, go, ready, results))
        for actor in actors[THREADS:]
    ]
    for process in processes:
        process.start()
    thread_results: list[tuple[list[Call], list[str]]] = []
    lock = threading.Lock()

    def run(actor: Actor) -> None:
        outcome = _hammer(url, actor, ROUNDS, go)
        with lock:
            thread_results.append(outcome)

    threads = [threading.Thread(target=run, args=(actor,)) for actor in actors[:THREADS]]
    for thread in threads:
        thread.start()
    for _ in processes:
        ready.get(timeout=60)  # every process has started and opened the database
    go.set()
    for thread in threads:
        thread.join(120)
    outcomes = thread_results + [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0

    calls = [call for found, _ in outcomes for call in found]
    errors = [error for _, found in outcomes for error in found]
    assert errors == [], errors[0]
    assert len(calls) == (THREADS + PROCESSES) * ROUNDS
    claimed = [c for c in calls if c.case_id is not None]
    assert len(claimed) >= len(calls) // 2
    assert _overlaps(calls) == []

    # At the end each agent holds exactly the case of its last call, and nothing else.
    last: dict[int, int | None] = {}
    for call in sorted(calls, key=lambda c: c.started):
        last[call.agent_id] = call.case_id
    with db.read() as s:
        held = s.execute(
            select(CollectionCase.lease_holder_id, CollectionCase.id).where(
                CollectionCase.lease_holder_id.is_not(None)
            )
        ).all()
    holders = defaultdict(list)
    for agent_id, case_id in held:
        holders[agent_id].append(case_id)
    assert {a: cases for a, cases in holders.items()} == {
        a: [case_id] for a, case_id in last.items() if case_id is not None
    }
