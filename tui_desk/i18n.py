"""One translation function for every user-facing string (gettext catalogues zh_CN and en).

``_("...")`` translates at call time into the active language; ``N_("...")`` only marks a
string for extraction (translated later, e.g. labels in module-level tables).
"""

from __future__ import annotations

import gettext
from pathlib import Path

DOMAIN = "tui_desk"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "zh_CN")

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def set_language(language: str) -> str:
    """Activate a language ("en" or "zh_CN"); unknown values fall back to English."""
    global _current, _language
    lang = "zh_CN" if language.lower().replace("-", "_").startswith("zh") else "en"
    _current = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)
    _language = lang
    return lang


def current_language() -> str:
    return _language


def _(message: str) -> str:
    return _current.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - gettext convention
    return message
