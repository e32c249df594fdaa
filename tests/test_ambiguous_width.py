"""No interface string holds an "ambiguous width" character (Unicode East Asian Width "A":
· – — … “ ” × and the like): a CJK terminal draws them two cells wide, an English one
one, and the columns after them shift. Checked over both catalogues, the string literals
of the code that draws the screens, and the stylesheet."""

from __future__ import annotations

import ast
import unicodedata
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import tui_desk
from tui_desk.i18n import LOCALE_DIR

ROOT = Path(tui_desk.__file__).parent
# Not drawn on a terminal: printed agreements and day sheets (PDF, Markdown), the GSM
# alphabet of the SMS length rules, the schema's migrations, the demo data.
NOT_ON_SCREEN = ("exports/", "rules/sms.py", "db/migrations/", "demo/")


def ambiguous(text: str) -> list[str]:
    return sorted(
        {
            f"U+{ord(c):04X} {unicodedata.name(c, '?')}"
            for c in text
            if unicodedata.east_asian_width(c) == "A" and not unicodedata.combining(c)
        }
    )


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_catalogues_hold_no_ambiguous_width_character(lang: str) -> None:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "tui_desk.po").open("rb") as fh:
        catalog = read_po(fh)
    found = {}
    for message in catalog:
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = (
            [message.string] if isinstance(message.string, str) else list(message.string or ())
        )
        for text in ids + strings:
            if text and ambiguous(text):
                found[text] = ambiguous(text)
    assert not found, found


def test_code_on_screen_holds_no_ambiguous_width_character() -> None:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(NOT_ON_SCREEN):
            continue
        for line, text in _literals(path):
            if ambiguous(text):
                found[f"{relative}:{line}"] = ambiguous(text)
    assert not found, found


def test_stylesheet_holds_no_ambiguous_width_character() -> None:
    assert not ambiguous((ROOT / "app.tcss").read_text(encoding="utf-8"))


def test_the_check_sees_them() -> None:
    assert ambiguous("a · b – c … “d” ×") and not ambiguous("a | b - c .. 「d」 x 张三")
