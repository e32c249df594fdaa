"""WallboardScreen: the supervisor board for a wall screen, read-only and in large type.

It reads the same snapshot as ``SupervisorScreen`` (``DeskService.board_version`` /
``board``), polled the same way: the cheap change marker every ``POLL_SECONDS`` in a
thread worker, the whole board only when it moved (or every ``PRESENCE_SECONDS``), the
next poll scheduled once the last was handled. A headline band with the day's key
figures stays on screen; below it the sections take turns every ``CYCLE_SECONDS``:
queue depth by bucket and stage, the agents and their states, today's figures, and the
deadlines at risk. There are no keys that change anything: Left/Right (or 1-4) move
between sections by hand and pause the turning for a while.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Static

from tui_desk.formatting import local, money
from tui_desk.i18n import N_, _, ngettext
from tui_desk.screens import localise_bindings
from tui_desk.screens.board_polling import BoardPolling
from tui_desk.screens.failures import OUTAGE_PROBLEM, ForwardsWorkerErrors, WorkerFailure
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import PermissionDenied
from tui_desk.views.board import Board
from tui_desk.views.safe import clean
from tui_desk.widgets.board import (
    AGENT_COLUMNS,
    DEPTH_COLUMNS,
    RISK_COLUMNS,
    KeyedTable,
    TodayFigures,
    agent_rows,
    depth_rows,
    risk_counts_text,
    risk_rows,
)
from tui_desk.widgets.outage import OutageLine

SECTIONS: tuple[tuple[str, str], ...] = (
    ("wall-depth", N_("Queue depth by bucket and stage")),
    ("wall-agents", N_("Agents")),
    ("wall-today", N_("Today")),
    ("wall-risks", N_("Alerts: deadlines at risk")),
)


class WallboardScreen(BoardPolling, ForwardsWorkerErrors, Screen[None]):
    """The board in large type, its sections taking turns; it changes nothing."""

    DEFAULT_CSS = """
    WallboardScreen { layout: vertical; }
    WallboardScreen #wall-headline {
        height: auto; padding: 0 1; background: $primary 30%; text-style: bold;
    }
    WallboardScreen #wall-title { height: 1; padding: 0 1; text-style: bold; color: $accent; }
    WallboardScreen #wall-status { height: 1; padding: 0 1; color: $text-muted; }
    WallboardScreen ContentSwitcher { height: 1fr; }
    WallboardScreen .wall-section { height: 1fr; padding: 0 1; }
    WallboardScreen KeyedTable { height: 1fr; }
    """

    RETRY_SECONDS: ClassVar[float] = 2.0
    STALE_AFTER: ClassVar[dt.timedelta] = dt.timedelta(minutes=2)
    PAUSE_SECONDS: ClassVar[float] = 60.0
    """After a section is chosen by hand, how long the turning waits."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "turn(1)", N_("Next"), tooltip=N_("The next section"), id="wall.next"),
        Binding(
            "left", "turn(-1)", N_("Previous"), tooltip=N_("The previous section"), id="wall.prev"
        ),
        *(
            Binding(
                str(n + 1),
                f"section({n})",
                title,
                tooltip=N_("Show this section of the wallboard"),
                show=False,
                id=f"wall.section.{n + 1}",
            )
            for n, (_name, title) in enumerate(SECTIONS)
        ),
    ]

    def __init__(self, service: DeskService, *, cycle_seconds: float = 15.0) -> None:
        super().__init__(id="wallboard")
        localise_bindings(self)
        self.service = service
        self.cycle_seconds = cycle_seconds
        self.board: Board | None = None
        self.section = 0
        self.repaints = 0
        self._init_polling()
        self._cycle_timer: Timer | None = None
        self._paused_until = 0.0

    def compose(self) -> ComposeResult:
        yield OutageLine()
        yield Static(id="wall-headline")
        yield Static(id="wall-title")
        with ContentSwitcher(initial=SECTIONS[0][0]):
            with Vertical(id="wall-depth", classes="wall-section"):
                yield KeyedTable(DEPTH_COLUMNS, id="wall-depth-table")
            with Vertical(id="wall-agents", classes="wall-section"):
                yield KeyedTable(AGENT_COLUMNS, id="wall-agents-table")
            with Vertical(id="wall-today", classes="wall-section"):
                yield TodayFigures(id="wall-today-figures")
            with Vertical(id="wall-risks", classes="wall-section"):
                yield Static(id="wall-risk-counts")
                yield KeyedTable(RISK_COLUMNS, id="wall-risks-table")
        yield Static(Text(_("reading the board..."), style="dim"), id="wall-status")

    def on_mount(self) -> None:
        actor = self.service.actor
        self.sub_title = _("Wallboard") + f" | {clean(actor.name)}"
        for table in self.query(KeyedTable):
            table.can_focus = False
            table.show_cursor = False
        self._show_section(0)
        if self.cycle_seconds > 0:
            self._cycle_timer = self.set_interval(self.cycle_seconds, self._cycle)

    # --- the turning sections -------------------------------------------------------------

    def _show_section(self, index: int) -> None:
        self.section = index % len(SECTIONS)
        name, title = SECTIONS[self.section]
        self.query_one(ContentSwitcher).current = name
        marks = "  ".join(
            ("[" + str(n + 1) + "]") if n == self.section else str(n + 1)
            for n in range(len(SECTIONS))
        )
        self.query_one("#wall-title", Static).update(
            Text.assemble((_(title), "bold"), "   ", (marks, "dim"))
        )

    def _cycle(self) -> None:
        if time.monotonic() >= self._paused_until:
            self._show_section(self.section + 1)

    def action_turn(self, step: int) -> None:
        self._paused_until = time.monotonic() + self.PAUSE_SECONDS
        self._show_section(self.section + step)

    def action_section(self, index: int) -> None:
        self._paused_until = time.monotonic() + self.PAUSE_SECONDS
        self._show_section(index)

    # --- the live loop (as SupervisorScreen's) ----------------------------------------------

    def on_screen_resume(self) -> None:
        self._start_polling()

    def on_screen_suspend(self) -> None:
        self._stop_polling()

    def on_unmount(self) -> None:
        self._stop_polling()

    def worker_failed(self, failure: WorkerFailure) -> bool:
        """A failed poll is said on the status line and retried (not notified each time)."""
        if failure.group != "board-poll":
            return False
        self._problem = _(OUTAGE_PROBLEM) if failure.outage else failure.reason
        self._status(self.board)
        if isinstance(failure.error, PermissionDenied):
            self._stop_polling()
        else:
            self._schedule(self.RETRY_SECONDS)
        return True

    # --- painting ------------------------------------------------------------------------

    def headline(self, board: Board) -> Text:
        """The day's key figures, always on screen."""
        today = board.today
        currency = self.service.profile.currency
        online = sum(1 for a in board.agents if a.online)
        at_risk = sum(board.risk_counts.values())
        open_cases = sum(d.open_cases for d in board.buckets)
        parts: list[tuple[str, str, str]] = [
            (_("Contacts today"), str(today.contacts), "bold"),
            (_("Promises"), str(today.promises), "bold"),
            (_("Collected"), money(today.collected_minor, currency), "bold green"),
            (_("Open cases"), str(open_cases), "bold"),
            (_("Online"), f"{online}/{len(board.agents)}", "bold"),
            (_("At risk"), str(at_risk), "bold red" if at_risk else "bold"),
        ]
        text = Text(no_wrap=False)
        for n, (caption, value, style) in enumerate(parts):
            if n:
                text.append("   ")
            text.append(caption + " ", style="dim")
            text.append(value, style=style)
        return text

    def show_board(self, board: Board) -> None:
        self.board = board
        now = self.service.now()
        tz = self.service.timezone
        currency = self.service.profile.currency
        with self.app.batch_update():
            self._update("#wall-headline", self.headline(board))
            self.query_one("#wall-depth-table", KeyedTable).sync(
                depth_rows(board.buckets, board.stages, currency, self.service.stages())
            )
            self.query_one("#wall-agents-table", KeyedTable).sync(
                agent_rows(board.agents, now, tz, currency)
            )
            self.query_one(TodayFigures).show(board.today, board.trends, currency)
            self._update("#wall-risk-counts", risk_counts_text(board.risk_counts))
            width = max(24, self.size.width - 58)
            self.query_one("#wall-risks-table", KeyedTable).sync(
                risk_rows(board.risks, now, tz, set(), detail_width=width)
            )
            self._status(board)
        self.repaints += 1

    def _update(self, selector: str, content: Text) -> None:
        widget = self.query_one(selector, Static)
        if widget.content != content:
            widget.update(content)

    def _status(self, board: Board | None) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        if self._problem is not None:
            text.append(
                "! " + _("The board could not be read: {error}").format(error=self._problem),
                style="bold red",
            )
        elif board is None or board.as_of is None or board.version == 0:
            text.append(
                "! " + _("waiting for the worker: start `tui-desk worker`"), style="bold yellow"
            )
        else:
            fresh = max(board.as_of, self.refreshed_at or board.as_of)
            stamp = local(fresh, self.service.timezone, "%H:%M:%S")
            if self.service.now() - fresh > self.STALE_AFTER:
                text.append(
                    "! " + _("as of {time}: is `tui-desk worker` running?").format(time=stamp),
                    style="bold yellow",
                )
            else:
                text.append(_("as of {time}").format(time=stamp))
            total = sum(board.risk_counts.values())
            text.append("  |  ")
            text.append(ngettext("{n} at risk", "{n} at risk", total).format(n=total))
        self._update("#wall-status", text)
