"""`tui-desk check`: does what the database stores agree with the rules that wrote it?

Read-only. Each check reads in keyset batches and looks at the whole database, so it
runs in seconds on a large one; a problem names its case and row so someone can look:

- ``balance``: an open case's stored arrears are what its ledger computes
  (``services.ledger.read_balance``: the overdue accounts less what was paid since, or
  the missed instalments of the plan in force), the same figure the worker's
  ``ledger_figures`` job keeps; an active
  plan's instalments hold what the ledger (``services.ledger.settle_lines``) allocates
  from the case's payments; a completed plan is fully paid; a case has one active plan.
  A line the ledger would now call missed but that is still stored due is not reported:
  that is the worker's next pass (``missed_instalments``), not an inconsistency. A case
  under follow-up whose plan has a missed line is reported: the ledger sends it back.
- ``agreement``: every agreement's latest text is the structured document the desk
  opens; a signed one carries its hash, and the hash matches the text.
- ``lease``: a lease has both a holder and an expiry, is held on an open case by an
  active agent, and ends no later than one lease length from now. An expired lease
  still stored is normal (the next claim takes it over) and is not reported.
- ``hold``: a case is marked on hold exactly when it has an unreleased hold.
- ``orphan``: every open case has a next action (``queue.orphans``).
- ``follow_up``: under the latest signed agreement of a case, the first follow-up falls
  within ``first_within_months`` of the effective date, each next one within
  ``every_months`` of the previous, and while the plan is active the chain reaches the
  plan's last due date (PROCESS.md step 7).
- ``door_money``: money collected on a visit is matched by one payment of the same case
  and amount, no payment matches two visits, and none waits unmatched longer than the
  profile's ``unreconciled_alert_days``.
- ``board_count``: every range of slots the board's running day counts hold as exact
  (``services.day_counts``) equals a count of the rows (a write that went around the
  flush hook without saying so shows here).
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import and_, case, exists, func, select

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Agreement,
    AgreementStatus,
    AgreementVersion,
    BoardCountDay,
    CaseHold,
    CaseStatus,
    CollectionCase,
    FollowUp,
    FollowUpStatus,
    InstalmentStatus,
    LoanAccount,
    Payment,
    PlanInstalment,
    PlanStatus,
    RepaymentPlan,
    Stage,
    VisitReport,
)
from tui_desk.domain import AccountStatus
from tui_desk.formatting import amount
from tui_desk.i18n import N_, _
from tui_desk.rules import agreements as agreement_rules
from tui_desk.rules.profile import Profile
from tui_desk.services import day_counts
from tui_desk.services.case_state import office_today
from tui_desk.services.followups import follow_up_policy
from tui_desk.services.ledger import (
    LineFacts,
    PaidFacts,
    has_ledger,
    ledger_case_ids,
    missed_after_days,
    settle_lines,
    stored_figure_mismatches,
)
from tui_desk.services.queue.orphaned import orphan_count, orphans
from tui_desk.services.visits.policy import visit_policy

_C = CollectionCase
_A = LoanAccount
_V = VisitReport
BATCH = 2000
# A long list is cut here per check; the count is always complete.
DEFAULT_LIMIT = 50

CHECKS: dict[str, str] = {
    "balance": N_("balances agree with the ledger"),
    "agreement": N_("agreements open and signed ones match their hash"),
    "lease": N_("leases are held by active agents on open cases"),
    "hold": N_("holds agree with the hold records"),
    "orphan": N_("every open case has a next action"),
    "follow_up": N_("follow-ups follow the agreed cadence"),
    "door_money": N_("money collected at the door is matched by payments"),
    "board_count": N_("the board's running day counts equal a count of the rows"),
}


@dataclass(frozen=True)
class Problem:
    check: str
    case_id: int | None
    message: str


@dataclass
class CheckResult:
    check: str
    problems: list[Problem] = field(default_factory=list)
    count: int = 0  # every problem found, also those cut from the list
    seconds: float = 0.0

    @property
    def title(self) -> str:
        return _(CHECKS[self.check])


@dataclass(frozen=True)
class CheckReport:
    results: tuple[CheckResult, ...]

    @property
    def clean(self) -> bool:
        return all(r.count == 0 for r in self.results)

    @property
    def problem_count(self) -> int:
        return sum(r.count for r in self.results)


class _Sink:
    def __init__(self, result: CheckResult, limit: int) -> None:
        self.result = result
        self.limit = limit

    def add(self, case_id: int | None, message: str) -> None:
        self.result.count += 1
        if len(self.result.problems) < self.limit:
            self.result.problems.append(Problem(self.result.check, case_id, message))


def run_checks(
    db: Database,
    *,
    now: dt.datetime,
    profile: Profile,
    only: Collection[str] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> CheckReport:
    """Run the named checks (all by default) as of ``now``; never writes."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(dt.UTC)
    names = list(CHECKS) if only is None else [n for n in CHECKS if n in set(only)]
    unknown = sorted(set(only or ()) - set(CHECKS))
    if unknown:
        raise ValueError(f"unknown checks: {', '.join(unknown)}")
    runners: dict[str, Callable[[Database, _Sink, dt.datetime, Profile], None]] = {
        "balance": _balances,
        "agreement": _agreements,
        "lease": _leases,
        "hold": _holds,
        "orphan": _orphans,
        "follow_up": _follow_ups,
        "door_money": _door_money,
        "board_count": _board_counts,
    }
    results: list[CheckResult] = []
    for name in names:
        result = CheckResult(name)
        started = time.perf_counter()
        runners[name](db, _Sink(result, max(1, limit)), now, profile)
        result.seconds = time.perf_counter() - started
        results.append(result)
    return CheckReport(tuple(results))


def _money(minor: int) -> str:
    return amount(minor)


def _batches(stmt_for: Callable[[int], Sequence[int]], size: int = BATCH) -> Iterator[list[int]]:
    """Ids in keyset batches: ``stmt_for(after)`` returns the next ``size`` ids."""
    after = 0
    while True:
        ids = list(stmt_for(after))
        if not ids:
            return
        yield ids
        if len(ids) < size:
            return
        after = ids[-1]


# --- balances ---------------------------------------------------------------------------------


def _balances(db: Database, sink: _Sink, now: dt.datetime, profile: Profile) -> None:
    accounts_overdue = func.coalesce(
        func.sum(case((_A.status == AccountStatus.OVERDUE, _A.overdue_minor), else_=0)), 0
    )
    with db.snapshot() as s:
        # A case with nothing in its ledger owes what its overdue accounts owe ...
        for case_id, stored, computed in s.execute(
            select(_C.id, _C.overdue_minor, accounts_overdue)
            .outerjoin(_A, _A.case_id == _C.id)
            .where(_C.status == CaseStatus.OPEN, ~has_ledger())
            .group_by(_C.id, _C.overdue_minor)
            .having(_C.overdue_minor != accounts_overdue)
            .order_by(_C.id)
        ):
            sink.add(
                case_id,
                _("case {case}: arrears stored as {stored} but its overdue accounts owe {owed}")
                .format(case=case_id, stored=_money(stored), owed=_money(int(computed))),
            )  # fmt: skip
        # ... and any other what the ledger computes (payments, credit, the plan in force).
        for ids in _batches(lambda after: ledger_case_ids(s, after, BATCH)):
            for case_id, stored, computed in stored_figure_mismatches(s, ids, now, profile):
                sink.add(
                    case_id,
                    _("case {case}: arrears stored as {stored} but its ledger says {owed}")
                    .format(case=case_id, stored=_money(stored), owed=_money(computed)),
                )  # fmt: skip
        for case_id, active_plans in s.execute(
            select(RepaymentPlan.case_id, func.count())
            .where(RepaymentPlan.status == PlanStatus.ACTIVE)
            .group_by(RepaymentPlan.case_id)
            .having(func.count() > 1)
            .order_by(RepaymentPlan.case_id)
        ):
            sink.add(
                case_id,
                _("case {case} has {n} active repayment plans; the ledger settles one").format(
                    case=case_id, n=active_plans
                ),
            )
        missed = (
            select(PlanInstalment.id)
            .join(RepaymentPlan, RepaymentPlan.id == PlanInstalment.plan_id)
            .where(
                RepaymentPlan.case_id == _C.id,
                RepaymentPlan.status == PlanStatus.ACTIVE,
                PlanInstalment.status == InstalmentStatus.MISSED,
            )
            .exists()
        )
        for case_id in s.scalars(
            select(_C.id)
            .where(_C.status == CaseStatus.OPEN, _C.stage == Stage.FOLLOW_UP, missed)
            .order_by(_C.id)
        ):
            sink.add(
                case_id,
                _("case {case} is under follow-up although its plan has a missed "
                  "instalment; the ledger sends it back to the contact queue").format(
                    case=case_id),
            )  # fmt: skip
        grace = missed_after_days(profile)
        today = office_today(now, profile)
        zone = ZoneInfo(profile.office_timezone)
        live = (PlanStatus.ACTIVE, PlanStatus.COMPLETED)

        def plan_ids(after: int) -> Sequence[int]:
            return s.scalars(
                select(RepaymentPlan.id)
                .where(RepaymentPlan.status.in_(live), RepaymentPlan.id > after)
                .order_by(RepaymentPlan.id)
                .limit(BATCH)
            ).all()

        for ids in _batches(plan_ids):
            plans = s.execute(
                select(
                    RepaymentPlan.id, RepaymentPlan.case_id, RepaymentPlan.status,
                    RepaymentPlan.created_at,
                ).where(RepaymentPlan.id.in_(ids))
            ).all()  # fmt: skip
            lines: dict[int, list[tuple[int, dt.date, int, int, InstalmentStatus]]] = defaultdict(
                list
            )
            for plan_id, seq, due_on, amount, paid, line_status in s.execute(
                select(
                    PlanInstalment.plan_id, PlanInstalment.seq, PlanInstalment.due_on,
                    PlanInstalment.amount_minor, PlanInstalment.paid_minor, PlanInstalment.status,
                )
                .where(PlanInstalment.plan_id.in_(ids))
                .order_by(PlanInstalment.plan_id, PlanInstalment.due_on, PlanInstalment.seq)
            ):  # fmt: skip
                lines[plan_id].append((seq, due_on, amount, paid, line_status))
            payments: dict[int, list[PaidFacts]] = defaultdict(list)
            for case_id, paid_on, amount in s.execute(
                select(Payment.case_id, Payment.paid_on, Payment.amount_minor)
                .where(Payment.case_id.in_({p.case_id for p in plans}))
                .order_by(Payment.case_id, Payment.paid_on, Payment.id)
            ):
                payments[case_id].append(PaidFacts(paid_on, amount))
            for plan_id, case_id, plan_status, created_at in plans:
                _one_plan(
                    sink, plan_id, case_id, PlanStatus(plan_status),
                    created_at.astimezone(zone).date(), lines.get(plan_id, []),
                    payments.get(case_id, []), today, grace,
                )  # fmt: skip


def _one_plan(
    sink: _Sink,
    plan_id: int,
    case_id: int,
    status: PlanStatus,
    drafted_on: dt.date,
    lines: list[tuple[int, dt.date, int, int, InstalmentStatus]],
    payments: list[PaidFacts],
    today: dt.date,
    grace: int,
) -> None:
    if not lines:
        sink.add(case_id, _("plan {plan} of case {case} has no instalments").format(
            plan=plan_id, case=case_id))  # fmt: skip
        return
    paid = [p for p in payments if p.paid_on >= drafted_on]
    states = settle_lines([LineFacts(seq, due, amount) for seq, due, amount, _p, _s in lines],
                          paid, today, grace)  # fmt: skip
    if status is PlanStatus.COMPLETED:
        if not all(st.status is InstalmentStatus.PAID for st in states):
            owed = sum(amount - st.paid_minor for (_q, _d, amount, _p, _s), st in
                       zip(lines, states, strict=True) if amount > 0)  # fmt: skip
            sink.add(
                case_id,
                _("plan {plan} of case {case} is completed but its payments leave {owed} "
                  "unpaid").format(plan=plan_id, case=case_id, owed=_money(owed)),
            )  # fmt: skip
        return
    unpaid = (InstalmentStatus.DUE, InstalmentStatus.PARTIAL)
    for (seq, _due, _amount, stored_paid, stored_status), state in zip(lines, states, strict=True):
        stored = InstalmentStatus(stored_status)
        pending_miss = state.status is InstalmentStatus.MISSED and stored in unpaid
        if stored_paid == state.paid_minor and (stored is state.status or pending_miss):
            continue
        sink.add(
            case_id,
            _("instalment #{seq} of plan {plan} (case {case}) is stored as {status} with "
              "{paid} paid; the ledger has {ledger_status} with {ledger_paid}").format(
                seq=seq, plan=plan_id, case=case_id, status=stored.value,
                paid=_money(stored_paid), ledger_status=state.status.value,
                ledger_paid=_money(state.paid_minor),
            ),
        )  # fmt: skip
    if all(st.status is InstalmentStatus.PAID for st in states):
        sink.add(
            case_id,
            _("plan {plan} of case {case} is paid in full but still active").format(
                plan=plan_id, case=case_id
            ),
        )


# --- agreements ----------------------------------------------------------------------------


def _agreements(db: Database, sink: _Sink, now: dt.datetime, profile: Profile) -> None:
    del now, profile
    latest = (
        select(AgreementVersion.agreement_id, func.max(AgreementVersion.seq).label("seq"))
        .group_by(AgreementVersion.agreement_id)
        .subquery()
    )
    with db.snapshot() as s:

        def agreement_ids(after: int) -> Sequence[int]:
            return s.scalars(
                select(Agreement.id)
                .where(Agreement.id > after, Agreement.status != AgreementStatus.VOID)
                .order_by(Agreement.id)
                .limit(BATCH)
            ).all()

        for ids in _batches(agreement_ids):
            rows = s.execute(
                select(
                    Agreement.id, Agreement.case_id, Agreement.status, Agreement.content_hash,
                    Agreement.signed_at, AgreementVersion.content,
                )
                .outerjoin(latest, latest.c.agreement_id == Agreement.id)
                .outerjoin(
                    AgreementVersion,
                    and_(
                        AgreementVersion.agreement_id == Agreement.id,
                        AgreementVersion.seq == latest.c.seq,
                    ),
                )
                .where(Agreement.id.in_(ids))
                .order_by(Agreement.id)
            )  # fmt: skip
            for agreement_id, case_id, status, digest, signed_at, content in rows:
                if content is None:
                    sink.add(case_id, _("agreement {id} (case {case}) has no text").format(
                        id=agreement_id, case=case_id))  # fmt: skip
                    continue
                try:
                    agreement_rules.Content.from_json(content)
                except agreement_rules.TemplateError:
                    sink.add(
                        case_id,
                        _("agreement {id} (case {case}): the stored text is not an agreement "
                          "document the desk can open").format(id=agreement_id, case=case_id),
                    )  # fmt: skip
                    continue
                if AgreementStatus(status) is not AgreementStatus.SIGNED:
                    continue
                if digest is None or signed_at is None:
                    sink.add(
                        case_id,
                        _("agreement {id} (case {case}) is signed but has no hash or signing "
                          "time").format(id=agreement_id, case=case_id),
                    )  # fmt: skip
                elif agreement_rules.content_hash(content) != digest:
                    sink.add(
                        case_id,
                        _("agreement {id} (case {case}): the stored text does not match the "
                          "signed hash").format(id=agreement_id, case=case_id),
                    )  # fmt: skip


# --- leases, holds, orphans ------------------------------------------------------------------


def _leases(db: Database, sink: _Sink, now: dt.datetime, profile: Profile) -> None:
    longest = now + dt.timedelta(minutes=max(1, profile.lease_minutes))
    with db.snapshot() as s:
        rows = s.execute(
            select(_C.id, _C.status, _C.lease_holder_id, _C.lease_expires_at, Agent.login,
                   Agent.active)
            .outerjoin(Agent, Agent.id == _C.lease_holder_id)
            .where((_C.lease_holder_id.is_not(None)) | (_C.lease_expires_at.is_not(None)))
            .order_by(_C.id)
        )  # fmt: skip
        for case_id, status, holder, until, login, active in rows:
            if holder is None or until is None:
                sink.add(
                    case_id,
                    _("case {case}: a lease without a holder or without an expiry").format(
                        case=case_id
                    ),
                )
                continue
            if until <= now:
                continue  # expired: the next claim takes it over
            if CaseStatus(status) is not CaseStatus.OPEN:
                sink.add(case_id, _("case {case} is archived but leased to {login}").format(
                    case=case_id, login=login))  # fmt: skip
            if not active:
                sink.add(
                    case_id,
                    _("case {case} is leased to {login}, who is no longer active").format(
                        case=case_id, login=login
                    ),
                )
            if until > longest:
                sink.add(
                    case_id,
                    _("case {case}: the lease of {login} runs until {until}, longer than a "
                      "lease may").format(case=case_id, login=login,
                                          until=until.isoformat(timespec="minutes")),
                )  # fmt: skip


def _holds(db: Database, sink: _Sink, now: dt.datetime, profile: Profile) -> None:
    del now, profile
    held = exists().where(CaseHold.case_id == _C.id, CaseHold.released_at.is_(None))
    with db.snapshot() as s:
        for case_id in s.scalars(select(_C.id).where(_C.on_hold.is_(True), ~held).order_by(_C.id)):
            sink.add(case_id, _("case {case} is marked on hold but has no open hold").format(
                case=case_id))  # fmt: skip
        for case_id in s.scalars(
            select(_C.id).where(_C.on_hold.is_(False), _C.status == CaseStatus.OPEN, held)
            .order_by(_C.id)
        ):  # fmt: skip
            sink.add(case_id, _("case {case} has an open hold but is not marked on hold").format(
                case=case_id))  # fmt: skip


def _orphans(db: Database, sink: _Sink, now: dt.datetime, profile: Profile) -> None:
    del now, profile
    total = orphan_count(db)
    if not total:
        return
    listed = orphans(db, limit=sink.limit)
    for case_id in listed:
        sink.add(case_id, _("open case {case} has no next action").format(case=case_id))
    # The rest are counted, not listed.
    sink.result.count += total - len(listed)


# --- follow-ups -----------------------------------------------------------------------------


def _follow_ups(db: Database, sink: _Sink, now: dt.datetime, profile: Profile) -> None:
    del now
    policy = follow_up_policy(profile)
    first_gap = relativedelta(months=policy.first_within_months)
    every = relativedelta(months=policy.every_months)
    with db.snapshot() as s:
        # The latest signed agreement of each case is the one whose chain runs.
        newest = (
            select(func.max(Agreement.id))
            .where(Agreement.status == AgreementStatus.SIGNED)
            .group_by(Agreement.case_id)
            .scalar_subquery()
        )

        def agreement_ids(after: int) -> Sequence[int]:
            return s.scalars(
                select(Agreement.id)
                .where(Agreement.id.in_(newest), Agreement.id > after)
                .order_by(Agreement.id)
                .limit(BATCH)
            ).all()

        for ids in _batches(agreement_ids):
            rows = s.execute(
                select(Agreement.id, Agreement.case_id, Agreement.effective_on,
                       RepaymentPlan.status, CollectionCase.status)
                .join(CollectionCase, CollectionCase.id == Agreement.case_id)
                .outerjoin(RepaymentPlan, RepaymentPlan.id == Agreement.plan_id)
                .where(Agreement.id.in_(ids))
                .order_by(Agreement.id)
            ).all()  # fmt: skip
            last_due: dict[int, dt.date] = {
                agreement_id: due_on
                for agreement_id, due_on in s.execute(
                    select(Agreement.id, func.max(PlanInstalment.due_on))
                    .join(PlanInstalment, PlanInstalment.plan_id == Agreement.plan_id)
                    .where(Agreement.id.in_(ids))
                    .group_by(Agreement.id)
                )
            }
            dates: dict[int, list[dt.date]] = defaultdict(list)
            for agreement_id, due_on in s.execute(
                select(FollowUp.agreement_id, FollowUp.due_on)
                .where(FollowUp.agreement_id.in_(ids), FollowUp.status != FollowUpStatus.CANCELLED)
                .order_by(FollowUp.agreement_id, FollowUp.due_on)
            ):
                if agreement_id is not None:
                    dates[agreement_id].append(due_on)
            for agreement_id, case_id, effective, plan_status, case_status in rows:
                if effective is None:
                    sink.add(
                        case_id,
                        _(
                            "agreement {id} (case {case}) is signed without an effective date"
                        ).format(id=agreement_id, case=case_id),
                    )
                    continue  # fmt: skip
                chain = dates.get(agreement_id, [])
                payoff = last_due.get(agreement_id)
                active = (
                    plan_status is not None
                    and PlanStatus(plan_status) is PlanStatus.ACTIVE
                    and CaseStatus(case_status) is CaseStatus.OPEN
                )
                first_by = effective + first_gap
                if not chain:
                    if active and payoff is not None and payoff >= first_by:
                        sink.add(case_id, _("agreement {id} (case {case}) has no follow-ups").format(
                            id=agreement_id, case=case_id))  # fmt: skip
                    continue
                if chain[0] > first_by:
                    sink.add(
                        case_id,
                        _("agreement {id} (case {case}): the first follow-up is on {day}, "
                          "later than {limit}").format(id=agreement_id, case=case_id,
                                                       day=chain[0], limit=first_by),
                    )  # fmt: skip
                for before, after in itertools.pairwise(chain):
                    if after > before + every:
                        sink.add(
                            case_id,
                            _("agreement {id} (case {case}): no follow-up between {a} and "
                              "{b}").format(id=agreement_id, case=case_id, a=before, b=after),
                        )  # fmt: skip
                if active and payoff is not None and chain[-1] + every < payoff:
                    sink.add(
                        case_id,
                        _("agreement {id} (case {case}): the follow-ups stop on {day}, but the "
                          "plan runs until {payoff}").format(id=agreement_id, case=case_id,
                                                             day=chain[-1], payoff=payoff),
                    )  # fmt: skip


# --- door money -----------------------------------------------------------------------------


def _door_money(db: Database, sink: _Sink, now: dt.datetime, profile: Profile) -> None:
    alert = now - dt.timedelta(days=visit_policy(profile).unreconciled_alert_days)
    with db.snapshot() as s:
        for report_id, case_id, collected, pay_case, pay_amount in s.execute(
            select(_V.id, _V.case_id, _V.collected_minor, Payment.case_id, Payment.amount_minor)
            .outerjoin(Payment, Payment.id == _V.reconciled_payment_id)
            .where(_V.reconciled_payment_id.is_not(None))
            .where(
                (Payment.id.is_(None))
                | (Payment.case_id != _V.case_id)
                | (Payment.amount_minor != _V.collected_minor)
            )
            .order_by(_V.id)
        ):
            sink.add(
                case_id,
                _("visit report {id} (case {case}): {collected} collected is matched by a "
                  "payment of another case or amount").format(
                    id=report_id, case=case_id, collected=_money(collected)),
            )  # fmt: skip
            del pay_case, pay_amount
        for payment_id, reports in s.execute(
            select(_V.reconciled_payment_id, func.count())
            .where(_V.reconciled_payment_id.is_not(None))
            .group_by(_V.reconciled_payment_id)
            .having(func.count() > 1)
            .order_by(_V.reconciled_payment_id)
        ):
            paid_case = s.scalar(select(Payment.case_id).where(Payment.id == payment_id))
            sink.add(
                paid_case,
                _("payment {id} (case {case}) is matched to {n} door collections").format(
                    id=payment_id, case=paid_case, n=reports
                ),
            )
        for report_id, case_id, collected, created_at in s.execute(
            select(_V.id, _V.case_id, _V.collected_minor, _V.created_at)
            .where(
                _V.collected_minor > 0, _V.reconciled_payment_id.is_(None), _V.created_at < alert
            )
            .order_by(_V.created_at, _V.id)
        ):
            sink.add(
                case_id,
                _("visit report {id} (case {case}): {collected} collected on {day} has no "
                  "matching payment").format(id=report_id, case=case_id,
                                             collected=_money(collected),
                                             day=created_at.date()),
            )  # fmt: skip


# --- board day counts -----------------------------------------------------------------------


def _board_counts(db: Database, sink: _Sink, now: dt.datetime, profile: Profile) -> None:
    del now
    zone = ZoneInfo(profile.office_timezone)
    with db.snapshot() as s:
        for first, end in s.execute(
            select(BoardCountDay.first_slot, BoardCountDay.end_slot)
            .where(BoardCountDay.first_slot != day_counts.GENERATION_SLOT)
            .order_by(BoardCountDay.first_slot)
        ).all():
            stored = day_counts.read_counts(s, first, end)
            counted = day_counts.recount(s, db, first, end)
            for key in sorted(set(stored) | set(counted)):
                if stored.get(key, 0) == counted.get(key, 0):
                    continue
                slot, agent_id, metric = key
                at = dt.datetime.fromtimestamp(slot * day_counts.SLOT_SECONDS, dt.UTC)
                sink.add(None, _(
                    "board count {metric} of agent {agent} at {time}: stored {stored}, "
                    "counted {counted}"
                ).format(
                    metric=metric, agent=agent_id,
                    time=at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                    stored=stored.get(key, 0), counted=counted.get(key, 0),
                ))  # fmt: skip
