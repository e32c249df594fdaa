"""A reason picked with one key: why the agent pauses (``B``) or skips a case (``X``).

The reasons are the profile's ``[states]`` codes, numbered 1-9 and shown translated;
a digit picks one, Escape picks none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui_desk.formatting import label
from tui_desk.i18n import N_, _
from tui_desk.screens import localise_bindings

MAX_REASONS = 9


class ReasonModal(ModalScreen[str | None]):
    """Numbered reasons (``kind``: ``pause_reason`` or ``skip_reason``); a digit picks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "pick(0)", N_("Cancel"), tooltip=N_("Close, changing nothing"),
                id="reason.cancel"),
        *(
            Binding(str(n), f"pick({n})", N_("Reason"), tooltip=N_("Pick this reason"),
                    id=f"reason.{n}", show=False, priority=True)
            for n in range(1, MAX_REASONS + 1)
        ),
    ]  # fmt: skip

    def __init__(self, title: str, kind: str, codes: Sequence[str]) -> None:
        super().__init__(classes="case-form")
        localise_bindings(self)
        self.title_text = title
        self.kind = kind
        self.codes = tuple(codes[:MAX_REASONS])

    def compose(self) -> ComposeResult:
        with Vertical(classes="form-box", id="reason-box"):
            yield Static(Text(self.title_text, style="bold"), classes="form-title")
            lines = Text()
            for n, code in enumerate(self.codes, start=1):
                if n > 1:
                    lines.append("\n")
                lines.append(f"{n} ", style="bold")
                lines.append(label(self.kind, code))
            yield Static(lines, id="reason-list")
            yield Static(
                Text(_("1-{n}: pick    Esc: cancel").format(n=len(self.codes)), style="dim"),
                classes="form-hint",
            )

    def action_pick(self, number: int) -> None:
        if number == 0:
            self.dismiss(None)
        elif number <= len(self.codes):
            self.dismiss(self.codes[number - 1])
