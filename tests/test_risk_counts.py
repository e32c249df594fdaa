"""The counts at risk break between items at the width they are shown at, never inside
one (Rich breaks at any space, the no-break ones too)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.text import Text

from tui_desk.formatting import NBSP
from tui_desk.i18n import _, set_language
from tui_desk.views.board import RISK_KINDS
from tui_desk.widgets.board import RISK_SHORT, risk_counts_text


@pytest.mark.parametrize("language", ["en", "zh_CN"])
@given(width=st.integers(min_value=30, max_value=200), n=st.integers(min_value=0, max_value=99999))
def test_lines_break_between_items_and_fit(language: str, width: int, n: int) -> None:
    set_language(language)
    try:
        counts = dict.fromkeys(RISK_KINDS, n)
        text = risk_counts_text(counts, width=width, lead=Text(_("At risk: ")))
        lines = text.plain.split("\n")
        items = [f"{n}{NBSP}" + _(RISK_SHORT[kind]).replace(" ", NBSP) for kind in RISK_KINDS]
        longest = max(cell_len(item) for item in items) + cell_len(_("At risk: "))
        for line in lines:
            assert cell_len(line) <= max(width, longest)
        pieces = [p for line in lines for p in line.removeprefix(_("At risk: ")).split("  ")]
        assert pieces == items  # every item whole, in order, on one line
    finally:
        set_language("en")


def test_without_a_width_it_is_one_line_for_rich_to_wrap() -> None:
    text = risk_counts_text(dict.fromkeys(RISK_KINDS, 1))
    assert "\n" not in text.plain
