"""The desk's DataTables: filled with columns as wide as their widest cell, and with render
caches the size of what they show.

Textual's DataTable measures auto-width columns after the rows were added, on a later
refresh; a table drawn in between showed its values cut to the titles' widths ("10:0",
"已预", "2026") until the next refresh. ``fill`` sets each width itself, before the rows go
in, so the first frame is already right.

A DataTable keeps up to 10,000 rendered cells and 1,000 rendered lines and rows, keyed by
the table's update count: on the desk, where the contact log and the calendar are filled
again for every case, nearly all of them are stale, yet live on for the whole session,
tens of thousands of small objects every full collection walks. ``bounded_caches`` sizes
them for a few screens of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

from tui_desk.i18n import _

CACHED_CELLS = 1_000
"""Rendered cells a desk table keeps (Textual: 10,000); a 160x50 screen shows ~500."""
CACHED_LINES = 200
"""Rendered lines, rows and row renderables a desk table keeps (Textual: 1,000 each)."""


def bounded_caches(table: DataTable[Any]) -> DataTable[Any]:
    """Size ``table``'s render caches for what it shows (see the module's note); returns it.

    The caches are DataTable's own (``LRUCache`` objects); ``tests/test_tables.py`` fails
    if a Textual release renames them.
    """
    table._cell_render_cache.maxsize = CACHED_CELLS
    for cache in (table._row_render_cache, table._row_renderable_cache, table._line_cache):
        cache.maxsize = CACHED_LINES
    return table


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
