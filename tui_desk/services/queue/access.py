"""Access paths: how the keys of a page are found, and the path of a queue without search.

A path either walks a queue index in queue order (``Walk``), ranks a bounded set of
candidates (``Ranked``) or knows there is nothing (``Nothing``). The search builds its
paths in ``search`` from the same pieces.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.orm import Session

from tui_desk.db.models import Stage
from tui_desk.i18n import _
from tui_desk.rules.priority import bucket_labels
from tui_desk.rules.profile import Profile
from tui_desk.services.context import Actor
from tui_desk.services.errors import ServiceError
from tui_desk.services.queue.filters import QueueFilter, Scope
from tui_desk.services.queue.tables import CASE, OPEN, AnySelect, case_indexed_by

# A literal zero, not a bound parameter: PostgreSQL proves a partial index's predicate
# (``broken_promises > 0``) from constants only, and a generic plan has none.
_ZERO: ColumnElement[int] = literal_column("0")


# --- keys: which cases, in queue order ------------------------------------------------

# Terms are built for a given table (the pinned alias or the plain table), so statements
# are composed directly instead of rewritten afterwards.
_Terms = Callable[[Any], tuple[ColumnElement[bool], ...]]


@dataclass(frozen=True)
class Walk:
    """Walk ``index`` in queue order, checking the terms on each entry."""

    terms: _Terms
    index: str


@dataclass(frozen=True)
class Ranked:
    """A bounded set of cases found through ``via``, ranked by the database.

    ``index`` pins the collection_case index when the set is read from one; otherwise
    the set is reached by primary key or the borrower_id key from a side table.
    """

    terms: _Terms
    via: str
    index: str | None = None


@dataclass(frozen=True)
class Nothing:
    pass


Access = Walk | Ranked | Nothing


@dataclass(frozen=True)
class PageContext:
    actor: Actor
    now: dt.datetime
    profile: Profile
    limit: int


def dense_threshold(session: Session, limit: int) -> int:
    """Above this many candidates, walking the queue order beats ranking them all.

    Walking costs about ``limit x cases / matches`` probes, ranking costs ``matches``;
    they meet at ``sqrt(limit x cases)``. ``max(id)`` stands in for the number of cases
    (one index lookup; closed cases only make it a little generous).
    """
    cases = session.connection().scalar(select(func.max(CASE.c.id))) or 0
    return max(200, math.isqrt((limit + 1) * cases))


def probe(session: Session, stmt: AnySelect, bound: int) -> int:
    """How many rows ``stmt`` yields, counting no further than ``bound + 1``."""
    sub = stmt.limit(bound + 1).subquery()
    return int(session.connection().scalar(select(func.count()).select_from(sub)) or 0)


# --- the queue without search text ------------------------------------------------------


def _office_day_bounds(now: dt.datetime, profile: Profile) -> tuple[dt.date, dt.datetime]:
    zone = ZoneInfo(profile.office_timezone)
    today = now.astimezone(zone).date()
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return today, end.astimezone(dt.UTC)


def _bucket_number(label: str, profile: Profile) -> int:
    """The stored ``dpd_bucket`` of a bucket label ("1-30" -> 1, ..., "91+" -> 4)."""
    labels = bucket_labels(profile.dpd_bounds)
    if label not in labels:
        raise ServiceError(
            _("unknown days-past-due bucket {bucket}; use one of {labels}").format(
                bucket=label, labels=", ".join(labels)
            )
        )
    return labels.index(label) + 1


@dataclass(frozen=True)
class _Narrowing:
    """One filter with an index of its own: the index, and the filter's term."""

    index: str
    term: Callable[[Any], ColumnElement[bool]]


def _narrowings(flt: QueueFilter, me: int, bucket: int | None) -> list[_Narrowing]:
    """The filters that have an index of their own, most selective first."""
    found: list[_Narrowing] = []
    if flt.on_hold:
        found.append(_Narrowing("ix_case_hold_queue", lambda t: t.c.on_hold.is_(True)))
    if flt.broken_only:
        found.append(_Narrowing("ix_case_broken_queue", lambda t: t.c.broken_promises > _ZERO))
    if flt.scope is Scope.MINE:
        found.append(_Narrowing("ix_case_owner_queue", lambda t: t.c.owner_id == me))
    stage = flt.stage
    by_stage = _Narrowing("ix_case_stage_queue", lambda t: t.c.stage == stage) if stage else None
    # Most open cases are new or being contacted; every later stage holds a few percent,
    # fewer than the registered ones, so a later stage drives ahead of "registered".
    stage_first = stage not in (None, Stage.NEW, Stage.CONTACTING)
    if by_stage is not None and stage_first:
        found.append(by_stage)
    if flt.registered_only:
        found.append(_Narrowing("ix_case_registered_queue", lambda t: t.c.registered.is_(True)))
    if bucket is not None:
        found.append(_Narrowing("ix_case_bucket_queue", lambda t: t.c.dpd_bucket == bucket))
    if by_stage is not None and not stage_first:
        found.append(by_stage)
    if flt.scope is Scope.UNOWNED:
        found.append(_Narrowing("ix_case_unowned_queue", lambda t: t.c.owner_id.is_(None)))
    return found


# Indexes small enough that a walk through them is cheap whatever else is asked.
_SMALL = frozenset({"ix_case_hold_queue", "ix_case_broken_queue", "ix_case_owner_queue"})


def filter_access(session: Session, flt: QueueFilter, ctx: PageContext) -> Access:
    """The access path of a queue without search text: the most selective filter drives.

    The other filters are checked on the rows its index yields. On SQLite the index is
    named (INDEXED BY), so plain terms cannot lure the planner elsewhere; PostgreSQL
    weighs them with its statistics and may walk another of the queue indexes.
    """
    _today, end_of_day = _office_day_bounds(ctx.now, ctx.profile)
    bucket = _bucket_number(flt.bucket, ctx.profile) if flt.bucket else None
    narrowings = _narrowings(flt, ctx.actor.id, bucket)
    index = narrowings[0].index if narrowings else "ix_case_queue"

    def terms(t: Any) -> tuple[ColumnElement[bool], ...]:
        found = [t.c.status == OPEN, *(n.term(t) for n in narrowings)]
        if not flt.on_hold and not flt.no_next_action:
            found.append(t.c.on_hold.is_(False))
            if flt.stage is None:
                # A case in follow-up pays by its plan: it leaves the contact queue (a
                # missed instalment brings it back); the stage filter, the hold filter
                # and a search still find it.
                found.append(t.c.stage != Stage.FOLLOW_UP)
        if flt.due_today:
            found.append(t.c.next_action_at < end_of_day)
        if flt.no_next_action:
            found.append(t.c.next_action_at.is_(None))
        return tuple(found)

    if flt.no_next_action and index not in _SMALL:
        # Orphans are normally none or a few: read them through the NULL range of
        # ix_case_next_action and rank them; if a bulk change left many, they are dense
        # enough for walking the queue order to fill a page soon.
        threshold = dense_threshold(session, ctx.limit)
        if probe(session, _orphan_keys(), threshold) <= threshold:
            return Ranked(terms, "ix_case_next_action", "ix_case_next_action")
    if flt.due_today and index not in _SMALL:
        # A broad index: if few cases are due, reach them through ix_case_next_action.
        threshold = dense_threshold(session, ctx.limit)
        due_t = case_indexed_by("ix_case_next_action")
        due = select(due_t.c.id).where(due_t.c.status == OPEN, due_t.c.next_action_at < end_of_day)
        if probe(session, due, threshold) <= threshold:
            return Ranked(terms, "ix_case_next_action", "ix_case_next_action")
    return Walk(terms, index)


def _orphan_keys() -> AnySelect:
    """Ids of the orphans through the NULL range of ix_case_next_action (for probing)."""
    t = case_indexed_by("ix_case_next_action")
    return select(t.c.id).where(t.c.status == OPEN, t.c.next_action_at.is_(None))
