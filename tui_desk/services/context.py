"""Who is acting and when: the context every use case takes first.

``Actor`` is the agent a service call runs as (roles are checked here, not in screens);
``Context`` binds it to the database, the clock and the policy profile, so a use case
never reads the wall clock or loads a profile on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, Role
from tui_desk.i18n import _
from tui_desk.rules.permissions import ACTION_LABELS, ROLE_LABELS, Action, allowed
from tui_desk.rules.profile import Profile
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


Clock = Callable[[], dt.datetime]
"""Returns the current time, timezone-aware."""


def stopped_at(now: dt.datetime) -> Clock:
    """A clock that always says ``now`` (tests, and a batch that acts at one instant)."""

    def clock() -> dt.datetime:
        return now

    return clock


@dataclass(frozen=True)
class Context:
    """The database, who acts, the clock and the policy profile of one use-case call.

    Every use case takes it first. There is no default clock: the desk passes its own
    (tests freeze it), so "now" is always a decision of the caller.
    """

    db: Database
    actor: Actor
    clock: Clock
    profile: Profile

    @classmethod
    def frozen(cls, db: Database, actor: Actor, now: dt.datetime, profile: Profile) -> Context:
        """A context whose clock is stopped at ``now``."""
        return cls(db, actor, stopped_at(now), profile)

    def now(self) -> dt.datetime:
        """The clock's time in UTC; a naive time is a programming error."""
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return timezone-aware times")
        return now.astimezone(dt.UTC)

    def at(self, now: dt.datetime) -> Context:
        """The same context with its clock stopped at ``now``."""
        return replace(self, clock=stopped_at(now))

    def acting_as(self, actor: Actor) -> Context:
        return replace(self, actor=actor)
