"""The contact log shows what a contact strategy did by itself, by the strategy's name."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.pilot import open_case, screen_text, settle
from tests.test_case_in_hand_pilot import DAYTIME, NARROW, WIDE, Desk, _seed
from tui_desk.db.engine import Database
from tui_desk.db.models import PromiseStatus, PromiseToPay
from tui_desk.services.strategies import run_strategies
from tui_desk.widgets.contact_log import ContactLogPanel

pytestmark = pytest.mark.usefixtures("quick_debounce")


@pytest.fixture
def desk(sqlite_db: Database) -> Desk:
    desk = _seed(sqlite_db)
    with sqlite_db.write() as s:
        s.add(
            PromiseToPay(
                case_id=desk.cases[0],
                amount_minor=50_000,
                due_on=(DAYTIME - dt.timedelta(days=2)).date(),
                status=PromiseStatus.BROKEN,
                created_by_id=desk.actor.id,
                created_at=DAYTIME - dt.timedelta(days=6),
                resolved_at=DAYTIME - dt.timedelta(hours=2),
            )
        )
    run = run_strategies(sqlite_db, DAYTIME - dt.timedelta(minutes=30), profile="cn")
    assert run.done == 1
    return desk


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_the_contact_log_shows_an_automatic_callback_with_its_rule(
    desk: Desk, size: tuple[int, int]
) -> None:
    app = desk.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await open_case(pilot, desk.cases[0])
        await pilot.press("f3")
        await settle(pilot)
        log = app.query_one(ContactLogPanel)
        [line] = log.contacts
        assert (line.auto_rule, line.auto_action) == ("broken promise", "callback")
        table = log.table
        cells = {
            str(column.key.value): str(cell)
            for column, cell in zip(table.ordered_columns, table.get_row_at(0), strict=True)
        }
        # At 80 columns some columns are left out whole (the contact log's drop order).
        for key, value in {"channel": "automatic", "outcome": "callback", "agent": "auto"}.items():
            assert key in log.hidden_columns or cells[key] == value
        assert cells["note"].startswith("auto: broken")
        assert "outcome" in cells
        assert "auto: broken promise -> callback" in log.note_text
        assert "auto: broken promise -> callback" in screen_text(app)
