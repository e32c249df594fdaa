"""The visit report: the on-site verification, which moves the case on or back to the queue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from tui_desk.db.models import Appointment, AppointmentStatus, Stage, VisitOutcome, VisitReport
from tui_desk.formatting import label, local
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.services import audit
from tui_desk.services.case_state import load_for_edit, recompute_priority
from tui_desk.services.contacts import (
    clean_note,
    default_next_action,
    stage_at_least,
)
from tui_desk.services.context import Context
from tui_desk.services.errors import NotFound, ServiceError
from tui_desk.services.validation import (
    InvalidInput,
    check_id,
    check_visit_report,
)
from tui_desk.services.visits.changes import back_to_queue
from tui_desk.services.visits.policy import OPEN_STATUSES

# Outcomes where the visit did not happen as planned: the case goes back to the queue.
_BACK_TO_QUEUE = frozenset(
    {VisitOutcome.BORROWER_ABSENT, VisitOutcome.REFUSED, VisitOutcome.WRONG_ADDRESS}
)
MAX_RECEIPT = 40
MAX_MISMATCHES = 1000
# A report may be written this long before the visit's start (the collector is early).
_REPORT_EARLY = dt.timedelta(minutes=30)


def report_due_from(starts_at: dt.datetime) -> dt.datetime:
    """The first moment a visit's report may be saved (shortly before it starts)."""
    return starts_at - _REPORT_EARLY


def report_too_early(starts_at: dt.datetime, timezone: str) -> str:
    return _("the visit of {when} has not taken place yet: report from {start} on").format(
        when=local(starts_at, timezone), start=local(report_due_from(starts_at), timezone)
    )


@dataclass(frozen=True)
class VisitReportInput:
    """What the collector records on or after the visit."""

    outcome: VisitOutcome
    work_id_shown: bool
    name_checked: bool
    contact_checked: bool
    address_checked: bool
    documents_ok: bool
    mismatches: str | None = None
    declared_income_minor: int | None = None
    obligations_minor: int | None = None
    affordable_monthly_minor: int | None = None
    collected_minor: int = 0
    collected_method: str | None = None
    receipt_no: str | None = None
    note: str | None = None


def _money(value: int | None, what: str) -> int | None:
    if value is not None and value < 0:
        raise ServiceError(_("{what} cannot be negative").format(what=what))
    return value


def record_visit_report(ctx: Context, appointment_id: int, report: VisitReportInput) -> int:
    """Record the on-site verification; moves the case on, or back to the queue."""
    check_id("appointment_id", appointment_id)
    if not isinstance(report, VisitReportInput):
        raise InvalidInput("report", _("is not a visit report"))
    check_visit_report(report, ctx.profile)
    ctx.actor.require(Action.RECORD_VISIT_REPORT)
    now = ctx.now()
    prof = ctx.profile
    outcome = VisitOutcome(report.outcome)
    _money(report.declared_income_minor, _("declared income"))
    _money(report.obligations_minor, _("regular obligations"))
    _money(report.affordable_monthly_minor, _("the affordable monthly amount"))
    collected = _money(report.collected_minor, _("money collected")) or 0
    method = (report.collected_method or "").strip() or None
    receipt = (report.receipt_no or "").strip() or None
    if collected > 0 and (method is None or receipt is None):
        raise ServiceError(_("money collected at the door needs a method and a receipt number"))
    if receipt is not None and len(receipt) > MAX_RECEIPT:
        raise ServiceError(_("a receipt number has at most {n} characters").format(n=MAX_RECEIPT))
    if outcome in (VisitOutcome.BORROWER_ABSENT, VisitOutcome.WRONG_ADDRESS) and collected:
        raise ServiceError(_("no money can be collected from a borrower who was not met"))
    mismatches = (report.mismatches or "").strip() or None
    if mismatches is not None and len(mismatches) > MAX_MISMATCHES:
        raise ServiceError(_("mismatches have at most {n} characters").format(n=MAX_MISMATCHES))
    checks = (report.name_checked, report.contact_checked, report.address_checked)
    if not all(checks) and mismatches is None and outcome not in _BACK_TO_QUEUE:
        raise ServiceError(_("say what did not match the file (name, contact or address)"))
    note = clean_note(report.note)
    with ctx.db.write() as s:
        appt = s.get(Appointment, appointment_id)
        if appt is None:
            raise NotFound(_("visit {id} does not exist").format(id=appointment_id))
        existing = s.scalar(select(VisitReport.id).where(VisitReport.appointment_id == appt.id))
        if existing is not None:
            raise ServiceError(_("visit {id} already has a report").format(id=appt.id))
        if appt.status not in OPEN_STATUSES:
            raise ServiceError(
                _("the visit of {when} is {status}: there is no visit to report on").format(
                    when=local(appt.starts_at, prof.office_timezone),
                    status=label("appointment_status", appt.status.value),
                )
            )
        if appt.starts_at - _REPORT_EARLY > now:
            raise ServiceError(report_too_early(appt.starts_at, prof.office_timezone))
        case = load_for_edit(s, appt.case_id, ctx=ctx)
        row = VisitReport(
            appointment_id=appt.id,
            case_id=case.id,
            collector_id=appt.collector_id,
            work_id_shown=report.work_id_shown,
            name_checked=report.name_checked,
            contact_checked=report.contact_checked,
            address_checked=report.address_checked,
            documents_ok=report.documents_ok,
            mismatches=mismatches,
            declared_income_minor=report.declared_income_minor,
            obligations_minor=report.obligations_minor,
            affordable_monthly_minor=report.affordable_monthly_minor,
            collected_minor=collected,
            collected_method=method,
            receipt_no=receipt,
            outcome=outcome,
            note=note,
            created_at=now,
        )
        s.add(row)
        before = {"stage": case.stage.value, "status": appt.status.value}
        if outcome is VisitOutcome.BORROWER_ABSENT:
            appt.status = AppointmentStatus.NO_SHOW
        else:
            appt.status = AppointmentStatus.DONE
        if outcome in _BACK_TO_QUEUE:
            back_to_queue(s, case, now, prof)
        else:
            stage_at_least(case, Stage.VISITED)
            # Next: a repayment plan, drafted from what was assessed on site.
            case.next_action_at = default_next_action(now, prof)
            recompute_priority(case, now, prof)
        s.flush()
        audit.record(
            s,
            ctx.actor,
            "visit.report",
            "visit_report",
            row.id,
            f"{ctx.actor.login} reported visit {appt.id} of case {case.id}: {outcome.value}",
            now=now,
            case_id=case.id,
            before=before,
            after={
                "stage": case.stage.value,
                "status": appt.status.value,
                "outcome": outcome.value,
                "collected_minor": collected,
                "mismatches": mismatches is not None,
                "affordable_monthly_minor": report.affordable_monthly_minor,
            },
        )
        return row.id
