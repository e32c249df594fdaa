"""What is on file for a chunk's rows: borrowers, accounts, payments and cases, read once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, ColumnExpressionArgument, any_, bindparam, select
from sqlalchemy.orm import Session

from tui_desk.db.models import Payment
from tui_desk.rules.imports import AccountRecord, PaymentRecord
from tui_desk.services.importer.tables import ACCOUNT, BORROWER, CASE, PAYMENT, PHONE


@dataclass
class BorrowerState:
    id: int
    values: tuple[str, ...]  # name, id_number, address, city, district, region_code
    timezone: str
    phones: set[str]


@dataclass
class AccountState:
    id: int
    borrower_id: int
    case_id: int | None
    values: tuple[Any, ...]


@dataclass
class PaymentState:
    id: int
    account_id: int | None
    values: tuple[Any, ...]


@dataclass
class Known:
    borrowers: dict[str, BorrowerState] = field(default_factory=dict)
    accounts: dict[str, AccountState] = field(default_factory=dict)
    payments: dict[str, PaymentState] = field(default_factory=dict)
    cases: dict[int, int] = field(default_factory=dict)  # borrower id -> case id


def _borrower_values(b: Any) -> tuple[str, ...]:
    return (b.name, b.id_number, b.address, b.city, b.district, b.region_code)


def _account_values(a: Any) -> tuple[Any, ...]:
    rate = a.annual_rate if isinstance(a.annual_rate, Decimal) else Decimal(str(a.annual_rate))
    return (
        str(a.product),
        str(a.status),
        a.currency,
        a.principal_minor,
        a.outstanding_principal_minor,
        a.outstanding_interest_minor,
        a.outstanding_penalty_minor,
        a.outstanding_fees_minor,
        a.overdue_minor,
        rate.quantize(Decimal("0.0001")),
        a.opened_on,
        a.overdue_since,
    )


def record_values(rec: AccountRecord) -> tuple[Any, ...]:
    """The same fields as ``_account_values``, from an imported row."""
    return (
        rec.product,
        rec.status,
        rec.currency,
        rec.principal_minor,
        rec.outstanding_principal_minor,
        rec.outstanding_interest_minor,
        rec.outstanding_penalty_minor,
        rec.outstanding_fees_minor,
        rec.overdue_minor,
        rec.annual_rate,
        rec.opened_on,
        rec.overdue_since,
    )


def _payment_values(account_id: int | None, p: Any) -> tuple[Any, ...]:
    return (account_id, p.amount_minor, p.paid_on, str(p.channel), p.reference)


def _in_chunks(values: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _among(
    column: ColumnElement[Any], values: Sequence[Any], postgresql: bool
) -> ColumnExpressionArgument[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``: one parameter, where a
    list of 500 took the server three times as long to plan and run (and the driver
    and SQLAlchemy as long again to render and bind)."""
    if postgresql:
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def load_known(s: Session, accounts: list[AccountRecord], payments: list[PaymentRecord]) -> Known:
    known = Known()
    pg = s.get_bind().dialect.name == "postgresql"
    borrower_ids = sorted({r.borrower.external_id for r in accounts})
    for part in _in_chunks(borrower_ids):
        for row in s.execute(select(BORROWER).where(_among(BORROWER.c.external_id, part, pg))):
            known.borrowers[row.external_id] = BorrowerState(
                row.id, _borrower_values(row), row.timezone, set()
            )
    by_id = {b.id: b for b in known.borrowers.values()}
    ids = sorted(by_id)
    for start in range(0, len(ids), 500):
        part_ids = ids[start : start + 500]
        for bid, e164 in s.execute(
            select(PHONE.c.borrower_id, PHONE.c.e164).where(
                _among(PHONE.c.borrower_id, part_ids, pg)
            )
        ):
            by_id[bid].phones.add(e164)
    account_ids = sorted(
        {r.external_id for r in accounts} | {r.account_external_id for r in payments}
    )
    for part in _in_chunks(account_ids):
        for row in s.execute(select(ACCOUNT).where(_among(ACCOUNT.c.external_id, part, pg))):
            known.accounts[row.external_id] = AccountState(
                row.id, row.borrower_id, row.case_id, _account_values(row)
            )
    borrower_pks = ids + sorted({a.borrower_id for a in known.accounts.values()})
    for start in range(0, len(borrower_pks), 500):
        for case_id, borrower_id in s.execute(
            select(CASE.c.id, CASE.c.borrower_id).where(
                _among(CASE.c.borrower_id, borrower_pks[start : start + 500], pg)
            )
        ):
            known.cases[borrower_id] = case_id
    payment_ids = sorted({r.external_id for r in payments})
    for part in _in_chunks(payment_ids):
        for p in s.scalars(select(Payment).where(_among(PAYMENT.c.external_id, part, pg))):
            assert p.external_id is not None
            known.payments[p.external_id] = PaymentState(
                p.id, p.account_id, _payment_values(p.account_id, p)
            )
        s.expunge_all()
    return known
