"""Door money (visit reports) is reconciled when a bank payment matches it (both engines):
same amount, dated on or after the report's day (or on the door channel), oldest first,
each payment matching one report at most; in the payment's transaction, audited."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    AuditEvent,
    PaymentChannel,
    Role,
    Stage,
    VisitOutcome,
    VisitReport,
)
from tui_desk.rules.profile import load_profile
from tui_desk.services import promises
from tui_desk.services.context import Actor, Context

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 10, 14, 0, tzinfo=SH).astimezone(dt.UTC)
CN = load_profile("cn")


def _setup(db: Database) -> tuple[Factory, Actor, int, int]:
    make = Factory(db, now=NOW)
    op = make.agent(login="op")
    collector = make.collector(login="col")
    case = make.case(stage=Stage.VISITED)
    return make, Actor(id=op, login="op", name="op", role=Role.OPERATOR), case, collector


def _report(
    db: Database, make: Factory, case: int, collector: int, booked_by: int, amount: int, day: int
) -> int:
    when = dt.datetime(2026, 3, day, 10, 0, tzinfo=SH).astimezone(dt.UTC)
    appt = make.appointment(case, collector_id=collector, booked_by_id=booked_by, starts_at=when)
    with db.write() as s:
        row = VisitReport(
            appointment_id=appt, case_id=case, collector_id=collector, work_id_shown=True,
            name_checked=True, contact_checked=True, address_checked=True, documents_ok=True,
            collected_minor=amount, collected_method="cash", receipt_no=f"R-{day}",
            outcome=VisitOutcome.PAID_AT_DOOR, created_at=when,
        )  # fmt: skip
        s.add(row)
        s.flush()
        return row.id


def _reconciled(db: Database) -> dict[int, int | None]:
    with db.read() as s:
        return {r.id: r.reconciled_payment_id for r in s.scalars(select(VisitReport))}


def _pay(db: Database, op: Actor, case: int, amount: int, day: int, channel: PaymentChannel) -> int:
    return promises.record_payment(
        Context.frozen(db, op, NOW, CN),
        case,
        amount_minor=amount,
        paid_on=dt.date(2026, 3, day),
        channel=channel,
    )


def test_a_matching_payment_reconciles_the_oldest_report(db: Database) -> None:
    make, op, case, collector = _setup(db)
    first = _report(db, make, case, collector, op.id, 50_000, 3)
    second = _report(db, make, case, collector, op.id, 50_000, 5)
    other = _report(db, make, case, collector, op.id, 20_000, 5)
    # A different amount matches nothing; a bank payment dated before the visit neither.
    _pay(db, op, case, 30_000, 6, PaymentChannel.BANK_TRANSFER)
    _pay(db, op, case, 50_000, 2, PaymentChannel.BANK_TRANSFER)
    assert set(_reconciled(db).values()) == {None}
    pay = _pay(db, op, case, 50_000, 6, PaymentChannel.BANK_TRANSFER)
    assert _reconciled(db) == {first: pay, second: None, other: None}
    # The next payment of that amount takes the next report; none is matched twice.
    pay2 = _pay(db, op, case, 50_000, 7, PaymentChannel.COUNTER)
    assert _reconciled(db) == {first: pay, second: pay2, other: None}
    with db.read() as s:
        events = list(
            s.scalars(
                select(AuditEvent.after)
                .where(AuditEvent.action == "visit.reconcile")
                .order_by(AuditEvent.id)
            )
        )
    assert len(events) == 2
    assert events[0] == {"matches": [{"report_id": first, "payment_id": pay}]}


def test_a_door_payment_matches_whatever_its_date(db: Database) -> None:
    make, op, case, collector = _setup(db)
    report = _report(db, make, case, collector, op.id, 12_345, 8)
    pay = _pay(db, op, case, 12_345, 4, PaymentChannel.DOOR)
    assert _reconciled(db) == {report: pay}


def test_another_cases_payment_does_not_match(db: Database) -> None:
    make, op, case, collector = _setup(db)
    report = _report(db, make, case, collector, op.id, 40_000, 3)
    other_case = make.case(stage=Stage.VISITED)
    _pay(db, op, other_case, 40_000, 6, PaymentChannel.BANK_TRANSFER)
    assert _reconciled(db) == {report: None}
