"""Settings: built-in defaults < config file < environment (TUI_DESK_*) < command-line flags."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "tui-desk"
ENV_PREFIX = "TUI_DESK_"


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
    # Where the desk writes its rotating log (default: the user's state folder,
    # ~/.local/state/tui-desk); the worker logs to standard error.
    log_dir: str | None = None

    def with_overrides(self, **values: Any) -> Settings:
        clean = {k: v for k, v in values.items() if v is not None}
        return replace(self, **clean)


_CASTS: dict[str, type] = {"lease_minutes": int}


def load_settings(
    *, file: Path | None = None, env: dict[str, str] | None = None, **flags: Any
) -> Settings:
    """Settings from defaults, then the config file, then TUI_DESK_* variables, then flags."""
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {
        "database_url": default_database_url(),
        "language": language_from_env(),
    }
    path = file or config_file()
    if path.is_file():
        with path.open("rb") as fh:
            loaded = tomllib.load(fh)
        values.update({k: v for k, v in loaded.items() if k in _field_names()})
    for name in _field_names():
        raw = env.get(ENV_PREFIX + name.upper())
        if raw:
            values[name] = _CASTS.get(name, str)(raw)
    values.update({k: v for k, v in flags.items() if v is not None and k in _field_names()})
    return Settings(**values)


def _field_names() -> set[str]:
    return {f.name for f in fields(Settings)}
