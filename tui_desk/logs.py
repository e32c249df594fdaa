"""Logging: one configuration per kind of process, and database outages told in two lines.

Every module logs through ``logging.getLogger(__name__)`` (all under ``tui_desk``); only
the process entry points configure where the lines go:

- ``tui-desk worker`` logs to standard error, one line per event, for the journal
  (journald stamps the time, so the line does not);
- a desk logs to a rotating file in the log folder, since its terminal belongs to the
  operator: ``$XDG_STATE_HOME/tui-desk`` (``~/.local/state/tui-desk``) or the configured
  ``log_dir``, files created 0640.

An outage (the database does not answer) is one line when it starts and one when it
ends, whatever the number of retries in between: see :class:`Outage`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import logging.handlers
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

import platformdirs

from tui_desk.clock import utcnow

ROOT = "tui_desk"
DESK_LOG_NAME = "desk.log"
DESK_LOG_BYTES = 1_000_000
DESK_LOG_BACKUPS = 5
LOG_FILE_MODE = 0o640

WORKER_FORMAT = "%(levelname)s %(name)s: %(message)s"
DESK_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"

_HANDLER_MARK = "_tui_desk_handler"


def default_log_dir() -> Path:
    """The desk's log folder: beside the data folder, in the user's state folder."""
    return Path(platformdirs.user_state_dir("tui-desk", appauthor=False))


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files are created 0640, whatever the umask lets through.

    Log lines can name agents and cases, so the files are no more open than the data.
    """

    def _open(self) -> io.TextIOWrapper:
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in self.mode else os.O_TRUNC)
        fd = os.open(self.baseFilename, flags, LOG_FILE_MODE)
        # os.open honours the umask only to narrow the mode; an older file is narrowed too.
        with contextlib.suppress(OSError):
            os.fchmod(fd, os.fstat(fd).st_mode & LOG_FILE_MODE)
        return io.TextIOWrapper(
            io.FileIO(fd, "a" if "a" in self.mode else "w"),
            encoding=self.encoding or "utf-8",
            errors=self.errors,
            write_through=True,
        )


def _install(handler: logging.Handler, level: int) -> None:
    """Make ``handler`` the process's one log handler (replacing an earlier one of ours).

    On the root logger, so the libraries' warnings (SQLAlchemy's, httpx's) land in the
    same place; their chatter below WARNING stays out, ours from ``level`` up goes in.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_MARK, False):
            root.removeHandler(old)
            old.close()
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.getLogger(ROOT).setLevel(level)


def configure_worker_logging(
    level: int = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """The worker: one line per event on standard error, for the journal."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter(WORKER_FORMAT))
    _install(handler, level)
    return handler


def configure_desk_logging(log_dir: Path | None = None, level: int = logging.INFO) -> Path:
    """The desk: a rotating file in the log folder (created 0750 if missing).

    Returns the file's path. A folder that cannot be created is not fatal: the desk runs
    without a log file rather than not at all (its errors still show on screen).
    """
    folder = (log_dir or default_log_dir()).expanduser()
    path = folder / DESK_LOG_NAME
    try:
        folder.mkdir(mode=0o750, parents=True, exist_ok=True)
        handler: logging.Handler = PrivateRotatingFileHandler(
            path, maxBytes=DESK_LOG_BYTES, backupCount=DESK_LOG_BACKUPS, encoding="utf-8"
        )
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter(DESK_FORMAT))
    _install(handler, level)
    return path


def first_line(error: BaseException, limit: int = 200) -> str:
    """The first line of an error's text (its type's name when it has none), cut short.

    For a driver's error wrapped by SQLAlchemy, the driver's own words (without the
    wrapper's "(psycopg.OperationalError)" prefix and its statement).
    """
    orig = getattr(error, "orig", None)
    if isinstance(orig, BaseException):
        error = orig
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:limit]


class Outage:
    """Whether the database answers, told once when it stops and once when it is back.

    Call :meth:`failed` after each attempt that could not reach the database and
    :meth:`answered` after each that did; only the changes are logged. An outage ends
    once the database has answered for ``settle`` (a connection dropped again meanwhile
    keeps the outage open): a server that flaps while it restarts is one outage, not one
    per dropped connection. Thread-safe: the worker's tick and follower threads share one.
    """

    def __init__(
        self,
        logger: logging.Logger,
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        settle: dt.timedelta = dt.timedelta(0),
    ) -> None:
        self._logger = logger
        self._clock = clock
        self._settle = settle
        self._lock = threading.Lock()
        self._since: dt.datetime | None = None
        self._answering_since: dt.datetime | None = None
        self._failures = 0

    @property
    def since(self) -> dt.datetime | None:
        """When the current outage began (None while the database answers)."""
        return self._since

    def failed(self, error: BaseException) -> bool:
        """An attempt failed; True when this begins an outage (and was logged)."""
        with self._lock:
            self._failures += 1
            self._answering_since = None
            if self._since is not None:
                return False
            self._since = self._clock()
            since = self._since
        self._logger.warning(
            "database unavailable since %s, retrying: %s",
            since.isoformat(timespec="seconds"),
            first_line(error),
        )
        return True

    def answered(self) -> bool:
        """An attempt reached the database; True when this ends an outage (and was logged)."""
        now = self._clock()
        with self._lock:
            if self._since is None:
                return False
            if self._answering_since is None:
                self._answering_since = now
            if now - self._answering_since < self._settle:
                return False
            since, failures = self._since, self._failures
            self._since, self._answering_since, self._failures = None, None, 0
        self._logger.warning(
            "database back after %.0f s (unavailable since %s, %d failed attempts)",
            (now - since).total_seconds(),
            since.isoformat(timespec="seconds"),
            failures,
        )
        return True
