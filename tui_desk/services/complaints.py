"""Complaints about an agent's conduct (process step 10): recorded, routed, resolved.

A complaint is recorded against the case and, when known, the collector or operator it
is about, linked to the visit or contact concerned. It goes to supervisors (their list
of open complaints); only a supervisor moves it to investigating, resolved or dismissed,
with the resolution written down. A complaint can put the case on hold (kind
"complaint") so nobody contacts the borrower while it is investigated; the hold remembers
its complaint, and the supervisor who resolves or dismisses the complaint chooses whether
that hold ends with it (``release_hold``), in the same transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Appointment,
    Borrower,
    CaseHold,
    Channel,
    CollectionCase,
    Complaint,
    ComplaintStatus,
    ContactAttempt,
    HoldKind,
)
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.services import audit
from tui_desk.services.case_state import load_for_edit, recompute_priority
from tui_desk.services.contacts import resolve_now
from tui_desk.services.context import Context
from tui_desk.services.errors import NotFound, ServiceError
from tui_desk.services.holds import release_complaint_holds
from tui_desk.views.complaints import ComplaintLine
from tui_desk.views.holds import ReleasedHold

MAX_TEXT = 2000
_OPEN = (ComplaintStatus.OPEN, ComplaintStatus.INVESTIGATING)
_NEXT: dict[ComplaintStatus, tuple[ComplaintStatus, ...]] = {
    ComplaintStatus.OPEN: (
        ComplaintStatus.INVESTIGATING,
        ComplaintStatus.RESOLVED,
        ComplaintStatus.DISMISSED,
    ),
    ComplaintStatus.INVESTIGATING: (ComplaintStatus.RESOLVED, ComplaintStatus.DISMISSED),
}


def _text(value: str | None, missing: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ServiceError(missing)
    if len(text) > MAX_TEXT:
        raise ServiceError(_("at most {n} characters").format(n=MAX_TEXT))
    return text


def record_complaint(
    ctx: Context,
    case_id: int,
    *,
    description: str,
    channel: Channel | str = Channel.PHONE,
    against_login: str | None = None,
    appointment_id: int | None = None,
    contact_id: int | None = None,
    hold: bool = False,
    received_at: dt.datetime | None = None,
) -> int:
    """Record a complaint; with ``hold`` the case is held while it is investigated."""
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    text = _text(description, _("describe the complaint"))
    try:
        how = Channel(channel)
    except ValueError:
        raise ServiceError(_("unknown channel {value}").format(value=channel)) from None
    when = resolve_now(received_at) if received_at is not None else now
    if when > now + dt.timedelta(minutes=5):
        raise ServiceError(_("a complaint cannot be received in the future"))
    with ctx.db.write() as s:
        case = load_for_edit(s, case_id, allow_closed=True, ctx=ctx)
        against: Agent | None = None
        if against_login:
            against = s.scalars(select(Agent).where(Agent.login == against_login.strip())).first()
            if against is None:
                raise NotFound(_("no agent with login {login}").format(login=against_login))
        if appointment_id is not None:
            appt = s.get(Appointment, appointment_id)
            if appt is None or appt.case_id != case.id:
                raise NotFound(
                    _("visit {id} is not a visit of this case").format(id=appointment_id)
                )
            if against is None:
                against = s.get(Agent, appt.collector_id)
        if contact_id is not None:
            contact = s.get(ContactAttempt, contact_id)
            if contact is None or contact.case_id != case.id:
                raise NotFound(
                    _("contact {id} is not a contact of this case").format(id=contact_id)
                )
            if against is None and contact.agent_id is not None:
                against = s.get(Agent, contact.agent_id)
        complaint = Complaint(
            case_id=case.id,
            against_agent_id=against.id if against else None,
            appointment_id=appointment_id,
            contact_id=contact_id,
            channel=how,
            description=text,
            status=ComplaintStatus.OPEN,
            received_at=when,
            recorded_by_id=ctx.actor.id,
        )
        s.add(complaint)
        s.flush()
        placed: CaseHold | None = None
        if hold:
            # Held for this complaint even when another hold is in force: each ends on its
            # own (this one when the complaint is resolved and the supervisor says so).
            placed = CaseHold(
                case_id=case.id,
                kind=HoldKind.COMPLAINT,
                reason=_("complaint under investigation"),
                set_by_id=ctx.actor.id,
                set_at=now,
                complaint_id=complaint.id,
            )
            s.add(placed)
            case.on_hold = True
            recompute_priority(case, now, prof)
            s.flush()
        audit.record(
            s, ctx.actor, "complaint.record", "complaint", complaint.id,
            f"{ctx.actor.login} recorded a complaint on case {case.id}"
            + (f" against {against.login}" if against else ""),
            now=now, case_id=case.id,
            after={"against": against.login if against else None, "channel": how.value,
                   "appointment_id": appointment_id, "contact_id": contact_id, "hold": hold,
                   "hold_id": placed.id if placed else None},
        )  # fmt: skip
        return complaint.id


def decide_complaint(
    ctx: Context,
    complaint_id: int,
    status: ComplaintStatus | str,
    *,
    resolution: str | None = None,
    release_hold: bool = False,
) -> list[ReleasedHold]:
    """A supervisor moves the complaint on; resolving or dismissing needs the resolution.

    With ``release_hold`` (resolving or dismissing only) the holds the complaint placed
    end too, the resolution as their reason, audited in the same transaction; without
    it they stay in force. Returns the holds released.
    """
    ctx.actor.require(Action.VIEW_BOARD)
    if release_hold:
        ctx.actor.require(Action.RELEASE_HOLD)
    now = ctx.now()
    try:
        target = ComplaintStatus(status)
    except ValueError:
        raise ServiceError(_("unknown complaint status {value}").format(value=status)) from None
    with ctx.db.write() as s:
        complaint = s.get(Complaint, complaint_id)
        if complaint is None:
            raise NotFound(_("complaint {id} does not exist").format(id=complaint_id))
        allowed = _NEXT.get(complaint.status, ())
        if target not in allowed:
            raise ServiceError(
                _("a complaint that is {now} cannot become {then}").format(
                    now=complaint.status.value, then=target.value
                )
            )
        before = complaint.status.value
        if target in (ComplaintStatus.RESOLVED, ComplaintStatus.DISMISSED):
            complaint.resolution = _text(resolution, _("write down how it was resolved"))
            complaint.resolved_by_id = ctx.actor.id
            complaint.resolved_at = now
        complaint.status = target
        released: list[ReleasedHold] = []
        if release_hold:
            if target not in (ComplaintStatus.RESOLVED, ComplaintStatus.DISMISSED):
                raise ServiceError(_("a complaint's hold is released when it is resolved"))
            case = load_for_edit(s, complaint.case_id, allow_closed=True)
            assert complaint.resolution is not None
            released = release_complaint_holds(
                s, complaint.id, case, ctx=ctx, now=now, reason=complaint.resolution
            )
        audit.record(
            s, ctx.actor, "complaint." + target.value, "complaint", complaint.id,
            f"{ctx.actor.login} set complaint {complaint.id} to {target.value}",
            now=now, case_id=complaint.case_id,
            before={"status": before},
            after={"status": target.value, "holds_released": [h.hold_id for h in released]},
        )  # fmt: skip
        return released


def complaint_list(
    db: Database,
    *,
    open_only: bool = True,
    case_id: int | None = None,
    against_agent_id: int | None = None,
    limit: int = 200,
) -> list[ComplaintLine]:
    """Complaints, newest first: the supervisors' open list, a case's, or an agent's."""
    against = aliased(Agent)
    held = exists().where(CaseHold.complaint_id == Complaint.id, CaseHold.released_at.is_(None))
    stmt = (
        select(Complaint, Borrower.name, against.name, held)
        .join(CollectionCase, CollectionCase.id == Complaint.case_id)
        .join(Borrower, Borrower.id == CollectionCase.borrower_id)
        .outerjoin(against, against.id == Complaint.against_agent_id)
        .order_by(Complaint.received_at.desc(), Complaint.id.desc())
        .limit(limit)
    )
    if open_only:
        stmt = stmt.where(Complaint.status.in_(_OPEN))
    if case_id is not None:
        stmt = stmt.where(Complaint.case_id == case_id)
    if against_agent_id is not None:
        stmt = stmt.where(Complaint.against_agent_id == against_agent_id)
    with db.read() as s:
        return [
            ComplaintLine(
                complaint_id=c.id,
                case_id=c.case_id,
                borrower_name=borrower,
                against=agent_name,
                status=c.status,
                channel=c.channel,
                received_at=c.received_at,
                description=c.description,
                resolution=c.resolution,
                held=bool(on_hold),
            )
            for c, borrower, agent_name, on_hold in s.execute(stmt)
        ]
