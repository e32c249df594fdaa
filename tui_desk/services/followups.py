"""Follow-ups (回访, PROCESS.md step 7): scheduled at signing, listed, done, flagged missed.

- ``schedule_for_agreement`` and ``cancel_after_payoff`` run inside another service's
  transaction (signing an agreement, the ledger reaching a zero balance): they neither
  commit nor audit; the caller's audit event covers them (they return the ids).
- ``complete_follow_up`` / ``reassign_follow_up`` are desk writes: one transaction and
  one audit event each.
- ``mark_missed_follow_ups`` is the worker's job ``missed_follow_ups``: scheduled
  follow-ups past their date plus the profile's grace become missed, one audit event per
  batch.

A follow-up is not a queue item: a signed, honoured case leaves the collection queue, and
its follow-ups show in the follow-up list (and the calendar) instead. The dates come from
``tui_desk.rules.followups`` (see there for the rule and its worked examples).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, union_all, update
from sqlalchemy.orm import Session, aliased

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Borrower,
    CaseStatus,
    Channel,
    CollectionCase,
    FollowUp,
    FollowUpStatus,
    LoanAccount,
    Stage,
)
from tui_desk.i18n import N_, _
from tui_desk.rules.followups import (
    FollowUpPolicy,
    WorkingDays,
    days_overdue,
    follow_up_dates,
    missed_cutoff,
    next_follow_up,
)
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile, load_profile
from tui_desk.rules.visits import work_calendar
from tui_desk.services import audit
from tui_desk.services.case_state import load_for_edit, office_today
from tui_desk.services.contacts import resolve_now
from tui_desk.services.context import Context
from tui_desk.services.errors import NotFound, PermissionDenied, ServiceError
from tui_desk.services.jobs import JobFunction, job_write
from tui_desk.views.followups import FollowUpLine

DEFAULT_PROFILE = "cn"
# Follow-ups fall due by office date; a quarter of an hour after midnight the list shows it.
MISSED_FOLLOW_UPS_EVERY = dt.timedelta(minutes=15)
DEFAULT_BATCH = 500
MAX_NOTE = 2000
OPEN_STATUSES = (FollowUpStatus.SCHEDULED, FollowUpStatus.MISSED)
# The audit event lists at most this many ids; the counts are always complete.
_AUDIT_ID_LIMIT = 1000
_STATUS_LABELS = {
    FollowUpStatus.SCHEDULED: N_("scheduled"),
    FollowUpStatus.DONE: N_("done"),
    FollowUpStatus.MISSED: N_("missed"),
    FollowUpStatus.CANCELLED: N_("cancelled"),
}


def follow_up_policy(profile: Profile) -> FollowUpPolicy:
    return FollowUpPolicy.from_section(profile.section("followups"))


def follow_up_calendar(profile: Profile, policy: FollowUpPolicy) -> WorkingDays | None:
    """The working-day calendar the dates move on, or None when the profile keeps them."""
    return work_calendar(profile.holidays_country) if policy.move_to_working_day else None


# --- inside the caller's transaction ------------------------------------------------------


def schedule_for_agreement(
    session: Session,
    *,
    case_id: int,
    agreement_id: int | None,
    effective_on: dt.date,
    payoff_on: dt.date,
    owner_id: int | None,
    now: dt.datetime,
    profile: Profile,
) -> list[int]:
    """Schedule the follow-ups of a signed agreement; the ids, in date order.

    Called inside the signing transaction (no commit, no audit: the caller audits and
    may list the ids). Scheduled follow-ups of the case from an earlier agreement are
    cancelled first: the new agreement replaces their plan. ``payoff_on`` is the projected
    payoff (the plan's last due date); none is scheduled after it.
    """
    policy = follow_up_policy(profile)
    cancel_scheduled(session, case_id, after=None)
    dates = follow_up_dates(effective_on, payoff_on, policy, follow_up_calendar(profile, policy))
    rows = [
        FollowUp(
            case_id=case_id,
            agreement_id=agreement_id,
            due_on=day,
            channel=Channel(policy.channel),
            owner_id=owner_id,
            status=FollowUpStatus.SCHEDULED,
        )
        for day in dates
    ]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def cancel_scheduled(session: Session, case_id: int, *, after: dt.date | None) -> list[int]:
    """Cancel the case's scheduled follow-ups (dated after ``after``, when given); the ids."""
    stmt = (
        update(FollowUp)
        .where(FollowUp.case_id == case_id, FollowUp.status == FollowUpStatus.SCHEDULED)
        .values(status=FollowUpStatus.CANCELLED)
        .returning(FollowUp.id)
        .execution_options(synchronize_session=False)
    )
    if after is not None:
        stmt = stmt.where(FollowUp.due_on > after)
    return sorted(session.scalars(stmt))


def cancel_after_payoff(
    session: Session, case_id: int, paid_off_on: dt.date, now: dt.datetime
) -> list[int]:
    """The balance reached 0 on ``paid_off_on``: cancel the scheduled follow-ups after it.

    Called inside the ledger's transaction (no commit, no audit); returns the ids. A
    follow-up dated on the payoff day itself stays.
    """
    del now  # kept in the signature: callers pass their clock, as for every write
    return cancel_scheduled(session, case_id, after=paid_off_on)


# --- the list -------------------------------------------------------------------------------


def _line(row: FollowUp, borrower: str, owner: str | None, today: dt.date) -> FollowUpLine:
    late = days_overdue(row.due_on, today) if row.status in OPEN_STATUSES else 0
    return FollowUpLine(
        follow_up_id=row.id,
        case_id=row.case_id,
        agreement_id=row.agreement_id,
        borrower_name=borrower,
        due_on=row.due_on,
        channel=Channel(row.channel).value,
        owner_id=row.owner_id,
        owner_name=owner,
        status=FollowUpStatus(row.status).value,
        days_overdue=late,
        note=row.note,
    )


def follow_up_list(
    db: Database,
    *,
    owner_id: int | None = None,
    due_from: dt.date | None = None,
    due_before: dt.date | None = None,
    case_id: int | None = None,
    statuses: Sequence[str] = OPEN_STATUSES,
    limit: int = 200,
    now: dt.datetime,
    profile: Profile,
) -> list[FollowUpLine]:
    """Follow-ups by due date (oldest first), of open cases; ``due_before`` is inclusive.

    Served by ``ix_follow_up_due`` (status, due_on): a range per status, then the owner.
    ``days_overdue`` counts office days past the date for scheduled and missed ones.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    today = office_today(resolve_now(now), profile)

    def filtered(stmt: Any) -> Any:
        if due_from is not None:
            stmt = stmt.where(FollowUp.due_on >= due_from)
        if due_before is not None:
            stmt = stmt.where(FollowUp.due_on <= due_before)
        if owner_id is not None:
            stmt = stmt.where(FollowUp.owner_id == owner_id)
        if case_id is not None:
            stmt = stmt.where(FollowUp.case_id == case_id)
        return stmt

    # One index-ordered range per status, each stopped at ``limit``, then merged: with
    # an IN over the statuses both planners would read every open follow-up and sort.
    parts = [
        filtered(
            select(FollowUp.id.label("id"))
            .join(CollectionCase, CollectionCase.id == FollowUp.case_id)
            .where(FollowUp.status == FollowUpStatus(st), CollectionCase.status == CaseStatus.OPEN)
        )
        .order_by(FollowUp.due_on, FollowUp.id)
        .limit(limit)
        .subquery()
        for st in statuses
    ]
    if not parts:
        return []
    picked = union_all(*(select(part.c.id) for part in parts)).subquery()
    owner = aliased(Agent)
    stmt = (
        select(FollowUp, Borrower.name, owner.name)
        .join(picked, picked.c.id == FollowUp.id)
        .join(CollectionCase, CollectionCase.id == FollowUp.case_id)
        .join(Borrower, Borrower.id == CollectionCase.borrower_id)
        .outerjoin(owner, owner.id == FollowUp.owner_id)
        .order_by(FollowUp.due_on, FollowUp.id)
        .limit(limit)
    )
    with db.read() as s:
        return [_line(row, borrower, name, today) for row, borrower, name in s.execute(stmt)]


# --- desk writes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpDone:
    follow_up_id: int
    case_id: int
    next_follow_up_id: int | None
    next_due_on: dt.date | None


def _load(session: Session, follow_up_id: int) -> FollowUp:
    stmt = select(FollowUp).where(FollowUp.id == follow_up_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).one_or_none()
    if row is None:
        raise NotFound(_("follow-up {id} does not exist").format(id=follow_up_id))
    return row


def _case_balance(session: Session, case_id: int) -> int:
    total = session.scalar(
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
        ).where(LoanAccount.case_id == case_id)
    )
    return int(total or 0)


def complete_follow_up(ctx: Context, follow_up_id: int, *, note: str) -> FollowUpDone:
    """Mark a scheduled or missed follow-up done, with what was found (``note``, required).

    Only its owner or a supervisor may (an unowned one: anyone who works cases). When it
    was the case's last scheduled follow-up and the balance is not yet 0 (the borrower
    pays later than planned), the next one is scheduled at most ``every_months`` after it,
    for the same owner: checks go on until the debt is paid.
    """
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    text = (note or "").strip()
    if not text:
        raise ServiceError(_("a follow-up needs a note on what was found"))
    if len(text) > MAX_NOTE:
        raise ServiceError(_("a note has at most {n} characters").format(n=MAX_NOTE))
    with ctx.db.write() as s:
        row = _load(s, follow_up_id)
        if row.owner_id not in (None, ctx.actor.id) and not ctx.actor.can(Action.REASSIGN):
            raise PermissionDenied(
                _("follow-up {id} belongs to another agent; only they or a supervisor may "
                  "mark it done").format(id=row.id)
            )  # fmt: skip
        if row.status not in OPEN_STATUSES:
            raise ServiceError(
                _("follow-up {id} is {status}; only a scheduled or missed one can be done").format(
                    id=row.id, status=_(_STATUS_LABELS[row.status])
                )
            )
        case = load_for_edit(s, row.case_id, ctx=ctx)
        before = {"status": row.status.value, "note": row.note}
        row.status = FollowUpStatus.DONE
        row.done_at = now
        row.note = text
        next_id: int | None = None
        next_due: dt.date | None = None
        later = s.scalar(
            select(func.count(FollowUp.id)).where(
                FollowUp.case_id == case.id,
                FollowUp.status == FollowUpStatus.SCHEDULED,
                FollowUp.id != row.id,
            )
        )
        if not later and case.stage is not Stage.PAID and _case_balance(s, case.id) > 0:
            policy = follow_up_policy(prof)
            calendar = follow_up_calendar(prof, policy)
            today = office_today(now, prof)
            next_due = next_follow_up(row.due_on, policy, calendar)
            if next_due <= today:  # done long after its date: three months from today
                next_due = next_follow_up(today, policy, calendar)
            follow = FollowUp(
                case_id=case.id,
                agreement_id=row.agreement_id,
                due_on=next_due,
                channel=row.channel,
                owner_id=row.owner_id,
                status=FollowUpStatus.SCHEDULED,
            )
            s.add(follow)
            s.flush()
            next_id = follow.id
        audit.record(
            s,
            ctx.actor,
            "follow_up.done",
            "follow_up",
            row.id,
            f"{ctx.actor.login} did follow-up {row.id} of case {case.id} (due {row.due_on})",
            now=now,
            case_id=case.id,
            before=before,
            after={
                "status": row.status.value,
                "note": text,
                "due_on": row.due_on.isoformat(),
                "next_follow_up_id": next_id,
                "next_due_on": next_due.isoformat() if next_due else None,
            },
        )
        return FollowUpDone(row.id, case.id, next_id, next_due)


def reassign_follow_up(ctx: Context, follow_up_id: int, owner_id: int) -> None:
    """A supervisor gives a scheduled or missed follow-up to another active agent."""
    ctx.actor.require(Action.REASSIGN)
    now = ctx.now()
    with ctx.db.write() as s:
        row = _load(s, follow_up_id)
        if row.status not in OPEN_STATUSES:
            raise ServiceError(
                _("follow-up {id} is {status}; only a scheduled or missed one can be "
                  "reassigned").format(id=row.id, status=_(_STATUS_LABELS[row.status]))
            )  # fmt: skip
        agent = s.get(Agent, owner_id)
        if agent is None or not agent.active:
            raise NotFound(_("no active agent with id {id}").format(id=owner_id))
        before = row.owner_id
        row.owner_id = agent.id
        audit.record(
            s,
            ctx.actor,
            "follow_up.reassign",
            "follow_up",
            row.id,
            f"{ctx.actor.login} gave follow-up {row.id} to {agent.login}",
            now=now,
            case_id=row.case_id,
            before={"owner_id": before},
            after={"owner_id": agent.id},
        )


# --- the worker's pass ----------------------------------------------------------------------


@dataclass(frozen=True)
class MissedFollowUpsResult:
    cutoff: dt.date
    missed: int
    batches: int

    def summary(self) -> str:
        return f"follow-ups due before {self.cutoff.isoformat()}: {self.missed} missed"


def settle_missed_follow_ups(
    db: Database,
    now: dt.datetime,
    *,
    profile: str = DEFAULT_PROFILE,
    batch_size: int = DEFAULT_BATCH,
) -> MissedFollowUpsResult:
    """Scheduled follow-ups dated before today - missed_after_days (office date) become
    missed; each batch is one transaction with one audit event."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    prof = load_profile(profile)
    now = resolve_now(now)
    policy = follow_up_policy(prof)
    cutoff = missed_cutoff(office_today(now, prof), policy)
    missed = batches = 0
    while True:
        with job_write(db) as s:
            # (status, due_on) order: the ix_follow_up_due range, oldest first. Rows this
            # pass changes leave the range, so each batch starts at the front again.
            ids = list(
                s.scalars(
                    select(FollowUp.id)
                    .where(FollowUp.status == FollowUpStatus.SCHEDULED, FollowUp.due_on < cutoff)
                    .order_by(FollowUp.due_on, FollowUp.id)
                    .limit(batch_size)
                )
            )
            if not ids:
                break
            changed = sorted(
                s.execute(
                    update(FollowUp)
                    .where(FollowUp.id.in_(ids), FollowUp.status == FollowUpStatus.SCHEDULED)
                    .values(status=FollowUpStatus.MISSED)
                    .returning(FollowUp.id, FollowUp.case_id)
                    .execution_options(synchronize_session=False)
                ).all(),
                key=lambda r: r.id,
            )
            if changed:
                audit.record(
                    s,
                    None,
                    "follow_up.missed",
                    "follow_up",
                    None,
                    f"{len(changed)} follow-ups missed (due before {cutoff.isoformat()})",
                    now=now,
                    after={
                        "profile": profile,
                        "cutoff": cutoff.isoformat(),
                        "missed": len(changed),
                        "ids": [r.id for r in changed][:_AUDIT_ID_LIMIT],
                        "case_ids": sorted({r.case_id for r in changed})[:_AUDIT_ID_LIMIT],
                    },
                )
                missed += len(changed)
                batches += 1
        if len(ids) < batch_size:
            break
    return MissedFollowUpsResult(cutoff=cutoff, missed=missed, batches=batches)


def mark_missed_follow_ups(
    db: Database,
    now: dt.datetime,
    *,
    profile: str = DEFAULT_PROFILE,
    batch_size: int = DEFAULT_BATCH,
) -> str:
    """Worker job body; returns the status line for the worker's log."""
    return settle_missed_follow_ups(db, now, profile=profile, batch_size=batch_size).summary()


def missed_follow_ups_job(profile: str = DEFAULT_PROFILE) -> JobFunction:
    """The worker's ``missed_follow_ups`` job for the deployment's policy profile."""
    follow_up_policy(load_profile(profile))  # a bad profile fails at worker start

    def run(db: Database, now: dt.datetime) -> str:
        return mark_missed_follow_ups(db, now, profile=profile)

    return run
