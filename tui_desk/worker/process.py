"""The worker process: run until a stop signal, log to standard error for the journal."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from tui_desk.db.engine import Database
from tui_desk.i18n import _
from tui_desk.worker.registry import default_followers, default_jobs
from tui_desk.worker.runtime import (
    DEFAULT_POLL_SECONDS,
    DEFAULT_TTL,
    Follower,
    Job,
    Worker,
    database_clock,
)

logger = logging.getLogger(__name__)


_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)


def _install_signal_handlers(stop: threading.Event, received: list[str]) -> Callable[[], None]:
    """SIGTERM/SIGINT/SIGHUP set ``stop``; returns a function restoring the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals can only be handled on the main thread

    def handler(signum: int, _frame: FrameType | None) -> None:
        # No logging here: a write to the log interrupted by its own handler could raise
        # (a reentrant call on the stream's buffer).
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in _STOP_SIGNALS}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def run_worker(
    db: Database,
    *,
    stop: threading.Event | None = None,
    profile: str = "cn",
    jobs: Sequence[Job] | None = None,
    followers: Sequence[Follower] | None = None,
    ttl: dt.timedelta = DEFAULT_TTL,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
) -> int:
    """Entry point of `tui-desk worker`: run until SIGTERM/SIGINT/SIGHUP (or ``stop``).

    Returns the process exit code: 0 after a clean stop (the lease released), 1 when the
    worker itself failed (a failing job does not stop it).

    ``profile`` is the policy profile the jobs apply (the desk's ``--profile`` setting).
    Events go to the ``tui_desk`` loggers; the command configures them to write standard
    error for the journal (``tui_desk.logs.configure_worker_logging``).
    ``followers`` default to :func:`default_followers` when ``jobs`` is not given, and to
    none when it is.
    """
    if stop is None:
        stop = threading.Event()
    worker = Worker(
        db,
        default_jobs(profile) if jobs is None else jobs,
        ttl=ttl,
        clock=database_clock(db),
        followers=(
            followers
            if followers is not None
            else (default_followers(profile) if jobs is None else ())
        ),
    )
    received: list[str] = []
    restore = _install_signal_handlers(stop, received)
    logger.info(
        _("worker {identity} started on {database}; jobs: {jobs}").format(
            identity=worker.identity,
            database=db.describe(),
            jobs=", ".join(job.name for job in worker.jobs) or "-",
        )
    )
    try:
        worker.run_forever(stop, poll_seconds)
    except Exception:
        logger.exception(_("worker {identity} failed").format(identity=worker.identity))
        return 1
    finally:
        restore()
        if received:
            logger.info(_("received {signal}, stopping").format(signal=", ".join(received)))
    logger.info(_("worker {identity} stopped").format(identity=worker.identity))
    return 0
