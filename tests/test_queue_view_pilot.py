"""QueueView on its own: keyset paging by keys, bounded memory, CJK alignment, no idle repaint.

The loader here is an in-memory keyset over a sorted list (the same contract as
``services.queue.queue_page``), so the paging logic is tested apart from any database;
the desk tests drive it against SQLite.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from tui_desk.db.models import Stage
from tui_desk.messages import CaseSelected
from tui_desk.views.queue import QueueKey, QueueRow
from tui_desk.widgets.queue_view import (
    COLUMNS,
    MAX_ROWS,
    PAGE_ROWS,
    QueueView,
    fit,
    header_title,
    layout,
)

NAMES = ("欧阳娜娜", "张三", "Li Na", "诸葛孔明明", "王五", "李小龙", "Émile Zola")


@dataclass(frozen=True)
class FakePage:
    rows: tuple[QueueRow, ...]
    more_after: bool
    more_before: bool


def make_rows(count: int) -> list[QueueRow]:
    rows = [
        QueueRow(
            case_id=count - i,
            priority=10_000 - (i // 3),
            dpd=1 + i % 200,
            bucket="91+",
            borrower_name=NAMES[i % len(NAMES)],
            overdue_minor=99 * 10 ** (i % 6),
            currency="CNY",
            stage=Stage.CONTACTING,
            owner_name="王小明" if i % 2 else None,
            next_action_at=dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC),
            phone_masked="138****8000",
            why="dpd+10 amount+20",
            on_hold=False,
            stale=False,
        )
        for i in range(count)
    ]
    return sorted(rows, key=lambda r: r.key, reverse=True)


class FakeQueue:
    """Keyset pages over a list ordered by (priority, id) descending."""

    def __init__(self, rows: Sequence[QueueRow]) -> None:
        self.rows = list(rows)
        self.calls: list[tuple[QueueKey | None, QueueKey | None, int]] = []

    def __call__(self, after: QueueKey | None, before: QueueKey | None, limit: int) -> FakePage:
        self.calls.append((after, before, limit))
        if before is not None:
            above = [r for r in self.rows if r.key > before]
            page = above[-limit:]
            return FakePage(tuple(page), True, len(above) > limit)
        below = [r for r in self.rows if after is None or r.key < after]
        return FakePage(tuple(below[:limit]), len(below) > limit, after is not None)


class ViewApp(App[None]):
    def __init__(self, loader: FakeQueue) -> None:
        super().__init__()
        self.loader = loader
        self.selected: list[CaseSelected] = []

    def compose(self) -> ComposeResult:
        yield QueueView(timezone="Asia/Shanghai", id="queue")

    def on_mount(self) -> None:
        view = self.query_one(QueueView)
        view.set_source(self.loader, "all open cases")
        view.focus()

    def on_case_selected(self, message: CaseSelected) -> None:
        self.selected.append(message)


async def settle(pilot: Pilot[None]) -> None:
    view = pilot.app.query_one(QueueView)
    for _ in range(200):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not view.is_loading:
            return
    raise AssertionError("the queue did not settle")


def lines(app: App[None]) -> list[str]:
    view = app.query_one(QueueView)
    return [view.render_line(y).text for y in range(view.size.height)]


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
async def test_page_down_reads_pages_past_the_first_and_memory_stays_bounded(
    size: tuple[int, int],
) -> None:
    loader = FakeQueue(make_rows(5000))
    app = ViewApp(loader)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        view = app.query_one(QueueView)
        assert view.case_id == loader.rows[0].case_id
        for _ in range(25):
            await pilot.press("pagedown")
            await settle(pilot)
        position = view.position
        assert position is not None and position > 3 * PAGE_ROWS
        assert view.case_id == loader.rows[position].case_id
        assert len(view.rows_held) <= MAX_ROWS
        assert any(after is not None for after, _before, _limit in loader.calls)
        status = lines(app)[-1]
        assert f"rows {position - view.body_height + 2}" in status or "rows" in status
        assert "more below" in status
        # Back up again: pages above are read back in as the cursor climbs.
        for _ in range(25):
            await pilot.press("pageup")
            await settle(pilot)
        assert view.position == 0
        assert view.case_id == loader.rows[0].case_id
        assert len(view.rows_held) <= MAX_ROWS


async def test_down_at_the_edge_waits_for_the_next_page_then_moves() -> None:
    loader = FakeQueue(make_rows(500))
    app = ViewApp(loader)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        view = app.query_one(QueueView)
        await pilot.press(*["down"] * (PAGE_ROWS + 5))
        await settle(pilot)
        assert view.position == PAGE_ROWS + 5
        assert view.case_id == loader.rows[PAGE_ROWS + 5].case_id


async def test_end_reads_the_last_page_and_home_the_first() -> None:
    loader = FakeQueue(make_rows(3000))
    app = ViewApp(loader)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        view = app.query_one(QueueView)
        await pilot.press("end")
        await settle(pilot)
        assert view.case_id == loader.rows[-1].case_id
        assert loader.calls[-1][1] is not None  # a reverse (before=) query
        assert "end of queue" in lines(app)[-1]
        await pilot.press("up", "up", "pageup")
        await settle(pilot)
        assert view.case_id == loader.rows[-3 - (view.body_height - 1)].case_id
        await pilot.press("home")
        await settle(pilot)
        assert view.case_id == loader.rows[0].case_id
        assert view.position == 0


async def test_cursor_moves_post_case_selected_and_enter_opens() -> None:
    loader = FakeQueue(make_rows(100))
    app = ViewApp(loader)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.selected.clear()
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert [(m.case_id, m.opened) for m in app.selected] == [
            (loader.rows[1].case_id, False),
            (loader.rows[2].case_id, False),
            (loader.rows[2].case_id, True),
        ]


def _amount_ends(text_lines: list[str]) -> set[int]:
    ends = set()
    for line in text_lines:
        match = re.search(r"¥[\d,]+\.\d\d", line)
        if match:
            ends.add(cell_len(line[: match.end()]))
    return ends


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
async def test_double_width_names_keep_the_columns_aligned(size: tuple[int, int]) -> None:
    loader = FakeQueue(make_rows(50))
    app = ViewApp(loader)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        text = lines(app)
        body = text[1:-1]
        assert len(_amount_ends(body)) == 1, body
        width = app.query_one(QueueView).size.width
        assert {cell_len(line) for line in text} == {width}
        assert any("诸葛孔明" in line for line in body)


def test_fit_pads_and_cuts_by_cells() -> None:
    assert fit("张三", 6) == "张三  "
    assert fit("张三", 6, right=True) == "  张三"
    assert cell_len(fit("诸葛孔明明", 7)) == 7
    assert fit("abcdef", 4) == "abc."


def test_a_long_amount_or_name_widens_its_column_and_others_give_way() -> None:
    plain = dict((c.key, w) for c, w in layout(78))
    wider = dict((c.key, w) for c, w in layout(78, {"overdue": 15, "borrower": 14}))
    assert (wider["overdue"], wider["borrower"]) == (15, 14)
    assert len(wider) <= len(plain)  # a column of less use is left out, nothing is cut
    assert sum(wider.values()) + len(wider) - 1 == 78


def test_layout_drops_columns_before_it_squeezes_why() -> None:
    narrow = [c.key for c, _w in layout(78)]
    wide = [c.key for c, _w in layout(156)]
    assert narrow[:4] == ["priority", "dpd", "borrower", "overdue"] and narrow[-1] == "why"
    assert set(wide) >= {"owner", "next", "phone", "stage", "why"}
    assert sum(w for _c, w in layout(78)) + len(layout(78)) - 1 == 78


def test_a_narrow_queue_names_the_columns_it_leaves_out() -> None:
    narrow = layout(78)
    why = next(c for c, _w in narrow if c.key == "why")
    title = header_title(why, narrow)
    left_out = [c for c in COLUMNS if c.key not in {s.key for s, _w in narrow}]
    assert left_out and title == f"Why ({len(left_out)} hidden)"
    wide = layout(200)
    assert header_title(next(c for c, _w in wide if c.key == "why"), wide) == "Why"


async def test_the_header_of_a_narrow_queue_says_what_is_not_shown() -> None:
    loader = FakeQueue(make_rows(50))
    app = ViewApp(loader)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        view = app.query_one(QueueView)
        assert view.rows_held
        header = view.render_line(0).text
        assert header.rstrip().endswith("Why (2 hidden)"), header
        assert cell_len(header) == view.size.width


async def test_a_reload_with_the_same_rows_does_not_repaint() -> None:
    loader = FakeQueue(make_rows(200))
    app = ViewApp(loader)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        view = app.query_one(QueueView)
        repaints: list[int] = []
        original = view.refresh

        def counting(*args: object, **kwargs: object) -> QueueView:
            repaints.append(1)
            return original(*args, **kwargs)  # type: ignore[arg-type]

        view.refresh = counting  # type: ignore[method-assign]
        for _ in range(3):
            view.reload()
            await settle(pilot)
        # Nothing on screen changed, so nothing was repainted.
        assert repaints == []
        await pilot.press("down")
        await settle(pilot)
        assert repaints
