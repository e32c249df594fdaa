"""The shipped holiday tables equal what the `holidays` package computes, and the desk's
calendar reads them without loading the package."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from tui_desk.i18n import current_language, set_language
from tui_desk.rules import holiday_tables
from tui_desk.rules.visits import WorkCalendar


@pytest.mark.parametrize("country", holiday_tables.SHIPPED_COUNTRIES)
def test_each_shipped_table_is_what_the_package_computes(country: str) -> None:
    path = holiday_tables.table_path(country)
    assert path is not None
    shipped = json.loads(path.read_text(encoding="utf-8"))
    years = range(holiday_tables.FIRST_YEAR, holiday_tables.LAST_YEAR + 1)
    built = holiday_tables.build(country, years)
    # After upgrading `holidays`, rebuild with `make holidays` and review the difference.
    assert shipped["years"] == built["years"], f"rebuild data/holidays/{country}.json"


@pytest.mark.parametrize(("country", "year"), [("CN", 2025), ("CN", 2026), ("US", 2026)])
def test_the_calendar_answers_as_the_package_does_every_day(country: str, year: int) -> None:
    import holidays

    package = holidays.country_holidays(country, years=year)
    calendar = WorkCalendar(country)
    day = dt.date(year, 1, 1)
    while day.year == year:
        assert calendar.is_working_day(day) == package.is_working_day(day), day
        day += dt.timedelta(days=1)
    supported = package.supported_languages
    before = current_language()
    try:
        for language in ("en_US", "zh_CN"):
            expected = holidays.country_holidays(
                country, years=year, language=language if language in supported else None
            )
            set_language(language)
            for holiday in expected:
                assert calendar.holiday_name(holiday) == expected.get(holiday), holiday
    finally:
        set_language(before)


def test_a_year_beyond_the_table_comes_from_the_package() -> None:
    import holidays

    year = holiday_tables.LAST_YEAR + 5
    assert year not in holiday_tables.shipped("CN")
    calendar = WorkCalendar("CN")
    package = holidays.country_holidays("CN", years=year)
    national_day = dt.date(year, 10, 1)
    assert calendar.is_working_day(national_day) is package.is_working_day(national_day) is False


def test_reading_this_years_calendar_does_not_load_the_package() -> None:
    code = (
        "import datetime as dt, sys\n"
        "from tui_desk.rules.visits import work_calendar\n"
        "c = work_calendar('CN')\n"
        "c.is_working_day(dt.date(2026, 10, 1)); c.holiday_name(dt.date(2026, 10, 1))\n"
        "print('holidays' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
