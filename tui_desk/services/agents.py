"""Agents: add, list, and resolve the login a desk runs as."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tui_desk.clock import utcnow
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, Role
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.services import audit
from tui_desk.services.context import Actor
from tui_desk.services.errors import ServiceError, UnknownAgent

LOGIN_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class AgentInfo:
    id: int
    login: str
    name: str
    role: Role
    active: bool


def _info(a: Agent) -> AgentInfo:
    return AgentInfo(id=a.id, login=a.login, name=a.name, role=a.role, active=a.active)


def list_agents(db: Database) -> list[AgentInfo]:
    with db.read() as s:
        return [_info(a) for a in s.scalars(select(Agent).order_by(Agent.login))]


def add_agent(
    db: Database,
    login: str,
    name: str,
    role: Role,
    *,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> AgentInfo:
    """Create an agent. ``actor`` None means the system (a shell admin on the host)."""
    now = now or utcnow()
    if actor is not None:
        actor.require(Action.MANAGE_AGENTS)
    if not LOGIN_RE.match(login):
        raise ServiceError(
            _("invalid login {login!r}: use lower-case letters, digits, _ . -").format(login=login)
        )
    if not name.strip():
        raise ServiceError(_("an agent needs a name"))
    try:
        with db.write() as s:
            if s.scalar(select(Agent.id).where(Agent.login == login)) is not None:
                raise ServiceError(_("agent {login} already exists").format(login=login))
            agent = Agent(login=login, name=name.strip(), role=role, active=True, created_at=now)
            s.add(agent)
            s.flush()
            audit.record(
                s,
                actor,
                "agent.add",
                "agent",
                agent.id,
                f"added agent {login} ({role.value})",
                now=now,
                after={"login": login, "name": agent.name, "role": role.value},
            )
            return _info(agent)
    except IntegrityError as exc:
        raise ServiceError(_("agent {login} already exists").format(login=login)) from exc


def set_active(
    db: Database,
    login: str,
    active: bool,
    *,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> AgentInfo:
    now = now or utcnow()
    if actor is not None:
        actor.require(Action.MANAGE_AGENTS)
    with db.write() as s:
        agent = s.scalar(select(Agent).where(Agent.login == login))
        if agent is None:
            raise UnknownAgent(_("no agent with login {login}").format(login=login))
        before = agent.active
        agent.active = active
        audit.record(
            s,
            actor,
            "agent.activate" if active else "agent.deactivate",
            "agent",
            agent.id,
            f"{login} active={active}",
            now=now,
            before={"active": before},
            after={"active": active},
        )
        return _info(agent)


def resolve_actor(db: Database, login: str) -> Actor:
    """The agent a desk runs as; unknown or inactive logins get a clear refusal."""
    with db.read() as s:
        agent = s.scalar(select(Agent).where(Agent.login == login))
        if agent is None:
            raise UnknownAgent(
                _(
                    "login {login!r} is not a tui-desk agent; ask a supervisor to add you "
                    "(tui-desk agents add)"
                ).format(login=login)
            )
        if not agent.active:
            raise UnknownAgent(
                _("agent {login!r} is inactive; ask a supervisor").format(login=login)
            )
        return Actor.of(agent)
