"""A real `tui-desk worker` process for the takeover tests (``python -m tests.worker_child``).

It runs the worker's own entry point (:func:`tui_desk.worker.process.run_worker`, as the
command does) with one job, the priority refresh, in small batches that each take a
moment, so a test can kill the process with SIGKILL in the middle of a run.

Usage: ``python -m tests.worker_child DATABASE_URL BATCH_SIZE SECONDS_PER_BATCH``
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any

from tui_desk.db.engine import open_database
from tui_desk.logs import configure_worker_logging
from tui_desk.services import priority_refresh
from tui_desk.worker.process import run_worker
from tui_desk.worker.runtime import Job


def main(argv: list[str]) -> int:
    url, batch_size, pause = argv[0], int(argv[1]), float(argv[2])
    real_changes = priority_refresh._changes

    def slow_changes(*args: Any) -> Any:
        time.sleep(pause)  # the batch's read is done; its write is still to come
        return real_changes(*args)

    priority_refresh._changes = slow_changes  # type: ignore[assignment]

    def refresh(db: Any, now: dt.datetime) -> str:
        return priority_refresh.refresh_priorities(db, now, batch_size=batch_size).summary()

    configure_worker_logging()
    db = open_database(url)
    try:
        return run_worker(db, jobs=[Job("priority_refresh", dt.timedelta(hours=1), refresh)])
    finally:
        db.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
