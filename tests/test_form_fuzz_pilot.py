"""Every form with text fields, filled with what operators (and their input methods,
pastes and terminals) can send, then submitted: the desk never crashes, and what a form
refuses is never written.

For each form the service method that writes is replaced by one that records its
arguments and refuses (so the form stays open for the next try). After each submit:
the desk runs, the form is open and out of its saving state, no worker failed; either the
form refused with a message and the service was not called, or the service got only
values the forms may send (no control characters, no text longer than any service keeps,
whole numbers a 64-bit column holds, dates in a sane window).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from textual.widgets import Input, Static, TextArea

from tests.pilot import until
from tests.test_form_errors_pilot import FORMS, FormSpec, World, make_world
from tui_desk.db.engine import Database
from tui_desk.screens.contact_modal import ContactModal
from tui_desk.screens.form import FieldFormModal, FormModal
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import ServiceError

pytestmark = pytest.mark.usefixtures("quick_debounce")

STOP = "fuzz: not written"
LONGEST_KEPT = 4000
"""The longest text any service keeps (the special terms of an agreement)."""

NASTY = [
    "１２３", "²", "½", "٣", "1e30", "NaN", "inf", "-1", "0001-01-01", "9999-12-31 23:59",
    "0001-01-01 00:00", "\x00", "a\x1b[31mb", "\x85", "😀", "x" * 10_000, "¥１２００",
    "+999d", "tomorrow 99:99", "1" * 30, "", "  ", "\n",
]  # fmt: skip

text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=30),
    st.text(alphabet="0123456789０１２３４５６７８９²½٣.,:-+ %eEnNa", max_size=20),
)


def drawn_rows(width: int, count: int) -> list[list[str]]:
    """``count`` rows of ``width`` texts drawn by Hypothesis (no shrinking: the rows are
    tried in one running desk)."""
    rows: list[list[str]] = []

    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate])
    @given(st.lists(text, min_size=width, max_size=width))
    def draw(row: list[str]) -> None:
        rows.append(row)

    draw()
    return rows[:count]


def fixed_rows(width: int) -> list[list[str]]:
    """Every nasty text in some field: row ``r`` gives field ``f`` the text ``r + f``."""
    rows = (len(NASTY) + width - 1) // width
    return [[NASTY[(r * width + f) % len(NASTY)] for f in range(width)] for r in range(rows)][:5]


def fields_of(form: FormModal[Any]) -> list[Input | TextArea]:
    found = [*form.query(Input), *form.query(TextArea)]
    return [w for w in found if w.id]


def fill(widget: Input | TextArea, value: str) -> None:
    if isinstance(widget, Input):
        widget.value = value
    else:
        widget.text = value


def submit(form: FormModal[Any], attempt: int) -> None:
    if isinstance(form, ContactModal):
        form.action_pick("7" if attempt % 2 == 0 else "9")  # a promise, a callback
        form._save()
        return
    decide = getattr(form, "action_decide", None)
    if decide is not None:
        decide(True)
        return
    if isinstance(form, FieldFormModal):
        form.save()
        return
    form.action_save()  # type: ignore[attr-defined]


def sane(value: object) -> bool:
    """A value the forms may hand to the service."""
    if isinstance(value, str):
        return len(value) <= LONGEST_KEPT and not any(
            unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value
        )
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) < 2**63
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return dt.date(2000, 1, 1) <= value <= dt.date(2100, 1, 1)
    if isinstance(value, list | tuple):
        return all(sane(v) for v in value)
    return True


def form_specs() -> list[FormSpec]:
    return [spec for spec in FORMS if issubclass(spec.cls, FormModal)]


@pytest.fixture
def world(sqlite_db: Database) -> World:
    return make_world(sqlite_db)


@pytest.mark.parametrize("spec", form_specs(), ids=[f.form for f in form_specs()])
async def test_no_input_crashes_a_form_or_writes_what_it_refused(
    world: World, spec: FormSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = []

    def record(_self: object, *args: object, **kwargs: object) -> object:
        calls.append((args, kwargs))
        raise ServiceError(STOP)

    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.screen is not None)
        form = spec.make(world, app.service, monkeypatch)
        assert isinstance(form, FormModal)
        monkeypatch.setattr(DeskService, spec.method, record)
        await app.push_screen(form)
        await until(pilot, lambda: form.is_current and spec.ready(form))
        widgets = fields_of(form)
        if not widgets:
            pytest.skip(f"{spec.form} has no text field")
        rows = fixed_rows(len(widgets)) + drawn_rows(len(widgets), 4)
        for attempt, row in enumerate(rows):
            app.clear_notifications()
            for widget, value in zip(widgets, row, strict=True):
                fill(widget, value)
            await pilot.pause()
            before = len(calls)
            submit(form, attempt)
            await until(pilot, lambda: not form.saving)
            await pilot.pause()
            tried = dict(zip([w.id for w in widgets], row, strict=True))
            assert app.is_running, tried
            assert form.is_current, tried
            failed = [n.message for n in app._notifications if "failed" in n.message]
            assert failed == [], (tried, failed)
            error = str(form.query_one(f"#{form.ERROR_ID}", Static).content)
            if len(calls) == before:
                assert error.strip(), f"refused without a word: {tried}"
                continue
            assert len(calls) == before + 1, tried
            args, kwargs = calls[-1]
            assert sane(list(args)) and sane(list(kwargs.values())), (tried, calls[-1])
