"""Alembic is the only way the schema is made: upgrade, current revision, version checks.

Checking the schema (what every command and the desk do first) is one read of
``alembic_version`` compared with the revisions named by the migration scripts' files;
Alembic and its templates load only to upgrade.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DBAPIError, OperationalError

from tui_desk.db.engine import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"


@functools.cache
def known_revisions() -> tuple[str, ...]:
    """Every revision of migrations/versions, oldest first (the last is the head), from
    the scripts' names: each is named ``<revision>_<what it does>.py``, revisions in
    order (tests/test_migrations.py checks the names against Alembic's own chain)."""
    names = sorted(path.name for path in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py"))
    return tuple(name.split("_", 1)[0] for name in names)


# pg_advisory_xact_lock key of schema upgrades (any fixed number unique to tui-desk).
UPGRADE_LOCK_KEY = 7_302_447_311


class SchemaError(RuntimeError):
    """The database schema cannot be used by this version of tui-desk."""


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message is one line for the user."""


def alembic_config(db: Database) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", db.url.render_as_string(hide_password=False))
    return cfg


def head_revision() -> str:
    return known_revisions()[-1]


def current_revision(conn: Connection) -> str | None:
    """The revision stamped in the database (None: no tui-desk schema yet)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    revisions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(revisions) > 1:
        raise SchemaError(f"the database has several schema revisions: {sorted(revisions)}")
    return revisions[0] if revisions else None


def check_schema(db: Database) -> str | None:
    """Current revision, or raise SchemaError if the database is newer than this code."""
    try:
        with db.engine.connect() as conn:
            rev = current_revision(conn)
    except (OperationalError, DBAPIError) as exc:
        raise DatabaseUnavailable(_one_line(db, exc)) from exc
    if rev is not None and rev not in known_revisions():
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
        if sqlite:
            # The write lock from the first statement: one migration at a time.
            conn = conn.execution_options(sqlite_begin="EXCLUSIVE")
        try:
            with conn.begin():
                if not sqlite:
                    # One migration at a time: the others wait here, then find the
                    # schema current and do nothing. Released when the transaction ends.
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK_KEY})")
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


def upgrade(db: Database, revision: str = "head", *, wait_seconds: float = 600.0) -> str:
    """Upgrade the schema to ``revision`` under the upgrade lock; returns the revision now
    in force (see ``upgrade_found``)."""
    return upgrade_found(db, revision, wait_seconds=wait_seconds)[1]


def upgrade_found(
    db: Database, revision: str = "head", *, wait_seconds: float = 600.0
) -> tuple[str | None, str]:
    """Upgrade under the upgrade lock: (the revision found once the lock was held, the
    revision now in force); equal when there was nothing to do.

    Several upgrades at once: one migrates, the others wait for it and find nothing left
    to do (on SQLite they retry while the database is locked, up to ``wait_seconds``)."""
    from alembic import command

    check_schema(db)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with migration_connection(db) as cfg:
                connection = cfg.attributes["connection"]
                found = current_revision(connection)
                command.upgrade(cfg, revision)
                now = current_revision(connection)
            break
        except OperationalError as exc:
            if not _locked(exc) or time.monotonic() > deadline:
                raise DatabaseUnavailable(_one_line(db, exc)) from exc
            time.sleep(0.2)
    assert now is not None
    return found, now


def _locked(exc: OperationalError) -> bool:
    return "locked" in str(exc.orig or exc).lower() or "busy" in str(exc.orig or exc).lower()


def require_current(db: Database) -> str:
    """The schema this code needs, or ``SchemaError`` naming the command that makes it.

    Only ``tui-desk db upgrade`` changes the schema; every other command checks it here.
    """
    rev = check_schema(db)
    head = head_revision()
    if rev == head:
        return rev
    if rev is None:
        raise SchemaError(
            f"the database {db.describe()} has no tui-desk schema yet: "
            "run `tui-desk db upgrade` first"
        )
    raise SchemaError(
        f"the database {db.describe()} has schema revision {rev}, this tui-desk needs "
        f"{head}: run `tui-desk db upgrade` first"
    )


def ensure_schema(db: Database) -> str:
    """Upgrade an empty or older database; refuse a newer one. Returns the head revision.

    For databases a command creates for itself (the demo's, a test's)."""
    rev = check_schema(db)
    if rev != head_revision():
        return upgrade(db)
    return rev


def _one_line(db: Database, exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return f"cannot open database {db.describe()}: {first}"
