"""Alembic is the only way the schema is made: upgrade, current revision, version checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from tui_desk.db.engine import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class SchemaError(RuntimeError):
    """The database schema cannot be used by this version of tui-desk."""


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message is one line for the user."""


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", db.url.render_as_string(hide_password=False))
    return cfg


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def check_schema(db: Database) -> str | None:
    """Current revision, or raise SchemaError if the database is newer than this code."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    try:
        with db.engine.connect() as conn:
            rev = current_revision(conn)
    except (OperationalError, DBAPIError) as exc:
        raise DatabaseUnavailable(_one_line(db, exc)) from exc
    if rev is not None:
        known = {s.revision for s in script.walk_revisions()}
        if rev not in known:
            raise SchemaError(
                f"the database {db.describe()} has schema revision {rev}, newer than this "
                f"tui-desk knows (head {head_revision()}); upgrade tui-desk first"
            )
    return rev


@contextmanager
def migration_connection(db: Database) -> Iterator[Config]:
    """An Alembic config bound to one connection in one transaction.

    On SQLite, foreign keys are switched off for the migration (outside the transaction,
    the only place SQLite honours it): a batch rebuild copies a table, drops the old one
    and renames the copy, which must neither fail on nor cascade to the rows pointing at
    it. The references are checked before the transaction commits.
    """
    cfg = alembic_config(db)
    with db.engine.connect() as conn:
        sqlite = db.engine.dialect.name == "sqlite"
        raw = conn.connection.driver_connection
        if sqlite and raw is not None:
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                yield cfg
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise SchemaError(
                            f"the migration left {len(broken)} broken references "
                            f"(first: {broken[0]}); nothing was changed"
                        )
        finally:
            if sqlite and raw is not None:
                raw.execute("PRAGMA foreign_keys = ON")


def upgrade(db: Database, revision: str = "head") -> str:
    """Upgrade the schema to ``revision``; returns the revision now in force."""
    check_schema(db)
    with migration_connection(db) as cfg:
        command.upgrade(cfg, revision)
    with db.engine.connect() as conn:
        rev = current_revision(conn)
    assert rev is not None
    return rev


def ensure_schema(db: Database) -> str:
    """Upgrade an empty or older database; refuse a newer one. Returns the head revision."""
    rev = check_schema(db)
    if rev != head_revision():
        return upgrade(db)
    return rev


def _one_line(db: Database, exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return f"cannot open database {db.describe()}: {first}"
