"""The queue pane: a window onto the open cases, paged from the database by keyset.

The queue can hold a million open cases, so this view never asks how many there are and
never holds them all. It keeps a few pages of rows around the cursor (``MAX_ROWS``) and
asks for the next page in a thread worker when the cursor comes within ``PREFETCH`` rows
of either edge of what it holds; rows that fall far behind are dropped, so memory stays
flat whatever the size of the database. End reads the last page with a reverse query.

Each line is drawn by ``render_line`` (Textual's Line API) from the rows in hand, one
cached ``Strip`` per row, and the widget repaints only when what is visible changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar, Literal, Protocol

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.containers import Horizontal
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from tui_desk.errors import ServiceError
from tui_desk.formatting import DASH, label, money, short_local
from tui_desk.formatting import why as why_text
from tui_desk.i18n import N_, _, ngettext
from tui_desk.messages import CaseSelected
from tui_desk.views.queue import QueueKey, QueueRow
from tui_desk.widgets.bindings import localise_bindings

PAGE_ROWS = 60
"""Rows asked of the database at a time (one keyset query)."""
MAX_ROWS = 4 * PAGE_ROWS
"""Rows held at most; older ones are dropped as the cursor travels."""
PREFETCH = 20
"""Ask for the next page when the cursor is this close to the edge of the rows held."""
WAIT_NOTICE_SECONDS = 0.1
"""Say "reading..." only if the rows take longer than this: a quick answer is drawn in one
frame, with nothing drawn in between (a frame just drawn delays the next by up to two)."""
BOTTOM: QueueKey = (-(2**31), 0)
"""A key below every case: "the rows just before it" is the last page of the queue."""

Direction = Literal["reset", "after", "before", "end"]


@dataclass(frozen=True)
class FilterState:
    """The queue filter as the keys set it (codes as strings; the service builds the query)."""

    scope: str = "all"
    bucket: str | None = None
    stage: str | None = None
    broken_only: bool = False
    due_today: bool = False
    on_hold: bool = False
    registered_only: bool = False
    search: str = ""


class Page(Protocol):
    """One keyset page of the queue (``tui_desk.views.queue.QueuePage``)."""

    @property
    def rows(self) -> Sequence[QueueRow]: ...
    @property
    def more_after(self) -> bool: ...
    @property
    def more_before(self) -> bool: ...


PageLoader = Callable[[QueueKey | None, QueueKey | None, int], Page]
"""``loader(after, before, limit)``: blocking, run in a thread worker by the view."""


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    right: bool = False
    keep: int = 9
    """Columns with the lowest ``keep`` are left out first when the pane is narrow."""


COLUMNS: tuple[Column, ...] = (
    Column("priority", N_("Prio"), 4, right=True),
    Column("dpd", N_("DPD"), 9, right=True),
    Column("borrower", N_("Borrower"), 10),
    Column("overdue", N_("Overdue"), 13, right=True),
    Column("stage", N_("Stage"), 12, keep=5),
    Column("owner", N_("Owner"), 8, keep=1),
    Column("next", N_("Next action"), 11, keep=2),
    Column("phone", N_("Phone"), 11, keep=4),
    Column("why", N_("Why"), 0, keep=8),
)
WHY_MIN = 14
BORROWER_MAX = 16
"""A borrower's name widens its column up to this many cells (eight Chinese characters)."""
GAP = 1


def fit(text: str, width: int, *, right: bool = False) -> str:
    """``text`` padded or cut to exactly ``width`` cells (CJK characters count two)."""
    if width <= 0:
        return ""
    size = cell_len(text)
    if size > width:
        # ASCII "..", not the ellipsis: that one is ambiguous-width in CJK terminals.
        return set_cell_size(text, width - 1) + "." if width > 2 else set_cell_size(text, width)
    pad = " " * (width - size)
    return pad + text if right else text + pad


def _foreground(style: Style) -> Style:
    """``style`` without its background, so it can sit on the cursor or a stripe."""
    return Style(
        color=style.color,
        bold=style.bold,
        dim=style.dim,
        italic=style.italic,
        underline=style.underline,
    )


def layout(width: int, wider: dict[str, int] | None = None) -> tuple[tuple[Column, int], ...]:
    """The columns that fit in ``width`` cells and the width of each; "why" takes the rest.

    ``wider`` widens columns whose values need more room (a long amount or name): money
    and names are never cut, the columns of least use are left out first instead."""
    columns = [replace(c, width=max(c.width, (wider or {}).get(c.key, 0))) for c in COLUMNS]

    def fixed(cols: list[Column]) -> int:
        return sum(c.width + GAP for c in cols if c.key != "why")

    while fixed(columns) + WHY_MIN > width:
        droppable = [c for c in columns if c.key not in ("priority", "borrower", "why")]
        if not droppable:
            break
        columns.remove(min(droppable, key=lambda c: c.keep))
    why = max(0, width - fixed(columns))
    return tuple((c, why if c.key == "why" else c.width) for c in columns)


def header_title(column: Column, shown: Sequence[tuple[Column, int]]) -> str:
    """A column's title; the last one also counts the columns left out for want of room,
    so a narrow pane says that it does not show everything (F3 shows the case whole)."""
    title = _(column.title)
    if column.key != "why":
        return title
    keys = {c.key for c, _w in shown}
    hidden = sum(1 for c in COLUMNS if c.key not in keys)
    if not hidden:
        return title
    return ngettext("{title} ({n} hidden)", "{title} ({n} hidden)", hidden).format(
        title=title, n=hidden
    )


class QueueView(Widget, can_focus=True):
    """Open cases, most urgent first; the cursor row is the case the other panes show."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "up",
            "move(-1)",
            N_("Up"),
            tooltip=N_("Move to the case above"),
            show=False,
            priority=True,
            id="queue.up",
        ),
        Binding(
            "down",
            "move(1)",
            N_("Down"),
            tooltip=N_("Move to the case below"),
            show=False,
            priority=True,
            id="queue.down",
        ),
        Binding(
            "pageup",
            "page(-1)",
            N_("Page up"),
            tooltip=N_("Move one screen of cases up"),
            show=False,
            priority=True,
            id="queue.page_up",
        ),
        Binding(
            "pagedown",
            "page(1)",
            N_("Page down"),
            tooltip=N_("Move one screen of cases down (the next page is read as you go)"),
            show=False,
            priority=True,
            id="queue.page_down",
        ),
        Binding(
            "home",
            "first",
            N_("First case"),
            tooltip=N_("Go to the most urgent case"),
            show=False,
            priority=True,
            id="queue.first",
        ),
        Binding(
            "end",
            "last",
            N_("Last case"),
            tooltip=N_("Go to the least urgent case (reads the last page)"),
            show=False,
            priority=True,
            id="queue.last",
        ),
        Binding(
            "enter",
            "open",
            N_("Open"),
            tooltip=N_("Open the case under the cursor"),
            show=False,
            priority=True,
            id="queue.open",
        ),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "queue-view--header",
        "queue-view--status",
        "queue-view--stripe",
        "queue-view--cursor",
        "queue-view--cursor-blurred",
        "queue-view--flag",
        "queue-view--dim",
    }

    class PageLoaded(Message):
        """A page arrived from the worker (``generation`` tells stale answers apart)."""

        def __init__(
            self, generation: int, direction: Direction, page: Page, keep: int | None
        ) -> None:
            super().__init__()
            self.generation = generation
            self.direction = direction
            self.page = page
            self.keep = keep

    class WindowChanged(Message):
        """The rows in hand were replaced (a new filter, a refresh, Home or End)."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    def __init__(self, *, timezone: str, id: str | None = None) -> None:
        super().__init__(id=id)
        localise_bindings(self)
        self.timezone = timezone
        self.description = ""
        self._next_description: str | None = None
        self._loader: PageLoader | None = None
        self._rows: list[QueueRow] = []
        self._offset: int | None = 0
        """Position in the whole queue of ``_rows[0]`` (None after End, until known)."""
        self._more_after = False
        self._more_before = False
        self._cursor = 0
        self._top = 0
        self._pending = 0
        """Cursor steps asked for beyond the rows in hand, applied when the page arrives."""
        self._generation = 0
        self._loading: set[Direction] = set()
        self._loaded_once = False
        self._error: str | None = None
        self._reset_offset: int | None = 0
        self._waiting = False
        self._notice: Timer | None = None
        self._notice_shown = False
        self._quiet = False
        self._reload_row = 0
        self._painted: object = None
        self.window_serial = 0
        """Counts replaced windows (a new filter, search, Home, End, refresh)."""
        self._selected: int | None = None
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(maxsize=256)
        self._layout: tuple[object, tuple[tuple[Column, int], ...]] | None = None

    # --- what the screen asks ------------------------------------------------------------

    @property
    def case_id(self) -> int | None:
        """The case under the cursor."""
        return self._rows[self._cursor].case_id if self._rows else None

    @property
    def current_row(self) -> QueueRow | None:
        return self._rows[self._cursor] if self._rows else None

    @property
    def rows_held(self) -> Sequence[QueueRow]:
        """Every row in memory (at most ``MAX_ROWS``)."""
        return tuple(self._rows)

    @property
    def visible_rows(self) -> Sequence[QueueRow]:
        return tuple(self._rows[self._top : self._top + self.body_height])

    @property
    def position(self) -> int | None:
        """Index of the cursor row in the whole queue, when known."""
        return None if self._offset is None else self._offset + self._cursor

    @property
    def is_loading(self) -> bool:
        return bool(self._loading) or self._pending != 0

    @property
    def is_waiting(self) -> bool:
        """The operator waits for rows (a move past the rows held, a new window)."""
        return self._pending != 0 or self._waiting

    @property
    def body_height(self) -> int:
        return max(1, self.size.height - 2)

    def set_source(self, loader: PageLoader, description: str, *, keep: int | None = None) -> None:
        """Show the queue ``loader`` reads (a new filter or search): from its first row.

        The rows on screen, and the words for them, stay until the first page arrives:
        typing does not flicker, and the new rows are drawn in one frame.
        """
        self._loader = loader
        self._next_description = description
        self._load("reset", None, None, keep=keep, offset=0)

    def reload(self) -> None:
        """Read the rows on screen again (after a write), keeping the cursor's case."""
        if not self._rows:
            self._load("reset", None, None, offset=0)
            return
        # Read from just below the row above the screen: the rows on screen come back even
        # if the one just edited moved (its priority changes with every write).
        after: QueueKey | None
        if self._top > 0:
            after = self._rows[self._top - 1].key
        elif self._offset == 0:
            after = None
        else:
            first = self._rows[0]
            after = (first.priority, first.case_id + 1)
        offset = None if self._offset is None else self._offset + self._top
        self._reload_row = self._cursor - self._top
        self._load("reset", after, None, keep=self.case_id, offset=offset, quiet=True)

    def show_case(self, case_id: int) -> bool:
        """Put the cursor on ``case_id`` if it is among the rows held (True if it was)."""
        for index, row in enumerate(self._rows):
            if row.case_id == case_id:
                self._selected = case_id
                self._move_to(index)
                return True
        return False

    # --- loading ----------------------------------------------------------------------

    def _load(
        self,
        direction: Direction,
        after: QueueKey | None,
        before: QueueKey | None,
        *,
        keep: int | None = None,
        offset: int | None = 0,
        quiet: bool = False,
    ) -> None:
        """Ask for a page; ``offset`` is where a replacing page starts in the queue."""
        if self._loader is None:
            return
        if direction in ("reset", "end"):
            # A new window: answers to earlier requests are dropped when they arrive.
            self._generation += 1
            self._loading.clear()
            self._pending = 0
            self._reset_offset = offset
        elif direction in self._loading:
            return
        self._loading.add(direction)
        # Say "reading..." only where the operator waits for it (a new filter, Home,
        # End); a background refresh or a prefetch keeps the screen as it is.
        self._waiting = direction in ("reset", "end") and not quiet
        if self._waiting and self._notice is None:
            self._notice = self.set_timer(WAIT_NOTICE_SECONDS, self._show_waiting)
        self._quiet = quiet
        self._paint()
        if direction in ("reset", "end"):
            self._fetch_window(self._loader, self._generation, direction, after, before, keep)
        else:
            self._fetch_edge(self._loader, self._generation, direction, after, before, keep)

    @work(thread=True, group="queue-window", exclusive=True, exit_on_error=False)
    def _fetch_window(
        self,
        loader: PageLoader,
        generation: int,
        direction: Direction,
        after: QueueKey | None,
        before: QueueKey | None,
        keep: int | None,
    ) -> None:
        # Exclusive: a new filter or search character supersedes the read before it.
        self._fetch(loader, generation, direction, after, before, keep)

    @work(thread=True, group="queue-page", exit_on_error=False)
    def _fetch_edge(
        self,
        loader: PageLoader,
        generation: int,
        direction: Direction,
        after: QueueKey | None,
        before: QueueKey | None,
        keep: int | None,
    ) -> None:
        self._fetch(loader, generation, direction, after, before, keep)

    def _fetch(
        self,
        loader: PageLoader,
        generation: int,
        direction: Direction,
        after: QueueKey | None,
        before: QueueKey | None,
        keep: int | None,
    ) -> None:
        page = loader(after, before, PAGE_ROWS)
        if not get_current_worker().is_cancelled:
            self.post_message(self.PageLoaded(generation, direction, page, keep))

    def on_queue_view_page_loaded(self, message: QueueView.PageLoaded) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        self._loading.discard(message.direction)
        if message.direction in ("reset", "end"):
            self._waiting = False
            self._stop_notice()
        self._error = None
        rows = list(message.page.rows)
        if message.direction in ("reset", "end"):
            self._replace(message, rows)
        elif message.direction == "after":
            self._append(rows, message.page.more_after)
        else:
            self._prepend(rows, message.page.more_before)
        pending, self._pending = self._pending, 0
        wanted = (message.direction == "after" and pending > 0) or (
            message.direction == "before" and pending < 0
        )
        if wanted and rows:
            self._move_to(self._cursor + pending)
        else:
            self._after_move()

    def _replace(self, message: QueueView.PageLoaded, rows: list[QueueRow]) -> None:
        page = message.page
        if self._next_description is not None:
            self.description, self._next_description = self._next_description, None
        end = message.direction == "end"
        self._rows = rows
        self._more_after = False if end else page.more_after
        self._more_before = page.more_before
        self._offset = None if end else self._reset_offset
        if not page.more_before:
            self._offset = 0
        keep = message.keep
        index = next((i for i, r in enumerate(rows) if r.case_id == keep), None)
        if index is None and self._quiet and keep is not None:
            # The case being worked moved out of the window after a write: the cursor
            # stays where it was on screen, and the desk keeps showing that case until
            # the operator moves (no silent switch to another case).
            index = min(self._reload_row, len(rows) - 1)
            self._selected = keep
        if index is None:
            index = len(rows) - 1 if end else 0
        self._cursor = max(0, index)
        self._top = 0
        self._loaded_once = True
        self.window_serial += 1
        self._scroll_to_cursor()
        self.post_message(self.WindowChanged(len(rows)))

    def _append(self, rows: list[QueueRow], more: bool) -> None:
        held = {r.case_id for r in self._rows}
        self._rows.extend(r for r in rows if r.case_id not in held)
        self._more_after = more
        excess = len(self._rows) - MAX_ROWS
        if excess > 0:
            # Drop from the far end, never what is on screen.
            drop = min(excess, self._top)
            if drop:
                del self._rows[:drop]
                self._cursor -= drop
                self._top -= drop
                self._more_before = True
                if self._offset is not None:
                    self._offset += drop

    def _prepend(self, rows: list[QueueRow], more: bool) -> None:
        held = {r.case_id for r in self._rows}
        new = [r for r in rows if r.case_id not in held]
        self._rows[:0] = new
        self._cursor += len(new)
        self._top += len(new)
        self._more_before = more
        if self._offset is not None:
            self._offset -= len(new)
        if not more:
            self._offset = 0
        excess = len(self._rows) - MAX_ROWS
        if excess > 0:
            keep_to = self._top + self.body_height
            drop = min(excess, len(self._rows) - keep_to)
            if drop > 0:
                del self._rows[-drop:]
                self._more_after = True

    def _show_waiting(self) -> None:
        self._notice = None
        self._notice_shown = True
        self._paint()

    def _stop_notice(self) -> None:
        if self._notice is not None:
            self._notice.stop()
            self._notice = None
        self._notice_shown = False

    def _prefetch(self) -> None:
        if not self._rows:
            return
        if self._more_after and len(self._rows) - 1 - self._cursor < PREFETCH + self.body_height:
            last = self._rows[-1]
            self._load("after", last.key, None)
        if self._more_before and self._cursor < PREFETCH + self.body_height:
            first = self._rows[0]
            self._load("before", None, first.key)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A failed page read: say so on the status line and in a notification.
        if event.state is not WorkerState.ERROR:
            return
        event.stop()
        self._loading.clear()
        self._pending = 0
        self._waiting = False
        self._stop_notice()
        error = event.worker.error
        lines = str(error).strip().splitlines() if error else []
        first = (lines[0] if lines else type(error).__name__)[:200]
        self._error = first[:80]
        self._paint()
        text = (
            str(error)
            if isinstance(error, ServiceError)
            else _("The database did not answer: {error}").format(error=first)
        )
        self.notify(text, title=_("Could not load"), severity="error", markup=False)

    # --- the cursor -------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        self._move_to(self._cursor + step)

    def action_page(self, step: int) -> None:
        page = max(1, self.body_height - 1)
        self._top = max(0, self._top + step * page)
        self._move_to(self._cursor + step * page)

    def action_first(self) -> None:
        if self._offset == 0 or not self._more_before:
            self._move_to(0)
            return
        self._load("reset", None, None, offset=0)

    def action_last(self) -> None:
        if not self._more_after:
            self._move_to(len(self._rows) - 1)
            return
        self._load("end", None, BOTTOM, offset=None)

    def action_open(self) -> None:
        case_id = self.case_id
        if case_id is not None:
            self.post_message(CaseSelected(case_id, opened=True))

    def _move_to(self, index: int) -> None:
        if not self._rows:
            return
        last = len(self._rows) - 1
        if index > last and self._more_after:
            self._pending = index - last
            self._prefetch()
        elif index < 0 and self._more_before:
            self._pending = index
            self._prefetch()
        self._cursor = max(0, min(index, last))
        self._scroll_to_cursor()
        self._after_move()

    def _scroll_to_cursor(self) -> None:
        height = self.body_height
        if self._cursor < self._top:
            self._top = self._cursor
        elif self._cursor >= self._top + height:
            self._top = self._cursor - height + 1
        self._top = max(0, min(self._top, max(0, len(self._rows) - height)))
        if self._cursor < self._top:
            self._top = self._cursor

    def _after_move(self) -> None:
        self._scroll_to_cursor()
        self._paint()
        # Read ahead only once this frame is on screen: the reader's Python work shares
        # the interpreter with the drawing and would delay the frame the operator awaits.
        self.call_after_refresh(self._prefetch)
        case_id = self.case_id
        if case_id is not None and case_id != self._selected:
            self._selected = case_id
            self.post_message(CaseSelected(case_id))

    def forget_selection(self) -> None:
        """Post CaseSelected again on the next move even if the case is the same."""
        self._selected = None

    def on_click(self, event: events.Click) -> None:
        if 0 < event.y <= self.body_height and self._rows:
            index = self._top + event.y - 1
            if index < len(self._rows):
                self._move_to(index)
                if event.chain >= 2:
                    self.action_open()

    def on_focus(self) -> None:
        self._paint()

    def on_blur(self) -> None:
        self._paint()

    def on_resize(self) -> None:
        self._scroll_to_cursor()
        self._prefetch()
        self._paint()

    # --- drawing ----------------------------------------------------------------------

    def status_text(self) -> str:
        """The status line: filter, where the cursor is, and whether more rows follow."""
        parts = [self.description] if self.description else []
        if self._error:
            parts.append(_("not loaded: {error}").format(error=self._error))
        elif not self._loaded_once:
            parts.append(_("loading..."))
        elif not self._rows:
            parts.append(_("no cases match"))
        else:
            shown = self.visible_rows
            if self._offset is not None:
                first = self._offset + self._top + 1
                parts.append(
                    _("rows {first}-{last}, page {page}").format(
                        first=first,
                        last=first + len(shown) - 1,
                        page=(first - 1) // max(1, self.body_height) + 1,
                    )
                )
            else:
                parts.append(_("near the end of the queue"))
            below = self._top + len(shown) < len(self._rows) or self._more_after
            parts.append(_("more below") if below else _("end of queue"))
            if self._pending or self._notice_shown:
                parts.append(_("reading..."))
        return " | ".join(parts)

    def _paint(self) -> None:
        """Repaint only when something on screen would look different."""
        state = (
            self.size,
            self._top,
            self._cursor,
            self.has_focus,
            self.visible_rows,
            self.status_text(),
        )
        if state != self._painted:
            self._painted = state
            self.refresh()

    def _columns(self, width: int) -> tuple[tuple[Column, int], ...]:
        # Asked for on every line drawn: the widths are worked out again only when the
        # rows held or the width change.
        rows = self._rows
        held = (id(rows), len(rows), id(rows[0]) if rows else 0, id(rows[-1]) if rows else 0)
        if self._layout is None or self._layout[0] != (width, held):
            wider = {
                "overdue": max(
                    (cell_len(money(r.overdue_minor, r.currency)) for r in rows), default=0
                ),
                "borrower": min(
                    BORROWER_MAX, max((cell_len(r.borrower_name) for r in rows), default=0)
                ),
            }
            self._layout = ((width, held), layout(width, wider))
        return self._layout[1]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        height = self.size.height
        base = self.rich_style
        if y == 0:
            return self._header(width, base)
        if y == height - 1 and height >= 3:
            style = base + self.get_component_rich_style("queue-view--status")
            return Strip([Segment(fit(self.status_text(), width), style)], width)
        index = self._top + y - 1
        if index >= len(self._rows):
            return Strip.blank(width, base)
        row = self._rows[index]
        is_cursor = index == self._cursor
        focused = self.has_focus
        columns = self._columns(width)
        key = (row, width, columns, is_cursor, focused, index % 2, base)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._row_strip(row, width, base, is_cursor, focused, index % 2 == 1)
            self._strips[key] = strip
        return strip

    def _header(self, width: int, base: Style) -> Strip:
        style = base + self.get_component_rich_style("queue-view--header")
        columns = self._columns(width)
        cells = [fit(header_title(c, columns), w, right=c.right) for c, w in columns]
        return Strip([Segment(fit(" ".join(cells), width), style)], width)

    def _row_strip(
        self, row: QueueRow, width: int, base: Style, is_cursor: bool, focused: bool, odd: bool
    ) -> Strip:
        style = base
        if odd:
            style += self.get_component_rich_style("queue-view--stripe")
        if is_cursor:
            style += self.get_component_rich_style(
                "queue-view--cursor" if focused else "queue-view--cursor-blurred"
            )
        flag = style + _foreground(self.get_component_rich_style("queue-view--flag"))
        dim = style + _foreground(self.get_component_rich_style("queue-view--dim"))
        segments: list[Segment] = []
        for index, (column, cell_width) in enumerate(self._columns(width)):
            if index:
                segments.append(Segment(" ", style))
            text = self._cell(row, column.key)
            cell_style = style
            if column.key == "borrower" and (row.on_hold or row.stale):
                cell_style = flag
            elif column.key == "why":
                cell_style = dim
            segments.append(Segment(fit(text, cell_width, right=column.right), cell_style))
        return Strip(segments).adjust_cell_length(width, style)

    def _cell(self, row: QueueRow, key: str) -> str:
        if key == "priority":
            return str(row.priority)
        if key == "dpd":
            return f"{row.dpd} {row.bucket}"
        if key == "borrower":
            return row.borrower_name
        if key == "overdue":
            return money(row.overdue_minor, row.currency)
        if key == "stage":
            return label("stage", row.stage) + (" " + _("(hold)") if row.on_hold else "")
        if key == "owner":
            return row.owner_name or DASH
        if key == "next":
            return short_local(row.next_action_at, self.timezone)
        if key == "phone":
            return row.phone_masked or DASH
        return why_text(row.why)


class SearchInput(Input):
    """The queue's search line: Enter or Down goes back to the queue, Escape clears it."""

    # Every character typed sets the input's virtual size, which the layout then sets
    # back: with Widget's ``layout=True`` that is a layout of the whole desk and a full
    # repaint per key (~20 ms at 160x50). A one-line field of fixed size only needs
    # repainting.
    virtual_size = Reactive(Size(0, 0), layout=False)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "clear",
            N_("Clear search"),
            tooltip=N_("Clear the search and go back to the queue"),
            show=False,
            priority=True,
            id="search.clear",
        ),
        Binding(
            "down",
            "done",
            N_("To the queue"),
            tooltip=N_("Keep the search and move to the queue"),
            show=False,
            priority=True,
            id="search.done",
        ),
        Binding(
            "enter",
            "done",
            N_("Search"),
            tooltip=N_("Search now and move to the queue"),
            show=False,
            priority=True,
            id="search.submit",
        ),
    ]

    class Done(Message):
        """The operator left the search line (the search stays)."""

    def __init__(self, *, back_to: str, id: str | None = None) -> None:
        super().__init__(
            placeholder=_("/ name, phone, #case"),
            id=id,
            compact=True,
        )
        localise_bindings(self)
        self.back_to = back_to

    def _leave(self) -> None:
        # Move the focus now: a key typed right after Enter is for the queue, not the
        # search line (a message would arrive after that key).
        self.screen.set_focus(self.screen.query_one(self.back_to))
        self.post_message(self.Done())

    def action_clear(self) -> None:
        self.value = ""
        self._leave()

    def action_done(self) -> None:
        self._leave()

    async def action_submit(self) -> None:
        self._leave()


class QueueFilterBar(Horizontal):
    """One line above the queue: the search input and which filters are on."""

    def compose(self) -> ComposeResult:
        yield SearchInput(back_to="#queue", id="queue-search")
        yield Static(id="queue-filters")

    def show_filter(self, state: FilterState) -> None:
        """Each filter key with its value; the ones in force stand out."""
        chips = Text(no_wrap=True, overflow="ellipsis")

        def chip(key: str, text: str, active: bool) -> None:
            chips.append(" ")
            chips.append(f"{key}:", style="dim")
            chips.append(text, style="bold reverse" if active else "dim")

        chip("m", label("scope", state.scope), state.scope != "all")
        chip("b", state.bucket or _("bucket"), state.bucket is not None)
        chip(
            "s", label("stage", state.stage) if state.stage else _("stage"), state.stage is not None
        )
        chip("p", _("broken"), state.broken_only)
        chip("d", _("due"), state.due_today)
        chip("h", _("hold"), state.on_hold)
        chip("g", _("reg."), state.registered_only)
        # Same size every time: no layout pass needed.
        self.query_one("#queue-filters", Static).update(chips, layout=False)
