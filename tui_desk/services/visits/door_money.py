"""Money taken at the door: collections no bank payment has matched yet."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, VisitReport
from tui_desk.rules.profile import Profile
from tui_desk.services.contacts import resolve_now
from tui_desk.services.visits.policy import visit_policy


def overdue_collection_count(db: Database, *, now: dt.datetime, profile: Profile) -> int:
    """Door collections unmatched for longer than the profile allows (supervisors' alert)."""
    now = resolve_now(now)
    policy = visit_policy(profile)
    limit = now - dt.timedelta(days=policy.unreconciled_alert_days)
    with db.read() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(VisitReport)
                .where(
                    VisitReport.collected_minor > 0,
                    VisitReport.reconciled_payment_id.is_(None),
                    VisitReport.created_at < limit,
                )
            )
            or 0
        )


@dataclass(frozen=True)
class DoorCollection:
    """Money taken at the door that no bank payment matches yet."""

    report_id: int
    case_id: int
    collector_id: int
    collector_name: str
    collected_minor: int
    receipt_no: str | None
    reported_at: dt.datetime
    overdue: bool  # older than the profile's alert threshold


def unreconciled_collections(
    db: Database, *, now: dt.datetime, profile: Profile
) -> list[DoorCollection]:
    """Door collections without a matching bank payment, oldest first."""
    now = resolve_now(now)
    policy = visit_policy(profile)
    limit = dt.timedelta(days=policy.unreconciled_alert_days)
    with db.read() as s:
        stmt = (
            select(VisitReport, Agent.name)
            .join(Agent, Agent.id == VisitReport.collector_id)
            .where(VisitReport.collected_minor > 0, VisitReport.reconciled_payment_id.is_(None))
            .order_by(VisitReport.created_at, VisitReport.id)
        )
        return [
            DoorCollection(
                report_id=r.id,
                case_id=r.case_id,
                collector_id=r.collector_id,
                collector_name=name,
                collected_minor=r.collected_minor,
                receipt_no=r.receipt_no,
                reported_at=r.created_at,
                overdue=now - r.created_at > limit,
            )
            for r, name in s.execute(stmt)
        ]
