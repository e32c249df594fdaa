"""Drafting repayment plans: the basis, previews, refusals above means, drafts superseded,
activation under a signed agreement (both engines)."""

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
    AgreementStatus,
    AuditEvent,
    CollectionCase,
    InstalmentStatus,
    PlanInstalment,
    PlanStatus,
    RepaymentPlan,
    Role,
    Stage,
    VisitOutcome,
    VisitReport,
)
from tui_desk.rules.plans import EQUAL_PRINCIPAL, PlanRequest
from tui_desk.rules.profile import load_profile
from tui_desk.services import plans
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, ServiceError, StaleEdit

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)
CN = load_profile("cn")
# The factory's account: principal 10,000.00; interest 2,000.00 + penalty 300.00 + fees
# 45.67 overdue; 12 % a year.
CHARGES = Decimal("2345.67")


@dataclass
class Desk:
    db: Database
    make: Factory
    op: Actor
    sup: Actor
    case: int

    def report(self, affordable_minor: int | None) -> int:
        """A visit report assessing what the borrower can afford a month."""
        collector = self.make.collector()
        appointment = self.make.appointment(
            self.case, collector_id=collector, booked_by_id=self.op.id, starts_at=NOW
        )
        with self.db.write() as s:
            report = VisitReport(
                appointment_id=appointment,
                case_id=self.case,
                collector_id=collector,
                work_id_shown=True,
                name_checked=True,
                contact_checked=True,
                address_checked=True,
                documents_ok=True,
                affordable_monthly_minor=affordable_minor,
                collected_minor=0,
                outcome=VisitOutcome.PLAN_DISCUSSED,
                created_at=NOW,
            )
            s.add(report)
            s.flush()
            return report.id

    def request(self, **changes: object) -> PlanRequest:
        basis = plans.plan_basis(self.db, self.case, now=NOW, profile=CN)
        values: dict[str, object] = {"waiver": CHARGES, "first_due": dt.date(2026, 4, 2)}
        values.update(changes)
        return basis.request(**values)  # type: ignore[arg-type]

    def create(self, actor: Actor | None = None, **kwargs: object) -> int:
        request = kwargs.pop("request", None) or self.request()
        assert isinstance(request, PlanRequest)
        return plans.create_plan(
            Context.frozen(self.db, actor or self.op, NOW, CN),
            self.case,
            request,
            **kwargs,  # type: ignore[arg-type]
        )

    def plan(self, plan_id: int) -> tuple[RepaymentPlan, list[PlanInstalment]]:
        with self.db.read() as s:
            plan = s.get(RepaymentPlan, plan_id)
            assert plan is not None
            lines = list(
                s.scalars(
                    select(PlanInstalment)
                    .where(PlanInstalment.plan_id == plan_id)
                    .order_by(PlanInstalment.seq)
                )
            )
            s.expunge_all()
            return plan, lines

    def case_row(self) -> CollectionCase:
        with self.db.read() as s:
            case = s.get(CollectionCase, self.case)
            assert case is not None
            s.expunge_all()
            return case

    def events(self, action: str) -> list[AuditEvent]:
        with self.db.read() as s:
            rows = list(
                s.scalars(
                    select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
                )
            )
            s.expunge_all()
            return rows


def _actor(make: Factory, db: Database, login: str, role: Role) -> Actor:
    agent_id = make.agent(login=login, role=role)
    return Actor(id=agent_id, login=login, name=login, role=role)


@pytest.fixture
def desk(db: Database) -> Desk:
    make = Factory(db, now=NOW)
    op = _actor(make, db, "op", Role.OPERATOR)
    sup = _actor(make, db, "sup", Role.SUPERVISOR)
    case = make.case(stage=Stage.VISITED, priority=0)
    return Desk(db, make, op, sup, case)


def test_the_basis_reads_the_accounts_and_the_latest_assessment(desk: Desk) -> None:
    desk.report(150_000)
    desk.report(120_000)  # the latest assessment counts
    basis = plans.plan_basis(desk.db, desk.case, actor=desk.sup, now=NOW, profile=CN)
    assert basis.principal == Decimal("10000.00")
    assert basis.overdue_charges == CHARGES
    assert basis.annual_rate == Decimal("0.1200")
    assert basis.affordable_monthly == Decimal("1200.00")
    assert basis.currency == "CNY"
    assert basis.today == dt.date(2026, 3, 2)
    assert basis.default_first_due == dt.date(2026, 4, 2)
    assert basis.limits.max_months == 60
    assert basis.can_approve_above_means
    assert not plans.plan_basis(
        desk.db, desk.case, actor=desk.op, now=NOW, profile=load_profile()
    ).can_approve_above_means
    [account] = basis.accounts
    assert (account.interest_minor, account.penalty_minor, account.fees_minor) == (
        200_000,
        30_000,
        4_567,
    )


def test_preview_is_the_worked_example_and_writes_nothing(desk: Desk) -> None:
    # 10,000.00 at 12 % over 12 months, the overdue charges waived: 888.49 x 11 + 888.47.
    schedule = plans.preview(desk.db, desk.case, desk.request(), now=NOW, profile=CN)
    amounts = [line.amount for line in schedule.lines]
    assert amounts == [Decimal("888.49")] * 11 + [Decimal("888.47")]
    assert schedule.total_amount == Decimal("10661.86")
    with desk.db.read() as s:
        assert s.scalars(select(RepaymentPlan)).first() is None


def test_create_plan_writes_a_draft_in_minor_units(desk: Desk) -> None:
    before = desk.case_row()
    plan_id = desk.create(expected_version=before.version)
    plan, lines = desk.plan(plan_id)
    assert plan.status is PlanStatus.DRAFT
    assert plan.principal_minor == 1_000_000  # financed: 10,000 + charges - waiver
    assert plan.waiver_minor == 234_567
    assert plan.approved_by_id is None
    assert [line.amount_minor for line in lines] == [88_849] * 11 + [88_847]
    assert [line.seq for line in lines] == list(range(1, 13))
    assert lines[0].due_on == dt.date(2026, 4, 2) and lines[-1].due_on == dt.date(2027, 3, 2)
    assert all(line.status is InstalmentStatus.DUE and line.paid_minor == 0 for line in lines)
    case = desk.case_row()
    assert case.stage is Stage.PLAN
    [event] = desk.events("plan.create")
    assert event.entity_id == plan_id and event.case_id == desk.case
    assert event.after is not None
    assert event.after["waiver_minor"] == 234_567
    assert event.after["overdue_interest_minor"] == 234_567
    assert event.after["total_minor"] == 1_066_186


def test_a_later_stage_is_kept(desk: Desk) -> None:
    with desk.db.write() as s:
        case = s.get(CollectionCase, desk.case)
        assert case is not None
        case.stage = Stage.AGREEMENT
    desk.create()
    assert desk.case_row().stage is Stage.AGREEMENT


def test_a_new_draft_supersedes_the_older_one(desk: Desk) -> None:
    first = desk.create()
    second = desk.create(request=desk.request(instalments=24))
    assert desk.plan(first)[0].status is PlanStatus.SUPERSEDED
    assert desk.plan(second)[0].status is PlanStatus.DRAFT
    last = desk.events("plan.create")[-1]
    assert last.before is not None and last.before["superseded_plan_ids"] == [first]


def test_broken_rules_are_refused_with_every_sentence(desk: Desk) -> None:
    request = desk.request(instalments=0, waiver=Decimal("9999.00"))
    with pytest.raises(plans.PlanRefused) as refused:
        desk.create(request=request)
    text = str(refused.value)
    assert "at least one instalment" in text
    assert "is more than the overdue interest" in text
    assert len(refused.value.problems) == 2
    with desk.db.read() as s:
        assert s.scalars(select(RepaymentPlan)).first() is None


def test_a_plan_cannot_cover_more_than_is_owed(desk: Desk) -> None:
    request = PlanRequest(
        kind=EQUAL_PRINCIPAL,
        principal=Decimal("20000.00"),
        annual_rate=Decimal("0.12"),
        instalments=12,
        frequency="monthly",
        first_due=dt.date(2026, 4, 2),
    )
    with pytest.raises(plans.PlanRefused, match=r"more than the 12,345\.67 outstanding"):
        desk.create(request=request)


def test_above_means_is_refused_for_an_operator(desk: Desk) -> None:
    desk.report(80_000)  # 800.00 a month; the plan asks 888.49
    with pytest.raises(plans.PlanRefused) as refused:
        desk.create(approval_reason="he says he can")
    assert "888.49 a month, is more than the borrower can afford (800.00 a month" in str(
        refused.value
    )
    assert "only a supervisor may approve" in str(refused.value)
    # Within means: 24 months is 470.73 a month.
    plan_id = desk.create(request=desk.request(instalments=24))
    assert desk.plan(plan_id)[0].approved_by_id is None


def test_a_supervisor_approves_above_means_with_a_reason(desk: Desk) -> None:
    desk.report(80_000)
    with pytest.raises(plans.PlanRefused, match="give the reason"):
        desk.create(desk.sup)
    plan_id = desk.create(desk.sup, approval_reason="a bonus is due in April (payslip seen)")
    plan, _lines = desk.plan(plan_id)
    assert plan.approved_by_id == desk.sup.id
    [event] = desk.events("plan.create")
    assert event.after is not None
    assert event.after["above_means"] is True
    assert event.after["approval_reason"] == "a bonus is due in April (payslip seen)"
    assert event.after["approved_by_id"] == desk.sup.id


def test_a_stale_version_is_refused(desk: Desk) -> None:
    version = desk.case_row().version
    desk.create()
    with pytest.raises(StaleEdit):
        desk.create(expected_version=version)


def test_an_unknown_case_is_not_found(desk: Desk) -> None:
    with pytest.raises(NotFound):
        plans.create_plan(Context.frozen(desk.db, desk.op, NOW, CN), 999_999, desk.request())


def test_activation_supersedes_the_active_plan_and_moves_to_follow_up(desk: Desk) -> None:
    old = desk.make.plan(desk.case, created_by_id=desk.op.id, status=PlanStatus.ACTIVE)
    new = desk.create()
    desk.make.agreement(
        desk.case, created_by_id=desk.op.id, plan_id=new, status=AgreementStatus.SIGNED, signed=True
    )
    with desk.db.write() as s:
        plan = s.get(RepaymentPlan, new)
        assert plan is not None
        result = plans.activate_plan(s, plan, NOW, profile=CN, actor=desk.op)
        assert result is not None and result.plan_id == new
    assert desk.plan(old)[0].status is PlanStatus.SUPERSEDED
    assert desk.plan(new)[0].status is PlanStatus.ACTIVE
    assert desk.case_row().stage is Stage.FOLLOW_UP
    assert len(desk.events("plan.activate")) == 1
    overview = plans.plan_overview(desk.db, new)
    assert overview.status == "active"
    assert overview.total_minor == 1_066_186 and overview.balance_minor == 1_066_186
    assert overview.next_due_on == dt.date(2026, 4, 2)


def test_only_a_draft_takes_effect(desk: Desk) -> None:
    old = desk.create()
    desk.create()  # supersedes the first draft
    with desk.db.write() as s:
        plan = s.get(RepaymentPlan, old)
        assert plan is not None
        with pytest.raises(ServiceError, match="only a draft can take effect"):
            plans.activate_plan(s, plan, NOW, profile=CN)


def test_two_redrafts_from_one_version_the_second_is_refused(desk: Desk) -> None:
    """A plan leaves the case row as it is, yet the case's version moves on: the second of
    two redrafts made from the same version is refused, not silently superseding."""
    version = desk.case_row().version
    desk.create(expected_version=version)
    with pytest.raises(StaleEdit):
        desk.create(expected_version=version)
