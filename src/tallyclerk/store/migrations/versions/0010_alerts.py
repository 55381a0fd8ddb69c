"""Alerts and their events (notifications, escalations, acknowledgements).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("alert_id_seq")))
    op.execute(sa.schema.CreateSequence(sa.Sequence("alert_event_id_seq")))
    op.create_table(
        "alerts",
        sa.Column(
            "alert_id",
            sa.BigInteger(),
            server_default=sa.text("nextval('alert_id_seq')"),
            nullable=False,
        ),
        sa.Column("cause", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("link", sa.String(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_token_hash", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("alert_id"),
    )
    op.create_index("ix_alerts_cause", "alerts", ["cause"])
    op.create_table(
        "alert_events",
        sa.Column(
            "event_id",
            sa.BigInteger(),
            server_default=sa.text("nextval('alert_event_id_seq')"),
            nullable=False,
        ),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("happened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("contact", sa.String(), nullable=True),
        sa.Column("channel", sa.String(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
    )


def downgrade() -> None:
    op.drop_table("alert_events")
    op.drop_index("ix_alerts_cause", "alerts")
    op.drop_table("alerts")
    op.execute(sa.schema.DropSequence(sa.Sequence("alert_event_id_seq")))
    op.execute(sa.schema.DropSequence(sa.Sequence("alert_id_seq")))
