"""Proof under load: many operator processes on one database, then a check of every promise.

Usage:
    python bench/load_harness.py --engine sqlite|postgresql [--operators 20]
        [--supervisors 2] [--seconds 60] [--cases 3000] [--seed 7] [--think-ms 0]
        [--lease-minutes 15] [--pg-admin-url URL] [--keep] [--json]
    python bench/load_harness.py --db URL ...     (an existing database; not dropped)

What a run does
    1. A fresh database: a SQLite file (WAL) in a temporary folder, or a PostgreSQL
       database created on the server of ``--pg-admin-url`` and dropped afterwards. It is
       migrated and seeded with the demo book (``seed_database``: borrowers, accounts,
       cases over every stage, collectors with hours and territories), and given one
       agent per operator and supervisor process. A few cases are singled out on purpose:
       a *hot* set operators open by hand (so leases collide), the *agreement* set (an
       open draft each, edited by everyone: version races) and the *plan* set (plans
       redrafted by everyone from the case version they read: version races). Bookable
       cases (registered, documents complete) are where visits are booked, from the
       first few free slots the service proposes, so operators race for the same slots.
    2. N operator processes (multiprocessing, spawn; each opens the database by URL with
       its own engine, as a desk does) work the service layer flat out for ``--seconds``
       (``--think-ms`` between operations; 0 = maximum pressure). The mix: take next;
       open the case; log a contact (with the case version the desk read); record a
       payment; renew, release or abandon the lease (a dropped session); open a hot case
       by hand; book a visit; save agreement terms; redraft a plan. A refusal (any
       ``ServiceError``, or ``DatabaseBusy``) is an outcome, not a failure. Each process
       writes a journal of JSON lines: operation, case, wall-clock start and end, the
       clock value the services were given, result (applied / refused / busy / error),
       the message, the version an edit was based on, and the audit event it wrote
       (looked up by agent and time right after the call; bookkeeping of the harness).
    3. K supervisor processes watch the board (see "Board latency"), while the worker
       (``run_worker``) keeps the board snapshot fresh.
    4. The checker reads the journals and the database and counts violations:

       leases       a case is never held by two agents at once. Replayed from the audit
                    trail (claims, releases, renewals in event order; a claim while
                    another agent's lease is unexpired at the claimer's clock is a
                    violation), and independently from the journals: the interval an
                    agent certainly held a case (end of its claim .. start of the
                    operation that ended it, or the lease expiry) never overlaps another
                    agent's on the same case.
       overlaps     no two live visits (booked, confirmed, done) of one collector overlap
                    in time (SQL self-join).
       spacing      no borrower has two live visits fewer than the profile's spacing days
                    apart (office-local dates); supervisor overrides are exempt.
       lost updates version-checked edits of one record (case version, agreement record
                    version) that were applied never share the version they were based
                    on (two applied edits from one base = one of them was silently
                    overwritten); the rows an edit adds (agreement versions, plans)
                    number exactly the applied edits; every refusal carries a message.
       audit        every applied write has its audit event (action, agent, case), no
                    refused write left one, no harness agent's event lacks an applied
                    journal entry, and counts per action agree.
       processes    every process exited 0 and wrote its end marker; no operation raised
                    anything but a refusal.

    Printed: a figures table (engine, processes, operations applied/refused per kind,
    violations per check, throughput, board latency p50/p95 and the number of watchers).
    Exit status 1 when any violation was found.

Board latency (defined precisely)
    For an applied write W: ``commit(W)`` is the wall-clock time its process read right
    after the service call returned (the commit happened just before: an upper bound of
    the commit instant, so the latency is never flattered by it), and ``event(W)`` is the
    position ``(xact_id, id)`` of W's audit event in the change feed (SQLite: ``(0, id)``).
    A watcher polls ``board_version`` every ``--poll-ms`` (default 150 ms); when the
    version moved it first reads the feed position ``P`` the board's fast sections
    reflect (the smaller ``feed_token`` of the ``today`` and ``risks`` rows of
    ``board_snapshot``), then reads the board as a supervisor's screen does
    (``read_board``), and records ``(wall time after that read, version, P)``. The board
    shown is at least as new as ``P``. The observation *covers* W when ``event(W) <= P``.
    ``latency(W) = min over watchers and observations o covering W of time(o) - commit(W)``
    (clamped at 0). It includes the worker's fast-path delay, its refresh, the watcher's
    poll interval and the board read. Measured over the writes that always change what
    the board shows (contacts, payments, visits booked: its "today" counts; a claim need
    not, as an operator moving on still holds one case); reported as p50 and p95 over
    those that committed at least 2 s before the watchers stopped. Such a write never
    covered by any observation is counted as *unseen* (it was never shown).

Only ``--seconds`` bounds the run; seeding, start-up and checking come on top.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import copy
import datetime as dt
import itertools
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from queue import Empty
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from tui_desk.clock import utcnow
from tui_desk.db.engine import Database, DatabaseBusy, open_database
from tui_desk.db.migrate import upgrade
from tui_desk.db.models import (
    Agent,
    Agreement,
    AgreementVersion,
    Appointment,
    AuditEvent,
    BoardSnapshot,
    CaseStatus,
    CollectionCase,
    PlanStatus,
    RepaymentPlan,
    Role,
    Stage,
)
from tui_desk.demo.seeder import seed_database
from tui_desk.rules import visits as visit_rules
from tui_desk.rules.plans import PlanRequest
from tui_desk.rules.profile import Profile, load_profile, parse_profile
from tui_desk.services import visits
from tui_desk.services.agents import add_agent
from tui_desk.services.changes import ChangeCursor
from tui_desk.services.context import Actor
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import ServiceError
from tui_desk.views.queue import Claim

DEFAULT_PG_ADMIN_URL = os.environ.get(
    "TUI_DESK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# How long an edit stays "open on the screen" between reading the record and saving it:
# the window in which another desk's save makes this one stale.
EDIT_WINDOW_SECONDS = 0.02
UNSEEN_GRACE_SECONDS = 2.0

# Operation kinds and their weights in the mix.
MIX: dict[str, int] = {
    "take_next": 22,
    "log_contact": 22,
    "record_payment": 7,
    "renew": 5,
    "release": 5,
    "drop": 2,
    "claim": 9,
    "book_visit": 10,
    "edit_agreement": 9,
    "edit_plan": 9,
    "change_state": 8,
}
OP_KINDS = tuple(MIX)
# One of every kind, in an order where each finds what it needs (a held case...).
TOUR = (
    "take_next", "log_contact", "record_payment", "renew", "claim", "book_visit",
    "edit_agreement", "edit_plan", "release", "take_next", "drop", "change_state",
)  # fmt: skip
# The audit action an applied operation must have written (None: none required).
PRIMARY_ACTION: dict[str, str | None] = {
    "take_next": "case.claim",  # only when something was taken
    "log_contact": "contact.log",
    "record_payment": "payment.record",
    "renew": "case.lease_renew",
    "release": "case.release",
    "drop": None,
    "claim": "case.claim",
    "book_visit": "visit.book",
    "edit_agreement": "agreement.version",
    "edit_plan": "plan.create",
    "change_state": "agent.state",
}
WRITES = frozenset(k for k, a in PRIMARY_ACTION.items() if a is not None)
# Actions written exactly once per applied operation of one kind (compared as counts).
COUNTED_ACTIONS = (
    "contact.log",
    "payment.record",
    "case.lease_renew",
    "visit.book",
    "agreement.version",
    "plan.create",
    "case.claim",
    "agent.state",
)
# Writes that always change what the board shows (its "today" counts); a claim may not
# (an operator moving on still holds one case), so it would only wait for another change.
LATENCY_ACTIONS = frozenset({"contact.log", "payment.record", "visit.book"})
LEASE_ACTIONS = frozenset({"case.claim", "case.release", "case.lease_release", "case.lease_renew"})
CHECKS = ("leases", "overlaps", "spacing", "lost_updates", "audit", "processes")


def harness_profile(lease_minutes: int | None = None) -> Profile:
    """The cn profile with contact allowed all day, so a run does not depend on the hour
    it starts at (quiet hours would refuse every call at night); optionally shorter leases
    so that expiry and take-over by others happen within a run."""
    raw = copy.deepcopy(load_profile("cn").raw)
    raw["contact"]["quiet_end"] = "00:00"
    raw["contact"]["quiet_start"] = "23:59"
    if lease_minutes is not None:
        raw["lease"]["minutes"] = lease_minutes
    return parse_profile(raw)


# --- the journal -------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One journal line: an operation a process made and what came of it."""

    pid: int
    agent_id: int
    op: str
    case_id: int | None
    t0: float  # wall clock before the call
    t1: float  # wall clock after it returned (the commit was before)
    now: str  # the clock value the services were given (ISO, UTC)
    result: str  # applied | refused | busy | error
    message: str = ""
    target: str | None = None  # the version-checked record: "case:12", "agreement:7"
    base: int | None = None  # the version the edit was based on
    ref: int | None = None  # what the call returned (claimed case, plan id, ...)
    lease_until: str | None = None  # claims and renewals: the new expiry (ISO)
    audit_id: int | None = None
    audit_xact: int | None = None

    @property
    def applied(self) -> bool:
        return self.result == "applied"

    @property
    def at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.now)


@dataclass(frozen=True)
class ProcessEnd:
    pid: int
    role: str  # operator | watcher
    exitcode: int | None
    end_marker: bool
    note: str = ""


@dataclass(frozen=True)
class Observation:
    """A watcher saw a new board: when, which snapshot, and the feed position it reflects."""

    watcher: int
    t: float
    version: int
    feed_xact: int
    feed_id: int


def _journal_lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                yield json.loads(line)


def read_journals(folder: Path) -> tuple[list[Op], dict[int, bool], list[Observation]]:
    """Every operation, which processes wrote their end marker, every board observation."""
    ops: list[Op] = []
    ended: dict[int, bool] = {}
    seen: list[Observation] = []
    for path in sorted(folder.glob("*.jsonl")):
        for item in _journal_lines(path):
            kind = item.pop("kind")
            if kind == "op":
                ops.append(Op(**item))
            elif kind == "start":
                ended.setdefault(int(item["pid"]), False)
            elif kind == "end":
                ended[int(item["pid"])] = True
            elif kind == "seen":
                seen.append(Observation(**item))
    return ops, ended, seen


# --- the checker --------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    id: int
    xact_id: int
    agent_id: int | None
    action: str
    case_id: int | None
    occurred_at: dt.datetime
    after: dict[str, Any] | None


@dataclass(frozen=True)
class VisitRow:
    id: int
    case_id: int
    borrower_id: int
    collector_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    overridden: bool


@dataclass
class Evidence:
    """Everything the checker judges: journals, the audit trail, the visits, row counts."""

    ops: list[Op]
    audit: list[AuditRow]
    visits: list[VisitRow]
    processes: list[ProcessEnd]
    agents: frozenset[int]  # the harness's operator agents
    contested: dict[str, tuple[int, int]]  # "agreement:7" -> (rows added, version delta)
    collector_overlaps: list[tuple[int, int, int]] = field(default_factory=list)
    spacing_days: int = 3
    timezone: str = "Asia/Shanghai"


def _iso_dt(value: Any) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _lease_replay(audit: Sequence[AuditRow]) -> list[str]:
    """Claims, releases and renewals per case in event order (the row lock serialises
    them on both engines, so event order is the order they took effect)."""
    found: list[str] = []
    holder: dict[int, tuple[int, dt.datetime] | None] = {}
    for event in sorted(audit, key=lambda e: e.id):
        if event.action not in LEASE_ACTIONS or event.case_id is None:
            continue
        case = event.case_id
        current = holder.get(case)
        if event.action == "case.claim":
            if (
                current is not None
                and current[0] != event.agent_id
                and current[1] > event.occurred_at
            ):
                found.append(
                    f"case {case}: agent {event.agent_id} claimed it at "
                    f"{event.occurred_at.isoformat()} (event {event.id}) while agent "
                    f"{current[0]} held it until {current[1].isoformat()}"
                )
            until = _iso_dt((event.after or {}).get("lease_expires_at"))
            holder[case] = (event.agent_id or 0, until or event.occurred_at)
        elif event.action == "case.lease_renew":
            if current is None or current[0] != event.agent_id:
                found.append(
                    f"case {case}: agent {event.agent_id} renewed a lease it did not hold "
                    f"(event {event.id})"
                )
            until = _iso_dt((event.after or {}).get("lease_expires_at"))
            holder[case] = (event.agent_id or 0, until or event.occurred_at)
        else:
            holder[case] = None
    return found


def _journal_leases(ops: Sequence[Op]) -> list[str]:
    """From the journals alone: the spans each agent certainly held each case."""
    spans: dict[int, list[tuple[float, float, int]]] = defaultdict(list)
    by_pid: dict[int, list[Op]] = defaultdict(list)
    for op in ops:
        by_pid[op.pid].append(op)
    for pid_ops in by_pid.values():
        pid_ops.sort(key=lambda o: o.t0)
        held: tuple[int, float, float] | None = None  # case, certainly held from, expiry

        def close(until: float, held_now: tuple[int, float, float] | None, agent: int) -> None:
            if held_now is not None:
                case, start, expiry = held_now
                spans[case].append((start, min(until, expiry), agent))

        for op in pid_ops:
            lease_op = op.op in ("take_next", "claim", "release")
            if lease_op and op.result in ("applied", "error"):
                close(op.t0, held, op.agent_id)
                held = None
            if op.applied and op.op in ("take_next", "claim") and op.ref is not None:
                expiry = _iso_dt(op.lease_until)
                held = (op.ref, op.t1, expiry.timestamp() if expiry else op.t1)
            elif op.applied and op.op == "renew" and held is not None and op.ref == held[0]:
                expiry = _iso_dt(op.lease_until)
                if expiry is not None:
                    held = (held[0], held[1], max(held[2], expiry.timestamp()))
            elif op.op == "drop" and held is not None:
                # Abandoned: held until it expires or this agent takes something else.
                pass
        if pid_ops:
            close(max(o.t1 for o in pid_ops), held, pid_ops[0].agent_id)
    found: list[str] = []
    for case, items in spans.items():
        items.sort()
        for i, (start, end, agent) in enumerate(items):
            for other_start, other_end, other in items[i + 1 :]:
                if other_start >= end:
                    break
                if other != agent and other_start < end and start < other_end:
                    found.append(
                        f"case {case}: agents {agent} and {other} both held it between "
                        f"{max(start, other_start):.3f} and {min(end, other_end):.3f} (journals)"
                    )
    return found


def _overlaps(visits_: Sequence[VisitRow]) -> list[str]:
    by_collector: dict[int, list[VisitRow]] = defaultdict(list)
    for v in visits_:
        by_collector[v.collector_id].append(v)
    found = []
    for collector, rows in by_collector.items():
        rows.sort(key=lambda v: v.starts_at)
        for i, a in enumerate(rows):
            for b in rows[i + 1 :]:
                if b.starts_at >= a.ends_at:
                    break
                found.append(
                    f"collector {collector}: visits {a.id} and {b.id} overlap "
                    f"({a.starts_at:%Y-%m-%d %H:%M}-{a.ends_at:%H:%M} and "
                    f"{b.starts_at:%H:%M}-{b.ends_at:%H:%M} UTC)"
                )
    return found


def _spacing(visits_: Sequence[VisitRow], days: int, timezone: str) -> list[str]:
    zone = ZoneInfo(timezone)
    by_borrower: dict[int, list[VisitRow]] = defaultdict(list)
    for v in visits_:
        if not v.overridden:
            by_borrower[v.borrower_id].append(v)
    found = []
    for borrower, rows in by_borrower.items():
        rows.sort(key=lambda v: v.starts_at)
        for a, b in itertools.pairwise(rows):
            gap = (b.starts_at.astimezone(zone).date() - a.starts_at.astimezone(zone).date()).days
            if gap < days:
                found.append(
                    f"borrower {borrower}: visits {a.id} and {b.id} are {gap} day(s) apart "
                    f"(at least {days})"
                )
    return found


def _lost_updates(ops: Sequence[Op], contested: dict[str, tuple[int, int]]) -> list[str]:
    found: list[str] = []
    bases: dict[tuple[str, int], list[Op]] = defaultdict(list)
    for op in ops:
        if op.applied and op.target is not None and op.base is not None:
            bases[(op.target, op.base)].append(op)
    for (target, base), same in sorted(bases.items()):
        if len(same) > 1:
            who = ", ".join(f"{o.op} by agent {o.agent_id} at {o.now}" for o in same)
            found.append(
                f"{target}: {len(same)} edits applied from the same version {base} "
                f"(all but one overwrote another unseen): {who}"
            )
    kinds = {"agreement": "edit_agreement", "plans": "edit_plan"}
    for key, (added, moved) in sorted(contested.items()):
        prefix, _sep, ident = key.partition(":")
        kind = kinds.get(prefix)
        if kind is None:
            continue
        target = f"agreement:{ident}" if prefix == "agreement" else f"case:{ident}"
        applied = sum(1 for o in ops if o.applied and o.op == kind and o.target == target)
        if applied != added:
            found.append(f"{key}: {applied} applied {kind} operations but {added} rows were added")
        if moved < applied:
            found.append(
                f"{target}: {applied} applied {kind} operations but its version moved only "
                f"{moved} (an applied edit left the version as it was, so a stale edit "
                "made after it is not refused)"
            )
    for op in ops:
        if op.result in ("refused", "busy") and not op.message.strip():
            found.append(f"{op.op} by agent {op.agent_id} at {op.now} refused without a message")
    return found


def _audit(ops: Sequence[Op], audit: Sequence[AuditRow], agents: frozenset[int]) -> list[str]:
    found: list[str] = []
    by_id = {e.id: e for e in audit}
    by_moment: dict[tuple[int, dt.datetime], list[AuditRow]] = defaultdict(list)
    for event in audit:
        if event.agent_id in agents:
            by_moment[(event.agent_id, event.occurred_at)].append(event)
    moments: dict[tuple[int, dt.datetime], Op] = {}
    for op in ops:
        if op.op not in WRITES:
            continue
        key = (op.agent_id, op.at)
        events = by_moment.get(key, [])
        if op.applied:
            moments[key] = op
            action = PRIMARY_ACTION[op.op]
            if op.op == "take_next" and op.ref is None:
                continue  # nothing was due: at most the previous lease's release
            row = by_id.get(op.audit_id) if op.audit_id is not None else None
            if row is None or row.action != action or row.agent_id != op.agent_id:
                found.append(
                    f"{op.op} by agent {op.agent_id} at {op.now} (case {op.case_id}) applied "
                    f"without its {action} audit event"
                )
            elif op.case_id is not None and row.case_id != op.case_id:
                found.append(
                    f"{op.op} by agent {op.agent_id} at {op.now}: audit event {row.id} "
                    f"names case {row.case_id}, not {op.case_id}"
                )
        elif events:
            found.append(
                f"{op.op} by agent {op.agent_id} at {op.now} was {op.result} but wrote "
                f"{', '.join(e.action for e in events)}"
            )
    for key, events in by_moment.items():
        if key not in moments:
            found.append(
                f"agent {key[0]} wrote {', '.join(e.action for e in events)} at "
                f"{key[1].isoformat()} with no applied operation in its journal"
            )
    journal_counts: Counter[str] = Counter()
    for op in ops:
        action = PRIMARY_ACTION.get(op.op)
        if op.applied and action in COUNTED_ACTIONS:
            if op.op == "take_next" and op.ref is None:
                continue
            journal_counts[str(action)] += 1
    audit_counts = Counter(e.action for e in audit if e.agent_id in agents)
    for action in COUNTED_ACTIONS:
        if journal_counts[action] != audit_counts[action]:
            found.append(
                f"{action}: {journal_counts[action]} applied in the journals, "
                f"{audit_counts[action]} audit events"
            )
    return found


def _processes(processes: Sequence[ProcessEnd], ops: Sequence[Op]) -> list[str]:
    found = [
        f"{p.role} process {p.pid} exited with {p.exitcode}"
        + ("" if p.end_marker or p.role != "operator" else " without its end marker")
        + (f": {p.note}" if p.note else "")
        for p in processes
        if p.exitcode != 0 or (p.role == "operator" and not p.end_marker)
    ]
    found += [
        f"{op.op} by agent {op.agent_id} at {op.now} raised: {op.message.splitlines()[-1]}"
        for op in ops
        if op.result == "error"
    ]
    return found


def check(evidence: Evidence) -> dict[str, list[str]]:
    """Violations per check (empty lists: the run kept every promise)."""
    return {
        "leases": _lease_replay(evidence.audit) + _journal_leases(evidence.ops),
        "overlaps": _overlaps(evidence.visits),
        "spacing": _spacing(evidence.visits, evidence.spacing_days, evidence.timezone),
        "lost_updates": _lost_updates(evidence.ops, evidence.contested),
        "audit": _audit(evidence.ops, evidence.audit, evidence.agents),
        "processes": _processes(evidence.processes, evidence.ops),
    }


def sql_collector_overlaps(db: Database) -> list[tuple[int, int, int]]:
    """(collector, visit, visit) of live visits of one collector overlapping in time."""
    a = Appointment.__table__.alias("a")
    b = Appointment.__table__.alias("b")
    live = sorted(visit_rules.ACTIVE_STATUSES)
    stmt = select(a.c.collector_id, a.c.id, b.c.id).where(
        a.c.collector_id == b.c.collector_id,
        a.c.id < b.c.id,
        a.c.status.in_(live),
        b.c.status.in_(live),
        a.c.starts_at < b.c.ends_at,
        b.c.starts_at < a.c.ends_at,
    )
    with db.read() as s:
        return [(int(r[0]), int(r[1]), int(r[2])) for r in s.execute(stmt)]


def load_evidence(
    db: Database,
    folder: Path,
    processes: list[ProcessEnd],
    agents: frozenset[int],
    counts_before: dict[str, tuple[int, int]],
    profile: Profile,
) -> tuple[Evidence, list[Observation]]:
    ops, ended, seen = read_journals(folder)
    processes = [
        ProcessEnd(p.pid, p.role, p.exitcode, ended.get(p.pid, False), p.note) for p in processes
    ]
    with db.read() as s:
        audit = [
            AuditRow(
                id=int(r.id),
                xact_id=int(r.xact_id or 0),
                agent_id=r.agent_id,
                action=r.action,
                case_id=r.case_id,
                occurred_at=r.occurred_at,
                after=r.after,
            )
            for r in s.execute(
                select(
                    AuditEvent.id,
                    AuditEvent.xact_id,
                    AuditEvent.agent_id,
                    AuditEvent.action,
                    AuditEvent.case_id,
                    AuditEvent.occurred_at,
                    AuditEvent.after,
                ).where(AuditEvent.agent_id.in_(sorted(agents)))
            )
        ]
        live = [v for v in sorted(visit_rules.ACTIVE_STATUSES)]
        visit_rows = [
            VisitRow(
                id=r.id,
                case_id=r.case_id,
                borrower_id=r.borrower_id,
                collector_id=r.collector_id,
                starts_at=r.starts_at,
                ends_at=r.ends_at,
                overridden=r.override_reason is not None,
            )
            for r in s.execute(
                select(
                    Appointment.id,
                    Appointment.case_id,
                    CollectionCase.borrower_id,
                    Appointment.collector_id,
                    Appointment.starts_at,
                    Appointment.ends_at,
                    Appointment.override_reason,
                )
                .join(CollectionCase, CollectionCase.id == Appointment.case_id)
                .where(Appointment.status.in_(live))
            )
        ]
    after = record_counts(db, counts_before)
    contested = {
        key: (after[key][0] - rows, after[key][1] - version)
        for key, (rows, version) in counts_before.items()
    }
    policy = visits.visit_policy(profile)
    evidence = Evidence(
        ops=ops,
        audit=audit,
        visits=visit_rows,
        processes=processes,
        agents=agents,
        contested=contested,
        collector_overlaps=sql_collector_overlaps(db),
        spacing_days=policy.spacing_days,
        timezone=profile.office_timezone,
    )
    return evidence, seen


def record_counts(db: Database, keys: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Rows and version of each contested record: "agreement:7" -> (its text versions,
    its record version), "plans:12" -> (the plans of case 12, the case's version)."""
    out: dict[str, tuple[int, int]] = {}
    with db.read() as s:
        for key in keys:
            prefix, _sep, ident = key.partition(":")
            if prefix == "agreement":
                rows = select(func.count()).where(AgreementVersion.agreement_id == int(ident))
                version = select(Agreement.version).where(Agreement.id == int(ident))
            else:
                rows = select(func.count()).where(RepaymentPlan.case_id == int(ident))
                version = select(CollectionCase.version).where(CollectionCase.id == int(ident))
            out[key] = (int(s.scalar(rows) or 0), int(s.scalar(version) or 0))
    return out


# --- the world ----------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """What the operators aim at (plain ids, picklable for the spawned processes)."""

    hot: tuple[int, ...]
    bookable: tuple[int, ...]
    agreements: tuple[tuple[int, int], ...]  # (case, agreement)
    plan_cases: tuple[int, ...]
    operators: tuple[Actor, ...]
    supervisors: tuple[Actor, ...]


def _actor(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


def _open_cases(
    db: Database, *terms: Any, limit: int, exclude: Iterable[int] = (), rng: random.Random
) -> list[int]:
    with db.read() as s:
        ids = list(
            s.scalars(
                select(CollectionCase.id).where(
                    CollectionCase.status == CaseStatus.OPEN,
                    CollectionCase.on_hold.is_(False),
                    *terms,
                )
            )
        )
    skip = set(exclude)
    ids = [i for i in ids if i not in skip]
    rng.shuffle(ids)
    return sorted(ids[:limit])


def build_world(
    db: Database,
    *,
    operators: int,
    supervisors: int,
    cases: int,
    seed: int,
    profile: Profile,
    now: dt.datetime,
) -> World:
    """Seed the demo book, add the harness's agents and single out the contested cases."""
    seed_database(db, cases=cases, seed=seed, now=now)
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:4]
    ops = tuple(
        _actor(
            db,
            add_agent(
                db,
                f"ld{tag}-op{i:02d}",
                f"负载坐席{i}",
                Role.OPERATOR,
                now=now,
                profile=load_profile(),
            ).id,
        )
        for i in range(operators)
    )
    sups = tuple(
        _actor(
            db,
            add_agent(
                db,
                f"ld{tag}-sup{i:02d}",
                f"负载主管{i}",
                Role.SUPERVISOR,
                now=now,
                profile=load_profile(),
            ).id,
        )
        for i in range(supervisors)
    )
    setup = _actor(
        db,
        add_agent(
            db, f"ld{tag}-setup", "负载准备", Role.SUPERVISOR, now=now, profile=load_profile()
        ).id,
    )
    contested = max(2, operators // 6)
    bookable = _open_cases(
        db,
        CollectionCase.registered.is_(True),
        CollectionCase.documents_complete.is_(True),
        CollectionCase.stage != Stage.FOLLOW_UP,
        limit=max(8, operators * 2),
        rng=rng,
    )
    # Cases with a plan to build agreements on; drafts are (re)made for the contested ones.
    with db.read() as s:
        planned = sorted(
            set(
                s.scalars(
                    select(RepaymentPlan.case_id).where(
                        RepaymentPlan.status.in_((PlanStatus.DRAFT, PlanStatus.ACTIVE))
                    )
                )
            )
        )
    candidates = _open_cases(
        db,
        CollectionCase.id.in_(planned),
        CollectionCase.stage.in_((Stage.PLAN, Stage.AGREEMENT, Stage.VISITED)),
        limit=contested * 3,
        exclude=bookable,
        rng=rng,
    )
    desk = DeskService(db=db, actor=setup, profile=profile, clock=lambda: now)
    agreements: list[tuple[int, int]] = []
    for case_id in candidates:
        if len(agreements) == contested:
            break
        with contextlib.suppress(ServiceError):
            agreements.append((case_id, desk.draft_agreement(case_id)))
    taken = set(bookable) | {c for c, _a in agreements}
    plan_cases = _open_cases(
        db,
        CollectionCase.stage.in_((Stage.VISITED, Stage.PLAN, Stage.REGISTERED, Stage.DOCUMENTS)),
        limit=contested,
        exclude=taken,
        rng=rng,
    )
    taken |= set(plan_cases)
    # The contested cases belong to the setup supervisor, so take-next does not deal them
    # to operators: their versions move by the contested edits alone.
    with db.write() as s:
        s.execute(
            update(CollectionCase)
            .where(CollectionCase.id.in_([*plan_cases, *(c for c, _a in agreements)]))
            .values(owner_id=setup.id)
        )
    hot = _open_cases(
        db,
        CollectionCase.stage != Stage.FOLLOW_UP,
        limit=max(3, operators // 3),
        exclude=taken,
        rng=rng,
    )
    return World(
        hot=tuple(hot),
        bookable=tuple(bookable),
        agreements=tuple(agreements),
        plan_cases=tuple(plan_cases),
        operators=ops,
        supervisors=sups,
    )


# --- the operator process -----------------------------------------------------------------


@dataclass(frozen=True)
class OperatorSpec:
    pid: int
    url: str
    actor: Actor
    world: World
    journal: str
    seconds: float
    think_ms: float
    seed: int
    lease_minutes: int | None
    tour: bool = False  # first one operation of every kind (whatever the time says)
    nice: int = 0  # added to the process's niceness (desks on a host shared with the worker)


class _Clock:
    """The time the services are given: read once per operation, strictly increasing per
    process, so (agent, time) names one operation's audit events."""

    def __init__(self) -> None:
        self.value = utcnow()

    def tick(self) -> dt.datetime:
        now = utcnow()
        if now <= self.value:
            now = self.value + dt.timedelta(microseconds=1)
        self.value = now
        return now

    def __call__(self) -> dt.datetime:
        return self.value


class Operator:
    """One operator's desk, driven by the mix instead of keys."""

    def __init__(self, spec: OperatorSpec, db: Database, out: Any) -> None:
        self.spec = spec
        self.db = db
        self.out = out
        self.rng = random.Random(spec.seed * 1000 + spec.pid)
        self.clock = _Clock()
        self.profile = harness_profile(spec.lease_minutes)
        self.desk = DeskService(db=db, actor=spec.actor, profile=self.profile, clock=self.clock)
        self.held: int | None = None
        self.version: int | None = None  # the held case's version as the desk read it
        self.serial = 0
        self.state = "offline"  # the agent's state as this desk last set it

    # journal

    def write(self, item: dict[str, Any]) -> None:
        self.out.write(json.dumps(item, ensure_ascii=False) + "\n")
        self.out.flush()

    def _audit_of(self, action: str | None, now: dt.datetime) -> tuple[int | None, int | None]:
        if action is None:
            return None, None
        with self.db.read() as s:
            row = s.execute(
                select(AuditEvent.id, AuditEvent.xact_id)
                .where(
                    AuditEvent.agent_id == self.spec.actor.id,
                    AuditEvent.occurred_at == now,
                    AuditEvent.action == action,
                )
                .order_by(AuditEvent.id.desc())
                .limit(1)
            ).first()
        return (int(row[0]), int(row[1] or 0)) if row else (None, None)

    def run_op(
        self,
        op: str,
        case_id: int | None,
        call: Callable[[], Any],
        *,
        target: str | None = None,
        base: int | None = None,
    ) -> tuple[str, Any]:
        now = self.clock.tick()
        t0 = time.time()
        result, message, value = "applied", "", None
        try:
            value = call()
        except ServiceError as exc:
            result, message = "refused", f"{type(exc).__name__}: {exc}"
        except DatabaseBusy as exc:
            result, message = "busy", str(exc)
        except Exception:
            result, message = "error", traceback.format_exc()
        t1 = time.time()
        ref: int | None = None
        lease_until: str | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            ref = value
        elif isinstance(value, dt.datetime):
            lease_until = value.isoformat()
            ref = case_id
        elif isinstance(value, Claim):
            ref = int(value.case_id)
            lease_until = value.lease_expires_at.isoformat()
        action = PRIMARY_ACTION[op] if result == "applied" else None
        if op == "take_next" and ref is None:
            action = None
        audit_id, audit_xact = self._audit_of(action, now)
        self.write(
            {
                "kind": "op",
                **asdict(
                    Op(
                        pid=self.spec.pid, agent_id=self.spec.actor.id, op=op, case_id=case_id,
                        t0=t0, t1=t1, now=now.isoformat(), result=result, message=message,
                        target=target, base=base, ref=ref, lease_until=lease_until,
                        audit_id=audit_id, audit_xact=audit_xact,
                    )
                ),
            }
        )  # fmt: skip
        return result, value

    # the mix

    def pick(self) -> str:
        kinds = list(MIX)
        return self.rng.choices(kinds, weights=[MIX[k] for k in kinds])[0]

    def step(self, kind: str | None = None) -> None:
        kind = kind or self.pick()
        if kind in ("log_contact", "record_payment", "renew", "release", "drop") and (
            self.held is None
        ):
            kind = "take_next"
        getattr(self, f"do_{kind}")()

    def _opened(self, case_id: int) -> None:
        """The desk loads the case it now holds (the realistic read after a claim)."""
        self.held = case_id
        try:
            self.version = self.desk.case(case_id).version
        except ServiceError:
            self.version = None

    def do_take_next(self) -> None:
        result, claim = self.run_op("take_next", None, self.desk.take_next)
        if result == "applied":
            self.held = None
            if claim is not None:
                self._opened(claim.case_id)

    def do_change_state(self) -> None:
        """The operator's day: ready, working on the case held, wrap-up, a pause."""
        nxt = {
            "offline": ("ready", None),
            "ready": ("working", None) if self.held is not None else ("paused", "break"),
            "working": ("wrap_up", None),
            "wrap_up": ("ready", None),
            "paused": ("ready", None),
        }[self.state]
        state, reason = nxt
        case_id = self.held if state in ("working", "wrap_up") else None

        def call() -> Any:
            return self.desk.change_state(state, reason=reason, case_id=case_id)

        result, _status = self.run_op("change_state", None, call)
        if result == "applied":
            self.state = state

    def do_claim(self) -> None:
        case_id = self.rng.choice(self.spec.world.hot)
        result, claim = self.run_op("claim", case_id, lambda: self.desk.claim(case_id))
        if result == "applied":
            self._opened(claim.case_id)

    def do_renew(self) -> None:
        case_id = self.held
        assert case_id is not None
        result, _value = self.run_op("renew", case_id, lambda: self.desk.renew(case_id))
        if result == "refused":
            self.held = None

    def do_release(self) -> None:
        case_id = self.held
        assert case_id is not None
        self.run_op("release", case_id, lambda: self.desk.release(case_id))
        self.held = None

    def do_drop(self) -> None:
        """A dropped session: the lease is left to expire (no write)."""
        now = self.clock.tick()
        t = time.time()
        self.write(
            {
                "kind": "op",
                **asdict(
                    Op(self.spec.pid, self.spec.actor.id, "drop", self.held, t, t,
                       now.isoformat(), "applied")
                ),
            }
        )  # fmt: skip
        self.held = None

    def do_log_contact(self) -> None:
        case_id = self.held
        assert case_id is not None
        base = self.version
        outcome = self.rng.choice(
            ["no_answer", "busy", "left_message", "refused", "promise", "callback", "no_answer"]
        )
        direction = "inbound" if self.rng.random() < 0.2 else "outbound"
        now = self.clock.value
        extra: dict[str, Any] = {}
        if outcome == "promise":
            extra = {"promise_amount_minor": 20000, "promise_due": self.desk.today() + dt.timedelta(days=3)}  # fmt: skip
        elif outcome == "callback":
            extra = {"callback_at": now + dt.timedelta(hours=2)}
        del now

        def call() -> Any:
            return self.desk.log_contact(
                case_id, channel="phone", direction=direction, outcome=outcome,
                note=f"load {self.spec.pid}-{self.serial}", expected_version=base, **extra,
            )  # fmt: skip

        self.serial += 1
        result, _value = self.run_op("log_contact", case_id, call, base=base)
        if result == "applied" and base is not None:
            self.version = self.desk.case_version(case_id)
        elif result == "refused":
            with contextlib.suppress(ServiceError):
                self.version = self.desk.case_version(case_id)

    def do_record_payment(self) -> None:
        case_id = self.held
        assert case_id is not None
        self.serial += 1
        reference = f"LD{self.spec.pid:02d}-{self.serial:06d}"
        amount = self.rng.randint(100, 50000)
        self.run_op(
            "record_payment",
            case_id,
            lambda: self.desk.record_payment(
                case_id, amount_minor=amount, paid_on=self.desk.today(),
                channel="bank_transfer", reference=reference,
            ),
        )  # fmt: skip
        with contextlib.suppress(ServiceError):
            self.version = self.desk.case_version(case_id)

    def do_book_visit(self) -> None:
        case_id = self.rng.choice(self.spec.world.bookable)
        try:
            options = visits.suggest_slots(
                self.db, case_id, limit=4, now=self.clock.tick(), profile=self.profile
            )
        except ServiceError:
            options = []
        if not options:
            return
        slot = self.rng.choice(options[:3])
        self.run_op(
            "book_visit",
            case_id,
            lambda: self.desk.book_visit(
                case_id, collector_id=slot.collector_id, collector_login=None,
                starts_at=slot.starts_at,
            ),
        )  # fmt: skip

    def do_edit_agreement(self) -> None:
        if not self.spec.world.agreements:
            return
        case_id, agreement_id = self.rng.choice(self.spec.world.agreements)
        try:
            record = self.desk.open_agreement(agreement_id)
        except ServiceError:
            return
        base = record.record_version
        time.sleep(self.rng.uniform(0, EDIT_WINDOW_SECONDS))
        self.serial += 1
        terms = f"乙方可提前还款（{self.spec.actor.login} 第{self.serial}稿）"
        self.run_op(
            "edit_agreement",
            case_id,
            lambda: self.desk.save_special_terms(agreement_id, terms, base),
            target=f"agreement:{agreement_id}",
            base=base,
        )

    def do_edit_plan(self) -> None:
        case_id = self.rng.choice(self.spec.world.plan_cases)
        try:
            self.clock.tick()
            basis = self.desk.plan_basis(case_id)
        except ServiceError:
            return
        count = self.rng.choice([12, 24, 36, 48])
        request = PlanRequest(
            kind="interest_free",
            principal=basis.principal,
            annual_rate=Decimal(0),
            instalments=count,
            frequency="monthly",
            first_due=basis.today + dt.timedelta(days=self.rng.randint(7, 25)),
            overdue_interest=basis.overdue_charges,
        )
        time.sleep(self.rng.uniform(0, EDIT_WINDOW_SECONDS))
        self.run_op(
            "edit_plan",
            case_id,
            lambda: self.desk.create_plan(case_id, request, expected_version=basis.version),
            target=f"case:{case_id}",
            base=basis.version,
        )


def operator_main(spec: OperatorSpec, ready: Any, go: Any) -> None:
    """Entry point of one operator process (spawned)."""
    if spec.nice:
        os.nice(spec.nice)
    path = Path(spec.journal)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"kind": "start", "pid": spec.pid}) + "\n")
        out.flush()
        db = open_database(spec.url)
        try:
            operator = Operator(spec, db, out)
            # Warm up: connect, load mappers and the profile's calendars.
            operator.desk.case_version(spec.world.hot[0])
            ready.put(spec.pid)
            if not go.wait(600):
                raise TimeoutError("never told to go")
            deadline = time.monotonic() + spec.seconds
            count = 0
            for kind in TOUR if spec.tour else ():
                operator.step(kind)
                count += 1
            while time.monotonic() < deadline:
                operator.step()
                count += 1
                if spec.think_ms > 0:
                    time.sleep(operator.rng.expovariate(1000.0 / spec.think_ms))
        finally:
            db.dispose()
        out.write(json.dumps({"kind": "end", "pid": spec.pid, "steps": count}) + "\n")
        out.flush()


# --- supervisors watching the board -------------------------------------------------------


@dataclass(frozen=True)
class WatcherSpec:
    pid: int
    url: str
    journal: str
    poll_ms: float


def _feed_position(db: Database) -> tuple[int, int] | None:
    """The change-feed position the board's fast sections reflect (the older of the two);
    None until both were computed."""
    from tui_desk.services.board import CHEAP_SECTIONS

    with db.read() as s:
        tokens = {
            str(section): token
            for section, token in s.execute(
                select(BoardSnapshot.section, BoardSnapshot.feed_token).where(
                    BoardSnapshot.section.in_(CHEAP_SECTIONS)
                )
            )
        }
    if len(tokens) < len(CHEAP_SECTIONS) or not all(tokens.values()):
        return None
    cursor = min(ChangeCursor.from_token(str(t)) for t in tokens.values())
    return cursor.xact_id, cursor.id


def watcher_main(spec: WatcherSpec, ready: Any, go: Any, stop: Any) -> None:
    """Entry point of one supervisor process: poll the board's version, read it on change."""
    from tui_desk.services import board

    path = Path(spec.journal)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"kind": "start", "pid": spec.pid}) + "\n")
        out.flush()
        db = open_database(spec.url)
        profile = harness_profile()
        count = 0
        try:
            try:
                board.board_version(db)
            except NotImplementedError:
                out.write(json.dumps({"kind": "note", "pid": spec.pid, "text": "no board"}) + "\n")
                ready.put(spec.pid)
                return
            ready.put(spec.pid)
            go.wait(600)
            last = -1
            while not stop.is_set():
                version = board.board_version(db)
                if version != last:
                    # The position first: the board read after it is at least as new.
                    position = _feed_position(db)
                    shown = board.read_board(db, utcnow(), profile)
                    seen = time.time()
                    last = version
                    if position is not None:
                        count += 1
                        item = Observation(spec.pid, seen, int(shown.version), *position)
                        out.write(json.dumps({"kind": "seen", **asdict(item)}) + "\n")
                        out.flush()
                stop.wait(spec.poll_ms / 1000.0)
        finally:
            db.dispose()
        out.write(json.dumps({"kind": "end", "pid": spec.pid, "steps": count}) + "\n")
        out.flush()


def latencies(
    ops: Sequence[Op], seen: Sequence[Observation], stopped: float
) -> tuple[list[float], int]:
    """Board latency of every applied write (see the module docstring); and how many
    writes committed early enough but were never covered by an observed snapshot."""
    by_watcher: dict[int, list[Observation]] = defaultdict(list)
    for item in seen:
        by_watcher[item.watcher].append(item)
    # Per watcher: observation times in order and the running maximum feed position.
    tracks: list[tuple[list[tuple[int, int]], list[float]]] = []
    for items in by_watcher.values():
        items.sort(key=lambda o: o.t)
        positions: list[tuple[int, int]] = []
        times: list[float] = []
        best = (-1, -1)
        for item in items:
            best = max(best, (item.feed_xact, item.feed_id))
            positions.append(best)
            times.append(item.t)
        tracks.append((positions, times))
    out: list[float] = []
    unseen = 0
    for op in ops:
        if (
            not op.applied
            or op.audit_id is None
            or PRIMARY_ACTION[op.op] not in LATENCY_ACTIONS
            or op.t1 > stopped - UNSEEN_GRACE_SECONDS
        ):
            continue
        event = (op.audit_xact or 0, op.audit_id)
        first: float | None = None
        for positions, times in tracks:
            i = bisect.bisect_left(positions, event)
            if i < len(times) and (first is None or times[i] < first):
                first = times[i]
        if first is None:
            unseen += 1
        else:
            out.append(max(0.0, first - op.t1))
    return out, unseen


# --- orchestration ------------------------------------------------------------------------


@dataclass
class Report:
    engine: str
    operators: int
    supervisors: int
    seconds: float
    cases: int
    ops: dict[str, dict[str, int]]  # kind -> result -> count
    violations: dict[str, list[str]]
    throughput_ops: float
    throughput_writes: float
    latency_p50: float | None
    latency_p95: float | None
    latency_samples: int
    latency_unseen: int
    watchers: int
    refusals: dict[str, int]  # the most common refusal messages (their class and start)
    folder: str

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())

    def violation_counts(self) -> dict[str, int]:
        return {name: len(self.violations.get(name, [])) for name in CHECKS}

    def table(self) -> str:
        lines = [
            f"engine {self.engine}: {self.operators} operator processes, "
            f"{self.supervisors} supervisor watchers, {self.seconds:.0f} s, {self.cases} cases",
            f"{'operation':<16}{'applied':>9}{'refused':>9}{'busy':>7}{'error':>7}",
        ]
        for kind in OP_KINDS:
            row = self.ops.get(kind, {})
            lines.append(
                f"{kind:<16}{row.get('applied', 0):>9}{row.get('refused', 0):>9}"
                f"{row.get('busy', 0):>7}{row.get('error', 0):>7}"
            )
        total = {r: sum(v.get(r, 0) for v in self.ops.values()) for r in ("applied", "refused", "busy", "error")}  # fmt: skip
        lines.append(
            f"{'total':<16}{total['applied']:>9}{total['refused']:>9}{total['busy']:>7}"
            f"{total['error']:>7}"
        )
        lines.append(
            "violations: "
            + ", ".join(f"{name} {count}" for name, count in self.violation_counts().items())
        )
        lines.append(
            f"throughput: {self.throughput_ops:.0f} ops/s, {self.throughput_writes:.0f} "
            "applied writes/s"
        )
        if self.latency_p50 is None or self.latency_p95 is None:
            lines.append(f"board latency: n/a ({self.watchers} watchers)")
        else:
            lines.append(
                f"board latency: p50 {self.latency_p50 * 1000:.0f} ms, "
                f"p95 {self.latency_p95 * 1000:.0f} ms over {self.latency_samples} writes "
                f"({self.latency_unseen} unseen), {self.watchers} watchers"
            )
        if self.refusals:
            lines.append("most common refusals:")
            lines += [f"  {n:>6}  {text}" for text, n in self.refusals.items()]
        for name, found in self.violations.items():
            for text in found[:5]:
                lines.append(f"VIOLATION {name}: {text}")
            if len(found) > 5:
                lines.append(f"VIOLATION {name}: ... and {len(found) - 5} more")
        return "\n".join(lines)


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def _gather(queue: Any, want: int, processes: Sequence[Any], limit: float) -> None:
    got = 0
    deadline = time.monotonic() + limit
    while got < want:
        try:
            queue.get(timeout=0.2)
            got += 1
            continue
        except Empty:
            pass
        dead = [p.exitcode for p in processes if p.exitcode is not None]
        if dead:
            raise RuntimeError(f"a process died while starting (exit codes {dead})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {got} of {want} processes ready after {limit:.0f} s")


def _start_worker(url: str, folder: Path) -> Any:
    import subprocess

    log = (folder / "worker.log").open("w", encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "tui_desk", "worker", "--db", url],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=str(Path(__file__).resolve().parents[1]),
    )


def run_harness(
    url: str,
    *,
    operators: int,
    supervisors: int = 0,
    seconds: float = 10.0,
    cases: int = 2000,
    seed: int = 7,
    think_ms: float = 0.0,
    lease_minutes: int | None = None,
    poll_ms: float = 150.0,
    folder: Path | None = None,
    with_worker: bool = True,
    tour: bool = False,
    desk_nice: int = 0,
) -> Report:
    """Seed the (migrated, otherwise unused) database at ``url``, run the operators and
    watchers, check everything; the report. Journals go to ``folder`` (default: a new
    temporary folder, kept). ``tour``: each operator first makes one operation of every
    kind, so a short run still covers the whole mix."""
    folder = folder or Path(tempfile.mkdtemp(prefix="tui-desk-load-"))
    folder.mkdir(parents=True, exist_ok=True)
    profile = harness_profile(lease_minutes)
    db = open_database(url)
    try:
        upgrade(db)
        world = build_world(
            db, operators=operators, supervisors=supervisors, cases=cases, seed=seed,
            profile=profile, now=utcnow(),
        )  # fmt: skip
        contested = [f"agreement:{a}" for _c, a in world.agreements]
        contested += [f"plans:{c}" for c in world.plan_cases]
        counts_before = record_counts(db, contested)
        engine = "postgresql" if db.is_postgresql else "sqlite"
    finally:
        db.dispose()

    ctx = multiprocessing.get_context("spawn")
    ready, go, stop = ctx.Queue(), ctx.Event(), ctx.Event()
    watch = supervisors
    procs: list[tuple[Any, str, int]] = []
    worker = _start_worker(url, folder) if with_worker else None
    for i, actor in enumerate(world.operators):
        spec = OperatorSpec(
            pid=i, url=url, actor=actor, world=world, journal=str(folder / f"op{i:02d}.jsonl"),
            seconds=seconds, think_ms=think_ms, seed=seed, lease_minutes=lease_minutes,
            tour=tour, nice=desk_nice,
        )  # fmt: skip
        procs.append((ctx.Process(target=operator_main, args=(spec, ready, go)), "operator", i))
    for j in range(watch):
        wspec = WatcherSpec(
            pid=1000 + j, url=url, journal=str(folder / f"sup{j:02d}.jsonl"), poll_ms=poll_ms
        )
        procs.append(
            (ctx.Process(target=watcher_main, args=(wspec, ready, go, stop)), "watcher", 1000 + j)
        )
    ends: list[ProcessEnd] = []
    started = stopped = 0.0
    try:
        for process, _role, _pid in procs:
            process.start()
        _gather(ready, len(procs), [p for p, _r, _i in procs], 120 + 3 * len(procs))
        started = time.time()
        go.set()
        operator_procs = [p for p, role, _i in procs if role == "operator"]
        for process in operator_procs:
            process.join(seconds + 120)
        stopped = time.time()
        stop.set()
        for process, _role, _pid in procs:
            process.join(30)
            if process.is_alive():
                process.kill()
                process.join(5)
    finally:
        go.set()
        stop.set()
        worker_note = ""
        if worker is not None:
            worker.terminate()
            try:
                code = worker.wait(30)
            except Exception:
                worker.kill()
                code = worker.wait(5)
            worker_note = f"worker exit {code}"
    for process, role, pid in procs:
        ends.append(ProcessEnd(pid, role, process.exitcode, False))
    if worker is not None:
        ends.append(ProcessEnd(-1, "worker", worker.returncode, True, worker_note))

    db = open_database(url)
    try:
        agents = frozenset(a.id for a in world.operators)
        evidence, seen = load_evidence(db, folder, ends, agents, counts_before, profile)
    finally:
        db.dispose()
    violations = check(evidence)
    table: dict[str, dict[str, int]] = {k: {} for k in OP_KINDS}
    refusals: Counter[str] = Counter()
    for op in evidence.ops:
        row = table.setdefault(op.op, {})
        row[op.result] = row.get(op.result, 0) + 1
        if op.result in ("refused", "busy"):
            refusals[f"{op.op}: {op.message[:90]}"] += 1
    window = max(1e-6, (max((o.t1 for o in evidence.ops), default=started) - started))
    applied_writes = sum(1 for o in evidence.ops if o.applied and o.op in WRITES)
    lat, unseen = latencies(evidence.ops, seen, stopped)
    return Report(
        engine=engine,
        operators=operators,
        supervisors=supervisors,
        seconds=seconds,
        cases=cases,
        ops=table,
        violations=violations,
        throughput_ops=len(evidence.ops) / window,
        throughput_writes=applied_writes / window,
        latency_p50=_percentile(lat, 50) if lat else None,
        latency_p95=_percentile(lat, 95) if lat else None,
        latency_samples=len(lat),
        latency_unseen=unseen,
        watchers=watch,
        refusals=dict(refusals.most_common(8)),
        folder=str(folder),
    )


# --- fresh databases ----------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(engine: str, pg_admin_url: str, folder: Path) -> Iterator[str]:
    """A new empty database for one run (SQLite file in ``folder``, or a PostgreSQL
    database created now and dropped afterwards); its URL."""
    if engine == "sqlite":
        yield f"sqlite:///{folder / 'desk.db'}"
        return
    name = f"tdload_{uuid.uuid4().hex[:10]}"
    admin = make_url(pg_admin_url).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0".encode())
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else "")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", metavar="URL", help="an existing database to use (not dropped)")
    where.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--operators", type=int, default=20)
    parser.add_argument("--supervisors", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--think-ms", type=float, default=0.0)
    parser.add_argument("--lease-minutes", type=int, default=None)
    parser.add_argument("--poll-ms", type=float, default=150.0)
    parser.add_argument("--no-worker", action="store_true", help="do not run the worker")
    parser.add_argument(
        "--desk-nice",
        type=int,
        default=0,
        help="run the operator processes this much nicer than the worker (as the worker's "
        "service unit does with Nice=-5 on a host shared with desks)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the journals folder")
    parser.add_argument("--json", action="store_true", help="also print the report as JSON")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="tui-desk-load-"))
    with contextlib.ExitStack() as stack:
        url = args.db or stack.enter_context(fresh_database(args.engine, args.pg_admin_url, folder))
        report = run_harness(
            url, operators=args.operators, supervisors=args.supervisors, seconds=args.seconds,
            cases=args.cases, seed=args.seed, think_ms=args.think_ms,
            lease_minutes=args.lease_minutes, poll_ms=args.poll_ms, folder=folder / "journals",
            with_worker=not args.no_worker, desk_nice=args.desk_nice,
        )  # fmt: skip
    print(report.table())
    if args.json:
        print(json.dumps({**asdict(report), "violation_counts": report.violation_counts()}))
    if args.keep:
        print(f"journals kept in {folder}")
    else:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
