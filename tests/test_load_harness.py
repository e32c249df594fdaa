"""Proof under load, small: a few operator processes on one database per engine, then the
load harness's checks (bench/load_harness.py). Invariants only, never times.

The checker itself is tested on fabricated journals, so each check is known to fail when
its promise is broken.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load_harness import (
    CHECKS,
    OP_KINDS,
    AuditRow,
    Evidence,
    Op,
    ProcessEnd,
    Report,
    VisitRow,
    check,
    run_harness,
)
from tests.conftest import _pg_admin, _pg_dsn, make_sqlite_db

# Small enough for CI on two cores (each engine well under 40 s), big enough that every
# kind of operation happens and leases, slots and versions are contended.
PROCESSES = {"sqlite": 4, "postgresql": 6}
SECONDS = 3.0
CASES = 800


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def report(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Report]:
    """One harness run per engine on a freshly migrated database (shared by the tests)."""
    name: str | None = None
    folder = tmp_path_factory.mktemp(f"load-{request.param}")
    if request.param == "sqlite":
        db = make_sqlite_db(request.getfixturevalue("sqlite_template"), folder)
        url = db.url.render_as_string(hide_password=False)
        db.dispose()
    else:
        template = request.getfixturevalue("pg_template")
        name = f"tdt_{uuid.uuid4().hex[:12]}"
        _pg_admin(f"CREATE DATABASE {name} TEMPLATE {template}")
        url = _pg_dsn(name)
    try:
        yield run_harness(
            url, operators=PROCESSES[request.param], supervisors=0, seconds=SECONDS,
            cases=CASES, seed=11, folder=folder / "journals", tour=True,
        )  # fmt: skip
    finally:
        if name is not None:
            _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.slow
def test_every_process_finished_and_every_kind_of_operation_happened(report: Report) -> None:
    assert report.violations["processes"] == []
    done = {kind: sum(report.ops.get(kind, {}).values()) for kind in OP_KINDS}
    assert all(done.values()), done
    # Writes that cannot all be refused: each operator's first try at them is uncontested
    # or wins its race.
    applied = {
        kind: report.ops.get(kind, {}).get("applied", 0)
        for kind in ("take_next", "log_contact", "record_payment", "claim", "edit_agreement")
    }
    assert all(applied.values()), applied


@pytest.mark.slow
@pytest.mark.parametrize("name", [c for c in CHECKS if c != "lost_updates"])
def test_no_violation(report: Report, name: str) -> None:
    assert report.violations[name] == [], "\n".join(report.violations[name][:10])


@pytest.mark.slow
def test_no_lost_update(report: Report) -> None:
    assert report.violations["lost_updates"] == [], "\n".join(
        report.violations["lost_updates"][:10]
    )


# --- the checker can fail --------------------------------------------------------------------

T0 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
A, B = 101, 102


def _at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _op(
    pid: int,
    agent: int,
    op: str,
    case: int | None,
    at: float,
    *,
    result: str = "applied",
    message: str = "",
    ref: int | None = None,
    audit_id: int | None = None,
    target: str | None = None,
    base: int | None = None,
) -> Op:
    lease_until = _at(at + 900).isoformat() if op in ("take_next", "claim", "renew") else None
    return Op(
        pid=pid, agent_id=agent, op=op, case_id=case, t0=_at(at).timestamp(),
        t1=_at(at + 0.01).timestamp(), now=_at(at).isoformat(), result=result,
        message=message, target=target, base=base, ref=ref, lease_until=lease_until,
        audit_id=audit_id,
    )  # fmt: skip


def _event(
    event_id: int, agent: int, action: str, case: int | None, at: float, until: float | None = None
) -> AuditRow:
    after = {"lease_expires_at": _at(until).isoformat()} if until is not None else None
    return AuditRow(event_id, 0, agent, action, case, _at(at), after)


def _visit(visit_id: int, case: int, borrower: int, collector: int, start: dt.datetime) -> VisitRow:
    return VisitRow(
        visit_id, case, borrower, collector, start, start + dt.timedelta(hours=1), False
    )


def _clean() -> Evidence:
    """A run that kept every promise: A works case 7 and releases it, then B takes it."""
    ops = [
        _op(0, A, "claim", 7, 0, ref=7, audit_id=1),
        _op(0, A, "log_contact", 7, 1, audit_id=2),
        _op(0, A, "release", 7, 2, audit_id=3),
        _op(1, B, "claim", 7, 3, ref=7, audit_id=4),
        _op(1, B, "claim", 8, 4, result="refused", message="LeaseHeld: case 8 is being worked"),
        _op(0, A, "edit_agreement", 9, 5, audit_id=5, target="agreement:3", base=1),
        _op(1, B, "edit_agreement", 9, 6, result="refused", message="StaleEdit: reload",
            target="agreement:3", base=1),
    ]  # fmt: skip
    audit = [
        _event(1, A, "case.claim", 7, 0, until=900),
        _event(2, A, "contact.log", 7, 1),
        _event(3, A, "case.release", 7, 2),
        _event(4, B, "case.claim", 7, 3, until=903),
        _event(5, A, "agreement.version", 9, 5),
    ]
    day = dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC)
    visits = [
        _visit(1, 7, 70, 5, day),
        _visit(2, 8, 80, 5, day + dt.timedelta(hours=1)),  # touching, not overlapping
        _visit(3, 7, 70, 6, day + dt.timedelta(days=3)),  # three days later: allowed
    ]
    processes = [ProcessEnd(0, "operator", 0, True), ProcessEnd(1, "operator", 0, True)]
    return Evidence(
        ops=ops, audit=audit, visits=visits, processes=processes, agents=frozenset({A, B}),
        contested={"agreement:3": (1, 1)},
    )  # fmt: skip


def test_a_clean_run_has_no_violation() -> None:
    assert check(_clean()) == {name: [] for name in CHECKS}


def test_a_case_held_by_two_agents_is_found() -> None:
    evidence = _clean()
    # B claims case 7 while A still holds it (A never released it).
    evidence.ops = [o for o in evidence.ops if o.op != "release"]
    evidence.audit = [e for e in evidence.audit if e.action != "case.release"]
    found = check(evidence)
    assert len(found["leases"]) == 2  # from the audit trail and from the journals
    assert "while agent 101 held it" in found["leases"][0]
    assert "both held it" in found["leases"][1]


def test_overlapping_visits_and_close_visits_are_found() -> None:
    evidence = _clean()
    day = evidence.visits[0].starts_at
    evidence.visits += [
        _visit(4, 9, 90, 5, day + dt.timedelta(minutes=30)),  # collector 5 is elsewhere
        _visit(5, 7, 70, 7, day + dt.timedelta(days=1)),  # borrower 70 again a day later
    ]
    found = check(evidence)
    assert len(found["overlaps"]) == 2  # visit 4 overlaps visits 1 and 2
    assert "visits 1 and 4 overlap" in found["overlaps"][0]
    assert found["spacing"] == [
        "borrower 70: visits 1 and 5 are 1 day(s) apart (at least 3)",
        "borrower 70: visits 5 and 3 are 2 day(s) apart (at least 3)",
    ]


def test_a_write_without_its_audit_event_is_found() -> None:
    evidence = _clean()
    evidence.audit = [e for e in evidence.audit if e.action != "contact.log"]
    found = check(evidence)["audit"]
    assert any("log_contact" in line and "without its contact.log" in line for line in found)
    assert any("contact.log: 1 applied in the journals, 0 audit events" in line for line in found)


def test_an_event_without_an_applied_operation_is_found() -> None:
    evidence = _clean()
    evidence.audit.append(_event(6, B, "payment.record", 8, 4))  # the refused claim's moment
    found = check(evidence)["audit"]
    assert any("was refused but wrote payment.record" in line for line in found)
    evidence.audit[-1] = _event(6, B, "payment.record", 8, 42)
    found = check(evidence)["audit"]
    assert any("no applied operation in its journal" in line for line in found)


def test_lost_updates_and_silent_refusals_are_found() -> None:
    evidence = _clean()
    # B's edit from version 1 applied too, and the version moved only once.
    evidence.ops[-1] = _op(1, B, "edit_agreement", 9, 6, audit_id=6, target="agreement:3", base=1)
    evidence.audit.append(_event(6, B, "agreement.version", 9, 6))
    evidence.contested = {"agreement:3": (2, 1)}
    evidence.ops.append(_op(1, B, "claim", 8, 7, result="refused", message=" "))
    found = check(evidence)["lost_updates"]
    assert len(found) == 3
    assert "2 edits applied from the same version 1" in found[0]
    assert "its version moved only 1" in found[1]
    assert "refused without a message" in found[2]


def test_crashes_and_missing_end_markers_are_found() -> None:
    evidence = _clean()
    evidence.processes = [ProcessEnd(0, "operator", 1, True), ProcessEnd(1, "operator", 0, False)]
    evidence.ops.append(
        _op(1, B, "renew", 7, 8, result="error", message="Traceback...\nKeyError: 'x'")
    )
    found = check(evidence)["processes"]
    assert len(found) == 3
    assert "exited with 1" in found[0]
    assert "without its end marker" in found[1]
    assert "KeyError" in found[2]


def test_journal_folder_is_read_back(tmp_path: Path) -> None:
    """What a process writes is what the checker reads (ops, markers, observations)."""
    import json
    from dataclasses import asdict

    from bench.load_harness import Observation, read_journals

    op = _op(0, A, "claim", 7, 0, ref=7, audit_id=1)
    seen = Observation(1000, 1.5, 3, 0, 12)
    lines = [
        {"kind": "start", "pid": 0},
        {"kind": "op", **asdict(op)},
        {"kind": "end", "pid": 0, "steps": 1},
        {"kind": "start", "pid": 1},
        {"kind": "seen", **asdict(seen)},
    ]
    (tmp_path / "op00.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    ops, ended, observed = read_journals(tmp_path)
    assert ops == [op]
    assert ended == {0: True, 1: False}
    assert observed == [seen]
