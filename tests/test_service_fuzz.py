"""Every service entry point of the desk, fuzzed on both engines (bench/service_fuzz.py).

Mostly plausible arguments, now and then one outside the rules (a wrong type, a huge or
unknown id, a date in year 1 or too far ahead, an amount of zero or above the cap, text
with NUL or an escape sequence, text too long). Whatever is drawn: nothing but a
``ServiceError`` comes out, nothing outside the rules is stored, and every refusal of
such an argument names it. The number of examples per entry point is bounded for CI; the
larger run is ``python -m bench.service_fuzz``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.service_fuzz import Tally, entries, fuzz_entry, survey
from tui_desk.db.engine import Database
from tui_desk.demo.seeder import seed_database
from tui_desk.rules.profile import load_profile
from tui_desk.services.agents import resolve_actor
from tui_desk.services.desk import DeskService
from tui_desk.services.validation import (
    InvalidInput,
    UnknownRecord,
    check_amount,
    check_date,
    check_id,
    check_text,
)

NOW = dt.datetime(2026, 3, 10, 3, 0, tzinfo=dt.UTC)  # a Tuesday, 11:00 in Shanghai
EXAMPLES_PER_ENTRY = 5
CN = load_profile("cn")


def test_every_entry_point_refuses_clearly_and_stores_nothing_outside_the_rules(
    db: Database, tmp_path: Path
) -> None:
    seed_database(db, cases=30, now=NOW)
    world = survey(db, NOW, CN)
    desk = DeskService(
        db, resolve_actor(db, world.supervisor), CN, clock=lambda: NOW, export_dir=tmp_path
    )
    tally = Tally()
    for entry in entries(world):
        fuzz_entry(tally, entry, desk, EXAMPLES_PER_ENTRY, seed=0)
    problems = "\n".join(f"{k}: {tally.samples[k]}" for k in tally.problems)
    assert tally.tried >= EXAMPLES_PER_ENTRY * 60
    assert tally.refused > 0 and tally.accepted > 0
    assert tally.crashed == 0, problems
    assert tally.wrongly_accepted == 0, problems
    assert tally.unnamed == 0, problems


# --- the helpers, at their edges -------------------------------------------------------------


@given(st.one_of(st.integers(), st.text(max_size=3), st.none(), st.booleans(), st.floats()))
@settings(max_examples=200)
def test_an_id_is_a_whole_number_a_table_can_hold(value: object) -> None:
    fits = isinstance(value, int) and not isinstance(value, bool) and 1 <= value < 2**63
    try:
        assert check_id("case_id", value) == value
    except InvalidInput as exc:
        assert not fits
        assert exc.field == "case_id"


def test_a_huge_id_does_not_exist_rather_than_overflowing() -> None:
    try:
        check_id("case_id", 2**70)
    except UnknownRecord as exc:
        assert "does not exist" in str(exc)
    else:
        raise AssertionError("2**70 was taken as an id")


@given(st.text(max_size=30))
def test_text_with_a_control_character_is_refused_naming_the_field(text: str) -> None:
    bad = any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in text)
    try:
        check_text("note", text, 30)
    except InvalidInput as exc:
        assert bad
        assert exc.field == "note"
        assert str(exc).startswith("note: ")
    else:
        assert not bad


def test_multiline_text_keeps_its_lines_but_not_escapes() -> None:
    assert check_text("note", "line 1\n\tline 2", 100, multiline=True) == "line 1\n\tline 2"
    for bad in ("a\x00b", "a\x1b]0;x\x07", "a\rb", "a\x9bb"):
        try:
            check_text("note", bad, 100, multiline=True)
        except InvalidInput as exc:
            assert exc.field == "note"
        else:
            raise AssertionError(f"{bad!r} was taken")


@given(st.integers(-(10**12), 10**12))
def test_amounts_are_positive_and_under_the_profile_cap(minor: int) -> None:
    cap = int(CN.section("validation")["max_amount_minor"])
    try:
        assert check_amount("amount_minor", minor, CN) == minor
        assert 0 < minor <= cap
    except InvalidInput as exc:
        assert not 0 < minor <= cap
        assert exc.field == "amount_minor"


def test_dates_in_year_1_or_9999_are_refused() -> None:
    for day in (dt.date(1, 1, 1), dt.date(9999, 12, 31)):
        try:
            check_date("paid_on", day)
        except InvalidInput as exc:
            assert exc.field == "paid_on"
        else:
            raise AssertionError(f"{day} was taken")
