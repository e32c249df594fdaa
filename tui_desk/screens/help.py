"""The help screen: every key the desk answers to, generated from the live bindings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static

from tui_desk.i18n import N_, _
from tui_desk.screens import localise_bindings

# Textual's own keys (tables, scrolled areas, the screen) as the help lists them: their
# descriptions are English in Textual, so the catalogues carry their translations.
TEXTUAL_DESCRIPTIONS = (
    N_("Cursor up"), N_("Cursor down"), N_("Cursor left"), N_("Cursor right"),
    N_("Home"), N_("End"), N_("Page up"), N_("Page down"), N_("Page Left"),
    N_("Page Right"), N_("Select"), N_("Top"), N_("Bottom"), N_("Scroll Up"),
    N_("Scroll Down"), N_("Scroll Left"), N_("Scroll Right"), N_("Scroll Home"),
    N_("Scroll End"), N_("Page Up"), N_("Page Down"), N_("Quit"), N_("Focus Next"),
    N_("Focus Previous"),
)  # fmt: skip

_SCOPES = {
    "App": N_("Everywhere"),
    "DeskApp": N_("Everywhere"),
    "DeskScreen": N_("Desk"),
    "MyDayScreen": N_("My day"),
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


def fit_cells(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal cells with an ASCII ``..`` cue (the ellipsis is
    ambiguous-width), padded to ``width``."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        text = set_cell_size(text, max(0, width - 2)).rstrip() + ".."
    return set_cell_size(text, width)


def matches(row: HelpRow, query: str) -> bool:
    """Every word of ``query`` is in the row's keys, action, description or group."""
    haystack = " ".join((row.scope, row.keys, row.description, row.tooltip)).casefold()
    return all(word in haystack for word in query.casefold().split())


def help_lines(rows: Iterable[HelpRow], width: int) -> Text:
    """The keys as a compact table: a heading per group, then one line per action (key,
    action, what it does), each cut to ``width`` cells with a cue rather than wrapped."""
    rows = list(rows)
    text = Text(no_wrap=True, overflow="crop")
    if not rows:
        text.append(_("No key matches."), style="dim")
        return text
    keys_w = min(14, max(cell_len(r.keys) for r in rows))
    action_w = min(20, max(cell_len(r.description) for r in rows))
    tip_w = width - keys_w - action_w - 4
    groups: dict[str, list[HelpRow]] = {}
    for row in rows:
        groups.setdefault(row.scope, []).append(row)
    first = True
    for scope, members in groups.items():
        if not first:
            text.append("\n")
        first = False
        text.append(fit_cells(scope, width), style="bold reverse")
        for row in members:
            text.append("\n")
            text.append(" " + fit_cells(row.keys, keys_w) + " ", style="bold")
            text.append(fit_cells(row.description, action_w) + "  ")
            if tip_w >= 8:
                text.append(fit_cells(row.tooltip, tip_w).rstrip(), style="dim")
    return text


class HelpModal(ModalScreen[None]):
    """Keys and what they do, one line each, grouped by pane; typing filters them; Escape
    or F1 closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,f1",
            "dismiss",
            N_("Close"),
            tooltip=N_("Close the help and go back to the desk"),
            id="help.close",
        ),
        Binding("down", "scroll(1)", N_("Down"), show=False, tooltip=N_("Scroll the keys down"),
                id="help.down"),
        Binding("up", "scroll(-1)", N_("Up"), show=False, tooltip=N_("Scroll the keys up"),
                id="help.up"),
        Binding("pagedown", "scroll(10)", N_("Page down"), show=False,
                tooltip=N_("Scroll the keys down a page"), id="help.page_down"),
        Binding("pageup", "scroll(-10)", N_("Page up"), show=False,
                tooltip=N_("Scroll the keys up a page"), id="help.page_up"),
    ]  # fmt: skip

    def __init__(self, rows: Iterable[HelpRow]) -> None:
        super().__init__(id="help")
        localise_bindings(self)
        self.rows = list(rows)
        self.query_text = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            with Horizontal(id="help-head"):
                yield Static(Text(_("Keys"), style="bold"), id="help-title")
                yield Input(placeholder=_("type to search"), id="help-search")
            with VerticalScroll(id="help-keys", can_focus=False):
                yield Static(id="help-table")
            yield Static(
                Text(_("Type to search | Up/Down scroll | Esc or F1 closes"), style="dim"),
                id="help-hint",
            )

    @property
    def shown_rows(self) -> list[HelpRow]:
        return [r for r in self.rows if matches(r, self.query_text)]

    def _render_table(self) -> None:
        # The box's width from the terminal's (the box is as wide as the screen up to 140
        # cells, less its border and padding), not from a layout that may not be done yet;
        # room is left for the scroll bar, which shows once the lines overflow.
        width = max(20, min(self.app.size.width, 140) - 4 - 2)
        self.query_one("#help-table", Static).update(help_lines(self.shown_rows, width))

    def on_mount(self) -> None:
        self.query_one("#help-search", Input).focus()
        self.call_after_refresh(self._render_table)

    def on_resize(self) -> None:
        self.call_after_refresh(self._render_table)

    @on(Input.Changed, "#help-search")
    def _search(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self._render_table()
        self.query_one("#help-keys", VerticalScroll).scroll_home(animate=False)

    def action_scroll(self, lines: int) -> None:
        box = self.query_one("#help-keys", VerticalScroll)
        box.scroll_relative(y=lines, animate=False)
