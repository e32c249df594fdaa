"""SQLite: an import's write-ahead log is copied into the database by a thread of its own.

Every commit on SQLite ends, once the log holds 1,000 pages or more, with a checkpoint:
the log's pages are copied into the database file, which is then synced to disk. An
import's transaction writes thousands of pages (each chunk's new rows land at random
places of the queues' and the search's indexes: ~2,800 pages a chunk at 100,000
accounts), so that copy and the wait for the disk took a third of an import's time, in
the import's own thread, one transaction after another.

During an import its connections leave the log to ``WalCopier``: after each commit the
import nudges it, and a thread with a connection of its own copies what is committed
(a passive checkpoint: it never waits for, nor holds up, a writer or a reader) while the
import checks and writes its next rows. The log is copied as promptly as before, so a
desk's commit does not find a long log to copy either. When the import's connection is
given back to the pool, it checkpoints after its commits again.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from typing import Any

from sqlalchemy import Connection, event

from tui_desk.db.engine import Database

# SQLite's own default (pages in the log after which a commit checkpoints).
AUTOCHECKPOINT_PAGES = 1000
_FLAG = "import_walcopy"


def _restore(dbapi_conn: Any, record: Any) -> None:
    """Pool check-in: a connection the import had borrowed checkpoints by itself again."""
    if record.info.pop(_FLAG, False) and dbapi_conn is not None:
        dbapi_conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")


class WalCopier:
    """A thread that checkpoints an SQLite database's log whenever it is nudged."""

    def __init__(self, db: Database) -> None:
        assert db.is_sqlite and db.url.database
        if not event.contains(db.engine, "checkin", _restore):
            event.listen(db.engine, "checkin", _restore)
        self._conn = sqlite3.connect(db.url.database, check_same_thread=False)
        self._wake = threading.Event()
        self._stopping = False
        # Started at the first commit: by then the checking helper (a fork of this
        # process) has started, so it is never forked while the thread is inside SQLite.
        self._thread: threading.Thread | None = None

    @staticmethod
    def hand_over(conn: Connection) -> None:
        """The import's ``conn`` leaves its checkpoints to the copier (until checked in)."""
        info = conn.connection.info
        if not info.get(_FLAG):
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
            info[_FLAG] = True

    def nudge(self) -> None:
        """Something was committed: copy it."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="import-walcopy", daemon=True)
            self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            # Read before copying: a close during this copy means one more round.
            last = self._stopping
            # Busy or interrupted: the next nudge (or any desk's commit) copies it.
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            if last:
                return

    def close(self) -> None:
        """Copy what is left, and stop."""
        self._stopping = True
        if self._thread is not None:
            self._wake.set()
            self._thread.join()
        self._conn.close()
