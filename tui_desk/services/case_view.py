"""Read models of one case: its header, contact log and plan/agreement summary.

Each takes an open read session, so the desk reads a whole case in one transaction and
the version a form sends back belongs to what the operator saw. Personal data (ID numbers,
phone numbers, addresses) leaves masked unless a caller explicitly asks otherwise; the
desk never does, it goes through the audited reveal instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Agreement,
    AgreementStatus,
    AgreementVersion,
    Borrower,
    CaseHold,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    Document,
    DocumentKind,
    InstalmentStatus,
    LoanAccount,
    OutboxStatus,
    Outcome,
    Payment,
    Phone,
    PlanInstalment,
    PlanStatus,
    RepaymentPlan,
    ServiceRegistration,
    SmsOutbox,
    StrategyAction,
    StrategyActionStatus,
)
from tui_desk.i18n import _
from tui_desk.rules.agreements import Content, TemplateError, content_hash
from tui_desk.rules.agreements import as_text as agreement_text
from tui_desk.rules.allocation import Owed, allocate, allocation_order
from tui_desk.rules.balance import line_shown
from tui_desk.rules.masking import mask_address, mask_id, mask_phone
from tui_desk.rules.profile import Profile
from tui_desk.services import ledger
from tui_desk.services.errors import NotFound
from tui_desk.views.agreements import (
    AgreementSummary,
    AgreementView,
    InstalmentLine,
    PlanSummary,
)
from tui_desk.views.case import (
    AccountLine,
    CaseDetail,
    ContactLine,
    DocumentLine,
    HoldLine,
    PhoneLine,
    RegistrationLine,
)

if TYPE_CHECKING:
    pass
from tui_desk.services.case_facts import dpd_and_reason, known_values, office_today, scrub_text

CONTACT_LOG_LIMIT = 200


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
    with db.read() as s:
        return read_case_detail(s, case_id, profile=profile, now=now, masked=masked)


def read_case_detail(
    s: Session, case_id: int, *, profile: Profile, now: dt.datetime, masked: bool = True
) -> CaseDetail:
    prof = profile
    policy = prof.masking
    today = office_today(now, prof.office_timezone)
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
    dpd, bucket, why = dpd_and_reason(case, today, now, prof)
    balance = ledger.read_balance(s, case.id, now, prof)
    known = known_values(borrower, phones, policy)
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
        overdue_minor=balance.overdue_minor,
        broken_promises=case.broken_promises,
        next_action_at=case.next_action_at,
        callback_at=case.callback_at,
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
                hold_id=h.id,
                kind=h.kind,
                reason=scrub_text(h.reason, policy, known) if masked else h.reason,
                set_at=h.set_at,
                ends_at=h.ends_at,
                complaint_id=h.complaint_id,
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
        outstanding_minor=balance.outstanding_minor,
        credit_minor=balance.credit_minor,
    )


# --- contact log ---------------------------------------------------------------------


def contact_log(
    db: Database, case_id: int, *, profile: Profile, limit: int = CONTACT_LOG_LIMIT
) -> list[ContactLine]:
    """The case's contact attempts, newest first, numbers and addresses masked."""
    with db.read() as s:
        return read_contact_log(s, case_id, profile=profile, limit=limit)


_LOG_AGENT = aliased(Agent)
_LOG_AUTO = aliased(StrategyAction)
"""The contact log's aliases, made once: SQLAlchemy works out each new alias's columns
again (a tenth of the whole case's read when they were made on every read)."""


def read_contact_log(
    s: Session, case_id: int, *, profile: Profile, limit: int = CONTACT_LOG_LIMIT
) -> list[ContactLine]:
    policy = profile.masking
    agent = _LOG_AGENT
    # The SMS's place in the outbox: the attempt's outcome says "sent" from the moment it
    # is queued, so the log shows the outbox's status instead.
    outbox = (
        select(SmsOutbox.status)
        .where(SmsOutbox.contact_id == ContactAttempt.id)
        .order_by(SmsOutbox.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    auto = _LOG_AUTO
    stmt = (
        select(ContactAttempt, Phone.e164, agent.name, outbox, auto.rule, auto.action)
        .outerjoin(Phone, Phone.id == ContactAttempt.phone_id)
        .outerjoin(agent, agent.id == ContactAttempt.agent_id)
        .outerjoin(auto, auto.contact_id == ContactAttempt.id)
        .where(ContactAttempt.case_id == case_id)
        .order_by(ContactAttempt.started_at.desc(), ContactAttempt.id.desc())
        .limit(max(1, limit))
    )
    case = _load_case(s, case_id)
    borrower = s.get(Borrower, case.borrower_id)
    assert borrower is not None
    phones = s.scalars(select(Phone).where(Phone.borrower_id == borrower.id)).all()
    known = known_values(borrower, phones, policy)
    lines = [
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
            voided=c.voided_at is not None,
            agent_id=c.agent_id,
            sms_status=OutboxStatus(sms_status) if sms_status is not None else None,
            auto_rule=rule,
            auto_action=action,
        )
        for c, e164, agent_name, sms_status, rule, action in s.execute(stmt)
    ]
    # What a contact strategy did without a contact attempt (a callback booked, priority
    # raised) or was refused: lines of their own, among the attempts by time.
    for row in s.scalars(
        select(StrategyAction)
        .where(StrategyAction.case_id == case_id, StrategyAction.contact_id.is_(None))
        .order_by(StrategyAction.at.desc(), StrategyAction.id.desc())
        .limit(max(1, limit))
    ):
        refused = row.status is StrategyActionStatus.REFUSED
        lines.append(
            ContactLine(
                contact_id=0,
                started_at=row.at,
                channel=Channel.SMS if row.action == "sms" else Channel.PHONE,
                direction=Direction.OUTBOUND,
                number=None,
                address=None,
                party=None,
                outcome=Outcome.CALLBACK if row.action == "callback" else Outcome.SENT,
                note=scrub_text(row.reason, policy, known) if refused and row.reason else None,
                agent_name=None,
                callback_at=case.callback_at if row.action == "callback" and not refused else None,
                auto_rule=row.rule,
                auto_action=row.action,
                auto_id=row.id,
                auto_refused_by=row.refused_by if refused else None,
            )
        )
    lines.sort(key=lambda line: (line.started_at, line.auto_id or 0, line.contact_id), reverse=True)
    return lines[: max(1, limit)]


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
    db: Database, case_id: int, *, profile: Profile, now: dt.datetime, masked: bool = True
) -> AgreementView:
    """The case's current plan (active, else the newest draft) and its agreement."""
    with db.read() as s:
        return read_agreement_view(s, case_id, profile=profile, now=now, masked=masked)


def read_agreement_view(
    s: Session, case_id: int, *, profile: Profile, now: dt.datetime, masked: bool = True
) -> AgreementView:
    policy = profile.masking
    case = _load_case(s, case_id)
    today = office_today(now, profile.office_timezone)
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
        # The plan in force is shown as the ledger settles it now, not as last stored.
        found = ledger.read_ledger(s, case.id, now, profile)
        settled: dict[int, tuple[int, InstalmentStatus]] = {}
        if found.plan is not None and found.plan.id == plan.id:
            settled = {
                line.seq: (state.paid_minor, state.status)
                for line, state in zip(found.lines, found.balance.lines, strict=True)
            }

        def line_of(i: PlanInstalment) -> InstalmentLine:
            paid, status = settled.get(i.seq, (i.paid_minor, i.status))
            return InstalmentLine(
                i.seq, i.due_on, i.amount_minor, paid, status, line_shown(i.due_on, status, today)
            )

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
            schedule=tuple(line_of(i) for i in schedule),
            allocated=_allocated(s, case, plan, profile),
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
            known = known_values(borrower, phones, policy)
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
