"""The desk's footer is one line of text made from the screen's bindings: a change of
focus changes its text, creates no widget (Textual's footer composed a widget per key
on every change, garbage only a full collection frees), and a click on a key presses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.pilot import Pilot
from textual.widgets import Button

from tests import pilot as helpers
from tests.screens import desk_app, freeze_clock, office
from tui_desk.db.engine import Database
from tui_desk.widgets.footer import DeskFooter


class _Pane(Button):
    def __init__(self, label: str, key: str, *, id: str) -> None:
        super().__init__(label, id=id)
        self._bindings.bind(key, "pressed_key('" + key + "')", f"Pane {label}")

    def action_pressed_key(self, key: str) -> None:
        app = self.app
        assert isinstance(app, _FooterApp)
        app.pressed.append(key)


class _FooterApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("z", "zed", "App key"),
        Binding("h", "zed", "Hidden", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pressed: list[str] = []

    def compose(self) -> ComposeResult:
        yield _Pane("one", "x", id="one")
        yield _Pane("two", "y", id="two")
        yield DeskFooter()

    def action_zed(self) -> None:
        self.pressed.append("z")


def _line(footer: DeskFooter) -> str:
    return str(footer.render())


async def _shows(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Frames go by until ``condition`` holds (bounded; the desk may be waiting on purpose,
    so not ``helpers.until``, which waits for it to settle)."""
    for _ in range(100):
        await pilot.pause(0.01)
        if condition():
            return
    raise AssertionError("the footer did not change")


async def test_the_footer_shows_the_focused_widgets_keys_as_one_line() -> None:
    app = _FooterApp()
    async with app.run_test(size=(80, 10)) as pilot:
        footer = app.query_one(DeskFooter)
        app.set_focus(app.query_one("#one"))
        await pilot.pause()
        await pilot.pause()
        assert _line(footer) == "x Pane one z App key "
        app.set_focus(app.query_one("#two"))
        await pilot.pause()
        await pilot.pause()
        assert _line(footer) == "y Pane two z App key "
        assert "Hidden" not in _line(footer)


async def test_focus_changes_create_no_widgets_in_the_footer() -> None:
    app = _FooterApp()
    async with app.run_test(size=(80, 10)) as pilot:
        footer = app.query_one(DeskFooter)
        for _ in range(30):  # each focus change changes the screen's bindings
            await pilot.press("tab")
            await pilot.pause()
        assert list(footer.children) == []
        assert _line(footer) in ("x Pane one z App key ", "y Pane two z App key ")


async def test_a_click_on_a_key_presses_it() -> None:
    app = _FooterApp()
    async with app.run_test(size=(80, 10)) as pilot:
        app.set_focus(app.query_one("#one"))
        await pilot.pause()
        await pilot.pause()
        footer = app.query_one(DeskFooter)
        line = _line(footer)
        await pilot.click(DeskFooter, offset=(line.index("App key"), 0))  # a description
        await pilot.click(DeskFooter, offset=(line.index("z"), 0))  # the key
        await pilot.click(DeskFooter, offset=(0, 0))  # "x", the focused pane's key
        await pilot.pause()
        assert app.pressed == ["z", "z", "x"]


async def test_the_desks_footer_offers_the_case_keys_again_after_a_wait(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drawn during a wait for a claim or the case in hand (a focus change then, say), the
    footer leaves out the case letters; when the wait is over it offers them again with
    nothing else changing (it once kept them out until the focus next moved)."""
    freeze_clock(monkeypatch)
    place = office(sqlite_db)
    app = desk_app(place)
    async with app.run_test(size=(160, 50)) as pilot:
        await helpers.open_case(pilot, place.first)
        await helpers.settle(pilot)
        desk = helpers.desk_screen(app)
        footer = desk.query_one(DeskFooter)
        await _shows(pilot, lambda: "Next case" in _line(footer))
        for name in ("claim_in_flight", "_replaying"):
            setattr(desk, name, True)
            assert desk.typing_ahead
            desk.refresh_bindings()  # as a change of focus during the wait does
            await _shows(pilot, lambda: "Next case" not in _line(footer))
            assert "Log contact" not in _line(footer) and "Queue" in _line(footer)
            setattr(desk, name, False)
            await _shows(pilot, lambda: "Next case" in _line(footer))
            assert "Log contact" in _line(footer)
