"""Repayment plans (PROCESS.md step 5): what a plan can cover, its preview and its draft.

A plan is drafted on a case from its *basis*: the accounts' outstanding components, the
overdue charges (interest, penalty, fees), the monthly amount the borrower can afford
(from the latest visit report) and the profile's limits. The schedule itself is the pure
calculator's (``rules.plans``); this module adds what needs the database:

- ``plan_basis`` reads the basis; ``check`` is pure and answers a request against a basis
  (the desk's form calls it on every keystroke, never the database);
- ``create_plan`` writes a DRAFT plan with its instalment rows in minor units, supersedes
  an older draft, and refuses an instalment above the borrower's means unless a
  supervisor approves it with a reason (PROCESS.md step 10: a borrower must not be
  pushed to promise more than they can pay);
- ``activate_plan`` is called by the agreement service inside its own transaction when
  the agreement is signed: the plan becomes the case's one ACTIVE plan and the ledger
  settles it at once.

Stored figures: ``repayment_plan.principal_minor`` is what the instalments repay before
plan interest (the financed balance, as the agreement shows it); the waiver is booked on
the plan (``waiver_minor``) and in the audit event, there being no ledger table for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    AccountStatus,
    Agent,
    CollectionCase,
    Frequency,
    GraceMode,
    InstalmentStatus,
    LoanAccount,
    PlanInstalment,
    PlanKind,
    PlanStatus,
    RepaymentPlan,
    Stage,
    VisitReport,
)
from tui_desk.formatting import amount
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.rules.plans import (
    ANNUITY,
    MONTHLY,
    PlanError,
    PlanLimits,
    PlanRequest,
    Schedule,
    affordability_problem,
    build_schedule,
    from_minor,
    to_minor,
    validate,
)
from tui_desk.rules.profile import Profile
from tui_desk.services import audit, ledger
from tui_desk.services.case_state import load_for_edit, office_today, recompute_priority
from tui_desk.services.contacts import resolve_now, stage_at_least
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, RuleRefused, ServiceError
from tui_desk.services.validation import (
    check_id,
    check_optional_version,
    check_plan_request,
    check_text,
    office_day,
)
from tui_desk.views.agreements import PlanOverview

MAX_REASON = 500
# Plans are drafted on what the borrower still owes; a closed or settled account is not.
_LIVE_ACCOUNT = (AccountStatus.OVERDUE, AccountStatus.CURRENT)


class PlanRefused(RuleRefused):
    """The plan breaks one or more rules; ``problems`` lists them, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


# --- the basis ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountBasis:
    account_id: int
    external_id: str
    product: str
    principal_minor: int
    interest_minor: int
    penalty_minor: int
    fees_minor: int
    annual_rate: Decimal

    @property
    def charges_minor(self) -> int:
        return self.interest_minor + self.penalty_minor + self.fees_minor


@dataclass(frozen=True)
class PlanBasis:
    """What a plan on this case starts from (read once; previews are computed from it)."""

    case_id: int
    version: int
    stage: str
    currency: str
    today: dt.date
    accounts: tuple[AccountBasis, ...]
    principal_minor: int
    """The default principal: the accounts' outstanding principal."""
    overdue_charges_minor: int
    """Overdue interest + penalty + fees, covered by the plan (a waiver forgives part)."""
    annual_rate: Decimal
    """The accounts' rate weighted by outstanding principal (a fraction, 4 decimals)."""
    affordable_monthly_minor: int | None
    """From the latest visit report that assessed it; None when never assessed."""
    limits: PlanLimits
    can_approve_above_means: bool = False

    @property
    def principal(self) -> Decimal:
        return from_minor(self.principal_minor)

    @property
    def overdue_charges(self) -> Decimal:
        return from_minor(self.overdue_charges_minor)

    @property
    def affordable_monthly(self) -> Decimal | None:
        if self.affordable_monthly_minor is None:
            return None
        return from_minor(self.affordable_monthly_minor)

    @property
    def outstanding_minor(self) -> int:
        return self.principal_minor + self.overdue_charges_minor

    @property
    def default_first_due(self) -> dt.date:
        """A month from today: time to sign the agreement and set up the payment."""
        first: dt.date = self.today + relativedelta(months=1)
        return first

    def request(
        self,
        *,
        kind: str = ANNUITY,
        instalments: int = 12,
        frequency: str = MONTHLY,
        first_due: dt.date | None = None,
        annual_rate: Decimal | None = None,
        down_payment: Decimal = Decimal("0.00"),
        waiver: Decimal = Decimal("0.00"),
        grace_periods: int = 0,
        grace_mode: str = "none",
    ) -> PlanRequest:
        """A request on this basis: the whole principal and overdue charges covered."""
        return PlanRequest(
            kind=kind,
            principal=self.principal,
            annual_rate=self.annual_rate if annual_rate is None else annual_rate,
            instalments=instalments,
            frequency=frequency,
            first_due=first_due or self.default_first_due,
            down_payment=down_payment,
            overdue_interest=self.overdue_charges,
            waiver=waiver,
            grace_periods=grace_periods,
            grace_mode=grace_mode,
        )


@dataclass(frozen=True)
class PlanCheck:
    """A request answered against a basis: its schedule, or every problem it has."""

    schedule: Schedule | None
    problems: tuple[str, ...]
    above_means: str | None
    """The sentence when the largest instalment is above the affordable monthly amount."""

    @property
    def ok(self) -> bool:
        return self.schedule is not None and not self.problems


def basis_problems(basis: PlanBasis, request: PlanRequest) -> list[str]:
    """Rules of the case (not of the maths): a plan covers no more than is owed."""
    out: list[str] = []
    if basis.outstanding_minor <= 0:
        out.append(_("nothing is outstanding on this case: there is nothing to plan"))
        return out
    covered = to_minor(request.principal) + to_minor(request.overdue_interest)
    finite = request.principal.is_finite() and request.overdue_interest.is_finite()
    if finite and covered > basis.outstanding_minor:
        out.append(
            _("the plan covers {covered}, more than the {owed} outstanding").format(
                covered=amount(covered), owed=amount(basis.outstanding_minor)
            )
        )
    return out


def check(basis: PlanBasis, request: PlanRequest) -> PlanCheck:
    """The schedule of ``request`` on ``basis`` (pure: no database, no clock)."""
    problems = validate(request, basis.limits)
    if not problems:
        problems += basis_problems(basis, request)
    if problems:
        return PlanCheck(None, tuple(problems), None)
    schedule = build_schedule(request, basis.limits)
    return PlanCheck(schedule, (), affordability_problem(schedule, basis.affordable_monthly))


def plan_limits(profile: Profile) -> PlanLimits:
    return PlanLimits.from_section(profile.section("plans"))


def _basis(session: Session, case: CollectionCase, profile: Profile, now: dt.datetime) -> PlanBasis:
    accounts = list(
        session.scalars(
            select(LoanAccount)
            .where(LoanAccount.case_id == case.id, LoanAccount.status.in_(_LIVE_ACCOUNT))
            .order_by(LoanAccount.id)
        )
    )
    # What is left of each account after the payments so far (the ledger's balance), so a
    # plan drafted after a payment does not ask for that money again.
    balance = ledger.read_balance(session, case.id, now, profile)
    left = {(o.account_id, o.component): o.amount_minor for o in balance.account_open}

    def open_part(a: LoanAccount, component: str, figure: int) -> int:
        return left.get((a.id, component), figure)

    lines = tuple(
        line
        for line in (
            AccountBasis(
                account_id=a.id,
                external_id=a.external_id,
                product=a.product.value,
                principal_minor=open_part(a, "principal", a.outstanding_principal_minor),
                interest_minor=open_part(a, "interest", a.outstanding_interest_minor),
                penalty_minor=open_part(a, "penalty", a.outstanding_penalty_minor),
                fees_minor=open_part(a, "fees", a.outstanding_fees_minor),
                annual_rate=Decimal(a.annual_rate),
            )
            for a in accounts
        )
        if line.principal_minor + line.interest_minor + line.penalty_minor + line.fees_minor > 0
    )
    principal = sum(a.principal_minor for a in lines)
    charges = sum(a.charges_minor for a in lines)
    if principal > 0:
        weighted = sum((a.annual_rate * a.principal_minor for a in lines), Decimal(0)) / principal
        rate = weighted.quantize(Decimal("0.0001"))
    else:
        rate = max((a.annual_rate for a in lines), default=Decimal("0")).quantize(Decimal("0.0001"))
    affordable = session.scalar(
        select(VisitReport.affordable_monthly_minor)
        .where(VisitReport.case_id == case.id, VisitReport.affordable_monthly_minor.is_not(None))
        .order_by(VisitReport.created_at.desc(), VisitReport.id.desc())
        .limit(1)
    )
    currency = accounts[0].currency if accounts else profile.currency
    return PlanBasis(
        case_id=case.id,
        version=case.version,
        stage=case.stage.value,
        currency=currency,
        today=office_today(now, profile),
        accounts=lines,
        principal_minor=principal,
        overdue_charges_minor=charges,
        annual_rate=rate,
        affordable_monthly_minor=affordable,
        limits=plan_limits(profile),
    )


def plan_basis(
    db: Database, case_id: int, *, actor: Actor | None = None, now: dt.datetime, profile: Profile
) -> PlanBasis:
    """The case's plan basis (a read). With ``actor``, says whether they may approve a
    plan above the borrower's means."""
    now = resolve_now(now)
    prof = profile
    with db.read() as s:
        case = s.get(CollectionCase, case_id)
        if case is None:
            raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
        basis = _basis(s, case, prof, now)
    if actor is not None and actor.can(Action.APPROVE_ABOVE_MEANS):
        basis = _with_approval(basis)
    return basis


def _with_approval(basis: PlanBasis) -> PlanBasis:
    return replace(basis, can_approve_above_means=True)


def preview(
    db: Database, case_id: int, request: PlanRequest, *, now: dt.datetime, profile: Profile
) -> Schedule:
    """The schedule ``request`` would have on the case (nothing is written).

    Raises ``PlanRefused`` listing every broken rule."""
    basis = plan_basis(db, case_id, now=now, profile=profile)
    result = check(basis, request)
    if result.schedule is None:
        raise PlanRefused(list(result.problems))
    return result.schedule


# --- drafting -----------------------------------------------------------------------------


def create_plan(
    ctx: Context,
    case_id: int,
    request: PlanRequest,
    *,
    approval_reason: str | None = None,
    expected_version: int | None = None,
) -> int:
    """Draft a plan on the case; returns the plan id.

    Refused (``PlanRefused``, every broken rule named) when the request breaks a plan
    rule, or when its largest instalment is above what the visit report found the
    borrower can afford a month and the actor is not a supervisor giving a reason. An
    older draft of the case is superseded; the case moves on to the plan stage.
    """
    check_id("case_id", case_id)
    check_plan_request(request, today=office_day(ctx.now(), ctx.profile), profile=ctx.profile)
    check_text("approval_reason", approval_reason, MAX_REASON)
    check_optional_version("expected_version", expected_version)
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    reason = (approval_reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise ServiceError(_("a reason has at most {n} characters").format(n=MAX_REASON))
    with ctx.db.write() as s:
        case = load_for_edit(s, case_id, expected_version=expected_version, ctx=ctx)
        basis = _basis(s, case, prof, now)
        try:
            result = check(basis, request)
        except PlanError as exc:  # validate() and build_schedule() agree; kept for safety
            raise PlanRefused(list(exc.problems)) from None
        if result.schedule is None:
            raise PlanRefused(list(result.problems))
        schedule = result.schedule
        approved_by: int | None = None
        if result.above_means is not None:
            if not ctx.actor.can(Action.APPROVE_ABOVE_MEANS):
                raise PlanRefused(
                    [
                        result.above_means,
                        _("only a supervisor may approve an instalment above the borrower's means"),
                    ]
                )
            if reason is None:
                raise PlanRefused(
                    [
                        result.above_means,
                        _("give the reason you approve an instalment above the borrower's means"),
                    ]
                )
            approved_by = ctx.actor.id
        superseded = list(
            s.scalars(
                select(RepaymentPlan).where(
                    RepaymentPlan.case_id == case.id, RepaymentPlan.status == PlanStatus.DRAFT
                )
            )
        )
        for old in superseded:
            old.status = PlanStatus.SUPERSEDED
        plan = RepaymentPlan(
            case_id=case.id,
            kind=PlanKind(request.kind),
            frequency=Frequency(request.frequency),
            principal_minor=to_minor(schedule.financed),
            annual_rate=request.annual_rate if request.kind != "interest_free" else Decimal(0),
            instalments=request.instalments,
            down_payment_minor=to_minor(schedule.down_payment),
            waiver_minor=to_minor(schedule.waiver),
            grace_periods=request.grace_periods,
            grace_mode=GraceMode(request.grace_mode),
            first_due_on=request.first_due,
            status=PlanStatus.DRAFT,
            created_by_id=ctx.actor.id,
            created_at=now,
            approved_by_id=approved_by,
        )
        s.add(plan)
        s.flush()
        s.add_all(
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
        stage_before = case.stage
        stage_at_least(case, Stage.PLAN)
        recompute_priority(case, now, prof)
        audit.record(
            s,
            ctx.actor,
            "plan.create",
            "repayment_plan",
            plan.id,
            f"{ctx.actor.login} drafted a {request.kind} plan of {request.instalments} "
            f"{request.frequency} instalments on case {case.id}"
            + (" (approved above means)" if approved_by else ""),
            now=now,
            case_id=case.id,
            before={
                "stage": stage_before.value,
                "superseded_plan_ids": [p.id for p in superseded],
            },
            after={
                "stage": case.stage.value,
                "kind": request.kind,
                "frequency": request.frequency,
                "instalments": request.instalments,
                "first_due": request.first_due.isoformat(),
                "annual_rate": str(request.annual_rate),
                "principal_minor": to_minor(request.principal),
                "overdue_interest_minor": to_minor(request.overdue_interest),
                # The waiver is its own ledger line: the overdue interest the bank forgives.
                "waiver_minor": to_minor(schedule.waiver),
                "down_payment_minor": to_minor(schedule.down_payment),
                "financed_minor": to_minor(schedule.financed),
                "grace_periods": request.grace_periods,
                "grace_mode": request.grace_mode,
                "total_minor": to_minor(schedule.total_amount),
                "interest_cost_minor": to_minor(schedule.interest_cost),
                "monthly_minor": to_minor(schedule.monthly_amount),
                "affordable_monthly_minor": basis.affordable_monthly_minor,
                "above_means": result.above_means is not None,
                "approved_by_id": approved_by,
                "approval_reason": reason if approved_by else None,
            },
        )
        return plan.id


# --- activation (inside the agreement service's transaction) ------------------------------


def activate_plan(
    session: Session,
    plan: RepaymentPlan,
    now: dt.datetime,
    *,
    profile: Profile,
    actor: Actor | None = None,
) -> ledger.LedgerResult | None:
    """Make ``plan`` the case's active plan, inside the caller's transaction.

    Any other active plan of the case is superseded; then the ledger settles the plan
    from the payments. Call it after the agreement is marked signed (same session), so
    the ledger sees the signature and moves the case to follow-up. The caller has the
    case locked (``load_for_edit``) and writes its own audit event; this adds
    ``plan.activate``.
    """
    prof = profile
    if plan.status is PlanStatus.ACTIVE:
        case = _case_of(session, plan)
        return ledger.recompute(session, case, now, prof)
    if plan.status is not PlanStatus.DRAFT:
        raise ServiceError(
            _("plan {plan_id} is {status}; only a draft can take effect").format(
                plan_id=plan.id, status=plan.status.value
            )
        )
    case = _case_of(session, plan)
    others = list(
        session.scalars(
            select(RepaymentPlan).where(
                RepaymentPlan.case_id == plan.case_id,
                RepaymentPlan.status == PlanStatus.ACTIVE,
                RepaymentPlan.id != plan.id,
            )
        )
    )
    for other in others:
        other.status = PlanStatus.SUPERSEDED
    plan.status = PlanStatus.ACTIVE
    session.flush()
    result = ledger.recompute(session, case, now, prof)
    audit.record(
        session,
        actor,
        "plan.activate",
        "repayment_plan",
        plan.id,
        f"plan {plan.id} took effect on case {case.id}",
        now=now,
        case_id=case.id,
        before={"status": PlanStatus.DRAFT.value, "superseded_plan_ids": [o.id for o in others]},
        after={"status": plan.status.value, "stage": case.stage.value},
    )
    return result


def _case_of(session: Session, plan: RepaymentPlan) -> CollectionCase:
    case = session.get(CollectionCase, plan.case_id)
    if case is None:  # a foreign key makes this impossible; a clear error all the same
        raise NotFound(_("case {case_id} does not exist").format(case_id=plan.case_id))
    return case


# --- reading ---------------------------------------------------------------------------------


def plan_overview(db: Database, plan_id: int) -> PlanOverview:
    with db.read() as s:
        plan = s.get(RepaymentPlan, plan_id)
        if plan is None:
            raise NotFound(_("plan {plan_id} does not exist").format(plan_id=plan_id))
        lines = list(
            s.scalars(
                select(PlanInstalment)
                .where(PlanInstalment.plan_id == plan.id)
                .order_by(PlanInstalment.due_on, PlanInstalment.seq)
            )
        )
        approver = s.get(Agent, plan.approved_by_id) if plan.approved_by_id else None
        upcoming = next((li for li in lines if li.status is not InstalmentStatus.PAID), None)
        return PlanOverview(
            plan_id=plan.id,
            case_id=plan.case_id,
            status=plan.status.value,
            kind=plan.kind.value,
            frequency=plan.frequency.value,
            instalments=plan.instalments,
            financed_minor=plan.principal_minor,
            waiver_minor=plan.waiver_minor,
            down_payment_minor=plan.down_payment_minor,
            total_minor=sum(li.amount_minor for li in lines),
            paid_minor=sum(li.paid_minor for li in lines),
            missed=sum(1 for li in lines if li.status is InstalmentStatus.MISSED),
            next_due_on=upcoming.due_on if upcoming else None,
            next_due_minor=(upcoming.amount_minor - upcoming.paid_minor) if upcoming else 0,
            approved_by=approver.name if approver else None,
        )
