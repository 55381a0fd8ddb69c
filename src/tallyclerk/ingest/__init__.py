"""Ingestion: batches, idempotent writes, quarantine, raw archive, connectors, drop folder."""

from __future__ import annotations

from tallyclerk.ingest._dispatch import IngestRequest, ingest_sources, plan
from tallyclerk.ingest._documents import (
    DocumentReport,
    SourceOptions,
    ingest_document,
    ingest_payload,
)
from tallyclerk.ingest._outbox import (
    OutboundRow,
    ReleaseRun,
    list_outbound,
    release_940s,
    write_outbound,
)
from tallyclerk.ingest._read import Reject, file_format, kind_name_from_path
from tallyclerk.ingest._repository import (
    BatchRow,
    QuarantinedRecord,
    count_quarantine,
    list_quarantine,
    recent_batches,
)
from tallyclerk.ingest._service import (
    BatchReport,
    IngestRun,
    ingest_file,
    ingest_paths,
    plan_files,
    replay_batch,
    replay_quarantine,
    resolve_kind,
)
from tallyclerk.ingest._watch import Outcome, Watcher
from tallyclerk.ingest._webhooks import (
    Delivery,
    WebhookBatchReport,
    WebhookGroupReport,
    ingest_deliveries,
    ingest_records,
)

__all__ = [
    "BatchReport",
    "BatchRow",
    "Delivery",
    "DocumentReport",
    "IngestRequest",
    "IngestRun",
    "OutboundRow",
    "Outcome",
    "QuarantinedRecord",
    "Reject",
    "ReleaseRun",
    "SourceOptions",
    "Watcher",
    "WebhookBatchReport",
    "WebhookGroupReport",
    "count_quarantine",
    "file_format",
    "ingest_deliveries",
    "ingest_document",
    "ingest_file",
    "ingest_paths",
    "ingest_payload",
    "ingest_records",
    "ingest_sources",
    "kind_name_from_path",
    "list_outbound",
    "list_quarantine",
    "plan",
    "plan_files",
    "recent_batches",
    "release_940s",
    "replay_batch",
    "replay_quarantine",
    "resolve_kind",
    "write_outbound",
]
