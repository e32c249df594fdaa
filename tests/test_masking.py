"""Personal data is masked by one helper; no full ID number or phone number survives it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_desk.rules.masking import MASK, mask_address, mask_id, mask_phone
from tui_desk.rules.profile import MaskingPolicy, load_profile

CN = load_profile("cn").masking
US = load_profile("us-regf").masking
POLICIES = st.sampled_from([CN, US])

# 17 digits and a check character, as on a resident ID card.
id_numbers = st.builds(
    lambda body, check: body + check,
    st.text("0123456789", min_size=17, max_size=17),
    st.sampled_from("0123456789X"),
)
# Mainland mobile numbers: 1, then 3-9, then nine digits.
mobiles = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    st.text("0123456789", min_size=9, max_size=9),
)


def test_cn_id_number_example() -> None:
    assert mask_id("11010519491231002X", CN) == "110105********002X"


def test_cn_phone_examples() -> None:
    assert mask_phone("13812348000", CN) == "138****8000"
    assert mask_phone("+8613812348000", CN) == "+86 138****8000"


def test_us_profile_keeps_only_the_last_four() -> None:
    # The US profile's document is a Social Security number: masked in its own shape.
    assert mask_id("123456789", US) == "***-**-6789"
    assert mask_id("A1234567", US) == "****4567"
    assert mask_phone("+12025550143", US) == "+1 ******0143"


@given(id_numbers, POLICIES)
def test_no_id_number_survives_masking(id_number: str, policy: MaskingPolicy) -> None:
    masked = mask_id(id_number, policy)
    assert id_number not in masked
    assert len(masked) == len(id_number)
    shown = len(id_number) - masked.count(MASK)
    assert shown == policy.id_keep_start + policy.id_keep_end
    assert masked.startswith(id_number[: policy.id_keep_start])
    assert masked.endswith(id_number[-policy.id_keep_end :])


@given(mobiles, st.sampled_from(["", "+86"]), POLICIES)
def test_no_phone_number_survives_masking(mobile: str, prefix: str, policy: MaskingPolicy) -> None:
    masked = mask_phone(prefix + mobile, policy)
    assert mobile not in masked
    assert mobile not in masked.replace(" ", "")
    national = masked.removeprefix("+86 ")
    assert national.count(MASK) == len(mobile) - policy.phone_keep_start - policy.phone_keep_end


@given(st.text("0123456789X", min_size=2, max_size=30), POLICIES)
def test_values_of_any_length_are_never_shown_whole(value: str, policy: MaskingPolicy) -> None:
    # Too-short values (shorter than what the policy keeps) must not slip through whole.
    assert value not in mask_id(value, policy)
    assert value not in mask_phone(value, policy)


@given(st.text(min_size=1, max_size=60).filter(lambda s: s.strip() == s and MASK not in s))
def test_address_shows_at_most_the_leading_district(address: str) -> None:
    masked = mask_address(address, CN)
    keep = CN.address_keep_start
    if len(address) > keep:
        assert address not in masked
        assert masked.startswith(address[:keep])
        assert set(masked[keep:]) == {MASK}
    else:
        assert masked == address


@pytest.mark.parametrize("policy", [CN, US])
def test_masking_ignores_surrounding_spaces(policy: MaskingPolicy) -> None:
    assert mask_id(" 11010519491231002X ", policy) == mask_id("11010519491231002X", policy)
