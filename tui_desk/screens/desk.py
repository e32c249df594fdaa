"""The one working screen: queue, case and contact log, collector's week, plan/agreement.

Wide terminals (>= 120 columns and >= 36 rows) show all four panes, the queue across
the top and the selected case below it; wide but short ones show the queue beside one
other pane; narrow ones show one pane at a time. F2-F5 choose a pane, Tab/Shift+Tab
cycle through them.

The queue is a window paged from the database (``QueueView``); filter keys and the
search line re-query it. ``n`` takes the next case as a lease, renewed while the case
is open and released when the operator moves on or leaves. The case keys open small
dialogs (contact log, payment, hold, registration, documents, phones).

Every database call runs in a thread worker that posts a message back; worker failures
are turned into a notification in ``on_worker_state_changed``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.events import DescendantFocus
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from tui_desk.formatting import label
from tui_desk.i18n import N_, _, ngettext
from tui_desk.messages import (
    CalendarLoaded,
    CaseClaimed,
    CaseLoaded,
    CaseSelected,
    LeaseLost,
    LeaseRenewed,
    NothingToTake,
    PersonalDataRevealed,
)
from tui_desk.screens import localise_bindings
from tui_desk.screens.adjustment_modals import AdjustmentDecisionModal, AdjustmentModal
from tui_desk.screens.agreement_modals import (
    AgreementMenuModal,
    CompareModal,
    DeliveryModal,
    SignAgreementModal,
    SpecialTermsModal,
)
from tui_desk.screens.casework_modals import (
    ArchiveModal,
    CaseFormModal,
    ComplaintModal,
    DocumentModal,
    DoNotCallModal,
    HoldModal,
    PaymentModal,
    PhoneModal,
    RegistrationModal,
    ReviewModal,
)
from tui_desk.screens.complaint_modal import ComplaintListModal
from tui_desk.screens.contact_modal import ContactModal, ContactSaved
from tui_desk.screens.dial_modal import DialModal
from tui_desk.screens.followup_modal import FollowUpListModal
from tui_desk.screens.override_modal import OverrideModal
from tui_desk.screens.plan_modals import PlanModal
from tui_desk.screens.sms_modal import SmsModal
from tui_desk.screens.visit_modals import (
    BookVisitModal,
    CancelVisitModal,
    RescheduleVisitModal,
    VisitMenuModal,
    VisitReportModal,
)
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import ServiceError
from tui_desk.services.personal import PersonalField
from tui_desk.views.agreements import AgreementRecord
from tui_desk.views.calendar import CalendarVisit
from tui_desk.views.case import CaseBundle, CaseDetail
from tui_desk.views.dialing import DialResult
from tui_desk.views.queue import QueueKey
from tui_desk.widgets.agreement_panel import AgreementPanel
from tui_desk.widgets.appointment_calendar import AppointmentCalendar
from tui_desk.widgets.case_header import CaseHeader, when_text
from tui_desk.widgets.contact_log import ContactLogPanel
from tui_desk.widgets.queue_view import (
    FilterState,
    Page,
    QueueFilterBar,
    QueueView,
    SearchInput,
)

if TYPE_CHECKING:
    from tui_desk.services.queue import QueueFilter
    from tui_desk.views.queue import Claim


@dataclass(frozen=True)
class Pane:
    name: str
    title: str
    key: str
    focus: str
    """Selector of the widget that takes the focus when the pane is shown."""


PANES: tuple[Pane, ...] = (
    Pane("queue", N_("Queue"), "F2", "#queue"),
    Pane("contacts", N_("Case and contacts"), "F3", "#contact-rows"),
    Pane("calendar", N_("Visit calendar"), "F4", "#calendar-days"),
    Pane("agreement", N_("Plan and agreement"), "F5", "#agreement-text"),
)
PANE_NAMES = tuple(p.name for p in PANES)
SCOPES = ("all", "mine", "unowned")


@dataclass(frozen=True)
class DeskFilter(FilterState):
    """The filter keys' state, with "no next action" (``z``: orphaned cases) besides."""

    no_next_action: bool = False


def _cycle(values: tuple[str, ...], current: str | None) -> str | None:
    """None -> first -> ... -> last -> None."""
    if current is None:
        return values[0] if values else None
    index = values.index(current) if current in values else -1
    return values[index + 1] if index + 1 < len(values) else None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


def _binding(
    key: str, action: str, description: str, tooltip: str, id: str, *, show: bool = False
) -> Binding:
    # Letter keys are priority bindings: they act before the next key is dispatched, so
    # keys that arrive together (typed ahead over a slow SSH link) keep their order.
    # ``check_action`` hands them back to the search line while it has the focus.
    letter = len(key) == 1 or key in ("dollar_sign", "slash", "left_square_bracket")
    letter = letter or key in ("right_square_bracket", "r,ctrl+r")
    return Binding(key, action, description, tooltip=tooltip, show=show, id=id, priority=letter)


class DeskScreen(Screen[None], inherit_bindings=False):
    """Four panes on the same case; the queue cursor decides which case that is."""

    # Textual types these as lists on Screen (not ClassVar), so no annotation here.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]  # noqa: RUF012

    # The orphan warning line above the queue (shown only while there are orphans).
    DEFAULT_CSS = """
    #orphan-warning {
        height: 1;
        color: $warning;
        text-style: bold;
        padding: 0 1;
    }
    """

    DEBOUNCE_SECONDS: ClassVar[float] = 0.15
    """Holding an arrow key moves the cursor ~30 rows/s; load only where it comes to rest."""
    CLAIM_DETAIL_DELAY: ClassVar[float] = 0.04
    """Read a claimed case this long after showing the claim (two frames at 60 fps)."""
    LOADING_NOTICE_SECONDS: ClassVar[float] = 0.3
    """Say "loading..." on the case panes only when a read takes longer than this."""
    ORPHAN_COUNT_DELAY: ClassVar[float] = 0.2
    """Read the orphan count this long after the queue's rows changed (after the frame)."""
    SEARCH_DEBOUNCE_SECONDS: ClassVar[float] = 0.15
    """While typing, the search re-queries at most this often (and after the last key)."""
    HEARTBEAT_SECONDS: ClassVar[float] = 15.0
    """How often the desk tells the boards it is alive (offline after 60 s of silence)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        _binding(
            "f2",
            "show_pane('queue')",
            N_("Queue"),
            N_("Show the queue of the most urgent open cases"),
            "desk.pane.queue",
            show=True,
        ),
        _binding(
            "f3",
            "show_pane('contacts')",
            N_("Contacts"),
            N_("Show the selected case and its contact log"),
            "desk.pane.contacts",
            show=True,
        ),
        _binding(
            "f4",
            "show_pane('calendar')",
            N_("Calendar"),
            N_("Show the visit calendar: a week or a day, the case's collector or all"),
            "desk.pane.calendar",
        ),
        _binding(
            "f5",
            "show_pane('agreement')",
            N_("Agreement"),
            N_("Show the case's repayment plan and agreement"),
            "desk.pane.agreement",
        ),
        _binding(
            "tab",
            "cycle_pane(1)",
            N_("Next pane"),
            N_("Move to the next pane"),
            "desk.pane.next",
        ),
        _binding(
            "shift+tab",
            "cycle_pane(-1)",
            N_("Previous pane"),
            N_("Move to the previous pane"),
            "desk.pane.previous",
        ),
        _binding(
            "r,ctrl+r",
            "refresh_desk",
            N_("Refresh"),
            N_("Read the queue and the selected case again"),
            "desk.refresh",
        ),
        # --- working cases
        _binding(
            "n",
            "take_next",
            N_("Next case"),
            N_("Take the next case to work (your due callbacks, your cases, then the pool)"),
            "desk.take_next",
            show=True,
        ),
        _binding(
            "c",
            "claim",
            N_("Work this case"),
            N_("Take the lease on the selected case so nobody else works it meanwhile"),
            "desk.claim",
        ),
        _binding(
            "l",
            "log_contact",
            N_("Log contact"),
            N_("Log a call, SMS or email on the selected case: l then 1-9"),
            "desk.log_contact",
            show=True,
        ),
        _binding(
            "dollar_sign",
            "case_form('payment')",
            N_("Payment"),
            N_("Record a payment the borrower made"),
            "desk.payment",
        ),
        _binding(
            "x",
            "case_form('hold')",
            N_("Hold"),
            N_("Put the case on hold (dispute, litigation, complaint...)"),
            "desk.hold",
        ),
        _binding(
            "e",
            "case_form('registration')",
            N_("Register"),
            N_("Record the borrower's agreement to the home-visit service"),
            "desk.register",
        ),
        _binding(
            "u",
            "case_form('document')",
            N_("Add document"),
            N_("Record a document the borrower sent"),
            "desk.document.add",
        ),
        _binding(
            "k",
            "case_form('review')",
            N_("Review document"),
            N_("Verify or reject a received document"),
            "desk.document.review",
        ),
        _binding(
            "a",
            "case_form('phone')",
            N_("Add phone"),
            N_("Add a phone number of the borrower or a contact person"),
            "desk.phone.add",
        ),
        _binding(
            "o",
            "case_form('do_not_call')",
            N_("Do-not-call"),
            N_("Mark a phone number do-not-call"),
            "desk.phone.do_not_call",
        ),
        # --- the queue filter
        _binding(
            "slash",
            "search",
            N_("Search"),
            N_("Search the queue: name, phone number or its last digits, id:ID digits, #case"),
            "desk.queue.search",
            show=True,
        ),
        _binding(
            "b",
            "cycle_filter('bucket')",
            N_("Bucket"),
            N_("Show one DPD bucket at a time (1-30, 31-60, 61-90, 91+, all)"),
            "desk.queue.bucket",
        ),
        _binding(
            "s",
            "cycle_filter('stage')",
            N_("Stage"),
            N_("Show one stage at a time, then all"),
            "desk.queue.stage",
        ),
        _binding(
            "m",
            "cycle_filter('scope')",
            N_("Mine/unowned/all"),
            N_("Show all cases, only yours, or only unowned ones"),
            "desk.queue.scope",
        ),
        _binding(
            "p",
            "toggle_filter('broken_only')",
            N_("Broken promises"),
            N_("Only cases with a broken promise to pay"),
            "desk.queue.broken",
        ),
        _binding(
            "d",
            "toggle_filter('due_today')",
            N_("Due today"),
            N_("Only cases whose next action is due today"),
            "desk.queue.due_today",
        ),
        _binding(
            "h",
            "toggle_filter('on_hold')",
            N_("On hold"),
            N_("Only cases on hold (they are left out otherwise)"),
            "desk.queue.on_hold",
        ),
        _binding(
            "g",
            "toggle_filter('registered_only')",
            N_("Registered"),
            N_("Only cases registered for the home-visit service"),
            "desk.queue.registered",
        ),
        _binding(
            "z",
            "toggle_filter('no_next_action')",
            N_("No next action"),
            N_("Only open cases without a next action date, held ones included (none should be)"),
            "desk.queue.no_next_action",
        ),
        _binding(
            "y",
            "grant_override",
            N_("Override"),
            N_("Supervisors: let an agent make one contact attempt a rule forbids on this case"),
            "desk.override",
        ),
        _binding(
            "O",
            "ask_override",
            N_("Ask override"),
            N_("Ask a supervisor to waive a contact rule that refuses contact on this case now"),
            "desk.override.ask",
        ),
        _binding(
            "f",
            "clear_filters",
            N_("Clear filters"),
            N_("Show the whole queue again (filters and search off)"),
            "desk.queue.clear",
        ),
        # --- the calendar and personal data
        _binding(
            "left_square_bracket",
            "period(-1)",
            N_("Earlier"),
            N_("Calendar: the previous week (or day in the day view)"),
            "desk.calendar.previous",
        ),
        _binding(
            "right_square_bracket",
            "period(1)",
            N_("Later"),
            N_("Calendar: the next week (or day in the day view)"),
            "desk.calendar.next",
        ),
        _binding(
            "t",
            "today",
            N_("Today"),
            N_("Calendar: this week (or today in the day view)"),
            "desk.calendar.today",
        ),
        _binding(
            "w",
            "toggle_span",
            N_("Day/week"),
            N_("Calendar: switch between the week and the day view"),
            "desk.calendar.span",
        ),
        _binding(
            "W",
            "toggle_collectors",
            N_("All collectors"),
            N_("Calendar: every collector's visits, or only the case's collector"),
            "desk.calendar.collectors",
        ),
        _binding(
            "V",
            "book_visit",
            N_("Book visit"),
            N_("Book a home visit: V, a digit for a proposed slot, Enter"),
            "desk.visit.book",
        ),
        _binding(
            "P",
            "case_form('plan')",
            N_("Plan"),
            N_("Draft a repayment plan: live schedule, compare two plans, affordability check"),
            "desk.plan",
        ),
        _binding(
            "D",
            "dial",
            N_("Dial"),
            N_("Call the borrower through the phone system (or show the number to dial)"),
            "desk.dial",
        ),
        _binding(
            "S",
            "case_form('sms')",
            N_("SMS"),
            N_("Send a templated SMS (preview, length, contact rules; sent by the worker)"),
            "desk.sms",
        ),
        _binding(
            "H",
            "case_form('adjustment')",
            N_("Hardship"),
            N_("Ask for a hardship adjustment: suspend interest, extend the term, grace periods"),
            "desk.adjustment",
        ),
        _binding(
            "Y",
            "case_form('adjustment_decision')",
            N_("Decide"),
            N_("Supervisors: approve or reject the case's pending adjustment"),
            "desk.adjustment.decide",
        ),
        _binding(
            "C",
            "case_form('complaint')",
            N_("Complaint"),
            N_("Record a complaint about an agent's conduct (routed to supervisors)"),
            "desk.complaint",
        ),
        _binding(
            "K",
            "complaints",
            N_("Complaints"),
            N_("Supervisors: open complaints, investigate, resolve or dismiss"),
            "desk.complaints",
        ),
        _binding(
            "Z",
            "case_form('archive')",
            N_("Archive"),
            N_("Archive a paid or closed case (read-only), or restore an archived one"),
            "desk.archive",
        ),
        _binding(
            "F",
            "follow_ups",
            N_("Follow-ups"),
            N_("Follow-ups (回访) due this week and missed ones; Enter marks one done"),
            "desk.follow_ups",
        ),
        _binding(
            "A",
            "agreement",
            N_("Agreement"),
            N_("The case's agreement: draft, special terms, ready, sign, export copies"),
            "desk.agreement",
        ),
        _binding(
            "v",
            "reveal",
            N_("Reveal"),
            N_("Show one full ID number, address or phone number (recorded in the audit log)"),
            "desk.reveal",
        ),
    ]

    FORMS: ClassVar[dict[str, type[CaseFormModal]]] = {
        "payment": PaymentModal,
        "hold": HoldModal,
        "registration": RegistrationModal,
        "document": DocumentModal,
        "review": ReviewModal,
        "phone": PhoneModal,
        "do_not_call": DoNotCallModal,
        "plan": PlanModal,
        "complaint": ComplaintModal,
        "archive": ArchiveModal,
        "adjustment": AdjustmentModal,
        "adjustment_decision": AdjustmentDecisionModal,
        "sms": SmsModal,
    }

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While the search line has the focus, letters are text, not commands.
        return action not in self._priority_actions or not isinstance(self.focused, Input)

    def __init__(self, service: DeskService) -> None:
        super().__init__(id="desk")
        localise_bindings(self)
        self._priority_actions = {
            b.action for _key, b in self._bindings if b.priority and b.action != "search"
        }
        self.service = service
        self.pane = "queue"
        self.side_pane = "contacts"
        self.bundle: CaseBundle | None = None
        self.filter = DeskFilter()
        self.lease: Claim | None = None
        self._beaten_case: int | None = None
        self._wanted: int | None = None
        self._debounce: Timer | None = None
        self._search_timer: Timer | None = None
        self._last_search = 0.0
        self._load_scheduled = False
        self._loading_timer: Timer | None = None
        self._claim_notice: Timer | None = None
        self._after_load: tuple[int, Callable[[CaseBundle], None]] | None = None
        self._renew_timer: Timer | None = None
        # The calendar's view: a week (7) or a day (1), the case's collector or all of
        # them, from ``cal_start`` (None: around the case's latest visit).
        self._orphan_timer: Timer | None = None
        self._orphans_shown: tuple[int, int, bool] | None = None
        self.cal_span = 7
        self.cal_all = False
        self.cal_start: dt.date | None = None

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        tz = self.service.timezone
        yield Header(icon="#")
        with Container(id="desk-body"):
            with Vertical(id="pane-queue", classes="pane"):
                yield QueueFilterBar(id="queue-bar")
                orphans = Static(id="orphan-warning")
                orphans.display = False
                yield orphans
                yield QueueView(timezone=tz, id="queue")
            with Vertical(id="pane-contacts", classes="pane"):
                yield CaseHeader(timezone=tz, id="case-header")
                yield ContactLogPanel(timezone=tz, id="contacts")
            with Vertical(id="pane-calendar", classes="pane"):
                yield AppointmentCalendar(id="calendar")
            with Vertical(id="pane-agreement", classes="pane"):
                yield AgreementPanel(
                    timezone=tz, currency=self.service.profile.currency, id="agreement"
                )
        # The palette key is listed in the help; at 80 columns the footer needs the room.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        actor = self.service.actor
        self.sub_title = " | ".join(
            (
                f"{actor.name} ({label('role', actor.role)})",
                self.service.database_kind,
                _("profile {name}").format(name=self.service.profile.name),
            )
        )
        for pane in PANES:
            self.pane_widget(pane.name).border_title = f"{_(pane.title)} ({pane.key})"
        self._show("queue")
        self.apply_filter()
        self._beat()
        self.set_interval(self.HEARTBEAT_SECONDS, self._beat)

    def on_unmount(self) -> None:
        # Leaving the desk frees the case at once rather than when its lease runs out, and
        # takes the agent off the boards. Bounded: a database that does not answer must
        # not keep the process alive.
        lease, self.lease = self.lease, None
        case_id = lease.case_id if lease is not None else None
        thread = threading.Thread(target=self._leave_quietly, args=(case_id,), daemon=True)
        thread.start()
        thread.join(timeout=3.0)

    def _beat(self) -> None:
        case_id = self.lease.case_id if self.lease is not None else None
        self._beaten_case = case_id
        self._send_heartbeat(case_id)

    @work(thread=True, group="presence", exit_on_error=False)
    def _send_heartbeat(self, case_id: int | None) -> None:
        # Presence is advisory: a beat that fails is retried by the next one, and the
        # operator's own work reports any real trouble with the database.
        with contextlib.suppress(Exception):
            self.service.heartbeat(case_id)

    def pane_widget(self, name: str) -> Widget:
        return self.query_one(f"#pane-{name}")

    @property
    def queue(self) -> QueueView:
        return self.query_one(QueueView)

    def _show(self, name: str, *, focus: bool = True) -> None:
        """Make ``name`` the active pane (the one displayed on a narrow terminal)."""
        self.pane = name
        if name != "queue":
            self.side_pane = name
        for pane in PANES:
            widget = self.pane_widget(pane.name)
            widget.set_class(pane.name == name, "-active")
            widget.set_class(pane.name == self.side_pane, "-side")
        if focus:
            target = self.query_one(next(p.focus for p in PANES if p.name == name))
            if not target.has_focus:
                self.set_focus(target)

    def action_show_pane(self, name: str) -> None:
        if name in PANE_NAMES:
            self._show(name)

    def action_cycle_pane(self, step: int) -> None:
        index = PANE_NAMES.index(self.pane)
        self._show(PANE_NAMES[(index + step) % len(PANE_NAMES)])

    @on(DescendantFocus)
    def _follow_focus(self, event: DescendantFocus) -> None:
        # A mouse click can move the focus into another pane: keep the active pane in step.
        for pane in PANES:
            if self.pane_widget(pane.name) in event.widget.ancestors_with_self:
                if pane.name != self.pane:
                    self._show(pane.name, focus=False)
                return

    # --- the queue: filter and search ---------------------------------------------------

    def apply_filter(self) -> None:
        """Re-query the queue for the current filter; the cursor keeps its case if it can."""
        state = self.filter
        flt = self.service.queue_filter(
            scope=state.scope,
            bucket=state.bucket,
            stage=state.stage,
            broken_only=state.broken_only,
            due_today=state.due_today,
            on_hold=state.on_hold,
            registered_only=state.registered_only,
            search=state.search,
        )
        if state.no_next_action:
            flt = replace(flt, no_next_action=True)
        # The filter line changes with the rows (one frame), see on_queue_view_window_changed.
        view = self.queue
        view.set_source(
            partial(self._read_page, flt), self.service.describe(flt), keep=view.case_id
        )

    def _read_page(
        self, flt: QueueFilter, after: QueueKey | None, before: QueueKey | None, limit: int
    ) -> Page:
        """Runs in the queue view's worker thread."""
        return self.service.queue_page(flt, after=after, before=before, limit=limit)

    def action_cycle_filter(self, name: str) -> None:
        state = self.filter
        if name == "bucket":
            state = replace(state, bucket=_cycle(self.service.buckets(), state.bucket))
        elif name == "stage":
            state = replace(state, stage=_cycle(self.service.stages(), state.stage))
        elif name == "scope":
            index = SCOPES.index(state.scope) if state.scope in SCOPES else 0
            state = replace(state, scope=SCOPES[(index + 1) % len(SCOPES)])
        self._set_filter(state)

    def action_toggle_filter(self, name: str) -> None:
        state = self.filter
        if name == "broken_only":
            state = replace(state, broken_only=not state.broken_only)
        elif name == "due_today":
            state = replace(state, due_today=not state.due_today)
        elif name == "on_hold":
            state = replace(state, on_hold=not state.on_hold)
        elif name == "registered_only":
            state = replace(state, registered_only=not state.registered_only)
        elif name == "no_next_action":
            state = replace(state, no_next_action=not state.no_next_action)
        else:
            return
        self._set_filter(state)

    def action_clear_filters(self) -> None:
        self.query_one(SearchInput).value = ""
        self._set_filter(DeskFilter())

    def _set_filter(self, state: DeskFilter) -> None:
        self.filter = state
        if self.pane != "queue":
            self._show("queue")
        self.apply_filter()

    def action_search(self) -> None:
        if self.pane != "queue":
            self._show("queue", focus=False)
        # Focus now, not after the next refresh: the key typed right after "/" belongs
        # to the search line.
        self.set_focus(self.query_one(SearchInput))

    @on(SearchInput.Changed)
    def _search_typed(self, event: SearchInput.Changed) -> None:
        # Leading edge: a character typed after a pause is searched at once (one query
        # costs about a millisecond); while the operator keeps typing, at most one query
        # per debounce period, and always one for the last character.
        event.stop()
        idle = time.monotonic() - self._last_search >= self.SEARCH_DEBOUNCE_SECONDS
        if self._search_timer is None and idle:
            self._search_now()
            return
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(self.SEARCH_DEBOUNCE_SECONDS, self._search_now)

    def _search_now(self) -> None:
        self._search_timer = None
        self._last_search = time.monotonic()
        text = self.query_one(SearchInput).value.strip()
        if text != self.filter.search:
            self.filter = replace(self.filter, search=text)
            self.apply_filter()

    @on(SearchInput.Done)
    def _search_done(self, event: SearchInput.Done) -> None:
        event.stop()
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_now()

    def action_refresh_desk(self) -> None:
        self.queue.reload()
        if self._wanted is not None:
            self._select(self._wanted, immediate=True)

    def on_queue_view_window_changed(self, message: QueueView.WindowChanged) -> None:
        self.query_one(QueueFilterBar).show_filter(self.filter)
        if message.count == 0 and self.bundle is None:
            self.query_one(CaseHeader).show(None)
        # Whenever the queue is read again, so is the orphan count (an index range count),
        # once the new rows are on screen: the count must not delay the frame the
        # operator waits for, and a burst of keys reads it once.
        if self._orphan_timer is not None:
            self._orphan_timer.stop()
        self._orphan_timer = self.set_timer(self.ORPHAN_COUNT_DELAY, self._orphan_tick)

    def _orphan_tick(self) -> None:
        self._orphan_timer = None
        self._load_orphan_count()

    @work(thread=True, group="orphans", exclusive=True, exit_on_error=False)
    def _load_orphan_count(self) -> None:
        count = self.service.orphan_count()
        door = self.service.overdue_door_money()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_orphans, count, door)

    def _show_orphans(self, count: int, door: int = 0) -> None:
        """Open cases without a next action must be surfaced, not forgotten; supervisors
        also see door collections no bank payment has matched in time."""
        shown = (count, door, self.filter.no_next_action)
        if shown == self._orphans_shown:
            return  # nothing changed: no relayout
        self._orphans_shown = shown
        warning = self.query_one("#orphan-warning", Static)
        warning.display = count > 0 or door > 0
        if not count:
            if door:
                text = ngettext(
                    "{n} door collection is still unreconciled past the limit",
                    "{n} door collections are still unreconciled past the limit",
                    door,
                ).format(n=door)
                warning.update(Text(f"⚠ {text}", no_wrap=True, overflow="ellipsis"))
            return
        if self.filter.no_next_action:
            hint = _("listed below; z shows all")
        else:
            hint = ngettext("press z to list it", "press z to list them", count)
        text = ngettext(
            "{n} open case has no next action", "{n} open cases have no next action", count
        ).format(n=count)
        if door:
            text += "; " + ngettext(
                "{n} door collection unreconciled", "{n} door collections unreconciled", door
            ).format(n=door)
        warning.update(Text(f"⚠ {text} — {hint}", no_wrap=True, overflow="ellipsis"))

    # --- the selected case ---------------------------------------------------------------

    def on_case_selected(self, message: CaseSelected) -> None:
        self._select(message.case_id, immediate=message.opened)
        if message.opened and self.has_class("-narrow"):
            self._show("contacts")

    def _select(self, case_id: int, *, immediate: bool) -> None:
        if case_id == self._wanted and not immediate:
            return
        self._wanted = case_id
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        if immediate:
            self._start_case_load(case_id)
        else:
            self._debounce = self.set_timer(
                self.DEBOUNCE_SECONDS, lambda: self._start_case_load(case_id)
            )

    def _start_case_load(self, case_id: int) -> None:
        self._debounce = None
        if self.lease is not None and self.lease.case_id != case_id:
            # Moving on to another case frees the one we held for the others.
            self._release_lease()
        # "loading..." only if the read is slow: repainting the side panes' borders for
        # nothing costs more than most reads.
        if self._loading_timer is not None:
            self._loading_timer.stop()
        self._loading_timer = self.set_timer(self.LOADING_NOTICE_SECONDS, self._show_loading)
        self._load_case(case_id)

    def _show_loading(self) -> None:
        self._loading_timer = None
        for name in PANE_NAMES[1:]:
            self.pane_widget(name).border_subtitle = _("loading...")

    def _loaded(self) -> None:
        if self._loading_timer is not None:
            self._loading_timer.stop()
            self._loading_timer = None

    def _case_changed(self, case_id: int) -> None:
        """A write was refused as stale: show what the case looks like now."""
        if case_id == self._wanted:
            self._select(case_id, immediate=True)
        self.queue.reload()

    @work(thread=True, group="case", exclusive=True, exit_on_error=False)
    def _load_case(self, case_id: int) -> None:
        bundle = self.service.case(case_id)
        if not get_current_worker().is_cancelled:
            self.post_message(CaseLoaded(bundle))

    def on_case_loaded(self, message: CaseLoaded) -> None:
        bundle = message.bundle
        if bundle.case_id != self._wanted:
            return
        self._loaded()
        self.bundle = bundle
        after_load, self._after_load = self._after_load, None
        self.query_one(CaseHeader).show_bundle(bundle, now=self.service.now())
        self.query_one(ContactLogPanel).show(bundle.contacts)
        self._calendar_for_case(bundle)
        self.query_one(AgreementPanel).show(bundle.agreement)
        count = len(bundle.contacts)
        self.pane_widget("contacts").border_subtitle = (
            ngettext(
                "case {case_id}, {count} contact attempt",
                "case {case_id}, {count} contact attempts",
                count,
            ).format(case_id=bundle.case_id, count=count)
            if count
            else _("case {case_id}, no contact attempts yet").format(case_id=bundle.case_id)
        )
        self._calendar_subtitle()
        self.pane_widget("agreement").border_subtitle = _("case {case_id}").format(
            case_id=bundle.case_id
        )
        if after_load is not None and after_load[0] == bundle.case_id:
            after_load[1](bundle)

    @property
    def is_settled(self) -> bool:
        """No case load is waiting on a debounce and no worker is running."""
        workers = [*self.workers, *self.queue.workers]
        if any(isinstance(s, ModalScreen) for s in self.app.screen_stack):
            workers += [w for s in self.app.screen_stack for w in s.workers]
        return (
            self._debounce is None
            and self._orphan_timer is None
            and not self._load_scheduled
            and self._search_timer is None
            and not self.queue.is_loading
            and not any(w.is_running or w.state is WorkerState.PENDING for w in workers)
        )

    def _with_bundle(self, run: Callable[[CaseBundle], None]) -> None:
        """Run ``run`` on the selected case, now or as soon as it has been read.

        So ``n`` ``l`` ``1`` typed in one go works: the dialog opens when the case is there.
        """
        bundle = self.bundle
        if self._wanted is None:
            self.notify(_("Select a case first."), severity="warning")
            return
        if bundle is not None and bundle.case_id == self._wanted:
            run(bundle)
            return
        self._after_load = (self._wanted, run)

    # --- leases: take next, claim, renew, release -----------------------------------------

    def action_take_next(self) -> None:
        # A busy line only if the claim is slow (a database under load): a quick one is
        # drawn in one frame.
        self._stop_claim_notice()
        self._claim_notice = self.set_timer(0.1, self._show_taking)
        self._take_next()

    def _show_taking(self) -> None:
        self._claim_notice = None
        self.pane_widget("queue").border_subtitle = _("taking the next case...")

    def _stop_claim_notice(self) -> None:
        if self._claim_notice is not None:
            self._claim_notice.stop()
            self._claim_notice = None

    @work(thread=True, group="claim", exclusive=True, exit_on_error=False)
    def _take_next(self) -> None:
        claim = self.service.take_next()
        self.post_message(NothingToTake() if claim is None else CaseClaimed(claim, taken_next=True))

    def action_claim(self) -> None:
        case_id = self._wanted
        if case_id is None:
            self.notify(_("Select a case first."), severity="warning")
            return
        if self.lease is not None and self.lease.case_id == case_id:
            self.notify(_("You already hold this case."))
            return
        self._claim(case_id)

    @work(thread=True, group="claim", exclusive=True, exit_on_error=False)
    def _claim(self, case_id: int) -> None:
        self.post_message(CaseClaimed(self.service.claim(case_id), taken_next=False))

    def on_nothing_to_take(self, _message: NothingToTake) -> None:
        self._stop_claim_notice()
        self._show_lease()
        self.notify(_("No case to take right now: nothing due, nothing unowned."))

    def on_case_claimed(self, message: CaseClaimed) -> None:
        claim = message.claim
        self._stop_claim_notice()
        # The service released our previous lease in the same transaction.
        self.lease = claim
        self._start_renewing()
        self._wanted = claim.case_id
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        self._load_scheduled = True
        self.queue.show_case(claim.case_id)
        self._show_lease()
        if self.has_class("-narrow"):
            self._show("contacts")
        until = when_text(claim.lease_expires_at, self.service.timezone, self.service.now())
        text = _("Case {case_id} is yours until {time}").format(case_id=claim.case_id, time=until)
        if message.taken_next:
            text += ": " + label("claim_reason", claim.reason)
        self.notify(text, title=_("Next case") if message.taken_next else _("Working this case"))
        # Show the claim first (cursor, lease line), then read and draw the case a frame
        # later: drawing the case panes costs tens of milliseconds and would hold up
        # the frame that tells the operator which case is theirs.
        self.set_timer(self.CLAIM_DETAIL_DELAY, partial(self._load_claimed, claim.case_id))

    def _load_claimed(self, case_id: int) -> None:
        self._load_scheduled = False
        if case_id == self._wanted:
            self._start_case_load(case_id)

    def _show_lease(self) -> None:
        lease = self.lease
        if (lease.case_id if lease is not None else None) != self._beaten_case:
            self._beat()  # the boards see the operator move to another case at once
        pane = self.pane_widget("queue")
        if lease is None:
            pane.border_subtitle = _("n takes the next case")
            return
        pane.border_subtitle = _("working case {case_id} until {time}").format(
            case_id=lease.case_id,
            time=when_text(lease.lease_expires_at, self.service.timezone, self.service.now()),
        )

    def _start_renewing(self) -> None:
        if self._renew_timer is not None:
            self._renew_timer.stop()
        # A third of the lease: two renewals may fail (a busy database) before it lapses.
        interval = max(5.0, self.service.lease_minutes * 60 / 3)
        self._renew_timer = self.set_interval(interval, self._renew_now)

    def _renew_now(self) -> None:
        if self.lease is not None:
            self._renew(self.lease.case_id)

    @work(thread=True, group="lease", exit_on_error=False)
    def _renew(self, case_id: int) -> None:
        try:
            expires_at = self.service.renew(case_id)
        except ServiceError as exc:
            self.post_message(LeaseLost(case_id, str(exc)))
            return
        self.post_message(LeaseRenewed(case_id, expires_at))

    def on_lease_renewed(self, message: LeaseRenewed) -> None:
        if self.lease is not None and self.lease.case_id == message.case_id:
            self.lease = replace(self.lease, lease_expires_at=message.expires_at)
            self._show_lease()

    def on_lease_lost(self, message: LeaseLost) -> None:
        if self.lease is None or self.lease.case_id != message.case_id:
            return
        self.lease = None
        if self._renew_timer is not None:
            self._renew_timer.stop()
            self._renew_timer = None
        self._show_lease()
        self.notify(
            message.reason,
            title=_("Case {case_id} is no longer yours").format(case_id=message.case_id),
            severity="warning",
            markup=False,
        )

    def _release_lease(self) -> None:
        lease, self.lease = self.lease, None
        if self._renew_timer is not None:
            self._renew_timer.stop()
            self._renew_timer = None
        if lease is not None:
            self._release(lease.case_id)
        self._show_lease()

    @work(thread=True, group="lease", exit_on_error=False)
    def _release(self, case_id: int) -> None:
        self.service.release(case_id)

    def _leave_quietly(self, case_id: int | None) -> None:
        # On the way out nothing can be shown any more; the lease expires by itself and
        # the presence row turns stale, should the database not answer.
        if case_id is not None:
            with contextlib.suppress(Exception):
                self.service.release(case_id)
        with contextlib.suppress(Exception):
            self.service.sign_off()

    # --- contact log and case work ---------------------------------------------------------

    def action_log_contact(self) -> None:
        self._with_bundle(self._open_contact)

    def _open_contact(self, bundle: CaseBundle) -> None:
        self.app.push_screen(
            ContactModal(self.service, bundle, case_changed=self._case_changed),
            self._contact_saved,
        )

    def _contact_saved(self, result: ContactSaved | None) -> None:
        if result is None:
            return
        self.notify(result.summary, title=_("Contact logged"), markup=False)
        self._after_write(result.case_id)

    def action_case_form(self, name: str) -> None:
        if name in self.FORMS:
            self._with_bundle(partial(self._open_form, name))

    def _open_form(self, name: str, bundle: CaseBundle) -> None:
        form = self.FORMS[name]
        if name == "review" and not bundle.documents:
            self.notify(_("No document received yet: add one with u."), severity="warning")
            return
        if name == "do_not_call" and not bundle.detail.phones:
            self.notify(_("No phone number on file: add one with a."), severity="warning")
            return
        case_id = bundle.case_id

        def saved(summary: str | None) -> None:
            if summary is not None:
                self.notify(summary, title=_("Saved"), markup=False)
                self._after_write(case_id)

        self.app.push_screen(form(self.service, bundle, case_changed=self._case_changed), saved)

    def _after_write(self, case_id: int) -> None:
        """Show what the write changed: the case panes and the queue rows on screen."""
        if case_id == self._wanted:
            self._select(case_id, immediate=True)
        self.queue.reload()

    # --- contact-rule overrides (supervisors) --------------------------------------------

    def action_grant_override(self) -> None:
        try:
            self.service.require_override()  # the role alone decides; no database call
        except ServiceError as exc:
            self.notify(str(exc), title=_("Override"), severity="error", markup=False)
            return
        self._with_bundle(self._open_override)

    def _open_override(self, bundle: CaseBundle) -> None:
        def saved(summary: str | None) -> None:
            if summary is not None:
                self.notify(summary, title=_("Override granted"), markup=False)

        self.app.push_screen(
            OverrideModal(self.service, bundle, case_changed=self._case_changed), saved
        )

    def action_ask_override(self) -> None:
        self._with_bundle(self._open_override_ask)

    def _open_override_ask(self, bundle: CaseBundle) -> None:
        from tui_desk.screens.supervision_modals import OverrideAskModal

        def saved(summary: str | None) -> None:
            if summary is not None:
                self.notify(summary, title=_("Override asked for"), markup=False)

        self.app.push_screen(
            OverrideAskModal(self.service, bundle, case_changed=self._case_changed), saved
        )

    # --- the calendar ------------------------------------------------------------------

    @property
    def calendar(self) -> AppointmentCalendar:
        return self.query_one(AppointmentCalendar)

    def _calendar_default(self) -> bool:
        """The calendar follows the case: its collector's week around its latest visit."""
        return self.cal_span == 7 and not self.cal_all and self.cal_start is None

    def _calendar_for_case(self, bundle: CaseBundle) -> None:
        if self._calendar_default():
            self.calendar.show(bundle.calendar)
        elif self.cal_all and self.calendar.view is not None:
            # Every collector's visits do not depend on the case: mark its visits only.
            self.calendar.show(replace(self.calendar.view, case_id=bundle.case_id))
        else:
            self.cal_start = None if not self.cal_all else self.cal_start
            self._reload_calendar()

    def _reload_calendar(self) -> None:
        self._load_calendar(self._wanted, self.cal_start, self.cal_span, self.cal_all)

    def _period_start(self) -> dt.date:
        view = self.calendar.view
        if self.cal_start is not None:
            return self.cal_start
        if view is not None:
            return view.start
        return self.service.today()

    def action_period(self, step: int) -> None:
        self.cal_start = self._period_start() + dt.timedelta(days=self.cal_span * step)
        self._reload_calendar()

    def action_today(self) -> None:
        self.cal_start = self.service.today()
        self._reload_calendar()

    def action_toggle_span(self) -> None:
        view = self.calendar.view
        if self.cal_span == 7:
            today = self.service.today()
            start = self._period_start()
            # Into the day view: today when it is in the week shown, else the week's Monday.
            in_week = view is not None and start <= today < start + dt.timedelta(days=7)
            self.cal_start = today if in_week else start
            self.cal_span = 1
        else:
            self.cal_start = self._period_start()
            self.cal_span = 7
        self._reload_calendar()

    def action_toggle_collectors(self) -> None:
        self.cal_all = not self.cal_all
        if self.cal_start is None:
            self.cal_start = self._period_start()
        self._reload_calendar()
        self._show("calendar")

    @work(thread=True, group="calendar", exclusive=True, exit_on_error=False)
    def _load_calendar(
        self, case_id: int | None, start: dt.date | None, span: int, all_collectors: bool
    ) -> None:
        view = self.service.calendar_view(
            case_id=case_id, start=start, span_days=span, all_collectors=all_collectors
        )
        if not get_current_worker().is_cancelled:
            self.post_message(CalendarLoaded(view))

    def on_calendar_loaded(self, message: CalendarLoaded) -> None:
        view = message.view
        if view.case_id == self._wanted and view.span_days == self.cal_span:
            self.calendar.show(view)
            self._calendar_subtitle()

    def _calendar_subtitle(self) -> None:
        self.pane_widget("calendar").border_subtitle = _(
            "[ ] earlier/later, t today, w day/week, W all, Enter visit, V book"
        )

    def action_book_visit(self) -> None:
        self._with_bundle(self._open_booking)

    def _open_booking(self, bundle: CaseBundle) -> None:
        case_id = bundle.case_id

        def saved(summary: str | None) -> None:
            if summary is not None:
                self.notify(summary, title=_("Visit booked"), markup=False)
                self.cal_start = None
                self._after_write(case_id)

        self.app.push_screen(
            BookVisitModal(self.service, bundle, case_changed=self._case_changed), saved
        )

    @on(DataTable.RowSelected, "#calendar-days")
    def _visit_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        visit = self.calendar.selected_visit()
        if visit is None:
            self.notify(_("No visit on this line: V books one."), severity="information")
            return
        self.app.push_screen(
            VisitMenuModal(visit, self.service.timezone), partial(self._visit_action, visit)
        )

    def _visit_action(self, visit: CalendarVisit, action: str | None) -> None:
        if action is None:
            return
        if action == "open":
            self._select(visit.case_id, immediate=True)
            return
        if action == "confirm":
            self._confirm_visit(visit)
            return
        if action == "sheet":
            self._export_day_sheet(visit)
            return
        self._load_visit_case(visit, action)

    @work(thread=True, group="visit-action", exclusive=True, exit_on_error=False)
    def _confirm_visit(self, visit: CalendarVisit) -> None:
        try:
            self.service.confirm_visit(visit.appointment_id)
        except ServiceError as exc:
            self.app.call_from_thread(
                self.notify, str(exc), title=_("Not saved"), severity="error", markup=False
            )
            return
        self.app.call_from_thread(self._visit_saved, visit.case_id, _("Visit confirmed"))

    @work(thread=True, group="visit-action", exclusive=True, exit_on_error=False)
    def _export_day_sheet(self, visit: CalendarVisit) -> None:
        day = visit.starts_at.astimezone(ZoneInfo(self.service.timezone)).date()
        try:
            path = self.service.export_day_sheet(visit.collector_id, day)
        except (ServiceError, OSError) as exc:
            self.app.call_from_thread(
                self.notify, str(exc), title=_("Not exported"), severity="error", markup=False
            )
            return
        self.app.call_from_thread(
            self.notify,
            _("{collector}, {day}: {path} (and .md)").format(
                collector=visit.collector_name, day=day.isoformat(), path=path
            ),
            title=_("Day sheet written"),
            markup=False,
        )

    @work(thread=True, group="visit-action", exclusive=True, exit_on_error=False)
    def _load_visit_case(self, visit: CalendarVisit, action: str) -> None:
        bundle = self.service.case(visit.case_id)
        self.app.call_from_thread(self._open_visit_form, visit, action, bundle)

    def _open_visit_form(self, visit: CalendarVisit, action: str, bundle: CaseBundle) -> None:
        forms = {
            "move": RescheduleVisitModal,
            "cancel": CancelVisitModal,
            "report": VisitReportModal,
        }
        form = forms[action](self.service, bundle, visit)

        def saved(summary: str | None) -> None:
            if summary is not None:
                self._visit_saved(visit.case_id, summary)

        self.app.push_screen(form, saved)

    def _visit_saved(self, case_id: int, summary: str) -> None:
        self.notify(summary, title=_("Saved"), markup=False)
        if self._wanted is not None and case_id != self._wanted:
            self._reload_calendar()
        self._after_write(case_id)

    # --- dialing -----------------------------------------------------------------------

    def action_dial(self) -> None:
        self._with_bundle(self._open_dial)

    def _open_dial(self, bundle: CaseBundle) -> None:
        case_id = bundle.case_id

        def dialled(result: DialResult | None) -> None:
            if result is not None:
                self._after_write(case_id)

        dialer = getattr(self.app, "dialer", None)
        self.app.push_screen(DialModal(self.service, bundle, dialer), dialled)

    # --- complaints (supervisors) ---------------------------------------------------------

    def action_complaints(self) -> None:
        if not self.service.handles_complaints():
            self.notify(
                _("Complaints are handled by supervisors."), title=_("Complaints"),
                severity="warning",
            )  # fmt: skip
            return

        def chosen(case_id: int | None) -> None:
            if case_id is not None:
                self._select(case_id, immediate=True)

        self.app.push_screen(ComplaintListModal(self.service), chosen)

    # --- follow-ups --------------------------------------------------------------------

    def action_follow_ups(self) -> None:
        def chosen(case_id: int | None) -> None:
            if case_id is not None:
                self._select(case_id, immediate=True)
                if self.has_class("-narrow"):
                    self._show("contacts")
            elif self._wanted is not None:
                self._after_write(self._wanted)

        self.app.push_screen(FollowUpListModal(self.service), chosen)

    # --- the agreement -----------------------------------------------------------------

    def action_agreement(self) -> None:
        self._with_bundle(self._start_agreement)

    def _start_agreement(self, bundle: CaseBundle) -> None:
        self._read_agreement(bundle)

    @work(thread=True, group="agreement", exclusive=True, exit_on_error=False)
    def _read_agreement(self, bundle: CaseBundle) -> None:
        try:
            agreement_id = self.service.agreement_id(bundle.case_id)
            record = self.service.open_agreement(agreement_id) if agreement_id else None
        except ServiceError as exc:
            self.app.call_from_thread(self._agreement_problem, str(exc))
            return
        self.app.call_from_thread(self._agreement_menu, bundle, record)

    def _agreement_problem(self, text: str) -> None:
        self.notify(text, title=_("Agreement"), severity="error", markup=False)

    def _agreement_menu(self, bundle: CaseBundle, record: AgreementRecord | None) -> None:
        title = f"{bundle.detail.borrower_name} (#{bundle.case_id})"
        self.app.push_screen(
            AgreementMenuModal(title, record), partial(self._agreement_action, bundle, record)
        )

    def _agreement_action(
        self, bundle: CaseBundle, record: AgreementRecord | None, action: str | None
    ) -> None:
        if action is None:
            return
        case_id = bundle.case_id

        def saved(summary: str | None) -> None:
            if summary is not None:
                self._agreement_saved(case_id, summary)

        if record is not None and action == "terms":
            self.app.push_screen(SpecialTermsModal(self.service, record), saved)
        elif record is not None and action == "sign":
            self.app.push_screen(SignAgreementModal(self.service, bundle, record), saved)
        elif record is not None and action == "delivery":
            self.app.push_screen(DeliveryModal(self.service, bundle, record), saved)
        elif record is not None and action == "compare":
            self.app.push_screen(CompareModal(record))
        else:
            self._agreement_job(case_id, action, record)

    @work(thread=True, group="agreement", exclusive=True, exit_on_error=False)
    def _agreement_job(self, case_id: int, action: str, record: AgreementRecord | None) -> None:
        try:
            if action == "draft":
                self.service.draft_agreement(case_id)
                summary = _("Agreement drafted from the bank's standard form")
            elif action == "ready" and record is not None:
                self.service.mark_agreement_ready(record.agreement_id, record.record_version)
                summary = _("Agreement ready to sign")
            elif action == "export" and record is not None:
                copies = self.service.export_agreement(record.agreement_id)
                summary = _("Bank and borrower copies written: {files}").format(
                    files=", ".join(str(f) for f in copies.files if f.suffix == ".pdf")
                )
            else:
                return
        except (ServiceError, OSError) as exc:
            self.app.call_from_thread(self._agreement_problem, str(exc))
            return
        self.app.call_from_thread(self._agreement_saved, case_id, summary)

    def _agreement_saved(self, case_id: int, summary: str) -> None:
        self.notify(summary, title=_("Agreement"), markup=False)
        self._after_write(case_id)

    # --- reveal --------------------------------------------------------------------------

    def action_reveal(self) -> None:
        if self.bundle is None:
            self.notify(_("Select a case first."), severity="warning")
            return
        detail = self.bundle.detail

        def chosen(choice: RevealChoice | None) -> None:
            if choice is not None:
                self._load_revealed_value(detail.borrower_id, choice)

        self.app.push_screen(RevealModal(detail), chosen)

    @work(thread=True, group="reveal", exclusive=True, exit_on_error=False)
    def _load_revealed_value(self, borrower_id: int, choice: RevealChoice) -> None:
        value = self.service.reveal(borrower_id, choice.field, choice.phone_id)
        self.post_message(PersonalDataRevealed(choice.label, value))

    def on_personal_data_revealed(self, message: PersonalDataRevealed) -> None:
        # A toast rather than a pane: the full value disappears again by itself.
        self.notify(
            f"{message.label}: {message.value}",
            title=_("Revealed (recorded in the audit log)"),
            timeout=12,
            markup=False,
        )

    # --- failures ----------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        group = event.worker.group
        title = _("Could not load")
        if group == "case":
            self._loaded()
            for name in PANE_NAMES[1:]:
                self.pane_widget(name).border_subtitle = _("not loaded")
        elif group == "claim":
            self._stop_claim_notice()
            title = _("Could not take the case")
            self._show_lease()
        elif group == "lease":
            title = _("Lease")
        if isinstance(error, ServiceError):
            text = str(error)
        else:
            text = _("The database did not answer: {error}").format(
                error=_first_line(error) if error else "?"
            )
        self.notify(text, title=title, severity="error", markup=False)


@dataclass(frozen=True)
class RevealChoice:
    field: PersonalField
    phone_id: int | None
    label: str


class RevealModal(ModalScreen[RevealChoice | None]):
    """Pick the one value to reveal; each reveal is a separate audited event."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "dismiss",
            N_("Cancel"),
            tooltip=N_("Close without revealing anything"),
            id="reveal.cancel",
        ),
    ]

    def __init__(self, detail: CaseDetail) -> None:
        super().__init__(id="reveal")
        localise_bindings(self)
        self.choices = [
            RevealChoice("id_number", None, _("ID number")),
            RevealChoice("address", None, _("Address")),
            *(
                RevealChoice(
                    "phone",
                    p.phone_id,
                    _("Phone {number} ({relation})").format(
                        number=p.number, relation=label("relation", p.relation)
                    ),
                )
                for p in detail.phones
            ),
        ]
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="reveal-box"):
            yield Static(
                Text(
                    _("Reveal personal data of {name}").format(name=self.detail.borrower_name),
                    style="bold",
                )
            )
            yield Static(
                Text(_("Your name and the field are recorded in the audit log."), style="dim")
            )
            yield OptionList(
                *(Option(Text(c.label), id=str(i)) for i, c in enumerate(self.choices)),
                id="reveal-options",
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[event.option_index])
