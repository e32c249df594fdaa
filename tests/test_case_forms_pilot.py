"""Pilot tests: a complaint recorded and held, a paid case archived and restored."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select, update

from tests.factories import Factory
from tests.pilot import modal_text, open_case, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Borrower,
    CaseStatus,
    CollectionCase,
    Complaint,
    LoanAccount,
    Role,
)
from tui_desk.rules.profile import load_profile
from tui_desk.screens.casework_modals import ArchiveModal, ComplaintModal
from tui_desk.services.context import Actor, Context
from tui_desk.services.search_index import index_borrower

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


pytestmark = pytest.mark.usefixtures("quick_debounce")


@dataclasses.dataclass
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

    def case_row(self) -> CollectionCase:
        with self.db.read() as s:
            row = s.get(CollectionCase, self.case)
            assert row is not None
            s.expunge(row)
            return row


@pytest.fixture
def world(sqlite_db: Database) -> World:
    make = Factory(sqlite_db, now=NOW)
    op = make.agent(login="op")
    sup = make.agent(login="sup", role=Role.SUPERVISOR)
    make.agent(login="col", role=Role.COLLECTOR)
    case = make.case(name="欧阳娜娜")
    with sqlite_db.write() as s:
        for b in s.scalars(select(Borrower)):
            index_borrower(s, b)
    return World(
        sqlite_db,
        Actor(id=op, login="op", name="op", role=Role.OPERATOR),
        Actor(id=sup, login="sup", name="sup", role=Role.SUPERVISOR),
        case,
    )


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
