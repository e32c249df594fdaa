"""The database stops answering while a form saves: the desk shows one steady line with
the time the outage began ("database unavailable since 14:00:00, retrying"), the form
keeps what was typed, no driver text reaches the screen, and the line goes when the
database answers again. The log has one line for the start and one for the end."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from sqlalchemy.exc import OperationalError
from textual.pilot import Pilot

from tests.pilot import desk_screen, screen_text, settle, until
from tests.test_form_errors_pilot import FORMS, NOW, World, _busy, _inputs, make_world
from tui_desk.app import DeskApp
from tui_desk.db.engine import Database
from tui_desk.services.desk import DeskService
from tui_desk.widgets.outage import OutageLine

pytestmark = pytest.mark.usefixtures("quick_debounce")

DRIVER_TEXT = "connection to server at 127.0.0.1 port 5432 failed: Connection refused"


def _down() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionRefusedError(DRIVER_TEXT))


@pytest.fixture
def world(sqlite_db: Database) -> World:
    return make_world(sqlite_db)


def _line(app: DeskApp) -> OutageLine:
    return desk_screen(app).query_one(OutageLine)


async def polled(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Wait for ``condition`` without settling: tests.pilot.until waits on every worker,
    and re-raises the failed ones an outage leaves behind."""
    for _ in range(400):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the screen did not change")


async def test_an_outage_is_one_steady_line_and_the_form_keeps_its_text(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tui_desk")
    spec = next(s for s in FORMS if s.form == "phone")
    down = [True]
    saves: list[int] = []
    probes: list[bool] = []

    def save_fails(*_args: object, **_kwargs: object) -> object:
        saves.append(1)
        raise _down()

    def answers(_self: DeskService) -> None:
        probes.append(down[0])
        if down[0]:
            raise _down()

    monkeypatch.setattr(DeskApp, "PROBE_SECONDS", 0.05)
    monkeypatch.setattr(DeskService, "database_answers", answers)
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        assert not _line(app).display
        form = spec.make(world, app.service, monkeypatch)
        monkeypatch.setattr(DeskService, spec.method, save_fails)
        await app.push_screen(form)
        await until(pilot, lambda: app.screen is form and spec.ready(form))

        # Saved twice during the outage: still one outage, begun at the first failure.
        for attempt in (1, 2):
            await spec.submit(pilot, form)
            await until(pilot, lambda a=attempt: len(saves) == a and not _busy(form))  # type: ignore[misc]
        typed = _inputs(form)
        assert typed["#phone-number"].startswith("13912345678")

        line = _line(app)
        # 14:00 in the office's zone (Asia/Shanghai), whatever the host's zone.
        assert line.display
        assert str(line.render()) == "database unavailable since 14:00:00, retrying"
        assert app.screen is form and not _busy(form)
        assert _inputs(form) == typed, "what was typed stays"
        assert "unavailable" in form.query_one("#form-error").render().__str__()
        assert not any(DRIVER_TEXT in n.message for n in app._notifications)
        assert DRIVER_TEXT not in screen_text(app)
        await until(pilot, lambda: len(probes) >= 3)  # retrying meanwhile

        down[0] = False
        await until(pilot, lambda: not _line(app).display)
        assert app.outage_text is None
        assert app.screen is form and _inputs(form) == typed

    starts = [r for r in caplog.records if "database unavailable since" in r.getMessage()]
    ends = [r for r in caplog.records if "database back after" in r.getMessage()]
    assert len(starts) == 1 and len(ends) == 1, caplog.text
    assert NOW.isoformat(timespec="seconds") in starts[0].getMessage()
    # The failing probes are the outage, not faults: nothing logged as an error.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_the_board_in_an_outage_keeps_its_figures_and_says_so_in_words(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed poll of the board is a read: it says the figures are from before the
    outage, not "nothing was saved, try again", and never the driver's text."""
    from tui_desk.screens.supervisor import SupervisorScreen

    down = [False]
    real_version = DeskService.board_version

    def version(self: DeskService) -> int:
        if down[0]:
            raise _down()
        return real_version(self)

    def answers(_self: DeskService) -> None:
        if down[0]:
            raise _down()

    monkeypatch.setattr(DeskApp, "PROBE_SECONDS", 0.05)
    monkeypatch.setattr(DeskService, "board_version", version)
    monkeypatch.setattr(DeskService, "database_answers", answers)
    monkeypatch.setattr(SupervisorScreen, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(SupervisorScreen, "RETRY_SECONDS", 0.05)
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen))
        board = app.screen
        assert isinstance(board, SupervisorScreen)

        def status() -> str:
            return str(board.query_one("#board-status").render())

        await polled(pilot, lambda: "reading the board" not in status())
        down[0] = True
        await polled(pilot, lambda: "stopped answering" in status())
        assert "nothing was saved" not in status()
        assert DRIVER_TEXT not in screen_text(app)
        down[0] = False
        await polled(pilot, lambda: "could not be read" not in status())


async def test_an_idle_desk_shows_the_outage_from_its_heartbeat(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody typing: the presence heartbeat is the desk's only query, and an outage it
    meets is shown (the line, no notification); any other failed beat stays quiet."""
    from tui_desk.screens.desk.screen import DeskScreen

    state = ["up"]

    def heartbeat(_self: DeskService, _case_id: int | None) -> None:
        if state[0] == "down":
            raise _down()
        if state[0] == "odd":
            raise RuntimeError("a beat that failed for another reason")

    def answers(_self: DeskService) -> None:
        if state[0] == "down":
            raise _down()

    monkeypatch.setattr(DeskApp, "PROBE_SECONDS", 0.05)
    monkeypatch.setattr(DeskScreen, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(DeskService, "heartbeat", heartbeat)
    monkeypatch.setattr(DeskService, "database_answers", answers)
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        state[0] = "odd"
        await pilot.pause(0.3)
        assert not _line(app).display and not app._notifications
        state[0] = "down"
        await polled(pilot, lambda: _line(app).display)
        assert str(_line(app).render()).startswith("database unavailable since")
        assert not app._notifications and DRIVER_TEXT not in screen_text(app)
        state[0] = "up"
        await polled(pilot, lambda: not _line(app).display)
