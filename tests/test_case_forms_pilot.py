"""Pilot tests: a complaint recorded and held, a paid case archived and restored."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.one_case_desk import NOW, OneCaseDesk, one_case_fields
from tests.pilot import modal_text, open_case, until
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    CaseStatus,
    Complaint,
    LoanAccount,
)
from tui_desk.rules.profile import load_profile
from tui_desk.screens.casework_modals import ArchiveModal, ComplaintModal
from tui_desk.services.context import Context

pytestmark = pytest.mark.usefixtures("quick_debounce")


class World(OneCaseDesk):
    pass


@pytest.fixture
def world(sqlite_db: Database) -> World:
    return World(*one_case_fields(sqlite_db, collector=True))


async def test_a_complaint_is_recorded_and_holds_the_case(world: World) -> None:
    app = world.app(world.op)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_case(pilot, world.case)
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ComplaintModal))
        await pilot.press("enter", "enter", "enter", "enter")
        await until(pilot, lambda: "describe the complaint" in modal_text(app))
        await pilot.press(*"rude", "enter", "enter", *"col", "enter", "enter")
        await until(pilot, lambda: not isinstance(app.screen, ComplaintModal))
    with world.db.read() as s:
        complaint = s.scalars(select(Complaint)).one()
        assert complaint.description == "rude" and complaint.against_agent_id is not None
    assert world.case_row().on_hold


async def test_a_paid_case_is_archived_then_restored_by_a_supervisor(world: World) -> None:
    with world.db.write() as s:
        s.execute(
            update(LoanAccount).values(
                outstanding_principal_minor=0,
                outstanding_interest_minor=0,
                outstanding_penalty_minor=0,
                outstanding_fees_minor=0,
            )
        )
    app = world.app(world.op)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_case(pilot, world.case)
        await pilot.press("Z")
        await until(pilot, lambda: isinstance(app.screen, ArchiveModal))
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, ArchiveModal))
    assert world.case_row().status is CaseStatus.CLOSED
    app = world.app(world.sup)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_case(pilot, world.case)  # an archived case is still found
        await pilot.press("Z")
        await until(pilot, lambda: isinstance(app.screen, ArchiveModal))
        await pilot.press("enter")
        await until(pilot, lambda: "needs a reason" in modal_text(app))
        await pilot.press(*"payment reversed", "enter")
        await until(pilot, lambda: not isinstance(app.screen, ArchiveModal))
    assert world.case_row().status is CaseStatus.OPEN


async def test_a_supervisor_works_the_complaint_list(world: World) -> None:
    from tui_desk.db.models import ComplaintStatus
    from tui_desk.screens.complaint_modal import ComplaintListModal
    from tui_desk.services import complaints

    complaint_id = complaints.record_complaint(
        Context.frozen(world.db, world.op, NOW, load_profile()),
        world.case,
        description="催收员言语不当",
        against_login="col",
    )
    app = world.app(world.op)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("K")  # operators are told it is the supervisors' list
        await pilot.pause()
        assert not isinstance(app.screen, ComplaintListModal)
    app = world.app(world.sup)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ComplaintListModal))
        modal = app.screen
        assert isinstance(modal, ComplaintListModal)
        await until(pilot, lambda: len(modal.lines) == 1)
        assert "催收员言语不当" in modal_text(app)
        await pilot.press("i")
        await until(pilot, lambda: modal.lines[0].status is ComplaintStatus.INVESTIGATING)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "write down how it was resolved" in modal_text(app))
        await pilot.press(*"apologised, retrained", "ctrl+s")
        await until(pilot, lambda: modal.lines == [])
    [done] = complaints.complaint_list(world.db, open_only=False)
    assert done.complaint_id == complaint_id and done.status is ComplaintStatus.RESOLVED
    assert done.resolution == "apologised, retrained"


async def test_tab_in_the_complaint_list_keeps_the_resolution_typed(world: World) -> None:
    from tui_desk.screens.complaint_modal import ComplaintListModal
    from tui_desk.services import complaints

    complaints.record_complaint(
        Context.frozen(world.db, world.op, NOW, load_profile()),
        world.case,
        description="催收员言语不当",
        against_login="col",
    )
    app = world.app(world.sup)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ComplaintListModal))
        modal = app.screen
        assert isinstance(modal, ComplaintListModal)
        await until(pilot, lambda: len(modal.lines) == 1)
        await pilot.press("tab", "tab")  # from the list: the decision, then the resolution
        await pilot.press(*"apologised", "tab")
        assert modal.focused is modal.query_one("#cl-outcome")
        await pilot.press("tab", *" and retrained")
        assert modal.typed == "apologised and retrained"
        await pilot.press("escape")  # unsaved: the dialog stays, once
        assert modal.typed == "apologised and retrained"
        assert app.screen is modal
