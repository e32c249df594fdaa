"""`tui-desk check`: a fresh seed is consistent; each kind of corruption is named (both engines)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tui_desk import cli
from tui_desk.cli.parser import CHECK_NAMES
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Agreement,
    AgreementStatus,
    AgreementVersion,
    CaseStatus,
    CollectionCase,
    FollowUp,
    PlanInstalment,
    PlanStatus,
    RepaymentPlan,
    VisitReport,
)
from tui_desk.demo.seeder import seed_database
from tui_desk.rules.profile import load_profile
from tui_desk.services import ledger
from tui_desk.services.agreements import open_agreement
from tui_desk.services.consistency import CHECKS, CheckReport, run_checks

NOW = dt.datetime(2025, 3, 14, 6, 30, tzinfo=dt.UTC)
CASES = 300
PROFILE = load_profile("cn")


def _problems(report: CheckReport) -> dict[str, set[int | None]]:
    return {r.check: {p.case_id for p in r.problems} for r in report.results}


def _run(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_the_command_and_the_service_name_the_same_checks() -> None:
    assert tuple(CHECKS) == CHECK_NAMES


def test_a_fresh_seed_is_consistent_and_every_agreement_opens(db: Database) -> None:
    seed_database(db, cases=CASES, seed=7, now=NOW)
    report = run_checks(db, now=NOW, profile=PROFILE)
    assert report.clean, [p.message for r in report.results for p in r.problems]
    assert [r.check for r in report.results] == list(CHECKS)
    with db.read() as s:
        agreements = list(s.execute(select(Agreement.id, Agreement.status)))
    assert any(status is AgreementStatus.SIGNED for _id, status in agreements)
    for agreement_id, status in agreements:
        record = open_agreement(db, agreement_id)  # the desk's `A`: parses the stored text
        assert record.content.clauses
        assert record.hash_ok is (True if status is AgreementStatus.SIGNED else None)


def test_the_ledger_has_nothing_to_change_on_a_fresh_seed(db: Database) -> None:
    seed_database(db, cases=CASES, seed=7, now=NOW)
    with db.read() as s:  # rolled back: only whether the ledger would change anything
        cases = list(
            s.scalars(
                select(CollectionCase)
                .join(RepaymentPlan, RepaymentPlan.case_id == CollectionCase.id)
                .where(
                    RepaymentPlan.status == PlanStatus.ACTIVE,
                    CollectionCase.status == CaseStatus.OPEN,
                )
                .order_by(CollectionCase.id)
            )
        )
        assert cases
        for case in cases:
            before = (case.stage, case.broken_promises)
            result = ledger.recompute(s, case, NOW, PROFILE)
            assert result is not None and not result, (case.id, result)
            assert (case.stage, case.broken_promises) == before
    # The worker's ledger_figures job keeps the stored arrears the ledger's: on a fresh
    # seed it has nothing to correct, and after it runs the check is still clean.
    with db.read() as s:
        assert ledger.ledger_case_ids(s, 0, 10_000), "the seed has cases with a ledger"
    assert ledger.sync_stored_figures(db, NOW).corrected == 0
    report = run_checks(db, now=NOW, profile=PROFILE, only=["balance"])
    assert report.clean, [p.message for r in report.results for p in r.problems]


def test_the_balance_check_reads_the_ledger_as_the_worker_does(db: Database) -> None:
    """A case with payments owes the bank's overdue less what was paid: the check and the
    worker's job agree on that figure, and the check names a stored figure that differs."""
    seed_database(db, cases=CASES, seed=7, now=NOW)
    with db.write() as s:
        case_id = ledger.ledger_case_ids(s, 0, 1)[0]
        s.execute(
            text("UPDATE collection_case SET overdue_minor = overdue_minor + 7 WHERE id = :id"),
            {"id": case_id},
        )
    report = run_checks(db, now=NOW, profile=PROFILE, only=["balance"])
    assert _problems(report)["balance"] == {case_id}
    assert "ledger" in report.results[0].problems[0].message
    assert ledger.sync_stored_figures(db, NOW).corrected == 1
    assert run_checks(db, now=NOW, profile=PROFILE, only=["balance"]).clean


def test_each_corruption_is_named(db: Database) -> None:
    seed_database(db, cases=CASES, seed=7, now=NOW)
    expected: dict[str, set[int]] = {name: set() for name in CHECKS}
    with db.write() as s:
        open_ids = list(
            s.scalars(
                select(CollectionCase.id)
                .where(CollectionCase.status == CaseStatus.OPEN)
                .order_by(CollectionCase.id)
            )
        )
        # balance: arrears that are not the accounts' sum; an instalment the ledger disowns.
        s.execute(
            text("UPDATE collection_case SET overdue_minor = overdue_minor + 1 WHERE id = :id"),
            {"id": open_ids[0]},
        )
        expected["balance"].add(open_ids[0])
        line_id, plan_case = s.execute(
            select(PlanInstalment.id, RepaymentPlan.case_id)
            .join(RepaymentPlan, RepaymentPlan.id == PlanInstalment.plan_id)
            .where(RepaymentPlan.status == PlanStatus.ACTIVE, PlanInstalment.paid_minor == 0)
            .order_by(PlanInstalment.id)
            .limit(1)
        ).one()
        s.execute(text("UPDATE plan_instalment SET paid_minor = 1 WHERE id = :id"), {"id": line_id})
        expected["balance"].add(plan_case)
        # balance: back under follow-up while an instalment is missed.
        missed_case = s.scalar(
            select(RepaymentPlan.case_id)
            .join(PlanInstalment, PlanInstalment.plan_id == RepaymentPlan.id)
            .where(RepaymentPlan.status == PlanStatus.ACTIVE, PlanInstalment.status == "missed")
            .order_by(RepaymentPlan.case_id)
            .limit(1)
        )
        assert missed_case is not None
        s.execute(
            text("UPDATE collection_case SET stage = 'follow_up' WHERE id = :id"),
            {"id": missed_case},
        )
        expected["balance"].add(missed_case)
        # agreement: a signed text changed after signing; a text the desk cannot open.
        signed = list(
            s.execute(
                select(Agreement.id, Agreement.case_id)
                .where(Agreement.status == AgreementStatus.SIGNED)
                .order_by(Agreement.id)
                .limit(2)
            )
        )
        (tampered, tampered_case), (plain, plain_case) = signed
        content = s.scalar(
            select(AgreementVersion.content).where(AgreementVersion.agreement_id == tampered)
        )
        assert content is not None
        s.execute(
            text("UPDATE agreement_version SET content = :c WHERE agreement_id = :id"),
            {"c": content.replace("合计", "合 计", 1), "id": tampered},
        )
        s.execute(
            text("UPDATE agreement_version SET content = :c WHERE agreement_id = :id"),
            {"c": "个人贷款逾期还款协议\n协议编号：X", "id": plain},
        )
        expected["agreement"] |= {tampered_case, plain_case}
        # lease: held by an agent who left; a holder without an expiry; too long a lease.
        agent_id = s.scalar(select(Agent.id).where(Agent.role == "operator").order_by(Agent.id))
        s.execute(text("UPDATE agent SET active = :f WHERE id = :id"), {"f": False, "id": agent_id})
        until = NOW + dt.timedelta(minutes=5)
        s.execute(
            text(
                "UPDATE collection_case SET lease_holder_id = :a, lease_expires_at = :u "
                "WHERE id = :id"
            ),
            {"a": agent_id, "u": until if db.is_postgresql else until.replace(tzinfo=None),
             "id": open_ids[1]},
        )  # fmt: skip
        s.execute(
            text("UPDATE collection_case SET lease_holder_id = :a WHERE id = :id"),
            {"a": agent_id, "id": open_ids[2]},
        )
        expected["lease"] |= {open_ids[1], open_ids[2]}
        # hold: marked on hold with no hold record.
        unheld = s.scalar(
            select(CollectionCase.id)
            .where(CollectionCase.status == CaseStatus.OPEN, CollectionCase.on_hold.is_(False))
            .where(~CollectionCase.holds.any())
            .order_by(CollectionCase.id.desc())
            .limit(1)
        )
        assert unheld is not None
        s.execute(
            text("UPDATE collection_case SET on_hold = :t WHERE id = :id"),
            {"t": True, "id": unheld},
        )
        expected["hold"].add(unheld)
        # orphan: an open case lost its next action.
        s.execute(
            text("UPDATE collection_case SET next_action_at = NULL WHERE id = :id"),
            {"id": open_ids[3]},
        )
        expected["orphan"].add(open_ids[3])
        # follow_up: the chain of an active agreement cancelled.
        agreement_id, followed_case = s.execute(
            select(Agreement.id, Agreement.case_id)
            .join(RepaymentPlan, RepaymentPlan.id == Agreement.plan_id)
            .join(CollectionCase, CollectionCase.id == Agreement.case_id)
            .where(
                Agreement.status == AgreementStatus.SIGNED,
                RepaymentPlan.status == PlanStatus.ACTIVE,
                CollectionCase.status == CaseStatus.OPEN,
                Agreement.id.not_in((tampered, plain)),
            )
            .order_by(Agreement.id)
            .limit(1)
        ).one()
        first = s.scalar(
            select(FollowUp.id)
            .where(FollowUp.agreement_id == agreement_id)
            .order_by(FollowUp.due_on)
            .limit(1)
        )
        s.execute(text("UPDATE follow_up SET status = 'cancelled' WHERE id = :id"), {"id": first})
        expected["follow_up"].add(followed_case)
        # door money: money reported collected on a visit weeks ago that no payment matches.
        report_id, door_case = s.execute(
            select(VisitReport.id, VisitReport.case_id)
            .where(VisitReport.created_at < NOW - dt.timedelta(days=10))
            .order_by(VisitReport.id)
            .limit(1)
        ).one()
        s.execute(
            text(
                "UPDATE visit_report SET collected_minor = 123456, reconciled_payment_id = NULL "
                "WHERE id = :id"
            ),
            {"id": report_id},
        )
        expected["door_money"].add(door_case)

    report = run_checks(db, now=NOW, profile=PROFILE, limit=1000)
    found = _problems(report)
    for name, cases in expected.items():
        assert cases <= found[name], (name, cases, found[name])
    assert not report.clean
    lease_text = " ".join(p.message for r in report.results for p in r.problems)
    assert "no longer active" in lease_text and "without an expiry" in lease_text
    assert "does not match the signed hash" in lease_text
    assert "cannot open" not in lease_text or "not an agreement document" in lease_text
    # One check at a time names only its own.
    only = run_checks(db, now=NOW, profile=PROFILE, only=["orphan"])
    assert [r.check for r in only.results] == ["orphan"]
    assert _problems(only)["orphan"] == {open_ids[3]}


def test_the_command_exit_status_and_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert _run(["--db", url, "db", "upgrade"]) == 0
    assert _run(["--db", url, "seed", "--cases", "200"]) == 0
    capsys.readouterr()
    assert _run(["--db", url, "check"]) == 0
    out = capsys.readouterr().out
    assert "consistent" in out and "balance" in out
    db_path = tmp_path / "c.db"
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "UPDATE collection_case SET next_action_at = NULL "
            "WHERE id IN (SELECT id FROM collection_case WHERE status = 'open' LIMIT 3)"
        )
    assert _run(["--db", url, "check", "--limit", "2"]) == 1
    out = capsys.readouterr().out
    assert "!! orphan" in out and "(3 problems)" in out and "and 1 more" in out
    assert "has no next action" in out
    assert _run(["--db", url, "check", "--only", "lease"]) == 0
    assert _run(["--db", url, "check", "--only", "nonsense"]) == 2
    assert _run(["--db", url, "check", "--limit", "0"]) == 2
    capsys.readouterr()
    assert _run(["--db", url, "--lang", "zh_CN", "check", "--only", "orphan"]) == 1
    out = capsys.readouterr().out
    assert "没有下一步" in out
