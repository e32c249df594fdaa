"""The queue as the desk shows it: one row per open case, keyset pages, claims."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from tui_desk.domain import Stage
from tui_desk.views.safe import SafeText

QueueKey = tuple[int, int]
"""Position in the queue: (priority, case id); the queue is ordered by it, descending."""


@dataclass(frozen=True)
class QueueRow(SafeText):
    case_id: int
    priority: int
    dpd: int
    bucket: str
    borrower_name: str
    overdue_minor: int
    currency: str
    stage: Stage
    owner_name: str | None
    next_action_at: dt.datetime | None
    phone_masked: str | None
    why: str
    on_hold: bool
    stale: bool
    # Filled by services.queue.queue_page; defaulted so older callers keep working.
    broken_promises: int = 0
    next_action_due: bool = False
    registered: bool = False
    owner_id: int | None = None
    # Only a live lease (expiry after the ``now`` the row was read at); an expired one
    # is nobody's, so it is not shown.
    lease_holder_name: str | None = None
    lease_expires_at: dt.datetime | None = None
    callback_at: dt.datetime | None = None

    @property
    def key(self) -> QueueKey:
        return (self.priority, self.case_id)


@dataclass(frozen=True)
class QueuePage(SafeText):
    rows: tuple[QueueRow, ...]
    more_after: bool
    more_before: bool


ClaimReason = Literal["callback", "owned", "pool", "stale", "opened"]


@dataclass(frozen=True)
class Claim(SafeText):
    case_id: int
    reason: str  # ClaimReason
    lease_expires_at: dt.datetime
    version: int
