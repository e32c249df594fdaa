"""The change feed: every committed audit event, delivered exactly once, in commit-safe order.

Every write records one ``audit_event`` in its own transaction, so the audit trail *is*
the feed. Readers (the supervisor board, the worker's board snapshot) hold a
``ChangeCursor`` and call ``read_changes`` to get what was committed since.

Why not "events after id N"
    On PostgreSQL ids come from a sequence at insert time, but transactions commit in any
    order: transaction A inserts id 100, B inserts id 101 and commits first; a reader that
    saw 101 and moved its cursor past it never sees 100 when A commits.

The horizon scheme (PostgreSQL)
    Each event stores its transaction's id (``xact_id``, server default
    ``pg_current_xact_id()``, the top-level id even inside a savepoint). The *horizon*
    ``H = pg_snapshot_xmin(pg_current_snapshot())`` is the oldest transaction still
    running (in any database of the cluster: transaction ids are cluster-wide): every transaction with an id below ``H`` has finished (committed, so its
    events are visible, or rolled back, so they never will be), and every event written
    from now on carries an id ``>= H``. Hence the events with ``xact_id < H`` form a
    *closed* set that can no longer grow.

    The feed reads in ``(xact_id, id)`` order and returns only events with
    ``xact_id < H``; the cursor is the last ``(xact_id, id)`` returned (a keyset, so the
    ``limit`` can cut anywhere, even inside one transaction's events). The next read
    returns ``(xact_id, id) > cursor AND xact_id < H'``. Because the cursor never moves past
    an event that could still appear (everything below it lies in an earlier closed set),
    an event committed later with a smaller id is still delivered, and never twice. It is
    delivered in commit-safe order, which is not id order.

    The price is latency, never loss: a writing transaction that stays open holds the
    horizon back, and events of transactions that started after it wait until it ends.
    Read-only transactions have no transaction id and hold nothing back. Events recorded
    before migration 0006 have no ``xact_id`` and are not part of the feed.

SQLite
    One writer at a time (writes start with ``BEGIN IMMEDIATE``): ids are assigned and
    committed in the same order, so ``id > last_id`` is exact; ``xact_id`` stays NULL.

Change marker
    Boards poll a cheap marker every <= 250 ms and read the feed only when it moved.
    ``change_marker(db)`` is the feed's own marker on either engine (PostgreSQL: the
    largest ``xact_id`` below the horizon; SQLite: the largest id), a value that changes
    exactly when new events became readable. ``ChangeWatcher`` keeps one dedicated
    connection for polling: on SQLite it reads ``PRAGMA data_version`` (per connection, so
    it must stay the same connection), which changes after any commit by any other
    connection, presence heartbeats included; on PostgreSQL it reads the feed marker, and
    it also LISTENs for the notification a trigger sends when audit events are committed,
    so a watcher can sleep until something happened (``wait``) instead of polling.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Select, func, select, text, tuple_
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import AuditEvent

DEFAULT_LIMIT = 500
# PostgreSQL: the channel the audit_event trigger (migration 0014) notifies on commit.
NOTIFY_CHANNEL = "tui_desk_changes"
_TOKEN_PREFIX = "cf1"
_HORIZON = text("(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint")


@dataclass(frozen=True, order=True)
class ChangeCursor:
    """Where a reader stands in the feed: the last ``(xact_id, id)`` it was given.

    Opaque to callers: keep it, pass it back, or store ``token()`` and restore it with
    ``ChangeCursor.from_token``. On SQLite ``xact_id`` is always 0.
    """

    xact_id: int = 0
    id: int = 0

    @classmethod
    def beginning(cls) -> ChangeCursor:
        """Before every event (those recorded since migration 0006, on PostgreSQL)."""
        return cls(0, 0)

    def token(self) -> str:
        return f"{_TOKEN_PREFIX}:{self.xact_id}:{self.id}"

    @classmethod
    def from_token(cls, token: str) -> ChangeCursor:
        try:
            prefix, xact_id, event_id = token.split(":")
            if prefix != _TOKEN_PREFIX:
                raise ValueError(prefix)
            return cls(int(xact_id), int(event_id))
        except ValueError as exc:
            raise ValueError(f"not a change-feed cursor: {token!r}") from exc


@dataclass(frozen=True)
class ChangeEvent:
    """One committed audit event, as the feed delivers it (without before/after)."""

    id: int
    occurred_at: dt.datetime
    agent_id: int | None
    action: str
    entity: str
    entity_id: int | None
    case_id: int | None
    summary: str


def feed_statement(
    cursor: ChangeCursor, limit: int, horizon: int | None
) -> Select[*tuple[Any, ...]]:
    """The feed's page query: below ``horizon`` in ``(xact_id, id)`` order on PostgreSQL,
    by id on SQLite (``horizon`` None). Served by ``ix_audit_xact`` / the primary key."""
    query = select(
        AuditEvent.id,
        AuditEvent.occurred_at,
        AuditEvent.agent_id,
        AuditEvent.action,
        AuditEvent.entity,
        AuditEvent.entity_id,
        AuditEvent.case_id,
        AuditEvent.summary,
        AuditEvent.xact_id,
    ).limit(limit)
    if horizon is None:
        return query.where(AuditEvent.id > cursor.id).order_by(AuditEvent.id)
    return query.where(
        AuditEvent.xact_id < horizon,
        tuple_(AuditEvent.xact_id, AuditEvent.id) > tuple_(cursor.xact_id, cursor.id),
    ).order_by(AuditEvent.xact_id, AuditEvent.id)


def _horizon(session: Session | Connection) -> int:
    return int(session.execute(select(_HORIZON)).scalar_one())


def current_cursor(db: Database) -> ChangeCursor:
    """The feed's end as of now: a board that loads its state after taking this cursor
    and then follows the feed misses nothing.

    On PostgreSQL this is the horizon, so events of transactions that were still running
    when it was taken (or had just committed at or above it) come once more: the start is
    at-least-once, everything after it exactly once. Boards apply events idempotently.
    """
    with db.read() as session:
        if db.is_postgresql:
            # Everything below the horizon is visible now; the rest is still to come.
            return ChangeCursor(_horizon(session), 0)
        last = session.execute(select(func.max(AuditEvent.id))).scalar_one()
        return ChangeCursor(0, int(last or 0))


def read_changes(
    db: Database, cursor: ChangeCursor, limit: int = DEFAULT_LIMIT
) -> tuple[list[ChangeEvent], ChangeCursor]:
    """Up to ``limit`` events committed after ``cursor``, and the cursor to read on from.

    Exactly once on both engines (see the module docstring); a short page means the
    reader is caught up for now.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    with db.read() as session:
        # Horizon first: the next statement's (newer) snapshot sees every transaction
        # below it as finished.
        horizon = _horizon(session) if db.is_postgresql else None
        rows = session.execute(feed_statement(cursor, limit, horizon)).all()
    events = [
        ChangeEvent(
            id=row.id,
            occurred_at=row.occurred_at,
            agent_id=row.agent_id,
            action=row.action,
            entity=row.entity,
            entity_id=row.entity_id,
            case_id=row.case_id,
            summary=row.summary,
        )
        for row in rows
    ]
    if not rows:
        return events, cursor
    last = rows[-1]
    return events, ChangeCursor(int(last.xact_id or 0), int(last.id))


def _marker_query(db: Database) -> str:
    if db.is_postgresql:
        return (
            "SELECT max(xact_id) FROM audit_event "
            "WHERE xact_id < (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint"
        )
    return "SELECT max(id) FROM audit_event"


def change_marker(db: Database) -> int:
    """A cheap value that changes whenever new feed events became readable.

    PostgreSQL: the largest transaction id below the horizon (one index probe); SQLite:
    the largest event id. Compare for equality only.
    """
    with db.engine.connect() as conn:
        value = conn.exec_driver_sql(_marker_query(db)).scalar()
        conn.rollback()
    return int(value or 0)


class ChangeWatcher:
    """A dedicated connection for polling a change marker every <= 250 ms.

    SQLite: ``PRAGMA data_version``, which is per connection and changes after any
    commit by another connection (business writes and heartbeats alike). PostgreSQL: the
    feed marker of ``change_marker``. Use as a context manager, or call ``close()``.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: Connection | None = db.engine.connect()
        self._query = "PRAGMA data_version" if db.is_sqlite else _marker_query(db)
        self.listening = False
        if db.is_postgresql:
            self._conn.exec_driver_sql(f"LISTEN {NOTIFY_CHANNEL}")
            self._conn.commit()
            self.listening = True

    def wait(self, timeout: float) -> bool:
        """PostgreSQL: block until audit events were committed (a notification from the
        ``audit_event`` trigger) or ``timeout`` passed; whether one came. Notifications
        read while the marker query ran wait in the driver's backlog, so none is missed.
        The feed's marker may still hold still (an older transaction keeps the horizon
        back), so callers read it now and then anyway. SQLite: returns False at once."""
        if self._conn is None:
            raise RuntimeError("the change watcher is closed")
        if not self.listening:
            return False
        raw: Any = self._conn.connection.driver_connection
        try:
            woken = any(True for _notify in raw.notifies(timeout=timeout, stop_after=1))
            if woken:
                for _notify in raw.notifies(timeout=0):
                    pass  # the rest of a burst: one wake is enough
        except self._db.engine.dialect.loaded_dbapi.Error as exc:
            # The driver's own error (the server restarted, the connection dropped), raised
            # past SQLAlchemy: the connection is dead; say so as SQLAlchemy would, so the
            # caller treats it as an outage like any other.
            self._conn.invalidate(exc)
            raise DBAPIError.instance(
                "LISTEN", None, exc, self._db.engine.dialect.loaded_dbapi.Error,
                connection_invalidated=True,
            ) from exc  # fmt: skip
        return woken

    def marker(self) -> int:
        """The current marker; equal values mean nothing was committed in between."""
        if self._conn is None:
            raise RuntimeError("the change watcher is closed")
        try:
            value = self._conn.exec_driver_sql(self._query).scalar()
        finally:
            # Never sit in a transaction between polls: a held snapshot would freeze it.
            self._conn.rollback()
        return int(value or 0)

    def close(self) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            if self.listening and not conn.invalidated:
                # The connection goes back to the pool: nobody would read its backlog.
                conn.exec_driver_sql("UNLISTEN *")
                conn.commit()
                raw: Any = conn.connection.driver_connection
                with contextlib.suppress(self._db.engine.dialect.loaded_dbapi.Error):
                    for _notify in raw.notifies(timeout=0):
                        pass
        finally:
            self.listening = False
            conn.close()

    def __enter__(self) -> ChangeWatcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
