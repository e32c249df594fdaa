"""Views never carry a terminal control character out of the database.

Every view type (the frozen dataclasses that cross from the services to the screens and
exports) derives from ``SafeText``: when a view is built, its texts, and texts inside its
tuples and lists, pass through the one output sanitiser (``formatting.safe_text``). Text
is untrusted on output whatever road it took into the database (an import before input
checks existed, a hand edit, another program), so the desk, the day sheet, reports and
exports draw only what a terminal or a printout can show.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from tui_desk.formatting import safe_text


def clean(value: Any) -> Any:
    """``value`` with every text in it made safe; the same object when nothing changed."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, tuple | list) and value:
        items = [clean(v) for v in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return type(value)(items) if isinstance(value, list) else tuple(items)
    return value


class SafeText:
    """Mixin for view dataclasses: text fields are sanitised as the view is built."""

    __slots__ = ()

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            cleaned = clean(value)
            if cleaned is not value:
                object.__setattr__(self, f.name, cleaned)
