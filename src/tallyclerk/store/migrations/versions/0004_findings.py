"""Findings of reconciliation and the invoice audit; where a dispute came from.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_DISPUTE_COLUMNS = (
    ("source", sa.String()),
    ("source_ref", sa.String()),
    ("opened_by", sa.String()),
    ("details", sa.Text()),
)


def upgrade() -> None:
    for name, kind in _DISPUTE_COLUMNS:
        op.add_column("disputes", sa.Column(name, kind, nullable=True))
    op.execute(sa.schema.CreateSequence(sa.Sequence("finding_id_seq")))
    op.create_table(
        "findings",
        sa.Column(
            "finding_id",
            sa.BigInteger(),
            server_default=sa.text("nextval('finding_id_seq')"),
            nullable=False,
        ),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("domain", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=True),
        sa.Column("facility_id", sa.String(), nullable=True),
        sa.Column("subject_kind", sa.String(), nullable=False),
        sa.Column("subject_id", sa.String(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(18, 4), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("first_detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("dispute_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("finding_id"),
        sa.UniqueConstraint("fingerprint"),
    )


def downgrade() -> None:
    op.drop_table("findings")
    op.execute(sa.schema.DropSequence(sa.Sequence("finding_id_seq")))
    for name, _kind in reversed(_DISPUTE_COLUMNS):
        op.drop_column("disputes", name)
