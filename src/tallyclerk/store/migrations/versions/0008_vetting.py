"""Vetting reports: each `tallyclerk vet` run kept as its JSON document.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("vetting_report_id_seq")))
    op.create_table(
        "vetting_reports",
        sa.Column(
            "report_id",
            sa.BigInteger(),
            server_default=sa.text("nextval('vetting_report_id_seq')"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("rfp_name", sa.String(), nullable=False),
        sa.Column("window_from", sa.Date(), nullable=False),
        sa.Column("window_to", sa.Date(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("report_id"),
    )


def downgrade() -> None:
    op.drop_table("vetting_reports")
    op.execute(sa.schema.DropSequence(sa.Sequence("vetting_report_id_seq")))
