"""Adjustments of an active plan (both engines): a request stores before/after and changes
nothing; a supervisor's approval supersedes the plan with the new schedule; a rejection
changes nothing; nobody decides their own request; the early-settlement reward."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Adjustment,
    AgreementStatus,
    ApprovalStatus,
    AuditEvent,
    PaymentChannel,
    PlanInstalment,
    PlanStatus,
    RepaymentPlan,
    Role,
    Stage,
)
from tui_desk.rules.adjustments import Changes
from tui_desk.rules.profile import load_profile
from tui_desk.services import adjustments, plans, promises
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import PermissionDenied, RuleRefused, ServiceError

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)
CN = load_profile("cn")


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=SH).astimezone(dt.UTC)


@dataclass
class Desk:
    db: Database
    op: Actor
    sup: Actor
    sup2: Actor
    case: int
    plan_id: int

    def plans(self) -> list[tuple[int, PlanStatus, list[int]]]:
        with self.db.read() as s:
            out = []
            for plan in s.scalars(
                select(RepaymentPlan)
                .where(RepaymentPlan.case_id == self.case)
                .order_by(RepaymentPlan.id)
            ):
                amounts = list(
                    s.scalars(
                        select(PlanInstalment.amount_minor)
                        .where(PlanInstalment.plan_id == plan.id)
                        .order_by(PlanInstalment.seq)
                    )
                )
                out.append((plan.id, plan.status, amounts))
            return out

    def adjustment(self, adjustment_id: int) -> Adjustment:
        with self.db.read() as s:
            row = s.get(Adjustment, adjustment_id)
            assert row is not None
            s.expunge_all()
            return row

    def pay(self, amount: int, month: int, day: int) -> int:
        return promises.record_payment(
            Context.frozen(self.db, self.op, at(month, day), CN),
            self.case,
            amount_minor=amount,
            paid_on=dt.date(2026, month, day),
            channel=PaymentChannel.BANK_TRANSFER,
        )

    def actions(self) -> list[str]:
        with self.db.read() as s:
            return list(
                s.scalars(
                    select(AuditEvent.action)
                    .where(AuditEvent.case_id == self.case)
                    .order_by(AuditEvent.id)
                )
            )


@pytest.fixture
def desk(db: Database) -> Desk:
    make = Factory(db, now=NOW)
    op = make.agent(login="op")
    sup = make.agent(login="sup", role=Role.SUPERVISOR)
    sup2 = make.agent(login="sup2", role=Role.SUPERVISOR)
    case = make.case(stage=Stage.VISITED, priority=0)
    operator = Actor(id=op, login="op", name="op", role=Role.OPERATOR)
    basis = plans.plan_basis(db, case, now=NOW, profile=CN)
    request = basis.request(waiver=basis.overdue_charges, first_due=dt.date(2026, 4, 2))
    plan_id = plans.create_plan(Context.frozen(db, operator, NOW, CN), case, request)
    make.agreement(
        case, created_by_id=op, plan_id=plan_id, status=AgreementStatus.SIGNED, signed=True
    )
    with db.write() as s:
        plan = s.get(RepaymentPlan, plan_id)
        assert plan is not None
        plans.activate_plan(s, plan, NOW, profile=CN)
    return Desk(
        db,
        operator,
        Actor(id=sup, login="sup", name="sup", role=Role.SUPERVISOR),
        Actor(id=sup2, login="sup2", name="sup2", role=Role.SUPERVISOR),
        case,
        plan_id,
    )


LEVEL = 88_849


def test_request_stores_before_and_after_and_changes_nothing(desk: Desk) -> None:
    adj = adjustments.request_adjustment(
        Context.frozen(desk.db, desk.op, NOW, CN), desk.case, Changes(extend_by=12), "lost his job"
    )
    row = desk.adjustment(adj)
    assert row.status is ApprovalStatus.REQUESTED and row.kinds == "extend_term"
    assert row.plan_id == desk.plan_id
    assert row.details["before"]["instalment"] == "888.49"
    assert row.details["before"]["count"] == 12
    assert row.details["after"]["instalment"] == "470.73"
    assert row.details["after"]["count"] == 24
    assert row.details["after"]["last_due"] == "2028-03-02"
    [(_plan_id, status, amounts)] = desk.plans()
    assert status is PlanStatus.ACTIVE and len(amounts) == 12
    assert "adjustment.request" in desk.actions()
    # One open request per plan.
    with pytest.raises(RuleRefused, match="already awaiting"):
        adjustments.request_adjustment(
            Context.frozen(desk.db, desk.op, NOW, CN),
            desk.case,
            Changes(suspend_periods=2),
            "again",
        )
    [pending] = adjustments.pending_adjustments(desk.db)
    assert pending.adjustment_id == adj and pending.comparison is not None
    assert pending.comparison.after.count == 24 and pending.requested_by_id == desk.op.id


def test_a_bad_request_is_refused_with_its_rules(desk: Desk) -> None:
    with pytest.raises(RuleRefused, match="grace"):
        adjustments.request_adjustment(
            Context.frozen(desk.db, desk.op, NOW, CN), desk.case, Changes(grace_periods=2), "x"
        )
    with pytest.raises(RuleRefused, match="60"):
        adjustments.request_adjustment(
            Context.frozen(desk.db, desk.op, NOW, CN), desk.case, Changes(extend_by=49), "x"
        )
    with pytest.raises(ServiceError, match="reason"):
        adjustments.request_adjustment(
            Context.frozen(desk.db, desk.op, NOW, CN), desk.case, Changes(extend_by=1), "  "
        )
    assert adjustments.pending_adjustments(desk.db) == []


def test_approval_supersedes_the_plan_with_the_new_schedule(desk: Desk) -> None:
    # Two instalments paid; the third is adjusted from its due date on.
    desk.pay(LEVEL, 4, 2)
    desk.pay(LEVEL, 5, 2)
    changes = Changes(suspend_periods=2, grace_periods=1, grace_mode="interest_only")
    adj = adjustments.request_adjustment(
        Context.frozen(desk.db, desk.op, at(5, 20), CN), desk.case, changes, "medical bills"
    )
    with pytest.raises(PermissionDenied):
        adjustments.decide_adjustment(
            Context.frozen(desk.db, desk.op, at(5, 21), CN), adj, True, "ok"
        )
    decision = adjustments.decide_adjustment(
        Context.frozen(desk.db, desk.sup, at(5, 21), CN), adj, True, "verified"
    )
    assert decision.status == "approved" and decision.new_plan_id is not None
    (old_id, old_status, _old), (new_id, new_status, amounts) = desk.plans()
    assert old_id == desk.plan_id and old_status is PlanStatus.SUPERSEDED
    assert new_id == decision.new_plan_id and new_status is PlanStatus.ACTIVE
    # 10 periods were left; one grace period more. Grace and first repayment interest-free.
    assert len(amounts) == 11 and amounts[0] == 0
    row = desk.adjustment(adj)
    assert row.status is ApprovalStatus.APPROVED and row.decided_by_id == desk.sup.id
    assert row.details["applied"]["new_plan_id"] == new_id
    with desk.db.read() as s:
        plan = s.get(RepaymentPlan, new_id)
        assert plan is not None
        lines = list(s.scalars(select(PlanInstalment).where(PlanInstalment.plan_id == new_id)))
        assert plan.first_due_on == dt.date(2026, 6, 2)
        total_principal = sum(li.principal_minor for li in lines)
        # The balance left after two paid instalments, carried to the cent.
        old_lines = list(
            s.scalars(
                select(PlanInstalment)
                .where(PlanInstalment.plan_id == desk.plan_id)
                .order_by(PlanInstalment.seq)
            )
        )
        assert total_principal == sum(li.principal_minor for li in old_lines[2:])
    actions = desk.actions()
    assert "adjustment.approve" in actions and "plan.activate" in actions
    # Decided once only.
    with pytest.raises(RuleRefused, match="already"):
        adjustments.decide_adjustment(
            Context.frozen(desk.db, desk.sup2, at(5, 22), CN), adj, False, "no"
        )


def test_rejection_changes_nothing(desk: Desk) -> None:
    adj = adjustments.request_adjustment(
        Context.frozen(desk.db, desk.op, NOW, CN), desk.case, Changes(extend_by=6), "hardship"
    )
    before = desk.plans()
    with pytest.raises(ServiceError, match="why"):
        adjustments.decide_adjustment(Context.frozen(desk.db, desk.sup, NOW, CN), adj, False, "")
    decision = adjustments.decide_adjustment(
        Context.frozen(desk.db, desk.sup, NOW, CN), adj, False, "income is fine"
    )
    assert decision.status == "rejected" and decision.new_plan_id is None
    assert desk.plans() == before
    assert desk.adjustment(adj).decision_note == "income is fine"
    assert "adjustment.reject" in desk.actions()
    assert adjustments.pending_adjustments(desk.db) == []


def test_the_requester_cannot_decide_their_own_request(desk: Desk) -> None:
    adj = adjustments.request_adjustment(
        Context.frozen(desk.db, desk.sup, NOW, CN), desk.case, Changes(extend_by=6), "hardship"
    )
    with pytest.raises(PermissionDenied, match="own"):
        adjustments.decide_adjustment(Context.frozen(desk.db, desk.sup, NOW, CN), adj, True, "ok")
    decision = adjustments.decide_adjustment(
        Context.frozen(desk.db, desk.sup2, NOW, CN), adj, True, ""
    )
    assert decision.status == "approved"


def test_early_settlement_for_a_good_payer_is_approved_at_once(desk: Desk) -> None:
    for month in range(4, 10):
        desk.pay(LEVEL, month, 2)
    when = at(9, 10)
    offer = adjustments.early_settlement(desk.db, desk.case, now=when, profile=CN)
    assert offer.eligible and offer.quote.on_time == 6 and offer.quote.lines_left == 6
    ahead = offer.quote.interest_ahead
    assert offer.quote.reward == (ahead * Decimal("0.5")).quantize(Decimal("0.01"))
    decision = adjustments.accept_early_settlement(
        Context.frozen(desk.db, desk.op, when, CN), desk.case
    )
    assert decision.status == "approved" and decision.new_plan_id is not None
    *_, (new_id, status, amounts) = desk.plans()
    assert status is PlanStatus.ACTIVE and amounts == [int(offer.quote.amount * 100)]
    with desk.db.read() as s:
        plan = s.get(RepaymentPlan, new_id)
        assert plan is not None and plan.waiver_minor == int(offer.quote.reward * 100)
    # Paying the amount completes the settlement plan.
    desk.pay(amounts[0], 9, 12)
    assert desk.plans()[-1][1] is PlanStatus.COMPLETED


def test_early_settlement_outside_the_rule_needs_a_supervisor(desk: Desk) -> None:
    for month in range(4, 7):
        desk.pay(LEVEL, month, 2)
    when = at(6, 10)
    offer = adjustments.early_settlement(desk.db, desk.case, now=when, profile=CN)
    assert not offer.eligible and offer.reason is not None and "3" in offer.reason
    with pytest.raises(RuleRefused, match="supervisor"):
        adjustments.accept_early_settlement(Context.frozen(desk.db, desk.op, when, CN), desk.case)
    decision = adjustments.accept_early_settlement(
        Context.frozen(desk.db, desk.op, when, CN), desk.case, "inheritance; pays all"
    )
    assert decision.status == "requested" and decision.new_plan_id is None
    assert len(desk.plans()) == 1
    [pending] = adjustments.pending_adjustments(desk.db, case_id=desk.case)
    assert pending.kinds == ("early_settlement",) and pending.reward_minor
    approved = adjustments.decide_adjustment(
        Context.frozen(desk.db, desk.sup, when, CN), decision.adjustment_id, True, "ok"
    )
    assert approved.new_plan_id is not None
    assert [status for _id, status, _a in desk.plans()] == [
        PlanStatus.SUPERSEDED,
        PlanStatus.ACTIVE,
    ]
