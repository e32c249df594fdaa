"""Presence heartbeats: upsert, stale means offline, sign off, two desks of one agent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, AgentPresence, AuditEvent, Role
from tui_desk.rules.profile import load_profile
from tui_desk.services.context import Actor, Context
from tui_desk.services.presence import PresenceLine, heartbeat, sign_off, who_is_online

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)


def actor(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        return Actor.of(s.get_one(Agent, agent_id))


def line(db: Database, agent: Actor, now: dt.datetime, **kw: dt.timedelta) -> PresenceLine:
    [found] = [p for p in who_is_online(db, now=now, **kw) if p.agent_id == agent.id]
    return found


def rows(db: Database) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(AgentPresence)).scalar_one()


def test_heartbeat_upserts_one_row_and_tracks_case_and_action(db: Database) -> None:
    f = Factory(db, now=NOW)
    ann = actor(db, f.agent(login="ann", name="Ann"))
    heartbeat(Context.frozen(db, ann, NOW, load_profile()), desk_id="d1", host="h1", case_id=None)
    first = line(db, ann, NOW)
    assert (first.online, first.desk_id, first.host, first.case_id) == (True, "d1", "h1", None)
    assert first.on_case_for is None and first.last_action is None

    heartbeat(
        Context.frozen(db, ann, NOW, load_profile()),
        desk_id="d1",
        host="h1",
        case_id=7,
        last_action="take next",
    )
    heartbeat(
        Context.frozen(db, ann, NOW + 30 * SECOND, load_profile()),
        desk_id="d1",
        host="h1",
        case_id=7,
    )
    later = line(db, ann, NOW + 40 * SECOND)
    assert rows(db) == 1
    assert later.case_id == 7 and later.on_case_for == 40 * SECOND  # since the case changed
    assert (later.last_action, later.last_action_at) == ("take next", NOW)  # kept
    assert later.last_seen == NOW + 30 * SECOND

    heartbeat(
        Context.frozen(db, ann, NOW + 50 * SECOND, load_profile()),
        desk_id="d1",
        host="h1",
        case_id=8,
        last_action="log",
    )
    moved = line(db, ann, NOW + 55 * SECOND)
    assert (moved.case_id, moved.on_case_for) == (8, 5 * SECOND)
    assert (moved.last_action, moved.last_action_at) == ("log", NOW + 50 * SECOND)
    with db.read() as s:
        assert s.get_one(AgentPresence, ann.id).started_at == NOW  # same desk: kept


def test_heartbeat_is_not_audited(db: Database) -> None:
    ann = actor(db, Factory(db, now=NOW).agent())
    with db.read() as s:
        before = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    heartbeat(
        Context.frozen(db, ann, NOW, load_profile()),
        desk_id="d1",
        host="h1",
        case_id=3,
        last_action="open",
    )
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == before


def test_stale_heartbeat_is_offline_and_absent_agents_are_listed(db: Database) -> None:
    f = Factory(db, now=NOW)
    ann = actor(db, f.agent(login="ann", name="Ann"))
    bob = actor(db, f.agent(login="bob", name="Bob", role=Role.SUPERVISOR))
    heartbeat(Context.frozen(db, ann, NOW, load_profile()), desk_id="d1", host="h1", case_id=5)
    assert line(db, ann, NOW + 60 * SECOND).online
    stale = line(db, ann, NOW + 61 * SECOND)
    assert not stale.online and stale.on_case_for is None and stale.case_id == 5
    assert not line(db, ann, NOW + 11 * SECOND, stale_after=10 * SECOND).online
    never = line(db, bob, NOW)
    assert (never.online, never.last_seen, never.role, never.name) == (
        False,
        None,
        Role.SUPERVISOR,
        "Bob",
    )
    order = [p.login for p in who_is_online(db, now=NOW)]
    assert order.index("ann") < order.index("bob")  # online first


def test_sign_off(db: Database) -> None:
    ann = actor(db, Factory(db, now=NOW).agent())
    heartbeat(Context.frozen(db, ann, NOW, load_profile()), desk_id="d1", host="h1", case_id=None)
    assert sign_off(Context.frozen(db, ann, NOW, load_profile()), "other-desk") is False
    assert line(db, ann, NOW).online
    assert sign_off(Context.frozen(db, ann, NOW, load_profile()), "d1") is True
    gone = line(db, ann, NOW)
    assert not gone.online and gone.last_seen is None and rows(db) == 0
    assert sign_off(Context.frozen(db, ann, NOW, load_profile()), "d1") is False


def test_two_desks_of_one_agent_newest_wins(db: Database) -> None:
    ann = actor(db, Factory(db, now=NOW).agent())
    heartbeat(Context.frozen(db, ann, NOW, load_profile()), desk_id="d1", host="h1", case_id=1)
    heartbeat(
        Context.frozen(db, ann, NOW + 5 * SECOND, load_profile()),
        desk_id="d2",
        host="h2",
        case_id=1,
    )
    shown = line(db, ann, NOW + 6 * SECOND)
    assert (shown.desk_id, shown.host, shown.on_case_for) == ("d2", "h2", 6 * SECOND)
    assert rows(db) == 1
    with db.read() as s:
        assert s.get_one(AgentPresence, ann.id).started_at == NOW + 5 * SECOND  # taken over
    # Closing the older desk does not hide the newer one.
    assert sign_off(Context.frozen(db, ann, NOW + 7 * SECOND, load_profile()), "d1") is False
    assert line(db, ann, NOW + 7 * SECOND).online
    # Closing the newer desk does; the older one reappears on its next beat.
    assert sign_off(Context.frozen(db, ann, NOW + 8 * SECOND, load_profile()), "d2") is True
    assert not line(db, ann, NOW + 8 * SECOND).online
    heartbeat(
        Context.frozen(db, ann, NOW + 9 * SECOND, load_profile()),
        desk_id="d1",
        host="h1",
        case_id=1,
    )
    assert line(db, ann, NOW + 9 * SECOND).desk_id == "d1"
