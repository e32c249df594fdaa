"""Pilot tests: a supervisor releases a hold from the desk (``x``) and from the board
(``h``); deciding a complaint that held its case asks whether the hold ends with it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from textual.pilot import Pilot

from tests.one_case_desk import NOW, OneCaseDesk, one_case_fields
from tests.pilot import modal_text, open_case, until
from tui_desk.db.engine import Database
from tui_desk.db.models import CaseHold, CollectionCase, HoldKind
from tui_desk.screens.casework_modals import HoldModal
from tui_desk.screens.complaint_modal import ComplaintListModal
from tui_desk.screens.confirm import ConfirmModal
from tui_desk.screens.hold_modal import HoldListModal
from tui_desk.screens.supervisor import SupervisorScreen
from tui_desk.services import casework, complaints
from tui_desk.widgets.choice import Choice

pytestmark = pytest.mark.usefixtures("quick_debounce")


class World(OneCaseDesk):
    def on_hold(self) -> bool:
        with self.db.read() as s:
            row = s.get(CollectionCase, self.case)
            assert row is not None
            return row.on_hold

    def holds_in_force(self) -> list[HoldKind]:
        with self.db.read() as s:
            return list(
                s.scalars(
                    select(CaseHold.kind).where(
                        CaseHold.case_id == self.case, CaseHold.released_at.is_(None)
                    )
                )
            )


@pytest.fixture
def world(sqlite_db: Database) -> World:
    return World(*one_case_fields(sqlite_db))


async def _wait(pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 5) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


async def test_an_operators_x_only_sets_a_hold(world: World) -> None:
    casework.set_hold(world.ctx(world.op), world.case, HoldKind.DISPUTE, "fee disputed")
    app = world.app(world.op)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_case(pilot, world.case)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, HoldModal))
        text = modal_text(app)
        assert "Set a hold" in text and "Release" not in text
        await pilot.press("escape")


async def test_a_supervisor_releases_a_hold_from_the_desk(world: World) -> None:
    casework.set_hold(world.ctx(world.op), world.case, HoldKind.DISPUTE, "fee disputed")
    app = world.app(world.sup)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_case(pilot, world.case)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, HoldModal))
        assert "Release or set a hold" in modal_text(app)
        modal = app.screen
        assert isinstance(modal, HoldModal)
        assert modal.query_one("#hold-action", Choice).label_text == "Release: dispute"
        assert not modal.query_one("#hold-until").parent.display  # type: ignore[union-attr]
        # The kind and end date step aside for a release: Enter goes to the reason.
        await pilot.press("enter", "enter")
        await until(pilot, lambda: "releasing a hold needs a reason" in modal_text(app))
        await pilot.press(*"fee waived", "enter")
        await until(pilot, lambda: not isinstance(app.screen, HoldModal))
    assert not world.on_hold() and world.holds_in_force() == []


async def test_a_supervisor_sets_a_hold_with_an_end_date(world: World) -> None:
    casework.set_hold(world.ctx(world.op), world.case, HoldKind.DISPUTE, "fee disputed")
    app = world.app(world.sup)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_case(pilot, world.case)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, HoldModal))
        modal = app.screen
        assert isinstance(modal, HoldModal)
        await pilot.press("right")  # "Set another hold": the kind and end date come back
        await pilot.press("enter", "right", "enter", *"+7", "enter", *"court date", "enter")
        await until(pilot, lambda: not isinstance(app.screen, HoldModal))
    assert sorted(world.holds_in_force()) == sorted([HoldKind.DISPUTE, HoldKind.LITIGATION])
    with world.db.read() as s:
        ends = s.scalar(select(CaseHold.ends_at).where(CaseHold.kind == HoldKind.LITIGATION))
    assert ends is not None and ends > NOW + dt.timedelta(days=7)


async def test_resolving_a_complaint_that_held_the_case_offers_release(world: World) -> None:
    complaints.record_complaint(
        world.ctx(world.op), world.case, description="催收员言语不当", hold=True
    )
    app = world.app(world.sup)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ComplaintListModal))
        modal = app.screen
        assert isinstance(modal, ComplaintListModal)
        await until(pilot, lambda: len(modal.lines) == 1)
        assert "It holds case #1" in modal_text(app)
        modal.query_one("#cl-resolution").focus()
        await pilot.press(*"apologised", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        assert "Release the hold with it?" in modal_text(app)
        await pilot.press("y")
        await until(pilot, lambda: modal.lines == [] and app.screen is modal)
        await until(pilot, lambda: "Hold released" in modal_text(app))
    assert not world.on_hold() and world.holds_in_force() == []


async def test_a_complaint_decided_without_release_keeps_the_hold(world: World) -> None:
    complaints.record_complaint(world.ctx(world.op), world.case, description="rude", hold=True)
    app = world.app(world.sup)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ComplaintListModal))
        modal = app.screen
        assert isinstance(modal, ComplaintListModal)
        await until(pilot, lambda: len(modal.lines) == 1)
        modal.query_one("#cl-resolution").focus()
        await pilot.press(*"no basis", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("n")
        await until(pilot, lambda: modal.lines == [] and app.screen is modal)
    assert world.on_hold() and world.holds_in_force() == [HoldKind.COMPLAINT]


async def test_a_supervisor_releases_a_hold_from_the_board(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SupervisorScreen, "POLL_SECONDS", 0.02)
    casework.set_hold(world.ctx(world.op), world.case, HoldKind.CEASE_CONTACT, "by letter")
    app = world.app(world.sup)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f6")
        await _wait(pilot, lambda: isinstance(app.screen, SupervisorScreen))
        await pilot.press("h")
        await _wait(pilot, lambda: isinstance(app.screen, HoldListModal))
        modal = app.screen
        assert isinstance(modal, HoldListModal)
        await _wait(pilot, lambda: len(modal.lines) == 1)
        assert "by letter" in modal_text(app)
        await pilot.press("ctrl+s")
        await _wait(pilot, lambda: "needs a reason" in modal_text(app))
        await pilot.press(*"borrower asked to be called again", "ctrl+s")
        await _wait(pilot, lambda: modal.lines == [] and "Hold released" in modal_text(app))
        await pilot.press("escape")
        await _wait(pilot, lambda: isinstance(app.screen, SupervisorScreen))
    assert not world.on_hold()
