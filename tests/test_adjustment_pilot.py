"""Pilot tests of the adjustment forms: an operator asks for an adjustment with a live
before/after and it awaits approval; a supervisor approves it with ``y`` (80x24).

Opened the way the desk opens its case forms: ``AdjustmentModal(service, bundle)`` and
``AdjustmentDecisionModal(service, bundle)``. Time is frozen at 2026-03-02 14:00 Beijing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import Input

from tests.factories import Factory
from tests.pilot import desk_screen, modal_text, settle, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Adjustment,
    AgreementStatus,
    ApprovalStatus,
    Borrower,
    PlanStatus,
    RepaymentPlan,
    Role,
    Stage,
)
from tui_desk.rules.profile import load_profile
from tui_desk.screens.adjustment_modals import AdjustmentDecisionModal, AdjustmentModal
from tui_desk.services import plans
from tui_desk.services.context import Actor, Context
from tui_desk.services.search_index import index_borrower
from tui_desk.views.case import CaseBundle

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)
NARROW = (80, 24)
CN = load_profile("cn")


@dataclass
class World:
    db: Database
    op: Actor
    sup: Actor
    case: int

    def app(self, actor: Actor) -> DeskApp:
        return DeskApp(
            db=self.db,
            actor=actor,
            settings=Settings(database_url=str(self.db.url)),
            clock=lambda: NOW,
        )

    def adjustments(self) -> list[tuple[ApprovalStatus, str]]:
        with self.db.read() as s:
            return [
                (row.status, row.kinds)
                for row in s.scalars(select(Adjustment).order_by(Adjustment.id))
            ]

    def plan_states(self) -> list[tuple[PlanStatus, int]]:
        with self.db.read() as s:
            return [
                (p.status, p.instalments)
                for p in s.scalars(select(RepaymentPlan).order_by(RepaymentPlan.id))
            ]


pytestmark = pytest.mark.usefixtures("quick_debounce")


@pytest.fixture
def world(sqlite_db: Database) -> World:
    make = Factory(sqlite_db, now=NOW)
    op = make.agent(login="op", name="王小明")
    sup = make.agent(login="sup", name="周主管", role=Role.SUPERVISOR)
    case = make.case(borrower_id=make.borrower(name="张三"), stage=Stage.VISITED, priority=900)
    operator = Actor(id=op, login="op", name="王小明", role=Role.OPERATOR)
    basis = plans.plan_basis(sqlite_db, case, now=NOW, profile=CN)
    request = basis.request(waiver=basis.overdue_charges, first_due=dt.date(2026, 4, 2))
    plan_id = plans.create_plan(Context.frozen(sqlite_db, operator, NOW, CN), case, request)
    make.agreement(
        case, created_by_id=op, plan_id=plan_id, status=AgreementStatus.SIGNED, signed=True
    )
    with sqlite_db.write() as s:
        plan = s.get(RepaymentPlan, plan_id)
        assert plan is not None
        plans.activate_plan(s, plan, NOW, profile=CN)
        for borrower in s.scalars(select(Borrower)):
            index_borrower(s, borrower)
    return World(
        sqlite_db, operator, Actor(id=sup, login="sup", name="周主管", role=Role.SUPERVISOR), case
    )


async def select_case(pilot: Pilot[None], case_id: int) -> CaseBundle:
    app = pilot.app
    await settle(pilot)
    await pilot.press("slash", *f"#{case_id}", "enter")
    await settle(pilot)
    desk = desk_screen(app)
    await until(pilot, lambda: desk.bundle is not None and desk.bundle.case_id == case_id)
    assert desk.bundle is not None
    return desk.bundle


async def test_operator_requests_and_supervisor_approves(world: World) -> None:
    app = world.app(world.op)
    results: list[str | None] = []
    async with app.run_test(size=NARROW) as pilot:
        bundle = await select_case(pilot, world.case)
        modal = AdjustmentModal(desk_screen(app).service, bundle)
        app.push_screen(modal, results.append)
        await until(pilot, lambda: modal.basis is not None)
        assert "Left ¥10,000.00 in 12 monthly instalments from 2026-04-02" in modal_text(app)
        extend = modal.query_one("#adj-extend", Input)
        modal.set_focus(extend)
        extend.value = ""
        await pilot.press("1", "2")
        await pilot.pause()
        text = modal_text(app)
        assert "¥888.49" in text and "¥470.73" in text and "2028-03-02" in text
        modal.set_focus(modal.query_one("#adj-reason", Input))
        await pilot.press(*"lost job", "enter")
        await until(pilot, lambda: not isinstance(app.screen, AdjustmentModal))
    assert results and results[0] is not None and "awaiting supervisor approval" in results[0]
    assert world.adjustments() == [(ApprovalStatus.REQUESTED, "extend_term")]
    assert world.plan_states() == [(PlanStatus.ACTIVE, 12)]

    app = world.app(world.sup)
    decided: list[str | None] = []
    async with app.run_test(size=NARROW) as pilot:
        bundle = await select_case(pilot, world.case)
        decision = AdjustmentDecisionModal(desk_screen(app).service, bundle)
        app.push_screen(decision, decided.append)
        await until(pilot, lambda: decision.loaded)
        text = modal_text(app)
        assert "extend the term, asked by 王小明" in text and "lost job" in text
        assert "¥470.73" in text
        await pilot.press("y")
        await until(pilot, lambda: not isinstance(app.screen, AdjustmentDecisionModal))
    assert decided and decided[0] is not None and "approved" in decided[0]
    assert world.adjustments() == [(ApprovalStatus.APPROVED, "extend_term")]
    assert world.plan_states() == [(PlanStatus.SUPERSEDED, 12), (PlanStatus.ACTIVE, 24)]


async def test_reject_needs_a_note(world: World) -> None:
    from tui_desk.rules.adjustments import Changes
    from tui_desk.services import adjustments

    adjustments.request_adjustment(
        Context.frozen(world.db, world.op, NOW, CN), world.case, Changes(extend_by=6), "hardship"
    )
    app = world.app(world.sup)
    async with app.run_test(size=NARROW) as pilot:
        bundle = await select_case(pilot, world.case)
        decision = AdjustmentDecisionModal(desk_screen(app).service, bundle)
        app.push_screen(decision)
        await until(pilot, lambda: decision.loaded)
        await pilot.press("n")
        await pilot.pause()
        assert "type why it is rejected" in modal_text(app)
        await pilot.press(*"no proof", "enter")
        await until(pilot, lambda: not isinstance(app.screen, AdjustmentDecisionModal))
    assert world.adjustments() == [(ApprovalStatus.REJECTED, "extend_term")]
    assert world.plan_states() == [(PlanStatus.ACTIVE, 12)]


@pytest.mark.parametrize("stored_terms", [True, False], ids=["as-requested", "filed-bare"])
async def test_the_boards_decision_shows_the_terms(
    world: World, monkeypatch: pytest.MonkeyPatch, stored_terms: bool
) -> None:
    """Enter on a pending adjustment among the board's deadlines opens the desk's own
    decision, with the terms asked for and their before and after; a request filed with
    its changes alone (an import, the demo seed) gets them from the plan as it stands."""
    from tui_desk.rules.adjustments import Changes
    from tui_desk.screens.supervisor import SupervisorScreen
    from tui_desk.services import adjustments
    from tui_desk.services import board as board_service
    from tui_desk.widgets.board import KeyedTable

    monkeypatch.setattr(SupervisorScreen, "POLL_SECONDS", 0.02)
    adjustments.request_adjustment(
        Context.frozen(world.db, world.op, NOW, CN), world.case, Changes(extend_by=12), "hardship"
    )
    if not stored_terms:
        with world.db.write() as s:
            row = s.scalars(select(Adjustment)).one()
            row.details = {"changes": Changes(extend_by=12).as_dict()}
    board_service.refresh_snapshot(world.db, NOW, CN)
    app = world.app(world.sup)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen))
        board = app.screen
        assert isinstance(board, SupervisorScreen)
        await pilot.press("f5")
        risks = board.query_one("#risks", KeyedTable)
        for _ in range(250):
            if any(k.startswith("adjustment_pending:") for k in risks.keys):
                break
            await pilot.pause(0.02)
        key = next(k for k in risks.keys if k.startswith("adjustment_pending:"))
        risks.move_cursor(row=risks.keys.index(key))
        await pilot.pause()
        await pilot.press("enter")
        for _ in range(250):
            screen = app.screen
            if isinstance(screen, AdjustmentDecisionModal) and screen.loaded:
                break
            await pilot.pause(0.02)
        decision = app.screen
        assert isinstance(decision, AdjustmentDecisionModal) and decision.loaded
        text = modal_text(app)
        assert "Terms: 12 more instalments" in text
        # Before and after: ¥888.49 a month over 12, ¥470.73 over 24 (as the desk's Y).
        assert "¥888.49" in text and "¥470.73" in text and "2028-03-02" in text
