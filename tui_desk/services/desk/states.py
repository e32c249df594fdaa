"""The agent's own state at the desk: ready, paused, working, wrap-up, offline."""

from __future__ import annotations

from tui_desk.services import agent_states
from tui_desk.services.desk.base import DeskPart, use_case
from tui_desk.views.agent_state import AgentStatus


class StateDesk(DeskPart):
    agent_state = use_case(agent_states.current_state)
    extend_wrap_up = use_case(agent_states.extend_wrap_up)
    go_offline = use_case(agent_states.go_offline)
    skip_case = use_case(agent_states.skip_case)

    def change_state(
        self, state: str, *, reason: str | None = None, case_id: int | None = None
    ) -> AgentStatus:
        """Go to ``state`` (its code) now; see ``agent_states.change_state``."""
        return agent_states.change_state(self.ctx, state, reason=reason, case_id=case_id)

    @property
    def pause_reasons(self) -> tuple[str, ...]:
        return self.profile.states.pause_reasons

    @property
    def skip_reasons(self) -> tuple[str, ...]:
        return self.profile.states.skip_reasons

    @property
    def preview_seconds(self) -> int:
        """How long auto mode shows a case it took before work on it starts."""
        return self.profile.states.auto_advance_preview_seconds
