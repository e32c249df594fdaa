"""supervisors and administrators may sign in to the wallboard with a password

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column with no default: ADD COLUMN in place on both engines.
    op.add_column("agent", sa.Column("password_hash", sa.String(length=200), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE agent DROP COLUMN password_hash")
        return
    op.drop_column("agent", "password_hash")
