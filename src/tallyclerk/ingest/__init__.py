"""Ingestion of canonical files: batches, idempotent writes, quarantine, raw archive."""

from __future__ import annotations

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

__all__ = [
    "BatchReport",
    "BatchRow",
    "IngestRun",
    "QuarantinedRecord",
    "Reject",
    "count_quarantine",
    "file_format",
    "ingest_file",
    "ingest_paths",
    "kind_name_from_path",
    "list_quarantine",
    "plan_files",
    "recent_batches",
    "replay_batch",
    "replay_quarantine",
    "resolve_kind",
]
