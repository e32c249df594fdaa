"""a job run keeps where it stopped, so the next leader resumes it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 09:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column with no default: ADD COLUMN in place on both engines.
    op.add_column("worker_job_run", sa.Column("progress", sa.JSON(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE worker_job_run DROP COLUMN progress")
        return
    op.drop_column("worker_job_run", "progress")
