"""Priority refresh: keep the stored queue priority of open cases true as time passes.

Days past due grow overnight and follow-ups fall due without any write to the case, yet
the queue is ordered by the stored ``collection_case.priority`` (indexed keyset paging),
so the worker recomputes it with the profile's formula and stores what changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Table, and_, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import CaseStatus, CollectionCase
from tui_desk.rules.priority import bucket_number, days_past_due, priority_score
from tui_desk.rules.profile import PriorityWeights, load_profile
from tui_desk.services import audit
from tui_desk.services.jobs import JobFunction, job_write, resume_point, save_progress

DEFAULT_PROFILE = "cn"
DEFAULT_BATCH_SIZE = 5_000
# The "next action due" factor flips as soon as next_action_at passes, so a day-long
# cadence would be too coarse; a full pass over a million open cases takes seconds.
PRIORITY_REFRESH_EVERY = dt.timedelta(minutes=15)

# Core, not the ORM: a system recompute must not bump the optimistic ``version`` column,
# or every operator with the case open would get a false "changed by someone else".
_CASE = cast(Table, CollectionCase.__table__)

# id, is_open, priority, dpd_bucket, overdue_since, overdue_minor, broken_promises, due,
# priority_boost
_CaseRow = Row[int, bool, int, int, dt.date | None, int, int, bool, int]

# Batches walk the primary key. Given a plain status predicate, a planner may read a
# batch through ix_case_queue (status, priority, id) and sort every open case by id, once
# per batch: SQLite does so without ANALYZE statistics (48 s instead of 7 s at 1M cases),
# PostgreSQL might on stale ones. So PostgreSQL tests the status in Python, and SQLite
# filters on an expression no index serves, so that a batch is 5,000 open cases and its
# commits stay few (twice as fast at 30% open).
# Status and due-ness come back as booleans computed by the database: converting a
# million enum values and timestamps in Python took a third of the run.
_READ_BATCH = (
    select(
        _CASE.c.id,
        (_CASE.c.status == CaseStatus.OPEN).label("is_open"),
        _CASE.c.priority,
        _CASE.c.dpd_bucket,
        _CASE.c.overdue_since,
        _CASE.c.overdue_minor,
        _CASE.c.broken_promises,
        and_(_CASE.c.next_action_at.is_not(None), _CASE.c.next_action_at <= bindparam("now")).label(
            "due"
        ),
        _CASE.c.priority_boost,
    )
    .where(_CASE.c.id > bindparam("after_id"))
    .order_by(_CASE.c.id)
    .limit(bindparam("batch_size"))
)
_SQLITE_READ_OPEN_BATCH = _READ_BATCH.where(
    func.coalesce(_CASE.c.status, "") == CaseStatus.OPEN.value
)

# SQLite reads and writes a batch in one BEGIN IMMEDIATE transaction: nothing can change
# the rows in between.
_SQLITE_WRITE_PRIORITY = (
    update(_CASE)
    .where(_CASE.c.id == bindparam("b_id"), _CASE.c.status == CaseStatus.OPEN)
    .values(priority=bindparam("b_priority"), dpd_bucket=bindparam("b_bucket"))
)

# PostgreSQL reads the batch outside the write transaction (locking every row read would
# write to each tuple even when nothing changed), so a desk may change a case between
# our read and our write: update only if the facts the score came from are unchanged.
# One statement per batch over arrays: row-by-row executemany took 3x as long at 1M cases.
_PG_WRITE_PRIORITY_IF_UNCHANGED = text(
    """
    UPDATE collection_case AS c SET priority = v.priority, dpd_bucket = v.bucket
    FROM unnest(
        CAST(:ids AS integer[]), CAST(:priorities AS integer[]), CAST(:buckets AS smallint[]),
        CAST(:overdue_since AS date[]), CAST(:overdue_minor AS bigint[]),
        CAST(:broken_promises AS integer[]), CAST(:due AS boolean[]),
        CAST(:boosts AS integer[])
    ) AS v(id, priority, bucket, overdue_since, overdue_minor, broken_promises, due, boost)
    WHERE c.id = v.id
      AND c.status = :open
      AND c.overdue_since IS NOT DISTINCT FROM v.overdue_since
      AND c.overdue_minor = v.overdue_minor
      AND c.broken_promises = v.broken_promises
      AND (c.next_action_at <= :now IS TRUE) = v.due
      AND c.priority_boost = v.boost
    """
)


@dataclass(frozen=True)
class _Change:
    row: _CaseRow
    priority: int
    bucket: int


@dataclass(frozen=True)
class RefreshResult:
    today: dt.date
    scanned: int
    changed: int
    batches: int

    def summary(self) -> str:
        return (
            f"priority refresh for {self.today.isoformat()}: {self.changed} of "
            f"{self.scanned} open cases changed ({self.batches} batches)"
        )


def refresh_priorities(
    db: Database,
    now: dt.datetime,
    *,
    profile: str = DEFAULT_PROFILE,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> RefreshResult:
    """Recompute the priority of every open case as of ``now``.

    Works in id-ordered batches, one short transaction each, writing only rows whose
    priority changed; a batch that changes rows writes its audit event (what it changed)
    in the same transaction, so no change is ever committed unaudited. Run from the
    worker, each batch is fenced by the leader lease and commits where the run stands
    with it, so a run interrupted by a crash is resumed after its last committed batch.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    policy = load_profile(profile)
    weights = policy.priority
    # Days past due count in office days: a case becomes a day older at office midnight.
    today = now.astimezone(ZoneInfo(policy.office_timezone)).date()
    run = _Run.resumed(resume_point())
    while True:
        if db.is_sqlite:
            with job_write(db) as session:
                rows = _read_batch(session, run.after_id, batch_size, now)
                changes = _changes(rows, today, weights, policy.dpd_bounds)
                changed = 0
                if changes:
                    params = [
                        {"b_id": c.row.id, "b_priority": c.priority, "b_bucket": c.bucket}
                        for c in changes
                    ]
                    changed = _matched(session.execute(_SQLITE_WRITE_PRIORITY, params))
                step = run.step(rows, changed, batch_size)
                _record(session, step, rows, changed, now, profile, today)
        else:
            with db.read() as session:
                rows = _read_batch(session, run.after_id, batch_size, now)
            changes = _changes(rows, today, weights, policy.dpd_bounds)
            with job_write(db) as session:
                changed = 0
                if changes:
                    result = session.execute(
                        _PG_WRITE_PRIORITY_IF_UNCHANGED, _as_arrays(changes, now)
                    )
                    changed = _matched(result)
                step = run.step(rows, changed, batch_size)
                _record(session, step, rows, changed, now, profile, today)
        run = step
        if run.done:
            break
    return RefreshResult(today=today, scanned=run.scanned, changed=run.changed, batches=run.batches)


@dataclass(frozen=True)
class _Run:
    """Where a run stands: the last case id done and the counts so far (its progress)."""

    after_id: int = 0
    scanned: int = 0
    changed: int = 0
    batches: int = 0
    done: bool = False

    @classmethod
    def resumed(cls, progress: Mapping[str, Any] | None) -> _Run:
        if not progress:
            return cls()
        return cls(
            after_id=int(progress.get("after_id", 0)),
            scanned=int(progress.get("scanned", 0)),
            changed=int(progress.get("changed", 0)),
            batches=int(progress.get("batches", 0)),
        )

    def step(self, rows: Sequence[_CaseRow], changed: int, batch_size: int) -> _Run:
        if not rows:
            return replace(self, done=True)
        return _Run(
            after_id=rows[-1].id,
            scanned=self.scanned + sum(1 for row in rows if row.is_open),
            changed=self.changed + changed,
            batches=self.batches + 1,
            done=len(rows) < batch_size,
        )

    def progress(self) -> dict[str, int]:
        return {
            "after_id": self.after_id,
            "scanned": self.scanned,
            "changed": self.changed,
            "batches": self.batches,
        }


def _record(
    session: Session,
    step: _Run,
    rows: Sequence[_CaseRow],
    changed: int,
    now: dt.datetime,
    profile: str,
    today: dt.date,
) -> None:
    """In the batch's transaction: its audit event (when it changed rows) and the run's
    progress, so both commit with the batch's rows or not at all."""
    save_progress(session, step.progress())
    if not changed:
        return
    audit.record(
        session,
        None,
        "priority.refresh",
        "collection_case",
        None,
        f"priority refresh for {today.isoformat()}: {changed} of "
        f"{sum(1 for row in rows if row.is_open)} open cases changed "
        f"(cases {rows[0].id}-{rows[-1].id})",
        now=now,
        after={
            "profile": profile,
            "today": today.isoformat(),
            "scanned": sum(1 for row in rows if row.is_open),
            "changed": changed,
            "first_id": rows[0].id,
            "last_id": rows[-1].id,
            "batch": step.batches,
        },
    )


def _read_batch(
    session: Session, after_id: int, batch_size: int, now: dt.datetime
) -> Sequence[_CaseRow]:
    params = {"after_id": after_id, "batch_size": batch_size, "now": now}
    sqlite = session.get_bind().dialect.name == "sqlite"
    return session.execute(_SQLITE_READ_OPEN_BATCH if sqlite else _READ_BATCH, params).all()


def _changes(
    rows: Sequence[_CaseRow],
    today: dt.date,
    weights: PriorityWeights,
    bounds: tuple[int, ...],
) -> list[_Change]:
    """The open cases whose stored priority or DPD bucket is no longer true."""
    changes: list[_Change] = []
    for row in rows:
        if not row.is_open:
            continue
        dpd = days_past_due(row.overdue_since, today)
        bucket = bucket_number(dpd, bounds)
        score = priority_score(
            dpd=dpd,
            overdue_minor=row.overdue_minor,
            broken_promises=row.broken_promises,
            next_action_due=bool(row.due),
            weights=weights,
            boost=int(row.priority_boost or 0),
        ).value
        if score != row.priority or bucket != row.dpd_bucket:
            changes.append(_Change(row, score, bucket))
    # In index order: the queue indexes lead with priority, so neighbouring updates touch
    # neighbouring index pages (measured: the SQLite executemany twice as fast).
    changes.sort(key=lambda c: c.priority)
    return changes


def _as_arrays(changes: Sequence[_Change], now: dt.datetime) -> dict[str, Any]:
    return {
        "ids": [c.row.id for c in changes],
        "priorities": [c.priority for c in changes],
        "buckets": [c.bucket for c in changes],
        "overdue_since": [c.row.overdue_since for c in changes],
        "overdue_minor": [c.row.overdue_minor for c in changes],
        "broken_promises": [c.row.broken_promises for c in changes],
        "due": [bool(c.row.due) for c in changes],
        "boosts": [int(c.row.priority_boost or 0) for c in changes],
        "open": CaseStatus.OPEN.value,
        "now": now,
    }


def _matched(result: Any) -> int:
    # Rows skipped by the unchanged-facts guard are not counted (sqlite3 sums the rows
    # matched over an executemany).
    return int(result.rowcount)


def priority_refresh_job(profile: str = DEFAULT_PROFILE) -> JobFunction:
    """The worker's job function for the deployment's policy profile."""
    load_profile(profile)  # an unknown profile fails at worker start, not at the first run

    def run(db: Database, now: dt.datetime) -> str:
        return refresh_priorities(db, now, profile=profile).summary()

    return run
