"""Take next: the actor's due callbacks, then their own cases, then the pool by priority."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from tui_desk.db.models import Agent, Stage
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile
from tui_desk.services.context import Actor, Context
from tui_desk.services.queue.leases import (
    is_pg,
    lease,
    lease_minutes,
    pick_columns,
    release_others,
    write,
)
from tui_desk.services.queue.tables import (
    CASE,
    OPEN,
    AnySelect,
    bool_is,
    case_indexed_by,
    queue_desc,
    queue_key,
)
from tui_desk.views.queue import Claim, ClaimReason, QueueKey

# Queue positions examined when looking for a case owned by someone else that may be
# taken (owner inactive, case marked stale, a stale callback): ``stale`` has no index.
STALE_SCAN = 2_000
DEFAULT_CALLBACK_STALE_MINUTES = 30


def callback_stale_minutes(profile: Profile) -> int:
    return int(
        profile.section("contact").get("callback_stale_minutes", DEFAULT_CALLBACK_STALE_MINUTES)
    )


def _open_unindexed(t: Any) -> ColumnElement[bool]:
    # Status checked on the candidates, not used to pick an index: with "status = 'open'"
    # both engines may prefer walking ix_case_queue and testing membership (seconds).
    return func.coalesce(t.c.status, "") == OPEN.value


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


def _first(session: Session, stmt: AnySelect) -> Any:
    if is_pg(session):
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

    def callbacks(self) -> AnySelect:
        """The actor's own callbacks that are due, the longest-waiting first."""
        t = case_indexed_by("ix_case_callback")
        return (
            select(*pick_columns(t))
            .where(
                t.c.callback_agent_id == self.me,
                t.c.callback_at.is_not(None),
                t.c.callback_at <= self.now,
                t.c.status == OPEN,
                *self._workable(t),
            )
            .order_by(t.c.callback_at, t.c.id)
        )

    def best(self, index: str, where: Callable[[Any], ColumnElement[bool]]) -> AnySelect:
        """The most urgent open case through ``index`` that passes ``where``."""
        t = case_indexed_by(index)
        return (
            select(*pick_columns(t))
            .where(t.c.status == OPEN, where(t), *self.unreserved(t))
            .order_by(*queue_desc(t))
        )

    def fallen(self, above: QueueKey | None, inactive: Sequence[int]) -> AnySelect:
        """Someone else's case that falls to anyone, near the top of the queue.

        ``stale`` has no index: only the top of the queue is looked at (above the pool's
        best, at most STALE_SCAN positions) through ix_case_queue alone; those cases are
        then checked by primary key, status unindexed so no queue index tempts the
        planner into walking everything.
        """
        top_t = case_indexed_by("ix_case_queue")
        top = select(top_t.c.id).where(top_t.c.status == OPEN)
        if above is not None:
            top = top.where(queue_key(top_t) > tuple_(*above))
        top = top.order_by(*queue_desc(top_t)).limit(STALE_SCAN)
        c = CASE.c
        owner = func.coalesce(c.owner_id, 0)
        takeable = or_(
            bool_is(c.stale, True),
            and_(c.callback_at.is_not(None), c.callback_at < self.stale_cutoff),
            *([owner.in_(inactive)] if inactive else []),
        )
        return (
            select(*pick_columns(CASE))
            .where(
                c.id.in_(top.scalar_subquery()),
                _open_unindexed(CASE),
                owner != 0,
                owner != self.me,
                takeable,
                *self.unreserved(CASE),
            )
            .order_by(*queue_desc(CASE))
        )


def _owned_by(agent_id: int | None) -> Callable[[Any], ColumnElement[bool]]:
    def term(t: Any) -> ColumnElement[bool]:
        column = t.c.owner_id
        return cast(
            ColumnElement[bool], column.is_(None) if agent_id is None else column == agent_id
        )

    return term


def _peek(session: Session, stmt: AnySelect) -> Any:
    """The first row, nothing locked (a read of what take-next would find)."""
    return session.connection().execute(stmt.limit(1)).first()


def _pick(
    session: Session,
    actor: Actor,
    now: dt.datetime,
    profile: Profile,
    first: Callable[[Session, AnySelect], Any] = _first,
) -> tuple[Any, ClaimReason] | None:
    stale_cutoff = now - dt.timedelta(minutes=callback_stale_minutes(profile))
    can = _Claimable(actor.id, now, stale_cutoff)

    # 1. The actor's own callbacks that are due.
    row = first(session, can.callbacks())
    if row is not None:
        return row, "callback"

    # 2. Cases the actor owns, most urgent first.
    row = first(session, can.best("ix_case_owner_queue", _owned_by(actor.id)))
    if row is not None:
        return row, "owned"

    # 3. The pool: unowned cases, and those of someone else that fall to anyone (owner
    # inactive, case marked stale, a stale callback), merged by priority.
    best: tuple[Any, ClaimReason] | None = None
    pool = first(session, can.best("ix_case_unowned_queue", _owned_by(None)))
    if pool is not None:
        best = (pool, "pool")
    inactive = list(session.scalars(select(Agent.id).where(Agent.active.is_(False))))
    candidates = [first(session, can.fallen(_rank(pool) if pool else None, inactive))]
    # Inactive owners' books are found through the owner index wherever they stand.
    candidates += [
        first(session, can.best("ix_case_owner_queue", _owned_by(agent_id)))
        for agent_id in inactive
    ]
    for row in candidates:
        if row is not None and (best is None or _rank(row) > _rank(best[0])):
            best = (row, "stale")
    return best


def has_work(session: Session, actor: Actor, now: dt.datetime, profile: Profile) -> bool:
    """Whether take-next would find a case for ``actor`` now: the same choice, read in the
    caller's session with nothing locked (the board's "ready with nothing to take")."""
    return _pick(session, actor, now, profile, first=_peek) is not None


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
    prof = ctx.profile
    until = now + lease_minutes(prof)

    def work(s: Session) -> Claim | None:
        picked = _pick(s, ctx.actor, now, prof)
        released = release_others(s, ctx.actor, picked[0].id if picked else None, now)
        if picked is None:
            return None
        row, reason = picked
        return lease(s, ctx.actor, row, reason, until, now, released)

    return write(ctx.db, work)
