"""Pilot tests of the dial dialog: pick a number, Enter dials through the PBX sandbox (real
HTTP on 127.0.0.1), quiet hours refuse naming the rule, and without a PBX the number is
shown to dial by hand. The desk's key is bound elsewhere: the tests open the dialog."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import Factory
from tests.pilot import modal_text, screen_text, settle, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, ContactAttempt, Phone, PhoneKind, Relation, Role
from tui_desk.integrations.pbx_sandbox import PbxSandbox
from tui_desk.screens.dial_modal import DialModal
from tui_desk.services.context import Actor
from tui_desk.services.dialing import Dialer

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)
NIGHT = dt.datetime(2026, 3, 2, 23, 0, tzinfo=SH).astimezone(dt.UTC)
PASSWORD = "pilot-secret"

pytestmark = pytest.mark.usefixtures("quick_debounce")


@dataclass
class World:
    db: Database
    op: Actor
    case: int
    sandbox: PbxSandbox

    def app(self, *, pbx: bool = True, now: dt.datetime = NOW) -> DeskApp:
        settings = Settings(
            database_url=str(self.db.url),
            pbx_url=self.sandbox.url if pbx else None,
            pbx_user="desk",
            pbx_password=PASSWORD,
        )
        return DeskApp(db=self.db, actor=self.op, settings=settings, clock=lambda: now)

    def attempts(self) -> list[ContactAttempt]:
        with self.db.read() as s:
            rows = list(
                s.scalars(select(ContactAttempt).where(ContactAttempt.case_id == self.case))
            )
            s.expunge_all()
            return rows


@pytest.fixture
def world(sqlite_db: Database) -> Iterator[World]:
    make = Factory(sqlite_db, now=NOW)
    op = make.agent(login="op", name="王小明")
    borrower = make.borrower(name="欧阳娜娜", phones=["+8613812348000"])
    with sqlite_db.write() as s:
        agent = s.get(Agent, op)
        assert agent is not None
        agent.extension = "801"
        s.add(
            Phone(
                borrower_id=borrower, e164="+8613900001111", kind=PhoneKind.MOBILE,
                relation=Relation.BORROWER, verified=False, do_not_call=True, created_at=NOW,
            )
        )  # fmt: skip
    case = make.case(borrower_id=borrower)
    actor = Actor(id=op, login="op", name="王小明", role=Role.OPERATOR)
    with PbxSandbox(user="desk", password=PASSWORD) as box:
        yield World(sqlite_db, actor, case, box)


def open_dialog(app: DeskApp, case_id: int) -> DialModal:
    """What the desk's dial key does: the case's bundle and the app's dialer."""
    modal = DialModal(app.service, app.service.case(case_id), Dialer.from_settings(app.settings))
    app.push_screen(modal)
    return modal


async def test_enter_dials_the_preferred_number_through_the_pbx(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        modal = open_dialog(app, world.case)
        await until(pilot, lambda: "Dial:" in modal_text(app))
        listed = screen_text(app)
        assert "1  +86 138****8000" in listed and "2  +86 139****1111" in listed
        assert "do not call" in listed
        await pilot.press("1", "enter")
        await until(pilot, lambda: modal.result is not None)
        [call] = world.sandbox.calls
        assert call.endpoint == "PJSIP/801" and call.extension == "13812348000"
        text = modal_text(app)
        assert f"calling +86 138****8000... ({call.recording})" in text
        assert "log the outcome with l" in text
        [attempt] = world.attempts()
        assert attempt.call_ref == call.recording and attempt.started_at == NOW
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is not modal)


async def test_a_do_not_call_number_is_refused_naming_the_rule(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        modal = open_dialog(app, world.case)
        await until(pilot, lambda: "Dial:" in modal_text(app))
        await pilot.press("2", "enter")
        await until(pilot, lambda: not modal.busy)
        await until(pilot, lambda: "Not dialled" in modal_text(app))
        assert "do not call" in modal_text(app) and "do_not_call" not in modal_text(app)
        assert world.sandbox.requests == 0 and world.attempts() == []


async def test_quiet_hours_refuse_without_dialing(world: World) -> None:
    app = world.app(now=NIGHT)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        modal = open_dialog(app, world.case)
        await until(pilot, lambda: "Dial:" in modal_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: "Not dialled" in modal_text(app))
        assert modal.result is None
        assert "contact refused by the quiet hours rule" in modal_text(app)
        assert world.sandbox.requests == 0 and world.attempts() == []


async def test_without_a_pbx_the_number_is_shown_to_dial_by_hand(world: World) -> None:
    app = world.app(pbx=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        modal = open_dialog(app, world.case)
        await until(pilot, lambda: "Dial:" in modal_text(app))
        assert "no phone system configured" in modal_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: modal.plan is not None)
        assert "dial by hand: 138 1234 8000" in modal_text(app)
        assert world.attempts() == [] and world.sandbox.requests == 0
