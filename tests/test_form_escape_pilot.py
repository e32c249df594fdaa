"""Leaving a form: Escape closes at once when nothing was typed and asks "Discard what
you typed?" when something was, the same in every form (the contact form too); quitting
asks as well. A form told the lease is lost refuses to save but keeps what was typed.
The inputs that once crashed the desk are refused in the form."""

from __future__ import annotations

from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import Input, Static

from tests.pilot import settle, until
from tests.test_form_errors_pilot import World, make_world
from tui_desk.app import DeskApp
from tui_desk.db.engine import Database
from tui_desk.screens.casework_modals import PaymentModal, PhoneModal
from tui_desk.screens.confirm import DiscardModal
from tui_desk.screens.contact_modal import ContactModal
from tui_desk.screens.desk import DeskScreen
from tui_desk.screens.form import FormModal
from tui_desk.screens.plan_modals import PlanModal
from tui_desk.screens.visit_modals import BookVisitModal
from tui_desk.services.casework import MAX_HOLDER_NAME
from tui_desk.services.desk import DeskService

pytestmark = pytest.mark.usefixtures("quick_debounce")


@pytest.fixture
def world(sqlite_db: Database) -> World:
    return make_world(sqlite_db)


def error_line(form: FormModal[Any]) -> str:
    return str(form.query_one(f"#{form.ERROR_ID}", Static).content)


async def open_form(pilot: Any, app: DeskApp, form: FormModal[Any]) -> None:
    await settle(pilot)
    await app.push_screen(form)
    await until(pilot, lambda: form.is_current)
    if isinstance(form, PlanModal):
        await until(pilot, lambda: form.basis is not None)
    if isinstance(form, BookVisitModal):
        await until(pilot, lambda: form.slots_loaded or form.blocked())
    await settle(pilot)


async def type_in(pilot: Any, form: Screen[Any], widget_id: str, text: str) -> None:
    form.set_focus(form.query_one(f"#{widget_id}"))
    await pilot.pause()
    await pilot.press("end", "ctrl+u", *text)


async def test_escape_on_an_untouched_form_closes_it_at_once(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        form = PaymentModal(app.service, app.service.case(world.case))
        await open_form(pilot, app, form)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DeskScreen)


async def test_escape_asks_before_dropping_a_changed_plan(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        form = PlanModal(app.service, app.service.case(world.case))
        await open_form(pilot, app, form)
        assert not form.dirty, "what the form filled in itself is not a change"
        await type_in(pilot, form, "plan-count", "24")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DiscardModal)
        await pilot.press("n")  # keep editing
        await settle(pilot)
        assert form.is_current
        assert form.value("plan-count") == "24"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("enter")  # Enter keeps editing too: only "y" discards
        await settle(pilot)
        assert form.is_current
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, DeskScreen)


async def test_escape_in_a_contact_field_asks_like_every_form(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        form = ContactModal(app.service, app.service.case(world.case))
        await open_form(pilot, app, form)
        await type_in(pilot, form, "contact-note-input", "busy")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DiscardModal)
        await pilot.press("escape")  # no: back to the form, the note kept
        await settle(pilot)
        assert form.is_current
        assert form.query_one("#contact-note-input", Input).value == "busy"


async def test_a_changed_channel_clears_the_old_refusal(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        form = ContactModal(app.service, app.service.case(world.case))
        await open_form(pilot, app, form)
        form.set_focus(form.query_one("#contact-outcomes"))
        form.error("Not saved: quiet_hours")
        await pilot.press("c")
        await settle(pilot)
        assert "quiet_hours" not in error_line(form)
        form.error("Not saved: quiet_hours")
        await pilot.press("i")  # inbound
        await settle(pilot)
        assert "quiet_hours" not in error_line(form)


async def test_a_lost_lease_refuses_the_save_and_keeps_the_text(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(DeskService, "record_payment", lambda *a, **k: calls.append(a))
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        form = PaymentModal(app.service, app.service.case(world.case))
        await open_form(pilot, app, form)
        await type_in(pilot, form, "pay-amount", "1200")
        await type_in(pilot, form, "pay-reference", "R1")
        form.lease_lost("The case was taken over: copy what you typed")
        await pilot.press("enter")
        await settle(pilot)
        assert calls == []
        assert form.is_current and not form.saving
        assert "taken over" in error_line(form)
        assert form.value("pay-amount") == "1200"
        assert form.value("pay-reference") == "R1"
        await pilot.press("escape")  # nothing can be saved: no question
        await settle(pilot)
        assert isinstance(app.screen, DeskScreen)


async def test_quitting_with_a_changed_form_asks_first(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        form = PaymentModal(app.service, app.service.case(world.case))
        await open_form(pilot, app, form)
        await type_in(pilot, form, "pay-amount", "1200")
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, DiscardModal)
        await pilot.press("n")
        await settle(pilot)
        assert app.is_running and form.is_current
        assert form.value("pay-amount") == "1200"
        await pilot.press("ctrl+q")
        await settle(pilot)
        await pilot.press("y")
        await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize(
    ("make", "field", "text"),
    [
        (BookVisitModal, "visit-slot", "0001-01-01 00:00"),
        (BookVisitModal, "visit-slot", "9999-12-31 23:59"),
        (PlanModal, "plan-rate", "1e30"),
        (PlanModal, "plan-count", "²"),
        (PlanModal, "plan-count", "１２"),
        (PaymentModal, "pay-amount", "NaN"),
    ],
)
async def test_the_inputs_that_crashed_the_desk_are_refused_in_the_form(
    world: World, monkeypatch: pytest.MonkeyPatch, make: type[Any], field: str, text: str
) -> None:
    calls: list[object] = []
    for method in ("book_visit", "create_plan", "record_payment"):
        monkeypatch.setattr(DeskService, method, lambda *a, **k: calls.append(a))
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        form: Any = make(app.service, app.service.case(world.case))
        await open_form(pilot, app, form)
        if isinstance(form, BookVisitModal):
            await type_in(pilot, form, "visit-collector", "col")
        await type_in(pilot, form, field, text)
        form.save()
        await settle(pilot)
        assert app.is_running
        if text == "１２":  # full-width digits read as 12: the plan is sent
            assert len(calls) == 1
            return
        assert form.is_current
        assert form.value(field) == text
        assert calls == []
        assert error_line(form), "the refusal is shown in the form"


async def test_a_text_is_refused_past_what_the_service_keeps(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(DeskService, "add_phone", lambda *a, **k: calls.append(a))
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        form = PhoneModal(app.service, app.service.case(world.case))
        await open_form(pilot, app, form)
        form.query_one("#phone-number", Input).value = "13912345678"
        form.query_one("#phone-holder", Input).value = "妻" * (MAX_HOLDER_NAME + 1)
        await settle(pilot)
        form.save()
        await settle(pilot)
        assert calls == []
        assert f"at most {MAX_HOLDER_NAME} characters" in error_line(form)
        assert form.focused is form.query_one("#phone-holder")
        form.query_one("#phone-holder", Input).value = "妻\x1b[2J"
        await settle(pilot)
        form.save()
        await settle(pilot)
        assert calls == []
        assert "control character U+001B" in error_line(form)
