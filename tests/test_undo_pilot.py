"""Undo the last outcome from the desk: `U`, then `y`, voids the operator's newest
contact on the case in hand; the line stays in the log, struck out and marked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.pilot import desk_screen, settle
from tests.test_case_in_hand_pilot import NARROW, WIDE, Desk, _seed, last_event, trail
from tui_desk.db.engine import Database
from tui_desk.db.models import ContactAttempt
from tui_desk.widgets.contact_log import ContactLogPanel

pytestmark = pytest.mark.usefixtures("quick_debounce")


@pytest.fixture
def desk(sqlite_db: Database) -> Desk:
    return _seed(sqlite_db)


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_undo_voids_the_newest_outcome_on_the_case_in_hand(
    desk: Desk, size: tuple[int, int]
) -> None:
    app = desk.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        start = last_event(desk.db)
        await pilot.press("n", "l", "1")
        await settle(pilot)
        await pilot.press("U")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        case_id = screen.in_hand.case_id
        log = app.query_one(ContactLogPanel)
        assert [c.voided for c in log.contacts] == [True]
        assert "(undone)" in str(log.table.get_row_at(0)[2])
        events = trail(desk.db, desk.actor.id, start)
    assert [c for a, c in events if a in ("contact.log", "contact.undo")] == [case_id, case_id]
    with desk.db.read() as s:
        [attempt] = s.scalars(select(ContactAttempt).where(ContactAttempt.case_id == case_id))
        assert attempt.voided_at is not None and attempt.voided_by_id == desk.actor.id


async def test_undo_with_nothing_logged_says_so_and_writes_nothing(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        start = last_event(desk.db)
        await pilot.press("U")
        await settle(pilot)
        assert any("no outcome" in str(n.message) for n in app._notifications)
        # No question is asked: a stray y afterwards changes nothing.
        await pilot.press("y")
        await settle(pilot)
    assert not [a for a, _ in trail(desk.db, desk.actor.id, start) if a == "contact.undo"]


async def test_a_second_undo_does_not_reach_an_older_outcome(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n", "l", "1")
        await settle(pilot)
        await pilot.press("l", "1")
        await settle(pilot)
        start = last_event(desk.db)
        for _ in range(2):
            await pilot.press("U")
            await settle(pilot)
            await pilot.press("y")
            await settle(pilot)
        log = app.query_one(ContactLogPanel)
        assert [c.voided for c in log.contacts] == [True, False]
    assert [a for a, _ in trail(desk.db, desk.actor.id, start) if a == "contact.undo"] == [
        "contact.undo"
    ]
