"""The desk's footer composes its keys anew on every change of bindings; the keys it no
longer shows must not stay alive through the footer's bindings (Textual's footer kept
every key of a session: thousands of widgets after minutes of work)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button
from textual.widgets._footer import FooterKey

from tui_desk.widgets.footer import DeskFooter


class _Pane(Button):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "noop", "Pane key")]

    def action_noop(self) -> None:
        return


class _FooterApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("z", "noop", "App key")]

    def compose(self) -> ComposeResult:
        yield _Pane("one", id="one")
        yield _Pane("two", id="two")
        yield DeskFooter(compact=True, show_command_palette=False)

    def action_noop(self) -> None:
        return


def _compact_watchers(footer: DeskFooter) -> list[Any]:
    watchers: dict[str, list[Any]] = getattr(footer, "__watchers", {})
    return watchers.get("compact", [])


async def test_footer_keeps_only_the_keys_it_shows() -> None:
    app = _FooterApp()
    async with app.run_test(size=(80, 10)) as pilot:
        footer = app.query_one(DeskFooter)
        for _ in range(30):  # each focus change recomposes the footer
            await pilot.press("tab")
            await pilot.pause()
        await pilot.pause()
        shown = len(footer.query(FooterKey))
        assert shown >= 1
        assert len(_compact_watchers(footer)) <= shown
        assert all(not owner._closing for owner, _callback in _compact_watchers(footer))
