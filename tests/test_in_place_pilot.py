"""``update_in_place``: a pane's text changes without a layout of the screen, unless the
text takes another number of lines."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from tui_desk.widgets.in_place import update_in_place


class Panes(App[None]):
    CSS = """
    #auto { height: auto; }
    #fixed { height: 3; }
    """

    def compose(self) -> ComposeResult:
        yield Static("one line", id="auto")
        yield Static("fixed", id="fixed")


@pytest.fixture
def layouts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []
    refresh = Widget.refresh

    def counting(self: Widget, *regions: Any, **kwargs: Any) -> Widget:
        if kwargs.get("layout"):
            asked.append(str(self.id))
        return refresh(self, *regions, **kwargs)

    monkeypatch.setattr(Widget, "refresh", counting)
    return asked


async def test_same_height_draws_without_a_layout(layouts: list[str]) -> None:
    app = Panes()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        auto = app.query_one("#auto", Static)
        layouts.clear()
        update_in_place(auto, "another line")
        await pilot.pause()
        assert layouts == []
        assert str(auto.content) == "another line"
        assert auto.size.height == 1


async def test_another_height_lays_out(layouts: list[str]) -> None:
    app = Panes()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        auto = app.query_one("#auto", Static)
        layouts.clear()
        update_in_place(auto, "first\nsecond\nthird")
        await pilot.pause()
        assert set(layouts) == {"auto"}
        assert auto.size.height == 3
        layouts.clear()
        update_in_place(auto, "a line far too long to fit in forty columns of the screen")
        await pilot.pause()
        assert set(layouts) == {"auto"}  # wrapped onto two lines
        assert auto.size.height == 2


async def test_a_fixed_size_never_lays_out_and_the_same_text_draws_nothing(
    layouts: list[str],
) -> None:
    app = Panes()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        fixed = app.query_one("#fixed", Static)
        layouts.clear()
        update_in_place(fixed, "1\n2\n3\n4\n5")
        await pilot.pause()
        assert layouts == []
        assert fixed.size.height == 3
        drawn: list[int] = []

        def refresh(*_args: object, **_kwargs: object) -> Widget:
            drawn.append(1)
            return fixed

        fixed.refresh = refresh  # type: ignore[method-assign,assignment]
        update_in_place(fixed, "1\n2\n3\n4\n5")
        assert drawn == []
