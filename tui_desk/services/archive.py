"""Archive and restore (process step 9): a finished case becomes read-only, not lost.

A case is archived when its debt is paid (nothing outstanding on its accounts and no
open instalment), or closed for another reason a supervisor gives (e.g. written off,
sold, deceased with the estate settled). An archived case is closed: it leaves every
queue, every write is refused (``CaseArchived``), and it is still found by search and
read in full. Only a supervisor restores it, with a reason; both moves are audited.
"""

from __future__ import annotations

from sqlalchemy import func, select

from tui_desk.db.models import (
    Agreement,
    AgreementStatus,
    Appointment,
    AppointmentStatus,
    CaseStatus,
    FollowUp,
    FollowUpStatus,
    InstalmentStatus,
    LoanAccount,
    PlanInstalment,
    PlanStatus,
    RepaymentPlan,
    Stage,
)
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.services import audit
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
        outstanding = int(
            s.scalar(
                select(
                    func.coalesce(
                        func.sum(
                            LoanAccount.outstanding_principal_minor
                            + LoanAccount.outstanding_interest_minor
                            + LoanAccount.outstanding_penalty_minor
                            + LoanAccount.outstanding_fees_minor
                        ),
                        0,
                    )
                ).where(LoanAccount.case_id == case.id)
            )
            or 0
        )
        open_instalments = int(
            s.scalar(
                select(func.count())
                .select_from(PlanInstalment)
                .join(RepaymentPlan, RepaymentPlan.id == PlanInstalment.plan_id)
                .where(
                    RepaymentPlan.case_id == case.id,
                    RepaymentPlan.status == PlanStatus.ACTIVE,
                    PlanInstalment.status != InstalmentStatus.PAID,
                )
            )
            or 0
        )
        paid = outstanding == 0 and open_instalments == 0
        if paid:
            why = (reason or "").strip() or _("paid in full")
        else:
            if not ctx.actor.can(Action.RESTORE_FROM_ARCHIVE):
                raise ServiceError(
                    _(
                        "the case is not paid ({amount} fen outstanding, {n} instalments "
                        "open): only a supervisor archives it, with a reason"
                    ).format(amount=outstanding, n=open_instalments)
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
            after={"status": "closed", "stage": "archived", "paid": paid},
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
