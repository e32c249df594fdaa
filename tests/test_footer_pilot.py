"""The desk's footer is one line of text made from the screen's bindings: a change of
focus changes its text, creates no widget (Textual's footer composed a widget per key
on every change, garbage only a full collection frees), and a click on a key presses it.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button

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
