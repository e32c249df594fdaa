"""Booking, changing and reporting home visits through the service layer, on both engines."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Appointment,
    AppointmentChange,
    AppointmentStatus,
    AuditEvent,
    ChangeKind,
    Channel,
    CollectionCase,
    HoldKind,
    Role,
    Side,
    Stage,
    VisitOutcome,
    VisitReport,
)
from tui_desk.rules.profile import load_profile
from tui_desk.rules.visits import BookingRule
from tui_desk.services import visits
from tui_desk.services.context import Actor, Context, stopped_at
from tui_desk.services.errors import PermissionDenied, ServiceError
from tui_desk.services.validation import InvalidInput
from tui_desk.services.visits import BookingRefused, VisitReportInput

SH = ZoneInfo("Asia/Shanghai")
# Monday 2026-11-30, 10:00 in Beijing: the earliest visit day is Thursday 2026-12-03.
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH).astimezone(dt.UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SH).astimezone(dt.UTC)


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
        self.col = self.make.collector(login="col", name="王芳", districts=("朝阳区", "海淀区"))
        self.col2 = self.make.collector(login="col2", name="李强", districts=("朝阳区",))
        self.case = self.ready_case()

    def ready_case(self, *, district: str = "朝阳区", name: str = "张三") -> int:
        borrower = self.make.borrower(name=name, district=district)
        return self.make.case(
            borrower_id=borrower, stage=Stage.DOCUMENTS, registered=True, documents_complete=True
        )

    def book(self, case_id: int | None = None, **kwargs: object) -> int:
        args: dict[str, object] = {"collector_id": self.col, "starts_at": at(3, 9)}
        args.update(kwargs)
        actor = args.pop("actor", self.op)
        assert isinstance(actor, Actor)
        return visits.book_visit(
            Context(self.db, actor, stopped_at(NOW), load_profile()),
            case_id or self.case,
            **args,  # type: ignore[arg-type]
        )

    def appt(self, appointment_id: int) -> Appointment:
        with self.db.read() as s:
            appt = s.get(Appointment, appointment_id)
            assert appt is not None
            s.expunge(appt)
            return appt

    def case_row(self, case_id: int | None = None) -> CollectionCase:
        with self.db.read() as s:
            case = s.get(CollectionCase, case_id or self.case)
            assert case is not None
            s.expunge(case)
            return case


@pytest.fixture
def w(db: Database) -> World:
    return World(db)


def test_booking_moves_the_case_and_is_audited(w: World) -> None:
    appointment_id = w.book()
    appt = w.appt(appointment_id)
    assert appt.status is AppointmentStatus.BOOKED
    assert appt.starts_at == at(3, 9) and appt.ends_at == at(3, 10)
    assert appt.district == "朝阳区" and appt.place.startswith("北京市朝阳区")
    case = w.case_row()
    assert case.stage is Stage.VISIT_BOOKED
    assert case.next_action_at == at(3, 9)
    with w.db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "visit.book")).one()
        assert event.entity_id == appointment_id and event.case_id == w.case
        assert event.after is not None and event.after["collector"] == "col"


def test_lead_time_refusal_names_the_rule_and_offers_fresh_slots(w: World) -> None:
    with pytest.raises(BookingRefused) as info:
        w.book(starts_at=at(2, 9))  # Wednesday: one day short
    assert info.value.rules == (BookingRule.LEAD_TIME,)
    assert "lead time" in str(info.value)
    suggestions = info.value.suggestions
    assert suggestions, "a refusal comes with suggestions"
    assert all(s.starts_at >= at(3, 0) for s in suggestions)
    assert [s.starts_at for s in suggestions] == sorted(s.starts_at for s in suggestions)
    # The first suggestion is bookable as it stands.
    first = suggestions[0]
    w.book(collector_id=first.collector_id, starts_at=first.starts_at)


def test_eligibility_is_checked_first(w: World) -> None:
    unregistered = w.make.case(stage=Stage.CONTACTING)
    with pytest.raises(BookingRefused) as info:
        w.book(unregistered)
    assert BookingRule.NOT_REGISTERED in info.value.rules
    assert BookingRule.DOCUMENTS in info.value.rules
    assert info.value.suggestions == ()
    held = w.ready_case(name="李四")
    w.make.hold(held, set_by_id=w.sup.id, kind=HoldKind.DISPUTE)
    with pytest.raises(BookingRefused) as info:
        w.book(held)
    assert BookingRule.ON_HOLD in info.value.rules


def test_a_collector_is_never_in_two_places(w: World) -> None:
    w.book()
    other = w.ready_case(name="王五")
    with pytest.raises(BookingRefused) as info:
        w.book(other, starts_at=at(3, 9, 30))
    assert info.value.rules == (BookingRule.OVERLAP,)
    # Touching is fine in the same district...
    w.book(other, starts_at=at(3, 10))
    # ...but a different district needs the travel buffer.
    far = w.ready_case(district="海淀区", name="赵六")
    with pytest.raises(BookingRefused) as info:
        w.book(far, starts_at=at(3, 11))
    assert info.value.rules == (BookingRule.TRAVEL,)
    w.book(far, starts_at=at(3, 11, 30))
    # A supervisor's reason does not waive a double booking.
    clash = w.ready_case(name="钱七")
    with pytest.raises(BookingRefused):
        w.book(clash, starts_at=at(3, 9), actor=w.sup, override_reason="VIP borrower")


def test_spacing_between_visits_of_one_case(w: World) -> None:
    w.book()
    with pytest.raises(BookingRefused) as info:
        w.book(starts_at=at(4, 9))  # D+1
    assert info.value.rules == (BookingRule.SPACING,)
    weekends = w.make.collector(login="weekends", weekdays="1234567")
    with pytest.raises(BookingRefused) as info:
        w.book(collector_id=weekends, starts_at=at(5, 9))  # D+2, a Saturday this one works
    assert info.value.rules == (BookingRule.SPACING,)
    w.book(collector_id=weekends, starts_at=at(6, 9))  # D+3


def test_calendar_rules_holidays_hours_days_off_territory(w: World) -> None:
    off = w.make.collector(login="col3", days_off=[dt.date(2026, 12, 4)])
    with pytest.raises(BookingRefused) as info:
        w.book(collector_id=off, starts_at=at(4, 9))
    assert info.value.rules == (BookingRule.WORKING_DAY,)
    with pytest.raises(BookingRefused) as info:
        w.book(starts_at=at(3, 18))
    assert info.value.rules == (BookingRule.WORKING_HOURS,)
    with pytest.raises(BookingRefused) as info:
        w.book(starts_at=at(1, 9, month=1) + dt.timedelta(days=365))  # 2027-01-01, New Year
    assert BookingRule.WORKING_DAY in info.value.rules
    faraway = w.ready_case(district="丰台区", name="孙八")
    with pytest.raises(BookingRefused) as info:
        w.book(faraway)
    assert info.value.rules == (BookingRule.TERRITORY,)


def test_supervisor_override_of_a_rule_in_principle(w: World) -> None:
    with pytest.raises(PermissionDenied):
        w.book(starts_at=at(2, 9), override_reason="borrower travels on Thursday")
    appointment_id = w.book(
        starts_at=at(2, 9), actor=w.sup, override_reason="borrower travels on Thursday"
    )
    appt = w.appt(appointment_id)
    assert appt.override_by_id == w.sup.id
    assert appt.override_reason == "borrower travels on Thursday"
    with w.db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "visit.book")).one()
        assert event.after is not None and event.after["overridden"] == ["lead_time"]


def test_reschedule_with_notice_records_who_and_how(w: World) -> None:
    old = w.book()
    new = visits.reschedule_visit(
        Context.frozen(w.db, w.op, NOW, load_profile()),
        old,
        starts_at=at(4, 14),
        side=Side.BORROWER,
        notified_how=Channel.PHONE,
        reason="borrower at work on Thursday",
    )
    assert w.appt(old).status is AppointmentStatus.RESCHEDULED
    moved = w.appt(new)
    assert moved.status is AppointmentStatus.BOOKED and moved.rescheduled_from_id == old
    assert moved.starts_at == at(4, 14)
    with w.db.read() as s:
        change = s.scalars(select(AppointmentChange)).one()
        assert change.kind is ChangeKind.RESCHEDULE
        assert change.requested_by_side is Side.BORROWER
        assert change.notified_how is Channel.PHONE
        assert change.old_starts_at == at(3, 9) and change.new_starts_at == at(4, 14)
    assert w.case_row().next_action_at == at(4, 14)


def test_a_moved_visit_does_not_clash_with_its_old_slot(w: World) -> None:
    old = w.book()
    new = visits.reschedule_visit(
        Context.frozen(w.db, w.op, NOW, load_profile()),
        old,
        starts_at=at(3, 9, 30),
        side=Side.BANK,
        notified_how=Channel.SMS,
        reason="collector delayed",
    )
    assert w.appt(new).starts_at == at(3, 9, 30)


def test_change_inside_the_notice_period_is_refused_unless_a_supervisor_waives_it(
    w: World,
) -> None:
    old = w.book()
    late = at(2, 9, 30)  # 23.5 hours before the visit
    with pytest.raises(BookingRefused) as info:
        visits.reschedule_visit(
            Context.frozen(w.db, w.op, late, load_profile()),
            old,
            starts_at=at(7, 9),
            side=Side.BANK,
            notified_how=Channel.PHONE,
            reason="collector ill",
        )
    assert info.value.rules == (BookingRule.NOTICE,)
    with pytest.raises(BookingRefused):
        visits.cancel_visit(
            Context.frozen(w.db, w.op, late, load_profile()),
            old,
            side=Side.BORROWER,
            notified_how=Channel.PHONE,
            reason="changed mind",
        )
    assert w.appt(old).status is AppointmentStatus.BOOKED
    visits.cancel_visit(
        Context.frozen(w.db, w.sup, late, load_profile()),
        old,
        side=Side.BANK,
        notified_how=Channel.PHONE,
        reason="collector ill",
        override_reason="collector in hospital",
    )
    appt = w.appt(old)
    assert appt.status is AppointmentStatus.CANCELLED
    assert appt.override_reason == "collector in hospital"


def test_cancel_sends_the_case_back_to_the_queue(w: World) -> None:
    old = w.book()
    visits.cancel_visit(
        Context.frozen(w.db, w.op, NOW, load_profile()),
        old,
        side=Side.BORROWER,
        notified_how=Channel.PHONE,
        reason="moved away",
    )
    case = w.case_row()
    assert case.stage is Stage.DOCUMENTS
    assert case.next_action_at is not None and NOW < case.next_action_at < at(3, 0)
    # A cancelled visit frees the slot and does not count for spacing.
    w.book(starts_at=at(4, 9))


def test_bad_change_input_is_refused_clearly(w: World) -> None:
    old = w.book()
    with pytest.raises(ServiceError, match="reason"):
        visits.cancel_visit(
            Context.frozen(w.db, w.op, NOW, load_profile()),
            old,
            side=Side.BANK,
            notified_how=Channel.PHONE,
            reason=" ",
        )
    with pytest.raises(ServiceError, match="who asked"):
        visits.cancel_visit(
            Context.frozen(w.db, w.op, NOW, load_profile()),
            old,
            side="nobody",
            notified_how=Channel.PHONE,
            reason="x",
        )
    assert w.appt(old).status is AppointmentStatus.BOOKED


def report(outcome: VisitOutcome, **kwargs: object) -> VisitReportInput:
    fields: dict[str, object] = {
        "outcome": outcome,
        "work_id_shown": True,
        "name_checked": True,
        "contact_checked": True,
        "address_checked": True,
        "documents_ok": True,
    }
    fields.update(kwargs)
    return VisitReportInput(**fields)  # type: ignore[arg-type]


def test_visit_report_moves_the_case_to_visited(w: World) -> None:
    appointment_id = w.book()
    with pytest.raises(ServiceError, match="not taken place"):
        visits.record_visit_report(
            Context.frozen(w.db, w.op, NOW, load_profile()),
            appointment_id,
            report(VisitOutcome.PLAN_DISCUSSED),
        )
    after = at(3, 10, 15)
    report_id = visits.record_visit_report(
        Context.frozen(w.db, w.op, after, load_profile()),
        appointment_id,
        report(
            VisitOutcome.PLAN_DISCUSSED,
            declared_income_minor=800_000,
            obligations_minor=300_000,
            affordable_monthly_minor=150_000,
        ),
    )
    assert w.appt(appointment_id).status is AppointmentStatus.DONE
    assert w.case_row().stage is Stage.VISITED
    with w.db.read() as s:
        row = s.get(VisitReport, report_id)
        assert row is not None and row.affordable_monthly_minor == 150_000
    with pytest.raises(ServiceError, match="already has a report"):
        visits.record_visit_report(
            Context.frozen(w.db, w.op, after, load_profile()),
            appointment_id,
            report(VisitOutcome.REFUSED),
        )


def test_absent_borrower_goes_back_to_the_queue(w: World) -> None:
    appointment_id = w.book()
    after = at(3, 10, 15)
    visits.record_visit_report(
        Context.frozen(w.db, w.op, after, load_profile()),
        appointment_id,
        report(VisitOutcome.BORROWER_ABSENT),
    )
    assert w.appt(appointment_id).status is AppointmentStatus.NO_SHOW
    case = w.case_row()
    assert case.stage is Stage.DOCUMENTS
    assert case.next_action_at is not None and case.next_action_at > after


def test_door_collection_needs_a_receipt_and_stays_unreconciled(w: World) -> None:
    appointment_id = w.book()
    after = at(3, 10, 15)
    with pytest.raises(ServiceError, match="receipt"):
        visits.record_visit_report(
            Context.frozen(w.db, w.op, after, load_profile()),
            appointment_id,
            report(VisitOutcome.PAID_AT_DOOR, collected_minor=50_000),
        )
    with pytest.raises(ServiceError, match=r"mismatch|did not match"):
        visits.record_visit_report(
            Context.frozen(w.db, w.op, after, load_profile()),
            appointment_id,
            report(VisitOutcome.PLAN_DISCUSSED, address_checked=False),
        )
    with pytest.raises(ServiceError, match="negative"):
        visits.record_visit_report(
            Context.frozen(w.db, w.op, after, load_profile()),
            appointment_id,
            report(VisitOutcome.PLAN_DISCUSSED, affordable_monthly_minor=-1),
        )
    # The form offers the door methods only; the service refuses any other, naming it.
    with pytest.raises(InvalidInput) as err:
        visits.record_visit_report(
            Context.frozen(w.db, w.op, after, load_profile()),
            appointment_id,
            report(VisitOutcome.PAID_AT_DOOR, collected_minor=50_000, collected_method="cheque",
                   receipt_no="R-0001"),
        )  # fmt: skip
    assert err.value.field == "collected_method"
    visits.record_visit_report(Context.frozen(w.db, w.op, after, load_profile()), appointment_id, report(VisitOutcome.PAID_AT_DOOR, collected_minor=50_000, collected_method="cash",
               receipt_no="R-0001"))  # fmt: skip
    [pending] = visits.unreconciled_collections(
        w.db, now=after + dt.timedelta(days=1), profile=load_profile()
    )
    assert pending.collected_minor == 50_000 and not pending.overdue
    [late] = visits.unreconciled_collections(
        w.db, now=after + dt.timedelta(days=4), profile=load_profile()
    )
    assert late.overdue
    assert (
        visits.overdue_collection_count(
            w.db, now=after + dt.timedelta(days=1), profile=load_profile()
        )
        == 0
    )
    assert (
        visits.overdue_collection_count(
            w.db, now=after + dt.timedelta(days=4), profile=load_profile()
        )
        == 1
    )


def test_day_sheet_lists_the_day_in_order_and_is_audited(w: World) -> None:
    second = w.ready_case(name="欧阳娜娜")
    w.book(second, starts_at=at(3, 14))
    w.book(starts_at=at(3, 9))
    collector = actor_of(w.db, w.col)
    sheet = visits.day_sheet(
        Context.frozen(w.db, collector, NOW, load_profile()), w.col, dt.date(2026, 12, 3)
    )
    assert [v.starts_at for v in sheet.visits] == [at(3, 9), at(3, 14)]
    assert sheet.visits[1].borrower_name == "欧阳娜娜"
    assert sheet.visits[0].address.startswith("北京市朝阳区")
    assert any("work ID" in item for item in sheet.visits[0].bring)
    with pytest.raises(ServiceError):
        visits.day_sheet(
            Context.frozen(w.db, collector, NOW, load_profile()), w.col2, dt.date(2026, 12, 3)
        )
    with w.db.read() as s:
        assert (
            s.scalars(select(AuditEvent).where(AuditEvent.action == "visit.day_sheet"))
            .one()
            .entity_id
            == w.col
        )


def test_suggestions_skip_busy_collectors_and_respect_spacing(w: World) -> None:
    slots = visits.suggest_slots(w.db, w.case, now=NOW, limit=5, profile=load_profile())
    assert len(slots) == 5
    first = slots[0]
    assert first.starts_at == at(3, 9)
    w.book(collector_id=first.collector_id, starts_at=first.starts_at)
    again = visits.suggest_slots(w.db, w.case, now=NOW, limit=5, profile=load_profile())
    # The case now has a visit on the 3rd: the next suggestions are 3+ days later.
    assert all(s.starts_at.astimezone(SH).date() >= dt.date(2026, 12, 6) for s in again)
    other = w.ready_case(name="周九")
    for slot in visits.suggest_slots(w.db, other, now=NOW, limit=9, profile=load_profile()):
        assert not (slot.collector_id == first.collector_id and slot.starts_at == at(3, 9))
