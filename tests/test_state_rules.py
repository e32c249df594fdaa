"""Agent states as pure rules: the transitions table, reasons, wrap-up end and extend
once, the stale-desk cut-off, and the profile's [states] section."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_desk.domain import AgentState
from tui_desk.rules import states as rules
from tui_desk.rules.profile import ProfileError, load_profile, parse_profile
from tui_desk.rules.states import Refusal, StatePolicy, check_change

POLICY = StatePolicy()
STATES = st.sampled_from(list(AgentState))
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
times = st.datetimes(
    min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 1, 1), timezones=st.just(dt.UTC)
)


def test_the_transitions_table() -> None:
    r, p, w, u, o = (AgentState(s) for s in ("ready", "paused", "working", "wrap_up", "offline"))
    assert rules.TRANSITIONS[o] == {r, p}
    assert rules.TRANSITIONS[r] == {p, w, o}
    assert rules.TRANSITIONS[p] == {r, w, o}
    assert rules.TRANSITIONS[w] == {u, r, p, o}
    assert rules.TRANSITIONS[u] == {r, p, w, o}


def _args(to: AgentState) -> dict[str, object]:
    return {
        "reason": "break" if to is AgentState.PAUSED else None,
        "case_id": 7 if to in (AgentState.WORKING, AgentState.WRAP_UP) else None,
    }


@given(STATES, STATES)
def test_a_change_is_allowed_exactly_when_the_table_says(
    current: AgentState, to: AgentState
) -> None:
    args = _args(to)
    refusal = check_change(
        current, to, policy=POLICY, reason=args["reason"], case_id=args["case_id"],  # type: ignore[arg-type]
        current_reason=args["reason"] if current is to else None,  # type: ignore[arg-type]
        current_case_id=args["case_id"] if current is to else None,  # type: ignore[arg-type]
    )  # fmt: skip
    if current is to:
        assert refusal == Refusal("same_state")
    else:
        assert (refusal is None) == (to in rules.TRANSITIONS[current])
        assert refusal is None or refusal.code == "not_allowed"


@given(STATES)
def test_anything_but_offline_may_go_offline(current: AgentState) -> None:
    assert rules.allowed(current, AgentState.OFFLINE) == (current is not AgentState.OFFLINE)


@given(st.text(max_size=20))
def test_a_pause_takes_only_a_profile_reason(reason: str) -> None:
    refusal = check_change(AgentState.READY, AgentState.PAUSED, policy=POLICY, reason=reason)
    if reason in POLICY.pause_reasons:
        assert refusal is None
    elif not reason:
        assert refusal == Refusal("reason_required")
    else:
        assert refusal == Refusal("unknown_reason")


def test_reasons_and_cases() -> None:
    assert check_change(AgentState.PAUSED, AgentState.READY, policy=POLICY, reason="meal") == (
        Refusal("reason_not_expected")
    )
    assert check_change(AgentState.READY, AgentState.WORKING, policy=POLICY) == Refusal(
        "case_required"
    )
    # Another pause reason, another case: a change; the same: none.
    assert (
        check_change(
            AgentState.PAUSED,
            AgentState.PAUSED,
            policy=POLICY,
            reason="meal",
            current_reason="break",
        )
        is None
    )
    assert check_change(
        AgentState.PAUSED, AgentState.PAUSED, policy=POLICY, reason="meal", current_reason="meal"
    ) == Refusal("same_state")
    assert (
        check_change(
            AgentState.WORKING, AgentState.WORKING, policy=POLICY, case_id=2, current_case_id=1
        )
        is None
    )


@given(times, st.integers(1, 3600))
def test_a_wrap_up_ends_after_the_profile_time(start: dt.datetime, seconds: int) -> None:
    policy = StatePolicy(wrap_up_seconds=seconds)
    until = rules.wrap_up_until(start, policy)
    assert until - start == dt.timedelta(seconds=seconds)
    assert not rules.wrap_up_over(until, until - dt.timedelta(microseconds=1))
    assert rules.wrap_up_over(until, until)
    assert rules.remaining(until, until + dt.timedelta(seconds=5)) == dt.timedelta(0)


@given(times, st.integers(0, 120), st.integers(1, 600))
def test_extending_adds_the_profile_time_to_the_planned_end_once(
    until: dt.datetime, before_end: int, extend: int
) -> None:
    policy = StatePolicy(wrap_up_extend_seconds=extend)
    now = until - dt.timedelta(seconds=before_end)
    result = rules.extend_wrap_up(AgentState.WRAP_UP, until, False, now, policy)
    if before_end == 0:
        assert result == Refusal("ended")
    else:
        assert result == until + dt.timedelta(seconds=extend)
    assert rules.extend_wrap_up(AgentState.WRAP_UP, until, True, now, policy) == Refusal(
        "already_extended"
    )


@given(STATES.filter(lambda s: s is not AgentState.WRAP_UP))
def test_only_a_wrap_up_is_extended(state: AgentState) -> None:
    assert rules.extend_wrap_up(state, None, False, T0, POLICY) == Refusal("not_wrap_up")
    no_time = StatePolicy(wrap_up_extend_seconds=0)
    assert rules.extend_wrap_up(AgentState.WRAP_UP, T0, False, T0 - dt.timedelta(1), no_time) == (
        Refusal("no_extension")
    )


@given(st.integers(0, 600), st.integers(0, 600) | st.none())
def test_a_silent_desk_goes_offline_at_its_last_heartbeat(
    started_ago: int, seen_ago: int | None
) -> None:
    stale = dt.timedelta(seconds=60)
    started = T0 - dt.timedelta(seconds=started_ago)
    seen = None if seen_ago is None else T0 - dt.timedelta(seconds=seen_ago)
    at = rules.stale_offline_at(seen, started, T0, stale)
    if seen is None:
        assert at == (started if started_ago > 60 else None)
    elif seen_ago is not None and seen_ago <= 60:
        assert at is None
    else:
        assert at == max(seen, started)
    if at is not None:
        assert started <= at <= T0  # spans keep following each other


def test_both_shipped_profiles_carry_the_states_section() -> None:
    for name in ("cn", "us-regf"):
        states = load_profile(name).states
        assert states.pause_reasons == (
            "break", "meal", "training", "meeting", "coaching", "system_problem",
        )  # fmt: skip
        assert "needs_supervisor" in states.skip_reasons and "other" in states.skip_reasons
        assert (states.wrap_up_seconds, states.wrap_up_extend_seconds) == (60, 60)
        assert states.auto_advance_preview_seconds == 5
        assert "states" in load_profile(name).raw


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"wrap_up_second": 60}, "unknown key"),
        ({"wrap_up_seconds": 0}, "wrap_up_seconds"),
        ({"wrap_up_seconds": "60"}, "wrap_up_seconds"),
        ({"wrap_up_seconds": True}, "wrap_up_seconds"),
        ({"wrap_up_extend_seconds": 4000}, "wrap_up_extend_seconds"),
        ({"auto_advance_preview_seconds": -1}, "auto_advance_preview_seconds"),
        ({"pause_reasons": []}, "pause_reasons"),
        ({"pause_reasons": ["Break"]}, "pause_reasons"),
        ({"pause_reasons": ["break", "break"]}, "twice"),
        ({"skip_reasons": "other"}, "skip_reasons"),
        ({"skip_reasons": ["x" * 41]}, "skip_reasons"),
    ],
)
def test_a_bad_states_section_is_refused(section: dict[str, object], words: str) -> None:
    raw = dict(load_profile("cn").raw)
    raw["states"] = section
    with pytest.raises(ProfileError, match=words):
        parse_profile(raw)


def test_a_profile_without_states_takes_the_defaults() -> None:
    raw = {k: v for k, v in load_profile("cn").raw.items() if k != "states"}
    assert parse_profile(raw).states == StatePolicy()
