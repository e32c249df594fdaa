"""Pilot tests of the browser's boards: the wallboard (headline, sections taking turns,
live figures, nothing to change) and the ordinary board alone in its process; the
session is asked again and a lost one closes the board. Time frozen at 14:00 Beijing."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from textual.pilot import Pilot
from textual.widgets import ContentSwitcher

from tests.factories import Factory
from tests.pilot import screen_text
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import Role
from tui_desk.rules.profile import load_profile
from tui_desk.screens.wallboard import SECTIONS, WallboardScreen
from tui_desk.services import board as board_service
from tui_desk.services.context import Actor
from tui_desk.services.errors import ServiceError
from tui_desk.web.viewer import BoardDeskApp, DeskBoardScreen, WallboardApp

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)
CN = load_profile("cn")

pytestmark = pytest.mark.usefixtures("quick_wall")


@pytest.fixture
def quick_wall(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WallboardScreen, "POLL_SECONDS", 0.02)


class Office:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        self.op = self.make.agent(login="op", name="王小明")
        sup = self.make.agent(login="sup", name="周主管", role=Role.SUPERVISOR)
        self.sup = Actor(id=sup, login="sup", name="周主管", role=Role.SUPERVISOR)
        self.case = self.make.case(name="张三", owner_id=self.op, overdue_days=20)
        self.signed_in = True

    def recheck(self) -> object:
        if not self.signed_in:
            raise ServiceError("please sign in")
        return self.sup

    def refresh(self) -> None:
        board_service.refresh_snapshot(self.db, NOW, CN)

    def wall(self, cycle_seconds: float = 0) -> WallboardApp:
        return WallboardApp(
            db=self.db,
            actor=self.sup,
            settings=Settings(database_url=str(self.db.url)),
            recheck=self.recheck,
            clock=lambda: NOW,
            cycle_seconds=cycle_seconds,
        )


@pytest.fixture
def office(sqlite_db: Database) -> Office:
    return Office(sqlite_db)


async def until(pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 5) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


def wall_of(app: WallboardApp) -> WallboardScreen:
    assert isinstance(app.screen, WallboardScreen)
    return app.screen


async def test_the_headline_stays_and_follows_the_feed(office: Office) -> None:
    office.make.contact(office.case, agent_id=office.op, minutes_ago=30)
    office.refresh()
    app = office.wall()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "Contacts today 1" in screen_text(app))
        text = screen_text(app)
        assert "Open cases 1" in text and "as of 14:00:00" in text
        assert "Queue depth by bucket and stage" in text
        office.make.contact(office.case, agent_id=office.op, minutes_ago=10)
        office.refresh()
        await until(pilot, lambda: "Contacts today 2" in screen_text(app))


async def test_sections_take_turns_and_keys_only_move_between_them(office: Office) -> None:
    office.refresh()
    app = office.wall(cycle_seconds=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        wall = wall_of(app)
        seen: set[int] = set()

        def every_section_shown() -> bool:
            seen.add(wall.section)
            return len(seen) == len(SECTIONS)

        await until(pilot, every_section_shown)
        await pilot.press("3")
        assert wall.section == 2
        assert app.query_one(ContentSwitcher).current == SECTIONS[2][0]
        await pilot.pause(0.3)
        assert wall.section == 2  # chosen by hand: the turning waits
        await pilot.press("right")
        assert wall.section == 3
        assert "Alerts: deadlines at risk" in screen_text(app)
        await pilot.press("left", "left")
        assert wall.section == 1
        # Nothing on the wallboard writes: the board's action keys are not there.
        for key in ("x", "r", "enter", "y"):
            await pilot.press(key)
        assert isinstance(app.screen, WallboardScreen)


async def test_a_lost_session_closes_the_board(office: Office) -> None:
    office.refresh()
    app = office.wall()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "Contacts today" in screen_text(app))
        office.signed_in = False
        app._still_signed_in()
        await until(pilot, lambda: not app.is_running)


async def test_a_viewer_whose_server_died_leaves(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    office.refresh()
    app = office.wall()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "Contacts today" in screen_text(app))
        monkeypatch.setattr(os, "getppid", lambda: 1)
        app._server_still_there()
        await until(pilot, lambda: not app.is_running)


async def test_the_desk_board_has_no_desk_behind_it(office: Office) -> None:
    office.refresh()
    app = BoardDeskApp(
        db=office.db,
        actor=office.sup,
        settings=Settings(database_url=str(office.db.url)),
        recheck=office.recheck,
        clock=lambda: NOW,
    )
    async with app.run_test(size=(160, 50)) as pilot:
        assert isinstance(app.screen, DeskBoardScreen)
        await pilot.press("escape", "f6")
        assert isinstance(app.screen, DeskBoardScreen)
