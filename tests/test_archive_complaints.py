"""Archive and restore, and complaints routed to supervisors, on both engines."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from tests.factories import Factory
from tui_desk.clock import utcnow
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AppointmentStatus,
    AuditEvent,
    CaseHold,
    CaseStatus,
    Channel,
    CollectionCase,
    ComplaintStatus,
    HoldKind,
    LoanAccount,
    Role,
    Stage,
)
from tui_desk.rules.profile import load_profile
from tui_desk.services import archive, complaints
from tui_desk.services.case_state import CaseArchived
from tui_desk.services.casework import set_hold
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, PermissionDenied, ServiceError

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


def actor_of(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        self.op = actor_of(db, self.make.agent(login="op"))
        self.sup = actor_of(db, self.make.agent(login="sup", role=Role.SUPERVISOR))
        self.col = self.make.collector(login="col")
        self.case = self.make.case(name="欧阳娜娜")

    def pay_off(self) -> None:
        with self.db.write() as s:
            s.execute(
                update(LoanAccount)
                .where(LoanAccount.case_id == self.case)
                .values(
                    outstanding_principal_minor=0,
                    outstanding_interest_minor=0,
                    outstanding_penalty_minor=0,
                    outstanding_fees_minor=0,
                )
            )

    def row(self) -> CollectionCase:
        with self.db.read() as s:
            case = s.get(CollectionCase, self.case)
            assert case is not None
            s.expunge(case)
            return case


@pytest.fixture
def w(db: Database) -> World:
    return World(db)


def test_a_paid_case_is_archived_read_only_and_restored_by_a_supervisor(w: World) -> None:
    visit = w.make.appointment(
        w.case, collector_id=w.col, booked_by_id=w.op.id, starts_at=NOW + dt.timedelta(days=5)
    )
    w.pay_off()
    archive.archive_case(Context.frozen(w.db, w.op, NOW, load_profile()), w.case)
    case = w.row()
    assert case.status is CaseStatus.CLOSED and case.stage is Stage.ARCHIVED
    assert case.close_reason == "paid in full" and case.next_action_at is None
    with w.db.read() as s:
        from tui_desk.db.models import Appointment

        appt = s.get(Appointment, visit)
        assert appt is not None and appt.status is AppointmentStatus.CANCELLED
    # Read-only: any write is refused.
    with pytest.raises(CaseArchived):
        set_hold(Context.frozen(w.db, w.op, NOW, load_profile()), w.case, HoldKind.DISPUTE, "x")
    with pytest.raises(PermissionDenied):
        archive.restore_case(
            Context.frozen(w.db, w.op, NOW, load_profile()), w.case, reason="paid by mistake"
        )
    with pytest.raises(ServiceError, match="reason"):
        archive.restore_case(Context.frozen(w.db, w.sup, NOW, load_profile()), w.case, reason=" ")
    archive.restore_case(
        Context.frozen(w.db, w.sup, NOW, load_profile()),
        w.case,
        reason="the bank reversed the payment",
    )
    case = w.row()
    assert case.status is CaseStatus.OPEN and case.next_action_at is not None
    with w.db.read() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.case_id == w.case)))
        assert "case.archive" in actions and "case.restore" in actions


def test_an_unpaid_case_needs_a_supervisor_and_a_reason(w: World) -> None:
    with pytest.raises(ServiceError, match="not paid"):
        archive.archive_case(Context.frozen(w.db, w.op, NOW, load_profile()), w.case)
    with pytest.raises(ServiceError, match="needs a reason"):
        archive.archive_case(Context.frozen(w.db, w.sup, NOW, load_profile()), w.case)
    archive.archive_case(
        Context.frozen(w.db, w.sup, NOW, load_profile()), w.case, reason="written off"
    )
    assert w.row().close_reason == "written off"


def test_a_complaint_is_routed_held_and_resolved(w: World) -> None:
    visit = w.make.appointment(
        w.case, collector_id=w.col, booked_by_id=w.op.id, starts_at=NOW - dt.timedelta(days=1)
    )
    complaint_id = complaints.record_complaint(
        Context.frozen(w.db, w.op, NOW, load_profile()),
        w.case,
        description="外访员态度恶劣",
        channel=Channel.PHONE,
        appointment_id=visit,
        hold=True,
    )
    [line] = complaints.complaint_list(w.db)
    assert line.complaint_id == complaint_id and line.against is not None
    assert line.borrower_name == "欧阳娜娜" and line.status is ComplaintStatus.OPEN
    with w.db.read() as s:
        hold = s.scalars(select(CaseHold).where(CaseHold.case_id == w.case)).one()
        assert hold.kind is HoldKind.COMPLAINT
    assert w.row().on_hold
    with pytest.raises(PermissionDenied):
        complaints.decide_complaint(
            Context.frozen(w.db, w.op, NOW, load_profile()), complaint_id, "investigating"
        )
    complaints.decide_complaint(
        Context.frozen(w.db, w.sup, NOW, load_profile()), complaint_id, "investigating"
    )
    with pytest.raises(ServiceError, match="resolved"):
        complaints.decide_complaint(
            Context.frozen(w.db, w.sup, NOW, load_profile()), complaint_id, "resolved"
        )
    complaints.decide_complaint(
        Context.frozen(w.db, w.sup, NOW, load_profile()),
        complaint_id,
        "resolved",
        resolution="已约谈外访员并道歉",
    )
    assert complaints.complaint_list(w.db) == []
    [done] = complaints.complaint_list(w.db, open_only=False, case_id=w.case)
    assert done.resolution == "已约谈外访员并道歉"
    with pytest.raises(ServiceError, match="cannot become"):
        complaints.decide_complaint(
            Context(w.db, w.sup, utcnow, load_profile()), complaint_id, "dismissed", resolution="x"
        )


def test_bad_complaints_are_refused(w: World) -> None:
    with pytest.raises(ServiceError, match="describe"):
        complaints.record_complaint(
            Context.frozen(w.db, w.op, NOW, load_profile()), w.case, description=" "
        )
    with pytest.raises(NotFound):
        complaints.record_complaint(
            Context.frozen(w.db, w.op, NOW, load_profile()),
            w.case,
            description="x",
            against_login="nobody",
        )
    other = w.make.case(name="张三")
    visit = w.make.appointment(other, collector_id=w.col, booked_by_id=w.op.id, starts_at=NOW)
    with pytest.raises(NotFound):
        complaints.record_complaint(
            Context.frozen(w.db, w.op, NOW, load_profile()),
            w.case,
            description="x",
            appointment_id=visit,
        )
    assert complaints.complaint_list(w.db, open_only=False) == []
