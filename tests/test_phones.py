"""Phone numbers: one E.164 form per number, clear refusals, national display."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_desk.demo.reference import CITIES, MOBILE_PREFIXES
from tui_desk.rules.phones import PhoneCheck, format_for_display, normalise_phone


@pytest.mark.parametrize(
    "typed",
    [
        "+86 138 1234 8000",
        "0086-138-1234-8000",
        "13812348000",
        "138 1234 8000",
        "(+86) 138-1234-8000",
        "+86 (138) 1234-8000",
        "１３８１２３４８０００",
    ],
)
def test_spellings_of_one_mobile_agree(typed: str) -> None:
    assert normalise_phone(typed) == PhoneCheck(
        ok=True, e164="+8613812348000", reason=None, kind="mobile"
    )


def test_landline_with_area_code() -> None:
    result = normalise_phone("(010) 8847-2768")
    assert result.ok
    assert result.e164 == "+861088472768"
    assert result.kind == "landline"
    assert normalise_phone("+86 10 8847 2768").e164 == result.e164


def test_foreign_number_with_country_code() -> None:
    result = normalise_phone("+1 650 253 0000")
    assert result.ok
    assert result.e164 == "+16502530000"
    assert result.kind is None  # the North American plan does not tell mobiles apart


def test_default_region_reads_national_numbers() -> None:
    assert normalise_phone("020 7946 0018", default_region="GB").e164 == "+442079460018"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "no phone number was given"),
        ("   ", "no phone number was given"),
        ("abc", "this is not a phone number"),
        ("+86", "this is not a phone number"),
        ("12345", "the number is too short (is the area code missing?)"),
        ("138123480001", "this is not a valid number in CN"),
        ("+86 100 1234 5678", "this is not a valid number in CN"),
        ("+999 1234 5678", "the country code is missing or unknown"),
        ("1" * 80, "the number is too long"),
    ],
)
def test_refusals_say_why(typed: str, reason: str) -> None:
    result = normalise_phone(typed)
    assert result == PhoneCheck(ok=False, e164=None, reason=reason)


def test_display_is_national_at_home_and_international_abroad() -> None:
    assert format_for_display("+8613812348000") == "138 1234 8000"
    assert format_for_display("+861088472768") == "010 8847 2768"
    assert format_for_display("+16502530000") == "+1 650-253-0000"
    assert format_for_display("not a number") == "not a number"


mobiles = st.builds(
    lambda prefix, rest: f"{prefix}{rest:08d}",
    st.sampled_from(MOBILE_PREFIXES),
    st.integers(min_value=0, max_value=99_999_999),
)


@given(mobiles)
def test_seed_mobile_prefixes_are_valid_in_every_spelling(national: str) -> None:
    spaced = f"{national[:3]} {national[3:7]} {national[7:]}"
    spellings = [national, f"+86 {spaced}", f"0086-{national[:3]}-{national[3:7]}-{national[7:]}"]
    results = {normalise_phone(s) for s in spellings}
    assert results == {PhoneCheck(ok=True, e164=f"+86{national}", reason=None, kind="mobile")}
    assert format_for_display(f"+86{national}") == spaced


@given(
    st.sampled_from([city.area_code for city in CITIES]),
    st.integers(min_value=2, max_value=7),
    st.integers(min_value=0, max_value=9_999_999),
)
def test_seed_landline_ranges_are_valid(area: str, first: int, rest: int) -> None:
    number = phonenumbers.parse(f"+86{area}{first}{rest:07d}")
    assert phonenumbers.is_valid_number(number)


@given(st.text(max_size=40))
def test_any_text_gets_an_answer(typed: str) -> None:
    result = normalise_phone(typed)
    assert result.ok == (result.e164 is not None)
    if not result.ok:
        assert result.reason
    else:
        assert normalise_phone(result.e164 or "") == result


@given(st.text(alphabet="+0123456789 -()x", max_size=30), st.sampled_from(["CN", "US", "", "ZZ"]))
def test_phone_like_text_never_raises(typed: str, region: str) -> None:
    result = normalise_phone(typed, default_region=region)
    assert isinstance(result, PhoneCheck)
    assert isinstance(format_for_display(typed), str)
