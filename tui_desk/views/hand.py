"""The case in hand: the one case the desk works on, apart from the queue cursor."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class CaseInHand(SafeText):
    """The case the operator holds the lease on, as the desk knows it now.

    Case keys act on this record as it was when the key was pressed, never on the
    queue's cursor row. ``borrower_name`` is empty until the case has been read;
    ``reason`` says why take next chose it (a ``claim_reason`` code), if it did.
    """

    case_id: int
    borrower_name: str
    lease_until: dt.datetime
    version: int
    reason: str | None = None


@dataclass(frozen=True)
class LeaseState(SafeText):
    """Who holds a case's lease now, until when, and the case's version (one row read)."""

    case_id: int
    holder_id: int | None
    expires_at: dt.datetime | None
    version: int

    def held_by(self, agent_id: int, now: dt.datetime) -> bool:
        return self.holder_id == agent_id and self.expires_at is not None and self.expires_at > now
