"""The one formatter: money from fen (exact, never a float), numbers, percentages and office
times through Babel in the interface's language; Babel's data loads on first use only."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_desk import formatting
from tui_desk.i18n import LANGUAGES, set_language

TZ = "Asia/Shanghai"
AT = dt.datetime(2026, 3, 2, 1, 5, tzinfo=dt.UTC)  # 09:05 in Shanghai


@pytest.fixture(params=["en", "zh_CN"])
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language("en")


def test_money_is_exact_yuan_from_fen(language: str) -> None:
    assert formatting.money(1234567) == "¥12,345.67"
    assert formatting.money(-50) == "-¥0.50"
    assert formatting.money(10_000_000_000_001) == "¥100,000,000,000.01"
    assert formatting.amount(0) == "0.00"
    assert formatting.money(100, "USD").endswith("1.00")


def test_numbers_and_percentages(language: str) -> None:
    assert formatting.number(1234567) == "1,234,567"
    assert formatting.percent(1, 8) == "12.5%"
    assert formatting.percent(1, 0) == formatting.DASH


def test_times_are_in_the_office_zone(language: str) -> None:
    assert formatting.local(AT, TZ) == "2026-03-02 09:05"
    assert formatting.local(AT, TZ, "%H:%M:%S") == "09:05:00"
    assert formatting.short_local(AT, TZ) == "03-02 09:05"
    assert formatting.local(None, TZ) == formatting.DASH


def test_when_shows_the_date_only_when_needed() -> None:
    same_day = AT + dt.timedelta(hours=3)
    assert formatting.when(AT, TZ, same_day) == "09:05"
    assert formatting.when(AT, TZ, AT + dt.timedelta(days=1)) == "2026-03-02 09:05"
    assert formatting.when(AT, TZ, AT + dt.timedelta(days=1), short=True) == "03-02 09:05"
    next_year = AT + dt.timedelta(days=366)
    assert formatting.when(AT, TZ, next_year, short=True) == "2026-03-02 09:05"


def test_month_day_names_another_year() -> None:
    assert formatting.month_day(dt.date(2026, 3, 2), dt.date(2026, 12, 1)) == "03-02"
    assert formatting.month_day(dt.date(2025, 12, 8), dt.date(2026, 12, 7)) == "2025-12-08"


def test_babel_loads_on_first_use_only() -> None:
    """Amounts and times in the interface's own languages need no locale data; a
    percentage, a weekday or another language loads it."""
    code = (
        "import sys, datetime as dt, tui_desk.formatting as f\n"
        "f.money(1); f.number(12345); f.local(dt.datetime.now(dt.UTC), 'Asia/Shanghai')\n"
        "assert not [m for m in sys.modules if m.startswith('babel')], 'babel loaded'\n"
        "f.percent(1, 3)\n"
        "assert 'babel.numbers' in sys.modules\n"
        "f.local(dt.datetime.now(dt.UTC), 'Asia/Shanghai', '%a %H:%M')\n"
        "assert 'babel.dates' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_languages_separators_are_babels(lang: str) -> None:
    from babel.numbers import get_decimal_symbol, get_group_symbol

    assert formatting._SEPARATORS[lang] == (get_group_symbol(lang), get_decimal_symbol(lang))


_ZONES = ["Asia/Shanghai", "America/Chicago", "UTC", "Asia/Kolkata", "Pacific/Chatham"]
# Formats as the desk writes them: directives with separators between them (Babel's own
# patterns cannot hold two directives side by side, nor a lone apostrophe).
_FORMATS = st.builds(
    lambda first, rest: first + "".join(sep + d for sep, d in rest),
    st.sampled_from(sorted(formatting._DIGITS)),
    st.lists(
        st.tuples(
            st.sampled_from(["-", ":", " ", "/", "T", ".", "年", "月", "日 ", " at "]),
            st.sampled_from(sorted(formatting._DIGITS)),
        ),
        max_size=5,
    ),
)


@pytest.mark.parametrize("lang", LANGUAGES)
@given(
    moment=st.datetimes(
        min_value=dt.datetime(1, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.just(dt.UTC),
    ),
    zone=st.sampled_from(_ZONES),
    fmt=st.one_of(
        st.sampled_from(["%H:%M", "%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y"]), _FORMATS
    ),
)
def test_times_in_digits_read_as_babel_writes_them(
    lang: str, moment: dt.datetime, zone: str, fmt: str
) -> None:
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime

    local = moment.astimezone(ZoneInfo(zone))
    set_language(lang)
    try:
        expected = format_datetime(
            local, formatting._pattern(fmt), tzinfo=local.tzinfo, locale=lang
        )
        assert formatting.local(moment, zone, fmt) == expected
    finally:
        set_language("en")


_NUMBERS = st.one_of(
    st.integers(min_value=-(10**15), max_value=10**15),
    st.builds(
        lambda n, places: Decimal(n).scaleb(-places),
        st.integers(min_value=-(10**15), max_value=10**15),
        st.integers(min_value=0, max_value=4),
    ),
    st.sampled_from([Decimal("-0"), Decimal("-0.00"), Decimal("0E+3"), Decimal("1E+3")]),
)


@pytest.mark.parametrize("locale", ["zh_CN", "en", "de_DE", "fr_FR"])
@given(value=_NUMBERS, places=st.sampled_from([None, 0, 1, 2, 3]))
def test_grouped_numbers_read_as_babel_writes_them(
    locale: str, value: int | Decimal, places: int | None
) -> None:
    from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol

    text = formatting.grouped(value, places, get_group_symbol(locale), get_decimal_symbol(locale))
    pattern = "#,##0" if places is None else "#,##0." + "0" * places
    if text is not None:
        assert text == format_decimal(value, format=pattern, locale=locale)


def test_amounts_take_the_plain_way() -> None:
    assert formatting.grouped(Decimal("1234567.80"), 2, ",", ".") == "1,234,567.80"
    assert formatting.grouped(Decimal("0.05"), 2, ",", ".") == "0.05"
    assert formatting.grouped(Decimal("1.005"), 2, ",", ".") is None  # Babel rounds that


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@given(minor=st.integers(min_value=-(10**15), max_value=10**15))
def test_amounts_in_fen_read_as_babel_writes_them(lang: str, minor: int) -> None:
    from babel.numbers import format_decimal

    set_language(lang)
    try:
        expected = format_decimal(Decimal(minor).scaleb(-2), format="#,##0.00", locale=lang)
        assert formatting.amount(minor) == expected
    finally:
        set_language("en")


def test_written_amounts_kept_are_bounded() -> None:
    """A day of new cases does not grow the desk: the amounts and numbers kept written
    are the last FORMATTED_KEPT of each."""
    for i in range(formatting.FORMATTED_KEPT + 500):
        formatting.amount(1_000_003 * i)
        formatting.number(7 * i)
    assert formatting._amount.cache_info().currsize <= formatting.FORMATTED_KEPT
    assert formatting._number.cache_info().currsize <= formatting.FORMATTED_KEPT
    assert formatting.amount(1_000_003) == "10,000.03"
