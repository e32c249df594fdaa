"""Pilot tests of the supervision screens: audit viewer, reports, reassign, override
requests, the read-only case view, and the operator asking for an override."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Input, OptionList, Static

import tui_desk
from tests.factories import Factory
from tests.pilot import modal_text, open_case, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    AuditEvent,
    Borrower,
    CollectionCase,
    OverrideRequest,
    OverrideRequestStatus,
    Payment,
    PaymentChannel,
    Role,
    RuleOverride,
)
from tui_desk.rules.profile import load_profile
from tui_desk.screens.audit import AuditEventModal, AuditScreen, change_text
from tui_desk.screens.reports import ReportsScreen
from tui_desk.screens.supervision_modals import (
    CaseViewModal,
    OverrideAskModal,
    OverrideRequestModal,
    ReassignModal,
)
from tui_desk.services import audit, supervision
from tui_desk.services.context import Actor, Context
from tui_desk.services.desk import DeskService
from tui_desk.services.search_index import index_borrower
from tui_desk.widgets.case_header import CaseHeader

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)
NIGHT = dt.datetime(2026, 3, 2, 23, 0, tzinfo=SH).astimezone(dt.UTC)
CSS = Path(tui_desk.__file__).parent / "app.tcss"

pytestmark = pytest.mark.usefixtures("quick_debounce")


class Host(App[None]):
    """A bare app that shows one screen of the supervision set (no desk behind it)."""

    CSS_PATH = str(CSS)

    def __init__(self, make: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make = make
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.make(), self.results.append)


@dataclasses.dataclass
class World:
    db: Database
    make: Factory
    op: Actor
    op2: Actor
    sup: Actor
    sup2: Actor
    cases: list[int]
    export: Path

    def service(self, actor: Actor, now: dt.datetime = NOW) -> DeskService:
        return DeskService(
            db=self.db,
            actor=actor,
            profile=load_profile(),
            clock=lambda: now,
            export_dir=self.export,
        )

    def owner(self, case_id: int) -> int | None:
        with self.db.read() as s:
            return s.scalar(select(CollectionCase.owner_id).where(CollectionCase.id == case_id))


def _actor(agent_id: int, login: str, role: Role) -> Actor:
    return Actor(id=agent_id, login=login, name=login, role=role)


@pytest.fixture
def world(sqlite_db: Database, tmp_path: Path) -> World:
    make = Factory(sqlite_db, now=NOW)
    op = _actor(make.agent(login="op"), "op", Role.OPERATOR)
    op2 = _actor(make.agent(login="op2"), "op2", Role.OPERATOR)
    sup = _actor(make.agent(login="sup", role=Role.SUPERVISOR), "sup", Role.SUPERVISOR)
    sup2 = _actor(make.agent(login="sup2", role=Role.SUPERVISOR), "sup2", Role.SUPERVISOR)
    cases = [make.case(name=name, owner_id=op.id) for name in ("欧阳娜娜", "李四", "王五")]
    with sqlite_db.write() as s:
        for b in s.scalars(select(Borrower)):
            index_borrower(s, b)
    return World(sqlite_db, make, op, op2, sup, sup2, cases, tmp_path / "exports")


async def wait(pilot: Pilot[None], condition: Callable[[], bool], *, rounds: int = 300) -> None:
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("condition not reached")


def text_of(app: App[None], selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


def seed_events(w: World, n: int, *, case_id: int | None = None) -> None:
    with w.db.write() as s:
        for i in range(n):
            audit.record(
                s, w.op, "contact.log", "contact_attempt", i, f"event {i}",
                now=NOW - dt.timedelta(minutes=n - i), case_id=case_id or w.cases[i % 2],
                before={"stage": "new", "n": i}, after={"stage": "contacting", "n": i},
            )  # fmt: skip


# --- the audit viewer ---------------------------------------------------------------------


async def test_audit_viewer_filters_by_case_and_shows_before_after(world: World) -> None:
    seed_events(world, 6)
    supervision.reassign_cases(
        Context.frozen(world.db, world.sup, NOW, load_profile()),
        [world.cases[1]],
        "op2",
        reason="x",
    )
    app = Host(lambda: AuditScreen(world.service(world.sup)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        await wait(pilot, lambda: len(screen.lines) == 7)
        await pilot.press("tab", *str(world.cases[1]), "enter")
        await wait(pilot, lambda: len(screen.lines) == 4)
        assert {line.case_id for line in screen.lines} == {world.cases[1]}
        assert screen.lines[0].action == "case.reassign"  # newest first
        await pilot.press("ctrl+t", "enter")
        await wait(pilot, lambda: isinstance(app.screen, AuditEventModal))
        shown = text_of(app, "#ae-change")
        assert "owner_id" in shown and str(world.op.id) in shown and str(world.op2.id) in shown
        assert "reassigned cases" in text_of(app, "#ae-head")  # the label, not the code
        await pilot.press("escape", "down", "enter")
        await wait(pilot, lambda: isinstance(app.screen, AuditEventModal))
        shown = text_of(app, "#ae-change")
        assert "stage" in shown and "new" in shown and "contacting" in shown
        await pilot.press("escape")
        await wait(pilot, lambda: isinstance(app.screen, AuditScreen))


async def test_audit_viewer_explains_bad_filters(world: World) -> None:
    seed_events(world, 3)
    app = Host(lambda: AuditScreen(world.service(world.sup)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        await wait(pilot, lambda: len(screen.lines) == 3)
        await pilot.press("tab", *"abc", "enter")
        await wait(pilot, lambda: "case: its number" in text_of(app, "#audit-error"))
        assert app.focused is screen.query_one("#audit-case", Input)
        await pilot.press("ctrl+u", "tab", "tab", *"2026-13-01", "enter")
        await wait(pilot, lambda: "from: not a date" in text_of(app, "#audit-error"))
        await pilot.press("ctrl+u", "shift+tab", "shift+tab", "shift+tab", *"ghost", "enter")
        await wait(pilot, lambda: "no agent with login ghost" in text_of(app, "#audit-error"))
        assert screen.lines == []
        await pilot.press("ctrl+l")
        await wait(pilot, lambda: len(screen.lines) == 3)
        assert text_of(app, "#audit-error") == ""


async def test_audit_viewer_pages_by_keyset_as_the_cursor_moves(world: World) -> None:
    seed_events(world, 120, case_id=world.cases[0])
    app = Host(lambda: AuditScreen(world.service(world.sup)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        await wait(pilot, lambda: len(screen.lines) == 50)
        assert screen.more
        await pilot.press("ctrl+t")
        for _ in range(8):
            await pilot.press("pagedown")
            await wait(pilot, lambda: not screen.loading)
        await wait(pilot, lambda: len(screen.lines) == 120)
        ids = [line.event_id for line in screen.lines]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 120
        assert not screen.more
        assert screen.query_one(DataTable).row_count == 120


def test_change_text_puts_before_and_after_side_by_side() -> None:
    text = change_text({"owner_id": {"7": 1}, "x": "same"}, {"owner_id": 2, "x": "same"}, 60)
    lines = text.plain.splitlines()
    assert lines[0].split() == ["field", "before", "after"]
    after_column = lines[0].index("after")
    old_owner = next(line for line in lines if line.startswith("owner_id.7"))
    assert old_owner.split() == ["owner_id.7", "1"] and len(old_owner.rstrip()) < after_column
    new_owner = next(line for line in lines if line.startswith("owner_id "))
    assert new_owner.split() == ["owner_id", "2"] and new_owner.index("2") == after_column
    assert any(line.split() == ["x", "same", "same"] for line in lines)


# --- reports --------------------------------------------------------------------------------


async def test_reports_screen_renders_a_report_and_exports_csv(world: World) -> None:
    with world.db.write() as s:
        s.add(
            Payment(
                case_id=world.cases[0], amount_minor=123_456, paid_on=dt.date(2026, 3, 1),
                channel=PaymentChannel.BANK_TRANSFER, recorded_at=NOW,
            )
        )  # fmt: skip
    app = Host(lambda: ReportsScreen(world.service(world.sup)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, ReportsScreen)
        assert screen.query_one("#reports-from", Input).value == "2026-03-01"
        assert screen.query_one("#reports-to", Input).value == "2026-03-02"
        await pilot.press("e")
        await wait(pilot, lambda: "Run a report first" in text_of(app, "#reports-status"))
        names = [n for n, _t in screen.names]
        for _ in range(names.index("collected-by-agent")):
            await pilot.press("down")
        await pilot.press("enter")
        await wait(pilot, lambda: screen.table_data is not None)
        table = screen.query_one(DataTable)
        first = [str(c) for c in table.get_row_at(0)]
        assert first == ["op", "坐席1", "1", "1", "1234.56"]
        assert "Amount collected per agent" in text_of(app, "#reports-heading")
        await pilot.press("e")
        await wait(pilot, lambda: "CSV written to" in text_of(app, "#reports-status"))
        # Each agent's exports go to a folder of their own.
        mine = world.export / world.sup.login
        path = mine / "report-collected-by-agent-2026-03-01-2026-03-02.csv"
        assert path.read_text(encoding="utf-8-sig").splitlines()[1] == "op,坐席1,1,1,1234.56"
        # A bad period is explained, and the last result goes: it was not for these dates.
        await pilot.press("shift+tab", "shift+tab", "ctrl+u", *"2026-02-30", "enter")
        await wait(pilot, lambda: "from: not a date" in text_of(app, "#reports-status"))
        assert table.row_count == 0 and screen.shown is None
        assert "Amount collected per agent" not in text_of(app, "#reports-heading")
        # All the reports are listed, the list scrolls when they do not fit.
        listed = screen.query_one("#reports-list", OptionList)
        assert listed.option_count == len(names)


# --- reassign and override requests ------------------------------------------------------------


async def test_reassign_modal_keeps_input_on_refusal_then_saves(world: World) -> None:
    cases = world.cases[:2]
    app = Host(lambda: ReassignModal(world.service(world.sup), cases))
    async with app.run_test(size=(80, 24)) as pilot:
        assert "2 cases" in modal_text(app)
        await pilot.press(*"ghost", "enter", *"leave", "enter")
        await wait(pilot, lambda: "no agent with login ghost" in modal_text(app))
        assert isinstance(app.screen, ReassignModal)
        assert app.screen.query_one("#reassign-reason", Input).value == "leave"
        await pilot.press("shift+tab", "ctrl+u", *"op2", "enter", "enter")
        await wait(pilot, lambda: not isinstance(app.screen, ReassignModal))
    assert app.results == ["2 cases reassigned to op2"]
    assert [world.owner(c) for c in cases] == [world.op2.id, world.op2.id]


async def test_reassign_modal_refuses_for_an_operator_inline(world: World) -> None:
    app = Host(lambda: ReassignModal(world.service(world.op), [world.cases[0]]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"op2", "enter", *"x", "enter")
        await wait(pilot, lambda: "may not reassign cases" in modal_text(app))
    assert world.owner(world.cases[0]) == world.op.id


async def test_override_request_modal_approves(world: World) -> None:
    request_id = supervision.request_override(
        Context.frozen(world.db, world.op, NOW, load_profile()),
        world.cases[0],
        "quiet_hours",
        "borrower asked for 23:00",
    )
    app = Host(lambda: OverrideRequestModal(world.service(world.sup), request_id))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait(pilot, lambda: "borrower asked for 23:00" in modal_text(app))
        assert "Quiet hours" in modal_text(app) and "op" in modal_text(app)
        await pilot.press("tab", "ctrl+u", *"15", "ctrl+y")  # ctrl+y works from a field
        await wait(pilot, lambda: not isinstance(app.screen, OverrideRequestModal))
    assert app.results and "for 15 minutes" in str(app.results[0])
    with world.db.read() as s:
        request = s.get(OverrideRequest, request_id)
        assert request is not None and request.status is OverrideRequestStatus.APPROVED
        override = s.get(RuleOverride, request.override_id)
        assert override is not None and override.granted_to_id == world.op.id
        assert override.expires_at == NOW + dt.timedelta(minutes=15)


async def test_override_request_modal_rejects_with_a_note_and_shows_stale(world: World) -> None:
    request_id = supervision.request_override(
        Context.frozen(world.db, world.op, NOW, load_profile()),
        world.cases[0],
        "daily_call_cap",
        "one more",
    )
    app = Host(lambda: OverrideRequestModal(world.service(world.sup), request_id))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait(pilot, lambda: "one more" in modal_text(app))
        await pilot.press("n")
        await wait(pilot, lambda: "needs a note" in modal_text(app))
        screen = app.screen
        assert screen.focused is screen.query_one("#orq-note", Input)
        # Meanwhile another supervisor decides it.
        supervision.decide_override_request(
            Context.frozen(world.db, world.sup2, NOW, load_profile()),
            request_id,
            approve=False,
            note="no",
        )
        await pilot.press(*"not today", "ctrl+n")
        await wait(pilot, lambda: "already rejected by sup2" in modal_text(app))
        assert isinstance(app.screen, OverrideRequestModal)
        await pilot.press("escape")  # a note typed: asked first
        await wait(pilot, lambda: not isinstance(app.screen, OverrideRequestModal))
        await pilot.press("y")
        await wait(pilot, lambda: app.results == [None])
    assert app.results == [None]


# --- the case, read-only ----------------------------------------------------------------------


async def test_case_view_opens_without_a_lease(world: World) -> None:
    case = world.cases[0]
    with world.db.read() as s:
        events_before = s.scalar(select(func.count()).select_from(AuditEvent))
    world.make.contact(case, agent_id=world.op.id, note="说好下周还款")
    app = Host(lambda: CaseViewModal(world.service(world.sup), case))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, CaseViewModal)
        await wait(pilot, lambda: screen.bundle is not None)
        header = app.screen.query_one("#cv-header", CaseHeader).text
        assert "欧阳娜娜" in header and f"#{case}" in header
        assert "****" in header  # phones and the ID masked
        assert "Visits none" in text_of(app, "#cv-visits")
        assert "no repayment plan yet" in text_of(app, "#cv-plan")
        assert "说好下周还款" in text_of(app, "#contact-note")
        await pilot.press("pagedown", "pagedown", "escape")
        await wait(pilot, lambda: not isinstance(app.screen, CaseViewModal))
    with world.db.read() as s:
        row = s.get(CollectionCase, case)
        assert row is not None and row.lease_holder_id is None
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events_before


# --- the operator asks, on the desk -------------------------------------------------------------


async def test_operator_asks_for_an_override_from_the_desk(world: World) -> None:
    app = DeskApp(
        db=world.db,
        actor=world.op,
        settings=Settings(database_url=str(world.db.url)),
        clock=lambda: NIGHT,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await open_case(pilot, world.cases[0])
        await pilot.press("O")
        await until(pilot, lambda: isinstance(app.screen, OverrideAskModal))
        await until(pilot, lambda: "Quiet hours" in str(app.screen.query_one("#ask-rule").render()))
        await pilot.press("enter", "enter")
        await until(pilot, lambda: "say why" in modal_text(app))
        await pilot.press(*"borrower works nights", "enter")
        await until(pilot, lambda: not isinstance(app.screen, OverrideAskModal))
    with world.db.read() as s:
        request = s.scalars(select(OverrideRequest)).one()
        assert (request.case_id, request.rule, request.requested_by_id) == (
            world.cases[0],
            "quiet_hours",
            world.op.id,
        )
        assert request.reason == "borrower works nights"
