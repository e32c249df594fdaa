"""The one working screen: queue, case and contact log, collector's week, plan/agreement.

Wide terminals (>= 120 columns and >= 36 rows) show all four panes, the queue across
the top and the selected case below it; wide but short ones show the queue beside one
other pane; narrow ones show one pane at a time. F2-F5 choose a pane, Tab/Shift+Tab
cycle through them.

The screen holds the panes and the desk's state; its keys come in groups, each a class
of its own module mixed in here: the queue's filter and search (``queue_filter``),
leases (``leases``), the case in hand (``case_loading``), the calendar
(``calendar_actions``), the case keys (``case_actions``) and the agreement
(``agreement_actions``). The key table is ``bindings``.

Every database call runs in a thread worker that posts a message back; a worker that
fails is reported by the App's handler (``tui_desk.screens.failures``), which calls
``worker_failed`` here to put the panes right.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Container, Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import WorkerState

from tui_desk.formatting import label
from tui_desk.i18n import N_, _
from tui_desk.messages import CaseLoaded
from tui_desk.screens import localise_bindings
from tui_desk.screens.desk.agent_state import AgentStateKeys
from tui_desk.screens.desk.agreement_actions import AgreementKeys
from tui_desk.screens.desk.answers import AnswerNotices
from tui_desk.screens.desk.bindings import BINDINGS
from tui_desk.screens.desk.calendar_actions import CalendarKeys
from tui_desk.screens.desk.case_actions import CaseActions
from tui_desk.screens.desk.case_loading import CaseLoading
from tui_desk.screens.desk.host import DeskFilter, StateRequest, Typed
from tui_desk.screens.desk.leases import LeaseKeys
from tui_desk.screens.desk.my_day_keys import MyDayKeys
from tui_desk.screens.desk.offered import KeysOffered
from tui_desk.screens.desk.queue_filter import QueueFilterKeys
from tui_desk.screens.failures import WorkerFailure
from tui_desk.screens.paned import Pane, PanedScreen
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import database_unavailable
from tui_desk.views.agent_state import AgentStatus
from tui_desk.views.case import CaseBundle
from tui_desk.widgets.agreement_panel import AgreementPanel
from tui_desk.widgets.appointment_calendar import AppointmentCalendar
from tui_desk.widgets.case_header import CaseHeader
from tui_desk.widgets.contact_log import ContactLogPanel
from tui_desk.widgets.footer import DeskFooter
from tui_desk.widgets.outage import OutageLine
from tui_desk.widgets.queue_view import QueueFilterBar, QueueView
from tui_desk.widgets.state_badge import DeskHeader

if TYPE_CHECKING:
    from tui_desk.views.hand import CaseInHand


PANES: tuple[Pane, ...] = (
    Pane("queue", N_("Queue"), "F2", "#queue"),
    Pane("contacts", N_("Case and contacts"), "F3", "#contact-rows"),
    Pane("calendar", N_("Visit calendar"), "F4", "#calendar-days"),
    Pane("agreement", N_("Plan and agreement"), "F5", "#agreement-text"),
)


class DeskScreen(
    QueueFilterKeys,
    LeaseKeys,
    CaseLoading,
    CalendarKeys,
    CaseActions,
    AgreementKeys,
    AnswerNotices,
    MyDayKeys,
    AgentStateKeys,
    PanedScreen,
    inherit_bindings=False,
):
    """Four panes on the same case; the queue cursor decides which case that is."""

    PANES = PANES

    # The orphan warning line above the queue (shown only while there are orphans).
    DEFAULT_CSS = """
    #orphan-warning {
        height: 1;
        color: $warning;
        text-style: bold;
        padding: 0 1;
    }
    """

    # The longest the claim's worker waits for the claim to be drawn before reading
    # the case anyway (a busy terminal).
    CLAIM_FRAME_WAIT_SECONDS: ClassVar[float] = 0.25
    DEBOUNCE_SECONDS: ClassVar[float] = 0.15
    """Holding an arrow key moves the cursor ~30 rows/s; load only where it comes to rest."""
    LOADING_NOTICE_SECONDS: ClassVar[float] = 0.3
    HOLD_WRITES_SECONDS: ClassVar[float] = 0.5
    """The longest the background writes a claim starts (presence, the agent's state) wait
    for the claimed case's panes to be drawn (see ``_after_claimed_case``)."""
    HELD_AFTER_LOAD_SECONDS: ClassVar[float] = 0.03
    """...and how long after the claimed case was read: its frame is drawn by then."""
    """Say "loading..." on the case panes only when a read takes longer than this."""
    ORPHAN_COUNT_DELAY: ClassVar[float] = 0.2
    """Read the orphan count this long after the queue's rows changed (after the frame)."""
    SEARCH_DEBOUNCE_SECONDS: ClassVar[float] = 0.15
    """While typing, the search re-queries at most this often (and after the last key)."""
    HEARTBEAT_SECONDS: ClassVar[float] = 15.0
    """How often the desk tells the boards it is alive (offline after 60 s of silence)."""

    BINDINGS: ClassVar[list[BindingType]] = BINDINGS

    # Whether keys are kept for later follows these; the footer is told when it changes
    # (screens/desk/offered.py).
    claim_in_flight = KeysOffered(False)
    _hand_loading = KeysOffered(False)
    _replaying = KeysOffered(False)
    _replaying_key = KeysOffered(False)
    in_hand: KeysOffered[CaseInHand | None] = KeysOffered(None)

    STATE_TICK_SECONDS: ClassVar[float] = 1.0
    """How often the header's state timer is counted (on the desk's clock, no database)."""
    STATE_POLL_SECONDS: ClassVar[float] = 3.0
    """How often the stored state is read again: another desk of the same agent (or a
    supervisor's tool) may have changed it."""
    AUTO_RETRY_SECONDS: ClassVar[float] = 15.0
    """In auto mode with nothing to take, how long before the desk asks again."""

    LEASE_POLL_SECONDS: ClassVar[float] = 0.75
    # Answers to the operator's override requests are told within a second.
    ANSWER_POLL_SECONDS: ClassVar[float] = 0.9
    CALENDAR_POLL_SECONDS: ClassVar[float] = 3.0
    REPLAY_WAIT_SECONDS: ClassVar[float] = 0.02
    """While a form opened by a kept key saves, how often to look whether it is done."""
    """While a case is in hand, how often the desk reads who holds its lease."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "search":
            # While keys wait for a claim, "/" waits behind them (else they would be
            # replayed into the search line); with none waiting, searching goes on.
            return not (self.typing_ahead and self._typeahead)
        if action not in self._priority_actions:
            return True
        # While the search line has the focus, letters are text, not commands. While a
        # claim or the case's read is under way, they are kept (``on_key``) for later.
        return not isinstance(self.focused, Input) and not self.typing_ahead

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
        self.in_hand = None
        self.claim_in_flight = False
        self._hand_loading = False
        self._claims = 0
        self._replaying = False
        self._replaying_key = False
        self._replay_in_form = False
        self._typeahead: list[Typed] = []
        self.files_went: tuple[int, str] | None = None
        self._lease_timer: Timer | None = None
        self._beaten_case: int | None = None
        self._wanted: int | None = None
        self._debounce: Timer | None = None
        self._search_timer: Timer | None = None
        self._last_search = 0.0
        self._claim_frame_pending = False
        self._answers_since: tuple[dt.datetime, int] = (self.service.now(), 0)
        self._held_back: CaseLoaded | None = None
        self._loading_timer: Timer | None = None
        self._claim_notice: Timer | None = None
        self._after_load: tuple[int, Callable[[CaseBundle], None]] | None = None
        self._held_writes: list[Callable[[], None]] = []
        self._held_timer: Timer | None = None
        self._renew_timer: Timer | None = None
        self._orphan_timer: Timer | None = None
        self._orphans_shown: tuple[int, int, bool] | None = None
        # The calendar's view: a week (7) or a day (1), the case's collector or all of
        # them, from ``cal_start`` (None: around the case's latest visit).
        self.cal_span = 7
        self.cal_all = False
        self.cal_start: dt.date | None = None
        # The agent's state (agent_state.py): read when it changes, timed locally.
        self.agent_status: AgentStatus | None = None
        self.auto_mode = False
        self._state_requests: list[StateRequest] = []
        self._state_busy = False
        self._preview: tuple[int, dt.datetime] | None = None
        self._auto_taking = False
        self._skipped_case: int | None = None
        self._wrap_up_ended: dt.datetime | None = None
        self._advance_tried: tuple[dt.datetime | None, dt.datetime] | None = None
        self._auto_retrying = False
        self._state_lock = threading.Lock()
        self._leaving = False
        self._calendar_marker: int | None = None

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        tz = self.service.timezone
        yield DeskHeader(icon="#")
        yield OutageLine()
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
        yield DeskFooter()

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
        self._lease_timer = self.set_interval(self.LEASE_POLL_SECONDS, self._poll_lease)
        self.set_interval(self.ANSWER_POLL_SECONDS, self._poll_answers)
        self._start_states()
        self.set_interval(self.CALENDAR_POLL_SECONDS, self._poll_calendar)

    def on_unmount(self) -> None:
        # Leaving the desk frees the case at once rather than when its lease runs out, and
        # takes the agent off the boards. Bounded: a database that does not answer must
        # not keep the process alive.
        hand, self.in_hand = self.in_hand, None
        self._typeahead, self._replaying = [], False
        case_id = hand.case_id if hand is not None else None
        thread = threading.Thread(target=self._leave_quietly, args=(case_id,), daemon=True)
        thread.start()
        thread.join(timeout=3.0)

    def _beat(self) -> None:
        case_id = self.in_hand.case_id if self.in_hand is not None else None
        self._beaten_case = case_id

        def send() -> None:
            self._send_heartbeat(case_id)

        self._after_claimed_case(send)

    @work(thread=True, group="presence", exit_on_error=False)
    def _send_heartbeat(self, case_id: int | None) -> None:
        # Presence is advisory: a beat that fails is retried by the next one, and the
        # operator's own work reports any real trouble with the database. An outage is
        # the exception: raised, the app shows its one steady line (once) even on a desk
        # left idle, and probes until the database answers.
        try:
            self.service.heartbeat(case_id)
        except Exception as exc:
            if database_unavailable(exc):
                raise

    @property
    def queue(self) -> QueueView:
        return self.query_one(QueueView)

    def pane_shown(self, name: str) -> None:
        if name != "queue":
            self.side_pane = name
        for pane in PANES:
            self.pane_widget(pane.name).set_class(pane.name == self.side_pane, "-side")

    @property
    def is_settled(self) -> bool:
        """No case load is waiting on a debounce and no worker is running."""
        workers = [
            w for w in self.workers if w.group not in ("lease-poll", "answers", "state-poll")
        ]
        workers += self.queue.workers
        if any(isinstance(s, ModalScreen) for s in self.app.screen_stack):
            workers += [w for s in self.app.screen_stack for w in s.workers]
        return (
            self._debounce is None
            and self._orphan_timer is None
            and self._held_back is None
            and self._search_timer is None
            and not self.queue.is_loading
            and not self.claim_in_flight
            and not self._typeahead
            and not self._replaying
            and not self._held_writes
            and not any(w.is_running or w.state is WorkerState.PENDING for w in workers)
        )

    # --- failures ----------------------------------------------------------------------

    def worker_failed(self, failure: WorkerFailure) -> bool:
        """Called by the App's handler: put the panes right; the App tells the operator."""
        if failure.group in ("case", "claim"):
            self._release_held_writes()
        if failure.group == "case":
            self._loaded()
            if self.load_in_flight:
                self._hand_loading = False
                self._drop_typeahead(failure.reason)
            for name in self.pane_names()[1:]:
                self.set_pane_subtitle(name, _("not loaded"))
        elif failure.group == "agent-state":
            self._state_request_failed()
        elif failure.group == "claim":
            self._auto_taking = False
            if self.load_in_flight:  # the claim landed; reading its case failed
                self._loaded()
                self._hand_loading = False
                for name in self.pane_names()[1:]:
                    self.set_pane_subtitle(name, _("not loaded"))
            self.claim_in_flight = False
            self._stop_claim_notice()
            self._show_lease()
            self._drop_typeahead(failure.reason)
        return False
