"""Lines of the screen freed as soon as they are dropped, not by the cyclic collector.

Textual draws every widget as :class:`~textual.strip.Strip` objects (a line of segments),
each with seven small caches of the strips derived from it. Two of its operations give
back the strip itself when there is nothing to do (``divide`` at the strip's own end,
``crop_extend`` over exactly its width) and keep that answer in the strip's own cache: the
strip then refers to itself, and when a widget draws a line again, the old line cannot be
freed by its reference count. It waits for a full collection, with its caches, segments
and lists: about 13,000 objects a second on a desk in use, most of the garbage the
collector had to free between two keys.

:func:`install` makes those two operations answer ``self`` without caching it; every
other answer is still cached as before, and every answer is the same. Textual is pinned
to one minor version (``pyproject.toml``), and the tests compare both operations with the
originals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich.style import Style
from textual.strip import Strip

_ORIGINAL: dict[str, Callable[..., Any]] = {}


def _divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    cell_length = self.cell_length
    kept = [cut for cut in cuts if cut <= cell_length]
    if len(kept) == 1 and kept[0] == cell_length:
        return [self]
    return _ORIGINAL["divide"](self, kept)  # type: ignore[no-any-return]


def _crop_extend(self: Strip, start: int, end: int, style: Style | None) -> Strip:
    if start <= 0 and end == self.cell_length:
        return self
    return _ORIGINAL["crop_extend"](self, start, end, style)  # type: ignore[no-any-return]


def install() -> None:
    """Replace the two operations (once; later calls do nothing)."""
    if _ORIGINAL:
        return
    _ORIGINAL["divide"] = Strip.divide
    _ORIGINAL["crop_extend"] = Strip.crop_extend
    Strip.divide = _divide  # type: ignore[method-assign]
    Strip.crop_extend = _crop_extend  # type: ignore[method-assign]


def original(name: str) -> Callable[..., Any]:
    """The operation as Textual wrote it (for the tests that compare the two)."""
    return _ORIGINAL.get(name) or getattr(Strip, name)
