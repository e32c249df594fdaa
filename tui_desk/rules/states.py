"""Agent states: which changes are allowed, how long a wrap-up lasts, when it may be
extended, and the profile's ``[states]`` section.

Pure: no clock, no database. The desk and the service both ask ``check_change`` before a
change; ``wrap_up_until`` and ``extend_wrap_up`` say when a wrap-up ends.

A change goes from the agent's current state (``offline`` when they have no open span) to
another. Staying in the same state is no change, except a pause with another reason and
working on another case (taking the next case while working one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from tui_desk.domain import AgentState

STATE_ACTION = "agent.state"
"""The audit action of a change of state (not an action on a case: boards showing what an
agent did last leave it out)."""
SKIP_ACTION = "case.skip"
"""The audit action of a case skipped in auto mode's preview (with its reason)."""

READY = AgentState.READY
PAUSED = AgentState.PAUSED
WORKING = AgentState.WORKING
WRAP_UP = AgentState.WRAP_UP
OFFLINE = AgentState.OFFLINE

TRANSITIONS: Mapping[AgentState, frozenset[AgentState]] = {
    OFFLINE: frozenset({READY, PAUSED}),
    READY: frozenset({PAUSED, WORKING, OFFLINE}),
    PAUSED: frozenset({READY, WORKING, OFFLINE}),
    WORKING: frozenset({WRAP_UP, READY, PAUSED, OFFLINE}),
    WRAP_UP: frozenset({READY, PAUSED, WORKING, OFFLINE}),
}
"""Where each state may go next (``offline`` is always reachable but from itself)."""

DEFAULT_PAUSE_REASONS = ("break", "meal", "training", "meeting", "coaching", "system_problem")
DEFAULT_SKIP_REASONS = ("needs_supervisor", "borrower_asked_later", "wrong_queue", "other")
DEFAULT_WRAP_UP_SECONDS = 60
DEFAULT_WRAP_UP_EXTEND_SECONDS = 60
DEFAULT_PREVIEW_SECONDS = 5
MAX_SECONDS = 3600
"""No wrap-up, extension or preview lasts longer than an hour (a typing slip)."""
MAX_REASON_LENGTH = 40
"""A reason code is stored in ``agent_state_span.reason`` (40 characters)."""

_KEYS = frozenset(
    {
        "pause_reasons",
        "wrap_up_seconds",
        "wrap_up_extend_seconds",
        "auto_advance_preview_seconds",
        "skip_reasons",
    }
)


@dataclass(frozen=True)
class StatePolicy:
    """The profile's ``[states]``: pause and skip reason codes, and the timers (seconds)."""

    pause_reasons: tuple[str, ...] = DEFAULT_PAUSE_REASONS
    wrap_up_seconds: int = DEFAULT_WRAP_UP_SECONDS
    wrap_up_extend_seconds: int = DEFAULT_WRAP_UP_EXTEND_SECONDS
    auto_advance_preview_seconds: int = DEFAULT_PREVIEW_SECONDS
    skip_reasons: tuple[str, ...] = DEFAULT_SKIP_REASONS

    @classmethod
    def from_section(cls, section: Mapping[str, object]) -> StatePolicy:
        """Build from ``[states]``; a missing key takes its default, an unknown key or a
        bad value is refused (``ValueError`` naming it)."""
        unknown = sorted(set(section) - _KEYS)
        if unknown:
            raise ValueError(f"states: unknown key(s) {', '.join(unknown)}")
        return cls(
            pause_reasons=_codes(section, "pause_reasons", DEFAULT_PAUSE_REASONS),
            wrap_up_seconds=_seconds(section, "wrap_up_seconds", DEFAULT_WRAP_UP_SECONDS, 1),
            wrap_up_extend_seconds=_seconds(
                section, "wrap_up_extend_seconds", DEFAULT_WRAP_UP_EXTEND_SECONDS, 0
            ),
            auto_advance_preview_seconds=_seconds(
                section, "auto_advance_preview_seconds", DEFAULT_PREVIEW_SECONDS, 0
            ),
            skip_reasons=_codes(section, "skip_reasons", DEFAULT_SKIP_REASONS),
        )


def _codes(section: Mapping[str, object], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = section.get(key, default)
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f"states: {key} must be a non-empty list of codes")
    codes: list[str] = []
    for code in value:
        if (
            not isinstance(code, str)
            or not code
            or len(code) > MAX_REASON_LENGTH
            or not code.isascii()
            or not all(ch.islower() or ch.isdigit() or ch == "_" for ch in code)
        ):
            raise ValueError(f"states: {key} holds {code!r}, not a code (a-z, 0-9, _)")
        if code in codes:
            raise ValueError(f"states: {key} lists {code!r} twice")
        codes.append(code)
    return tuple(codes)


def _seconds(section: Mapping[str, object], key: str, default: int, low: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_SECONDS:
        raise ValueError(f"states: {key} must be a whole number of seconds, {low}-{MAX_SECONDS}")
    return value


@dataclass(frozen=True)
class Refusal:
    """Why a change is not allowed: a code and its words (the service translates)."""

    code: str


def check_change(
    current: AgentState,
    to: AgentState,
    *,
    policy: StatePolicy,
    reason: str | None = None,
    current_reason: str | None = None,
    case_id: int | None = None,
    current_case_id: int | None = None,
) -> Refusal | None:
    """None when the agent in ``current`` may go to ``to`` (with ``reason``/``case_id``),
    else the refusal's code:

    - ``same_state``: no change (the same state, reason and case);
    - ``not_allowed``: the transitions table forbids it;
    - ``reason_required`` / ``unknown_reason``: a pause needs one of the profile's reasons;
    - ``reason_not_expected``: only a pause has a reason;
    - ``case_required``: working and wrap-up are on a case.
    """
    if to is PAUSED:
        if not reason:
            return Refusal("reason_required")
        if reason not in policy.pause_reasons:
            return Refusal("unknown_reason")
    elif reason is not None:
        return Refusal("reason_not_expected")
    if to in (WORKING, WRAP_UP) and case_id is None:
        return Refusal("case_required")
    if current is to:
        if to is PAUSED and reason != current_reason:
            return None
        if to is WORKING and case_id != current_case_id:
            return None
        return Refusal("same_state")
    if to not in TRANSITIONS[current]:
        return Refusal("not_allowed")
    return None


def allowed(current: AgentState, to: AgentState) -> bool:
    """Whether the table lets ``current`` go to ``to`` (reasons and cases aside)."""
    return to in TRANSITIONS[current]


def wrap_up_until(started_at: dt.datetime, policy: StatePolicy) -> dt.datetime:
    """When a wrap-up started at ``started_at`` ends by itself."""
    return started_at + dt.timedelta(seconds=policy.wrap_up_seconds)


def extend_wrap_up(
    state: AgentState, until: dt.datetime | None, extended: bool, now: dt.datetime,
    policy: StatePolicy,
) -> dt.datetime | Refusal:  # fmt: skip
    """The new end of a wrap-up extended at ``now``, or why it cannot be.

    Once per wrap-up, while it runs (``not_wrap_up``, ``already_extended``, ``ended``,
    ``no_extension`` when the profile gives none). The time is added to the planned end,
    so extending late does not give more than extending early.
    """
    if state is not WRAP_UP or until is None:
        return Refusal("not_wrap_up")
    if extended:
        return Refusal("already_extended")
    if policy.wrap_up_extend_seconds <= 0:
        return Refusal("no_extension")
    if now >= until:
        return Refusal("ended")
    return until + dt.timedelta(seconds=policy.wrap_up_extend_seconds)


def wrap_up_over(until: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a wrap-up planned to end at ``until`` has ended at ``now``."""
    return until is not None and now >= until


def remaining(until: dt.datetime, now: dt.datetime) -> dt.timedelta:
    """What is left of a countdown to ``until`` (never negative)."""
    return max(until - now, dt.timedelta(0))


def stale_offline_at(
    last_seen: dt.datetime | None, started_at: dt.datetime, now: dt.datetime,
    stale_after: dt.timedelta,
) -> dt.datetime | None:  # fmt: skip
    """When an agent whose open span started at ``started_at`` went offline, judged at
    ``now``: at their desk's last heartbeat once it is older than ``stale_after`` (no
    heartbeat at all: when the span started, once that is older); None while the desk
    still beats.

    Never before the span started, so spans keep following each other.
    """
    if last_seen is None:
        return started_at if now - started_at > stale_after else None
    if now - last_seen <= stale_after:
        return None
    return max(last_seen, started_at)
