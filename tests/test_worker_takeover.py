"""Two real worker processes on one database, the leader killed with SIGKILL mid-job.

What a crash must not cost: the standby leads within 5 s, it resumes the interrupted run
where the last committed batch left it (no case done twice, none skipped), and no row
the job changed is ever committed without its audit event. On both engines.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import AuditEvent, CollectionCase, WorkerJobRun, WorkerLease
from tui_desk.worker.runtime import LEADER

ROOT = Path(__file__).resolve().parent.parent
CASES = 60
BATCH = 3
SECONDS_PER_BATCH = 0.25
TAKEOVER_LIMIT = 5.0


class Child:
    def __init__(self, db: Database, log: Path) -> None:
        self.log = log
        self._out = log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.worker_child",
                db.url.render_as_string(hide_password=False),
                str(BATCH),
                str(SECONDS_PER_BATCH),
            ],
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._out.close()


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Callable[[Database, str], Child]]:
    started: list[Child] = []

    def start(db: Database, name: str) -> Child:
        child = Child(db, tmp_path / f"{name}.log")
        started.append(child)
        return child

    yield start
    for child in started:
        child.close()


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def lease_holder_pid(db: Database) -> int | None:
    with db.read() as s:
        holder = s.scalar(select(WorkerLease.holder).where(WorkerLease.name == LEADER))
    return None if holder is None else int(holder.split(":")[1])


def run_state(db: Database) -> tuple[Any, ...] | None:
    with db.read() as s:
        row = s.execute(
            select(
                WorkerJobRun.runs,
                WorkerJobRun.last_finished_at,
                WorkerJobRun.progress,
                WorkerJobRun.last_status,
            ).where(WorkerJobRun.name == "priority_refresh")
        ).first()
    return None if row is None else tuple(row)


def changed_and_audited(db: Database) -> tuple[int, int, list[tuple[int, int]]]:
    """Cases whose priority the job changed; the changes its audit events account for;
    the id ranges those events cover."""
    with db.read() as s:
        changed = s.scalar(
            select(func.count()).select_from(CollectionCase).where(CollectionCase.priority != 0)
        )
        events = s.scalars(
            select(AuditEvent.after)
            .where(AuditEvent.action == "priority.refresh")
            .order_by(AuditEvent.id)
        ).all()
    audited = sum(int(e["changed"]) for e in events if e)
    ranges = [(int(e["first_id"]), int(e["last_id"])) for e in events if e]
    return int(changed or 0), audited, ranges


def test_kill_9_of_the_leader_mid_job(
    db: Database, children: Callable[[Database, str], Child]
) -> None:
    make = Factory(db, now=dt.datetime.now(dt.UTC))
    ids = [make.case(priority=0, overdue_days=1 + n % 30) for n in range(CASES)]

    first, second = children(db, "a"), children(db, "b")
    wait_for("both workers to start", lambda: all("started" in c.output() for c in (first, second)))
    # The leader is some batches into its run (each batch commits with its progress).
    wait_for(
        "the run to be under way",
        lambda: (state := run_state(db)) is not None and (state[2] or {}).get("batches", 0) >= 2,
    )
    leader_pid = lease_holder_pid(db)
    a, b = (first, second) if leader_pid == first.pid else (second, first)
    assert leader_pid == a.pid

    a.proc.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    a.proc.wait(10)
    # What the dead leader committed is audited, batch by batch, to the row.
    changed, audited, _ = changed_and_audited(db)
    assert 0 < changed < CASES
    assert audited == changed

    wait_for("the standby to lead", lambda: lease_holder_pid(db) == b.pid, timeout=15)
    takeover = time.monotonic() - killed_at
    print(f"\n{db.url.get_backend_name()}: takeover {takeover:.2f} s after SIGKILL")
    assert takeover < TAKEOVER_LIMIT, b.output()

    state = wait_for(
        "the resumed run to finish",
        lambda: (s := run_state(db)) is not None and s[1] is not None and s,
    )
    runs, _finished, progress, status = state
    # The same run, resumed (not a new one started from the first case).
    assert runs == 1
    assert progress is None
    assert status.startswith("priority refresh for ") and f"{CASES} of {CASES}" in status
    changed, audited, ranges = changed_and_audited(db)
    assert changed == audited == CASES
    # Batch after batch, each case in one batch only: nothing done twice, nothing skipped.
    assert ranges[0][0] == ids[0] and ranges[-1][1] == ids[-1]
    assert all(prev[1] < nxt[0] for prev, nxt in itertools.pairwise(ranges))
    assert "resuming the run" in b.output()

    b.proc.send_signal(signal.SIGTERM)
    assert b.proc.wait(15) == 0
    assert lease_holder_pid(db) is None
