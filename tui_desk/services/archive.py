"""Archive and restore (process step 9): a finished case becomes read-only, not lost.

A case is archived when its debt is paid (the ledger's balance, ``services/ledger.py``:
nothing outstanding, whether a credit is left or not), or closed for another reason a supervisor gives (e.g. written off,
sold, deceased with the estate settled). An archived case is closed: it leaves every
queue, every write is refused (``CaseArchived``), and it is still found by search and
read in full. Only a supervisor restores it, with a reason; both moves are audited.
"""

from __future__ import annotations

from sqlalchemy import select

from tui_desk.db.models import (
    Agreement,
    AgreementStatus,
    Appointment,
    AppointmentStatus,
    CaseStatus,
    FollowUp,
    FollowUpStatus,
    PlanStatus,
    RepaymentPlan,
    Stage,
)
from tui_desk.formatting import money
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.services import audit, ledger
from tui_desk.services.case_state import load_for_edit, recompute_priority
from tui_desk.services.contacts import (
    default_next_action,
    required_reason,
)
from tui_desk.services.context import Context
from tui_desk.services.errors import ServiceError


def archive_case(ctx: Context, case_id: int, *, reason: str | None = None) -> None:
    """Archive a paid case (anyone working cases), or any case with a supervisor's reason.

    Open visits are cancelled, scheduled follow-ups cancelled, leases released.
    """
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    with ctx.db.write() as s:
        case = load_for_edit(s, case_id, ctx=ctx)
        balance = ledger.read_balance(s, case.id, now, prof)
        outstanding = balance.outstanding_minor
        # The same computation as the header's: a credit left over does not stop it.
        paid = balance.settled
        if paid:
            why = (reason or "").strip() or _("paid in full")
        else:
            if not ctx.actor.can(Action.RESTORE_FROM_ARCHIVE):
                raise ServiceError(
                    _(
                        "the case is not paid ({amount} outstanding): only a supervisor "
                        "archives it, with a reason"
                    ).format(amount=money(outstanding, prof.currency))
                )
            why = required_reason(reason, _("archiving an unpaid case needs a reason"))
        before = {"status": case.status.value, "stage": case.stage.value}
        for appt in s.scalars(
            select(Appointment).where(
                Appointment.case_id == case.id,
                Appointment.status.in_((AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)),
                Appointment.starts_at > now,
            )
        ):
            appt.status = AppointmentStatus.CANCELLED
        for follow in s.scalars(
            select(FollowUp).where(
                FollowUp.case_id == case.id, FollowUp.status == FollowUpStatus.SCHEDULED
            )
        ):
            follow.status = FollowUpStatus.CANCELLED
        for agreement in s.scalars(
            select(Agreement).where(
                Agreement.case_id == case.id,
                Agreement.status.in_((AgreementStatus.DRAFT, AgreementStatus.READY)),
            )
        ):
            agreement.status = AgreementStatus.VOID
        if paid:
            for plan in s.scalars(
                select(RepaymentPlan).where(
                    RepaymentPlan.case_id == case.id, RepaymentPlan.status == PlanStatus.ACTIVE
                )
            ):
                plan.status = PlanStatus.COMPLETED
        case.status = CaseStatus.CLOSED
        case.stage = Stage.ARCHIVED
        case.closed_at = now
        case.close_reason = why[:200]
        case.lease_holder_id = None
        case.lease_expires_at = None
        case.next_action_at = None
        case.callback_at = None
        case.callback_agent_id = None
        recompute_priority(case, now, prof)
        audit.record(
            s, ctx.actor, "case.archive", "collection_case", case.id,
            f"{ctx.actor.login} archived case {case.id}: {'paid' if paid else 'closed'}",
            now=now, case_id=case.id, before=before,
            after={
                "status": "closed", "stage": "archived", "paid": paid,
                "outstanding_minor": outstanding, "credit_minor": balance.credit_minor,
            },
        )  # fmt: skip


def restore_case(ctx: Context, case_id: int, *, reason: str) -> None:
    """A supervisor reopens an archived case (it comes back to the queue), with a reason."""
    ctx.actor.require(Action.RESTORE_FROM_ARCHIVE)
    now = ctx.now()
    prof = ctx.profile
    why = required_reason(reason, _("restoring a case needs a reason"))
    with ctx.db.write() as s:
        case = load_for_edit(s, case_id, allow_closed=True, ctx=ctx)
        if case.status is not CaseStatus.CLOSED:
            raise ServiceError(_("case {id} is not archived").format(id=case.id))
        case.status = CaseStatus.OPEN
        case.stage = Stage.CONTACTING
        case.closed_at = None
        case.close_reason = None
        case.next_action_at = default_next_action(now, prof)
        recompute_priority(case, now, prof)
        audit.record(
            s, ctx.actor, "case.restore", "collection_case", case.id,
            f"{ctx.actor.login} restored case {case.id} from the archive",
            now=now, case_id=case.id,
            before={"status": "closed", "stage": "archived"},
            after={"status": "open", "stage": "contacting", "reason": why},
        )  # fmt: skip
