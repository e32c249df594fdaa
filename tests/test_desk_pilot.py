"""The desk driven through Pilot on SQLite: layouts at 80x24 and 160x50, panes following
the queue cursor, help generated from the bindings, masking on screen, zh_CN."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from rich.cells import cell_len
from sqlalchemy import select
from textual.app import App
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests import pilot as pilot_helpers
from tests.factories import Factory
from tests.pilot import desk_screen
from tui_desk.app import DeskApp
from tui_desk.clock import utcnow
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import AgreementStatus, AuditEvent, Borrower, Phone, Role
from tui_desk.i18n import set_language
from tui_desk.screens.casework_modals import CaseFormModal
from tui_desk.screens.contact_modal import ContactModal
from tui_desk.screens.desk import DeskScreen
from tui_desk.screens.help import HelpModal
from tui_desk.screens.reveal_modal import RevealModal
from tui_desk.services.context import Actor
from tui_desk.services.desk import DeskService
from tui_desk.widgets.agreement_panel import AgreementPanel
from tui_desk.widgets.appointment_calendar import AppointmentCalendar
from tui_desk.widgets.case_header import CaseHeader
from tui_desk.widgets.choice import Choice
from tui_desk.widgets.contact_log import ContactLogPanel
from tui_desk.widgets.queue_view import QueueView, SearchInput

WIDE = (160, 50)
NARROW = (80, 24)
NAMES = ("欧阳娜娜", "张三", "Li Na", "诸葛孔明明", "王五", "李小龙")


@dataclass(frozen=True)
class Desk:
    db: Database
    actor: Actor
    first: int
    second: int

    def app(self) -> DeskApp:
        return DeskApp(
            db=self.db, actor=self.actor, settings=Settings(database_url=str(self.db.url))
        )


@pytest.fixture
def desk_data(sqlite_db: Database) -> Desk:
    now = utcnow()
    make = Factory(sqlite_db, now=now)
    operator = make.agent(login="op", name="王小明")
    zhao = make.agent(login="zhao", name="赵六", role=Role.COLLECTOR)
    sun = make.agent(login="sun", name="孙七", role=Role.COLLECTOR)
    cases = [
        make.case(name=name, priority=900 - 100 * i, owner_id=operator, overdue_minor=99 * 10**i)
        for i, name in enumerate(NAMES)
    ]
    first, second = cases[0], cases[1]
    phone = make.phone_ids(make.borrower_of(first))[0]
    make.contact(first, agent_id=operator, phone_id=phone, note="答应周五还款")
    make.contact(second, agent_id=operator, note="无人接听")
    make.appointment(
        first, collector_id=zhao, booked_by_id=operator, starts_at=now + dt.timedelta(days=2)
    )
    make.appointment(
        second, collector_id=sun, booked_by_id=operator, starts_at=now + dt.timedelta(days=3)
    )
    plan = make.plan(first, created_by_id=operator, paid=1)
    make.agreement(
        first,
        created_by_id=operator,
        plan_id=plan,
        texts=("草稿", "第二版协议：分六期还款"),
        status=AgreementStatus.SIGNED,
        signed=True,
    )
    actor = Actor(id=operator, login="op", name="王小明", role=Role.OPERATOR)
    return Desk(sqlite_db, actor, first, second)


@pytest.fixture(autouse=True)
def _quick_debounce(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the case-load debounce: unlike ``quick_debounce``, search keeps its own delay."""
    monkeypatch.setattr(DeskScreen, "DEBOUNCE_SECONDS", 0.02)


async def settle(pilot: Pilot[None]) -> None:
    """The shared ``settle`` on a ``DeskApp``, bounded at 200 rounds (this module's bound)."""
    assert isinstance(pilot.app, DeskApp)
    await pilot_helpers.settle(pilot, rounds=200)


def screen_text(app: App[None]) -> str:
    """The shared ``screen_text`` with Rich's legacy Windows mode off, as this module had it."""
    return pilot_helpers.screen_text(app, legacy_windows=False)


def shown(app: DeskApp, pane: str) -> bool:
    widget = desk_screen(app).pane_widget(pane)
    return widget.display and widget.region.area > 0


def personal_values(db: Database) -> list[str]:
    with db.read() as s:
        values: list[str] = []
        for b in s.scalars(select(Borrower)):
            values += [b.id_number, b.address]
        for number in s.scalars(select(Phone.e164)):
            values += [number, number.removeprefix("+86")]
        return values


# --- layout ----------------------------------------------------------------------------


async def test_wide_desk_shows_all_four_panes_with_data(desk_data: Desk) -> None:
    app = desk_data.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.has_class("-wide") and screen.has_class("-tall")
        for pane in ("queue", "contacts", "calendar", "agreement"):
            assert shown(app, pane), pane
        assert len(app.query_one(QueueView).rows_held) == len(NAMES)
        assert app.query_one(QueueView).case_id == desk_data.first
        text = screen_text(app)
        assert "王小明 (operator) | sqlite | profile cn" in text
        for expected in ("欧阳娜娜", "答应周五还款", "赵六", "第二版协议", "¥"):
            assert expected in text, expected


async def test_narrow_desk_shows_one_pane_and_f_keys_switch(desk_data: Desk) -> None:
    app = desk_data.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        assert desk_screen(app).has_class("-narrow")
        assert len(app.query_one(QueueView).rows_held) == len(NAMES)
        panes = ("queue", "contacts", "calendar", "agreement")
        assert [shown(app, p) for p in panes] == [True, False, False, False]
        for key, pane, focus in (
            ("f3", "contacts", DataTable),
            ("f4", "calendar", DataTable),
            ("f5", "agreement", object),
            ("f2", "queue", QueueView),
        ):
            await pilot.press(key)
            await pilot.pause()
            assert [shown(app, p) for p in panes] == [p == pane for p in panes], key
            assert isinstance(app.focused, focus)
            assert desk_screen(app).pane_widget(pane).has_focus_within
        await pilot.press("tab")
        await pilot.pause()
        assert desk_screen(app).pane == "contacts" and shown(app, "contacts")
        await pilot.press("shift+tab", "shift+tab")
        await pilot.pause()
        assert desk_screen(app).pane == "agreement" and shown(app, "agreement")
        assert "第二版协议" in screen_text(app)


async def test_enter_on_a_queue_row_opens_the_case_on_a_narrow_terminal(desk_data: Desk) -> None:
    app = desk_data.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert desk_screen(app).pane == "contacts"
        assert "无人接听" in screen_text(app)


# --- the panes follow the queue cursor ---------------------------------------------------


async def test_moving_the_cursor_updates_the_other_panes(desk_data: Desk) -> None:
    app = desk_data.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        header = app.query_one(CaseHeader)
        calendar = app.query_one(AppointmentCalendar)
        agreement = app.query_one(AgreementPanel)
        contacts = app.query_one(ContactLogPanel)
        assert header.detail is not None and header.detail.case_id == desk_data.first
        assert [c.note for c in contacts.contacts] == ["答应周五还款"]
        assert "赵六" in calendar.title_text
        assert "第二版协议" in agreement.text_area.text
        assert agreement.view is not None and agreement.view.plan is not None

        await pilot.press("down")
        await settle(pilot)
        assert header.detail is not None and header.detail.case_id == desk_data.second
        assert header.detail.borrower_name == "张三"
        assert [c.note for c in contacts.contacts] == ["无人接听"]
        assert "孙七" in calendar.title_text
        assert agreement.view is not None and agreement.view.plan is None
        assert "no repayment plan yet" in agreement.summary_text
        assert "No agreement yet." in agreement.text_area.text

        await pilot.press("down")
        await settle(pilot)
        assert calendar.view is not None and calendar.view.collector_id is None
        assert not calendar.view.all_collectors
        assert "No visit booked for this case" in calendar.title_text


async def test_the_next_case_leaves_what_reads_the_same_as_it_is(
    desk_data: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two cases without visits or agreement show the same empty week and the same words
    in the agreement pane: those are not filled nor drawn again, and read as a fresh
    fill leaves them (cursor at the top); what names the case follows it."""
    monkeypatch.setattr(DeskScreen, "LOADING_NOTICE_SECONDS", 60.0)  # no "loading..." here
    app = desk_data.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        screen = desk_screen(app)
        for _ in range(2):  # to the third case: no visit, no agreement
            await pilot.press("down")
            await settle(pilot)
        third = screen.bundle.case_id if screen.bundle else None
        days = app.query_one(AppointmentCalendar).days
        area = app.query_one(AgreementPanel).text_area
        week = [days.get_row_at(row) for row in range(days.row_count)]
        assert days.row_count == 7
        days.move_cursor(row=3, animate=False)
        area.move_cursor((0, 5))
        refreshed: list[object] = []
        calendar_pane = screen.pane_widget("calendar")
        monkeypatch.setattr(calendar_pane, "refresh", lambda *a, **k: refreshed.append(a))

        await pilot.press("down")
        await settle(pilot)
        assert screen.bundle is not None and screen.bundle.case_id not in (third, None)
        # The same week: not filled again (the very cells it held are there).
        again = [days.get_row_at(row) for row in range(days.row_count)]
        assert all(
            a is b
            for old, new in zip(week, again, strict=True)
            for a, b in zip(old, new, strict=True)
        )
        assert days.cursor_row == 0  # where a fresh fill leaves it
        assert area.text == "No agreement yet." and area.cursor_location == (0, 0)
        assert refreshed == []  # the calendar pane's subtitle was the same: not redrawn
        subtitle = str(screen.pane_widget("contacts").border_subtitle)
        assert f"case {screen.bundle.case_id}" in subtitle


async def test_holding_the_arrow_key_does_not_flood_queries(
    desk_data: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DeskScreen, "DEBOUNCE_SECONDS", 0.3)
    loaded: list[int] = []
    original = DeskService.case

    def counting(self: DeskService, case_id: int, *, week_start: dt.date | None = None) -> object:
        loaded.append(case_id)
        return original(self, case_id, week_start=week_start)

    monkeypatch.setattr(DeskService, "case", counting)
    app = desk_data.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        loaded.clear()
        await pilot.press("down", "down", "down", "down")
        await settle(pilot)
        assert loaded == [app.query_one(QueueView).case_id]


async def test_calendar_week_keys_move_the_week(desk_data: Desk) -> None:
    app = desk_data.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        calendar = app.query_one(AppointmentCalendar)
        assert calendar.view is not None
        start = calendar.view.start
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert calendar.view.start == start + dt.timedelta(days=7)
        assert calendar.view.collector_name == "赵六"
        await pilot.press("left_square_bracket", "left_square_bracket")
        await settle(pilot)
        assert calendar.view.start == start - dt.timedelta(days=7)
        # The day view steps by days; W shows every collector.
        await pilot.press("w")
        await settle(pilot)
        assert calendar.view.span_days == 1
        day = calendar.view.start
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert calendar.view.start == day + dt.timedelta(days=1)
        await pilot.press("W")
        await settle(pilot)
        assert calendar.view.all_collectors and calendar.view.span_days == 1
        assert "All collectors" in calendar.title_text


# --- keys ----------------------------------------------------------------------------


def test_every_binding_has_an_id_a_description_and_a_tooltip() -> None:
    owners = (
        DeskApp,
        DeskScreen,
        HelpModal,
        RevealModal,
        QueueView,
        SearchInput,
        ContactModal,
        CaseFormModal,
        Choice,
    )
    for owner in owners:
        for binding in owner.BINDINGS:
            assert isinstance(binding, Binding)
            assert binding.id and binding.description and binding.tooltip, binding


async def test_help_lists_every_binding_of_the_screen_and_app(desk_data: Desk) -> None:
    app = desk_data.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        screen = desk_screen(app)
        expected = {b.id for _key, b in [*app._bindings, *screen._bindings]}
        await pilot.press("f1")
        await pilot.pause()
        help_modal = app.screen
        assert isinstance(help_modal, HelpModal)
        listed = {binding_id for row in help_modal.rows for binding_id in row.binding_ids}
        assert expected <= listed
        text = screen_text(app)
        assert "F2" in text and "Move to the next pane" in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)


async def test_command_palette_switches_panes(desk_data: Desk) -> None:
    app = desk_data.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"plan and agreement")
        await pilot.pause(0.2)
        await pilot.press("enter")
        await settle(pilot)
        assert desk_screen(app).pane == "agreement"
        assert shown(app, "agreement")


async def test_worker_errors_become_a_notification(
    desk_data: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: DeskService, flt: object, **kwargs: object) -> object:
        raise RuntimeError("connection refused\nSQL: SELECT ...")

    monkeypatch.setattr(DeskService, "queue_page", broken)
    app = desk_data.app()
    notes: list[str] = []
    async with app.run_test(size=NARROW) as pilot:
        monkeypatch.setattr(app, "notify", lambda message, **kw: notes.append(str(message)))
        await pilot.press("r")
        await settle(pilot)
        assert app.is_running
        assert notes and "connection refused" in notes[-1]
        assert "SQL" not in notes[-1]


# --- masking -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_no_full_id_or_phone_on_screen(desk_data: Desk, size: tuple[int, int]) -> None:
    secrets = personal_values(desk_data.db)
    app = desk_data.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for key in ("f2", "f3", "f4", "f5", "f2", "down", "f3", "f4", "f5"):
            await pilot.press(key)
            await settle(pilot)
            text = screen_text(app)
            leaked = [v for v in secrets if v in text]
            assert not leaked, f"after {key}: {leaked}"


async def test_reveal_shows_the_full_value_and_is_audited(desk_data: Desk) -> None:
    with desk_data.db.read() as s:
        borrower_id = s.scalar(select(Borrower.id).where(Borrower.name == NAMES[0]))
        full_id = s.scalar(select(Borrower.id_number).where(Borrower.id == borrower_id))
    assert full_id
    app = desk_data.app()
    notes: list[str] = []
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, RevealModal)
        pilot.app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        await pilot.press("enter")
        await settle(pilot)
        assert any(full_id in n for n in notes)
    with desk_data.db.read() as s:
        actions = s.scalars(select(AuditEvent.action)).all()
    assert "personal.reveal" in actions


# --- languages and wide characters -----------------------------------------------------


def _amount_ends(text: str) -> dict[str, int]:
    """Cell column where each queue row's amount ends, keyed by borrower name."""
    ends = {}
    for line in text.splitlines():
        for name in NAMES:
            match = re.search(re.escape(name) + r"\s+(¥[\d,]+\.\d\d)", line)
            if match and line.lstrip("│ ")[:1].isdigit():
                ends[name] = cell_len(line[: match.end(1)])
    return ends


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_desk_renders_and_chinese_names_line_up(desk_data: Desk, language: str) -> None:
    set_language(language)
    app = desk_data.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        ends = _amount_ends(text)
        assert set(ends) == set(NAMES)
        assert len(set(ends.values())) == 1, ends
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
    async with desk_data.app().run_test(size=NARROW) as pilot:
        await settle(pilot)
        assert len(set(_amount_ends(screen_text(pilot.app)).values())) == 1
