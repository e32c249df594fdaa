"""Repayment-plan rules: worked examples, due dates, refusals, grace, down payment, waiver,
affordability, and the invariants every valid plan keeps (property tests)."""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import itertools
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_desk.rules.plans import (
    ANNUITY,
    DOWN_PAYMENT,
    EQUAL_PRINCIPAL,
    FREQUENCIES,
    GRACE,
    INTEREST_FREE,
    MONTHLY,
    PLAN_KINDS,
    REGULAR,
    Instalment,
    PlanError,
    PlanLimits,
    PlanRequest,
    Schedule,
    affordability_problem,
    build_schedule,
    due_dates,
    from_minor,
    monthly_equivalent,
    to_minor,
    validate,
)
from tui_desk.rules.profile import load_profile

D = Decimal
LIMITS = PlanLimits.from_section(load_profile("cn").section("plans"))
JAN31 = dt.date(2025, 1, 31)


def _req(**kw: object) -> PlanRequest:
    fields: dict[str, object] = {
        "kind": ANNUITY,
        "principal": D("10000.00"),
        "annual_rate": D("0.12"),
        "instalments": 12,
        "frequency": MONTHLY,
        "first_due": JAN31,
    }
    fields.update(kw)
    return PlanRequest(**fields)  # type: ignore[arg-type]


def _rows(schedule: Schedule) -> list[tuple[str, str, str, str]]:
    return [
        (str(x.principal), str(x.interest), str(x.amount), str(x.balance_after))
        for x in schedule.lines
    ]


# --- worked examples --------------------------------------------------------------------


def test_annuity_worked_example() -> None:
    """10,000.00 at 12 % a year over 12 months: 888.49 × 11, then 888.47."""
    s = build_schedule(_req(kind=ANNUITY), LIMITS)
    amounts = [x.amount for x in s.lines]
    assert amounts == [D("888.49")] * 11 + [D("888.47")]
    assert s.total_interest == D("661.86")
    assert s.total_principal == D("10000.00")
    assert s.total_amount == D("10661.86")
    assert s.lines[0].interest == D("100.00") and s.lines[0].principal == D("788.49")
    assert s.lines[-1].principal == D("879.67") and s.lines[-1].interest == D("8.80")
    assert s.lines[-1].balance_after == D("0.00")
    assert (s.monthly_amount, s.max_instalment, s.count) == (D("888.49"), D("888.49"), 12)
    assert (s.first_due, s.last_due) == (JAN31, dt.date(2025, 12, 31))


def test_equal_principal_worked_example() -> None:
    """10,000.00 @ 12 % over 12 months: 833.33 principal a month plus the month's interest;
    the last takes 833.37 principal."""
    s = build_schedule(_req(kind=EQUAL_PRINCIPAL), LIMITS)
    rows = _rows(s)
    assert rows[0] == ("833.33", "100.00", "933.33", "9166.67")
    assert rows[1] == ("833.33", "91.67", "925.00", "8333.34")
    assert rows[2] == ("833.33", "83.33", "916.66", "7500.01")
    assert rows[-2] == ("833.33", "16.67", "850.00", "833.37")
    assert rows[-1] == ("833.37", "8.33", "841.70", "0.00")
    assert s.total_interest == D("650.00")
    assert s.total_amount == D("10650.00")
    assert (s.monthly_amount, s.max_instalment) == (D("933.33"), D("933.33"))


def test_interest_free_worked_example() -> None:
    s = build_schedule(_req(kind=INTEREST_FREE, instalments=3), LIMITS)
    assert [x.amount for x in s.lines] == [D("3333.33"), D("3333.33"), D("3333.34")]
    assert [x.balance_after for x in s.lines] == [D("6666.67"), D("3333.34"), D("0.00")]
    assert s.total_interest == D("0.00") and s.total_amount == D("10000.00")
    assert s.max_instalment == D("3333.34") and s.monthly_amount == D("3333.33")


def test_interest_free_ignores_the_rate_and_annuity_at_zero_matches_it() -> None:
    free = build_schedule(_req(kind=INTEREST_FREE, annual_rate=D("0.12"), instalments=7), LIMITS)
    zero = build_schedule(_req(kind=ANNUITY, annual_rate=D("0"), instalments=7), LIMITS)
    assert free.total_interest == 0
    assert _rows(free) == _rows(zero)


# --- money ------------------------------------------------------------------------------


def test_minor_units_round_trip() -> None:
    assert to_minor(D("12.34")) == 1234
    assert to_minor(D("12.345")) == 1235  # half-up
    assert to_minor(D("-0.01")) == -1
    assert from_minor(1234) == D("12.34") and str(from_minor(5)) == "0.05"
    assert str(from_minor(0)) == "0.00"
    for n in (0, 1, 99, 100, 123_456_789, -42):
        assert to_minor(from_minor(n)) == n


def test_every_figure_has_two_decimals() -> None:
    s = build_schedule(_req(kind=ANNUITY, principal=D("10000"), down_payment=D("500")), LIMITS)
    for line in s.lines:
        for value in (line.principal, line.interest, line.amount, line.balance_after):
            assert value.as_tuple().exponent == -2


# --- limits and dates -------------------------------------------------------------------


def test_profile_limits_cover_five_years_at_every_frequency() -> None:
    for name in ("cn", "us-regf"):
        limits = PlanLimits.from_section(load_profile(name).section("plans"))
        assert limits.max_months == 60
        assert {f: limits.max_instalments(f) for f in FREQUENCIES} == {
            "weekly": 260,
            "biweekly": 130,
            "monthly": 60,
            "quarterly": 20,
        }
    assert PlanLimits.from_section({}).max_instalments(MONTHLY) == 60
    assert PlanLimits.from_section({"max_monthly_instalments": 36}).max_months == 36


def test_monthly_dates_return_to_the_31st() -> None:
    assert due_dates(JAN31, "monthly", 5) == [
        dt.date(2025, 1, 31),
        dt.date(2025, 2, 28),
        dt.date(2025, 3, 31),
        dt.date(2025, 4, 30),
        dt.date(2025, 5, 31),
    ]
    assert due_dates(dt.date(2024, 1, 31), "monthly", 2)[1] == dt.date(2024, 2, 29)


def test_quarterly_weekly_biweekly_dates() -> None:
    assert due_dates(dt.date(2024, 11, 30), "quarterly", 4) == [
        dt.date(2024, 11, 30),
        dt.date(2025, 2, 28),
        dt.date(2025, 5, 30),
        dt.date(2025, 8, 30),
    ]
    assert due_dates(JAN31, "weekly", 3) == [JAN31, dt.date(2025, 2, 7), dt.date(2025, 2, 14)]
    assert due_dates(JAN31, "biweekly", 2) == [JAN31, dt.date(2025, 2, 14)]


def test_periodic_rate_is_annual_over_periods() -> None:
    assert _req(frequency="monthly").periodic_rate == D("0.01")
    assert _req(frequency="quarterly").periodic_rate == D("0.03")
    assert _req(frequency="biweekly", annual_rate=D("0.26")).periodic_rate == D("0.01")
    assert _req(frequency="weekly", annual_rate=D("0.52")).periodic_rate == D("0.01")


def test_quarterly_annuity_uses_the_quarterly_rate() -> None:
    s = build_schedule(_req(frequency="quarterly", instalments=4), LIMITS)
    assert s.lines[0].interest == D("300.00")
    assert s.total_amount == s.total_principal + s.total_interest


# --- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"principal": D("0")}, "principal must be more than 0.00"),
        ({"principal": D("-5.00")}, "principal must be more than 0.00"),
        ({"principal": D("100.001")}, "more than two decimals"),
        ({"annual_rate": D("-0.01")}, "rate cannot be negative"),
        ({"annual_rate": D("12")}, "annual rate of 1200% is not allowed"),
        ({"instalments": 0}, "at least one instalment"),
        ({"instalments": 61}, "61 monthly instalments is too many"),
        ({"instalments": 21, "frequency": "quarterly"}, "at most 20"),
        ({"instalments": 261, "frequency": "weekly"}, "at most 260"),
        ({"waiver": D("1.00")}, "more than the overdue interest (0.00)"),
        (
            {"overdue_interest": D("300.00"), "waiver": D("300.01")},
            "waiver (300.01) is more than the overdue interest (300.00)",
        ),
        ({"waiver": D("-1.00")}, "waiver cannot be negative"),
        ({"overdue_interest": D("-1.00")}, "overdue interest cannot be negative"),
        ({"down_payment": D("10000.00")}, "must be less than the amount to repay (10,000.00)"),
        ({"down_payment": D("-1.00")}, "down payment cannot be negative"),
        (
            {"down_payment": D("100.00"), "down_payment_on": dt.date(2025, 2, 1)},
            "after the first instalment",
        ),
        ({"grace_periods": 12, "grace_mode": "interest_only"}, "leave no instalment"),
        ({"grace_periods": -1}, "grace periods cannot be negative"),
        ({"grace_periods": 2}, "say how the grace periods work"),
        ({"grace_mode": "capitalised"}, "needs at least one grace period"),
        ({"kind": "balloon"}, "unknown plan kind balloon"),
        ({"frequency": "daily"}, "unknown frequency daily"),
        ({"grace_mode": "holiday"}, "unknown grace mode holiday"),
        ({"principal": D("NaN")}, "must be a number"),
    ],
)
def test_refusals(changes: dict[str, object], fragment: str) -> None:
    request = _req(**changes)
    problems = validate(request, LIMITS)
    assert any(fragment in p for p in problems), problems
    with pytest.raises(PlanError) as err:
        build_schedule(request, LIMITS)
    assert fragment in str(err.value)
    assert err.value.problems == tuple(problems)


def test_every_problem_is_reported_at_once() -> None:
    problems = validate(
        _req(principal=D("-1.00"), annual_rate=D("-0.1"), instalments=70, waiver=D("1.00")),
        LIMITS,
    )
    assert len(problems) == 4
    with pytest.raises(PlanError, match="; "):
        build_schedule(_req(principal=D("0"), instalments=0), LIMITS)


def test_down_payment_up_to_the_overdue_interest_kept_counts() -> None:
    """The amount to repay is principal + overdue interest − waiver."""
    request = _req(
        principal=D("1000.00"), overdue_interest=D("200.00"), waiver=D("50.00"), instalments=3
    )
    assert request.owed == D("1150.00")
    assert validate(dataclasses.replace(request, down_payment=D("1149.99")), LIMITS) == []
    assert validate(dataclasses.replace(request, down_payment=D("1150.00")), LIMITS)


# --- down payment, waiver, grace ---------------------------------------------------------


def test_down_payment_is_its_own_line_and_reduces_the_financed_amount() -> None:
    s = build_schedule(_req(down_payment=D("1000.00")), LIMITS)
    first = s.lines[0]
    assert first == Instalment(
        0, JAN31, D("1000.00"), D("0.00"), D("1000.00"), D("9000.00"), DOWN_PAYMENT
    )
    assert s.financed == D("9000.00") and s.down_payment == D("1000.00")
    assert s.count == 12 and len(s.lines) == 13
    assert s.lines[1].interest == D("90.00")
    assert s.first_due == JAN31  # of the first instalment, not the down payment
    assert s.max_instalment < D("1000.00")  # the down payment is not an instalment

    dated = build_schedule(
        _req(down_payment=D("1000.00"), down_payment_on=dt.date(2025, 1, 10)), LIMITS
    )
    assert dated.lines[0].due_on == dt.date(2025, 1, 10)


def test_waiver_is_kept_apart_and_the_rest_of_the_overdue_interest_is_financed() -> None:
    s = build_schedule(
        _req(
            kind=INTEREST_FREE,
            principal=D("9000.00"),
            overdue_interest=D("1500.00"),
            waiver=D("500.00"),
            instalments=4,
        ),
        LIMITS,
    )
    assert s.waiver == D("500.00")
    assert s.financed == D("10000.00")
    assert [x.amount for x in s.lines] == [D("2500.00")] * 4
    assert s.total_amount == D("9000.00") + D("1500.00") - D("500.00")


def test_interest_only_grace() -> None:
    s = build_schedule(_req(grace_periods=2, grace_mode="interest_only"), LIMITS)
    grace = [x for x in s.lines if x.kind == GRACE]
    assert [(x.seq, x.principal, x.interest, x.amount) for x in grace] == [
        (1, D("0.00"), D("100.00"), D("100.00")),
        (2, D("0.00"), D("100.00"), D("100.00")),
    ]
    assert all(x.balance_after == D("10000.00") for x in grace)
    regular = s.regular
    assert len(regular) == 10 and regular[0].seq == 3
    assert regular[0].due_on == dt.date(2025, 3, 31)
    # 10 monthly annuity instalments on 10,000.00 at 1 %: 1,055.82 each.
    assert regular[0].amount == D("1055.82")
    assert s.capitalised == 0


def test_capitalised_grace() -> None:
    s = build_schedule(_req(grace_periods=2, grace_mode="capitalised"), LIMITS)
    grace = [x for x in s.lines if x.kind == GRACE]
    assert [(x.amount, x.capitalised, x.balance_after) for x in grace] == [
        (D("0.00"), D("100.00"), D("10100.00")),
        (D("0.00"), D("101.00"), D("10201.00")),
    ]
    assert s.capitalised == D("201.00")
    assert s.total_principal == D("10201.00")
    assert s.interest_cost == s.total_interest + D("201.00")
    assert s.total_amount == D("10000.00") + s.interest_cost


# --- affordability ----------------------------------------------------------------------


def test_affordability() -> None:
    s = build_schedule(_req(), LIMITS)
    assert affordability_problem(s, None) is None
    assert affordability_problem(s, D("888.49")) is None
    message = affordability_problem(s, D("800.00"))
    assert message is not None
    assert "888.49" in message and "800.00" in message


def test_affordability_of_an_equal_principal_plan_uses_its_largest_instalment() -> None:
    s = build_schedule(_req(kind=EQUAL_PRINCIPAL), LIMITS)
    assert affordability_problem(s, D("933.33")) is None
    assert affordability_problem(s, D("933.32")) is not None


def test_affordability_converts_weekly_to_monthly() -> None:
    s = build_schedule(_req(kind=INTEREST_FREE, frequency="weekly", instalments=50), LIMITS)
    assert s.regular_amount == D("200.00")
    assert s.monthly_amount == D("866.67")  # 200 × 52 / 12
    assert affordability_problem(s, D("866.67")) is None
    message = affordability_problem(s, D("800.00"))
    assert message is not None and "866.67" in message and "200.00" in message


def test_affordability_ignores_the_down_payment_and_grace() -> None:
    s = build_schedule(
        _req(down_payment=D("5000.00"), grace_periods=1, grace_mode="interest_only"), LIMITS
    )
    assert affordability_problem(s, s.max_regular) is None


def test_monthly_equivalent() -> None:
    assert monthly_equivalent(D("100.00"), "monthly") == D("100.00")
    assert monthly_equivalent(D("300.00"), "quarterly") == D("100.00")
    assert monthly_equivalent(D("100.00"), "biweekly") == D("216.67")


# --- properties -------------------------------------------------------------------------


@st.composite
def requests(draw: st.DrawFn) -> PlanRequest:
    kind = draw(st.sampled_from(PLAN_KINDS))
    frequency = draw(st.sampled_from(FREQUENCIES))
    instalments = draw(st.integers(1, LIMITS.max_instalments(frequency)))
    principal = draw(st.integers(1, 5_000_000_00))
    rate_bp = draw(st.one_of(st.just(0), st.integers(0, 3599)))
    overdue = draw(st.one_of(st.just(0), st.integers(0, 1_000_000_00)))
    waiver = draw(st.integers(0, overdue))
    owed = principal + overdue - waiver
    down = draw(st.one_of(st.just(0), st.integers(0, owed - 1)))
    grace = draw(st.one_of(st.just(0), st.integers(0, instalments - 1)))
    mode = draw(st.sampled_from(["interest_only", "capitalised"])) if grace else "none"
    first_due = draw(st.dates(dt.date(2000, 1, 1), dt.date(2090, 12, 31)))
    down_on = draw(st.one_of(st.none(), st.dates(dt.date(1999, 1, 1), first_due)))
    return PlanRequest(
        kind=kind,
        principal=from_minor(principal),
        annual_rate=D(rate_bp) / 10_000,
        instalments=instalments,
        frequency=frequency,
        first_due=first_due,
        down_payment=from_minor(down),
        overdue_interest=from_minor(overdue),
        waiver=from_minor(waiver),
        grace_periods=grace,
        grace_mode=mode,
        down_payment_on=down_on,
    )


@settings(max_examples=200, deadline=None)
@given(requests())
def test_every_valid_plan_keeps_its_invariants(request: PlanRequest) -> None:
    assert validate(request, LIMITS) == []
    s = build_schedule(request, LIMITS)
    periodic = s.instalments

    # Count and numbering: within the profile, grace first, down payment apart.
    assert s.count == request.instalments <= LIMITS.max_instalments(request.frequency)
    assert [x.seq for x in periodic] == list(range(1, request.instalments + 1))
    assert [x.kind for x in periodic] == [GRACE] * request.grace_periods + [REGULAR] * (
        request.instalments - request.grace_periods
    )
    downs = [x for x in s.lines if x.kind == DOWN_PAYMENT]
    assert len(downs) == (1 if request.down_payment > 0 else 0)

    # Principal parts repay what is financed (plus capitalised interest); with the down
    # payment, everything owed.
    assert sum(x.principal for x in periodic) == request.financed + s.capitalised
    assert s.total_principal == request.owed + s.capitalised
    assert sum(x.capitalised for x in periodic) == s.capitalised
    if request.grace_mode != "capitalised":
        assert s.capitalised == 0

    # total = principal + overdue interest + plan interest − waiver.
    assert s.total_amount == sum(x.amount for x in s.lines)
    assert s.total_amount == s.total_principal + s.total_interest
    assert s.total_interest == sum(x.interest for x in s.lines)
    assert s.total_amount == (
        request.principal + request.overdue_interest + s.interest_cost - request.waiver
    )
    assert s.waiver == request.waiver
    if request.kind == INTEREST_FREE or request.annual_rate == 0:
        assert s.interest_cost == 0

    # Each line is non-negative, in whole fen, and the balance runs down to exactly 0.00.
    balance = request.financed
    for x in s.lines:
        for value in (x.principal, x.interest, x.amount, x.capitalised, x.balance_after):
            assert value >= 0 and value.as_tuple().exponent == -2
        assert x.amount == x.principal + x.interest
        if x.kind != DOWN_PAYMENT:
            balance = balance + x.capitalised - x.principal
            assert x.balance_after == balance
    assert s.lines[-1].balance_after == D("0.00")
    assert str(s.lines[-1].balance_after) == "0.00"

    # Due dates strictly increase; monthly and quarterly step in calendar months.
    dates = [x.due_on for x in periodic]
    assert all(a < b for a, b in itertools.pairwise(dates))
    assert (s.first_due, s.last_due) == (dates[0], dates[-1]) and dates[0] == request.first_due
    if downs:
        assert downs[0].due_on <= dates[0]
    months = {"monthly": 1, "quarterly": 3}.get(request.frequency)
    for k, due in enumerate(dates):
        if months is not None:
            assert due == request.first_due + relativedelta(months=k * months)
            last_day = calendar.monthrange(due.year, due.month)[1]
            assert due.day == min(request.first_due.day, last_day)
        else:
            step = 7 if request.frequency == "weekly" else 14
            assert (due - request.first_due).days == k * step

    # Regular instalments: annuity level, equal principal parts.
    regular = s.regular
    level_ok = sum(x.principal for x in regular) >= 100 * len(regular)
    if len(regular) > 1 and level_ok:
        if request.kind == ANNUITY:
            assert len({x.amount for x in regular[:-1]}) == 1
        else:
            assert len({x.principal for x in regular[:-1]}) == 1
    assert s.max_instalment == max(x.amount for x in periodic)
    assert s.regular_amount == regular[0].amount
    assert s.monthly_amount == monthly_equivalent(regular[0].amount, request.frequency)


@settings(max_examples=200, deadline=None)
@given(requests(), st.integers(0, 5_000_000_00))
def test_affordability_agrees_with_the_largest_regular_instalment(
    request: PlanRequest, affordable_minor: int
) -> None:
    s = build_schedule(request, LIMITS)
    affordable = from_minor(affordable_minor)
    worst = max(monthly_equivalent(x.amount, s.frequency) for x in s.regular)
    problem = affordability_problem(s, affordable)
    assert (problem is None) == (worst <= affordable)
    assert affordability_problem(s, None) is None
