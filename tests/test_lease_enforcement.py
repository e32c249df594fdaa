"""The database is the only judge of who works a case: every write use case checks the lease.

Another agent's live lease refuses the write naming the holder and the lease's end; an
expired lease does not; the holder may; a supervisor may with a reason (audited); an
inbound call is logged by whoever answered it. On both engines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from tests.factories import Factory, cn_id_number
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AgreementStatus,
    AuditEvent,
    CaseStatus,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    DocumentChannel,
    DocumentKind,
    DocumentStatus,
    FollowUp,
    FollowUpStatus,
    HoldKind,
    PaymentChannel,
    Phone,
    PlanStatus,
    Relation,
    RepaymentPlan,
    Role,
    Side,
    Stage,
    VisitOutcome,
)
from tui_desk.rules.adjustments import Changes
from tui_desk.rules.profile import load_profile
from tui_desk.services import (
    adjustments,
    agreements,
    archive,
    casework,
    complaints,
    contacts,
    dialing,
    followups,
    plans,
    promises,
    sms,
    visits,
)
from tui_desk.services.context import Actor, Context
from tui_desk.services.dialing import Dialer
from tui_desk.services.errors import LeaseHeld

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)  # Monday 14:00
CN = load_profile("cn")
UNTIL = NOW + dt.timedelta(minutes=10)  # 14:10 office time


def actor_of(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        self.op1 = actor_of(db, self.make.agent(login="op1", name="王一"))
        self.op2 = actor_of(db, self.make.agent(login="op2", name="李二"))
        self.sup1 = actor_of(db, self.make.agent(login="sup1", name="赵主管", role=Role.SUPERVISOR))
        self.sup2 = actor_of(db, self.make.agent(login="sup2", name="钱主管", role=Role.SUPERVISOR))
        self.borrower = self.make.borrower(name="张三", phones=["+8613812348000"])
        self.case = self.make.case(borrower_id=self.borrower, stage=Stage.CONTACTING)
        [self.phone] = self.make.phone_ids(self.borrower)
        self.ref = 0  # the id a preparation step made (a hold, an appointment, ...)

    def ctx(self, actor: Actor, now: dt.datetime = NOW) -> Context:
        return Context.frozen(self.db, actor, now, CN)

    def lease(self, holder: Actor, until: dt.datetime) -> None:
        with self.db.write() as s:
            s.execute(
                update(CollectionCase)
                .where(CollectionCase.id == self.case)
                .values(lease_holder_id=holder.id, lease_expires_at=until)
            )

    def events(self, action: str) -> list[AuditEvent]:
        with self.db.read() as s:
            rows = list(
                s.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.action == action, AuditEvent.case_id == self.case)
                    .order_by(AuditEvent.id)
                )
            )
            s.expunge_all()
            return rows


@dataclass(frozen=True)
class Write:
    """One write use case: what it needs first, and the call itself."""

    name: str
    act: Callable[[World, Context], object]
    prepare: Callable[[World], None] = lambda w: None
    supervisor: bool = False  # the use case itself needs a supervisor
    later: dt.timedelta = dt.timedelta(0)  # how long after NOW it is called
    succeeds: bool = True  # with valid arguments on an unleased case (else: refusal only)


def _hold(w: World) -> None:
    w.ref = w.make.hold(w.case, set_by_id=w.op1.id)


def _registered(w: World) -> None:
    w.make.registration(w.case, agent_id=w.op1.id)


def _document(w: World) -> None:
    w.ref = w.make.document(w.case, status=DocumentStatus.RECEIVED)


def _visit_world(w: World) -> None:
    collector = w.make.collector(login="col")
    with w.db.write() as s:
        case = s.get(CollectionCase, w.case)
        assert case is not None
        case.stage, case.registered, case.documents_complete = Stage.DOCUMENTS, True, True
    w.ref = collector


def _appointment(w: World) -> None:
    _visit_world(w)
    starts = dt.datetime(2026, 3, 5, 10, 0, tzinfo=SH).astimezone(dt.UTC)
    w.ref = w.make.appointment(w.case, collector_id=w.ref, booked_by_id=w.op1.id, starts_at=starts)


def _plan_world(w: World) -> None:
    with w.db.write() as s:
        case = s.get(CollectionCase, w.case)
        assert case is not None
        case.stage = Stage.VISITED


def _draft_plan(w: World) -> None:
    _plan_world(w)
    w.make.plan(w.case, created_by_id=w.op1.id, status=PlanStatus.DRAFT)


def _agreement(w: World) -> None:
    _draft_plan(w)
    w.ref = agreements.draft_agreement(w.ctx(w.op1), w.case)


def _ready_agreement(w: World) -> None:
    _agreement(w)
    agreements.mark_ready(w.ctx(w.op1), w.ref)


def _signed_agreement(w: World) -> None:
    _plan_world(w)
    plan = w.make.plan(w.case, created_by_id=w.op1.id, status=PlanStatus.DRAFT)
    w.ref = w.make.agreement(
        w.case, created_by_id=w.op1.id, plan_id=plan, status=AgreementStatus.SIGNED, signed=True
    )


def _active_plan(w: World) -> None:
    _plan_world(w)
    basis = plans.plan_basis(w.db, w.case, now=NOW, profile=CN)
    request = basis.request(waiver=basis.overdue_charges, first_due=dt.date(2026, 4, 2))
    plan_id = plans.create_plan(w.ctx(w.op1), w.case, request)
    w.make.agreement(
        w.case, created_by_id=w.op1.id, plan_id=plan_id, status=AgreementStatus.SIGNED, signed=True
    )
    with w.db.write() as s:
        plan = s.get(RepaymentPlan, plan_id)
        assert plan is not None
        plans.activate_plan(s, plan, NOW, profile=CN)


def _follow_up(w: World) -> None:
    with w.db.write() as s:
        row = FollowUp(
            case_id=w.case,
            due_on=NOW.date(),
            channel=Channel.PHONE,
            owner_id=None,
            status=FollowUpStatus.SCHEDULED,
        )
        s.add(row)
        s.flush()
        w.ref = row.id


def _archived(w: World) -> None:
    with w.db.write() as s:
        case = s.get(CollectionCase, w.case)
        assert case is not None
        case.status = CaseStatus.CLOSED


def _create_plan(w: World, ctx: Context) -> object:
    basis = plans.plan_basis(w.db, w.case, now=NOW, profile=CN)
    request = basis.request(waiver=basis.overdue_charges, first_due=dt.date(2026, 4, 2))
    return plans.create_plan(ctx, w.case, request)


def _book(w: World, ctx: Context) -> object:
    starts = dt.datetime(2026, 3, 5, 9, 0, tzinfo=SH).astimezone(dt.UTC)
    return visits.book_visit(ctx, w.case, collector_id=w.ref, starts_at=starts)


def _reschedule(w: World, ctx: Context) -> object:
    starts = dt.datetime(2026, 3, 6, 10, 0, tzinfo=SH).astimezone(dt.UTC)
    return visits.reschedule_visit(
        ctx, w.ref, starts_at=starts, side=Side.BORROWER, notified_how=Channel.PHONE, reason="忙"
    )


def _report(w: World, ctx: Context) -> object:
    report = visits.VisitReportInput(
        outcome=VisitOutcome.BORROWER_ABSENT,
        work_id_shown=True,
        name_checked=True,
        contact_checked=True,
        address_checked=True,
        documents_ok=True,
    )
    return visits.record_visit_report(ctx, w.ref, report)


WRITES = [
    Write(
        "log_contact",
        lambda w, c: contacts.log_contact(
            c, w.case, channel=Channel.PHONE, direction=Direction.OUTBOUND, outcome="no_answer"
        ),
    ),
    Write("queue_sms", lambda w, c: sms.queue_sms(c, w.case, "reminder.zh_CN")),
    Write(
        "dial",
        lambda w, c: dialing.dial(c, w.case, w.phone, dialer=cast(Dialer, None)),
        succeeds=False,
    ),
    Write(
        "record_payment",
        lambda w, c: promises.record_payment(
            c, w.case, amount_minor=10_000, paid_on=NOW.date(), channel=PaymentChannel.COUNTER
        ),
    ),
    Write("set_hold", lambda w, c: casework.set_hold(c, w.case, HoldKind.DISPUTE, "disputes")),
    Write(
        "release_hold",
        lambda w, c: casework.release_hold(c, w.ref, "settled"),
        prepare=_hold,
        supervisor=True,
    ),
    Write(
        "register_for_service",
        lambda w, c: casework.register_for_service(c, w.case, consent_channel=Channel.PHONE),
    ),
    Write(
        "add_document",
        lambda w, c: casework.add_document(
            c,
            w.case,
            kind=DocumentKind.INCOME,
            channel=DocumentChannel.IN_PERSON,
            received_at=NOW,
        ),
        prepare=_registered,
    ),
    Write(
        "review_document",
        lambda w, c: casework.review_document(c, w.ref, verified=True),
        prepare=_document,
    ),
    Write(
        "add_phone",
        lambda w, c: casework.add_phone(c, w.borrower, "13912345678", relation=Relation.SPOUSE),
    ),
    Write("set_phone_verified", lambda w, c: casework.set_phone_verified(c, w.phone, False)),
    Write(
        "correct_id_number",
        lambda w, c: casework.correct_id_number(
            c, w.borrower, cn_id_number("110105", dt.date(1980, 1, 1), 77)
        ),
    ),
    Write("book_visit", _book, prepare=_visit_world),
    Write("reschedule_visit", _reschedule, prepare=_appointment),
    Write(
        "cancel_visit",
        lambda w, c: visits.cancel_visit(
            c, w.ref, side=Side.BORROWER, notified_how=Channel.PHONE, reason="不在家"
        ),
        prepare=_appointment,
    ),
    Write("confirm_visit", lambda w, c: visits.confirm_visit(c, w.ref), prepare=_appointment),
    Write("record_visit_report", _report, prepare=_appointment, later=dt.timedelta(days=3)),
    Write("create_plan", _create_plan, prepare=_plan_world),
    Write(
        "request_adjustment",
        lambda w, c: adjustments.request_adjustment(c, w.case, Changes(extend_by=12), "lost job"),
        prepare=_active_plan,
    ),
    Write(
        "accept_early_settlement",
        lambda w, c: adjustments.accept_early_settlement(c, w.case),
        prepare=_active_plan,
        succeeds=False,
    ),
    Write(
        "draft_agreement", lambda w, c: agreements.draft_agreement(c, w.case), prepare=_draft_plan
    ),
    Write(
        "save_version",
        lambda w, c: agreements.save_version(c, w.ref, special_terms="分期"),
        prepare=_agreement,
    ),
    Write("mark_ready", lambda w, c: agreements.mark_ready(c, w.ref), prepare=_agreement),
    Write(
        "sign_agreement",
        lambda w, c: agreements.sign_agreement(
            c, w.ref, borrower_confirmation="张三", place="北京市朝阳区"
        ),
        prepare=_ready_agreement,
    ),
    Write(
        "record_delivery",
        lambda w, c: agreements.record_delivery(c, w.ref, "in person"),
        prepare=_signed_agreement,
    ),
    Write(
        "record_complaint",
        lambda w, c: complaints.record_complaint(c, w.case, description="rude caller"),
    ),
    Write(
        "archive_case",
        lambda w, c: archive.archive_case(c, w.case, reason="paid off"),
        supervisor=True,
    ),
    Write(
        "restore_case",
        lambda w, c: archive.restore_case(c, w.case, reason="reopened"),
        prepare=_archived,
        supervisor=True,
    ),
    Write(
        "complete_follow_up",
        lambda w, c: followups.complete_follow_up(c, w.ref, note="called back"),
        prepare=_follow_up,
    ),
]
IDS = [write.name for write in WRITES]


def _pair(w: World, write: Write) -> tuple[Actor, Actor]:
    """(holder, the other agent) of the role the use case needs."""
    return (w.sup1, w.sup2) if write.supervisor else (w.op1, w.op2)


@pytest.mark.parametrize("write", WRITES, ids=IDS)
def test_another_agents_live_lease_refuses_the_write_naming_the_holder(
    db: Database, write: Write
) -> None:
    w = World(db)
    write.prepare(w)
    holder, other = _pair(w, write)
    w.lease(holder, UNTIL + write.later)
    with pytest.raises(LeaseHeld, match="14:10") as refused:
        write.act(w, w.ctx(other, NOW + write.later))
    assert refused.value.holder_name == holder.name
    assert holder.name in str(refused.value)


@pytest.mark.parametrize("write", [x for x in WRITES if x.succeeds], ids=lambda x: x.name)
def test_an_expired_lease_does_not_refuse(db: Database, write: Write) -> None:
    w = World(db)
    write.prepare(w)
    holder, other = _pair(w, write)
    w.lease(holder, NOW + write.later - dt.timedelta(seconds=1))
    write.act(w, w.ctx(other, NOW + write.later))


@pytest.mark.parametrize("write", [x for x in WRITES if x.succeeds], ids=lambda x: x.name)
def test_the_holder_may_write(db: Database, write: Write) -> None:
    w = World(db)
    write.prepare(w)
    holder, _other = _pair(w, write)
    w.lease(holder, UNTIL + write.later)
    write.act(w, w.ctx(holder, NOW + write.later))


@pytest.mark.parametrize("write", [x for x in WRITES if not x.succeeds], ids=lambda x: x.name)
def test_the_holder_passes_the_lease_check(db: Database, write: Write) -> None:
    """Use cases refused here for their own reasons: the lease is not one of them."""
    w = World(db)
    write.prepare(w)
    holder, _other = _pair(w, write)
    w.lease(holder, UNTIL + write.later)
    try:
        write.act(w, w.ctx(holder, NOW + write.later))
    except LeaseHeld:  # pragma: no cover - the failure this test is about
        pytest.fail(f"{write.name} refused the lease holder")
    except Exception:
        pass


# --- supervisors ---------------------------------------------------------------------------


def _contact(w: World, c: Context, reason: str | None) -> object:
    return contacts.log_contact(
        c,
        w.case,
        channel=Channel.PHONE,
        direction=Direction.OUTBOUND,
        outcome="no_answer",
        override_reason=reason,
    )


def _payment(w: World, c: Context, reason: str | None) -> object:
    return promises.record_payment(
        c,
        w.case,
        amount_minor=10_000,
        paid_on=NOW.date(),
        channel=PaymentChannel.COUNTER,
        override_reason=reason,
    )


def _set_hold(w: World, c: Context, reason: str | None) -> object:
    return casework.set_hold(c, w.case, HoldKind.DISPUTE, "disputes", override_reason=reason)


OVERRIDABLE = {
    "log_contact": (_contact, "contact.log"),
    "record_payment": (_payment, "payment.record"),
    "set_hold": (_set_hold, "case.hold.set"),
}


@pytest.mark.parametrize("name", sorted(OVERRIDABLE))
def test_a_supervisor_writes_over_a_lease_only_with_a_reason(db: Database, name: str) -> None:
    act, action = OVERRIDABLE[name]
    w = World(db)
    w.lease(w.op1, UNTIL)
    with pytest.raises(LeaseHeld, match="give a reason"):
        act(w, w.ctx(w.sup1), None)
    with pytest.raises(LeaseHeld, match="王一"):
        act(w, w.ctx(w.sup1), "   ")
    with pytest.raises(LeaseHeld, match="王一"):
        act(w, w.ctx(w.op2), "I want to")  # a reason does not help an operator
    act(w, w.ctx(w.sup1), "borrower called the supervisor line")
    [override] = w.events("case.lease_override")
    assert override.agent_id == w.sup1.id
    assert override.after is not None and override.before is not None
    assert override.after["override_reason"] == "borrower called the supervisor line"
    assert override.before["lease_holder_id"] == w.op1.id
    [own] = w.events(action)
    assert own.after is not None
    assert own.after["override_reason"] == "borrower called the supervisor line"
    assert own.after["over_lease_of"] == w.op1.id


def test_an_inbound_call_is_logged_by_whoever_answered_it(db: Database) -> None:
    w = World(db)
    w.lease(w.op1, UNTIL)
    logged = contacts.log_contact(
        w.ctx(w.op2),
        w.case,
        channel=Channel.PHONE,
        direction=Direction.INBOUND,
        outcome="callback",
        callback_at=NOW + dt.timedelta(hours=2),
    )
    with db.read() as s:
        attempt = s.get(ContactAttempt, logged.contact_id)
        assert attempt is not None and attempt.agent_id == w.op2.id
        case = s.get(CollectionCase, w.case)
        assert case is not None and case.lease_holder_id == w.op1.id  # the lease stays
    [inbound] = w.events("case.lease_inbound")
    assert inbound.agent_id == w.op2.id
    assert inbound.before is not None and inbound.before["lease_holder_id"] == w.op1.id
    [own] = w.events("contact.log")
    assert own.after is not None and own.after["over_lease_of"] == w.op1.id
    assert own.after["direction"] == "inbound"


def test_a_do_not_call_request_is_marked_by_whoever_hears_it(db: Database) -> None:
    w = World(db)
    w.lease(w.op1, UNTIL)
    casework.set_do_not_call(w.ctx(w.op2), w.phone, True)
    with db.read() as s:
        phone = s.get(Phone, w.phone)
        assert phone is not None and phone.do_not_call
    [let_through] = w.events("case.lease_do_not_call")
    assert let_through.agent_id == w.op2.id
    assert let_through.before is not None and let_through.before["lease_holder_id"] == w.op1.id


def test_an_outbound_contact_over_a_lease_is_refused(db: Database) -> None:
    w = World(db)
    w.lease(w.op1, UNTIL)
    with pytest.raises(LeaseHeld, match=r"case \d+ is being worked by 王一 until 14:10"):
        _contact(w, w.ctx(w.op2), None)
    assert w.events("contact.log") == []


def test_a_lease_ending_another_day_shows_its_date(db: Database) -> None:
    w = World(db)
    w.lease(w.op1, NOW + dt.timedelta(days=1))
    with pytest.raises(LeaseHeld, match="2026-03-03 14:00"):
        _payment(w, w.ctx(w.op2), None)
