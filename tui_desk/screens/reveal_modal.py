"""Reveal one personal value of the case's borrower (``v`` on the desk); each is audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui_desk.formatting import label
from tui_desk.i18n import N_, _
from tui_desk.screens import localise_bindings
from tui_desk.services.personal import PersonalField
from tui_desk.views.case import CaseDetail


@dataclass(frozen=True)
class RevealChoice:
    field: PersonalField
    phone_id: int | None
    label: str


class RevealModal(ModalScreen[RevealChoice | None]):
    """Pick the one value to reveal; each reveal is a separate audited event."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "dismiss",
            N_("Cancel"),
            tooltip=N_("Close without revealing anything"),
            id="reveal.cancel",
        ),
    ]

    def __init__(self, detail: CaseDetail) -> None:
        super().__init__(id="reveal")
        localise_bindings(self)
        self.choices = [
            RevealChoice("id_number", None, _("ID number")),
            RevealChoice("address", None, _("Address")),
            *(
                RevealChoice(
                    "phone",
                    p.phone_id,
                    _("Phone {number} ({relation})").format(
                        number=p.number, relation=label("relation", p.relation)
                    ),
                )
                for p in detail.phones
            ),
        ]
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="reveal-box"):
            yield Static(
                Text(
                    _("Reveal personal data of {name}").format(name=self.detail.borrower_name),
                    style="bold",
                )
            )
            yield Static(
                Text(_("Your name and the field are recorded in the audit log."), style="dim")
            )
            yield OptionList(
                *(Option(Text(c.label), id=str(i)) for i, c in enumerate(self.choices)),
                id="reveal-options",
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[event.option_index])
