"""Keep the search side data in step with borrowers and phones.

Names: every 1- and 2-character piece in ``borrower_name_gram`` (see rules/search.py).
Phones and ID numbers: reversed digits in ``phone.digits_rev`` / ``borrower.id_rev``, so
"last digits" is an indexed prefix search.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from tui_desk.db.models import Borrower, BorrowerNameGram, Phone
from tui_desk.rules.search import MAX_GRAM, name_grams, reverse_digits


def bulk_name_grams_sql(first_id: int, last_id: int, longest_name: int) -> str:
    """One statement that indexes the names of borrowers ``first_id..last_id`` (bulk loads).

    Written in the database (substr/length count characters on both engines). Inserting
    in scan order and skipping repeats with ON CONFLICT is twice as fast on SQLite as
    sorting first (DISTINCT ... ORDER BY). ``longest_name`` bounds the pieces tried.
    """
    pieces = ", ".join(
        f"({i}, {n})" for n in range(1, MAX_GRAM + 1) for i in range(1, max(1, longest_name) + 1)
    )
    return (
        f"WITH pieces (i, n) AS (VALUES {pieces}) "
        "INSERT INTO borrower_name_gram (gram, borrower_id) "
        "SELECT substr(b.name, p.i, p.n), b.id FROM borrower b "
        "JOIN pieces p ON p.i + p.n - 1 <= length(b.name) "
        f"WHERE b.id BETWEEN {int(first_id)} AND {int(last_id)} "
        "ON CONFLICT DO NOTHING"
    )


def index_borrower(session: Session, borrower: Borrower) -> None:
    """(Re)index one borrower's name and ID number inside the caller's transaction."""
    session.flush()
    borrower.id_rev = reverse_digits(borrower.id_number)
    session.execute(delete(BorrowerNameGram).where(BorrowerNameGram.borrower_id == borrower.id))
    session.add_all(
        BorrowerNameGram(gram=g, borrower_id=borrower.id) for g in sorted(name_grams(borrower.name))
    )


def index_phone(phone: Phone) -> None:
    phone.digits_rev = reverse_digits(phone.e164)
