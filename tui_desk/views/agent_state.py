"""An agent's current state as the desk shows it (read once per change)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.domain import AgentState
from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class AgentStatus(SafeText):
    """The agent's open span: its state since when, with its pause reason, its case and,
    in a wrap-up, when it ends by itself and whether it was extended (once).

    ``since`` is None for an agent with no span at all (offline). The desk counts the
    timer from ``since`` (or down to ``wrap_up_until``) on its own clock, each second,
    without asking the database again.
    """

    state: AgentState
    since: dt.datetime | None
    reason: str | None = None
    case_id: int | None = None
    wrap_up_until: dt.datetime | None = None
    extended: bool = False

    @property
    def is_offline(self) -> bool:
        return self.state is AgentState.OFFLINE


OFFLINE_STATUS = AgentStatus(AgentState.OFFLINE, None)
"""No span at all: the agent has never been on a desk."""


@dataclass(frozen=True)
class SkippedCase(SafeText):
    """A case an agent skipped in auto mode's preview, with the reason recorded."""

    case_id: int
    reason: str
    status: AgentStatus
