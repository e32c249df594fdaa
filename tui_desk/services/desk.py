"""Read models for the desk: the queue window, a case's detail, its contact log, the
collector's week and the current plan/agreement.

Every function opens its own read session and returns frozen dataclasses, so no ORM
object (and no lazy load) ever reaches a widget. Personal data (ID numbers, phone
numbers, addresses) leaves this module masked unless a caller explicitly asks otherwise;
the desk never does, it goes through the audited reveal instead.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import socket
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session, aliased

from tui_desk.clock import utcnow
from tui_desk.config import data_dir
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Agreement,
    AgreementStatus,
    AgreementVersion,
    Appointment,
    AuditEvent,
    Borrower,
    CaseHold,
    CaseStatus,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    Document,
    DocumentChannel,
    DocumentKind,
    HoldKind,
    LoanAccount,
    Outcome,
    Payment,
    PaymentChannel,
    Phone,
    PhoneKind,
    PlanInstalment,
    PlanStatus,
    Relation,
    RepaymentPlan,
    Role,
    ServiceRegistration,
    Stage,
)
from tui_desk.i18n import _
from tui_desk.rules.agreements import Content, TemplateError, content_hash
from tui_desk.rules.agreements import as_text as agreement_text
from tui_desk.rules.allocation import Owed, allocate, allocation_order
from tui_desk.rules.masking import mask_address, mask_id, mask_phone
from tui_desk.rules.permissions import Action
from tui_desk.rules.priority import bucket_labels, days_past_due, dpd_bucket, priority_score
from tui_desk.rules.profile import MaskingPolicy, Profile, load_profile
from tui_desk.rules.visits import CaseFacts as VisitCaseFacts
from tui_desk.services import agreements, complaints, personal, presence, visits
from tui_desk.services.calendar import calendar_view, case_collector, empty_view
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, ServiceError
from tui_desk.services.personal import PersonalField
from tui_desk.views.adjustments import PendingAdjustment
from tui_desk.views.agreements import (
    AgreementRecord,
    AgreementSummary,
    AgreementView,
    InstalmentLine,
    PlanOverview,
    PlanSummary,
)
from tui_desk.views.calendar import CalendarDay, CalendarView, CalendarWeek, VisitLine
from tui_desk.views.case import (
    AccountLine,
    CaseBundle,
    CaseDetail,
    ContactLine,
    DocumentItem,
    DocumentLine,
    HoldLine,
    PhoneLine,
    RegistrationLine,
)
from tui_desk.views.complaints import ComplaintLine
from tui_desk.views.queue import QueueKey, QueueRow
from tui_desk.views.supervision import AuditPage, CaseVisitLine, OverrideRequestLine
from tui_desk.views.visits import DaySheet, SlotOption

if TYPE_CHECKING:
    from tui_desk.services.queue import QueueFilter
    from tui_desk.views.contacts import ContactStatus, LoggedContact
    from tui_desk.views.queue import Claim, QueuePage
    from tui_desk.views.sms import OutboxLine, QueuedSms, SmsPreview

MAX_WINDOW = 1000
CONTACT_LOG_LIMIT = 200

# Free text (notes, agreement wording) may quote numbers that no column masks.
_ID_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<![0-9+])(\+?86)?(1[3-9][0-9]{9})(?![0-9])")


# --- helpers -------------------------------------------------------------------------


def _profile(profile: Profile | None) -> Profile:
    return profile if profile is not None else load_profile()


def office_today(now: dt.datetime, timezone: str) -> dt.date:
    return now.astimezone(ZoneInfo(timezone)).date()


def week_start_of(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())


def _why(
    case: CollectionCase | _CaseFacts, today: dt.date, now: dt.datetime, profile: Profile
) -> tuple[int, str, str]:
    dpd = days_past_due(case.overdue_since, today)
    score = priority_score(
        dpd=dpd,
        overdue_minor=case.overdue_minor,
        broken_promises=case.broken_promises,
        next_action_due=case.next_action_at is not None and case.next_action_at <= now,
        weights=profile.priority,
    )
    return dpd, dpd_bucket(dpd, profile.dpd_bounds), score.reason()


@dataclass(frozen=True)
class _CaseFacts:
    overdue_since: dt.date | None
    overdue_minor: int
    broken_promises: int
    next_action_at: dt.datetime | None


def scrub_text(text: str, policy: MaskingPolicy, known: Iterable[tuple[str, str]] = ()) -> str:
    """Mask personal data quoted inside free text.

    ``known`` holds (full value, masked value) pairs of this borrower (ID, address,
    numbers) replaced first; then anything shaped like a CN ID or mobile number.
    """
    for full, masked in sorted(known, key=lambda p: -len(p[0])):
        if full:
            text = text.replace(full, masked)
    text = _ID_RE.sub(lambda m: mask_id(m.group(0), policy), text)
    return _MOBILE_RE.sub(
        lambda m: (m.group(1) or "") + mask_phone(m.group(2), policy),
        text,
    )


def _known_values(
    borrower: Borrower, phones: Sequence[Phone], policy: MaskingPolicy
) -> list[tuple[str, str]]:
    pairs = [
        (borrower.id_number, mask_id(borrower.id_number, policy)),
        (borrower.address, mask_address(borrower.address, policy)),
    ]
    for phone in phones:
        pairs.append((phone.e164, mask_phone(phone.e164, policy)))
        national = _national(phone.e164)
        if national != phone.e164:
            pairs.append((national, mask_phone(national, policy)))
    return pairs


def _national(e164: str) -> str:
    for prefix in ("+86", "+1"):
        if e164.startswith(prefix):
            return e164[len(prefix) :]
    return e164


def _preferred_phone(phones: Iterable[Phone]) -> Phone | None:
    """The number an operator would dial first: the borrower's own, mobile, callable."""
    own = [p for p in phones if p.relation is Relation.BORROWER]
    if not own:
        return None
    own.sort(key=lambda p: (p.do_not_call, p.kind is not PhoneKind.MOBILE, p.id))
    return own[0]


# --- the queue -----------------------------------------------------------------------


def queue_window(
    db: Database, *, limit: int, after: QueueKey | None = None, profile: Profile, now: dt.datetime
) -> list[QueueRow]:
    """The most urgent open cases: ``ORDER BY priority DESC, id DESC``, at most ``limit``.

    ``after`` is the key of the last row already shown; the next window starts below it.
    The row-value comparison ``(priority, id) < (p, i)`` is a range of ix_case_queue on
    both engines, so a deep window costs what the first one does (no OFFSET).
    """
    prof = _profile(profile)
    now = now or utcnow()
    today = office_today(now, prof.office_timezone)
    limit = max(1, min(limit, MAX_WINDOW))
    owner = aliased(Agent)
    stmt = (
        select(
            CollectionCase.id,
            CollectionCase.priority,
            CollectionCase.borrower_id,
            CollectionCase.overdue_since,
            CollectionCase.overdue_minor,
            CollectionCase.broken_promises,
            CollectionCase.next_action_at,
            CollectionCase.stage,
            CollectionCase.on_hold,
            CollectionCase.stale,
            Borrower.name,
            owner.name,
        )
        .join(Borrower, Borrower.id == CollectionCase.borrower_id)
        .outerjoin(owner, owner.id == CollectionCase.owner_id)
        .where(CollectionCase.status == CaseStatus.OPEN)
        .order_by(CollectionCase.priority.desc(), CollectionCase.id.desc())
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(tuple_(CollectionCase.priority, CollectionCase.id) < tuple_(*after))
    with db.read() as s:
        rows = s.execute(stmt).all()
        phones_by_borrower: dict[int, list[Phone]] = {}
        if rows:
            owners = [r[2] for r in rows]
            for p in s.scalars(select(Phone).where(Phone.borrower_id.in_(owners))):
                phones_by_borrower.setdefault(p.borrower_id, []).append(p)
        # Rows are built inside the session: the read session expires everything on exit.
        return [
            _queue_row(row, phones_by_borrower.get(row[2], []), today, now, prof) for row in rows
        ]


def _queue_row(
    row: Any, phones: Sequence[Phone], today: dt.date, now: dt.datetime, prof: Profile
) -> QueueRow:
    (
        case_id,
        priority,
        _borrower_id,
        overdue_since,
        overdue_minor,
        broken,
        next_action_at,
        stage,
        on_hold,
        stale,
        borrower_name,
        owner_name,
    ) = row
    dpd, bucket, why = _why(
        _CaseFacts(overdue_since, overdue_minor, broken, next_action_at), today, now, prof
    )
    dial = _preferred_phone(phones)
    return QueueRow(
        case_id=case_id,
        priority=priority,
        dpd=dpd,
        bucket=bucket,
        borrower_name=borrower_name,
        overdue_minor=overdue_minor,
        currency=prof.currency,
        stage=stage,
        owner_name=owner_name,
        next_action_at=next_action_at,
        phone_masked=mask_phone(_national(dial.e164), prof.masking) if dial else None,
        why=why,
        on_hold=on_hold,
        stale=stale,
        broken_promises=broken,
        next_action_due=next_action_at is not None and next_action_at <= now,
    )


# --- case detail ---------------------------------------------------------------------


def _load_case(s: Session, case_id: int) -> CollectionCase:
    case = s.get(CollectionCase, case_id)
    if case is None:
        raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
    return case


def case_detail(
    db: Database, case_id: int, *, profile: Profile, now: dt.datetime, masked: bool = True
) -> CaseDetail:
    """The case header: borrower, accounts, holds, phones, registration and documents."""
    prof = _profile(profile)
    policy = prof.masking
    now = now or utcnow()
    today = office_today(now, prof.office_timezone)
    with db.read() as s:
        case = _load_case(s, case_id)
        borrower = s.get(Borrower, case.borrower_id)
        assert borrower is not None
        names: dict[int, str] = {
            agent_id: name
            for agent_id, name in s.execute(
                select(Agent.id, Agent.name).where(
                    Agent.id.in_([i for i in (case.owner_id, case.lease_holder_id) if i])
                )
            )
        }
        accounts = s.scalars(
            select(LoanAccount).where(LoanAccount.case_id == case_id).order_by(LoanAccount.id)
        ).all()
        holds = s.scalars(
            select(CaseHold)
            .where(CaseHold.case_id == case_id, CaseHold.released_at.is_(None))
            .order_by(CaseHold.id)
        ).all()
        phones = s.scalars(
            select(Phone).where(Phone.borrower_id == borrower.id).order_by(Phone.id)
        ).all()
        registration = s.scalars(
            select(ServiceRegistration)
            .where(ServiceRegistration.case_id == case_id)
            .order_by(ServiceRegistration.registered_at.desc(), ServiceRegistration.id.desc())
            .limit(1)
        ).first()
        documents = s.scalars(
            select(Document)
            .where(Document.case_id == case_id)
            .order_by(Document.received_at.desc(), Document.id.desc())
        ).all()
        dpd, bucket, why = _why(case, today, now, prof)
        known = _known_values(borrower, phones, policy)
        latest_docs: dict[DocumentKind, Document] = {}
        for doc in documents:
            latest_docs.setdefault(doc.kind, doc)
        return CaseDetail(
            case_id=case.id,
            borrower_id=borrower.id,
            borrower_name=borrower.name,
            id_number=mask_id(borrower.id_number, policy) if masked else borrower.id_number,
            address=mask_address(borrower.address, policy) if masked else borrower.address,
            city=borrower.city,
            district=borrower.district,
            masked=masked,
            status=case.status,
            stage=case.stage,
            priority=case.priority,
            dpd=dpd,
            bucket=bucket,
            why=why,
            currency=prof.currency,
            overdue_minor=case.overdue_minor,
            broken_promises=case.broken_promises,
            next_action_at=case.next_action_at,
            owner_name=names.get(case.owner_id) if case.owner_id else None,
            lease_holder_name=names.get(case.lease_holder_id) if case.lease_holder_id else None,
            lease_expires_at=case.lease_expires_at,
            on_hold=case.on_hold,
            stale=case.stale,
            accounts=tuple(
                AccountLine(
                    account_id=a.id,
                    external_id=a.external_id,
                    product=a.product,
                    status=a.status,
                    currency=a.currency,
                    principal_minor=a.principal_minor,
                    outstanding_principal_minor=a.outstanding_principal_minor,
                    outstanding_interest_minor=a.outstanding_interest_minor,
                    outstanding_penalty_minor=a.outstanding_penalty_minor,
                    outstanding_fees_minor=a.outstanding_fees_minor,
                    overdue_minor=a.overdue_minor,
                    overdue_since=a.overdue_since,
                )
                for a in accounts
            ),
            holds=tuple(
                HoldLine(
                    h.kind, scrub_text(h.reason, policy, known) if masked else h.reason, h.set_at
                )
                for h in holds
            ),
            phones=tuple(
                PhoneLine(
                    phone_id=p.id,
                    number=mask_phone(p.e164, policy) if masked else p.e164,
                    kind=p.kind,
                    relation=p.relation,
                    verified=p.verified,
                    do_not_call=p.do_not_call,
                )
                for p in phones
            ),
            registration=(
                RegistrationLine(
                    registered_at=registration.registered_at,
                    channel=registration.consent_channel,
                    cancelled_at=registration.cancelled_at,
                )
                if registration
                else None
            ),
            documents=tuple(
                DocumentLine(d.kind, d.status, d.channel, d.received_at)
                for kind in DocumentKind
                if (d := latest_docs.get(kind)) is not None
            ),
            registered=case.registered,
            documents_complete=case.documents_complete,
        )


# --- contact log ---------------------------------------------------------------------


def contact_log(
    db: Database, case_id: int, *, profile: Profile, limit: int = CONTACT_LOG_LIMIT
) -> list[ContactLine]:
    """The case's contact attempts, newest first, numbers and addresses masked."""
    policy = _profile(profile).masking
    agent = aliased(Agent)
    stmt = (
        select(ContactAttempt, Phone.e164, agent.name)
        .outerjoin(Phone, Phone.id == ContactAttempt.phone_id)
        .outerjoin(agent, agent.id == ContactAttempt.agent_id)
        .where(ContactAttempt.case_id == case_id)
        .order_by(ContactAttempt.started_at.desc(), ContactAttempt.id.desc())
        .limit(max(1, limit))
    )
    with db.read() as s:
        case = _load_case(s, case_id)
        borrower = s.get(Borrower, case.borrower_id)
        assert borrower is not None
        phones = s.scalars(select(Phone).where(Phone.borrower_id == borrower.id)).all()
        known = _known_values(borrower, phones, policy)
        return [
            ContactLine(
                contact_id=c.id,
                started_at=c.started_at,
                channel=c.channel,
                direction=c.direction,
                number=mask_phone(e164, policy) if e164 else None,
                address=mask_address(c.address_used, policy) if c.address_used else None,
                party=c.party,
                outcome=c.outcome,
                note=scrub_text(c.note, policy, known) if c.note else None,
                agent_name=agent_name,
                callback_at=c.callback_at,
            )
            for c, e164, agent_name in s.execute(stmt)
        ]


# --- the collector's week -------------------------------------------------------------


def collector_week(
    db: Database,
    collector_id: int,
    *,
    week_start: dt.date,
    timezone: str,
    case_id: int | None = None,
) -> CalendarWeek:
    """All of one collector's appointments from Monday 00:00 to Sunday 24:00 local time."""
    with db.read() as s:
        collector = s.get(Agent, collector_id)
        if collector is None:
            raise NotFound(_("agent {agent_id} does not exist").format(agent_id=collector_id))
        return _week(s, collector, week_start_of(week_start), timezone, case_id)


def _week(
    s: Session, collector: Agent, monday: dt.date, timezone: str, case_id: int | None
) -> CalendarWeek:
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(monday, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), tzinfo=zone).astimezone(
        dt.UTC
    )
    stmt = (
        select(Appointment, Borrower.name)
        .join(CollectionCase, CollectionCase.id == Appointment.case_id)
        .join(Borrower, Borrower.id == CollectionCase.borrower_id)
        .where(
            Appointment.collector_id == collector.id,
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    by_day: dict[dt.date, list[VisitLine]] = {}
    for appt, borrower_name in s.execute(stmt):
        local_day = appt.starts_at.astimezone(zone).date()
        by_day.setdefault(local_day, []).append(
            VisitLine(
                appointment_id=appt.id,
                case_id=appt.case_id,
                starts_at=appt.starts_at,
                ends_at=appt.ends_at,
                borrower_name=borrower_name,
                district=appt.district,
                status=appt.status,
            )
        )
    days = tuple(
        CalendarDay(d, tuple(by_day.get(d, ())))
        for d in (monday + dt.timedelta(days=i) for i in range(7))
    )
    return CalendarWeek(
        case_id=case_id,
        collector_id=collector.id,
        collector_name=collector.name,
        week_start=monday,
        timezone=timezone,
        days=days,
    )


def case_calendar(
    db: Database,
    case_id: int,
    *,
    timezone: str,
    week_start: dt.date | None = None,
    now: dt.datetime,
) -> CalendarWeek:
    """The week of the collector of the case's latest appointment.

    Without ``week_start`` the week shown is the one holding that appointment, so the
    operator sees the visit in the context of the collector's other visits. A case with
    no appointment gets an empty week (this week) with no collector.
    """
    now = now or utcnow()
    zone = ZoneInfo(timezone)
    with db.read() as s:
        _load_case(s, case_id)
        latest = s.scalars(
            select(Appointment)
            .where(Appointment.case_id == case_id)
            .order_by(Appointment.starts_at.desc(), Appointment.id.desc())
            .limit(1)
        ).first()
        if latest is None:
            monday = week_start_of(week_start or now.astimezone(zone).date())
            return CalendarWeek(
                case_id=case_id,
                collector_id=None,
                collector_name=None,
                week_start=monday,
                timezone=timezone,
                days=tuple(CalendarDay(monday + dt.timedelta(days=i), ()) for i in range(7)),
            )
        collector = s.get(Agent, latest.collector_id)
        assert collector is not None
        anchor = week_start or latest.starts_at.astimezone(zone).date()
        return _week(s, collector, week_start_of(anchor), timezone, case_id)


# --- plan and agreement ----------------------------------------------------------------

_PLAN_RANK = {
    PlanStatus.ACTIVE: 0,
    PlanStatus.DRAFT: 1,
    PlanStatus.BROKEN: 2,
    PlanStatus.COMPLETED: 3,
    PlanStatus.SUPERSEDED: 4,
}
_AGREEMENT_RANK = {
    AgreementStatus.SIGNED: 0,
    AgreementStatus.READY: 1,
    AgreementStatus.DRAFT: 2,
    AgreementStatus.VOID: 3,
}


def agreement_view(
    db: Database, case_id: int, *, profile: Profile, masked: bool = True
) -> AgreementView:
    """The case's current plan (active, else the newest draft) and its agreement."""
    policy = _profile(profile).masking
    with db.read() as s:
        case = _load_case(s, case_id)
        plans = s.scalars(
            select(RepaymentPlan)
            .where(RepaymentPlan.case_id == case_id)
            .order_by(RepaymentPlan.id.desc())
        ).all()
        plan = min(plans, key=lambda p: _PLAN_RANK[p.status]) if plans else None
        plan_summary = None
        if plan is not None:
            schedule = s.scalars(
                select(PlanInstalment)
                .where(PlanInstalment.plan_id == plan.id)
                .order_by(PlanInstalment.seq)
            ).all()
            plan_summary = PlanSummary(
                plan_id=plan.id,
                kind=plan.kind,
                frequency=plan.frequency,
                status=plan.status,
                principal_minor=plan.principal_minor,
                annual_rate=Decimal(plan.annual_rate),
                instalment_count=plan.instalments,
                down_payment_minor=plan.down_payment_minor,
                waiver_minor=plan.waiver_minor,
                grace_periods=plan.grace_periods,
                grace_mode=plan.grace_mode,
                first_due_on=plan.first_due_on,
                schedule=tuple(
                    InstalmentLine(i.seq, i.due_on, i.amount_minor, i.paid_minor, i.status)
                    for i in schedule
                ),
                allocated=_allocated(s, case, plan, _profile(profile)),
            )
        agreements = s.scalars(
            select(Agreement).where(Agreement.case_id == case_id).order_by(Agreement.id.desc())
        ).all()
        agreement = _current_agreement(agreements, plan.id if plan else None)
        summary = None
        if agreement is not None:
            versions = s.scalars(
                select(AgreementVersion)
                .where(AgreementVersion.agreement_id == agreement.id)
                .order_by(AgreementVersion.seq.desc())
            ).all()
            latest = versions[0] if versions else None
            text = latest.content if latest else ""
            terms = latest.special_terms if latest else None
            hash_ok: bool | None = None
            if latest is not None and agreement.content_hash is not None:
                hash_ok = content_hash(latest.content) == agreement.content_hash
            if text.startswith("{"):
                # Drafted from the standard form: structured content, shown as text.
                try:
                    text = agreement_text(Content.from_json(text))
                    terms = None  # already part of the text
                except TemplateError:
                    pass
            place = agreement.signed_place
            if masked:
                borrower = s.get(Borrower, case.borrower_id)
                assert borrower is not None
                phones = s.scalars(select(Phone).where(Phone.borrower_id == borrower.id)).all()
                known = _known_values(borrower, phones, policy)
                text = scrub_text(text, policy, known)
                terms = scrub_text(terms, policy, known) if terms else terms
                # Agreements are often signed at the borrower's home.
                place = scrub_text(place, policy, known) if place else place
            summary = AgreementSummary(
                agreement_id=agreement.id,
                plan_id=agreement.plan_id,
                status=agreement.status,
                template_name=agreement.template_name,
                template_version=agreement.template_version,
                language=agreement.language,
                record_version=agreement.version,
                text_version=latest.seq if latest else None,
                text_versions=len(versions),
                effective_on=agreement.effective_on,
                signed_at=agreement.signed_at,
                signed_place=place,
                text=text,
                special_terms=terms,
                hash_ok=hash_ok,
            )
        return AgreementView(case_id=case_id, plan=plan_summary, agreement=summary)


def _allocated(
    s: Session, case: CollectionCase, plan: RepaymentPlan, profile: Profile
) -> tuple[tuple[str, int], ...]:
    """Where the money paid under the plan went: fees, penalty, interest, principal.

    Derived from the payment ledger each time (never kept by hand): the payments dated
    from the plan's start are allocated across the case's accounts, oldest first, in the
    order the profile sets.
    """
    paid = int(
        s.scalar(
            select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
                Payment.case_id == case.id, Payment.paid_on >= plan.created_at.date()
            )
        )
        or 0
    )
    if paid <= 0:
        return ()
    accounts = s.scalars(
        select(LoanAccount).where(LoanAccount.case_id == case.id).order_by(LoanAccount.id)
    ).all()
    owed = [
        Owed(a.id, component, amount)
        for a in accounts
        for component, amount in (
            ("fees", a.outstanding_fees_minor),
            ("penalty", a.outstanding_penalty_minor),
            ("interest", a.outstanding_interest_minor),
            ("principal", a.outstanding_principal_minor),
        )
        if amount > 0
    ]
    order = allocation_order(profile.section("plans"))
    result = allocate(paid, owed, order).by_component()
    return tuple((c, result[c]) for c in order if result.get(c))


def _current_agreement(agreements: Sequence[Agreement], plan_id: int | None) -> Agreement | None:
    """The agreement of the current plan if there is one, else the most advanced newest."""
    if not agreements:
        return None
    live = [a for a in agreements if a.status is not AgreementStatus.VOID]
    if plan_id is not None:
        for a in live:
            if a.plan_id == plan_id:
                return a
    pool = live or list(agreements)
    return min(pool, key=lambda a: _AGREEMENT_RANK[a.status])


# --- who is at the desk -----------------------------------------------------------------


def database_kind(db: Database) -> str:
    """The engine name shown in the desk's header line."""
    return (
        "postgresql"
        if db.is_postgresql
        else "sqlite"
        if db.is_sqlite
        else db.url.get_backend_name()
    )


# --- the desk's one entry point -------------------------------------------------------


_E = TypeVar("_E", bound=enum.Enum)


def _enum_value(kind: type[_E], value: str, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise ServiceError(_("unknown {what}: {value}").format(what=what, value=value)) from None


@dataclass(frozen=True)
class DeskService:
    """What the desk screen may ask of the database, bound to who is asking.

    Screens hold this instead of a ``Database`` so that nothing above the service layer
    can open a session. Every method is blocking: call it from a thread worker. Codes
    (channels, kinds, stages...) cross this boundary as their string values, so the UI
    never imports the model enums; ``clock`` is the one place the desk reads the time
    (tests freeze it).
    """

    db: Database
    actor: Actor
    profile: Profile
    queue_limit: int = 200
    clock: Callable[[], dt.datetime] = utcnow
    export_dir: Path | None = None
    """Where exports (day sheets) are written; default: the data folder's exports/."""
    desk_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    """This desk (one process per SSH session) in the presence table."""

    @property
    def ctx(self) -> Context:
        """The use-case context of this desk: its database, agent, clock and profile."""
        return Context(self.db, self.actor, self.clock, self.profile)

    @property
    def timezone(self) -> str:
        return self.profile.office_timezone

    @property
    def database_kind(self) -> str:
        return database_kind(self.db)

    def now(self) -> dt.datetime:
        return self.clock()

    @property
    def lease_minutes(self) -> int:
        """How long a claim lasts unless renewed (the policy profile says)."""
        return self.profile.lease_minutes

    # --- presence ----------------------------------------------------------------------

    def heartbeat(self, case_id: int | None) -> None:
        """Tell the boards this desk is alive, on ``case_id``, with the agent's last action.

        The last action is the agent's newest audit event (one index lookup on
        ix_audit_agent_time), so every write the desk makes shows without being reported.
        """
        with self.db.read() as s:
            last = s.scalar(
                select(AuditEvent.action)
                .where(AuditEvent.agent_id == self.actor.id)
                .order_by(AuditEvent.occurred_at.desc())
                .limit(1)
            )
        presence.heartbeat(
            self.ctx,
            desk_id=self.desk_id,
            host=socket.gethostname(),
            case_id=case_id,
            last_action=last,
        )

    def sign_off(self) -> None:
        """This desk closes: it leaves the board at once (not after the stale time)."""
        presence.sign_off(self.ctx, self.desk_id)

    # --- the queue ---------------------------------------------------------------------

    def queue(self, *, after: QueueKey | None = None) -> list[QueueRow]:
        return queue_window(
            self.db, limit=self.queue_limit, after=after, profile=self.profile, now=self.now()
        )

    def buckets(self) -> tuple[str, ...]:
        return tuple(bucket_labels(self.profile.dpd_bounds))

    def stages(self) -> tuple[str, ...]:
        """Stages an open case can be in, in process order."""
        return tuple(s.value for s in Stage if s not in (Stage.PAID, Stage.ARCHIVED))

    def queue_filter(
        self,
        *,
        scope: str = "all",
        bucket: str | None = None,
        stage: str | None = None,
        broken_only: bool = False,
        due_today: bool = False,
        on_hold: bool = False,
        registered_only: bool = False,
        search: str = "",
    ) -> QueueFilter:
        from tui_desk.services.queue import QueueFilter, Scope

        return QueueFilter(
            scope=Scope[scope.upper()],
            bucket=bucket,
            stage=_enum_value(Stage, stage, "stage") if stage else None,
            broken_only=broken_only,
            due_today=due_today,
            on_hold=on_hold,
            registered_only=registered_only,
            search=search,
        )

    def describe(self, flt: QueueFilter) -> str:
        """The filter in words for the status line, any phone or ID number in it masked."""
        return scrub_text(flt.describe(), self.profile.masking)

    def queue_page(
        self,
        flt: QueueFilter,
        *,
        after: QueueKey | None = None,
        before: QueueKey | None = None,
        limit: int = 60,
    ) -> QueuePage:
        from tui_desk.services.queue import queue_page

        return queue_page(self.ctx, flt, after=after, before=before, limit=limit)

    # --- leases ------------------------------------------------------------------------

    def take_next(self) -> Claim | None:
        from tui_desk.services.queue import take_next

        return take_next(self.ctx)

    def claim(self, case_id: int) -> Claim:
        from tui_desk.services.queue import claim_case

        return claim_case(self.ctx, case_id)

    def renew(self, case_id: int) -> dt.datetime:
        """The lease's new expiry."""
        from tui_desk.services.queue import renew_lease

        return renew_lease(self.ctx, case_id)

    def release(self, case_id: int) -> None:
        from tui_desk.services.queue import release_lease

        release_lease(self.ctx, case_id)

    # --- the case ----------------------------------------------------------------------

    def case(self, case_id: int, *, week_start: dt.date | None = None) -> CaseBundle:
        now = self.now()
        detail = case_detail(self.db, case_id, profile=self.profile, now=now)
        status: ContactStatus | None = None
        problem: str | None = None
        try:
            status = self.contact_status(case_id)
        except ServiceError as exc:
            problem = str(exc)
        with self.db.read() as s:
            version = s.scalar(select(CollectionCase.version).where(CollectionCase.id == case_id))
            documents = tuple(
                DocumentItem(d.id, d.kind, d.status, d.channel, d.received_at, d.description)
                for d in s.scalars(
                    select(Document)
                    .where(Document.case_id == case_id)
                    .order_by(Document.received_at.desc(), Document.id.desc())
                    .limit(50)
                )
            )
        return CaseBundle(
            case_id=case_id,
            detail=detail,
            contacts=tuple(contact_log(self.db, case_id, profile=self.profile)),
            calendar=self.calendar_view(
                case_id=case_id, start=week_start, span_days=7, all_collectors=False
            ),
            agreement=agreement_view(self.db, case_id, profile=self.profile),
            version=version or 0,
            contact_status=status,
            status_problem=problem,
            documents=documents,
        )

    def case_version(self, case_id: int) -> int:
        """The case's current row version (read again after a refused stale edit)."""
        with self.db.read() as s:
            version = s.scalar(select(CollectionCase.version).where(CollectionCase.id == case_id))
        if version is None:
            raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
        return version

    def calendar(self, case_id: int, week_start: dt.date | None) -> CalendarWeek:
        return case_calendar(
            self.db, case_id, timezone=self.timezone, week_start=week_start, now=self.now()
        )

    def this_week(self) -> dt.date:
        return week_start_of(office_today(self.now(), self.timezone))

    def today(self) -> dt.date:
        return office_today(self.now(), self.timezone)

    def reveal(self, borrower_id: int, field: PersonalField, phone_id: int | None = None) -> str:
        """The full value, through the audited reveal (the actor's role is checked there)."""
        return personal.reveal(self.ctx, borrower_id, field, phone_id)

    # --- contacts ----------------------------------------------------------------------

    def contact_channels(self) -> tuple[str, ...]:
        return (Channel.PHONE.value, Channel.SMS.value, Channel.EMAIL.value)

    def contact_status(
        self, case_id: int, *, channel: str = "phone", phone_id: int | None = None
    ) -> ContactStatus:
        from tui_desk.services.contacts import contact_status

        return contact_status(
            self.db,
            case_id,
            channel=_enum_value(Channel, channel, "channel"),
            phone_id=phone_id,
            now=self.now(),
            profile=self.profile,
        )

    def log_contact(
        self,
        case_id: int,
        *,
        channel: str,
        direction: str,
        outcome: str,
        phone_id: int | None = None,
        note: str | None = None,
        callback_at: dt.datetime | None = None,
        promise_amount_minor: int | None = None,
        promise_due: dt.date | None = None,
        expected_version: int | None = None,
    ) -> LoggedContact:
        from tui_desk.services.contacts import log_contact

        return log_contact(
            self.ctx,
            case_id,
            channel=_enum_value(Channel, channel, "channel"),
            direction=_enum_value(Direction, direction, "direction"),
            outcome=_enum_value(Outcome, outcome, "outcome"),
            phone_id=phone_id,
            note=note or None,
            callback_at=callback_at,
            promise_amount_minor=promise_amount_minor,
            promise_due=promise_due,
            expected_version=expected_version,
        )

    # --- case work ---------------------------------------------------------------------

    def payment_channels(self) -> tuple[str, ...]:
        return tuple(c.value for c in PaymentChannel if c is not PaymentChannel.IMPORT)

    def hold_kinds(self) -> tuple[str, ...]:
        return tuple(k.value for k in HoldKind)

    def document_kinds(self) -> tuple[str, ...]:
        return tuple(k.value for k in DocumentKind)

    def document_channels(self) -> tuple[str, ...]:
        return tuple(c.value for c in DocumentChannel)

    def consent_channels(self) -> tuple[str, ...]:
        return (Channel.PHONE.value, Channel.SMS.value, Channel.EMAIL.value, Channel.VISIT.value)

    def relations(self) -> tuple[str, ...]:
        return tuple(r.value for r in Relation)

    def record_payment(
        self,
        case_id: int,
        *,
        amount_minor: int,
        paid_on: dt.date,
        channel: str,
        reference: str | None = None,
    ) -> int:
        from tui_desk.services.promises import record_payment

        return record_payment(
            self.ctx,
            case_id,
            amount_minor=amount_minor,
            paid_on=paid_on,
            channel=_enum_value(PaymentChannel, channel, "payment channel"),
            reference=reference or None,
        )

    def set_hold(
        self, case_id: int, *, kind: str, reason: str, expected_version: int | None = None
    ) -> int:
        from tui_desk.services.casework import set_hold

        return set_hold(
            self.ctx,
            case_id,
            _enum_value(HoldKind, kind, "hold"),
            reason,
            expected_version=expected_version,
        )

    def register(
        self,
        case_id: int,
        *,
        consent_channel: str,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        from tui_desk.services.casework import register_for_service

        return register_for_service(
            self.ctx,
            case_id,
            consent_channel=_enum_value(Channel, consent_channel, "channel"),
            note=note or None,
            expected_version=expected_version,
        )

    def add_document(
        self,
        case_id: int,
        *,
        kind: str,
        channel: str,
        received_on: dt.date,
        description: str | None = None,
    ) -> int:
        from tui_desk.services.casework import add_document

        zone = ZoneInfo(self.timezone)
        now = self.now()
        received = (
            now
            if received_on == office_today(now, self.timezone)
            else dt.datetime.combine(received_on, dt.time(12), tzinfo=zone).astimezone(dt.UTC)
        )
        return add_document(
            self.ctx.at(now),
            case_id,
            kind=_enum_value(DocumentKind, kind, "document kind"),
            channel=_enum_value(DocumentChannel, channel, "channel"),
            received_at=received,
            description=description or None,
        )

    def review_document(self, document_id: int, *, verified: bool, reason: str | None) -> str:
        """Returns the checklist line ("documents still missing: ..." or "")."""
        from tui_desk.services.casework import review_document

        return review_document(self.ctx, document_id, verified=verified, reason=reason or None)

    def add_phone(
        self, borrower_id: int, raw: str, *, relation: str, holder_name: str | None = None
    ) -> int:
        from tui_desk.services.casework import add_phone

        return add_phone(
            self.ctx,
            borrower_id,
            raw,
            relation=_enum_value(Relation, relation, "relation"),
            holder_name=holder_name or None,
        )

    def set_do_not_call(self, phone_id: int, flag: bool) -> None:
        from tui_desk.services.casework import set_do_not_call

        set_do_not_call(self.ctx, phone_id, flag)

    # --- orphans and contact-rule overrides ---------------------------------------------

    def orphan_count(self) -> int:
        """Open cases without a next action date (an index range count; normally 0)."""
        from tui_desk.services.queue import orphan_count

        return orphan_count(self.db)

    def require_override(self) -> None:
        """``PermissionDenied`` (its text is for the user) unless the actor may grant
        contact-rule overrides. No I/O: the screen asks before opening the form."""
        from tui_desk.rules.permissions import Action

        self.actor.require(Action.OVERRIDE_CONTACT_RULE)

    def override_rules(self) -> tuple[str, ...]:
        """The contact rules an override may waive, in a fixed order."""
        from tui_desk.services.contact_checks import OVERRIDABLE_RULES

        return tuple(OVERRIDABLE_RULES)

    @property
    def max_override_minutes(self) -> int:
        from tui_desk.services.contacts import MAX_OVERRIDE_MINUTES

        return MAX_OVERRIDE_MINUTES

    def override_grantee(self, case_id: int) -> str | None:
        """The login an override on the case is most likely for: the live lease holder,
        else the owner, whichever is an active agent other than the actor (None: none)."""
        now = self.now()
        with self.db.read() as s:
            row = s.execute(
                select(
                    CollectionCase.lease_holder_id,
                    CollectionCase.lease_expires_at,
                    CollectionCase.owner_id,
                ).where(CollectionCase.id == case_id)
            ).first()
            if row is None:
                return None
            holder, until, owner = row
            live = holder if until is not None and until > now else None
            for agent_id in (live, owner):
                if agent_id is None or agent_id == self.actor.id:
                    continue
                login = s.scalar(
                    select(Agent.login).where(Agent.id == agent_id, Agent.active.is_(True))
                )
                if login:
                    return login
        return None

    def grant_override(
        self, case_id: int, *, rule: str, granted_to: str, reason: str, minutes: int
    ) -> int:
        """Let the agent with login ``granted_to`` make one attempt ``rule`` forbids; the
        override's id. Checked and audited by ``contacts.grant_override``."""
        from tui_desk.services.contacts import grant_override
        from tui_desk.services.errors import UnknownAgent

        self.require_override()  # before anything is looked up for someone not allowed
        login = granted_to.strip()
        with self.db.read() as s:
            agent_id = s.scalar(select(Agent.id).where(Agent.login == login))
        if agent_id is None:
            raise UnknownAgent(_("no agent with login {login}").format(login=login))
        return grant_override(self.ctx, case_id, rule, agent_id, reason, minutes=minutes)

    # --- visits --------------------------------------------------------------------------

    def can_override_booking(self) -> bool:
        return self.actor.can(Action.OVERRIDE_BOOKING_RULE)

    def notice_hours(self) -> int:
        return visits.visit_policy(self.profile).notice_hours

    def booking_problems(self, bundle: CaseBundle) -> list[str]:
        d = bundle.detail
        return visits.eligibility_problems(
            VisitCaseFacts(
                case_id=d.case_id,
                district=d.district,
                registered=d.registered,
                documents_complete=d.documents_complete,
                on_hold=d.on_hold,
            )
        )

    def visit_suggestions(self, case_id: int, *, replacing: int | None = None) -> list[SlotOption]:
        return visits.suggest_slots(
            self.db, case_id, replacing=replacing, now=self.now(), profile=self.profile
        )

    def _collector(self, collector_id: int | None, login: str | None) -> tuple[int, str]:
        with self.db.read() as s:
            stmt = select(Agent)
            if collector_id is not None:
                stmt = stmt.where(Agent.id == collector_id)
            else:
                stmt = stmt.where(Agent.login == (login or "").strip())
            agent = s.scalars(stmt).first()
            if agent is None:
                raise NotFound(_("no agent with login {login!r}").format(login=login))
            return agent.id, agent.name

    def book_visit(
        self,
        case_id: int,
        *,
        collector_id: int | None,
        collector_login: str | None,
        starts_at: dt.datetime,
        override_reason: str | None = None,
        expected_version: int | None = None,
    ) -> str:
        """Book; returns the collector's name (for the line shown to the operator)."""
        cid, name = self._collector(collector_id, collector_login)
        visits.book_visit(
            self.ctx,
            case_id,
            collector_id=cid,
            starts_at=starts_at,
            override_reason=override_reason,
            expected_version=expected_version,
        )
        return name

    def reschedule_visit(
        self,
        appointment_id: int,
        *,
        collector_id: int | None,
        collector_login: str | None,
        starts_at: dt.datetime,
        side: str,
        notified_how: str,
        reason: str,
        override_reason: str | None = None,
    ) -> int:
        cid = None
        if collector_id is not None or collector_login:
            cid, _name = self._collector(collector_id, collector_login)
        return visits.reschedule_visit(
            self.ctx,
            appointment_id,
            starts_at=starts_at,
            collector_id=cid,
            side=side,
            notified_how=notified_how,
            reason=reason,
            override_reason=override_reason,
        )

    def cancel_visit(
        self,
        appointment_id: int,
        *,
        side: str,
        notified_how: str,
        reason: str,
        override_reason: str | None = None,
    ) -> None:
        visits.cancel_visit(
            self.ctx,
            appointment_id,
            side=side,
            notified_how=notified_how,
            reason=reason,
            override_reason=override_reason,
        )

    def confirm_visit(self, appointment_id: int) -> None:
        visits.confirm_visit(self.ctx, appointment_id)

    def record_visit_report(self, appointment_id: int, report: visits.VisitReportInput) -> int:
        return visits.record_visit_report(self.ctx, appointment_id, report)

    def calendar_view(
        self,
        *,
        case_id: int | None,
        start: dt.date | None,
        span_days: int,
        all_collectors: bool,
    ) -> CalendarView:
        """A week or day of the case's collector (or of all collectors)."""
        collector_id: int | None = None
        anchor = start
        if not all_collectors and self.actor.role is Role.COLLECTOR:
            # A field collector's calendar is their own round, whatever case is selected.
            return calendar_view(
                self.db, start=anchor or office_today(self.now(), self.timezone),
                span_days=span_days, timezone=self.timezone, collector_id=self.actor.id,
                case_id=case_id, holidays_country=self.profile.holidays_country,
            )  # fmt: skip
        if not all_collectors and case_id is not None:
            collector_id, latest = case_collector(self.db, case_id)
            if anchor is None and latest is not None:
                anchor = office_today(latest, self.timezone)
        if anchor is None:
            anchor = office_today(self.now(), self.timezone)
        if not all_collectors and collector_id is None:
            # No visit yet: the case's collector is unknown, so the period stays empty.
            return empty_view(
                start=anchor, span_days=span_days, timezone=self.timezone, case_id=case_id,
                holidays_country=self.profile.holidays_country,
            )  # fmt: skip
        return calendar_view(
            self.db, start=anchor, span_days=span_days, timezone=self.timezone,
            collector_id=collector_id, case_id=case_id,
            holidays_country=self.profile.holidays_country,
        )  # fmt: skip

    def overdue_door_money(self) -> int:
        """For supervisors: door collections still unmatched past the profile's limit."""
        if not self.actor.can(Action.VIEW_BOARD):
            return 0
        return visits.overdue_collection_count(self.db, now=self.now(), profile=self.profile)

    def export_day_sheet(self, collector_id: int, day: dt.date) -> Path:
        """Write the collector's day sheet (Markdown and printable text); the .txt path."""
        from tui_desk.exports.day_sheet import render_markdown, render_text

        sheet = self.day_sheet(collector_id, day)
        folder = self.export_dir or data_dir() / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"day-sheet-{sheet.collector_login}-{day.isoformat()}"
        region = self.profile.country
        printed = self.now()
        stem.with_suffix(".md").write_text(
            render_markdown(sheet, printed_at=printed, home_region=region), encoding="utf-8"
        )
        text_path = stem.with_suffix(".txt")
        text_path.write_text(
            render_text(sheet, printed_at=printed, home_region=region), encoding="utf-8"
        )
        return text_path

    def day_sheet(self, collector_id: int, day: dt.date) -> DaySheet:
        return visits.day_sheet(self.ctx, collector_id, day)

    # --- plans: repayment plans and the payment ledger ------------------------------------

    if TYPE_CHECKING:
        from tui_desk.rules.plans import PlanRequest
        from tui_desk.services import plans

    def plan_basis(self, case_id: int) -> plans.PlanBasis:
        """What a plan on the case starts from (read once; previews are pure from then on)."""
        from tui_desk.services import plans

        return plans.plan_basis(
            self.db, case_id, actor=self.actor, now=self.now(), profile=self.profile
        )

    def can_approve_above_means(self) -> bool:
        return self.actor.can(Action.APPROVE_ABOVE_MEANS)

    def create_plan(
        self,
        case_id: int,
        request: PlanRequest,
        *,
        approval_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        from tui_desk.services import plans

        return plans.create_plan(
            self.ctx,
            case_id,
            request,
            approval_reason=approval_reason,
            expected_version=expected_version,
        )

    def plan_overview(self, plan_id: int) -> PlanOverview:
        from tui_desk.services import plans

        return plans.plan_overview(self.db, plan_id)

    # adjustments (PROCESS.md step 8): hardship requests, supervisors' decisions, early
    # settlement.

    if TYPE_CHECKING:
        from tui_desk.rules.adjustments import Changes
        from tui_desk.services import adjustments

    def adjustment_basis(self, case_id: int) -> adjustments.AdjustmentBasis:
        """The active plan as it stands (read once; the form's preview is pure)."""
        from tui_desk.services import adjustments

        return adjustments.adjustment_basis(self.db, case_id, now=self.now(), profile=self.profile)

    def request_adjustment(self, case_id: int, changes: Changes, reason: str) -> int:
        from tui_desk.services import adjustments

        return adjustments.request_adjustment(self.ctx, case_id, changes, reason)

    def can_approve_adjustments(self) -> bool:
        return self.actor.can(Action.APPROVE_ADJUSTMENT)

    def pending_adjustments(self, case_id: int | None = None) -> list[PendingAdjustment]:
        from tui_desk.services import adjustments

        return adjustments.pending_adjustments(self.db, case_id=case_id)

    def decide_adjustment(
        self, adjustment_id: int, *, approve: bool, note: str | None
    ) -> adjustments.Decision:
        from tui_desk.services import adjustments

        return adjustments.decide_adjustment(self.ctx, adjustment_id, approve, note)  # fmt: skip

    def early_settlement(self, case_id: int) -> adjustments.SettlementOffer:
        from tui_desk.services import adjustments

        return adjustments.early_settlement(self.db, case_id, now=self.now(), profile=self.profile)

    def accept_early_settlement(self, case_id: int, reason: str = "") -> adjustments.Decision:
        from tui_desk.services import adjustments

        return adjustments.accept_early_settlement(self.ctx, case_id, reason)

    # --- follow-ups ------------------------------------------------------------------------

    if TYPE_CHECKING:
        from tui_desk.views.followups import FollowUpLine

    def follow_ups(self, *, mine: bool = True, case_id: int | None = None) -> list[FollowUpLine]:
        """Follow-ups due within the profile's ``list_ahead_days`` and the missed ones.

        ``mine=False`` (every agent's) is for supervisors; others always get their own.
        """
        from tui_desk.services.followups import follow_up_list, follow_up_policy

        ahead = follow_up_policy(self.profile).list_ahead_days
        now = self.now()
        everyone = not mine and self.can_see_all_follow_ups()
        return follow_up_list(
            self.db, owner_id=None if everyone else self.actor.id, case_id=case_id,
            due_before=office_today(now, self.timezone) + dt.timedelta(days=ahead),
            now=now, profile=self.profile,
        )  # fmt: skip

    def can_see_all_follow_ups(self) -> bool:
        return self.actor.can(Action.REASSIGN)

    def complete_follow_up(self, follow_up_id: int, *, note: str) -> dt.date | None:
        """Mark it done; the date of the next follow-up when this one scheduled it."""
        from tui_desk.services.followups import complete_follow_up

        done = complete_follow_up(self.ctx, follow_up_id, note=note)
        return done.next_due_on

    def reassign_follow_up(self, follow_up_id: int, owner_login: str) -> str:
        """Supervisors: give it to another agent; returns their name."""
        from tui_desk.services.followups import reassign_follow_up

        agent_id, name = self._collector(None, owner_login)
        reassign_follow_up(self.ctx, follow_up_id, agent_id)
        return name

    # --- complaints and the archive ----------------------------------------------------------

    def record_complaint(
        self,
        case_id: int,
        *,
        description: str,
        channel: str,
        against_login: str | None,
        hold: bool,
    ) -> int:
        with self.db.read() as s:
            latest = s.scalar(
                select(Appointment.id)
                .where(Appointment.case_id == case_id)
                .order_by(Appointment.starts_at.desc())
                .limit(1)
            )
        return complaints.record_complaint(
            self.ctx,
            case_id,
            description=description,
            channel=channel,
            against_login=against_login,
            appointment_id=None if against_login else latest,
            hold=hold,
        )

    def handles_complaints(self) -> bool:
        """Complaints are routed to supervisors (the role alone decides; no database)."""
        return self.actor.can(Action.VIEW_BOARD)

    def complaints(self) -> list[ComplaintLine]:
        """Open complaints (supervisors only; others are refused with the reason)."""
        self.actor.require(Action.VIEW_BOARD)
        return list(complaints.complaint_list(self.db))

    def decide_complaint(self, complaint_id: int, status: str, resolution: str | None) -> None:
        complaints.decide_complaint(self.ctx, complaint_id, status, resolution=resolution)

    def archive_case(self, case_id: int, reason: str | None) -> None:
        from tui_desk.services import archive

        archive.archive_case(self.ctx, case_id, reason=reason)

    def restore_case(self, case_id: int, reason: str) -> None:
        from tui_desk.services import archive

        archive.restore_case(self.ctx, case_id, reason=reason)

    # --- agreements ------------------------------------------------------------------------

    # --- SMS ------------------------------------------------------------------------------

    def sms_templates(self) -> list[tuple[str, str]]:
        """(name, title) of every SMS template, the profile's language first."""
        from tui_desk.services.sms import load_sms_templates

        catalogue = load_sms_templates(self.profile)
        return [(t.name, f"{t.title} ({t.language})") for t in catalogue.templates]

    def sms_preview(self, case_id: int, template: str, phone_id: int | None = None) -> SmsPreview:
        from tui_desk.services.sms import preview_sms

        return preview_sms(self.ctx, case_id, template, phone_id=phone_id)  # fmt: skip

    def queue_sms(
        self,
        case_id: int,
        template: str,
        *,
        phone_id: int | None = None,
        expected_version: int | None = None,
    ) -> QueuedSms:
        """Log the SMS and put it in the outbox (one transaction); the worker sends it."""
        from tui_desk.services.sms import queue_sms

        return queue_sms(
            self.ctx, case_id, template, phone_id=phone_id, expected_version=expected_version
        )

    def sms_outbox(self, case_id: int) -> list[OutboxLine]:
        """The case's latest SMS and where each stands (pending, sent, delivered, failed)."""
        from tui_desk.services.sms import outbox_lines

        return outbox_lines(self.db, case_id, profile=self.profile)

    # --- dialing ---------------------------------------------------------------------------

    if TYPE_CHECKING:
        from tui_desk.services.dialing import Dialer
        from tui_desk.views.dialing import DialPlan, DialResult

    def dial(self, case_id: int, phone_id: int, dialer: Dialer) -> DialResult:
        """Dial the number through the phone system; the attempt is logged (see dialing)."""
        from tui_desk.services import dialing

        return dialing.dial(self.ctx, case_id, phone_id, dialer=dialer, clock=self.clock)

    def dial_plan(self, case_id: int, phone_id: int) -> DialPlan:
        """No phone system: the number formatted for dialing by hand (an audited reveal)."""
        from tui_desk.services import dialing

        return dialing.dial_plan(self.ctx, case_id, phone_id)

    def pending_dial(self, case_id: int, phone_id: int | None = None) -> int | None:
        """The attempt this agent dialled on the case whose outcome is still to log."""
        from tui_desk.services import dialing

        return dialing.pending_dial_id(self.ctx, case_id, phone_id)

    def agreement_id(self, case_id: int) -> int | None:
        return agreements.current_agreement_id(self.db, case_id)

    def open_agreement(self, agreement_id: int) -> AgreementRecord:
        return agreements.open_agreement(self.db, agreement_id)

    def draft_agreement(self, case_id: int, *, expected_version: int | None = None) -> int:
        return agreements.draft_agreement(self.ctx, case_id, expected_version=expected_version)

    def save_special_terms(self, agreement_id: int, terms: str, record_version: int) -> int:
        return agreements.save_version(
            self.ctx,
            agreement_id,
            special_terms=terms,
            note="special terms",
            record_version=record_version,
        )

    def mark_agreement_ready(self, agreement_id: int, record_version: int) -> None:
        agreements.mark_ready(self.ctx, agreement_id, record_version=record_version)  # fmt: skip

    def sign_agreement(
        self,
        agreement_id: int,
        *,
        borrower_confirmation: str,
        place: str,
        effective_on: dt.date | None,
        delivery: str | None,
        record_version: int,
    ) -> str:
        return agreements.sign_agreement(
            self.ctx,
            agreement_id,
            borrower_confirmation=borrower_confirmation,
            place=place,
            effective_on=effective_on,
            borrower_copy_delivery=delivery,
            record_version=record_version,
        )

    def export_agreement(self, agreement_id: int) -> agreements.ExportedCopies:
        folder = self.export_dir or data_dir() / "exports"
        return agreements.export_copies(self.ctx, agreement_id, folder)

    def record_agreement_delivery(self, agreement_id: int, how: str) -> None:
        agreements.record_delivery(self.ctx, agreement_id, how)

    # --- supervisor board (live view) --------------------------------------------------------

    def can_view_board(self) -> bool:
        return self.actor.can(Action.VIEW_BOARD)

    if TYPE_CHECKING:
        from tui_desk.views.board import Board

    def board_version(self) -> int:
        """The board snapshot's change marker: one small read, polled several times a second."""
        self.actor.require(Action.VIEW_BOARD)
        from tui_desk.services.board import board_version

        return board_version(self.db)

    def board(self) -> Board:
        """The snapshot the worker keeps fresh, with live presence (supervisors only)."""
        self.actor.require(Action.VIEW_BOARD)
        from tui_desk.services.board import read_board

        return read_board(self.db, self.now(), self.profile)

    def board_refreshed_at(self) -> dt.datetime | None:
        """When the worker last refreshed any board section (None: never).

        ``Board.as_of`` is the oldest section, and the heavy one is legitimately minutes
        old in a quiet office (no writes, nothing to recount); the newest refresh tells
        whether the worker is alive.
        """
        self.actor.require(Action.VIEW_BOARD)
        from tui_desk.db.models import BoardSnapshot

        with self.db.read() as s:
            return s.scalar(select(func.max(BoardSnapshot.computed_at)))

    def can_release_leases(self) -> bool:
        return self.actor.can(Action.RELEASE_LEASE)

    # --- supervision: reassign, leases, override requests, audit, reports ----------------------

    if TYPE_CHECKING:  # names for the annotations below; imported lazily at run time
        from tui_desk.services import supervision
        from tui_desk.views.reports import ReportTable

    def can_reassign(self) -> bool:
        return self.actor.can(Action.REASSIGN)

    def reassign(self, case_ids: Sequence[int], to_login: str, reason: str) -> int:
        """Give the cases to the agent ``to_login``; how many changed owner (one audit event)."""
        from tui_desk.services.supervision import reassign_cases

        return reassign_cases(self.ctx, case_ids, to_login, reason=reason)

    def release_stuck_lease(self, case_id: int) -> None:
        """End whoever's lease on the case (supervisors; audited by the queue service)."""
        from tui_desk.services.queue import release_lease

        self.actor.require(Action.RELEASE_LEASE)
        release_lease(self.ctx, case_id)

    def override_request_rules(self) -> tuple[str, ...]:
        """The contact rules an operator may ask to have waived (the override rules)."""
        return self.override_rules()

    def refused_override_rules(self, case_id: int) -> tuple[str, ...]:
        """The waivable rules that refuse a call or SMS on the case now, on any of the
        borrower's numbers that is not do-not-call (empty: none, or only unwaivable ones)."""
        from tui_desk.services.contact_checks import OVERRIDABLE_RULES
        from tui_desk.services.contacts import contact_status

        now = self.now()
        with self.db.read() as s:
            phone_ids = list(
                s.scalars(
                    select(Phone.id)
                    .join(CollectionCase, CollectionCase.borrower_id == Phone.borrower_id)
                    .where(CollectionCase.id == case_id, Phone.do_not_call.is_(False))
                    .order_by(Phone.id)
                )
            )
        found: set[str] = set()
        checks: list[tuple[Channel, int | None]] = [(Channel.PHONE, p) for p in phone_ids]
        checks.append((Channel.SMS, None))
        for channel, phone_id in checks:
            status = contact_status(
                self.db, case_id, channel=channel, phone_id=phone_id, now=now,
                profile=self.profile,
            )  # fmt: skip
            if not status.allowed and status.rule in OVERRIDABLE_RULES:
                found.add(status.rule)
        return tuple(r for r in OVERRIDABLE_RULES if r in found)

    def request_override(self, case_id: int, rule: str, reason: str) -> int:
        """Ask a supervisor to waive ``rule`` once for the actor on the case; the request id."""
        from tui_desk.services.supervision import request_override

        return request_override(self.ctx, case_id, rule, reason)

    def override_requests(self, status: str = "pending") -> list[OverrideRequestLine]:
        from tui_desk.services.supervision import override_requests

        return override_requests(self.ctx, status=status)

    def override_request(self, request_id: int) -> OverrideRequestLine:
        from tui_desk.services.supervision import override_request

        return override_request(self.ctx, request_id)

    def pending_override_requests(self) -> int:
        from tui_desk.services.supervision import pending_request_count

        return pending_request_count(self.db)

    def decide_override_request(
        self, request_id: int, *, approve: bool, note: str = "", minutes: int = 30
    ) -> supervision.OverrideDecision:
        from tui_desk.services.supervision import decide_override_request

        return decide_override_request(
            self.ctx, request_id, approve=approve, note=note, minutes=minutes
        )

    def case_visits(self, case_id: int) -> list[CaseVisitLine]:
        from tui_desk.services.supervision import case_visits

        return case_visits(self.db, case_id)

    def audit_page(
        self,
        flt: supervision.AuditFilter,
        *,
        before_id: int | None = None,
        limit: int = 50,
    ) -> AuditPage:
        from tui_desk.services.supervision import audit_page

        return audit_page(self.ctx, flt, before_id=before_id, limit=limit)

    def audit_actions(self) -> list[str]:
        from tui_desk.services.supervision import audit_actions

        self.actor.require(Action.VIEW_BOARD)
        return audit_actions(self.db)

    def report_names(self) -> list[tuple[str, str]]:
        """(name, translated title) of every report, in a fixed order."""
        from tui_desk.services.reports import REPORTS

        return [(name, _(report.title)) for name, report in REPORTS.items()]

    def report_period(self) -> tuple[dt.date, dt.date]:
        """The default period: the first of this month to today (office days)."""
        today = self.today()
        return today.replace(day=1), today

    def report(self, name: str, date_from: dt.date, date_to: dt.date) -> ReportTable:
        from tui_desk.services.reports import run_report

        self.actor.require(Action.VIEW_BOARD)
        return run_report(self.db, name, date_from=date_from, date_to=date_to, profile=self.profile)

    def report_csv(self, name: str, date_from: dt.date, date_to: dt.date) -> Path:
        """Write the report as CSV (UTF-8 with a BOM, for spreadsheet programs); the path."""
        from tui_desk.services.reports import to_csv

        table = self.report(name, date_from, date_to)
        folder = self.export_dir or data_dir() / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"report-{name}-{date_from.isoformat()}-{date_to.isoformat()}.csv"
        path.write_text(to_csv(table), encoding="utf-8-sig", newline="")
        return path
