"""templates installed into the shared database

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 10:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stored_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("installed_by_id", sa.Integer(), nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["installed_by_id"],
            ["agent.id"],
            name=op.f("fk_stored_template_installed_by_id_agent"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_template")),
        sa.UniqueConstraint(
            "kind",
            "name",
            "language",
            "version",
            name=op.f("uq_stored_template_kind"),
        ),
    )


def downgrade() -> None:
    op.drop_table("stored_template")
