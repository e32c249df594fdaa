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
    check_content,
    check_sms_cap,
    is_gsm7,
    load_template_text,
    merge,
    normalise_for_check,
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


# --- the content check reads the text as a borrower would --------------------------------

BYPASSES = [
    ("Pay into my personal acct", "personal_account"),
    ("Pay into my PERSONAL ACCOUNT", "personal_account"),
    ("personal a/c 123", "personal_account"),
    ("p.e.r.s.o.n.a.l   a-c-c-o-u-n-t", "personal_account"),
    ("ｐｅｒｓｏｎａｌ ａｃｃｏｕｎｔ", "personal_account"),  # full-width letters
    ("private bank account", "personal_account"),
    ("请转入个人 账户", "personal_account"),
    ("请转入个·人·账·户", "personal_account"),
    ("请转入个\u200b人账户", "personal_account"),  # a zero-width space between
    ("請轉入個人帳戶", "personal_account"),  # traditional characters
    ("請匯款至私人賬戶", "personal_account"),
    ("请转入个人账号", "personal_account"),
    ("卡号 6222.0212.3456.7890", "card_number"),
    ("卡号 6222-0212-3456-7890-123", "card_number"),
    ("卡号 ６２２２０２１２３４５６７８９０", "card_number"),  # full-width digits
    ("卡号 ６２２２．０２１２．３４５６．７８９０", "card_number"),
    ("卡号 ٦٢٢٢٠٢١٢٣٤٥٦٧٨٩٠", "card_number"),  # Arabic-Indic digits
    ("卡号 ６２２２ 0212/3456_7890", "card_number"),
    ("card 6222 0212 3456 7890", "card_number"),
]


@pytest.mark.parametrize(("text", "rule"), BYPASSES)
def test_the_content_check_sees_through_spelling(text: str, rule: str) -> None:
    with pytest.raises(SmsTemplateError) as err:
        check_content(text)
    assert err.value.rule == rule


@pytest.mark.parametrize(("text", "rule"), BYPASSES)
def test_a_bypass_in_a_template_is_refused_when_saved(text: str, rule: str) -> None:
    with pytest.raises(SmsTemplateError) as err:
        validate_template(_template(text + " {hotline}"), HOTLINE)
    assert err.value.rule == rule


def test_normalisation_folds_shapes_scripts_and_case() -> None:
    assert normalise_for_check("Ａ１２３") == "a123"
    assert normalise_for_check("٣٤") == "34"
    assert normalise_for_check("個人帳戶") in ("个人帐户", "个人账户")
    assert normalise_for_check("a\u200bb") == "ab"


# Words and figures of ordinary reminders; none of them, in any order, asks for a personal
# account or carries a card number.
_WORDS = [
    "您好", "请", "尽快", "还款", "本行", "热线", "逾期", "金额", "到期日", "谢谢", "客服",
    "如已还款请忽略", "账户安全", "信息", "上门", "服务", "协商", "还款计划", "个人信息",
    "Dear", "customer", "please", "repay", "your", "loan", "by", "hotline", "thank", "you",
    "account", "number", "bank", "card", "branch", "due", "amount", "case",
]  # fmt: skip
_FIGURES = [
    "¥1,200.50", "¥12,345.67", "2026-03-02", "400-800-9595", "转 1234", "#123456",
    "2026-03-02 400-800-9595", "¥1,200.50 2026-03-02", "2026/3/2 14:00", "138 1234 5678",
]  # fmt: skip


@given(
    st.lists(
        st.tuples(st.sampled_from(_WORDS), st.none() | st.sampled_from(_FIGURES)),
        min_size=1,
        max_size=20,
    ),
    st.lists(st.sampled_from([" ", "，", "。", ", ", ". ", "：", "\n"]), min_size=1),
)
def test_ordinary_messages_still_pass(
    parts: list[tuple[str, str | None]], separators: list[str]
) -> None:
    text = "".join(
        word + (" " + figure if figure else "") + separators[i % len(separators)]
        for i, (word, figure) in enumerate(parts)
    )
    check_content(text)


@given(
    st.sampled_from(["个人账户", "私人帐户", "personalaccount", "personalacct", "個人帳戶"]),
    st.lists(st.sampled_from([" ", ".", "-", "·", "\u3000", "\u200b", "_", "/", "*"]), min_size=1),
    st.booleans(),
)
def test_spacing_out_a_banned_word_never_hides_it(
    word: str, separators: list[str], wide: bool
) -> None:
    text = "".join(ch + separators[i % len(separators)] for i, ch in enumerate(word))
    if wide:  # full-width forms of what has one
        text = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    with pytest.raises(SmsTemplateError) as err:
        check_content("请转入" + text)
    assert err.value.rule == "personal_account"


@given(
    st.text(alphabet="0123456789", min_size=13, max_size=19),
    st.sampled_from([" ", ".", "-", "．", "/", ""]),
    st.booleans(),
)
def test_a_card_number_in_any_digit_shape_is_refused(digits: str, sep: str, wide: bool) -> None:
    shaped = "".join(chr(ord(d) + 0xFEE0) for d in digits) if wide else digits
    grouped = sep.join(shaped[i : i + 4] for i in range(0, len(shaped), 4))
    with pytest.raises(SmsTemplateError) as err:
        check_content("卡号" + grouped + "，谢谢")
    assert err.value.rule == "card_number"


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
