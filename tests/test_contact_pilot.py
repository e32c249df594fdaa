"""Pilot tests of the desk's daily work: take next, log a contact in <= 3 keys, search,
filters, refused contacts, case-work forms and paging through a seeded queue.

Time is frozen through the desk's clock (``DeskApp(clock=...)``), so the contact rules
(quiet hours 22:00-08:00 in the CN profile) answer the same way whenever the tests run.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from textual.widgets import Input

from tests.factories import Factory
from tests.pilot import desk_screen, screen_text, settle, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    AuditEvent,
    Borrower,
    CaseHold,
    CollectionCase,
    ContactAttempt,
    Direction,
    Outcome,
    Payment,
    Phone,
    PromiseToPay,
    Role,
)
from tui_desk.demo.seeder import seed_database
from tui_desk.rules.priority import bucket_number, days_past_due
from tui_desk.rules.profile import load_profile
from tui_desk.screens.casework_modals import HoldModal, PaymentModal, PhoneModal
from tui_desk.screens.contact_modal import ContactModal
from tui_desk.screens.desk import DeskScreen
from tui_desk.services.context import Actor
from tui_desk.services.search_index import index_borrower, index_phone
from tui_desk.widgets.case_header import CaseHeader
from tui_desk.widgets.queue_view import PAGE_ROWS, QueueView

WIDE = (160, 50)
NARROW = (80, 24)
# Wednesday 2026-11-25, 11:00 in Shanghai: inside the CN contact window.
DAYTIME = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)
# 23:00 in Shanghai: quiet hours.
NIGHT = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)
SEARCHED_NUMBER = "+8613912345678"


@dataclass(frozen=True)
class Desk:
    db: Database
    actor: Actor
    cases: dict[str, int]

    def app(self, now: dt.datetime = DAYTIME) -> DeskApp:
        return DeskApp(
            db=self.db,
            actor=self.actor,
            settings=Settings(database_url=str(self.db.url)),
            clock=lambda: now,
        )


pytestmark = pytest.mark.usefixtures("quick_debounce")


@pytest.fixture
def desk(sqlite_db: Database) -> Desk:
    make = Factory(sqlite_db, now=DAYTIME)
    operator = make.agent(login="op", name="王小明")
    other = make.agent(login="li", name="李四")
    cases = {
        # One per DPD bucket, most urgent first; all unowned except "mine".
        "top": make.case(name="欧阳娜娜", priority=900, overdue_days=120),
        "searched": make.case(
            borrower_id=make.borrower(name="张三", phones=[SEARCHED_NUMBER]),
            priority=800,
            overdue_days=75,
        ),
        "mid": make.case(name="李小龙", priority=700, overdue_days=45),
        "young": make.case(name="王五", priority=600, overdue_days=10),
        "mine": make.case(name="诸葛孔明", priority=500, overdue_days=40, owner_id=operator),
        "theirs": make.case(name="赵六", priority=400, overdue_days=50, owner_id=other),
    }
    # The factory writes rows directly; give them what the services keep beside them:
    # the search side data and the stored DPD bucket (the priorities stay as set above).
    bounds = load_profile().dpd_bounds
    with sqlite_db.write() as s:
        for borrower in s.scalars(select(Borrower)):
            index_borrower(s, borrower)
        for phone in s.scalars(select(Phone)):
            index_phone(phone)
        for case in s.scalars(select(CollectionCase)):
            dpd = days_past_due(case.overdue_since, DAYTIME.date())
            case.dpd_bucket = bucket_number(dpd, bounds)
    actor = Actor(id=operator, login="op", name="王小明", role=Role.OPERATOR)
    return Desk(sqlite_db, actor, cases)


def phone_count(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count(Phone.id))) or 0)


def contacts_of(db: Database, case_id: int) -> list[ContactAttempt]:
    with db.read() as s:
        rows = list(s.scalars(select(ContactAttempt).where(ContactAttempt.case_id == case_id)))
        s.expunge_all()
        return rows


# --- take next --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_take_next_selects_a_case_and_leases_it(desk: Desk, size: tuple[int, int]) -> None:
    app = desk.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = desk_screen(app)
        assert screen.in_hand is not None
        case_id = screen.in_hand.case_id
        with desk.db.read() as s:
            case = s.get(CollectionCase, case_id)
            assert case is not None
            assert case.lease_holder_id == desk.actor.id
            assert case.lease_expires_at is not None and case.lease_expires_at > DAYTIME
        # Own cases come before the pool.
        assert case_id == desk.cases["mine"]
        header = app.query_one(CaseHeader)
        assert header.detail is not None and header.detail.case_id == case_id
        assert "Worked by 王小明" in header.text
        assert "may contact now" in header.text
        if size == NARROW:
            assert screen.pane == "contacts"
        # The next take moves on and frees the first case.
        await pilot.press("n")
        await settle(pilot)
        assert screen.in_hand is not None and screen.in_hand.case_id != case_id
        with desk.db.read() as s:
            first = s.get(CollectionCase, case_id)
            assert first is not None and first.lease_holder_id is None


async def test_quitting_releases_the_lease(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        lease = desk_screen(app).in_hand
        assert lease is not None
        await pilot.press("q")
        await pilot.pause()
    with desk.db.read() as s:
        case = s.get(CollectionCase, lease.case_id)
        assert case is not None and case.lease_holder_id is None


# --- the contact log --------------------------------------------------------------------


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_no_answer_is_logged_in_two_keys(desk: Desk, size: tuple[int, int]) -> None:
    app = desk.app()
    target = desk.cases["top"]
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert app.query_one(QueueView).case_id == target
        await pilot.press("l", "1")
        await settle(pilot)
        assert not isinstance(app.screen, ContactModal)
        [attempt] = contacts_of(desk.db, target)
        assert attempt.outcome is Outcome.NO_ANSWER
        assert attempt.direction is Direction.OUTBOUND
        assert attempt.agent_id == desk.actor.id
        assert attempt.phone_id is not None
        assert attempt.started_at.replace(tzinfo=dt.UTC) == DAYTIME
        # The contact pane shows it straight away.
        assert desk_screen(app).bundle is not None
        assert [c.outcome for c in desk_screen(app).bundle.contacts] == ["no_answer"]  # type: ignore[union-attr]


async def test_take_next_then_log_in_three_keys(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        # Typed in one go: the dialog opens once the claimed case has been read.
        await pilot.press("n", "l", "1")
        await settle(pilot)
        lease = desk_screen(app).in_hand
        assert lease is not None
        [attempt] = contacts_of(desk.db, lease.case_id)
        assert attempt.outcome is Outcome.NO_ANSWER


async def test_inbound_refusal_in_three_keys(desk: Desk) -> None:
    app = desk.app(NIGHT)
    target = desk.cases["top"]
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        # Inbound contacts are always allowed, even in quiet hours.
        await pilot.press("l", "i", "6")
        await settle(pilot)
        [attempt] = contacts_of(desk.db, target)
        assert attempt.direction is Direction.INBOUND
        assert attempt.outcome is Outcome.REFUSED


async def test_promise_asks_amount_and_date_with_inline_checks(desk: Desk) -> None:
    app = desk.app()
    target = desk.cases["top"]
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("l", "7")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ContactModal)
        await pilot.press(*"12.345", "enter", *"+3", "enter")
        await settle(pilot)
        assert app.screen is modal
        assert "at most two decimals" in screen_text(app)
        assert contacts_of(desk.db, target) == []
        amount = modal.query_one("#promise-amount", Input)
        assert amount.has_focus and amount.value == "12.345"
        amount.value = ""
        await pilot.press(*"1200.5", "enter")
        due = modal.query_one("#promise-due", Input)
        assert due.has_focus and due.value == "+3"
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ContactModal)
        [attempt] = contacts_of(desk.db, target)
        assert attempt.outcome is Outcome.PROMISE
        with desk.db.read() as s:
            promise = s.scalars(select(PromiseToPay).where(PromiseToPay.case_id == target)).one()
            assert promise.amount_minor == 120050
            assert promise.due_on == dt.date(2026, 11, 28)


def flat(text: str) -> str:
    """Screen text as one line: borders and line breaks (a field wrapped) as spaces."""
    return " ".join(text.replace("│", " ").split())


async def test_callback_takes_a_time(desk: Desk) -> None:
    app = desk.app()
    target = desk.cases["top"]
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("l", "9", *"16:30", "enter")
        await settle(pilot)
        [attempt] = contacts_of(desk.db, target)
        assert attempt.outcome is Outcome.CALLBACK
        assert attempt.callback_at is not None
        # 16:30 in Shanghai is 08:30 UTC.
        assert attempt.callback_at.replace(tzinfo=dt.UTC) == dt.datetime(
            2026, 11, 25, 8, 30, tzinfo=dt.UTC
        )
        await until(pilot, lambda: "Call back 16:30" in flat(screen_text(app)))
        # A later attempt (no answer) keeps the agreed callback in the header.
        await pilot.press("l", "1")
        await settle(pilot)
        await until(pilot, lambda: len(contacts_of(desk.db, target)) == 2)
        await until(pilot, lambda: "Call back 16:30" in flat(screen_text(app)))


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_forbidden_contact_is_refused_with_its_rule(
    desk: Desk, size: tuple[int, int]
) -> None:
    app = desk.app(NIGHT)
    target = desk.cases["top"]
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        header = app.query_one(CaseHeader)
        assert "not now" in header.text and "quiet" in header.text
        assert "until tomorrow 08:00" in header.text
        assert "(quiet hours)" in header.text and "quiet_hours" not in header.text
        await pilot.press("l")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ContactModal)
        await pilot.press("tab", *"答应明天还款", "enter")
        await pilot.press("1")
        await settle(pilot)
        assert app.screen is modal, "a refused save keeps the dialog open"
        text = screen_text(app)
        assert "Not saved" in text and "quiet hours" in text and "quiet_hours" not in text
        assert modal.query_one("#contact-note-input", Input).value == "答应明天还款"
        assert contacts_of(desk.db, target) == []
        await pilot.press("escape")  # something typed: asked first
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, DeskScreen)


async def test_a_stale_case_is_refused_and_read_again(desk: Desk) -> None:
    app = desk.app()
    target = desk.cases["top"]
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        # Someone else changes the case while the dialog is open.
        with desk.db.write() as s:
            case = s.get(CollectionCase, target)
            assert case is not None
            case.broken_promises += 1
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, ContactModal)
        assert "read again" in screen_text(app)
        assert contacts_of(desk.db, target) == []
        await pilot.press("2")
        await settle(pilot)
        assert [c.outcome for c in contacts_of(desk.db, target)] == [Outcome.BUSY]


# --- search and filters -------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["+86 139 1234 5678", "139 1234 5678", "5678"])
async def test_search_by_phone_in_any_format(desk: Desk, typed: str) -> None:
    app = desk.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("slash", *typed)
        await settle(pilot)
        view = app.query_one(QueueView)
        assert [r.case_id for r in view.rows_held] == [desk.cases["searched"]]
        await pilot.press("enter")
        await settle(pilot)
        assert view.has_focus
        assert app.query_one(CaseHeader).detail is not None
        assert app.query_one(CaseHeader).detail.case_id == desk.cases["searched"]  # type: ignore[union-attr]
        text = screen_text(app)
        assert SEARCHED_NUMBER not in text and SEARCHED_NUMBER[3:] not in text
        # Escape in the search line clears it.
        await pilot.press("slash", "escape")
        await settle(pilot)
        assert len(view.rows_held) == len(desk.cases)


async def test_search_by_chinese_name_and_no_match(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"孔明")
        await settle(pilot)
        view = app.query_one(QueueView)
        assert [r.case_id for r in view.rows_held] == [desk.cases["mine"]]
        await pilot.press(*"xyz")
        await settle(pilot)
        assert view.rows_held == ()
        assert "no cases match" in screen_text(app)


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_bucket_filter_shows_only_that_bucket(desk: Desk, size: tuple[int, int]) -> None:
    app = desk.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        view = app.query_one(QueueView)
        seen: list[str] = []
        for _ in range(4):
            await pilot.press("b")
            await settle(pilot)
            buckets = {r.bucket for r in view.rows_held}
            assert len(buckets) == 1, buckets
            seen.append(buckets.pop())
        assert seen == ["1-30", "31-60", "61-90", "91+"]
        assert "91+" in screen_text(app)
        await pilot.press("b")
        await settle(pilot)
        assert len(view.rows_held) == len(desk.cases)


async def test_new_keys_are_in_the_palette_and_the_help(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Broken promises")
        await pilot.pause(0.2)
        await pilot.press("enter")
        await settle(pilot)
        assert desk_screen(app).filter.broken_only
        await pilot.press("f1")
        await pilot.pause()
        help_modal = app.screen
        listed = {i for row in help_modal.rows for i in row.binding_ids}  # type: ignore[attr-defined]
        for binding_id in ("desk.take_next", "desk.log_contact", "desk.payment", "queue.last"):
            assert binding_id in listed, binding_id


async def test_scope_and_clear_filters(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        view = app.query_one(QueueView)
        await pilot.press("m")
        await settle(pilot)
        assert [r.case_id for r in view.rows_held] == [desk.cases["mine"]]
        await pilot.press("m")
        await settle(pilot)
        assert desk.cases["mine"] not in {r.case_id for r in view.rows_held}
        assert desk.cases["theirs"] not in {r.case_id for r in view.rows_held}
        await pilot.press("f")
        await settle(pilot)
        assert len(view.rows_held) == len(desk.cases)


# --- case work ----------------------------------------------------------------------------


async def test_record_a_payment(desk: Desk) -> None:
    app = desk.app()
    target = desk.cases["top"]
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("dollar_sign")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, PaymentModal)
        # Enter moves through the fields; on the last one it saves, or says what is wrong.
        await pilot.press("enter", "enter", "enter", "enter")
        await settle(pilot)
        assert "enter an amount" in screen_text(app)
        assert modal.query_one("#pay-amount", Input).has_focus
        await pilot.press(*"300", "enter", "enter", "right", "enter", *"REF-1", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, PaymentModal)
    with desk.db.read() as s:
        payment = s.scalars(select(Payment).where(Payment.case_id == target)).one()
        assert payment.amount_minor == 30000
        assert payment.reference == "REF-1"


async def test_set_a_hold_needs_a_reason(desk: Desk) -> None:
    app = desk.app()
    target = desk.cases["top"]
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, HoldModal)
        await pilot.press("enter", "enter", "enter")  # kind, until (empty: until released)
        assert "a hold needs a reason" in screen_text(app)
        await pilot.press(*"borrower disputes the fees", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, HoldModal)
        # Held cases leave the queue.
        assert target not in {r.case_id for r in app.query_one(QueueView).rows_held}
    with desk.db.read() as s:
        hold = s.scalars(select(CaseHold).where(CaseHold.case_id == target)).one()
        assert hold.reason == "borrower disputes the fees"


async def test_an_invalid_phone_number_is_refused_inline(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        before = phone_count(desk.db)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, PhoneModal)
        await pilot.press("right", "enter", *"+86 123", "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PhoneModal)
        assert "too short" in screen_text(app) or "not" in screen_text(app)
        assert phone_count(desk.db) == before
        number = app.screen.query_one("#phone-number", Input)
        number.value = "+86 138 0013 8000"
        number.focus()
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, PhoneModal)
        assert phone_count(desk.db) == before + 1


# --- paging a seeded queue, and masking ------------------------------------------------------


@pytest.fixture
def seeded(sqlite_db: Database) -> Desk:
    seed_database(sqlite_db, cases=200, now=DAYTIME)
    with sqlite_db.read() as s:
        from tui_desk.db.models import Agent

        agent = s.scalars(select(Agent).where(Agent.role == Role.OPERATOR).limit(1)).one()
        actor = Actor.of(agent)
    return Desk(sqlite_db, actor, {})


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_page_down_goes_past_the_first_page(seeded: Desk, size: tuple[int, int]) -> None:
    app = seeded.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        view = app.query_one(QueueView)
        first = view.case_id
        for _ in range(8):
            await pilot.press("pagedown")
            await settle(pilot)
        position = view.position
        assert position is not None and position > PAGE_ROWS
        assert view.case_id != first
        text = screen_text(app)
        shown = re.search(r"rows (\d+)-(\d+), page (\d+)", text)
        assert shown is not None
        assert int(shown[1]) <= position + 1 <= int(shown[2]) and int(shown[3]) > 1
        await pilot.press("end")
        await settle(pilot)
        assert "end of queue" in screen_text(app)
        await pilot.press("home")
        await settle(pilot)
        assert view.case_id == first


def personal_values(db: Database) -> list[str]:
    with db.read() as s:
        values: list[str] = []
        for b in s.scalars(select(Borrower)):
            values += [b.id_number, b.address]
        for number in s.scalars(select(Phone.e164)):
            values += [number, number.removeprefix("+86")]
        return values


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_no_full_id_or_phone_on_screen_while_working(
    seeded: Desk, size: tuple[int, int]
) -> None:
    secrets = personal_values(seeded.db)
    app = seeded.app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for keys in (("n",), ("l",), ("escape", "pagedown"), ("f3",), ("f2", "dollar_sign")):
            await pilot.press(*keys)
            await settle(pilot)
            text = screen_text(app)
            leaked = [v for v in secrets if v in text]
            assert not leaked, f"after {keys}: {leaked}"


async def test_every_write_is_audited(desk: Desk) -> None:
    app = desk.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("l", "1")
        await settle(pilot)
    with desk.db.read() as s:
        actions = set(s.scalars(select(AuditEvent.action)))
    assert any(a.startswith("case.lease") or "claim" in a for a in actions), actions
    assert any("contact" in a for a in actions), actions
