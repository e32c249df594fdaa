"""Pilot tests: an overpayment is named and confirmed at the desk, and a supervisor
refunds the credit it leaves."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from tests.factories import Factory
from tests.pilot import modal_text, open_case, screen_text, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import Borrower, CreditMove, CreditMoveKind, Payment, Role
from tui_desk.screens.casework_modals import CreditModal, PaymentModal
from tui_desk.services.context import Actor
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

    def payments(self) -> list[int]:
        with self.db.read() as s:
            return list(s.scalars(select(Payment.amount_minor)))


@pytest.fixture
def world(sqlite_db: Database) -> World:
    make = Factory(sqlite_db, now=NOW)
    op = make.agent(login="op")
    sup = make.agent(login="sup", role=Role.SUPERVISOR)
    case = make.case(name="欧阳娜娜")  # owes ¥12,345.67
    with sqlite_db.write() as s:
        for b in s.scalars(select(Borrower)):
            index_borrower(s, b)
    return World(
        sqlite_db,
        Actor(id=op, login="op", name="op", role=Role.OPERATOR),
        Actor(id=sup, login="sup", name="sup", role=Role.SUPERVISOR),
        case,
    )


async def test_an_overpayment_is_named_then_confirmed_and_kept_as_credit(world: World) -> None:
    app = world.app(world.op)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_case(pilot, world.case)
        await pilot.press("dollar_sign")
        await until(pilot, lambda: isinstance(app.screen, PaymentModal))
        await pilot.press(*"20000", "enter", "enter", "enter", "enter")
        await until(pilot, lambda: "owes ¥12,345.67" in modal_text(app))
        assert "¥7,654.33 more" in modal_text(app)
        assert "Save again" in modal_text(app)
        assert world.payments() == []  # nothing saved before it is confirmed
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, PaymentModal))
        await until(pilot, lambda: "Credit ¥7,654.33" in screen_text(app))
        assert "Outstanding ¥0.00" in screen_text(app)
        # An operator is told at once that a credit is the supervisors' business.
        await pilot.press("G")
        await pilot.pause()
        assert not isinstance(app.screen, CreditModal)
    assert world.payments() == [2_000_000]

    app = world.app(world.sup)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_case(pilot, world.case)
        await pilot.press("G")
        await until(pilot, lambda: isinstance(app.screen, CreditModal))
        assert "Credit ¥7,654.33" in modal_text(app)
        await pilot.press("enter", "enter", "enter")
        await until(pilot, lambda: "reason" in modal_text(app))
        await pilot.press(*"returned by transfer", "enter")
        await until(pilot, lambda: not isinstance(app.screen, CreditModal))
    with world.db.read() as s:
        moves = s.execute(select(CreditMove.kind, CreditMove.amount_minor)).all()
    assert [tuple(m) for m in moves] == [(CreditMoveKind.REFUND, 765_433)]
