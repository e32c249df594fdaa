"""Hardship adjustments and the early-settlement reward (pure rules): worked examples and
properties of the new schedule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_desk.rules.adjustments import (
    EXTEND_TERM,
    GRACE_PERIOD,
    SUSPEND_INTEREST,
    AdjustmentError,
    Changes,
    Remaining,
    SettlementLine,
    SettlementPolicy,
    compare,
    early_settlement_quote,
    reschedule,
    settlement_eligibility,
    validate,
)
from tui_desk.rules.plans import (
    ANNUITY,
    EQUAL_PRINCIPAL,
    GRACE_CAPITALISED,
    GRACE_INTEREST_ONLY,
    GRACE_NONE,
    INTEREST_FREE,
    MONTHLY,
    PlanLimits,
    PlanRequest,
    Schedule,
    build_schedule,
)
from tui_desk.rules.profile import load_profile

LIMITS = PlanLimits()
FIRST = dt.date(2026, 4, 2)
TEN_K = Remaining(ANNUITY, MONTHLY, Decimal("0.12"), Decimal("10000.00"), 12, FIRST)


def current() -> Schedule:
    return build_schedule(
        PlanRequest(ANNUITY, Decimal("10000.00"), Decimal("0.12"), 12, MONTHLY, FIRST), LIMITS
    )


def test_extend_the_term_by_twelve() -> None:
    after = reschedule(TEN_K, Changes(extend_by=12), LIMITS)
    assert after.count == 24
    assert [li.amount for li in after.lines[:2]] == [Decimal("470.73")] * 2
    assert after.lines[-1].balance_after == 0
    result = compare(current(), after)
    assert result.before.instalment == Decimal("888.49") and result.before.count == 12
    assert result.after.instalment == Decimal("470.73") and result.after.count == 24
    assert result.after.last_due == dt.date(2028, 3, 2)
    assert result.before.total_interest == Decimal("661.86")
    assert result.after.total_interest == Decimal("1297.65")
    assert result.count_change == 12 and result.interest_change == Decimal("635.79")


def test_suspend_interest_three_periods() -> None:
    after = reschedule(TEN_K, Changes(suspend_periods=3), LIMITS)
    head = after.lines[:3]
    assert all(li.interest == 0 and li.amount == Decimal("833.33") for li in head)
    assert after.lines[3].interest == Decimal("75.00")  # 7,500.01 x 1 %
    assert after.count == 12 and after.lines[-1].balance_after == 0
    assert Changes(suspend_periods=3).kinds == (SUSPEND_INTEREST,)


def test_grace_capitalised_and_interest_only() -> None:
    cap = reschedule(TEN_K, Changes(grace_periods=2, grace_mode=GRACE_CAPITALISED), LIMITS)
    assert cap.count == 14 and cap.capitalised == Decimal("201.00")
    assert [li.amount for li in cap.lines[:2]] == [Decimal("0.00")] * 2
    only = reschedule(TEN_K, Changes(grace_periods=2, grace_mode=GRACE_INTEREST_ONLY), LIMITS)
    assert [li.amount for li in only.lines[:2]] == [Decimal("100.00")] * 2
    assert only.lines[2].amount == Decimal("888.49")


def test_a_bundle_of_all_three() -> None:
    changes = Changes(
        suspend_periods=3, extend_by=6, grace_periods=2, grace_mode=GRACE_INTEREST_ONLY
    )
    assert changes.kinds == (SUSPEND_INTEREST, EXTEND_TERM, GRACE_PERIOD)
    after = reschedule(TEN_K, changes, LIMITS)
    assert after.count == 20
    assert [li.amount for li in after.lines[:2]] == [Decimal("0.00")] * 2
    assert after.lines[2].interest == 0 and after.lines[3].interest > 0
    assert after.lines[-1].balance_after == 0


def test_validation_names_each_problem() -> None:
    assert validate(TEN_K, Changes(), LIMITS)  # nothing asked
    assert validate(TEN_K, Changes(extend_by=-1), LIMITS)
    assert validate(TEN_K, Changes(grace_periods=2), LIMITS)  # no mode
    assert validate(TEN_K, Changes(grace_mode=GRACE_CAPITALISED), LIMITS)  # mode, no periods
    behind = Remaining(ANNUITY, MONTHLY, Decimal("0.12"), Decimal("1000.00"), 12, FIRST, 40)
    [problem] = validate(behind, Changes(extend_by=9), LIMITS)
    assert "61" in problem and "60" in problem
    assert validate(behind, Changes(extend_by=8), LIMITS) == []
    free = Remaining(INTEREST_FREE, MONTHLY, Decimal(0), Decimal("1000.00"), 4, FIRST)
    assert validate(free, Changes(suspend_periods=1), LIMITS)
    with pytest.raises(AdjustmentError):
        reschedule(TEN_K, Changes(suspend_periods=99), LIMITS)


@given(
    balance=st.integers(min_value=1, max_value=50_000_000),
    rate=st.integers(min_value=0, max_value=3599),
    left=st.integers(min_value=1, max_value=40),
    suspend=st.integers(min_value=0, max_value=30),
    extend=st.integers(min_value=0, max_value=12),
    grace=st.integers(min_value=0, max_value=6),
    mode=st.sampled_from([GRACE_INTEREST_ONLY, GRACE_CAPITALISED]),
    kind=st.sampled_from([ANNUITY, EQUAL_PRINCIPAL, INTEREST_FREE]),
    elapsed=st.integers(min_value=0, max_value=20),
)
def test_the_new_schedule_always_closes_at_zero(
    balance: int,
    rate: int,
    left: int,
    suspend: int,
    extend: int,
    grace: int,
    mode: str,
    kind: str,
    elapsed: int,
) -> None:
    remaining = Remaining(
        kind, MONTHLY, Decimal(rate).scaleb(-4), Decimal(balance).scaleb(-2), left, FIRST, elapsed
    )
    changes = Changes(
        suspend_periods=0 if kind == INTEREST_FREE else suspend,
        extend_by=extend,
        grace_periods=grace,
        grace_mode=mode if grace else GRACE_NONE,
    )
    problems = validate(remaining, changes, LIMITS)
    if problems:
        with pytest.raises(AdjustmentError):
            reschedule(remaining, changes, LIMITS)
        return
    after = reschedule(remaining, changes, LIMITS)
    assert after.lines[-1].balance_after == 0
    assert after.count == left + extend + grace
    assert elapsed + after.count <= LIMITS.max_instalments(MONTHLY)
    assert all(li.principal >= 0 and li.interest >= 0 and li.amount >= 0 for li in after.lines)
    assert after.total_principal == remaining.balance + after.capitalised
    assert [li.seq for li in after.lines] == list(range(1, after.count + 1))
    for line in after.lines[: min(suspend, after.count)]:
        assert line.interest == 0 and line.capitalised == 0


# --- early settlement ------------------------------------------------------------------------


def lines(on_time: int, *, missed: int = 0, left: int = 4) -> list[SettlementLine]:
    out = []
    due = dt.date(2025, 6, 2)
    for _ in range(on_time):
        out.append(SettlementLine(due, Decimal("800"), Decimal("100"), Decimal("900"), False, True))
        due = due.replace(month=due.month % 12 + 1, year=due.year + due.month // 12)
    for _ in range(missed):
        out.append(SettlementLine(due, Decimal("800"), Decimal("100"), Decimal(0), True, False))
        due = due.replace(month=due.month % 12 + 1, year=due.year + due.month // 12)
    for _ in range(left):
        out.append(SettlementLine(dt.date(2026, 5, 2), Decimal("800"), Decimal("100"), Decimal(0)))
    return out


POLICY = SettlementPolicy(min_on_time=6, reward_rate=Decimal("0.5"), reward_cap=Decimal("150"))
TODAY = dt.date(2026, 3, 2)


def test_early_settlement_quote_for_a_good_payer() -> None:
    quote = early_settlement_quote(lines(6), TODAY, POLICY)
    assert quote is not None
    assert quote.principal == Decimal("3200") and quote.interest_ahead == Decimal("400")
    assert quote.reward == Decimal("150.00")  # half is 200, capped at 150
    assert quote.amount == Decimal("3450.00")
    assert quote.settle_by == TODAY + dt.timedelta(days=7)
    uncapped = SettlementPolicy(min_on_time=6, reward_rate=Decimal("0.5"))
    assert (early_settlement_quote(lines(6), TODAY, uncapped) or quote).reward == Decimal("200.00")


def test_early_settlement_not_eligible_says_why() -> None:
    assert early_settlement_quote(lines(5), TODAY, POLICY) is None
    why = settlement_eligibility(lines(5), POLICY).reason
    assert why is not None and "5" in why and "6" in why
    assert early_settlement_quote(lines(7, missed=1), TODAY, POLICY) is None
    assert "missed" in (settlement_eligibility(lines(7, missed=1), POLICY).reason or "")
    assert early_settlement_quote(lines(8, left=0), TODAY, POLICY) is None


def test_settlement_policy_from_the_profiles() -> None:
    for name in ("cn", "us-regf"):
        policy = SettlementPolicy.from_section(load_profile(name).section("plans"))
        assert policy.min_on_time == 6 and policy.reward_rate == Decimal("0.5")
        assert policy.reward_cap is not None and policy.reward_cap > 0
