"""Answers to the operator's override requests, told on the desk as they come.

An operator who asked a supervisor to waive a contact rule goes on working; within a
second of the decision the desk says what was decided, by whom and until when, and the
case in hand is read again when the answer concerns it (the contact line changes).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from textual import work

from tui_desk.formatting import local
from tui_desk.i18n import _
from tui_desk.messages import OverridesAnswered
from tui_desk.screens.failures import under_way
from tui_desk.views.supervision import OverrideRequestLine

if TYPE_CHECKING:
    from tui_desk.screens.desk.host import DeskHost

    _Host = DeskHost
else:
    _Host = object


class AnswerNotices(_Host):
    """Poll for this operator's answered override requests and tell them."""

    def _poll_answers(self) -> None:
        if under_way(self, "answers"):
            return  # a slow database: one read at a time
        self._read_answers(*self._answers_since)

    @work(thread=True, group="answers", exit_on_error=False)
    def _read_answers(self, since: dt.datetime, after_id: int) -> None:
        # Advisory like the lease poll: a read that fails is tried again next tick.
        try:
            lines = self.service.my_answered_requests(since, after_id)
        except Exception:
            return
        if lines:
            self.post_message(OverridesAnswered(lines))

    def on_overrides_answered(self, message: OverridesAnswered) -> None:
        for line in message.lines:
            if line.decided_at is None:
                continue
            seen = (line.decided_at, line.request_id)
            if seen <= self._answers_since:
                continue  # told already (two reads crossed)
            self._answers_since = seen
            self._tell_answer(line)
            hand = self.in_hand
            if hand is not None and hand.case_id == line.case_id and not self.waiting_for_case:
                self._select(line.case_id, immediate=True)

    def _tell_answer(self, line: OverrideRequestLine) -> None:
        from tui_desk.screens.override_modal import rule_label

        values = {
            "rule": rule_label(line.rule),
            "case_id": line.case_id,
            "name": line.borrower_name,
            "login": line.decided_by_login or "-",
        }
        if line.status == "approved":
            text = _("{login} waived {rule} on case {case_id} ({name}).").format(**values)
            if line.override_expires_at is not None:
                text += " " + _("You may contact until {time}.").format(
                    time=local(line.override_expires_at, self.service.timezone, "%H:%M")
                )
            self.notify(text, title=_("Override approved"), timeout=12, markup=False)
            return
        text = _("{login} refused to waive {rule} on case {case_id} ({name}).").format(**values)
        if line.decision_note:
            text += " " + line.decision_note
        self.notify(text, title=_("Override refused"), severity="warning", timeout=12, markup=False)
