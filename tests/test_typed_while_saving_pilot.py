"""Keys typed while a form saves are not lost: they belong to what comes after the form,
and reach the desk, in order, once it closes; when the save is refused and the form stays
open, the desk says which keys were not applied."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.pilot import desk_screen, settle, until
from tests.test_case_in_hand_pilot import (
    NARROW,
    WIDE,
    Desk,
    _seed,
    check_hand,
    claims,
    last_event,
    trail,
)
from tui_desk.db.engine import Database
from tui_desk.screens.contact_modal import ContactModal
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import RuleRefused

pytestmark = pytest.mark.usefixtures("quick_debounce")


@pytest.fixture
def desk(sqlite_db: Database) -> Desk:
    return _seed(sqlite_db)


class Gate:
    """Holds ``DeskService.log_contact`` until opened: the form stays in its saving state."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, refuse: bool = False) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        original = DeskService.log_contact

        def held(service: DeskService, *args: Any, **kwargs: Any) -> Any:
            self.entered.set()
            self.release.wait(10)
            if refuse:
                raise RuleRefused("refused for the test")
            return original(service, *args, **kwargs)

        monkeypatch.setattr(DeskService, "log_contact", held)


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_next_typed_while_the_contact_saves_takes_the_next_case(
    desk: Desk, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch)
    app = desk.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        start = last_event(desk.db)
        await pilot.press("n")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        first = screen.in_hand.case_id
        await pilot.press("l", "1")
        await until(pilot, gate.entered.is_set)
        assert isinstance(app.screen, ContactModal) and app.screen.saving
        await pilot.press("n", "l", "2")  # typed live while the save is under way
        gate.release.set()
        await settle(pilot)
        assert screen.in_hand is not None and screen.in_hand.case_id != first
        second = screen.in_hand.case_id
        events = trail(desk.db, desk.actor.id, start)
    assert check_hand(events) == 2
    assert claims(events) == [first, second]
    assert [c for a, c in events if a == "contact.log"] == [first, second]


async def test_keys_typed_while_a_refused_save_ran_are_reported(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch, refuse=True)
    app = desk.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        first = screen.in_hand.case_id
        start = last_event(desk.db)
        await pilot.press("l", "1")
        await until(pilot, gate.entered.is_set)
        await pilot.press("n")
        gate.release.set()
        await settle(pilot)
        assert isinstance(app.screen, ContactModal)  # the form stays, with its choice
        assert any("not applied" in str(n.message) for n in app._notifications)
        assert screen.in_hand is not None and screen.in_hand.case_id == first
        events = trail(desk.db, desk.actor.id, start)
    assert not [a for a, _ in events if a in ("case.claim", "contact.log")]
