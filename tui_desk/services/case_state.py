"""Shared steps of every write to a case: load it for editing and keep its priority true.

Each service that changes a case calls ``load_for_edit`` (row lock on PostgreSQL, version
check everywhere: an edit based on a stale read is refused, never silently lost) and then
``recompute_priority`` so the stored, indexed queue order follows every write.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from tui_desk.db.models import CaseStatus, CollectionCase
from tui_desk.i18n import _
from tui_desk.rules.priority import Score, bucket_number, days_past_due, priority_score
from tui_desk.rules.profile import Profile
from tui_desk.services.errors import NotFound, ServiceError, StaleEdit


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


def load_for_edit(
    session: Session,
    case_id: int,
    *,
    expected_version: int | None = None,
    allow_closed: bool = False,
) -> CollectionCase:
    """The case, locked for this transaction; refuse if it changed since ``expected_version``."""
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
    if expected_version is not None:
        # An edit made against a version moves it on even when the case row itself does
        # not change (a new plan, say): a second edit made against the same version is
        # then refused instead of silently replacing the first.
        flag_modified(case, "status")
    return case
