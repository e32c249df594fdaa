"""Reading agents' state spans (``agent_state_span``): what a day's time went to.

Read only: the spans are written by the agent-state use cases. Every read here is
bounded by an index: the spans that start inside a window come from
``ix_agent_state_span_started`` (or ``ix_agent_state_span_agent_started`` for one agent),
and the one span per agent that may have begun before the window and still runs into it
is the agent's latest before the window's start (one probe of the agent's index each).
Open spans are found through the partial unique index ``uq_agent_state_span_open``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from tui_desk.db.models import Agent, AgentState, AgentStateSpan
from tui_desk.rules.agent_time import Span

DEFAULT_WRAP_UP_SECONDS = 60


def wrap_up_seconds(raw_states: dict[str, object]) -> int:
    """``[states] wrap_up_seconds`` of the profile (60 when the profile has none)."""
    value = raw_states.get("wrap_up_seconds", DEFAULT_WRAP_UP_SECONDS)
    return int(value) if isinstance(value, int | float | str) else DEFAULT_WRAP_UP_SECONDS


@dataclass(frozen=True)
class OpenSpan:
    """An agent's current state (its open span)."""

    agent_id: int
    state: AgentState
    reason: str | None
    case_id: int | None
    started_at: dt.datetime
    wrap_up_until: dt.datetime | None


def _span(row: AgentStateSpan) -> Span:
    return Span(AgentState(row.state), row.started_at, row.ended_at, row.reason)


def spans_in(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    agent_ids: Iterable[int] | None = None,
) -> dict[int, list[Span]]:
    """Every span that overlaps ``[start, end)``, per agent (all agents when None)."""
    s = AgentStateSpan
    wanted = None if agent_ids is None else sorted(set(agent_ids))
    inside = select(s).where(s.started_at >= start, s.started_at < end)
    if wanted is not None:
        if not wanted:
            return {}
        inside = inside.where(s.agent_id.in_(wanted))
    found: dict[int, list[Span]] = {}
    for row in session.scalars(inside.order_by(s.agent_id, s.started_at)):
        found.setdefault(row.agent_id, []).append(_span(row))
    ids = wanted if wanted is not None else list(session.scalars(select(Agent.id)))
    for agent_id in ids:
        before = session.scalars(
            select(s)
            .where(
                s.agent_id == agent_id,
                s.started_at < start,
                or_(s.ended_at.is_(None), s.ended_at > start),
            )
            .order_by(s.started_at.desc())
            .limit(1)
        ).first()
        if before is not None:
            found.setdefault(agent_id, []).insert(0, _span(before))
    return found


def open_spans(session: Session) -> dict[int, OpenSpan]:
    """Each agent's open span (its state now), through the open-span index."""
    return open_spans_of(session, None)


def open_spans_of(session: Session, agent_ids: Iterable[int] | None) -> dict[int, OpenSpan]:
    """The open span of each of ``agent_ids`` (all agents when None)."""
    s = AgentStateSpan
    stmt = select(s).where(and_(s.ended_at.is_(None)))
    if agent_ids is not None:
        stmt = stmt.where(s.agent_id.in_(sorted(set(agent_ids))))
    return {
        row.agent_id: OpenSpan(
            agent_id=row.agent_id,
            state=AgentState(row.state),
            reason=row.reason,
            case_id=row.case_id,
            started_at=row.started_at,
            wrap_up_until=row.wrap_up_until,
        )
        for row in session.scalars(stmt)
    }
