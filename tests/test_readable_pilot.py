"""Readable at 80x24: F1 help is a compact table, one line per key, grouped by pane and
filtered by typing; form captions stand apart from their values, with units."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rich.cells import cell_len

from tests import pilot as helpers
from tests.factories import Factory
from tests.screens import NOW, desk_app, freeze_clock, office
from tui_desk.db.engine import Database
from tui_desk.db.models import AccountStatus, LoanAccount, Phone, PhoneKind, Product, Relation
from tui_desk.formatting import money
from tui_desk.i18n import _, set_language
from tui_desk.screens.help import HelpModal, HelpRow, help_lines, matches
from tui_desk.widgets.case_header import CaseHeader

pytestmark = pytest.mark.usefixtures("quick_debounce")

ROW = HelpRow("Desk", "l", "Log contact", "Log a call, SMS or email", ("desk.log",))


def test_every_line_fits_its_width_with_a_cue() -> None:
    rows = [ROW, HelpRow("Queue", "up", "Up", "Move " + "far " * 40, ())]
    lines = help_lines(rows, 60).plain.splitlines()
    assert lines[0].strip() == "Desk" and "Queue" in lines[2]
    assert all(cell_len(line) <= 60 for line in lines)
    assert lines[3].endswith("..")


def test_search_matches_every_word_anywhere() -> None:
    assert matches(ROW, "sms log") and matches(ROW, "DESK") and not matches(ROW, "payment")


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_help_at_80x24_is_one_line_per_key_and_searchable(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    freeze_clock(monkeypatch)
    set_language(language)
    place = office(sqlite_db)
    app = desk_app(place)
    async with app.run_test(size=(80, 24)) as pilot:
        await helpers.settle(pilot)
        await pilot.press("f1")
        await helpers.settle(pilot)
        modal = app.screen
        assert isinstance(modal, HelpModal)
        shown = helpers.screen_text(app, legacy_windows=False)
        # At least 15 keys on one screen: one line each, no wrapped descriptions.
        assert sum(1 for r in modal.rows if f" {r.keys} " in shown) >= 15
        await pilot.press("dollar_sign")  # typed into the search: the payment key
        await helpers.settle(pilot)
        assert modal.shown_rows and all(matches(r, "$") for r in modal.shown_rows)
        assert len(modal.shown_rows) < len(modal.rows)
        await pilot.press("escape")
        await helpers.settle(pilot)
        assert not isinstance(app.screen, HelpModal)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_form_captions_stand_apart_from_their_values_with_units(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    freeze_clock(monkeypatch)
    set_language(language)
    place = office(sqlite_db)
    app = desk_app(place)
    async with app.run_test(size=(80, 24)) as pilot:
        await helpers.open_case(pilot, place.first)
        await pilot.press("H")  # the hardship adjustment form
        await helpers.settle(pilot)
        for row in app.screen.query(".form-row"):
            label = row.query_one(".form-label")
            caption = str(label.render()).rstrip()
            # The caption fits its column and leaves a blank cell before the value.
            assert cell_len(caption) < label.size.width, caption
        units = [str(u.render()).strip() for u in app.screen.query(".form-unit")]
        assert len(units) == 3 and all(units)


async def test_every_focus_stop_of_the_plan_form_is_a_field_or_a_visible_area(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze_clock(monkeypatch)
    place = office(sqlite_db)
    app = desk_app(place)
    async with app.run_test(size=(160, 50)) as pilot:
        await helpers.open_case(pilot, place.first)
        await pilot.press("P")
        await helpers.settle(pilot)
        stops = []
        for _ in range(14):
            focused = app.screen.focused
            assert focused is not None
            stops.append(focused)
            await pilot.press("tab")
            await pilot.pause()
        fields = set(app.screen.query(".form-field").results())
        others = {w for w in stops if w not in fields}
        # The schedule preview may take focus (to scroll it), and then shows it has it.
        assert {w.id for w in others} <= {"plan-preview"}
        for widget in others:
            widget.focus()
            await pilot.pause()
            assert widget.styles.border_left[0] not in ("", "none", "hidden", "blank"), widget


def _crowd_the_case(db: Database, case_id: int) -> None:
    """Three phones and three loans more on the case: more than its header has room for."""
    make = Factory(db, now=NOW)
    borrower = make.borrower_of(case_id)
    with db.write() as s:
        for n, relation in enumerate((Relation.SPOUSE, Relation.GUARANTOR, Relation.EMPLOYER)):
            s.add(
                Phone(
                    borrower_id=borrower,
                    e164=f"+8613{n + 5}0000{n}{n}{n}{n}",
                    kind=PhoneKind.MOBILE,
                    relation=relation,
                    verified=True,
                    do_not_call=False,
                    created_at=NOW,
                )
            )
        for n in range(3):
            s.add(
                LoanAccount(
                    external_id=f"LN-CROWD-{n}",
                    borrower_id=borrower,
                    case_id=case_id,
                    product=Product.CREDIT_CARD,
                    status=AccountStatus.OVERDUE,
                    currency="CNY",
                    principal_minor=9_000_000,
                    outstanding_principal_minor=7_654_321 + n,
                    outstanding_interest_minor=123_456 + n,
                    outstanding_penalty_minor=98_765 + n,
                    outstanding_fees_minor=45_678 + n,
                    overdue_minor=1_000_000,
                    annual_rate=Decimal("0.1800"),
                    opened_on=NOW.date() - dt.timedelta(days=900),
                    overdue_since=NOW.date() - dt.timedelta(days=60),
                )
            )


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_a_crowded_case_header_at_80x24_shows_every_balance_and_phone_by_scrolling(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    freeze_clock(monkeypatch)
    set_language(language)
    place = office(sqlite_db)
    _crowd_the_case(sqlite_db, place.first)
    app = desk_app(place)
    async with app.run_test(size=(80, 24)) as pilot:
        await helpers.open_case(pilot, place.first)
        await pilot.press("f3")
        await helpers.settle(pilot)
        header = app.screen.query_one(CaseHeader)
        detail = header.detail
        assert detail is not None and len(detail.accounts) == 4 and len(detail.phones) == 4
        wanted = {p.number for p in detail.phones} | {
            money(minor, a.currency)
            for a in detail.accounts
            for minor in (
                a.outstanding_principal_minor,
                a.outstanding_interest_minor,
                a.outstanding_penalty_minor,
                a.outstanding_fees_minor,
            )
        }
        # Too much for its room: the header says so on its edge, with the key to press.
        assert header.max_scroll_y > 0
        cue = _("{n} more lines below: i shows them").format(n=header.max_scroll_y)
        assert cue in helpers.screen_text(app, legacy_windows=False)
        await pilot.press("i")
        await helpers.settle(pilot)
        assert header.has_focus
        seen = helpers.screen_text(app, legacy_windows=False)
        for _step in range(20):
            if header.scroll_y >= header.max_scroll_y:
                break
            await pilot.press("down")
            await helpers.settle(pilot)
            seen += helpers.screen_text(app, legacy_windows=False)
        # Every phone and every balance was on screen whole, on one line (a phone number
        # keeps its space unbroken: never "+86" at the end of one line, the rest below).
        seen = seen.replace("\xa0", " ")
        assert {value for value in wanted if value not in seen} == set()
        await pilot.press("escape")
        await helpers.settle(pilot)
        assert not header.has_focus and app.screen.focused is not None
        assert app.screen.focused.id == "contact-rows"
