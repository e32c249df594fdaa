"""What the desk's groups of keys may use of the screen: its state and each other's helpers.

The groups (``queue_filter``, ``leases``, ``case_loading``, ``calendar_actions``,
``case_actions``, ``agreement_actions``) are plain classes mixed into ``DeskScreen``.
Only the type checker sees them derive from ``DeskHost``; that way each group is checked
against the one screen it runs in, and the screen against what the groups expect of it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from tui_desk.screens.paned import PanedScreen
from tui_desk.widgets.queue_view import FilterState

if TYPE_CHECKING:
    from textual.timer import Timer

    from tui_desk.messages import CaseLoaded
    from tui_desk.services.desk import DeskService
    from tui_desk.views.agent_state import AgentStatus
    from tui_desk.views.case import CaseBundle
    from tui_desk.views.hand import CaseInHand
    from tui_desk.widgets.appointment_calendar import AppointmentCalendar
    from tui_desk.widgets.queue_view import QueueView
    from tui_desk.widgets.state_badge import AgentStateBadge


@dataclass(frozen=True)
class Typed:
    """A key typed while a claim or the case in hand's read was under way."""

    key: str
    character: str | None


@dataclass(frozen=True)
class StateRequest:
    """A change the desk asks of the service: ``open`` (ready unless already in a state),
    ``change`` (to ``state``), ``extend`` or ``skip`` (``case_id``, ``reason``).
    ``quiet``: the desk asked by itself; a refusal is not told (the badge shows the
    state the service kept)."""

    kind: str
    state: str | None = None
    reason: str | None = None
    case_id: int | None = None
    quiet: bool = False


@dataclass(frozen=True)
class DeskFilter(FilterState):
    """The filter keys' state, with "no next action" (``z``: orphaned cases) besides."""

    no_next_action: bool = False


class DeskHost(PanedScreen):
    ANSWER_POLL_SECONDS: ClassVar[float]
    CLAIM_FRAME_WAIT_SECONDS: ClassVar[float]
    DEBOUNCE_SECONDS: ClassVar[float]
    LOADING_NOTICE_SECONDS: ClassVar[float]
    ORPHAN_COUNT_DELAY: ClassVar[float]
    SEARCH_DEBOUNCE_SECONDS: ClassVar[float]

    service: DeskService
    side_pane: str
    bundle: CaseBundle | None
    """The case read last (what the case panes show)."""
    filter: DeskFilter
    in_hand: CaseInHand | None
    """The case the operator works (holds the lease on); case keys act on it."""
    claim_in_flight: bool
    _hand_loading: bool
    _claims: int
    """How many claims this desk has made (a lease read from before the last is stale)."""
    _replaying: bool
    """Kept keys are being typed again, one at a time."""
    _replaying_key: bool
    _replay_in_form: bool
    """A kept key is being typed again right now (its action runs)."""
    REPLAY_WAIT_SECONDS: ClassVar[float]
    _typeahead: list[Typed]
    files_went: tuple[int, str] | None
    """(case, where its exported or printed copies went): shown on the agreement pane."""
    """Keys typed while a claim or a read was under way, replayed in order after it."""
    cal_span: int
    cal_all: bool
    cal_start: dt.date | None
    _calendar_marker: int | None
    """The feed's marker when the calendar last looked (``CalendarKeys._poll_calendar``)."""
    _beaten_case: int | None
    _wanted: int | None
    """The case the operator chose (the cursor's, or the one claimed)."""
    _debounce: Timer | None
    _search_timer: Timer | None
    _last_search: float
    _claim_frame_pending: bool
    _answers_since: tuple[dt.datetime, int]
    _held_back: CaseLoaded | None
    _loading_timer: Timer | None
    _claim_notice: Timer | None
    _after_load: tuple[int, Callable[[CaseBundle], None]] | None
    HOLD_WRITES_SECONDS: ClassVar[float]
    HELD_AFTER_LOAD_SECONDS: ClassVar[float]
    _held_writes: list[Callable[[], None]]
    _held_timer: Timer | None
    _renew_timer: Timer | None
    _orphan_timer: Timer | None
    _orphans_shown: tuple[int, int, bool] | None
    _lease_timer: Timer | None
    # The agent's state (agent_state.py).
    STATE_TICK_SECONDS: ClassVar[float]
    STATE_POLL_SECONDS: ClassVar[float]
    AUTO_RETRY_SECONDS: ClassVar[float]
    agent_status: AgentStatus | None
    """The agent's state as the service last stored it (None until it is read)."""
    auto_mode: bool
    _state_badge: AgentStateBadge
    _state_requests: list[StateRequest]
    _state_busy: bool
    _preview: tuple[int, dt.datetime] | None
    """(case auto mode gave, end of its preview)."""
    _auto_taking: bool
    _skipped_case: int | None
    _wrap_up_ended: dt.datetime | None
    _advance_tried: tuple[dt.datetime | None, dt.datetime] | None
    _auto_retrying: bool
    """Auto mode asks again for a case after finding none: say nothing if none comes."""
    _state_lock: threading.Lock
    """Held by a state change while it writes, and by the desk going offline."""
    _leaving: bool

    # --- the screen (screen.py)

    @property
    def queue(self) -> QueueView:
        raise NotImplementedError

    def _beat(self) -> None: ...

    # --- the case in hand (case_loading.py)

    def _select(self, case_id: int, *, immediate: bool) -> None: ...

    def _start_case_load(self, case_id: int) -> None: ...

    def _start_loading_notice(self) -> None: ...

    def on_case_loaded(self, message: CaseLoaded) -> None: ...

    def _loaded(self) -> None: ...

    def _with_bundle(self, run: Callable[[CaseBundle], None]) -> None: ...

    def _with_case(self, action: str, run: Callable[[CaseBundle], None]) -> None: ...

    @property
    def load_in_flight(self) -> bool:
        raise NotImplementedError

    @property
    def typing_ahead(self) -> bool:
        raise NotImplementedError

    @property
    def waiting_for_case(self) -> bool:
        raise NotImplementedError

    def _replay_typeahead(self) -> None: ...

    def _drop_typeahead(self, reason: str) -> None: ...

    def _after_write(self, case_id: int) -> None: ...

    def _after_claimed_case(self, run: Callable[[], None]) -> None: ...

    def _release_held_writes(self) -> None: ...

    def _case_changed(self, case_id: int) -> None: ...

    # --- leases (leases.py)

    def _release_lease(self) -> None: ...

    def _show_lease(self) -> None: ...

    def _claim(self, case_id: int) -> None: ...

    def _lose_case(self, case_id: int, reason: str) -> None: ...

    def _poll_lease(self) -> None: ...

    def action_back_to_case(self) -> None: ...

    def _stop_claim_notice(self) -> None: ...

    def action_take_next(self) -> None: ...

    # --- the agent's state (agent_state.py)

    def _state_on_claim(self, case_id: int) -> None: ...

    def _state_on_outcome(self, case_id: int) -> None: ...

    def _state_claim_ended(self) -> None: ...

    # --- the calendar (calendar_actions.py)

    @property
    def calendar(self) -> AppointmentCalendar:
        raise NotImplementedError

    def _calendar_for_case(self, bundle: CaseBundle) -> None: ...

    def _calendar_subtitle(self) -> None: ...
