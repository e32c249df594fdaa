"""Small keyboard-only questions asked over another screen.

``ConfirmModal``: yes (``y`` or Enter) or no (``n`` or Escape). ``DiscardModal``: whether
to throw away what was typed in a form; only ``y`` discards, so an Enter meant for the
form never does.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui_desk.i18n import N_, _
from tui_desk.screens import localise_bindings


class ConfirmModal(ModalScreen[bool]):
    """A yes/no question: ``y`` or Enter confirms, ``n`` or Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", N_("Yes"), tooltip=N_("Do it"), id="confirm.yes",
                priority=True),
        Binding("n,escape", "answer(False)", N_("No"), tooltip=N_("Leave it as it is"),
                id="confirm.no"),
    ]  # fmt: skip

    def __init__(self, question: str) -> None:
        super().__init__(classes="confirm")
        localise_bindings(self)
        self.question = question

    def hint(self) -> str:
        return _("y / Enter: yes    n / Esc: no")

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(self.question, style="bold"), id="confirm-question")
            yield Static(Text(self.hint(), style="dim"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class DiscardModal(ConfirmModal):
    """ "Discard what you typed?": ``y`` discards; ``n``, Escape or Enter keep editing."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", N_("Discard"), tooltip=N_("Close the form, losing what was typed"),
                id="discard.yes", priority=True),
        Binding("n,escape,enter", "answer(False)", N_("Keep editing"),
                tooltip=N_("Go back to the form"), id="discard.no", priority=True),
    ]  # fmt: skip

    def __init__(self, question: str | None = None) -> None:
        super().__init__(question or _("Discard what you typed?"))

    def hint(self) -> str:
        return _("y: discard    n / Esc: keep editing")
