"""Locate shipped data (profiles, templates): inside the wheel, or the source tree's data/.

Policy profiles are chosen by name only: an administrator may install one as
``/etc/tui-desk/profiles/NAME.toml`` (beside the system config file), which is used
before a shipped profile of the same name. A user's ``--profile`` is never a path.
"""

from __future__ import annotations

import re
from pathlib import Path

from tui_desk.config import system_config_dir
from tui_desk.i18n import _

_PACKAGED = Path(__file__).parent / "_data"
_SOURCE = Path(__file__).resolve().parent.parent / "data"
PROFILE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class UnknownProfile(LookupError):
    """No policy profile of that name (or a name that is not a plain name)."""


def data_path(relative: str) -> Path:
    for root in (_PACKAGED, _SOURCE):
        candidate = root / relative
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"shipped data file not found: {relative}")


def shipped_profiles() -> list[str]:
    names: set[str] = set()
    for root in (_PACKAGED, _SOURCE):
        names.update(p.stem for p in (root / "profiles").glob("*.toml"))
    return sorted(names)


def installed_profiles() -> list[str]:
    folder = system_config_dir() / "profiles"
    return sorted(p.stem for p in folder.glob("*.toml") if PROFILE_NAME.fullmatch(p.stem))


def profile_path(name: str) -> Path:
    """The file of the policy profile ``name``: installed by an administrator, or shipped."""
    if not PROFILE_NAME.fullmatch(name):
        raise UnknownProfile(
            _("a policy profile is a name such as cn or us-regf, not {name!r}").format(name=name)
        )
    installed = system_config_dir() / "profiles" / f"{name}.toml"
    if installed.is_file():
        return installed
    try:
        return data_path(f"profiles/{name}.toml")
    except FileNotFoundError:
        names = sorted({*shipped_profiles(), *installed_profiles()})
        raise UnknownProfile(
            _("unknown policy profile {name!r}; the profiles are: {names}").format(
                name=name, names=", ".join(names)
            )
        ) from None
