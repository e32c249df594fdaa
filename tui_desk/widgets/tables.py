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

Filling a table again draws every line it shows again (and measures every cell): the
desk fills the contact log and the calendar for every case it shows, and the calendar of
one case is often the calendar of the next (the same empty week). ``fill`` leaves a table
that already shows exactly those columns and rows as it is, only putting its cursor and
scroll where a fresh fill puts them.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from rich.cells import cell_len
from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from tui_desk.i18n import _, ngettext

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


_FILLED: WeakKeyDictionary[DataTable[Any], tuple[Hashable, list[Text]]] = WeakKeyDictionary()
"""What ``fill`` last put in a table: the columns and rows it was asked for, and the very
cells it added (a table changed since by other means, a cell updated, a row added or the
table cleared, holds other cells: it is filled again)."""


def fill(
    table: DataTable[Text],
    columns: Sequence[tuple[str, str]],
    rows: Sequence[tuple[str, Sequence[Text]]],
    *,
    drop_order: Sequence[str] | None = None,
) -> list[str]:
    """Replace the table's columns ``(key, untranslated title)`` and rows ``(key, cells)``;
    returns the keys of the columns left out.

    With ``drop_order`` the table never scrolls sideways nor cuts a value: when its
    columns need more room than it has, whole columns are left out in that order, and the
    last column shown says how many are hidden (the queue's and the board's way).
    """
    titles = [_(title) for _key, title in columns]
    widths = [cell_len(title) for title in titles]
    for _key, cells in rows:
        for i, cell in enumerate(cells):
            widths[i] = max(widths[i], cell.cell_len)
    shown = list(range(len(columns)))
    room = table.scrollable_content_region.width
    if drop_order is not None and room > 0:
        pad = 2 * table.cell_padding
        drop = [i for key in drop_order for i, (k, _t) in enumerate(columns) if k == key]
        while len(shown) > 1:
            last = shown[-1]
            title = hidden_title(titles[last], len(columns) - len(shown))
            need = sum(
                max(widths[i], cell_len(title)) if i == last else widths[i] for i in shown
            ) + pad * len(shown)
            if need <= room or not drop:
                break
            gone = drop.pop(0)
            if gone in shown:
                shown.remove(gone)
    hidden = len(columns) - len(shown)
    header: list[tuple[str, str, int]] = []
    for n, i in enumerate(shown):
        title = hidden_title(titles[i], hidden) if n == len(shown) - 1 else titles[i]
        header.append((columns[i][0], title, max(widths[i], cell_len(title))))
    content = (
        tuple(header),
        tuple((key, tuple(_cell_key(cells[i]) for i in shown)) for key, cells in rows),
    )
    left_out = [columns[i][0] for i in range(len(columns)) if i not in shown]
    filled = _FILLED.get(table)
    if filled is not None and filled[0] == content and _holds(table, header, filled[1]):
        _as_filled(table)
        return left_out
    with table.app.batch_update():
        table.clear(columns=True)
        for key, title, width in header:
            table.add_column(Text(title), key=key, width=width)
        for key, cells in rows:
            table.add_row(*(cells[i] for i in shown), key=key)
        # Every column has its width and every row one line: nothing is left for the
        # table to measure on its next idle (Rich's measure of every cell, CJK included).
        table._new_rows.clear()
    _FILLED[table] = (content, [cell for row in table._data.values() for cell in row.values()])
    return left_out


def _cell_key(cell: Text) -> Hashable:
    """All that decides how a cell is drawn (``Text.__eq__`` compares the text and spans
    only, not the style of the whole cell)."""
    return (
        cell.plain,
        str(cell.style),
        tuple(cell.spans),
        cell.justify,
        cell.overflow,
        cell.no_wrap,
        cell.end,
    )


def _holds(
    table: DataTable[Text], header: Sequence[tuple[str, str, int]], cells: list[Text]
) -> bool:
    """Whether the table still holds what ``fill`` put in it: these columns, these cells."""
    columns = table.ordered_columns
    if len(columns) != len(header) or any(
        column.key.value != key or column.width != width or column.label.plain != title
        for column, (key, title, width) in zip(columns, header, strict=True)
    ):
        return False
    held = [cell for row in table._data.values() for cell in row.values()]
    return len(held) == len(cells) and all(a is b for a, b in zip(held, cells, strict=True))


def _as_filled(table: DataTable[Text]) -> None:
    """Cursor and scroll where a fresh fill leaves them (``DataTable.clear``): nothing is
    drawn again when they are there already."""
    if table.cursor_coordinate != Coordinate(0, 0):
        table.cursor_coordinate = Coordinate(0, 0)
    table.hover_coordinate = Coordinate(0, 0)
    table.scroll_x = 0
    table.scroll_y = 0
    table.scroll_target_x = 0
    table.scroll_target_y = 0


def hidden_title(title: str, hidden: int) -> str:
    """A column's title, saying how many columns after it are hidden for want of room."""
    if not hidden:
        return title
    return ngettext("{title} ({n} hidden)", "{title} ({n} hidden)", hidden).format(
        title=title, n=hidden
    )
