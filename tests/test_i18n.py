"""Two languages: every user-facing string has a zh_CN translation; compiled catalogues match."""

from __future__ import annotations

import gettext
import io
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import tui_desk
from tui_desk.i18n import LOCALE_DIR, _, set_language

ROOT = Path(tui_desk.__file__).parent
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def _source_ids() -> set[str]:
    ids: set[str] = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def _po(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "tui_desk.po"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_source_string_is_translated_to_zh_cn() -> None:
    with _po("zh_CN").open("rb") as fh:
        catalog = read_po(fh)
    missing = []
    for msgid in sorted(_source_ids()):
        message = catalog.get(msgid)
        text = message.string if message else None
        if isinstance(text, tuple | list):
            text = text[0]
        if not text:
            missing.append(msgid)
    assert not missing, (
        f"{len(missing)} strings lack a zh_CN translation (run make i18n): {missing[:10]}"
    )


def test_placeholders_survive_translation() -> None:
    with _po("zh_CN").open("rb") as fh:
        catalog = read_po(fh)
    for message in catalog:
        if not message.id or not message.string:
            continue
        source = message.id[0] if isinstance(message.id, tuple) else message.id
        target = message.string[0] if isinstance(message.string, tuple | list) else message.string
        if not target:
            continue
        assert isinstance(source, str) and isinstance(target, str)
        assert _fields(source) == _fields(target), (source, target)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_compiled_catalogue_matches_po(lang: str) -> None:
    with _po(lang).open("rb") as fh:
        catalog = read_po(fh)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    expected = gettext.GNUTranslations(buf)
    mo = _po(lang).with_suffix(".mo")
    with mo.open("rb") as fh:
        actual = gettext.GNUTranslations(fh)
    assert actual._catalog == expected._catalog, f"{mo} is stale: run make i18n"  # type: ignore[attr-defined]


def test_switching_language() -> None:
    assert set_language("zh_CN.UTF-8") == "zh_CN"
    assert _("no phone number was given") != "no phone number was given"
    assert set_language("en") == "en"
    assert _("no phone number was given") == "no phone number was given"
