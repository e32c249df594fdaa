"""running totals behind the board's "today" figures, kept by every write; on PostgreSQL
a notification when audit events are written, so the worker wakes without polling

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 12:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty at first: the board counts each office day once, then follows the writes.
    op.create_table(
        "board_count",
        sa.Column("slot", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("agent_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("metric", sa.String(length=24), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slot", "agent_id", "metric", name=op.f("pk_board_count")),
    )
    op.create_table(
        "board_count_day",
        sa.Column("first_slot", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("end_slot", sa.BigInteger(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("first_slot", name=op.f("pk_board_count_day")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # One notification per statement that writes events, delivered at commit
        # (several in one transaction arrive as one): services.changes.ChangeWatcher.
        op.execute(
            "CREATE FUNCTION tui_desk_change_notify() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify('tui_desk_changes', ''); RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_event_notify AFTER INSERT ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION tui_desk_change_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_notify ON audit_event")
        op.execute("DROP FUNCTION tui_desk_change_notify()")
    op.drop_table("board_count_day")
    op.drop_table("board_count")
