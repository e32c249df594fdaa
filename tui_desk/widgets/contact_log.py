"""The contact log of the selected case: every call, SMS, letter and visit attempt."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tui_desk.formatting import DASH, label, local
from tui_desk.i18n import N_, _
from tui_desk.views.case import ContactLine
from tui_desk.widgets.in_place import update_in_place
from tui_desk.widgets.tables import bounded_caches, fill

NOTE_WIDTH = 28

COLUMNS = (
    ("time", N_("Time")),
    ("channel", N_("Channel")),
    ("outcome", N_("Outcome")),
    ("note", N_("Note")),
    ("number", N_("Number")),
    ("party", N_("Party")),
    ("agent", N_("Agent")),
)
DROP_ORDER = ("agent", "party", "channel", "number")
"""The columns left out first when the log has no room for all (80 columns): time,
outcome and note stay; the whole line is under the table anyway."""


class ContactLogPanel(Vertical):
    """Newest attempt first, one line each; the full note of the cursor row below.

    Notes come before the number and party because at 80 columns they are what an
    operator reads first; they are clipped in the table and shown whole underneath.
    """

    def __init__(self, *, timezone: str, id: str | None = None) -> None:
        super().__init__(id=id)
        self.timezone = timezone
        self.contacts: tuple[ContactLine, ...] = ()
        self._rows: list[tuple[str, tuple[Text, ...]]] = []
        self._width = 0
        self.hidden_columns: list[str] = []
        """The keys of the columns left out for want of room."""

    def compose(self) -> ComposeResult:
        yield bounded_caches(
            DataTable[Text](id="contact-rows", cursor_type="row", zebra_stripes=True)
        )
        yield Static(id="contact-note")

    def on_mount(self) -> None:
        for key, title in COLUMNS:
            self.table.add_column(Text(_(title)), key=key)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#contact-rows", DataTable)

    @property
    def note_text(self) -> str:
        return str(self.query_one("#contact-note", Static).content)

    def show(self, contacts: Sequence[ContactLine]) -> None:
        self.contacts = tuple(contacts)
        table = self.table
        rows: list[tuple[str, tuple[Text, ...]]] = []
        for c in self.contacts:
            # An undone outcome stays in the log, struck out and marked, never hidden.
            style = "dim strike" if c.voided else ""
            note = auto_label(c) if c.automatic else _one_line(c.note)
            rows.append((
                c.row_key,
                (
                    Text(local(c.started_at, self.timezone), style=style),
                    _channel(c, style),
                    contact_outcome(c),
                    Text(_clip(note, NOTE_WIDTH), style="italic" if c.automatic else "dim"),
                    Text(c.number or c.address or DASH, style=style),
                    Text(label("relation", c.party), style=style),
                    Text(_("auto") if c.automatic else (c.agent_name or DASH), style=style),
                ),
            ))  # fmt: skip
        self._rows = rows
        with self.app.batch_update():
            self.hidden_columns = fill(table, COLUMNS, rows, drop_order=DROP_ORDER)
            self._show_note(self.contacts[0] if self.contacts else None)

    def on_resize(self) -> None:
        # Another width may show other columns (only a change of width: not each frame).
        width = self.table.scrollable_content_region.width
        if width != self._width:
            self._width = width
            if self._rows:
                keep = self.table.cursor_row
                self.hidden_columns = fill(self.table, COLUMNS, self._rows, drop_order=DROP_ORDER)
                self.table.move_cursor(row=keep, animate=False)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        key = event.row_key.value
        self._show_note(next((c for c in self.contacts if c.row_key == key), None))

    def _show_note(self, contact: ContactLine | None) -> None:
        note = self.query_one("#contact-note", Static)
        if contact is None:
            update_in_place(note, Text(_("No contact attempts yet."), style="dim"))
            return
        text = Text()
        text.append(local(contact.started_at, self.timezone) + " ", style="dim")
        if contact.voided:
            text.append(_("Undone: "), style="bold")
        if contact.automatic:
            text.append(auto_label(contact), style="bold")
            if contact.auto_refused_by:
                refused = _("refused by the {rule} rule").format(
                    rule=label("rule", contact.auto_refused_by)
                )
                text.append("  " + refused, style="red")
            if contact.note:
                text.append("  " + _one_line(contact.note))
        else:
            text.append(_one_line(contact.note) if contact.note else _("(no note)"))
        if contact.callback_at:
            text.append(
                "  " + _("call back {time}").format(time=local(contact.callback_at, self.timezone)),
                style="bold",
            )
        update_in_place(note, text)


def _one_line(note: str | None) -> str:
    if not note:
        return DASH
    return " ".join(note.split())


def _clip(text: str, width: int) -> str:
    # ASCII "..": the ellipsis character is ambiguous-width and misaligns CJK terminals.
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 2).rstrip() + ".."


_SMS_STYLE = {"pending": "yellow", "sending": "yellow", "failed": "red", "delivered": "green"}


def auto_label(contact: ContactLine) -> str:
    """What a contact strategy did, by the strategy's name: "auto: broken promise -> callback"."""
    return _("auto: {rule} -> {action}").format(
        rule=contact.auto_rule or DASH, action=label("strategy_action", contact.auto_action)
    )


def _channel(contact: ContactLine, style: str) -> Text:
    if contact.auto_id is not None:  # a strategy's action with no contact attempt
        return Text(_("automatic"), style="italic")
    return Text(
        f"{label('channel', contact.channel)} {label('direction', contact.direction)}", style=style
    )


def contact_outcome(contact: ContactLine) -> Text:
    """The outcome column: an SMS shows where it is (queued, sent, delivered, failed); a
    strategy's own line what it did, or the rule that refused it."""
    if contact.auto_id is not None:
        if contact.auto_refused_by:
            return Text(
                _("refused: {rule}").format(rule=label("rule", contact.auto_refused_by)),
                style="red",
            )
        return Text(label("strategy_action", contact.auto_action), style="italic")
    if contact.voided:
        outcome = label("outcome", contact.outcome)
        return Text(_("{outcome} (undone)").format(outcome=outcome), style="dim")
    if contact.sms_status is not None:
        status = contact.sms_status.value
        return Text(label("sms_status", status), style=_SMS_STYLE.get(status, ""))
    return Text(label("outcome", contact.outcome))
