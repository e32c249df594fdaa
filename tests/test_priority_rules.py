"""Priority and DPD buckets: the stored bucket number agrees with the bucket label."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tui_desk.rules.priority import (
    bucket_labels,
    bucket_number,
    dpd_bucket,
    priority_score,
    priority_value,
)
from tui_desk.rules.profile import load_profile

BOUNDS = load_profile("cn").dpd_bounds


@given(st.integers(min_value=-5, max_value=5000))
def test_bucket_number_matches_label(dpd: int) -> None:
    number = bucket_number(dpd, BOUNDS)
    if dpd <= 0:
        assert number == 0 and dpd_bucket(dpd, BOUNDS) == "0"
    else:
        assert bucket_labels(BOUNDS)[number - 1] == dpd_bucket(dpd, BOUNDS)


def test_bucket_edges() -> None:
    assert [bucket_number(d, BOUNDS) for d in (1, 30, 31, 60, 61, 90, 91)] == [1, 1, 2, 2, 3, 3, 4]


@given(
    st.integers(0, 3000),
    st.integers(0, 10**9),
    st.integers(0, 20),
    st.booleans(),
    st.integers(1, 400),
)
def test_score_grows_with_days_past_due(
    dpd: int, amount: int, broken: int, due: bool, more: int
) -> None:
    w = load_profile("cn").priority
    a = priority_score(
        dpd=dpd, overdue_minor=amount, broken_promises=broken, next_action_due=due, weights=w
    )
    b = priority_score(
        dpd=dpd + more, overdue_minor=amount, broken_promises=broken, next_action_due=due, weights=w
    )
    assert b.value >= a.value


@given(
    st.integers(min_value=-10, max_value=5000),
    st.integers(min_value=-(10**6), max_value=10**13),
    st.integers(min_value=-2, max_value=50),
    st.booleans(),
    st.integers(min_value=-100, max_value=10**10),
    st.sampled_from(["cn", "us-regf"]),
)
def test_the_bare_value_is_the_score_value(
    dpd: int, overdue: int, broken: int, due: bool, boost: int, profile: str
) -> None:
    weights = load_profile(profile).priority
    score = priority_score(
        dpd=dpd, overdue_minor=overdue, broken_promises=broken, next_action_due=due,
        weights=weights, boost=boost,
    )  # fmt: skip
    value = priority_value(
        dpd=dpd, overdue_minor=overdue, broken_promises=broken, next_action_due=due,
        weights=weights, boost=boost,
    )  # fmt: skip
    assert value == score.value
