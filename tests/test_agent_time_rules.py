"""rules.agent_time: spans summed over a day window."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from tui_desk.domain import AgentState
from tui_desk.rules.agent_time import (
    Span,
    StateTime,
    clock,
    day_window,
    time_in_states,
    wrap_up_over,
)

UTC = dt.UTC
DAY = dt.date(2026, 3, 10)
START, END = day_window(DAY, "Asia/Shanghai")


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """An office (UTC+8) time on DAY, in UTC."""
    return START + dt.timedelta(hours=hour, minutes=minute, seconds=second)


def test_window_is_the_office_day() -> None:
    assert dt.datetime(2026, 3, 9, 16, tzinfo=UTC) == START
    assert dt.timedelta(days=1) == END - START


def test_window_on_a_clock_change_day_is_23_hours() -> None:
    start, end = day_window(dt.date(2026, 3, 8), "America/New_York")
    assert end - start == dt.timedelta(hours=23)


def test_a_scripted_day() -> None:
    spans = [
        Span(AgentState.READY, at(9), at(9, 5)),
        Span(AgentState.WORKING, at(9, 5), at(9, 20)),
        Span(AgentState.WRAP_UP, at(9, 20), at(9, 21, 30)),
        Span(AgentState.PAUSED, at(9, 21, 30), at(9, 36, 30), "break"),
        Span(AgentState.PAUSED, at(12), at(13), "meal"),
        Span(AgentState.READY, at(13), None),
    ]
    got = time_in_states(spans, START, END, now=at(14))
    assert got.ready == 300 + 3600
    assert got.working == 900
    assert got.wrap_up == 90
    assert got.paused == {"break": 900, "meal": 3600}
    assert got.paused_total == 4500
    # 00:00-09:00, 09:36:30-12:00 offline; the day after 14:00 has not happened yet.
    assert got.offline == 9 * 3600 + 2 * 3600 + 23 * 60 + 30
    assert got.total == 14 * 3600


def test_spans_are_clipped_to_the_day() -> None:
    spans = [
        Span(AgentState.WORKING, at(-2), at(1)),  # began yesterday evening
        Span(AgentState.READY, at(23), at(26)),  # ends tomorrow
    ]
    got = time_in_states(spans, START, END, now=at(48))
    assert got.working == 3600
    assert got.ready == 3600
    assert got.offline == 22 * 3600


def test_open_span_counts_up_to_now() -> None:
    got = time_in_states([Span(AgentState.READY, at(8), None)], START, END, now=at(8, 10))
    assert got.ready == 600
    assert got.total == 8 * 3600 + 600


def test_no_spans_is_all_offline_and_a_future_day_is_empty() -> None:
    assert time_in_states([], START, END, now=at(30)).offline == 24 * 3600
    assert time_in_states([], START, END, now=at(-5)) == StateTime()


def test_pause_without_reason() -> None:
    got = time_in_states([Span(AgentState.PAUSED, at(1), at(2))], START, END, now=at(3))
    assert got.paused == {"": 3600}


def test_clock_and_wrap_up_over() -> None:
    assert clock(3725) == "1:02:05"
    assert clock(0) == "0:00:00"
    assert clock(-4) == "0:00:00"
    assert not wrap_up_over(AgentState.WRAP_UP, at(9), None, 60, at(9, 1))
    assert wrap_up_over(AgentState.WRAP_UP, at(9), None, 60, at(9, 1, 1))
    assert not wrap_up_over(AgentState.WRAP_UP, at(9), at(9, 2), 60, at(9, 1, 30))
    assert not wrap_up_over(AgentState.READY, at(9), None, 60, at(10))


_moments = st.integers(min_value=-6 * 3600, max_value=30 * 3600)
_spans = st.lists(
    st.tuples(
        st.sampled_from(list(AgentState)),
        _moments,
        st.one_of(st.none(), st.integers(min_value=0, max_value=6 * 3600)),
        st.sampled_from([None, "break", "meal"]),
        st.integers(min_value=0, max_value=999_999),
    ),
    max_size=12,
)


def _build(raw: list[tuple[AgentState, int, int | None, str | None, int]]) -> list[Span]:
    spans = []
    for state, offset, length, reason, micro in raw:
        started = START + dt.timedelta(seconds=offset, microseconds=micro)
        ended = None if length is None else started + dt.timedelta(seconds=length)
        spans.append(Span(state, started, ended, reason if state is AgentState.PAUSED else None))
    return spans


@given(_spans, _moments)
def test_totals_equal_the_window_and_nothing_is_negative(
    raw: list[tuple[AgentState, int, int | None, str | None, int]], now_offset: int
) -> None:
    now = START + dt.timedelta(seconds=now_offset)
    got = time_in_states(_build(raw), START, END, now)
    window = max(0, min(int((END - START).total_seconds()), now_offset))
    assert got.total == window
    assert min(got.ready, got.working, got.wrap_up, got.offline) >= 0
    assert all(v > 0 for v in got.paused.values())


@given(_spans, _moments)
def test_a_state_never_exceeds_its_spans_inside_the_window(
    raw: list[tuple[AgentState, int, int | None, str | None, int]], now_offset: int
) -> None:
    now = START + dt.timedelta(seconds=now_offset)
    spans = _build(raw)
    got = time_in_states(spans, START, END, now)
    for state in (AgentState.READY, AgentState.WORKING, AgentState.WRAP_UP, AgentState.PAUSED):
        inside = 0
        for span in spans:
            if span.state is not state:
                continue
            first = max(span.started_at, START)
            last = min(span.ended_at or now, END, now)
            inside += max(0, int(last.timestamp()) - int(first.timestamp()))
        assert got.of(state) <= inside


@given(st.lists(st.tuples(st.sampled_from(list(AgentState)), st.integers(1, 7200)), max_size=10))
def test_back_to_back_spans_are_counted_exactly(raw: list[tuple[AgentState, int]]) -> None:
    spans, moment = [], at(1)
    expected = dict.fromkeys(AgentState, 0)
    for state, length in raw:
        spans.append(Span(state, moment, moment + dt.timedelta(seconds=length), "x"))
        moment += dt.timedelta(seconds=length)
        expected[state] += length
    got = time_in_states(spans, START, END, now=at(30))
    for state in (AgentState.READY, AgentState.WORKING, AgentState.WRAP_UP, AgentState.PAUSED):
        assert got.of(state) == expected[state]
