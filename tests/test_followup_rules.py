"""Follow-up cadence (回访, step 7): worked examples and properties of the date rule."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from tui_desk.rules.followups import (
    FollowUpPolicy,
    days_overdue,
    first_follow_up,
    follow_up_dates,
    is_missed,
    next_follow_up,
    payoff_date,
    projected_payoff,
)
from tui_desk.rules.profile import load_profile
from tui_desk.rules.visits import work_calendar

D = dt.date
POLICY = FollowUpPolicy()
CN = work_calendar("CN")


# --- the profile ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cn", "us-regf"])
def test_profiles_give_the_process_cadence(name: str) -> None:
    policy = FollowUpPolicy.from_section(load_profile(name).section("followups"))
    assert (policy.first_within_months, policy.every_months) == (1, 3)
    assert policy.channel == "phone"
    assert policy.missed_after_days == 3
    assert policy.move_to_working_day is True
    assert policy.list_ahead_days == 7


def test_older_profiles_fall_back_to_defaults_and_bad_values_are_refused() -> None:
    assert FollowUpPolicy.from_section({"first_within_months": 1, "every_months": 3}) == POLICY
    assert FollowUpPolicy.from_section({"channel": "visit"}).channel == "visit"
    with pytest.raises(ValueError, match="channel"):
        FollowUpPolicy.from_section({"channel": "carrier pigeon"})
    with pytest.raises(ValueError, match="every_months"):
        FollowUpPolicy.from_section({"every_months": 0})
    with pytest.raises(ValueError, match="move_to_working_day"):
        FollowUpPolicy.from_section({"move_to_working_day": "yes"})


# --- worked examples ----------------------------------------------------------------------


def test_month_end_effective_date_clips_and_then_keeps_the_clipped_day() -> None:
    # 2026-01-31 + 1 month = 2026-02-28 (February has no 31st): never later than a month.
    # Then three calendar months after each previous one: 05-28, 08-28, 11-28.
    assert follow_up_dates(D(2026, 1, 31), D(2026, 12, 31), POLICY) == [
        D(2026, 2, 28),
        D(2026, 5, 28),
        D(2026, 8, 28),
        D(2026, 11, 28),
    ]


def test_anchoring_on_the_first_date_would_break_every_three_months() -> None:
    # First 2027-01-31; anchored dates would be 04-30 then 07-31, but 04-30 + 3 months is
    # 07-30: the chained rule keeps every gap at most three months.
    dates = follow_up_dates(D(2026, 12, 31), D(2027, 12, 31), POLICY)
    assert dates == [D(2027, 1, 31), D(2027, 4, 30), D(2027, 7, 30), D(2027, 10, 30)]
    assert D(2027, 1, 31) + relativedelta(months=6) == D(2027, 7, 31)  # the anchored date


def test_a_weekend_or_holiday_moves_earlier_to_a_working_day() -> None:
    # 2026-10-01 is National Day: the first follow-up moves back to 09-30; the next are
    # three months after the moved one (12-30, 2027-03-30, 06-30 are working days).
    dates = follow_up_dates(D(2026, 9, 1), D(2027, 9, 1), POLICY, CN)
    assert dates == [D(2026, 9, 30), D(2026, 12, 30), D(2027, 3, 30), D(2027, 6, 30)]
    # 2026-02-15 falls in the Spring Festival holiday; Saturday 02-14 is an adjusted
    # working day (调休), so the follow-up moves there, not to Friday.
    assert first_follow_up(D(2026, 1, 15), POLICY, CN) == D(2026, 2, 14)
    assert next_follow_up(D(2026, 8, 14), POLICY, CN) == D(2026, 11, 13)  # 11-14 is a Saturday


def test_nothing_after_the_payoff_and_one_on_the_payoff_day_is_kept() -> None:
    assert follow_up_dates(D(2026, 3, 10), D(2026, 9, 10), POLICY) == [
        D(2026, 4, 10),
        D(2026, 7, 10),
    ]
    assert follow_up_dates(D(2026, 3, 10), D(2026, 10, 10), POLICY)[-1] == D(2026, 10, 10)
    # Paid off before the first follow-up falls: none.
    assert follow_up_dates(D(2026, 3, 10), D(2026, 4, 9), POLICY) == []


def test_payoff_date_is_when_cumulative_payments_cover_the_total() -> None:
    dues = [(D(2026, 4, 1), 1000), (D(2026, 5, 1), 1000), (D(2026, 6, 1), 1000)]
    assert projected_payoff(dues) == D(2026, 6, 1)
    assert payoff_date(dues, [(D(2026, 4, 1), 1000), (D(2026, 5, 3), 1500)]) is None
    unordered = [(D(2026, 5, 3), 1500), (D(2026, 4, 1), 1000), (D(2026, 5, 20), 600)]
    assert payoff_date(dues, unordered) == D(2026, 5, 20)
    assert payoff_date([], [(D(2026, 1, 1), 5)]) is None


def test_missed_after_the_grace_days() -> None:
    due = D(2026, 6, 1)
    assert not is_missed(due, D(2026, 6, 4), POLICY)  # three days after: still on time
    assert is_missed(due, D(2026, 6, 5), POLICY)
    assert days_overdue(due, D(2026, 6, 5)) == 4
    assert days_overdue(due, D(2026, 5, 5)) == 0


# --- properties -----------------------------------------------------------------------------

effective_dates = st.dates(min_value=D(2024, 1, 1), max_value=D(2030, 12, 31))
plans = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=1900), st.integers(min_value=1, max_value=500_000)
    ),
    min_size=1,
    max_size=24,
)
payment_days = st.integers(min_value=0, max_value=2200)


def check_rule(dates: list[dt.date], effective: dt.date, payoff: dt.date, moved: bool) -> None:
    """The rule as stated, independent of how the dates were built."""
    if not dates:
        assert effective + relativedelta(months=1) > payoff or moved
        return
    assert effective < dates[0] <= effective + relativedelta(months=1)
    for earlier, later in itertools.pairwise(dates):
        assert earlier < later <= earlier + relativedelta(months=3)
        # Not more often than the rule asks: at most a holiday run early.
        assert later >= earlier + relativedelta(months=3) - dt.timedelta(days=10 if moved else 3)
    assert dates[-1] <= payoff
    # "Until the balance is 0": the next date would already be after the payoff.
    assert dates[-1] + relativedelta(months=3) > payoff or moved
    if moved:
        assert all(CN.is_working_day(d) for d in dates)


@given(
    effective=effective_dates,
    plan=plans,
    payments=st.lists(
        st.tuples(payment_days, st.integers(min_value=1, max_value=2_000_000)), max_size=30
    ),
    moved=st.booleans(),
)
def test_any_payment_history_gives_the_rule_up_to_the_payoff(
    effective: dt.date,
    plan: list[tuple[int, int]],
    payments: list[tuple[int, int]],
    moved: bool,
) -> None:
    calendar = CN if moved else None
    dues = [(effective + dt.timedelta(days=offset), amount) for offset, amount in plan]
    projected = projected_payoff(dues)
    assert projected is not None
    history = [(effective + dt.timedelta(days=offset), amount) for offset, amount in payments]
    paid_off = payoff_date(dues, history)

    scheduled = follow_up_dates(effective, projected, POLICY, calendar)
    check_rule(scheduled, effective, projected, moved)
    if paid_off is None:
        return
    actual = follow_up_dates(effective, paid_off, POLICY, calendar)
    check_rule(actual, effective, paid_off, moved)
    if paid_off <= projected:
        # Paid early: cancelling the scheduled dates after the payoff leaves exactly the
        # rule's dates for the actual payoff.
        assert [d for d in scheduled if d <= paid_off] == actual
    else:
        # Paid late: the dates go on, extending the signed schedule unchanged.
        assert actual[: len(scheduled)] == scheduled


@given(effective=effective_dates, years=st.integers(min_value=0, max_value=5))
def test_the_first_date_is_never_later_than_one_month(effective: dt.date, years: int) -> None:
    for calendar in (None, CN):
        first = first_follow_up(effective, POLICY, calendar)
        assert effective < first <= effective + relativedelta(months=1)
    payoff = effective + relativedelta(years=years)
    dates = follow_up_dates(effective, payoff, POLICY)
    check_rule(dates, effective, payoff, moved=False)


@given(previous=effective_dates)
def test_next_is_at_most_three_months_after_the_previous(previous: dt.date) -> None:
    for calendar in (None, CN):
        later = next_follow_up(previous, POLICY, calendar)
        assert previous < later <= previous + relativedelta(months=3)
