"""The change feed delivers every committed event exactly once, even out of id order.

On PostgreSQL the transaction horizon is cluster-wide: a test in another database (another
xdist worker seeding, say) can hold it back for a while. That only delays delivery, so the
tests that wait for an event poll with a generous timeout instead of asserting at once.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import AuditEvent
from tui_desk.services import audit
from tui_desk.services.changes import (
    ChangeCursor,
    ChangeEvent,
    ChangeWatcher,
    _marker_query,
    change_marker,
    current_cursor,
    feed_statement,
    read_changes,
)

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
WAIT_SECONDS = 90.0


def write_event(db: Database, summary: str) -> int:
    with db.write() as s:
        event = audit.record(s, None, "test.event", "test", None, summary, now=NOW)
        s.flush()
        return event.id


def record_in(session: Session, summary: str) -> int:
    event = audit.record(session, None, "test.event", "test", None, summary, now=NOW)
    session.flush()
    return event.id


class Reader:
    """A feed reader that remembers everything it was given, in order."""

    def __init__(self, db: Database, cursor: ChangeCursor, limit: int = 500) -> None:
        self.db = db
        self.cursor = cursor
        self.limit = limit
        self.delivered: list[int] = []

    def read(self) -> list[int]:
        got: list[int] = []
        while True:
            events, self.cursor = read_changes(self.db, self.cursor, self.limit)
            got.extend(e.id for e in events)
            if len(events) < self.limit:
                break
        self.delivered.extend(got)
        return got

    def read_until(self, expected: set[int], timeout: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not expected <= set(self.delivered):
            assert time.monotonic() < deadline, f"not delivered: {expected - set(self.delivered)}"
            if not self.read():
                time.sleep(0.02)


def wait_for(condition: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- both engines ---------------------------------------------------------------------


def test_events_in_order_exactly_once_with_paging(db: Database) -> None:
    before = write_event(db, "before the cursor")
    reader = Reader(db, current_cursor(db), limit=3)
    ids = [write_event(db, f"e{i}") for i in range(7)]
    reader.read_until(set(ids))
    if db.is_sqlite:
        assert before not in reader.delivered
    else:
        # The starting cursor is the horizon: an event committed just before it was taken
        # may still come once, while another transaction (in any database) was running.
        assert reader.delivered.count(before) <= 1
        reader.delivered = [i for i in reader.delivered if i != before]
    assert reader.delivered == ids  # one transaction each: commit order is id order
    assert reader.read() == []
    later = write_event(db, "later")
    reader.read_until({later})
    assert reader.delivered == [*ids, later]


def test_events_carry_what_the_board_needs(db: Database) -> None:
    cursor = current_cursor(db)
    with db.write() as s:
        audit.record(s, None, "case.note", "collection_case", 7, "noted", now=NOW, case_id=7)
    deadline = time.monotonic() + WAIT_SECONDS
    events: list[ChangeEvent] = []
    while not events:
        assert time.monotonic() < deadline
        events, cursor = read_changes(db, cursor)
    [event] = events
    assert (event.action, event.entity, event.entity_id, event.case_id) == (
        "case.note",
        "collection_case",
        7,
        7,
    )
    assert event.occurred_at == NOW and event.summary == "noted"


def test_rolled_back_events_are_never_delivered(db: Database) -> None:
    reader = Reader(db, current_cursor(db))
    with pytest.raises(RuntimeError), db.write() as s:
        record_in(s, "rolled back")
        raise RuntimeError("abort")
    kept = write_event(db, "kept")
    reader.read_until({kept})
    assert reader.delivered == [kept]


def test_cursor_survives_a_round_trip_through_its_token(db: Database) -> None:
    reader = Reader(db, ChangeCursor.beginning())
    first = write_event(db, "one")
    reader.read_until({first})
    restored = ChangeCursor.from_token(reader.cursor.token())
    assert restored == reader.cursor
    second = write_event(db, "two")
    again = Reader(db, restored)
    again.read_until({second})
    assert again.delivered == [second]
    with pytest.raises(ValueError, match="not a change-feed cursor"):
        ChangeCursor.from_token("garbage")


def test_random_interleavings_deliver_every_commit_exactly_once(db: Database) -> None:
    cursor = current_cursor(db)
    committed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for n in range(6):
                ids: list[int] = []
                try:
                    with db.write() as s:
                        for _ in range(rng.randint(1, 3)):
                            ids.append(record_in(s, f"w{seed}.{n}"))
                            time.sleep(rng.uniform(0, 0.01))
                        if rng.random() < 0.2:
                            raise LookupError("roll back")
                except LookupError:
                    continue
                with lock:
                    committed.extend(ids)
        except BaseException as exc:
            errors.append(exc)

    reader = Reader(db, cursor, limit=2)
    writers = [threading.Thread(target=writer, args=(seed,)) for seed in range(5)]
    for t in writers:
        t.start()
    while any(t.is_alive() for t in writers):
        reader.read()
        time.sleep(0.003)
    for t in writers:
        t.join()
    assert not errors
    reader.read_until(set(committed))
    assert len(reader.delivered) == len(set(reader.delivered)), "an event came twice"
    assert set(reader.delivered) == set(committed)


def test_marker_changes_after_a_commit_elsewhere_and_only_then(db: Database) -> None:
    with ChangeWatcher(db) as watcher:
        first, feed = watcher.marker(), change_marker(db)
        assert watcher.marker() == first and change_marker(db) == feed
        write_event(db, "something happened")
        wait_for(lambda: watcher.marker() != first)
        wait_for(lambda: change_marker(db) != feed)
        second, feed = watcher.marker(), change_marker(db)
        assert watcher.marker() == second and change_marker(db) == feed
    with pytest.raises(RuntimeError, match="closed"):
        watcher.marker()


# --- PostgreSQL: writers that commit out of id order ------------------------------------


def _xact_ids(db: Database, ids: list[int]) -> dict[int, int | None]:
    with db.read() as s:
        rows = s.execute(select(AuditEvent.id, AuditEvent.xact_id).where(AuditEvent.id.in_(ids)))
        return {row.id: row.xact_id for row in rows}


def test_a_watcher_wakes_on_a_commit_instead_of_polling(pg_db: Database) -> None:
    with ChangeWatcher(pg_db) as watcher:
        assert watcher.listening
        before = watcher.marker()
        assert watcher.wait(0.05) is False  # nothing happened
        with pg_db.write() as s:
            record_in(s, "one")
            record_in(s, "two")  # one transaction: one wake
            assert watcher.wait(0.05) is False  # not committed yet
        assert watcher.wait(WAIT_SECONDS) is True
        assert watcher.wait(0.05) is False
        wait_for(lambda: watcher.marker() != before)
        # A notification read while the marker query ran is not lost.
        write_event(pg_db, "three")
        time.sleep(0.2)
        watcher.marker()
        assert watcher.wait(WAIT_SECONDS) is True


def test_a_watcher_whose_connection_dropped_reports_an_outage(pg_db: Database) -> None:
    """A server restart drops the listening connection: the driver's own error comes out
    as SQLAlchemy's, marked as an outage, and the watcher still closes quietly (the
    worker's follower thread once died here with the driver's traceback)."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    from tests.conftest import PG_ADMIN_URL
    from tui_desk.db.engine import database_unreachable

    watcher = ChangeWatcher(pg_db)
    assert watcher.listening
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (pg_db.url.database,),
        )
    with pytest.raises(DBAPIError) as err:
        watcher.wait(WAIT_SECONDS)
    assert err.value.connection_invalidated and database_unreachable(err.value)
    watcher.close()
    with ChangeWatcher(pg_db) as again:  # the pool hands out a live connection again
        assert again.wait(0.05) is False


def test_a_sqlite_watcher_never_waits(sqlite_db: Database) -> None:
    with ChangeWatcher(sqlite_db) as watcher:
        assert not watcher.listening
        assert watcher.wait(WAIT_SECONDS) is False


def test_every_event_stores_its_transaction_id(pg_db: Database) -> None:
    with pg_db.write() as s:
        xid = int(s.execute(text("SELECT (pg_current_xact_id()::text)::bigint")).scalar_one())
        ids = [record_in(s, "a"), record_in(s, "b")]
    assert _xact_ids(pg_db, ids) == {ids[0]: xid, ids[1]: xid}


def test_older_open_writer_holds_the_feed_back_without_losing_anything(pg_db: Database) -> None:
    reader = Reader(pg_db, current_cursor(pg_db))
    a, b = Session(pg_db.engine), Session(pg_db.engine)
    try:
        id_a = record_in(a, "A, still open")  # gets the smaller id
        id_b = record_in(b, "B")  # the larger id, committed first
        assert id_a < id_b
        b.commit()
        reader.read()
        # A transaction older than B is still running: B is past the horizon for now.
        assert reader.delivered == []
        a.commit()
    finally:
        a.close()
        b.close()
    reader.read_until({id_a, id_b})
    assert reader.delivered == [id_a, id_b]


def test_smaller_id_committed_later_is_still_delivered(pg_db: Database) -> None:
    reader = Reader(pg_db, current_cursor(pg_db))
    a, b = Session(pg_db.engine), Session(pg_db.engine)
    try:
        b.execute(text("SELECT pg_current_xact_id()"))  # B's transaction is the older one
        id_a = record_in(a, "A, still open")
        id_b = record_in(b, "B")
        assert id_a < id_b
        b.commit()
        reader.read_until({id_b})
        # A reader of "events after id N" would now stand past A's id and lose it.
        assert reader.delivered == [id_b]
        a.commit()
    finally:
        a.close()
        b.close()
    reader.read_until({id_a})
    assert reader.delivered == [id_b, id_a]
    assert reader.read() == []


def test_marker_ignores_uncommitted_writes(pg_db: Database) -> None:
    with ChangeWatcher(pg_db) as watcher:
        before = watcher.marker()
        with Session(pg_db.engine) as open_writer:
            record_in(open_writer, "not committed yet")
            assert watcher.marker() == before
            open_writer.commit()
        wait_for(lambda: watcher.marker() != before)


def test_feed_and_marker_are_served_by_the_index(pg_db: Database) -> None:
    with pg_db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_event (occurred_at, action, entity, summary, xact_id) "
                "SELECT now(), 'x', 'x', 'x', 1000 + n / 3 FROM generate_series(1, 5000) n"
            )
        )
    statement = feed_statement(ChangeCursor(1500, 10), 200, 2000)
    sql = str(
        statement.compile(dialect=pg_db.engine.dialect, compile_kwargs={"literal_binds": True})
    )
    with pg_db.engine.connect() as conn:
        conn.execute(text("ANALYZE audit_event"))
        conn.execute(text("SET enable_seqscan = off"))
        conn.execute(text("SET enable_sort = off"))
        for query in (sql, _marker_query(pg_db)):
            plan = "\n".join(str(r[0]) for r in conn.execute(text(f"EXPLAIN {query}")))
            assert "ix_audit_xact" in plan, plan
            assert "Sort" not in plan.replace("Sort Key", ""), plan
