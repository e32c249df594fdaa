"""Append an audit event inside the caller's transaction (every write does)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

# Every write records an event here, so every writing process keeps the board's day counts.
import tui_desk.services.day_counts  # noqa: F401  (registers the flush hook)
from tui_desk.db.models import AuditEvent
from tui_desk.services.context import Actor


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: int | None,
    summary: str,
    *,
    now: dt.datetime,
    case_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        occurred_at=now,
        agent_id=actor.id if actor else None,
        action=action,
        entity=entity,
        entity_id=entity_id,
        case_id=case_id,
        summary=summary[:300],
        before=before,
        after=after,
    )
    session.add(event)
    return event
