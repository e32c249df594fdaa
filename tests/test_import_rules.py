"""Reading the loan system's rows (pure): amounts, dates, IDs, phones, kinds, duplicates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import cn_id_number
from tui_desk.rules.imports import (
    BatchLedger,
    RowError,
    Value,
    decimal_to_minor,
    header_kind,
    parse_account,
    parse_payment,
    to_minor,
    to_rate,
)
from tui_desk.rules.search import reverse_digits
from tui_desk.rules.text import first_unsafe, unsafe_chars

TODAY = dt.date(2026, 3, 10)
PRODUCTS = frozenset({"consumer_loan", "credit_card"})
CHANNELS = frozenset({"import", "door", "bank_transfer"})


def account_row(**over: Value) -> dict[str, Value]:
    row: dict[str, Value] = {
        "account_id": "LN1",
        "borrower_id": "C1",
        "name": "张三",
        "id_number": cn_id_number("110105", dt.date(1985, 3, 14), 1),
        "address": "北京市朝阳区建国路88号",
        "city": "北京市",
        "district": "朝阳区",
        "region_code": "110105",
        "phone": "138 1234 8000",
        "phone2": "",
        "product": "consumer_loan",
        "status": "overdue",
        "principal": "50000.00",
        "outstanding_principal": "10000",
        "outstanding_interest": "2000.5",
        "outstanding_penalty": "300",
        "outstanding_fees": "45.67",
        "opened_on": "2024-01-05",
        "overdue_since": "2026-01-20",
    }
    row.update(over)
    return row


def parse(**over: Value) -> object:
    return parse_account(account_row(**over), 2, today=TODAY, products=PRODUCTS)


def test_a_good_account_row() -> None:
    rec = parse_account(account_row(), 2, today=TODAY, products=PRODUCTS)
    assert rec.borrower.phones[0].e164 == "+8613812348000"
    assert rec.outstanding_interest_minor == 200_050
    assert rec.outstanding_fees_minor == 4_567
    # No overdue_amount: an overdue account is in arrears for all it owes.
    assert rec.overdue_minor == rec.outstanding_minor == 1_234_617
    assert rec.overdue_since == dt.date(2026, 1, 20)
    assert rec.annual_rate == Decimal("0")


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"phone": "12345"}, "invalid phone in phone"),
        ({"phone2": "999"}, "invalid phone in phone2"),
        ({"id_number": "110105198503140010"}, "check digit should be"),
        ({"outstanding_fees": "-1.00"}, "negative amount in outstanding_fees"),
        ({"principal": "1.005"}, "more than two decimals"),
        ({"product": "payday"}, "unknown product payday"),
        ({"status": "lost"}, "unknown account status"),
        ({"overdue_since": ""}, "needs overdue_since"),
        ({"overdue_since": "2026-04-01"}, "in the future"),
        ({"opened_on": "05/01/2024"}, "not a date"),
        ({"region_code": "11010"}, "six digits"),
        ({"name": " "}, "name is empty"),
        ({"annual_rate": "abc"}, "annual_rate is not a number"),
        ({"name": "张\x1b]0;pwned\x07三"}, "name contains the control character U\\+001B"),
        ({"address": "北京\x00朝阳"}, "address contains the control character U\\+0000"),
        ({"city": "北京\x9b"}, "city contains the control character U\\+009B"),
        ({"name": "张三\x1f"}, "name contains the control character U\\+001F"),
        ({"opened_on": "0001-01-01"}, "opened_on is before 1900-01-01"),
    ],
)
def test_bad_account_rows_say_why(over: dict[str, Value], reason: str) -> None:
    with pytest.raises(RowError, match=reason):
        parse(**over)


def test_non_overdue_accounts_carry_no_arrears() -> None:
    rec = parse_account(
        account_row(status="settled", overdue_amount="100"), 2, today=TODAY, products=PRODUCTS
    )
    assert rec.overdue_minor == 0 and rec.overdue_since is None


def test_rates_and_old_ids() -> None:
    assert to_rate("18.25%") == Decimal("0.1825")
    assert to_rate(Decimal("0.12")) == Decimal("0.1200")
    old = parse_account(account_row(id_number="110105850314001"), 2, today=TODAY, products=PRODUCTS)
    assert len(old.borrower.id_number) == 18


@given(st.integers(min_value=0, max_value=10**11))
def test_minor_units_round_trip(minor: int) -> None:
    text = f"{minor // 100}.{minor % 100:02d}"
    assert to_minor(text, "amount") == minor
    assert to_minor(Decimal(text), "amount") == minor


def _minor_or_reason(raw: str) -> int | str:
    try:
        return to_minor(raw, "amount")
    except RowError as exc:
        return str(exc)


def _decimal_or_reason(raw: str) -> int | str:
    try:
        return decimal_to_minor(raw, "amount")
    except RowError as exc:
        return str(exc)


@given(
    st.one_of(
        st.from_regex(r"\A[0-9]{1,12}(\.[0-9]{0,3})?\Z"),
        st.text(alphabet="0123456789.,- +e_", max_size=16),
    )
)
def test_plain_amounts_read_as_the_decimal_way_reads_them(raw: str) -> None:
    assert _minor_or_reason(raw) == _decimal_or_reason(raw)


def test_payment_rows() -> None:
    row: dict[str, Value] = {
        "payment_id": "P1",
        "account_id": "LN1",
        "amount": "500.00",
        "paid_on": "2026-03-09",
    }
    rec = parse_payment(row, 2, today=TODAY, channels=CHANNELS)
    assert (rec.amount_minor, rec.channel, rec.reference) == (50_000, "import", None)
    with pytest.raises(RowError, match="above zero"):
        parse_payment({**row, "amount": "0"}, 2, today=TODAY, channels=CHANNELS)
    with pytest.raises(RowError, match="negative amount"):
        parse_payment({**row, "amount": "-5"}, 2, today=TODAY, channels=CHANNELS)
    with pytest.raises(RowError, match="unknown payment channel"):
        parse_payment({**row, "channel": "cash"}, 2, today=TODAY, channels=CHANNELS)


def test_headers_decide_the_kind() -> None:
    assert header_kind(list(account_row())) == "account"
    assert header_kind(["payment_id", "account_id", "amount", "paid_on"]) == "payment"
    with pytest.raises(RowError, match="lacks the columns: amount"):
        header_kind(["payment_id", "account_id", "paid_on"])
    with pytest.raises(RowError, match="neither"):
        header_kind(["foo", "bar"])


def test_duplicates_and_disagreeing_borrowers_in_one_batch() -> None:
    seen = BatchLedger()
    seen.claim("account", "LN1", 2)
    seen.claim("payment", "LN1", 3)  # another kind of id: no clash
    with pytest.raises(RowError, match="duplicate account id LN1 in this import \\(first at row 2"):
        seen.claim("account", "LN1", 4)
    first = parse_account(account_row(), 2, today=TODAY, products=PRODUCTS)
    seen.check_borrower(first)
    seen.check_borrower(
        parse_account(account_row(account_id="LN2"), 3, today=TODAY, products=PRODUCTS)
    )
    other = parse_account(
        account_row(account_id="LN3", address="上海市"), 4, today=TODAY, products=PRODUCTS
    )
    with pytest.raises(RowError, match="borrower C1 differs from row 2 in: address"):
        seen.check_borrower(other)


def test_a_rejected_id_number_is_shown_masked() -> None:
    with pytest.raises(RowError) as refused:
        parse(id_number="110105198503140010")
    message = str(refused.value)
    assert "110105198503140010" not in message
    assert "**************0010" in message and "check digit should be" in message


@given(st.text(max_size=30))
def test_reversed_digits_of_any_text(text: str) -> None:
    # The character-by-character definition, against the regular-expression way for ASCII.
    expected = "".join(ch for ch in text if ch.isdigit() or ch in "Xx").upper()[::-1]
    assert reverse_digits(text) == expected


@given(st.text(max_size=30))
def test_first_unsafe_character_is_the_first_listed(text: str) -> None:
    listed = unsafe_chars(text)
    assert first_unsafe(text) == (listed[0] if listed else None)
