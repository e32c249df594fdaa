"""The worker: one leader at a time, takeover on release and on expiry, fenced jobs,
cadence kept across leaders, and the priority refresh job, on both engines."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest
from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from tests.factories import Factory
from tui_desk.db.engine import Database, open_database
from tui_desk.db.models import AuditEvent, CaseStatus, CollectionCase, WorkerJobRun, WorkerLease
from tui_desk.rules.profile import ProfileError
from tui_desk.services import audit
from tui_desk.services.agent_states import STALE_STATES_EVERY
from tui_desk.services.board import BOARD_SNAPSHOT_EVERY
from tui_desk.services.followups import MISSED_FOLLOW_UPS_EVERY
from tui_desk.services.holds import HOLD_EXPIRY_EVERY
from tui_desk.services.jobs import LeaseLost, job_write, resume_point, save_progress
from tui_desk.services.ledger import LEDGER_FIGURES_EVERY, MISSED_INSTALMENTS_EVERY
from tui_desk.services.priority_refresh import PRIORITY_REFRESH_EVERY, refresh_priorities
from tui_desk.services.promises import BROKEN_PROMISES_EVERY
from tui_desk.services.sms_sender import SMS_SENDER_EVERY
from tui_desk.services.strategies import STRATEGIES_EVERY
from tui_desk.worker.process import run_worker
from tui_desk.worker.registry import default_jobs
from tui_desk.worker.runtime import LEADER, Job, Worker, database_clock

TTL = dt.timedelta(seconds=30)
# 01:00 in Shanghai on 2 March: the office date differs from the UTC date (1 March).
T0 = dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC)


class FakeClock:
    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


def recording_job(
    calls: list[dt.datetime], *, name: str = "beat", every: dt.timedelta = dt.timedelta(minutes=1)
) -> Job:
    def run(_db: Database, now: dt.datetime) -> str:
        calls.append(now)
        return f"ran {len(calls)}"

    return Job(name, every, run)


def lease_row(db: Database) -> tuple[str, dt.datetime] | None:
    with db.read() as s:
        row = s.execute(
            select(WorkerLease.holder, WorkerLease.expires_at).where(WorkerLease.name == LEADER)
        ).first()
        return None if row is None else (row.holder, row.expires_at)


def job_run(db: Database, name: str) -> Row[int, dt.datetime, dt.datetime | None, str]:
    with db.read() as s:
        row = s.execute(
            select(
                WorkerJobRun.runs,
                WorkerJobRun.last_started_at,
                WorkerJobRun.last_finished_at,
                WorkerJobRun.last_status,
            ).where(WorkerJobRun.name == name)
        ).one()
        return row


def audit_actions(db: Database, action: str) -> list[Row[Any]]:
    with db.read() as s:
        return list(
            s.execute(
                select(AuditEvent.agent_id, AuditEvent.summary, AuditEvent.after)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


# --- leadership ----------------------------------------------------------------------


def test_two_workers_on_one_clock_exactly_one_leads(db: Database) -> None:
    clock = FakeClock()
    a_calls: list[dt.datetime] = []
    b_calls: list[dt.datetime] = []
    a = Worker(db, [recording_job(a_calls)], ttl=TTL, clock=clock, identity="a")
    b = Worker(db, [recording_job(b_calls)], ttl=TTL, clock=clock, identity="b")

    first_a, first_b = a.tick(), b.tick()
    assert first_a.leading and first_a.holder == "a"
    assert not first_b.leading and first_b.holder == "a"

    # A minute of ticks every 5 s: the leader renews (every ttl/3) and keeps the lease.
    for _ in range(12):
        clock.advance(dt.timedelta(seconds=5))
        assert a.tick().leading
        assert not b.tick().leading
    # Renewed every 10 s, last at T0 + 60 s (now).
    assert lease_row(db) == ("a", clock.now + TTL)
    assert len(a_calls) == 2  # at T0 and T0 + 1 min
    assert b_calls == []


def test_follower_takes_over_at_once_after_release(db: Database) -> None:
    clock = FakeClock()
    a = Worker(db, [], ttl=TTL, clock=clock, identity="a")
    b = Worker(db, [], ttl=TTL, clock=clock, identity="b")
    assert a.tick().leading
    assert not b.tick().leading

    a.release()
    assert lease_row(db) is None
    assert not a.is_leading()
    # No clock advance: the standby does not wait for the ttl.
    assert b.tick().leading
    result = a.tick()
    assert not result.leading and result.holder == "b"


def test_follower_takes_over_when_the_lease_expires_without_release(db: Database) -> None:
    clock = FakeClock()
    a = Worker(db, [], ttl=TTL, clock=clock, identity="a")
    b = Worker(db, [], ttl=TTL, clock=clock, identity="b")
    assert a.tick().leading

    clock.advance(TTL - dt.timedelta(microseconds=1))
    assert a.is_leading()
    assert not b.tick().leading

    clock.advance(dt.timedelta(microseconds=1))  # exactly at expiry
    assert not a.is_leading()
    assert b.tick().leading
    assert lease_row(db) == ("b", clock.now + TTL)


def test_stale_leader_that_comes_back_cannot_renew_or_run_jobs(db: Database) -> None:
    clock = FakeClock()
    a_calls: list[dt.datetime] = []
    a = Worker(db, [recording_job(a_calls)], ttl=TTL, clock=clock, identity="a")
    b = Worker(db, [], ttl=TTL, clock=clock, identity="b")
    assert a.tick().leading
    assert a_calls == [T0]

    clock.advance(TTL + dt.timedelta(seconds=1))  # a stalled past its lease
    assert b.tick().leading

    result = a.tick()
    assert not result.leading
    assert result.holder == "b"
    assert result.ran == ()
    assert a_calls == [T0]
    assert not a.is_leading()
    with pytest.raises(LeaseLost):
        a.keep_lease()
    assert lease_row(db) == ("b", clock.now + TTL)


def test_leader_that_stalls_inside_a_job_cannot_commit_its_writes(db: Database) -> None:
    clock = FakeClock()
    b = Worker(db, [], ttl=TTL, clock=clock, identity="b")

    def stalls_then_writes(job_db: Database, now: dt.datetime) -> str:
        clock.advance(TTL * 2)  # e.g. the VM was paused mid-job
        assert b.tick().leading
        with job_write(job_db) as s:
            audit.record(s, None, "test.stale_write", "test", None, "must not commit", now=now)
        return "wrote"

    a = Worker(db, [Job("slow", dt.timedelta(hours=1), stalls_then_writes)], clock=clock, ttl=TTL)
    result = a.tick()

    assert not result.leading
    assert [(r.name, r.ok) for r in result.ran] == [("slow", False)]
    assert result.ran[0].status.startswith("interrupted")
    assert audit_actions(db, "test.stale_write") == []
    assert lease_row(db) == ("b", T0 + TTL * 2 + TTL)
    # The stale leader did not record the end of a run it no longer owns.
    assert job_run(db, "slow").last_finished_at is None


def test_job_write_checks_the_lease_row_not_only_the_leaders_own_clock(db: Database) -> None:
    # A standby whose clock runs ahead sees the lease expired while the leader's clock
    # says it still holds it: the check inside the job's transaction is what stops it.
    a_clock = FakeClock()
    b = Worker(db, [], ttl=TTL, clock=FakeClock(T0 + TTL + dt.timedelta(seconds=1)), identity="b")

    def taken_over_then_writes(job_db: Database, now: dt.datetime) -> str:
        a_clock.advance(dt.timedelta(seconds=5))  # no renewal due yet: ttl/3 is 10 s
        assert b.tick().leading
        with job_write(job_db) as s:
            audit.record(s, None, "test.stale_write", "test", None, "must not commit", now=now)
        return "wrote"

    a = Worker(
        db, [Job("w", dt.timedelta(hours=1), taken_over_then_writes)], ttl=TTL, clock=a_clock
    )
    result = a.tick()
    assert [(r.name, r.ok) for r in result.ran] == [("w", False)]
    assert not result.leading
    assert audit_actions(db, "test.stale_write") == []


def test_stop_request_interrupts_a_job_at_its_next_write_and_releases(db: Database) -> None:
    clock = FakeClock()
    stop = threading.Event()
    writes: list[str] = []

    def long_job(job_db: Database, now: dt.datetime) -> str:
        for batch in range(3):
            if batch == 1:
                stop.set()  # SIGTERM arrives during the job
            with job_write(job_db) as s:
                audit.record(s, None, "test.batch", "test", batch, "batch", now=now)
            writes.append(f"batch {batch}")
        return "all batches"

    worker = Worker(db, [Job("long", dt.timedelta(hours=1), long_job)], ttl=TTL, clock=clock)
    worker.run_forever(stop, poll_seconds=0.01)

    assert writes == ["batch 0"]
    row = job_run(db, "long")
    assert row.last_status == "interrupted: the worker is stopping"
    # Recorded even though the worker was stopping, and left open: the next leader
    # resumes the run instead of waiting for the job's next slot.
    assert row.last_finished_at is None
    assert lease_row(db) is None


def test_job_cadence_is_kept_across_leaders(db: Database) -> None:
    clock = FakeClock()
    a_calls: list[dt.datetime] = []
    b_calls: list[dt.datetime] = []
    hourly = dt.timedelta(hours=1)
    a = Worker(db, [recording_job(a_calls, every=hourly)], ttl=TTL, clock=clock, identity="a")
    b = Worker(db, [recording_job(b_calls, every=hourly)], ttl=TTL, clock=clock, identity="b")

    assert a.tick().ran_names == ("beat",)
    a.release()

    clock.advance(dt.timedelta(minutes=10))
    result = b.tick()
    assert result.leading and result.ran == ()  # a ran it 10 minutes ago

    clock.now = T0 + hourly - dt.timedelta(microseconds=1)
    assert b.tick().ran == ()
    clock.now = T0 + hourly
    assert b.tick().ran_names == ("beat",)

    assert a_calls == [T0]
    assert b_calls == [T0 + hourly]
    row = job_run(db, "beat")
    assert row.runs == 2
    assert row.last_started_at == T0 + hourly
    assert row.last_finished_at == T0 + hourly
    assert row.last_status == "ran 1"


def test_a_failing_job_is_recorded_and_the_others_still_run(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    calls: list[dt.datetime] = []

    def boom(_db: Database, _now: dt.datetime) -> str:
        raise RuntimeError("boom")

    caplog.set_level(logging.INFO, logger="tui_desk")
    worker = Worker(
        db,
        [Job("boom", dt.timedelta(minutes=5), boom), recording_job(calls)],
        ttl=TTL,
        clock=clock,
    )
    result = worker.tick()
    assert result.leading
    assert [(r.name, r.ok, r.status) for r in result.ran] == [
        ("boom", False, "failed: boom"),
        ("beat", True, "ran 1"),
    ]
    assert job_run(db, "boom").last_status == "failed: boom"
    assert any("RuntimeError: boom" in line for line in caplog.text.splitlines())
    # A failed job waits for its next slot like any other, instead of retrying in a loop.
    assert worker.tick().ran == ()


def test_worker_rejects_bad_job_names_and_ttl(db: Database) -> None:
    calls: list[dt.datetime] = []
    with pytest.raises(ValueError, match="duplicate"):
        Worker(db, [recording_job(calls), recording_job(calls)])
    with pytest.raises(ValueError, match="ttl"):
        Worker(db, [], ttl=dt.timedelta(0))
    with pytest.raises(ValueError, match="1-60 characters"):
        Worker(db, [recording_job(calls, name="x" * 61)])


# --- the priority refresh job ----------------------------------------------------------


def _priorities(db: Database) -> dict[int, tuple[int, int]]:
    with db.read() as s:
        rows = s.execute(
            select(CollectionCase.id, CollectionCase.priority, CollectionCase.version)
        ).all()
        return {r.id: (r.priority, r.version) for r in rows}


def test_priority_refresh_job_follows_the_clock_and_audits_each_run(db: Database) -> None:
    clock = FakeClock()
    make = Factory(db, now=dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))
    # Office date on T0 is 2 March: 10 days past due (9 if the UTC date were used).
    overdue = make.case(
        priority=0, overdue_days=10, overdue_minor=300_000, broken_promises=1, next_action_at=None
    )
    due_tomorrow = make.case(
        priority=0, overdue_days=0, overdue_minor=0, next_action_at=T0 + dt.timedelta(hours=12)
    )
    closed = make.case(priority=0, overdue_days=10, status=CaseStatus.CLOSED)

    worker = Worker(db, default_jobs("cn"), ttl=TTL, clock=clock)
    assert worker.tick().ran_names == (
        "priority_refresh",
        "broken_promises",
        "missed_instalments",
        "ledger_figures",
        "missed_follow_ups",
        "strategies",
        "sms_sender",
        "hold_expiry",
        "stale_states",
        "board_snapshot",
    )
    # cn weights: 10 per day past due, 5 per 1,000.00 CNY overdue, 150 per broken promise.
    assert _priorities(db) == {overdue: (265, 1), due_tomorrow: (0, 1), closed: (0, 1)}
    assert len(audit_actions(db, "priority.refresh")) == 1

    clock.advance(dt.timedelta(days=1))
    result = worker.tick()
    assert result.ran_names == (
        "priority_refresh",
        "broken_promises",
        "missed_instalments",
        "ledger_figures",
        "missed_follow_ups",
        "strategies",
        "sms_sender",
        "hold_expiry",
        "stale_states",
        "board_snapshot",
    )
    assert result.ran[0].ok
    # One more day past due (+10 each); the next action fell due (+200). Versions are
    # untouched: a system recompute must not make an operator's open edit look stale.
    assert _priorities(db) == {overdue: (275, 1), due_tomorrow: (210, 1), closed: (0, 1)}
    events = audit_actions(db, "priority.refresh")
    assert len(events) == 2
    assert events[-1].agent_id is None
    assert events[-1].after is not None
    assert events[-1].after["changed"] == 2
    assert events[-1].after["scanned"] == 2
    assert events[-1].after["today"] == "2026-03-03"

    # Not due again before its cadence; when due and nothing changed, nothing is written.
    assert worker.tick().ran == ()
    clock.advance(PRIORITY_REFRESH_EVERY)
    assert worker.tick().ran_names == (
        "priority_refresh",
        "broken_promises",
        "missed_instalments",
        "missed_follow_ups",
        "strategies",
        "sms_sender",
        "hold_expiry",
        "stale_states",
        "board_snapshot",
    )
    assert len(audit_actions(db, "priority.refresh")) == 2
    assert job_run(db, "priority_refresh").runs == 3


def test_refresh_works_in_batches_and_writes_only_changes(db: Database) -> None:
    make = Factory(db, now=T0)
    ids = [make.case(priority=0, overdue_days=d) for d in range(1, 8)]
    make.case(priority=0, overdue_days=3, status=CaseStatus.CLOSED)

    first = refresh_priorities(db, T0, batch_size=3)
    assert (first.scanned, first.changed, first.batches) == (7, 7, 3)
    again = refresh_priorities(db, T0, batch_size=3)
    assert (again.scanned, again.changed) == (7, 0)
    # One event per batch that changed rows, written in that batch's transaction.
    events = audit_actions(db, "priority.refresh")
    assert [e.after["changed"] for e in events] == [3, 3, 1]
    assert [_priorities(db)[i][1] for i in ids] == [1] * 7


def test_refresh_interrupted_by_a_lost_lease_is_audited_and_resumed_by_the_next_leader(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_desk.services import priority_refresh

    clock = FakeClock()
    make = Factory(db, now=T0)
    ids = [make.case(priority=0, overdue_days=d) for d in range(1, 6)]
    b = Worker(db, [], ttl=TTL, clock=clock, identity="b")
    entered: list[Database] = []

    @contextlib.contextmanager
    def lease_lost_before_second_batch(job_db: Database) -> Iterator[Session]:
        entered.append(job_db)
        if len(entered) == 2:
            clock.advance(TTL * 2)
            assert b.tick().leading
        with job_write(job_db) as session:
            yield session

    monkeypatch.setattr(priority_refresh, "job_write", lease_lost_before_second_batch)
    job = Job(
        "refresh",
        dt.timedelta(hours=1),
        lambda d, now: refresh_priorities(d, now, batch_size=2).summary(),
    )
    a = Worker(db, [job], ttl=TTL, clock=clock, identity="a")

    result = a.tick()
    assert [(r.name, r.ok) for r in result.ran] == [("refresh", False)]
    assert result.ran[0].status.startswith("interrupted")
    priorities = _priorities(db)
    assert [priorities[i][0] > 0 for i in ids] == [True, True, False, False, False]
    # The batch that committed came with its audit event, and with the run's progress.
    [event] = audit_actions(db, "priority.refresh")
    assert (event.after["changed"], event.after["first_id"], event.after["last_id"]) == (
        2,
        ids[0],
        ids[1],
    )
    assert job_run(db, "refresh").last_finished_at is None

    # The new leader resumes the open run at its next tick (not an hour later), with the
    # run's own time, after the last batch committed: no case is done twice.
    b.jobs = (job,)
    clock.advance(dt.timedelta(seconds=1))
    result = b.tick()
    assert [(r.name, r.ok) for r in result.ran] == [("refresh", True)]
    assert (
        result.ran[0].status
        == "priority refresh for 2026-03-02: 5 of 5 open cases changed (3 batches)"
    )
    assert all(p[0] > 0 for p in _priorities(db).values())
    events = audit_actions(db, "priority.refresh")
    assert [(e.after["first_id"], e.after["changed"]) for e in events] == [
        (ids[0], 2),
        (ids[2], 2),
        (ids[4], 1),
    ]
    row = job_run(db, "refresh")
    assert (row.runs, row.last_started_at) == (1, T0)
    assert row.last_finished_at is not None
    assert b.tick().ran == ()  # finished: not due again before its slot


def test_refresh_keeps_a_desk_write_made_between_its_read_and_its_write(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only PostgreSQL reads a batch outside the write transaction (SQLite reads it under
    # BEGIN IMMEDIATE, where no desk can write in between).
    from tui_desk.services import priority_refresh

    make = Factory(pg_db, now=T0)
    raced = make.case(priority=0, overdue_days=5, broken_promises=0)
    other = make.case(priority=0, overdue_days=5)
    real_changes = priority_refresh._changes

    def desk_writes_meanwhile(*args: Any) -> list[Any]:
        updates = real_changes(*args)
        with pg_db.write() as s:
            case = s.get(CollectionCase, raced)
            assert case is not None
            case.broken_promises = 1
            case.priority = 999  # what the desk service stored
        return updates

    monkeypatch.setattr(priority_refresh, "_changes", desk_writes_meanwhile)
    result = refresh_priorities(pg_db, T0)
    assert result.changed == 1
    assert _priorities(pg_db)[raced][0] == 999
    assert _priorities(pg_db)[other][0] != 0


def test_default_jobs_and_profile_check() -> None:
    jobs = default_jobs()
    assert [(j.name, j.every) for j in jobs] == [
        ("priority_refresh", PRIORITY_REFRESH_EVERY),
        ("broken_promises", BROKEN_PROMISES_EVERY),
        ("missed_instalments", MISSED_INSTALMENTS_EVERY),
        ("ledger_figures", LEDGER_FIGURES_EVERY),
        ("missed_follow_ups", MISSED_FOLLOW_UPS_EVERY),
        ("strategies", STRATEGIES_EVERY),
        ("sms_sender", SMS_SENDER_EVERY),
        ("hold_expiry", HOLD_EXPIRY_EVERY),
        ("stale_states", STALE_STATES_EVERY),
        ("board_snapshot", BOARD_SNAPSHOT_EVERY),
    ]
    with pytest.raises(ProfileError):
        default_jobs("atlantis")


# --- real time, two threads ------------------------------------------------------------


def _overlaps(a: tuple[dt.datetime, dt.datetime], b: tuple[dt.datetime, dt.datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_two_threads_in_real_time_never_both_lead(db: Database) -> None:
    """Leadership changes hands by stalls (expiry) and releases; the lease windows each
    worker believed in never overlap, and no job of one ran inside the other's window."""
    ttl = dt.timedelta(milliseconds=200)
    terms_wanted = 6
    url = db.url.render_as_string(hide_password=False)
    windows: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {"a": [], "b": []}
    job_starts: dict[str, list[dt.datetime]] = {"a": [], "b": []}
    terms: list[str] = []
    changed = threading.Condition()
    problems: list[str] = []

    def beat(name: str) -> Job:
        def run(job_db: Database, now: dt.datetime) -> str:
            with job_write(job_db) as s:
                audit.record(s, None, "test.beat", "test", None, name, now=now)
            job_starts[name].append(now)
            return "ok"

        return Job("beat", dt.timedelta(0), run)

    def more_terms_than(count: int) -> Callable[[], bool]:
        return lambda: len(terms) > count

    def contender(name: str) -> None:
        wdb = open_database(url)
        clock = database_clock(wdb)
        worker = Worker(wdb, [beat(name)], ttl=ttl, clock=clock, identity=name)
        leading_ticks = 0
        try:
            for _ in range(20_000):
                with changed:
                    if len(terms) >= terms_wanted:
                        break
                result = worker.tick()
                if not result.leading:
                    leading_ticks = 0
                    threading.Event().wait(0.005)
                    continue
                until = worker.lease_until
                assert until is not None
                windows[name].append((clock(), until))
                if leading_ticks == 0:
                    with changed:
                        terms.append(name)
                        changed.notify_all()
                leading_ticks += 1
                if leading_ticks < 3:
                    continue
                # Hand over: release on even terms, stall past the lease on odd ones.
                with changed:
                    seen = len(terms)
                    if seen % 2 == 0:
                        released_at = clock()
                        worker.release()
                        # Belief ends at the release, for every window of this term.
                        windows[name] = [(w0, min(w1, released_at)) for w0, w1 in windows[name]]
                    if not changed.wait_for(more_terms_than(seen), timeout=20):
                        problems.append(f"{name}: no takeover after term {seen}")
                        break
                leading_ticks = 0
        except Exception as exc:  # surfaced by the assertion below
            problems.append(f"{name}: {exc!r}")
        finally:
            with changed:
                terms.append(f"{name} done")
                changed.notify_all()
            worker.release()
            wdb.dispose()

    threads = [threading.Thread(target=contender, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert problems == []
    assert {"a", "b"} <= set(terms)  # both led at some point: there were handovers

    for wa in windows["a"]:
        for wb in windows["b"]:
            assert not _overlaps(wa, wb), (wa, wb)
    for name, other in (("a", "b"), ("b", "a")):
        for started in job_starts[name]:
            assert not any(w[0] <= started < w[1] for w in windows[other]), (name, started)
    with db.read() as s:
        beats = s.scalar(select(func.count()).where(AuditEvent.action == "test.beat"))
    assert beats == len(job_starts["a"]) + len(job_starts["b"])


# --- the command-line entry ------------------------------------------------------------


def _stopping_job(action: Callable[[], None]) -> Job:
    def run(_db: Database, _now: dt.datetime) -> str:
        action()
        return "asked to stop"

    return Job("stopper", dt.timedelta(hours=1), run)


def test_run_worker_stops_on_request_and_releases_the_lease(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tui_desk")
    stop = threading.Event()
    code = run_worker(db, stop=stop, jobs=[_stopping_job(stop.set)])
    lines = [r.getMessage() for r in caplog.records]
    assert code == 0
    assert lease_row(db) is None
    assert job_run(db, "stopper").last_status == "asked to stop"
    assert any("started" in line for line in lines)
    assert any("stopped" in line for line in lines)


def test_run_worker_stops_on_sigterm_and_restores_handlers(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tui_desk")
    stop = threading.Event()
    stray: list[int] = []

    def fallback(signum: int, _frame: FrameType | None) -> None:
        # Reached only if run_worker did not install its own handler.
        stray.append(signum)
        stop.set()

    previous = signal.signal(signal.SIGTERM, fallback)
    try:
        job = _stopping_job(lambda: os.kill(os.getpid(), signal.SIGTERM))
        code = run_worker(sqlite_db, stop=stop, jobs=[job], poll_seconds=0.01)
        lines = [r.getMessage() for r in caplog.records]
        assert code == 0
        assert stray == []
        assert any("SIGTERM" in line for line in lines)
        assert signal.getsignal(signal.SIGTERM) is fallback
        assert lease_row(sqlite_db) is None
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_database_clock_is_utc(db: Database) -> None:
    reading = database_clock(db)()
    assert reading.utcoffset() == dt.timedelta(0)


# --- resuming an unfinished run ------------------------------------------------------


def _stepping_job(done: list[tuple[str, int]], who: list[str], stop_after: dict[str, int]) -> Job:
    """Ten steps; each commits its audit event and the run's progress together. The
    worker named in ``who[0]`` stalls (loses the lease) after ``stop_after`` steps."""

    def run(job_db: Database, now: dt.datetime) -> str:
        start = int((resume_point() or {}).get("next", 0))
        for step in range(start, 10):
            if step == stop_after.get(who[0]):
                stop_after["stall"]()  # type: ignore[operator]
            with job_write(job_db) as s:
                audit.record(s, None, "test.step", "test", step, f"step {step}", now=now)
                save_progress(s, {"next": step + 1})
            done.append((who[0], step))
        return f"10 steps from {start}"

    return Job("steps", dt.timedelta(hours=1), run)


def test_an_interrupted_run_is_resumed_by_the_next_leader_from_its_progress(
    db: Database,
) -> None:
    clock = FakeClock()
    done: list[tuple[str, int]] = []
    who = ["a"]
    b = Worker(db, [], ttl=TTL, clock=clock, identity="b")

    def stall() -> None:
        clock.advance(TTL * 2)  # a stalls mid-run; b takes over
        assert b.tick().leading

    stop_after: dict[str, Any] = {"a": 4, "stall": stall}
    job = _stepping_job(done, who, stop_after)
    a = Worker(db, [job], ttl=TTL, clock=clock, identity="a")
    result = a.tick()
    assert [(r.name, r.ok) for r in result.ran] == [("steps", False)]
    assert done == [("a", n) for n in range(4)]
    assert job_run(db, "steps").last_finished_at is None

    who[0] = "b"
    b.jobs = (job,)
    result = b.tick()
    assert result.ran[0].status == "10 steps from 4"
    assert done[4:] == [("b", n) for n in range(4, 10)]
    # Every step committed exactly once, each with its audit event.
    with db.read() as s:
        steps = s.scalars(
            select(AuditEvent.entity_id)
            .where(AuditEvent.action == "test.step")
            .order_by(AuditEvent.id)
        ).all()
        progress = s.scalar(select(WorkerJobRun.progress).where(WorkerJobRun.name == "steps"))
    assert list(steps) == list(range(10))
    assert progress is None
    row = job_run(db, "steps")
    assert (row.runs, row.last_started_at) == (1, T0)
    assert row.last_finished_at is not None


def test_a_failed_run_is_not_resumed(db: Database) -> None:
    clock = FakeClock()
    calls: list[dt.datetime] = []

    def fails_after_a_step(job_db: Database, now: dt.datetime) -> str:
        calls.append(now)
        with job_write(job_db) as s:
            save_progress(s, {"next": 1})
        raise RuntimeError("bug")

    worker = Worker(db, [Job("f", dt.timedelta(hours=1), fails_after_a_step)], ttl=TTL, clock=clock)
    assert worker.tick().ran[0].status == "failed: bug"
    clock.advance(dt.timedelta(minutes=1))
    assert worker.tick().ran == ()  # waits for its next slot, not resumed in a loop
    assert calls == [T0]
