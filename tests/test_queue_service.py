"""The queue service on both engines: order = the profile's formula, seamless keyset pages
in both directions, every filter returns exactly its set, orphans are surfaced."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import select, update

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, CaseStatus, CollectionCase, Role, Stage
from tui_desk.demo.seeder import seed_database
from tui_desk.rules.priority import bucket_labels, days_past_due, dpd_bucket, priority_score
from tui_desk.rules.profile import load_profile
from tui_desk.services import queue
from tui_desk.services.case_state import recompute_priority
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import ServiceError
from tui_desk.services.queue import QueueFilter, Scope, queue_page, queue_reason
from tui_desk.services.queue import access as queue_access
from tui_desk.views.queue import QueueKey, QueuePage

NOW = dt.datetime(2024, 5, 8, 6, 0, tzinfo=dt.UTC)  # Wednesday 14:00 in Shanghai
PROFILE = load_profile("cn")
TODAY = dt.date(2024, 5, 8)
END_OF_TODAY = dt.datetime(2024, 5, 8, 16, 0, tzinfo=dt.UTC)  # midnight in Shanghai


@dataclass(frozen=True)
class Facts:
    case_id: int
    priority: int
    owner_id: int | None
    stage: Stage
    on_hold: bool
    registered: bool
    broken_promises: int
    overdue_since: dt.date | None
    overdue_minor: int
    next_action_at: dt.datetime | None

    @property
    def key(self) -> QueueKey:
        return (self.priority, self.case_id)


def open_facts(db: Database) -> list[Facts]:
    with db.read() as s:
        return [
            Facts(
                c.id,
                c.priority,
                c.owner_id,
                c.stage,
                c.on_hold,
                c.registered,
                c.broken_promises,
                c.overdue_since,
                c.overdue_minor,
                c.next_action_at,
            )
            for c in s.scalars(select(CollectionCase).where(CollectionCase.status == "open"))
        ]


def actor_of(db: Database, login: str) -> Actor:
    with db.read() as s:
        agent = s.scalar(select(Agent).where(Agent.login == login))
        assert agent is not None
        return Actor.of(agent)


def all_pages(
    db: Database, actor: Actor, flt: QueueFilter, *, limit: int = 1000
) -> Iterator[QueuePage]:
    after: QueueKey | None = None
    while True:
        page = queue_page(Context.frozen(db, actor, NOW, PROFILE), flt, after=after, limit=limit)
        yield page
        if not page.more_after:
            return
        after = page.rows[-1].key


def keys_of(db: Database, actor: Actor, flt: QueueFilter, *, limit: int = 1000) -> list[QueueKey]:
    return [row.key for page in all_pages(db, actor, flt, limit=limit) for row in page.rows]


@pytest.fixture
def seeded(db: Database) -> Database:
    """300 seeded cases, plus holds, registrations and broken promises for the filters."""
    seed_database(db, cases=300, now=NOW)
    with db.write() as s:
        cases = s.scalars(
            select(CollectionCase)
            .where(CollectionCase.status == "open")
            .order_by(CollectionCase.id)
        ).all()
        for case in cases[::23]:
            case.on_hold = True
        for case in cases[5::17]:
            case.broken_promises += 2
            recompute_priority(case, NOW, PROFILE)
        for case in [c for c in cases if c.registered][::4]:
            case.owner_id = None
    return db


# --- order -------------------------------------------------------------------------------


def test_queue_order_equals_the_profile_formula(seeded: Database) -> None:
    actor = actor_of(seeded, "op01")
    page = queue_page(Context.frozen(seeded, actor, NOW, PROFILE), QueueFilter(), limit=1000)
    assert not page.more_after and not page.more_before
    facts = {f.case_id: f for f in open_facts(seeded)}
    scored = []
    for row in page.rows:
        f = facts[row.case_id]
        score = priority_score(
            dpd=days_past_due(f.overdue_since, TODAY),
            overdue_minor=f.overdue_minor,
            broken_promises=f.broken_promises,
            next_action_due=f.next_action_at is not None and f.next_action_at <= NOW,
            weights=PROFILE.priority,
        )
        scored.append((score.value, row.case_id))
        assert row.why == score.reason()
    # The page's sequence is the formula's order over the open, unheld cases.
    assert [row.key for row in page.rows] == scored == sorted(scored, reverse=True)
    assert len(scored) == sum(
        1 for f in facts.values() if not f.on_hold and f.stage is not Stage.FOLLOW_UP
    )


def test_queue_order_follows_recomputed_priorities(db: Database) -> None:
    """Priorities written by the formula give the formula's order (factory cases)."""
    make = Factory(db, now=NOW)
    actor = actor_of_new(db, make)
    shapes = [(10, 100_000, 0, False), (95, 5_000_000, 0, True), (40, 0, 2, False)]
    shapes += [(62, 2_000_000, 1, True), (3, 90_000_000, 0, False), (40, 0, 2, False)]
    expected = []
    for days, amount, broken, due in shapes:
        score = priority_score(
            dpd=days,
            overdue_minor=amount,
            broken_promises=broken,
            next_action_due=due,
            weights=PROFILE.priority,
        )
        case_id = make.case(
            priority=score.value,
            overdue_days=days,
            overdue_minor=amount,
            broken_promises=broken,
            next_action_at=NOW - dt.timedelta(hours=1) if due else NOW + dt.timedelta(days=2),
        )
        expected.append((score.value, case_id, score.reason()))
    page = queue_page(Context.frozen(db, actor, NOW, PROFILE), QueueFilter())
    assert [(r.priority, r.case_id, r.why) for r in page.rows] == sorted(expected, reverse=True)


def actor_of_new(db: Database, make: Factory, role: Role = Role.OPERATOR) -> Actor:
    agent_id = make.agent(role=role)
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


# --- keyset paging -----------------------------------------------------------------------


def test_pages_down_and_up_are_seamless(seeded: Database) -> None:
    actor = actor_of(seeded, "op01")
    everything = keys_of(seeded, actor, QueueFilter())
    assert len(everything) > 250
    pages = list(all_pages(seeded, actor, QueueFilter(), limit=37))
    down = [row.key for page in pages for row in page.rows]
    assert down == everything
    assert not pages[0].more_before and all(p.more_before for p in pages[1:])
    assert all(p.more_after for p in pages[:-1]) and not pages[-1].more_after
    assert all(len(p.rows) == 37 for p in pages[:-1])

    # Upwards from below the last row back to the top, 37 at a time.
    up: list[QueueKey] = []
    before: QueueKey = (everything[-1][0], everything[-1][1] - 1)
    while True:
        page = queue_page(
            Context.frozen(seeded, actor, NOW, PROFILE), QueueFilter(), before=before, limit=37
        )
        assert page.more_after == bool(up)  # nothing lies below the starting point
        up = [row.key for row in page.rows] + up
        if not page.more_before:
            break
        before = page.rows[0].key
    assert up == everything

    # A page up from the middle ends just above the key it started from.
    middle = everything[100]
    page = queue_page(
        Context.frozen(seeded, actor, NOW, PROFILE), QueueFilter(), before=middle, limit=10
    )
    assert [r.key for r in page.rows] == everything[90:100]
    assert page.more_before and page.more_after


def test_page_limits_are_clamped(seeded: Database) -> None:
    actor = actor_of(seeded, "op01")
    page = queue_page(Context.frozen(seeded, actor, NOW, PROFILE), QueueFilter(), limit=0)
    assert len(page.rows) == 1 and page.more_after
    with pytest.raises(ValueError):
        queue_page(
            Context.frozen(seeded, actor, NOW, load_profile()),
            QueueFilter(),
            after=(1, 1),
            before=(2, 2),
        )


# --- filters -----------------------------------------------------------------------------


def _bucket_of(f: Facts) -> str:
    return dpd_bucket(days_past_due(f.overdue_since, TODAY), PROFILE.dpd_bounds)


def _filters(me: int) -> list[tuple[QueueFilter, Callable[[Facts], bool]]]:
    # The contact queue: neither held cases nor cases in follow-up (paying by their plan).
    not_held: Callable[[Facts], bool] = lambda f: (  # noqa: E731
        not f.on_hold and f.stage is not Stage.FOLLOW_UP
    )
    cases: list[tuple[QueueFilter, Callable[[Facts], bool]]] = [
        (QueueFilter(), not_held),
        (QueueFilter(scope=Scope.MINE), lambda f: not_held(f) and f.owner_id == me),
        (QueueFilter(scope=Scope.UNOWNED), lambda f: not_held(f) and f.owner_id is None),
        (QueueFilter(stage=Stage.NEW), lambda f: not_held(f) and f.stage is Stage.NEW),
        (QueueFilter(broken_only=True), lambda f: not_held(f) and f.broken_promises > 0),
        (QueueFilter(on_hold=True), lambda f: f.on_hold),
        (QueueFilter(registered_only=True), lambda f: not_held(f) and f.registered),
        (
            QueueFilter(due_today=True),
            lambda f: (
                not_held(f) and f.next_action_at is not None and f.next_action_at < END_OF_TODAY
            ),
        ),
        (
            QueueFilter(scope=Scope.MINE, stage=Stage.CONTACTING, due_today=True),
            lambda f: (
                not_held(f)
                and f.owner_id == me
                and f.stage is Stage.CONTACTING
                and f.next_action_at is not None
                and f.next_action_at < END_OF_TODAY
            ),
        ),
        (
            QueueFilter(scope=Scope.UNOWNED, broken_only=True, bucket="1-30"),
            lambda f: (
                not_held(f)
                and f.owner_id is None
                and f.broken_promises > 0
                and _bucket_of(f) == "1-30"
            ),
        ),
        (
            QueueFilter(on_hold=True, scope=Scope.MINE),
            lambda f: f.on_hold and f.owner_id == me,
        ),
        (
            QueueFilter(registered_only=True, scope=Scope.UNOWNED, due_today=True),
            lambda f: (
                not_held(f)
                and f.registered
                and f.owner_id is None
                and f.next_action_at is not None
                and f.next_action_at < END_OF_TODAY
            ),
        ),
    ]
    for label in bucket_labels(PROFILE.dpd_bounds):
        cases.append((QueueFilter(bucket=label), _in_bucket(label)))
    return cases


def _in_bucket(label: str) -> Callable[[Facts], bool]:
    def wanted(f: Facts) -> bool:
        return not f.on_hold and f.stage is not Stage.FOLLOW_UP and _bucket_of(f) == label

    return wanted


def test_each_filter_returns_exactly_its_cases(seeded: Database) -> None:
    actor = actor_of(seeded, "op01")
    facts = open_facts(seeded)
    for flt, wanted in _filters(actor.id):
        expected = sorted((f.key for f in facts if wanted(f)), reverse=True)
        assert expected, f"the fixture must exercise {flt.describe()}"
        assert keys_of(seeded, actor, flt, limit=11) == expected, flt.describe()


@pytest.mark.parametrize("threshold", [0, 10**9])
def test_due_today_both_ways_agree(
    seeded: Database, threshold: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Few due cases are ranked from ix_case_next_action, many are walked: same answer."""
    actor = actor_of(seeded, "op01")
    base = QueueFilter(due_today=True)
    expected = keys_of(seeded, actor, base)
    monkeypatch.setattr(queue_access, "dense_threshold", lambda _s, _limit: threshold)
    for flt in (base, replace(base, scope=Scope.UNOWNED), replace(base, stage=Stage.CONTACTING)):
        got = keys_of(seeded, actor, flt, limit=13)
        facts = {f.case_id: f for f in open_facts(seeded)}
        assert set(got) <= set(expected)
        for _, case_id in got:
            f = facts[case_id]
            assert f.next_action_at is not None and f.next_action_at < END_OF_TODAY
    assert keys_of(seeded, actor, base, limit=13) == expected


def test_unknown_bucket_is_refused(seeded: Database) -> None:
    actor = actor_of(seeded, "op01")
    with pytest.raises(ServiceError, match="91\\+"):
        queue_page(Context.frozen(seeded, actor, NOW, PROFILE), QueueFilter(bucket="0-7"))


def test_closed_cases_never_show(db: Database) -> None:
    make = Factory(db, now=NOW)
    actor = actor_of_new(db, make)
    open_id = make.case(priority=10)
    make.case(priority=10_000, status=CaseStatus.CLOSED)
    assert [
        r.case_id
        for r in queue_page(Context.frozen(db, actor, NOW, load_profile()), QueueFilter()).rows
    ] == [open_id]


# --- rows --------------------------------------------------------------------------------


def test_row_shows_live_lease_and_reason(db: Database) -> None:
    make = Factory(db, now=NOW)
    actor = actor_of_new(db, make)
    holder = make.agent(name="李四")
    case_id = make.case(overdue_days=45, broken_promises=1, next_action_at=NOW)
    with db.write() as s:
        s.execute(
            update(CollectionCase)
            .where(CollectionCase.id == case_id)
            .values(lease_holder_id=holder, lease_expires_at=NOW + dt.timedelta(minutes=5))
            .execution_options(synchronize_session=False)
        )
    (row,) = queue_page(Context.frozen(db, actor, NOW, PROFILE), QueueFilter()).rows
    assert (row.lease_holder_name, row.lease_expires_at) == ("李四", NOW + dt.timedelta(minutes=5))
    assert row.broken_promises == 1 and row.next_action_due
    reason = queue_reason(row)
    assert "45 days past due (31-60)" in reason
    assert "1 broken promise" in reason and "next action due" in reason
    assert "days overdue +450, amount +60" in reason  # the score's parts, in words
    # Ten minutes later the lease has run out: nobody holds the case any more.
    later = NOW + dt.timedelta(minutes=10)
    (row,) = queue_page(Context.frozen(db, actor, later, PROFILE), QueueFilter()).rows
    assert (row.lease_holder_name, row.lease_expires_at) == (None, None)


def test_describe_summarises_the_filter() -> None:
    assert QueueFilter().describe() == "all open cases"
    assert (
        QueueFilter(scope=Scope.MINE, bucket="31-60", stage=Stage.CONTACTING).describe()
        == "my cases | 31-60 days past due | stage: contacting"
    )
    assert QueueFilter(on_hold=True, broken_only=True).describe() == (
        "all open cases | broken promises | on hold only"
    )
    assert QueueFilter(search="800").describe() == "search: type at least 4 digits"
    assert QueueFilter(search="8000").describe() == "search: phone ending 8000"
    assert QueueFilter(search="+86 138 1234 8000").describe() == "search: phone +8613812348000"
    assert QueueFilter(search="id:2X").describe() == "search: type at least 4 characters of the ID"
    assert QueueFilter(search="#12").describe() == "search: case #12"
    assert QueueFilter(search="张三", on_hold=True).describe() == (
        'search: name "张三" | on hold only'
    )


# --- orphans -----------------------------------------------------------------------------


def test_orphans_are_surfaced(db: Database) -> None:
    make = Factory(db, now=NOW)
    first = make.case(next_action_at=None)
    make.case(next_action_at=NOW)
    second = make.case(next_action_at=None)
    make.case(next_action_at=None, status=CaseStatus.CLOSED)
    assert queue.orphans(db) == [first, second]
    assert queue.orphans(db, limit=1) == [first]
    assert queue.orphan_count(db) == 2
