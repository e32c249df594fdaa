"""Pilot tests of home visits on the desk: book in three keys, refusals with fresh
suggestions, moves inside and outside the notice period, the visit report, the calendar.

Time is frozen through the desk's clock: Monday 2026-11-30, 10:00 in Beijing, so the
earliest visit day is Thursday 2026-12-03.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from textual.pilot import Pilot

from tests.factories import Factory
from tests.pilot import modal_text, open_case, screen_text, settle, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Appointment,
    AppointmentChange,
    AppointmentStatus,
    Borrower,
    CollectionCase,
    Role,
    Stage,
    VisitOutcome,
    VisitReport,
)
from tui_desk.rules.priority import bucket_number, days_past_due
from tui_desk.rules.profile import load_profile
from tui_desk.screens.visit_modals import (
    BookVisitModal,
    RescheduleVisitModal,
    VisitMenuModal,
    VisitReportModal,
)
from tui_desk.services import visits
from tui_desk.services.context import Actor, Context
from tui_desk.services.search_index import index_borrower
from tui_desk.widgets.appointment_calendar import AppointmentCalendar

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH).astimezone(dt.UTC)
NARROW = (80, 24)
WIDE = (160, 50)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SH).astimezone(dt.UTC)


@dataclass
class World:
    db: Database
    op: Actor
    sup: Actor
    collector: int
    ready: int  # registered, documents complete: bookable
    waiting: int  # registered, documents missing
    other: int  # bookable, same district

    def app(self, actor: Actor | None = None, now: dt.datetime = NOW) -> DeskApp:
        return DeskApp(
            db=self.db,
            actor=actor or self.op,
            settings=Settings(database_url=str(self.db.url)),
            clock=lambda: now,
        )

    def visits_of(self, case_id: int) -> list[Appointment]:
        with self.db.read() as s:
            rows = list(
                s.scalars(
                    select(Appointment)
                    .where(Appointment.case_id == case_id)
                    .order_by(Appointment.id)
                )
            )
            s.expunge_all()
            return rows


pytestmark = pytest.mark.usefixtures("quick_debounce")


@pytest.fixture
def world(sqlite_db: Database) -> World:
    make = Factory(sqlite_db, now=NOW)
    op = make.agent(login="op", name="王小明")
    sup = make.agent(login="sup", name="周主管", role=Role.SUPERVISOR)
    collector = make.collector(login="col", name="李外勤", districts=("朝阳区",))

    def case(name: str, *, complete: bool, priority: int) -> int:
        borrower = make.borrower(name=name)
        return make.case(
            borrower_id=borrower, stage=Stage.DOCUMENTS, registered=True,
            documents_complete=complete, priority=priority,
        )  # fmt: skip

    ready = case("欧阳娜娜", complete=True, priority=900)
    waiting = case("张三", complete=False, priority=800)
    other = case("李四", complete=True, priority=700)
    bounds = load_profile().dpd_bounds
    with sqlite_db.write() as s:
        for borrower in s.scalars(select(Borrower)):
            index_borrower(s, borrower)
        for row in s.scalars(select(CollectionCase)):
            row.dpd_bucket = bucket_number(days_past_due(row.overdue_since, NOW.date()), bounds)

    def actor(agent_id: int, login: str, role: Role) -> Actor:
        return Actor(id=agent_id, login=login, name=login, role=role)

    return World(
        sqlite_db,
        actor(op, "op", Role.OPERATOR),
        actor(sup, "sup", Role.SUPERVISOR),
        collector,
        ready,
        waiting,
        other,
    )


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_a_proposed_slot_is_booked_in_three_keys(world: World, size: tuple[int, int]) -> None:
    app = world.app()
    async with app.run_test(size=size) as pilot:
        await open_case(pilot, world.ready)
        # Typed in one go, before the proposals have even arrived.
        await pilot.press("V", "1", "enter")
        await until(pilot, lambda: not isinstance(app.screen, BookVisitModal))
        [visit] = world.visits_of(world.ready)
        assert visit.starts_at == at(3, 9) and visit.collector_id == world.collector
        assert visit.status is AppointmentStatus.BOOKED
        await pilot.press("f4")
        await settle(pilot)
        calendar = app.query_one(AppointmentCalendar)
        assert calendar.view is not None and calendar.view.collector_id == world.collector
        assert "李外勤" in calendar.title_text
        assert "欧阳娜娜 *" in screen_text(app)


async def test_booking_is_refused_when_documents_are_missing(world: World) -> None:
    app = world.app()
    async with app.run_test(size=NARROW) as pilot:
        await open_case(pilot, world.waiting)
        await pilot.press("V")
        await settle(pilot)
        assert isinstance(app.screen, BookVisitModal)
        assert "Cannot book yet: the documents are not complete" in modal_text(app)
        assert "Looking for free slots" not in modal_text(app)
        await pilot.press("1", "enter")
        await settle(pilot)
        assert isinstance(app.screen, BookVisitModal)
        assert world.visits_of(world.waiting) == []


async def test_a_taken_slot_is_refused_with_fresh_suggestions(world: World) -> None:
    app = world.app()
    async with app.run_test(size=NARROW) as pilot:
        await open_case(pilot, world.ready)
        await pilot.press("V")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BookVisitModal)
        modal: BookVisitModal = screen
        await until(pilot, lambda: modal.slots_loaded)
        first = modal.slots[0]
        # Another desk books that slot meanwhile.
        visits.book_visit(
            Context.frozen(world.db, world.sup, NOW, load_profile()),
            world.other,
            collector_id=first.collector_id,
            starts_at=first.starts_at,
        )
        await pilot.press("1", "enter")
        await settle(pilot)
        assert app.screen is modal
        text = modal_text(app)
        assert "Not saved: collector overlap" in text
        assert "Fresh suggestions" in text
        assert modal.slots and modal.slots[0].starts_at != first.starts_at
        # The fresh first suggestion books.
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is not modal)
        [visit] = world.visits_of(world.ready)
        assert visit.starts_at == modal.slots[0].starts_at


async def test_typed_time_refusal_names_the_rule(world: World) -> None:
    app = world.app()
    async with app.run_test(size=NARROW) as pilot:
        await open_case(pilot, world.ready)
        await pilot.press("V")
        await settle(pilot)
        await pilot.press(*"12-01 09:00", "enter", *"col", "enter")
        await settle(pilot)
        assert "lead time" in modal_text(app)
        await pilot.press("ctrl+a")
        assert world.visits_of(world.ready) == []
        # Nonsense is read strictly, nothing is sent.
        slot = app.screen.query_one("#visit-slot")
        slot.value = "tomorrow-ish"  # type: ignore[attr-defined]
        slot.focus()
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert "not a visit time" in modal_text(app)


def _book(world: World, case_id: int, start: dt.datetime) -> int:
    return visits.book_visit(
        Context.frozen(world.db, world.op, NOW, load_profile()),
        case_id,
        collector_id=world.collector,
        starts_at=start,
    )


async def open_visit_menu(pilot: Pilot[None]) -> None:
    await pilot.press("f4")
    await settle(pilot)
    calendar = pilot.app.query_one(AppointmentCalendar)
    calendar.days.focus()
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, VisitMenuModal)


async def test_reschedule_outside_the_notice_period(world: World) -> None:
    old = _book(world, world.ready, at(3, 9))
    app = world.app()
    async with app.run_test(size=NARROW) as pilot:
        await open_case(pilot, world.ready)
        await open_visit_menu(pilot)
        await pilot.press("2")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, RescheduleVisitModal)
        assert all(s.starts_at != at(3, 9) for s in modal.slots), "its own slot is not offered"
        target = modal.slots[0]
        await pilot.press("1", "enter", "enter", "right", "enter", "enter")
        await pilot.press(*"borrower works late", "enter")
        await until(pilot, lambda: app.screen is not modal)
        moved = world.visits_of(world.ready)
        assert [v.status for v in moved] == [
            AppointmentStatus.RESCHEDULED,
            AppointmentStatus.BOOKED,
        ]
        assert moved[1].starts_at == target.starts_at and moved[1].rescheduled_from_id == old
        with world.db.read() as s:
            change = s.scalars(select(AppointmentChange)).one()
            assert change.requested_by_side.value == "bank"
            assert change.reason == "borrower works late"


async def test_reschedule_inside_the_notice_period_is_refused(world: World) -> None:
    _book(world, world.ready, at(3, 9))
    late = at(2, 12)  # 21 hours before the visit
    app = world.app(now=late)
    async with app.run_test(size=NARROW) as pilot:
        await open_case(pilot, world.ready)
        await open_visit_menu(pilot)
        await pilot.press("2")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, RescheduleVisitModal)
        await pilot.press("1", "enter", "enter", "enter", "enter", *"ill", "enter")
        await settle(pilot)
        assert app.screen is modal
        assert "notice" in modal_text(app)
        assert "a supervisor may" in modal_text(app)
        assert [v.status for v in world.visits_of(world.ready)] == [AppointmentStatus.BOOKED]


async def test_a_report_on_a_visit_ahead_is_refused_before_any_field_is_filled(
    world: World,
) -> None:
    _book(world, world.ready, at(3, 9))
    app = world.app(now=at(2, 9))
    async with app.run_test(size=NARROW) as pilot:
        await open_case(pilot, world.ready)
        await open_visit_menu(pilot)
        await pilot.press("4")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, VisitReportModal)
        shown = modal_text(app)
        assert "has not taken place yet" in shown and "visit 1" not in shown
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, VisitReportModal)


async def test_visit_report_moves_the_case_on(world: World) -> None:
    appointment_id = _book(world, world.ready, at(3, 9))
    after = at(3, 11)
    app = world.app(now=after)
    async with app.run_test(size=NARROW) as pilot:
        await open_case(pilot, world.ready)
        await open_visit_menu(pilot)
        await pilot.press("4")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, VisitReportModal)
        # Outcome, work ID, name, phone, address, documents: defaults (met, all yes).
        await pilot.press(*["enter"] * 7)
        await pilot.press(*"8000", "enter", *"2500", "enter", *"abc", "enter")
        await pilot.press(*"300", "enter", "enter", "enter", "enter")
        await settle(pilot)
        assert "not an amount" in modal_text(app)
        assert app.focused is modal.query_one("#rep-affordable")
        app.focused.value = ""  # type: ignore[attr-defined]
        await pilot.press(*"1500", "enter", "enter", "enter", "enter", "enter")
        await settle(pilot)
        assert "receipt" in modal_text(app)
        assert app.focused is modal.query_one("#rep-receipt")
        await pilot.press(*"R-0001", "enter", "enter")
        await until(pilot, lambda: app.screen is not modal)
        with world.db.read() as s:
            report = s.scalars(select(VisitReport)).one()
            assert report.appointment_id == appointment_id
            assert report.outcome is VisitOutcome.PLAN_DISCUSSED
            assert report.affordable_monthly_minor == 150_000
            assert report.collected_minor == 30_000 and report.receipt_no == "R-0001"
            case = s.get(CollectionCase, world.ready)
            assert case is not None and case.stage is Stage.VISITED


async def test_calendar_day_view_of_all_collectors(world: World) -> None:
    _book(world, world.ready, at(3, 9))
    _book(world, world.other, at(3, 11))
    app = world.app()
    async with app.run_test(size=WIDE) as pilot:
        await open_case(pilot, world.ready)
        await pilot.press("f4", "W")
        await settle(pilot)
        calendar = app.query_one(AppointmentCalendar)
        assert calendar.view is not None and calendar.view.all_collectors
        await pilot.press("w")
        await settle(pilot)
        assert calendar.view.span_days == 1
        while calendar.view.start < dt.date(2026, 12, 3):
            await pilot.press("right_square_bracket")
            await settle(pilot)
        text = screen_text(app)
        assert "欧阳娜娜 *" in text and "李四" in text
        assert calendar.view.visit_count == 2


async def test_a_collector_sees_their_own_round(world: World) -> None:
    _book(world, world.ready, at(3, 9))
    collector = Actor(id=world.collector, login="col", name="李外勤", role=Role.COLLECTOR)
    app = world.app(actor=collector)
    async with app.run_test(size=NARROW) as pilot:
        await open_case(pilot, world.other)  # a case without a visit
        await pilot.press("f4")
        await settle(pilot)
        calendar = app.query_one(AppointmentCalendar)
        assert calendar.view is not None and calendar.view.collector_id == world.collector
        assert calendar.view.visit_count == 1


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_a_visit_booked_at_another_desk_reaches_the_collectors_calendar(
    world: World, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The calendar on screen follows the change feed: no `r` needed."""
    from tui_desk.screens.desk import DeskScreen

    monkeypatch.setattr(DeskScreen, "CALENDAR_POLL_SECONDS", 0.05)
    _book(world, world.ready, at(3, 9))
    collector = Actor(id=world.collector, login="col", name="李外勤", role=Role.COLLECTOR)
    app = world.app(actor=collector)
    async with app.run_test(size=size) as pilot:
        await open_case(pilot, world.ready)
        await pilot.press("f4")
        await settle(pilot)
        calendar = app.query_one(AppointmentCalendar)
        await until(pilot, lambda: calendar.view is not None and calendar.view.visit_count == 1)
        assert "李四" not in screen_text(app)
        _book(world, world.other, at(3, 14))  # an operator at another desk
        await until(pilot, lambda: calendar.view is not None and calendar.view.visit_count == 2)
        await settle(pilot)
        assert "李四" in screen_text(app)
