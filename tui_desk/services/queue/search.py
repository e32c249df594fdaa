"""Search access paths: a case number, a phone number or its last digits, an ID tail, a name.

The side indexes give borrowers, not queue order; ``access.dense_threshold`` decides
between ranking the matches and walking the queue order (see the package doc).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

import tui_desk.services.queue.access as access
from tui_desk.db.models import Borrower, BorrowerNameGram, Phone
from tui_desk.services.queue.access import Access, Nothing, PageContext, Ranked, Walk, probe
from tui_desk.services.queue.filters import QueueFilter, Search
from tui_desk.services.queue.tables import OPEN, AnySelect, bool_is

# Most borrowers whose cases one search ranks (see the package doc).
CANDIDATE_CAP = 20_000
# Two-character pieces of a long name probed for the rarest (names are short; this bounds
# what a pasted paragraph costs).
MAX_PIECES = 6
_MAX_ID = 2**31 - 1  # ids are 32-bit integers on both engines


def _prefix_range(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix`` (digits, maybe a leading X), as an index range.

    The upper bound stays within digits and letters, so the range is the same under any
    collation (punctuation such as ":" is ignored by some PostgreSQL locales).
    """
    for i in range(len(prefix) - 1, -1, -1):
        ch = prefix[i]
        if ch in "012345678":
            return and_(column >= prefix, column < prefix[:i] + chr(ord(ch) + 1))
        if ch in "Xx":
            return and_(column >= prefix, column < prefix[:i] + "Y")
    # All nines: what follows is digits, all below "X".
    return and_(column >= prefix, column < prefix + "X")


def _side_lookup(
    session: Session,
    flt: QueueFilter,
    ctx: PageContext,
    holders: AnySelect,
    holds: Callable[[Any], ColumnElement[bool]],
    via: str,
) -> Access:
    """Cases of the borrowers a side index finds (``holders``; ``holds(t)`` tests one).

    Few holders: rank their cases. Many: walk the queue order testing each case, as
    matches are dense enough to fill a page soon (see ``access.dense_threshold``).
    """
    # Looked up through its module: replacing the threshold there reaches the filters
    # and the search alike.
    threshold = access.dense_threshold(session, ctx.limit)
    n = probe(session, holders, threshold)
    if n == 0:
        return Nothing()
    if n > threshold:

        def dense(t: Any) -> tuple[ColumnElement[bool], ...]:
            held = (t.c.on_hold.is_(True),) if flt.on_hold else ()
            return (t.c.status == OPEN, *held, holds(t))

        return Walk(dense, "ix_case_hold_queue" if flt.on_hold else "ix_case_queue")
    sub = holders.limit(CANDIDATE_CAP).scalar_subquery()

    def ranked(t: Any) -> tuple[ColumnElement[bool], ...]:
        held = (bool_is(t.c.on_hold, True),) if flt.on_hold else ()
        return (t.c.borrower_id.in_(sub), *held)

    return Ranked(ranked, via)


def search_access(session: Session, flt: QueueFilter, found: Search, ctx: PageContext) -> Access:
    if found.kind == "too_short":
        return Nothing()
    if found.kind == "case_id":
        case_id = int(found.text)
        if case_id > _MAX_ID:  # more digits than any case number has
            return Nothing()

        def by_id(t: Any) -> tuple[ColumnElement[bool], ...]:
            held = (bool_is(t.c.on_hold, True),) if flt.on_hold else ()
            return (t.c.id == case_id, *held)

        return Ranked(by_id, "pk_collection_case")
    if found.kind in ("phone", "phone_suffix"):
        digits = found.text

        def number(column: Any) -> ColumnElement[bool]:
            if found.kind == "phone":
                return cast(ColumnElement[bool], column == digits)
            return _prefix_range(column, digits)

        return _side_lookup(
            session,
            flt,
            ctx,
            select(Phone.borrower_id).where(number(Phone.digits_rev)),
            lambda t: exists().where(
                Phone.borrower_id == t.c.borrower_id, number(Phone.digits_rev)
            ),
            "ix_phone_digits_rev",
        )
    if found.kind == "id_tail":
        tail = found.text
        return _side_lookup(
            session,
            flt,
            ctx,
            select(Borrower.id).where(_prefix_range(Borrower.id_rev, tail)),
            lambda t: exists().where(
                Borrower.id == t.c.borrower_id, _prefix_range(Borrower.id_rev, tail)
            ),
            "ix_borrower_id_rev",
        )
    return _name_access(session, flt, found.text, ctx)


def _name_access(session: Session, flt: QueueFilter, name: str, ctx: PageContext) -> Access:
    g = BorrowerNameGram
    if len(name) <= 2:
        return _side_lookup(
            session,
            flt,
            ctx,
            select(g.borrower_id).where(g.gram == name),
            lambda t: exists().where(g.gram == name, g.borrower_id == t.c.borrower_id),
            "pk_borrower_name_gram",
        )
    # Longer names: the rarest two-character piece narrows, LIKE confirms. Each probe
    # counts no further than the best so far, so trying every piece stays cheap.
    threshold = access.dense_threshold(session, ctx.limit)
    pieces = list(dict.fromkeys(name[i : i + 2] for i in range(len(name) - 1)))
    best, best_n = pieces[0], threshold + 1
    for piece in pieces[:MAX_PIECES]:
        n = probe(session, select(g.borrower_id).where(g.gram == piece), best_n - 1)
        if n == 0:
            return Nothing()
        if n < best_n:
            best, best_n = piece, n
    # Cases are found through the borrowers' names: those holding the piece, by key.
    holders = select(Borrower.id).where(
        Borrower.id.in_(select(g.borrower_id).where(g.gram == best)),
        Borrower.name.contains(name, autoescape=True),
    )
    sub = holders.limit(CANDIDATE_CAP).scalar_subquery()

    def ranked(t: Any) -> tuple[ColumnElement[bool], ...]:
        held = (bool_is(t.c.on_hold, True),) if flt.on_hold else ()
        return (t.c.borrower_id.in_(sub), *held)

    return Ranked(ranked, "pk_borrower_name_gram")
