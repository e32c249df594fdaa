"""Text messages: a preview before sending, a queued message, and the outbox as shown."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.domain import OutboxStatus
from tui_desk.formatting import label
from tui_desk.i18n import _
from tui_desk.rules.sms import SmsLength
from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class SmsPreview(SafeText):
    template: str
    text: str
    length: SmsLength
    phone_id: int
    number: str
    """Masked."""
    allowed: bool
    rule: str | None
    reason: str
    allowed_from: dt.datetime | None


@dataclass(frozen=True)
class QueuedSms(SafeText):
    outbox_id: int
    contact_id: int
    segments: int
    number: str
    case_version: int


@dataclass(frozen=True)
class OutboxLine(SafeText):
    outbox_id: int
    created_at: dt.datetime
    template: str
    number: str
    """Masked."""
    status: OutboxStatus
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None

    def describe(self) -> str:
        """``queued``, ``queued (attempt 3: HTTP 503)``, ``failed: reason``, ``delivered``."""
        state = label("sms_status", self.status.value)
        if self.status is OutboxStatus.FAILED:
            return _("failed: {reason}").format(reason=self.last_error or _("unknown"))
        if self.status in (OutboxStatus.PENDING, OutboxStatus.SENDING) and self.last_error:
            return _("{state} (attempt {n}: {error})").format(
                state=state, n=self.attempts, error=self.last_error
            )
        return state
