"""board snapshot, override requests

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 23:11:41.518244
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_BOARD_INDEXES: list[tuple[str, str, list[str], str | None]] = [
    ("promise_to_pay", "ix_promise_created", ["created_at", "created_by_id", "amount_minor"], None),
    ("appointment", "ix_appointment_booked_at", ["booked_at", "booked_by_id"], None),
    ("appointment", "ix_appointment_unconfirmed", ["starts_at"], "status = 'booked'"),
    ("visit_report", "ix_visit_report_created", ["created_at", "collector_id"], None),
    ("agreement", "ix_agreement_signed", ["signed_at"], "signed_at IS NOT NULL"),
    ("payment", "ix_payment_recorded", ["recorded_at", "case_id", "amount_minor"], None),
    (
        "complaint",
        "ix_complaint_open",
        ["received_at"],
        "status = 'open' OR status = 'investigating'",
    ),
    ("adjustment", "ix_adjustment_pending", ["requested_at"], "status = 'requested'"),
    (
        "collection_case",
        "ix_case_callback_due",
        ["status", "callback_at"],
        "callback_at IS NOT NULL",
    ),
    (
        "collection_case",
        "ix_case_board_depth",
        [
            "status",
            "dpd_bucket",
            "stage",
            "owner_id",
            "on_hold",
            "broken_promises",
            "overdue_minor",
        ],
        None,
    ),
]


def upgrade() -> None:
    op.create_table(
        "board_snapshot",
        sa.Column("section", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("feed_token", sa.String(length=60), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("section", name=op.f("pk_board_snapshot")),
    )
    op.create_table(
        "override_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                "withdrawn",
                name="override_request_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("override_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["collection_case.id"],
            name=op.f("fk_override_request_case_id_collection_case"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["agent.id"], name=op.f("fk_override_request_decided_by_id_agent")
        ),
        sa.ForeignKeyConstraint(
            ["override_id"],
            ["rule_override.id"],
            name=op.f("fk_override_request_override_id_rule_override"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["agent.id"],
            name=op.f("fk_override_request_requested_by_id_agent"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_override_request")),
    )
    with op.batch_alter_table("override_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_override_request_status", ["status", "requested_at"], unique=False
        )

    # The board snapshot's cheap sections: today's rows by time range, the open risks by
    # partial indexes that hold only what is still at risk.
    for table, name, columns, where in _BOARD_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            if where is None:
                batch_op.create_index(name, columns, unique=False)
            else:
                batch_op.create_index(
                    name,
                    columns,
                    unique=False,
                    sqlite_where=sa.text(where),
                    postgresql_where=sa.text(where),
                )
    # PostgreSQL only, partial on a condition every range on started_at implies and a
    # case's history ("case_id = ? ORDER BY started_at DESC") does not, so that query keeps
    # ix_contact_case_time (SQLite's planner would stop using a partial one for the range).
    with op.batch_alter_table('contact_attempt', schema=None) as batch_op:
        batch_op.create_index(
            'ix_contact_started',
            ['started_at', 'agent_id', 'outcome', 'party'],
            unique=False,
            postgresql_where=sa.text('started_at IS NOT NULL'),
        )


def downgrade() -> None:
    with op.batch_alter_table('contact_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_started')
    for table, name, _columns, _where in reversed(_BOARD_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)

    with op.batch_alter_table("override_request", schema=None) as batch_op:
        batch_op.drop_index("ix_override_request_status")

    op.drop_table("override_request")
    op.drop_table("board_snapshot")
