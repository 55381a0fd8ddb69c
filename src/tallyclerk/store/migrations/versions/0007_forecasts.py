"""Demand forecasts: runs and the forecast of each series.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("forecast_run_id_seq")))
    op.create_table(
        "forecast_runs",
        sa.Column(
            "run_id",
            sa.BigInteger(),
            server_default=sa.text("nextval('forecast_run_id_seq')"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("storage", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "forecast_series",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("series_no", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=True),
        sa.Column("facility_id", sa.String(), nullable=True),
        sa.Column("measure", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("start_day", sa.Date(), nullable=False),
        sa.Column("history_start", sa.Date(), nullable=False),
        sa.Column("history_days", sa.Integer(), nullable=False),
        sa.Column("mase", sa.Double(), nullable=True),
        sa.Column("smape", sa.Double(), nullable=True),
        sa.Column("baseline_mase", sa.Double(), nullable=True),
        sa.Column("baseline_smape", sa.Double(), nullable=True),
        sa.Column("scores", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("p50", sa.Text(), nullable=False),
        sa.Column("p90", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "series_no"),
    )


def downgrade() -> None:
    op.drop_table("forecast_series")
    op.drop_table("forecast_runs")
    op.execute(sa.schema.DropSequence(sa.Sequence("forecast_run_id_seq")))
