"""The supervisor board's panes: today's figures with hourly trends, and keyed tables.

A board repaints several times a minute while people watch it, so nothing here rebuilds
a table: ``KeyedTable.sync`` compares the new rows with the ones on screen by key and
touches only what changed (a cell, a new row, a row gone), then restores the order and
keeps the cursor on the row it was on. Unchanged figures and trends are not redrawn.

The cell builders are plain functions of the board's dataclasses, so they can be tested
without a screen.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Sparkline, Static
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowDoesNotExist

from tui_desk.formatting import DASH, NBSP, label, local, money
from tui_desk.i18n import N_, _
from tui_desk.views.board import RISK_KINDS, AgentLine, DepthLine, RiskLine, TodayCounts, Trend
from tui_desk.widgets.agent_state import pause_reason_label, state_label
from tui_desk.widgets.tables import bounded_caches, hidden_title

Cell = str | Text
Row = tuple[str, tuple[Cell, ...]]
"""A table row: its key and its cells, in column order."""

RISK_LABELS: dict[str, str] = {
    "follow_up_due": N_("follow-up due"),
    "follow_up_missed": N_("follow-up missed"),
    "callback_stale": N_("callback stale"),
    "lease_overdue": N_("lease overdue"),
    "visit_unconfirmed": N_("visit unconfirmed"),
    "complaint_open": N_("complaint open"),
    "override_request": N_("override request"),
    "adjustment_pending": N_("adjustment pending"),
}
"""Every kind of RISK_KINDS, in words."""

RISK_SHORT: dict[str, str] = {
    "follow_up_due": N_("follow-ups due"),
    "follow_up_missed": N_("follow-ups missed"),
    "callback_stale": N_("callbacks stale"),
    "lease_overdue": N_("leases overdue"),
    "visit_unconfirmed": N_("visits unconfirmed"),
    "complaint_open": N_("complaints"),
    "override_request": N_("overrides"),
    "adjustment_pending": N_("adjustments"),
}
"""The risk counts line: short, so that all of it fits two lines at 80 columns."""

STATE_STYLES: dict[str, str] = {
    "ready": "bold green",
    "paused": "bold yellow",
    "working": "bold",
    "wrap_up": "cyan",
    "offline": "dim",
}

NAME_WIDTH = 10
NOTE_WIDTH = 16
"""The agent's note (pause reason, wrap-up over, nothing to take) is cut to this."""
"""Agent names are cut to this many cells (a Chinese character takes two)."""
ACTION_WIDTH = 22
DETAIL_WIDTH = 40


def fit(text: str, width: int) -> str:
    """``text`` in at most ``width`` terminal cells (CJK counted double), ".." if cut."""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 2).rstrip() + ".."


def age(span: dt.timedelta | None) -> str:
    """A short duration: ``45s``, ``12m``, ``3h05``, ``2d``."""
    if span is None:
        return DASH
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}"
    return f"{hours // 24}d"


def _num(value: int) -> Text:
    return Text(str(value), style="dim" if value == 0 else "", justify="right")


def _money(minor: int, currency: str) -> Text:
    return Text(money(minor, currency), style="dim" if minor == 0 else "", justify="right")


# --- depth ----------------------------------------------------------------------------

DEPTH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", N_("Queue")),
    ("open", N_("Cases")),
    ("callbacks", N_("Callbacks")),
    ("unowned", N_("Unowned")),
    ("hold", N_("Hold")),
    ("broken", N_("Broken")),
    ("overdue", N_("Overdue")),
)
DEPTH_DROP_ORDER = ("hold", "broken", "unowned", "callbacks")
"""A narrow board keeps each queue's cases and the money overdue in view."""


def callbacks_cell(d: DepthLine) -> Text:
    """Today's callbacks done of those due, and the share: ``3/4 75%`` (the "Callbacks"
    column: done / due today, with the share done)."""
    if not d.callbacks_due:
        return Text(DASH, style="dim", justify="right")
    share = d.callbacks_done * 100 // d.callbacks_due
    style = "bold red" if share < 50 else "" if share < 100 else "green"
    return Text(f"{d.callbacks_done}/{d.callbacks_due} {share}%", style=style, justify="right")


def depth_rows(
    buckets: Sequence[DepthLine],
    stages: Sequence[DepthLine],
    currency: str,
    open_stages: Sequence[str] | None = None,
) -> list[Row]:
    """DPD buckets, then stages, under one set of columns (keys ``bucket:`` / ``stage:``).

    Bucket "0" (not yet past due) is listed only when a case is in it; stages only those
    of ``open_stages`` (an open case is never "paid") unless a case is in one.
    """
    buckets = [d for d in buckets if d.key != "0" or d.open_cases]
    if open_stages is not None:
        stages = [d for d in stages if d.key in open_stages or d.open_cases]

    def line(prefix: str, name: str, d: DepthLine) -> Row:
        return (
            f"{prefix}:{d.key}",
            (
                name,
                _num(d.open_cases),
                callbacks_cell(d) if prefix == "bucket" else Text(DASH, style="dim",
                                                                  justify="right"),
                _num(d.unowned),
                _num(d.on_hold),
                Text(str(d.broken_promise), style="bold red" if d.broken_promise else "dim",
                     justify="right"),
                _money(d.overdue_minor, currency),
            ),
        )  # fmt: skip

    rows = [line("bucket", _("DPD {bucket}").format(bucket=d.key), d) for d in buckets]
    rows += [line("stage", label("stage", d.key), d) for d in stages]
    return rows


# --- agents -----------------------------------------------------------------------------

# By priority, left to right: what a narrow board (80 columns) must keep in view comes
# first (who, what they collected and did today), the rest scrolls in from the right.
AGENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("state", ""),
    ("name", N_("Name")),
    ("in_state", N_("For")),
    ("note", N_("Note")),
    ("collected", N_("Collected")),
    ("contacts", N_("Calls")),
    ("promises", N_("PTP")),
    ("visits", N_("Visits")),
    ("case", N_("Case")),
    ("on_case", N_("On it")),
    ("action", N_("Last action")),
    ("login", N_("Login")),
)


AGENT_DROP_ORDER = ("login", "action", "on_case", "case", "visits", "promises", "note", "in_state")
"""Where the board is too narrow for every column, these go first (in this order): what
an agent collected and how many calls they made stay in view."""


def agent_rows(
    agents: Sequence[AgentLine], now: dt.datetime, timezone: str, currency: str
) -> list[Row]:
    """Online agents first (as the board gives them otherwise), keyed by agent id."""
    ordered = sorted(agents, key=lambda a: not a.online)
    return [(str(a.agent_id), _agent_cells(a, now, timezone, currency)) for a in ordered]


def _agent_cells(a: AgentLine, now: dt.datetime, timezone: str, currency: str) -> tuple[Cell, ...]:
    # Words, not dots: a dot is "ambiguous width" and shifts the row in CJK terminals.
    state = Text(_("on"), style="bold green") if a.online else Text(_("off"), style="dim")
    in_state = Text(DASH, style="dim", justify="right")
    note = Text("")
    if a.online and a.state is not None:
        state = Text(state_label(a.state), style=STATE_STYLES.get(a.state, ""))
        if a.state_since is not None:
            in_state = Text(age(now - a.state_since), justify="right")
        if a.state == "paused" and a.pause_reason:
            note = Text(fit(pause_reason_label(a.pause_reason), NOTE_WIDTH))
        if a.wrap_up_over:
            state.stylize("bold red")
            in_state.stylize("bold red")
            note = Text(fit(_("running over"), NOTE_WIDTH), style="bold red")
        if a.nothing_to_take:
            note = Text(fit(_("nothing to take"), NOTE_WIDTH), style="bold yellow")
    action: Cell = DASH
    if a.last_action:
        when = local(a.last_action_at, timezone, "%H:%M") if a.last_action_at else ""
        action = Text(fit(f"{when} {label('action', a.last_action)}".strip(), ACTION_WIDTH))
    on_case = Text(age(a.on_case_for) if a.case_id is not None else DASH, justify="right")
    if a.on_case_for is not None and a.on_case_for >= dt.timedelta(minutes=30):
        on_case.stylize("bold yellow")
    return (
        state,
        Text(fit(a.name, NAME_WIDTH), style="" if a.online else "dim"),
        in_state,
        note,
        _money(a.collected_today_minor, currency),
        _num(a.contacts_today),
        _num(a.promises_today),
        _num(a.visits_booked_today),
        f"#{a.case_id}" if a.case_id is not None else DASH,
        on_case,
        action,
        Text(a.login, style="" if a.online else "dim"),
    )


# --- risks ----------------------------------------------------------------------------

RISK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("kind", N_("At risk")),
    ("case", N_("Case")),
    ("who", N_("Who")),
    ("due", N_("Deadline")),
    ("detail", N_("Detail")),
)


def risk_key(risk: RiskLine) -> str:
    return f"{risk.kind}:{risk.ref_id}"


def risk_rows(
    risks: Sequence[RiskLine],
    now: dt.datetime,
    timezone: str,
    marked: Iterable[str] = (),
    *,
    detail_width: int | None = DETAIL_WIDTH,
) -> list[Row]:
    """Keyed by (kind, ref id); ``marked`` rows (chosen for a bulk action) carry a tick;
    the detail cut to ``detail_width`` (None: whole, for a table that cuts it itself)."""
    chosen = set(marked)
    return [
        (risk_key(r), _risk_cells(r, now, timezone, risk_key(r) in chosen, detail_width))
        for r in risks
    ]


def due_text(due_at: dt.datetime, now: dt.datetime, timezone: str) -> str:
    """Today: the time; another day: the date, with the time unless it is midnight (a
    date-only deadline); another year: the full date."""
    day = local(due_at, timezone, "%Y-%m-%d")
    clock = local(due_at, timezone, "%H:%M")
    if day == local(now, timezone, "%Y-%m-%d"):
        return clock
    shown = day if day[:4] != local(now, timezone, "%Y") else day[5:]
    return shown if clock == "00:00" else f"{shown} {clock}"


def _risk_cells(
    r: RiskLine, now: dt.datetime, timezone: str, marked: bool, detail_width: int | None
) -> tuple[Cell, ...]:
    kind = Text("✓ " if marked else "  ", style="bold")
    kind.append(_(RISK_LABELS.get(r.kind, r.kind)), style=_risk_style(r.kind))
    due: Cell = DASH
    if r.due_at is not None:
        due = Text(due_text(r.due_at, now, timezone), style="bold red" if r.due_at <= now else "")
    return (
        kind,
        f"#{r.case_id}" if r.case_id is not None else DASH,
        r.who or DASH,
        due,
        fit(r.detail, detail_width) if detail_width is not None else r.detail,
    )


def _risk_style(kind: str) -> str:
    if kind in ("follow_up_missed", "lease_overdue", "complaint_open"):
        return "bold red"
    if kind in ("override_request", "adjustment_pending"):
        return "bold yellow"
    return ""


class WidthAwareStatic(Static):
    """A Static whose text depends on its width: it calls ``on_width`` when its width
    changes (a resize, its pane shown), so its owner can make the text again."""

    def __init__(self, on_width: Callable[[], None], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._on_width = on_width
        self._width = -1

    def on_resize(self) -> None:
        width = self.content_region.width
        if width != self._width:
            self._width = width
            self._on_width()


def risk_counts_text(counts: dict[str, int], *, width: int = 0, lead: Text | None = None) -> Text:
    """Every kind with its count (uncapped), the ones above zero highlighted, after
    ``lead``. Given the ``width`` it is shown at, lines break between items, never inside
    one ("0 leases" on one line, "overdue" on the next): Rich breaks at any space."""
    text = lead.copy() if lead is not None else Text()
    column = text.cell_len
    for i, kind in enumerate(RISK_KINDS):
        n = counts.get(kind, 0)
        item = Text()
        item.append(str(n), style=("bold " + (_risk_style(kind) or "")) if n else "dim")
        item.append(NBSP + _(RISK_SHORT[kind]).replace(" ", NBSP), style="" if n else "dim")
        if i and width > 0 and column + 2 + item.cell_len > width:
            text.append("\n")
            column = 0
        elif i:
            text.append("  ")
            column += 2
        text.append_text(item)
        column += item.cell_len
    return text


# --- the keyed table ---------------------------------------------------------------------


class KeyedTable(DataTable[Cell]):
    """A DataTable changed only by keyed diffs (``sync``), never cleared and refilled.

    With ``fit``, the table never scrolls sideways: when its columns need more room than
    it has, whole columns are left out (``drop_order`` first, else from the right) and
    the last column shown says how many are hidden; a ``flex`` column (free text) takes
    what the others leave, cut with "..". Its columns are laid out again only when the
    table's width or the width its values need changes.
    """

    FLEX_MIN = 14

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        id: str | None = None,
        fit: bool = False,
        drop_order: Sequence[str] = (),
        flex: str | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        bounded_caches(self)
        self._column_spec = tuple(columns)
        self._cells: dict[str, tuple[Cell, ...]] = {}
        self._order: list[str] = []
        self._fit = fit
        keys = [key for key, _title in columns]
        self._drop = [k for k in drop_order if k in keys] + [
            k for k in reversed(keys[1:]) if k not in drop_order and k != flex
        ]
        self._flex = flex
        self._shown: tuple[int, ...] = tuple(range(len(columns)))
        self._flex_width: int | None = None
        self.changes = 0
        """Cells written, rows added and removed so far (tests read it)."""

    def on_mount(self) -> None:
        if not self.columns:  # a sync before the mount has laid them out already
            self._add_columns()

    def _add_columns(self) -> None:
        hidden = len(self._column_spec) - len(self._shown)
        for n, i in enumerate(self._shown):
            key, title = self._column_spec[i]
            # The flex column has the width it is given; the others, their values' width.
            width = self._flex_width if key == self._flex else None
            title = self._title(title, hidden if n == len(self._shown) - 1 else 0)
            self.add_column(title, key=key, width=width)

    @staticmethod
    def _title(title: str, hidden: int) -> str:
        return hidden_title(_(title) if title else "", hidden)

    @property
    def hidden_columns(self) -> list[str]:
        """The keys of the columns left out for want of room."""
        return [key for i, (key, _t) in enumerate(self._column_spec) if i not in self._shown]

    def value(self, row: str, column: str) -> Cell:
        """A row's cell by column key, shown or not (cut only where it is shown)."""
        index = next(i for i, (key, _t) in enumerate(self._column_spec) if key == column)
        return self._cells[row][index]

    @property
    def keys(self) -> list[str]:
        """Row keys in the order shown."""
        return [str(row.key.value) for row in self.ordered_rows]

    @property
    def selected_key(self) -> str | None:
        if not self._cells or self.row_count == 0:
            return None
        try:
            row_key, _column = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return None if row_key.value is None else str(row_key.value)

    # --- fitting the width ------------------------------------------------------------------

    def _layout(self, rows: Sequence[Row]) -> tuple[tuple[int, ...], int | None]:
        """The columns to show and the flex column's width, for ``rows`` at this width."""
        every = tuple(range(len(self._column_spec)))
        room = self.scrollable_content_region.width
        if not self._fit or room <= 0:
            return every, None
        pad = 2 * self.cell_padding
        need = []
        for i, (key, title) in enumerate(self._column_spec):
            widths = [cell_len(_(title) if title else "")]
            if key != self._flex:
                widths += [_cell_width(cells[i]) for _key, cells in rows]
            need.append(max(widths) + pad)
        flex = next((i for i, (k, _t) in enumerate(self._column_spec) if k == self._flex), None)
        shown = list(every)
        drop = [
            next(i for i, (k, _t) in enumerate(self._column_spec) if k == key) for key in self._drop
        ]
        while True:
            hidden = len(every) - len(shown)
            last = shown[-1]
            title_last = cell_len(self._title(self._column_spec[last][1], hidden)) + pad
            widths = [max(need[i], title_last) if i == last else need[i] for i in shown]
            fixed = sum(w for i, w in zip(shown, widths, strict=True) if i != flex)
            flex_min = self.FLEX_MIN + pad if flex in shown else 0
            if fixed + flex_min <= room or not drop:
                break
            gone = drop.pop(0)
            if gone in shown and len(shown) > 1:
                shown.remove(gone)
        if flex is None or flex not in shown:
            return tuple(shown), None
        flex_title = need[flex] if flex != shown[-1] else title_last
        return tuple(shown), max(flex_title, room - fixed) - pad

    def _shown_cells(self, cells: tuple[Cell, ...]) -> tuple[Cell, ...]:
        out: list[Cell] = []
        for i in self._shown:
            cell = cells[i]
            if self._flex_width is not None and self._column_spec[i][0] == self._flex:
                cell = _fit_cell(cell, self._flex_width)
            out.append(cell)
        return tuple(out)

    def _rebuild(self, rows: Sequence[Row]) -> None:
        keep, keep_index = self.selected_key, self.cursor_row
        self.clear(columns=True)
        self._add_columns()
        for key, cells in rows:
            self.add_row(*self._shown_cells(cells), key=key)
        self._restore_cursor(keep, keep_index)

    def _relayout(self, rows: Sequence[Row]) -> bool:
        """Lay the columns out for ``rows`` at this width; True if the table was drawn anew
        (other columns shown), else the rows on screen have their flex cells re-cut."""
        shown, flex_width = self._layout(rows)
        if shown != self._shown:
            self._shown, self._flex_width = shown, flex_width
            self._rebuild(rows)
            return True
        if flex_width != self._flex_width and self._flex is not None:
            self._flex_width = flex_width
            column = self.columns[ColumnKey(self._flex)]
            column.auto_width = flex_width is None
            column.width = flex_width or 0
            for key in self._order:
                cells = self._shown_cells(self._cells[key])
                index = [self._column_spec[i][0] for i in self._shown].index(self._flex)
                with contextlib.suppress(CellDoesNotExist):
                    self.update_cell(key, self._flex, cells[index], update_width=True)
        return False

    def on_resize(self) -> None:
        if self._fit:
            self._relayout([(key, self._cells[key]) for key in self._order])

    # --- the keyed diff ---------------------------------------------------------------------

    def sync(self, rows: Sequence[Row]) -> int:
        """Make the table show ``rows`` (in that order); the number of changes made.

        Call inside ``App.batch_update()`` so the whole diff lands in one frame.
        """
        if self._relayout(rows):
            # Other columns shown (a narrower terminal, a longer value): drawn anew, once.
            changes = len(rows) + len(self._cells)
            self._cells = dict(rows)
            self._order = [key for key, _cells in rows]
            self.changes += changes
            return changes
        keep = self.selected_key
        keep_index = self.cursor_row
        wanted = dict(rows)
        changes = 0
        for key in [k for k in self._cells if k not in wanted]:
            with contextlib.suppress(RowDoesNotExist):
                self.remove_row(key)
            del self._cells[key]
            changes += 1
        columns = [self._column_spec[i][0] for i in self._shown]
        for key, cells in rows:
            old = self._cells.get(key)
            if old is None:
                self.add_row(*self._shown_cells(cells), key=key)
                changes += 1
            elif old != cells:
                before_cells, after_cells = self._shown_cells(old), self._shown_cells(cells)
                for column, before, after in zip(columns, before_cells, after_cells, strict=True):
                    if before != after:
                        self.update_cell(key, column, after, update_width=True)
                        changes += 1
            self._cells[key] = cells
        order = [key for key, _cells in rows]
        self._order = order
        if changes and self.keys != order:
            self._reorder(rows)
        if changes:
            self._restore_cursor(keep, keep_index)
        self.changes += changes
        return changes

    def _reorder(self, rows: Sequence[Row]) -> None:
        # DataTable sorts by cell values only: rank each row by its cells' text. Two rows
        # with the very same text may swap, which nobody can see.
        rank = {_plain(self._shown_cells(cells)): i for i, (_key, cells) in enumerate(rows)}
        self.sort(key=lambda values: rank.get(_plain(values), len(rank)))

    def _restore_cursor(self, keep: str | None, index: int) -> None:
        if not self._cells:
            return
        if keep is not None and keep in self._cells:
            target = self.get_row_index(keep)
        else:
            target = min(max(index, 0), self.row_count - 1)
        if target != self.cursor_row:
            self.move_cursor(row=target, animate=False)


def _cell_width(cell: Cell) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


def _fit_cell(cell: Cell, width: int) -> Cell:
    """``cell`` in at most ``width`` cells, ".." where it is cut."""
    if isinstance(cell, str):
        return fit(cell, width)
    if cell.cell_len <= width:
        return cell
    cut = cell.copy()
    cut.truncate(max(0, width - 2))
    cut.rstrip()
    cut.append("..")
    return cut


def _plain(values: object) -> tuple[str, ...]:
    items = values if isinstance(values, tuple) else (values,)
    return tuple(v.plain if isinstance(v, Text) else str(v) for v in items)


# --- today's figures ------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    name: str  # also the trend's name
    caption: str


FIGURES: tuple[Figure, ...] = (
    Figure("contacts", N_("Contacts")),
    Figure("promises", N_("Promises")),
    Figure("visits_booked", N_("Visits booked")),
    Figure("visits_done", N_("Visits done")),
    Figure("agreements", N_("Agreements")),
    Figure("payments", N_("Payments")),
    Figure("sms", N_("SMS")),
)

_TREND_ALIASES = {
    "agreements_signed": "agreements",
    "visits": "visits_booked",
    "collected": "payments",
}


def figure_values(today: TodayCounts, currency: str) -> dict[str, str]:
    return {
        "contacts": _("{n} (RPC {rpc})").format(n=today.contacts, rpc=today.right_party_contacts),
        "promises": _("{n}, {amount}").format(
            n=today.promises, amount=money(today.promised_minor, currency)
        ),
        "visits_booked": str(today.visits_booked),
        "visits_done": str(today.visits_done),
        "agreements": _("{n} signed").format(n=today.agreements_signed),
        "payments": _("{n}, {amount}").format(
            n=today.payments, amount=money(today.collected_minor, currency)
        ),
        "sms": _("{queued} queued, {sent} sent, {delivered} delivered, {failed} failed").format(
            queued=today.sms_queued,
            sent=today.sms_sent,
            delivered=today.sms_delivered,
            failed=today.sms_failed,
        ),
    }


class TodayFigures(Vertical):
    """Today's counts, one line each, with the hour-by-hour trend beside the ones that have one."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        for figure in FIGURES:
            with Horizontal(classes="today-row"):
                yield Static(_(figure.caption), classes="today-caption")
                yield Static(DASH, id=f"today-{figure.name}", classes="today-value")
                spark = Sparkline([], id=f"trend-{figure.name}", classes="today-trend")
                spark.visible = False
                yield spark

    def show(self, today: TodayCounts, trends: Sequence[Trend], currency: str) -> int:
        """Update what changed; the number of figures and trends redrawn."""
        changed = 0
        for name, value in figure_values(today, currency).items():
            if self._shown.get(name) != value:
                self._shown[name] = value
                self.query_one(f"#today-{name}", Static).update(value)
                changed += 1
        points: dict[str, tuple[int, ...]] = {}
        for trend in trends:
            points[_TREND_ALIASES.get(trend.name, trend.name)] = trend.points
        for figure in FIGURES:
            data = points.get(figure.name, ())
            key = f"trend:{figure.name}"
            if self._shown.get(key) != data:
                self._shown[key] = data
                spark = self.query_one(f"#trend-{figure.name}", Sparkline)
                # A flat line of zeros says nothing: leave the place blank.
                spark.data = [float(p) for p in data]
                spark.visible = any(data)
                changed += 1
        return changed
