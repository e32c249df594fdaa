"""Agent state spans written straight into ``agent_state_span`` (a scripted day).

The spans follow the table's rules: each ends where the next begins, and only the last
may be open. Tests read them back through the reports, the board and my day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from tui_desk.db.engine import Database
from tui_desk.db.models import AgentStateSpan
from tui_desk.domain import AgentState

Step = tuple[AgentState, dt.datetime] | tuple[AgentState, dt.datetime, str | None]


def write_spans(
    db: Database,
    agent_id: int,
    steps: Sequence[Step],
    *,
    until: dt.datetime | None = None,
    case_id: int | None = None,
    wrap_up_until: dt.datetime | None = None,
) -> None:
    """One span per step ``(state, from[, reason])``, each ending where the next starts;
    the last ends at ``until`` (None: left open). ``case_id`` and ``wrap_up_until`` go on
    the last span."""
    with db.write() as s:
        for n, step in enumerate(steps):
            state, started = step[0], step[1]
            reason = step[2] if len(step) > 2 else None
            last = n == len(steps) - 1
            ended = until if last else steps[n + 1][1]
            s.add(
                AgentStateSpan(
                    agent_id=agent_id,
                    state=state,
                    reason=reason,
                    case_id=case_id if last else None,
                    started_at=started,
                    ended_at=ended,
                    wrap_up_until=wrap_up_until if last else None,
                    extended=False,
                )
            )
