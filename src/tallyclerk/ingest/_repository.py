"""Queries about ingestion: batches, quarantine, facility time zones. Nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import sqlalchemy as sa

from tallyclerk.ingest._read import Reject
from tallyclerk.store.bulk import append_arrow
from tallyclerk.store.schema import facilities, ingestion_batches, quarantine

OPEN = "open"
REPLAYED = "replayed"


def facility_timezones(connection: sa.Connection) -> dict[str, str]:
    """Facility id -> IANA time zone, from the contracts added so far."""
    rows = connection.execute(sa.select(facilities.c.facility_id, facilities.c.timezone))
    return {str(facility_id): str(tz) for facility_id, tz in rows}


def start_batch(
    connection: sa.Connection,
    *,
    source: str,
    kind: str,
    fmt: str,
    sha256: str | None,
    size_bytes: int | None,
    replay_of: int | None = None,
    options: str | None = None,
) -> int:
    """Record a new batch and return its id."""
    result = connection.execute(
        ingestion_batches.insert()
        .values(
            source=source,
            kind=kind,
            format=fmt,
            payload_sha256=sha256,
            size_bytes=size_bytes,
            started_at=datetime.now(UTC),
            status="running",
            replay_of=replay_of,
            options=options,
        )
        .returning(ingestion_batches.c.batch_id)
    )
    return int(result.scalar_one())


def finish_batch(
    connection: sa.Connection,
    batch_id: int,
    *,
    status: str,
    stored: int = 0,
    updated: int = 0,
    duplicate: int = 0,
    quarantined: int = 0,
    message: str | None = None,
) -> None:
    """Close a batch with its counts."""
    connection.execute(
        ingestion_batches.update()
        .where(ingestion_batches.c.batch_id == batch_id)
        .values(
            finished_at=datetime.now(UTC),
            status=status,
            stored=stored,
            updated=updated,
            duplicate=duplicate,
            quarantined=quarantined,
            message=message,
        )
    )


def add_quarantine(
    connection: sa.Connection, batch_id: int, kind: str, source: str, rejects: Sequence[Reject]
) -> None:
    """Put rejected records in quarantine, in bulk."""
    if not rejects:
        return
    now = datetime.now(UTC)
    n = len(rejects)
    table = pa.table(
        {
            "batch_id": pa.array([batch_id] * n, pa.int64()),
            "kind": pa.array([kind] * n, pa.string()),
            "source": pa.array([source] * n, pa.string()),
            "line": pa.array([r.line for r in rejects], pa.int64()),
            "column_name": pa.array([r.column for r in rejects], pa.string()),
            "reason": pa.array([r.reason for r in rejects], pa.string()),
            "record": pa.array([r.record for r in rejects], pa.string()),
            "position": pa.array([r.where for r in rejects], pa.string()),
            "status": pa.array([OPEN] * n, pa.string()),
            "created_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
        }
    )
    append_arrow(connection, "quarantine", table)


@dataclass(frozen=True, slots=True)
class QuarantinedRecord:
    """A record held back from the store, with where it came from and why."""

    quarantine_id: int
    batch_id: int
    kind: str
    source: str
    line: int | None
    column: str | None
    reason: str
    record: str | None
    status: str
    created_at: datetime
    position: str | None = None

    @property
    def where(self) -> str:
        """The position for people: "line 12", "segment 14 (W12)"."""
        if self.position:
            return self.position
        return f"line {self.line}" if self.line is not None else "-"


def list_quarantine(
    connection: sa.Connection,
    *,
    status: str | None = OPEN,
    kind: str | None = None,
    batch_id: int | None = None,
    limit: int | None = None,
) -> list[QuarantinedRecord]:
    """Quarantined records, oldest first, filtered as asked."""
    q = quarantine.c
    query = sa.select(
        q.quarantine_id,
        q.batch_id,
        q.kind,
        q.source,
        q.line,
        q.column_name,
        q.reason,
        q.record,
        q.status,
        q.created_at,
        q.position,
    ).order_by(q.quarantine_id)
    if status is not None:
        query = query.where(q.status == status)
    if kind is not None:
        query = query.where(q.kind == kind)
    if batch_id is not None:
        query = query.where(q.batch_id == batch_id)
    if limit is not None:
        query = query.limit(limit)
    return [QuarantinedRecord(*row) for row in connection.execute(query)]


def count_quarantine(connection: sa.Connection, *, status: str | None = OPEN) -> int:
    """How many records are in quarantine (with the given status)."""
    query = sa.select(sa.func.count()).select_from(quarantine)
    if status is not None:
        query = query.where(quarantine.c.status == status)
    return int(connection.execute(query).scalar_one())


@dataclass(frozen=True, slots=True)
class ReplaySource:
    """A file with open quarantine records: where to read it again and what it held."""

    source: str
    kind: str
    batch_id: int
    fmt: str
    sha256: str | None
    open_records: int


def replay_sources(
    connection: sa.Connection, *, batch_id: int | None = None, kind: str | None = None
) -> list[ReplaySource]:
    """The sources with open quarantine records, each with its latest batch."""
    q = quarantine.c
    b = ingestion_batches.c
    query = (
        sa.select(q.source, q.kind, sa.func.max(q.batch_id), sa.func.count())
        .where(q.status == OPEN)
        .group_by(q.source, q.kind)
        .order_by(sa.func.min(q.quarantine_id))
    )
    if batch_id is not None:
        query = query.where(q.batch_id == batch_id)
    if kind is not None:
        query = query.where(q.kind == kind)
    sources = []
    for source, kind_name, last_batch, count in connection.execute(query).all():
        batch = connection.execute(
            sa.select(b.format, b.payload_sha256).where(b.batch_id == last_batch)
        ).one()
        sources.append(
            ReplaySource(source, kind_name, int(last_batch), batch[0], batch[1], int(count))
        )
    return sources


def mark_replayed(connection: sa.Connection, *, source: str, kind: str, before_batch: int) -> int:
    """Close the open records of a source that a later batch (`before_batch`) read again."""
    q = quarantine.c
    condition = sa.and_(
        q.status == OPEN, q.source == source, q.kind == kind, q.batch_id < before_batch
    )
    # Counted first: DuckDB does not report the rows an UPDATE touched.
    closing = int(connection.execute(sa.select(sa.func.count()).where(condition)).scalar_one())
    if closing:
        connection.execute(
            quarantine.update()
            .where(condition)
            .values(status=REPLAYED, resolved_batch_id=before_batch, resolved_at=datetime.now(UTC))
        )
    return closing


def mark_replayed_source(connection: sa.Connection, *, source: str, before_batch: int) -> int:
    """Close the open records of every kind of a source that a later batch read again."""
    q = quarantine.c
    condition = sa.and_(q.status == OPEN, q.source == source, q.batch_id < before_batch)
    closing = int(connection.execute(sa.select(sa.func.count()).where(condition)).scalar_one())
    if closing:
        connection.execute(
            quarantine.update()
            .where(condition)
            .values(status=REPLAYED, resolved_batch_id=before_batch, resolved_at=datetime.now(UTC))
        )
    return closing


def batch_options(connection: sa.Connection, batch_id: int) -> str | None:
    """The connector options a batch was read with (JSON), or None for a canonical file."""
    b = ingestion_batches.c
    value = connection.execute(sa.select(b.options).where(b.batch_id == batch_id)).scalar()
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One ingestion batch as recorded."""

    batch_id: int
    source: str
    kind: str
    status: str
    stored: int
    updated: int
    duplicate: int
    quarantined: int
    started_at: datetime
    message: str | None


def recent_batches(connection: sa.Connection, limit: int = 20) -> list[BatchRow]:
    """The latest batches, newest first."""
    b = ingestion_batches.c
    rows = connection.execute(
        sa.select(
            b.batch_id,
            b.source,
            b.kind,
            b.status,
            b.stored,
            b.updated,
            b.duplicate,
            b.quarantined,
            b.started_at,
            b.message,
        )
        .order_by(b.batch_id.desc())
        .limit(limit)
    )
    return [BatchRow(*row) for row in rows]


def batch_payload(connection: sa.Connection, batch_id: int) -> tuple[str, str, str | None] | None:
    """(source, kind, payload sha256) of a batch, or None when there is no such batch."""
    b = ingestion_batches.c
    row = connection.execute(
        sa.select(b.source, b.kind, b.payload_sha256).where(b.batch_id == batch_id)
    ).first()
    return None if row is None else (str(row[0]), str(row[1]), row[2])
