"""``refused_by(rule)``: the block is refused by that contact rule (its code, read from the
error), with a message that names the rule in words, never by its code."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tui_desk.formatting import label
from tui_desk.services.errors import RuleRefused


@contextlib.contextmanager
def refused_by(rule: str, match: str | None = None) -> Iterator[None]:
    with pytest.raises(RuleRefused, match=match) as refused:
        yield
    assert refused.value.rule == rule
    message, words = str(refused.value), label("rule", rule)
    assert words in message and (words == rule or rule not in message), message
