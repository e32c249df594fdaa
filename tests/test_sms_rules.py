"""SMS rules: length and segments (GSM-7 / UCS-2), template checks, merging, the SMS cap."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_desk.resources import data_path
from tui_desk.rules.contact import PastContact
from tui_desk.rules.sms import (
    GSM7,
    GSM7_BASIC,
    GSM7_EXTENDED,
    UCS2,
    SmsPolicy,
    SmsTemplate,
    SmsTemplateError,
    check_sms_cap,
    is_gsm7,
    load_template_text,
    merge,
    sms_length,
    validate_template,
)

HOTLINE = "400-800-9595"
SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", GSM7, 0),
        ("a" * 160, GSM7, 1),
        ("a" * 161, GSM7, 2),
        ("a" * 306, GSM7, 2),
        ("a" * 307, GSM7, 3),
        ("€" * 80, GSM7, 1),  # two septets each
        ("€" * 81, GSM7, 2),
        ("还" * 70, UCS2, 1),
        ("还" * 71, UCS2, 2),
        ("还" * 134, UCS2, 2),
        ("还" * 135, UCS2, 3),
        ("a" * 69 + "还", UCS2, 1),  # one Chinese character makes the whole text UCS-2
        ("a" * 70 + "还", UCS2, 2),
        ("😀" * 35, UCS2, 1),  # outside the BMP: two UTF-16 units
        ("😀" * 36, UCS2, 2),
    ],
)
def test_segments(text: str, encoding: str, segments: int) -> None:
    length = sms_length(text)
    assert (length.encoding, length.segments) == (encoding, segments)
    assert length.characters == len(text)


_ALPHABET = [*sorted(GSM7_BASIC | GSM7_EXTENDED), "还", "款", "😀", "é", "ü", "€"]


@given(st.text(alphabet=st.sampled_from(_ALPHABET), max_size=600))
def test_length_properties(text: str) -> None:
    length = sms_length(text)
    assert (length.encoding == GSM7) == is_gsm7(text)
    if length.encoding == GSM7:
        assert length.units == len(text) + sum(c in GSM7_EXTENDED for c in text)
        single, part = 160, 153
    else:
        assert length.units == len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
    if not text:
        assert length.segments == 0
    elif length.units <= single:
        assert length.segments == 1
    else:
        assert length.segments == math.ceil(length.units / part)
        assert length.per_segment == part
        # Enough parts for the text, and not one more.
        assert length.segments * part >= length.units > (length.segments - 1) * part
    # Adding a character never needs fewer parts, unless it changes the encoding.
    longer = sms_length(text + "a")
    if longer.encoding == length.encoding:
        assert longer.segments >= length.segments


def _template(body: str) -> SmsTemplate:
    return SmsTemplate(name="t.zh_CN", language="zh_CN", title="t", body=body)


def test_a_template_without_the_hotline_is_refused() -> None:
    with pytest.raises(SmsTemplateError) as err:
        validate_template(_template("{borrower}您好，请尽快还款{amount_due}。"), HOTLINE)
    assert err.value.rule == "hotline"
    # The literal hotline number is accepted as well as the field.
    validate_template(_template("{borrower}您好，请致电400-800-9595。"), HOTLINE)
    validate_template(_template("{borrower}您好，请致电{hotline}。"), HOTLINE)


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ("请将{amount_due}转入个人账户，热线{hotline}", "personal_account"),
        ("请汇款至私人帐户，热线{hotline}", "personal_account"),
        ("Pay {amount_due} into my personal account. Hotline {hotline}", "personal_account"),
        ("请转账至6222 0212 3456 7890 123，热线{hotline}", "card_number"),
        ("卡号6222021234567890123，热线{hotline}", "card_number"),
        ("{borrower} {nickname} {hotline}", "unknown_field"),
        ("{borrower {hotline}", "format"),
        ("还" * 500 + "{hotline}", "too_long"),
    ],
)
def test_forbidden_templates(body: str, rule: str) -> None:
    with pytest.raises(SmsTemplateError) as err:
        validate_template(_template(body), HOTLINE)
    assert err.value.rule == rule


def test_a_bad_toml_file_cannot_be_loaded() -> None:
    with pytest.raises(SmsTemplateError) as err:
        load_template_text("x.en", 'language = "en"\ntitle = "x"\nbody = "Pay now."\n', HOTLINE)
    assert err.value.rule == "hotline"
    with pytest.raises(SmsTemplateError) as err:
        load_template_text("x.en", "not toml [", HOTLINE)
    assert err.value.rule == "format"


def test_the_shipped_templates_are_valid_in_both_languages() -> None:
    folder = data_path("templates/sms")
    loaded = [
        load_template_text(p.stem, p.read_text(encoding="utf-8"), HOTLINE)
        for p in sorted(folder.glob("*.toml"))
    ]
    assert {t.language for t in loaded} == {"zh_CN", "en"}
    keys = {t.name.split(".")[0] for t in loaded}
    for key in keys:
        assert {f"{key}.zh_CN", f"{key}.en"} <= {t.name for t in loaded}


def test_merge_fills_every_field_and_checks_the_result() -> None:
    template = _template("{borrower}您好，应还{amount_due}，热线{hotline}")
    values = {"borrower": "张三", "amount_due": "100.00元", "hotline": HOTLINE}
    assert merge(template, values, hotline=HOTLINE) == "张三您好，应还100.00元，热线400-800-9595"
    with pytest.raises(SmsTemplateError) as err:
        merge(template, {**values, "amount_due": " "}, hotline=HOTLINE)
    assert err.value.rule == "missing_value"
    with pytest.raises(SmsTemplateError) as err:
        merge(template, {**values, "hotline": "110"}, hotline=HOTLINE)
    assert err.value.rule == "hotline"
    with pytest.raises(SmsTemplateError) as err:
        merge(template, {**values, "borrower": "6222021234567890"}, hotline=HOTLINE)
    assert err.value.rule == "card_number"


def _sms(at: dt.datetime, outcome: str = "sent", direction: str = "outbound") -> PastContact:
    return PastContact(at, "sms", direction, outcome)


def test_the_daily_sms_cap() -> None:
    policy = SmsPolicy(max_per_day=2)
    today = [_sms(NOW - dt.timedelta(hours=3)), _sms(NOW - dt.timedelta(hours=1), "delivered")]
    refusal = check_sms_cap(NOW, "Asia/Shanghai", today, policy)
    assert refusal is not None
    assert refusal.rule == "daily_sms_cap"
    assert refusal.allowed_from == dt.datetime(2026, 3, 3, tzinfo=SH).astimezone(dt.UTC)
    # Failed messages, inbound ones, calls and yesterday's do not count.
    others = [
        _sms(NOW - dt.timedelta(hours=1), "failed"),
        _sms(NOW - dt.timedelta(hours=1), "sent", "inbound"),
        PastContact(NOW - dt.timedelta(hours=1), "phone", "outbound", "no_answer"),
        _sms(NOW - dt.timedelta(days=1)),
    ]
    assert check_sms_cap(NOW, "Asia/Shanghai", [today[0], *others], policy) is None
    assert check_sms_cap(NOW, "Asia/Shanghai", today, SmsPolicy(max_per_day=None)) is None
    assert SmsPolicy.from_section({"max_sms_per_day": 2}) == policy
    assert SmsPolicy.from_section({}) == SmsPolicy(None)
