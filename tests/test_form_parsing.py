"""The form parsers: any text either reads as an in-range value or is refused with an
``InputProblem`` (shown in the form), never another exception."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_desk.screens.form import FieldProblem, checked
from tui_desk.screens.parsing import (
    MAX_AMOUNT_MINOR,
    InputProblem,
    check_name,
    check_text,
    normalise_digits,
    parse_amount,
    parse_callback,
    parse_future_date,
    parse_past_date,
    parse_percent,
    parse_slot_start,
    parse_whole,
)

TZ = "Asia/Shanghai"
NOW = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)

NASTY = [
    "１２３", "²", "½", "٣", "1e30", "NaN", "nan", "inf", "-inf", "-1", "0", "",
    "0001-01-01", "9999-12-31", "0001-01-01 00:00", "9999-12-31 23:59", "12-31 23:59",
    "\x00", "\x1b[31m", "\x85", "😀", "9" * 5000, "1" * 10_000, "+999d", "-999d",
    "tomorrow 24:00", "+9999m", "1,000,000,000,000,000.00", "¥１２００", "12%", "1e3%",
]  # fmt: skip

typed = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.text(alphabet="0123456789０１２３４５６７８９²³½٣.,:-+ %eEnNaIfdhm", max_size=25),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2})?\Z"),
)

Parser = Callable[[str], object]

PARSERS: dict[str, tuple[Parser, Callable[[object], bool]]] = {
    "amount": (parse_amount, lambda v: isinstance(v, int) and 0 < v < MAX_AMOUNT_MINOR),
    "whole": (
        lambda t: parse_whole(t, low=1, high=120),
        lambda v: isinstance(v, int) and 1 <= v <= 120,
    ),
    "percent": (
        lambda t: parse_percent(t, high=Decimal(100)),
        lambda v: isinstance(v, Decimal) and 0 <= v <= 1,
    ),
    "future": (
        lambda t: parse_future_date(t, TODAY, max_days=366),
        lambda v: isinstance(v, dt.date) and TODAY <= v <= TODAY + dt.timedelta(days=366),
    ),
    "past": (
        lambda t: parse_past_date(t, TODAY, max_days=3660),
        lambda v: isinstance(v, dt.date) and TODAY - dt.timedelta(days=3660) <= v <= TODAY,
    ),
    "callback": (
        lambda t: parse_callback(t, NOW, TZ),
        lambda v: isinstance(v, dt.datetime) and NOW < v <= NOW + dt.timedelta(days=30),
    ),
    "slot": (
        lambda t: parse_slot_start(t, NOW, TZ),
        lambda v: (
            isinstance(v, dt.datetime)
            and NOW - dt.timedelta(days=1) < v <= NOW + dt.timedelta(days=368)
        ),
    ),
    "text": (
        lambda t: check_text(t, max_length=200),
        lambda v: isinstance(v, str) and len(v) <= 200,
    ),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=300, deadline=None)
@given(text=typed)
def test_any_text_is_read_in_range_or_refused(name: str, text: str) -> None:
    parse, in_range = PARSERS[name]
    try:
        value = parse(text)
    except InputProblem as problem:
        assert str(problem)
        return
    assert in_range(value), (text, value)


@pytest.mark.parametrize("name", sorted(PARSERS))
@pytest.mark.parametrize("text", NASTY)
def test_the_known_bad_inputs_never_crash(name: str, text: str) -> None:
    parse, in_range = PARSERS[name]
    try:
        value = parse(text)
    except InputProblem:
        return
    assert in_range(value), (text, value)


def test_full_width_digits_read_as_digits() -> None:
    assert normalise_digits("１２３") == "123"
    assert parse_amount("１２００") == 120_000
    assert parse_whole("２４", low=1, high=60) == 24
    assert parse_future_date("２０２６-０３-０５", TODAY) == dt.date(2026, 3, 5)


@pytest.mark.parametrize("text", ["²", "½", "٣", "1²", "١٢"])
def test_other_numeric_characters_are_refused(text: str) -> None:
    with pytest.raises(InputProblem, match="digits 0-9"):
        parse_whole(text, low=0, high=999)
    with pytest.raises(InputProblem):
        parse_amount(text)


@pytest.mark.parametrize("text", ["1e30", "NaN", "inf", "-5", "101", "100.00001"])
def test_a_rate_out_of_bounds_is_refused(text: str) -> None:
    with pytest.raises(InputProblem):
        parse_percent(text, high=Decimal(100))


def test_a_rate_reads_as_a_fraction() -> None:
    assert parse_percent("7.5%", high=Decimal(100)) == Decimal("0.0750")


@pytest.mark.parametrize("text", ["0001-01-01 00:00", "9999-12-31 23:59", "2026-03-01 10:00"])
def test_a_visit_time_outside_the_horizon_is_refused(text: str) -> None:
    with pytest.raises(InputProblem):
        parse_slot_start(text, NOW, TZ)


def test_a_visit_time_within_the_horizon_is_read() -> None:
    start = parse_slot_start("03-06 10:00", NOW, TZ)
    assert start == dt.datetime(2026, 3, 6, 2, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31"])
def test_dates_at_the_ends_of_the_calendar_are_refused(text: str) -> None:
    with pytest.raises(InputProblem):
        parse_future_date(text, TODAY)
    with pytest.raises(InputProblem):
        parse_past_date(text, TODAY)


def test_an_amount_beyond_the_column_is_refused() -> None:
    with pytest.raises(InputProblem, match="too large"):
        parse_amount("9" * 19)


def test_texts_refuse_control_characters_and_overlong_input() -> None:
    with pytest.raises(InputProblem, match="U\\+001B"):
        check_text("red \x1b[31m", max_length=100)
    with pytest.raises(InputProblem, match="U\\+0085"):
        check_text("next\x85line", max_length=100)
    with pytest.raises(InputProblem, match="U\\+000A"):
        check_text("two\nlines", max_length=100)
    assert check_text("two\nlines", max_length=100, multiline=True) == "two\nlines"
    assert check_text("还款 😀", max_length=100) == "还款 😀"
    with pytest.raises(InputProblem, match="at most 2000"):
        check_text("x" * 10_000, max_length=2000)


def test_checked_turns_any_value_error_into_a_field_problem() -> None:
    def overflow() -> int:
        raise OverflowError("date value out of range")

    with pytest.raises(FieldProblem) as caught:
        checked("plan-first", overflow)
    assert caught.value.field == "plan-first"
    with pytest.raises(FieldProblem):
        checked("plan-count", lambda: int("²"))


@pytest.mark.parametrize("text", ["王小明😀", "REF-12🔥", "a\u200bb", "\ue000", "⚠ref"])
def test_names_and_references_refuse_emoji_and_symbols(text: str) -> None:
    with pytest.raises(InputProblem, match="letters, digits and punctuation"):
        check_name(text)


@pytest.mark.parametrize("text", ["王小明", "O'Brien-Smith", "REF/2026-11-25 #12", "José Núñez"])
def test_names_and_references_keep_letters_digits_and_punctuation(text: str) -> None:
    assert check_name(text) == text


@given(st.text(alphabet=st.characters(categories=["L", "M", "N", "P", "Zs"]), max_size=40))
def test_any_name_of_letters_and_punctuation_is_kept(text: str) -> None:
    assert check_name(text) == text


def test_a_past_date_is_never_told_to_be_plus_n_days() -> None:
    from tui_desk.screens.parsing import InputProblem, parse_past_date

    with pytest.raises(InputProblem) as refused:
        parse_past_date("someday", dt.date(2026, 3, 2))
    assert "-N days" in str(refused.value) and "+N" not in str(refused.value)
