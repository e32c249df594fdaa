"""Nothing stored is trusted on output: text written straight into the database (past
every input check) with terminal control characters reaches no terminal, day sheet or
report. The rows are written with the ORM, bypassing the services, as an old import,
a hand edit or another program would."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields

import pytest
from sqlalchemy import update

from tests import pilot as pilot_helpers
from tests.factories import Factory
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, Appointment, Borrower, Role, Stage
from tui_desk.exports.day_sheet import render_markdown
from tui_desk.exports.day_sheet import render_text as sheet_text
from tui_desk.formatting import safe_text, unsafe_chars
from tui_desk.rules.profile import load_profile
from tui_desk.services import visits
from tui_desk.services.context import Actor, Context
from tui_desk.services.desk import DeskService
from tui_desk.services.reports import REPORTS, render_text, run_report, to_csv

pytestmark = pytest.mark.usefixtures("quick_debounce")

CN = load_profile("cn")
NOW = dt.datetime(2026, 3, 10, 3, 0, tzinfo=dt.UTC)  # Tuesday 11:00 in Shanghai
TITLE = "\x1b]0;pwned\x07"  # would retitle the terminal
CLEAR = "\x1b[2J"  # would clear the screen
EVIL_NAME = f"张{TITLE}三"
EVIL_NOTE = f"答应{CLEAR}周五\x9b还款\x08"


def no_control(text: str) -> bool:
    return not unsafe_chars(text, multiline=True)


def test_the_sanitiser_keeps_lines_and_removes_the_rest() -> None:
    assert safe_text(f"a{TITLE}b\n\tc{CLEAR}\x00\r\x9b") == "a]0;pwnedb\n\tc[2J"
    assert safe_text("张三 #² ok") == "张三 #² ok"


def _world(db: Database) -> tuple[Factory, int, int, int]:
    make = Factory(db, now=NOW)
    operator = make.agent(login="op", name=f"王{CLEAR}小明")
    collector = make.collector(login="col", name=f"李{TITLE}芳")
    case_id = make.case(
        name="张三",
        owner_id=operator,
        stage=Stage.DOCUMENTS,
        registered=True,
        documents_complete=True,
    )
    make.contact(case_id, agent_id=operator, note="placeholder")
    return make, operator, collector, case_id


def _poison(db: Database, case_id: int) -> None:
    """Control characters written past the services, into names, notes and places."""
    from tui_desk.db.models import CollectionCase, ContactAttempt

    with db.write() as s:
        borrower_id = s.get(CollectionCase, case_id).borrower_id  # type: ignore[union-attr]
        s.execute(update(Borrower).where(Borrower.id == borrower_id).values(name=EVIL_NAME))
        s.execute(
            update(ContactAttempt).where(ContactAttempt.case_id == case_id).values(note=EVIL_NOTE)
        )
        s.execute(
            update(Appointment)
            .where(Appointment.case_id == case_id)
            .values(place=f"北京{CLEAR}朝阳区")
        )


def test_case_view_day_sheet_and_reports_carry_no_control_characters(db: Database) -> None:
    make, operator, collector, case_id = _world(db)
    with db.read() as s:
        boss = s.get(Agent, collector)
        assert boss is not None
        actor = Actor.of(boss)
    start = dt.datetime(2026, 3, 16, 10, 0, tzinfo=dt.UTC)  # Monday 18:00 Shanghai
    make.appointment(case_id, collector_id=collector, booked_by_id=operator, starts_at=start)
    _poison(db, case_id)

    desk = DeskService(db, Actor(operator, "op", "王小明", Role.OPERATOR), CN, clock=lambda: NOW)
    bundle = desk.case(case_id)
    assert bundle.detail.borrower_name == "张]0;pwned三"
    assert all(no_control(line.note or "") for line in bundle.contacts)
    assert any(line.note == "答应[2J周五还款" for line in bundle.contacts)
    page = desk.queue_page(desk.queue_filter())
    assert page.rows
    texts = [getattr(r, f.name) for r in page.rows for f in fields(r)]
    assert all(no_control(t) for t in texts if isinstance(t, str))

    ctx = Context.frozen(db, actor, NOW, CN)
    sheet = visits.day_sheet(ctx, collector, start.date())
    assert sheet.visits, "the visit is on the sheet"
    for text in (sheet_text(sheet, printed_at=NOW), render_markdown(sheet, printed_at=NOW)):
        assert no_control(text)
        assert "pwned三" in text

    for name in REPORTS:
        table = run_report(db, name, date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 31),
                           profile=CN)  # fmt: skip
        assert no_control(render_text(table))
        assert no_control(to_csv(table).replace("\r\n", "\n"))


async def test_the_desk_draws_stored_control_characters_harmlessly(sqlite_db: Database) -> None:
    _make, operator, _collector, case_id = _world(sqlite_db)
    _poison(sqlite_db, case_id)
    actor = Actor(operator, "op", "王小明", Role.OPERATOR)
    app = DeskApp(db=sqlite_db, actor=actor, settings=Settings(database_url=str(sqlite_db.url)))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot_helpers.open_case(pilot, case_id)
        text = pilot_helpers.screen_text(app, legacy_windows=False)
        assert "pwned三" in text
        assert no_control(text)
