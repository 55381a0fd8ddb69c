"""Ingestion of what arrives through the service: webhook deliveries in batches, JSON records.

Webhooks come one delivery at a time, often in bursts; a batch per delivery would fill the
batch list and cost a transaction each. `ingest_deliveries` lands many deliveries at once:
one batch per group (source and topic kind: Shopify orders, Shopify fulfillments, a tracking
source), each in one transaction holding the group's records, its quarantine and a
`webhook_receipts` row per delivery id. A delivery id already in `webhook_receipts` is
skipped, so landing the same deliveries twice (a crash between landing and clearing the
spool) changes nothing.

Each delivery is read by its own connector, exactly as a file of that format would be, and
the records of the group go through the same validation, idempotent merge and quarantine as
every other batch. A delivery the connector cannot read at all is quarantined whole with
its delivery id as position, and the rest of the group still lands. The batch archives the
group's readable bodies as one JSON array, which the connector reads again on a replay.

`ingest_records` lands canonical records sent as JSON objects (the API's JSON ingestion) as
one batch, a bad record quarantined as "record N".
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from tallyclerk.connectors import ConnectorError, Parsed, ParseOptions, Position, get
from tallyclerk.connectors._base import ConnectorReject
from tallyclerk.connectors.shopify import FULFILLMENT_TOPICS, ORDER_TOPICS, parse_webhook
from tallyclerk.domain import KINDS_BY_NAME
from tallyclerk.errors import InputError
from tallyclerk.ingest import _archive, _repository
from tallyclerk.ingest._documents import DocumentReport, SourceOptions, _store_parsed
from tallyclerk.ingest._merge import MergeCounts
from tallyclerk.ingest._read import Reject, _json_text
from tallyclerk.ingest._service import BatchReport, file_options_json
from tallyclerk.settings import Settings, get_settings
from tallyclerk.store import Store
from tallyclerk.store.bulk import append_arrow
from tallyclerk.store.schema import webhook_receipts

log = logging.getLogger(__name__)

# The sources a webhook may come from, in landing order (store orders before tracking).
WEBHOOK_SOURCES = ("shopify", "easypost", "aftership", "tracking-json")
# Topic kinds in landing order: orders before the fulfillments that ship them.
_KIND_ORDER = {"orders": 0, "fulfillments": 1, "tracking": 2}
# The canonical kind a delivery that cannot be read at all is quarantined under.
_UNREADABLE_KIND = {"orders": "orders", "fulfillments": "shipments", "tracking": "tracking_events"}
_IN_LIST = 1000
_NOTES_SHOWN = 5
_RECORD_TEXT = 1_000_000


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook delivery as it arrived: its source, id, topic, raw body and arrival time."""

    source: str
    delivery_id: str
    topic: str | None
    body: bytes
    received_at: datetime


@dataclass
class WebhookGroupReport:
    """What happened to one group of deliveries (one source and topic kind)."""

    source: str
    topic_kind: str
    deliveries: int
    batch: BatchReport | None = None  # None when every delivery had landed before
    already_landed: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # quarantined whole


@dataclass
class WebhookBatchReport:
    """What `ingest_deliveries` did: a report per group, in landing order."""

    groups: list[WebhookGroupReport] = field(default_factory=list)

    @property
    def deliveries(self) -> int:
        """Deliveries handed in."""
        return sum(g.deliveries for g in self.groups)

    @property
    def already_landed(self) -> int:
        """Deliveries skipped because their id had landed before."""
        return sum(len(g.already_landed) for g in self.groups)

    @property
    def landed(self) -> int:
        """Deliveries taken in now (records stored or quarantined)."""
        return self.deliveries - self.already_landed

    @property
    def batches(self) -> list[BatchReport]:
        """The batches written, one per group with something new."""
        return [g.batch for g in self.groups if g.batch is not None]


def topic_kind(source: str, topic: str | None) -> str:
    """The group a delivery lands in: Shopify `orders` or `fulfillments`, else `tracking`."""
    if source not in WEBHOOK_SOURCES:
        known = ", ".join(WEBHOOK_SOURCES)
        raise InputError(f"no webhook source {source!r} (known: {known})")
    if source != "shopify":
        return "tracking"
    name = (topic or "").strip().lower()
    if name in ORDER_TOPICS:
        return "orders"
    if name in FULFILLMENT_TOPICS:
        return "fulfillments"
    known = ", ".join(ORDER_TOPICS + FULFILLMENT_TOPICS)
    raise InputError(f"Shopify topic {topic!r} is not one tallyclerk reads (topics: {known})")


def landed_deliveries(
    connection: sa.Connection, *, within: timedelta, limit: int
) -> list[tuple[str, str]]:
    """(source, delivery id) of the latest deliveries taken in, newest first, for replay checks."""
    w = webhook_receipts.c
    since = datetime.now(UTC) - within
    rows = connection.execute(
        sa.select(w.source, w.delivery_id)
        .where(w.received_at >= since)
        .order_by(w.received_at.desc())
        .limit(limit)
    )
    return [(str(source), str(delivery_id)) for source, delivery_id in rows]


def _landed_ids(connection: sa.Connection, source: str, ids: Sequence[str]) -> set[str]:
    w = webhook_receipts.c
    found: set[str] = set()
    for start in range(0, len(ids), _IN_LIST):
        part = list(ids[start : start + _IN_LIST])
        rows = connection.execute(
            sa.select(w.delivery_id).where(w.source == source, w.delivery_id.in_(part))
        )
        found.update(str(row[0]) for row in rows)
    return found


def _groups(deliveries: Iterable[Delivery]) -> list[tuple[tuple[str, str], list[Delivery]]]:
    """Deliveries grouped by source and topic kind, arrival order kept inside each group."""
    groups: dict[tuple[str, str], list[Delivery]] = {}
    for delivery in deliveries:
        key = (delivery.source, topic_kind(delivery.source, delivery.topic))
        groups.setdefault(key, []).append(delivery)
    return sorted(
        groups.items(),
        key=lambda item: (_KIND_ORDER[item[0][1]], WEBHOOK_SOURCES.index(item[0][0])),
    )


def _parse(delivery: Delivery, settings: Settings) -> Parsed:
    """One delivery through its connector (Shopify by its topic)."""
    options = ParseOptions(
        source=f"{delivery.source} delivery {delivery.delivery_id}",
        brand_timezone=settings.brand.timezone,
        received_at=delivery.received_at,
    )
    if delivery.source == "shopify":
        return parse_webhook(delivery.body, delivery.topic or "", options)
    parsed: Parsed = get(delivery.source).parse(delivery.body, options)
    return parsed


def _at(index: int, delivery_id: str, position: Position) -> Position:
    return Position(index, f"delivery {delivery_id}, {position.label}")


def _relabel(parsed: Parsed, index: int, delivery_id: str) -> Parsed:
    """A delivery's records with positions naming the delivery and its place in the group."""
    return Parsed(
        rows=parsed.rows,
        positions={
            kind: [_at(index, delivery_id, p) for p in positions]
            for kind, positions in parsed.positions.items()
        },
        rejects=[
            ConnectorReject(r.kind, _at(index, delivery_id, r.position), r.reason, r.record)
            for r in parsed.rejects
        ],
        notes=list(parsed.notes),
    )


def _signature(parsed: Parsed) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((kind, parsed.supplied(kind)) for kind in parsed.kinds())


def _archive_bytes(connection: sa.Connection, payload: bytes, name: str) -> str:
    """Archive bytes as a raw payload (content-addressed); returns their SHA-256."""
    facts = _archive.PayloadFacts(hashlib.sha256(payload).hexdigest(), len(payload))
    with tempfile.TemporaryDirectory(prefix="tallyclerk-received-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(payload)
        _archive.archive(connection, path, facts)
    return facts.sha256


def _summarize_notes(notes: Sequence[str]) -> str | None:
    unique = list(dict.fromkeys(notes))
    if not unique:
        return None
    shown = "; ".join(unique[:_NOTES_SHOWN])
    more = len(unique) - _NOTES_SHOWN
    return shown + (f"; and {more} more note(s)" if more > 0 else "")


def _land(
    connection: sa.Connection,
    parts: Sequence[Parsed],
    *,
    label: str,
    kind: str,
    fmt: str,
    payload: bytes,
    payload_name: str,
    options: str | None,
    settings: Settings,
) -> BatchReport:
    """Write parsed records as one batch: archive, validate, merge, quarantine, batch row."""
    sha256 = hashlib.sha256(payload).hexdigest()
    batch_id = _repository.start_batch(
        connection,
        source=label,
        kind=kind,
        fmt=fmt,
        sha256=sha256,
        size_bytes=len(payload),
        options=options,
    )
    _archive_bytes(connection, payload, payload_name)
    details = DocumentReport()
    totals = MergeCounts()
    quarantined = 0
    sample: list[Reject] = []
    notes: list[str] = []
    for part in parts:
        counts, held, rejects = _store_parsed(connection, part, batch_id, label, settings, details)
        totals.add(counts)
        quarantined += held
        sample.extend(rejects[: max(0, 20 - len(sample))])
        notes.extend(part.notes)
    message = _summarize_notes(notes)
    _repository.finish_batch(
        connection,
        batch_id,
        status="landed",
        stored=totals.stored,
        updated=totals.updated,
        duplicate=totals.duplicate,
        quarantined=quarantined,
        message=message,
    )
    return BatchReport(
        label,
        kind,
        batch_id,
        "landed",
        totals.stored,
        totals.updated,
        totals.duplicate,
        quarantined,
        sample,
        message=message,
    )


def _record_receipts(
    connection: sa.Connection, source: str, deliveries: Sequence[Delivery], batch_id: int
) -> None:
    n = len(deliveries)
    table = pa.table(
        {
            "source": pa.array([source] * n, pa.string()),
            "delivery_id": pa.array([d.delivery_id for d in deliveries], pa.string()),
            "batch_id": pa.array([batch_id] * n, pa.int64()),
            "received_at": pa.array(
                [d.received_at.astimezone(UTC) for d in deliveries], pa.timestamp("us", tz="UTC")
            ),
        }
    )
    append_arrow(connection, "webhook_receipts", table)


def _land_group(
    connection: sa.Connection,
    source: str,
    kind: str,
    members: Sequence[Delivery],
    settings: Settings,
) -> WebhookGroupReport:
    report = WebhookGroupReport(source, kind, len(members))
    landed = _landed_ids(connection, source, [d.delivery_id for d in members])
    fresh: list[Delivery] = []
    taken: set[str] = set()
    for delivery in members:
        if delivery.delivery_id in landed or delivery.delivery_id in taken:
            report.already_landed.append(delivery.delivery_id)
            continue
        taken.add(delivery.delivery_id)
        fresh.append(delivery)
    if not fresh:
        return report
    runs: list[Parsed] = []
    signatures: list[tuple[tuple[str, tuple[str, ...]], ...]] = []
    unreadable = Parsed()
    bodies: list[bytes] = []
    for index, delivery in enumerate(fresh, 1):
        try:
            parsed = _parse(delivery, settings)
        except Exception as exc:
            # A connector failing on one body (ConnectorError, or a fault it did not foresee)
            # must not hold back the other deliveries: this one is quarantined whole.
            reason = str(exc)
            if not isinstance(exc, ConnectorError):
                log.error(
                    "connector %s failed on delivery %s", source, delivery.delivery_id, exc_info=exc
                )
                reason = f"the {source} connector failed on this body ({type(exc).__name__}: {exc})"
            report.unreadable.append(delivery.delivery_id)
            # Kept as text (a NUL cannot be stored in PostgreSQL text).
            text = delivery.body.decode("utf-8", errors="replace")[:_RECORD_TEXT]
            text = text.replace("\x00", "\ufffd")
            position = Position(index, f"delivery {delivery.delivery_id}")
            unreadable.reject(_UNREADABLE_KIND[kind], position, reason, text)
            continue
        bodies.append(delivery.body.removeprefix(b"\xef\xbb\xbf").strip())
        relabelled = _relabel(parsed, index, delivery.delivery_id)
        # Deliveries that supply the same columns merge together; a run of other columns
        # merges apart, so an absent key keeps its stored value as for a single payload.
        signature = _signature(parsed)
        if runs and signatures[-1] == signature:
            runs[-1].extend(relabelled)
        else:
            runs.append(relabelled)
            signatures.append(signature)
    payload = b"[\n" + b",\n".join(bodies) + b"\n]\n"
    digest = hashlib.sha256(payload).hexdigest()
    first = fresh[0].received_at.astimezone(UTC)
    label = f"webhooks/{source}/{kind}/{first:%Y%m%dT%H%M%S}-{digest[:12]}"
    report.batch = _land(
        connection,
        [*runs, unreadable],
        label=label,
        kind=source,
        fmt="webhook",
        payload=payload,
        payload_name=f"{source}-{kind}-{digest[:12]}.json",
        options=SourceOptions(source).to_json(),
        settings=settings,
    )
    assert report.batch.batch_id is not None
    _record_receipts(connection, source, fresh, report.batch.batch_id)
    return report


def ingest_deliveries(
    store: Store, deliveries: Sequence[Delivery], *, settings: Settings | None = None
) -> WebhookBatchReport:
    """Land webhook deliveries in as few batches as possible, each delivery id exactly once.

    One transaction per group (source and topic kind): if it fails nothing of the group is
    written, and calling again with the same deliveries is safe, as ids that landed are
    skipped. Raises InputError for a delivery of an unknown source or Shopify topic.
    """
    settings = settings or get_settings()
    report = WebhookBatchReport()
    for (source, kind), members in _groups(deliveries):
        with store.begin() as connection:
            report.groups.append(_land_group(connection, source, kind, members, settings))
    return report


def _cell(value: Any) -> str | None:
    """A JSON value as the text of a canonical cell (as in canonical JSON Lines)."""
    if isinstance(value, Decimal):
        return format(value, "f") if value == value.to_integral_value() else str(value)
    return _json_text(value)


def ingest_records(
    store: Store,
    kind: str,
    records: Sequence[Any],
    *,
    provider_id: str | None = None,
    origin: str = "api",
    settings: Settings | None = None,
    owner: str | None = None,
) -> BatchReport:
    """Land canonical records given as JSON objects as one batch of `kind`.

    Each record holds the canonical columns of the kind (a missing key is null, other keys
    are ignored, lists are joined with ';'); a record that fails is quarantined as
    "record N" (N from 1) and the rest lands. `provider_id` fills an empty provider_id, and
    a record naming another provider is quarantined. The records are archived as canonical
    JSON Lines, so the batch replays through the canonical reader. `owner`: the provider the
    batch belongs to (a provider user's records), which then sees it and its quarantine.
    """
    settings = settings or get_settings()
    spec = KINDS_BY_NAME.get(kind)
    if spec is None:
        raise InputError(f"unknown kind {kind!r} (known kinds: {', '.join(KINDS_BY_NAME)})")
    has_provider = "provider_id" in spec.column_names
    parsed = Parsed(summary=f"{len(records)} {kind} record(s)")
    lines: list[str] = []
    for number, record in enumerate(records, 1):
        position = Position(number, f"record {number}")
        if not isinstance(record, Mapping):
            parsed.reject(kind, position, "not a JSON object", json.dumps(record, default=str))
            lines.append(json.dumps(record, default=str))
            continue
        given = {str(key).strip().lower(): value for key, value in record.items()}
        if has_provider and provider_id is not None and given.get("provider_id") in (None, ""):
            given["provider_id"] = provider_id
        lines.append(json.dumps(given, default=str))
        row: dict[str, str | None] = {}
        problem: str | None = None
        for name in spec.column_names:
            try:
                row[name] = _cell(given.get(name))
            except ValueError as exc:
                problem = f"{name}: {exc}"
                break
        if problem is None and has_provider and provider_id is not None:
            named = row.get("provider_id")
            if named != provider_id:
                problem = (
                    f"provider_id: {named!r} is not the provider of the request ({provider_id!r})"
                )
        if problem is not None:
            parsed.reject(kind, position, problem, json.dumps(given, default=str)[:4000])
            continue
        parsed.add(kind, row, position)
    payload = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    digest = hashlib.sha256(payload).hexdigest()
    stamp = datetime.now(UTC)
    # A name ending in .jsonl: a replay restores the payload under it and reads it as JSON Lines.
    name = f"{stamp:%Y%m%dT%H%M%S}-{digest[:12]}.jsonl"
    with store.begin() as connection:
        return _land(
            connection,
            [parsed],
            label=f"{origin}/ingest/{kind}/{name}",
            kind=kind,
            fmt="jsonl",
            payload=payload,
            payload_name=name,
            options=file_options_json(None, owner),
            settings=settings,
        )
