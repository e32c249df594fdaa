"""Leases on the case in hand: take the next case (``n``), claim this one (``c``), renew
the lease while the case is open, release it when the operator moves on or leaves.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from textual import work

from tui_desk.formatting import label
from tui_desk.i18n import _
from tui_desk.messages import CaseClaimed, LeaseLost, LeaseRenewed, NothingToTake
from tui_desk.services.errors import ServiceError
from tui_desk.widgets.case_header import when_text

if TYPE_CHECKING:
    from tui_desk.screens.desk.host import DeskHost

    _Host = DeskHost
else:
    _Host = object


class LeaseKeys(_Host):
    """Take next, claim, renew, release."""

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
