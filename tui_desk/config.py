"""Settings: built-in defaults < the system's config file (``/etc/tui-desk/config.toml``) <
the user's config file < environment (TUI_DESK_*) < command-line flags.

An unknown key or a value of the wrong kind in either file, or a TUI_DESK_* value that
cannot be read, is refused with its name in one line: a misspelt ``databse_url`` must not
silently leave the desk on another database.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from tui_desk.i18n import N_, _

APP_NAME = "tui-desk"
ENV_PREFIX = "TUI_DESK_"
SYSTEM_CONFIG_FILE = Path("/etc/tui-desk/config.toml")


class ConfigError(ValueError):
    """A configuration file or variable cannot be used; the message is one line."""


def system_config_file() -> Path:
    """The administrator's settings for every user of this host (TUI_DESK_SYSTEM_CONFIG
    moves it, for tests and unusual layouts)."""
    override = os.environ.get(f"{ENV_PREFIX}SYSTEM_CONFIG")
    return Path(override) if override else SYSTEM_CONFIG_FILE


def system_config_dir() -> Path:
    """The folder of the system config file; installed policy profiles live in profiles/."""
    return system_config_file().parent


def data_dir() -> Path:
    """Where the embedded database lives by default (outside the source tree)."""
    override = os.environ.get(f"{ENV_PREFIX}DATA_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_file() -> Path:
    override = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'desk.db'}"


def demo_database_url() -> str:
    return f"sqlite:///{data_dir() / 'demo.db'}"


def language_from_env() -> str:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return "zh_CN" if value.lower().startswith("zh") else "en"
    return "en"


@dataclass(frozen=True)
class Settings:
    database_url: str
    language: str = "en"
    profile: str = "cn"
    agent: str | None = None
    office_timezone: str = "Asia/Shanghai"
    lease_minutes: int = 15
    # The SMS gateway (a JSON API); the token comes from the config file or
    # TUI_DESK_SMS_GATEWAY_TOKEN, never from the repository. No URL: SMS are queued only.
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = None
    # The phone system (Asterisk ARI or compatible). No URL: the desk shows the number
    # formatted for dialing by hand.
    pbx_url: str | None = None
    pbx_user: str | None = None
    pbx_password: str | None = None
    pbx_context: str = "from-internal"
    # Where exports go on a shared host (each agent gets a group-readable folder of their
    # own under it); default: the data folder's exports/. The print command receives a
    # file to print as its last argument (CUPS ``lp`` by default).
    exports_dir: str | None = None
    print_command: str = "lp"
    # Where the desk writes its rotating log (default: the user's state folder,
    # ~/.local/state/tui-desk); the worker logs to standard error.
    log_dir: str | None = None
    # The wallboard in browsers (`tui-desk serve-board`): each viewer is one process, so
    # at most this many at once; a further browser is told the board is full.
    board_max_viewers: int = 8

    def with_overrides(self, **values: Any) -> Settings:
        clean = {k: v for k, v in values.items() if v is not None}
        return replace(self, **clean)


_CASTS: dict[str, type] = {"lease_minutes": int, "board_max_viewers": int}
_KIND_NAMES: dict[type, str] = {int: N_("a whole number"), str: N_("a text in quotes")}


def load_settings(
    *,
    file: Path | None = None,
    system_file: Path | None = None,
    env: dict[str, str] | None = None,
    **flags: Any,
) -> Settings:
    """Settings from defaults, the system's file, the user's file, TUI_DESK_*, then flags."""
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {
        "database_url": default_database_url(),
        "language": language_from_env(),
    }
    for path in (system_file or system_config_file(), file or config_file()):
        values.update(read_config_file(path))
    for name in _field_names():
        raw = env.get(ENV_PREFIX + name.upper())
        if raw:
            values[name] = _from_env(name, raw)
    values.update({k: v for k, v in flags.items() if v is not None and k in _field_names()})
    return Settings(**values)


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings of one TOML file (none when it does not exist), checked key by key."""
    try:
        with path.open("rb") as fh:
            loaded = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(
            _("cannot read {path}: {error}").format(path=path, error=exc.strerror or exc)
        ) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            _("{path} is not valid TOML: {error}").format(path=path, error=exc)
        ) from exc
    known = {f.name: f for f in fields(Settings)}
    for key, value in loaded.items():
        if key not in known:
            raise ConfigError(
                _("unknown setting {key!r} in {path}; the settings are: {names}").format(
                    key=key, path=path, names=", ".join(sorted(known))
                )
            )
        wanted = _CASTS.get(key, str)
        if not isinstance(value, wanted) or isinstance(value, bool):
            raise ConfigError(
                _("the setting {key!r} in {path} must be {kind}").format(
                    key=key, path=path, kind=_(_KIND_NAMES[wanted])
                )
            )
    return loaded


def _from_env(name: str, raw: str) -> Any:
    cast = _CASTS.get(name, str)
    try:
        return cast(raw)
    except ValueError:
        raise ConfigError(
            _("{variable}={value!r} must be {kind}").format(
                variable=ENV_PREFIX + name.upper(), value=raw, kind=_(_KIND_NAMES[cast])
            )
        ) from None


def _field_names() -> set[str]:
    return {f.name for f in fields(Settings)}
