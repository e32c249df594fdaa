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
from tui_desk.worker.runtime import TickResult, Worker

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
    worker = Worker(sqlite_db, [])
    stop = threading.Event()
    ticks: list[int] = []

    def tick() -> TickResult:
        ticks.append(1)
        if len(ticks) <= 30:
            raise _refused()
        if len(ticks) == 35:
            stop.set()
        return TickResult(leading=False, holder=None)

    monkeypatch.setattr(worker, "tick", tick)
    worker.run_forever(stop, poll_seconds=0.001)

    assert len(ticks) == 35
    assert len(_lines(caplog, "database unavailable since")) == 1
    assert len(_lines(caplog, "database back after")) == 1
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
