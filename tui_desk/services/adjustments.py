"""Adjustments of the active repayment plan (PROCESS.md step 8).

A hardship request (suspend interest, extend the term, a grace period; one request may
bundle several) is stored with the schedule before and after (``details``) and takes
effect only when a supervisor approves it: the old plan is superseded by a new ACTIVE
plan carrying the remaining balance on the new schedule, and the ledger settles it at
once. A rejection changes nothing. Nobody decides their own request; one request may be
open per plan.

Early settlement: a borrower who paid well (the profile's rule) is offered to settle
everything now with a share of the interest ahead waived. Accepting it records the
reward as its own adjustment (kind ``early_settlement``): approved at once when within
the rule, otherwise waiting for a supervisor. Once approved, the plan is superseded by a
one-line settlement plan (the amount, due within the profile's days), the reward booked
as its ``waiver_minor``.

The remaining balance is the plan settled with the payments dated *before* today: the
new plan is drafted today, and the ledger gives it the payments dated from today on, so
no payment counts on both plans.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Adjustment,
    AdjustmentKind,
    Agent,
    ApprovalStatus,
    CollectionCase,
    Frequency,
    GraceMode,
    InstalmentStatus,
    Payment,
    PlanInstalment,
    PlanKind,
    PlanStatus,
    RepaymentPlan,
)
from tui_desk.i18n import _
from tui_desk.rules.adjustments import (
    AdjustmentError,
    Changes,
    Comparison,
    Eligibility,
    Quote,
    Remaining,
    SettlementLine,
    SettlementPolicy,
    compare,
    reschedule,
    schedule_of,
    settlement_eligibility,
    settlement_figures,
)
from tui_desk.rules.permissions import Action
from tui_desk.rules.plans import (
    GRACE_NONE,
    INTEREST_FREE,
    REGULAR,
    Instalment,
    PlanLimits,
    Schedule,
    due_dates,
    from_minor,
    to_minor,
)
from tui_desk.rules.profile import Profile
from tui_desk.services import audit, ledger
from tui_desk.services.case_state import load_for_edit, office_today
from tui_desk.services.contacts import resolve_now
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, PermissionDenied, RuleRefused, ServiceError
from tui_desk.services.plans import activate_plan, plan_limits
from tui_desk.services.validation import (
    check_changes,
    check_id,
    check_required_text,
    check_text,
)
from tui_desk.views.adjustments import PendingAdjustment

MAX_REASON = 500


class AdjustmentRefused(RuleRefused):
    """The adjustment breaks one or more rules; ``problems`` lists them."""

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


def settlement_policy(profile: Profile) -> SettlementPolicy:
    return SettlementPolicy.from_section(profile.section("plans"))


# --- the plan as it stands ----------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """The active plan settled with the payments before today."""

    plan_id: int
    case_id: int
    currency: str
    today: dt.date
    remaining: Remaining
    before: Schedule | None
    """The unpaid part of each line still open (None when nothing is left)."""
    lines: tuple[SettlementLine, ...]
    paid_today_minor: int
    """Payments dated today: they count on the new plan."""


def _standing(
    session: Session, case: CollectionCase, now: dt.datetime, profile: Profile
) -> Standing:
    plan = ledger.active_plan(session, case.id)
    if plan is None:
        raise AdjustmentRefused([_("the case has no active repayment plan to adjust")])
    today = office_today(now, profile)
    grace = ledger.missed_after_days(profile)
    rows = list(
        session.scalars(
            select(PlanInstalment)
            .where(PlanInstalment.plan_id == plan.id)
            .order_by(PlanInstalment.due_on, PlanInstalment.seq)
        )
    )
    drafted_on = plan.created_at.astimezone(ZoneInfo(profile.office_timezone)).date()
    payments: list[ledger.PaidFacts] = []
    paid_today = 0
    for paid_on, amount in session.execute(
        select(Payment.paid_on, Payment.amount_minor)
        .where(Payment.case_id == case.id, Payment.paid_on >= drafted_on)
        .order_by(Payment.paid_on, Payment.id)
    ):
        if paid_on < today:
            payments.append(ledger.PaidFacts(paid_on, amount))
        else:
            paid_today += amount
    states = ledger.settle_lines(
        [ledger.LineFacts(r.seq, r.due_on, r.amount_minor) for r in rows], payments, today, grace
    )
    lines = tuple(
        SettlementLine(
            due_on=r.due_on,
            principal=from_minor(r.principal_minor),
            interest=from_minor(r.interest_minor),
            paid=from_minor(st.paid_minor),
            missed=st.status is InstalmentStatus.MISSED,
            paid_on_time=st.in_time(r.due_on, grace),
        )
        for r, st in zip(rows, states, strict=True)
    )
    left = [(r, li) for r, li in zip(rows, lines, strict=True) if not li.settled]
    owed = [(r, li) for r, li in left if li.amount > 0]
    balance = sum((li.unpaid_principal for _r, li in owed), Decimal("0.00")) + sum(
        (li.unpaid_interest for _r, li in owed if li.due_on < today), Decimal("0.00")
    )
    ahead = [li for r, li in left if r.seq > 0 and li.due_on >= today]
    frequency = plan.frequency.value
    next_due = ahead[0].due_on if ahead else due_dates(today, frequency, 2)[1]
    count = max(1, len(ahead))
    before = (
        schedule_of(
            plan.kind.value,
            frequency,
            [
                Instalment(
                    r.seq,
                    li.due_on,
                    li.unpaid_principal,
                    li.unpaid_interest,
                    li.unpaid_principal + li.unpaid_interest,
                    Decimal("0.00"),
                    REGULAR,
                )
                for r, li in owed
            ],
            balance,
        )
        if owed
        else None
    )
    remaining = Remaining(
        kind=plan.kind.value,
        frequency=frequency,
        annual_rate=Decimal(plan.annual_rate),
        balance=balance,
        instalments=count,
        next_due=next_due,
        elapsed=max(0, plan.instalments - count),
    )
    return Standing(
        plan_id=plan.id,
        case_id=case.id,
        currency=profile.currency,
        today=today,
        remaining=remaining,
        before=before,
        lines=lines,
        paid_today_minor=paid_today,
    )


# --- the request ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdjustmentBasis:
    """What the adjustment form computes from (read once; the preview is pure)."""

    case_id: int
    plan_id: int
    currency: str
    remaining: Remaining
    before: Schedule | None
    limits: PlanLimits
    pending_id: int | None
    """An open request on the plan (a second one is refused)."""

    def preview(self, changes: Changes) -> tuple[Schedule | None, tuple[str, ...]]:
        """The new schedule, or the problems; pure."""
        try:
            return reschedule(self.remaining, changes, self.limits), ()
        except AdjustmentError as exc:
            return None, exc.problems


def _pending_on(session: Session, plan_id: int) -> Adjustment | None:
    return session.scalars(
        select(Adjustment)
        .where(Adjustment.plan_id == plan_id, Adjustment.status == ApprovalStatus.REQUESTED)
        .limit(1)
    ).first()


def adjustment_basis(
    db: Database, case_id: int, *, now: dt.datetime, profile: Profile
) -> AdjustmentBasis:
    now = resolve_now(now)
    prof = profile
    with db.read() as s:
        case = s.get(CollectionCase, case_id)
        if case is None:
            raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
        st = _standing(s, case, now, prof)
        pending = _pending_on(s, st.plan_id)
        return AdjustmentBasis(
            case_id=case_id,
            plan_id=st.plan_id,
            currency=st.currency,
            remaining=st.remaining,
            before=st.before,
            limits=plan_limits(prof),
            pending_id=pending.id if pending else None,
        )


def _remaining_dict(remaining: Remaining) -> dict[str, Any]:
    return {
        "balance_minor": to_minor(remaining.balance),
        "instalments": remaining.instalments,
        "next_due": remaining.next_due.isoformat(),
        "elapsed": remaining.elapsed,
        "kind": remaining.kind,
        "frequency": remaining.frequency,
        "annual_rate": str(remaining.annual_rate),
    }


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ServiceError(_("give the reason for the adjustment"))
    if len(text) > MAX_REASON:
        raise ServiceError(_("a reason has at most {n} characters").format(n=MAX_REASON))
    return text


def request_adjustment(ctx: Context, case_id: int, changes: Changes, reason: str) -> int:
    """Ask for a hardship adjustment of the case's active plan; returns its id.

    The schedule before and after is stored with the request; nothing changes until a
    supervisor approves it."""
    check_id("case_id", case_id)
    check_changes(changes)
    check_required_text("reason", reason, MAX_REASON, multiline=True)
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    text = _reason(reason)
    with ctx.db.write() as s:
        case = load_for_edit(s, case_id, ctx=ctx)
        st = _standing(s, case, now, prof)
        if _pending_on(s, st.plan_id) is not None:
            raise AdjustmentRefused(
                [_("an adjustment of this plan is already awaiting a supervisor's decision")]
            )
        try:
            after = reschedule(st.remaining, changes, plan_limits(prof))
        except AdjustmentError as exc:
            raise AdjustmentRefused(exc.problems) from None
        assert st.before is not None  # a balance to reschedule means open lines
        comparison = compare(st.before, after)
        details: dict[str, Any] = {
            "changes": changes.as_dict(),
            "remaining": _remaining_dict(st.remaining),
            **comparison.as_dict(),
        }
        row = Adjustment(
            case_id=case.id,
            plan_id=st.plan_id,
            kinds=",".join(changes.kinds),
            details=details,
            reason=text,
            status=ApprovalStatus.REQUESTED,
            requested_by_id=ctx.actor.id,
            requested_at=now,
        )
        s.add(row)
        s.flush()
        audit.record(
            s,
            ctx.actor,
            "adjustment.request",
            "adjustment",
            row.id,
            f"{ctx.actor.login} asked to adjust plan {st.plan_id} on case {case.id}: {row.kinds}",
            now=now,
            case_id=case.id,
            after={"kinds": row.kinds, "reason": text, **details},
        )
        return row.id


# --- the decision -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    adjustment_id: int
    status: str
    new_plan_id: int | None


def _new_plan(
    session: Session,
    case: CollectionCase,
    old: RepaymentPlan,
    schedule: Schedule,
    *,
    kind: str,
    annual_rate: Decimal,
    grace_periods: int,
    grace_mode: str,
    waiver_minor: int,
    actor: Actor,
    now: dt.datetime,
    profile: Profile,
) -> RepaymentPlan:
    plan = RepaymentPlan(
        case_id=case.id,
        kind=PlanKind(kind),
        frequency=Frequency(old.frequency.value),
        principal_minor=to_minor(schedule.financed),
        annual_rate=annual_rate if kind != INTEREST_FREE else Decimal(0),
        instalments=schedule.count,
        down_payment_minor=0,
        waiver_minor=waiver_minor,
        grace_periods=grace_periods,
        grace_mode=GraceMode(grace_mode),
        first_due_on=schedule.first_due,
        status=PlanStatus.DRAFT,
        created_by_id=actor.id,
        created_at=now,
        approved_by_id=actor.id,
    )
    session.add(plan)
    session.flush()
    session.add_all(
        PlanInstalment(
            plan_id=plan.id,
            seq=line.seq,
            due_on=line.due_on,
            principal_minor=to_minor(line.principal),
            interest_minor=to_minor(line.interest),
            amount_minor=to_minor(line.amount),
            paid_minor=0,
            status=InstalmentStatus.DUE,
        )
        for line in schedule.lines
    )
    session.flush()
    activate_plan(session, plan, now, profile=profile, actor=actor)
    return plan


def _settlement_schedule(quote: Quote, frequency: str) -> Schedule:
    interest = quote.interest_due + quote.interest_ahead - quote.reward
    line = Instalment(
        1, quote.settle_by, quote.principal, interest, quote.amount, Decimal("0.00"), REGULAR
    )
    return schedule_of(INTEREST_FREE, frequency, [line], quote.amount)


def _apply(
    session: Session,
    case: CollectionCase,
    row: Adjustment,
    actor: Actor,
    now: dt.datetime,
    profile: Profile,
) -> tuple[RepaymentPlan, dict[str, Any]]:
    """Put an approved adjustment into effect; the figures as applied."""
    st = _standing(session, case, now, profile)
    if st.plan_id != row.plan_id:
        raise AdjustmentRefused(
            [_("the plan changed since the request: it no longer applies; reject it")]
        )
    old = session.get(RepaymentPlan, st.plan_id)
    assert old is not None
    if row.kinds == AdjustmentKind.EARLY_SETTLEMENT.value:
        quote = settlement_figures(st.lines, st.today, settlement_policy(profile))
        if quote.lines_left == 0:
            raise AdjustmentRefused([_("the plan is paid: there is nothing left to settle")])
        schedule = _settlement_schedule(quote, st.remaining.frequency)
        plan = _new_plan(
            session, case, old, schedule, kind=INTEREST_FREE, annual_rate=Decimal(0),
            grace_periods=0, grace_mode=GRACE_NONE, waiver_minor=to_minor(quote.reward),
            actor=actor, now=now, profile=profile,
        )  # fmt: skip
        return plan, {"new_plan_id": plan.id, **_quote_dict(quote)}
    changes = Changes.from_dict(row.details.get("changes", {}))
    try:
        after = reschedule(st.remaining, changes, plan_limits(profile))
    except AdjustmentError as exc:
        raise AdjustmentRefused(exc.problems) from None
    assert st.before is not None
    plan = _new_plan(
        session, case, old, after, kind=st.remaining.kind, annual_rate=st.remaining.annual_rate,
        grace_periods=changes.grace_periods, grace_mode=changes.grace_mode, waiver_minor=0,
        actor=actor, now=now, profile=profile,
    )  # fmt: skip
    return plan, {"new_plan_id": plan.id, **compare(st.before, after).as_dict()}


def decide_adjustment(
    ctx: Context, adjustment_id: int, approve: bool, note: str | None = None
) -> Decision:
    """Approve (the new plan takes effect) or reject (nothing changes) a request."""
    ctx.actor.require(Action.APPROVE_ADJUSTMENT)
    now = ctx.now()
    prof = ctx.profile
    text = (note or "").strip() or None
    if text is not None and len(text) > MAX_REASON:
        raise ServiceError(_("a note has at most {n} characters").format(n=MAX_REASON))
    if not approve and text is None:
        raise ServiceError(_("say why the adjustment is rejected"))
    with ctx.db.read() as s:
        found = s.get(Adjustment, adjustment_id)
        if found is None:
            raise NotFound(_("adjustment {id} does not exist").format(id=adjustment_id))
        case_id = found.case_id
    with ctx.db.write() as s:
        case = load_for_edit(s, case_id)
        row = s.get(Adjustment, adjustment_id, populate_existing=True)
        assert row is not None
        if row.status is not ApprovalStatus.REQUESTED:
            raise AdjustmentRefused(
                [_("adjustment {id} is already {status}").format(id=row.id, status=row.status)]
            )
        if row.requested_by_id == ctx.actor.id:
            raise PermissionDenied(_("nobody may decide their own adjustment request"))
        applied: dict[str, Any] = {}
        new_plan_id: int | None = None
        if approve:
            plan, applied = _apply(s, case, row, ctx.actor, now, prof)
            new_plan_id = plan.id
        row.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
        row.decided_by_id = ctx.actor.id
        row.decided_at = now
        row.decision_note = text
        if applied:
            row.details = {**row.details, "applied": applied}
        audit.record(
            s,
            ctx.actor,
            "adjustment.approve" if approve else "adjustment.reject",
            "adjustment",
            row.id,
            f"{ctx.actor.login} {'approved' if approve else 'rejected'} adjustment {row.id}"
            f" ({row.kinds}) on case {case.id}",
            now=now,
            case_id=case.id,
            before={"status": ApprovalStatus.REQUESTED.value, "plan_id": row.plan_id},
            after={"status": row.status.value, "note": text, **applied},
        )
        return Decision(row.id, row.status.value, new_plan_id)


# --- the supervisors' list ----------------------------------------------------------------------


def _pending_of(row: Adjustment, name: str) -> PendingAdjustment:
    details = row.details or {}
    comparison = (
        Comparison.from_dict(details) if "before" in details and "after" in details else None
    )
    changes_raw = details.get("changes")
    reward = details.get("reward_minor")
    return PendingAdjustment(
        adjustment_id=row.id,
        case_id=row.case_id,
        plan_id=row.plan_id,
        kinds=tuple(k for k in row.kinds.split(",") if k),
        reason=row.reason,
        requested_by_id=row.requested_by_id,
        requested_by=name,
        requested_at=row.requested_at,
        changes=Changes.from_dict(changes_raw) if isinstance(changes_raw, dict) else None,
        comparison=comparison,
        reward_minor=int(reward) if reward is not None else None,
    )


def pending_adjustments(
    db: Database, *, case_id: int | None = None, limit: int = 200
) -> list[PendingAdjustment]:
    """Requests awaiting a supervisor, oldest first (of one case with ``case_id``)."""
    with db.read() as s:
        stmt = (
            select(Adjustment, Agent.name)
            .join(Agent, Agent.id == Adjustment.requested_by_id)
            .where(Adjustment.status == ApprovalStatus.REQUESTED)
            .order_by(Adjustment.requested_at, Adjustment.id)
            .limit(limit)
        )
        if case_id is not None:
            stmt = stmt.where(Adjustment.case_id == case_id)
        return [_pending_of(row, name) for row, name in s.execute(stmt)]


def with_terms(
    db: Database, rows: list[PendingAdjustment], *, now: dt.datetime, profile: Profile
) -> list[PendingAdjustment]:
    """The requests, each with its before and after: a request stored without them (one
    filed by an import or the demo seed) gets them from the plan as it stands, which is
    what an approval would apply. One that no longer applies is left without."""
    now = resolve_now(now)
    out: list[PendingAdjustment] = []
    with db.read() as s:
        for row in rows:
            if row.comparison is not None or row.changes is None or not row.changes.kinds:
                out.append(row)
                continue
            case = s.get(CollectionCase, row.case_id)
            try:
                if case is None:
                    raise AdjustmentRefused([])
                st = _standing(s, case, now, profile)
                if st.plan_id != row.plan_id or st.before is None:
                    raise AdjustmentRefused([])
                after = reschedule(st.remaining, row.changes, plan_limits(profile))
            except (AdjustmentRefused, AdjustmentError):
                out.append(row)
                continue
            out.append(replace(row, comparison=compare(st.before, after)))
    return out


# --- early settlement ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SettlementOffer:
    case_id: int
    plan_id: int
    currency: str
    eligibility: Eligibility
    quote: Quote
    """The figures (the reward is what the rule gives; offered only when eligible)."""
    paid_today_minor: int

    @property
    def eligible(self) -> bool:
        return self.eligibility.eligible

    @property
    def reason(self) -> str | None:
        return self.eligibility.reason


def _quote_dict(quote: Quote) -> dict[str, Any]:
    return {
        "on_time": quote.on_time,
        "lines_left": quote.lines_left,
        "principal_minor": to_minor(quote.principal),
        "interest_due_minor": to_minor(quote.interest_due),
        "interest_ahead_minor": to_minor(quote.interest_ahead),
        "reward_minor": to_minor(quote.reward),
        "amount_minor": to_minor(quote.amount),
        "settle_by": quote.settle_by.isoformat(),
    }


def early_settlement(
    db: Database, case_id: int, *, now: dt.datetime, profile: Profile
) -> SettlementOffer:
    """The early-settlement offer of the case's active plan (a read)."""
    now = resolve_now(now)
    prof = profile
    policy = settlement_policy(prof)
    with db.read() as s:
        case = s.get(CollectionCase, case_id)
        if case is None:
            raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
        st = _standing(s, case, now, prof)
    return SettlementOffer(
        case_id=case_id,
        plan_id=st.plan_id,
        currency=st.currency,
        eligibility=settlement_eligibility(st.lines, policy),
        quote=settlement_figures(st.lines, st.today, policy),
        paid_today_minor=st.paid_today_minor,
    )


def accept_early_settlement(ctx: Context, case_id: int, reason: str = "") -> Decision:
    """The borrower settles early: the reward is recorded as its own adjustment.

    Within the profile's rule it is approved at once and the settlement plan takes
    effect; otherwise it waits for a supervisor (``decide_adjustment``) with a reason."""
    check_id("case_id", case_id)
    check_text("reason", reason, MAX_REASON, multiline=True)
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    policy = settlement_policy(prof)
    with ctx.db.write() as s:
        case = load_for_edit(s, case_id, ctx=ctx)
        st = _standing(s, case, now, prof)
        if _pending_on(s, st.plan_id) is not None:
            raise AdjustmentRefused(
                [_("an adjustment of this plan is already awaiting a supervisor's decision")]
            )
        eligibility = settlement_eligibility(st.lines, policy)
        quote = settlement_figures(st.lines, st.today, policy)
        if quote.lines_left == 0:
            raise AdjustmentRefused([_("the plan is paid: there is nothing left to settle")])
        text = (reason or "").strip()
        if not eligibility.eligible and not text:
            raise AdjustmentRefused(
                [
                    eligibility.reason or "",
                    _("outside the rule a supervisor decides: give the reason"),
                ]
            )
        if len(text) > MAX_REASON:
            raise ServiceError(_("a reason has at most {n} characters").format(n=MAX_REASON))
        details: dict[str, Any] = {
            **_quote_dict(quote),
            "within_rule": eligibility.eligible,
            "rule": {
                "min_on_time": policy.min_on_time,
                "reward_rate": str(policy.reward_rate),
                "reward_cap_minor": (
                    to_minor(policy.reward_cap) if policy.reward_cap is not None else None
                ),
            },
        }
        row = Adjustment(
            case_id=case.id,
            plan_id=st.plan_id,
            kinds=AdjustmentKind.EARLY_SETTLEMENT.value,
            details=details,
            reason=text or _("early settlement within the profile's rule"),
            status=ApprovalStatus.REQUESTED,
            requested_by_id=ctx.actor.id,
            requested_at=now,
        )
        s.add(row)
        s.flush()
        new_plan_id: int | None = None
        applied: dict[str, Any] = {}
        if eligibility.eligible:
            plan, applied = _apply(s, case, row, ctx.actor, now, prof)
            new_plan_id = plan.id
            row.status = ApprovalStatus.APPROVED
            row.decided_at = now
            row.decision_note = "within the profile's rule (approved automatically)"
            row.details = {**details, "applied": applied}
        audit.record(
            s,
            ctx.actor,
            "adjustment.early_settlement",
            "adjustment",
            row.id,
            f"{ctx.actor.login} recorded an early settlement on case {case.id}"
            + (" (within the rule)" if eligibility.eligible else " (awaiting a supervisor)"),
            now=now,
            case_id=case.id,
            after={"status": row.status.value, **details, **applied},
        )
        return Decision(row.id, row.status.value, new_plan_id)
