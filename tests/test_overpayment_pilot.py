"""Pilot tests: an overpayment is named and confirmed at the desk, and a supervisor
refunds the credit it leaves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.one_case_desk import OneCaseDesk, one_case_fields
from tests.pilot import modal_text, open_case, screen_text, until
from tui_desk.db.engine import Database
from tui_desk.db.models import CreditMove, CreditMoveKind, Payment
from tui_desk.screens.casework_modals import CreditModal, PaymentModal

pytestmark = pytest.mark.usefixtures("quick_debounce")


class World(OneCaseDesk):
    def payments(self) -> list[int]:
        with self.db.read() as s:
            return list(s.scalars(select(Payment.amount_minor)))


@pytest.fixture
def world(sqlite_db: Database) -> World:
    return World(*one_case_fields(sqlite_db))


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
