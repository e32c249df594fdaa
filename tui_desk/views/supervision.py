"""What supervisors review: override requests, the audit trail, a case's visits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class OverrideRequestLine(SafeText):
    request_id: int
    case_id: int
    borrower_name: str
    rule: str
    requested_by_id: int
    requested_by_login: str
    requested_by_name: str
    requested_at: dt.datetime
    reason: str
    status: str
    """An ``OverrideRequestStatus`` value: pending, approved, rejected, withdrawn."""
    decided_by_login: str | None
    decided_at: dt.datetime | None
    decision_note: str | None
    override_id: int | None
    override_expires_at: dt.datetime | None = None
    """Until when the granted override waives the rule (approved requests)."""


@dataclass(frozen=True)
class AuditLine(SafeText):
    event_id: int
    occurred_at: dt.datetime
    agent_login: str | None
    agent_name: str | None
    action: str
    entity: str
    entity_id: int | None
    case_id: int | None
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class AuditPage(SafeText):
    lines: tuple[AuditLine, ...]
    more: bool
    """Older events match the filter: ask again with ``before_id=next_before``."""
    agent_names: tuple[tuple[int, str], ...] = ()
    """The names of the agents the events' data refers to by id (a lease's holder)."""

    @property
    def names(self) -> dict[int, str]:
        return dict(self.agent_names)

    @property
    def next_before(self) -> int | None:
        return self.lines[-1].event_id if self.lines else None


@dataclass(frozen=True)
class CaseVisitLine(SafeText):
    appointment_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    collector_name: str
    district: str
    status: str
