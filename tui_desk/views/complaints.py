"""Complaints about the collection, as the desk and the supervisors list them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.domain import Channel, ComplaintStatus
from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class ComplaintLine(SafeText):
    complaint_id: int
    case_id: int
    borrower_name: str
    against: str | None
    status: ComplaintStatus
    channel: Channel
    received_at: dt.datetime
    description: str
    resolution: str | None
    held: bool = False
    """The complaint placed a hold that is still in force (resolving it offers release)."""
