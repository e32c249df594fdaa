"""What an import reports: the summary of a batch and the door money still unmatched."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from tui_desk.rules.imports import Rejected
from tui_desk.services.errors import ServiceError

# The summary and the audit event list at most this many rejections, cases and door
# collections; the counts are always complete.
LIST_LIMIT = 100

Progress = Callable[[int, int | None], None]
"""Called with (rows done, rows in total or None when the source does not say)."""


class ImportFailed(ServiceError):
    """The source could not be read to the end; ``summary`` says what was imported before."""

    def __init__(self, message: str, summary: ImportSummary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass(frozen=True)
class DoorCollection:
    """Money a collector took at the door that no bank payment has matched yet."""

    report_id: int
    case_id: int
    amount_minor: int
    collected_at: dt.datetime
    receipt_no: str | None


@dataclass
class ImportSummary:
    batch_id: int
    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejected] = field(default_factory=list)
    cases_opened: list[int] = field(default_factory=list)
    cases_reopened: list[int] = field(default_factory=list)
    cases_toward_archive: list[int] = field(default_factory=list)
    payments_applied: int = 0
    unmatched_door: list[DoorCollection] = field(default_factory=list)
    unmatched_door_total: int = 0
    error: str | None = None
    elapsed_seconds: float = 0.0
    commit_seconds: list[float] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected
