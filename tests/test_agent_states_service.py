"""Agent states through the service on both engines: spans follow each other with no gap
or overlap, one open span per agent, every change audited, refusals checked again in the
service, wrap-up extended once, a skip recorded with its reason, silent desks taken
offline at their last heartbeat by the worker's job."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, AgentState, AgentStateSpan, AuditEvent, Role
from tui_desk.rules.profile import load_profile
from tui_desk.services import agent_states
from tui_desk.services.context import Actor, Context
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import PermissionDenied, RuleRefused, ServiceError
from tui_desk.services.presence import heartbeat, who_is_online
from tui_desk.services.queue import claim_case
from tui_desk.services.validation import InvalidInput
from tui_desk.views.agent_state import OFFLINE_STATUS

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


def _actor(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        return Actor.of(s.get_one(Agent, agent_id))


def _ctx(db: Database, actor: Actor, at: dt.datetime = NOW) -> Context:
    return Context.frozen(db, actor, at, load_profile())


def spans(
    db: Database, agent_id: int
) -> list[tuple[str, dt.datetime, dt.datetime | None, str | None]]:
    with db.read() as s:
        rows = s.scalars(
            select(AgentStateSpan)
            .where(AgentStateSpan.agent_id == agent_id)
            .order_by(AgentStateSpan.started_at, AgentStateSpan.id)
        ).all()
        return [(r.state.value, r.started_at, r.ended_at, r.reason) for r in rows]


def state_events(db: Database, agent_id: int) -> list[AuditEvent]:
    with db.read() as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_id == agent_id, AuditEvent.action == "agent.state")
            .order_by(AuditEvent.id)
        ).all()
        for r in rows:
            s.expunge(r)
        return list(rows)


def assert_chain(rows: list[tuple[str, dt.datetime, dt.datetime | None, str | None]]) -> None:
    """No gap, no overlap, one open span at the end."""
    for (_s, _a, end, _r), (_s2, start, _e2, _r2) in itertools.pairwise(rows):
        assert end == start
    assert [r for r in rows if r[2] is None] == rows[-1:]


@pytest.fixture
def world(db: Database) -> tuple[Database, Actor, int]:
    make = Factory(db, now=NOW)
    op = _actor(db, make.agent(login="op"))
    case_id = make.case(name="张三")
    return db, op, case_id


def test_an_agents_day_is_a_chain_of_spans(world: tuple[Database, Actor, int]) -> None:
    db, op, case_id = world
    assert agent_states.current_state(_ctx(db, op)) == OFFLINE_STATUS
    ready = agent_states.change_state(_ctx(db, op), "ready")
    assert (ready.state, ready.since) == (AgentState.READY, NOW)
    paused = agent_states.change_state(_ctx(db, op, NOW + 10 * S), AgentState.PAUSED, reason="meal")
    assert (paused.state, paused.reason) == (AgentState.PAUSED, "meal")
    # Another reason is a change of its own.
    agent_states.change_state(_ctx(db, op, NOW + 20 * S), "paused", reason="break")
    agent_states.change_state(_ctx(db, op, NOW + 30 * S), "ready")
    working = agent_states.change_state(_ctx(db, op, NOW + 40 * S), "working", case_id=case_id)
    assert working.case_id == case_id
    wrap = agent_states.change_state(_ctx(db, op, NOW + 50 * S), "wrap_up", case_id=case_id)
    assert wrap.wrap_up_until == NOW + 110 * S and not wrap.extended
    extended = agent_states.extend_wrap_up(_ctx(db, op, NOW + 100 * S))
    assert extended.wrap_up_until == NOW + 170 * S and extended.extended
    agent_states.change_state(_ctx(db, op, NOW + 170 * S), "ready")
    offline = agent_states.go_offline(_ctx(db, op, NOW + 200 * S))
    assert offline.state is AgentState.OFFLINE
    rows = spans(db, op.id)
    assert [r[0] for r in rows] == [
        "ready", "paused", "paused", "ready", "working", "wrap_up", "ready", "offline",
    ]  # fmt: skip
    assert [r[3] for r in rows][1:3] == ["meal", "break"]
    assert_chain(rows)
    assert rows[-1][1] == NOW + 200 * S
    events = state_events(db, op.id)
    assert len(events) == 9  # 8 changes and the extension
    assert all(e.agent_id == op.id for e in events)
    assert events[1].after == {"state": "paused", "reason": "meal", "case_id": None}
    assert events[1].before == {"state": "ready", "reason": None, "case_id": None}
    assert {e.case_id for e in events} == {None}  # the agent's events, not the case's
    assert events[4].after == {"state": "working", "reason": None, "case_id": case_id}
    # Offline again is no change (a second desk closing).
    assert agent_states.go_offline(_ctx(db, op, NOW + 300 * S)).since == NOW + 200 * S
    assert len(state_events(db, op.id)) == 9
    # Back on the next morning: the offline span ends.
    agent_states.change_state(_ctx(db, op, NOW + dt.timedelta(hours=20)), "ready")
    assert_chain(spans(db, op.id))


def test_refusals_are_checked_again_in_the_service(world: tuple[Database, Actor, int]) -> None:
    db, op, case_id = world
    ctx = _ctx(db, op)
    with pytest.raises(RuleRefused, match="cannot go from offline to working"):
        agent_states.change_state(ctx, "working", case_id=case_id)
    with pytest.raises(InvalidInput, match="reason"):
        agent_states.change_state(ctx, "paused", reason="nap")
    with pytest.raises(RuleRefused, match="needs a reason"):
        agent_states.change_state(ctx, "paused")
    with pytest.raises(InvalidInput, match="state"):
        agent_states.change_state(ctx, "asleep")
    with pytest.raises(InvalidInput, match="only a pause"):
        agent_states.change_state(ctx, "ready", reason="meal")
    agent_states.change_state(ctx, "ready")
    with pytest.raises(RuleRefused, match="already ready"):
        agent_states.change_state(ctx, "ready")
    with pytest.raises(RuleRefused, match="on a case"):
        agent_states.change_state(ctx, "working")
    with pytest.raises(ServiceError, match="not found"):
        agent_states.change_state(ctx, "working", case_id=999_999)
    with pytest.raises(RuleRefused, match="not wrapping up"):
        agent_states.extend_wrap_up(ctx)
    agent_states.change_state(ctx, "working", case_id=case_id)
    agent_states.change_state(_ctx(db, op, NOW + S), "offline")
    assert [r[0] for r in spans(db, op.id)] == ["ready", "working", "offline"]
    assert len(state_events(db, op.id)) == 3  # refusals wrote nothing


def test_extend_once_and_not_after_the_end(world: tuple[Database, Actor, int]) -> None:
    db, op, case_id = world
    agent_states.change_state(_ctx(db, op), "ready")
    agent_states.change_state(_ctx(db, op), "working", case_id=case_id)
    agent_states.change_state(_ctx(db, op, NOW + S), "wrap_up", case_id=case_id)
    with pytest.raises(RuleRefused, match="already ended"):
        agent_states.extend_wrap_up(_ctx(db, op, NOW + 61 * S))
    agent_states.extend_wrap_up(_ctx(db, op, NOW + 30 * S))
    with pytest.raises(RuleRefused, match="once"):
        agent_states.extend_wrap_up(_ctx(db, op, NOW + 31 * S))


def test_states_need_the_work_cases_right(db: Database) -> None:
    make = Factory(db, now=NOW)
    sup = _actor(db, make.agent(login="sup", role=Role.SUPERVISOR))
    assert agent_states.change_state(_ctx(db, sup), "ready").state is AgentState.READY
    stranger = Actor(id=sup.id, login="sup", name="sup", role=Role.OPERATOR)
    # Every shipped role works cases: take the right away to see the service refuse.
    from tui_desk.rules import permissions

    saved = permissions.MATRIX[Role.OPERATOR]
    permissions.MATRIX[Role.OPERATOR] = frozenset()
    try:
        with pytest.raises(PermissionDenied):
            agent_states.change_state(_ctx(db, stranger), "paused", reason="meal")
    finally:
        permissions.MATRIX[Role.OPERATOR] = saved


def test_a_skip_is_recorded_with_its_reason(world: tuple[Database, Actor, int]) -> None:
    db, op, case_id = world
    with pytest.raises(ServiceError, match="not in your hands"):
        agent_states.skip_case(_ctx(db, op), case_id, "wrong_queue")
    agent_states.change_state(_ctx(db, op), "ready")
    claim_case(_ctx(db, op), case_id)
    agent_states.change_state(_ctx(db, op), "working", case_id=case_id)
    with pytest.raises(InvalidInput, match="reason"):
        agent_states.skip_case(_ctx(db, op, NOW + S), case_id, "bored")
    skipped = agent_states.skip_case(_ctx(db, op, NOW + 2 * S), case_id, "wrong_queue")
    assert (skipped.case_id, skipped.reason, skipped.status.state) == (
        case_id, "wrong_queue", AgentState.READY,
    )  # fmt: skip
    with db.read() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "case.skip")).all()
        assert (event.case_id, event.agent_id, event.after) == (
            case_id, op.id, {"reason": "wrong_queue"},
        )  # fmt: skip
    assert [r[0] for r in spans(db, op.id)] == ["ready", "working", "ready"]


def test_the_worker_takes_silent_desks_offline_at_their_last_heartbeat(db: Database) -> None:
    make = Factory(db, now=NOW)
    gone = _actor(db, make.agent(login="gone"))
    here = _actor(db, make.agent(login="here"))
    never = _actor(db, make.agent(login="never"))
    for who in (gone, here, never):
        agent_states.change_state(_ctx(db, who), "ready")
    heartbeat(_ctx(db, gone, NOW + 5 * S), desk_id="d1", host="h", case_id=None)
    heartbeat(_ctx(db, here, NOW + 100 * S), desk_id="d2", host="h", case_id=None)
    run = agent_states.stale_states_job("cn")
    assert run(db, NOW + 120 * S) == "2 agent(s) taken offline"
    assert spans(db, gone.id) == [
        ("ready", NOW, NOW + 5 * S, None), ("offline", NOW + 5 * S, None, None),
    ]  # fmt: skip
    assert spans(db, never.id)[-1][:2] == ("offline", NOW)
    assert spans(db, here.id) == [("ready", NOW, None, None)]
    with db.read() as s:
        events = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "agent.state", AuditEvent.agent_id.is_(None)
            )
        ).all()
        assert sorted(e.entity_id for e in events if e.entity_id) == sorted([gone.id, never.id])
    # Run again: nothing more to close.
    assert run(db, NOW + 130 * S) == "0 agent(s) taken offline"


def test_a_change_of_state_is_not_the_agents_last_action(
    world: tuple[Database, Actor, int],
) -> None:
    db, op, case_id = world
    agent_states.change_state(_ctx(db, op), "ready")
    claim_case(_ctx(db, op, NOW + S), case_id)
    agent_states.change_state(_ctx(db, op, NOW + 2 * S), "working", case_id=case_id)
    desk = DeskService(db=db, actor=op, profile=load_profile(), clock=lambda: NOW + 3 * S)
    desk.heartbeat(case_id)
    [line] = [p for p in who_is_online(db, now=NOW + 3 * S) if p.agent_id == op.id]
    assert line.last_action == "case.claim"
