"""SupervisorScreen: the live board of queues, agents, today's work and deadlines at risk.

The board reads one snapshot the worker keeps fresh (``tui-desk worker``) plus live
presence. It polls the snapshot's cheap change marker every ``POLL_SECONDS`` in a thread
worker, and reads the whole board only when the marker moved (or every
``PRESENCE_SECONDS``, for presence and ages); the next poll is scheduled only once the
last one has been handled, so a slow database slows the board down rather than piling
reads up. A board read is applied as a keyed diff inside ``batch_update()``: changed
cells only, rows added and removed by key, the cursor kept on its row.

Wide and tall terminals (>= 120x36) show the four panes at once; smaller ones show one
pane at a time: F2-F5 (or 1-4) choose it, Tab/Shift+Tab cycle. Keys act on the selected
row: Enter does the natural thing for the row's kind (decide an adjustment or an
override request, the complaints, release an overdue lease, else view the case), ``o``
views the case read-only, ``r`` reassigns (the rows marked with Space, or this one),
``x`` releases a lease, ``a`` opens the audit viewer and ``R`` the reports. Polling stops
while the board is covered or closed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.widgets import DataTable, Header, Static

from tui_desk.formatting import label, local
from tui_desk.i18n import N_, _, ngettext
from tui_desk.screens import localise_bindings
from tui_desk.screens.board_polling import BoardPolling
from tui_desk.screens.confirm import ConfirmModal as ConfirmModal
from tui_desk.screens.failures import OUTAGE_PROBLEM, WorkerFailure
from tui_desk.screens.paned import Pane, PanedScreen, cycle_bindings
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import PermissionDenied
from tui_desk.views.board import AgentLine, Board, RiskLine
from tui_desk.views.case import CaseBundle
from tui_desk.widgets.board import (
    AGENT_COLUMNS,
    AGENT_DROP_ORDER,
    DEPTH_COLUMNS,
    DEPTH_DROP_ORDER,
    RISK_COLUMNS,
    KeyedTable,
    TodayFigures,
    WidthAwareStatic,
    age,
    agent_rows,
    depth_rows,
    risk_counts_text,
    risk_key,
    risk_rows,
)
from tui_desk.widgets.footer import DeskFooter
from tui_desk.widgets.outage import OutageLine

PANES: tuple[Pane, ...] = (
    Pane("today", N_("Today"), "F2", None, "1"),
    Pane("queues", N_("Queues"), "F3", "#depth", "2"),
    Pane("agents", N_("Agents"), "F4", "#agents", "3"),
    Pane("risks", N_("At risk"), "F5", "#risks", "4"),
)
_PANE_TABLE = {p.name: p.focus for p in PANES if p.focus is not None}


def _binding(
    key: str, action: str, description: str, tooltip: str, id: str, *, show: bool = False,
    priority: bool = False,
) -> Binding:  # fmt: skip
    return Binding(key, action, description, tooltip=tooltip, show=show, id=id, priority=priority)


class SupervisorScreen(BoardPolling, PanedScreen, inherit_bindings=False):
    """The live board; supervisors only (the service refuses everyone else)."""

    AUTO_FOCUS = ""  # the pane shown decides the focus (see ``_show``)
    PANES = PANES
    PANE_ID_PREFIX = "board-pane-"

    POLL_SECONDS: ClassVar[float] = 0.25
    """How often the change marker is read (one small query)."""
    PRESENCE_SECONDS: ClassVar[float] = 3.0
    """Read the board at least this often even when nothing changed: presence and ages."""
    STALE_AFTER: ClassVar[dt.timedelta] = dt.timedelta(minutes=2)
    """A snapshot older than this is flagged: the worker may not be running."""
    RETRY_SECONDS: ClassVar[float] = 2.0
    """After a failed read, wait this long before polling again."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            _binding(
                f"{p.key.lower()},{p.digit}",
                f"show_pane('{p.name}')",
                p.title,
                N_("Show this pane of the board (all four at once on a large terminal)"),
                f"board.pane.{p.name}",
            )
            for p in PANES
        ),
        *cycle_bindings("board.pane"),
        _binding(
            "enter",
            "act",
            N_("Act"),
            N_("The row's natural action: decide, complaints, release the lease, or view the case"),
            "board.act",
            show=True,
            priority=True,
        ),
        _binding("o", "open_case", N_("View case"),
                 N_("Open the row's case read-only"), "board.case.view", show=True),
        _binding("space", "mark", N_("Mark"),
                 N_("Mark or unmark the row's case for reassigning several at once"),
                 "board.mark"),
        _binding("r", "reassign", N_("Reassign"),
                 N_("Give the marked cases (or the row's case) to another agent"),
                 "board.reassign", show=True),
        _binding("x", "release_lease", N_("Release lease"),
                 N_("End the lease a desk holds on the row's case (a stuck or overdue lease)"),
                 "board.release", show=True),
        _binding("y", "decide", N_("Decide"),
                 N_("Approve or reject the row's adjustment or override request"),
                 "board.decide"),
        _binding("k", "complaints", N_("Complaints"),
                 N_("Open complaints: investigate, resolve or dismiss"), "board.complaints"),
        _binding("h", "holds", N_("Holds"),
                 N_("Holds in force: release one with a reason (audited)"), "board.holds"),
        _binding("a", "audit", N_("Audit"), N_("The audit viewer: who did what, when"),
                 "board.audit", show=True),
        _binding("R", "reports", N_("Reports"), N_("Reports on screen"), "board.reports",
                 show=True),
        _binding("g,ctrl+r", "refresh_board", N_("Refresh"),
                 N_("Read the board now rather than at the next change"), "board.refresh"),
        _binding("escape", "close", N_("Back"), N_("Back to the desk (F6 too)"), "board.close",
                 show=True),
    ]  # fmt: skip

    def __init__(self, service: DeskService) -> None:
        super().__init__(id="board")
        localise_bindings(self)
        self.service = service
        self.board: Board | None = None
        self.pane = "today"
        self.marked: set[str] = set()
        """Risk rows chosen for a bulk reassign (their keys)."""
        self.repaints = 0
        """Board reads applied to the screen so far."""
        self._init_polling()  # refreshed_at: the worker's last refresh of the snapshot

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="#")
        yield OutageLine()
        yield Static(Text(_("reading the board..."), style="dim"), id="board-status")
        yield Static(id="board-tabs")
        with Container(id="board-body"):
            with Vertical(id="board-pane-today", classes="board-pane"):
                yield TodayFigures(id="today")
                yield WidthAwareStatic(self._show_risk_counts, id="today-risks")
                yield Static(id="today-orphans")
            # Agents before queues: the wide grid places panes row by row.
            with Vertical(id="board-pane-agents", classes="board-pane"):
                yield KeyedTable(AGENT_COLUMNS, id="agents", fit=True, drop_order=AGENT_DROP_ORDER)
            with Vertical(id="board-pane-queues", classes="board-pane"):
                yield KeyedTable(DEPTH_COLUMNS, id="depth", fit=True, drop_order=DEPTH_DROP_ORDER)
            with Vertical(id="board-pane-risks", classes="board-pane"):
                yield WidthAwareStatic(self._show_risk_counts, id="risk-counts")
                yield KeyedTable(
                    RISK_COLUMNS, id="risks", fit=True, drop_order=("who",), flex="detail"
                )
        yield DeskFooter()

    def on_mount(self) -> None:
        actor = self.service.actor
        self.sub_title = " | ".join(
            (_("Board"), f"{actor.name} ({label('role', actor.role)})", self.service.database_kind)
        )
        for pane in PANES:
            self.pane_widget(pane.name).border_title = f"{_(pane.title)} ({pane.key})"
        # All panes show on a large terminal: start where the keys act (the deadlines).
        width, height = self.app.size
        self._show("risks" if width >= 120 and height >= 36 else "today")

    def table(self, name: str) -> KeyedTable:
        return self.query_one(_PANE_TABLE[name], KeyedTable)

    def pane_shown(self, name: str) -> None:
        tabs = Text()
        for pane in PANES:
            style = "bold reverse" if pane.name == name else "dim"
            tabs.append(f" {pane.key} {_(pane.title)} ", style=style)
            tabs.append(" ")
        self.query_one("#board-tabs", Static).update(tabs)

    # --- the live loop -------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        self._start_polling()

    def on_screen_suspend(self) -> None:
        self._stop_polling()

    def on_unmount(self) -> None:
        self._stop_polling()

    def action_refresh_board(self) -> None:
        if self._polling:
            self._stop_polling()
            self._start_polling()

    # --- painting --------------------------------------------------------------------------

    def show_board(self, board: Board) -> None:
        """Apply ``board`` as one keyed diff: only what changed is touched."""
        self.board = board
        now = self.service.now()
        tz = self.service.timezone
        currency = self.service.profile.currency
        self.marked &= {risk_key(r) for r in board.risks}
        with self.app.batch_update():
            self._status(board, now)
            self.query_one(TodayFigures).show(board.today, board.trends, currency)
            self._show_risk_counts()
            orphans = (
                Text(
                    "! "
                    + ngettext(
                        "{n} open case has no next action",
                        "{n} open cases have no next action",
                        board.orphans,
                    ).format(n=board.orphans),
                    style="bold yellow",
                )
                if board.orphans
                else Text(_("Every open case has a next action."), style="dim")
            )
            self._update_static("#today-orphans", orphans)
            self.table("queues").sync(
                depth_rows(board.buckets, board.stages, currency, self.service.stages())
            )
            self.table("agents").sync(agent_rows(board.agents, now, tz, currency))
            self._sync_risks(board, now)
            self._subtitles(board)
        self.repaints += 1

    def _sync_risks(self, board: Board, now: dt.datetime) -> None:
        # Whole: the table cuts the detail to what the other columns leave, so it fits
        # the terminal without scrolling sideways.
        rows = risk_rows(board.risks, now, self.service.timezone, self.marked, detail_width=None)
        self.table("risks").sync(rows)

    def _show_risk_counts(self) -> None:
        """The counts at risk, broken between items at the width each line is shown at."""
        board = self.board
        if board is None:
            return
        for selector, lead in (
            ("#risk-counts", None),
            ("#today-risks", Text(_("At risk: "), style="bold")),
        ):
            width = self.query_one(selector, Static).content_region.width
            counts = risk_counts_text(board.risk_counts, width=width, lead=lead)
            self._update_static(selector, counts)

    def _update_static(self, selector: str, content: Text) -> None:
        widget = self.query_one(selector, Static)
        if widget.content != content:
            widget.update(content)

    def _subtitles(self, board: Board) -> None:
        online = sum(1 for a in board.agents if a.online)
        agents = _("{online} of {total} online").format(online=online, total=len(board.agents))
        total = sum(board.risk_counts.values())
        risks = ngettext("{n} at risk", "{n} at risk", total).format(n=total)
        if total > len(board.risks):
            risks += ", " + _("most urgent {shown} shown").format(shown=len(board.risks))
        if self.marked:
            risks += ", " + ngettext("{n} marked", "{n} marked", len(self.marked)).format(
                n=len(self.marked)
            )
        open_cases = sum(d.open_cases for d in board.buckets)
        subtitles = {
            "agents": agents,
            "risks": risks,
            "queues": ngettext("{n} open case", "{n} open cases", open_cases).format(n=open_cases),
        }
        for name, text in subtitles.items():
            pane = self.pane_widget(name)
            if pane.border_subtitle != text:
                pane.border_subtitle = text

    def _status(self, board: Board | None, now: dt.datetime) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        if self._problem is not None:
            text.append("! " + _("The board could not be read: {error}").format(
                error=self._problem), style="bold red")  # fmt: skip
        elif board is None or board.as_of is None or board.version == 0:
            text.append(
                "! " + _("waiting for the worker: start `tui-desk worker`"), style="bold yellow"
            )
        else:
            # A section without writes to recount is as good as new, so the board is as
            # fresh as the worker's last refresh.
            fresh = max(board.as_of, self.refreshed_at or board.as_of)
            old = now - fresh
            stamp = local(fresh, self.service.timezone, "%H:%M:%S")
            if old > self.STALE_AFTER:
                text.append(
                    "! " + _("as of {time}, {age} old: is `tui-desk worker` running?").format(
                        time=stamp, age=age(old)),
                    style="bold yellow",
                )  # fmt: skip
            else:
                text.append(_("as of {time}").format(time=stamp), style="bold")
        if board is not None and board.agents:
            online = sum(1 for a in board.agents if a.online)
            text.append("  |  ")
            text.append(_("{online}/{total} online").format(online=online, total=len(board.agents)))
        if board is not None:
            total = sum(board.risk_counts.values())
            text.append("  |  ")
            text.append(
                ngettext("{n} at risk", "{n} at risk", total).format(n=total),
                style="bold red" if total else "dim",
            )
        self._update_static("#board-status", text)

    # --- the selected row ---------------------------------------------------------------

    def _active_table(self) -> str | None:
        focused = self.focused
        for name, selector in _PANE_TABLE.items():
            if focused is not None and focused.id == selector[1:]:
                return name
        return self.pane if self.pane in _PANE_TABLE else None

    def selected_risk(self) -> RiskLine | None:
        if self._active_table() != "risks" or self.board is None:
            return None
        key = self.table("risks").selected_key
        return next((r for r in self.board.risks if risk_key(r) == key), None)

    def selected_agent(self) -> AgentLine | None:
        if self._active_table() != "agents" or self.board is None:
            return None
        key = self.table("agents").selected_key
        return next((a for a in self.board.agents if str(a.agent_id) == key), None)

    def selected_case(self) -> int | None:
        risk = self.selected_risk()
        if risk is not None:
            return risk.case_id
        agent = self.selected_agent()
        return agent.case_id if agent is not None else None

    def _need_case(self) -> int | None:
        case_id = self.selected_case()
        if case_id is None:
            self.notify(
                _("Choose a row with a case: a deadline at risk (F5) or an agent on a case (F4)."),
                severity="warning",
            )
        return case_id

    # --- actions ----------------------------------------------------------------------------

    def action_close(self) -> None:
        self.app.pop_screen()

    def action_act(self) -> None:
        risk = self.selected_risk()
        if risk is None:
            if self._active_table() == "agents":
                self.action_open_case()
            return
        if risk.kind == "adjustment_pending" or risk.kind == "override_request":
            self.action_decide()
        elif risk.kind == "complaint_open":
            self.action_complaints()
        elif risk.kind == "lease_overdue":
            self.action_release_lease()
        else:
            self.action_open_case()

    def action_mark(self) -> None:
        risk = self.selected_risk()
        if risk is None or risk.case_id is None or self.board is None:
            return
        key = risk_key(risk)
        self.marked ^= {key}
        now = self.service.now()
        with self.app.batch_update():
            self._sync_risks(self.board, now)
            self._subtitles(self.board)
        table = self.table("risks")
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def action_open_case(self) -> None:
        case_id = self._need_case()
        if case_id is None:
            return
        from tui_desk.screens.supervision_modals import CaseViewModal

        self.app.push_screen(CaseViewModal(self.service, case_id))

    def action_reassign(self) -> None:
        cases: list[int] = []
        if self.marked and self.board is not None:
            cases = sorted(
                {r.case_id for r in self.board.risks if risk_key(r) in self.marked and r.case_id}
            )
        if not cases:
            case_id = self._need_case()
            if case_id is None:
                return
            cases = [case_id]
        from tui_desk.screens.supervision_modals import ReassignModal

        def done(result: object) -> None:
            if result:
                self.marked.clear()
                self._written(result if isinstance(result, str) else _("Cases reassigned"))

        self.app.push_screen(ReassignModal(self.service, cases), done)

    def action_release_lease(self) -> None:
        case_id = self._need_case()
        if case_id is None:
            return
        if not self.service.can_release_leases():
            self.notify(_("Only a supervisor may release another agent's lease."), severity="error")
            return
        who = ""
        risk = self.selected_risk()
        agent = self.selected_agent()
        if risk is not None and risk.who:
            who = risk.who
        elif agent is not None:
            who = agent.login
        question = (
            _("Release {who}'s lease on case #{case_id}? Their desk loses the case.").format(
                who=who, case_id=case_id
            )
            if who
            else _("Release the lease on case #{case_id}?").format(case_id=case_id)
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._release(case_id)

        self.app.push_screen(ConfirmModal(question), confirmed)

    @work(thread=True, group="board-action", exclusive=True, exit_on_error=False)
    def _release(self, case_id: int) -> None:
        self.service.release_stuck_lease(case_id)
        self.app.call_from_thread(
            self._written, _("Lease on case #{case_id} released").format(case_id=case_id)
        )

    def action_decide(self) -> None:
        risk = self.selected_risk()
        if risk is None or risk.kind not in ("adjustment_pending", "override_request"):
            self.notify(
                _("Choose an adjustment or an override request among the deadlines (F5)."),
                severity="warning",
            )
            return
        if risk.kind == "override_request":
            from tui_desk.screens.supervision_modals import OverrideRequestModal

            self.app.push_screen(
                OverrideRequestModal(self.service, risk.ref_id), self._written_or_none
            )
            return
        if risk.case_id is not None:
            self._load_case(risk.case_id, self._open_adjustment)

    def _open_adjustment(self, bundle: CaseBundle) -> None:
        from tui_desk.screens.adjustment_modals import AdjustmentDecisionModal

        self.app.push_screen(AdjustmentDecisionModal(self.service, bundle), self._written_or_none)

    @work(thread=True, group="board-action", exclusive=True, exit_on_error=False)
    def _load_case(self, case_id: int, then: Callable[[CaseBundle], None]) -> None:
        bundle = self.service.case(case_id)
        self.app.call_from_thread(then, bundle)

    def action_complaints(self) -> None:
        from tui_desk.screens.complaint_modal import ComplaintListModal

        def chosen(case_id: int | None) -> None:
            if case_id is not None:
                from tui_desk.screens.supervision_modals import CaseViewModal

                self.app.push_screen(CaseViewModal(self.service, case_id))

        self.app.push_screen(ComplaintListModal(self.service), chosen)

    def action_holds(self) -> None:
        from tui_desk.screens.hold_modal import HoldListModal

        def chosen(case_id: int | None) -> None:
            if case_id is not None:
                from tui_desk.screens.supervision_modals import CaseViewModal

                self.app.push_screen(CaseViewModal(self.service, case_id))

        self.app.push_screen(HoldListModal(self.service), chosen)

    def action_audit(self) -> None:
        from tui_desk.screens.audit import AuditScreen

        self.app.push_screen(AuditScreen(self.service))

    def action_reports(self) -> None:
        from tui_desk.screens.reports import ReportsScreen

        self.app.push_screen(ReportsScreen(self.service))

    def _written_or_none(self, summary: object) -> None:
        if isinstance(summary, str) and summary:
            self._written(summary)

    def _written(self, summary: str) -> None:
        self.notify(summary, title=_("Board"), markup=False)
        self.action_refresh_board()

    # --- failures ----------------------------------------------------------------------

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        # A mouse click on a row does what Enter does.
        event.stop()
        self.action_act()

    def worker_failed(self, failure: WorkerFailure) -> bool:
        """Called by the App's handler. A failed poll is said on the status line (and
        retried), not in a notification every few seconds."""
        if failure.group != "board-poll":
            return False
        error = failure.error
        # The reason in words (an outage as "the database is unavailable", not the driver's).
        self._problem = _(OUTAGE_PROBLEM) if failure.outage else failure.reason
        self._status(self.board, self.service.now())
        if isinstance(error, PermissionDenied):
            self._stop_polling()
        else:
            self._schedule(self.RETRY_SECONDS)
        return True
