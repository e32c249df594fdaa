"""contact attempts can be voided (an outcome undone), never deleted

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # ADD COLUMN keeps the table as it is: a batch rebuild would copy every contact
        # attempt and cannot drop a table other tables' foreign keys point at.
        op.execute("ALTER TABLE contact_attempt ADD COLUMN voided_at DATETIME")
        op.execute(
            "ALTER TABLE contact_attempt ADD COLUMN voided_by_id INTEGER "
            "CONSTRAINT fk_contact_attempt_voided_by_id_agent REFERENCES agent (id)"
        )
        op.execute("ALTER TABLE contact_attempt ADD COLUMN void_reason TEXT")
        return
    op.add_column(
        "contact_attempt", sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("contact_attempt", sa.Column("voided_by_id", sa.Integer(), nullable=True))
    op.add_column("contact_attempt", sa.Column("void_reason", sa.Text(), nullable=True))
    op.create_foreign_key(
        "fk_contact_attempt_voided_by_id_agent",
        "contact_attempt",
        "agent",
        ["voided_by_id"],
        ["id"],
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # DROP COLUMN (SQLite 3.35+) in place, for the same reason as ADD COLUMN above.
        for column in ("void_reason", "voided_by_id", "voided_at"):
            op.execute(f"ALTER TABLE contact_attempt DROP COLUMN {column}")
        return
    with op.batch_alter_table("contact_attempt", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_contact_attempt_voided_by_id_agent"), type_="foreignkey"
        )
        batch_op.drop_column("void_reason")
        batch_op.drop_column("voided_by_id")
        batch_op.drop_column("voided_at")
