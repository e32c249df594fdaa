"""Filling a DataTable whose columns are as wide as their widest cell.

Textual's DataTable measures auto-width columns after the rows were added, on a later
refresh; a table drawn in between showed its values cut to the titles' widths ("10:0",
"已预", "2026") until the next refresh. ``fill`` sets each width itself, before the rows go
in, so the first frame is already right.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

from tui_desk.i18n import _


def fill(
    table: DataTable[Text],
    columns: Sequence[tuple[str, str]],
    rows: Sequence[tuple[str, Sequence[Text]]],
) -> None:
    """Replace the table's columns ``(key, untranslated title)`` and rows ``(key, cells)``."""
    widths = [cell_len(_(title)) for _key, title in columns]
    for _key, cells in rows:
        for i, cell in enumerate(cells):
            widths[i] = max(widths[i], cell.cell_len)
    with table.app.batch_update():
        table.clear(columns=True)
        for (key, title), width in zip(columns, widths, strict=True):
            table.add_column(Text(_(title)), key=key, width=width)
        for key, cells in rows:
            table.add_row(*cells, key=key)
