"""Which characters of a text a terminal must never receive: the one definition, used by
the input checks (refuse) and the output sanitiser (remove). Pure: no I/O."""

from __future__ import annotations

import re

# Terminal control characters (C0, DEL, C1) and lone surrogates: what a terminal would
# act on (ESC retitles it, moves the cursor...) or cannot encode. Tab and newline are
# layout, kept where a text has lines.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def unsafe_chars(text: str, *, multiline: bool = False) -> list[str]:
    """The characters of ``text`` a terminal must never receive (tab and newline allowed
    only where ``multiline``), in order of appearance."""
    return (_UNSAFE if multiline else _UNSAFE_LINE).findall(text)


def first_unsafe(text: str, *, multiline: bool = False) -> str | None:
    """The first character ``unsafe_chars`` would list, or None (one scan that stops
    there: what a check of every field of every imported row needs)."""
    found = (_UNSAFE if multiline else _UNSAFE_LINE).search(text)
    return found.group() if found else None


def safe_text(text: str) -> str:
    """``text`` with every terminal control character removed (tab and newline kept).

    The one output sanitiser: whatever was stored is shown or written through it (views
    clean their texts when built; exports and reports clean what they write), so a
    control character that reached the database by any road never reaches a terminal,
    a printout or a spreadsheet.
    """
    return _UNSAFE.sub("", text) if _UNSAFE.search(text) else text
