"""Public holidays and adjusted working days, as tables built from the `holidays` package.

Importing `holidays` and computing one year of China's calendar (its lunar dates) takes
about a second, which an operator would wait through on the first case they open. So the
shipped profiles' countries are kept as tables, one per year, in
``data/holidays/<COUNTRY>.json``, built from the package by
``python -m tui_desk.rules.holiday_tables`` (``make holidays``); a test keeps each table
equal to what the installed package computes. Other countries, and years outside a
table, are computed by the package on first use.

A year's table holds the weekend days, the weekend days that are worked (China's 调休)
and each holiday's name in the package's default language ("") and in the desk's
languages the package has.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIRST_YEAR = 2015
LAST_YEAR = 2040
LANGUAGES = ("en_US", "zh_CN")
SHIPPED_COUNTRIES = ("CN", "US")
DEFAULT = ""


@dataclass(frozen=True)
class YearTable:
    """One year of one country's working calendar."""

    weekend: frozenset[int]
    worked_weekend_days: frozenset[dt.date]
    names: Mapping[dt.date, Mapping[str, str]]

    def is_working_day(self, day: dt.date) -> bool:
        if day.weekday() in self.weekend:
            return day in self.worked_weekend_days
        return day not in self.names

    def name(self, day: dt.date, language: str) -> str | None:
        """The holiday's name in ``language`` where the calendar has it, else its default."""
        names = self.names.get(day)
        if names is None:
            return None
        return names.get(language) or names[DEFAULT]

    def to_json(self) -> dict[str, Any]:
        return {
            "weekend": sorted(self.weekend),
            "worked_weekend_days": sorted(d.isoformat() for d in self.worked_weekend_days),
            "holidays": {
                d.isoformat(): dict(sorted(names.items()))
                for d, names in sorted(self.names.items())
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> YearTable:
        return cls(
            weekend=frozenset(int(d) for d in data["weekend"]),
            worked_weekend_days=frozenset(
                dt.date.fromisoformat(d) for d in data["worked_weekend_days"]
            ),
            names={
                dt.date.fromisoformat(d): {str(k): str(v) for k, v in names.items()}
                for d, names in data["holidays"].items()
            },
        )


def from_package(country: str, year: int) -> YearTable:
    """One year as the `holidays` package computes it (loads the package)."""
    import holidays

    base = holidays.country_holidays(country, years=year)
    names: dict[dt.date, dict[str, str]] = {
        day: {DEFAULT: str(name)} for day, name in base.items() if day.year == year
    }
    supported = getattr(base, "supported_languages", ())
    for language in LANGUAGES:
        if language not in supported:
            continue
        translated = holidays.country_holidays(country, years=year, language=language)
        for day, name in translated.items():
            if day.year == year:
                names.setdefault(day, {DEFAULT: str(name)})[language] = str(name)
    worked = frozenset(
        day for day in getattr(base, "weekend_workdays", ()) if getattr(day, "year", 0) == year
    )
    return YearTable(weekend=frozenset(base.weekend), worked_weekend_days=worked, names=names)


def build(country: str, years: Iterable[int]) -> dict[str, Any]:
    """A country's table file, as shipped."""
    from importlib.metadata import version

    return {
        "country": country,
        "built_with": f"holidays {version('holidays')}",
        "years": {str(year): from_package(country, year).to_json() for year in years},
    }


def table_path(country: str) -> Path | None:
    from tui_desk.resources import data_path

    try:
        return data_path(f"holidays/{country}.json")
    except FileNotFoundError:
        return None


@functools.lru_cache(maxsize=8)
def shipped(country: str) -> Mapping[int, YearTable]:
    """The shipped tables of ``country`` by year (empty when none is shipped)."""
    path = table_path(country)
    if path is None:
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {int(year): YearTable.from_json(table) for year, table in data["years"].items()}


def year_table(country: str, year: int) -> YearTable:
    """One year of ``country``: from its shipped table, else from the package."""
    table = shipped(country).get(year)
    return table if table is not None else from_package(country, year)


def main(argv: list[str] | None = None) -> int:
    """Write the shipped tables (``data/holidays``) from the installed package."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else Path(__file__).resolve().parents[2] / "data" / "holidays"
    folder.mkdir(parents=True, exist_ok=True)
    for country in SHIPPED_COUNTRIES:
        data = build(country, range(FIRST_YEAR, LAST_YEAR + 1))
        text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
        (folder / f"{country}.json").write_text(text, encoding="utf-8")
        print(f"{country}: {len(data['years'])} years -> {folder / f'{country}.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
