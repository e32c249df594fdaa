"""Fixtures: every storage/service test runs on SQLite and on PostgreSQL.

The schema is migrated once per test session into a template (an SQLite file, a
PostgreSQL template database) and copied for each test, so tests stay fast and isolated.
Under CI=true a missing PostgreSQL fails the run; locally those tests skip with a reason.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings

from tui_desk.db.engine import Database, open_database
from tui_desk.db.migrate import upgrade
from tui_desk.i18n import set_language
from tui_desk.screens.desk import DeskScreen

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get(
    "TUI_DESK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _pg_dsn(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{dbname}"


def _pg_admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql.encode())


@pytest.fixture(autouse=True)
def _no_system_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Tests never read the host's /etc/tui-desk: the system config is a file that is not there
    (a test that wants one sets TUI_DESK_SYSTEM_CONFIG itself)."""
    absent = tmp_path_factory.getbasetemp() / "no-system-config" / "config.toml"
    monkeypatch.setenv("TUI_DESK_SYSTEM_CONFIG", str(absent))


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("en")


@pytest.fixture
def quick_debounce(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorten the desk's debounces (case load and search) so Pilot tests settle fast.

    A module turns it on for all its tests with
    ``pytestmark = pytest.mark.usefixtures("quick_debounce")``.
    """
    monkeypatch.setattr(DeskScreen, "DEBOUNCE_SECONDS", 0.02)
    monkeypatch.setattr(DeskScreen, "SEARCH_DEBOUNCE_SECONDS", 0.02)


@pytest.fixture(scope="session")
def pg_available() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("select 1")
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {str(exc).strip().splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    db = open_database(f"sqlite:///{path}")
    upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template(pg_available: str | None) -> Iterator[str]:
    if pg_available:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {pg_available}")
        pytest.skip(pg_available)
    name = f"tdtpl_{uuid.uuid4().hex[:12]}"
    _pg_admin(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0")
    db = open_database(_pg_dsn(name))
    upgrade(db)
    db.dispose()
    yield name
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def make_sqlite_db(template: Path, directory: Path) -> Database:
    target = directory / f"desk-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, target)
    return open_database(f"sqlite:///{target}")


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    db = make_sqlite_db(sqlite_template, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def pg_db(pg_template: str) -> Iterator[Database]:
    name = f"tdt_{uuid.uuid4().hex[:12]}"
    _pg_admin(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    db = open_database(_pg_dsn(name))
    yield db
    db.dispose()
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db(request: pytest.FixtureRequest) -> Database:
    """A freshly migrated database on each engine."""
    name = "sqlite_db" if request.param == "sqlite" else "pg_db"
    result = request.getfixturevalue(name)
    assert isinstance(result, Database)
    return result
