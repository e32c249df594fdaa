"""Writing one checked row in its savepoint: borrower and phones, account, case, payment.

A row's changes to the caches wait in its ``RowEffects`` until its savepoint is released.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tui_desk.db.models import (
    AccountStatus,
    CaseStatus,
    CollectionCase,
    Payment,
    PaymentChannel,
    PhoneKind,
    Product,
    Relation,
    Stage,
)
from tui_desk.i18n import _
from tui_desk.rules.imports import AccountRecord, PaymentRecord, Rejected, RowError
from tui_desk.rules.priority import bucket_number, days_past_due, priority_score
from tui_desk.rules.search import name_grams, reverse_digits
from tui_desk.services import ledger
from tui_desk.services.case_state import recompute_priority
from tui_desk.services.contacts import default_next_action, ensure_next_action
from tui_desk.services.importer.checking import Run
from tui_desk.services.importer.known import (
    AccountState,
    BorrowerState,
    Known,
    PaymentState,
    record_values,
)
from tui_desk.services.importer.tables import (
    CASE,
    CASE_ACCOUNTS,
    DELETE_GRAMS,
    INSERT_ACCOUNT,
    INSERT_BORROWER,
    INSERT_CASE,
    INSERT_PHONE,
    UPDATE_ACCOUNT,
    UPDATE_BORROWER,
    UPDATE_CASE,
)
from tui_desk.services.promises import reevaluate_promises


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


class Outcome:
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass
class ChunkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[Rejected] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    toward_archive: list[int] = field(default_factory=list)
    payments: int = 0
    grams: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RowEffects:
    """What a row changed in the caches; applied only once its savepoint is released."""

    borrower: tuple[str, BorrowerState] | None = None
    account: tuple[str, AccountState] | None = None
    payment: tuple[str, PaymentState] | None = None
    case: tuple[int, int] | None = None
    opened: int | None = None
    reopened: int | None = None
    toward_archive: int | None = None
    payment_applied: bool = False
    grams: tuple[int, str] | None = None  # (borrower id, name) to index at the chunk's end


def phone_rows(
    borrower_id: int, numbers: Iterable[tuple[str, str]], now: dt.datetime
) -> list[dict[str, Any]]:
    return [
        {
            "borrower_id": borrower_id,
            "e164": e164,
            "digits_rev": reverse_digits(e164),
            "kind": PhoneKind.LANDLINE if kind == "landline" else PhoneKind.MOBILE,
            "relation": Relation.BORROWER,
            "holder_name": None,
            "verified": False,
            "do_not_call": False,
            "created_at": now,
        }
        for e164, kind in numbers
    ]


def _write_borrower(
    s: Session, run: Run, rec: AccountRecord, known: Known, fx: RowEffects
) -> tuple[int, bool]:
    """The borrower's id, and whether anything about it was written."""
    b = rec.borrower
    values = (b.name, b.id_number, b.address, b.city, b.district, b.region_code)
    state = known.borrowers.get(b.external_id)
    conn = s.connection()
    if state is None:
        zone = b.zone_for_new
        result = conn.execute(
            INSERT_BORROWER,
            {
                "external_id": b.external_id,
                "name": b.name,
                "id_number": b.id_number,
                "id_rev": reverse_digits(b.id_number),
                "address": b.address,
                "city": b.city,
                "district": b.district,
                "region_code": b.region_code,
                "timezone": zone,
                "created_at": run.now,
            },
        )
        bid = _new_id(result)
        fx.grams = (bid, b.name)
        conn.execute(INSERT_PHONE, phone_rows(bid, ((p.e164, p.kind) for p in b.phones), run.now))
        fx.borrower = (b.external_id, BorrowerState(bid, values, zone, {p.e164 for p in b.phones}))
        return bid, True
    changed = False
    zone = b.timezone or state.timezone
    if values != state.values or zone != state.timezone:
        conn.execute(
            UPDATE_BORROWER,
            {
                "_id": state.id,
                "name": b.name,
                "id_number": b.id_number,
                "id_rev": reverse_digits(b.id_number),
                "address": b.address,
                "city": b.city,
                "district": b.district,
                "region_code": b.region_code,
                "timezone": zone,
            },
        )
        if b.name != state.values[0]:
            conn.execute(DELETE_GRAMS, {"_id": state.id})
            fx.grams = (state.id, b.name)
        changed = True
    new_phones = [(p.e164, p.kind) for p in b.phones if p.e164 not in state.phones]
    if new_phones:
        conn.execute(INSERT_PHONE, phone_rows(state.id, new_phones, run.now))
        changed = True
    if changed:
        fx.borrower = (
            b.external_id,
            BorrowerState(state.id, values, zone, state.phones | {e for e, _k in new_phones}),
        )
    return state.id, changed


def case_priority(
    run: Run,
    *,
    overdue_since: dt.date | None,
    overdue_minor: int,
    broken_promises: int,
    next_action_at: dt.datetime | None,
    boost: int = 0,
) -> tuple[int, int]:
    # The same rules as case_state.recompute_priority, on plain values (no ORM object).
    dpd = days_past_due(overdue_since, run.today)
    score = priority_score(
        dpd=dpd,
        overdue_minor=overdue_minor,
        broken_promises=broken_promises,
        next_action_due=next_action_at is not None and next_action_at <= run.now,
        weights=run.profile.priority,
        boost=boost,
    )
    return score.value, bucket_number(dpd, run.profile.dpd_bounds)


def _open_case(s: Session, run: Run, borrower_id: int, rec: AccountRecord) -> int:
    next_action = default_next_action(run.now, run.profile)
    priority, bucket = case_priority(
        run,
        overdue_since=rec.overdue_since,
        overdue_minor=rec.overdue_minor,
        broken_promises=0,
        next_action_at=next_action,
    )
    result = s.connection().execute(
        INSERT_CASE,
        {
            "borrower_id": borrower_id,
            "status": CaseStatus.OPEN,
            "stage": Stage.NEW,
            "owner_id": None,
            "stale": False,
            "on_hold": False,
            "priority": priority,
            "dpd_bucket": bucket,
            "overdue_since": rec.overdue_since,
            "overdue_minor": rec.overdue_minor,
            "broken_promises": 0,
            "next_action_at": next_action,
            "registered": False,
            "documents_complete": False,
            "opened_at": run.now,
            "version": 1,
        },
    )
    return _new_id(result)


def _refresh_case(s: Session, run: Run, case_id: int, fx: RowEffects, *, reopen: bool) -> None:
    """Bring a case's arrears, stage, next action and priority in line with its accounts."""
    conn = s.connection()
    stmt = select(CASE).where(CASE.c.id == case_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    case = conn.execute(stmt).one()
    status = CaseStatus(case.status)
    if status is CaseStatus.CLOSED and not reopen:
        return  # archived: read-only; the account rows are kept up to date all the same
    accounts = conn.execute(CASE_ACCOUNTS, {"_id": case_id}).all()
    overdue = [a for a in accounts if AccountStatus(a[0]) is AccountStatus.OVERDUE]
    overdue_minor = sum(a[1] for a in overdue)
    overdue_since = min((a[2] for a in overdue if a[2] is not None), default=None)
    stage = Stage(case.stage)
    next_action: dt.datetime | None = case.next_action_at
    values: dict[str, Any] = {}
    if reopen and status is CaseStatus.CLOSED:
        status = CaseStatus.OPEN
        stage = Stage.CONTACTING
        next_action = default_next_action(run.now, run.profile)
        values.update(status=status, closed_at=None, close_reason=None)
        fx.reopened = case_id
    if overdue:
        if stage is Stage.PAID:
            stage = Stage.CONTACTING
        if next_action is None:
            next_action = default_next_action(run.now, run.profile)
    else:
        # Nothing overdue any more: toward the archive, an operator decides.
        settled = all(
            AccountStatus(a[0]) is AccountStatus.SETTLED and int(a[3]) == 0 for a in accounts
        )
        if settled:
            stage = Stage.PAID
        if next_action is None or next_action > run.now:
            next_action = run.now
        fx.toward_archive = case_id
    priority, bucket = case_priority(
        run,
        overdue_since=overdue_since,
        overdue_minor=overdue_minor,
        broken_promises=case.broken_promises,
        next_action_at=next_action,
        boost=case.priority_boost or 0,
    )
    values.update(
        overdue_minor=overdue_minor,
        overdue_since=overdue_since,
        stage=stage,
        next_action_at=next_action,
        priority=priority,
        dpd_bucket=bucket,
    )
    conn.execute(UPDATE_CASE, {"_id": case_id, **values})


def account_columns(rec: AccountRecord, case_id: int | None) -> dict[str, Any]:
    """An account's stored columns from its record (all but its ids), on ``case_id``."""
    return {
        "product": Product(rec.product),
        "status": AccountStatus(rec.status),
        "currency": rec.currency,
        "principal_minor": rec.principal_minor,
        "outstanding_principal_minor": rec.outstanding_principal_minor,
        "outstanding_interest_minor": rec.outstanding_interest_minor,
        "outstanding_penalty_minor": rec.outstanding_penalty_minor,
        "outstanding_fees_minor": rec.outstanding_fees_minor,
        "overdue_minor": rec.overdue_minor,
        "annual_rate": rec.annual_rate,
        "opened_on": rec.opened_on,
        "overdue_since": rec.overdue_since,
        "case_id": case_id,
    }


def apply_account(s: Session, run: Run, rec: AccountRecord, known: Known, fx: RowEffects) -> str:
    existing = known.accounts.get(rec.external_id)
    borrower_id, borrower_changed = _write_borrower(s, run, rec, known, fx)
    if existing is not None and existing.borrower_id != borrower_id:
        raise RowError(
            _("account {id} belongs to another borrower than {other}").format(
                id=rec.external_id, other=rec.borrower.external_id
            )
        )
    values = record_values(rec)
    if existing is not None and existing.values == values:
        return Outcome.UPDATED if borrower_changed else Outcome.UNCHANGED
    overdue = rec.status == AccountStatus.OVERDUE.value
    was_overdue = existing is not None and existing.values[1] == AccountStatus.OVERDUE.value
    case_id = existing.case_id if existing is not None else None
    newly_overdue = overdue and not was_overdue
    opened_here = False
    if newly_overdue:
        known_case = known.cases.get(borrower_id)
        if known_case is None:
            case_id = _open_case(s, run, borrower_id, rec)
            fx.case = (borrower_id, case_id)
            fx.opened = case_id
            opened_here = True
        else:
            case_id = known_case
    columns = account_columns(rec, case_id)
    conn = s.connection()
    if existing is None:
        result = conn.execute(
            INSERT_ACCOUNT,
            {"external_id": rec.external_id, "borrower_id": borrower_id, **columns},
        )
        account_id = _new_id(result)
    else:
        account_id = existing.id
        conn.execute(UPDATE_ACCOUNT, {"_id": account_id, **columns})
    if case_id is not None and not opened_here:
        _refresh_case(s, run, case_id, fx, reopen=newly_overdue)
    fx.account = (rec.external_id, AccountState(account_id, borrower_id, case_id, values))
    return Outcome.CREATED if existing is None else Outcome.UPDATED


def _load_case_for_payment(s: Session, case_id: int) -> CollectionCase:
    stmt = (
        select(CollectionCase)
        .where(CollectionCase.id == case_id)
        .execution_options(populate_existing=True)
    )
    if s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return s.scalars(stmt).one()


def apply_payment(s: Session, run: Run, rec: PaymentRecord, known: Known, fx: RowEffects) -> str:
    account = known.accounts.get(rec.account_external_id)
    if account is None:
        raise RowError(_("unknown account {id}").format(id=rec.account_external_id))
    if account.case_id is None:
        raise RowError(
            _("account {id} is not in collection (it was never overdue)").format(
                id=rec.account_external_id
            )
        )
    values = (account.id, rec.amount_minor, rec.paid_on, rec.channel, rec.reference)
    existing = known.payments.get(rec.external_id)
    if existing is not None:
        if existing.values == values:
            return Outcome.UNCHANGED
        if existing.account_id != account.id:
            raise RowError(
                _("payment {id} was booked on another account; it cannot move").format(
                    id=rec.external_id
                )
            )
    case = _load_case_for_payment(s, account.case_id)
    if case.status is CaseStatus.CLOSED:
        raise RowError(_("case {id} is archived").format(id=case.id))
    if existing is None:
        payment = Payment(
            external_id=rec.external_id,
            case_id=case.id,
            account_id=account.id,
            amount_minor=rec.amount_minor,
            paid_on=rec.paid_on,
            channel=PaymentChannel(rec.channel),
            reference=rec.reference,
            recorded_by_id=run.actor.id if run.actor else None,
            recorded_at=run.now,
        )
        s.add(payment)
    else:
        found = s.get(Payment, existing.id)
        assert found is not None
        payment = found
        payment.amount_minor = rec.amount_minor
        payment.paid_on = rec.paid_on
        payment.channel = PaymentChannel(rec.channel)
        payment.reference = rec.reference
    s.flush()
    # As a payment recorded at the desk: promises, the active plan (and door money) follow.
    reevaluate_promises(s, case, now=run.now, profile=run.profile, break_overdue=False)
    ledger.recompute(s, case, run.now, run.profile)
    ensure_next_action(case, run.now, run.profile)
    recompute_priority(case, run.now, run.profile)
    s.flush()
    fx.payment = (rec.external_id, PaymentState(payment.id, account.id, values))
    fx.payment_applied = True
    return Outcome.CREATED if existing is None else Outcome.UPDATED


def commit_effects(known: Known, fx: RowEffects, out: ChunkResult) -> None:
    if fx.grams:
        bid, name = fx.grams
        out.grams.extend({"gram": g, "borrower_id": bid} for g in sorted(name_grams(name)))
    if fx.borrower:
        known.borrowers[fx.borrower[0]] = fx.borrower[1]
    if fx.account:
        known.accounts[fx.account[0]] = fx.account[1]
    if fx.payment:
        known.payments[fx.payment[0]] = fx.payment[1]
    if fx.case:
        known.cases[fx.case[0]] = fx.case[1]
    if fx.opened is not None:
        out.opened.append(fx.opened)
    if fx.reopened is not None:
        out.reopened.append(fx.reopened)
    if fx.toward_archive is not None:
        out.toward_archive.append(fx.toward_archive)
    if fx.payment_applied:
        out.payments += 1
