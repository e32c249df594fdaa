"""One ledger, one balance: the pure computation, and every view of a case agreeing with it
on both engines whatever payments, plans and credit moves come."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AuditEvent,
    CaseStatus,
    CollectionCase,
    CreditMoveKind,
    Payment,
    PaymentChannel,
    PlanStatus,
    RepaymentPlan,
)
from tui_desk.domain import Frequency, GraceMode, InstalmentStatus, PlanKind
from tui_desk.formatting import schedule_amounts
from tui_desk.rules.allocation import DEFAULT_ORDER, Owed
from tui_desk.rules.balance import (
    CreditMove,
    LineFacts,
    LineShown,
    PaidFacts,
    PlanFacts,
    case_balance,
    line_shown,
)
from tui_desk.rules.profile import load_profile
from tui_desk.rules.roles import Role
from tui_desk.services import archive, case_view, credit, ledger, plans, promises
from tui_desk.services.case_state import recompute_priority, score_of
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import Overpayment, PermissionDenied, ServiceError
from tui_desk.views.agreements import InstalmentLine, PlanSummary

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)
TODAY = dt.date(2026, 3, 2)
CN = load_profile("cn")
OWED = 1_234_567  # the factory's account: fees, penalty, interest and principal


# --- the pure computation ----------------------------------------------------------------


def _accounts(total: int = 10_000) -> list[Owed]:
    return [Owed(1, "interest", 2_000), Owed(1, "principal", total - 2_000)]


def test_without_a_plan_payments_pay_the_accounts_down_and_the_excess_is_credit() -> None:
    b = case_balance(
        _accounts(), 10_000, DEFAULT_ORDER, [PaidFacts(TODAY, 12_500)], None, [], TODAY, 5
    )
    assert (b.outstanding_minor, b.overdue_minor, b.credit_minor) == (0, 0, 2_500)
    assert b.settled
    part = case_balance(
        _accounts(), 6_000, DEFAULT_ORDER, [PaidFacts(TODAY, 2_500)], None, [], TODAY, 5
    )
    assert (part.outstanding_minor, part.overdue_minor, part.credit_minor) == (7_500, 3_500, 0)
    assert part.account_open == (Owed(1, "interest", 0), Owed(1, "principal", 7_500))


def test_a_plan_restates_the_debt_and_overdue_is_what_is_missed() -> None:
    plan = PlanFacts(
        TODAY - dt.timedelta(days=60),
        (
            LineFacts(1, TODAY - dt.timedelta(days=40), 3_000),
            LineFacts(2, TODAY - dt.timedelta(days=10), 3_000),
            LineFacts(3, TODAY - dt.timedelta(days=2), 3_000),
            LineFacts(4, TODAY + dt.timedelta(days=20), 3_000),
        ),
    )
    b = case_balance(
        _accounts(), 10_000, DEFAULT_ORDER, [PaidFacts(TODAY - dt.timedelta(days=50), 2_000)],
        plan, [], TODAY, 5,
    )  # fmt: skip
    # 12,000 asked, 2,000 paid; #1 (1,000 open) and #2 missed, #3 in its grace days.
    assert (b.outstanding_minor, b.overdue_minor, b.credit_minor) == (10_000, 4_000, 0)
    assert b.next_due_seq == 1
    assert [s.status for s in b.lines] == [
        InstalmentStatus.MISSED, InstalmentStatus.MISSED, InstalmentStatus.DUE,
        InstalmentStatus.DUE,
    ]  # fmt: skip


def test_credit_moves_use_the_credit_and_applied_credit_pays() -> None:
    plan = PlanFacts(TODAY, (LineFacts(1, TODAY + dt.timedelta(days=30), 5_000),))
    before = [PaidFacts(TODAY - dt.timedelta(days=1), 13_000)]  # 3,000 beyond the accounts
    b = case_balance(_accounts(), 10_000, DEFAULT_ORDER, before, plan, [], TODAY, 5)
    assert (b.outstanding_minor, b.credit_minor) == (5_000, 3_000)
    moves = [CreditMove(CreditMoveKind.APPLY, TODAY, 2_000)]
    b = case_balance(_accounts(), 10_000, DEFAULT_ORDER, before, plan, moves, TODAY, 5)
    assert (b.outstanding_minor, b.credit_minor) == (3_000, 1_000)
    moves.append(CreditMove(CreditMoveKind.REFUND, TODAY, 1_000))
    b = case_balance(_accounts(), 10_000, DEFAULT_ORDER, before, plan, moves, TODAY, 5)
    assert (b.outstanding_minor, b.credit_minor) == (3_000, 0)


@given(
    amounts=st.lists(st.integers(1, 50_000), max_size=6),
    lines=st.lists(st.tuples(st.integers(-40, 40), st.integers(1, 9_000)), max_size=5),
    with_plan=st.booleans(),
)
def test_money_is_conserved(
    amounts: list[int], lines: list[tuple[int, int]], with_plan: bool
) -> None:
    """Whatever is paid is either owed less or credit: nothing lost, nothing counted twice."""
    payments = [PaidFacts(TODAY - dt.timedelta(days=i), a) for i, a in enumerate(amounts)]
    facts = (
        PlanFacts(
            TODAY - dt.timedelta(days=10),
            tuple(
                LineFacts(i + 1, TODAY + dt.timedelta(days=d), a) for i, (d, a) in enumerate(lines)
            ),
        )
        if with_plan
        else None
    )
    b = case_balance(_accounts(), 10_000, DEFAULT_ORDER, payments, facts, [], TODAY, 5)
    paid = sum(amounts)
    if facts is None:
        assert b.outstanding_minor + paid == 10_000 + b.credit_minor
    else:
        counted = sum(p.amount_minor for p in payments if p.paid_on >= facts.drafted_on)
        early = paid - counted
        plan_total = sum(line.amount_minor for line in facts.lines)
        assert b.outstanding_minor + counted + max(0, early - 10_000) == (
            plan_total + b.credit_minor
        )
        assert 0 <= b.overdue_minor <= b.outstanding_minor
    assert b.outstanding_minor >= 0 and b.credit_minor >= 0
    if facts is None:
        assert not (b.outstanding_minor > 0 and b.credit_minor > 0)


def test_an_instalment_is_due_only_from_its_date() -> None:
    assert line_shown(TODAY + dt.timedelta(days=10), InstalmentStatus.DUE, TODAY) is (
        LineShown.UPCOMING
    )
    assert line_shown(TODAY, InstalmentStatus.DUE, TODAY) is LineShown.DUE
    assert line_shown(TODAY - dt.timedelta(days=1), InstalmentStatus.PARTIAL, TODAY) is (
        LineShown.PARTIAL
    )
    assert line_shown(TODAY - dt.timedelta(days=9), InstalmentStatus.MISSED, TODAY) is (
        LineShown.MISSED
    )


def test_next_due_is_the_earliest_unpaid_instalment() -> None:
    def line(
        seq: int, due: int, amount: int, paid: int, status: InstalmentStatus
    ) -> InstalmentLine:
        return InstalmentLine(seq, TODAY + dt.timedelta(days=due), amount, paid, status)

    summary = PlanSummary(
        plan_id=1, kind=PlanKind.INTEREST_FREE, frequency=Frequency.MONTHLY,
        status=PlanStatus.ACTIVE, principal_minor=0, annual_rate=Decimal(0),
        instalment_count=3, down_payment_minor=0, waiver_minor=0, grace_periods=0,
        grace_mode=GraceMode.NONE, first_due_on=TODAY,
        schedule=(
            line(8, -1, 1, 0, InstalmentStatus.MISSED),
            line(1, -90, 600_000, 0, InstalmentStatus.MISSED),
            line(2, -60, 600_000, 0, InstalmentStatus.MISSED),
        ),
    )  # fmt: skip
    nxt = summary.next_due
    assert nxt is not None and nxt.seq == 1
    assert summary.missed_minor == 1_200_001 and summary.missed_count == 3


def test_schedule_amounts_never_hide_declining_instalments() -> None:
    assert schedule_amounts([430_361] * 12) == "12 x ¥4,303.61"
    assert schedule_amounts([430_361] * 11 + [430_366]) == "11 x ¥4,303.61 + ¥4,303.66"
    declining = schedule_amounts([480_000, 470_000, 460_000, 417_000])
    assert "4" in declining and "¥4,800.00" in declining and "¥4,170.00" in declining
    assert "x" not in declining


# --- the services: every view equals the ledger ---------------------------------------------


_DESKS: dict[int, Desk] = {}


def desk_of(db: Database) -> Desk:
    """One desk (factory and agents) per database: every example of a property shares it."""
    if id(db) not in _DESKS or _DESKS[id(db)].db is not db:
        _DESKS[id(db)] = Desk(db)
    return _DESKS[id(db)]


class Desk:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        op = self.make.agent(login="op")
        boss = self.make.agent(login="boss", role=Role.SUPERVISOR)
        with db.read() as s:
            self.op = Actor.of(s.get_one(Agent, op))
            self.boss = Actor.of(s.get_one(Agent, boss))

    def ctx(self, actor: Actor | None = None) -> Context:
        return Context.frozen(self.db, actor or self.op, NOW, CN)

    def new_case(self) -> int:
        case_id = self.make.case(priority=0)
        with self.db.write() as s:  # the factory stores a made-up priority: set it true
            case = s.get_one(CollectionCase, case_id)
            ledger.recompute(s, case, NOW, CN)
            recompute_priority(case, NOW, CN)
        return case_id

    def plan(self, case_id: int, instalments: int, amount: int, first_days: int) -> int:
        with self.db.write() as s:
            for old in s.scalars(
                select(RepaymentPlan).where(
                    RepaymentPlan.case_id == case_id, RepaymentPlan.status == PlanStatus.ACTIVE
                )
            ):
                old.status = PlanStatus.SUPERSEDED
        plan_id = self.make.plan(
            case_id, created_by_id=self.op.id, instalments=instalments, amount_minor=amount,
            first_due_on=TODAY + dt.timedelta(days=first_days),
        )  # fmt: skip
        with self.db.write() as s:
            ledger.recompute(s, s.get_one(CollectionCase, case_id), NOW, CN)
        return plan_id

    def pay(
        self, case_id: int, amount: int, *, confirm: bool = False, paid_on: dt.date = TODAY
    ) -> int:
        return promises.record_payment(
            self.ctx(), case_id, amount_minor=amount, paid_on=paid_on,
            channel=PaymentChannel.BANK_TRANSFER, confirm_overpayment=confirm,
        )  # fmt: skip

    def assert_views_agree(self, case_id: int) -> ledger.CaseLedger:
        with self.db.read() as s:
            found = ledger.read_ledger(s, case_id, NOW, CN)
            case = s.get_one(CollectionCase, case_id)
            stored_overdue, stored_priority = case.overdue_minor, case.priority
            expected_priority = score_of(case, NOW, CN).value
            plan = (found.plan.id, found.plan.status) if found.plan is not None else None
        b = found.balance
        detail = case_view.case_detail(self.db, case_id, profile=CN, now=NOW)
        assert detail.outstanding_minor == b.outstanding_minor
        assert detail.overdue_minor == b.overdue_minor
        assert detail.credit_minor == b.credit_minor
        # The queue and the board sort and sum the stored figures: the same numbers.
        assert stored_overdue == b.overdue_minor
        assert stored_priority == expected_priority
        view = case_view.agreement_view(self.db, case_id, profile=CN, now=NOW)
        if plan is not None and view.plan is not None and view.plan.plan_id == plan[0]:
            assert view.plan.total_minor - view.plan.paid_minor == b.outstanding_minor
            nxt = view.plan.next_due
            assert (nxt.seq if nxt else None) == b.next_due_seq
            if plan[1] is PlanStatus.ACTIVE:
                overview = plans.plan_overview(self.db, plan[0])
                assert overview.balance_minor == b.outstanding_minor
        return found


_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(1, 1_500_000), st.booleans()),
        st.tuples(
            st.just("plan"), st.integers(1, 4), st.integers(1, 400_000), st.integers(-30, 20)
        ),
        st.tuples(st.just("refund"), st.integers(1, 500_000), st.booleans()),
        st.tuples(st.just("apply"), st.integers(1, 500_000), st.booleans()),
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=_STEPS)
def test_every_view_equals_the_ledger(db: Database, steps: list[tuple[object, ...]]) -> None:
    desk = desk_of(db)
    case_id = desk.new_case()
    desk.assert_views_agree(case_id)
    for step in steps:
        kind = step[0]
        if kind == "pay":
            amount, confirm = int(str(step[1])), bool(step[2])
            owed = desk.assert_views_agree(case_id).balance.outstanding_minor
            if amount > owed and not confirm:
                with pytest.raises(Overpayment):
                    desk.pay(case_id, amount)
            else:
                desk.pay(case_id, amount, confirm=confirm)
        elif kind == "plan":
            desk.plan(case_id, int(str(step[1])), int(str(step[2])), int(str(step[3])))
        else:
            some = int(str(step[1])) if step[2] else None
            move = credit.refund_credit if kind == "refund" else credit.apply_credit
            # No credit, nothing owed, or more than there is: refused, nothing moved.
            with contextlib.suppress(ServiceError):
                move(desk.ctx(desk.boss), case_id, reason="borrower asked", amount_minor=some)
        desk.assert_views_agree(case_id)
    settled = desk.assert_views_agree(case_id).balance.settled
    if settled:
        archive.archive_case(desk.ctx(), case_id)
        with db.read() as s:
            assert s.get_one(CollectionCase, case_id).status is CaseStatus.CLOSED
    else:
        with pytest.raises(ServiceError, match="not paid"):
            archive.archive_case(desk.ctx(), case_id)


def test_the_reported_overpayment_is_caught_then_kept_as_credit_and_archived(db: Database) -> None:
    desk = Desk(db)
    case_id = desk.new_case()
    with pytest.raises(Overpayment, match=r"¥12,345\.67") as caught:
        desk.pay(case_id, 10_000_000)
    assert caught.value.owed_minor == OWED and caught.value.excess_minor == 10_000_000 - OWED
    assert desk.assert_views_agree(case_id).balance.paid_minor == 0  # nothing was saved
    desk.pay(case_id, 10_000_000, confirm=True)
    b = desk.assert_views_agree(case_id).balance
    assert (b.outstanding_minor, b.overdue_minor, b.credit_minor) == (0, 0, 10_000_000 - OWED)
    archive.archive_case(desk.ctx(), case_id)  # an operator may: the case owes nothing
    # The credit is still the borrower's: a supervisor refunds it from the archive.
    with pytest.raises(PermissionDenied):
        credit.refund_credit(desk.ctx(), case_id, reason="refund")
    moved = credit.refund_credit(desk.ctx(desk.boss), case_id, reason="paid back by transfer")
    assert moved.amount_minor == 10_000_000 - OWED and moved.credit_left_minor == 0
    with db.read() as s:
        events = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert "credit.refund" in events and "case.archive" in events


def test_a_completed_plan_leaves_nothing_outstanding_and_the_case_archives(db: Database) -> None:
    desk = Desk(db)
    case_id = desk.new_case()
    plan_id = desk.plan(case_id, 2, 300_000, 10)
    b = desk.assert_views_agree(case_id).balance
    assert (b.outstanding_minor, b.overdue_minor) == (600_000, 0)
    with pytest.raises(Overpayment, match=r"¥6,000\.00"):
        desk.pay(case_id, 700_000)
    desk.pay(case_id, 700_000, confirm=True)
    found = desk.assert_views_agree(case_id)
    with db.read() as s:
        assert s.get_one(RepaymentPlan, plan_id).status is PlanStatus.COMPLETED
    assert (found.balance.outstanding_minor, found.balance.credit_minor) == (0, 100_000)
    archive.archive_case(desk.ctx(), case_id)


def test_applying_credit_pays_what_a_new_plan_asks(db: Database) -> None:
    desk = Desk(db)
    case_id = desk.new_case()
    # Paid the day before the plan is drafted: it pays the accounts, not the plan.
    desk.pay(case_id, OWED + 50_000, confirm=True, paid_on=TODAY - dt.timedelta(days=1))
    with pytest.raises(ServiceError, match="owes nothing"):
        credit.apply_credit(desk.ctx(desk.boss), case_id, reason="use it")
    desk.plan(case_id, 3, 10_000, -20)  # #1 missed: overdue 10,000
    b = desk.assert_views_agree(case_id).balance
    assert (b.outstanding_minor, b.overdue_minor, b.credit_minor) == (30_000, 10_000, 50_000)
    moved = credit.apply_credit(desk.ctx(desk.boss), case_id, reason="borrower agreed")
    assert moved.amount_minor == 30_000 and moved.credit_left_minor == 20_000
    b = desk.assert_views_agree(case_id).balance
    assert (b.outstanding_minor, b.overdue_minor, b.credit_minor) == (0, 0, 20_000)


def test_the_worker_brings_stale_stored_figures_in_line(db: Database) -> None:
    desk = Desk(db)
    paid = desk.new_case()
    untouched = desk.new_case()
    with db.write() as s:  # a payment written outside the services: the stored figure lags
        s.add(
            Payment(
                case_id=paid, amount_minor=34_567, paid_on=TODAY,
                channel=PaymentChannel.BANK_TRANSFER, recorded_at=NOW,
            )
        )  # fmt: skip
    result = ledger.sync_stored_figures(db, NOW)
    assert (result.scanned, result.corrected) == (1, 1)
    desk.assert_views_agree(paid)
    desk.assert_views_agree(untouched)
    with db.read() as s:
        assert s.get_one(CollectionCase, paid).overdue_minor == OWED - 34_567
    assert ledger.sync_stored_figures(db, NOW).corrected == 0
