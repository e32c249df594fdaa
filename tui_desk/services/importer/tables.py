"""The tables an import writes through Core statements, and those statements."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, delete, insert, select, update

from tui_desk.db.models import (
    Borrower,
    BorrowerNameGram,
    CollectionCase,
    LoanAccount,
    Payment,
    Phone,
)

BORROWER = cast(Table, Borrower.__table__)
PHONE = cast(Table, Phone.__table__)
GRAM = cast(Table, BorrowerNameGram.__table__)
ACCOUNT = cast(Table, LoanAccount.__table__)
CASE = cast(Table, CollectionCase.__table__)
PAYMENT = cast(Table, Payment.__table__)

# Built once: the same statement objects keep SQLAlchemy's compiled cache hot, and the
# values travel as parameters (per-row ``.values(...)`` costs more than the insert).
INSERT_BORROWER = insert(BORROWER)
INSERT_PHONE = insert(PHONE)
INSERT_GRAM = insert(GRAM)
INSERT_ACCOUNT = insert(ACCOUNT)
INSERT_CASE = insert(CASE)
UPDATE_BORROWER = update(BORROWER).where(BORROWER.c.id == bindparam("_id"))
UPDATE_ACCOUNT = update(ACCOUNT).where(ACCOUNT.c.id == bindparam("_id"))
UPDATE_CASE = update(CASE).where(CASE.c.id == bindparam("_id")).values(version=CASE.c.version + 1)
DELETE_GRAMS = delete(GRAM).where(GRAM.c.borrower_id == bindparam("_id"))
CASE_ACCOUNTS = select(
    ACCOUNT.c.status,
    ACCOUNT.c.overdue_minor,
    ACCOUNT.c.overdue_since,
    ACCOUNT.c.outstanding_principal_minor
    + ACCOUNT.c.outstanding_interest_minor
    + ACCOUNT.c.outstanding_penalty_minor
    + ACCOUNT.c.outstanding_fees_minor,
).where(ACCOUNT.c.case_id == bindparam("_id"))
