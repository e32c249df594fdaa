"""The work queue: filtered keyset pages, incremental search, take-next leases, orphans.

Reading the queue
-----------------
A page is found in two steps. First the *keys* ``(priority, id)`` of at most ``limit + 1``
open cases, by one query on ``collection_case`` alone that an index answers in queue
order (``ORDER BY priority DESC, id DESC``; keyset, never OFFSET, never COUNT); then the
page's details (borrower, owner, lease holder, phones) by primary key. Keeping the joins
out of the first step keeps the planners from driving the query from the wrong table.

Every filter has an access path: the partial indexes for held, broken-promise, registered
and unowned cases, ``ix_case_owner_queue`` for "mine", ``ix_case_stage_queue`` for a
stage, ``ix_case_queue`` otherwise. When filters are combined the most selective one
drives and the others are checked on the rows it yields. SQLite is told the index
(``INDEXED BY``, see ``_IndexedBy``); PostgreSQL picks among the same indexes from its
statistics. Where candidates come from a side table, the case's status is tested as
``coalesce(status, '')``, a form no index serves, so that neither engine walks a queue
index testing membership instead.

The DPD bucket is stored with the priority (``dpd_bucket``, refreshed with it every
night) and has its own queue index. Two filters cannot be served in queue order:
- ``due_today``: ``ix_case_next_action`` finds the due cases but not in priority order.
  A bounded probe decides: few due cases are read through that index and ranked; many
  are found by walking the queue order (where they are dense).
- ``no_next_action`` (orphans: open cases whose next action date was lost): the same,
  through the ``next_action_at IS NULL`` range of ``ix_case_next_action``. Normally
  there are none or a few, so they are ranked; paging is by the same ``(priority, id)``
  keys as every page, never by the NULL column. Held orphans are listed too (marked):
  an orphan must be surfaced whatever else holds the case.

Search
------
Search looks at every case whatever the scope and filters (an operator searching for a
borrower expects to find them), held cases included, since an inbound call from a
borrower on hold must still be logged; held rows carry ``on_hold`` for the desk to
mark. Archived (closed) cases are found too, ranked last (priority 0), read-only when
opened; only a match so common that the queue order is walked (a one-character name)
lists open cases alone. ``on_hold=True`` narrows a search to held cases. Matches are ranked like the
queue and paged by the same keys:
- ``#123``: that case;
- a phone number in any format (``+86 138 1234 8000``, ``0086-138…``, ``13812348000``)
  that ``phonenumbers`` accepts: exact match on ``phone.digits_rev``; other digit runs of
  4 or more: the number's last digits, a prefix range on ``phone.digits_rev`` (numbers
  of relatives and employers count: an inbound call may come from any of them);
- ``id:…`` or ``…X``: last characters of the ID number, a prefix range on
  ``borrower.id_rev`` (at least 4 characters);
- a name: through ``borrower_name_gram``. One or two characters are a gram; a longer
  name is looked up by its rarest two-character piece and confirmed with LIKE.

The side index gives borrowers, not queue order. If few borrowers match, their cases are
ranked by the database (a top-N sort); if many do, walking the queue order and testing
each case fills a page sooner. Walking costs about ``limit x cases / matches`` probes and
ranking about ``matches``; they meet at ``sqrt(limit x cases)`` matches (about 7,800 at
a million cases), so a page never costs much more than that many probes: measured
20-30 ms at the crossover, 1-15 ms elsewhere. A bounded count of the side index picks
the way. A long name whose every piece is that common ranks at most ``CANDIDATE_CAP``
borrowers (the operator types more).

Leases
------
``take_next`` and ``claim_case`` give the actor a lease: ``lease_holder_id`` and
``lease_expires_at``. Expiry is derived when read (``lease_expires_at > now`` means held),
never swept, so a dropped SSH session frees its case by itself. An agent holds at most
one lease: claiming releases the previous one in the same transaction. A lease is not an
edit of the case, so it is written with Core updates that leave the optimistic
``version`` alone: an operator who opened the case keeps their version across lease
renewals, and an edit based on a stale read is still refused by ``load_for_edit``. Take
next offers due work only (next action at or before now): a case just worked has its
next action moved ahead by the contact log and does not come straight back.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Alias

from tui_desk.clock import utcnow
from tui_desk.db.engine import Database, DatabaseBusy
from tui_desk.db.models import (
    Agent,
    Borrower,
    BorrowerNameGram,
    CaseStatus,
    CollectionCase,
    Phone,
    PhoneKind,
    Relation,
    Stage,
)
from tui_desk.i18n import _, ngettext
from tui_desk.rules.masking import mask_phone
from tui_desk.rules.permissions import Action
from tui_desk.rules.phones import normalise_phone
from tui_desk.rules.priority import bucket_labels
from tui_desk.rules.profile import Profile, load_profile
from tui_desk.rules.search import parse_query, reverse_digits
from tui_desk.services import audit
from tui_desk.services.context import Actor, Context
from tui_desk.services.desk import MAX_WINDOW, _CaseFacts, _national, _why
from tui_desk.services.errors import NotFound, ServiceError
from tui_desk.views.queue import Claim, ClaimReason, QueueKey, QueuePage, QueueRow

__all__ = [
    "CANDIDATE_CAP",
    "MIN_SUFFIX",
    "LeaseHeld",
    "QueueFilter",
    "Scope",
    "claim_case",
    "orphan_count",
    "orphans",
    "queue_page",
    "queue_reason",
    "release_lease",
    "renew_lease",
    "take_next",
]

# Fewer digits than this match too many numbers to be a search (and "8" is not a query).
MIN_SUFFIX = 4
# Most borrowers whose cases one search ranks (see the module doc).
CANDIDATE_CAP = 20_000
# Two-character pieces of a long name probed for the rarest (names are short; this bounds
# what a pasted paragraph costs).
MAX_PIECES = 6
# Queue positions examined when looking for a case owned by someone else that may be
# taken (owner inactive, case marked stale, a stale callback): ``stale`` has no index.
STALE_SCAN = 2_000
DEFAULT_CALLBACK_STALE_MINUTES = 30

_CASE = cast(Table, CollectionCase.__table__)
_AnySelect = Select[*tuple[Any, ...]]
_C = CollectionCase
_OPEN = CaseStatus.OPEN
# A literal zero, not a bound parameter: PostgreSQL proves a partial index's predicate
# (``broken_promises > 0``) from constants only, and a generic plan has none.
_ZERO: ColumnElement[int] = literal_column("0")
_MAX_ID = 2**31 - 1  # ids are 32-bit integers on both engines


# --- pinning the index on SQLite -----------------------------------------------------


class _IndexedBy(Alias):
    """``collection_case`` read through a named index: ``INDEXED BY`` on SQLite.

    Several queue indexes share their columns (status, priority, id) and differ only in
    their partial WHERE. Without ANALYZE statistics SQLite rates them alike and picks by
    the order the indexes were created in, so a seeded database (indexes rebuilt in name
    order) walked the whole queue for "on hold" (43 ms) where a fresh one used the
    partial index. Naming the index makes the plan the same on every file; a query the
    index cannot serve then fails loudly instead of scanning. PostgreSQL plans from its
    statistics and gets a plain alias. The alias is named after the index, so the
    statement cache keeps one compiled form per index.
    """

    inherit_cache = True
    index_name: str

    @classmethod
    def of(cls, index: str) -> _IndexedBy:
        alias = cls._construct(_CASE, name=index)
        alias.index_name = index
        return alias


@compiles(_IndexedBy, "sqlite")
def _indexed_by_sqlite(element: _IndexedBy, compiler: SQLCompiler, **kw: Any) -> str:
    text: str = compiler.visit_alias(element, **kw)  # type: ignore[no-untyped-call]
    if kw.get("asfrom"):
        text += f" INDEXED BY {element.index_name}"
    return text


def case_indexed_by(index: str | None) -> Any:
    """``collection_case`` pinned to ``index``, or as is (None: the planner's choice)."""
    return _IndexedBy.of(index) if index is not None else _CASE


# --- the filter ------------------------------------------------------------------------


class Scope(enum.StrEnum):
    ALL = "all"
    MINE = "mine"
    UNOWNED = "unowned"


SearchKind = Literal["none", "case_id", "phone", "phone_suffix", "id_tail", "name", "too_short"]


@dataclass(frozen=True)
class _Search:
    kind: SearchKind
    text: str  # the case id, reversed digits, or the name, by kind
    shown: str  # what describe() quotes


def _read_search(raw: str, region: str) -> _Search:
    parsed = parse_query(raw)
    if parsed.kind == "empty":
        return _Search("none", "", "")
    if parsed.kind == "case_id":
        return _Search("case_id", str(int(parsed.text)), parsed.text)
    if parsed.kind == "id_tail":
        rev = reverse_digits(parsed.text)
        if len(rev) < MIN_SUFFIX:
            return _Search("too_short", "id", parsed.text)
        return _Search("id_tail", rev, parsed.text)
    if parsed.kind == "phone":
        check = normalise_phone(parsed.text, region)
        if check.ok and check.e164:
            return _Search("phone", reverse_digits(check.e164), check.e164)
        digits = "".join(ch for ch in parsed.text if ch.isdigit())
        if len(digits) < MIN_SUFFIX:
            return _Search("too_short", "phone", digits)
        return _Search("phone_suffix", digits[::-1], digits)
    return _Search("name", parsed.text, parsed.text)


@dataclass(frozen=True)
class QueueFilter:
    """What the operator asked to see. With ``search`` set, only ``on_hold`` still applies."""

    scope: Scope = Scope.ALL
    bucket: str | None = None
    stage: Stage | None = None
    broken_only: bool = False
    due_today: bool = False
    # False: held cases are left out (a held case leaves the contact queue); True: only
    # held cases. Cases in follow-up are left out like held ones unless ``stage`` (or
    # ``on_hold``) asks for them.
    on_hold: bool = False
    registered_only: bool = False
    # Only open cases without a next action date (orphans), held ones included.
    no_next_action: bool = False
    search: str = ""

    def describe(self, *, region: str = "CN") -> str:
        """A short summary for the status line (says when a search needs more input).

        ``region``: the profile's country, which numbers typed without a country code
        belong to (the same reading the search itself makes).
        """
        if self.search.strip():
            found = _read_search(self.search, region)
            if found.kind == "too_short":
                what = (
                    _("type at least {n} digits").format(n=MIN_SUFFIX)
                    if found.text == "phone"
                    else _("type at least {n} characters of the ID").format(n=MIN_SUFFIX)
                )
            elif found.kind == "case_id":
                what = _("case #{case_id}").format(case_id=found.shown)
            elif found.kind == "phone":
                what = _("phone {number}").format(number=found.shown)
            elif found.kind == "phone_suffix":
                what = _("phone ending {digits}").format(digits=found.shown)
            elif found.kind == "id_tail":
                what = _("ID ending {tail}").format(tail=found.shown)
            else:
                what = _("name “{name}”").format(name=found.shown)
            parts = [_("search: {what}").format(what=what)]
            if self.on_hold:
                parts.append(_("on hold only"))
            return " · ".join(parts)
        scope = {
            Scope.ALL: _("all open cases"),
            Scope.MINE: _("my cases"),
            Scope.UNOWNED: _("unowned cases"),
        }[self.scope]
        parts = [scope]
        if self.bucket:
            parts.append(_("{bucket} days past due").format(bucket=self.bucket))
        if self.stage is not None:
            parts.append(_("stage: {stage}").format(stage=self.stage.value))
        if self.broken_only:
            parts.append(_("broken promises"))
        if self.due_today:
            parts.append(_("due today"))
        if self.registered_only:
            parts.append(_("registered"))
        if self.no_next_action:
            parts.append(_("no next action"))
        if self.on_hold:
            parts.append(_("on hold only"))
        return " · ".join(parts)


# --- keys: which cases, in queue order ------------------------------------------------

# Terms are built for a given table (the pinned alias or the plain table), so statements
# are composed directly instead of rewritten afterwards.
_Terms = Callable[[Any], tuple[ColumnElement[bool], ...]]


def _desc(t: Any) -> tuple[Any, Any]:
    return (t.c.priority.desc(), t.c.id.desc())


def _asc(t: Any) -> tuple[Any, Any]:
    return (t.c.priority.asc(), t.c.id.asc())


def _key(t: Any) -> Any:
    return tuple_(t.c.priority, t.c.id)


def _bool_is(column: Any, value: bool) -> ColumnElement[bool]:
    """A residual check no index can serve (see the module doc)."""
    return func.coalesce(column, false()) == (true() if value else false())


def _open_unindexed(t: Any) -> ColumnElement[bool]:
    # Status checked on the candidates, not used to pick an index: with "status = 'open'"
    # both engines may prefer walking ix_case_queue and testing membership (seconds).
    return func.coalesce(t.c.status, "") == _OPEN.value


@dataclass(frozen=True)
class _Walk:
    """Walk ``index`` in queue order, checking the terms on each entry."""

    terms: _Terms
    index: str


@dataclass(frozen=True)
class _Ranked:
    """A bounded set of cases found through ``via``, ranked by the database.

    ``index`` pins the collection_case index when the set is read from one; otherwise
    the set is reached by primary key or the borrower_id key from a side table.
    """

    terms: _Terms
    via: str
    index: str | None = None


@dataclass(frozen=True)
class _Nothing:
    pass


_Access = _Walk | _Ranked | _Nothing


@dataclass(frozen=True)
class _Context:
    actor: Actor
    now: dt.datetime
    profile: Profile
    limit: int


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


def _dense_threshold(session: Session, limit: int) -> int:
    """Above this many candidates, walking the queue order beats ranking them all.

    Walking costs about ``limit x cases / matches`` probes, ranking costs ``matches``;
    they meet at ``sqrt(limit x cases)``. ``max(id)`` stands in for the number of cases
    (one index lookup; closed cases only make it a little generous).
    """
    cases = session.connection().scalar(select(func.max(_CASE.c.id))) or 0
    return max(200, math.isqrt((limit + 1) * cases))


def _probe(session: Session, stmt: _AnySelect, bound: int) -> int:
    """How many rows ``stmt`` yields, counting no further than ``bound + 1``."""
    sub = stmt.limit(bound + 1).subquery()
    return int(session.connection().scalar(select(func.count()).select_from(sub)) or 0)


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


def _filter_access(session: Session, flt: QueueFilter, ctx: _Context) -> _Access:
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
        found = [t.c.status == _OPEN, *(n.term(t) for n in narrowings)]
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
        threshold = _dense_threshold(session, ctx.limit)
        if _probe(session, _orphan_keys(), threshold) <= threshold:
            return _Ranked(terms, "ix_case_next_action", "ix_case_next_action")
    if flt.due_today and index not in _SMALL:
        # A broad index: if few cases are due, reach them through ix_case_next_action.
        threshold = _dense_threshold(session, ctx.limit)
        due_t = case_indexed_by("ix_case_next_action")
        due = select(due_t.c.id).where(due_t.c.status == _OPEN, due_t.c.next_action_at < end_of_day)
        if _probe(session, due, threshold) <= threshold:
            return _Ranked(terms, "ix_case_next_action", "ix_case_next_action")
    return _Walk(terms, index)


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
    ctx: _Context,
    holders: _AnySelect,
    holds: Callable[[Any], ColumnElement[bool]],
    via: str,
) -> _Access:
    """Cases of the borrowers a side index finds (``holders``; ``holds(t)`` tests one).

    Few holders: rank their cases. Many: walk the queue order testing each case, as
    matches are dense enough to fill a page soon (see ``_dense_threshold``).
    """
    threshold = _dense_threshold(session, ctx.limit)
    n = _probe(session, holders, threshold)
    if n == 0:
        return _Nothing()
    if n > threshold:

        def dense(t: Any) -> tuple[ColumnElement[bool], ...]:
            held = (t.c.on_hold.is_(True),) if flt.on_hold else ()
            return (t.c.status == _OPEN, *held, holds(t))

        return _Walk(dense, "ix_case_hold_queue" if flt.on_hold else "ix_case_queue")
    sub = holders.limit(CANDIDATE_CAP).scalar_subquery()

    def ranked(t: Any) -> tuple[ColumnElement[bool], ...]:
        held = (_bool_is(t.c.on_hold, True),) if flt.on_hold else ()
        return (t.c.borrower_id.in_(sub), *held)

    return _Ranked(ranked, via)


def _search_access(session: Session, flt: QueueFilter, found: _Search, ctx: _Context) -> _Access:
    if found.kind == "too_short":
        return _Nothing()
    if found.kind == "case_id":
        case_id = int(found.text)
        if case_id > _MAX_ID:  # more digits than any case number has
            return _Nothing()

        def by_id(t: Any) -> tuple[ColumnElement[bool], ...]:
            held = (_bool_is(t.c.on_hold, True),) if flt.on_hold else ()
            return (t.c.id == case_id, *held)

        return _Ranked(by_id, "pk_collection_case")
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


def _name_access(session: Session, flt: QueueFilter, name: str, ctx: _Context) -> _Access:
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
    threshold = _dense_threshold(session, ctx.limit)
    pieces = list(dict.fromkeys(name[i : i + 2] for i in range(len(name) - 1)))
    best, best_n = pieces[0], threshold + 1
    for piece in pieces[:MAX_PIECES]:
        n = _probe(session, select(g.borrower_id).where(g.gram == piece), best_n - 1)
        if n == 0:
            return _Nothing()
        if n < best_n:
            best, best_n = piece, n
    # Cases are found through the borrowers' names: those holding the piece, by key.
    holders = select(Borrower.id).where(
        Borrower.id.in_(select(g.borrower_id).where(g.gram == best)),
        Borrower.name.contains(name, autoescape=True),
    )
    sub = holders.limit(CANDIDATE_CAP).scalar_subquery()

    def ranked(t: Any) -> tuple[ColumnElement[bool], ...]:
        held = (_bool_is(t.c.on_hold, True),) if flt.on_hold else ()
        return (t.c.borrower_id.in_(sub), *held)

    return _Ranked(ranked, "pk_borrower_name_gram")


def _access(session: Session, flt: QueueFilter, ctx: _Context) -> _Access:
    if flt.search.strip():
        found = _read_search(flt.search, ctx.profile.country)
        return _search_access(session, flt, found, ctx)
    return _filter_access(session, flt, ctx)


def page_statement(
    access: _Walk | _Ranked, *, after: QueueKey | None, before: QueueKey | None, limit: int
) -> Select[int, int]:
    """Keys of one page in queue order (``before``: the page above, read upwards).

    A walk reads its index in this order and stops after ``limit`` rows; ranked
    candidates are sorted by the database, which keeps only the best ``limit`` of them.
    """
    t = case_indexed_by(access.index)
    stmt = select(t.c.id, t.c.priority).where(*access.terms(t))
    if before is not None:
        stmt = stmt.where(_key(t) > tuple_(*before)).order_by(*_asc(t))
    else:
        if after is not None:
            stmt = stmt.where(_key(t) < tuple_(*after))
        stmt = stmt.order_by(*_desc(t))
    return stmt.limit(limit)


def _at_or_above(key: QueueKey) -> QueueKey:
    # Ids are integers: "> (p, i - 1)" is ">= (p, i)", so row-value ranges stay strict.
    return (key[0], key[1] - 1)


def _at_or_below(key: QueueKey) -> QueueKey:
    return (key[0], key[1] + 1)


def _keys(
    session: Session,
    access: _Access,
    *,
    after: QueueKey | None,
    before: QueueKey | None,
    limit: int,
) -> tuple[list[QueueKey], bool, bool]:
    """The page's keys in queue order, and whether rows exist after / before it.

    Rows "before" a page scrolled down to (``after=k``) are those at or above ``k``; rows
    "after" a page scrolled up to (``before=k``) are those at or below ``k``.
    """
    if isinstance(access, _Nothing):
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
    access: _Walk | _Ranked,
    *,
    below: QueueKey | None = None,
    above: QueueKey | None = None,
) -> bool:
    """Is there a match below / above a key? (Usually the neighbouring page: found at once.)"""
    t = case_indexed_by(access.index)
    stmt = select(t.c.id).where(*access.terms(t))
    if below is not None:
        stmt = stmt.where(_key(t) < tuple_(*below))
    if above is not None:
        stmt = stmt.where(_key(t) > tuple_(*above))
    if isinstance(access, _Walk):
        # Walk away from the key, so the nearest match ends the scan.
        stmt = stmt.order_by(*(_desc(t) if below is not None else _asc(t)))
    return session.connection().execute(stmt.limit(1)).first() is not None


# --- rows: what the page shows ---------------------------------------------------------


def _preferred_phones(session: Session, borrower_ids: Sequence[int]) -> dict[int, str]:
    """Each borrower's number an operator would dial first: their own, mobile, callable.

    The same choice as the case header (desk._preferred_phone), read as plain rows: ORM
    objects for every number on a page cost more than the rest of the page together.
    """
    p = Phone.__table__.c
    rows = session.connection().execute(
        select(p.borrower_id, p.e164, p.kind, p.do_not_call, p.id).where(
            p.borrower_id.in_(borrower_ids), p.relation == Relation.BORROWER
        )
    )
    best: dict[int, tuple[tuple[bool, bool, int], str]] = {}
    for borrower_id, e164, kind, do_not_call, phone_id in rows:
        rank = (bool(do_not_call), kind != PhoneKind.MOBILE, phone_id)
        if borrower_id not in best or rank < best[borrower_id][0]:
            best[borrower_id] = (rank, e164)
    return {borrower_id: e164 for borrower_id, (_rank, e164) in best.items()}


def _rows(
    session: Session, keys: Sequence[QueueKey], now: dt.datetime, prof: Profile
) -> list[QueueRow]:
    if not keys:
        return []
    c = _CASE.c
    owner = aliased(Agent)
    holder = aliased(Agent)
    stmt = (
        select(
            c.id,
            c.borrower_id,
            c.overdue_since,
            c.overdue_minor,
            c.broken_promises,
            c.next_action_at,
            c.stage,
            c.on_hold,
            c.stale,
            c.registered,
            c.owner_id,
            c.lease_holder_id,
            c.lease_expires_at,
            c.callback_at,
            Borrower.name,
            owner.name,
            holder.name,
        )
        .join_from(_CASE, Borrower, Borrower.id == c.borrower_id)
        .outerjoin(owner, owner.id == c.owner_id)
        .outerjoin(holder, holder.id == c.lease_holder_id)
        .where(c.id.in_([case_id for _, case_id in keys]))
    )
    by_id = {row[0]: row for row in session.connection().execute(stmt)}
    dial = _preferred_phones(session, [row[1] for row in by_id.values()])
    today = now.astimezone(ZoneInfo(prof.office_timezone)).date()
    rows: list[QueueRow] = []
    for priority, case_id in keys:
        row = by_id.get(case_id)
        if row is None:  # gone between the two reads
            continue
        (
            _id,
            borrower_id,
            overdue_since,
            overdue_minor,
            broken,
            next_action_at,
            stage,
            on_hold,
            stale,
            registered,
            owner_id,
            lease_holder_id,
            lease_expires_at,
            callback_at,
            borrower_name,
            owner_name,
            holder_name,
        ) = row
        dpd, bucket, why = _why(
            _CaseFacts(overdue_since, overdue_minor, broken, next_action_at), today, now, prof
        )
        number = dial.get(borrower_id)
        live = (
            lease_holder_id is not None and lease_expires_at is not None and lease_expires_at > now
        )
        rows.append(
            QueueRow(
                case_id=case_id,
                priority=priority,
                dpd=dpd,
                bucket=bucket,
                borrower_name=borrower_name,
                overdue_minor=overdue_minor,
                currency=prof.currency,
                stage=stage,
                owner_name=owner_name,
                next_action_at=next_action_at,
                phone_masked=mask_phone(_national(number), prof.masking) if number else None,
                why=why,
                on_hold=on_hold,
                stale=stale,
                broken_promises=broken,
                next_action_due=next_action_at is not None and next_action_at <= now,
                registered=registered,
                owner_id=owner_id,
                lease_holder_name=holder_name if live else None,
                lease_expires_at=lease_expires_at if live else None,
                callback_at=callback_at,
            )
        )
    return rows


def _profile(profile: Profile | None) -> Profile:
    return profile if profile is not None else load_profile()


def _utc(now: dt.datetime | None) -> dt.datetime:
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime given as now")
    return now.astimezone(dt.UTC)


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
    now = ctx.now()
    if after is not None and before is not None:
        raise ValueError("give after or before, not both")
    prof = _profile(ctx.profile)
    now = _utc(now)
    limit = max(1, min(limit, MAX_WINDOW))
    page = _Context(actor=ctx.actor, now=now, profile=prof, limit=limit)
    with ctx.db.read() as s:
        access = _access(s, flt, page)
        keys, more_after, more_before = _keys(s, access, after=after, before=before, limit=limit)
        rows = _rows(s, keys, now, prof)
    return QueuePage(rows=tuple(rows), more_after=more_after, more_before=more_before)


def queue_reason(row: QueueRow) -> str:
    """Why the case stands where it does: the facts, then the score's parts."""
    parts: list[str] = []
    if row.dpd > 0:
        parts.append(
            ngettext("{n} day past due ({bucket})", "{n} days past due ({bucket})", row.dpd).format(
                n=row.dpd, bucket=row.bucket
            )
        )
    else:
        parts.append(_("not past due"))
    if row.broken_promises:
        parts.append(
            ngettext("{n} broken promise", "{n} broken promises", row.broken_promises).format(
                n=row.broken_promises
            )
        )
    if row.next_action_due:
        parts.append(_("next action due"))
    if row.on_hold:
        parts.append(_("on hold"))
    if row.stale:
        parts.append(_("marked stale"))
    text = ", ".join(parts)
    if row.why:
        text += " — " + _("score {score} = {parts}").format(score=row.priority, parts=row.why)
    return text


# --- leases -------------------------------------------------------------------------------


class LeaseHeld(ServiceError):
    """Someone else is working the case right now (the desk may still show it read-only)."""

    def __init__(self, message: str, *, holder_name: str, until: dt.datetime) -> None:
        super().__init__(message)
        self.holder_name = holder_name
        self.until = until


def callback_stale_minutes(profile: Profile) -> int:
    return int(
        profile.section("contact").get("callback_stale_minutes", DEFAULT_CALLBACK_STALE_MINUTES)
    )


def _lease_minutes(profile: Profile) -> dt.timedelta:
    return dt.timedelta(minutes=max(1, profile.lease_minutes))


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _free_for(t: Any, me: int, now: dt.datetime) -> ColumnElement[bool]:
    """Nobody else holds a live lease, and it is not the actor's own (they move on)."""
    return or_(
        t.c.lease_holder_id.is_(None),
        and_(
            t.c.lease_holder_id != me,
            or_(t.c.lease_expires_at.is_(None), t.c.lease_expires_at <= now),
        ),
    )


def _not_reserved(
    t: Any, me: int, now: dt.datetime, stale_cutoff: dt.datetime
) -> ColumnElement[bool]:
    """No callback keeps the case for later or for someone else.

    A callback is the borrower's appointment: before its time nobody calls; once due it
    belongs to the agent who promised it, until it is ``callback_stale_minutes`` late
    and falls to anyone.
    """
    return or_(
        t.c.callback_at.is_(None),
        t.c.callback_at < stale_cutoff,
        and_(
            t.c.callback_at <= now,
            or_(t.c.callback_agent_id == me, t.c.callback_agent_id.is_(None)),
        ),
    )


def _pick_columns(t: Any) -> tuple[Any, ...]:
    return (t.c.id, t.c.priority, t.c.version, t.c.lease_holder_id, t.c.lease_expires_at)


def _first(session: Session, stmt: _AnySelect) -> Any:
    if _is_pg(session):
        # Rows another claimer has locked are skipped, not waited for: fifty operators
        # pressing the key at once each get a different case.
        stmt = stmt.with_for_update(skip_locked=True)
    return session.connection().execute(stmt.limit(1)).first()


def _rank(row: Any) -> QueueKey:
    return (int(row.priority), int(row.id))


@dataclass(frozen=True)
class _Claimable:
    """The statements take-next tries, for one actor at one moment (plan tests use them)."""

    me: int
    now: dt.datetime
    stale_cutoff: dt.datetime

    def _workable(self, t: Any) -> tuple[ColumnElement[bool], ...]:
        # Neither held cases nor cases in follow-up (paying by their plan) are contact work.
        return (
            t.c.on_hold.is_(False),
            t.c.stage != Stage.FOLLOW_UP,
            _free_for(t, self.me, self.now),
        )

    def unreserved(self, t: Any) -> tuple[ColumnElement[bool], ...]:
        """Everything but the status, which each query states in its own way."""
        return (
            *self._workable(t),
            _not_reserved(t, self.me, self.now, self.stale_cutoff),
            # Only work that is due: a case just worked has its next action ahead and
            # must not come straight back. A case without one (an orphan) is due.
            or_(t.c.next_action_at.is_(None), t.c.next_action_at <= self.now),
        )

    def callbacks(self) -> _AnySelect:
        """The actor's own callbacks that are due, the longest-waiting first."""
        t = case_indexed_by("ix_case_callback")
        return (
            select(*_pick_columns(t))
            .where(
                t.c.callback_agent_id == self.me,
                t.c.callback_at.is_not(None),
                t.c.callback_at <= self.now,
                t.c.status == _OPEN,
                *self._workable(t),
            )
            .order_by(t.c.callback_at, t.c.id)
        )

    def best(self, index: str, where: Callable[[Any], ColumnElement[bool]]) -> _AnySelect:
        """The most urgent open case through ``index`` that passes ``where``."""
        t = case_indexed_by(index)
        return (
            select(*_pick_columns(t))
            .where(t.c.status == _OPEN, where(t), *self.unreserved(t))
            .order_by(*_desc(t))
        )

    def fallen(self, above: QueueKey | None, inactive: Sequence[int]) -> _AnySelect:
        """Someone else's case that falls to anyone, near the top of the queue.

        ``stale`` has no index: only the top of the queue is looked at (above the pool's
        best, at most STALE_SCAN positions) through ix_case_queue alone; those cases are
        then checked by primary key, status unindexed so no queue index tempts the
        planner into walking everything.
        """
        top_t = case_indexed_by("ix_case_queue")
        top = select(top_t.c.id).where(top_t.c.status == _OPEN)
        if above is not None:
            top = top.where(_key(top_t) > tuple_(*above))
        top = top.order_by(*_desc(top_t)).limit(STALE_SCAN)
        c = _CASE.c
        owner = func.coalesce(c.owner_id, 0)
        takeable = or_(
            _bool_is(c.stale, True),
            and_(c.callback_at.is_not(None), c.callback_at < self.stale_cutoff),
            *([owner.in_(inactive)] if inactive else []),
        )
        return (
            select(*_pick_columns(_CASE))
            .where(
                c.id.in_(top.scalar_subquery()),
                _open_unindexed(_CASE),
                owner != 0,
                owner != self.me,
                takeable,
                *self.unreserved(_CASE),
            )
            .order_by(*_desc(_CASE))
        )


def _owned_by(agent_id: int | None) -> Callable[[Any], ColumnElement[bool]]:
    def term(t: Any) -> ColumnElement[bool]:
        column = t.c.owner_id
        return cast(
            ColumnElement[bool], column.is_(None) if agent_id is None else column == agent_id
        )

    return term


def _pick(
    session: Session, actor: Actor, now: dt.datetime, profile: Profile
) -> tuple[Any, ClaimReason] | None:
    stale_cutoff = now - dt.timedelta(minutes=callback_stale_minutes(profile))
    can = _Claimable(actor.id, now, stale_cutoff)

    # 1. The actor's own callbacks that are due.
    row = _first(session, can.callbacks())
    if row is not None:
        return row, "callback"

    # 2. Cases the actor owns, most urgent first.
    row = _first(session, can.best("ix_case_owner_queue", _owned_by(actor.id)))
    if row is not None:
        return row, "owned"

    # 3. The pool: unowned cases, and those of someone else that fall to anyone (owner
    # inactive, case marked stale, a stale callback), merged by priority.
    best: tuple[Any, ClaimReason] | None = None
    pool = _first(session, can.best("ix_case_unowned_queue", _owned_by(None)))
    if pool is not None:
        best = (pool, "pool")
    inactive = list(session.scalars(select(Agent.id).where(Agent.active.is_(False))))
    candidates = [_first(session, can.fallen(_rank(pool) if pool else None, inactive))]
    # Inactive owners' books are found through the owner index wherever they stand.
    candidates += [
        _first(session, can.best("ix_case_owner_queue", _owned_by(agent_id)))
        for agent_id in inactive
    ]
    for row in candidates:
        if row is not None and (best is None or _rank(row) > _rank(best[0])):
            best = (row, "stale")
    return best


def _release_others(
    session: Session, actor: Actor, keep: int | None, now: dt.datetime
) -> list[int]:
    """Release every lease the actor holds except on ``keep``; one audit event each."""
    stmt = select(_C.id).where(_C.lease_holder_id == actor.id)
    if keep is not None:
        stmt = stmt.where(_C.id != keep)
    if _is_pg(session):
        # A row someone is claiming right now is left alone (never wait inside a claim:
        # that is how two claimers deadlock); its lease expires by itself.
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(session.scalars(stmt))
    if not ids:
        return []
    session.execute(
        update(_CASE)
        .where(_CASE.c.id.in_(ids), _CASE.c.lease_holder_id == actor.id)
        .values(lease_holder_id=None, lease_expires_at=None)
    )
    for case_id in ids:
        audit.record(
            session,
            actor,
            "case.release",
            "collection_case",
            case_id,
            f"{actor.login} released case {case_id} (moved on)",
            now=now,
            case_id=case_id,
            before={"lease_holder_id": actor.id},
            after={"lease_holder_id": None},
        )
    return ids


def _lease(
    session: Session,
    actor: Actor,
    picked: Any,
    reason: ClaimReason,
    until: dt.datetime,
    now: dt.datetime,
    released: list[int],
) -> Claim:
    # Core, not the ORM: a lease is not an edit, so the version column stays as it was.
    session.execute(
        update(_CASE)
        .where(_CASE.c.id == picked.id)
        .values(lease_holder_id=actor.id, lease_expires_at=until)
    )
    audit.record(
        session,
        actor,
        "case.claim",
        "collection_case",
        picked.id,
        f"{actor.login} claimed case {picked.id} ({reason}) until {until.isoformat()}",
        now=now,
        case_id=picked.id,
        before={
            "lease_holder_id": picked.lease_holder_id,
            "lease_expires_at": _iso(picked.lease_expires_at),
        },
        after={
            "lease_holder_id": actor.id,
            "lease_expires_at": until.isoformat(),
            "reason": reason,
            "released": released,
        },
    )
    return Claim(case_id=picked.id, reason=reason, lease_expires_at=until, version=picked.version)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# SQLite's busy handler is not fair: under a saturating burst a BEGIN IMMEDIATE can wait
# out the whole busy timeout while others keep winning the lock (measured: 14 claimers
# flat out on 2 loaded cores). A refused BEGIN did nothing, so the unit of work is simply
# run again after a short random pause, up to this long in all.
SQLITE_RETRY_SECONDS = 30.0

_T = TypeVar("_T")


def _write(db: Database, work: Callable[[Session], _T]) -> _T:
    """Run ``work`` in one write transaction; on SQLite, again if the lock was refused."""
    deadline = time.monotonic() + SQLITE_RETRY_SECONDS
    while True:
        try:
            with db.write() as session:
                return work(session)
        except DatabaseBusy:
            # The lock wait ran out (SQLite) or this was a deadlock victim (PostgreSQL):
            # nothing was saved, so the same unit of work may simply run again.
            if time.monotonic() > deadline:
                raise
        except OperationalError as exc:
            locked = db.is_sqlite and "database is locked" in str(exc.orig)
            if not locked or time.monotonic() > deadline:
                raise
        time.sleep(random.uniform(0.001, 0.02))


def take_next(ctx: Context) -> Claim | None:
    """Lease the next case for the actor, atomically; None when there is nothing to take.

    Order: the actor's own callbacks that are due; cases the actor owns; the pool by
    priority (unowned cases, and cases of someone else whose owner is inactive, that are
    marked stale, or whose callback is stale). Never a held or closed case, nor one
    someone else holds a live lease on. The actor's previous lease is released in the
    same transaction. SQLite runs this under BEGIN IMMEDIATE (one claimer at a time);
    PostgreSQL locks the chosen row with FOR UPDATE SKIP LOCKED.
    """
    now = ctx.now()
    ctx.actor.require(Action.WORK_CASES)
    prof = _profile(ctx.profile)
    now = _utc(now)
    until = now + _lease_minutes(prof)

    def work(s: Session) -> Claim | None:
        picked = _pick(s, ctx.actor, now, prof)
        released = _release_others(s, ctx.actor, picked[0].id if picked else None, now)
        if picked is None:
            return None
        row, reason = picked
        return _lease(s, ctx.actor, row, reason, until, now, released)

    return _write(ctx.db, work)


def _lock_case(session: Session, case_id: int) -> Any:
    stmt = select(*_pick_columns(_CASE), _CASE.c.status).where(_CASE.c.id == case_id)
    if _is_pg(session):
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
    return row


def _agent_name(session: Session, agent_id: int) -> str:
    name = session.scalar(select(Agent.name).where(Agent.id == agent_id))
    return name or f"#{agent_id}"


def _local_time(moment: dt.datetime, profile: Profile, now: dt.datetime) -> str:
    zone = ZoneInfo(profile.office_timezone)
    local = moment.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def _held_by_other(row: Any, me: int, now: dt.datetime) -> bool:
    return (
        row.lease_holder_id is not None
        and row.lease_holder_id != me
        and row.lease_expires_at is not None
        and row.lease_expires_at > now
    )


def claim_case(ctx: Context, case_id: int) -> Claim:
    """Lease a case the operator opened from the queue (or renew their own lease on it).

    Raises ``LeaseHeld`` (a ServiceError naming who and until when) if someone else holds
    a live lease; reading the case stays possible. Ownership does not matter here: the
    operator chose this case (an inbound call, a search hit).
    """
    now = ctx.now()
    ctx.actor.require(Action.WORK_CASES)
    prof = _profile(ctx.profile)
    now = _utc(now)
    until = now + _lease_minutes(prof)

    def work(s: Session) -> Claim:
        row = _lock_case(s, case_id)
        if row.status != _OPEN:
            raise ServiceError(
                _("case {case_id} is closed; it can be read, not worked").format(case_id=case_id)
            )
        if _held_by_other(row, ctx.actor.id, now):
            name = _agent_name(s, row.lease_holder_id)
            raise LeaseHeld(
                _("case {case_id} is being worked by {name} until {until}").format(
                    case_id=case_id, name=name, until=_local_time(row.lease_expires_at, prof, now)
                ),
                holder_name=name,
                until=row.lease_expires_at,
            )
        released = _release_others(s, ctx.actor, case_id, now)
        return _lease(s, ctx.actor, row, "opened", until, now, released)

    return _write(ctx.db, work)


def renew_lease(ctx: Context, case_id: int) -> dt.datetime:
    """Extend the actor's lease while the case stays open on their desk; the new expiry.

    Only the holder renews. A lease that ran out is renewed as long as nobody else took
    the case meanwhile.
    """
    now = ctx.now()
    prof = _profile(ctx.profile)
    now = _utc(now)
    until = now + _lease_minutes(prof)

    def work(s: Session) -> dt.datetime:
        row = _lock_case(s, case_id)
        if row.lease_holder_id != ctx.actor.id:
            if row.lease_holder_id is not None and _held_by_other(row, ctx.actor.id, now):
                raise LeaseHeld(
                    _("case {case_id} is now worked by {name}; your lease has ended").format(
                        case_id=case_id, name=_agent_name(s, row.lease_holder_id)
                    ),
                    holder_name=_agent_name(s, row.lease_holder_id),
                    until=row.lease_expires_at,
                )
            raise ServiceError(
                _("you no longer hold case {case_id}; open it again to work on it").format(
                    case_id=case_id
                )
            )
        s.execute(update(_CASE).where(_CASE.c.id == case_id).values(lease_expires_at=until))
        audit.record(
            s,
            ctx.actor,
            "case.lease_renew",
            "collection_case",
            case_id,
            f"{ctx.actor.login} renewed the lease on case {case_id} until {until.isoformat()}",
            now=now,
            case_id=case_id,
            before={"lease_expires_at": _iso(row.lease_expires_at)},
            after={"lease_expires_at": until.isoformat()},
        )
        return until

    return _write(ctx.db, work)


def release_lease(ctx: Context, case_id: int) -> None:
    """End the lease on a case: the holder's own, or anyone's by a supervisor (audited).

    Releasing someone else's lease needs ``Action.RELEASE_LEASE`` (``PermissionDenied``
    otherwise). A case nobody holds is left as it is.
    """
    now = ctx.now()
    now = _utc(now)

    def work(s: Session) -> None:
        row = _lock_case(s, case_id)
        holder = row.lease_holder_id
        if holder is None:
            return
        if holder != ctx.actor.id:
            ctx.actor.require(Action.RELEASE_LEASE)
        s.execute(
            update(_CASE)
            .where(_CASE.c.id == case_id)
            .values(lease_holder_id=None, lease_expires_at=None)
        )
        own = holder == ctx.actor.id
        audit.record(
            s,
            ctx.actor,
            "case.release" if own else "case.lease_release",
            "collection_case",
            case_id,
            (
                f"{ctx.actor.login} released case {case_id}"
                if own
                else f"{ctx.actor.login} released agent {holder}'s lease on case {case_id}"
            ),
            now=now,
            case_id=case_id,
            before={"lease_holder_id": holder, "lease_expires_at": _iso(row.lease_expires_at)},
            after={"lease_holder_id": None},
        )

    return _write(ctx.db, work)


# --- orphans ------------------------------------------------------------------------------


def _orphan_terms() -> tuple[ColumnElement[bool], ...]:
    return (_C.status == _OPEN, _C.next_action_at.is_(None))


def _orphan_keys() -> _AnySelect:
    """Ids of the orphans through the NULL range of ix_case_next_action (for probing)."""
    t = case_indexed_by("ix_case_next_action")
    return select(t.c.id).where(t.c.status == _OPEN, t.c.next_action_at.is_(None))


def orphans(db: Database, *, limit: int = 50) -> list[int]:
    """Open cases without a next action date (surfaced for a supervisor, oldest first)."""
    with db.read() as s:
        return list(
            s.scalars(select(_C.id).where(*_orphan_terms()).order_by(_C.id).limit(max(1, limit)))
        )


def orphan_count(db: Database) -> int:
    """How many open cases lack a next action (a range of ix_case_next_action; normally 0)."""
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(_CASE).where(*_orphan_terms())) or 0)
