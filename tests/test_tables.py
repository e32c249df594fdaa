"""A desk table whose cells change in place again and again (the board's tables, kept by
keyed diffs) keeps render caches the size of a few screens: Textual's own keep up to
10,000 rendered cells and 1,000 lines, keyed by the table's update count, so nearly all
of them stale."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
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
