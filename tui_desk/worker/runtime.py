"""The worker runtime: the leader lease, the job loop and the followers.

Every desk is one process per SSH session, so no desk may run periodic work. Worker
processes (one, or a hot standby too, on any host) elect a single leader through the
``worker_lease`` row named ``leader``; only the leader runs jobs.

One clock decides everything: lease expiries are written and compared with it, and it
decides which jobs are due. Tests inject a fake clock; ``run_worker`` uses the database's
own clock on PostgreSQL, so hosts sharing one database need not agree on the time.

Leadership is a belief bounded in time: a worker acts only while its clock is before the
expiry it last wrote. Job code writes through ``tui_desk.services.jobs.job_write``, which
also checks the lease inside the job's own transaction, so a leader that stalled past its
expiry (paused VM, lost network) cannot commit work after another worker took over.
The lease is short (3 s) so a standby takes over soon after a leader dies; a heartbeat
thread renews it every ttl/3 while the process lives, so a slow job step does not lose it.

A job run is open until its end is recorded: a run whose worker died, lost the lease,
was stopped or lost the database stays open in ``worker_job_run`` with the progress its
last committed batch saved, and whoever leads next resumes it at its next tick.

Some work cannot wait for the next tick: the supervisor board must show a desk's write
within a second. While it leads, a worker also runs its *followers* (the board's fast
path) on a thread of their own: one dedicated connection polls the change marker
(``ChangeWatcher``, every ``poll_seconds`` <= 250 ms; on PostgreSQL it sleeps until the
``audit_event`` trigger's notification arrives instead, reading the marker on each one and
every ``LISTEN_FALLBACK_SECONDS``) and, when new feed events became readable, each
follower runs once, however many events arrived (a burst is one run). A
follower writes through :func:`job_write` too; on its thread the fence checks the lease
row inside the transaction without renewing it (only the tick and heartbeat threads
renew), so a follower can never extend a term or outlive one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, case, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from tui_desk.clock import utcnow
from tui_desk.db.engine import Database, DatabaseBusy, database_unreachable
from tui_desk.db.models import WorkerJobRun, WorkerLease
from tui_desk.i18n import _
from tui_desk.logs import Outage
from tui_desk.services.changes import ChangeWatcher, change_marker
from tui_desk.services.jobs import (
    JobFunction,
    JobInterrupted,
    JobRun,
    LeaseLost,
    WorkerStopping,
    fenced_by,
)

logger = logging.getLogger(__name__)

LEADER = "leader"
# A killed leader's lease runs out within DEFAULT_TTL and a standby that ticks every
# DEFAULT_POLL_SECONDS takes it at its next tick: a takeover within 3.5 s. The leader
# renews every ttl/3 from a heartbeat thread of its own, so a slow job step (an SMS
# gateway that takes its time) does not cost it the lease; a paused or killed process
# stops renewing, and the fence inside every job write keeps it from committing after.
DEFAULT_TTL = dt.timedelta(seconds=3)
DEFAULT_POLL_SECONDS = 0.5
# An outage ends once the database has answered this long: a restarting server that
# drops connections a few times is one outage in the log, not one per connection.
OUTAGE_SETTLE = dt.timedelta(seconds=5)
# Followers poll the change marker this often (the board's 1 s target needs <= 250 ms).
FOLLOW_POLL_SECONDS = 0.1
# PostgreSQL, where the followers wait for notifications: the marker is still read this
# often, for events a notification did not announce in time (the horizon held back).
LISTEN_FALLBACK_SECONDS = 2.0
LISTEN_CHASE_SECONDS = 1.0

Clock = Callable[[], dt.datetime]

# Core tables, not the ORM: lease and bookkeeping rows are read and written as plain rows
# so no identity map can hold a stale copy of a row another worker just changed.
_LEASE = cast(Table, WorkerLease.__table__)
_JOB_RUN = cast(Table, WorkerJobRun.__table__)
_STATUS_LEN = 200  # worker_job_run.last_status
_JOB_NAME_LEN = 60  # worker_job_run.name


@dataclass(frozen=True)
class Job:
    """A periodic job: due when its last start (kept in the database) is ``every`` ago.

    ``run(db, now)`` does the work and returns a one-line status for ``worker_job_run``
    and the log. It writes through :func:`job_write` and audits what it changes.
    """

    name: str
    every: dt.timedelta
    run: JobFunction


@dataclass(frozen=True)
class Follower:
    """Work that follows the change feed while this worker leads.

    ``run(db, now)`` is called once when a term begins and then soon after new change-feed
    events became readable (at most once per poll, so a burst of writes is one run). It
    writes through :func:`job_write`, fenced by the lease; its status is not recorded.
    """

    name: str
    run: JobFunction
    poll_seconds: float = FOLLOW_POLL_SECONDS


@dataclass(frozen=True)
class JobResult:
    name: str
    ok: bool
    status: str


@dataclass(frozen=True)
class TickResult:
    """What one tick saw: whether this worker leads, who holds the lease, what ran."""

    leading: bool
    holder: str | None
    ran: tuple[JobResult, ...] = ()

    @property
    def ran_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.ran)


def default_identity() -> str:
    """``host:pid:random``: unique per process start, readable in the lease row."""
    host = socket.gethostname()[:90] or "unknown"
    return f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def database_clock(db: Database) -> Clock:
    """The database server's clock on PostgreSQL (shared by every host); local on SQLite.

    An SQLite file is only ever used from one host, so its workers share that host's clock.
    """
    if not db.is_postgresql:
        return utcnow

    def clock() -> dt.datetime:
        with db.read() as session:
            # clock_timestamp(), not now(): now() is frozen at transaction start.
            value = session.scalar(text("SELECT clock_timestamp()"))
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise RuntimeError("the database returned no time zone aware clock reading")
        return value.astimezone(dt.UTC)

    return clock


class Worker:
    """One contender for the leader lease, and the job runner while it leads.

    Not thread-safe: one thread calls :meth:`tick` (or :meth:`run_forever`), then
    :meth:`release`.
    """

    def __init__(
        self,
        db: Database,
        jobs: Sequence[Job],
        *,
        ttl: dt.timedelta = DEFAULT_TTL,
        clock: Clock = utcnow,
        identity: str | None = None,
        followers: Sequence[Follower] = (),
    ) -> None:
        if ttl <= dt.timedelta(0):
            raise ValueError("the lease ttl must be positive")
        if any(f.poll_seconds <= 0 for f in followers):
            raise ValueError("a follower's poll interval must be positive")
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate job names: {names}")
        too_long = [name for name in names if not 0 < len(name) <= _JOB_NAME_LEN]
        if too_long:
            raise ValueError(f"job names must be 1-{_JOB_NAME_LEN} characters: {too_long}")
        self.db = db
        self.jobs = tuple(jobs)
        self.followers = tuple(followers)
        self.ttl = ttl
        self.identity = identity or default_identity()
        self._clock = clock
        # One outage, told once, whichever thread met it.
        self.outage = Outage(logger, clock=utcnow, settle=OUTAGE_SETTLE)
        # The tick thread and the heartbeat thread both renew: the term and its expiry
        # change under this lock.
        self._state = threading.Lock()
        # Our current term: the lease's acquired_at when we took it. A renewal never
        # revives an expired term, so work started in one term cannot continue in another.
        self._term: dt.datetime | None = None
        self._lease_until: dt.datetime | None = None
        self._renewed_at: dt.datetime | None = None
        self._stopping = threading.Event()

    # --- leadership -------------------------------------------------------------------

    def is_leading(self, now: dt.datetime | None = None) -> bool:
        if self._term is None or self._lease_until is None:
            return False
        return (now or self._clock()) < self._lease_until

    @property
    def lease_until(self) -> dt.datetime | None:
        """The expiry we last wrote, while we hold a term."""
        return self._lease_until if self._term is not None else None

    def _renewal_due(self, now: dt.datetime) -> bool:
        return self._renewed_at is None or now >= self._renewed_at + self.ttl / 3

    def _insert_if_absent(self, now: dt.datetime) -> Any:
        insert = pg_insert if self.db.is_postgresql else sqlite_insert
        # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
        return (
            insert(_LEASE)
            .values(name=LEADER, holder=self.identity, acquired_at=now, expires_at=now + self.ttl)
            .on_conflict_do_nothing(index_elements=[_LEASE.c.name])
            .returning(_LEASE.c.name)
        )

    def _renew_in(
        self, session: Session, now: dt.datetime, term: dt.datetime | None = None
    ) -> bool:
        """Extend our current term (or ``term``) if it is still ours and unexpired; one
        atomic UPDATE."""
        term = term if term is not None else self._term
        if term is None:
            return False
        renewed = session.execute(
            update(_LEASE)
            .where(
                _LEASE.c.name == LEADER,
                _LEASE.c.holder == self.identity,
                _LEASE.c.acquired_at == term,
                _LEASE.c.expires_at > now,
            )
            # Never shorter: the other renewing thread may have written a later expiry.
            .values(
                expires_at=case(
                    (_LEASE.c.expires_at > now + self.ttl, _LEASE.c.expires_at),
                    else_=now + self.ttl,
                )
            )
            .returning(_LEASE.c.name)
        ).first()
        return renewed is not None

    def _now_in(self, session: Session) -> dt.datetime:
        """The time once ``session``'s write transaction has begun.

        On SQLite BEGIN IMMEDIATE may wait seconds for the write lock; a reading taken
        before it would renew from the past (a shorter lease, or an expired term revived).
        """
        session.connection()
        return self._clock()

    def _lead(self, now: dt.datetime) -> str | None:
        """Renew, acquire or observe the lease; returns the holder after this attempt."""
        if self.is_leading(now) and not self._renewal_due(now):
            return self.identity
        term = self._term
        renewed = False
        with self.db.write() as session:
            now = self._now_in(session)
            if self._renew_in(session, now):
                renewed = True
            elif session.execute(self._insert_if_absent(now)).first() is None:
                # BEGIN IMMEDIATE already serialises this on SQLite; PostgreSQL needs the lock.
                row = session.execute(
                    select(_LEASE.c.holder, _LEASE.c.expires_at)
                    .where(_LEASE.c.name == LEADER)
                    .with_for_update()
                ).first()
                if row is None:
                    # The holder released it between our insert and this read (PostgreSQL,
                    # read committed): nobody leads this instant; the next tick takes it.
                    self._forget()
                    return None
                if row.expires_at > now:
                    self._lost(_("another worker leads: {holder}").format(holder=row.holder))
                    return str(row.holder)
                session.execute(
                    update(_LEASE)
                    .where(_LEASE.c.name == LEADER)
                    .values(holder=self.identity, acquired_at=now, expires_at=now + self.ttl)
                )
        # Only after the commit: a rolled-back write must not make us believe we lead.
        if renewed:
            self._granted(term, now)
            return self.identity
        self._granted(now, now)
        logger.info(
            _("worker {identity} now leads (lease {ttl}s)").format(
                identity=self.identity, ttl=int(self.ttl.total_seconds())
            )
        )
        return self.identity

    def _granted(self, term: dt.datetime | None, now: dt.datetime) -> None:
        with self._state:
            self._term = term
            self._renewed_at = now
            self._lease_until = now + self.ttl

    def _forget(self) -> None:
        with self._state:
            self._term = None
            self._lease_until = None
            self._renewed_at = None

    def renew_now(self) -> bool:
        """Renew the current term at once if it is still ours (the heartbeat's step).

        Never takes the lease and never revives an expired term; True when renewed.
        """
        with self._state:
            term, until = self._term, self._lease_until
        now = self._clock()
        if term is None or until is None or now >= until:
            return False
        with self.db.write() as session:
            now = self._now_in(session)
            renewed = self._renew_in(session, now, term)
        if renewed:
            with self._state:
                # Unless the tick thread lost the term or renewed later meanwhile.
                if self._term == term and (
                    self._lease_until is None or self._lease_until < now + self.ttl
                ):
                    self._renewed_at = now
                    self._lease_until = now + self.ttl
        return renewed

    def _lost(self, reason: str) -> None:
        was_leading = self._term is not None
        self._forget()
        if was_leading:
            logger.info(
                _("worker {identity} stopped leading: {reason}").format(
                    identity=self.identity, reason=reason
                )
            )

    @contextlib.contextmanager
    def fenced_write(self, db: Database, *, check_stop: bool) -> Iterator[Session]:
        """A write transaction that commits only while this worker's term holds the lease."""
        self.keep_lease(check_stop=check_stop)
        with db.write() as session:
            self.verify_lease(session)
            yield session

    @contextlib.contextmanager
    def follower_write(self, db: Database) -> Iterator[Session]:
        """A follower's write: commits only while this worker's current term holds the lease.

        For a thread other than the ticking one: nothing here renews the lease or changes
        this worker's belief (the tick thread alone does), it only refuses to write.
        """
        if self._stopping.is_set():
            raise WorkerStopping(_("the worker is stopping"))
        term, until = self._term, self._lease_until
        now = self._clock()
        if term is None or until is None or now >= until:
            raise LeaseLost(_("the leader lease expired"))
        with db.write() as session:
            row = session.execute(
                select(_LEASE.c.holder, _LEASE.c.acquired_at, _LEASE.c.expires_at)
                .where(_LEASE.c.name == LEADER)
                .with_for_update(read=True)
            ).first()
            if (
                row is None
                or row.holder != self.identity
                or row.acquired_at != term
                or row.expires_at <= self._clock()
            ):
                raise LeaseLost(_("this worker no longer holds the leader lease"))
            yield session

    def keep_lease(self, *, check_stop: bool = True) -> None:
        """Between batches of a job: renew when due; raise if we must stop acting."""
        if check_stop and self._stopping.is_set():
            raise WorkerStopping(_("the worker is stopping"))
        now = self._clock()
        if not self.is_leading(now):
            self._lost(_("the lease expired"))
            raise LeaseLost(_("the leader lease expired"))
        if not self._renewal_due(now):
            return
        with self.db.write() as session:
            now = self._now_in(session)
            renewed = self._renew_in(session, now)
        if not renewed:
            self._lost(_("the lease was taken over"))
            raise LeaseLost(_("another worker took the leader lease"))
        self._granted(self._term, now)

    def verify_lease(self, session: Session) -> None:
        """Inside a write transaction: raise unless this worker's term still holds the lease.

        On PostgreSQL the shared row lock keeps a takeover waiting until this transaction
        ends; on SQLite the transaction already holds the database's write lock.
        """
        now = self._clock()
        row = session.execute(
            select(_LEASE.c.holder, _LEASE.c.acquired_at, _LEASE.c.expires_at)
            .where(_LEASE.c.name == LEADER)
            .with_for_update(read=True)
        ).first()
        if (
            self._term is None
            or row is None
            or row.holder != self.identity
            or row.acquired_at != self._term
            or row.expires_at <= now
        ):
            self._lost(_("the lease is no longer ours"))
            raise LeaseLost(_("this worker no longer holds the leader lease"))

    def release(self) -> None:
        """Give the lease up so a standby takes over at its next tick, not after the ttl."""
        was_leading = self._term is not None
        self._forget()  # first: from here on this worker must not act, whatever happens
        with self.db.write() as session:
            session.execute(
                delete(_LEASE).where(_LEASE.c.name == LEADER, _LEASE.c.holder == self.identity)
            )
        if was_leading:
            logger.info(_("worker {identity} released the lease").format(identity=self.identity))

    # --- jobs -------------------------------------------------------------------------

    def tick(self) -> TickResult:
        """Take or renew the lease, then run the jobs that are due while we lead.

        All time comes from the injected clock, so the lease decision, job due-ness and
        the fence inside jobs see one timeline.
        """
        holder = self._lead(self._clock())
        if holder != self.identity:
            return TickResult(leading=False, holder=holder)
        ran: list[JobResult] = []
        for job in self.jobs:
            if self._stopping.is_set() or not self.is_leading():
                break
            result = self._run_if_due(job)
            if result is not None:
                ran.append(result)
        leading = self.is_leading()
        return TickResult(
            leading=leading, holder=self.identity if leading else None, ran=tuple(ran)
        )

    def _run_if_due(self, job: Job) -> JobResult | None:
        """Run ``job`` when it is due, or resume its run that did not finish.

        A run is open from its start until its status is recorded with a finish time. A
        worker killed (or fenced off, or stopped) mid-run leaves it open; the next tick of
        whoever leads runs it again at once, with the same ``now`` and the progress its
        steps committed, so the work continues where it stopped instead of waiting for the
        job's next slot.
        """
        now = self._clock()
        resumed = False
        progress: dict[str, Any] | None = None
        try:
            with self.fenced_write(self.db, check_stop=True) as session:
                row = session.execute(
                    select(
                        _JOB_RUN.c.last_started_at,
                        _JOB_RUN.c.last_finished_at,
                        _JOB_RUN.c.runs,
                        _JOB_RUN.c.progress,
                    ).where(_JOB_RUN.c.name == job.name)
                ).first()
                if row is not None and row.last_finished_at is None:
                    resumed = True
                    now = row.last_started_at
                    progress = row.progress
                    session.execute(
                        update(_JOB_RUN)
                        .where(_JOB_RUN.c.name == job.name)
                        .values(last_status="running")
                    )
                elif row is not None and row.last_started_at + job.every > now:
                    return None
                else:
                    values = {
                        "last_started_at": now,
                        "last_finished_at": None,
                        "last_status": "running",
                        "runs": (row.runs if row is not None else 0) + 1,
                        "progress": None,
                    }
                    if row is None:
                        session.execute(_JOB_RUN.insert().values(name=job.name, **values))
                    else:
                        session.execute(
                            update(_JOB_RUN).where(_JOB_RUN.c.name == job.name).values(**values)
                        )
        except JobInterrupted:
            return None
        if resumed:
            logger.info(
                "%s: resuming the run of %s%s",
                job.name,
                now.isoformat(timespec="seconds"),
                f" from {progress}" if progress else "",
            )

        finished = True
        try:
            with fenced_by(self, run=JobRun(job.name, now, progress)):
                status = job.run(self.db, now)
            ok = True
        except JobInterrupted as exc:
            # The run stays open: whoever leads next resumes it from its saved progress.
            status, ok, finished = _("interrupted: {reason}").format(reason=exc), False, False
        except Exception as exc:  # a failing job must not take the leader down
            if database_unreachable(exc):
                # Not the job's fault: the run stays open and is resumed once the database
                # answers; the outage is told once, not once per job and retry.
                self.outage.failed(exc)
                status = _("interrupted: {reason}").format(reason=_("the database is unavailable"))
                ok, finished = False, False
            else:
                status, ok = _("failed: {error}").format(error=exc), False
                logger.exception("%s failed", job.name)
        status = " ".join(status.split())[:_STATUS_LEN]
        quiet = self.outage.since is not None and not ok
        logger.log(
            logging.DEBUG if quiet else logging.INFO if ok else logging.WARNING,
            "%s: %s",
            job.name,
            status,
        )
        try:
            # Not check_stop: a job that finished during shutdown still records its status.
            with self.fenced_write(self.db, check_stop=False) as session:
                outcome: dict[str, Any] = {"last_status": status}
                if finished:
                    # A failed run is not resumed either: it waits for its next slot.
                    outcome.update(last_finished_at=self._clock(), progress=None)
                session.execute(
                    update(_JOB_RUN)
                    .where(_JOB_RUN.c.name == job.name, _JOB_RUN.c.last_started_at == now)
                    .values(**outcome)
                )
        except JobInterrupted:
            pass  # the next leader owns the bookkeeping now
        except (SQLAlchemyError, DatabaseBusy) as exc:
            # The job's own work is committed or rolled back already; only its status line
            # is missing, and the run stays open, so it is resumed at the next tick.
            if database_unreachable(exc):
                self.outage.failed(exc)
            else:
                logger.warning("could not record %s: %s", job.name, _first_line(exc))
        return JobResult(job.name, ok, status)

    # --- the loop ---------------------------------------------------------------------

    def run_followers_once(self) -> None:
        """Run every follower once, fenced (the follower thread's body, also for tests)."""
        with fenced_by(self, following=True):
            for follower in self.followers:
                try:
                    follower.run(self.db, self._clock())
                except JobInterrupted:
                    return  # not leading (any more): the follower thread notices
                except Exception as exc:  # a failing follower must not take the leader down
                    if database_unreachable(exc):
                        self.outage.failed(exc)
                        return
                    logger.exception("%s failed", follower.name)

    def follow(self, stop_event: threading.Event) -> None:
        """The followers' loop, on its own thread: while leading, run them after feed events.

        One dedicated connection polls the raw marker (on SQLite ``PRAGMA data_version``,
        which moves on any commit, heartbeats and this worker's own writes included); only
        when it moved is the feed's marker read, and the followers run when that moved.
        The markers are taken before the run, so events committed during a run bring
        another one.
        """
        poll = min((f.poll_seconds for f in self.followers), default=FOLLOW_POLL_SECONDS)
        watcher: ChangeWatcher | None = None
        raw: int | None = None
        feed: int | None = None
        next_read = chase_until = 0.0
        try:
            while not stop_event.is_set():
                try:
                    if not self.is_leading():
                        if watcher is not None:
                            watcher.close()
                            watcher = None
                        stop_event.wait(poll)
                        continue
                    if watcher is None:
                        # A new term: run at once, whatever the markers say.
                        watcher = ChangeWatcher(self.db)
                        raw, feed = watcher.marker(), None
                    else:
                        if watcher.listening:
                            # PostgreSQL: sleep until events are committed, reading the
                            # marker on a notification and every LISTEN_FALLBACK_SECONDS.
                            # After a notification the events may still sit above the
                            # feed's horizon (an older transaction is open): the marker
                            # is then read every poll for LISTEN_CHASE_SECONDS.
                            woken = watcher.wait(poll)
                            moment = time.monotonic()
                            if woken:
                                chase_until = moment + LISTEN_CHASE_SECONDS
                            elif moment < next_read and moment >= chase_until:
                                continue
                            next_read = moment + LISTEN_FALLBACK_SECONDS
                        now_raw = watcher.marker()
                        if now_raw == raw:
                            if not watcher.listening:
                                stop_event.wait(poll)
                            continue
                        raw = now_raw
                    now_feed = change_marker(self.db) if self.db.is_sqlite else raw
                    if now_feed != feed:
                        feed = now_feed
                        self.run_followers_once()
                    self.outage.answered()
                except (SQLAlchemyError, DatabaseBusy) as exc:
                    self._failed(_("worker follower failed: {error}"), exc)
                    if watcher is not None:
                        with contextlib.suppress(SQLAlchemyError, DatabaseBusy):
                            watcher.close()
                    watcher = None
                stop_event.wait(poll)
        finally:
            if watcher is not None:
                with contextlib.suppress(SQLAlchemyError, DatabaseBusy):
                    watcher.close()

    def run_forever(
        self, stop_event: threading.Event, poll_seconds: float = DEFAULT_POLL_SECONDS
    ) -> None:
        """Tick until ``stop_event`` is set, then release the lease.

        With followers, they run on a thread of their own meanwhile (see :meth:`follow`),
        stopped and joined before the lease is released.
        """
        self._stopping = stop_event
        helpers_stop = threading.Event()
        helpers = [
            threading.Thread(
                target=self.beat, args=(helpers_stop,), name="worker-heartbeat", daemon=True
            )
        ]
        if self.followers:
            helpers.append(
                threading.Thread(
                    target=self.follow, args=(helpers_stop,), name="worker-followers", daemon=True
                )
            )
        for thread in helpers:
            thread.start()
        try:
            while not stop_event.is_set():
                try:
                    self.tick()
                    self.outage.answered()
                except (SQLAlchemyError, DatabaseBusy) as exc:
                    # The database may be restarting: keep trying. Our belief in the lease
                    # still ends at the expiry we last wrote, so nothing unsafe follows.
                    self._failed(_("worker tick failed: {error}"), exc)
                stop_event.wait(poll_seconds)
        finally:
            helpers_stop.set()
            for thread in helpers:
                thread.join()
            try:
                self.release()
            except (SQLAlchemyError, DatabaseBusy) as exc:
                logger.warning(
                    _("could not release the lease: {error}").format(error=_first_line(exc))
                )

    def _failed(self, message: str, exc: BaseException) -> None:
        """A database error in the loop: an outage is told once; anything else each time."""
        if database_unreachable(exc):
            self.outage.failed(exc)
        else:
            logger.warning(message.format(error=_first_line(exc)))

    def beat(self, stop_event: threading.Event) -> None:
        """The heartbeat thread: renew the current term every ttl/3 while leading.

        Renewal alone: it never takes the lease nor revives an expired term, so a job
        step that runs long keeps the lease only while this process is alive.
        """
        interval = self.ttl.total_seconds() / 3
        while not stop_event.wait(interval):
            try:
                self.renew_now()
            except (SQLAlchemyError, DatabaseBusy) as exc:
                # An outage counts (it keeps one open); anything else is the tick
                # thread's to tell, as it meets the same failure.
                if database_unreachable(exc):
                    self.outage.failed(exc)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
