"""Who is acting: the agent a service call runs as (roles are checked here, not in screens)."""

from __future__ import annotations

from dataclasses import dataclass

from tui_desk.db.models import Agent, Role
from tui_desk.i18n import _
from tui_desk.rules.permissions import ACTION_LABELS, ROLE_LABELS, Action, allowed
from tui_desk.services.errors import PermissionDenied


@dataclass(frozen=True)
class Actor:
    id: int
    login: str
    name: str
    role: Role

    @classmethod
    def of(cls, agent: Agent) -> Actor:
        return cls(id=agent.id, login=agent.login, name=agent.name, role=agent.role)

    def can(self, action: Action) -> bool:
        return allowed(self.role, action)

    def require(self, action: Action) -> None:
        if not self.can(action):
            raise PermissionDenied(
                _("{role} {login} may not {action}").format(
                    role=_(ROLE_LABELS[self.role]),
                    login=self.login,
                    action=_(ACTION_LABELS[action]),
                )
            )
