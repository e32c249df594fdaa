"""Each open desk beats into the presence table: on opening, when the operator moves to
another case, and it leaves the table when the desk closes (the board's "online")."""

from __future__ import annotations

import pytest

from tests.factories import Factory
from tests.pilot import desk_screen, settle, until
from tui_desk.app import DeskApp
from tui_desk.clock import utcnow
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, AgentPresence
from tui_desk.services.context import Actor

pytestmark = pytest.mark.usefixtures("quick_debounce")


def _presence(db: Database, agent_id: int) -> AgentPresence | None:
    with db.read() as s:
        row = s.get(AgentPresence, agent_id)
        if row is not None:
            s.expunge(row)
        return row


async def test_desk_beats_follows_the_case_and_signs_off(sqlite_db: Database) -> None:
    make = Factory(sqlite_db, now=utcnow())
    operator = make.agent(login="op", name="王小明")
    case_id = make.case(name="张三", priority=900, owner_id=operator)
    with sqlite_db.read() as s:
        agent = s.get(Agent, operator)
        assert agent is not None
        actor = Actor.of(agent)
    app = DeskApp(db=sqlite_db, actor=actor, settings=Settings(database_url=str(sqlite_db.url)))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await until(pilot, lambda: _presence(sqlite_db, operator) is not None)
        row = _presence(sqlite_db, operator)
        assert row is not None
        assert row.desk_id == desk_screen(app).service.desk_id
        assert row.current_case_id is None

        await pilot.press("n")  # take next: the board sees the case at once
        await until(
            pilot,
            lambda: getattr(_presence(sqlite_db, operator), "current_case_id", None) == case_id,
        )
        row = _presence(sqlite_db, operator)
        assert row is not None and row.last_action == "case.claim"
    assert _presence(sqlite_db, operator) is None
