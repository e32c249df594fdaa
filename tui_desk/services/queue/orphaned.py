"""Orphans: open cases whose next action date was lost, surfaced for a supervisor."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select

from tui_desk.db.engine import Database
from tui_desk.db.models import CollectionCase
from tui_desk.services.queue.tables import CASE, OPEN

_C = CollectionCase


def _orphan_terms() -> tuple[ColumnElement[bool], ...]:
    return (_C.status == OPEN, _C.next_action_at.is_(None))


def orphans(db: Database, *, limit: int = 50) -> list[int]:
    """Open cases without a next action date (surfaced for a supervisor, oldest first)."""
    with db.read() as s:
        return list(
            s.scalars(select(_C.id).where(*_orphan_terms()).order_by(_C.id).limit(max(1, limit)))
        )


def orphan_count(db: Database) -> int:
    """How many open cases lack a next action (a range of ix_case_next_action; normally 0)."""
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(CASE).where(*_orphan_terms())) or 0)
