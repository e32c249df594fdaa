"""The board's agent states, nothing-to-take, and today's callbacks done per bucket:
the shared snapshot on both engines, the cells, and the board on screen at both sizes."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from textual.pilot import Pilot

from tests.factories import Factory
from tests.pilot import screen_text
from tests.spans import write_spans
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    Outcome,
    Relation,
    Role,
    Stage,
)
from tui_desk.domain import AgentState
from tui_desk.rules.profile import load_profile, parse_profile
from tui_desk.screens.supervisor import SupervisorScreen
from tui_desk.services.board import IDLE_RECHECK, _idle_checked, read_board, refresh_snapshot
from tui_desk.services.context import Actor, Context
from tui_desk.services.presence import heartbeat
from tui_desk.views.board import AgentLine, DepthLine
from tui_desk.widgets.board import agent_rows, callbacks_cell

# 14:00 in Shanghai on 2 March 2026.
MIDNIGHT = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)
NOW = MIDNIGHT + dt.timedelta(hours=14)
MINUTE = dt.timedelta(minutes=1)
PROFILE = load_profile("cn")


def at(hour: int, minute: int = 0) -> dt.datetime:
    return MIDNIGHT + dt.timedelta(hours=hour, minutes=minute)


class Floor:
    """Five operators on the floor, each in another state, and the day's callbacks."""

    def __init__(self, db: Database) -> None:
        f = Factory(db, now=NOW)
        self.db = db
        self.idle = f.agent(login="idle", name="Idle")  # ready, nothing for them
        self.busy = f.agent(login="busy", name="Busy")  # ready, own case due
        self.rest = f.agent(login="rest", name="Rest")  # paused for a meal
        self.slow = f.agent(login="slow", name="Slow")  # wrap-up over
        self.quick = f.agent(login="quick", name="Quick")  # wrap-up within its time
        self.boss = f.agent(login="boss", name="Boss", role=Role.SUPERVISOR)
        # Only the busy agent's own case is workable: nothing is in the pool.
        self.own = f.case(name="甲", owner_id=self.busy, overdue_days=10)
        self.c2 = f.case(name="乙", owner_id=self.rest, overdue_days=10)
        self.c3 = f.case(name="丙", owner_id=self.rest, overdue_days=70, stage=Stage.FOLLOW_UP)
        with db.write() as s:
            for case_id, bucket in ((self.own, 1), (self.c2, 1), (self.c3, 3)):
                row = s.get_one(CollectionCase, case_id)
                row.dpd_bucket = bucket
            # c2's not due yet (its next action is tomorrow): only the own case is work.
            s.get_one(CollectionCase, self.c2).next_action_at = NOW + dt.timedelta(days=1)
            s.get_one(CollectionCase, self.c3).next_action_at = NOW + dt.timedelta(days=1)
            # Today's callbacks: own (09:00, done at 09:10), c2 (11:00, not done), c3 pending
            # on the case for 16:00; a callback set for 12:00 on c2 and moved to 11:00 by a
            # later call before 12:00 counts once.
            for case_id, started, callback in (
                (self.own, at(-20), at(9)),
                (self.own, at(9, 10), None),
                (self.c2, at(-20), at(12)),
                (self.c2, at(8), at(11)),
            ):
                s.add(
                    ContactAttempt(
                        case_id=case_id,
                        agent_id=self.busy,
                        channel=Channel.PHONE,
                        direction=Direction.OUTBOUND,
                        party=Relation.BORROWER,
                        outcome=Outcome.CALLBACK if callback else Outcome.NO_ANSWER,
                        started_at=started,
                        callback_at=callback,
                    )
                )
            c3 = s.get_one(CollectionCase, self.c3)
            c3.callback_at, c3.callback_agent_id = at(16), self.rest
        write_spans(db, self.idle, [(AgentState.READY, at(13, 50))])
        write_spans(db, self.busy, [(AgentState.READY, at(13, 58))])
        write_spans(db, self.rest, [(AgentState.READY, at(9)), (AgentState.PAUSED, at(13), "meal")])
        write_spans(db, self.slow, [(AgentState.WRAP_UP, NOW - 3 * MINUTE)], case_id=self.own)
        write_spans(
            db,
            self.quick,
            [(AgentState.WRAP_UP, NOW - 3 * MINUTE)],
            wrap_up_until=NOW + MINUTE,  # extended
        )
        for n, agent_id in enumerate((self.idle, self.busy, self.rest, self.slow, self.quick)):
            with db.read() as s:
                actor = Actor.of(s.get_one(Agent, agent_id))
            heartbeat(
                Context.frozen(db, actor, NOW - 5 * dt.timedelta(seconds=1), PROFILE),
                desk_id=f"d{n}",
                host="h",
                case_id=None,
            )


@pytest.fixture(autouse=True)
def _fresh_idle_checks() -> None:
    _idle_checked.clear()


def _states_at(db: Database, when: dt.datetime) -> dict[str, AgentLine]:
    return {a.login: a for a in read_board(db, when, PROFILE).agents}


def _lines(db: Database) -> dict[str, AgentLine]:
    refresh_snapshot(db, NOW, PROFILE)
    return {a.login: a for a in read_board(db, NOW, PROFILE).agents}


def test_agent_states_on_the_board(db: Database) -> None:
    floor = Floor(db)
    agents = _lines(db)
    assert agents["idle"].state == "ready" and agents["idle"].nothing_to_take
    assert agents["idle"].state_since == at(13, 50)
    assert agents["busy"].state == "ready" and not agents["busy"].nothing_to_take
    assert (agents["rest"].state, agents["rest"].pause_reason) == ("paused", "meal")
    assert agents["slow"].state == "wrap_up" and agents["slow"].wrap_up_over
    assert agents["quick"].state == "wrap_up" and not agents["quick"].wrap_up_over
    assert agents["boss"].state is None  # no span, not online
    del floor


def test_wrap_up_time_comes_from_the_profile(db: Database) -> None:
    Floor(db)
    refresh_snapshot(db, NOW, PROFILE)
    raw = dict(PROFILE.raw)
    raw["states"] = {"wrap_up_seconds": 600}
    patient = parse_profile(raw)
    agents = {a.login: a for a in read_board(db, NOW, patient).agents}
    assert not agents["slow"].wrap_up_over
    hour = dt.timedelta(hours=1)
    later = {a.login: a for a in read_board(db, NOW + 8 * MINUTE, patient, stale_after=hour).agents}
    assert later["slow"].wrap_up_over


def test_a_state_change_reaches_the_board_with_the_cheap_refresh(db: Database) -> None:
    floor = Floor(db)
    assert _lines(db)["idle"].nothing_to_take
    Factory(db, now=NOW).case(name="丁", overdue_days=5)  # a case in the pool
    # Asked again once IDLE_RECHECK has passed (not on every write's fast path).
    refresh_snapshot(db, NOW + dt.timedelta(seconds=1), PROFILE, sections=("states",))
    assert _states_at(db, NOW + dt.timedelta(seconds=1))["idle"].nothing_to_take
    later = NOW + IDLE_RECHECK + dt.timedelta(seconds=1)
    refresh_snapshot(db, later, PROFILE, sections=("states",))
    assert not _states_at(db, later)["idle"].nothing_to_take
    with db.write() as s:
        from tui_desk.db.models import AgentStateSpan

        s.query(AgentStateSpan).filter(
            AgentStateSpan.agent_id == floor.rest, AgentStateSpan.ended_at.is_(None)
        ).update({"ended_at": NOW})
    write_spans(db, floor.rest, [(AgentState.READY, NOW)])
    refresh_snapshot(db, NOW, PROFILE, sections=("states",))
    agents = {a.login: a for a in read_board(db, NOW, PROFILE).agents}
    assert agents["rest"].state == "ready" and agents["rest"].pause_reason is None


def test_callbacks_done_per_bucket(db: Database) -> None:
    Floor(db)
    refresh_snapshot(db, NOW, PROFILE)
    buckets = {d.key: d for d in read_board(db, NOW, PROFILE).buckets}
    assert (buckets["1-30"].callbacks_due, buckets["1-30"].callbacks_done) == (2, 1)
    assert (buckets["61-90"].callbacks_due, buckets["61-90"].callbacks_done) == (1, 0)
    assert buckets["31-60"].callbacks_due == 0
    # The next day, yesterday's figures are not shown as today's.
    tomorrow = read_board(db, NOW + dt.timedelta(days=1), PROFILE)
    assert all(d.callbacks_due == 0 for d in tomorrow.buckets)


def test_cells() -> None:
    line = DepthLine("1-30", 5, 0, 0, 0, 0, callbacks_due=4, callbacks_done=3)
    assert callbacks_cell(line).plain == "3/4 75%"
    assert callbacks_cell(DepthLine("0", 0, 0, 0, 0, 0)).plain == "-"

    def agent(agent_id: int, state: str, since: dt.datetime) -> AgentLine:
        return AgentLine(
            agent_id, "a", "A", Role.OPERATOR, True, NOW, None, None, None, None,
            0, 0, 0, 0, 0, 0, state=state, state_since=since,
        )  # fmt: skip

    agents = [
        dataclasses.replace(agent(1, "paused", NOW - 12 * MINUTE), pause_reason="meal"),
        dataclasses.replace(agent(2, "wrap_up", NOW - 3 * MINUTE), wrap_up_over=True),
        dataclasses.replace(agent(3, "ready", NOW - MINUTE), nothing_to_take=True),
    ]
    rows = {key: cells for key, cells in agent_rows(agents, NOW, "Asia/Shanghai", "CNY")}

    def plain(key: str) -> list[str]:
        return [c if isinstance(c, str) else c.plain for c in rows[key][:4]]

    assert plain("1") == ["paused", "A", "12m", "meal"]
    assert plain("2") == ["wrap-up", "A", "3m", "running over"]
    assert plain("3") == ["ready", "A", "1m", "nothing to take"]


async def _board(pilot: Pilot[None]) -> str:
    await pilot.press("f6")
    await pilot.pause()
    if pilot.app.size.width < 120:
        await pilot.press("3")  # the agents pane
    for _ in range(250):
        await pilot.pause(0.02)
        screen = pilot.app.screen
        if isinstance(screen, SupervisorScreen) and "nothing to take" in screen_text(pilot.app):
            break
    return screen_text(pilot.app)


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
async def test_board_shows_states_and_callbacks(
    sqlite_db: Database, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SupervisorScreen, "POLL_SECONDS", 0.02)
    floor = Floor(sqlite_db)
    refresh_snapshot(sqlite_db, NOW, PROFILE)
    boss = Actor(id=floor.boss, login="boss", name="Boss", role=Role.SUPERVISOR)
    app = DeskApp(
        db=sqlite_db,
        actor=boss,
        settings=Settings(database_url=str(sqlite_db.url)),
        clock=lambda: NOW,
    )
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        text = await _board(pilot)
        assert "nothing to take" in text
        assert "paused" in text and "meal" in text
        assert "running over" in text
        if size == (80, 24):
            await pilot.press("2")  # the queues pane
            await pilot.pause(0.1)
            text = screen_text(app)
        assert "Callbacks" in text
        assert "1/2 50%" in text
