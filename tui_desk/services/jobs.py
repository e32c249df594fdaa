"""What a job step shares with the worker that runs it: its signature and its write.

Job steps live in their service modules and write through :func:`job_write`. Inside a job
run by a leading worker (``tui_desk.worker``) that write is fenced by the leader lease, so
a leader that stalled past its expiry (paused VM, lost network) cannot commit work after
another worker took over. Outside a worker (a one-off run from the command line, a test)
it is plain ``db.write()``.

A job that works in steps (batches) makes it resumable: each step calls
:func:`save_progress` inside its ``job_write`` transaction, so where the run stands commits
together with the step's rows and their audit event, or not at all. A worker killed
mid-run leaves the run unfinished in ``worker_job_run``; the next leader runs it again at
once with the same ``now``, and :func:`resume_point` gives the job what it last saved.

This module knows the worker only through :class:`LeaseFence`, so the job modules and the
worker's job registry do not import each other.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import WorkerJobRun

JobFunction = Callable[[Database, dt.datetime], str]


class JobInterrupted(Exception):
    """A job must stop now; its partial work is committed batch by batch."""


class LeaseLost(JobInterrupted):
    """This worker no longer holds the leader lease."""


class WorkerStopping(JobInterrupted):
    """The worker was asked to stop (SIGTERM, SIGINT)."""


class LeaseFence(Protocol):
    """The worker's side of :func:`job_write`: writes that commit only while it leads."""

    def fenced_write(
        self, db: Database, *, check_stop: bool
    ) -> contextlib.AbstractContextManager[Session]: ...

    def follower_write(self, db: Database) -> contextlib.AbstractContextManager[Session]: ...


@dataclass(frozen=True)
class JobRun:
    """The run of a job a worker is doing: the job, the run's ``now`` (its key in
    ``worker_job_run``) and what an interrupted earlier attempt at this run saved."""

    name: str
    started_at: dt.datetime
    progress: Mapping[str, Any] | None = None


_JOB_RUN = cast(Table, WorkerJobRun.__table__)

_current_run: contextvars.ContextVar[JobRun | None] = contextvars.ContextVar(
    "tui_desk_current_job_run", default=None
)
_current_fence: contextvars.ContextVar[LeaseFence | None] = contextvars.ContextVar(
    "tui_desk_current_worker", default=None
)
# True on a follower's thread: its writes are fenced without renewing the lease.
_following: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tui_desk_following", default=False
)


@contextlib.contextmanager
def fenced_by(
    fence: LeaseFence, *, following: bool = False, run: JobRun | None = None
) -> Iterator[None]:
    """Within the block, :func:`job_write` on this thread writes through ``fence``.

    ``following``: the block runs followers, whose writes check the lease without
    renewing it. ``run``: the job run the block does, for :func:`save_progress` and
    :func:`resume_point`.
    """
    token = _current_fence.set(fence)
    following_token = _following.set(following)
    run_token = _current_run.set(run)
    try:
        yield
    finally:
        _current_run.reset(run_token)
        _following.reset(following_token)
        _current_fence.reset(token)


def resume_point() -> Mapping[str, Any] | None:
    """What an interrupted attempt at the current job run last saved, or None: start afresh.

    Outside a worker (a one-off run, a test) there is nothing to resume.
    """
    run = _current_run.get()
    return run.progress if run is not None else None


def save_progress(session: Session, progress: Mapping[str, Any]) -> None:
    """Inside a step's ``job_write``: record where the run stands, in the step's transaction.

    ``progress`` is plain JSON (numbers, strings, lists). Outside a worker it is not kept.
    """
    run = _current_run.get()
    if run is None:
        return
    session.execute(
        update(_JOB_RUN)
        .where(_JOB_RUN.c.name == run.name, _JOB_RUN.c.last_started_at == run.started_at)
        .values(progress=dict(progress))
    )


@contextlib.contextmanager
def job_write(db: Database) -> Iterator[Session]:
    """``db.write()`` for job code, fenced by the leader lease.

    Inside a job run by a leading worker it first renews the lease when a renewal is due
    (long jobs keep it alive batch by batch), then checks within the transaction that the
    worker still holds it, and raises :class:`LeaseLost` (or :class:`WorkerStopping`)
    instead of writing. Outside a worker (a one-off run from the command line, a test) it
    is plain ``db.write()``.
    """
    fence = _current_fence.get()
    if fence is None:
        with db.write() as session:
            yield session
        return
    if _following.get():
        with fence.follower_write(db) as session:
            yield session
        return
    with fence.fenced_write(db, check_stop=True) as session:
        yield session
