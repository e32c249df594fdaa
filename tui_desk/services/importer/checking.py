"""Checking a row before any transaction: the run's context and the row's verdict."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tui_desk.db.engine import Database
from tui_desk.db.models import PaymentChannel, Product
from tui_desk.i18n import _
from tui_desk.rules.imports import (
    AccountRecord,
    BatchLedger,
    PaymentRecord,
    Rejected,
    RowError,
    parse_account,
    parse_payment,
    row_identifier,
)
from tui_desk.rules.profile import Profile
from tui_desk.services.context import Actor
from tui_desk.services.importer.results import ImportSummary
from tui_desk.services.importer.sources import RawRow

_PRODUCTS = frozenset(p.value for p in Product)
_CHANNELS = frozenset(c.value for c in PaymentChannel)


@dataclass
class Run:
    db: Database
    actor: Actor | None
    now: dt.datetime
    profile: Profile
    today: dt.date
    summary: ImportSummary
    seen: BatchLedger = field(default_factory=BatchLedger)


def check(run: Run, raw: RawRow) -> AccountRecord | PaymentRecord | Rejected:
    ident = row_identifier(raw.fields, raw.kind) if raw.kind else None
    try:
        if raw.kind is not None:
            run.seen.claim(raw.kind, ident, raw.row_no)
        if raw.problem is not None or raw.kind is None:
            raise RowError(raw.problem or _("unknown record"))
        if raw.kind == "payment":
            return parse_payment(raw.fields, raw.row_no, today=run.today, channels=_CHANNELS)
        record = parse_account(
            raw.fields, raw.row_no, today=run.today, products=_PRODUCTS,
            phone_region=run.profile.country, identity=run.profile.identity,
            office_zone=run.profile.office_timezone, default_currency=run.profile.currency,
        )  # fmt: skip
        run.seen.check_borrower(record)
        return record
    except RowError as exc:
        return Rejected(raw.row_no, ident, str(exc))
