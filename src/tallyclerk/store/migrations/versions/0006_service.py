"""The service: users, API tokens, dashboard sessions, the dispute workflow, credit ledger, burn.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _dispute_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("period", sa.Date(), nullable=True),
        sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(), nullable=True),
        sa.Column("answer_note", sa.Text(), nullable=True),
        sa.Column("counter_amount", sa.Numeric(18, 4), nullable=True),
        sa.Column("responded_by", sa.String(), nullable=True),
        sa.Column("resolved_by", sa.String(), nullable=True),
        sa.Column("credited_amount", sa.Numeric(18, 4), nullable=True),
    ]


def upgrade() -> None:
    for column in _dispute_columns():
        op.add_column("disputes", column)
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=True),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("password_hash", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_id"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("csrf_token", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_hash"),
    )
    op.execute(sa.schema.CreateSequence(sa.Sequence("dispute_event_id_seq")))
    op.create_table(
        "dispute_events",
        sa.Column(
            "event_id",
            sa.BigInteger(),
            server_default=sa.text("nextval('dispute_event_id_seq')"),
            nullable=False,
        ),
        sa.Column("dispute_id", sa.String(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("amount", sa.Numeric(18, 4), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.execute(sa.schema.CreateSequence(sa.Sequence("credit_entry_id_seq")))
    op.create_table(
        "credit_ledger",
        sa.Column(
            "entry_id",
            sa.BigInteger(),
            server_default=sa.text("nextval('credit_entry_id_seq')"),
            nullable=False,
        ),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(18, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("source_ref", sa.String(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    op.create_table(
        "sla_burn",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("threshold", sa.Double(), nullable=False),
        sa.Column("lower_is_better", sa.Boolean(), nullable=False),
        sa.Column("judged", sa.BigInteger(), nullable=False),
        sa.Column("bad", sa.BigInteger(), nullable=False),
        sa.Column("expected", sa.Double(), nullable=False),
        sa.Column("budget", sa.Double(), nullable=False),
        sa.Column("burn_short", sa.Double(), nullable=True),
        sa.Column("burn_long", sa.Double(), nullable=True),
        sa.Column("projected", sa.Double(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "provider_id", "metric"),
    )


def downgrade() -> None:
    op.drop_table("sla_burn")
    op.drop_table("credit_ledger")
    op.execute(sa.schema.DropSequence(sa.Sequence("credit_entry_id_seq")))
    op.drop_table("dispute_events")
    op.execute(sa.schema.DropSequence(sa.Sequence("dispute_event_id_seq")))
    op.drop_table("web_sessions")
    op.drop_table("api_tokens")
    op.drop_table("users")
    for column in reversed(_dispute_columns()):
        op.drop_column("disputes", column.name)
