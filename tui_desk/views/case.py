"""One case as the side panes show it: the borrower's detail, contacts, documents, and the
bundle the desk reads in one go."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.domain import (
    AccountStatus,
    CaseStatus,
    Channel,
    Direction,
    DocumentChannel,
    DocumentKind,
    DocumentStatus,
    HoldKind,
    OutboxStatus,
    Outcome,
    PhoneKind,
    Product,
    Relation,
    Stage,
)
from tui_desk.views.agreements import AgreementView
from tui_desk.views.calendar import CalendarView
from tui_desk.views.contacts import ContactStatus
from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class AccountLine(SafeText):
    account_id: int
    external_id: str
    product: Product
    status: AccountStatus
    currency: str
    principal_minor: int
    outstanding_principal_minor: int
    outstanding_interest_minor: int
    outstanding_penalty_minor: int
    outstanding_fees_minor: int
    overdue_minor: int
    overdue_since: dt.date | None

    @property
    def outstanding_minor(self) -> int:
        return (
            self.outstanding_principal_minor
            + self.outstanding_interest_minor
            + self.outstanding_penalty_minor
            + self.outstanding_fees_minor
        )


@dataclass(frozen=True)
class HoldLine(SafeText):
    hold_id: int
    kind: HoldKind
    reason: str
    set_at: dt.datetime
    ends_at: dt.datetime | None = None
    """The hold releases itself then (None: until a supervisor releases it)."""
    complaint_id: int | None = None
    """The complaint that placed it, if one did."""


@dataclass(frozen=True)
class PhoneLine(SafeText):
    phone_id: int
    number: str
    kind: PhoneKind
    relation: Relation
    verified: bool
    do_not_call: bool


@dataclass(frozen=True)
class RegistrationLine(SafeText):
    registered_at: dt.datetime
    channel: Channel
    cancelled_at: dt.datetime | None


@dataclass(frozen=True)
class DocumentLine(SafeText):
    kind: DocumentKind
    status: DocumentStatus
    channel: DocumentChannel
    received_at: dt.datetime


@dataclass(frozen=True)
class CaseDetail(SafeText):
    case_id: int
    borrower_id: int
    borrower_name: str
    id_number: str
    address: str
    city: str
    district: str
    masked: bool
    status: CaseStatus
    stage: Stage
    priority: int
    dpd: int
    bucket: str
    why: str
    currency: str
    overdue_minor: int
    broken_promises: int
    next_action_at: dt.datetime | None
    owner_name: str | None
    lease_holder_name: str | None
    lease_expires_at: dt.datetime | None
    on_hold: bool
    stale: bool
    accounts: tuple[AccountLine, ...]
    holds: tuple[HoldLine, ...]
    phones: tuple[PhoneLine, ...]
    registration: RegistrationLine | None
    documents: tuple[DocumentLine, ...]
    registered: bool = False
    """Registered for the home-visit service (the flag the booking rules read)."""
    documents_complete: bool = False
    outstanding_minor: int = 0
    """What is left to pay, from the ledger (the accounts' figures less the payments, or
    the plan in force's open instalments): the same figure the archive check reads."""
    credit_minor: int = 0
    """Paid beyond what was owed, not yet refunded or applied."""
    callback_at: dt.datetime | None = None
    """The callback agreed with the borrower (later contacts keep it until it is due)."""


@dataclass(frozen=True)
class ContactLine(SafeText):
    contact_id: int
    started_at: dt.datetime
    channel: Channel
    direction: Direction
    number: str | None
    address: str | None
    party: Relation | None
    outcome: Outcome
    note: str | None
    agent_name: str | None
    callback_at: dt.datetime | None
    voided: bool = False  # undone by its agent: shown struck out, not counted
    agent_id: int | None = None
    sms_status: OutboxStatus | None = None
    """An SMS's place in the outbox (queued, sent, delivered, failed), not the outcome
    written when it was queued."""
    auto_rule: str | None = None
    """The contact strategy that did this by itself (no agent), by its profile name."""
    auto_action: str | None = None
    """What the strategy did: "sms", "callback" or "raise_priority"."""
    auto_id: int | None = None
    """A strategy's action that made no contact attempt (a callback booked, priority raised,
    or a refusal) is a line of its own: its ``strategy_action`` id; ``contact_id`` is 0."""
    auto_refused_by: str | None = None
    """The rule that refused the strategy's action (quiet_hours, do_not_call, hold...)."""

    @property
    def automatic(self) -> bool:
        return self.auto_rule is not None

    @property
    def row_key(self) -> str:
        return f"auto-{self.auto_id}" if self.auto_id is not None else str(self.contact_id)


@dataclass(frozen=True)
class DocumentItem(SafeText):
    """One received document, with the id a review needs."""

    document_id: int
    kind: DocumentKind
    status: DocumentStatus
    channel: DocumentChannel
    received_at: dt.datetime
    description: str | None


@dataclass(frozen=True)
class CaseBundle(SafeText):
    """Everything the side panes show for one case, read in one go."""

    case_id: int
    detail: CaseDetail
    contacts: tuple[ContactLine, ...]
    calendar: CalendarView
    agreement: AgreementView
    version: int = 0
    """The case's row version: writes made from this view send it back (lost-update check)."""
    contact_status: ContactStatus | None = None
    """May the borrower be called now on the preferred number (None: could not be decided)."""
    status_problem: str | None = None
    documents: tuple[DocumentItem, ...] = ()


@dataclass(frozen=True)
class CreditMoved:
    """A supervisor's refund or application of a case's credit, as it was saved."""

    move_id: int
    kind: str
    amount_minor: int
    credit_left_minor: int
    outstanding_minor: int
