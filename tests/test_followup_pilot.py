"""Pilot tests of the follow-up list (回访): at 80x24, by keyboard only.

Time is frozen through the desk's clock: Monday 2026-03-02, 10:00 in Beijing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from textual.widgets import DataTable, Input

from tests.factories import Factory
from tests.pilot import modal_text, screen_text, settle, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import AgreementStatus, FollowUp, FollowUpStatus, Role
from tui_desk.rules.profile import load_profile
from tui_desk.screens.followup_modal import FollowUpDoneModal, FollowUpListModal
from tui_desk.services.context import Actor
from tui_desk.services.followups import schedule_for_agreement

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SH).astimezone(dt.UTC)
NARROW = (80, 24)
D = dt.date


@dataclass
class World:
    db: Database
    op: Actor
    sup: Actor
    mine: int  # case of 欧阳娜娜 (op): one missed, one due this week
    theirs: int  # case of 李四 (another operator): due this week
    missed_id: int
    due_id: int

    def app(self, actor: Actor) -> DeskApp:
        return DeskApp(
            db=self.db,
            actor=actor,
            settings=Settings(database_url=str(self.db.url)),
            clock=lambda: NOW,
        )

    def status(self, follow_up_id: int) -> FollowUpStatus:
        with self.db.read() as s:
            value = s.scalar(select(FollowUp.status).where(FollowUp.id == follow_up_id))
        assert value is not None
        return value


pytestmark = pytest.mark.usefixtures("quick_debounce")


@pytest.fixture
def world(sqlite_db: Database) -> World:
    make = Factory(sqlite_db, now=NOW)
    op = make.agent(login="op", name="王小明")
    other = make.agent(login="other", name="赵六")
    sup = make.agent(login="sup", name="周主管", role=Role.SUPERVISOR)
    mine = make.case(name="欧阳娜娜", owner_id=op, priority=900)
    theirs = make.case(name="李四", owner_id=other, priority=800)
    profile = load_profile("cn")
    plans = [(mine, op, D(2026, 1, 3)), (theirs, other, D(2026, 2, 4))]
    signed = [
        make.agreement(case_id, created_by_id=owner, status=AgreementStatus.SIGNED, signed=True)
        for case_id, owner, _effective in plans
    ]
    with sqlite_db.write() as s:
        for (case_id, owner, effective), agreement in zip(plans, signed, strict=True):
            schedule_for_agreement(
                s, case_id=case_id, agreement_id=agreement, effective_on=effective,
                payoff_on=D(2026, 12, 31), owner_id=owner, now=NOW, profile=profile,
            )  # fmt: skip
    with sqlite_db.write() as s:
        rows = list(s.scalars(select(FollowUp).where(FollowUp.case_id == mine).order_by(FollowUp.due_on)))  # fmt: skip
        rows[0].status = FollowUpStatus.MISSED  # 02-03
        missed_id = rows[0].id
        # One more of mine, due on Friday this week.
        extra = FollowUp(case_id=mine, due_on=D(2026, 3, 6), channel="visit", owner_id=op,
                         status=FollowUpStatus.SCHEDULED)  # fmt: skip
        s.add(extra)
        s.flush()
        due_id = extra.id

    def actor(agent_id: int, login: str, role: Role) -> Actor:
        return Actor(id=agent_id, login=login, name=login, role=role)

    return World(
        sqlite_db,
        actor(op, "op", Role.OPERATOR),
        actor(sup, "sup", Role.SUPERVISOR),
        mine,
        theirs,
        missed_id,
        due_id,
    )


def list_text(app: DeskApp) -> str:
    """The lines of the list's box on screen (the queue shows dimmed behind it)."""
    lines = screen_text(app).splitlines()
    start = next(i for i, line in enumerate(lines) if "Follow-ups (" in line)
    end = next(i for i, line in enumerate(lines) if "Esc close" in line)
    return "\n".join(lines[start : end + 1])


async def open_list(app: DeskApp, results: list[int | None]) -> FollowUpListModal:
    modal = FollowUpListModal(app.service)
    await app.push_screen(modal, results.append)
    return modal


async def test_the_list_shows_my_missed_and_due_follow_ups_at_80x24(world: World) -> None:
    app = world.app(world.op)
    results: list[int | None] = []
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        modal = await open_list(app, results)
        await until(pilot, lambda: modal.loaded)
        assert [line.follow_up_id for line in modal.lines] == [world.missed_id, world.due_id]
        text = list_text(app)
        assert "欧阳娜娜" in text and "李四" not in text
        assert "missed" in text and "2 follow-ups, 1 missed" in text
        assert modal.table.row_count == 2
        # Wide characters line up: every row's borrower column starts at the same cell.
        rows = [row for row in text.splitlines() if "欧阳娜娜" in row]
        assert len(rows) == 2 and len({row.index("欧阳娜娜") for row in rows}) == 1
        # An operator cannot see everyone's.
        await pilot.press("a")
        await settle(pilot)
        assert modal.mine and [x.follow_up_id for x in modal.lines] == [
            world.missed_id,
            world.due_id,
        ]
        await pilot.press("escape")
        await settle(pilot)
        assert results == [None]
        assert not isinstance(app.screen, FollowUpListModal)


async def test_enter_marks_a_follow_up_done_with_a_note(world: World) -> None:
    app = world.app(world.op)
    results: list[int | None] = []
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        modal = await open_list(app, results)
        await until(pilot, lambda: modal.loaded)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FollowUpDoneModal))
        assert "Follow-up done" in modal_text(app) and "欧阳娜娜" in modal_text(app)
        assert "missed" in modal_text(app)
        # No note: refused, nothing saved.
        await pilot.press("enter")
        await settle(pilot)
        assert "needs a note" in modal_text(app)
        assert world.status(world.missed_id) is FollowUpStatus.MISSED
        note = app.screen.query_one("#fu-note", Input)
        note.value = "已电话回访，按计划还款"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is modal)
        await until(pilot, lambda: modal.loaded and len(modal.lines) == 1)
        assert world.status(world.missed_id) is FollowUpStatus.DONE
        assert [line.follow_up_id for line in modal.lines] == [world.due_id]


async def test_o_selects_the_case_and_supervisors_toggle_to_everyones(world: World) -> None:
    app = world.app(world.sup)
    results: list[int | None] = []
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        modal = await open_list(app, results)
        await until(pilot, lambda: modal.loaded)
        assert modal.lines == []
        assert "No follow-up due within a week" in list_text(app)
        await pilot.press("a")
        await until(pilot, lambda: modal.loaded and len(modal.lines) == 3)
        assert "everyone's" in list_text(app)
        # 李四's first: 03-04 (effective 02-04 + 1 month) sorts after the missed one.
        assert [line.case_id for line in modal.lines] == [world.mine, world.theirs, world.mine]
        table = app.screen.query_one(DataTable)
        assert table.has_focus
        await pilot.press("down", "o")
        await settle(pilot)
        assert results == [world.theirs]
