"""The payment ledger of an active plan: payments fill instalments in due order, misses
send the case back to the queue once, catching up returns it to follow-up; the worker's
missed-instalments job (both engines)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    AgreementStatus,
    AuditEvent,
    CollectionCase,
    InstalmentStatus,
    PaymentChannel,
    PlanInstalment,
    PlanStatus,
    RepaymentPlan,
    Role,
    Stage,
)
from tui_desk.rules.profile import load_profile, parse_profile
from tui_desk.services import ledger, plans, promises, queue
from tui_desk.services.context import Actor, Context
from tui_desk.services.ledger import LineFacts, PaidFacts, settle_lines
from tui_desk.services.queue import QueueFilter
from tui_desk.worker.registry import default_jobs

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)
CN = load_profile("cn")
LEVEL = 88_849  # 10,000.00 at 12 % over 12 months: 888.49 x 11 + 888.47
LAST = 88_847
TOTAL = LEVEL * 11 + LAST


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=SH).astimezone(dt.UTC)


@dataclass
class Ledger:
    db: Database
    make: Factory
    op: Actor
    case: int
    plan_id: int

    def pay(self, amount: int, month: int, day: int, *, now: dt.datetime | None = None) -> int:
        return promises.record_payment(
            Context.frozen(self.db, self.op, now or at(month, day), CN),
            self.case,
            amount_minor=amount,
            paid_on=dt.date(2026, month, day),
            channel=PaymentChannel.BANK_TRANSFER,
        )

    def lines(self) -> list[tuple[int, InstalmentStatus]]:
        with self.db.read() as s:
            return [
                (paid, status)
                for paid, status in s.execute(
                    select(PlanInstalment.paid_minor, PlanInstalment.status)
                    .where(PlanInstalment.plan_id == self.plan_id)
                    .order_by(PlanInstalment.seq)
                )
            ]

    def plan_status(self) -> PlanStatus:
        with self.db.read() as s:
            plan = s.get(RepaymentPlan, self.plan_id)
            assert plan is not None
            return plan.status

    def case_row(self) -> CollectionCase:
        with self.db.read() as s:
            case = s.get(CollectionCase, self.case)
            assert case is not None
            s.expunge_all()
            return case

    def recompute(self, now: dt.datetime) -> ledger.LedgerResult | None:
        with self.db.write() as s:
            case = s.get(CollectionCase, self.case)
            assert case is not None
            return ledger.recompute(s, case, now, CN)

    def in_queue(self, flt: QueueFilter, now: dt.datetime) -> bool:
        page = queue.queue_page(Context.frozen(self.db, self.op, now, CN), flt)
        return self.case in [row.case_id for row in page.rows]


def _active_plan(db: Database, make: Factory, op: Actor, case: int, *, signed: bool) -> int:
    basis = plans.plan_basis(db, case, now=NOW, profile=CN)
    request = basis.request(waiver=basis.overdue_charges, first_due=dt.date(2026, 4, 2))
    plan_id = plans.create_plan(Context.frozen(db, op, NOW, CN), case, request)
    if signed:
        make.agreement(
            case, created_by_id=op.id, plan_id=plan_id, status=AgreementStatus.SIGNED, signed=True
        )
    with db.write() as s:
        plan = s.get(RepaymentPlan, plan_id)
        assert plan is not None
        plans.activate_plan(s, plan, NOW, profile=CN)
    return plan_id


@pytest.fixture
def book(db: Database) -> Ledger:
    make = Factory(db, now=NOW)
    agent = make.agent(login="op")
    op = Actor(id=agent, login="op", name="op", role=Role.OPERATOR)
    case = make.case(stage=Stage.VISITED, priority=0)
    plan_id = _active_plan(db, make, op, case, signed=True)
    return Ledger(db, make, op, case, plan_id)


# --- the allocation (pure) -----------------------------------------------------------------


def test_payments_fill_lines_in_due_order() -> None:
    lines = [
        LineFacts(2, dt.date(2026, 5, 1), 100),
        LineFacts(1, dt.date(2026, 4, 1), 100),
        LineFacts(3, dt.date(2026, 6, 1), 100),
    ]
    pays = [PaidFacts(dt.date(2026, 4, 20), 50), PaidFacts(dt.date(2026, 3, 30), 120)]
    states = settle_lines(lines, pays, dt.date(2026, 5, 3), 5)
    by_seq = {s.seq: s for s in states}
    assert by_seq[1].paid_minor == 100 and by_seq[1].status is InstalmentStatus.PAID
    assert by_seq[1].paid_in_full_on == dt.date(2026, 3, 30)
    assert by_seq[2].paid_minor == 70 and by_seq[2].status is InstalmentStatus.PARTIAL
    assert by_seq[3].paid_minor == 0 and by_seq[3].status is InstalmentStatus.DUE
    # Six days on, the second line is past the five days' grace.
    later = {s.seq: s for s in settle_lines(lines, pays, dt.date(2026, 5, 7), 5)}
    assert later[2].status is InstalmentStatus.MISSED


@given(
    amounts=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=8),
    payments=st.lists(st.integers(min_value=1, max_value=20_000), max_size=8),
)
def test_allocation_never_counts_money_twice(amounts: list[int], payments: list[int]) -> None:
    first = dt.date(2026, 1, 1)
    lines = [LineFacts(i + 1, first + dt.timedelta(days=30 * i), a) for i, a in enumerate(amounts)]
    pays = [PaidFacts(first + dt.timedelta(days=i), p) for i, p in enumerate(payments)]
    states = settle_lines(lines, pays, first, 5)
    allocated = sum(s.paid_minor for s in states)
    assert allocated == min(sum(payments), sum(amounts))
    for line, state in zip(lines, states, strict=True):
        assert 0 <= state.paid_minor <= line.amount_minor
        if line.amount_minor > 0:
            paid = state.paid_minor >= line.amount_minor
            assert (state.status is InstalmentStatus.PAID) == paid


# --- recompute through the services ----------------------------------------------------------


def test_activation_settles_the_plan_and_moves_the_case_to_follow_up(book: Ledger) -> None:
    assert book.plan_status() is PlanStatus.ACTIVE
    assert book.case_row().stage is Stage.FOLLOW_UP
    assert book.lines() == [(0, InstalmentStatus.DUE)] * 12


def test_without_a_signed_agreement_the_stage_is_left_alone(db: Database) -> None:
    make = Factory(db, now=NOW)
    op = Actor(id=make.agent(login="op"), login="op", name="op", role=Role.OPERATOR)
    case = make.case(stage=Stage.VISITED)
    _active_plan(db, make, op, case, signed=False)
    with db.read() as s:
        row = s.get(CollectionCase, case)
        assert row is not None and row.stage is Stage.PLAN


def test_payments_are_applied_in_due_order_with_partials(book: Ledger) -> None:
    book.pay(LEVEL + 10_000, 3, 30)
    assert book.lines()[:3] == [
        (LEVEL, InstalmentStatus.PAID),
        (10_000, InstalmentStatus.PARTIAL),
        (0, InstalmentStatus.DUE),
    ]
    book.pay(LEVEL, 4, 20)
    assert book.lines()[:3] == [
        (LEVEL, InstalmentStatus.PAID),
        (LEVEL, InstalmentStatus.PAID),
        (10_000, InstalmentStatus.PARTIAL),
    ]
    assert book.case_row().stage is Stage.FOLLOW_UP
    assert book.plan_status() is PlanStatus.ACTIVE


def test_payments_before_the_plan_do_not_count(book: Ledger) -> None:
    book.pay(LEVEL, 3, 1, now=at(4, 1))  # the day before the plan was drafted
    assert book.lines()[0] == (0, InstalmentStatus.DUE)


def test_the_plan_completes_at_a_zero_balance(book: Ledger) -> None:
    book.pay(TOTAL - 1, 4, 1)
    assert book.plan_status() is PlanStatus.ACTIVE
    assert book.lines()[-1] == (LAST - 1, InstalmentStatus.PARTIAL)
    book.pay(1, 4, 2)
    assert book.plan_status() is PlanStatus.COMPLETED
    assert all(status is InstalmentStatus.PAID for _paid, status in book.lines())
    overview = plans.plan_overview(book.db, book.plan_id)
    assert overview.balance_minor == 0 and overview.next_due_on is None


def test_a_missed_instalment_returns_the_case_to_the_queue_once(book: Ledger) -> None:
    book.pay(LEVEL, 4, 1)
    assert not book.in_queue(QueueFilter(), at(4, 1))
    # Due 2026-05-02, unpaid; missed once five days' grace are over (from 05-08).
    assert book.recompute(at(5, 7)) is not None
    assert book.case_row().stage is Stage.FOLLOW_UP
    late = at(5, 8)
    result = book.recompute(late)
    assert result is not None and result.newly_missed == [2]
    case = book.case_row()
    assert case.stage is Stage.CONTACTING
    assert case.broken_promises == 1
    assert case.next_action_at == late
    assert book.lines()[1] == (0, InstalmentStatus.MISSED)
    assert book.in_queue(QueueFilter(), late)
    version = case.version
    # Idempotent: recomputing again (and the worker's pass) counts nothing twice.
    again = book.recompute(at(5, 9))
    assert again is not None and not again
    assert ledger.settle_missed_instalments(book.db, at(5, 9)).missed == 0
    case = book.case_row()
    assert case.broken_promises == 1 and case.version == version


def test_catching_up_returns_the_case_to_follow_up(book: Ledger) -> None:
    book.pay(LEVEL, 4, 1)
    book.recompute(at(5, 8))
    assert book.case_row().stage is Stage.CONTACTING
    book.pay(LEVEL - 100, 5, 9)
    assert book.case_row().stage is Stage.CONTACTING  # still short
    book.pay(100, 5, 10)
    case = book.case_row()
    assert case.stage is Stage.FOLLOW_UP
    assert case.broken_promises == 1  # paid late: the miss stands
    assert book.lines()[1] == (LEVEL, InstalmentStatus.PAID)
    assert not book.in_queue(QueueFilter(), at(5, 10))


def test_a_late_recorded_payment_dated_in_time_takes_the_miss_back(book: Ledger) -> None:
    book.pay(LEVEL, 4, 1)
    book.recompute(at(5, 8))
    assert book.case_row().broken_promises == 1
    book.pay(LEVEL, 5, 2, now=at(5, 9))  # paid on the due date, recorded a week late
    case = book.case_row()
    assert case.broken_promises == 0
    assert case.stage is Stage.FOLLOW_UP


def test_the_queue_and_take_next_leave_follow_up_cases_out(book: Ledger) -> None:
    now = at(4, 1)
    assert not book.in_queue(QueueFilter(), now)
    assert book.in_queue(QueueFilter(stage=Stage.FOLLOW_UP), now)
    assert book.in_queue(QueueFilter(search=f"#{book.case}"), now)
    assert book.in_queue(QueueFilter(no_next_action=True), now) == (
        book.case_row().next_action_at is None
    )
    assert queue.take_next(Context.frozen(book.db, book.op, now, CN)) is None
    book.recompute(at(5, 8))
    claim = queue.take_next(Context.frozen(book.db, book.op, at(5, 8), CN))
    assert claim is not None and claim.case_id == book.case


# --- the worker's job --------------------------------------------------------------------------


def test_the_job_marks_missed_instalments_in_batches(db: Database) -> None:
    make = Factory(db, now=NOW)
    op = Actor(id=make.agent(login="op"), login="op", name="op", role=Role.OPERATOR)
    cases = [make.case(stage=Stage.VISITED, name=f"借款人{i}") for i in range(3)]
    for case in cases:
        _active_plan(db, make, op, case, signed=True)
    # One borrower paid the first instalment: only two cases miss it.
    promises.record_payment(
        Context.frozen(db, op, at(4, 1), CN),
        cases[0],
        amount_minor=LEVEL,
        paid_on=dt.date(2026, 4, 1),
        channel=PaymentChannel.BANK_TRANSFER,
    )
    result = ledger.settle_missed_instalments(db, at(4, 7), batch_size=1)
    assert result.missed == 0  # within the grace (due 04-02, cutoff 04-02)
    result = ledger.settle_missed_instalments(db, at(4, 8), batch_size=1)
    assert (result.cases, result.missed) == (2, 2)
    assert result.cutoff == dt.date(2026, 4, 3)
    with db.read() as s:
        rows = {c.id: c for c in s.scalars(select(CollectionCase))}
        s.expunge_all()
        events = list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == "plan.missed_instalments"))
        )
    assert rows[cases[0]].stage is Stage.FOLLOW_UP
    assert [rows[c].stage for c in cases[1:]] == [Stage.CONTACTING] * 2
    assert [rows[c].broken_promises for c in cases[1:]] == [1, 1]
    assert len(events) == 2  # one per batch of one case
    assert ledger.settle_missed_instalments(db, at(4, 9)).missed == 0
    job = ledger.missed_instalments_job("cn")
    assert job(db, at(4, 9)).startswith("instalments due before 2026-04-04: 0 missed")


def test_the_job_is_a_default_worker_job() -> None:
    jobs = {job.name: job for job in default_jobs("cn")}
    assert jobs["missed_instalments"].every == ledger.MISSED_INSTALMENTS_EVERY


def test_missed_after_days_comes_from_the_profile() -> None:
    assert ledger.missed_after_days(CN) == 5
    raw = dict(CN.raw)
    raw["plans"] = {**CN.section("plans"), "missed_after_days": 10}
    assert ledger.missed_after_days(parse_profile(raw)) == 10


def test_the_job_reads_unpaid_lines_through_their_index(book: Ledger) -> None:
    db = book.db
    sql = _unpaid_sql(db)
    with db.engine.connect() as conn:
        if db.is_sqlite:
            plan = "\n".join(
                str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
            )
        else:
            conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(str(r[0]) for r in conn.execute(text(f"EXPLAIN {sql}")).all())
    assert "ix_plan_instalment_unpaid_due" in plan, plan


def _unpaid_sql(db: Database) -> str:
    captured: list[str] = []

    class _Capture:
        def scalars(self, stmt: object) -> list[int]:
            compiled = stmt.compile(  # type: ignore[attr-defined]
                dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
            )
            captured.append(str(compiled))
            return []

    ledger.unpaid_case_ids(_Capture(), dt.date(2026, 5, 1), 0, 500)  # type: ignore[arg-type]
    return captured[0]


def test_money_is_exact(book: Ledger) -> None:
    assert Decimal(TOTAL).scaleb(-2) == Decimal("10661.86")
