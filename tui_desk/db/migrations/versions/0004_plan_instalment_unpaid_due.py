"""unpaid plan instalments by due date (the missed-instalments job)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00.000000

The worker looks for instalments of active plans that fell due unpaid. Only unpaid lines
(due or partial) are indexed: once the ledger marks a line paid or missed it leaves the
index, so the job reads a small range whatever the size of the plan history.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNPAID = "(status = 'due' OR status = 'partial')"


def upgrade() -> None:
    with op.batch_alter_table('plan_instalment', schema=None) as batch_op:
        batch_op.create_index('ix_plan_instalment_unpaid_due', ['due_on', 'plan_id'], unique=False, sqlite_where=sa.text(_UNPAID), postgresql_where=sa.text(_UNPAID))


def downgrade() -> None:
    with op.batch_alter_table('plan_instalment', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_instalment_unpaid_due', sqlite_where=sa.text(_UNPAID), postgresql_where=sa.text(_UNPAID))
