"""Changes to a booked visit: moving it, cancelling it (with notice), confirming it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from tui_desk.db.models import (
    Appointment,
    AppointmentChange,
    AppointmentStatus,
    ChangeKind,
    Channel,
    CollectionCase,
    Side,
    Stage,
)
from tui_desk.i18n import _
from tui_desk.rules import visits as rules
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile
from tui_desk.services import audit
from tui_desk.services.case_state import load_for_edit, recompute_priority
from tui_desk.services.contacts import (
    default_next_action,
    required_reason,
    resolve_now,
)
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, ServiceError
from tui_desk.services.validation import (
    check_choice,
    check_id,
    check_optional_datetime,
    check_required_text,
    check_text,
)
from tui_desk.services.visits.booking import (
    BookingRefused,
    Refused,
    check_slot,
    iso,
    override,
    slot_times,
    with_suggestions,
)
from tui_desk.services.visits.policy import OPEN_STATUSES, case_facts, lock_collector, visit_policy


def _load_open_visit(session: Session, appointment_id: int) -> Appointment:
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        raise NotFound(_("visit {id} does not exist").format(id=appointment_id))
    if appt.status not in OPEN_STATUSES:
        raise ServiceError(
            _("visit {id} is {status}: only a booked or confirmed visit can change").format(
                id=appointment_id, status=appt.status.value
            )
        )
    return appt


def _notice(
    actor: Actor,
    appt: Appointment,
    *,
    now: dt.datetime,
    policy: rules.VisitPolicy,
    override_reason: str | None,
) -> str | None:
    """None when the notice period is kept; the override reason when it is waived."""
    refusal = rules.check_notice(appt.starts_at, now=now, policy=policy)
    if refusal is None:
        return None
    reason = override(actor, [refusal], override_reason)
    if reason is None:
        raise BookingRefused([refusal], ())
    return reason


def _notified(
    side: Side | str, notified_how: Channel | str, notified_at: dt.datetime | None, now: dt.datetime
) -> tuple[Side, Channel, dt.datetime]:
    try:
        side_value = Side(side)
        how = Channel(notified_how)
    except ValueError as exc:
        raise ServiceError(
            _("say who asked for the change and how the other side was told")
        ) from exc
    when = resolve_now(notified_at) if notified_at is not None else now
    if when > now + dt.timedelta(minutes=5):
        raise ServiceError(_("the other side cannot have been told in the future"))
    return side_value, how, when


def reschedule_visit(
    ctx: Context,
    appointment_id: int,
    *,
    starts_at: dt.datetime,
    side: Side | str,
    notified_how: Channel | str,
    reason: str,
    collector_id: int | None = None,
    ends_at: dt.datetime | None = None,
    notified_at: dt.datetime | None = None,
    override_reason: str | None = None,
) -> int:
    """Move a visit: the old one is marked rescheduled, a new one is booked; returns its id.

    The notice rule applies to the original start; the new slot must pass the booking
    rules (its own old slot never clashes with it). The notice given is recorded.
    """
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    policy = visit_policy(prof)
    why = required_reason(reason, _("a change of visit needs a reason"))
    side_value, how, when = _notified(side, notified_how, notified_at, now)
    try:
        with ctx.db.write() as s:
            old = _load_open_visit(s, appointment_id)
            case = load_for_edit(s, old.case_id, ctx=ctx)
            notice_override = _notice(
                ctx.actor, old, now=now, policy=policy, override_reason=override_reason
            )
            # Both collectors' rows, always in id order: two moves in opposite directions
            # between the same collectors must not deadlock.
            target_id = collector_id or old.collector_id
            locked = {cid: lock_collector(s, cid) for cid in sorted({target_id, old.collector_id})}
            collector = locked[target_id]
            duration = old.ends_at - old.starts_at
            start, end = slot_times(starts_at, ends_at or starts_at + duration, policy)
            facts, _borrower = case_facts(s, case)
            refusals = check_slot(
                s, facts, collector, start, end, now=now, profile=prof, policy=policy,
                replacing=old.id,
            )  # fmt: skip
            slot_override = override(ctx.actor, refusals, override_reason)
            if refusals and slot_override is None:
                raise Refused(refusals, facts, replacing=old.id)
            used = notice_override or slot_override
            old.status = AppointmentStatus.RESCHEDULED
            new = Appointment(
                case_id=case.id,
                collector_id=collector.id,
                starts_at=start,
                ends_at=end,
                place=old.place,
                district=old.district,
                status=AppointmentStatus.BOOKED,
                booked_by_id=ctx.actor.id,
                booked_at=now,
                rescheduled_from_id=old.id,
                override_by_id=ctx.actor.id if used else None,
                override_reason=used,
                note=old.note,
            )
            s.add(new)
            s.add(
                _change(
                    old, ChangeKind.RESCHEDULE, ctx.actor, side_value, how, when, now, why, start
                )
            )
            case.next_action_at = start
            recompute_priority(case, now, prof)
            s.flush()
            audit.record(
                s,
                ctx.actor,
                "visit.reschedule",
                "appointment",
                new.id,
                f"{ctx.actor.login} moved visit {old.id} of case {case.id} to "
                f"{start:%Y-%m-%d %H:%M}Z ({side_value.value} asked, told by {how.value})"
                + (" (override)" if used else ""),
                now=now,
                case_id=case.id,
                before={"appointment": old.id, "starts_at": iso(old.starts_at),
                        "collector_id": old.collector_id},
                after={"appointment": new.id, "starts_at": iso(start),
                       "collector": collector.login, "side": side_value.value,
                       "notified_how": how.value, "notified_at": iso(when),
                       "override": bool(used)},
            )  # fmt: skip
            return new.id
    except Refused as refused:
        raise with_suggestions(ctx.db, refused, now=now, profile=prof, policy=policy) from None


def _change(
    appt: Appointment,
    kind: ChangeKind,
    actor: Actor,
    side: Side,
    how: Channel,
    notified_at: dt.datetime,
    now: dt.datetime,
    reason: str,
    new_start: dt.datetime | None,
) -> AppointmentChange:
    """The record of a move or cancellation: who asked, how the other side was told."""
    return AppointmentChange(
        appointment_id=appt.id,
        kind=kind,
        requested_by_side=side,
        agent_id=actor.id,
        requested_at=now,
        notified_at=notified_at,
        notified_how=how,
        old_starts_at=appt.starts_at,
        new_starts_at=new_start,
        reason=reason,
    )


def cancel_visit(
    ctx: Context,
    appointment_id: int,
    *,
    side: Side | str,
    notified_how: Channel | str,
    reason: str,
    notified_at: dt.datetime | None = None,
    override_reason: str | None = None,
) -> None:
    """Cancel a visit with the notice rule; the case goes back to the queue."""
    check_id("appointment_id", appointment_id)
    check_choice(
        "side",
        side,
        Side,
        problem=_("say who asked for the change and how the other side was told"),
    )
    check_choice(
        "notified_how",
        notified_how,
        Channel,
        problem=_("say who asked for the change and how the other side was told"),
    )
    check_required_text("reason", reason, 500)
    check_optional_datetime("notified_at", notified_at, latest=ctx.now())
    check_text("override_reason", override_reason, 500)
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    policy = visit_policy(prof)
    why = required_reason(reason, _("a change of visit needs a reason"))
    side_value, how, when = _notified(side, notified_how, notified_at, now)
    with ctx.db.write() as s:
        appt = _load_open_visit(s, appointment_id)
        case = load_for_edit(s, appt.case_id, ctx=ctx)
        used = _notice(ctx.actor, appt, now=now, policy=policy, override_reason=override_reason)
        appt.status = AppointmentStatus.CANCELLED
        if used:
            appt.override_by_id = ctx.actor.id
            appt.override_reason = used
        s.add(_change(appt, ChangeKind.CANCEL, ctx.actor, side_value, how, when, now, why, None))
        back_to_queue(s, case, now, prof)
        s.flush()
        audit.record(
            s,
            ctx.actor,
            "visit.cancel",
            "appointment",
            appt.id,
            f"{ctx.actor.login} cancelled visit {appt.id} of case {case.id} "
            f"({side_value.value} asked, told by {how.value})" + (" (override)" if used else ""),
            now=now,
            case_id=case.id,
            before={"status": "booked", "starts_at": iso(appt.starts_at)},
            after={"status": appt.status.value, "side": side_value.value,
                   "notified_how": how.value, "override": bool(used)},
        )  # fmt: skip


def back_to_queue(
    session: Session, case: CollectionCase, now: dt.datetime, profile: Profile
) -> None:
    """No visit ahead any more: the case needs a call again, due the next office day."""
    session.flush()
    ahead = session.scalar(
        select(Appointment.starts_at)
        .where(
            Appointment.case_id == case.id,
            Appointment.status.in_(OPEN_STATUSES),
            Appointment.starts_at > now,
        )
        .order_by(Appointment.starts_at)
        .limit(1)
    )
    if ahead is not None:
        case.next_action_at = ahead
    else:
        if case.stage is Stage.VISIT_BOOKED:
            case.stage = Stage.DOCUMENTS if case.documents_complete else Stage.REGISTERED
        case.next_action_at = default_next_action(now, profile)
    recompute_priority(case, now, profile)


def confirm_visit(ctx: Context, appointment_id: int) -> None:
    """The borrower confirmed the visit (status booked -> confirmed)."""
    check_id("appointment_id", appointment_id)
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    with ctx.db.write() as s:
        appt = _load_open_visit(s, appointment_id)
        if appt.status is AppointmentStatus.CONFIRMED:
            raise ServiceError(_("visit {id} is already confirmed").format(id=appt.id))
        load_for_edit(s, appt.case_id, ctx=ctx)
        appt.status = AppointmentStatus.CONFIRMED
        audit.record(
            s,
            ctx.actor,
            "visit.confirm",
            "appointment",
            appt.id,
            f"{ctx.actor.login} confirmed visit {appt.id}",
            now=now,
            case_id=appt.case_id,
            before={"status": "booked"},
            after={"status": "confirmed"},
        )
