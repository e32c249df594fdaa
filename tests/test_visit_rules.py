"""Visit-booking rules: eligibility, lead time, spacing, notice, calendar, hours, territory,
collector overlap and travel buffer; slot proposals agree with the rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_desk.rules.profile import load_profile
from tui_desk.rules.visits import (
    ACTIVE_STATUSES,
    OVERRIDABLE_RULES,
    BookedVisit,
    BookingRule,
    CaseFacts,
    CollectorSchedule,
    Refusal,
    Slot,
    VisitPolicy,
    WorkCalendar,
    check_booking,
    check_notice,
    earliest_day,
    propose_slots,
    work_calendar,
)

SH = "Asia/Shanghai"
OFFICE = ZoneInfo(SH)
POLICY = VisitPolicy.from_section(load_profile("cn").section("visits"))
CAL = work_calendar("CN")
WEEKDAYS = frozenset({1, 2, 3, 4, 5})
WANG = CollectorSchedule(
    collector_id=1,
    name="Wang Fang",
    timezone=SH,
    districts=frozenset({"朝阳区", "海淀区"}),
    work_start=dt.time(9, 0),
    work_end=dt.time(18, 0),
    work_weekdays=WEEKDAYS,
    days_off=frozenset(),
)
LI = CollectorSchedule(
    collector_id=2,
    name="Li Na",
    timezone=SH,
    districts=frozenset({"朝阳区"}),
    work_start=dt.time(10, 0),
    work_end=dt.time(16, 0),
    work_weekdays=frozenset({1, 3, 5}),
    days_off=frozenset({dt.date(2026, 12, 7)}),
)
ZHAO = CollectorSchedule(  # two hours behind the office
    collector_id=3,
    name="Zhao Lei",
    timezone="Asia/Urumqi",
    districts=frozenset({"朝阳区", "东城区"}),
    work_start=dt.time(8, 0),
    work_end=dt.time(17, 30),
    work_weekdays=WEEKDAYS,
    days_off=frozenset(),
)
COLLECTORS = {c.collector_id: c for c in (WANG, LI, ZHAO)}
CASE = CaseFacts(
    case_id=100, district="朝阳区", registered=True, documents_complete=True, on_hold=False
)
STATUSES = ("booked", "confirmed", "done", "cancelled", "no_show", "rescheduled")
DISTRICTS = ("朝阳区", "海淀区", "东城区")


def at(y: int, mo: int, d: int, h: int = 10, mi: int = 0, zone: str = SH) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


MONDAY = at(2026, 11, 30, 10)  # booking day for most examples
THURSDAY = at(2026, 12, 3, 10)  # the earliest day the lead time allows


def slot(start: dt.datetime, minutes: int = 60, collector: int = 1) -> Slot:
    return Slot(collector, start, start + dt.timedelta(minutes=minutes))


def visit(
    appointment_id: int,
    start: dt.datetime,
    *,
    minutes: int = 60,
    case_id: int = 200,
    collector_id: int = 1,
    district: str = "朝阳区",
    status: str = "booked",
) -> BookedVisit:
    return BookedVisit(
        appointment_id=appointment_id,
        case_id=case_id,
        collector_id=collector_id,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=minutes),
        district=district,
        status=status,
    )


def check(
    s: Slot,
    *,
    now: dt.datetime = MONDAY,
    case: CaseFacts = CASE,
    collector: CollectorSchedule = WANG,
    collector_visits: Sequence[BookedVisit] = (),
    case_visits: Sequence[BookedVisit] = (),
    replacing: int | None = None,
    policy: VisitPolicy = POLICY,
) -> list[Refusal]:
    return check_booking(
        case,
        s,
        now=now,
        policy=policy,
        collector=collector,
        collector_visits=collector_visits,
        case_visits=case_visits,
        calendar=CAL,
        timezone=SH,
        replacing=replacing,
    )


def rules(refusals: Sequence[Refusal]) -> list[BookingRule]:
    return [r.rule for r in refusals]


def propose(
    *,
    now: dt.datetime = MONDAY,
    case: CaseFacts = CASE,
    collectors: Sequence[CollectorSchedule] = (WANG,),
    visits: Sequence[BookedVisit] = (),
    case_visits: Sequence[BookedVisit] = (),
    replacing: int | None = None,
    limit: int | None = None,
    per_collector_day: int = 2,
    policy: VisitPolicy = POLICY,
) -> list[Slot]:
    by_collector: dict[int, list[BookedVisit]] = {}
    for v in visits:
        by_collector.setdefault(v.collector_id, []).append(v)
    return propose_slots(
        case,
        now=now,
        policy=policy,
        collectors=collectors,
        visits_by_collector=by_collector,
        case_visits=case_visits,
        calendar=CAL,
        timezone=SH,
        replacing=replacing,
        limit=limit,
        per_collector_day=per_collector_day,
    )


# --- policy -----------------------------------------------------------------------------


def test_policy_from_the_cn_profile() -> None:
    expected = VisitPolicy(
        lead_days=3,
        spacing_days=3,
        notice_hours=24,
        travel_buffer_minutes=30,
        duration_minutes=60,
        slot_step_minutes=30,
        suggestions=9,
        horizon_days=30,
        unreconciled_alert_days=3,
        work_start=dt.time(9, 0),
        work_end=dt.time(18, 0),
    )
    assert expected == POLICY
    assert VisitPolicy.from_section(load_profile("us-regf").section("visits")) == POLICY


def test_policy_new_keys_fall_back_to_defaults() -> None:
    old = {
        "lead_days": 2,
        "spacing_days": 4,
        "notice_hours": 48,
        "travel_buffer_minutes": 15,
        "duration_minutes": 90,
    }
    policy = VisitPolicy.from_section(old)
    assert (policy.lead_days, policy.duration_minutes, policy.slot_step_minutes) == (2, 90, 30)
    assert (policy.suggestions, policy.horizon_days, policy.unreconciled_alert_days) == (9, 30, 3)
    assert (policy.work_start, policy.work_end) == (dt.time(9, 0), dt.time(18, 0))
    assert VisitPolicy.from_section({**old, "work_start": dt.time(8, 30)}).work_start == dt.time(
        8, 30
    )
    with pytest.raises(ValueError):
        VisitPolicy.from_section({**old, "work_start": "18:00", "work_end": "09:00"})


def test_overridable_rules() -> None:
    assert {BookingRule.LEAD_TIME, BookingRule.SPACING, BookingRule.NOTICE} == OVERRIDABLE_RULES
    for rule in BookingRule:
        assert Refusal(rule, "x").overridable == (rule in OVERRIDABLE_RULES)
    assert frozenset({"booked", "confirmed", "done"}) == ACTIVE_STATUSES


# --- eligibility ------------------------------------------------------------------------


def test_a_bookable_slot_has_no_refusals() -> None:
    assert check(slot(THURSDAY)) == []


def test_eligibility_refusals_come_first_and_stop_proposals() -> None:
    case = dataclasses.replace(CASE, registered=False, documents_complete=False, on_hold=True)
    assert rules(check(slot(THURSDAY), case=case)) == [
        BookingRule.NOT_REGISTERED,
        BookingRule.DOCUMENTS,
        BookingRule.ON_HOLD,
    ]
    for flag in ({"registered": False}, {"documents_complete": False}, {"on_hold": True}):
        assert propose(case=dataclasses.replace(CASE, **flag)) == []  # type: ignore[arg-type]


def test_refusals_are_listed_in_rule_order() -> None:
    case = dataclasses.replace(CASE, district="东城区", on_hold=True)
    busy = visit(1, at(2026, 11, 28, 9), district="海淀区")
    mine = visit(2, at(2026, 11, 27, 10), case_id=100, collector_id=2)
    got = check(
        slot(at(2026, 11, 28, 8, 30)), case=case, collector_visits=[busy], case_visits=[mine]
    )
    assert rules(got) == [
        BookingRule.ON_HOLD,
        BookingRule.IN_PAST,
        BookingRule.LEAD_TIME,
        BookingRule.SPACING,
        BookingRule.WORKING_DAY,
        BookingRule.WORKING_HOURS,
        BookingRule.TERRITORY,
        BookingRule.OVERLAP,
    ]
    assert all(r.message for r in got)


# --- lead time, past --------------------------------------------------------------------


def test_lead_time_monday_to_thursday() -> None:
    assert earliest_day(MONDAY, POLICY, SH) == dt.date(2026, 12, 3)
    assert check(slot(THURSDAY)) == []
    (refusal,) = check(slot(at(2026, 12, 2, 17)))
    assert refusal.rule is BookingRule.LEAD_TIME and refusal.overridable
    assert refusal.message == (
        "lead time: a visit booked on 2026-11-30 can be on 2026-12-03 at the earliest (3 days)"
    )


def test_lead_time_counts_office_local_dates() -> None:
    # 2026-11-29 23:30 UTC is already Monday 07:30 in Shanghai.
    now = dt.datetime(2026, 11, 29, 23, 30, tzinfo=dt.UTC)
    assert earliest_day(now, POLICY, SH) == dt.date(2026, 12, 3)
    assert check(slot(at(2026, 12, 3, 9)), now=now) == []
    assert rules(check(slot(at(2026, 12, 2, 17)), now=now)) == [BookingRule.LEAD_TIME]


def test_a_slot_in_the_past_is_refused() -> None:
    got = check(slot(at(2026, 11, 27, 10)))
    assert rules(got) == [BookingRule.IN_PAST, BookingRule.LEAD_TIME]
    assert got[0].message == "in the past: the slot starts 2026-11-27 10:00, before now"
    assert not got[0].overridable
    zero_lead = dataclasses.replace(POLICY, lead_days=0)
    now = at(2026, 12, 3, 10, 1)
    assert rules(check(slot(THURSDAY), now=now, policy=zero_lead)) == [BookingRule.IN_PAST]
    assert check(slot(THURSDAY), now=THURSDAY, policy=zero_lead) == []


# --- spacing ----------------------------------------------------------------------------


D = at(2026, 12, 7, 10)  # Monday


def test_spacing_three_days_apart() -> None:
    earlier = visit(5, D, case_id=100, collector_id=2)
    assert check(slot(at(2026, 12, 10, 15)), case_visits=[earlier]) == []  # D+3
    (refusal,) = check(slot(at(2026, 12, 9, 9)), case_visits=[earlier])  # D+2
    assert refusal.rule is BookingRule.SPACING and refusal.overridable
    assert refusal.message == (
        "spacing: this case already has a visit on 2026-12-07; visits must be at least 3 days apart"
    )
    later = visit(6, at(2026, 12, 10, 9), case_id=100)
    assert check(slot(at(2026, 12, 7, 15)), case_visits=[later]) == []  # D-3
    assert rules(check(slot(at(2026, 12, 8, 9)), case_visits=[later])) == [BookingRule.SPACING]


def test_spacing_uses_office_local_dates() -> None:
    # 23:30 on D in Shanghai is 15:30 UTC; D+3 09:00 is only 57.5 hours later but 3 dates on.
    late = visit(5, at(2026, 12, 7, 23, 30), case_id=100, collector_id=3)
    assert check(slot(at(2026, 12, 10, 9)), case_visits=[late]) == []


@pytest.mark.parametrize("status", ["cancelled", "no_show", "rescheduled"])
def test_inactive_visits_never_count(status: str) -> None:
    old = visit(5, at(2026, 12, 4, 10), case_id=100, status=status)
    s = slot(at(2026, 12, 4, 10))
    assert check(s, case_visits=[old], collector_visits=[old]) == []
    assert propose(visits=[old], case_visits=[old])[0].starts_at == at(2026, 12, 3, 9)


def test_other_cases_do_not_count_for_spacing() -> None:
    other = visit(5, at(2026, 12, 4, 10), case_id=999, collector_id=2)
    assert check(slot(at(2026, 12, 4, 10)), case_visits=[other]) == []


def test_a_moved_visit_never_clashes_with_itself() -> None:
    own = visit(7, at(2026, 12, 4, 10), case_id=100, district="海淀区")
    s = slot(at(2026, 12, 4, 10, 30))
    assert rules(check(s, collector_visits=[own], case_visits=[own])) == [
        BookingRule.SPACING,
        BookingRule.OVERLAP,
    ]
    assert check(s, collector_visits=[own], case_visits=[own], replacing=7) == []
    assert propose(visits=[own], case_visits=[own], replacing=7) == propose()
    # Without it, the case's own visit on 12-04 keeps proposals off 12-02..12-06.
    assert propose(visits=[own], case_visits=[own])[0].starts_at == at(2026, 12, 7, 9)


# --- notice -----------------------------------------------------------------------------


def test_notice_exactly_24_hours_is_enough() -> None:
    start = at(2026, 12, 4, 10)
    assert check_notice(start, now=start - dt.timedelta(hours=24), policy=POLICY) is None
    refusal = check_notice(start, now=start - dt.timedelta(hours=23, minutes=59), policy=POLICY)
    assert refusal is not None and refusal.rule is BookingRule.NOTICE and refusal.overridable
    assert (
        refusal.message == "notice: changes need 24 hours' notice; the visit starts in 23 h 59 min"
    )
    late = check_notice(start, now=start + dt.timedelta(minutes=90), policy=POLICY)
    assert late is not None and "1 h 30 min ago" in late.message


# --- calendar and hours -----------------------------------------------------------------


def test_work_calendar() -> None:
    assert work_calendar("CN") is CAL
    assert isinstance(CAL, WorkCalendar)
    assert not CAL.is_working_day(dt.date(2026, 10, 1))
    assert CAL.holiday_name(dt.date(2026, 10, 1)) == "National Day"
    assert CAL.is_working_day(dt.date(2026, 2, 14))  # adjusted working Saturday (调休)
    assert not CAL.is_working_day(dt.date(2026, 11, 28))
    assert CAL.holiday_name(dt.date(2026, 11, 28)) is None
    assert CAL.is_working_day(dt.date(2027, 3, 3))  # another year


def test_public_holiday_is_refused() -> None:
    (refusal,) = check(slot(at(2026, 10, 1, 10)), now=at(2026, 9, 21, 10))
    assert refusal.rule is BookingRule.WORKING_DAY and not refusal.overridable
    assert refusal.message == "working day: 2026-10-01 is a public holiday (National Day)"


@pytest.mark.parametrize("day", [dt.date(2026, 2, 14), dt.date(2026, 2, 28)])
def test_adjusted_working_saturday_is_accepted(day: dt.date) -> None:
    now = at(2026, 2, 9, 10)
    assert day.isoweekday() == 6
    assert WANG.works_on(day, CAL) and LI.works_on(day, CAL)
    assert check(slot(at(day.year, day.month, day.day, 10)), now=now) == []


def test_plain_saturday_is_refused() -> None:
    (refusal,) = check(slot(at(2026, 12, 5, 10)))
    assert refusal.rule is BookingRule.WORKING_DAY
    assert refusal.message == "working day: 2026-12-05 is a weekend day (Saturday)"


def test_collector_day_off_and_weekday_pattern() -> None:
    off = dataclasses.replace(WANG, days_off=frozenset({dt.date(2026, 12, 3)}))
    (refusal,) = check(slot(THURSDAY), collector=off)
    assert refusal.message == "working day: 2026-12-03 is Wang Fang's day off"
    assert not off.works_on(dt.date(2026, 12, 3), CAL)
    li = slot(at(2026, 12, 3, 11), collector=2)  # Li works Mon/Wed/Fri
    (refusal,) = check(li, collector=LI)
    assert refusal.message == "working day: Li Na does not work on Thursday (2026-12-03)"
    assert check(slot(at(2026, 12, 4, 11), collector=2), collector=LI) == []


def test_working_hours() -> None:
    assert check(slot(at(2026, 12, 3, 9))) == []
    assert check(slot(at(2026, 12, 3, 17))) == []  # 17:00-18:00 ends exactly at close
    (refusal,) = check(slot(at(2026, 12, 3, 17, 30)))
    assert refusal.rule is BookingRule.WORKING_HOURS and not refusal.overridable
    assert refusal.message == (
        "working hours: 17:30-18:30 on 2026-12-03 is outside Wang Fang's hours 09:00-18:00"
    )
    assert rules(check(slot(at(2026, 12, 3, 8, 30)))) == [BookingRule.WORKING_HOURS]
    for minutes in (0, -30):
        (refusal,) = check(slot(THURSDAY, minutes=minutes))
        assert refusal.message == "working hours: the visit must end after it starts"


def test_hours_and_days_are_the_collectors_local_ones() -> None:
    # Zhao works 08:00-17:30 Urumqi time (UTC+6), i.e. 10:00-19:30 in Shanghai.
    assert check(slot(at(2026, 12, 3, 8, zone="Asia/Urumqi"), collector=3), collector=ZHAO) == []
    assert rules(check(slot(at(2026, 12, 3, 9), collector=3), collector=ZHAO)) == [
        BookingRule.WORKING_HOURS
    ]
    busy = visit(1, at(2026, 12, 3, 12), collector_id=3)
    (refusal,) = check(
        slot(at(2026, 12, 3, 12), collector=3), collector=ZHAO, collector_visits=[busy]
    )
    assert (
        refusal.message
        == "collector overlap: Zhao Lei already has a visit 10:00-11:00 on 2026-12-03"
    )


# --- territory, overlap, travel ---------------------------------------------------------


def test_territory() -> None:
    case = dataclasses.replace(CASE, district="东城区")
    (refusal,) = check(slot(THURSDAY), case=case)
    assert refusal.rule is BookingRule.TERRITORY and not refusal.overridable
    assert refusal.message == "territory: 东城区 is not in Wang Fang's territory"
    assert propose(case=case) == []


def test_collector_overlap() -> None:
    busy = visit(1, THURSDAY)
    (refusal,) = check(slot(at(2026, 12, 3, 10, 30)), collector_visits=[busy])
    assert refusal.rule is BookingRule.OVERLAP and not refusal.overridable
    assert refusal.message == (
        "collector overlap: Wang Fang already has a visit 10:00-11:00 on 2026-12-03"
    )
    assert rules(check(slot(at(2026, 12, 3, 9, 30)), collector_visits=[busy])) == [
        BookingRule.OVERLAP
    ]
    other_collector = visit(2, THURSDAY, collector_id=2)
    assert check(slot(THURSDAY), collector_visits=[other_collector]) == []


def test_touching_visits_in_the_same_district_are_fine() -> None:
    busy = visit(1, at(2026, 12, 3, 9), district="朝阳区")
    assert check(slot(at(2026, 12, 3, 10)), collector_visits=[busy]) == []
    after = visit(2, at(2026, 12, 3, 12), district="朝阳区")
    assert check(slot(at(2026, 12, 3, 11)), collector_visits=[after]) == []


def test_a_different_district_needs_the_travel_buffer() -> None:
    before = visit(1, at(2026, 12, 3, 10), district="海淀区")
    (refusal,) = check(slot(at(2026, 12, 3, 11)), collector_visits=[before])
    assert refusal.rule is BookingRule.TRAVEL and not refusal.overridable
    assert (
        refusal.message == "travel buffer: 30 minutes needed after the visit in 海淀区 ending 11:00"
    )
    assert rules(check(slot(at(2026, 12, 3, 11, 29)), collector_visits=[before])) == [
        BookingRule.TRAVEL
    ]
    assert check(slot(at(2026, 12, 3, 11, 30)), collector_visits=[before]) == []

    after = visit(2, at(2026, 12, 3, 14), district="海淀区")
    (refusal,) = check(slot(at(2026, 12, 3, 13)), collector_visits=[after])
    assert refusal.message == (
        "travel buffer: 30 minutes needed before the visit in 海淀区 starting 14:00"
    )
    assert rules(check(slot(at(2026, 12, 3, 12, 31)), collector_visits=[after])) == [
        BookingRule.TRAVEL
    ]
    assert check(slot(at(2026, 12, 3, 12, 30)), collector_visits=[after]) == []


# --- proposals --------------------------------------------------------------------------


def test_proposals_start_at_the_earliest_day_two_per_day() -> None:
    got = propose()
    assert [s.starts_at for s in got] == [
        at(2026, 12, 3, 9),
        at(2026, 12, 3, 9, 30),
        at(2026, 12, 4, 9),
        at(2026, 12, 4, 9, 30),
        at(2026, 12, 7, 9),  # the weekend is skipped
        at(2026, 12, 7, 9, 30),
        at(2026, 12, 8, 9),
        at(2026, 12, 8, 9, 30),
        at(2026, 12, 9, 9),
    ]
    assert all(s.ends_at - s.starts_at == dt.timedelta(hours=1) for s in got)
    assert len(propose(limit=3, per_collector_day=3)) == 3
    assert propose(limit=0) == []


def test_proposals_order_by_start_then_collector() -> None:
    got = propose(collectors=(ZHAO, LI, WANG), limit=6)
    assert [(s.starts_at, s.collector_id) for s in got] == [
        (at(2026, 12, 3, 9), 1),
        (at(2026, 12, 3, 9, 30), 1),
        (at(2026, 12, 3, 10), 3),  # Zhao's 08:00; Li does not work Thursdays
        (at(2026, 12, 3, 10, 30), 3),
        (at(2026, 12, 4, 9), 1),
        (at(2026, 12, 4, 9, 30), 1),
    ]


def test_proposals_skip_busy_time_and_spaced_days() -> None:
    busy = [
        visit(1, at(2026, 12, 3, 9), minutes=90, district="海淀区"),  # blocks 09:00-10:59
        visit(2, at(2026, 12, 3, 12), district="朝阳区"),  # blocks 11:01-12:59
    ]
    got = propose(visits=busy, limit=2, per_collector_day=3)
    assert [s.starts_at for s in got] == [at(2026, 12, 3, 11), at(2026, 12, 3, 13)]
    spaced = visit(9, at(2026, 12, 4, 15), case_id=100, collector_id=2)
    got = propose(case_visits=[spaced], limit=1)
    assert got[0].starts_at == at(2026, 12, 7, 9)  # 12-03..12-06 within 3 days of 12-04


def test_proposals_never_start_before_now() -> None:
    same_day = dataclasses.replace(POLICY, lead_days=0)
    got = propose(now=at(2026, 12, 3, 10, 5), policy=same_day, limit=3)
    assert [s.starts_at for s in got] == [
        at(2026, 12, 3, 10, 30),
        at(2026, 12, 3, 11),
        at(2026, 12, 4, 9),
    ]
    assert propose(now=at(2026, 12, 3, 17, 1), policy=same_day, limit=1)[0].starts_at == at(
        2026, 12, 4, 9
    )


def test_proposals_stay_within_the_horizon() -> None:
    short = dataclasses.replace(POLICY, horizon_days=4)
    got = propose(policy=short, limit=20)
    assert {s.starts_at.astimezone(OFFICE).date() for s in got} == {
        dt.date(2026, 12, 3),
        dt.date(2026, 12, 4),
    }


# --- properties -------------------------------------------------------------------------

WINDOW = at(2026, 12, 2, 0, 0)  # visits fall on the 8 days from here, mostly in work hours


@st.composite
def booked_visits(draw: st.DrawFn, collectors: tuple[int, ...] = (1, 2)) -> list[BookedVisit]:
    out = []
    for k in range(draw(st.integers(0, 14))):
        day = dt.timedelta(days=draw(st.integers(0, 7)))
        start = WINDOW + day + dt.timedelta(minutes=5 * draw(st.integers(7 * 12, 20 * 12)))
        out.append(
            visit(
                k + 1,
                start,
                minutes=5 * draw(st.integers(1, 36)),
                case_id=draw(st.sampled_from((100, 101, 102, 103))),
                collector_id=draw(st.sampled_from(collectors)),
                district=draw(st.sampled_from(DISTRICTS)),
                status=draw(st.sampled_from((*STATUSES, "booked"))),
            )
        )
    return out


def _overlaps(v: BookedVisit, s: Slot) -> bool:
    return v.starts_at < s.ends_at and s.starts_at < v.ends_at


def _too_close(v: BookedVisit, s: Slot, buffer: dt.timedelta) -> bool:
    return s.starts_at < v.ends_at + buffer and v.starts_at - buffer < s.ends_at


def _office_day(at_: dt.datetime) -> dt.date:
    return at_.astimezone(OFFICE).date()


WORKDAYS = [dt.date(2026, 12, d) for d in (3, 4, 7, 8, 9)]


@st.composite
def visits_and_slot(draw: st.DrawFn) -> tuple[list[BookedVisit], Slot]:
    visits = draw(booked_visits())
    # Half the slots start near one of the collector's visits: overlaps and buffers.
    theirs = [v for v in visits if v.collector_id == 1]
    if draw(st.booleans()) and theirs:
        near = draw(st.sampled_from(theirs))
        anchor = draw(st.sampled_from((near.starts_at, near.ends_at)))
        start = anchor + dt.timedelta(minutes=5 * draw(st.integers(-24, 24)))
    else:
        day = draw(st.sampled_from(WORKDAYS))
        start = at(day.year, day.month, day.day, 9) + dt.timedelta(
            minutes=5 * draw(st.integers(0, 9 * 12))
        )
    return visits, slot(start, minutes=5 * draw(st.integers(1, 30)))


@settings(max_examples=200, deadline=None)
@given(trial=visits_and_slot(), replacing=st.none() | st.integers(1, 14))
def test_accepted_slots_respect_collector_and_spacing_rules(
    trial: tuple[list[BookedVisit], Slot], replacing: int | None
) -> None:
    visits, s = trial
    got = set(rules(check(s, collector_visits=visits, case_visits=visits, replacing=replacing)))
    counted = [v for v in visits if v.active and v.appointment_id != replacing]
    mine = [v for v in counted if v.collector_id == 1]
    overlap = any(_overlaps(v, s) for v in mine)
    travel = any(
        _too_close(v, s, POLICY.travel_buffer) and not _overlaps(v, s)
        for v in mine
        if v.district != CASE.district
    )
    spacing = any(
        abs((_office_day(v.starts_at) - _office_day(s.starts_at)).days) < POLICY.spacing_days
        for v in counted
        if v.case_id == CASE.case_id
    )
    assert (BookingRule.OVERLAP in got) == overlap
    assert (BookingRule.TRAVEL in got) == travel
    assert (BookingRule.SPACING in got) == spacing
    if not got:
        assert not overlap and not travel and not spacing


def _reference_proposals(
    case: CaseFacts,
    *,
    now: dt.datetime,
    policy: VisitPolicy,
    visits: list[BookedVisit],
    limit: int,
    per_collector_day: int,
) -> list[Slot]:
    """Brute force: every grid slot of every collector, filtered by check_booking."""
    first = earliest_day(now, policy, SH)
    last = _office_day(now) + dt.timedelta(days=policy.horizon_days)
    step = dt.timedelta(minutes=policy.slot_step_minutes)
    found: list[Slot] = []
    for c in COLLECTORS.values():
        zone = ZoneInfo(c.timezone)
        day = first - dt.timedelta(days=1)
        while day <= last + dt.timedelta(days=1):
            s = dt.datetime.combine(day, c.work_start, tzinfo=zone).astimezone(dt.UTC)
            close = dt.datetime.combine(day, c.work_end, tzinfo=zone).astimezone(dt.UTC)
            while s + policy.duration <= close:
                candidate = Slot(c.collector_id, s, s + policy.duration)
                if first <= _office_day(s) <= last and not check(
                    candidate,
                    now=now,
                    case=case,
                    collector=c,
                    collector_visits=visits,
                    case_visits=visits,
                    policy=policy,
                ):
                    found.append(candidate)
                s += step
            day += dt.timedelta(days=1)
    found.sort(key=lambda x: (x.starts_at, x.collector_id))
    taken: Counter[tuple[int, dt.date]] = Counter()
    out: list[Slot] = []
    for candidate in found:
        key = (
            candidate.collector_id,
            candidate.starts_at.astimezone(
                ZoneInfo(COLLECTORS[candidate.collector_id].timezone)
            ).date(),
        )
        if taken[key] < per_collector_day and len(out) < limit:
            taken[key] += 1
            out.append(candidate)
    return out


@settings(max_examples=60, deadline=None)
@given(
    visits=booked_visits(collectors=(1, 2, 3)),
    district=st.sampled_from(DISTRICTS),
    now_minutes=st.integers(0, 3 * 24 * 12),
    horizon=st.integers(3, 10),
    limit=st.integers(1, 12),
    per_collector_day=st.integers(1, 3),
)
def test_proposals_pass_the_rules_and_match_brute_force(
    visits: list[BookedVisit],
    district: str,
    now_minutes: int,
    horizon: int,
    limit: int,
    per_collector_day: int,
) -> None:
    now = MONDAY + dt.timedelta(minutes=5 * now_minutes)
    case = dataclasses.replace(CASE, district=district)
    policy = dataclasses.replace(POLICY, horizon_days=horizon)
    got = propose(
        now=now,
        case=case,
        collectors=list(COLLECTORS.values()),
        visits=visits,
        case_visits=visits,
        limit=limit,
        per_collector_day=per_collector_day,
        policy=policy,
    )
    assert len(got) <= limit
    assert got == sorted(got, key=lambda s: (s.starts_at, s.collector_id))
    for s in got:
        assert s.ends_at - s.starts_at == policy.duration
        assert not check(
            s,
            now=now,
            case=case,
            collector=COLLECTORS[s.collector_id],
            collector_visits=[v for v in visits if v.collector_id == s.collector_id],
            case_visits=[v for v in visits if v.case_id == case.case_id],
            policy=policy,
        )
    assert got == _reference_proposals(
        case,
        now=now,
        policy=policy,
        visits=visits,
        limit=limit,
        per_collector_day=per_collector_day,
    )


@settings(max_examples=200, deadline=None)
@given(
    now_minutes=st.integers(0, 60 * 24 * 60),
    seconds=st.integers(-3 * 86400, 3 * 86400),
)
def test_notice_boundary(now_minutes: int, seconds: int) -> None:
    now = MONDAY + dt.timedelta(minutes=now_minutes)
    original = now + dt.timedelta(seconds=seconds)
    refusal = check_notice(original, now=now, policy=POLICY)
    assert (refusal is None) == (seconds >= POLICY.notice_hours * 3600)
    assert refusal is None or refusal.rule is BookingRule.NOTICE
