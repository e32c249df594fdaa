"""Settings precedence: defaults < config file < TUI_DESK_* environment < flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_desk.config import language_from_env, load_settings
from tui_desk.rules.profile import ProfileError, load_profile


def test_precedence(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        'database_url = "sqlite:///from-file.db"\nprofile = "us-regf"\nlease_minutes = 50\n'
    )
    s = load_settings(file=cfg, env={})
    assert (s.database_url, s.profile, s.lease_minutes) == ("sqlite:///from-file.db", "us-regf", 50)
    s = load_settings(
        file=cfg, env={"TUI_DESK_DATABASE_URL": "sqlite:///env.db", "TUI_DESK_LEASE_MINUTES": "80"}
    )
    assert (s.database_url, s.lease_minutes) == ("sqlite:///env.db", 80)
    s = load_settings(
        file=cfg,
        env={"TUI_DESK_DATABASE_URL": "sqlite:///env.db"},
        database_url="sqlite:///flag.db",
    )
    assert s.database_url == "sqlite:///flag.db"
    assert s.profile == "us-regf"


def test_default_database_is_outside_the_source_tree(tmp_path: Path) -> None:
    s = load_settings(file=tmp_path / "missing.toml", env={})
    assert s.database_url.startswith("sqlite:///")
    assert "tui_desk/" not in s.database_url


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "C"}, "en"),
        ({}, "en"),
    ],
)
def test_language_from_env(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert language_from_env() == expected


def test_profiles_load() -> None:
    cn = load_profile("cn")
    us = load_profile("us-regf")
    assert cn.office_timezone == "Asia/Shanghai" and cn.section("visits")["spacing_days"] == 3
    assert us.currency == "USD"
    with pytest.raises(ProfileError):
        load_profile("atlantis")
