"""Promises to pay and the payments that keep them.

A promise is kept or broken by the payment ledger, never by a balance someone keeps by
hand: payments dated from the day the promise was made up to its due date are allocated
to promises in due-date order (one payment is never counted twice), and a promise whose
share reaches its amount is kept. The worker marks the promises whose date has passed
uncovered as broken; a broken promise raises the case's priority.

Recording a payment here is the minimum the contact work needs; the repayment-plan work
allocates payments to accounts and instalments on top of the same ``payment`` rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    CaseStatus,
    CollectionCase,
    LoanAccount,
    Payment,
    PaymentChannel,
    PromiseStatus,
    PromiseToPay,
)
from tui_desk.formatting import money
from tui_desk.i18n import _
from tui_desk.rules.balance import overpayment
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile, load_profile
from tui_desk.services import audit, ledger
from tui_desk.services.case_state import (
    guard_lease,
    load_for_edit,
    office_today,
    over_lease,
    recompute_priority,
)
from tui_desk.services.contacts import ensure_next_action, resolve_now
from tui_desk.services.context import Context
from tui_desk.services.errors import NotFound, Overpayment, ServiceError
from tui_desk.services.jobs import JobFunction, job_write, resume_point, save_progress

DEFAULT_PROFILE = "cn"
# Promises fall due at office midnight; a quarter of an hour later the queue shows them.
BROKEN_PROMISES_EVERY = dt.timedelta(minutes=15)
DEFAULT_BATCH_CASES = 500
MAX_REFERENCE = 64
# The audit event lists at most this many ids; the counts are always complete.
_AUDIT_ID_LIMIT = 1000


# --- the allocation (pure) ----------------------------------------------------------------


@dataclass(frozen=True)
class PromiseFacts:
    promise_id: int
    made_on: dt.date
    due_on: dt.date
    amount_minor: int


@dataclass(frozen=True)
class PaymentFacts:
    paid_on: dt.date
    amount_minor: int


def covered_promises(
    promises: Sequence[PromiseFacts], payments: Sequence[PaymentFacts]
) -> set[int]:
    """The promises the payments cover, each payment counted once.

    Promises are served in due-date order, each from the earliest payments dated inside
    its window (the day it was made to its due date) that earlier promises left over, so
    an early payment goes to the promise that needed it first.
    """
    remaining = [p.amount_minor for p in payments]
    order = sorted(range(len(payments)), key=lambda i: payments[i].paid_on)
    covered: set[int] = set()
    for promise in sorted(promises, key=lambda p: (p.due_on, p.promise_id)):
        need = promise.amount_minor
        taken: list[tuple[int, int]] = []
        for i in order:
            if need <= 0:
                break
            if not promise.made_on <= payments[i].paid_on <= promise.due_on or remaining[i] <= 0:
                continue
            share = min(need, remaining[i])
            taken.append((i, share))
            need -= share
        if need <= 0:
            covered.add(promise.promise_id)
            for i, share in taken:
                remaining[i] -= share
    return covered


# --- re-evaluation inside a transaction -----------------------------------------------------


@dataclass
class PromiseChanges:
    kept: list[int] = field(default_factory=list)
    broken: list[int] = field(default_factory=list)
    # Broken promises a late-recorded payment (dated in time) turned into kept ones.
    restored: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.kept or self.broken or self.restored)


def reevaluate_promises(
    session: Session,
    case: CollectionCase,
    *,
    now: dt.datetime,
    profile: Profile,
    break_overdue: bool,
) -> PromiseChanges:
    """Settle the case's promises from its payments; ``break_overdue`` is the worker's pass.

    A kept promise stays kept. The case's ``broken_promises`` count follows every change.
    """
    changes = PromiseChanges()
    promises = list(
        session.scalars(
            select(PromiseToPay)
            .where(
                PromiseToPay.case_id == case.id,
                PromiseToPay.status.in_(
                    [PromiseStatus.OPEN, PromiseStatus.KEPT, PromiseStatus.BROKEN]
                ),
            )
            .order_by(PromiseToPay.due_on, PromiseToPay.id)
        )
    )
    if not promises:
        return changes
    zone = ZoneInfo(profile.office_timezone)
    facts = [
        PromiseFacts(p.id, p.created_at.astimezone(zone).date(), p.due_on, p.amount_minor)
        for p in promises
    ]
    first_day = min(f.made_on for f in facts)
    last_day = max(f.due_on for f in facts)
    payments = [
        PaymentFacts(paid_on, amount)
        for paid_on, amount in session.execute(
            select(Payment.paid_on, Payment.amount_minor)
            .where(
                Payment.case_id == case.id,
                Payment.paid_on >= first_day,
                Payment.paid_on <= last_day,
            )
            .order_by(Payment.paid_on, Payment.id)
        )
    ]
    covered = covered_promises(facts, payments)
    today = office_today(now, profile)
    for promise in promises:
        if promise.id in covered and promise.status is not PromiseStatus.KEPT:
            if promise.status is PromiseStatus.BROKEN:
                changes.restored.append(promise.id)
                case.broken_promises = max(0, case.broken_promises - 1)
            else:
                changes.kept.append(promise.id)
            promise.status = PromiseStatus.KEPT
            promise.resolved_at = now
        elif (
            break_overdue
            and promise.status is PromiseStatus.OPEN
            and promise.id not in covered
            and promise.due_on < today
        ):
            promise.status = PromiseStatus.BROKEN
            promise.resolved_at = now
            case.broken_promises += 1
            changes.broken.append(promise.id)
    if changes.broken and (case.next_action_at is None or case.next_action_at > now):
        # A broken promise needs a call now, not at whatever date was planned before.
        case.next_action_at = now
    return changes


# --- recording a payment ------------------------------------------------------------------


def record_payment(
    ctx: Context,
    case_id: int,
    *,
    amount_minor: int,
    paid_on: dt.date,
    channel: PaymentChannel,
    account_id: int | None = None,
    reference: str | None = None,
    override_reason: str | None = None,
    confirm_overpayment: bool = False,
) -> int:
    """Record a payment the borrower made, and settle the promises it keeps.

    An amount above what the case owes (its ledger balance) is refused (``Overpayment``,
    naming what is owed) unless ``confirm_overpayment``: then the excess stays on the
    case as a credit, for a supervisor to refund or apply.
    While another agent works the case, only a supervisor with ``override_reason`` may.
    """
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    channel = PaymentChannel(channel)
    if amount_minor <= 0:
        raise ServiceError(_("a payment amount must be positive"))
    if paid_on > office_today(now, prof):
        raise ServiceError(_("a payment cannot be dated in the future"))
    ref = (reference or "").strip() or None
    if ref is not None and len(ref) > MAX_REFERENCE:
        raise ServiceError(
            _("a payment reference has at most {n} characters").format(n=MAX_REFERENCE)
        )
    with ctx.db.write() as s:
        # The case row lock serialises payments and the worker's pass over one case.
        case = load_for_edit(s, case_id)
        over = guard_lease(s, case, ctx, override_reason=override_reason)
        if account_id is not None:
            account = s.get(LoanAccount, account_id)
            if account is None or account.case_id != case.id:
                raise NotFound(
                    _("account {account} is not an account of case {case_id}").format(
                        account=account_id, case_id=case.id
                    )
                )
        check = overpayment(amount_minor, ledger.read_balance(s, case.id, now, prof))
        if check.over and not confirm_overpayment:
            raise Overpayment(
                _(
                    "the case owes {owed}: {amount} is {excess} more. Confirm it as an "
                    "overpayment to keep {excess} as a credit on the case"
                ).format(
                    owed=money(check.owed_minor, prof.currency),
                    amount=money(amount_minor, prof.currency),
                    excess=money(check.excess_minor, prof.currency),
                ),
                owed_minor=check.owed_minor,
                excess_minor=check.excess_minor,
            )
        payment = Payment(
            case_id=case.id,
            account_id=account_id,
            amount_minor=amount_minor,
            paid_on=paid_on,
            channel=channel,
            reference=ref,
            recorded_by_id=ctx.actor.id,
            recorded_at=now,
        )
        s.add(payment)
        s.flush()
        changes = reevaluate_promises(s, case, now=now, profile=prof, break_overdue=False)
        # The active repayment plan is settled from the same ledger, in this transaction.
        settled = ledger.recompute(s, case, now, prof)
        ensure_next_action(case, now, prof)
        recompute_priority(case, now, prof)
        audit.record(
            s,
            ctx.actor,
            "payment.record",
            "payment",
            payment.id,
            f"{ctx.actor.login} recorded a payment of {amount_minor} on case {case.id}",
            now=now,
            case_id=case.id,
            after={
                "amount_minor": amount_minor,
                "paid_on": paid_on.isoformat(),
                "channel": channel.value,
                "account_id": account_id,
                "reference": ref,
                **over_lease(over, override_reason),
                "promises_kept": changes.kept,
                "promises_restored": changes.restored,
                "owed_before_minor": check.owed_minor,
                "overpayment_minor": check.excess_minor,
                "plan_id": settled.plan_id if settled else None,
                "plan_completed": settled.completed if settled else False,
                "stage": case.stage.value,
            },
        )
        return payment.id


# --- the worker's pass ------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenPromisesResult:
    today: dt.date
    cases: int
    broken: int
    kept: int

    def summary(self) -> str:
        return (
            f"promises due before {self.today.isoformat()}: {self.broken} broken, "
            f"{self.kept} kept, on {self.cases} cases"
        )


def _overdue_case_ids(session: Session, today: dt.date, after_id: int, limit: int) -> list[int]:
    stmt = (
        select(PromiseToPay.case_id)
        .join(CollectionCase, CollectionCase.id == PromiseToPay.case_id)
        .where(
            PromiseToPay.status == PromiseStatus.OPEN,
            PromiseToPay.due_on < today,
            PromiseToPay.case_id > after_id,
            CollectionCase.status == CaseStatus.OPEN,
        )
        .group_by(PromiseToPay.case_id)
        .order_by(PromiseToPay.case_id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def mark_broken_promises(
    db: Database,
    now: dt.datetime,
    *,
    profile: str = DEFAULT_PROFILE,
    batch_size: int = DEFAULT_BATCH_CASES,
) -> str:
    """Worker job: open promises past their date (office zone) and not covered by
    payments become broken; each batch of cases is one transaction with one audit event.
    Returns the status line for the worker's log."""
    return settle_overdue_promises(db, now, profile=profile, batch_size=batch_size).summary()


def settle_overdue_promises(
    db: Database,
    now: dt.datetime,
    *,
    profile: str = DEFAULT_PROFILE,
    batch_size: int = DEFAULT_BATCH_CASES,
) -> BrokenPromisesResult:
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    prof = load_profile(profile)
    now = resolve_now(now)
    today = office_today(now, prof)
    # Resumed after a crash: from the last batch committed, with the counts so far.
    resumed = resume_point() or {}
    cases, broken, kept = (int(resumed.get(k, 0)) for k in ("cases", "broken", "kept"))
    after_id = int(resumed.get("after_id", 0))
    while True:
        with job_write(db) as s:
            ids = _overdue_case_ids(s, today, after_id, batch_size)
            if not ids:
                break
            after_id = ids[-1]
            stmt = select(CollectionCase).where(CollectionCase.id.in_(ids))
            if s.get_bind().dialect.name == "postgresql":
                stmt = stmt.order_by(CollectionCase.id).with_for_update()
            broken_ids: list[int] = []
            kept_ids: list[int] = []
            touched: list[int] = []
            for case in s.scalars(stmt):
                if case.status != CaseStatus.OPEN:
                    continue  # archived since the ids were read
                changes = reevaluate_promises(s, case, now=now, profile=prof, break_overdue=True)
                if changes:
                    recompute_priority(case, now, prof)
                    touched.append(case.id)
                    broken_ids += changes.broken
                    kept_ids += changes.kept + changes.restored
            if touched:
                audit.record(
                    s,
                    None,
                    "promise.broken",
                    "promise_to_pay",
                    None,
                    f"{len(broken_ids)} promises broken, {len(kept_ids)} kept "
                    f"on {len(touched)} cases (due before {today.isoformat()})",
                    now=now,
                    after={
                        "profile": profile,
                        "today": today.isoformat(),
                        "broken": len(broken_ids),
                        "kept": len(kept_ids),
                        "cases": len(touched),
                        "broken_ids": broken_ids[:_AUDIT_ID_LIMIT],
                        "kept_ids": kept_ids[:_AUDIT_ID_LIMIT],
                        "case_ids": touched[:_AUDIT_ID_LIMIT],
                    },
                )
            cases += len(touched)
            broken += len(broken_ids)
            kept += len(kept_ids)
            progress = {"after_id": after_id, "cases": cases, "broken": broken, "kept": kept}
            save_progress(s, progress)
        if len(ids) < batch_size:
            break
    return BrokenPromisesResult(today=today, cases=cases, broken=broken, kept=kept)


def broken_promises_job(profile: str = DEFAULT_PROFILE) -> JobFunction:
    """The worker's job function for the deployment's policy profile."""
    load_profile(profile)  # an unknown profile fails at worker start, not at the first run

    def run(db: Database, now: dt.datetime) -> str:
        return mark_broken_promises(db, now, profile=profile)

    return run
