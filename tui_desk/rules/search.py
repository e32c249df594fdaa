"""How search input is read: name pieces, reversed digits, and what kind of query it is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# Name pieces stored per borrower: every 1- and 2-character substring (Chinese names are
# mostly 2-3 characters, too short for a trigram index).
MAX_GRAM = 2

_DIGITS = re.compile(r"\d")
_NOT_DIGIT_OR_X = re.compile(r"[^0-9Xx]")
_PHONE_CHARS = re.compile(r"^[\d\s+()\-.]+$")
_ID_TAIL = re.compile(r"^\d{0,17}[\dXx]$")

QueryKind = Literal["empty", "name", "phone", "id_tail", "case_id"]


def name_grams(name: str) -> set[str]:
    """All 1- and 2-character pieces of a name (what the side table stores)."""
    name = name.strip()
    return {name[i : i + n] for n in (1, 2) for i in range(len(name) - n + 1)}


def reverse_digits(value: str) -> str:
    """Digits (and a trailing X of an ID) reversed, so a suffix becomes a prefix."""
    if value.isascii():
        # The same for ASCII text (its only digits are 0-9), without a call per character.
        return _NOT_DIGIT_OR_X.sub("", value).upper()[::-1]
    return "".join(ch for ch in value if ch.isdigit() or ch in "Xx").upper()[::-1]


@dataclass(frozen=True)
class ParsedQuery:
    kind: QueryKind
    text: str


def parse_query(raw: str) -> ParsedQuery:
    """Decide what the operator is typing.

    ``#123`` is a case number; digits with phone punctuation or a leading ``+``/``00`` are
    a phone number or its last digits; up to 17 digits ending in a digit or ``X`` typed
    after ``id:`` (or 4-6 digits ending in X) are the ID number's last digits; anything
    else is a name.
    """
    text = raw.strip()
    if not text:
        return ParsedQuery("empty", "")
    # ASCII digits only ("#²" is a name), and no more than a 64-bit id holds.
    if text.startswith("#") and text[1:].isascii() and text[1:].isdigit() and len(text) <= 19:
        return ParsedQuery("case_id", text[1:])
    lowered = text.lower()
    if lowered.startswith("id:"):
        tail = text[3:].strip()
        return (
            ParsedQuery("id_tail", tail.upper())
            if _ID_TAIL.match(tail)
            else ParsedQuery("name", text)
        )
    if text[-1] in "Xx" and _ID_TAIL.match(text):
        return ParsedQuery("id_tail", text.upper())
    if _PHONE_CHARS.match(text) and _DIGITS.search(text):
        return ParsedQuery("phone", text)
    return ParsedQuery("name", text)
