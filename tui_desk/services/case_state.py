"""Shared steps of every write to a case: load it for editing and keep its priority true.

Each service that changes a case calls ``load_for_edit`` (row lock on PostgreSQL, version
check everywhere: an edit based on a stale read is refused, never silently lost) and then
``recompute_priority`` so the stored, indexed queue order follows every write.

A desk use case passes its context to ``load_for_edit``: the case's lease is then enforced
(``guard_lease``). While another agent holds a live lease, the write is refused naming who
holds it and until when; a supervisor may write over it with a reason (audited), and an
inbound call may be logged by whoever answered it (audited too). Batch, import and worker
jobs hold no leases and pass no context.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from tui_desk import formatting
from tui_desk.db.models import Agent, CaseStatus, CollectionCase
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.rules.priority import Score, bucket_number, days_past_due, priority_score
from tui_desk.rules.profile import Profile
from tui_desk.services import audit
from tui_desk.services.context import Context
from tui_desk.services.errors import LeaseHeld, NotFound, ServiceError, StaleEdit


class CaseArchived(ServiceError):
    """An archived case is read-only until a supervisor restores it."""


def office_today(now: dt.datetime, profile: Profile) -> dt.date:
    return now.astimezone(ZoneInfo(profile.office_timezone)).date()


def score_of(case: CollectionCase, now: dt.datetime, profile: Profile) -> Score:
    dpd = days_past_due(case.overdue_since, office_today(now, profile))
    due = case.next_action_at is not None and case.next_action_at <= now
    return priority_score(
        dpd=dpd,
        overdue_minor=case.overdue_minor,
        broken_promises=case.broken_promises,
        next_action_due=due,
        weights=profile.priority,
        boost=case.priority_boost or 0,
    )


def recompute_priority(case: CollectionCase, now: dt.datetime, profile: Profile) -> Score:
    """Store the case's score and DPD bucket (both indexed: the queue order and its filter)."""
    score = score_of(case, now, profile)
    if case.priority != score.value:
        case.priority = score.value
    dpd = days_past_due(case.overdue_since, office_today(now, profile))
    bucket = bucket_number(dpd, profile.dpd_bounds)
    if case.dpd_bucket != bucket:
        case.dpd_bucket = bucket
    return score


def local_time(moment: dt.datetime, profile: Profile, now: dt.datetime) -> str:
    """``moment`` in office time: the hour alone today, with the date otherwise."""
    return formatting.when(moment, profile.office_timezone, now)


def agent_name(session: Session, agent_id: int) -> str:
    name = session.scalar(select(Agent.name).where(Agent.id == agent_id))
    return name or f"#{agent_id}"


def live_holder(case: CollectionCase, actor_id: int, now: dt.datetime) -> int | None:
    """The agent other than ``actor_id`` whose lease on the case is live at ``now``."""
    holder = case.lease_holder_id
    if holder is None or holder == actor_id:
        return None
    if case.lease_expires_at is None or case.lease_expires_at <= now:
        return None
    return holder


def guard_lease(
    session: Session,
    case: CollectionCase,
    ctx: Context,
    *,
    override_reason: str | None = None,
    inbound: bool = False,
    do_not_call: bool = False,
) -> int | None:
    """Refuse a write to a case another agent is working; the holder written over, if any.

    Nobody's live lease, or the actor's own: nothing to check (``None``). Another agent's
    live lease: an inbound contact is let through, and so is a supervisor who gives a
    reason; either is audited in this transaction and the holder's id is returned.
    Anyone else gets ``LeaseHeld`` naming the holder and the lease's end in office time.
    """
    now = ctx.now()
    holder = live_holder(case, ctx.actor.id, now)
    if holder is None:
        return None
    until = case.lease_expires_at
    assert until is not None
    name = agent_name(session, holder)
    reason = (override_reason or "").strip()
    if inbound:
        _audit_over_lease(session, ctx, case, holder, until, "case.lease_inbound", None)
        return holder
    if do_not_call:
        # A borrower's "do not call me" is recorded by whoever hears it, lease or not.
        _audit_over_lease(session, ctx, case, holder, until, "case.lease_do_not_call", None)
        return holder
    if reason and ctx.actor.can(Action.WRITE_LEASED_CASE):
        _audit_over_lease(session, ctx, case, holder, until, "case.lease_override", reason)
        return holder
    when = local_time(until, ctx.profile, now)
    if ctx.actor.can(Action.WRITE_LEASED_CASE):
        message = _(
            "case {case_id} is being worked by {name} until {until}; "
            "give a reason to write over their lease"
        ).format(case_id=case.id, name=name, until=when)
    else:
        message = _("case {case_id} is being worked by {name} until {until}").format(
            case_id=case.id, name=name, until=when
        )
    raise LeaseHeld(message, holder_name=name, until=until)


def over_lease(holder: int | None, override_reason: str | None) -> dict[str, object]:
    """What a use case's own audit event says of a lease it wrote over (nothing if none)."""
    if holder is None:
        return {}
    reason = (override_reason or "").strip() or None
    return {"over_lease_of": holder, "override_reason": reason}


def guard_case(session: Session, case_id: int, ctx: Context) -> None:
    """``guard_lease`` for a write that touches a case's records, not the case row."""
    case = session.get(CollectionCase, case_id)
    if case is None:
        raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
    guard_lease(session, case, ctx)


def _audit_over_lease(
    session: Session,
    ctx: Context,
    case: CollectionCase,
    holder: int,
    until: dt.datetime,
    action: str,
    reason: str | None,
) -> None:
    login = ctx.actor.login
    if action == "case.lease_do_not_call":
        summary = (
            f"{login} marked a number do-not-call on case {case.id} while agent {holder} held it"
        )
    elif reason is None:
        summary = f"{login} logged an inbound call on case {case.id} while agent {holder} held it"
    else:
        summary = f"{login} wrote over agent {holder}'s lease on case {case.id}: {reason}"
    audit.record(
        session,
        ctx.actor,
        action,
        "collection_case",
        case.id,
        summary,
        now=ctx.now(),
        case_id=case.id,
        before={"lease_holder_id": holder, "lease_expires_at": until.isoformat()},
        after={"override_reason": reason, "inbound": reason is None},
    )


def load_for_edit(
    session: Session,
    case_id: int,
    *,
    expected_version: int | None = None,
    allow_closed: bool = False,
    ctx: Context | None = None,
    override_reason: str | None = None,
    inbound: bool = False,
    do_not_call: bool = False,
) -> CollectionCase:
    """The case, locked for this transaction; refuse if it changed since ``expected_version``.

    With ``ctx`` (every desk use case) the lease is enforced too: see ``guard_lease``.
    """
    stmt = select(CollectionCase).where(CollectionCase.id == case_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    case = session.scalars(stmt).one_or_none()
    if case is None:
        raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
    if expected_version is not None and case.version != expected_version:
        raise StaleEdit(
            _(
                "case {case_id} was changed by someone else since you opened it "
                "(version {theirs}, yours {ours}); reload it and try again"
            ).format(case_id=case_id, theirs=case.version, ours=expected_version)
        )
    if case.status == CaseStatus.CLOSED and not allow_closed:
        raise CaseArchived(_("case {case_id} is archived and read-only").format(case_id=case_id))
    if ctx is not None:
        guard_lease(
            session,
            case,
            ctx,
            override_reason=override_reason,
            inbound=inbound,
            do_not_call=do_not_call,
        )
    if expected_version is not None:
        # An edit made against a version moves it on even when the case row itself does
        # not change (a new plan, say): a second edit made against the same version is
        # then refused instead of silently replacing the first.
        flag_modified(case, "status")
    return case
