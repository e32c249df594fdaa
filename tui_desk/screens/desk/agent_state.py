"""The agent's state at the desk (``B`` pause/ready, ``E`` extend wrap-up), and auto mode
(``N``) with its preview (``X`` skips the case it gave).

Opening the desk makes the agent ready; taking a case makes them working; logging an
outcome starts the profile's wrap-up, which ends into ready by itself; leaving the desk
(or hanging up) makes them offline. Changes go to the service one at a time, in the
order they were asked (a thread worker each), and the header's badge shows what the
service stored. The badge's timer is counted on the desk's clock each second: no
database read, no layout.

Auto mode: whenever the agent is ready (a wrap-up ended, ``B`` back from a pause, a
skip) and nothing else is under way, the desk takes the next case by itself through
the same path as ``n``, so every case-in-hand rule holds (keys typed belong to the case
on screen). The case is shown with a preview countdown during which ``X`` skips it with
a reason; the skip is recorded and the next case comes. A paused agent is never given
a case.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import TYPE_CHECKING

from textual import work

from tui_desk.domain import AgentState
from tui_desk.i18n import _
from tui_desk.messages import AgentStateChanged, AgentStateRefused
from tui_desk.screens.desk.host import StateRequest
from tui_desk.screens.failures import under_way
from tui_desk.services.errors import ServiceError
from tui_desk.views.agent_state import AgentStatus
from tui_desk.widgets.state_badge import AgentStateBadge

if TYPE_CHECKING:
    from tui_desk.screens.desk.host import DeskHost

    _Host = DeskHost
else:
    _Host = object


class AgentStateKeys(_Host):
    """States, auto mode and the preview."""

    # --- the state, asked of the service in order ------------------------------------

    def _start_states(self) -> None:
        self._state_badge = self.query_one(AgentStateBadge)
        self._show_state()
        self._ask_state(StateRequest("open", quiet=True))
        self.set_interval(self.STATE_TICK_SECONDS, self._tick_state)
        self.set_interval(self.STATE_POLL_SECONDS, self._poll_state)

    def _ask_state(self, request: StateRequest) -> None:
        self._state_requests.append(request)
        self._next_state_request()

    def _next_state_request(self, *, held: bool = False) -> None:
        if self._state_busy or not self._state_requests:
            return
        if self.load_in_flight and not held:
            # In order, after the claimed case is on screen (``_after_claimed_case``),
            # or when the hold ends even if its read is still under way.
            self._after_claimed_case(partial(self._next_state_request, held=True))
            return
        self._state_busy = True
        self._change_state(self._state_requests.pop(0))

    @work(thread=True, group="agent-state", exit_on_error=False)
    def _change_state(self, request: StateRequest) -> None:
        # One change at a time reaches the database, and none after the desk went
        # offline on its way out (``_leave_quietly`` takes the lock to do that).
        with self._state_lock:
            if self._leaving:
                return
            try:
                status, skipped = self._apply_state(request)
            except ServiceError as exc:
                reason = "" if request.quiet else str(exc)
                self.post_message(AgentStateRefused(request.kind, reason))
                return
        self.post_message(AgentStateChanged(status, request.kind, skipped=skipped))

    def _apply_state(self, request: StateRequest) -> tuple[AgentStatus, int | None]:
        """In the worker: the service call ``request`` stands for."""
        service = self.service
        if request.kind == "open":
            status = service.agent_state()
            if status.is_offline:
                status = service.change_state(AgentState.READY.value)
            return status, None
        if request.kind == "extend":
            return service.extend_wrap_up(), None
        if request.kind == "skip":
            assert request.case_id is not None and request.reason is not None
            result = service.skip_case(request.case_id, request.reason)
            return result.status, result.case_id
        assert request.state is not None
        status = service.change_state(request.state, reason=request.reason, case_id=request.case_id)
        return status, None

    def on_agent_state_changed(self, message: AgentStateChanged) -> None:
        self._state_busy = False
        self.agent_status = message.status
        if message.skipped is not None:
            self._skipped(message.skipped)
        self._show_state()
        self._next_state_request()
        self._maybe_advance()

    def _poll_state(self) -> None:
        if self._state_busy or self._state_requests or under_way(self, "state-poll"):
            return  # this desk's own change is on its way, or the last read is
        self._read_state()

    @work(thread=True, group="state-poll", exit_on_error=False)
    def _read_state(self) -> None:
        # Advisory like the lease poll: a read that fails is tried again next time.
        try:
            status = self.service.agent_state()
        except Exception:
            return
        self.app.call_from_thread(self._state_seen, status)

    def _state_seen(self, status: AgentStatus) -> None:
        """The stored state, read by the poll: shown if it changed elsewhere (another desk
        of the same agent), unless this desk has a change of its own on the way."""
        if self._state_busy or self._state_requests or status == self.agent_status:
            return
        if self.agent_status is None:
            return  # not opened yet: the open request tells
        if status.is_offline:
            # The other desk of this agent was left and signed the agent off; this one
            # is still here: on again, as when a desk opens.
            self._ask_state(StateRequest("open", quiet=True))
            return
        self.agent_status = status
        self._show_state()

    def on_agent_state_refused(self, message: AgentStateRefused) -> None:
        self._state_busy = False
        if message.reason:
            self.notify(message.reason, title=_("State"), severity="warning", markup=False)
        self._next_state_request()

    def _state_request_failed(self) -> None:
        """The state's worker failed (the App told the operator): go on with the next."""
        self._state_busy = False
        self._next_state_request()

    # --- the badge -----------------------------------------------------------------------

    def _show_state(self) -> None:
        preview = self._preview
        self._state_badge.show(
            self.agent_status,
            auto=self.auto_mode,
            now=self.service.now(),
            preview_until=preview[1] if preview is not None else None,
            extend_seconds=self.service.profile.states.wrap_up_extend_seconds,
        )

    def _tick_state(self) -> None:
        """Each second: the timer, and what time alone changes (a wrap-up or a preview
        ending, auto mode's next case)."""
        now = self.service.now()
        status = self.agent_status
        if self._preview is not None and now >= self._preview[1]:
            self._preview = None
            self._show_state()
        if (
            status is not None
            and status.state is AgentState.WRAP_UP
            and status.wrap_up_until is not None
            and now >= status.wrap_up_until
            and self._wrap_up_ended != status.since
        ):
            self._wrap_up_ended = status.since
            self._ask_state(StateRequest("change", AgentState.READY.value, quiet=True))
        self._state_badge.tick(now)
        self._maybe_advance()

    # --- what the desk's other keys change -------------------------------------------

    def _state_on_claim(self, case_id: int) -> None:
        """A case was claimed (``n``, ``c``, Enter, or auto mode): working on it."""
        auto, self._auto_taking = self._auto_taking, False
        self._skipped_case = None
        seconds = self.service.preview_seconds
        now = self.service.now()
        self._preview = (
            (case_id, now + dt.timedelta(seconds=seconds)) if auto and seconds > 0 else None
        )
        self._ask_state(
            StateRequest("change", AgentState.WORKING.value, case_id=case_id, quiet=True)
        )
        self._show_state()

    def _state_on_outcome(self, case_id: int) -> None:
        """An outcome was logged on the case in hand: the wrap-up begins."""
        hand = self.in_hand
        if hand is None or hand.case_id != case_id:
            return
        self._preview = None
        self._ask_state(
            StateRequest("change", AgentState.WRAP_UP.value, case_id=case_id, quiet=True)
        )

    def _state_claim_ended(self) -> None:
        """A claim found nothing to take, or failed."""
        self._auto_taking = False
        skipped, self._skipped_case = self._skipped_case, None
        hand = self.in_hand
        if skipped is not None and hand is not None and hand.case_id == skipped:
            self._release_lease()  # the skipped case goes back to the others

    # --- keys ------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        status = self.agent_status
        if status is None:
            self.notify(_("Your state is being read; try again in a moment."))
            return
        if status.state is AgentState.PAUSED:
            self._ask_state(StateRequest("change", AgentState.READY.value))
            return

        def picked(reason: str | None) -> None:
            if reason is not None:
                self._ask_state(StateRequest("change", AgentState.PAUSED.value, reason=reason))

        from tui_desk.screens.state_modals import ReasonModal

        self.app.push_screen(
            ReasonModal(_("Pause: why?"), "pause_reason", self.service.pause_reasons), picked
        )

    def action_extend_wrap_up(self) -> None:
        status = self.agent_status
        if status is None or status.state is not AgentState.WRAP_UP:
            self.notify(_("E extends a wrap-up; you are not wrapping up."), severity="warning")
            return
        if status.extended:
            self.notify(_("This wrap-up was already extended once."), severity="warning")
            return
        self._ask_state(StateRequest("extend"))

    def action_toggle_auto(self) -> None:
        self.auto_mode = not self.auto_mode
        if self.auto_mode:
            self.notify(_("Auto mode: when you are ready, the next case comes by itself."))
        else:
            self._preview = None
            self.notify(_("Manual mode: n takes the next case."))
        self._show_state()
        self._maybe_advance()

    def action_skip_case(self) -> None:
        preview, hand = self._preview, self.in_hand
        if preview is None or hand is None or hand.case_id != preview[0]:
            self.notify(
                _("Nothing to skip: X skips a case auto mode has just given you."),
                severity="warning",
            )
            return
        case_id = hand.case_id  # the case on screen when X was pressed

        def picked(reason: str | None) -> None:
            if reason is not None:
                self._ask_state(StateRequest("skip", reason=reason, case_id=case_id))

        from tui_desk.screens.state_modals import ReasonModal

        self.app.push_screen(
            ReasonModal(
                _("Skip case {case_id}: why?").format(case_id=case_id),
                "skip_reason",
                self.service.skip_reasons,
            ),
            picked,
        )

    def _skipped(self, case_id: int) -> None:
        self._preview = None
        self.notify(_("Case {case_id} skipped.").format(case_id=case_id), title=_("Skip"))
        hand = self.in_hand
        if hand is None or hand.case_id != case_id:
            return
        if self.auto_mode:
            self._skipped_case = case_id  # released by the next claim, or when none comes
        else:
            self._release_lease()

    # --- auto mode -------------------------------------------------------------------

    def _maybe_advance(self) -> None:
        """In auto mode, a ready agent with nothing under way gets the next case."""
        status = self.agent_status
        if not self.auto_mode or status is None or status.state is not AgentState.READY:
            return
        if self._state_busy or self._state_requests:
            return
        if self.claim_in_flight or self.waiting_for_case or self._typeahead or self._replaying:
            return
        if not self.app.screen_stack or self.app.screen_stack[-1] is not self:
            return  # a form or a list is open: the next case waits for it
        now = self.service.now()
        tried = self._advance_tried
        retry = dt.timedelta(seconds=self.AUTO_RETRY_SECONDS)
        if tried is not None and tried[0] == status.since and now - tried[1] < retry:
            return  # nothing was left to take a moment ago: ask again later
        self._auto_retrying = tried is not None and tried[0] == status.since
        self._advance_tried = (status.since, now)
        self._auto_taking = True
        self.action_take_next()

    @property
    def state_text(self) -> str:
        """What the header's badge shows (tests, and the help)."""
        return self._state_badge.text
