"""Pilot tests of the plan form: the live preview, the comparison, saving, and the refusal
of an instalment above the borrower's means (a supervisor approves it with a reason).

Time is frozen through the desk's clock: Monday 2026-03-02, 14:00 in Beijing. The form
is opened the way the desk opens its case forms: ``PlanModal(service, bundle)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.factories import Factory
from tests.pilot import desk_screen, modal_text, settle, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Borrower,
    PlanInstalment,
    PlanStatus,
    RepaymentPlan,
    Role,
    Stage,
    VisitOutcome,
    VisitReport,
)
from tui_desk.screens.plan_modals import PlanModal
from tui_desk.services.context import Actor
from tui_desk.services.search_index import index_borrower
from tui_desk.widgets.choice import Choice

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)
NARROW = (80, 24)
WIDE = (160, 50)


@dataclass
class World:
    db: Database
    op: Actor
    sup: Actor
    free: int  # no visit report: affordability unknown
    tight: int  # the visit report found 800.00 a month affordable

    def app(self, actor: Actor | None = None) -> DeskApp:
        return DeskApp(
            db=self.db,
            actor=actor or self.op,
            settings=Settings(database_url=str(self.db.url)),
            clock=lambda: NOW,
        )

    def plans_of(self, case_id: int) -> list[tuple[RepaymentPlan, list[int]]]:
        with self.db.read() as s:
            plans = list(
                s.scalars(
                    select(RepaymentPlan)
                    .where(RepaymentPlan.case_id == case_id)
                    .order_by(RepaymentPlan.id)
                )
            )
            out = [
                (
                    plan,
                    list(
                        s.scalars(
                            select(PlanInstalment.amount_minor)
                            .where(PlanInstalment.plan_id == plan.id)
                            .order_by(PlanInstalment.seq)
                        )
                    ),
                )
                for plan in plans
            ]
            s.expunge_all()
            return out


pytestmark = pytest.mark.usefixtures("quick_debounce")


@pytest.fixture
def world(sqlite_db: Database) -> World:
    make = Factory(sqlite_db, now=NOW)
    op = make.agent(login="op", name="王小明")
    sup = make.agent(login="sup", name="周主管", role=Role.SUPERVISOR)
    collector = make.collector(login="col", name="李外勤")
    free = make.case(borrower_id=make.borrower(name="欧阳娜娜"), stage=Stage.VISITED, priority=900)
    tight = make.case(borrower_id=make.borrower(name="张三"), stage=Stage.VISITED, priority=800)
    appointment = make.appointment(tight, collector_id=collector, booked_by_id=op, starts_at=NOW)
    with sqlite_db.write() as s:
        s.add(
            VisitReport(
                appointment_id=appointment, case_id=tight, collector_id=collector,
                work_id_shown=True, name_checked=True, contact_checked=True,
                address_checked=True, documents_ok=True, affordable_monthly_minor=80_000,
                collected_minor=0, outcome=VisitOutcome.PLAN_DISCUSSED, created_at=NOW,
            )
        )  # fmt: skip
        for borrower in s.scalars(select(Borrower)):
            index_borrower(s, borrower)
    return World(
        sqlite_db,
        Actor(id=op, login="op", name="王小明", role=Role.OPERATOR),
        Actor(id=sup, login="sup", name="周主管", role=Role.SUPERVISOR),
        free,
        tight,
    )


async def open_plan(pilot: Pilot[None], case_id: int) -> PlanModal:
    """Select the case on the desk and open the form as the desk's key will."""
    app = pilot.app
    await settle(pilot)
    await pilot.press("slash", *f"#{case_id}", "enter")
    await settle(pilot)
    desk = desk_screen(app)
    await until(pilot, lambda: desk.bundle is not None and desk.bundle.case_id == case_id)
    assert desk.bundle is not None
    modal = PlanModal(desk.service, desk.bundle)
    app.push_screen(modal)
    await until(pilot, lambda: modal.basis is not None)
    return modal


async def type_into(pilot: Pilot[None], modal: PlanModal, field: str, text: str) -> None:
    widget = modal.query_one(f"#{field}", Input)
    modal.set_focus(widget)
    widget.value = ""
    await pilot.pause()
    await pilot.press(*text)
    await pilot.pause()


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_draft_with_a_live_preview_and_save(world: World, size: tuple[int, int]) -> None:
    app = world.app()
    async with app.run_test(size=size) as pilot:
        modal = await open_plan(pilot, world.free)
        text = modal_text(app)
        assert "Principal ¥10,000.00, overdue charges ¥2,345.67, rate 12 %" in text
        assert "affordable a month not assessed" in text
        # Waive the overdue charges: the worked example, 888.49 x 11 + 888.47.
        await type_into(pilot, modal, "plan-waiver", "2345.67")
        text = modal_text(app)
        assert "11 x ¥888.49 + ¥888.47 monthly" in text
        assert "total ¥10,661.86, interest ¥661.86" in text
        assert "2026-04-02" in text and "2027-03-02" in text
        # The preview follows the instalments as they are typed.
        await type_into(pilot, modal, "plan-count", "24")
        assert "23 x ¥470.73 + ¥470.86 monthly" in modal_text(app)
        # Enter from the last field saves.
        modal.set_focus(modal.query_one("#plan-grace-mode", Choice))
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, PlanModal))
        [(plan, amounts)] = world.plans_of(world.free)
        assert plan.status is PlanStatus.DRAFT and plan.instalments == 24
        assert amounts[:2] == [47_073, 47_073] and len(amounts) == 24
        assert plan.waiver_minor == 234_567


async def test_compare_pins_a_and_shows_the_draft_beside_it(world: World) -> None:
    app = world.app()
    async with app.run_test(size=NARROW) as pilot:
        modal = await open_plan(pilot, world.free)
        await type_into(pilot, modal, "plan-waiver", "2345.67")
        await pilot.press("ctrl+k")  # pinned while an Input has the focus
        await pilot.pause()
        assert modal.pinned is not None and modal.pinned.instalment_minor == 88_849
        await type_into(pilot, modal, "plan-count", "6")
        modal.set_focus(modal.query_one("#plan-kind", Choice))
        await pilot.press("right")  # equal principal
        await pilot.pause()
        summary = str(modal.query_one("#plan-summary", Static).content)
        assert "A" in summary and "draft" in summary
        assert "¥888.49" in summary  # A's instalment
        assert "¥1,766.67" in summary  # the draft's first equal-principal instalment
        assert "12" in summary and "6" in summary
        await pilot.press("f6")  # pin again: the draft becomes A
        await pilot.pause()
        assert modal.pinned.count == 6
        assert world.plans_of(world.free) == []


async def test_bad_input_is_shown_inline_and_kept(world: World) -> None:
    app = world.app()
    async with app.run_test(size=NARROW) as pilot:
        modal = await open_plan(pilot, world.free)
        await type_into(pilot, modal, "plan-count", "0")
        assert "No preview: the number of instalments must be from 1 to 60" in modal_text(app)
        await type_into(pilot, modal, "plan-count", "12")
        await type_into(pilot, modal, "plan-waiver", "99999")
        assert "is more than the overdue interest" in modal_text(app)
        modal.set_focus(modal.query_one("#plan-grace-mode", Choice))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PlanModal)
        assert "is more than the overdue interest" in str(
            modal.query_one("#form-error", Static).content
        )
        assert modal.value("plan-waiver") == "99999"
        assert world.plans_of(world.free) == []


async def test_above_means_is_refused_for_an_operator(world: World) -> None:
    app = world.app()
    async with app.run_test(size=NARROW) as pilot:
        modal = await open_plan(pilot, world.tight)
        await type_into(pilot, modal, "plan-waiver", "2345.67")
        text = modal_text(app)
        assert "affordable ¥800.00" in text
        assert "Above means: the largest instalment, 888.49 a month" in text
        assert "only a supervisor may approve it" in text
        assert not modal.query("#plan-reason")
        modal.set_focus(modal.query_one("#plan-grace-mode", Choice))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PlanModal)
        error = str(modal.query_one("#form-error", Static).content)
        assert "more than the borrower can afford" in error
        assert world.plans_of(world.tight) == []
        # Within means it saves: 24 months is 470.73 a month.
        await type_into(pilot, modal, "plan-count", "24")
        assert "Above means" not in modal_text(app)
        modal.set_focus(modal.query_one("#plan-grace-mode", Choice))
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, PlanModal))
        [(plan, _amounts)] = world.plans_of(world.tight)
        assert plan.approved_by_id is None


async def test_a_supervisor_approves_above_means_with_a_reason(world: World) -> None:
    app = world.app(world.sup)
    async with app.run_test(size=WIDE) as pilot:
        modal = await open_plan(pilot, world.tight)
        reason = modal.query_one("#plan-reason", Input)
        assert reason.parent is not None
        await type_into(pilot, modal, "plan-waiver", "2345.67")
        await type_into(pilot, modal, "plan-count", "24")
        assert not reason.parent.display  # within means: no approval needed
        await type_into(pilot, modal, "plan-count", "12")
        assert reason.parent.display  # shown now that it is needed
        assert "give the approval reason to save it" in modal_text(app)
        modal.set_focus(reason)
        await pilot.press("enter")  # the last field, empty: refused inline
        await settle(pilot)
        assert isinstance(app.screen, PlanModal)
        assert "give the reason you approve it" in str(
            modal.query_one("#form-error", Static).content
        )
        await type_into(pilot, modal, "plan-reason", "bonus in April")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, PlanModal))
        [(plan, amounts)] = world.plans_of(world.tight)
        assert plan.approved_by_id == world.sup.id
        assert amounts == [88_849] * 11 + [88_847]
