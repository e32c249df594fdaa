"""Promises to pay kept or broken from the payment ledger; the worker's broken-promise job."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AuditEvent,
    CaseStatus,
    Channel,
    CollectionCase,
    Direction,
    LoanAccount,
    Outcome,
    Payment,
    PaymentChannel,
    PromiseStatus,
    PromiseToPay,
)
from tui_desk.rules.profile import load_profile
from tui_desk.services import contacts, promises
from tui_desk.services.case_state import score_of
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, ServiceError
from tui_desk.services.promises import PaymentFacts, PromiseFacts, covered_promises
from tui_desk.worker.registry import default_jobs
from tui_desk.worker.runtime import Worker

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)  # Monday
CN = load_profile("cn")


def sh(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, tzinfo=SH).astimezone(dt.UTC)


def d(day: int) -> dt.date:
    return dt.date(2026, 3, day)


class Book:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        agent_id = self.make.agent(login="op")
        with db.read() as s:
            agent = s.get(Agent, agent_id)
            assert agent is not None
            self.op = Actor.of(agent)
        self.case = self.make.case(priority=0)

    def promise(self, amount: int, due: dt.date, *, now: dt.datetime = NOW) -> int:
        logged = contacts.log_contact(
            Context.frozen(self.db, self.op, now, CN),
            self.case,
            channel=Channel.PHONE,
            direction=Direction.INBOUND,
            outcome=Outcome.PROMISE,
            promise_amount_minor=amount,
            promise_due=due,
        )
        assert logged.promise_id is not None
        return logged.promise_id

    def pay(self, amount: int, paid_on: dt.date, *, now: dt.datetime = NOW) -> int:
        return promises.record_payment(
            Context.frozen(self.db, self.op, now, CN),
            self.case,
            amount_minor=amount,
            paid_on=paid_on,
            channel=PaymentChannel.BANK_TRANSFER,
        )

    def status(self, promise_id: int) -> PromiseStatus:
        with self.db.read() as s:
            promise = s.get(PromiseToPay, promise_id)
            assert promise is not None
            return promise.status

    def case_row(self) -> CollectionCase:
        with self.db.read() as s:
            case = s.get(CollectionCase, self.case)
            assert case is not None
            s.expunge_all()
            return case

    def actions(self) -> list[tuple[str, dict[str, object] | None]]:
        with self.db.read() as s:
            return [
                (a, after)
                for a, after in s.execute(
                    select(AuditEvent.action, AuditEvent.after).order_by(AuditEvent.id)
                )
            ]


@pytest.fixture
def book(db: Database) -> Book:
    return Book(db)


# --- recording a payment ------------------------------------------------------------------


def test_record_payment(book: Book) -> None:
    with book.db.read() as s:
        account = s.scalar(select(LoanAccount.id).where(LoanAccount.case_id == book.case))
    payment_id = promises.record_payment(
        Context.frozen(book.db, book.op, NOW, load_profile()),
        book.case,
        amount_minor=50_000,
        paid_on=d(2),
        channel=PaymentChannel.COUNTER,
        account_id=account,
        reference=" RC-001 ",
    )
    with book.db.read() as s:
        payment = s.get(Payment, payment_id)
        assert payment is not None
        assert (payment.amount_minor, payment.paid_on, payment.account_id, payment.reference) == (
            50_000,
            d(2),
            account,
            "RC-001",
        )
        assert payment.recorded_by_id == book.op.id
    action, after = book.actions()[-1]
    assert action == "payment.record" and after is not None
    assert after["amount_minor"] == 50_000 and after["promises_kept"] == []


def test_payment_refusals(book: Book) -> None:
    with pytest.raises(ServiceError, match="must be positive"):
        book.pay(0, d(2))
    with pytest.raises(ServiceError, match="in the future"):
        book.pay(100, d(3))
    other = book.make.case()
    with book.db.read() as s:
        foreign = s.scalar(select(LoanAccount.id).where(LoanAccount.case_id == other))
    with pytest.raises(NotFound, match="not an account of case"):
        promises.record_payment(
            Context.frozen(book.db, book.op, NOW, load_profile()),
            book.case,
            amount_minor=100,
            paid_on=d(2),
            channel=PaymentChannel.CARD,
            account_id=foreign,
        )
    with pytest.raises(ServiceError, match="at most 64 characters"):
        promises.record_payment(
            Context.frozen(book.db, book.op, NOW, load_profile()),
            book.case,
            amount_minor=100,
            paid_on=d(2),
            channel=PaymentChannel.CARD,
            reference="R" * 65,
        )
    assert [a for a, _ in book.actions()] == []


# --- kept from the ledger ---------------------------------------------------------------


def test_payments_in_the_window_keep_a_promise(book: Book) -> None:
    promise = book.promise(100_000, d(6))
    book.pay(40_000, d(3), now=sh(3))
    assert book.status(promise) is PromiseStatus.OPEN
    book.pay(60_000, d(5), now=sh(5))
    assert book.status(promise) is PromiseStatus.KEPT
    action, after = book.actions()[-1]
    assert action == "payment.record" and after is not None
    assert after["promises_kept"] == [promise]


def test_payments_outside_the_window_do_not_count(book: Book) -> None:
    book.pay(100_000, d(1))  # before the promise was made
    promise = book.promise(100_000, d(4))
    book.pay(100_000, d(5), now=sh(5))  # after its date
    assert book.status(promise) is PromiseStatus.OPEN
    assert "1 broken" in promises.mark_broken_promises(book.db, sh(5))
    assert book.status(promise) is PromiseStatus.BROKEN


# --- broken by the worker -----------------------------------------------------------------


def test_worker_marks_an_uncovered_promise_broken(book: Book) -> None:
    promise = book.promise(100_000, d(4))
    book.pay(30_000, d(3), now=sh(3))
    before = book.case_row()
    # Still due today (office date 4 March): nothing breaks yet.
    assert promises.mark_broken_promises(book.db, sh(4, 23)) == (
        "promises due before 2026-03-04: 0 broken, 0 kept, on 0 cases"
    )
    mark = len(book.actions())
    status = promises.mark_broken_promises(book.db, sh(5, 0))
    assert status == "promises due before 2026-03-05: 1 broken, 0 kept, on 1 cases"
    assert book.status(promise) is PromiseStatus.BROKEN
    case = book.case_row()
    assert case.broken_promises == before.broken_promises + 1
    assert case.priority > before.priority
    score = score_of(case, sh(5, 0), CN)
    assert case.priority == score.value and score.broken_part == CN.priority.w_broken
    assert case.next_action_at == sh(5, 0)  # a broken promise needs a call now
    [(action, after)] = book.actions()[mark:]
    assert action == "promise.broken" and after is not None
    assert (after["broken"], after["cases"], after["broken_ids"]) == (1, 1, [promise])
    # Run again: nothing left to do, no event.
    promises.mark_broken_promises(book.db, sh(5, 1))
    assert len(book.actions()) == mark + 1


def test_worker_marks_covered_promises_kept(book: Book) -> None:
    promise = book.promise(50_000, d(4))
    with book.db.write() as s:  # a payment imported by another path, nothing re-evaluated
        s.add(
            Payment(
                case_id=book.case,
                amount_minor=50_000,
                paid_on=d(4),
                channel=PaymentChannel.IMPORT,
                recorded_at=NOW,
            )
        )
    assert "0 broken, 1 kept" in promises.mark_broken_promises(book.db, sh(6))
    assert book.status(promise) is PromiseStatus.KEPT
    assert book.case_row().broken_promises == 0


def test_late_recorded_payment_restores_a_broken_promise(book: Book) -> None:
    promise = book.promise(50_000, d(4))
    promises.mark_broken_promises(book.db, sh(5))
    assert book.case_row().broken_promises == 1
    book.pay(50_000, d(4), now=sh(6))  # paid in time, recorded late
    assert book.status(promise) is PromiseStatus.KEPT
    assert book.case_row().broken_promises == 0
    _, after = book.actions()[-1]
    assert after is not None and after["promises_restored"] == [promise]


def test_archived_cases_are_left_alone(book: Book) -> None:
    promise = book.promise(50_000, d(4))
    with book.db.write() as s:
        case = s.get(CollectionCase, book.case)
        assert case is not None
        case.status = CaseStatus.CLOSED
    promises.mark_broken_promises(book.db, sh(6))
    assert book.status(promise) is PromiseStatus.OPEN


def test_batches_cover_every_case(db: Database) -> None:
    book = Book(db)
    ids = [book.promise(10_000, d(3))]
    for _ in range(4):
        book.case = book.make.case(priority=0)
        ids.append(book.promise(10_000, d(3)))
    result = promises.settle_overdue_promises(db, sh(6), batch_size=2)
    assert (result.broken, result.cases) == (5, 5)
    assert {book.status(i) for i in ids} == {PromiseStatus.BROKEN}
    assert [a for a, _ in book.actions()].count("promise.broken") == 3  # one per batch


def test_the_job_is_registered_and_runs_in_the_worker(book: Book) -> None:
    promise = book.promise(50_000, d(4))
    jobs = default_jobs("cn")
    assert "broken_promises" in [j.name for j in jobs]
    worker = Worker(book.db, jobs, clock=lambda: sh(6))
    assert "broken_promises" in worker.tick().ran_names
    assert book.status(promise) is PromiseStatus.BROKEN


# --- the allocation (pure) ----------------------------------------------------------------


def test_one_payment_is_not_counted_twice() -> None:
    two = [PromiseFacts(1, d(1), d(5), 100), PromiseFacts(2, d(1), d(10), 100)]
    assert covered_promises(two, [PaymentFacts(d(3), 100)]) == {1}
    assert covered_promises(two, [PaymentFacts(d(3), 100), PaymentFacts(d(8), 100)]) == {1, 2}
    # The early payment goes to the promise due first.
    assert covered_promises(two, [PaymentFacts(d(8), 100)]) == {2}


promise_facts = st.builds(
    PromiseFacts,
    promise_id=st.integers(1, 10_000),
    made_on=st.dates(d(1), d(10)),
    due_on=st.dates(d(10), d(20)),
    amount_minor=st.integers(1, 1000),
)
payment_facts = st.builds(
    PaymentFacts, paid_on=st.dates(d(1), d(25)), amount_minor=st.integers(1, 1000)
)


@given(
    st.lists(promise_facts, max_size=5, unique_by=lambda p: p.promise_id),
    st.lists(payment_facts, max_size=8),
)
def test_covered_promises_never_spend_more_than_was_paid(
    plist: list[PromiseFacts], payments: list[PaymentFacts]
) -> None:
    covered = covered_promises(plist, payments)
    assert covered <= {p.promise_id for p in plist}
    spent = sum(p.amount_minor for p in plist if p.promise_id in covered)
    assert spent <= sum(p.amount_minor for p in payments)
    for p in plist:
        in_window = sum(x.amount_minor for x in payments if p.made_on <= x.paid_on <= p.due_on)
        if p.promise_id in covered:
            assert in_window >= p.amount_minor


@given(promise_facts, st.lists(payment_facts, max_size=8))
def test_a_single_promise_is_kept_iff_its_window_is_paid(
    promise: PromiseFacts, payments: list[PaymentFacts]
) -> None:
    in_window = sum(
        x.amount_minor for x in payments if promise.made_on <= x.paid_on <= promise.due_on
    )
    assert (promise.promise_id in covered_promises([promise], payments)) == (
        in_window >= promise.amount_minor
    )
