"""Keyset pages of the queue: the keys of a page in queue order, then its rows."""

from __future__ import annotations

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

from tui_desk.i18n import _
from tui_desk.services.context import Context
from tui_desk.services.queue.access import Access, Nothing, PageContext, Ranked, Walk, filter_access
from tui_desk.services.queue.filters import QueueFilter, read_search
from tui_desk.services.queue.rows import page_rows
from tui_desk.services.queue.search import search_access
from tui_desk.services.queue.tables import (
    case_indexed_by,
    queue_asc,
    queue_desc,
    queue_key,
)
from tui_desk.services.validation import (
    MAX_ID,
    InvalidInput,
    check_int,
    check_text,
)
from tui_desk.views.queue import QueueKey, QueuePage

MAX_WINDOW = 1000
"""The most rows one page may ask for."""


def _access(session: Session, flt: QueueFilter, ctx: PageContext) -> Access:
    if flt.search.strip():
        found = read_search(flt.search, ctx.profile.country)
        return search_access(session, flt, found, ctx)
    return filter_access(session, flt, ctx)


def page_statement(
    access: Walk | Ranked, *, after: QueueKey | None, before: QueueKey | None, limit: int
) -> Select[int, int]:
    """Keys of one page in queue order (``before``: the page above, read upwards).

    A walk reads its index in this order and stops after ``limit`` rows; ranked
    candidates are sorted by the database, which keeps only the best ``limit`` of them.
    """
    t = case_indexed_by(access.index)
    stmt = select(t.c.id, t.c.priority).where(*access.terms(t))
    if before is not None:
        stmt = stmt.where(queue_key(t) > tuple_(*before)).order_by(*queue_asc(t))
    else:
        if after is not None:
            stmt = stmt.where(queue_key(t) < tuple_(*after))
        stmt = stmt.order_by(*queue_desc(t))
    return stmt.limit(limit)


def _at_or_above(key: QueueKey) -> QueueKey:
    # Ids are integers: "> (p, i - 1)" is ">= (p, i)", so row-value ranges stay strict.
    return (key[0], key[1] - 1)


def _at_or_below(key: QueueKey) -> QueueKey:
    return (key[0], key[1] + 1)


def _keys(
    session: Session,
    access: Access,
    *,
    after: QueueKey | None,
    before: QueueKey | None,
    limit: int,
) -> tuple[list[QueueKey], bool, bool]:
    """The page's keys in queue order, and whether rows exist after / before it.

    Rows "before" a page scrolled down to (``after=k``) are those at or above ``k``; rows
    "after" a page scrolled up to (``before=k``) are those at or below ``k``.
    """
    if isinstance(access, Nothing):
        return [], False, False
    conn = session.connection()
    if before is not None:
        stmt = page_statement(access, after=None, before=before, limit=limit + 1)
        up = [(priority, case_id) for case_id, priority in conn.execute(stmt)]
        more_after = _exists(session, access, below=_at_or_below(before))
        return list(reversed(up[:limit])), more_after, len(up) > limit
    stmt = page_statement(access, after=after, before=None, limit=limit + 1)
    keys = [(priority, case_id) for case_id, priority in conn.execute(stmt)]
    more_before = after is not None and _exists(session, access, above=_at_or_above(after))
    return keys[:limit], len(keys) > limit, more_before


def _exists(
    session: Session,
    access: Walk | Ranked,
    *,
    below: QueueKey | None = None,
    above: QueueKey | None = None,
) -> bool:
    """Is there a match below / above a key? (Usually the neighbouring page: found at once.)"""
    t = case_indexed_by(access.index)
    stmt = select(t.c.id).where(*access.terms(t))
    if below is not None:
        stmt = stmt.where(queue_key(t) < tuple_(*below))
    if above is not None:
        stmt = stmt.where(queue_key(t) > tuple_(*above))
    if isinstance(access, Walk):
        # Walk away from the key, so the nearest match ends the scan.
        stmt = stmt.order_by(*(queue_desc(t) if below is not None else queue_asc(t)))
    return session.connection().execute(stmt.limit(1)).first() is not None


def queue_page(
    ctx: Context,
    flt: QueueFilter,
    *,
    after: QueueKey | None = None,
    before: QueueKey | None = None,
    limit: int = 60,
) -> QueuePage:
    """One page of the queue in ``ORDER BY priority DESC, id DESC`` order.

    ``after``: the page below that key (scrolling down); ``before``: the page above it
    (scrolling up); neither: the top. ``more_after`` / ``more_before`` say whether
    another page exists in each direction (checked, not counted).
    """
    if not isinstance(flt, QueueFilter):
        raise InvalidInput("flt", _("is not a queue filter"))
    check_text("search", flt.search, 100)
    check_int("limit", limit, low=-MAX_ID, high=MAX_ID)  # clamped below
    now = ctx.now()
    if after is not None and before is not None:
        raise ValueError("give after or before, not both")
    prof = ctx.profile
    limit = max(1, min(limit, MAX_WINDOW))
    page = PageContext(actor=ctx.actor, now=now, profile=prof, limit=limit)
    with ctx.db.read() as s:
        access = _access(s, flt, page)
        keys, more_after, more_before = _keys(s, access, after=after, before=before, limit=limit)
        rows = page_rows(s, keys, now, prof)
    return QueuePage(rows=tuple(rows), more_after=more_after, more_before=more_before)
