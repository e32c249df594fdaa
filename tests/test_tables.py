"""A desk table whose cells change in place again and again (the board's tables, kept by
keyed diffs) keeps render caches the size of a few screens: Textual's own keep up to
10,000 rendered cells and 1,000 lines, keyed by the table's update count, so nearly all
of them stale."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable

from tui_desk.widgets.tables import CACHED_CELLS, CACHED_LINES, bounded_caches, fill

COLUMNS = [(f"c{i}", f"Column {i}") for i in range(6)]


class _Tables(App[None]):
    def compose(self) -> ComposeResult:
        yield bounded_caches(DataTable[Text](id="bounded"))
        yield DataTable[Text](id="plain")


async def test_a_table_changed_in_place_keeps_bounded_caches() -> None:
    app = _Tables()
    async with app.run_test(size=(160, 60)) as pilot:
        tables = [app.query_one("#bounded", DataTable), app.query_one("#plain", DataTable)]
        rows = [(f"r{r}", [Text(f"row {r} cell {c}") for c in range(6)]) for r in range(20)]
        for table in tables:
            fill(table, COLUMNS, rows)
        await pilot.pause()
        for change in range(40):  # forty refreshes of the figures, every cell changed
            for table in tables:
                for r in range(20):
                    for c in range(6):
                        table.update_cell(f"r{r}", f"c{c}", Text(f"{change}: {r}/{c}"))
            await pilot.pause()
        bounded, plain = tables
        assert len(plain._cell_render_cache) > CACHED_CELLS  # what Textual alone keeps
        assert 0 < len(bounded._cell_render_cache) <= CACHED_CELLS
        for cache in (bounded._row_render_cache, bounded._line_cache):
            assert 0 < len(cache) <= CACHED_LINES
        assert len(bounded._row_renderable_cache) <= CACHED_LINES
        assert str(bounded.get_cell("r19", "c5")) == "39: 19/5"  # what is shown is current


ROWS = [
    (f"r{r}", [Text(f"row {r} cell {c}", style="bold" if c == 1 else "") for c in range(6)])
    for r in range(30)
]


class _One(App[None]):
    CSS = "DataTable { height: 10; }"

    def compose(self) -> ComposeResult:
        yield bounded_caches(DataTable[Text](id="table", cursor_type="row"))


def _lines(table: DataTable[Text]) -> list[str]:
    return [
        "".join(segment.text + str(segment.style) for segment in table.render_line(y))
        for y in range(table.size.height)
    ]


async def _fresh_lines(pilot: Pilot[None], table: DataTable[Text], rows: list[Any]) -> list[str]:
    """What the table shows filled afresh with ``rows`` (its update count moved on)."""
    table.clear(columns=True)
    fill(table, COLUMNS, rows)
    await pilot.pause()
    return _lines(table)


async def test_a_table_filled_again_with_what_it_shows_is_not_drawn_again() -> None:
    """The calendar of the next case is often the calendar of this one: filling a table
    with the columns and rows it shows draws nothing, and it then shows exactly what a
    fresh fill shows (cursor on the first row, scrolled to the top)."""
    app = _One()
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(DataTable)
        fill(table, COLUMNS, ROWS)
        await pilot.pause()
        table.move_cursor(row=25, animate=False)  # the operator went down the table
        await pilot.pause()
        assert table.cursor_row == 25 and table.scroll_y > 0
        count = table._update_count
        fill(table, COLUMNS, [(key, list(cells)) for key, cells in ROWS])  # equal copies
        await pilot.pause()
        assert table._update_count == count  # not filled (nor drawn) again
        assert (table.cursor_row, table.scroll_y) == (0, 0)
        shown = _lines(table)
        assert shown == await _fresh_lines(pilot, table, ROWS)
        assert (table.cursor_row, table.scroll_y) == (0, 0)


async def test_a_table_filled_with_other_rows_or_styles_is_filled_again() -> None:
    app = _One()
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(DataTable)
        fill(table, COLUMNS, ROWS)
        await pilot.pause()
        # The same words in another style (an undone contact is struck out): drawn again.
        restyled = [(key, [Text(c.plain, style="strike") for c in cells]) for key, cells in ROWS]
        count = table._update_count
        fill(table, COLUMNS, restyled)
        await pilot.pause()
        assert table._update_count != count
        shown = _lines(table)
        assert shown == await _fresh_lines(pilot, table, restyled)
        # Changed by other means since (its update count moved on): filled again.
        table.update_cell("r0", "c0", Text("changed"))
        fill(table, COLUMNS, restyled)
        await pilot.pause()
        assert str(table.get_cell("r0", "c0")) == "row 0 cell 0"
        assert _lines(table) == shown
