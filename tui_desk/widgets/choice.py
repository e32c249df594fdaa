"""A one-line choice among a few values, cycled with Left/Right or Space.

Small forms need "which channel", "what kind of hold": a dropdown costs a key to open and
draws over the form at 80x24; this stays one line and keeps Enter for "next field".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from tui_desk.i18n import N_
from tui_desk.widgets.bindings import localise_bindings


class Choice(Widget, can_focus=True):
    """Shows ``< label >``; the value is ``options[index][0]``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "right,space",
            "step(1)",
            N_("Next choice"),
            tooltip=N_("Show the next possible value"),
            show=False,
            priority=True,
            id="choice.next",
        ),
        Binding(
            "left",
            "step(-1)",
            N_("Previous choice"),
            tooltip=N_("Show the previous possible value"),
            show=False,
            priority=True,
            id="choice.previous",
        ),
    ]

    class Changed(Message):
        def __init__(self, choice: Choice, value: str) -> None:
            super().__init__()
            self.choice = choice
            self.value = value

        @property
        def control(self) -> Choice:
            return self.choice

    def __init__(
        self, options: Sequence[tuple[str, str]], *, value: str | None = None, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        localise_bindings(self)
        self.options = list(options)
        values = [v for v, _label in self.options]
        self.index = values.index(value) if value in values else 0

    @property
    def value(self) -> str:
        return self.options[self.index][0] if self.options else ""

    @property
    def label_text(self) -> str:
        return self.options[self.index][1] if self.options else ""

    def select(self, value: str) -> None:
        for index, (option, _label) in enumerate(self.options):
            if option == value:
                self.index = index
                self.refresh()
                self.post_message(self.Changed(self, value))
                return

    def action_step(self, step: int) -> None:
        if not self.options:
            return
        self.index = (self.index + step) % len(self.options)
        self.refresh()
        self.post_message(self.Changed(self, self.value))

    def render(self) -> Text:
        text = Text()
        text.append("< ", style="dim")
        text.append(self.label_text, style="bold" if self.has_focus else "")
        text.append(" >", style="dim")
        if len(self.options) > 1:
            text.append(f"  {self.index + 1}/{len(self.options)}", style="dim")
        return text

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
