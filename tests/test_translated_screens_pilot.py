"""Every screen and form reachable from the desk, in zh_CN, shows no untranslated English
and no raw code: no snake_case token (``extend_term``), no dotted code (``visit.day_sheet``),
no catalogue key. The same walk in English finds no code either."""

from __future__ import annotations

import re

import pytest

from tests import pilot as helpers
from tests.screens import desk_app, freeze_clock, office
from tui_desk.db.engine import Database
from tui_desk.i18n import set_language

pytestmark = pytest.mark.usefixtures("quick_debounce")

SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
DOTTED = re.compile(r"\b[a-z]{2,}(?:\.[a-z_]{2,})+\b")
COMMAND = re.compile(r"`[^`]*`")
WORD = re.compile(r"[A-Za-z]{3,}")
# What stays Latin in Chinese: key names, abbreviations, the program and the engine.
LATIN = {
    "ctrl", "shift", "Enter", "Esc", "Tab", "Space", "SMS", "PDF", "DPD", "tui", "desk",
    "sqlite", "postgresql", "CNY", "SHA", "Markdown", "PgUp", "PgDn", "Home", "End", "Del",
    "Backspace", "Up", "Down", "Left", "Right", "escape", "enter", "tab", "space", "left",
    "right", "up", "down", "home", "end", "pageup", "pagedown", "delete", "backspace",
    "Escape", "Shift", "YYYY", "UCS", "CSV",
}  # fmt: skip

# Keys pressed on the desk (operator) and what they open; Esc closes each.
DESK_KEYS = [
    ("desk", []),
    ("help", ["f1"]),
    ("contacts", ["f3"]),
    ("calendar", ["f4"]),
    ("agreement", ["f5"]),
    ("log a contact", ["l"]),
    ("payment", ["dollar_sign"]),
    ("hold", ["x"]),
    ("registration", ["e"]),
    ("document", ["u"]),
    ("phone", ["a"]),
    ("visit", ["V"]),
    ("plan", ["P"]),
    ("agreement actions", ["A"]),
    ("follow-ups", ["F"]),
    ("sms", ["S"]),
    ("complaint", ["C"]),
    ("archive", ["Z"]),
    ("holds", ["H"]),
    ("adjustment", ["Y"]),
    ("orphans", ["z"]),
]
SUPERVISOR_KEYS = [
    ("board", ["f6"]),
    ("audit", ["f6", "f7"]),
    ("reports", ["f6", "R"]),
    ("reassign", ["f6", "r"]),
    ("complaints", ["K"]),
    ("decide adjustment", ["Y"]),
    ("agents", ["f6", "f4"]),
    ("risks", ["f6", "f5"]),
]


def problems(text: str, *, chinese: bool) -> list[str]:
    """Codes and (in Chinese) English words in ``text``; a command to type (in backquotes)
    and a key name cut by a form drawn over it (``nter``) are not."""
    text = COMMAND.sub("", text)
    found = SNAKE.findall(text) + DOTTED.findall(text)
    if chinese:
        found += [
            w for w in WORD.findall(text) if w not in LATIN and not any(w in k for k in LATIN)
        ]
    return found


async def walk(
    db: Database, keys: list[tuple[str, list[str]]], *, supervisor: bool
) -> dict[str, str]:
    place = office(db)
    app = desk_app(place, supervisor=supervisor)
    shown: dict[str, str] = {}
    async with app.run_test(size=(160, 50)) as pilot:
        await helpers.open_case(pilot, place.first)
        for name, presses in keys:
            for key in presses:
                await pilot.press(key)
                await helpers.settle(pilot)
            shown[name] = helpers.screen_text(app, legacy_windows=False)
            for _key in presses:
                if len(app.screen_stack) > 1:
                    await pilot.press("escape")
                    await helpers.settle(pilot)
            await pilot.press("f2")
            await helpers.settle(pilot)
    return shown


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("supervisor", [False, True], ids=["operator", "supervisor"])
async def test_screens_show_no_code_and_no_untranslated_word(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, language: str, supervisor: bool
) -> None:
    freeze_clock(monkeypatch)
    set_language(language)
    shown = await walk(
        sqlite_db, SUPERVISOR_KEYS if supervisor else DESK_KEYS, supervisor=supervisor
    )
    found = {
        name: sorted(set(problems(text, chinese=language == "zh_CN")))
        for name, text in shown.items()
    }
    found = {name: words for name, words in found.items() if words}
    assert not found, "\n".join(f"{name}: {words}" for name, words in found.items())
