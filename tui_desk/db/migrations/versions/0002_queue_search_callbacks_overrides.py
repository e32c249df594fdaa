"""queue search, callbacks, overrides

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 18:28:34.019514
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('borrower_name_gram',
    sa.Column('gram', sa.String(length=8), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrower.id'], name=op.f('fk_borrower_name_gram_borrower_id_borrower'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('gram', 'borrower_id', name=op.f('pk_borrower_name_gram')),
    sqlite_with_rowid=False
    )
    op.create_table('rule_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('granted_to_id', sa.Integer(), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['collection_case.id'], name=op.f('fk_rule_override_case_id_collection_case')),
    sa.ForeignKeyConstraint(['granted_by_id'], ['agent.id'], name=op.f('fk_rule_override_granted_by_id_agent')),
    sa.ForeignKeyConstraint(['granted_to_id'], ['agent.id'], name=op.f('fk_rule_override_granted_to_id_agent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_override'))
    )
    with op.batch_alter_table('rule_override', schema=None) as batch_op:
        batch_op.create_index('ix_rule_override_case', ['case_id', 'rule'], unique=False)

    with op.batch_alter_table('borrower', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_rev', sa.String(length=18), nullable=True))
        batch_op.drop_index(batch_op.f('ix_borrower_id_number'))
        batch_op.create_index(batch_op.f('ix_borrower_id_rev'), ['id_rev'], unique=False)

    with op.batch_alter_table('collection_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpd_bucket', sa.SmallInteger(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('callback_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('callback_agent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('registered', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('documents_complete', sa.Boolean(), server_default=sa.false(), nullable=False))
        # Most cases have no lease: index only the ones that do.
        batch_op.drop_index('ix_case_lease')
        batch_op.create_index('ix_case_lease', ['lease_holder_id'], unique=False, sqlite_where=sa.text('lease_holder_id IS NOT NULL'), postgresql_where=sa.text('lease_holder_id IS NOT NULL'))
        batch_op.create_index('ix_case_broken_queue', ['status', 'priority', 'id'], unique=False, sqlite_where=sa.text('broken_promises > 0'), postgresql_where=sa.text('broken_promises > 0'))
        batch_op.create_index('ix_case_callback', ['callback_agent_id', 'callback_at'], unique=False, sqlite_where=sa.text('callback_at IS NOT NULL'), postgresql_where=sa.text('callback_at IS NOT NULL'))
        batch_op.create_index('ix_case_hold_queue', ['status', 'priority', 'id'], unique=False, sqlite_where=sa.text('on_hold IS 1'), postgresql_where=sa.text('on_hold IS true'))
        batch_op.create_index('ix_case_registered_queue', ['status', 'priority', 'id'], unique=False, sqlite_where=sa.text('registered IS 1'), postgresql_where=sa.text('registered IS true'))
        batch_op.create_index('ix_case_stage_queue', ['status', 'stage', 'priority', 'id'], unique=False)
        batch_op.create_index('ix_case_bucket_queue', ['status', 'dpd_bucket', 'priority', 'id'], unique=False)
        batch_op.create_index('ix_case_unowned_queue', ['status', 'priority', 'id'], unique=False, sqlite_where=sa.text('owner_id IS NULL'), postgresql_where=sa.text('owner_id IS NULL'))
        batch_op.create_foreign_key(batch_op.f('fk_collection_case_callback_agent_id_agent'), 'agent', ['callback_agent_id'], ['id'])

    with op.batch_alter_table('loan_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loan_account_borrower_id'))

    with op.batch_alter_table('promise_to_pay', schema=None) as batch_op:
        batch_op.create_index('ix_promise_open_due', ['due_on', 'case_id'], unique=False, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    with op.batch_alter_table('phone', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digits_rev', sa.String(length=20), nullable=True))
        batch_op.drop_index(batch_op.f('ix_phone_e164'))
        batch_op.create_index(batch_op.f('ix_phone_digits_rev'), ['digits_rev'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('promise_to_pay', schema=None) as batch_op:
        batch_op.drop_index('ix_promise_open_due')

    with op.batch_alter_table('loan_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loan_account_borrower_id'), ['borrower_id'], unique=False)

    with op.batch_alter_table('phone', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phone_digits_rev'))
        batch_op.create_index(batch_op.f('ix_phone_e164'), ['e164'], unique=False)
        batch_op.drop_column('digits_rev')

    with op.batch_alter_table('collection_case', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_collection_case_callback_agent_id_agent'), type_='foreignkey')
        batch_op.drop_index('ix_case_lease')
        batch_op.create_index('ix_case_lease', ['lease_holder_id'], unique=False)
        batch_op.drop_index('ix_case_unowned_queue', sqlite_where=sa.text('owner_id IS NULL'), postgresql_where=sa.text('owner_id IS NULL'))
        batch_op.drop_index('ix_case_stage_queue')
        batch_op.drop_index('ix_case_bucket_queue')
        batch_op.drop_index('ix_case_registered_queue', sqlite_where=sa.text('registered IS 1'), postgresql_where=sa.text('registered IS true'))
        batch_op.drop_index('ix_case_hold_queue', sqlite_where=sa.text('on_hold IS 1'), postgresql_where=sa.text('on_hold IS true'))
        batch_op.drop_index('ix_case_callback', sqlite_where=sa.text('callback_at IS NOT NULL'), postgresql_where=sa.text('callback_at IS NOT NULL'))
        batch_op.drop_index('ix_case_broken_queue', sqlite_where=sa.text('broken_promises > 0'), postgresql_where=sa.text('broken_promises > 0'))
        batch_op.drop_column('documents_complete')
        batch_op.drop_column('registered')
        batch_op.drop_column('callback_agent_id')
        batch_op.drop_column('callback_at')
        batch_op.drop_column('dpd_bucket')

    with op.batch_alter_table('borrower', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_borrower_id_rev'))
        batch_op.create_index(batch_op.f('ix_borrower_id_number'), ['id_number'], unique=False)
        batch_op.drop_column('id_rev')

    with op.batch_alter_table('rule_override', schema=None) as batch_op:
        batch_op.drop_index('ix_rule_override_case')

    op.drop_table('rule_override')
    op.drop_table('borrower_name_gram')
