"""Initial schema: the fourteen canonical tables, ingestion bookkeeping and contracts.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 13:01:33.868500
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# Secondary indexes for PostgreSQL; DuckDB scans columns with zone maps and needs none.
_POSTGRES_INDEXES = {
    "releases": ["provider_id", "facility_id"],
    "shipments": ["order_id", "tracking_number", "provider_id"],
    "returns": ["order_id"],
    "feedback": ["order_id"],
    "audits": ["order_id"],
    "invoice_lines": ["provider_id", "reference"],
    "quarantine": ["batch_id", "status"],
    "ingestion_batches": ["source"],
}


def _natural_key(*columns: str) -> list[sa.PrimaryKeyConstraint]:
    """The natural key of a canonical table, as a primary key on PostgreSQL.

    On DuckDB the key is kept by the ingest merge (the only writer), not by an index: an
    ART index costs more than the whole rest of a bulk load, and DuckDB writes one process
    at a time, so the merge's anti-join is the constraint.
    """
    if op.get_bind().dialect.name == "duckdb":
        return []
    return [sa.PrimaryKeyConstraint(*columns)]


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("ingestion_batch_id_seq")))
    op.execute(sa.schema.CreateSequence(sa.Sequence("quarantine_id_seq")))
    op.create_table(
        "adjustments",
        sa.Column("adjustment_id", sa.String(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("facility_id", sa.String(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("qty_delta", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("adjustment_id"),
    )
    op.create_table(
        "audits",
        sa.Column("audit_id", sa.String(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("facility_id", sa.String(), nullable=True),
        sa.Column("order_id", sa.String(), nullable=True),
        sa.Column("audited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checklist_item", sa.String(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("audit_id", "checklist_item"),
    )
    op.create_table(
        "contracts",
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("source_name", sa.String(), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider_id", "effective"),
    )
    op.create_table(
        "facilities",
        sa.Column("facility_id", sa.String(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("country", sa.String(), nullable=True),
        sa.Column("subdivision", sa.String(), nullable=True),
        sa.Column("cutoff", sa.String(length=5), nullable=False),
        sa.PrimaryKeyConstraint("facility_id"),
    )
    op.create_table(
        "feedback",
        sa.Column("feedback_id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=True),
        sa.Column("channel", sa.String(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.BigInteger(), nullable=True),
        sa.Column("tags", sa.String(), nullable=True),
        sa.Column("text", sa.String(), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("feedback_id"),
    )
    op.create_table(
        "ingestion_batches",
        sa.Column(
            "batch_id",
            sa.BigInteger(),
            server_default=sa.text("nextval('ingestion_batch_id_seq')"),
            nullable=False,
        ),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("format", sa.String(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("stored", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("duplicate", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("quarantined", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("replay_of", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("batch_id"),
    )
    op.create_table(
        "inventory_snapshots",
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("facility_id", sa.String(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=True),
        sa.Column("damaged", sa.BigInteger(), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("provider_id", "facility_id", "as_of", "sku"),
    )
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.String(), nullable=False),
        sa.Column("line_no", sa.BigInteger(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("charge_type", sa.String(), nullable=False),
        sa.Column("reference", sa.String(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("unit_rate", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("invoice_id", "line_no"),
    )
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("line_no", sa.BigInteger(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("order_id", "line_no"),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(), nullable=True),
        sa.Column("ship_to_country", sa.String(), nullable=True),
        sa.Column("ship_to_postal", sa.String(), nullable=True),
        sa.Column("service_level", sa.String(), nullable=True),
        sa.Column("promised_delivery_date", sa.Date(), nullable=True),
        sa.Column("order_value", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("order_id"),
    )
    op.create_table(
        "products",
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("unit_cost", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("weight_kg", sa.Double(), nullable=True),
        sa.Column("units_per_pallet", sa.BigInteger(), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("sku"),
    )
    op.create_table(
        "providers",
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("provider_id"),
    )
    op.create_table(
        "quarantine",
        sa.Column(
            "quarantine_id",
            sa.BigInteger(),
            server_default=sa.text("nextval('quarantine_id_seq')"),
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=True),
        sa.Column("column_name", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("record", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("resolved_batch_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("quarantine_id"),
    )
    op.create_table(
        "raw_payload_chunks",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "seq"),
    )
    op.create_table(
        "raw_payloads",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("codec", sa.String(), nullable=False),
        sa.Column("first_name", sa.String(), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "receipts",
        sa.Column("receipt_id", sa.String(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("facility_id", sa.String(), nullable=False),
        sa.Column("asn_id", sa.String(), nullable=True),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("expected_qty", sa.BigInteger(), nullable=True),
        sa.Column("received_qty", sa.BigInteger(), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("receipt_id", "sku"),
    )
    op.create_table(
        "releases",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("facility_id", sa.String(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("order_id"),
    )
    op.create_table(
        "returns",
        sa.Column("return_id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=True),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("facility_id", sa.String(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disposition", sa.String(), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("return_id", "sku"),
    )
    op.create_table(
        "shipment_lines",
        sa.Column("shipment_id", sa.String(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("shipment_id", "sku"),
    )
    op.create_table(
        "shipments",
        sa.Column("shipment_id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("facility_id", sa.String(), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("carrier", sa.String(), nullable=True),
        sa.Column("service", sa.String(), nullable=True),
        sa.Column("tracking_number", sa.String(), nullable=True),
        sa.Column("packaging", sa.String(), nullable=True),
        sa.Column("weight_kg", sa.Double(), nullable=True),
        sa.Column("shipping_cost", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("shipment_id"),
    )
    op.create_table(
        "tracking_events",
        sa.Column("tracking_number", sa.String(), nullable=False),
        sa.Column("carrier", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        *_natural_key("tracking_number", "status", "occurred_at"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in _POSTGRES_INDEXES.items():
            for column in columns:
                op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    op.drop_table("tracking_events")
    op.drop_table("shipments")
    op.drop_table("shipment_lines")
    op.drop_table("returns")
    op.drop_table("releases")
    op.drop_table("receipts")
    op.drop_table("raw_payloads")
    op.drop_table("raw_payload_chunks")
    op.drop_table("quarantine")
    op.drop_table("providers")
    op.drop_table("products")
    op.drop_table("orders")
    op.drop_table("order_lines")
    op.drop_table("invoice_lines")
    op.drop_table("inventory_snapshots")
    op.drop_table("ingestion_batches")
    op.drop_table("feedback")
    op.drop_table("facilities")
    op.drop_table("contracts")
    op.drop_table("audits")
    op.drop_table("adjustments")
    op.execute(sa.schema.DropSequence(sa.Sequence("quarantine_id_seq")))
    op.execute(sa.schema.DropSequence(sa.Sequence("ingestion_batch_id_seq")))
