"""Ingestion of external formats: a connector maps the payload, the canonical path stores it.

One payload (an X12 file, a Shopify webhook, a carrier's tracking JSON) is one batch inside
one transaction, exactly like a canonical file: the raw bytes are archived, the connector's
rows are typed and checked by the same validator, merged idempotently kind by kind (parents
first), and every record the connector or the validator refused is quarantined with its
position ("segment 14 (W12)") and the reason. Documents the connector answers with (997
acknowledgments) are kept in the store and, when asked, written to a directory.

A batch remembers the connector and its options, so a quarantined record can be fixed (in the
file, or in the mapping profile) and the payload replayed the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from tallyclerk.connectors import (
    Connector,
    ConnectorError,
    Outbound,
    Parsed,
    ParseOptions,
    Position,
    get,
)
from tallyclerk.domain import KINDS_BY_NAME
from tallyclerk.errors import InputError
from tallyclerk.ingest import _archive, _repository
from tallyclerk.ingest._merge import MergeCounts, Merger
from tallyclerk.ingest._read import LINE, Reject
from tallyclerk.ingest._validate import Validator
from tallyclerk.settings import Settings, get_settings
from tallyclerk.store import Store
from tallyclerk.store.schema import edi_control_seq, outbound_documents, webhook_receipts

log = logging.getLogger(__name__)

_SAMPLE_REJECTS = 20


@dataclass(frozen=True)
class SourceOptions:
    """How a connector reads one source; stored with the batch so a replay reads it alike."""

    connector: str
    provider_id: str | None = None
    profile: str | None = None  # path of a mapping profile
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The options as stored with the batch."""
        return json.dumps(
            {
                "connector": self.connector,
                "provider_id": self.provider_id,
                "profile": self.profile,
                "settings": self.settings,
            },
            sort_keys=True,
        )

    @staticmethod
    def from_json(text: str) -> SourceOptions:
        """Options read back from a batch."""
        data = json.loads(text)
        return SourceOptions(
            data["connector"],
            data.get("provider_id"),
            data.get("profile"),
            dict(data.get("settings") or {}),
        )


@dataclass
class KindCounts:
    """What happened to one kind's records within a batch."""

    stored: int = 0
    updated: int = 0
    duplicate: int = 0
    quarantined: int = 0


@dataclass
class DocumentReport:
    """Extra facts of a connector batch: counts per kind, documents sent back, a summary."""

    by_kind: dict[str, KindCounts] = field(default_factory=dict)
    outbound: list[Outbound] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    summary: str = ""


def _draw_control(connection: sa.Connection) -> int:
    """The next interchange control number from the store's sequence."""
    value = connection.execute(sa.select(edi_control_seq.next_value())).scalar_one()
    return int(value) % 1_000_000_000 or 1


def _chunk(kind_name: str, rows: Sequence[dict[str, str | None]]) -> pa.Table:
    """Rows as a text table of every canonical column; `_line` is the row's ordinal."""
    kind = KINDS_BY_NAME[kind_name]
    columns: dict[str, pa.Array] = {}
    for name in kind.column_names:
        columns[name] = pa.array([row.get(name) for row in rows], pa.string())
    columns[LINE] = pa.array(range(len(rows)), pa.int64())
    return pa.table(columns)


def _locate(reject: Reject, positions: Sequence[Position]) -> Reject:
    """A validator or merger reject (by ordinal) pointed back at the source position."""
    position = positions[reject.line] if reject.line is not None else Position(None, "-")
    return Reject(position.number, reject.column, reject.reason, reject.record, position.label)


def store_outbound(
    connection: sa.Connection,
    documents: Iterable[Outbound],
    *,
    batch_id: int | None,
    out_dir: Path | None = None,
) -> list[Path]:
    """Keep documents sent back in the store; write them to `out_dir` when given."""
    written: list[Path] = []
    now = datetime.now(UTC)
    for document in documents:
        path: Path | None = None
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / document.name
            temporary = path.with_name("." + path.name + ".part")
            temporary.write_bytes(document.content)
            temporary.replace(path)
            written.append(path)
        connection.execute(
            outbound_documents.insert().values(
                document=document.document,
                partner=document.partner,
                control_number=document.control_number,
                reference=document.reference,
                name=document.name,
                content=document.content.decode("utf-8", errors="replace"),
                batch_id=batch_id,
                created_at=now,
                written_to=str(path) if path else None,
            )
        )
    return written


def parse_options(
    options: SourceOptions, *, source: str, settings: Settings, connection: sa.Connection | None
) -> ParseOptions:
    """What the connector is told: provider, profile, and where control numbers come from."""
    profile = Path(options.profile) if options.profile else None
    if profile is not None and not profile.is_file():
        raise InputError(f"{profile}: no such profile file")
    draw = (lambda: _draw_control(connection)) if connection is not None else None
    return ParseOptions(
        provider_id=options.provider_id,
        profile=profile,
        source=source,
        brand_timezone=settings.brand.timezone,
        received_at=datetime.now(UTC),
        next_control=draw,
        settings=options.settings,
    )


def ingest_document(
    store: Store,
    path: Path,
    options: SourceOptions,
    *,
    settings: Settings | None = None,
    source: str | None = None,
    replay_of: int | None = None,
    out_dir: Path | None = None,
    delivery_id: str | None = None,
) -> tuple[Any, DocumentReport]:
    """Ingest one payload through its connector as one batch; see the module docstring.

    Returns the BatchReport (typed loosely to avoid an import cycle) and the details.
    `delivery_id` names a webhook delivery: one already taken in is a no-op.
    """
    from tallyclerk.ingest._service import BatchReport

    settings = settings or get_settings()
    connector: Connector = get(options.connector)
    source = source or str(path.resolve())
    facts = _archive.digest_file(path)
    data = path.read_bytes()
    details = DocumentReport()
    with store.begin() as connection:
        if delivery_id is not None and _seen(connection, options.connector, delivery_id):
            report = BatchReport(
                source,
                options.connector,
                None,
                "duplicate",
                message=f"delivery {delivery_id} was taken in before; nothing to do",
            )
            return report, details
        batch_id = _repository.start_batch(
            connection,
            source=source,
            kind=options.connector,
            fmt=options.connector,
            sha256=facts.sha256,
            size_bytes=facts.size_bytes,
            replay_of=replay_of,
            options=options.to_json(),
        )
        _archive.archive(connection, path, facts)
        try:
            parsed = connector.parse(
                data,
                parse_options(options, source=source, settings=settings, connection=connection),
            )
        except ConnectorError as exc:
            message = str(exc)
            _repository.finish_batch(connection, batch_id, status="failed", message=message)
            _remember(connection, options.connector, delivery_id, batch_id)
            return BatchReport(
                source, options.connector, batch_id, "failed", message=message
            ), details
        totals, quarantined, sample = _store_parsed(
            connection, parsed, batch_id, source, settings, details
        )
        details.outbound = list(parsed.outbound)
        details.summary = parsed.summary
        details.written = store_outbound(
            connection, parsed.outbound, batch_id=batch_id, out_dir=out_dir
        )
        replayed = _repository.mark_replayed_source(
            connection, source=source, before_batch=batch_id
        )
        notes = "; ".join(parsed.notes) or None
        _repository.finish_batch(
            connection,
            batch_id,
            status="landed",
            stored=totals.stored,
            updated=totals.updated,
            duplicate=totals.duplicate,
            quarantined=quarantined,
            message=notes,
        )
        _remember(connection, options.connector, delivery_id, batch_id)
    report = BatchReport(
        source,
        options.connector,
        batch_id,
        "landed",
        totals.stored,
        totals.updated,
        totals.duplicate,
        quarantined,
        sample,
        message=notes,
        replayed=replayed,
    )
    return report, details


def _store_parsed(
    connection: sa.Connection,
    parsed: Parsed,
    batch_id: int,
    source: str,
    settings: Settings,
    details: DocumentReport,
) -> tuple[MergeCounts, int, list[Reject]]:
    """Validate and merge every kind of the parsed payload; quarantine what fails."""
    totals = MergeCounts()
    quarantined = 0
    sample: list[Reject] = []
    timezones = _repository.facility_timezones(connection)
    connector_rejects: dict[str, list[Reject]] = {}
    for item in parsed.rejects:
        kind_name = item.kind if item.kind in KINDS_BY_NAME else "-"
        connector_rejects.setdefault(kind_name, []).append(
            Reject(item.position.number, None, item.reason, item.record, item.position.label)
        )
    kinds = parsed.kinds() + [k for k in connector_rejects if k not in parsed.rows]
    for kind_name in kinds:
        counts = details.by_kind.setdefault(kind_name, KindCounts())
        rejects = list(connector_rejects.get(kind_name, ()))
        rows = parsed.rows.get(kind_name, [])
        if rows:
            kind = KINDS_BY_NAME[kind_name]
            positions = parsed.positions[kind_name]
            validator = Validator(kind, timezones, settings.brand.timezone)
            merger = Merger(connection, kind, batch_id, columns=parsed.supplied(kind_name))
            try:
                good, bad = validator.validate(_chunk(kind_name, rows))
                merged, orphans = merger.merge(good)
            finally:
                validator.close()
                merger.close()
            rejects += [_locate(r, positions) for r in [*bad, *orphans]]
            totals.add(merged)
            counts.stored += merged.stored
            counts.updated += merged.updated
            counts.duplicate += merged.duplicate
        rejects.sort(key=lambda r: r.line if r.line is not None else -1)
        _repository.add_quarantine(connection, batch_id, kind_name, source, rejects)
        counts.quarantined += len(rejects)
        quarantined += len(rejects)
        sample.extend(rejects[: max(0, _SAMPLE_REJECTS - len(sample))])
    return totals, quarantined, sample


def _seen(connection: sa.Connection, source: str, delivery_id: str) -> bool:
    w = webhook_receipts.c
    row = connection.execute(
        sa.select(w.batch_id).where(w.source == source, w.delivery_id == delivery_id)
    ).first()
    return row is not None


def _remember(
    connection: sa.Connection, source: str, delivery_id: str | None, batch_id: int
) -> None:
    if delivery_id is None:
        return
    connection.execute(
        webhook_receipts.insert().values(
            source=source, delivery_id=delivery_id, batch_id=batch_id, received_at=datetime.now(UTC)
        )
    )


def ingest_payload(
    store: Store,
    body: bytes,
    options: SourceOptions,
    *,
    source: str,
    delivery_id: str | None = None,
    settings: Settings | None = None,
) -> tuple[Any, DocumentReport]:
    """Ingest bytes that arrived without a file (a webhook body) as one batch.

    A delivery id seen before (Shopify's X-Shopify-Webhook-Id) makes the call a no-op.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tallyclerk-payload-") as tmp:
        path = Path(tmp) / "payload.json"
        path.write_bytes(body)
        return ingest_document(
            store, path, options, settings=settings, source=source, delivery_id=delivery_id
        )
