"""SMS rules: message length and segments, template checks, merging, the SMS cap.

Pure functions, no I/O and no clock.

Length: a text made only of GSM 03.38 characters is sent as GSM-7 (160 septets in one
message, 153 per part of a concatenated one; ``^{}[]~|\\€`` and the form feed take two
septets each); anything else (Chinese!) goes as UCS-2 (70 UTF-16 units alone, 67 per
part; a character outside the BMP takes two units).

Every collection SMS carries the bank's official hotline and never asks for payment into
a personal account: a template without the hotline, or one mentioning a personal account
or holding something that looks like a card number, is refused when saved or loaded, and
the merged text is checked again before it is queued.

The content check reads the text as a borrower would, not as it is spelled: compatibility
forms folded (NFKC: full-width letters and digits), every kind of digit made ASCII, format
characters (zero-width spaces) dropped, traditional Chinese made simplified (OpenCC), and
case ignored. Wording is then matched with everything but letters and digits removed
("个人 账户", "p.e.r.s.o.n.a.l account"), and card numbers with any light separator
between the digits ("6222.0212.3456.7890").
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import string
import tomllib
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tui_desk.i18n import _
from tui_desk.rules.contact import INBOUND, Decision, PastContact

SMS = "sms"

# GSM 03.38 basic character set (one septet each) and its extension table (two).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")

GSM7 = "GSM-7"
UCS2 = "UCS-2"
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
# A reminder longer than this many parts is a letter, not an SMS.
MAX_SEGMENTS = 6

# The fields a template may use; every one is filled from the case (a missing one refuses).
FIELDS = ("borrower", "amount_due", "due_date", "callback", "hotline", "bank", "case_no")

# Wording that asks for payment into a personal account, in both languages, matched on
# the compact form of the normalised text (letters and digits only, simplified Chinese,
# lower case): spaces and punctuation between the characters do not hide it.
_PERSONAL_ACCOUNT = re.compile(
    r"(?:个人|私人)(?:银行)?(?:账户|帐户|账号|帐号|卡号|银行卡|卡)|私人卡|"
    r"(?:personal|private)(?:bank)?(?:account|acct|card)"
)
# "a/c" is an account in English; it is spelled out before the compact match.
_AC = re.compile(r"(?<![a-z])a\s*/\s*c(?![a-z])")
# Digits, possibly in groups split by light separators (spaces, dashes, dots, slashes).
# Matched on the normalised text, where every digit is ASCII.
_DIGIT_RUN = re.compile(r"[0-9]+(?:[ \-._/·]{1,2}[0-9]+)*")
_DIGITS = re.compile(r"[0-9]+")
CARD_DIGITS = (13, 19)


def _card_like(groups: Sequence[str]) -> bool:
    """Groups a card number is written in: one block, blocks of three or more digits
    (6222 0212 3456 7890), or blocks of one length. Dates, amounts and phone numbers
    side by side (2026-03-02 400-800-9595, 1,200.50 2026-03-02) are not."""
    head = groups[:-1]
    return not head or all(len(g) >= 3 for g in head) or len({len(g) for g in head}) == 1


def has_card_number(normalised: str) -> bool:
    """13-19 digits, alone or in card-like groups, anywhere in the (normalised) text."""
    low, high = CARD_DIGITS
    for run in _DIGIT_RUN.finditer(normalised):
        groups = _DIGITS.findall(run.group())
        for start in range(len(groups)):
            total = 0
            for end in range(start, len(groups)):
                total += len(groups[end])
                if total > high:
                    break
                if total >= low and _card_like(groups[start : end + 1]):
                    return True
    return False


@functools.cache
def _simplified() -> Callable[[str], str]:
    # Loaded on first use: the dictionaries take a few tens of milliseconds.
    import opencc

    return opencc.OpenCC("t2s").convert


def _ascii_digit(ch: str) -> str:
    value = unicodedata.digit(ch, None)
    return str(value) if value is not None else ch


def normalise_for_check(text: str) -> str:
    """The text as the content check reads it: NFKC, ASCII digits, no format characters,
    simplified Chinese, lower case."""
    folded = unicodedata.normalize("NFKC", text)
    folded = "".join(_ascii_digit(ch) for ch in folded if unicodedata.category(ch) != "Cf")
    return _simplified()(folded).casefold()


def _compact(normalised: str) -> str:
    """Letters and digits only: what is left when spaces and punctuation are taken out."""
    return "".join(ch for ch in normalised if unicodedata.category(ch)[0] in "LN")


# --- length ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsLength:
    """How a text goes over the air: its encoding, length in units and parts."""

    encoding: str
    characters: int
    units: int
    """Septets (GSM-7) or UTF-16 code units (UCS-2)."""
    segments: int
    per_segment: int
    """Units in one part: the single-message size when ``segments`` is 1."""

    def describe(self) -> str:
        return _("{chars} characters, {segments} SMS ({encoding}, {per} per part)").format(
            chars=self.characters,
            segments=self.segments,
            encoding=self.encoding,
            per=self.per_segment,
        )


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def sms_length(text: str) -> SmsLength:
    """The encoding, units and number of parts ``text`` is sent as (0 parts when empty)."""
    if is_gsm7(text):
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        single, part, encoding = GSM7_SINGLE, GSM7_PART, GSM7
    else:
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, part, encoding = UCS2_SINGLE, UCS2_PART, UCS2
    if units == 0:
        segments = 0
    elif units <= single:
        segments = 1
    else:
        segments = math.ceil(units / part)
    return SmsLength(
        encoding=encoding,
        characters=len(text),
        units=units,
        segments=segments,
        per_segment=single if segments <= 1 else part,
    )


# --- templates --------------------------------------------------------------------------


class SmsTemplateError(ValueError):
    """A template (or a merged text) breaks a rule; ``rule`` names it."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class SmsTemplate:
    name: str
    """``<key>.<language>``, e.g. ``reminder.zh_CN`` (the file's stem)."""
    language: str
    title: str
    body: str


def parse_template(name: str, raw: Mapping[str, object]) -> SmsTemplate:
    language = raw.get("language")
    title = raw.get("title")
    body = raw.get("body")
    if not isinstance(language, str) or not isinstance(title, str) or not isinstance(body, str):
        raise SmsTemplateError(
            "format", _("an SMS template needs text values language, title and body")
        )
    return SmsTemplate(name=name, language=language, title=title.strip(), body=body.strip())


def load_template_text(name: str, text: str, hotline: str) -> SmsTemplate:
    """Parse a TOML template and check it (``SmsTemplateError`` names the rule broken)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SmsTemplateError(
            "format", _("not a valid TOML template: {error}").format(error=exc)
        ) from exc
    template = parse_template(name, raw)
    validate_template(template, hotline)
    return template


def _placeholders(body: str) -> list[str]:
    try:
        return [f for _t, f, _s, _c in string.Formatter().parse(body) if f is not None]
    except ValueError as exc:
        raise SmsTemplateError(
            "format", _("the template's braces do not match: {error}").format(error=exc)
        ) from exc


def check_content(text: str) -> None:
    """No personal account, no card number: the bank is only ever paid through its own
    channels, never into someone's account. The text is normalised first, so neither
    spacing, punctuation, traditional characters nor other digit shapes get past."""
    normalised = normalise_for_check(text)
    if _PERSONAL_ACCOUNT.search(_compact(_AC.sub("account", normalised))):
        raise SmsTemplateError(
            "personal_account",
            _("a collection SMS never asks for payment into a personal account"),
        )
    if has_card_number(normalised):
        raise SmsTemplateError(
            "card_number", _("a collection SMS never carries a card or account number")
        )


def validate_template(template: SmsTemplate, hotline: str) -> None:
    """Refuse a template that could not be sent: unknown fields, no hotline, forbidden
    content, or longer than ``MAX_SEGMENTS`` parts with typical values."""
    if not template.body:
        raise SmsTemplateError("format", _("the template has no text"))
    fields = _placeholders(template.body)
    unknown = sorted({f for f in fields if f not in FIELDS})
    if unknown:
        raise SmsTemplateError(
            "unknown_field",
            _("unknown field(s) {fields}; a template may use {allowed}").format(
                fields=", ".join("{" + f + "}" for f in unknown),
                allowed=", ".join("{" + f + "}" for f in FIELDS),
            ),
        )
    if "hotline" not in fields and (not hotline or hotline not in template.body):
        raise SmsTemplateError(
            "hotline",
            _("every collection SMS carries the bank's official hotline ({hotline})"),
        )
    check_content(template.body)
    sample = merge(template, _SAMPLE | {"hotline": hotline or "400-000-0000"}, hotline=None)
    if sms_length(sample).segments > MAX_SEGMENTS:
        raise SmsTemplateError(
            "too_long",
            _("the message would take more than {n} SMS").format(n=MAX_SEGMENTS),
        )


_SAMPLE: dict[str, str] = {
    "borrower": "欧阳娜娜",
    "amount_due": "¥12,345.67",
    "due_date": "2026-03-02",
    "callback": "400-800-9595 转 1234",
    "bank": "示例银行股份有限公司",
    "case_no": "123456",
}


def merge(template: SmsTemplate, values: Mapping[str, str], *, hotline: str | None) -> str:
    """The text with every field filled; when ``hotline`` is given the result must carry
    it and pass the content checks (what is queued is what was checked)."""
    needed = set(_placeholders(template.body))
    missing = sorted(f for f in needed if not str(values.get(f, "")).strip())
    if missing:
        raise SmsTemplateError(
            "missing_value",
            _("the case has no value for {fields}").format(
                fields=", ".join("{" + f + "}" for f in missing)
            ),
        )
    text = template.body.format_map({f: str(values[f]).strip() for f in needed})
    if hotline is not None:
        if hotline not in text:
            raise SmsTemplateError(
                "hotline", _("the message does not carry the bank's official hotline")
            )
        check_content(text)
    return text


# --- the SMS cap --------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsPolicy:
    max_per_day: int | None

    @classmethod
    def from_section(cls, contact: Mapping[str, object]) -> SmsPolicy:
        value = contact.get("max_sms_per_day")
        return cls(max_per_day=None if value is None else int(str(value)))


COUNTED_OUTCOMES = frozenset({"sent", "delivered"})


def check_sms_cap(
    now: dt.datetime, zone: str, history: Sequence[PastContact], policy: SmsPolicy
) -> Decision | None:
    """The ``daily_sms_cap`` refusal when the borrower already had the profile's number of
    SMS on their local day (queued, sent or delivered; failed ones never reached them)."""
    cap = policy.max_per_day
    if cap is None:
        return None
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    sent = [
        h
        for h in history
        if h.channel == SMS
        and h.direction != INBOUND
        and h.outcome in COUNTED_OUTCOMES
        and h.at <= now
        and h.at.astimezone(tz).date() == today
    ]
    if len(sent) < cap:
        return None
    tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return Decision(
        False,
        "daily_sms_cap",
        _("{n} SMS today already (at most {cap} a day)").format(n=len(sent), cap=cap),
        allowed_from=tomorrow.astimezone(dt.UTC),
    )
