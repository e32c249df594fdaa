"""The desk's two Strip operations (widgets/strips): the same answers as Textual's, and a
line no longer refers to itself, so dropping it frees it at once."""

from __future__ import annotations

import gc
import sys

from hypothesis import given
from hypothesis import strategies as st
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from tui_desk.widgets import strips

strips.install()

STYLES = [None, Style(bold=True), Style(color="red"), Style(bgcolor="blue", italic=True)]
texts = st.text(alphabet="ab 王李·\u3000x", min_size=0, max_size=6)
segments = st.lists(
    st.tuples(texts, st.sampled_from(STYLES)).map(lambda t: Segment(t[0], t[1])),
    min_size=0,
    max_size=5,
)


def same(a: Strip, b: Strip) -> bool:
    return a.cell_length == b.cell_length and list(a) == list(b)


@given(segments, st.lists(st.integers(min_value=0, max_value=30), max_size=5))
def test_divide_gives_what_textual_gives(parts: list[Segment], cuts: list[int]) -> None:
    strip = Strip(parts)
    cuts = sorted(set(cuts))
    ours = strip.divide(cuts)
    theirs = strips.original("divide")(Strip(parts), cuts)
    assert len(ours) == len(theirs)
    assert all(same(a, b) for a, b in zip(ours, theirs, strict=True))


@given(
    segments,
    st.integers(min_value=-3, max_value=30),
    st.integers(min_value=0, max_value=30),
    st.sampled_from(STYLES),
)
def test_crop_extend_gives_what_textual_gives(
    parts: list[Segment], start: int, end: int, style: Style | None
) -> None:
    strip = Strip(parts)
    ours = strip.crop_extend(start, end, style)
    theirs = strips.original("crop_extend")(Strip(parts), start, end, style)
    assert same(ours, theirs)


def test_a_line_does_not_refer_to_itself() -> None:
    strip = Strip([Segment("王小明", None), Segment(" 13800", Style(bold=True))])
    width = strip.cell_length
    before = sys.getrefcount(strip)
    assert strip.divide([width]) == [strip]
    assert strip.crop_extend(0, width, None) is strip
    assert strip.crop_extend(-2, width, None) is strip
    # Textual's own answers would each have kept one more reference to the strip.
    assert sys.getrefcount(strip) == before
    theirs = Strip([Segment("王小明", None)])
    before = sys.getrefcount(theirs)
    strips.original("divide")(theirs, [theirs.cell_length])
    assert sys.getrefcount(theirs) == before + 1


def test_dropped_lines_are_not_left_to_the_collector() -> None:
    gc.collect()
    gc.disable()
    try:
        for i in range(500):
            strip = Strip([Segment(f"line {i}", None), Segment(" 王", Style(bold=True))])
            strip.divide([strip.cell_length])
            strip.crop_extend(0, strip.cell_length, None)
            strip.crop(1, 3)  # other answers are still cached, as before
        del strip
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_install_twice_keeps_textuals_operations() -> None:
    strips.install()
    assert strips.original("divide") is not Strip.divide
    assert strips.original("divide").__module__ == "textual.strip"
    assert strips.original("crop_extend").__module__ == "textual.strip"
