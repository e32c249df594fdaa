"""DeskFooter: the keys the screen offers, drawn as one line of text.

Textual's ``Footer`` composes a widget per key anew whenever the screen's bindings change
(focus moves, a pane opens, a form closes: several times per key an operator presses).
Each of those widgets carries its styles, caches and cached lines, and each one it drops
is garbage in a reference cycle that only a full collection frees: minutes of work left
thousands of them for the collector to walk, and the desk stalled while it did. This
footer is one widget whose text is made again from the bindings, and drawn again only
when that text changes. A click on a key still presses it.
"""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events
from textual.widgets import Static

from tui_desk.widgets.in_place import update_in_place

if TYPE_CHECKING:
    from textual.binding import Binding
    from textual.screen import Screen


class DeskFooter(Static):
    """The footer of the desk's screens (see the module's note)."""

    DEFAULT_CSS = """
    DeskFooter {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        text-overflow: clip;
        & > .desk-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .desk-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .desk-footer--disabled {
            color: $footer-description-foreground;
            text-style: dim;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "desk-footer--key",
        "desk-footer--description",
        "desk-footer--disabled",
    }

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self._spans: list[tuple[int, int, str]] = []
        """(first cell, cell after the last, key) of each key shown, for clicks."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.call_after_refresh(self.show_keys)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self.show_keys)

    def shown_bindings(self) -> list[tuple[Binding, bool, str]]:
        """(binding, enabled, key as shown) of each key to show, one per action, in the
        order of the screen's active bindings."""
        shown: list[tuple[Binding, bool, str]] = []
        seen: set[str] = set()
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            shown.append((binding, enabled, self.app.get_key_display(binding)))
        return shown

    def show_keys(self) -> None:
        """Make the line from the screen's bindings; draw it only if it changed.

        As Textual's compact footer: each key and its description, then a space; the keys
        of a group side by side, then the group's description.
        """
        if not self.is_attached:
            return
        key_style = self.get_component_rich_style("desk-footer--key", partial=True)
        text_style = self.get_component_rich_style("desk-footer--description", partial=True)
        off_style = self.get_component_rich_style("desk-footer--disabled", partial=True)
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, str]] = []

        def key(binding: Binding, enabled: bool, display: str) -> None:
            start = line.cell_len
            line.append(display, key_style if enabled else off_style)
            spans.append((start, line.cell_len, binding.key))

        for group, items in groupby(self.shown_bindings(), lambda item: item[0].group):
            members = list(items)
            if group is not None and len(members) > 1:
                for binding, enabled, display in members:
                    key(binding, enabled, display)
                line.append(" " + group.description + " ", text_style)
                continue
            for binding, enabled, display in members:
                key(binding, enabled, display)
                if binding.description:
                    line.append(" " + binding.description, text_style if enabled else off_style)
                    start, _end, pressed = spans[-1]
                    spans[-1] = (start, line.cell_len, pressed)  # the description presses too
                line.append(" ")
        self._spans = spans
        update_in_place(self, line)

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
