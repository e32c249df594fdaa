"""Leases on the case in hand: take the next case (``n``), claim this one (``c``), renew
the lease while the case is open, release it when the operator moves on or leaves.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual import work
from textual.worker import get_current_worker

from tui_desk.i18n import _
from tui_desk.messages import (
    CaseClaimed,
    CaseLoaded,
    LeaseChecked,
    LeaseLost,
    LeaseRenewed,
    NothingToTake,
)
from tui_desk.screens.failures import under_way
from tui_desk.services.errors import ServiceError
from tui_desk.views.hand import CaseInHand
from tui_desk.widgets.case_header import CaseHeader, when_text

if TYPE_CHECKING:
    from tui_desk.screens.desk.host import DeskHost

    _Host = DeskHost
else:
    _Host = object


CLAIM_FRAME_TRIES = 3
"""How many more refreshes the claim's frame is waited for (see ``_not_drawn_yet``)."""


def _not_drawn_yet(screen: Any, *widgets: Any) -> bool:
    """Whether the claim's changes still wait to be drawn.

    Textual runs an after-refresh callback once the screen is idle with nothing to draw,
    which can come before a widget's repaint has reached the screen (a widget posts it
    from its own idle): the case's read would then start before the claim was drawn, and
    both would show in one frame. Those widgets' and the screen's pending work say so.
    """
    for node in (screen, *widgets):
        if getattr(node, "_repaint_required", False) or getattr(node, "_layout_required", False):
            return True
    return bool(getattr(screen, "_dirty_widgets", None))


class LeaseKeys(_Host):
    """Take next, claim, renew, release."""

    def action_take_next(self) -> None:
        # A busy line only if the claim is slow (a database under load): a quick one is
        # drawn in one frame.
        self._stop_claim_notice()
        self._claim_notice = self.set_timer(0.1, self._show_taking)
        self.claim_in_flight = True
        self._take_next()

    def _show_taking(self) -> None:
        self._claim_notice = None
        self.set_pane_subtitle("queue", _("taking the next case..."))

    def _stop_claim_notice(self) -> None:
        if self._claim_notice is not None:
            self._claim_notice.stop()
            self._claim_notice = None

    @work(thread=True, group="claim", exclusive=True, exit_on_error=False)
    def _take_next(self) -> None:
        claim = self.service.take_next()
        if claim is None:
            self.post_message(NothingToTake())
            return
        claimed = CaseClaimed(claim, taken_next=True)
        self.post_message(claimed)
        self._read_claimed(claimed)

    def action_claim(self) -> None:
        case_id = self.queue.case_id
        if case_id is None:
            self.notify(_("Select a case first."), severity="warning")
            return
        if self.in_hand is not None and self.in_hand.case_id == case_id:
            self.action_back_to_case()
            self.notify(_("You already hold this case."))
            return
        self._claim(case_id)

    def _claim(self, case_id: int) -> None:
        self.claim_in_flight = True
        self._claim_in_worker(case_id)

    @work(thread=True, group="claim", exclusive=True, exit_on_error=False)
    def _claim_in_worker(self, case_id: int) -> None:
        claimed = CaseClaimed(self.service.claim(case_id), taken_next=False)
        self.post_message(claimed)
        self._read_claimed(claimed)

    def _read_claimed(self, claimed: CaseClaimed) -> None:
        """In the claim's own worker: read the case as soon as the claim is on screen (no
        timer, no second worker to start), not while it is drawn, which the read would
        slow down."""
        claimed.drawn.wait(self.CLAIM_FRAME_WAIT_SECONDS)
        if get_current_worker().is_cancelled:
            return
        bundle = self.service.case(claimed.claim.case_id)
        if not get_current_worker().is_cancelled:
            self.post_message(CaseLoaded(bundle))

    def action_release_case(self) -> None:
        hand = self.in_hand
        if hand is None:
            self.notify(_("No case in hand."), severity="warning")
            return
        self._release_lease()
        self.notify(_("Case {case_id} released.").format(case_id=hand.case_id))

    def action_back_to_case(self) -> None:
        """The queue cursor and the case panes go back to the case in hand."""
        hand = self.in_hand
        if hand is None:
            self.notify(_("No case in hand: n takes the next case."), severity="warning")
            return
        self.queue.show_case(hand.case_id)
        if self.bundle is None or self.bundle.case_id != hand.case_id:
            self._select(hand.case_id, immediate=True)
        if self.has_class("-narrow"):
            self._show("contacts")

    def on_nothing_to_take(self, _message: NothingToTake) -> None:
        self.claim_in_flight = False
        self._stop_claim_notice()
        self._show_lease()
        if not (self._auto_taking and self._auto_retrying):
            self.notify(_("No case to take right now: nothing due, nothing unowned."))
        self._drop_typeahead(_("no case was taken"))
        self._state_claim_ended()

    def on_case_claimed(self, message: CaseClaimed) -> None:
        claim = message.claim
        self.claim_in_flight = False
        self._stop_claim_notice()
        # The service released our previous lease in the same transaction.
        self.in_hand = CaseInHand(
            claim.case_id,
            "",
            claim.lease_expires_at,
            claim.version,
            reason=claim.reason if message.taken_next else None,
        )
        self._claims += 1
        self._hand_loading = True
        self._start_renewing()
        self._wanted = claim.case_id
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        self.queue.show_case(claim.case_id)
        self._show_lease()
        if self.has_class("-narrow"):
            self._show("contacts")
        # The header's pin says which case is now ours, until when and why take next
        # chose it; a toast on every claim would only cover the screen.
        # The claim's worker reads the case next. The claim is drawn first (cursor, lease
        # line), the case panes in the frame after: drawing them costs tens of
        # milliseconds and would hold up the frame that tells the operator which case
        # is theirs.
        self._claim_frame_pending = True
        self.call_after_refresh(self._claim_drawn, message.drawn)
        self._start_loading_notice()
        self._state_on_claim(claim.case_id)

    def _claim_drawn(self, drawn: threading.Event, tries: int = 0) -> None:
        if tries < CLAIM_FRAME_TRIES and _not_drawn_yet(
            self, self.query_one(CaseHeader), self.queue
        ):
            self.call_after_refresh(self._claim_drawn, drawn, tries + 1)
            return
        drawn.set()
        self._claim_frame_pending = False
        held, self._held_back = self._held_back, None
        if held is not None:
            self.on_case_loaded(held)

    def _show_lease(self) -> None:
        hand = self.in_hand
        if (hand.case_id if hand is not None else None) != self._beaten_case:
            self._beat()  # the boards see the operator move to another case at once
        self.query_one(CaseHeader).pin(hand, now=self.service.now())
        if hand is None:
            self.set_pane_subtitle("queue", _("n takes the next case"))
            return
        self.set_pane_subtitle(
            "queue",
            _("working case {case_id} until {time}").format(
                case_id=hand.case_id,
                time=when_text(hand.lease_until, self.service.timezone, self.service.now()),
            ),
        )

    def _start_renewing(self) -> None:
        if self._renew_timer is not None:
            self._renew_timer.stop()
        # A third of the lease: two renewals may fail (a busy database) before it lapses.
        interval = max(5.0, self.service.lease_minutes * 60 / 3)
        self._renew_timer = self.set_interval(interval, self._renew_now)

    def _renew_now(self) -> None:
        if self.in_hand is not None:
            self._renew(self.in_hand.case_id)

    @work(thread=True, group="lease", exit_on_error=False)
    def _renew(self, case_id: int) -> None:
        try:
            expires_at = self.service.renew(case_id)
        except ServiceError as exc:
            self.post_message(LeaseLost(case_id, str(exc)))
            return
        self.post_message(LeaseRenewed(case_id, expires_at))

    def on_lease_renewed(self, message: LeaseRenewed) -> None:
        if self.in_hand is not None and self.in_hand.case_id == message.case_id:
            self.in_hand = replace(self.in_hand, lease_until=message.expires_at)
            self._show_lease()

    def on_lease_lost(self, message: LeaseLost) -> None:
        self._lose_case(message.case_id, message.reason)

    # --- following the lease: a supervisor's release, a reassignment, an expiry -----

    def _poll_lease(self) -> None:
        hand = self.in_hand
        if hand is None or self.claim_in_flight:
            return
        if under_way(self, "lease-poll"):
            return  # a slow database: one read at a time, the next tick asks again
        self._read_lease(hand.case_id, self._claims)

    @work(thread=True, group="lease-poll", exit_on_error=False)
    def _read_lease(self, case_id: int, claims: int) -> None:
        # Advisory like the heartbeat: a read that fails is retried by the next poll.
        with contextlib.suppress(Exception):
            self.post_message(LeaseChecked(self.service.lease_state(case_id), claims))

    def on_lease_checked(self, message: LeaseChecked) -> None:
        state, hand = message.state, self.in_hand
        if hand is None or hand.case_id != state.case_id or self.claim_in_flight:
            return
        if message.claims != self._claims:
            return  # read before the case was claimed (again)
        now = self.service.now()
        if not state.held_by(self.service.actor.id, now):
            if state.holder_id is None:
                reason = _("The lease on case {case_id} was released.")
            elif state.holder_id != self.service.actor.id:
                reason = _("Case {case_id} was given to someone else.")
            else:
                reason = _("The lease on case {case_id} ran out.")
            self._lose_case(hand.case_id, reason.format(case_id=hand.case_id))
            return
        if state.expires_at != hand.lease_until or state.version != hand.version:
            assert state.expires_at is not None  # held_by says so
            self.in_hand = replace(hand, lease_until=state.expires_at, version=state.version)
            self._show_lease()

    def _lose_case(self, case_id: int, reason: str) -> None:
        """The case in hand is no longer ours: say so, drop it, tell an open form."""
        if self.in_hand is None or self.in_hand.case_id != case_id:
            return
        self.in_hand = None
        self._hand_loading = False
        if self._renew_timer is not None:
            self._renew_timer.stop()
            self._renew_timer = None
        self._show_lease()
        self.query_one(CaseHeader).pin(None, lost=reason)
        title = _("Case {case_id} is no longer yours").format(case_id=case_id)
        self.notify(reason, title=title, severity="warning", markup=False)
        stack = self.app.screen_stack  # empty while the app closes
        lease_lost: Any = getattr(stack[-1], "lease_lost", None) if stack else None
        if callable(lease_lost):
            lease_lost(reason)
        self._drop_typeahead(title)

    def _release_lease(self) -> None:
        lease, self.in_hand = self.in_hand, None
        self._hand_loading = False
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
        # the presence row turns stale, should the database not answer (the worker then
        # takes the agent offline at the last heartbeat).
        if case_id is not None:
            with contextlib.suppress(Exception):
                self.service.release(case_id)
        # Off the boards before the state's write: leaving is bounded in time, and a state
        # left open is closed by the worker's stale_states job, a presence row is not.
        with contextlib.suppress(Exception):
            self.service.sign_off()
        # A state change under way is let finish first (bounded), and none starts after.
        locked = self._state_lock.acquire(timeout=1.5)
        try:
            self._leaving = True
            with contextlib.suppress(Exception):
                self.service.go_offline()
        finally:
            if locked:
                self._state_lock.release()
