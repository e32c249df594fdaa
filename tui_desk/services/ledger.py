"""The payment ledger of a repayment plan: what is paid, what is missed, where the case stands.

Nothing here keeps a balance by hand. The state of the active plan's instalments is
recomputed from the ``payment`` rows every time: the payments of the case dated on or
after the day the plan was drafted (office zone), oldest first, fill the instalments in
due order. An instalment is

- ``paid`` when its share reaches its amount,
- ``missed`` when it is not paid and its due date is more than ``[plans]
  missed_after_days`` (default 5) before the office's today,
- ``partial`` when something is paid, ``due`` otherwise.

A plan whose every instalment is paid is ``completed``.

The case follows (PROCESS.md step 7): under a signed agreement, an active plan with no
missed instalment keeps the case in ``follow_up``, out of the contact queue. A missed
instalment sends it back: stage ``contacting``, next action now, one more broken promise
per missed instalment (counted once: only a line *becoming* missed counts, so a second
recompute changes nothing). Catching up returns it to ``follow_up``. A payment recorded
late but dated in time un-misses the line and takes the broken promise back, as the
promise ledger does.

The case's balance (outstanding, overdue, credit, next due) is one computation over the
same ledger, ``read_balance`` (the pure part is ``rules/balance.py``): the case detail,
the plan summary, the archive check and the payment check read it, and ``recompute``
stores what the queue and the board sort and sum by (``collection_case.overdue_minor``,
the priority) on every write that changes the ledger.

``recompute`` runs inside the caller's transaction (payment recording, plan activation,
the worker); the caller holds the case row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, select, text
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    AccountStatus,
    Agreement,
    AgreementStatus,
    CaseStatus,
    CollectionCase,
    CreditMove,
    InstalmentStatus,
    LoanAccount,
    Payment,
    PaymentChannel,
    PlanInstalment,
    PlanStatus,
    RepaymentPlan,
    Stage,
    VisitReport,
)
from tui_desk.rules.allocation import Owed, allocation_order
from tui_desk.rules.balance import (
    Balance,
    LineFacts,
    LineState,
    PaidFacts,
    PlanFacts,
    case_balance,
    settle_lines,
)
from tui_desk.rules.balance import (
    CreditMove as CreditMoveFacts,
)
from tui_desk.rules.profile import Profile, load_profile
from tui_desk.services import audit
from tui_desk.services.case_state import office_today, recompute_priority
from tui_desk.services.jobs import JobFunction, job_write, resume_point, save_progress

DEFAULT_PROFILE = "cn"
DEFAULT_MISSED_AFTER_DAYS = 5
# Instalments fall due at office midnight, like promises: checked on the same cadence.
MISSED_INSTALMENTS_EVERY = dt.timedelta(minutes=15)
# Each batch holds the write lock while it recomputes (~3 ms a case on SQLite at 1M
# cases): 100 cases keep desk writes waiting no more than a few tenths of a second.
DEFAULT_BATCH_CASES = 100
_AUDIT_ID_LIMIT = 1000


def missed_after_days(profile: Profile) -> int:
    """Days after its due date an unpaid instalment counts as missed (profile ``[plans]``)."""
    value = profile.section("plans").get("missed_after_days", DEFAULT_MISSED_AFTER_DAYS)
    return max(0, int(str(value)))


# The allocation is pure and lives with the balance (rules/balance.py); these names stay
# here for the callers that settle a plan inside a transaction.
__all__ = ["LineFacts", "LineState", "PaidFacts", "settle_lines"]


# --- recompute inside a transaction -----------------------------------------------------------


@dataclass
class LedgerResult:
    plan_id: int
    newly_missed: list[int] = field(default_factory=list)  # instalment seqs
    restored: list[int] = field(default_factory=list)  # missed lines paid in time after all
    completed: bool = False
    stage_before: Stage | None = None
    stage_after: Stage | None = None
    changed_lines: int = 0

    @property
    def case_changed(self) -> bool:
        return bool(self.newly_missed or self.restored or self.stage_before != self.stage_after)

    def __bool__(self) -> bool:
        return bool(self.changed_lines or self.completed or self.case_changed)


def active_plan(session: Session, case_id: int) -> RepaymentPlan | None:
    return session.scalars(
        select(RepaymentPlan)
        .where(RepaymentPlan.case_id == case_id, RepaymentPlan.status == PlanStatus.ACTIVE)
        .order_by(RepaymentPlan.id.desc())
        .limit(1)
    ).first()


def _signed(session: Session, plan: RepaymentPlan) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Agreement.plan_id == plan.id, Agreement.status == AgreementStatus.SIGNED
                )
            )
        )
    )


def plan_in_force(session: Session, case_id: int) -> RepaymentPlan | None:
    """The plan the balance follows: the active plan, else the last completed one."""
    return (
        active_plan(session, case_id)
        or session.scalars(
            select(RepaymentPlan)
            .where(RepaymentPlan.case_id == case_id, RepaymentPlan.status == PlanStatus.COMPLETED)
            .order_by(RepaymentPlan.id.desc())
            .limit(1)
        ).first()
    )


def drafted_on(plan: RepaymentPlan, profile: Profile) -> dt.date:
    """The office day the plan was drafted: payments from this day on count on it."""
    return plan.created_at.astimezone(ZoneInfo(profile.office_timezone)).date()


@dataclass(frozen=True)
class CaseLedger:
    """A case's balance with the rows it was computed from."""

    balance: Balance
    plan: RepaymentPlan | None
    lines: tuple[PlanInstalment, ...]
    """The plan's instalment rows, in the order of ``balance.lines``."""


def read_ledger(session: Session, case_id: int, now: dt.datetime, profile: Profile) -> CaseLedger:
    """The case's balance from its ledger, read in the caller's session."""
    accounts = session.scalars(
        select(LoanAccount).where(LoanAccount.case_id == case_id).order_by(LoanAccount.id)
    ).all()
    owed = [
        Owed(a.id, component, amount)
        for a in accounts
        for component, amount in (
            ("fees", a.outstanding_fees_minor),
            ("penalty", a.outstanding_penalty_minor),
            ("interest", a.outstanding_interest_minor),
            ("principal", a.outstanding_principal_minor),
        )
    ]
    # As the importer reads the bank's figures: only accounts in arrears are overdue.
    overdue = sum(a.overdue_minor for a in accounts if a.status is AccountStatus.OVERDUE)
    payments = [
        PaidFacts(paid_on, amount)
        for paid_on, amount in session.execute(
            select(Payment.paid_on, Payment.amount_minor)
            .where(Payment.case_id == case_id)
            .order_by(Payment.paid_on, Payment.id)
        )
    ]
    moves = [
        CreditMoveFacts(kind, moved_on, amount)
        for kind, moved_on, amount in session.execute(
            select(CreditMove.kind, CreditMove.moved_on, CreditMove.amount_minor)
            .where(CreditMove.case_id == case_id)
            .order_by(CreditMove.id)
        )
    ]
    plan = plan_in_force(session, case_id)
    lines: tuple[PlanInstalment, ...] = ()
    facts: PlanFacts | None = None
    if plan is not None:
        lines = tuple(
            session.scalars(
                select(PlanInstalment)
                .where(PlanInstalment.plan_id == plan.id)
                .order_by(PlanInstalment.due_on, PlanInstalment.seq)
            )
        )
        facts = PlanFacts(
            drafted_on(plan, profile),
            tuple(LineFacts(li.seq, li.due_on, li.amount_minor) for li in lines),
        )
    order = allocation_order(profile.section("plans"))
    owed = [o for o in owed if o.component in order]
    balance = case_balance(
        owed,
        overdue,
        order,
        payments,
        facts,
        moves,
        office_today(now, profile),
        missed_after_days(profile),
    )
    return CaseLedger(balance=balance, plan=plan, lines=lines)


def read_balance(session: Session, case_id: int, now: dt.datetime, profile: Profile) -> Balance:
    return read_ledger(session, case_id, now, profile).balance


def recompute(
    session: Session, case: CollectionCase, now: dt.datetime, profile: Profile
) -> LedgerResult | None:
    """Settle the case from its ledger: the active plan's lines, the case's stage, and the
    stored figures the queue and board read (overdue, priority).

    None when the case has no active plan (the stored figures are still brought in line).
    Runs in the caller's transaction. Door collections of the case are reconciled first
    (``reconcile_door_collections``).
    """
    reconcile_door_collections(session, case, now, profile)
    session.flush()
    found = read_ledger(session, case.id, now, profile)
    overdue_changed = case.overdue_minor != found.balance.overdue_minor
    if overdue_changed:
        case.overdue_minor = found.balance.overdue_minor
    plan = found.plan
    if plan is None or plan.status is not PlanStatus.ACTIVE:
        if overdue_changed:
            recompute_priority(case, now, profile)
        return None
    grace = missed_after_days(profile)
    states = found.balance.lines
    result = LedgerResult(plan_id=plan.id, stage_before=case.stage)
    for line, state in zip(found.lines, states, strict=True):
        before = line.status
        if before is not InstalmentStatus.MISSED and state.status is InstalmentStatus.MISSED:
            result.newly_missed.append(line.seq)
        elif (
            before is InstalmentStatus.MISSED
            and state.status is InstalmentStatus.PAID
            and state.in_time(line.due_on, grace)
        ):
            result.restored.append(line.seq)
        if line.paid_minor != state.paid_minor or line.status is not state.status:
            line.paid_minor = state.paid_minor
            line.status = state.status
            result.changed_lines += 1

    if all(s.status is InstalmentStatus.PAID for s in states):
        plan.status = PlanStatus.COMPLETED
        result.completed = True
    if result.newly_missed:
        case.broken_promises += len(result.newly_missed)
        case.next_action_at = now
    if result.restored:
        case.broken_promises = max(0, case.broken_promises - len(result.restored))
    missed_now = any(s.status is InstalmentStatus.MISSED for s in states)
    if missed_now:
        if result.newly_missed or case.stage is Stage.FOLLOW_UP:
            # Back to the contact queue: someone has to call about the missed money.
            case.stage = Stage.CONTACTING
            if case.next_action_at is None or case.next_action_at > now:
                case.next_action_at = now
    elif _signed(session, plan):
        case.stage = Stage.FOLLOW_UP
    result.stage_after = case.stage
    if result.case_changed or overdue_changed:
        recompute_priority(case, now, profile)
    return result


# --- door money: reconciliation --------------------------------------------------------------


def reconcile_door_collections(
    session: Session, case: CollectionCase, now: dt.datetime, profile: Profile
) -> list[tuple[int, int]]:
    """Match the case's unreconciled door collections to bank payments; (report, payment).

    A visit report's money (``collected_minor`` > 0, not yet reconciled) is matched by a
    payment of the case of the same amount, dated on or after the report's day (office
    zone) or recorded on the "door" channel, that matches no other report. Reports are
    matched oldest first, each to the oldest payment that fits. Runs in the caller's
    transaction (the caller holds the case row) and audits its own event.
    """
    reports = list(
        session.scalars(
            select(VisitReport)
            .where(
                VisitReport.case_id == case.id,
                VisitReport.collected_minor > 0,
                VisitReport.reconciled_payment_id.is_(None),
            )
            .order_by(VisitReport.created_at, VisitReport.id)
        )
    )
    if not reports:
        return []
    used = select(VisitReport.reconciled_payment_id).where(
        VisitReport.case_id == case.id, VisitReport.reconciled_payment_id.is_not(None)
    )
    candidates = list(
        session.execute(
            select(Payment.id, Payment.amount_minor, Payment.paid_on, Payment.channel)
            .where(
                Payment.case_id == case.id,
                Payment.amount_minor.in_({r.collected_minor for r in reports}),
                Payment.id.not_in(used),
            )
            .order_by(Payment.paid_on, Payment.id)
        )
    )
    zone = ZoneInfo(profile.office_timezone)
    taken: set[int] = set()
    matched: list[tuple[int, int]] = []
    for report in reports:
        day = report.created_at.astimezone(zone).date()
        for pay_id, amount, paid_on, channel in candidates:
            if pay_id in taken or amount != report.collected_minor:
                continue
            if paid_on >= day or channel is PaymentChannel.DOOR:
                taken.add(pay_id)
                report.reconciled_payment_id = pay_id
                matched.append((report.id, pay_id))
                break
    if matched:
        audit.record(
            session,
            None,
            "visit.reconcile",
            "visit_report",
            matched[0][0] if len(matched) == 1 else None,
            f"{len(matched)} door collection(s) on case {case.id} matched by bank payments",
            now=now,
            case_id=case.id,
            after={"matches": [{"report_id": r, "payment_id": p} for r, p in matched]},
        )
    return matched


# --- the worker's pass ---------------------------------------------------------------------


@dataclass(frozen=True)
class MissedInstalmentsResult:
    cutoff: dt.date
    cases: int
    missed: int

    def summary(self) -> str:
        return (
            f"instalments due before {self.cutoff.isoformat()}: {self.missed} missed "
            f"on {self.cases} cases"
        )


def unpaid_case_ids(session: Session, cutoff: dt.date, after_id: int, limit: int) -> list[int]:
    """Cases whose active plan has an unpaid line due before ``cutoff``, by case id.

    Driven by ``ix_plan_instalment_unpaid_due``: unpaid lines only, so a small range
    (the ledger marks each line paid or missed, which takes it out of the index). The
    keyset term is written ``case_id + 0`` so that no planner walks the plans by case id
    testing each one instead. The candidates are few; sorting them costs nothing.
    """
    stmt = (
        select(RepaymentPlan.case_id)
        .select_from(PlanInstalment)
        .join(RepaymentPlan, RepaymentPlan.id == PlanInstalment.plan_id)
        .where(
            # Spelled exactly like the index's predicate, so both planners prove it.
            text("(plan_instalment.status = 'due' OR plan_instalment.status = 'partial')"),
            PlanInstalment.due_on < cutoff,
            RepaymentPlan.status == PlanStatus.ACTIVE,
            RepaymentPlan.case_id + 0 > after_id,
        )
        .group_by(RepaymentPlan.case_id)
        .order_by(RepaymentPlan.case_id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def settle_missed_instalments(
    db: Database,
    now: dt.datetime,
    *,
    profile: str = DEFAULT_PROFILE,
    batch_size: int = DEFAULT_BATCH_CASES,
) -> MissedInstalmentsResult:
    """Recompute every case whose active plan has a line past its grace and unpaid; each
    batch of cases is one transaction with one audit event."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    prof = load_profile(profile)
    now = now.astimezone(dt.UTC)
    cutoff = office_today(now, prof) - dt.timedelta(days=missed_after_days(prof))
    # Resumed after a crash: from the last batch committed, with the counts so far.
    resumed = resume_point() or {}
    cases, missed = int(resumed.get("cases", 0)), int(resumed.get("missed", 0))
    after_id = int(resumed.get("after_id", 0))
    while True:
        with job_write(db) as s:
            ids = unpaid_case_ids(s, cutoff, after_id, batch_size)
            if not ids:
                break
            after_id = ids[-1]
            stmt = select(CollectionCase).where(CollectionCase.id.in_(ids))
            if s.get_bind().dialect.name == "postgresql":
                stmt = stmt.order_by(CollectionCase.id).with_for_update()
            touched: list[int] = []
            missed_here = 0
            for case in s.scalars(stmt):
                if case.status != CaseStatus.OPEN:
                    continue  # archived since the ids were read
                result = recompute(s, case, now, prof)
                if result:
                    touched.append(case.id)
                    missed_here += len(result.newly_missed)
            if touched:
                audit.record(
                    s,
                    None,
                    "plan.missed_instalments",
                    "repayment_plan",
                    None,
                    f"{missed_here} instalments missed on {len(touched)} cases "
                    f"(due before {cutoff.isoformat()})",
                    now=now,
                    after={
                        "profile": profile,
                        "cutoff": cutoff.isoformat(),
                        "missed": missed_here,
                        "cases": len(touched),
                        "case_ids": touched[:_AUDIT_ID_LIMIT],
                    },
                )
            cases += len(touched)
            missed += missed_here
            save_progress(s, {"after_id": after_id, "cases": cases, "missed": missed})
        if len(ids) < batch_size:
            break
    return MissedInstalmentsResult(cutoff=cutoff, cases=cases, missed=missed)


def missed_instalments_job(profile: str = DEFAULT_PROFILE) -> JobFunction:
    """The worker's job function for the deployment's policy profile."""
    load_profile(profile)  # an unknown profile fails at worker start, not at the first run

    def run(db: Database, now: dt.datetime) -> str:
        return settle_missed_instalments(db, now, profile=profile).summary()

    return run


# --- the stored figures kept true -------------------------------------------------------------

# Every write that changes a ledger stores the case's figures; this pass brings back in line
# what was written otherwise (an older version, a bulk load, the importer's refresh).
LEDGER_FIGURES_EVERY = dt.timedelta(hours=6)
DEFAULT_FIGURES_BATCH = 500


@dataclass(frozen=True)
class FiguresResult:
    scanned: int
    corrected: int

    def summary(self) -> str:
        return f"stored figures of {self.scanned} cases checked, {self.corrected} corrected"


def has_ledger() -> ColumnElement[bool]:
    """A case has something in its ledger beyond the bank's figures (payments, credit
    moves, a plan in force); without it its overdue figure is the accounts' own."""
    return (
        exists().where(Payment.case_id == CollectionCase.id)
        | exists().where(CreditMove.case_id == CollectionCase.id)
        | exists().where(
            RepaymentPlan.case_id == CollectionCase.id,
            RepaymentPlan.status.in_((PlanStatus.ACTIVE, PlanStatus.COMPLETED)),
        )
    )


def ledger_case_ids(session: Session, after_id: int, limit: int) -> list[int]:
    """Open cases with something in their ledger beyond the bank's figures, by id."""
    return list(
        session.scalars(
            select(CollectionCase.id)
            .where(
                CollectionCase.id > after_id,
                CollectionCase.status == CaseStatus.OPEN,
                has_ledger(),
            )
            .order_by(CollectionCase.id)
            .limit(limit)
        )
    )


def stored_figure_mismatches(
    session: Session, case_ids: Sequence[int], now: dt.datetime, profile: Profile
) -> list[tuple[int, int, int]]:
    """(case, stored overdue, the ledger's overdue) for each of ``case_ids`` that differ."""
    return [
        (case_id, stored, computed)
        for case_id, stored in session.execute(
            select(CollectionCase.id, CollectionCase.overdue_minor)
            .where(CollectionCase.id.in_(case_ids))
            .order_by(CollectionCase.id)
        )
        if (computed := read_balance(session, case_id, now, profile).overdue_minor) != stored
    ]


def sync_stored_figures(
    db: Database,
    now: dt.datetime,
    *,
    profile: str = DEFAULT_PROFILE,
    batch_size: int = DEFAULT_FIGURES_BATCH,
) -> FiguresResult:
    """Compare each case's stored overdue figure with its ledger (read only) and recompute
    the cases that differ, one transaction and one audit event per batch."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    prof = load_profile(profile)
    now = now.astimezone(dt.UTC)
    scanned = corrected = 0
    after_id = 0
    while True:
        with db.read() as s:
            ids = ledger_case_ids(s, after_id, batch_size)
            wrong = [case_id for case_id, _s, _c in stored_figure_mismatches(s, ids, now, prof)]
        if not ids:
            break
        after_id = ids[-1]
        scanned += len(ids)
        if wrong:
            with job_write(db) as s:
                stmt = select(CollectionCase).where(CollectionCase.id.in_(wrong))
                if s.get_bind().dialect.name == "postgresql":
                    stmt = stmt.order_by(CollectionCase.id).with_for_update()
                fixed: list[int] = []
                for case in s.scalars(stmt):
                    if case.status != CaseStatus.OPEN:
                        continue
                    before = case.overdue_minor
                    recompute(s, case, now, prof)
                    if case.overdue_minor != before:
                        fixed.append(case.id)
                if fixed:
                    audit.record(
                        s, None, "ledger.figures", "collection_case", None,
                        f"stored overdue of {len(fixed)} cases brought in line with the ledger",
                        now=now,
                        after={"profile": profile, "cases": len(fixed),
                               "case_ids": fixed[:_AUDIT_ID_LIMIT]},
                    )  # fmt: skip
                corrected += len(fixed)
        if len(ids) < batch_size:
            break
    return FiguresResult(scanned=scanned, corrected=corrected)


def ledger_figures_job(profile: str = DEFAULT_PROFILE) -> JobFunction:
    """The worker's job function for the deployment's policy profile."""
    load_profile(profile)

    def run(db: Database, now: dt.datetime) -> str:
        return sync_stored_figures(db, now, profile=profile).summary()

    return run
