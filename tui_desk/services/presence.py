"""Presence: each open desk beats every few seconds; the supervisor board shows who is on.

A heartbeat is one short upsert of the agent's ``agent_presence`` row. It is **not** a
business write, so it records **no audit event** (and so does not wake the change feed;
boards re-read presence on their own, slower, cadence). ``sign_off`` removes the row when a
desk closes cleanly; a desk that vanishes simply stops beating and turns offline once its
last heartbeat is older than ``stale_after``.

Two desks of one agent: one row per agent, and **the newest heartbeat wins** (its desk,
host, case and action are shown). ``started_at`` is kept while the same desk keeps
beating and restarts when another desk takes over. Signing off a desk that no longer owns
the row changes nothing, so closing an old desk does not hide a newer one; signing off the
owning desk removes the row, and a still-open other desk reappears on its next beat.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, AgentPresence, Role
from tui_desk.services.context import Context

DEFAULT_STALE_AFTER = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class PresenceLine:
    """One agent on the board: online or not, and what they are doing."""

    agent_id: int
    login: str
    name: str
    role: Role
    online: bool
    desk_id: str | None
    host: str | None
    last_seen: dt.datetime | None
    case_id: int | None
    on_case_for: dt.timedelta | None
    last_action: str | None
    last_action_at: dt.datetime | None


def heartbeat(
    ctx: Context, *, desk_id: str, host: str, case_id: int | None, last_action: str | None = None
) -> None:
    """Record that ``actor``'s desk is alive, on ``case_id`` (None: no case open).

    One statement (insert or update). ``case_since`` restarts when the case changes;
    ``last_action`` (with its time) is kept until a new one is given. No audit event: a
    heartbeat is not a business write.
    """
    now = ctx.now()
    dialect = postgresql if ctx.db.is_postgresql else sqlite
    table = AgentPresence.__table__
    stmt = dialect.insert(table).values(
        agent_id=ctx.actor.id,
        desk_id=desk_id[:64],
        host=host[:120],
        started_at=now,
        last_seen=now,
        current_case_id=case_id,
        case_since=now if case_id is not None else None,
        last_action=last_action[:120] if last_action is not None else None,
        last_action_at=now if last_action is not None else None,
    )
    new = stmt.excluded
    same_desk = table.c.desk_id == new.desk_id
    same_case = table.c.current_case_id.is_not_distinct_from(new.current_case_id)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.agent_id],
        set_={
            "desk_id": new.desk_id,
            "host": new.host,
            "started_at": case((same_desk, table.c.started_at), else_=new.started_at),
            "last_seen": new.last_seen,
            "current_case_id": new.current_case_id,
            "case_since": case((same_case, table.c.case_since), else_=new.case_since),
            "last_action": case(
                (new.last_action.is_(None), table.c.last_action), else_=new.last_action
            ),
            "last_action_at": case(
                (new.last_action.is_(None), table.c.last_action_at), else_=new.last_action_at
            ),
        },
    )
    with ctx.db.write() as session:
        session.execute(stmt)


def sign_off(ctx: Context, desk_id: str) -> bool:
    """A desk closes: remove the agent's presence if this desk holds it (True if so).

    ``now`` is accepted for symmetry with ``heartbeat``; nothing is recorded.
    """
    now = ctx.now()
    del now
    with ctx.db.write() as session:
        result = session.execute(
            delete(AgentPresence).where(
                AgentPresence.agent_id == ctx.actor.id, AgentPresence.desk_id == desk_id
            )
        )
        return bool(getattr(result, "rowcount", 0))


def who_is_online(
    db: Database, *, now: dt.datetime, stale_after: dt.timedelta = DEFAULT_STALE_AFTER
) -> list[PresenceLine]:
    """Every active agent (and any inactive one still beating): online ones first, by name.

    Online means a heartbeat within ``stale_after`` of ``now``; an offline agent's last
    known case and action are still shown when its row remains.
    """
    with db.read() as session:
        rows = session.execute(
            select(Agent, AgentPresence)
            .outerjoin(AgentPresence, AgentPresence.agent_id == Agent.id)
            .where(or_(Agent.active.is_(True), AgentPresence.agent_id.is_not(None)))
        ).all()
        lines = [_line(agent, presence, now, stale_after) for agent, presence in rows]
    lines.sort(key=lambda line: (not line.online, line.name, line.login))
    return lines


def _line(
    agent: Agent, presence: AgentPresence | None, now: dt.datetime, stale_after: dt.timedelta
) -> PresenceLine:
    if presence is None:
        return PresenceLine(
            agent_id=agent.id, login=agent.login, name=agent.name, role=agent.role,
            online=False, desk_id=None, host=None, last_seen=None, case_id=None,
            on_case_for=None, last_action=None, last_action_at=None,
        )  # fmt: skip
    online = now - presence.last_seen <= stale_after
    return PresenceLine(
        agent_id=agent.id,
        login=agent.login,
        name=agent.name,
        role=agent.role,
        online=online,
        desk_id=presence.desk_id,
        host=presence.host,
        last_seen=presence.last_seen,
        case_id=presence.current_case_id,
        on_case_for=(
            now - presence.case_since if online and presence.case_since is not None else None
        ),
        last_action=presence.last_action,
        last_action_at=presence.last_action_at,
    )
