"""Follow-ups (回访) after an agreement, as the desk lists them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class FollowUpLine:
    follow_up_id: int
    case_id: int
    agreement_id: int | None
    borrower_name: str
    due_on: dt.date
    channel: str
    owner_id: int | None
    owner_name: str | None
    status: str
    days_overdue: int
    note: str | None = None
