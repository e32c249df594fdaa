"""Follow-ups (回访) after an agreement, as the desk lists them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class FollowUpLine(SafeText):
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
