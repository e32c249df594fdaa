"""contact strategies: the actions they took or were refused, and the priority they add

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "strategy_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("event", sa.String(length=24), nullable=False),
        sa.Column("event_key", sa.String(length=80), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "done",
                "refused",
                name="strategy_action_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("refused_by", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["collection_case.id"],
            name=op.f("fk_strategy_action_case_id_collection_case"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact_attempt.id"],
            name=op.f("fk_strategy_action_contact_id_contact_attempt"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategy_action")),
        sa.UniqueConstraint(
            "case_id", "rule", "event_key", "seq", name=op.f("uq_strategy_action_case_id")
        ),
    )
    with op.batch_alter_table("strategy_action", schema=None) as batch_op:
        batch_op.create_index("ix_strategy_action_case_at", ["case_id", "at"], unique=False)
        batch_op.create_index("ix_strategy_action_at", ["at"], unique=False)
    with op.batch_alter_table("collection_case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority_boost", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("collection_case", schema=None) as batch_op:
        batch_op.drop_column("priority_boost")
    op.drop_table("strategy_action")
