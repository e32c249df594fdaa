"""Logging: the worker's lines on standard error, the desk's in a private rotating file,
and an outage told in two lines (when it starts and when it ends), never once per retry."""

from __future__ import annotations

import datetime as dt
import io
import logging
import logging.handlers
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from tui_desk.db.engine import Database, DatabaseBusy, database_unreachable, open_database
from tui_desk.logs import (
    DESK_LOG_NAME,
    Outage,
    PrivateRotatingFileHandler,
    configure_desk_logging,
    configure_worker_logging,
)
from tui_desk.worker.runtime import OUTAGE_SETTLE, TickResult, Worker

T0 = dt.datetime(2026, 3, 2, 4, 1, 3, tzinfo=dt.UTC)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ours = logging.getLogger("tui_desk")
    ours_level = ours.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    ours.setLevel(ours_level)


def _refused() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def _lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def test_an_outage_is_one_line_when_it_starts_and_one_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="tui_desk")
    now = [T0]
    outage = Outage(logging.getLogger("tui_desk.test"), clock=lambda: now[0])
    answers = [False] * 25 + [True] * 5  # a database that fails 25 times, then answers

    def ask_database() -> None:
        if not answers.pop(0):
            raise _refused()

    started = ended = 0
    while answers:
        try:
            ask_database()
        except OperationalError as exc:
            started += outage.failed(exc)
        else:
            ended += outage.answered()
        now[0] += dt.timedelta(seconds=1)

    assert (started, ended) == (1, 1)
    assert _lines(caplog, "database unavailable since") == [
        "database unavailable since 2026-03-02T04:01:03+00:00, retrying: connection refused"
    ]
    assert _lines(caplog, "database back") == [
        "database back after 25 s (unavailable since 2026-03-02T04:01:03+00:00, 25 failed attempts)"
    ]
    assert outage.since is None


def test_unreachable_is_an_outage_busy_and_refused_statements_are_not() -> None:
    assert database_unreachable(_refused())
    locked = OperationalError("UPDATE", {}, Exception("database is locked"))
    assert not database_unreachable(locked)
    assert not database_unreachable(DatabaseBusy("busy"))
    assert not database_unreachable(ValueError("no"))
    try:
        try:
            raise _refused()
        except OperationalError as exc:
            raise RuntimeError("reading the case") from exc
    except RuntimeError as wrapped:
        assert database_unreachable(wrapped)


def test_the_worker_loop_tells_an_outage_twice_not_once_per_tick(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="tui_desk")
    now = [T0]
    worker = Worker(sqlite_db, [])
    worker.outage = Outage(
        logging.getLogger("tui_desk.worker.runtime"),
        clock=lambda: now[0],
        settle=OUTAGE_SETTLE,
    )
    stop = threading.Event()
    # A restarting server, one tick a second: refused for a while, then it flaps (a
    # connection answers, the next is dropped), then it answers for good.
    script = "x" * 20 + "oxoox" + "o" * 10
    ticks: list[str] = []

    def tick() -> TickResult:
        now[0] += dt.timedelta(seconds=1)
        ticks.append(script[len(ticks)])
        if len(ticks) == len(script):
            stop.set()
        if ticks[-1] == "x":
            raise _refused()
        return TickResult(leading=False, holder=None)

    monkeypatch.setattr(worker, "tick", tick)
    worker.run_forever(stop, poll_seconds=0.001)

    assert len(ticks) == len(script)
    assert _lines(caplog, "database unavailable since") == [
        "database unavailable since 2026-03-02T04:01:04+00:00, retrying: connection refused"
    ]
    # Back once it answered for OUTAGE_SETTLE after the last dropped connection.
    assert _lines(caplog, "database back after") == [
        "database back after 30 s (unavailable since 2026-03-02T04:01:04+00:00, 22 failed attempts)"
    ]
    assert not _lines(caplog, "tick failed")


def test_a_worker_on_a_closed_port_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tui_desk")
    db = open_database("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2")
    worker = Worker(db, [])
    stop = threading.Event()
    attempts: list[int] = []
    real_tick = worker.tick

    def counted_tick() -> TickResult:
        attempts.append(1)
        if len(attempts) == 8:
            stop.set()
        return real_tick()

    worker.tick = counted_tick  # type: ignore[method-assign]
    try:
        worker.run_forever(stop, poll_seconds=0.01)
    finally:
        db.dispose()
    assert len(attempts) == 8
    [line] = _lines(caplog, "database unavailable")
    assert line.startswith("database unavailable since ")
    # The release at the end fails too: one warning, not a traceback.
    assert not any(r.exc_info for r in caplog.records)


def test_the_worker_logs_to_the_stream_it_is_given(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_worker_logging(stream=stream)
    logging.getLogger("tui_desk.worker.runtime").info("worker w now leads")
    logging.getLogger("sqlalchemy.pool").info("chatter below WARNING stays out")
    assert stream.getvalue() == "INFO tui_desk.worker.runtime: worker w now leads\n"
    # Configured again (a second call): still one handler, no line twice.
    configure_worker_logging(stream=stream)
    logging.getLogger("tui_desk.x").warning("once")
    assert stream.getvalue().count("once") == 1


def test_the_desk_log_is_a_private_rotating_file(tmp_path: Path, restore_logging: None) -> None:
    old = os.umask(0o022)  # the usual umask would give 0644
    try:
        path = configure_desk_logging(tmp_path / "state" / "tui-desk")
        logger = logging.getLogger("tui_desk.app")
        logger.warning("database unavailable since 12:01:03")
        assert path == tmp_path / "state" / "tui-desk" / DESK_LOG_NAME
        assert "database unavailable since 12:01:03" in path.read_text()
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        handler = next(
            h for h in logging.getLogger().handlers if isinstance(h, PrivateRotatingFileHandler)
        )
        assert isinstance(handler, logging.handlers.RotatingFileHandler)
        handler.doRollover()
        logger.warning("after the rollover")
        rotated = path.with_name(DESK_LOG_NAME + ".1")
        assert stat.S_IMODE(rotated.stat().st_mode) == 0o640
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        assert "after the rollover" in path.read_text()
    finally:
        os.umask(old)


def test_dropped_connections_on_postgresql_are_one_outage_and_the_worker_leads_on(
    pg_db: Database, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a PostgreSQL restart does to the worker's connections, on this test's own
    database only: every backend terminated, several times over."""
    import psycopg

    from tests.conftest import PG_ADMIN_URL
    from tui_desk.worker import runtime

    caplog.set_level(logging.INFO, logger="tui_desk")
    monkeypatch.setattr(runtime, "OUTAGE_SETTLE", dt.timedelta(seconds=1))
    beats: list[dt.datetime] = []

    def beat(_db: Database, now: dt.datetime) -> str:
        beats.append(now)
        return "beat"

    follows: list[dt.datetime] = []

    def follow(_db: Database, now: dt.datetime) -> str:
        follows.append(now)
        return "followed"

    died: list[str] = []  # a thread of the worker ended by an exception (its traceback)
    monkeypatch.setattr(threading, "excepthook", lambda args: died.append(repr(args.exc_value)))
    worker = Worker(
        pg_db,
        [runtime.Job("beat", dt.timedelta(milliseconds=100), beat)],
        clock=runtime.database_clock(pg_db),
        # The followers' thread listens on a connection of its own, dropped with the rest.
        followers=[runtime.Follower("follow", follow, poll_seconds=0.05)],
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop, 0.05))
    thread.start()
    name = pg_db.url.database
    try:
        wait = 0
        while len(beats) < 2 and wait < 400:
            stop.wait(0.05)
            wait += 1
        assert worker.is_leading()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            for _ in range(6):
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
                stop.wait(0.15)
        wait = 0
        while not _lines(caplog, "database back after") and wait < 400:
            stop.wait(0.05)
            wait += 1
        count = len(beats)
        while len(beats) < count + 2 and wait < 800:
            stop.wait(0.05)
            wait += 1
        # The followers still follow: a commit after the outage wakes them.
        followed = len(follows)
        from tui_desk.clock import utcnow
        from tui_desk.services.audit import record

        while len(follows) == followed and wait < 1200:
            with pg_db.write() as s:
                record(s, None, "test.after_outage", "test", 1, "after", now=utcnow())
            stop.wait(0.2)
            wait += 4
    finally:
        stop.set()
        thread.join(30)
    starts = _lines(caplog, "database unavailable since")
    ends = _lines(caplog, "database back after")
    # Pooled connections are checked before use, so some drops cost nothing; those that
    # hit a query in flight make one outage, whatever their number.
    assert len(starts) == len(ends) <= 1, caplog.text
    assert not any(r.exc_info for r in caplog.records), "no traceback for an outage"
    assert not died, f"a worker thread died in the outage: {died}"
    assert len(follows) > followed, "the followers follow the feed after the outage"
    assert len(beats) >= count + 2, "the worker leads and runs its jobs on"
