"""The queue pane: a bounded window of the most urgent open cases."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from tui_desk.i18n import N_, _
from tui_desk.messages import CaseSelected
from tui_desk.services.desk import QueueRow
from tui_desk.widgets.formatting import DASH, label, money, short_local

COLUMNS = (
    ("priority", N_("Prio")),
    ("dpd", N_("DPD")),
    ("borrower", N_("Borrower")),
    ("overdue", N_("Overdue")),
    ("stage", N_("Stage")),
    ("owner", N_("Owner")),
    ("next", N_("Next action")),
    ("phone", N_("Phone")),
    ("why", N_("Why")),
)


class QueueTable(DataTable[Text]):
    """Open cases, most urgent first; the cursor row is the case the other panes show."""

    def __init__(self, *, timezone: str, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.timezone = timezone
        self._rows: dict[int, QueueRow] = {}

    def on_mount(self) -> None:
        for key, title in COLUMNS:
            right = key in ("priority", "dpd", "overdue")
            self.add_column(Text(_(title), justify="right" if right else "left"), key=key)

    @property
    def case_id(self) -> int | None:
        """The case under the cursor."""
        if not self.row_count:
            return None
        row_key, _column = self.coordinate_to_cell_key(self.cursor_coordinate)
        return int(row_key.value) if row_key.value is not None else None

    @property
    def rows_shown(self) -> Sequence[QueueRow]:
        return list(self._rows.values())

    def show_rows(self, rows: Sequence[QueueRow]) -> None:
        """Replace the window, keeping the cursor on the same case when it is still there."""
        keep = self.case_id
        with self.app.batch_update():
            self.clear()
            self._rows = {r.case_id: r for r in rows}
            for row in rows:
                self.add_row(*self._cells(row), key=str(row.case_id))
            if keep is not None and keep in self._rows:
                self.move_cursor(row=self.get_row_index(str(keep)), animate=False)

    def _cells(self, row: QueueRow) -> list[Text]:
        flag = "bold" if row.on_hold or row.stale else ""
        owner = row.owner_name or DASH
        return [
            Text(str(row.priority), justify="right"),
            Text(f"{row.dpd} {row.bucket}", justify="right"),
            Text(row.borrower_name, style=flag),
            Text(money(row.overdue_minor, row.currency), justify="right"),
            Text(label("stage", row.stage) + (" " + _("(hold)") if row.on_hold else "")),
            Text(owner),
            Text(short_local(row.next_action_at, self.timezone)),
            Text(row.phone_masked or DASH),
            Text(row.why or DASH, style="dim"),
        ]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(CaseSelected(int(event.row_key.value)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(CaseSelected(int(event.row_key.value), opened=True))
