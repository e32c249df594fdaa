"""`worker`: run the time-driven jobs (one leader among the worker processes)."""

from __future__ import annotations

from tui_desk.config import Settings
from tui_desk.db.engine import Database


def cmd_worker(db: Database, settings: Settings) -> int:
    from tui_desk.logs import configure_worker_logging
    from tui_desk.worker.process import run_worker

    configure_worker_logging()
    return run_worker(db, profile=settings.profile)
