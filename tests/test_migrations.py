"""Migrations: upgrade from empty on both engines; models match migrations; newer refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from tests.conftest import _pg_admin, _pg_dsn
from tui_desk.db.engine import Database, open_database
from tui_desk.db.migrate import SchemaError, ensure_schema, head_revision
from tui_desk.db.models import Base


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def empty_db(
    request: pytest.FixtureRequest, tmp_path: Path, pg_available: str | None
) -> Iterator[Database]:
    if request.param == "sqlite":
        db = open_database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield db
        db.dispose()
        return
    request.getfixturevalue("pg_template")  # skips or fails exactly as the other PG tests
    name = f"tde_{uuid.uuid4().hex[:12]}"
    _pg_admin(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0")
    db = open_database(_pg_dsn(name))
    yield db
    db.dispose()
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_upgrade_from_empty_and_models_match(empty_db: Database) -> None:
    assert ensure_schema(empty_db) == head_revision()
    with empty_db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []
    # A second run is a no-op.
    assert ensure_schema(empty_db) == head_revision()


def test_database_newer_than_code_is_refused(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff9999'"))
    with pytest.raises(SchemaError, match="newer than this tui-desk"):
        ensure_schema(db)


def test_postgres_database_is_utf8(pg_db: Database) -> None:
    with pg_db.engine.connect() as conn:
        assert conn.execute(text("SHOW server_encoding")).scalar() == "UTF8"


def test_every_migration_downgrades_and_upgrades_again_keeping_rows(empty_db: Database) -> None:
    """Down to the first revision and back up, on a database with cases and contacts in
    it: no batch rebuild trips over the foreign keys, and no row is lost on the way."""
    from alembic import command

    from tests.factories import Factory
    from tui_desk.db.migrate import migration_connection

    ensure_schema(empty_db)
    make = Factory(empty_db)
    agent = make.agent(login="op")
    for _ in range(3):
        case_id = make.case()
        make.contact(case_id, agent_id=agent)

    def counts() -> tuple[int, int]:
        with empty_db.engine.connect() as conn:
            cases = conn.execute(text("SELECT count(*) FROM collection_case")).scalar_one()
            contacts = conn.execute(text("SELECT count(*) FROM contact_attempt")).scalar_one()
        return int(cases), int(contacts)

    before = counts()
    with migration_connection(empty_db) as cfg:
        command.downgrade(cfg, "0001")
    with migration_connection(empty_db) as cfg:
        command.upgrade(cfg, "head")
    assert counts() == before
    with empty_db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []


def test_known_revisions_are_the_migration_scripts_in_order() -> None:
    """The schema check reads the revisions from the scripts' file names (Alembic is not
    loaded for it): they must be exactly Alembic's chain, oldest first, the head last."""
    from alembic.script import ScriptDirectory

    from tui_desk.db.migrate import MIGRATIONS_DIR, known_revisions

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    chain = [s.revision for s in script.walk_revisions()][::-1]
    assert tuple(chain) == known_revisions()
    assert script.get_current_head() == head_revision() == known_revisions()[-1]


def test_schema_check_reads_the_version_without_alembic(db: Database) -> None:
    """A fresh interpreter checking the schema never imports Alembic or Mako."""
    import subprocess
    import sys

    url = db.url.render_as_string(hide_password=False)
    code = (
        "import sys\n"
        "from tui_desk.db.engine import open_database\n"
        "from tui_desk.db.migrate import require_current\n"
        f"db = open_database({url!r})\n"
        "print(require_current(db))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split("\n")
    assert out[0] == head_revision()
    assert out[1] == "[]"
