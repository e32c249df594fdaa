"""Engine and session factory for both engines (SQLite file with WAL, PostgreSQL via psycopg 3).

Writes run in ``Database.write()``: on SQLite that transaction starts with
``BEGIN IMMEDIATE`` so a read-then-write never fails with "database is locked" half-way;
on PostgreSQL it is an ordinary transaction and services take row locks where they need them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from tui_desk.i18n import _

SQLITE_BUSY_TIMEOUT_MS = 5000
# A new SQLite database: read-write for its owner and the desk's group (less the umask;
# every tui-desk command runs with umask 007), nothing for others.
SHARED_DATABASE_MODE = 0o660


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message is one line for the user."""


def normalise_url(raw: str) -> URL:
    """Parse a SQLAlchemy URL; PostgreSQL URLs default to the psycopg 3 driver.

    Only the drivers tui-desk ships with are taken, and an SQLite URL must name a file:
    anything else is refused in one line before any driver is loaded.
    """
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise DatabaseUrlError(_("not a database URL: {url!r}").format(url=raw)) from exc
    backend, _plus, driver = url.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "psycopg", "psycopg2"):
            raise DatabaseUrlError(
                _("unsupported PostgreSQL driver {driver!r}: use postgresql://...").format(
                    driver=driver
                )
            )
        url = url.set(drivername="postgresql+psycopg")
    elif backend == "sqlite":
        if driver not in ("", "pysqlite"):
            raise DatabaseUrlError(
                _("unsupported SQLite driver {driver!r}: use sqlite:///PATH").format(driver=driver)
            )
        if url.host or not url.database or url.database == ":memory:":
            raise DatabaseUrlError(
                _(
                    "an SQLite URL names a file: sqlite:////absolute/path/desk.db "
                    "(four slashes) or sqlite:///relative/path.db, not {url!r}"
                ).format(url=raw)
            )
    else:
        raise DatabaseUrlError(
            _("unsupported database {backend!r}: use sqlite:///PATH or postgresql://...").format(
                backend=backend
            )
        )
    return url


def check_sqlite_file(url: URL, *, create: bool) -> None:
    """Refuse an SQLite file whose folder is missing, or that is missing when not creating.

    SQLite makes an empty database for any path it is given, so a mistyped path would
    otherwise open an empty desk; only the commands that create databases create one.
    """
    assert url.database
    path = Path(url.database).expanduser()
    if not path.parent.is_dir():
        raise DatabaseUrlError(
            _("the SQLite database folder {folder} does not exist (a mistyped path?)").format(
                folder=path.parent
            )
        )
    if create and not path.exists():
        _create_shared_file(path)
    if not create and not path.exists():
        raise DatabaseUrlError(
            _(
                "there is no database at {path} (a mistyped path?); "
                "create one with: tui-desk db upgrade"
            ).format(path=path)
        )


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal" and engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


DESK_PAGE_CACHE_KIB = 512
"""The pages each SQLite connection of a desk keeps (SQLite's default: 2,000 KiB). A desk
holds five connections and reads a page of the queue or one case at a time; the
operating system's file cache keeps the database's hot pages for every process on the
host, so the desk's own copies only cost memory (about 10 MB of a desk's resident memory
on a 1M-case database)."""


def desk_page_cache(db: Database, kib: int = DESK_PAGE_CACHE_KIB) -> None:
    """SQLite: each connection of ``db`` keeps at most ``kib`` KiB of pages, those open
    already too (the pool is emptied; they are opened again when next asked for)."""
    if db.engine.dialect.name != "sqlite":
        return

    @event.listens_for(db.engine, "connect")
    def _cache(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA cache_size = -{int(kib)}")
        cur.close()

    db.engine.dispose()


class DatabaseBusy(RuntimeError):
    """A write gave way to others (lock wait too long, deadlock victim); nothing was saved."""


def database_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` says the database could not be reached or the connection dropped
    (a server restarting, a closed port, a missing file): an outage to wait out, unlike a
    lock wait (``DatabaseBusy``) or a refused statement."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DatabaseBusy):
            return False
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (OperationalError, InterfaceError)):
            text = str(current.orig).lower()
            return "database is locked" not in text and "deadlock detected" not in text
        current = current.__cause__ or current.__context__
    return False


@dataclass
class Database:
    """One database: its engine plus read and write session factories."""

    url: URL
    engine: Engine
    _read: sessionmaker[Session] = field(init=False, repr=False)
    _write: sessionmaker[Session] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        write_bind = self.engine
        if self.is_sqlite:
            write_bind = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._write = sessionmaker(write_bind, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (rolled back at the end)."""
        with self._read() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read-only unit of work whose every query sees the same committed state.

        SQLite's read transaction (WAL) is a snapshot from its first read; PostgreSQL's
        default isolation takes a new snapshot per statement, so this asks for REPEATABLE
        READ. One screenful (a whole case) is read this way.
        """
        with self._read() as session:
            try:
                if self.is_postgresql:
                    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                yield session
            finally:
                session.rollback()

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any error.

        A write that waited too long for the SQLite lock, or that PostgreSQL chose as a
        deadlock victim, is rolled back and raised as ``DatabaseBusy`` (a clear sentence);
        nothing of it was saved and it can simply be tried again.
        """
        try:
            with self._write() as session, session.begin():
                yield session
        except OperationalError as exc:
            text = str(exc.orig).lower()
            if "database is locked" in text or "deadlock detected" in text:
                raise DatabaseBusy(
                    "the database is busy with other desks' writes and nothing was saved; try again"
                ) from exc
            raise

    def dispose(self) -> None:
        self.engine.dispose()

    def describe(self) -> str:
        return self.url.render_as_string(hide_password=True)


def _create_shared_file(path: Path) -> None:
    """Make the empty database file SQLite will fill, read-write for the desk's group.

    SQLite itself creates it 0644 (less the umask), which on a shared host leaves every
    operator but its creator a read-only database; its -wal and -shm files take the
    database file's mode.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SHARED_DATABASE_MODE)
    except FileExistsError:
        return
    except OSError as exc:
        raise DatabaseUrlError(
            _("cannot create {path}: {error}").format(path=path, error=exc.strerror or exc)
        ) from exc
    os.close(fd)


def open_database(raw_url: str, *, echo: bool = False, create: bool = True) -> Database:
    """The database at ``raw_url``. With ``create=False`` an SQLite file must exist already;
    its folder must exist either way (nothing here makes folders)."""
    url = normalise_url(raw_url)
    kwargs: dict[str, Any] = {"echo": echo}
    if url.get_backend_name() == "sqlite":
        check_sqlite_file(url, create=create)
        kwargs["connect_args"] = {
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            "check_same_thread": False,
        }
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["pool_size"] = 5
        kwargs["connect_args"] = {"connect_timeout": 5, "application_name": "tui-desk"}
    try:
        engine = create_engine(url, **kwargs)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUrlError(
            _("cannot use {url}: {error}").format(
                url=url.render_as_string(hide_password=True), error=first
            )
        ) from exc
    if url.get_backend_name() == "sqlite":
        _sqlite_setup(engine)
    return Database(url=url, engine=engine)
