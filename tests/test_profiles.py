"""Both shipped profiles honoured: phones read in the profile's country, the identity
document and region code the profile names, masking that follows the document; the
importer (both engines) and the desk (Pilot) on the CN and the US profile."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.factories import cn_id_number
from tests.pilot import modal_text, open_case, screen_text, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import Borrower, CollectionCase, Phone, Role
from tui_desk.rules import identity
from tui_desk.rules.imports import (
    ACCOUNT_OPTIONAL,
    ACCOUNT_REQUIRED,
    AccountRecord,
    RowError,
    parse_account,
)
from tui_desk.rules.masking import mask_id
from tui_desk.rules.phones import example_number, normalise_phone, number_time_zone
from tui_desk.rules.profile import load_profile
from tui_desk.screens.casework_modals import PhoneModal
from tui_desk.services import importer
from tui_desk.services.agents import add_agent
from tui_desk.services.case_facts import known_values, scrub_text
from tui_desk.services.contact_checks import number_zones
from tui_desk.services.context import Actor

NOW = dt.datetime(2026, 3, 10, 16, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 10)
CN = load_profile("cn")
US = load_profile("us-regf")
PRODUCTS = frozenset({"consumer_loan", "credit_card"})
COLUMNS = (*ACCOUNT_REQUIRED, *ACCOUNT_OPTIONAL)
pytestmark = pytest.mark.usefixtures("quick_debounce")


def cn_row(n: int = 1, **over: str) -> dict[str, str]:
    row = {
        "account_id": f"LN{n:05d}", "borrower_id": f"C{n:05d}", "name": "张伟",
        "id_number": cn_id_number("110105", dt.date(1980, 1, 1), n), "address": "北京市朝阳区建国路1号",
        "city": "北京市", "district": "朝阳区", "region_code": "110105", "phone": "138 1234 8000",
        "product": "consumer_loan", "status": "overdue", "principal": "5000.00",
        "outstanding_principal": "4000.00", "outstanding_interest": "100.00",
        "outstanding_penalty": "0", "outstanding_fees": "0", "opened_on": "2024-01-05",
        "overdue_since": "2026-01-20",
    }  # fmt: skip
    row.update(over)
    return row


def us_row(n: int = 1, **over: str) -> dict[str, str]:
    row = {
        "account_id": f"US{n:05d}", "borrower_id": f"U{n:05d}", "name": "Maria Lopez",
        "id_number": "", "address": "1200 W Madison St Apt 4", "city": "Chicago",
        "district": "Cook County", "region_code": "60607", "phone": "(312) 555-0123",
        "product": "credit_card", "status": "overdue", "principal": "5000.00",
        "outstanding_principal": "4000.00", "outstanding_interest": "100.00",
        "outstanding_penalty": "0", "outstanding_fees": "0", "opened_on": "2024-01-05",
        "overdue_since": "2026-01-20",
    }  # fmt: skip
    row.update(over)
    return row


def _parse(row: dict[str, str], profile: str) -> AccountRecord:
    prof = CN if profile == "cn" else US
    return parse_account(
        row, 2, today=TODAY, products=PRODUCTS, phone_region=prof.country,
        identity=prof.identity, office_zone=prof.office_timezone,
        default_currency=prof.currency,
    )  # fmt: skip


# --- rules ------------------------------------------------------------------------------------


def test_the_profiles_name_their_document() -> None:
    assert CN.identity.document == identity.CN_RESIDENT_ID and CN.identity.required
    assert US.identity.document == identity.US_SSN and not US.identity.required
    assert US.masking.document == identity.US_SSN


@pytest.mark.parametrize(
    ("raw", "ok", "normal"),
    [
        ("123-45-6789", True, "123456789"),
        ("123 45 6789", True, "123456789"),
        ("000-12-3456", False, None),
        ("666-12-3456", False, None),
        ("912-12-3456", False, None),
        ("123-00-4567", False, None),
        ("123-45-0000", False, None),
        ("12345678", False, None),
        ("１２３-45-6789", False, None),  # full-width digits are not an SSN
        ("", True, ""),  # not required under the US profile
    ],
)
def test_social_security_numbers(raw: str, ok: bool, normal: str | None) -> None:
    check = identity.validate_document(raw, US.identity, TODAY)
    assert check.ok is ok and check.normalized == normal
    if not ok:
        assert check.reason


def test_a_resident_id_stays_required_and_checked_under_cn() -> None:
    assert not identity.validate_document("", CN.identity, TODAY).ok
    good = cn_id_number("110105", dt.date(1980, 1, 1), 3)
    assert identity.validate_document(good, CN.identity, TODAY).normalized == good
    # A Chinese resident ID is not a US document.
    assert not identity.validate_document(good, US.identity, TODAY).ok


def test_region_codes_follow_the_profile() -> None:
    assert identity.region_code_problem("110105", CN.identity) is None
    assert identity.region_code_problem("60607", CN.identity)
    assert identity.region_code_problem("60607", US.identity) is None
    assert identity.region_code_problem("110105", US.identity)


@given(st.from_regex(r"[0-8][0-9]{2}[0-9]{2}[0-9]{4}", fullmatch=True))
def test_an_ssn_is_masked_to_its_last_four(digits: str) -> None:
    masked = mask_id(digits, US.masking)
    assert masked == f"***-**-{digits[5:]}"
    assert digits[:5] not in masked


def test_cn_masking_is_unchanged() -> None:
    assert mask_id("110105194912310021", CN.masking) == "110105********0021"


def test_an_ssn_quoted_in_a_note_is_masked() -> None:
    borrower = Borrower(id_number="123456789", address="1200 W Madison St")
    known = known_values(borrower, [], US.masking)
    note = scrub_text("borrower read out 123-45-6789 on the call", US.masking, known)
    assert "123-45-6789" not in note and "***-**-6789" in note


def test_phones_are_read_in_the_profile_country() -> None:
    us = normalise_phone("(312) 555-0123", US.country)
    assert us.ok and us.e164 == "+13125550123"
    assert number_time_zone("+13125550123") == "America/Chicago"
    assert number_zones("+13125550123") == ("America/Chicago",)
    cn = normalise_phone("138 1234 8000", CN.country)
    assert cn.e164 == "+8613812348000"
    assert example_number("US").startswith("+1 ") and example_number("CN").startswith("+86 ")


def test_the_importer_rules_follow_the_profile() -> None:
    record = _parse(us_row(), "us-regf")
    borrower = record.borrower
    assert borrower.phones[0].e164 == "+13125550123"
    assert borrower.id_number == "" and borrower.zone_for_new == "America/Chicago"
    assert record.currency == "USD"
    with_ssn = _parse(us_row(id_number="123-45-6789"), "us-regf")
    assert with_ssn.borrower.id_number == "123456789"
    with pytest.raises(RowError, match="Social Security"):
        _parse(us_row(id_number="000-45-6789"), "us-regf")
    with pytest.raises(RowError, match="ZIP"):
        _parse(us_row(region_code="110105"), "us-regf")
    # The CN profile still files everyone under a resident ID, numbers as Chinese ones.
    cn_record = _parse(cn_row(), "cn")
    assert cn_record.currency == "CNY"
    cn = cn_record.borrower
    assert cn.phones[0].e164 == "+8613812348000" and cn.zone_for_new == "Asia/Shanghai"
    with pytest.raises(RowError, match="id_number"):
        _parse(cn_row(id_number=""), "cn")


# --- the importer, both engines ---------------------------------------------------------------


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=list(COLUMNS), restval="")
        out.writeheader()
        out.writerows(rows)
    return path


@pytest.mark.parametrize("profile", ["cn", "us-regf"])
def test_the_importer_on_both_profiles(db: Database, tmp_path: Path, profile: str) -> None:
    prof = load_profile(profile)
    rows = [cn_row(1), cn_row(2)] if profile == "cn" else [us_row(1), us_row(2, id_number="")]
    if profile == "us-regf":
        rows[1].update(phone="212 555 0188", borrower_id="U00002", name="John Smith")
    summary = importer.import_csv(db, _csv(tmp_path / "a.csv", rows), now=NOW, profile=prof)
    assert summary.rejected == 0 and summary.created == 2, summary
    with db.read() as s:
        borrowers = list(s.scalars(select(Borrower).order_by(Borrower.id)))
        s.expunge_all()
        phones = [p.e164 for p in s.scalars(select(Phone).order_by(Phone.id))]
        cases = s.scalars(select(CollectionCase)).all()
    assert len(cases) == 2
    if profile == "cn":
        assert phones == ["+8613812348000"] * 2
        assert {b.timezone for b in borrowers} == {"Asia/Shanghai"}
    else:
        assert phones == ["+13125550123", "+12125550188"]
        assert [b.timezone for b in borrowers] == ["America/Chicago", "America/New_York"]
        assert [b.id_number for b in borrowers] == ["", ""]
    # Idempotent: the same file again changes nothing.
    again = importer.import_csv(db, _csv(tmp_path / "b.csv", rows), now=NOW, profile=prof)
    assert again.unchanged == 2 and again.created == 0 and again.updated == 0


# --- the desk, both profiles ------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["cn", "us-regf"])
async def test_the_desk_opens_an_imported_case_on_both_profiles(
    sqlite_db: Database, tmp_path: Path, profile: str
) -> None:
    prof = load_profile(profile)
    row = cn_row(1) if profile == "cn" else us_row(1, id_number="123-45-6789")
    importer.import_csv(sqlite_db, _csv(tmp_path / "a.csv", [row]), now=NOW, profile=prof)
    agent = add_agent(sqlite_db, "op", "Op", Role.OPERATOR, now=NOW, profile=prof)
    actor = Actor(id=agent.id, login="op", name="Op", role=Role.OPERATOR)
    with sqlite_db.read() as s:
        case_id = s.scalars(select(CollectionCase.id)).one()
        borrower = s.scalars(select(Borrower)).one()
        s.expunge(borrower)
        full_phone = s.scalars(select(Phone.e164)).one()
    app = DeskApp(
        db=sqlite_db, actor=actor,
        settings=Settings(database_url=str(sqlite_db.url), profile=profile), clock=lambda: NOW,
    )  # fmt: skip
    async with app.run_test(size=(160, 50)) as pilot:
        await open_case(pilot, case_id)
        text = screen_text(app)
        assert borrower.name in text
        # Nothing personal in full; the ID masked as its document is.
        assert borrower.id_number not in text and full_phone not in text
        if profile == "us-regf":
            assert "***-**-6789" in text
        else:
            assert "110105********" in text
        # Adding a number: typed the way people there write it, read in that country.
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, PhoneModal))
        local = "(312) 555-0199" if profile == "us-regf" else "139 1234 5678"
        app.screen.query_one("#phone-number").focus()
        await pilot.press(*local)
        await until(pilot, lambda: "valid number" in modal_text(app))
        await pilot.press("enter", "enter")  # to the holder (optional), then save
        await until(pilot, lambda: not isinstance(app.screen, PhoneModal))
    with sqlite_db.read() as s:
        numbers = set(s.scalars(select(Phone.e164)))
    assert ("+13125550199" if profile == "us-regf" else "+8613912345678") in numbers
