"""Phone numbers: one E.164 form per number, clear refusals, national display."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_desk.demo.reference import CITIES, MOBILE_PREFIXES
from tui_desk.rules.phones import (
    PhoneCheck,
    fast_check,
    format_for_display,
    full_check,
    normalise_phone,
)


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


# -- the fast path gives the full parse's answer ----------------------------------------------

# Digits shaped like each plan's numbers, and like what its parse would strip or refuse:
# country codes, dialling prefixes, carrier codes, leading zeros, wrong lengths.
_CN_STARTS = [*MOBILE_PREFIXES, "1", "10", "11", "12", "179", "17951", "0", "00", "86", "400",
              "800", "95", "96", "2", "20", "21", "3", "5", "7", "9"]  # fmt: skip
_US_STARTS = ["1", "011", "0", "2", "212", "312", "415", "650", "800", "900", "555", "9832",
              "3", "4", "5", "6", "7", "8", "9", "211"]  # fmt: skip


def _numbers(starts: list[str], codes: list[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda code, start, rest, size: code + (start + rest)[:size],
        st.sampled_from(["", *codes]),
        st.sampled_from(starts),
        st.text(alphabet="0123456789", min_size=0, max_size=16),
        st.integers(min_value=1, max_value=19),
    )


@given(_numbers(_CN_STARTS, ["+86", "+1", "+852", "86", "0086"]), st.booleans())
def test_fast_path_agrees_with_the_full_parse_in_cn(typed: str, with_zone: bool) -> None:
    quick = fast_check(typed, "CN", with_zone=with_zone)
    full = full_check(typed, "CN", with_zone=with_zone)
    assert quick is None or quick == full
    assert normalise_phone(typed, "CN", with_zone=with_zone) == full


@given(_numbers(_US_STARTS, ["+1", "+86", "1", "011"]), st.booleans())
def test_fast_path_agrees_with_the_full_parse_in_the_us(typed: str, with_zone: bool) -> None:
    quick = fast_check(typed, "US", with_zone=with_zone)
    full = full_check(typed, "US", with_zone=with_zone)
    assert quick is None or quick == full
    assert normalise_phone(typed, "US", with_zone=with_zone) == full


@given(mobiles, st.booleans())
def test_plain_mobiles_take_the_fast_path(national: str, plus: bool) -> None:
    typed = f"+86{national}" if plus else national
    quick = fast_check(typed, "CN", with_zone=True)
    assert quick is not None
    assert quick == full_check(typed, "CN", with_zone=True)


@given(
    st.integers(min_value=2, max_value=9),
    st.integers(min_value=0, max_value=99),
    st.integers(min_value=2, max_value=9),
    st.integers(min_value=0, max_value=999_999),
    st.booleans(),
)
def test_north_american_numbers_agree_on_both_paths(
    a: int, b: int, c: int, rest: int, with_zone: bool
) -> None:
    typed = f"{a}{b:02d}{c}{rest:06d}"
    quick = fast_check(typed, "US", with_zone=with_zone)
    full = full_check(typed, "US", with_zone=with_zone)
    assert quick is None or quick == full
    if full.ok and phonenumbers.is_valid_number_for_region(phonenumbers.parse(typed, "US"), "US"):
        # Every plain number valid in the US itself is answered without the full parse
        # (Canada and the Caribbean share the country code: those take the full parse).
        assert quick is not None


def test_the_fast_path_leaves_other_regions_and_spellings_to_the_full_parse() -> None:
    assert fast_check("13812348000", "ZZ") is None
    assert fast_check("138 1234 8000", "CN") is None
    assert fast_check("17951 13812348000", "CN") is None
    assert fast_check("020 7946 0018", "GB") is None  # a national prefix: parse strips it
    assert fast_check("2079460018", "GB") == full_check("2079460018", "GB")
