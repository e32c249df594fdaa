"""Agent states on the desk, through Pilot on SQLite at 80x24 and 160x50, on a clock the
test moves: ready on opening, paused with a reason (B), working on a claim, wrap-up after
an outcome with its countdown, extended once (E), ready when it ends, offline on
leaving; auto mode (N) taking the next case by itself with a preview and a skip (X).

Every change is read back from ``agent_state_span`` and the audit trail; the header's
state line is read from the screen itself (it is always visible, at both sizes).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from textual.widget import Widget

from tests.factories import Factory
from tests.pilot import desk_screen, screen_text, settle, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AgentStateSpan,
    AuditEvent,
    Borrower,
    CollectionCase,
    ContactAttempt,
    Role,
)
from tui_desk.rules.profile import load_profile
from tui_desk.screens.desk import DeskScreen
from tui_desk.screens.state_modals import ReasonModal
from tui_desk.services.context import Actor, Context
from tui_desk.services.queue import claim_case
from tui_desk.services.search_index import index_borrower

WIDE = (160, 50)
NARROW = (80, 24)
SIZES = [NARROW, WIDE]
# Wednesday 2026-11-25, 11:00 in Shanghai: inside the CN contact window.
DAYTIME = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.usefixtures("quick_debounce")


class MovingClock:
    """The desk's clock: still unless the test moves it."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class World:
    db: Database
    actor: Actor
    cases: tuple[int, ...]
    clock: MovingClock

    def app(self) -> DeskApp:
        return DeskApp(
            db=self.db,
            actor=self.actor,
            settings=Settings(database_url=str(self.db.url)),
            clock=self.clock,
        )


@pytest.fixture
def world(sqlite_db: Database) -> World:
    make = Factory(sqlite_db, now=DAYTIME)
    op = make.agent(login="op", name="王小明")
    make.agent(login="boss", name="钱主管", role=Role.SUPERVISOR)
    cases = tuple(
        make.case(name=name, priority=900 - 10 * i, overdue_days=20 + 7 * i)
        for i, name in enumerate(("欧阳娜娜", "张三", "李小龙", "王五"))
    )
    with sqlite_db.write() as s:
        for borrower in s.scalars(select(Borrower)):
            index_borrower(s, borrower)
    actor = Actor(id=op, login="op", name="王小明", role=Role.OPERATOR)
    return World(sqlite_db, actor, cases, MovingClock(DAYTIME))


@pytest.fixture(autouse=True)
def _quick_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    # The ticks come often; what they show depends on the test's clock alone.
    monkeypatch.setattr(DeskScreen, "STATE_TICK_SECONDS", 0.02)
    monkeypatch.setattr(DeskScreen, "LEASE_POLL_SECONDS", 0.05)


def spans(db: Database, agent_id: int) -> list[tuple[str, str | None, int | None]]:
    with db.read() as s:
        rows = s.scalars(
            select(AgentStateSpan)
            .where(AgentStateSpan.agent_id == agent_id)
            .order_by(AgentStateSpan.id)
        ).all()
        chain = [(r.started_at, r.ended_at) for r in rows]
        for (_start, end), (start, _end) in itertools.pairwise(chain):
            assert end == start  # no gap, no overlap
        assert [end for _s, end in chain].count(None) <= 1
        return [(r.state.value, r.reason, r.case_id) for r in rows]


def events(db: Database, action: str) -> list[AuditEvent]:
    with db.read() as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        for row in rows:
            s.expunge(row)
        return rows


def holder(db: Database, case_id: int) -> int | None:
    with db.read() as s:
        return s.scalar(select(CollectionCase.lease_holder_id).where(CollectionCase.id == case_id))


def header(app: DeskApp) -> str:
    """The header line as drawn (the first row of the screen)."""
    return screen_text(app, legacy_windows=False).splitlines()[0]


async def tick(pilot: object, world: World, seconds: float) -> None:
    """Move the clock and let the desk's ticks see it."""
    world.clock.advance(seconds)
    await pilot.pause(0.1)  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", SIZES)
async def test_the_desk_opens_ready_and_counts_the_time_in_the_header(
    world: World, size: tuple[int, int]
) -> None:
    app = world.app()
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: desk_screen(app).agent_status is not None)
        screen = desk_screen(app)
        assert screen.state_text == "Ready 00:00 | manual"
        await until(pilot, lambda: "Ready 00:00 | manual" in header(app))
        await tick(pilot, world, 75)
        await until(pilot, lambda: "Ready 01:15" in header(app))
        await tick(pilot, world, 3600)
        await until(pilot, lambda: "Ready 1:01:15 | manual" in header(app))
    assert spans(world.db, world.actor.id) == [("ready", None, None), ("offline", None, None)]


@pytest.mark.parametrize("size", SIZES)
async def test_b_pauses_with_a_reason_and_b_again_is_ready(
    world: World, size: tuple[int, int]
) -> None:
    app = world.app()
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: desk_screen(app).agent_status is not None)
        screen = desk_screen(app)
        await pilot.press("B")
        await settle(pilot)
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("2")  # meal
        await until(pilot, lambda: screen.state_text.startswith("Paused: meal 00:00"))
        await tick(pilot, world, 125)
        await until(pilot, lambda: "Paused: meal 02:05" in header(app))
        # Escape on the reasons changes nothing.
        await pilot.press("B")
        await settle(pilot)
        assert not isinstance(app.screen, ReasonModal)  # paused: B is ready again
        await until(pilot, lambda: screen.state_text.startswith("Ready 00:00"))
        await pilot.press("B")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert screen.state_text.startswith("Ready")
        assert screen.in_hand is None  # a manual desk takes no case by itself
    assert spans(world.db, world.actor.id) == [
        ("ready", None, None), ("paused", "meal", None), ("ready", None, None),
        ("offline", None, None),
    ]  # fmt: skip
    paused = [
        e for e in events(world.db, "agent.state") if (e.after or {}).get("state") == "paused"
    ]
    assert [(e.agent_id, (e.after or {}).get("reason")) for e in paused] == [
        (world.actor.id, "meal")
    ]


@pytest.mark.parametrize("size", SIZES)
async def test_claim_outcome_wrap_up_extended_once_then_ready(
    world: World, size: tuple[int, int]
) -> None:
    app = world.app()
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: desk_screen(app).agent_status is not None)
        screen = desk_screen(app)
        await pilot.press("n")
        await until(pilot, lambda: screen.state_text.startswith("Working 00:00"))
        assert screen.in_hand is not None
        case_id = screen.in_hand.case_id
        await tick(pilot, world, 40)
        await until(pilot, lambda: "Working 00:40" in header(app))
        await pilot.press("l", "1")
        await until(pilot, lambda: screen.state_text.startswith("Wrap-up 01:00 left E +60s"))
        await tick(pilot, world, 30)
        await until(pilot, lambda: "Wrap-up 00:30 left" in header(app))
        await pilot.press("E")
        await until(pilot, lambda: screen.state_text.startswith("Wrap-up 01:30 left |"))
        await pilot.press("E")
        await settle(pilot)
        assert any("already extended" in str(n.message) for n in app._notifications)
        await tick(pilot, world, 89)
        await until(pilot, lambda: "Wrap-up 00:01 left" in header(app))
        await tick(pilot, world, 1)
        await until(pilot, lambda: screen.state_text.startswith("Ready 00:00 | manual"))
        assert screen.in_hand is not None and screen.in_hand.case_id == case_id  # manual
    assert spans(world.db, world.actor.id) == [
        ("ready", None, None), ("working", None, case_id), ("wrap_up", None, case_id),
        ("ready", None, None), ("offline", None, None),
    ]  # fmt: skip
    with world.db.read() as s:
        [wrap] = s.scalars(select(AgentStateSpan).where(AgentStateSpan.state == "wrap_up"))
        assert wrap.extended
        assert wrap.ended_at == DAYTIME + dt.timedelta(seconds=160)


async def test_e_outside_a_wrap_up_says_so(world: World) -> None:
    app = world.app()
    async with app.run_test(size=NARROW) as pilot:
        await until(pilot, lambda: desk_screen(app).agent_status is not None)
        await pilot.press("E", "X")
        await settle(pilot)
        messages = [str(n.message) for n in app._notifications]
    assert any("not wrapping up" in m for m in messages), messages
    assert any("Nothing to skip" in m for m in messages), messages


@pytest.mark.parametrize("size", SIZES)
async def test_quitting_ends_the_state_offline(world: World, size: tuple[int, int]) -> None:
    app = world.app()
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: desk_screen(app).agent_status is not None)
        await pilot.press("n")
        await until(pilot, lambda: desk_screen(app).state_text.startswith("Working"))
        world.clock.advance(30)
        await pilot.press("q")
        await pilot.pause()
    assert [s for s, _r, _c in spans(world.db, world.actor.id)] == ["ready", "working", "offline"]
    with world.db.read() as s:
        offline = s.scalars(select(AgentStateSpan).where(AgentStateSpan.state == "offline")).one()
        assert offline.started_at == DAYTIME + dt.timedelta(seconds=30)
        assert offline.ended_at is None


@pytest.mark.parametrize("size", SIZES)
async def test_auto_mode_previews_the_next_case_and_a_skip_gives_another(
    world: World, size: tuple[int, int]
) -> None:
    app = world.app()
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: desk_screen(app).agent_status is not None)
        screen = desk_screen(app)
        await pilot.press("N")  # ready and auto: the next case comes at once
        await until(pilot, lambda: screen.in_hand is not None and screen.bundle is not None)
        assert screen.in_hand is not None
        first = screen.in_hand.case_id
        await until(pilot, lambda: "Working preview 00:05, X skips | auto" in header(app))
        await tick(pilot, world, 2)
        await until(pilot, lambda: "preview 00:03" in header(app))
        await pilot.press("X")
        await settle(pilot)
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("3")  # wrong queue
        await until(
            pilot,
            lambda: screen.in_hand is not None and screen.in_hand.case_id != first,
        )
        second = screen.in_hand.case_id
        await until(pilot, lambda: "preview 00:05" in header(app))
        assert holder(world.db, first) is None  # the skipped case went back to the others
        assert holder(world.db, second) == world.actor.id
        # Keys typed in the preview belong to the case on screen.
        await pilot.press("l", "1")
        await until(pilot, lambda: screen.state_text.startswith("Wrap-up 01:00 left"))
        # The wrap-up ends: ready, and auto mode gives the next case with its preview.
        await tick(pilot, world, 60)
        # (take next chooses it: the skipped case, still the most urgent, may come back.)
        await until(pilot, lambda: screen.in_hand is not None and screen.in_hand.case_id != second)
        third = screen.in_hand.case_id
        await until(pilot, lambda: "preview 00:05" in screen.state_text)
        await tick(pilot, world, 5)
        await until(pilot, lambda: screen.state_text.startswith("Working 00:05 | auto"))
        # After the preview there is nothing to skip.
        await pilot.press("X")
        await settle(pilot)
        assert not isinstance(app.screen, ReasonModal)
    [skip] = events(world.db, "case.skip")
    assert (skip.case_id, skip.agent_id, skip.after) == (
        first, world.actor.id, {"reason": "wrong_queue"},
    )  # fmt: skip
    with world.db.read() as s:
        logged = s.scalars(select(ContactAttempt.case_id)).all()
    assert logged == [second]
    assert [(st, c) for st, _r, c in spans(world.db, world.actor.id)] == [
        ("ready", None), ("working", first), ("ready", None), ("working", second),
        ("wrap_up", second), ("ready", None), ("working", third), ("offline", None),
    ]  # fmt: skip


@pytest.mark.parametrize("size", SIZES)
async def test_a_paused_agent_is_never_given_a_case(world: World, size: tuple[int, int]) -> None:
    app = world.app()
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: desk_screen(app).agent_status is not None)
        screen = desk_screen(app)
        await pilot.press("B", "1")  # a break
        await until(pilot, lambda: screen.state_text.startswith("Paused: break"))
        await pilot.press("N")
        await settle(pilot)
        for _ in range(3):
            await tick(pilot, world, 60)
        assert screen.in_hand is None
        assert "Paused: break 03:00 | auto" in header(app)
        await pilot.press("B")  # ready again: the next case comes
        await until(pilot, lambda: screen.in_hand is not None)
        assert screen.in_hand is not None
        await until(pilot, lambda: "preview" in screen.state_text)
    assert [st for st, _r, _c in spans(world.db, world.actor.id)] == [
        "ready", "paused", "ready", "working", "offline",
    ]  # fmt: skip


async def test_the_timer_ticks_without_a_layout_or_a_database_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = world.app()
    async with app.run_test(size=NARROW) as pilot:
        await until(pilot, lambda: desk_screen(app).agent_status is not None)
        await settle(pilot)
        screen = desk_screen(app)
        asked: list[str] = []
        refresh = Widget.refresh

        def counting(self: Widget, *regions: Any, **kwargs: Any) -> Widget:
            asked.append(f"{self.id}{' layout' if kwargs.get('layout') else ''}")
            return refresh(self, *regions, **kwargs)

        def no_database(*_args: Any, **_kwargs: Any) -> Any:
            raise AssertionError("a tick read the database")

        with monkeypatch.context() as patch:
            patch.setattr(Widget, "refresh", counting)
            for name in ("read", "write", "snapshot"):
                patch.setattr(Database, name, no_database)
            for second in range(1, 11):
                world.clock.advance(1)
                screen._tick_state()
                assert screen.state_text == f"Ready 00:{second:02d} | manual"
        assert asked == ["agent-state"] * 10  # the badge's own line, each second


async def test_auto_mode_with_nothing_to_take_stays_ready_and_asks_again_quietly(
    world: World,
) -> None:
    make = Factory(world.db, now=DAYTIME)
    for n, case_id in enumerate(world.cases[1:]):  # others work every other case
        other = make.agent(login=f"other{n}")
        with world.db.read() as s:
            actor = Actor.of(s.get_one(Agent, other))
        claim_case(Context.frozen(world.db, actor, DAYTIME, load_profile()), case_id)
    app = world.app()
    async with app.run_test(size=NARROW) as pilot:
        await until(pilot, lambda: desk_screen(app).agent_status is not None)
        screen = desk_screen(app)
        await pilot.press("N")
        await until(pilot, lambda: "preview" in screen.state_text)
        await pilot.press("l", "1")
        await until(pilot, lambda: screen.state_text.startswith("Wrap-up"))
        await tick(pilot, world, 60)
        await until(pilot, lambda: screen.state_text.startswith("Ready"))
        await settle(pilot)
        nothing = "No case to take right now"
        assert sum(nothing in str(n.message) for n in app._notifications) == 1
        for _ in range(3):  # asked again every 15 s, without a notice each time
            await tick(pilot, world, 16)
        assert sum(nothing in str(n.message) for n in app._notifications) == 1
        assert screen.state_text.startswith("Ready 00:48 | auto")
    with world.db.read() as s:
        tries = s.scalars(select(AuditEvent).where(AuditEvent.action == "case.claim")).all()
    assert len(tries) == 3 + 1  # the others' three claims and the operator's one


async def test_a_second_desk_of_the_agent_follows_the_state_changed_on_the_first(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same agent on two desks: a pause taken on the other desk shows here within a
    poll; the other desk left (the agent signed off) and this one, still open, is on again."""
    from tui_desk.services import agent_states

    monkeypatch.setattr(DeskScreen, "STATE_POLL_SECONDS", 0.05)
    other_desk = Context(world.db, world.actor, world.clock, load_profile("cn"))
    app = world.app()
    async with app.run_test(size=NARROW) as pilot:
        await until(pilot, lambda: "Ready 00:00 | manual" in header(app))
        world.clock.advance(30)
        agent_states.change_state(other_desk, "paused", reason="meal")
        await until(pilot, lambda: "Paused: meal" in header(app))
        assert desk_screen(app).agent_status is not None
        world.clock.advance(30)
        agent_states.go_offline(other_desk)  # the other desk was left
        await until(pilot, lambda: "Ready 00:00 | manual" in header(app))
        assert spans(world.db, world.actor.id)[-3:] == [
            ("paused", "meal", None),
            ("offline", None, None),
            ("ready", None, None),
        ]


async def test_a_claims_own_writes_wait_for_its_case_and_keep_their_order(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The presence and the state a claim writes run after the claimed case is read (they
    would slow its read down), and in their order: ``n l 1`` typed in one go is working,
    then wrap-up."""
    from tui_desk.services.desk import DeskService

    calls: list[tuple[str, object]] = []

    def record(name: str) -> None:
        original = getattr(DeskService, name)

        def wrapper(self: DeskService, *args: Any, **kwargs: Any) -> Any:
            calls.append((name, args[0] if args else kwargs.get("case_id")))
            return original.__get__(self, DeskService)(*args, **kwargs)

        monkeypatch.setattr(DeskService, name, wrapper)

    for name in ("case", "change_state", "heartbeat"):
        record(name)
    app = world.app()
    async with app.run_test(size=WIDE) as pilot:
        await until(pilot, lambda: desk_screen(app).agent_status is not None)
        screen = desk_screen(app)
        await settle(pilot)
        calls.clear()
        await pilot.press("n", "l", "1")
        await until(pilot, lambda: screen.state_text.startswith("Wrap-up"))
        await settle(pilot)
        assert screen.in_hand is not None
        case_id = screen.in_hand.case_id
        read = calls.index(("case", case_id))
        assert calls.index(("heartbeat", case_id)) > read
        assert calls.index(("change_state", "working")) > read
        assert calls.index(("change_state", "wrap_up")) > calls.index(("change_state", "working"))
    assert spans(world.db, world.actor.id)[:3] == [
        ("ready", None, None), ("working", None, case_id), ("wrap_up", None, case_id),
    ]  # fmt: skip


async def test_a_claims_state_waits_for_a_slow_read_of_its_case_only_so_long(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hold has an end: a case read that takes longer than HOLD_WRITES_SECONDS does
    not hold the agent's state back with it."""
    import threading

    from tui_desk.services.desk import DeskService

    monkeypatch.setattr(DeskScreen, "HOLD_WRITES_SECONDS", 0.05)
    release = threading.Event()
    calls: list[str] = []
    original_case = DeskService.case
    original_change = DeskService.change_state

    def slow_case(self: DeskService, *args: Any, **kwargs: Any) -> Any:
        release.wait(5.0)  # until the state was written
        calls.append("case read")
        return original_case(self, *args, **kwargs)

    def change_state(self: DeskService, *args: Any, **kwargs: Any) -> Any:
        calls.append(f"state {args[0]}")
        if args[0] == "working":
            release.set()
        return original_change.__get__(self, DeskService)(*args, **kwargs)

    monkeypatch.setattr(DeskService, "change_state", change_state)
    app = world.app()
    async with app.run_test(size=WIDE) as pilot:
        await until(pilot, lambda: desk_screen(app).agent_status is not None)
        await settle(pilot)
        monkeypatch.setattr(DeskService, "case", slow_case)
        calls.clear()
        await pilot.press("n")
        await until(pilot, lambda: "case read" in calls)
        await settle(pilot)
    assert calls[:2] == ["state working", "case read"]
