"""My day (F7) at 80x24 and 160x50: what it shows, Enter opens the case, Escape back."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from tests.my_day_world import NOW, MyDayWorld, build_my_day
from tests.pilot import desk_screen, screen_text, settle, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import Role
from tui_desk.screens.my_day import MyDayScreen
from tui_desk.services.context import Actor

pytestmark = pytest.mark.usefixtures("quick_debounce")


def _app(db: Database, w: MyDayWorld) -> DeskApp:
    actor = Actor(id=w.op, login="op", name="王芳", role=Role.OPERATOR)
    return DeskApp(
        db=db, actor=actor, settings=Settings(database_url=str(db.url)), clock=lambda: NOW
    )


async def _open_my_day(pilot: Pilot[None]) -> MyDayScreen:
    await settle(pilot)
    await pilot.press("f7")
    await until(pilot, lambda: isinstance(pilot.app.screen, MyDayScreen))
    screen = pilot.app.screen
    assert isinstance(screen, MyDayScreen)
    await until(pilot, lambda: screen.is_settled)
    # The lines are drawn a frame after the read settles: wait for them, not for time.
    await until(pilot, lambda: "Callbacks today" in screen_text(pilot.app))
    await pilot.pause()
    return screen


async def _choose(pilot: Pilot[None], screen: MyDayScreen, case_id: int) -> None:
    """Move the cursor down to the first line of ``case_id`` (keys only)."""
    for _ in range(40):
        key = screen._cursor_key()
        if key is not None and screen._cases.get(key) == case_id:
            return
        await pilot.press("down")
    raise AssertionError(f"no line for case {case_id}")


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
async def test_my_day_shows_the_day(sqlite_db: Database, size: tuple[int, int]) -> None:
    w = build_my_day(sqlite_db)
    app = _app(sqlite_db, w)
    async with app.run_test(size=size) as pilot:
        await _open_my_day(pilot)
        text = screen_text(app)
        assert "My day" in text
        assert "state: ready since 10:00 (4:00:00)" in text  # office time
        assert "attempts 3 | right-party 2 | promises 1" in text
        assert "ready 4:30:00" in text and "wrap-up 0:01:00" in text
        assert "Callbacks today (4)" in text
        for name, status in (("陈一", "done"), ("李二", "not called"), ("张三", "due now")):
            assert name in text and status in text
        if size == (160, 50):
            # Everything fits on the large terminal.
            assert "Promises due today (1)" in text
            assert "Promises broken yesterday (1)" in text
            assert "Visits today (1)" in text and "孙八" in text
            assert "Follow-ups due (1)" in text
            assert "My override requests (2)" in text
            assert "refused by boss: not today" in text
            assert "waiting for an answer" in text


async def test_lines_scroll_into_view_at_80x24(sqlite_db: Database) -> None:
    w = build_my_day(sqlite_db)
    app = _app(sqlite_db, w)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_my_day(pilot)
        await _choose(pilot, screen, w.missed)
        for _ in range(14):
            await pilot.press("down")
        # The scrolled frame is drawn after the keys: wait for it, not for a fixed pause.
        await until(pilot, lambda: "refused by boss" in screen_text(app))


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
async def test_enter_claims_the_case_when_none_is_in_hand(
    sqlite_db: Database, size: tuple[int, int]
) -> None:
    w = build_my_day(sqlite_db)
    app = _app(sqlite_db, w)
    async with app.run_test(size=size) as pilot:
        screen = await _open_my_day(pilot)
        await _choose(pilot, screen, w.due)
        await pilot.press("enter")
        desk = desk_screen(app)
        await until(pilot, lambda: desk.in_hand is not None and desk.bundle is not None)
        assert app.screen is desk
        assert desk.in_hand is not None and desk.in_hand.case_id == w.due
        assert desk.bundle is not None and desk.bundle.case_id == w.due


async def test_enter_with_another_case_in_hand_only_shows_it(sqlite_db: Database) -> None:
    w = build_my_day(sqlite_db)
    app = _app(sqlite_db, w)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("n")  # the first due callback of the operator's: 李二 (missed)
        desk = desk_screen(app)
        await until(pilot, lambda: desk.in_hand is not None and desk.bundle is not None)
        assert desk.in_hand is not None
        held = desk.in_hand.case_id
        screen = await _open_my_day(pilot)
        target = w.follow_up_case if held != w.follow_up_case else w.promise_case
        await _choose(pilot, screen, target)
        await pilot.press("enter")
        await until(pilot, lambda: desk.bundle is not None and desk.bundle.case_id == target)
        assert desk.in_hand is not None and desk.in_hand.case_id == held


async def test_escape_goes_back_and_f7_toggles(sqlite_db: Database) -> None:
    w = build_my_day(sqlite_db)
    app = _app(sqlite_db, w)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_my_day(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is desk_screen(app)
        assert desk_screen(app).in_hand is None
        await _open_my_day(pilot)
        await pilot.press("f7")
        await pilot.pause()
        assert app.screen is desk_screen(app)


async def test_a_heading_line_opens_nothing(sqlite_db: Database) -> None:
    w = build_my_day(sqlite_db)
    app = _app(sqlite_db, w)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_my_day(pilot)
        for _ in range(20):
            await pilot.press("up")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen


async def test_the_day_is_read_again_by_the_poll(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.spans import write_spans
    from tui_desk.db.models import AgentStateSpan
    from tui_desk.domain import AgentState

    monkeypatch.setattr(MyDayScreen, "POLL_SECONDS", 0.05)
    w = build_my_day(sqlite_db)
    app = _app(sqlite_db, w)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_my_day(pilot)
        assert screen.day is not None and screen.day.state == "ready"
        with sqlite_db.write() as s:
            s.query(AgentStateSpan).filter(AgentStateSpan.ended_at.is_(None)).update(
                {"ended_at": NOW}
            )
        write_spans(sqlite_db, w.op, [(AgentState.PAUSED, NOW, "meal")])
        await until(pilot, lambda: screen.day is not None and screen.day.state == "paused")
        await pilot.pause()
        assert "state: paused" in screen_text(app)
