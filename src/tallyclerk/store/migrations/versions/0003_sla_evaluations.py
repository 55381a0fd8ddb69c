"""SLA evaluations: runs, per-metric results and credit lines, kept for history.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("sla_run_id_seq")))
    op.create_table(
        "sla_runs",
        sa.Column(
            "run_id",
            sa.BigInteger(),
            server_default=sa.text("nextval('sla_run_id_seq')"),
            nullable=False,
        ),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("engine", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "sla_results",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("segment_from", sa.Date(), nullable=False),
        sa.Column("segment_to", sa.Date(), nullable=False),
        sa.Column("segment", sa.String(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("numerator", sa.BigInteger(), nullable=False),
        sa.Column("denominator", sa.BigInteger(), nullable=False),
        sa.Column("excluded", sa.BigInteger(), nullable=False),
        sa.Column("threshold", sa.Double(), nullable=False),
        sa.Column("lower_is_better", sa.Boolean(), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=True),
        sa.Column("contract_effective", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "provider_id", "metric", "segment_from"),
    )
    op.create_table(
        "sla_credit_lines",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("basis", sa.String(), nullable=False),
        sa.Column("amount", sa.Numeric(18, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "provider_id", "line_no"),
    )


def downgrade() -> None:
    op.drop_table("sla_credit_lines")
    op.drop_table("sla_results")
    op.drop_table("sla_runs")
    op.execute(sa.schema.DropSequence(sa.Sequence("sla_run_id_seq")))
