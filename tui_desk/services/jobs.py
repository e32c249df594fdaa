"""What a job step shares with the worker that runs it: its signature and its write.

Job steps live in their service modules and write through :func:`job_write`. Inside a job
run by a leading worker (``tui_desk.worker``) that write is fenced by the leader lease, so
a leader that stalled past its expiry (paused VM, lost network) cannot commit work after
another worker took over. Outside a worker (a one-off run from the command line, a test)
it is plain ``db.write()``.

This module knows the worker only through :class:`LeaseFence`, so the job modules and the
worker's job registry do not import each other.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Protocol

from sqlalchemy.orm import Session

from tui_desk.db.engine import Database

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


_current_fence: contextvars.ContextVar[LeaseFence | None] = contextvars.ContextVar(
    "tui_desk_current_worker", default=None
)
# True on a follower's thread: its writes are fenced without renewing the lease.
_following: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tui_desk_following", default=False
)


@contextlib.contextmanager
def fenced_by(fence: LeaseFence, *, following: bool = False) -> Iterator[None]:
    """Within the block, :func:`job_write` on this thread writes through ``fence``.

    ``following``: the block runs followers, whose writes check the lease without
    renewing it.
    """
    token = _current_fence.set(fence)
    following_token = _following.set(following)
    try:
        yield
    finally:
        _following.reset(following_token)
        _current_fence.reset(token)


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
