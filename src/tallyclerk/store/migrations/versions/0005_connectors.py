"""Connectors: replay options of a batch, positions in the quarantine, outbound documents.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ingestion_batches", sa.Column("options", sa.Text(), nullable=True))
    op.add_column("quarantine", sa.Column("position", sa.String(), nullable=True))
    op.execute(sa.schema.CreateSequence(sa.Sequence("edi_control_seq")))
    op.execute(sa.schema.CreateSequence(sa.Sequence("outbound_document_id_seq")))
    op.create_table(
        "outbound_documents",
        sa.Column(
            "document_id",
            sa.BigInteger(),
            server_default=sa.text("nextval('outbound_document_id_seq')"),
            nullable=False,
        ),
        sa.Column("document", sa.String(), nullable=False),
        sa.Column("partner", sa.String(), nullable=True),
        sa.Column("control_number", sa.String(), nullable=True),
        sa.Column("reference", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("written_to", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("document_id"),
    )
    op.create_table(
        "webhook_receipts",
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("delivery_id", sa.String(), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "delivery_id"),
    )


def downgrade() -> None:
    op.drop_table("webhook_receipts")
    op.drop_table("outbound_documents")
    op.execute(sa.schema.DropSequence(sa.Sequence("outbound_document_id_seq")))
    op.execute(sa.schema.DropSequence(sa.Sequence("edi_control_seq")))
    op.drop_column("quarantine", "position")
    op.drop_column("ingestion_batches", "options")
