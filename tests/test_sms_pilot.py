"""Pilot: the SMS form previews the merged text and queues it in a few keys."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.factories import Factory
from tests.pilot import desk_screen, modal_text, open_case, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import Borrower, OutboxStatus, Role, SmsOutbox
from tui_desk.screens.sms_modal import SmsModal
from tui_desk.services.context import Actor
from tui_desk.services.search_index import index_borrower

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai

pytestmark = pytest.mark.usefixtures("quick_debounce")


def outbox(db: Database) -> list[SmsOutbox]:
    with db.read() as s:
        rows = list(s.scalars(select(SmsOutbox)))
        s.expunge_all()
        return rows


async def test_an_sms_is_previewed_and_queued_in_three_keys(sqlite_db: Database) -> None:
    make = Factory(sqlite_db, now=NOW)
    op = make.agent(login="op")
    case = make.case(name="欧阳娜娜")
    with sqlite_db.write() as s:
        for b in s.scalars(select(Borrower)):
            index_borrower(s, b)
    actor = Actor(id=op, login="op", name="op", role=Role.OPERATOR)
    app = DeskApp(
        db=sqlite_db,
        actor=actor,
        settings=Settings(database_url=str(sqlite_db.url)),
        clock=lambda: NOW,
    )
    async with app.run_test(size=(100, 36)) as pilot:
        await open_case(pilot, case)
        desk = desk_screen(app)
        assert desk.bundle is not None
        app.push_screen(SmsModal(desk.service, desk.bundle))
        await until(pilot, lambda: isinstance(app.screen, SmsModal))
        modal = app.screen
        assert isinstance(modal, SmsModal)
        await until(pilot, lambda: modal.preview is not None)
        text = modal_text(app)
        assert "400-800-9595" in text  # the hotline, merged
        assert "SMS (UCS-2" in text  # length and parts
        assert "May be sent now" in text
        assert "No SMS sent on this case yet." in text

        await pilot.press("2")  # the second template
        await until(
            pilot,
            lambda: modal.preview is not None and modal.preview.template == modal.templates[1][0],
        )
        await pilot.press("enter", "enter")  # template -> number -> queue
        await until(pilot, lambda: not isinstance(app.screen, SmsModal))
        # Opened again, the form lists the message and where it stands.
        app.push_screen(SmsModal(desk.service, desk.bundle))
        await until(pilot, lambda: "Recent SMS:" in modal_text(app))
        assert "queued" in modal_text(app)

    [row] = outbox(sqlite_db)
    assert row.status is OutboxStatus.PENDING
    assert row.case_id == case
    assert row.template == modal.templates[1][0]
    assert "400-800-9595" in row.body
