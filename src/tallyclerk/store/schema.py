"""The SQLAlchemy schema: one table per canonical kind, plus ingestion bookkeeping.

Canonical tables carry the DESIGN section 4 columns, keyed by the kind's natural key, and one
lineage column, `batch_id`, naming the ingestion batch that last wrote the row.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tallyclerk.domain import KINDS, ColumnType, Kind

metadata = sa.MetaData()

LINEAGE_COLUMN = "batch_id"

_SQL_TYPES: dict[ColumnType, sa.types.TypeEngine[Any]] = {
    ColumnType.TEXT: sa.String(),
    ColumnType.CODE: sa.String(),
    ColumnType.TAGS: sa.String(),
    ColumnType.CURRENCY: sa.String(3),
    ColumnType.INTEGER: sa.BigInteger(),
    ColumnType.DECIMAL: sa.Numeric(18, 4),
    ColumnType.FLOAT: sa.Double(),
    ColumnType.TIMESTAMP: sa.DateTime(timezone=True),
    ColumnType.DATE: sa.Date(),
    ColumnType.BOOLEAN: sa.Boolean(),
}


def sql_type(column_type: ColumnType) -> sa.types.TypeEngine[Any]:
    """The SQL type that stores a canonical column type."""
    return _SQL_TYPES[column_type]


def _canonical_table(kind: Kind) -> sa.Table:
    columns = [
        sa.Column(
            c.name,
            sql_type(c.type),
            primary_key=c.name in kind.key,
            nullable=not (c.required or c.name in kind.key),
        )
        for c in kind.columns
    ]
    columns.append(sa.Column(LINEAGE_COLUMN, sa.BigInteger(), nullable=True))
    return sa.Table(kind.name, metadata, *columns)


CANONICAL_TABLES: dict[str, sa.Table] = {k.name: _canonical_table(k) for k in KINDS}

batch_id_seq = sa.Sequence("ingestion_batch_id_seq", metadata=metadata)
quarantine_id_seq = sa.Sequence("quarantine_id_seq", metadata=metadata)

ingestion_batches = sa.Table(
    "ingestion_batches",
    metadata,
    sa.Column(
        "batch_id",
        sa.BigInteger(),
        batch_id_seq,
        server_default=sa.text("nextval('ingestion_batch_id_seq')"),
        primary_key=True,
    ),
    sa.Column("source", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("format", sa.String(), nullable=False),
    sa.Column("payload_sha256", sa.String(64), nullable=True),
    sa.Column("size_bytes", sa.BigInteger(), nullable=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("stored", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("updated", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("duplicate", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("quarantined", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("replay_of", sa.BigInteger(), nullable=True),
    sa.Column("message", sa.String(), nullable=True),
    # How a connector read the payload (JSON: provider, profile, settings), for replays.
    sa.Column("options", sa.Text(), nullable=True),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column(
        "quarantine_id",
        sa.BigInteger(),
        quarantine_id_seq,
        server_default=sa.text("nextval('quarantine_id_seq')"),
        primary_key=True,
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
    # Where in the source, for people: "line 12", "segment 14 (W12)", "order 2 (#1002)".
    sa.Column("position", sa.String(), nullable=True),
)

raw_payloads = sa.Table(
    "raw_payloads",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size_bytes", sa.BigInteger(), nullable=False),
    sa.Column("codec", sa.String(), nullable=False),
    sa.Column("first_name", sa.String(), nullable=True),
    sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
)

raw_payload_chunks = sa.Table(
    "raw_payload_chunks",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer(), primary_key=True),
    sa.Column("data", sa.LargeBinary(), nullable=False),
)

providers = sa.Table(
    "providers",
    metadata,
    sa.Column("provider_id", sa.String(), primary_key=True),
    sa.Column("name", sa.String(), nullable=True),
)

facilities = sa.Table(
    "facilities",
    metadata,
    sa.Column("facility_id", sa.String(), primary_key=True),
    sa.Column("provider_id", sa.String(), nullable=False),
    sa.Column("timezone", sa.String(), nullable=False),
    sa.Column("country", sa.String(), nullable=True),
    sa.Column("subdivision", sa.String(), nullable=True),
    sa.Column("cutoff", sa.String(5), nullable=False),
)

contracts = sa.Table(
    "contracts",
    metadata,
    sa.Column("provider_id", sa.String(), primary_key=True),
    sa.Column("effective", sa.Date(), primary_key=True),
    sa.Column("name", sa.String(), nullable=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("source_name", sa.String(), nullable=True),
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("source_text", sa.Text(), nullable=False),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
)

# Disputes: a brand's challenge of an invoice line or an SLA figure, answered by the 3PL.
# The dispute response KPI (dispute_response_on_time_rate) reads opened_at and responded_at.
disputes = sa.Table(
    "disputes",
    metadata,
    sa.Column("dispute_id", sa.String(), primary_key=True),
    sa.Column("provider_id", sa.String(), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("subject", sa.String(), nullable=False),
    sa.Column("reference", sa.String(), nullable=True),
    sa.Column("amount", sa.Numeric(18, 4), nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolution", sa.String(), nullable=True),
    # Where the dispute came from: finding (an invoice-audit or reconciliation finding),
    # sla_breach, credit or manual; source_ref names it (a finding id, a metric and period).
    sa.Column("source", sa.String(), nullable=True),
    sa.Column("source_ref", sa.String(), nullable=True),
    sa.Column("opened_by", sa.String(), nullable=True),
    sa.Column("details", sa.Text(), nullable=True),
    # The workflow (migration 0006): the provider answers by response_due_at (accept, reject
    # with a reason, or counter with counter_amount); the brand resolves.
    sa.Column("period", sa.Date(), nullable=True),  # the month a credit would belong to
    sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("answer", sa.String(), nullable=True),  # accepted | rejected | countered
    sa.Column("answer_note", sa.Text(), nullable=True),
    sa.Column("counter_amount", sa.Numeric(18, 4), nullable=True),
    sa.Column("responded_by", sa.String(), nullable=True),
    sa.Column("resolved_by", sa.String(), nullable=True),
    sa.Column("credited_amount", sa.Numeric(18, 4), nullable=True),
)

# Findings of reconciliation and the invoice audit: one row per problem (kind, provider,
# subject), kept across runs so a problem is raised once and its resolution is kept.
finding_id_seq = sa.Sequence("finding_id_seq", metadata=metadata)

findings = sa.Table(
    "findings",
    metadata,
    sa.Column(
        "finding_id",
        sa.BigInteger(),
        finding_id_seq,
        server_default=sa.text("nextval('finding_id_seq')"),
        primary_key=True,
    ),
    sa.Column("fingerprint", sa.String(), nullable=False, unique=True),
    sa.Column("domain", sa.String(), nullable=False),  # handoff | inventory | invoice
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("provider_id", sa.String(), nullable=True),
    sa.Column("facility_id", sa.String(), nullable=True),
    sa.Column("subject_kind", sa.String(), nullable=False),
    sa.Column("subject_id", sa.String(), nullable=False),
    sa.Column("since", sa.DateTime(timezone=True), nullable=True),  # the age counts from here
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("amount", sa.Numeric(18, 4), nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("evidence", sa.Text(), nullable=True),  # JSON object
    sa.Column("status", sa.String(), nullable=False),  # open | acknowledged | resolved
    sa.Column("first_detected_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_detected_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_as_of", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("acknowledged_by", sa.String(), nullable=True),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolved_by", sa.String(), nullable=True),
    sa.Column("resolution", sa.Text(), nullable=True),
    sa.Column("dispute_id", sa.String(), nullable=True),
)

# SLA evaluations: every run is kept, so re-evaluation after late data shows as a change.
sla_run_id_seq = sa.Sequence("sla_run_id_seq", metadata=metadata)

sla_runs = sa.Table(
    "sla_runs",
    metadata,
    sa.Column(
        "run_id",
        sa.BigInteger(),
        sla_run_id_seq,
        server_default=sa.text("nextval('sla_run_id_seq')"),
        primary_key=True,
    ),
    sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    sa.Column("period", sa.Date(), nullable=False),
    sa.Column("engine", sa.String(), nullable=False),
)

sla_results = sa.Table(
    "sla_results",
    metadata,
    sa.Column("run_id", sa.BigInteger(), primary_key=True),
    sa.Column("provider_id", sa.String(), primary_key=True),
    sa.Column("metric", sa.String(), primary_key=True),
    sa.Column("segment_from", sa.Date(), primary_key=True),
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
)

sla_credit_lines = sa.Table(
    "sla_credit_lines",
    metadata,
    sa.Column("run_id", sa.BigInteger(), primary_key=True),
    sa.Column("provider_id", sa.String(), primary_key=True),
    sa.Column("line_no", sa.Integer(), primary_key=True),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("label", sa.String(), nullable=False),
    sa.Column("basis", sa.String(), nullable=False),
    sa.Column("amount", sa.Numeric(18, 4), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
)

# Documents sent to partners: 997 acknowledgments of what arrived, 940 shipping orders. Each
# interchange control number comes from one sequence, so none repeats.
edi_control_seq = sa.Sequence("edi_control_seq", metadata=metadata)
outbound_document_id_seq = sa.Sequence("outbound_document_id_seq", metadata=metadata)

outbound_documents = sa.Table(
    "outbound_documents",
    metadata,
    sa.Column(
        "document_id",
        sa.BigInteger(),
        outbound_document_id_seq,
        server_default=sa.text("nextval('outbound_document_id_seq')"),
        primary_key=True,
    ),
    sa.Column("document", sa.String(), nullable=False),  # 997 | 940
    sa.Column("partner", sa.String(), nullable=True),  # the provider it goes to
    sa.Column("control_number", sa.String(), nullable=True),
    sa.Column("reference", sa.String(), nullable=True),  # the order, or the interchange answered
    sa.Column("name", sa.String(), nullable=False),  # its file name
    sa.Column("content", sa.Text(), nullable=False),
    sa.Column("batch_id", sa.BigInteger(), nullable=True),  # the batch it answers
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("written_to", sa.String(), nullable=True),  # the path it was last written to
)

# Webhook deliveries already taken in, so a delivery sent again is a no-op.
webhook_receipts = sa.Table(
    "webhook_receipts",
    metadata,
    sa.Column("source", sa.String(), primary_key=True),  # shopify, easypost, ...
    sa.Column("delivery_id", sa.String(), primary_key=True),
    sa.Column("batch_id", sa.BigInteger(), nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

# People and programs that use the service (DESIGN section 8). A provider user belongs to one
# 3PL and sees only its data; passwords and tokens are kept only as hashes.
users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.String(), primary_key=True),  # the login name
    sa.Column("role", sa.String(), nullable=False),  # admin | analyst | provider
    sa.Column("provider_id", sa.String(), nullable=True),  # set for the provider role only
    sa.Column("display_name", sa.String(), nullable=True),
    sa.Column("password_hash", sa.String(), nullable=True),  # scrypt; none: token-only user
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.String(), primary_key=True),  # the public part, shown in lists
    sa.Column("user_id", sa.String(), nullable=False),
    sa.Column("name", sa.String(), nullable=True),
    sa.Column("token_hash", sa.String(64), nullable=False),  # sha256 of the secret part
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

# Dashboard sessions: the cookie holds a random id, the table its hash, so a stolen database
# does not hand out live sessions; a new id on every login defeats session fixation.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(), nullable=False),
    sa.Column("csrf_token", sa.String(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
)

# Every step of a dispute (opened, answered, countered, resolved, commented), who and when.
dispute_event_id_seq = sa.Sequence("dispute_event_id_seq", metadata=metadata)

dispute_events = sa.Table(
    "dispute_events",
    metadata,
    sa.Column(
        "event_id",
        sa.BigInteger(),
        dispute_event_id_seq,
        server_default=sa.text("nextval('dispute_event_id_seq')"),
        primary_key=True,
    ),
    sa.Column("dispute_id", sa.String(), nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(), nullable=False),  # a user id, or "system"
    sa.Column("role", sa.String(), nullable=True),
    sa.Column("action", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),  # the dispute's status after the step
    sa.Column("amount", sa.Numeric(18, 4), nullable=True),
    sa.Column("note", sa.Text(), nullable=True),
)

# Credits owed by a provider, per period: accepted dispute credits (and later SLA credits
# confirmed on an invoice). One row per entry; the balance is their sum.
credit_entry_id_seq = sa.Sequence("credit_entry_id_seq", metadata=metadata)

credit_ledger = sa.Table(
    "credit_ledger",
    metadata,
    sa.Column(
        "entry_id",
        sa.BigInteger(),
        credit_entry_id_seq,
        server_default=sa.text("nextval('credit_entry_id_seq')"),
        primary_key=True,
    ),
    sa.Column("provider_id", sa.String(), nullable=False),
    sa.Column("period", sa.Date(), nullable=False),  # the month the credit belongs to
    sa.Column("amount", sa.Numeric(18, 4), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("source", sa.String(), nullable=False),  # dispute | sla_credit | adjustment
    sa.Column("source_ref", sa.String(), nullable=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_by", sa.String(), nullable=True),
    sa.Column("note", sa.Text(), nullable=True),
)

# The burn-rate state of each contracted metric when an open month was evaluated, so the
# dashboard shows it without recomputing.
sla_burn = sa.Table(
    "sla_burn",
    metadata,
    sa.Column("run_id", sa.BigInteger(), primary_key=True),
    sa.Column("provider_id", sa.String(), primary_key=True),
    sa.Column("metric", sa.String(), primary_key=True),
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
)

# Demand forecasts: every run is kept; a run holds one row per series forecast (a provider's
# orders, a facility's units, ...), its daily P50/P90 and the accuracy that chose its model.
forecast_run_id_seq = sa.Sequence("forecast_run_id_seq", metadata=metadata)

forecast_runs = sa.Table(
    "forecast_runs",
    metadata,
    sa.Column(
        "run_id",
        sa.BigInteger(),
        forecast_run_id_seq,
        server_default=sa.text("nextval('forecast_run_id_seq')"),
        primary_key=True,
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("as_of", sa.Date(), nullable=False),  # the last day of history used
    sa.Column("horizon_days", sa.Integer(), nullable=False),
    sa.Column("created_by", sa.String(), nullable=True),
    sa.Column("storage", sa.Text(), nullable=True),  # JSON: pallets per provider at as_of
)

forecast_series = sa.Table(
    "forecast_series",
    metadata,
    sa.Column("run_id", sa.BigInteger(), primary_key=True),
    sa.Column("series_no", sa.Integer(), primary_key=True),
    sa.Column("provider_id", sa.String(), nullable=True),  # null: the whole store
    sa.Column("facility_id", sa.String(), nullable=True),  # null: every facility
    sa.Column("measure", sa.String(), nullable=False),  # orders | units
    sa.Column("model", sa.String(), nullable=False),
    sa.Column("method", sa.String(), nullable=False),  # direct | top-down | fallback
    sa.Column("start_day", sa.Date(), nullable=False),
    sa.Column("history_start", sa.Date(), nullable=False),
    sa.Column("history_days", sa.Integer(), nullable=False),
    sa.Column("mase", sa.Double(), nullable=True),
    sa.Column("smape", sa.Double(), nullable=True),
    sa.Column("baseline_mase", sa.Double(), nullable=True),
    sa.Column("baseline_smape", sa.Double(), nullable=True),
    sa.Column("scores", sa.Text(), nullable=False),  # JSON: every candidate's score
    sa.Column("notes", sa.Text(), nullable=False),  # JSON: list of sentences
    sa.Column("p50", sa.Text(), nullable=False),  # JSON: one number per day from start_day
    sa.Column("p90", sa.Text(), nullable=False),
)

# Vetting reports: every `tallyclerk vet` run is kept as its JSON document (brand-only data:
# candidates' prices, the brand's costs), so the dashboard shows the latest without repricing.
vetting_report_id_seq = sa.Sequence("vetting_report_id_seq", metadata=metadata)

vetting_reports = sa.Table(
    "vetting_reports",
    metadata,
    sa.Column(
        "report_id",
        sa.BigInteger(),
        vetting_report_id_seq,
        server_default=sa.text("nextval('vetting_report_id_seq')"),
        primary_key=True,
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(), nullable=True),
    sa.Column("rfp_name", sa.String(), nullable=False),
    sa.Column("window_from", sa.Date(), nullable=False),
    sa.Column("window_to", sa.Date(), nullable=False),
    sa.Column("document", sa.Text(), nullable=False),  # JSON: vetting.report_document
)

# Action items agreed in weekly reviews (migration 0009): who does what by when, carried from
# week to week until done or dropped.
action_id_seq = sa.Sequence("action_id_seq", metadata=metadata)

action_items = sa.Table(
    "action_items",
    metadata,
    sa.Column(
        "action_id",
        sa.BigInteger(),
        action_id_seq,
        server_default=sa.text("nextval('action_id_seq')"),
        primary_key=True,
    ),
    sa.Column("provider_id", sa.String(), nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("owner", sa.String(), nullable=False),  # a person, as the review names them
    sa.Column("party", sa.String(), nullable=False),  # brand | provider: whose side owns it
    sa.Column("due_on", sa.Date(), nullable=True),
    sa.Column("status", sa.String(), nullable=False),  # open | in_progress | done | dropped
    sa.Column("opened_week", sa.String(), nullable=False),  # the review it was agreed in
    sa.Column("reference", sa.String(), nullable=True),  # a finding, dispute or metric
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.String(), nullable=True),
    sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),  # done or dropped
)

# Alerts (migration 0010): one row per cause while it lasts (at most one open or acknowledged
# alert per cause), with its escalation level and every notification and step in
# alert_events.
alert_id_seq = sa.Sequence("alert_id_seq", metadata=metadata)
alert_event_id_seq = sa.Sequence("alert_event_id_seq", metadata=metadata)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column(
        "alert_id",
        sa.BigInteger(),
        alert_id_seq,
        server_default=sa.text("nextval('alert_id_seq')"),
        primary_key=True,
    ),
    sa.Column("cause", sa.String(), nullable=False),  # Signal.cause: the deduplication key
    sa.Column("rule", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("severity", sa.String(), nullable=False),  # warn | page
    sa.Column("provider_id", sa.String(), nullable=True),
    sa.Column("subject", sa.Text(), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("link", sa.String(), nullable=True),
    sa.Column("details", sa.Text(), nullable=True),  # JSON object
    sa.Column("status", sa.String(), nullable=False),  # open | acknowledged | resolved
    sa.Column("level", sa.Integer(), nullable=False, server_default="0"),  # index in the chain
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),  # at the current level
    sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("acknowledged_by", sa.String(), nullable=True),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("ack_token_hash", sa.String(), nullable=True),  # the acknowledgement link's
)

alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column(
        "event_id",
        sa.BigInteger(),
        alert_event_id_seq,
        server_default=sa.text("nextval('alert_event_id_seq')"),
        primary_key=True,
    ),
    sa.Column("alert_id", sa.BigInteger(), nullable=False),
    sa.Column("happened_at", sa.DateTime(timezone=True), nullable=False),
    # opened | updated | notified | escalated | deferred | failed | acknowledged | resolved
    sa.Column("event", sa.String(), nullable=False),
    sa.Column("contact", sa.String(), nullable=True),
    sa.Column("channel", sa.String(), nullable=True),  # email | webhook:<name>
    sa.Column("detail", sa.Text(), nullable=True),
)
sa.Index("ix_alerts_cause", alerts.c.cause)
