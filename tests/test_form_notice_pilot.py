"""A notification that arrives while a form is open is shown on the form's notice line,
never as a toast over its fields; once the form closes, the desk's toast still says it."""

from __future__ import annotations

import pytest
from textual.widgets import Static
from textual.widgets._toast import Toast

from tests.pilot import settle, until
from tests.test_form_errors_pilot import World, make_world
from tests.test_form_escape_pilot import open_form
from tui_desk.db.engine import Database
from tui_desk.screens.casework_modals import PaymentModal
from tui_desk.screens.desk import DeskScreen
from tui_desk.screens.form import NOTICE_ID

pytestmark = pytest.mark.usefixtures("quick_debounce")


@pytest.fixture
def world(sqlite_db: Database) -> World:
    return make_world(sqlite_db)


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
async def test_a_notice_while_a_form_is_open_covers_none_of_its_fields(
    world: World, size: tuple[int, int]
) -> None:
    app = world.app()
    async with app.run_test(size=size, notifications=True) as pilot:
        form = PaymentModal(app.service, app.service.case(world.case))
        await open_form(pilot, app, form)
        line = form.query_one(f"#{NOTICE_ID}", Static)
        assert not line.display
        app.notify("Your override request for case 7 was approved", title="Supervisor")
        await settle(pilot)
        assert line.display
        assert "override request for case 7 was approved" in str(line.render())
        assert "Supervisor" in str(line.render())
        # The toast is there (the desk shows it later) but drawn nowhere over the form.
        toasts = list(form.query(Toast))
        assert toasts
        assert all(t.styles.visibility == "hidden" for t in toasts)
        # An error keeps its severity; a later notice replaces the line.
        app.notify("The database is busy, try again", severity="error")
        await settle(pilot)
        assert "busy" in str(line.render())
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DeskScreen))
        await settle(pilot)
        desk_toasts = list(app.screen.query(Toast))
        assert any("busy" in str(t.render()) for t in desk_toasts)
        assert all(t.styles.visibility != "hidden" for t in desk_toasts)


async def test_the_notice_line_clears_itself(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        form = PaymentModal(app.service, app.service.case(world.case))
        await open_form(pilot, app, form)
        app.notify("short", timeout=0.2)
        await settle(pilot)
        line = form.query_one(f"#{NOTICE_ID}", Static)
        assert line.display
        await until(pilot, lambda: not line.display)
