"""change feed transaction ids, agent presence

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 21:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The writing transaction's id (xid8, PostgreSQL >= 13) as a bigint.
XACT_ID_DEFAULT = '(pg_current_xact_id()::text)::bigint'


def upgrade() -> None:
    # A plain ALTER TABLE ... ADD COLUMN on both engines: no copy of a large table. On
    # PostgreSQL the (volatile) default is set afterwards, so existing rows are not
    # rewritten: events recorded before 0006 keep xact_id NULL and are not in the feed.
    op.add_column('audit_event', sa.Column('xact_id', sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('audit_event', 'xact_id', server_default=sa.text(XACT_ID_DEFAULT))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(
            'ix_audit_xact', ['xact_id', 'id'], unique=False,
            postgresql_where=sa.text('xact_id IS NOT NULL'),
            sqlite_where=sa.text('xact_id IS NOT NULL'),
        )

    op.create_table('agent_presence',
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=120), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('current_case_id', sa.Integer(), nullable=True),
    sa.Column('case_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_action', sa.String(length=120), nullable=True),
    sa.Column('last_action_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_agent_presence_agent_id_agent')),
    sa.PrimaryKeyConstraint('agent_id', name=op.f('pk_agent_presence'))
    )


def downgrade() -> None:
    op.drop_table('agent_presence')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_xact')
        batch_op.drop_column('xact_id')
