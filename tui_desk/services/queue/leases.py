"""Leases on cases: claiming an opened case, renewing and releasing a lease.

A lease is written with Core updates that leave the optimistic ``version`` alone (see
the package doc). On SQLite a write whose lock was refused is run again (``write``).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database, DatabaseBusy
from tui_desk.db.models import CollectionCase
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile
from tui_desk.services import audit
from tui_desk.services.case_state import agent_name, local_time
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import LeaseHeld as LeaseHeld
from tui_desk.services.errors import NotFound, ServiceError
from tui_desk.services.queue.tables import CASE, OPEN
from tui_desk.services.validation import (
    check_id,
)
from tui_desk.views.queue import Claim, ClaimReason

_C = CollectionCase


def lease_minutes(profile: Profile) -> dt.timedelta:
    return dt.timedelta(minutes=max(1, profile.lease_minutes))


def is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def pick_columns(t: Any) -> tuple[Any, ...]:
    return (t.c.id, t.c.priority, t.c.version, t.c.lease_holder_id, t.c.lease_expires_at)


def release_others(session: Session, actor: Actor, keep: int | None, now: dt.datetime) -> list[int]:
    """Release every lease the actor holds except on ``keep``; one audit event each."""
    stmt = select(_C.id).where(_C.lease_holder_id == actor.id)
    if keep is not None:
        stmt = stmt.where(_C.id != keep)
    if is_pg(session):
        # A row someone is claiming right now is left alone (never wait inside a claim:
        # that is how two claimers deadlock); its lease expires by itself.
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(session.scalars(stmt))
    if not ids:
        return []
    session.execute(
        update(CASE)
        .where(CASE.c.id.in_(ids), CASE.c.lease_holder_id == actor.id)
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


def lease(
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
        update(CASE)
        .where(CASE.c.id == picked.id)
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


def write(db: Database, work: Callable[[Session], _T]) -> _T:
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


def _lock_case(session: Session, case_id: int) -> Any:
    stmt = select(*pick_columns(CASE), CASE.c.status).where(CASE.c.id == case_id)
    if is_pg(session):
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
    return row


_agent_name = agent_name
_local_time = local_time


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
    check_id("case_id", case_id)
    now = ctx.now()
    ctx.actor.require(Action.WORK_CASES)
    prof = ctx.profile
    until = now + lease_minutes(prof)

    def work(s: Session) -> Claim:
        row = _lock_case(s, case_id)
        if row.status != OPEN:
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
        released = release_others(s, ctx.actor, case_id, now)
        return lease(s, ctx.actor, row, "opened", until, now, released)

    return write(ctx.db, work)


def renew_lease(ctx: Context, case_id: int) -> dt.datetime:
    """Extend the actor's lease while the case stays open on their desk; the new expiry.

    Only the holder renews. A lease that ran out is renewed as long as nobody else took
    the case meanwhile.
    """
    check_id("case_id", case_id)
    now = ctx.now()
    prof = ctx.profile
    until = now + lease_minutes(prof)

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
        s.execute(update(CASE).where(CASE.c.id == case_id).values(lease_expires_at=until))
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

    return write(ctx.db, work)


def release_lease(ctx: Context, case_id: int) -> None:
    """End the lease on a case: the holder's own, or anyone's by a supervisor (audited).

    Releasing someone else's lease needs ``Action.RELEASE_LEASE`` (``PermissionDenied``
    otherwise). A case nobody holds is left as it is.
    """
    check_id("case_id", case_id)
    now = ctx.now()

    def work(s: Session) -> None:
        row = _lock_case(s, case_id)
        holder = row.lease_holder_id
        if holder is None:
            return
        if holder != ctx.actor.id:
            ctx.actor.require(Action.RELEASE_LEASE)
        s.execute(
            update(CASE)
            .where(CASE.c.id == case_id)
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

    return write(ctx.db, work)
