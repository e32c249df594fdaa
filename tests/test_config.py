"""Settings precedence: defaults < system file < user file < TUI_DESK_* environment < flags;
unknown or ill-typed settings refused by name; policy profiles by name only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tui_desk import cli
from tui_desk.config import ConfigError, language_from_env, load_settings, system_config_file
from tui_desk.resources import data_path
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


# --- the system's config file and installed profiles ----------------------------------------


def test_the_system_file_sits_under_the_user_file_and_the_environment(tmp_path: Path) -> None:
    system = tmp_path / "etc" / "config.toml"
    system.parent.mkdir()
    system.write_text(
        'database_url = "sqlite:////var/lib/tui-desk/desk.db"\nprofile = "us-regf"\n'
        'office_timezone = "Asia/Urumqi"\n'
    )
    user = tmp_path / "user.toml"
    user.write_text('profile = "cn"\n')
    s = load_settings(file=user, system_file=system, env={})
    assert (s.database_url, s.profile, s.office_timezone) == (
        "sqlite:////var/lib/tui-desk/desk.db",
        "cn",
        "Asia/Urumqi",
    )
    s = load_settings(file=user, system_file=system, env={"TUI_DESK_OFFICE_TIMEZONE": "UTC"})
    assert s.office_timezone == "UTC"


def test_the_system_file_is_found_through_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "config.toml"
    system.write_text('language = "zh_CN"\n')
    monkeypatch.setenv("TUI_DESK_SYSTEM_CONFIG", str(system))
    assert system_config_file() == system
    assert load_settings(file=tmp_path / "none.toml", env={}).language == "zh_CN"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('databse_url = "sqlite:////x.db"\n', "unknown setting 'databse_url' in {path}"),
        ('lease_minutes = "15"\n', "the setting 'lease_minutes' in {path} must be a whole number"),
        ("profile = 3\n", "the setting 'profile' in {path} must be a text in quotes"),
        ("lease_minutes = true\n", "the setting 'lease_minutes' in {path} must be a whole number"),
        ("profile = \n", "{path} is not valid TOML"),
    ],
)
def test_a_bad_setting_is_refused_with_its_name(tmp_path: Path, text: str, expected: str) -> None:
    for which in ("system", "user"):
        path = tmp_path / f"{which}.toml"
        path.write_text(text)
        files = {"system_file": path, "file": tmp_path / "none.toml"}
        if which == "user":
            files = {"system_file": tmp_path / "none.toml", "file": path}
        with pytest.raises(ConfigError) as refused:
            load_settings(env={}, **files)
        message = str(refused.value)
        assert message.startswith(expected.format(path=path)) and "\n" not in message


def test_a_bad_variable_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TUI_DESK_LEASE_MINUTES='soon' must be a whole number"):
        load_settings(file=tmp_path / "none.toml", env={"TUI_DESK_LEASE_MINUTES": "soon"})


def test_the_command_line_refuses_a_bad_system_file_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    system = tmp_path / "config.toml"
    system.write_text('database = "sqlite:////var/lib/tui-desk/desk.db"\n')
    monkeypatch.setenv("TUI_DESK_SYSTEM_CONFIG", str(system))
    monkeypatch.setenv("TUI_DESK_CONFIG", str(tmp_path / "none.toml"))
    with pytest.raises(SystemExit) as exited:
        cli.main(["agents", "list"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tui-desk: unknown setting 'database' in {system}; the settings are: ")
    assert err.count("\n") == 1


@pytest.fixture
def profiles_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TUI_DESK_SYSTEM_CONFIG", str(tmp_path / "etc" / "config.toml"))
    folder = tmp_path / "etc" / "profiles"
    folder.mkdir(parents=True)
    load_profile.cache_clear()
    yield folder
    load_profile.cache_clear()


def test_an_administrator_installs_a_profile_by_name(profiles_folder: Path) -> None:
    shipped = data_path("profiles/cn.toml").read_text(encoding="utf-8")
    (profiles_folder / "cn-east.toml").write_text(
        shipped.replace('name = "cn"', 'name = "cn-east"'), encoding="utf-8"
    )
    assert load_profile("cn-east").name == "cn-east"
    assert load_profile("us-regf").name == "us-regf"  # shipped ones stay available


@pytest.mark.parametrize(
    "name", ["../x", "../x.toml", "/etc/passwd", "cn.toml", "profiles/cn", "CN", "", "~root"]
)
def test_a_profile_is_never_a_path(profiles_folder: Path, name: str) -> None:
    (profiles_folder.parent / "x.toml").write_text('name = "x"\n')
    with pytest.raises(ProfileError, match="a policy profile is a name such as cn or us-regf"):
        load_profile(name)


def test_an_unknown_profile_names_the_known_ones(profiles_folder: Path) -> None:
    with pytest.raises(ProfileError, match=r"unknown policy profile 'de'; the profiles are: cn, "):
        load_profile("de")


@pytest.mark.parametrize("profile", ["../x.toml", "/tmp/x.toml", "de"])
def test_the_command_line_refuses_a_profile_path_in_one_line(
    profiles_folder: Path, profile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (profiles_folder.parent / "x.toml").write_text('name = "x"\n')
    with pytest.raises(SystemExit) as exited:
        cli.main(["--profile", profile, "report", "list"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("tui-desk: ") and "policy profile" in err and err.count("\n") == 1
