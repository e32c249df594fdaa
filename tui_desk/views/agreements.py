"""A case's repayment plan and agreement as the desk shows them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from tui_desk.domain import (
    AgreementStatus,
    Frequency,
    GraceMode,
    InstalmentStatus,
    PlanKind,
    PlanStatus,
)
from tui_desk.rules.agreements import Content
from tui_desk.rules.balance import LineShown
from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class InstalmentLine(SafeText):
    seq: int
    due_on: dt.date
    amount_minor: int
    paid_minor: int
    status: InstalmentStatus
    shown: LineShown = LineShown.DUE
    """As a person reads it: *upcoming* before its date, *due* only from it."""

    @property
    def open_minor(self) -> int:
        return max(0, self.amount_minor - self.paid_minor)


@dataclass(frozen=True)
class PlanSummary(SafeText):
    plan_id: int
    kind: PlanKind
    frequency: Frequency
    status: PlanStatus
    principal_minor: int
    annual_rate: Decimal
    instalment_count: int
    down_payment_minor: int
    waiver_minor: int
    grace_periods: int
    grace_mode: GraceMode
    first_due_on: dt.date
    schedule: tuple[InstalmentLine, ...]
    allocated: tuple[tuple[str, int], ...] = ()
    """Payments under the plan spread over the accounts' components, in profile order."""

    @property
    def total_minor(self) -> int:
        return sum(i.amount_minor for i in self.schedule)

    @property
    def paid_minor(self) -> int:
        return sum(i.paid_minor for i in self.schedule)

    @property
    def next_due(self) -> InstalmentLine | None:
        """The earliest unpaid instalment by due date (a missed one before a later one)."""
        open_lines = [
            line
            for line in self.schedule
            if line.status is not InstalmentStatus.PAID and line.open_minor > 0
        ]
        return min(open_lines, key=lambda line: (line.due_on, line.seq), default=None)

    @property
    def missed_minor(self) -> int:
        return sum(
            line.open_minor for line in self.schedule if line.status is InstalmentStatus.MISSED
        )

    @property
    def missed_count(self) -> int:
        return sum(
            1
            for line in self.schedule
            if line.status is InstalmentStatus.MISSED and line.open_minor > 0
        )

    @property
    def amounts_minor(self) -> tuple[int, ...]:
        """The amounts of the regular instalments (the down payment #0 left out)."""
        return tuple(line.amount_minor for line in self.schedule if line.seq > 0)

    @property
    def last_due_on(self) -> dt.date | None:
        return self.schedule[-1].due_on if self.schedule else None


@dataclass(frozen=True)
class AgreementSummary(SafeText):
    agreement_id: int
    plan_id: int | None
    status: AgreementStatus
    template_name: str
    template_version: str
    language: str
    record_version: int
    text_version: int | None
    text_versions: int
    effective_on: dt.date | None
    signed_at: dt.datetime | None
    signed_place: str | None
    text: str
    special_terms: str | None
    hash_ok: bool | None = None
    """Signed agreements: does the stored text still match the hash taken at signing?"""


@dataclass(frozen=True)
class AgreementView(SafeText):
    case_id: int
    plan: PlanSummary | None
    agreement: AgreementSummary | None


@dataclass(frozen=True)
class PlanOverview(SafeText):
    """A plan as the ledger keeps it: the schedule with what is paid, and who approved."""

    plan_id: int
    case_id: int
    status: str
    kind: str
    frequency: str
    instalments: int
    financed_minor: int
    waiver_minor: int
    down_payment_minor: int
    total_minor: int
    paid_minor: int
    missed: int
    next_due_on: dt.date | None
    next_due_minor: int
    approved_by: str | None

    @property
    def balance_minor(self) -> int:
        return max(0, self.total_minor - self.paid_minor)


@dataclass(frozen=True)
class AgreementRecord(SafeText):
    agreement_id: int
    case_id: int
    status: AgreementStatus
    record_version: int
    content: Content
    versions: int
    content_hash: str | None
    hash_ok: bool | None  # None: not signed yet
    signed_at: dt.datetime | None
    signed_place: str | None
    bank_signatory: str | None
    borrower_confirmation: str | None
    borrower_copy_delivery: str | None
    effective_on: dt.date | None
    previous: Content | None
