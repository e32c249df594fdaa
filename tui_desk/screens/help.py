"""The help screen: every key the desk answers to, generated from the live bindings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui_desk.i18n import N_, _
from tui_desk.screens import localise_bindings

_SCOPES = {
    "App": N_("Everywhere"),
    "DeskApp": N_("Everywhere"),
    "DeskScreen": N_("Desk"),
    "QueueView": N_("Queue"),
    "SearchInput": N_("Search"),
    "ContactModal": N_("Contact"),
    "CaseFormModal": N_("Form"),
    "Choice": N_("Choice"),
    "ContactLogPanel": N_("Contact log"),
    "DataTable": N_("Table"),
    "TextArea": N_("Text"),
}


@dataclass(frozen=True)
class HelpRow:
    scope: str
    keys: str
    description: str
    tooltip: str
    binding_ids: tuple[str, ...]


def help_rows(screen: Screen[object]) -> list[HelpRow]:
    """One row per action reachable from ``screen`` right now, keys of an action joined.

    Read from ``active_bindings`` (the focused widget, its containers, the screen and the
    app), so a binding added anywhere shows up here without editing a list.
    """
    app = screen.app
    grouped: dict[tuple[int, str, str], tuple[DOMNode, Binding, list[str], list[str]]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        group = (id(active.node), binding.action, binding.description)
        entry = grouped.setdefault(group, (active.node, binding, [], []))
        entry[2].append(app.get_key_display(binding))
        if binding.id:
            entry[3].append(binding.id)
    rows = [
        HelpRow(
            scope=_scope(node),
            keys=", ".join(dict.fromkeys(keys)),
            description=_(binding.description) if binding.description else binding.action,
            tooltip=_(binding.tooltip) if binding.tooltip else "",
            binding_ids=tuple(dict.fromkeys(ids)),
        )
        for node, binding, keys, ids in grouped.values()
    ]
    # The desk's own keys first, then app-wide ones, then those of the focused widget.
    order = {name: i for i, name in enumerate((_("Desk"), _("Everywhere")))}
    rows.sort(key=lambda r: order.get(r.scope, len(order)))
    return rows


def _scope(node: DOMNode) -> str:
    if isinstance(node, App):
        return _("Everywhere")
    for cls in type(node).__mro__:
        if cls.__name__ in _SCOPES:
            return _(_SCOPES[cls.__name__])
    return type(node).__name__


class HelpModal(ModalScreen[None]):
    """Keys and what they do; Escape, F1 or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,f1,question_mark,q",
            "dismiss",
            N_("Close"),
            tooltip=N_("Close the help and go back to the desk"),
            id="help.close",
        ),
    ]

    def __init__(self, rows: Iterable[HelpRow]) -> None:
        super().__init__(id="help")
        localise_bindings(self)
        self.rows = list(rows)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(Text(_("Keys"), style="bold"), id="help-title")
            with VerticalScroll(id="help-keys"):
                yield Static(self._table(), id="help-table")
            yield Static(Text(_("Escape, F1 or ? closes this help."), style="dim"), id="help-hint")

    def _table(self) -> Table:
        # A Rich table rather than a DataTable: long descriptions wrap instead of running
        # off the right edge at 80 columns.
        table = Table(box=None, expand=True, show_edge=False, pad_edge=False)
        table.add_column(_("Where"), style="dim", no_wrap=True)
        table.add_column(_("Keys"), style="bold", no_wrap=True)
        table.add_column(_("Action"), no_wrap=True)
        table.add_column(_("Description"), style="dim", ratio=1, overflow="fold")
        for row in self.rows:
            table.add_row(Text(row.scope), Text(row.keys), Text(row.description), Text(row.tooltip))
        return table

    def on_mount(self) -> None:
        self.query_one("#help-keys", VerticalScroll).focus()
