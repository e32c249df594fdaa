"""Field collectors' schedules, territories and days off through the service, on both engines:
who may change them, what is valid, one audit event per change, and that booking obeys them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AuditEvent,
    CollectorDayOff,
    CollectorDistrict,
    CollectorSchedule,
    Role,
    Stage,
)
from tui_desk.rules.profile import load_profile
from tui_desk.rules.visits import BookingRule
from tui_desk.services import agents, visits
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import PermissionDenied, ServiceError, UnknownAgent
from tui_desk.services.visits import BookingRefused

SH = ZoneInfo("Asia/Shanghai")
# Monday 2026-11-30, 10:00 in Beijing: the earliest visit day is Thursday 2026-12-03.
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH).astimezone(dt.UTC)
THURSDAY, FRIDAY = dt.date(2026, 12, 3), dt.date(2026, 12, 4)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SH).astimezone(dt.UTC)


def actor_of(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        self.admin = actor_of(db, self.make.agent(login="admin", role=Role.ADMIN))
        self.sup = actor_of(db, self.make.agent(login="sup", role=Role.SUPERVISOR))
        self.op = actor_of(db, self.make.agent(login="op"))
        self.col = self.make.collector(login="col", name="王芳", districts=("朝阳区",))

    def ready_case(self, district: str = "朝阳区") -> int:
        borrower = self.make.borrower(district=district)
        return self.make.case(
            borrower_id=borrower, stage=Stage.DOCUMENTS, registered=True, documents_complete=True
        )

    def book(self, case_id: int, starts_at: dt.datetime) -> int:
        return visits.book_visit(
            Context.frozen(self.db, self.op, NOW, load_profile()),
            case_id,
            collector_id=self.col,
            starts_at=starts_at,
        )

    def schedule_row(self, agent_id: int | None = None) -> CollectorSchedule | None:
        with self.db.read() as s:
            row = s.get(CollectorSchedule, agent_id or self.col)
            if row is not None:
                s.expunge(row)
            return row

    def districts(self, agent_id: int | None = None) -> set[str]:
        with self.db.read() as s:
            return set(
                s.scalars(
                    select(CollectorDistrict.district).where(
                        CollectorDistrict.agent_id == (agent_id or self.col)
                    )
                )
            )

    def events(self, prefix: str = "agent.") -> list[AuditEvent]:
        with self.db.read() as s:
            rows = list(
                s.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.action.startswith(prefix))
                    .order_by(AuditEvent.id)
                )
            )
            for row in rows:
                s.expunge(row)
            return rows


@pytest.fixture
def w(db: Database) -> World:
    return World(db)


# --- adding a collector ---------------------------------------------------------------------


def test_a_new_collector_gets_the_default_schedule_and_no_territory(w: World) -> None:
    info = agents.add_agent(
        w.db, "li.qiang", "李强", Role.COLLECTOR, now=NOW, profile=load_profile()
    )
    row = w.schedule_row(info.id)
    assert row is not None
    assert (row.work_start, row.work_end) == (dt.time(9), dt.time(18))
    assert (row.work_weekdays, row.timezone) == ("12345", "Asia/Shanghai")
    assert w.districts(info.id) == set()
    [event] = w.events("agent.add")
    assert event.after is not None and event.after["schedule"]["weekdays"] == "12345"
    # Other roles have no schedule.
    other = agents.add_agent(w.db, "zhao", "赵", Role.OPERATOR, now=NOW, profile=load_profile())
    assert w.schedule_row(other.id) is None
    # Without a territory the collector cannot be booked yet; with one they can.
    case_id = w.ready_case()
    with pytest.raises(BookingRefused) as refused:
        visits.book_visit(
            Context.frozen(w.db, w.op, NOW, load_profile()),
            case_id,
            collector_id=info.id,
            starts_at=at(THURSDAY, 9),
        )
    assert refused.value.rules == (BookingRule.TERRITORY,)
    agents.set_collector_schedule(w.db, None, "li.qiang", districts=["朝阳区"], now=NOW)
    visits.book_visit(
        Context.frozen(w.db, w.op, NOW, load_profile()),
        case_id,
        collector_id=info.id,
        starts_at=at(THURSDAY, 9),
    )


# --- setting the schedule -------------------------------------------------------------------


def test_set_schedule_changes_only_what_is_given_with_one_audit_event(w: World) -> None:
    info = agents.set_collector_schedule(
        w.db, w.admin, "col", work_start="08:30", weekdays="654321", now=NOW
    )
    assert (info.work_start, info.work_end) == (dt.time(8, 30), dt.time(18))
    assert info.weekdays == "123456" and info.timezone == "Asia/Shanghai"
    assert info.districts == ("朝阳区",)
    info = agents.set_collector_schedule(
        w.db, w.admin, "col", districts=[" 海淀区", "朝阳区", "海淀区", ""], timezone="Asia/Urumqi",
        now=NOW,
    )  # fmt: skip
    assert info.districts == ("朝阳区", "海淀区") and info.timezone == "Asia/Urumqi"
    assert w.districts() == {"朝阳区", "海淀区"}
    row = w.schedule_row()
    assert row is not None and row.work_start == dt.time(8, 30) and row.work_weekdays == "123456"
    first, second = w.events("agent.schedule")
    assert first.agent_id == w.admin.id and first.entity_id == w.col
    assert first.before is not None and first.before["work_start"] == "09:00"
    assert first.after is not None and first.after["work_start"] == "08:30"
    assert second.after is not None and second.after["districts"] == ["朝阳区", "海淀区"]


def test_the_territory_is_replaced_and_booking_follows_it(w: World) -> None:
    here, there = w.ready_case("朝阳区"), w.ready_case("海淀区")
    with pytest.raises(BookingRefused) as refused:
        w.book(there, at(THURSDAY, 9))
    assert refused.value.rules == (BookingRule.TERRITORY,)
    agents.set_collector_schedule(w.db, w.admin, "col", districts=["海淀区"], now=NOW)
    assert w.districts() == {"海淀区"}
    w.book(there, at(THURSDAY, 9))
    with pytest.raises(BookingRefused) as refused:
        w.book(here, at(THURSDAY, 11))
    assert refused.value.rules == (BookingRule.TERRITORY,)


def test_new_hours_apply_to_bookings_and_name_stranded_visits(w: World) -> None:
    early = w.book(w.ready_case(), at(THURSDAY, 9))
    later = w.book(w.ready_case(), at(THURSDAY, 14))
    info = agents.set_collector_schedule(w.db, w.admin, "col", work_start="10:00", now=NOW)
    assert info.stranded_visits == (early,)
    [event] = w.events("agent.schedule")
    assert event.after is not None and event.after["stranded_visits"] == [early]
    with pytest.raises(BookingRefused) as refused:
        w.book(w.ready_case(), at(FRIDAY, 9))
    assert refused.value.rules == (BookingRule.WORKING_HOURS,)
    w.book(w.ready_case(), at(FRIDAY, 10))
    # Visits are not moved by a schedule change; a later territory change strands both.
    info = agents.set_collector_schedule(w.db, w.admin, "col", districts=["丰台区"], now=NOW)
    assert set(info.stranded_visits) >= {early, later}
    # A weekday no longer worked strands the visits on it.
    info = agents.set_collector_schedule(
        w.db, w.admin, "col", weekdays="1235", districts=["朝阳区"], now=NOW
    )
    assert early in info.stranded_visits and later in info.stranded_visits


def test_a_collector_without_a_schedule_row_gets_one(w: World) -> None:
    bare = w.make.agent(login="bare", role=Role.COLLECTOR)
    assert w.schedule_row(bare) is None
    shown = agents.collector_schedule(w.db, "bare", now=NOW)
    assert (shown.work_start, shown.weekdays, shown.districts) == (dt.time(9), "12345", ())
    assert w.schedule_row(bare) is None  # showing it writes nothing
    info = agents.set_collector_schedule(w.db, None, "bare", work_end="17:00", now=NOW)
    assert (info.work_start, info.work_end) == (dt.time(9), dt.time(17))
    row = w.schedule_row(bare)
    assert row is not None and row.work_end == dt.time(17)
    [event] = w.events("agent.schedule")
    assert event.before is None and event.agent_id is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"work_start": "9:00"}, "invalid time '9:00'"),
        ({"work_start": "09.00"}, "use HH:MM"),
        ({"work_end": "24:00"}, "invalid time"),
        ({"work_end": "17:60"}, "invalid time"),
        ({"work_start": "18:00"}, "start before they end"),
        ({"work_start": "12:00", "work_end": "12:00"}, "start before they end"),
        ({"work_end": "08:00"}, "start before they end"),
        ({"weekdays": ""}, "invalid weekdays"),
        ({"weekdays": "0123"}, "invalid weekdays"),
        ({"weekdays": "128"}, "invalid weekdays"),
        ({"weekdays": "1,2"}, "invalid weekdays"),
        ({"weekdays": "1123"}, "each day at most once"),
        ({"timezone": "Asia/Beijing"}, "unknown time zone"),
        ({"timezone": "../etc/passwd"}, "unknown time zone"),
        ({"timezone": ""}, "unknown time zone"),
        ({"districts": []}, "at least one district"),
        ({"districts": [" ", ""]}, "at least one district"),
        ({"districts": ["区" * 51]}, "at most 50 characters"),
        ({}, "nothing to change"),
    ],
)
def test_invalid_schedules_are_refused_and_change_nothing(
    w: World, change: dict[str, object], message: str
) -> None:
    with pytest.raises(ServiceError, match=message):
        agents.set_collector_schedule(w.db, w.admin, "col", now=NOW, **change)  # type: ignore[arg-type]
    row = w.schedule_row()
    assert row is not None
    assert (row.work_start, row.work_end, row.work_weekdays) == (dt.time(9), dt.time(18), "12345")
    assert w.districts() == {"朝阳区"}
    assert w.events("agent.schedule") == []


def test_only_admins_and_supervisors_manage_schedules_and_only_collectors_have_them(
    w: World,
) -> None:
    for actor in (w.op, actor_of(w.db, w.col)):
        with pytest.raises(PermissionDenied, match="may not manage agents"):
            agents.set_collector_schedule(w.db, actor, "col", work_end="17:00", now=NOW)
        with pytest.raises(PermissionDenied):
            agents.set_day_off(w.db, actor, "col", FRIDAY, now=NOW)
    with pytest.raises(ServiceError, match="sup is not a field collector"):
        agents.set_collector_schedule(w.db, w.admin, "sup", work_end="17:00", now=NOW)
    with pytest.raises(ServiceError, match="not a field collector"):
        agents.set_day_off(w.db, w.admin, "op", FRIDAY, now=NOW)
    with pytest.raises(UnknownAgent):
        agents.set_collector_schedule(w.db, w.admin, "nobody", work_end="17:00", now=NOW)
    with pytest.raises(ServiceError, match="not a field collector"):
        agents.collector_schedule(w.db, "op", now=NOW)
    assert w.events("agent.schedule") == [] and w.events("agent.day_off") == []


# --- days off ---------------------------------------------------------------------------------


def test_a_day_off_blocks_booking_and_can_be_taken_back(w: World) -> None:
    case_id = w.ready_case()
    info = agents.set_day_off(w.db, w.admin, "col", FRIDAY, reason=" 培训 ", now=NOW)
    assert info.days_off == ((FRIDAY, "培训"),)
    with pytest.raises(BookingRefused) as refused:
        w.book(case_id, at(FRIDAY, 9))
    assert refused.value.rules == (BookingRule.WORKING_DAY,)
    # Giving the day again updates the reason.
    info = agents.set_day_off(w.db, w.admin, "col", FRIDAY, reason="sick", now=NOW)
    assert info.days_off == ((FRIDAY, "sick"),)
    info = agents.set_day_off(w.db, w.admin, "col", FRIDAY, remove=True, now=NOW)
    assert info.days_off == ()
    w.book(case_id, at(FRIDAY, 9))
    events = [(e.action, e.before, e.after) for e in w.events("agent.day_off")]
    assert events == [
        ("agent.day_off", None, {"day": "2026-12-04", "reason": "培训"}),
        ("agent.day_off", {"day": "2026-12-04", "reason": "培训"}, {"day": "2026-12-04", "reason": "sick"}),
        ("agent.day_off_remove", {"day": "2026-12-04", "reason": "sick"}, None),
    ]  # fmt: skip
    with pytest.raises(ServiceError, match="no day off on 2026-12-04"):
        agents.set_day_off(w.db, w.admin, "col", FRIDAY, remove=True, now=NOW)


def test_a_day_with_open_visits_cannot_be_given_off(w: World) -> None:
    visit = w.book(w.ready_case(), at(THURSDAY, 17))
    with pytest.raises(ServiceError, match=f"1 open visits on 2026-12-03 \\(visit {visit}\\)"):
        agents.set_day_off(w.db, w.admin, "col", THURSDAY, now=NOW)
    with w.db.read() as s:
        assert s.scalars(select(CollectorDayOff)).all() == []
    visits.cancel_visit(
        Context.frozen(w.db, w.op, NOW, load_profile()),
        visit,
        side="borrower",
        notified_how="phone",
        reason="moved",
    )
    # Once the visit is cancelled the day is free to give.
    info = agents.set_day_off(w.db, None, "col", THURSDAY, reason="leave", now=NOW)
    assert info.days_off == ((THURSDAY, "leave"),)


def test_days_off_shown_are_from_today_on(w: World) -> None:
    agents.set_day_off(w.db, None, "col", dt.date(2026, 11, 20), reason="past", now=NOW)
    agents.set_day_off(w.db, None, "col", dt.date(2026, 12, 24), now=NOW)
    info = agents.collector_schedule(w.db, "col", now=NOW)
    assert info.days_off == ((dt.date(2026, 12, 24), None),)


def test_a_long_reason_is_refused(w: World) -> None:
    with pytest.raises(ServiceError, match="at most 200"):
        agents.set_day_off(w.db, None, "col", FRIDAY, reason="x" * 201, now=NOW)


def test_territories_by_login(w: World) -> None:
    w.make.agent(login="bare", role=Role.COLLECTOR)
    agents.set_collector_schedule(w.db, None, "col", districts=["海淀区", "朝阳区"], now=NOW)
    assert agents.collector_territories(w.db) == {"bare": (), "col": ("朝阳区", "海淀区")}
