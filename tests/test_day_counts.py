"""The board's running day counts equal a full count of the rows after any sequence of
writes (property test), on both engines; bulk loads make the board count again."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agreement,
    AgreementStatus,
    Appointment,
    AppointmentStatus,
    BoardCountDay,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    OutboxStatus,
    Outcome,
    Payment,
    PaymentChannel,
    PromiseStatus,
    PromiseToPay,
    Relation,
    SmsOutbox,
    VisitOutcome,
    VisitReport,
)
from tui_desk.rules.profile import load_profile
from tui_desk.services import board, day_counts
from tui_desk.services.consistency import run_checks

# 10:00 in Shanghai: the office day began ten hours ago (16:00 UTC the day before).
NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
PROFILE = load_profile("cn")
DAY = board._office_day(NOW, PROFILE)

# Minutes before NOW: yesterday, every hour of today, and a little in the future.
minutes = st.integers(min_value=-30, max_value=26 * 60)
pick = st.integers(min_value=0, max_value=1_000)
operation = st.one_of(
    st.tuples(
        st.just("contact"),
        pick,
        pick,
        minutes,
        st.sampled_from(list(Outcome)),
        st.sampled_from([None, Relation.BORROWER, Relation.SPOUSE]),
    ),
    st.tuples(st.just("void"), pick),
    st.tuples(st.just("promise"), pick, pick, minutes, st.integers(1, 10**6)),
    st.tuples(st.just("promise_delete"), pick),
    st.tuples(st.just("book"), pick, pick, minutes, st.booleans()),
    st.tuples(st.just("report"), pick, minutes),
    st.tuples(st.just("agreement"), pick, minutes),
    st.tuples(st.just("agreement_void"), pick),
    st.tuples(st.just("payment"), pick, minutes, st.integers(1, 10**6)),
    st.tuples(st.just("payment_edit"), pick, minutes, st.integers(1, 10**6)),
    st.tuples(st.just("reassign"), pick, pick),
    st.tuples(st.just("sms"), pick, minutes),
    st.tuples(st.just("sms_status"), pick, st.sampled_from(list(OutboxStatus))),
    st.tuples(st.just("rolled_back"), pick, pick, minutes),
    st.tuples(st.just("contact_and_reassign"), pick, pick, minutes, st.integers(1, 10**6)),
)


class Book:
    """Agents and cases to write on."""

    def __init__(self, db: Database) -> None:
        f = Factory(db, now=NOW)
        self.agents = [f.agent() for _ in range(3)]
        self.collector = f.collector()
        self.cases = [f.case(owner_id=self.agents[i % 3] if i else None) for i in range(3)]
        self.keys = itertools.count(1)


_BOOKS: dict[int, Book] = {}


def _nth(s: Any, model: Any, n: int) -> Any:
    ids = s.scalars(select(model.id).order_by(model.id)).all()
    return s.get(model, ids[n % len(ids)]) if ids else None


def _apply(db: Database, book: Book, op: tuple[Any, ...]) -> None:
    kind = op[0]

    def case_of(n: int) -> int:
        return book.cases[n % len(book.cases)]

    def agent_of(n: int) -> int:
        return book.agents[n % len(book.agents)]

    def at(m: int) -> dt.datetime:
        return NOW - dt.timedelta(minutes=m)

    with db.write() as s:
        if kind == "contact":
            _, c, a, m, outcome, party = op
            s.add(
                ContactAttempt(
                    case_id=case_of(c), agent_id=agent_of(a) if a % 4 else None,
                    channel=Channel.PHONE, direction=Direction.OUTBOUND, party=party,
                    outcome=outcome, started_at=at(m),
                )
            )  # fmt: skip
        elif kind == "void":
            row = _nth(s, ContactAttempt, op[1])
            if row is not None and row.voided_at is None:
                row.voided_at = NOW
        elif kind == "promise":
            _, c, a, m, amount = op
            s.add(
                PromiseToPay(
                    case_id=case_of(c), amount_minor=amount, due_on=NOW.date(),
                    status=PromiseStatus.OPEN, created_by_id=agent_of(a), created_at=at(m),
                )
            )  # fmt: skip
        elif kind == "promise_delete":
            row = _nth(s, PromiseToPay, op[1])
            if row is not None:
                s.delete(row)
        elif kind in ("book", "report"):
            rescheduled = op[4] if kind == "book" else False
            earlier = _nth(s, Appointment, op[1]) if rescheduled else None
            appointment = Appointment(
                case_id=case_of(op[1]), collector_id=book.collector, starts_at=NOW,
                ends_at=NOW + dt.timedelta(hours=1), place="北京", district="朝阳区",
                status=AppointmentStatus.BOOKED, booked_by_id=agent_of(op[2]) if kind == "book" else book.agents[0],
                booked_at=at(op[3] if kind == "book" else op[2]),
                rescheduled_from_id=earlier.id if earlier is not None else None,
            )  # fmt: skip
            s.add(appointment)
            if kind == "report":
                s.flush()
                s.add(
                    VisitReport(
                        appointment_id=appointment.id, case_id=appointment.case_id,
                        collector_id=book.collector, work_id_shown=True, name_checked=True,
                        contact_checked=True, address_checked=True, documents_ok=True,
                        outcome=VisitOutcome.PLAN_DISCUSSED, created_at=at(op[2]),
                    )
                )  # fmt: skip
        elif kind == "agreement":
            s.add(
                Agreement(
                    case_id=case_of(op[1]), template_name="repayment", template_version="1",
                    language="zh_CN", status=AgreementStatus.SIGNED, signed_at=at(op[2]),
                    created_by_id=book.agents[0], created_at=at(op[2]),
                )
            )  # fmt: skip
        elif kind == "agreement_void":
            row = _nth(s, Agreement, op[1])
            if row is not None:
                row.status = AgreementStatus.VOID
        elif kind == "payment":
            _, c, m, amount = op
            s.add(
                Payment(
                    case_id=case_of(c), amount_minor=amount, paid_on=NOW.date(),
                    channel=PaymentChannel.COUNTER, recorded_at=at(m),
                )
            )  # fmt: skip
        elif kind == "payment_edit":
            row = _nth(s, Payment, op[1])
            if row is not None:
                row.amount_minor, row.recorded_at = op[3], at(op[2])
        elif kind == "reassign":
            row = s.get_one(CollectionCase, case_of(op[1]))
            row.owner_id = agent_of(op[2]) if op[2] % 4 else None
        elif kind == "sms":
            s.add(
                SmsOutbox(
                    case_id=case_of(op[1]), e164="+8613812345678", template="t", body="b",
                    segments=1, idempotency_key=f"k{next(book.keys)}-{op[1]}-{op[2]}",
                    status=OutboxStatus.PENDING, attempts=0, created_at=at(op[2]),
                )
            )  # fmt: skip
        elif kind == "sms_status":
            row = _nth(s, SmsOutbox, op[1])
            if row is not None:
                row.status = op[2]
        elif kind == "rolled_back":
            # A row written in a savepoint that is rolled back leaves no count behind.
            nested = s.begin_nested()
            s.add(
                ContactAttempt(
                    case_id=case_of(op[1]), agent_id=agent_of(op[2]), channel=Channel.PHONE,
                    direction=Direction.OUTBOUND, outcome=Outcome.PROMISE, started_at=at(op[3]),
                )
            )  # fmt: skip
            s.flush()
            nested.rollback()
        elif kind == "contact_and_reassign":
            # One transaction: a payment, then the case changes hands (two flushes).
            _, c, a, m, amount = op
            s.add(
                Payment(
                    case_id=case_of(c), amount_minor=amount, paid_on=NOW.date(),
                    channel=PaymentChannel.DOOR, recorded_at=at(m),
                )
            )  # fmt: skip
            s.flush()
            s.get_one(CollectionCase, case_of(c)).owner_id = agent_of(a)


def _figures(db: Database) -> tuple[dict[str, Any], dict[str, Any]]:
    with db.read() as s:
        return board._today(s, PROFILE, DAY), board.today_recount(s, db, PROFILE, DAY)


def _still_exact(db: Database) -> bool:
    with db.read() as s:
        return s.get(BoardCountDay, DAY.first_slot) is not None


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=25))
def test_running_counts_equal_a_full_count_after_any_writes(
    db: Database, ops: list[tuple[Any, ...]]
) -> None:
    with db.read() as s:
        fresh = s.scalar(select(func.count()).select_from(CollectionCase)) == 0
    book = _BOOKS.get(id(db))
    if fresh or book is None:
        book = _BOOKS[id(db)] = Book(db)
    # The day is counted once, before the writes: from here on only the hook keeps it.
    day_counts.count_slots(db, DAY.first_slot, DAY.end_slot, NOW)
    for op in ops:
        _apply(db, book, op)
    assert _still_exact(db)
    counted, recounted = _figures(db)
    assert counted == recounted
    assert run_checks(db, now=NOW, profile=PROFILE, only=["board_count"]).clean


def test_a_day_is_counted_once_then_kept_by_the_writes(db: Database) -> None:
    book = Book(db)
    f = Factory(db, now=NOW)
    f.contact(book.cases[0], agent_id=book.agents[0], outcome=Outcome.PROMISE, minutes_ago=30)
    assert day_counts.count_slots(db, DAY.first_slot, DAY.end_slot, NOW) is True
    assert day_counts.count_slots(db, DAY.first_slot, DAY.end_slot, NOW) is False
    f.contact(book.cases[1], agent_id=book.agents[1], minutes_ago=90)
    counted, recounted = _figures(db)
    assert counted == recounted
    assert counted["counts"]["contacts"] == 2
    assert counted["counts"]["right_party_contacts"] == 1
    assert counted["agents"][str(book.agents[1])]["contacts"] == 1


def test_writes_while_the_day_is_being_counted_are_not_lost(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = Book(db)
    f = Factory(db, now=NOW)
    f.contact(book.cases[0], agent_id=book.agents[0], minutes_ago=30)
    counting = day_counts.recount
    calls: list[int] = []

    def count_then_write(*args: Any) -> dict[day_counts.Key, int]:
        result = counting(*args)
        if not calls:
            # Committed after the snapshot the rows were counted in, before the counts
            # are stored: the write's own delta must survive.
            f.contact(book.cases[1], agent_id=book.agents[1], minutes_ago=20)
            _apply(db, book, ("void", 0))
        calls.append(1)
        return result

    monkeypatch.setattr(day_counts, "recount", count_then_write)
    assert day_counts.count_slots(db, DAY.first_slot, DAY.end_slot, NOW)
    assert calls == [1]  # no second count: nothing was forgotten meanwhile
    monkeypatch.setattr(day_counts, "recount", counting)
    counted, recounted = _figures(db)
    assert counted == recounted
    assert counted["counts"]["contacts"] == 1


def test_a_bulk_load_while_the_day_is_being_counted_means_counting_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = Book(db)
    f = Factory(db, now=NOW)
    contact = f.contact(book.cases[0], agent_id=book.agents[0], minutes_ago=30)
    counting = day_counts.recount
    calls: list[int] = []

    def count_then_bulk(*args: Any) -> dict[day_counts.Key, int]:
        result = counting(*args)
        if not calls:
            with db.write() as s:
                s.execute(
                    update(ContactAttempt).where(ContactAttempt.id == contact).values(voided_at=NOW)
                )
                day_counts.forget_counts(s.connection())
        calls.append(1)
        return result

    monkeypatch.setattr(day_counts, "recount", count_then_bulk)
    assert day_counts.count_slots(db, DAY.first_slot, DAY.end_slot, NOW)
    assert calls == [1, 1]  # counted again under the lock
    monkeypatch.setattr(day_counts, "recount", counting)
    counted, recounted = _figures(db)
    assert counted == recounted and counted["counts"]["contacts"] == 0


def test_the_check_finds_a_write_that_went_around_the_hook(db: Database) -> None:
    book = Book(db)
    contact = Factory(db, now=NOW).contact(book.cases[0], agent_id=book.agents[0])
    day_counts.count_slots(db, DAY.first_slot, DAY.end_slot, NOW)
    assert run_checks(db, now=NOW, profile=PROFILE, only=["board_count"]).clean
    with db.write() as s:
        s.execute(update(ContactAttempt).where(ContactAttempt.id == contact).values(voided_at=NOW))
    report = run_checks(db, now=NOW, profile=PROFILE, only=["board_count"])
    assert report.problem_count == 1
    assert "stored 1, counted 0" in report.results[0].problems[0].message


def test_a_write_behind_the_hook_is_caught_by_forgetting(db: Database) -> None:
    book = Book(db)
    f = Factory(db, now=NOW)
    contact = f.contact(book.cases[0], agent_id=book.agents[0], minutes_ago=30)
    day_counts.count_slots(db, DAY.first_slot, DAY.end_slot, NOW)
    with db.write() as s:
        # A Core update the hook cannot see, as a bulk tool might do; it says so.
        s.execute(update(ContactAttempt).where(ContactAttempt.id == contact).values(voided_at=NOW))
        day_counts.forget_counts(s.connection())
    assert not _still_exact(db)
    board.refresh_snapshot(db, NOW, PROFILE, sections=[board.TODAY])
    result = board.read_board(db, NOW, PROFILE)
    assert result.today.contacts == 0


@pytest.mark.parametrize("cases", [60])
def test_seeding_makes_the_board_count_again(db: Database, cases: int) -> None:
    from tui_desk.demo.seeder import seed_database

    board.refresh_snapshot(db, NOW, PROFILE, sections=[board.TODAY])
    assert _still_exact(db)
    seed_database(db, cases=cases, seed=3, now=NOW, parallel=False)
    assert not _still_exact(db)
    board.refresh_snapshot(db, NOW, PROFILE, sections=[board.TODAY])
    counted, recounted = _figures(db)
    assert counted == recounted
