"""Payment allocation: components in profile order, accounts oldest first within a
component, never more than owed, the overpayment reported apart (integers only)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_desk.rules.allocation import (
    DEFAULT_ORDER,
    Allocated,
    Owed,
    allocate,
    allocation_order,
)
from tui_desk.rules.profile import load_profile

ORDER = allocation_order(load_profile("cn").section("plans"))
# Account 7 is the older loan, 9 the newer; the caller lists them oldest first.
OWED = (
    Owed(7, "principal", 500_000),
    Owed(7, "interest", 20_000),
    Owed(7, "fees", 3_000),
    Owed(9, "fees", 2_000),
    Owed(9, "penalty", 1_500),
    Owed(9, "interest", 8_000),
    Owed(9, "principal", 100_000),
)


def test_profile_order() -> None:
    assert ORDER == ("fees", "penalty", "interest", "principal") == DEFAULT_ORDER
    assert allocation_order(load_profile("us-regf").section("plans")) == ORDER
    assert allocation_order({}) == DEFAULT_ORDER
    with pytest.raises(ValueError, match="twice"):
        allocation_order({"allocation_order": ["fees", "fees"]})
    with pytest.raises(ValueError, match="non-empty"):
        allocation_order({"allocation_order": []})


def test_components_first_then_accounts_oldest_first() -> None:
    result = allocate(20_000, OWED, ORDER)
    assert result.lines == (
        Allocated(7, "fees", 3_000),
        Allocated(9, "fees", 2_000),
        Allocated(9, "penalty", 1_500),
        Allocated(7, "interest", 13_500),
    )
    assert result.remainder_minor == 0
    assert result.allocated_minor == 20_000
    assert result.by_component() == {"fees": 5_000, "penalty": 1_500, "interest": 13_500}
    assert result.by_account() == {7: 16_500, 9: 3_500}
    assert result.for_account(9) == {"fees": 2_000, "penalty": 1_500}


def test_overpayment_is_the_remainder() -> None:
    total = sum(o.amount_minor for o in OWED)
    result = allocate(total + 1_234, OWED, ORDER)
    assert result.remainder_minor == 1_234
    assert result.allocated_minor == total
    assert {(a.account_id, a.component): a.amount_minor for a in result.lines} == {
        (o.account_id, o.component): o.amount_minor for o in OWED
    }


def test_nothing_paid_or_nothing_owed() -> None:
    assert allocate(0, OWED, ORDER).lines == ()
    nothing = allocate(5_000, [], ORDER)
    assert (nothing.lines, nothing.remainder_minor) == ((), 5_000)
    zero = allocate(100, [Owed(1, "fees", 0), Owed(1, "principal", 60)], ORDER)
    assert zero.lines == (Allocated(1, "principal", 60),) and zero.remainder_minor == 40


def test_a_custom_order() -> None:
    result = allocate(10_000, OWED, ["principal", "interest", "penalty", "fees"])
    assert result.lines == (Allocated(7, "principal", 10_000),)


@pytest.mark.parametrize(
    ("amount", "owed", "order", "match"),
    [
        (-1, OWED, ORDER, "negative"),
        (100, [Owed(1, "fees", -5)], ORDER, "negative"),
        (100, [Owed(1, "insurance", 5)], ORDER, "not in the allocation order"),
        (100, [], ["fees", "fees"], "twice"),
    ],
)
def test_bad_input(amount: int, owed: list[Owed], order: tuple[str, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        allocate(amount, owed, order)


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[list[Owed], tuple[str, ...]]:
    order = tuple(draw(st.permutations(DEFAULT_ORDER)))
    accounts = draw(st.lists(st.integers(1, 10_000), unique=True, max_size=5))
    keys = [(a, c) for a in accounts for c in order]
    chosen = draw(st.lists(st.sampled_from(keys), unique=True)) if keys else []
    owed = [Owed(a, c, draw(st.integers(0, 1_000_000))) for a, c in chosen]
    return owed, order


@settings(max_examples=200, deadline=None)
@given(ledgers(), st.integers(0, 6_000_000))
def test_allocation_invariants(ledger: tuple[list[Owed], tuple[str, ...]], amount: int) -> None:
    owed, order = ledger
    result = allocate(amount, owed, order)
    total_owed = sum(o.amount_minor for o in owed)

    # Every minor unit goes somewhere: allocated + remainder == payment.
    assert result.allocated_minor + result.remainder_minor == amount
    assert result.payment_minor == amount
    assert result.remainder_minor == max(0, amount - total_owed)
    assert all(isinstance(a.amount_minor, int) and a.amount_minor > 0 for a in result.lines)

    # Never more than owed, per account and component.
    due = {(o.account_id, o.component): o.amount_minor for o in owed}
    paid = {(a.account_id, a.component): a.amount_minor for a in result.lines}
    assert len(paid) == len(result.lines)
    assert all(paid[key] <= due[key] for key in paid)

    # Order: walk components in profile order and accounts in the given order; a line
    # gets money only once everything before it is paid in full.
    queue = sorted(owed, key=lambda o: order.index(o.component))
    still_owed_before = False
    for o in queue:
        got = paid.get((o.account_id, o.component), 0)
        if still_owed_before:
            assert got == 0, (o, result)
        if got < o.amount_minor:
            still_owed_before = True
    # So no later component gets money while an earlier one still has something owed.
    for later in result.lines:
        for o in owed:
            if order.index(o.component) < order.index(later.component):
                assert paid.get((o.account_id, o.component), 0) == o.amount_minor
    # And the lines come out in allocation order.
    ranks = [order.index(a.component) for a in result.lines]
    assert ranks == sorted(ranks)
