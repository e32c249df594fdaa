"""The case in hand, driven through Pilot on SQLite: every key lands on the case the
operator sees, whatever was typed ahead, searched or moved meanwhile.

Keys are typed in bursts without waiting for the desk, and every assertion is read from
the audit trail (``audit_event``: action, case, agent), the record of what was done to
which case: each ``contact.log`` must land on the case claimed just before it, and no
case may be released except by taking another one (``n``, ``c``, Enter) or leaving.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.factories import Factory
from tests.pilot import desk_screen, settle, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, AuditEvent, Borrower, CollectionCase, Phone, Role
from tui_desk.rules.priority import bucket_number, days_past_due
from tui_desk.rules.profile import load_profile
from tui_desk.screens.contact_modal import ContactModal
from tui_desk.screens.desk import DeskScreen
from tui_desk.services.context import Actor, Context
from tui_desk.services.desk import DeskService
from tui_desk.services.search_index import index_borrower, index_phone
from tui_desk.views.queue import Claim
from tui_desk.widgets.case_header import CaseHeader

WIDE = (160, 50)
NARROW = (80, 24)
# Wednesday 2026-11-25, 11:00 in Shanghai: inside the CN contact window.
DAYTIME = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)
NAMES = ("欧阳娜娜", "张三", "李小龙", "王五", "李娜", "赵六", "孙七", "周八", "吴九", "郑十")

pytestmark = pytest.mark.usefixtures("quick_debounce")


@dataclass(frozen=True)
class Desk:
    db: Database
    actor: Actor
    supervisor: Actor
    cases: tuple[int, ...]

    def app(self, **settings: Any) -> DeskApp:
        return DeskApp(
            db=self.db,
            actor=self.actor,
            settings=Settings(database_url=str(self.db.url), **settings),
            clock=lambda: DAYTIME,
        )


def _seed(db: Database) -> Desk:
    make = Factory(db, now=DAYTIME)
    operator = make.agent(login="op", name="王小明")
    boss = make.agent(login="boss", name="钱主管", role=Role.SUPERVISOR)
    cases = tuple(
        make.case(name=name, priority=900 - 10 * i, overdue_days=20 + 7 * i)
        for i, name in enumerate(NAMES)
    )
    bounds = load_profile().dpd_bounds
    with db.write() as s:
        for borrower in s.scalars(select(Borrower)):
            index_borrower(s, borrower)
        for phone in s.scalars(select(Phone)):
            index_phone(phone)
        for case in s.scalars(select(CollectionCase)):
            case.dpd_bucket = bucket_number(
                days_past_due(case.overdue_since, DAYTIME.date()), bounds
            )
    return Desk(
        db,
        Actor(id=operator, login="op", name="王小明", role=Role.OPERATOR),
        Actor(id=boss, login="boss", name="钱主管", role=Role.SUPERVISOR),
        cases,
    )


@pytest.fixture
def desk(sqlite_db: Database) -> Desk:
    return _seed(sqlite_db)


@pytest.fixture(autouse=True)
def _quick_lease_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DeskScreen, "LEASE_POLL_SECONDS", 0.05)


# --- reading the audit trail ----------------------------------------------------------


def trail(db: Database, agent_id: int, after: int = 0) -> list[tuple[str, int | None]]:
    """The agent's audit events after event ``after``: (action, case), oldest first
    (keeping the lease and changing state, which every claim and outcome do, aside)."""
    with db.read() as s:
        rows = s.execute(
            select(AuditEvent.action, AuditEvent.case_id)
            .where(AuditEvent.agent_id == agent_id, AuditEvent.id > after)
            .order_by(AuditEvent.id)
        ).all()
    return [
        (action, case_id)
        for action, case_id in rows
        if action not in ("case.lease_renew", "agent.state")
    ]


def last_event(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.max(AuditEvent.id))) or 0)


def check_hand(events: list[tuple[str, int | None]]) -> int:
    """Each contact lands on the case claimed just before it; a case is released only
    when another is claimed in the same step, or at the very end (leaving the desk).
    Returns how many contacts were logged."""
    held: int | None = None
    logged = 0
    for index, (action, case_id) in enumerate(events):
        if action == "case.claim":
            held = case_id
        elif action == "case.release":
            assert case_id == held, events
            rest = events[index + 1 :]
            claimed_next = bool(rest) and rest[0][0] in ("case.claim", "case.release")
            assert claimed_next or not any(a == "contact.log" for a, _ in rest), events
            held = None
        elif action == "contact.log":
            assert held is not None and case_id == held, events
            logged += 1
    return logged


def claims(events: list[tuple[str, int | None]]) -> list[int | None]:
    return [case_id for action, case_id in events if action == "case.claim"]


# --- type-ahead --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_take_next_and_log_five_times_typed_at_once(
    desk: Desk, size: tuple[int, int]
) -> None:
    app = desk.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        start = last_event(desk.db)
        for _ in range(5):
            await pilot.press("n", "l", "1")
        await settle(pilot)
        events = trail(desk.db, desk.actor.id, start)
    logged = check_hand(events)
    assert logged == 5
    # No n was lost: every claim is a case of its own, and no key went unaccounted for.
    taken = claims(events)
    assert len(taken) == len(set(taken))
    assert len(taken) == 5


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_a_burst_of_n_then_a_contact_lands_on_the_last_case(
    desk: Desk, size: tuple[int, int]
) -> None:
    app = desk.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        start = last_event(desk.db)
        await pilot.press("n", "n", "n", "l", "1")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        in_hand = screen.in_hand.case_id
        events = trail(desk.db, desk.actor.id, start)
    assert check_hand(events) == 1
    taken = claims(events)
    # Three takes, each moving on from the case before (an unworked case may come back).
    assert len(taken) == 3 and all(a != b for a, b in itertools.pairwise(taken))
    assert taken[-1] == in_hand
    assert [c for a, c in events if a == "contact.log"] == [in_hand]


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_search_does_not_release_the_case_in_hand(desk: Desk, size: tuple[int, int]) -> None:
    app = desk.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        start = last_event(desk.db)
        await pilot.press("n", "slash", "李", "escape", "l", "1")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        header = app.query_one(CaseHeader).text
        assert f"#{screen.in_hand.case_id}" in header.splitlines()[0]
        events = trail(desk.db, desk.actor.id, start)
    [claimed] = claims(events)
    assert check_hand(events) == 1
    assert ("contact.log", claimed) in events
    assert not any(a in ("case.release", "case.lease_release") for a, _ in events)


@pytest.fixture
def slow_claims(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Take-next waits for the returned event: keys are typed while the claim is out."""
    gate = threading.Event()
    original = DeskService.take_next

    def take_next(self: DeskService) -> Claim | None:
        gate.wait(10)
        return original.__get__(self, DeskService)()

    monkeypatch.setattr(DeskService, "take_next", take_next)
    return gate


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_keys_typed_during_a_slow_claim_wait_for_its_case(
    desk: Desk, slow_claims: threading.Event, size: tuple[int, int]
) -> None:
    app = desk.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        start = last_event(desk.db)
        await pilot.press("n", "slash", "李", "escape", "l", "1", "down", "l", "2")
        screen = desk_screen(app)
        assert screen.claim_in_flight
        assert trail(desk.db, desk.actor.id, start) == []
        slow_claims.set()
        await settle(pilot)
        assert screen.in_hand is not None
        hand = screen.in_hand.case_id
        events = trail(desk.db, desk.actor.id, start)
    assert events[0] == ("case.claim", hand)
    assert [e for e in events if e[0] == "contact.log"] == [("contact.log", hand)] * 2
    assert check_hand(events) == 2


async def test_keys_typed_before_nothing_to_take_are_reported(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()

    def nothing(self: DeskService) -> Claim | None:
        gate.wait(10)
        return None

    monkeypatch.setattr(DeskService, "take_next", nothing)
    app = desk.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        start = last_event(desk.db)
        await pilot.press("n", "l", "1")
        gate.set()
        await settle(pilot)
        messages = [str(n.message) for n in app._notifications]
        assert desk_screen(app).in_hand is None
        assert not isinstance(app.screen, ContactModal)
    assert any("not applied" in m and "l 1" in m for m in messages), messages
    assert trail(desk.db, desk.actor.id, start) == []


async def test_moving_the_cursor_keeps_the_case_in_hand_and_j_goes_back(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        hand = screen.in_hand.case_id
        start = last_event(desk.db)
        await pilot.press("down", "down", "down")
        await settle(pilot)
        assert screen.queue.case_id != hand
        assert screen.bundle is not None and screen.bundle.case_id == hand
        await pilot.press("l", "2")
        await settle(pilot)
        await pilot.press("j")
        await settle(pilot)
        assert screen.queue.case_id == hand
        events = trail(desk.db, desk.actor.id, start)
    assert events == [("contact.log", hand)]


async def test_enter_on_a_row_works_the_case(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        start = last_event(desk.db)
        await pilot.press("down", "enter")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        assert screen.in_hand.case_id == desk.cases[1]
        assert trail(desk.db, desk.actor.id, start) == [("case.claim", desk.cases[1])]
        assert screen.in_hand.borrower_name == NAMES[1]


async def test_a_case_key_with_nothing_in_hand_claims_the_row_first(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        start = last_event(desk.db)
        await pilot.press("l", "1")
        await settle(pilot)
        events = trail(desk.db, desk.actor.id, start)
    assert events == [("case.claim", desk.cases[0]), ("contact.log", desk.cases[0])]


async def test_a_case_key_on_a_row_someone_holds_says_why(desk: Desk) -> None:
    DeskService(
        db=desk.db, actor=desk.supervisor, profile=load_profile(), clock=lambda: DAYTIME
    ).claim(desk.cases[0])
    app = desk.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        start = last_event(desk.db)
        await pilot.press("l", "1")
        await settle(pilot)
        messages = [str(n.message) for n in app._notifications]
        assert not isinstance(app.screen, ContactModal)
        assert desk_screen(app).in_hand is None
    assert any("钱主管" in m for m in messages), messages
    # The typed-ahead digit was not sent anywhere else, and it was said so.
    assert any("1" in m and "not applied" in m for m in messages), messages
    assert trail(desk.db, desk.actor.id, start) == []


async def test_a_case_opened_from_a_list_does_not_take_the_case_keys(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        hand = screen.in_hand.case_id
        other = next(c for c in desk.cases if c != hand)
        # As the follow-up list or the calendar's "open" does: the panes show another case.
        screen._select(other, immediate=True)
        await settle(pilot)
        assert screen.bundle is not None and screen.bundle.case_id == other
        start = last_event(desk.db)
        await pilot.press("l", "1")
        await settle(pilot)
        assert screen.bundle is not None and screen.bundle.case_id == hand
        assert trail(desk.db, desk.actor.id, start) == [("contact.log", hand)]


async def test_releasing_is_explicit(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        hand = screen.in_hand.case_id
        start = last_event(desk.db)
        await pilot.press("L")
        await settle(pilot)
        assert screen.in_hand is None
        assert trail(desk.db, desk.actor.id, start) == [("case.release", hand)]


# --- the lease followed live -----------------------------------------------------------


async def test_a_supervisors_release_reaches_the_holders_desk(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[str] = []
    monkeypatch.setattr(ContactModal, "lease_lost", lambda self, m: told.append(m), raising=False)
    app = desk.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        case_id = screen.in_hand.case_id
        header = app.query_one(CaseHeader)
        assert "Worked by 王小明" in header.text
        await pilot.press("l")  # a form open on the case
        await until(pilot, lambda: isinstance(app.screen, ContactModal))
        boss = DeskService(
            db=desk.db, actor=desk.supervisor, profile=load_profile(), clock=lambda: DAYTIME
        )
        boss.release(case_id)
        await until(pilot, lambda: screen.in_hand is None)
        assert told and str(case_id) in told[0]
        assert "Worked by 王小明" not in header.text
        assert "released" in header.text
        assert "until" not in header.text.splitlines()[0]


async def test_a_renewal_elsewhere_keeps_the_header_fresh(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        later = DAYTIME + dt.timedelta(minutes=5)
        DeskService(
            db=desk.db, actor=desk.actor, profile=load_profile(), clock=lambda: later
        ).renew(screen.in_hand.case_id)
        expected = later + dt.timedelta(minutes=load_profile().lease_minutes)
        await until(
            pilot, lambda: screen.in_hand is not None and screen.in_hand.lease_until == expected
        )
        assert "11:20" in app.query_one(CaseHeader).text.splitlines()[0]


# --- the lease length setting ----------------------------------------------------------


async def test_the_lease_minutes_setting_sets_the_lease(desk: Desk) -> None:
    app = desk.app(lease_minutes=2)
    assert app.service.lease_minutes == 2
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        assert screen.in_hand.lease_until == DAYTIME + dt.timedelta(minutes=2)
        with desk.db.read() as s:
            case = s.get(CollectionCase, screen.in_hand.case_id)
            assert case is not None and case.lease_expires_at is not None
            assert case.lease_expires_at.replace(tzinfo=dt.UTC) == DAYTIME + dt.timedelta(minutes=2)


def test_the_default_lease_comes_from_the_profile(desk: Desk) -> None:
    app = desk.app()
    assert app.service.lease_minutes == load_profile().lease_minutes


# --- any sequence of keys --------------------------------------------------------------

KEYS = st.one_of(
    st.just(("n",)),
    st.sampled_from("123456").map(lambda d: ("l", d, "escape")),
    st.sampled_from(("李", "王", "#3", "z")).map(lambda t: ("slash", *t, "escape")),
    st.just(("enter",)),
    st.just(("down",)),
    st.just(("c",)),
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(KEYS, min_size=1, max_size=6))
def test_any_burst_lands_on_the_case_in_hand(
    sqlite_db: Database, keys: list[tuple[str, ...]]
) -> None:
    with sqlite_db.read() as s:
        agents = dict(s.execute(select(Agent.login, Agent.id)).all())
    if agents:  # the examples after the first share the seeded database
        desk = Desk(
            sqlite_db,
            Actor(id=agents["op"], login="op", name="王小明", role=Role.OPERATOR),
            Actor(id=agents["boss"], login="boss", name="钱主管", role=Role.SUPERVISOR),
            (),
        )
    else:
        desk = _seed(sqlite_db)

    async def run() -> list[tuple[str, int | None]]:
        app = desk.app()
        async with app.run_test(size=NARROW) as pilot:
            await settle(pilot)
            start = last_event(desk.db)
            for group in keys:
                await pilot.press(*group)
            await settle(pilot)
            return trail(desk.db, desk.actor.id, start)

    check_hand(asyncio.run(run()))


@pytest.fixture
def case_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every case the desk reads, as (thread's name, case id), in order."""
    reads: list[tuple[str, int]] = []
    case = DeskService.case

    def reading(self: DeskService, case_id: int, **kwargs: Any) -> Any:
        reads.append((threading.current_thread().name, case_id))
        return case(self, case_id, **kwargs)

    monkeypatch.setattr(DeskService, "case", reading)
    return reads


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["160x50", "80x24"])
async def test_the_next_case_is_drawn_in_place_after_its_claim(
    desk: Desk,
    monkeypatch: pytest.MonkeyPatch,
    case_reads: list[tuple[str, int]],
    size: tuple[int, int],
) -> None:
    """From one case in hand to the next (cases of the same shape), ``n`` draws the claim
    first, reads the case once in the claim's own worker, and shows it by drawing the
    panes' lines again: no layout of the whole screen is asked for."""
    from textual.widget import Widget

    layouts: list[str] = []
    refresh = Widget.refresh

    def counting(self: Widget, *regions: Any, **kwargs: Any) -> Widget:
        if kwargs.get("layout") and self.is_attached and isinstance(self.screen, DeskScreen):
            layouts.append(f"{type(self).__name__}#{self.id}")
        return refresh(self, *regions, **kwargs)

    app = desk.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = desk_screen(app)
        header = app.query_one(CaseHeader)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert screen.in_hand is not None
        monkeypatch.setattr(Widget, "refresh", counting)
        case_reads.clear()
        seen: list[tuple[int | None, int | None]] = []  # (case in hand, case shown) per frame
        display = app._display

        def drawn(screen_: Any, renderable: Any) -> None:
            display(screen_, renderable)
            hand = screen.in_hand
            shown = header.detail.case_id if header.detail is not None else None
            seen.append((hand.case_id if hand else None, shown))

        monkeypatch.setattr(app, "_display", drawn)
        before = screen.in_hand.case_id
        await pilot.press("n")
        await settle(pilot)
        after = screen.in_hand.case_id
        assert after != before
        assert header.detail is not None and header.detail.case_id == after
    assert layouts == []
    assert [case_id for _, case_id in case_reads] == [after]  # one read of the case
    # A frame showed the new case in hand over the previous case's panes (the claim,
    # drawn first), then the panes followed.
    assert (after, before) in seen
    assert seen.index((after, before)) < seen.index((after, after))


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["160x50", "80x24"])
async def test_a_supervisors_answer_reaches_the_operators_desk(
    desk: Desk,
    monkeypatch: pytest.MonkeyPatch,
    case_reads: list[tuple[str, int]],
    size: tuple[int, int],
) -> None:
    from tui_desk.services import supervision

    monkeypatch.setattr(DeskScreen, "ANSWER_POLL_SECONDS", 0.05)
    later = DAYTIME + dt.timedelta(minutes=1)
    boss = Context.frozen(desk.db, desk.supervisor, later, load_profile())
    asking = Context.frozen(desk.db, desk.actor, DAYTIME, load_profile())
    app = desk.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        case_id = screen.in_hand.case_id
        other = next(c for c in desk.cases if c != case_id)
        first = supervision.request_override(asking, case_id, "daily_call_cap", "she asked")
        second = supervision.request_override(asking, other, "quiet_hours", "he asked")
        case_reads.clear()

        def read_ids() -> list[int]:
            return [read_id for _thread, read_id in case_reads]

        supervision.decide_override_request(boss, first, approve=True, minutes=20)
        supervision.decide_override_request(boss, second, approve=False, note="not at night")

        def notes() -> list[str]:
            return [f"{n.title}: {n.message}" for n in app._notifications]

        await until(pilot, lambda: len([n for n in notes() if "Override" in n]) == 2)
        approved, refused = [n for n in notes() if "Override" in n]
        assert approved.startswith("Override approved: boss waived")
        assert f"case {case_id}" in approved and "until 11:21" in approved
        assert refused.startswith("Override refused: boss refused")
        assert f"case {other}" in refused and "not at night" in refused
        await until(pilot, lambda: case_id in read_ids())  # the case in hand read again
        await settle(pilot)
        assert other not in read_ids()
        told = len(notes())
        for _ in range(5):  # told once, not again at every poll
            await pilot.pause(0.06)
        assert len(notes()) == told
