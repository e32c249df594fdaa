"""SQLAlchemy 2 typed models: the whole collection process in one schema.

Conventions: money in integer minor units (fen/cents, ``*_minor``), timestamps are
timezone-aware UTC (``UtcDateTime``), enumerations are stored as short strings with a
CHECK constraint so both engines agree on the allowed values.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# The enumerations live in tui_desk.domain, free of SQLAlchemy, so view types and widgets
# can name them; re-exported here because the services name them next to the models.
from tui_desk.domain import AccountStatus as AccountStatus
from tui_desk.domain import AdjustmentKind as AdjustmentKind
from tui_desk.domain import AgentState as AgentState
from tui_desk.domain import AgreementStatus as AgreementStatus
from tui_desk.domain import AppointmentStatus as AppointmentStatus
from tui_desk.domain import ApprovalStatus as ApprovalStatus
from tui_desk.domain import CaseStatus as CaseStatus
from tui_desk.domain import ChangeKind as ChangeKind
from tui_desk.domain import Channel as Channel
from tui_desk.domain import ComplaintStatus as ComplaintStatus
from tui_desk.domain import CreditMoveKind as CreditMoveKind
from tui_desk.domain import Direction as Direction
from tui_desk.domain import DocumentChannel as DocumentChannel
from tui_desk.domain import DocumentKind as DocumentKind
from tui_desk.domain import DocumentStatus as DocumentStatus
from tui_desk.domain import FollowUpStatus as FollowUpStatus
from tui_desk.domain import Frequency as Frequency
from tui_desk.domain import GraceMode as GraceMode
from tui_desk.domain import HoldKind as HoldKind
from tui_desk.domain import InstalmentStatus as InstalmentStatus
from tui_desk.domain import OutboxStatus as OutboxStatus
from tui_desk.domain import Outcome as Outcome
from tui_desk.domain import OverrideRequestStatus as OverrideRequestStatus
from tui_desk.domain import PaymentChannel as PaymentChannel
from tui_desk.domain import PhoneKind as PhoneKind
from tui_desk.domain import PlanKind as PlanKind
from tui_desk.domain import PlanStatus as PlanStatus
from tui_desk.domain import Product as Product
from tui_desk.domain import PromiseStatus as PromiseStatus
from tui_desk.domain import Relation as Relation
from tui_desk.domain import Side as Side
from tui_desk.domain import Stage as Stage
from tui_desk.domain import StrategyActionStatus as StrategyActionStatus
from tui_desk.domain import VisitOutcome as VisitOutcome
from tui_desk.rules.roles import Role as Role  # re-exported: the models' role column type

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UtcDateTime(), dict[str, Any]: JSON()}


# --- people ------------------------------------------------------------------------------


class Agent(Base):
    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    extension: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[dt.datetime]
    # The wallboard's sign-in (supervisors and administrators): an Argon2id hash in its
    # PHC string form; NULL means no browser sign-in (migration 0013).
    password_hash: Mapped[str | None] = mapped_column(String(200))


class CollectorSchedule(Base):
    """A field collector's working pattern: zone, hours and the weekdays normally worked.

    Public holidays and adjusted working days come from the CN calendar (``holidays``);
    personal days off are rows of ``collector_day_off``; the territory is the districts
    in ``collector_district``.
    """

    __tablename__ = "collector_schedule"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Shanghai")
    work_start: Mapped[dt.time] = mapped_column(Time)
    work_end: Mapped[dt.time] = mapped_column(Time)
    # ISO weekdays worked, e.g. "123456" = Monday to Saturday.
    work_weekdays: Mapped[str] = mapped_column(String(7), default="12345")
    updated_at: Mapped[dt.datetime]


class CollectorDistrict(Base):
    """One district of a collector's territory."""

    __tablename__ = "collector_district"
    __table_args__ = (Index("ix_collector_district_district", "district", "agent_id"),)

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    district: Mapped[str] = mapped_column(String(50), primary_key=True)


class CollectorDayOff(Base):
    """A day a collector does not work (leave, training, sickness)."""

    __tablename__ = "collector_day_off"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str | None] = mapped_column(String(200))


class Borrower(Base):
    __tablename__ = "borrower"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # Exact and "last digits" ID searches both go through the reversed copy's index.
    id_number: Mapped[str] = mapped_column(String(18))
    # The ID number reversed: "last digits of the ID" is a prefix search on this.
    id_rev: Mapped[str | None] = mapped_column(String(18), index=True)
    address: Mapped[str] = mapped_column(String(300))
    city: Mapped[str] = mapped_column(String(50))
    district: Mapped[str] = mapped_column(String(50))
    region_code: Mapped[str] = mapped_column(String(6))
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Shanghai")
    created_at: Mapped[dt.datetime]

    phones: Mapped[list[Phone]] = relationship(back_populates="borrower", order_by="Phone.id")
    accounts: Mapped[list[LoanAccount]] = relationship(
        back_populates="borrower", order_by="LoanAccount.id"
    )


class Phone(Base):
    __tablename__ = "phone"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    # Exact and "last digits" number searches both go through the reversed copy's index.
    e164: Mapped[str] = mapped_column(String(20))
    # The digits of e164 reversed: "last digits" search is a prefix search on this.
    digits_rev: Mapped[str | None] = mapped_column(String(20), index=True)
    kind: Mapped[PhoneKind] = mapped_column(_enum(PhoneKind, "phone_kind"))
    relation: Mapped[Relation] = mapped_column(_enum(Relation, "relation"))
    holder_name: Mapped[str | None] = mapped_column(String(100))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]

    borrower: Mapped[Borrower] = relationship(back_populates="phones")


# --- the debt --------------------------------------------------------------------------


class CollectionCase(Base):
    """One case per borrower, covering all of that borrower's overdue accounts."""

    __tablename__ = "collection_case"
    __table_args__ = (
        # The queue: open cases, most urgent first = ORDER BY priority DESC, id DESC,
        # served by a backward scan of these indexes on both engines (keyset paging).
        Index("ix_case_queue", "status", "priority", "id"),
        Index("ix_case_owner_queue", "owner_id", "status", "priority", "id"),
        Index("ix_case_next_action", "status", "next_action_at"),
        Index("ix_case_stage_queue", "status", "stage", "priority", "id"),
        Index("ix_case_bucket_queue", "status", "dpd_bucket", "priority", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), unique=True)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"))
    stage: Mapped[Stage] = mapped_column(_enum(Stage, "stage"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    lease_holder_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    lease_expires_at: Mapped[dt.datetime | None]
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    on_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # Days-past-due bucket number (rules.priority.bucket_number), kept with the priority
    # by every write and the nightly refresh, so the bucket filter has an index.
    dpd_bucket: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=text("0"))
    overdue_since: Mapped[dt.date | None] = mapped_column(Date)
    overdue_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    broken_promises: Mapped[int] = mapped_column(Integer, default=0)
    # Priority a contact strategy added (``raise_priority``); the next contact the desk
    # logs clears it.
    priority_boost: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_action_at: Mapped[dt.datetime | None]
    # A callback promised to the borrower: the agent who owns it and when it is due.
    callback_at: Mapped[dt.datetime | None]
    callback_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    # Kept in step with service_registration / document rows by the services that write
    # them, so the queue can filter on them through an index.
    registered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    documents_complete: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    opened_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    borrower: Mapped[Borrower] = relationship()
    owner: Mapped[Agent | None] = relationship(foreign_keys=[owner_id])
    lease_holder: Mapped[Agent | None] = relationship(foreign_keys=[lease_holder_id])
    callback_agent: Mapped[Agent | None] = relationship(foreign_keys=[callback_agent_id])
    accounts: Mapped[list[LoanAccount]] = relationship(
        back_populates="case", order_by="LoanAccount.id"
    )
    holds: Mapped[list[CaseHold]] = relationship(back_populates="case", order_by="CaseHold.id")


class LoanAccount(Base):
    __tablename__ = "loan_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    # Accounts are reached through their case; no index on borrower_id is needed.
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("collection_case.id"), index=True)
    product: Mapped[Product] = mapped_column(_enum(Product, "product"))
    status: Mapped[AccountStatus] = mapped_column(_enum(AccountStatus, "account_status"))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    principal_minor: Mapped[int] = mapped_column(BigInteger)
    outstanding_principal_minor: Mapped[int] = mapped_column(BigInteger)
    outstanding_interest_minor: Mapped[int] = mapped_column(BigInteger)
    outstanding_penalty_minor: Mapped[int] = mapped_column(BigInteger)
    outstanding_fees_minor: Mapped[int] = mapped_column(BigInteger)
    overdue_minor: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[Any] = mapped_column(Numeric(7, 4))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    overdue_since: Mapped[dt.date | None] = mapped_column(Date)

    borrower: Mapped[Borrower] = relationship(back_populates="accounts")
    case: Mapped[CollectionCase | None] = relationship(back_populates="accounts")


class CaseHold(Base):
    __tablename__ = "case_hold"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    kind: Mapped[HoldKind] = mapped_column(_enum(HoldKind, "hold_kind"))
    reason: Mapped[str] = mapped_column(Text)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    set_at: Mapped[dt.datetime]
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    released_at: Mapped[dt.datetime | None]
    release_reason: Mapped[str | None] = mapped_column(Text)
    # A hold with an end releases itself then (the worker's hold_expiry job).
    ends_at: Mapped[dt.datetime | None]
    # The complaint that placed the hold: resolving it offers to release the hold.
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)

    case: Mapped[CollectionCase] = relationship(back_populates="holds")


Index(
    "ix_case_hold_expiry",
    CaseHold.ends_at,
    sqlite_where=CaseHold.released_at.is_(None) & CaseHold.ends_at.is_not(None),
    postgresql_where=CaseHold.released_at.is_(None) & CaseHold.ends_at.is_not(None),
)


# Partial indexes for the queue filters that select few cases: each serves its filter in
# priority order without walking the whole queue (PostgreSQL ignores a composite index
# for "owner_id IS NULL"; a partial one answers in well under a millisecond).
Index(
    "ix_case_unowned_queue",
    CollectionCase.status,
    CollectionCase.priority,
    CollectionCase.id,
    sqlite_where=CollectionCase.owner_id.is_(None),
    postgresql_where=CollectionCase.owner_id.is_(None),
)
Index(
    "ix_case_lease",
    CollectionCase.lease_holder_id,
    sqlite_where=CollectionCase.lease_holder_id.is_not(None),
    postgresql_where=CollectionCase.lease_holder_id.is_not(None),
)
Index(
    "ix_case_callback",
    CollectionCase.callback_agent_id,
    CollectionCase.callback_at,
    sqlite_where=CollectionCase.callback_at.is_not(None),
    postgresql_where=CollectionCase.callback_at.is_not(None),
)
Index(
    "ix_case_hold_queue",
    CollectionCase.status,
    CollectionCase.priority,
    CollectionCase.id,
    sqlite_where=CollectionCase.on_hold.is_(True),
    postgresql_where=CollectionCase.on_hold.is_(True),
)
Index(
    "ix_case_broken_queue",
    CollectionCase.status,
    CollectionCase.priority,
    CollectionCase.id,
    sqlite_where=CollectionCase.broken_promises > 0,
    postgresql_where=CollectionCase.broken_promises > 0,
)
Index(
    "ix_case_registered_queue",
    CollectionCase.status,
    CollectionCase.priority,
    CollectionCase.id,
    sqlite_where=CollectionCase.registered.is_(True),
    postgresql_where=CollectionCase.registered.is_(True),
)


class BorrowerNameGram(Base):
    """Every 1- and 2-character piece of a borrower's name (most Chinese names have 2-3
    characters, too short for trigram indexes): name search looks the query's first
    piece up here, then checks the whole name."""

    __tablename__ = "borrower_name_gram"
    # On SQLite the primary key is the table: one b-tree instead of a table and an index.
    __table_args__ = {"sqlite_with_rowid": False}

    gram: Mapped[str] = mapped_column(String(8), primary_key=True)
    borrower_id: Mapped[int] = mapped_column(
        ForeignKey("borrower.id", ondelete="CASCADE"), primary_key=True
    )


class RuleOverride(Base):
    """A supervisor's permission to break one rule once for one case (never self-granted)."""

    __tablename__ = "rule_override"
    __table_args__ = (Index("ix_rule_override_case", "case_id", "rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"))
    rule: Mapped[str] = mapped_column(String(40))
    granted_to_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


# --- step 1: contact --------------------------------------------------------------------


class ContactAttempt(Base):
    __tablename__ = "contact_attempt"
    __table_args__ = (Index("ix_contact_case_time", "case_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "direction"))
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("phone.id"))
    address_used: Mapped[str | None] = mapped_column(String(200))
    party: Mapped[Relation | None] = mapped_column(_enum(Relation, "party"))
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome, "outcome"))
    note: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime]
    callback_at: Mapped[dt.datetime | None]
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    override_reason: Mapped[str | None] = mapped_column(Text)
    # The phone system's reference for a dialled call (its recording), when there is one.
    call_ref: Mapped[str | None] = mapped_column(String(100))
    # An outcome undone by its agent is voided, never deleted: it stays in the log, marked,
    # and no longer counts toward the contact caps.
    voided_at: Mapped[dt.datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)

    agent: Mapped[Agent | None] = relationship(foreign_keys=[agent_id])
    phone: Mapped[Phone | None] = relationship()


class PromiseToPay(Base):
    __tablename__ = "promise_to_pay"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_attempt.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[PromiseStatus] = mapped_column(_enum(PromiseStatus, "promise_status"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    created_at: Mapped[dt.datetime]
    resolved_at: Mapped[dt.datetime | None]


class ServiceRegistration(Base):
    """The borrower's consent to the home-visit service."""

    __tablename__ = "service_registration"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    consent_channel: Mapped[Channel] = mapped_column(_enum(Channel, "consent_channel"))
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    registered_at: Mapped[dt.datetime]
    note: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)


# The broken-promise job looks only at open promises past their date.
Index(
    "ix_promise_open_due",
    PromiseToPay.due_on,
    PromiseToPay.case_id,
    sqlite_where=PromiseToPay.status == PromiseStatus.OPEN,
    postgresql_where=PromiseToPay.status == PromiseStatus.OPEN,
)


# --- step 2: documents ------------------------------------------------------------------


class Document(Base):
    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(_enum(DocumentKind, "document_kind"))
    description: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[DocumentChannel] = mapped_column(_enum(DocumentChannel, "document_channel"))
    received_at: Mapped[dt.datetime]
    status: Mapped[DocumentStatus] = mapped_column(_enum(DocumentStatus, "document_status"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    reviewed_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)


# --- steps 3-4: appointments and the visit -------------------------------------------


class Appointment(Base):
    __tablename__ = "appointment"
    __table_args__ = (
        Index("ix_appointment_collector_time", "collector_id", "starts_at"),
        Index("ix_appointment_case_time", "case_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"))
    collector_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    place: Mapped[str] = mapped_column(String(300))
    district: Mapped[str] = mapped_column(String(50))
    status: Mapped[AppointmentStatus] = mapped_column(
        _enum(AppointmentStatus, "appointment_status")
    )
    booked_by_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    booked_at: Mapped[dt.datetime]
    rescheduled_from_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    override_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    collector: Mapped[Agent] = relationship(foreign_keys=[collector_id])
    case: Mapped[CollectionCase] = relationship()


class AppointmentChange(Base):
    """A reschedule or cancellation, with the notice given to the other side."""

    __tablename__ = "appointment_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id"), index=True)
    kind: Mapped[ChangeKind] = mapped_column(_enum(ChangeKind, "change_kind"))
    requested_by_side: Mapped[Side] = mapped_column(_enum(Side, "side"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    requested_at: Mapped[dt.datetime]
    notified_at: Mapped[dt.datetime]
    notified_how: Mapped[Channel] = mapped_column(_enum(Channel, "notified_how"))
    old_starts_at: Mapped[dt.datetime]
    new_starts_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)


_UNRECONCILED = "collected_minor > 0 AND reconciled_payment_id IS NULL"


class VisitReport(Base):
    __tablename__ = "visit_report"
    __table_args__ = (
        # Door money waiting for a matching bank payment: a small range, oldest first.
        Index(
            "ix_visit_report_unreconciled",
            "created_at",
            sqlite_where=text(_UNRECONCILED),
            postgresql_where=text(_UNRECONCILED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    collector_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    work_id_shown: Mapped[bool] = mapped_column(Boolean)
    name_checked: Mapped[bool] = mapped_column(Boolean)
    contact_checked: Mapped[bool] = mapped_column(Boolean)
    address_checked: Mapped[bool] = mapped_column(Boolean)
    documents_ok: Mapped[bool] = mapped_column(Boolean)
    mismatches: Mapped[str | None] = mapped_column(Text)
    declared_income_minor: Mapped[int | None] = mapped_column(BigInteger)
    obligations_minor: Mapped[int | None] = mapped_column(BigInteger)
    affordable_monthly_minor: Mapped[int | None] = mapped_column(BigInteger)
    collected_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    collected_method: Mapped[str | None] = mapped_column(String(30))
    receipt_no: Mapped[str | None] = mapped_column(String(40))
    reconciled_payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    outcome: Mapped[VisitOutcome] = mapped_column(_enum(VisitOutcome, "visit_outcome"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]


# --- steps 5-8: plan, agreement, follow-up, payments, adjustments ---------------------


class RepaymentPlan(Base):
    __tablename__ = "repayment_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    kind: Mapped[PlanKind] = mapped_column(_enum(PlanKind, "plan_kind"))
    frequency: Mapped[Frequency] = mapped_column(_enum(Frequency, "frequency"))
    principal_minor: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[Any] = mapped_column(Numeric(7, 4))
    instalments: Mapped[int] = mapped_column(Integer)
    down_payment_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    waiver_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    grace_periods: Mapped[int] = mapped_column(Integer, default=0)
    grace_mode: Mapped[GraceMode] = mapped_column(_enum(GraceMode, "grace_mode"))
    first_due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[PlanStatus] = mapped_column(_enum(PlanStatus, "plan_status"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    created_at: Mapped[dt.datetime]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))

    schedule: Mapped[list[PlanInstalment]] = relationship(order_by="PlanInstalment.seq")


class PlanInstalment(Base):
    __tablename__ = "plan_instalment"
    __table_args__ = (UniqueConstraint("plan_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("repayment_plan.id"))
    seq: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[dt.date] = mapped_column(Date)
    principal_minor: Mapped[int] = mapped_column(BigInteger)
    interest_minor: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[InstalmentStatus] = mapped_column(_enum(InstalmentStatus, "instalment_status"))


# The missed-instalments job reads unpaid lines past their date; paid and missed lines
# leave this index, so it stays small whatever the plan history.
_UNPAID_INSTALMENT = "(status = 'due' OR status = 'partial')"
Index(
    "ix_plan_instalment_unpaid_due",
    PlanInstalment.due_on,
    PlanInstalment.plan_id,
    sqlite_where=text(_UNPAID_INSTALMENT),
    postgresql_where=text(_UNPAID_INSTALMENT),
)


class Agreement(Base):
    __tablename__ = "agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("repayment_plan.id"))
    template_name: Mapped[str] = mapped_column(String(60))
    template_version: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(10))
    status: Mapped[AgreementStatus] = mapped_column(_enum(AgreementStatus, "agreement_status"))
    effective_on: Mapped[dt.date | None] = mapped_column(Date)
    signed_at: Mapped[dt.datetime | None]
    signed_place: Mapped[str | None] = mapped_column(String(200))
    bank_signatory_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    borrower_confirmation: Mapped[str | None] = mapped_column(String(200))
    borrower_copy_delivery: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    created_at: Mapped[dt.datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    versions: Mapped[list[AgreementVersion]] = relationship(order_by="AgreementVersion.seq")


class AgreementVersion(Base):
    __tablename__ = "agreement_version"
    __table_args__ = (UniqueConstraint("agreement_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"))
    seq: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    special_terms: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    created_at: Mapped[dt.datetime]
    note: Mapped[str | None] = mapped_column(String(200))


class FollowUp(Base):
    __tablename__ = "follow_up"
    __table_args__ = (Index("ix_follow_up_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id"))
    due_on: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "follow_up_channel"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    status: Mapped[FollowUpStatus] = mapped_column(_enum(FollowUpStatus, "follow_up_status"))
    done_at: Mapped[dt.datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class Payment(Base):
    __tablename__ = "payment"
    __table_args__ = (Index("ix_payment_case_date", "case_id", "paid_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("loan_account.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[PaymentChannel] = mapped_column(_enum(PaymentChannel, "payment_channel"))
    reference: Mapped[str | None] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    recorded_at: Mapped[dt.datetime]


class CreditMove(Base):
    """A supervisor's use of a case's credit: applied to what the case owes, or refunded.

    The credit itself is never stored: it is what the payments exceed what was owed by
    (``rules/balance.py``), less these moves."""

    __tablename__ = "credit_move"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    kind: Mapped[CreditMoveKind] = mapped_column(_enum(CreditMoveKind, "credit_move_kind"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    moved_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    moved_by_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    moved_at: Mapped[dt.datetime]


class Adjustment(Base):
    __tablename__ = "adjustment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("repayment_plan.id"))
    kinds: Mapped[str] = mapped_column(String(120))
    details: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[ApprovalStatus] = mapped_column(_enum(ApprovalStatus, "approval_status"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    requested_at: Mapped[dt.datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)


# --- step 10: complaints ---------------------------------------------------------------


class Complaint(Base):
    __tablename__ = "complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    against_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_attempt.id"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "complaint_channel"))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[ComplaintStatus] = mapped_column(_enum(ComplaintStatus, "complaint_status"))
    received_at: Mapped[dt.datetime]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    resolved_at: Mapped[dt.datetime | None]


# --- integrations: SMS outbox, imports ---------------------------------------------------


class SmsOutbox(Base):
    """An SMS to send, written in the same transaction as its contact attempt.

    Exactly one process (the worker's sender job) delivers it, with retries and an
    idempotency key per message, so nothing is lost and nothing is sent twice.
    """

    __tablename__ = "sms_outbox"
    __table_args__ = (Index("ix_sms_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_attempt.id"))
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("phone.id"))
    e164: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(SmallInteger, default=1)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus, "outbox_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]


class ImportBatch(Base):
    """One run of ``tui-desk import``: where from, and what it did."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    started_by: Mapped[str | None] = mapped_column(String(64))


class ImportRejection(Base):
    """A row an import refused: where it was and why (the rest of the batch went in)."""

    __tablename__ = "import_rejection"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(300))


# --- templates ----------------------------------------------------------------------------


class StoredTemplate(Base):
    """A template version installed by a supervisor or an administrator, in the shared
    database so that every desk sees it: agreement forms (TOML) and SMS texts. Shipped
    templates stay files in the package; a stored version of the same name comes first."""

    __tablename__ = "stored_template"
    __table_args__ = (UniqueConstraint("kind", "name", "language", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(10))
    version: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    installed_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    installed_at: Mapped[dt.datetime]


# --- audit and coordination ------------------------------------------------------------


class AuditEvent(Base):
    """Append-only record of every write; doubles as the change feed."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_case", "case_id", "id"),
        Index("ix_audit_agent_time", "agent_id", "occurred_at"),
        # The change feed's keyset (services/changes.py). Partial: on SQLite, where
        # xact_id stays NULL, the index holds nothing and costs nothing.
        Index(
            "ix_audit_xact",
            "xact_id",
            "id",
            postgresql_where=text("xact_id IS NOT NULL"),
            sqlite_where=text("xact_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[dt.datetime]
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    case_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(300))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # PostgreSQL: the writing transaction's id, set by the server default
    # ``pg_current_xact_id()`` (migration 0006); the change feed reads only events of
    # transactions complete below the snapshot's xmin. SQLite: NULL (one writer at a time,
    # ids commit in order). ``FetchedValue`` keeps the ORM from inserting an explicit NULL.
    xact_id: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue())


class AgentPresence(Base):
    """One desk's heartbeat per agent (the newest desk wins); not a business write."""

    __tablename__ = "agent_presence"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    desk_id: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[dt.datetime]
    last_seen: Mapped[dt.datetime]
    # A soft reference (no foreign key): presence is advisory and a heartbeat never fails.
    current_case_id: Mapped[int | None] = mapped_column(Integer)
    case_since: Mapped[dt.datetime | None]
    last_action: Mapped[str | None] = mapped_column(String(120))
    last_action_at: Mapped[dt.datetime | None]


class AgentStateSpan(Base):
    """One stretch of an agent's day in one state.

    An agent's spans follow each other without gaps or overlaps: a change of state ends
    the open span (``ended_at`` set to the change's time) and opens the next one in the same
    transaction, so at most one span per agent is open (``ended_at`` NULL, a unique partial
    index) and it is the agent's current state. No span at all means offline. Time per
    state in a day is the sum of the spans clipped to that day (an open span counts up to
    now). ``reason`` is the pause reason (``paused`` only), ``case_id`` the case worked or
    wrapped up (a soft reference, like presence), ``wrap_up_until`` when a wrap-up ends by
    itself and ``extended`` whether it was extended (once).
    """

    __tablename__ = "agent_state_span"
    __table_args__ = (
        Index("ix_agent_state_span_agent_started", "agent_id", "started_at"),
        Index("ix_agent_state_span_started", "started_at"),
        Index(
            "uq_agent_state_span_open",
            "agent_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    state: Mapped[AgentState] = mapped_column(_enum(AgentState, "agent_state"))
    reason: Mapped[str | None] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    wrap_up_until: Mapped[dt.datetime | None]
    extended: Mapped[bool] = mapped_column(Boolean, default=False)


class StrategyAction(Base):
    """One action a contact strategy called for on a case, done or refused (and why).

    A strategy fires once per event: (case, strategy, event key, place in its ``then``
    list) is unique, so a rerun of the worker's job, or two runs at once, records
    nothing twice. ``contact_id`` is the contact attempt the action made (an SMS).
    """

    __tablename__ = "strategy_action"
    __table_args__ = (
        UniqueConstraint("case_id", "rule", "event_key", "seq"),
        Index("ix_strategy_action_case_at", "case_id", "at"),
        Index("ix_strategy_action_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"))
    rule: Mapped[str] = mapped_column(String(60))
    event: Mapped[str] = mapped_column(String(24))
    event_key: Mapped[str] = mapped_column(String(80))
    seq: Mapped[int] = mapped_column(SmallInteger, default=0)
    action: Mapped[str] = mapped_column(String(24))
    status: Mapped[StrategyActionStatus] = mapped_column(
        _enum(StrategyActionStatus, "strategy_action_status")
    )
    refused_by: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_attempt.id"))
    at: Mapped[dt.datetime]


class BoardSnapshot(Base):
    """One section of the supervisor board, kept up to date by the worker (not audited).

    Every open board reads these few rows instead of aggregating the case tables itself;
    ``version`` grows by one on every refresh of any section (the boards' change marker
    is ``max(version)``).
    """

    __tablename__ = "board_snapshot"

    section: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    computed_at: Mapped[dt.datetime]
    # The change-feed position the section reflects (ChangeCursor.token()), for latency.
    feed_token: Mapped[str | None] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class BoardCount(Base):
    """Running totals behind the board's "today": one figure per 15-minute UTC slot and agent.

    Kept in the same transaction as every write of the rows they count (a flush hook in
    ``services/day_counts.py``), so the board reads a day's few hundred rows instead of
    scanning the day's contacts. ``agent_id`` 0 is "nobody" (figures not credited to an
    agent). Derived data, not audited; ``BoardCountDay`` says which slots are exact.
    """

    __tablename__ = "board_count"

    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    agent_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    metric: Mapped[str] = mapped_column(String(24), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class BoardCountDay(Base):
    """A range of slots whose ``board_count`` rows were rebuilt from a full count (and kept
    up to date since): the figures of these slots are exact. Bulk loads that bypass the
    flush hook (the seeder) delete these rows, and the next board refresh counts again."""

    __tablename__ = "board_count_day"

    first_slot: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    end_slot: Mapped[int] = mapped_column(BigInteger)
    built_at: Mapped[dt.datetime]


# The board snapshot's cheap sections (services/board.py) read today's rows by time range
# and the open risks through partial indexes that hold only what is still at risk, so a
# refresh costs the same at a million cases as at a thousand.
# Partial on a condition every range on started_at implies and a case's history
# ("case_id = ? ORDER BY started_at DESC") does not, so that query keeps
# ix_contact_case_time instead of walking today's contacts backwards.
Index(
    "ix_contact_started",
    ContactAttempt.started_at,
    ContactAttempt.agent_id,
    ContactAttempt.outcome,
    ContactAttempt.party,
    # PostgreSQL only: SQLite's planner then stops using it for the day's range.
    postgresql_where=text("started_at IS NOT NULL"),
)
Index(
    "ix_promise_created",
    PromiseToPay.created_at,
    PromiseToPay.created_by_id,
    PromiseToPay.amount_minor,
)
Index("ix_appointment_booked_at", Appointment.booked_at, Appointment.booked_by_id)
Index(
    "ix_appointment_unconfirmed",
    Appointment.starts_at,
    sqlite_where=text("status = 'booked'"),
    postgresql_where=text("status = 'booked'"),
)
Index("ix_visit_report_created", VisitReport.created_at, VisitReport.collector_id)
Index(
    "ix_agreement_signed",
    Agreement.signed_at,
    sqlite_where=text("signed_at IS NOT NULL"),
    postgresql_where=text("signed_at IS NOT NULL"),
)
Index("ix_payment_recorded", Payment.recorded_at, Payment.case_id, Payment.amount_minor)
_OPEN_COMPLAINT = "status = 'open' OR status = 'investigating'"
Index(
    "ix_complaint_open",
    Complaint.received_at,
    sqlite_where=text(_OPEN_COMPLAINT),
    postgresql_where=text(_OPEN_COMPLAINT),
)
Index(
    "ix_adjustment_pending",
    Adjustment.requested_at,
    sqlite_where=text("status = 'requested'"),
    postgresql_where=text("status = 'requested'"),
)
# The depth section reads every open case: from this index alone (a quarter of the
# table's bytes), in GROUP BY order, instead of from the table.
Index(
    "ix_case_board_depth",
    CollectionCase.status,
    CollectionCase.dpd_bucket,
    CollectionCase.stage,
    CollectionCase.owner_id,
    CollectionCase.on_hold,
    CollectionCase.broken_promises,
    CollectionCase.overdue_minor,
)
Index(
    "ix_case_callback_due",
    CollectionCase.status,
    CollectionCase.callback_at,
    sqlite_where=text("callback_at IS NOT NULL"),
    postgresql_where=text("callback_at IS NOT NULL"),
)


class OverrideRequest(Base):
    """An operator asks a supervisor to waive one contact rule for one case."""

    __tablename__ = "override_request"
    __table_args__ = (
        Index("ix_override_request_status", "status", "requested_at"),
        Index("ix_override_request_requester", "requested_by_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"))
    rule: Mapped[str] = mapped_column(String(40))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    requested_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[OverrideRequestStatus] = mapped_column(
        _enum(OverrideRequestStatus, "override_request_status")
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    override_id: Mapped[int | None] = mapped_column(ForeignKey("rule_override.id"))


class WorkerLease(Base):
    """Leader election for `tui-desk worker`: one row per lease name."""

    __tablename__ = "worker_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


class WorkerJobRun(Base):
    """Last run of each periodic job, so a new leader resumes the cadence.

    A run not finished (``last_finished_at`` NULL: its worker was killed, lost the lease or
    was stopped) is resumed by the next leader from ``progress``, which each job step
    commits together with its own writes.
    """

    __tablename__ = "worker_job_run"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_started_at: Mapped[dt.datetime]
    last_finished_at: Mapped[dt.datetime | None]
    last_status: Mapped[str] = mapped_column(String(200))
    runs: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[dict[str, Any] | None]


class DeskMeta(Base):
    """Small key/value facts about the database itself (e.g. that it is a demo database)."""

    __tablename__ = "desk_meta"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
