"""Resident ID numbers (GB 11643-1999): worked examples and properties."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_desk.i18n import set_language
from tui_desk.rules.idcard import IdCheck, check_digit, generate_id, validate_id

TODAY = dt.date(2025, 3, 14)
REGIONS = ("110105", "310115", "440106", "440305", "510107", "330106", "420106", "820000")

ids = st.builds(
    generate_id,
    st.builds(random.Random, st.integers()),
    st.sampled_from(REGIONS),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY),
    st.integers(min_value=0, max_value=999),
)


def test_worked_example() -> None:
    assert check_digit("11010519491231002") == "X"
    result = validate_id("11010519491231002X", TODAY)
    assert result == IdCheck(ok=True, normalized="11010519491231002X", reason=None)


def test_lower_case_x_and_spaces_are_normalised() -> None:
    result = validate_id("  11010519491231002x ", TODAY)
    assert result.ok
    assert result.normalized == "11010519491231002X"


def test_old_fifteen_digit_number_is_converted() -> None:
    result = validate_id("110105491231002", TODAY)
    assert result.ok
    assert result.normalized == "11010519491231002X"
    assert result.reason is not None and "converted" in result.reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("110105194912310021", "the check digit should be X"),
        ("99010519491231002X", "99 is not a province code"),
        ("11010519491331002X", "the birth date 19491331 is not a real date"),
        ("11010520990101002X", "the birth date 2099-01-01 is in the future"),
        ("1101051949123100", "an ID number has 18 characters (or 15 in the old format), not 16"),
        (
            "110105194912310A2X",
            "an ID number contains only digits, with X allowed as the last character",
        ),
        (
            "11010519491231002Y",
            "an ID number contains only digits, with X allowed as the last character",
        ),
        ("", "no ID number was given"),
        ("990105491231002", "99 is not a province code"),
        ("11010549123100X", "an old 15-character ID number contains only digits"),
        ("110105490231002", "the birth date 19490231 is not a real date"),
    ],
)
def test_refusals_say_why(value: str, reason: str) -> None:
    result = validate_id(value, TODAY)
    assert not result.ok
    assert result.normalized is None
    assert result.reason == reason


def test_reasons_are_translated() -> None:
    set_language("zh_CN")
    result = validate_id("110105194912310021", TODAY)
    assert not result.ok and result.reason


def test_check_digit_needs_seventeen_digits() -> None:
    for bad in ("1101051949123100", "1101051949123100２", "11010519491231002X"):
        with pytest.raises(ValueError):
            check_digit(bad)


def test_generate_id_checks_its_inputs() -> None:
    rng = random.Random(1)
    with pytest.raises(ValueError):
        generate_id(rng, "990105", dt.date(1980, 1, 1), 1)
    with pytest.raises(ValueError):
        generate_id(rng, "1101", dt.date(1980, 1, 1), 1)
    with pytest.raises(ValueError):
        generate_id(rng, "110105", dt.date(1980, 1, 1), 1000)
    drawn = generate_id(rng, "110105", dt.date(1980, 1, 1))
    assert validate_id(drawn, TODAY).ok


@given(ids)
def test_generated_ids_validate(value: str) -> None:
    result = validate_id(value, TODAY)
    assert result.ok, result.reason
    assert result.normalized == value


@given(ids, st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=10))
def test_changing_one_character_breaks_the_check(value: str, position: int, shift: int) -> None:
    alphabet = "0123456789X" if position == 17 else "0123456789"
    current = alphabet.index(value[position])
    replacement = alphabet[(current + shift) % len(alphabet)]
    if replacement == value[position]:
        return
    changed = value[:position] + replacement + value[position + 1 :]
    assert not validate_id(changed, TODAY).ok


@given(ids)
def test_fifteen_digit_form_converts_back(value: str) -> None:
    if value[6:8] != "19":
        return
    old = value[:6] + value[8:17]
    result = validate_id(old, TODAY)
    assert result.ok
    assert result.normalized == value


@given(st.text(max_size=40))
def test_any_text_gets_an_answer(value: str) -> None:
    result = validate_id(value, TODAY)
    assert isinstance(result, IdCheck)
    assert result.ok == (result.normalized is not None)
    if not result.ok:
        assert result.reason


@given(st.text(alphabet="0123456789Xx ", min_size=14, max_size=19))
def test_digit_strings_get_an_answer(value: str) -> None:
    result = validate_id(value, TODAY)
    if result.ok:
        assert result.normalized is not None and len(result.normalized) == 18
        assert check_digit(result.normalized[:17]) == result.normalized[17]


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_digit_is_the_weighted_sum_of_the_standard(first17: str) -> None:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    assert check_digit(first17) == "10X98765432"[total % 11]


@pytest.mark.parametrize("bad", ["1101051949123100", "1101051949123100X", "١١٠١٠٥١٩٤٩١٢٣١٠٠٢"])
def test_check_digit_needs_seventeen_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="17 digits"):
        check_digit(bad)
