"""an agent's answered override requests are found by one index range

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 13:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Each desk asks every second for its agent's requests decided since it last looked.
    op.create_index(
        "ix_override_request_requester", "override_request", ["requested_by_id", "decided_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_override_request_requester", table_name="override_request")
