"""holds have a life cycle: an optional end, and the complaint that placed one

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # ADD COLUMN keeps the table as it is (no batch rebuild of a table others point at).
        op.execute("ALTER TABLE case_hold ADD COLUMN ends_at DATETIME")
        op.execute(
            "ALTER TABLE case_hold ADD COLUMN complaint_id INTEGER "
            "CONSTRAINT fk_case_hold_complaint_id_complaint REFERENCES complaint (id)"
        )
    else:
        op.add_column("case_hold", sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True))
        op.add_column("case_hold", sa.Column("complaint_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_case_hold_complaint_id_complaint",
            "case_hold",
            "complaint",
            ["complaint_id"],
            ["id"],
        )
    # The worker's expiry pass reads only holds still in force that have an end.
    op.create_index(
        "ix_case_hold_expiry",
        "case_hold",
        ["ends_at"],
        sqlite_where=sa.text("released_at IS NULL AND ends_at IS NOT NULL"),
        postgresql_where=sa.text("released_at IS NULL AND ends_at IS NOT NULL"),
    )
    op.create_index("ix_case_hold_complaint_id", "case_hold", ["complaint_id"])


def downgrade() -> None:
    op.drop_index("ix_case_hold_complaint_id", table_name="case_hold")
    op.drop_index("ix_case_hold_expiry", table_name="case_hold")
    if op.get_bind().dialect.name == "sqlite":
        # DROP COLUMN (SQLite 3.35+) in place, as the columns were added.
        for column in ("complaint_id", "ends_at"):
            op.execute(f"ALTER TABLE case_hold DROP COLUMN {column}")
        return
    with op.batch_alter_table("case_hold", schema=None) as batch_op:
        batch_op.drop_constraint("fk_case_hold_complaint_id_complaint", type_="foreignkey")
        batch_op.drop_column("complaint_id")
        batch_op.drop_column("ends_at")
