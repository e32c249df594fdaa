"""The codes the desk stores and speaks: every enumeration of the schema, free of SQLAlchemy.

The models store these as short strings (``db.models`` maps them to columns); services,
view types, widgets and exports import them from here so that none of them needs the
database layer to name a stage or a channel.
"""

from __future__ import annotations

import enum


class PhoneKind(enum.StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    WORK = "work"


class Relation(enum.StrEnum):
    """Whose number (or who was reached): the borrower or a related party."""

    BORROWER = "borrower"
    SPOUSE = "spouse"
    GUARANTOR = "guarantor"
    EMPLOYER = "employer"
    RELATIVE = "relative"
    OTHER = "other"


class Product(enum.StrEnum):
    CONSUMER_LOAN = "consumer_loan"
    CREDIT_CARD = "credit_card"
    AUTO_LOAN = "auto_loan"
    MORTGAGE = "mortgage"
    CASH_ADVANCE = "cash_advance"


class AccountStatus(enum.StrEnum):
    CURRENT = "current"
    OVERDUE = "overdue"
    SETTLED = "settled"
    WRITTEN_OFF = "written_off"


class Stage(enum.StrEnum):
    """Where a case stands in the home-visit collection process (PROCESS.md steps)."""

    NEW = "new"
    CONTACTING = "contacting"
    REGISTERED = "registered"
    DOCUMENTS = "documents"
    VISIT_BOOKED = "visit_booked"
    VISITED = "visited"
    PLAN = "plan"
    AGREEMENT = "agreement"
    FOLLOW_UP = "follow_up"
    PAID = "paid"
    ARCHIVED = "archived"


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class HoldKind(enum.StrEnum):
    DISPUTE = "dispute"
    LITIGATION = "litigation"
    DECEASED = "deceased"
    BANKRUPTCY = "bankruptcy"
    COMPLAINT = "complaint"
    CEASE_CONTACT = "cease_contact"
    FALSE_DOCUMENTS = "false_documents"


class Channel(enum.StrEnum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    VISIT = "visit"
    LETTER = "letter"


class Direction(enum.StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Outcome(enum.StrEnum):
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    LEFT_MESSAGE = "left_message"
    WRONG_NUMBER = "wrong_number"
    THIRD_PARTY = "third_party"
    REFUSED = "refused"
    PROMISE = "promise"
    AGREES_VISIT = "agrees_visit"
    CALLBACK = "callback"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class PromiseStatus(enum.StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class DocumentKind(enum.StrEnum):
    IDENTITY = "identity"
    RESIDENCE = "residence"
    INCOME = "income"
    OTHER = "other"


class DocumentChannel(enum.StrEnum):
    EMAIL = "email"
    POST = "post"
    IN_PERSON = "in_person"


class DocumentStatus(enum.StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    REJECTED = "rejected"


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    DONE = "done"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class ChangeKind(enum.StrEnum):
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"


class Side(enum.StrEnum):
    BANK = "bank"
    BORROWER = "borrower"


class VisitOutcome(enum.StrEnum):
    PLAN_DISCUSSED = "plan_discussed"
    PAID_AT_DOOR = "paid_at_door"
    BORROWER_ABSENT = "borrower_absent"
    REFUSED = "refused"
    WRONG_ADDRESS = "wrong_address"


class PlanKind(enum.StrEnum):
    ANNUITY = "annuity"
    EQUAL_PRINCIPAL = "equal_principal"
    INTEREST_FREE = "interest_free"


class Frequency(enum.StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class GraceMode(enum.StrEnum):
    NONE = "none"
    INTEREST_ONLY = "interest_only"
    CAPITALISED = "capitalised"


class PlanStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    COMPLETED = "completed"
    BROKEN = "broken"


class InstalmentStatus(enum.StrEnum):
    DUE = "due"
    PAID = "paid"
    PARTIAL = "partial"
    MISSED = "missed"


class CreditMoveKind(enum.StrEnum):
    """What a supervisor does with a case's credit (money paid beyond what was owed)."""

    APPLY = "apply"
    REFUND = "refund"


class AgreementStatus(enum.StrEnum):
    DRAFT = "draft"
    READY = "ready"
    SIGNED = "signed"
    VOID = "void"


class StrategyActionStatus(enum.StrEnum):
    """What became of an action a contact strategy called for."""

    DONE = "done"
    REFUSED = "refused"


class FollowUpStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


class PaymentChannel(enum.StrEnum):
    BANK_TRANSFER = "bank_transfer"
    DIRECT_DEBIT = "direct_debit"
    COUNTER = "counter"
    DOOR = "door"
    CARD = "card"
    IMPORT = "import"


class AdjustmentKind(enum.StrEnum):
    SUSPEND_INTEREST = "suspend_interest"
    EXTEND_TERM = "extend_term"
    GRACE_PERIOD = "grace_period"
    EARLY_SETTLEMENT = "early_settlement"


class ApprovalStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


class ComplaintStatus(enum.StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the sender (or for a retry after a failure)
    SENDING = "sending"  # handed to the gateway, answer not yet recorded
    SENT = "sent"  # accepted by the gateway
    DELIVERED = "delivered"  # the gateway reported delivery
    FAILED = "failed"  # given up (the reason says why), or reported undeliverable


class OverrideRequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class AgentState(enum.StrEnum):
    """Where an agent's time goes (``agent_state_span``)."""

    READY = "ready"  # waiting for the next case
    PAUSED = "paused"  # away, with a reason from the profile's [states] pause_reasons
    WORKING = "working"  # a case in hand
    WRAP_UP = "wrap_up"  # after an outcome, for the profile's wrap-up time
    OFFLINE = "offline"  # the desk is closed, or its heartbeat stopped
