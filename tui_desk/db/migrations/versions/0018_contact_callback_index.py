"""the callbacks set for a day are found by one index range (the board's callback share)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 15:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Partial: only the attempts that set a callback (a small share of all attempts).
    op.create_index(
        "ix_contact_callback",
        "contact_attempt",
        ["callback_at", "case_id"],
        sqlite_where=sa.text("callback_at IS NOT NULL"),
        postgresql_where=sa.text("callback_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_contact_callback", table_name="contact_attempt")
