"""Where an agent's time went: state spans summed over a window (an office day).

An agent's spans (``agent_state_span``) follow each other with no gap or overlap; the
open one (no end) runs up to now. Time in a state over a window is the spans clipped to
the window; the part of the window no span covers (before the first span, after the last
closed one, a gap left by a crash) is offline, so the states always add up to the window.
The window ends at ``now`` at the latest: the rest of today has not happened yet.

Seconds are whole: every boundary is taken to the whole second below before subtracting,
so the states' seconds add up exactly to the window's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from tui_desk.domain import AgentState

NO_REASON = ""


@dataclass(frozen=True)
class Span:
    """One stretch in one state (``reason``: the pause reason, paused only)."""

    state: AgentState
    started_at: dt.datetime
    ended_at: dt.datetime | None
    reason: str | None = None


@dataclass(frozen=True)
class StateTime:
    """Seconds per state in a window; ``paused`` by reason (``NO_REASON`` when none)."""

    ready: int = 0
    working: int = 0
    wrap_up: int = 0
    offline: int = 0
    paused: Mapping[str, int] = field(default_factory=dict)

    @property
    def paused_total(self) -> int:
        return sum(self.paused.values())

    @property
    def total(self) -> int:
        return self.ready + self.working + self.wrap_up + self.offline + self.paused_total

    def of(self, state: AgentState) -> int:
        if state is AgentState.PAUSED:
            return self.paused_total
        return {
            AgentState.READY: self.ready,
            AgentState.WORKING: self.working,
            AgentState.WRAP_UP: self.wrap_up,
            AgentState.OFFLINE: self.offline,
        }[state]


def day_window(day: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """``[office midnight of day, the next office midnight)`` in UTC (23 or 25 hours on a
    day the clocks change)."""
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _second(moment: dt.datetime) -> int:
    return int(moment.timestamp() // 1)


def time_in_states(
    spans: Iterable[Span], start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> StateTime:
    """Seconds per state over ``[start, min(end, now))``.

    Spans are clipped to the window; an open span counts up to ``now``; whatever no span
    covers is offline. Spans that overlap (which the table forbids) are counted once, the
    earlier-starting span keeping the overlap, so the total is always the window's length.
    """
    low = _second(start)
    high = max(low, min(_second(end), _second(now)))
    totals = dict.fromkeys(AgentState, 0)
    paused: dict[str, int] = {}
    cursor = low
    for span in sorted(spans, key=lambda s: s.started_at):
        span_end = _second(now if span.ended_at is None else span.ended_at)
        first = max(_second(span.started_at), cursor)
        last = min(span_end, high)
        if last <= first:
            continue
        seconds = last - first
        if span.state is AgentState.PAUSED:
            reason = span.reason or NO_REASON
            paused[reason] = paused.get(reason, 0) + seconds
        else:
            totals[span.state] += seconds
        cursor = last
    covered = sum(totals.values()) + sum(paused.values())
    return StateTime(
        ready=totals[AgentState.READY],
        working=totals[AgentState.WORKING],
        wrap_up=totals[AgentState.WRAP_UP],
        offline=totals[AgentState.OFFLINE] + (high - low - covered),
        paused=dict(sorted(paused.items())),
    )


def clock(seconds: int) -> str:
    """Seconds as ``H:MM:SS`` (hours unbounded): 3725 -> '1:02:05'."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def wrap_up_over(
    state: AgentState,
    started_at: dt.datetime,
    wrap_up_until: dt.datetime | None,
    wrap_up_seconds: int,
    now: dt.datetime,
) -> bool:
    """A wrap-up running past its time: its own end (``wrap_up_until``, extended or not)
    when it has one, else the profile's wrap-up seconds from its start."""
    if state is not AgentState.WRAP_UP:
        return False
    until = wrap_up_until or started_at + dt.timedelta(seconds=wrap_up_seconds)
    return now > until
