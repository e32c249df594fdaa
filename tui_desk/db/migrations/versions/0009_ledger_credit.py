"""a case's credit is used by supervisors: applied to what is owed, or refunded

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new table only: nothing existing is rebuilt on either engine.
    op.create_table(
        "credit_move",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "apply", "refund", name="credit_move_kind", native_enum=False,
                create_constraint=True, length=24,
            ),
            nullable=False,
        ),  # fmt: skip
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("moved_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("moved_by_id", sa.Integer(), nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["collection_case.id"], name=op.f("fk_credit_move_case_id_collection_case")
        ),
        sa.ForeignKeyConstraint(
            ["moved_by_id"], ["agent.id"], name=op.f("fk_credit_move_moved_by_id_agent")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_move")),
    )
    op.create_index(op.f("ix_credit_move_case_id"), "credit_move", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_credit_move_case_id"), table_name="credit_move")
    op.drop_table("credit_move")
