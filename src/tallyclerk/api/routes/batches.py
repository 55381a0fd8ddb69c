"""Ingestion batches, the quarantine (see, fix, replay) and the health of each data source.

A batch belongs to a provider when it was read for one (a connector's options name the
provider: an X12 file, a provider's upload); a batch without a provider (a canonical file,
a store's webhook) is the brand's, and a provider user does not see it or its quarantine.

Fix and replay, as on the command line: a quarantined record is replayed by reading its
source again (fixed in place, or its archived copy once its parents have arrived), or, when
fixed here (PUT /quarantine/{id} with the corrected canonical record), by loading the fixed
records as a new batch of their kind.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from tallyclerk.access import NotFoundError, Scope
from tallyclerk.api._csv import FormatQuery, csv_response, csv_responses, paged, snapshot
from tallyclerk.api._deps import ScopeDep, ServiceState, StoreDep, service
from tallyclerk.api._models import LARGEST_ID, NAME_PATTERN, ProviderQuery, errors
from tallyclerk.api._pagination import Page, PageParams, page_params
from tallyclerk.domain import KINDS, KINDS_BY_NAME
from tallyclerk.errors import InputError
from tallyclerk.ingest import BatchReport, ingest_file, replay_batch, replay_quarantine
from tallyclerk.store import Store
from tallyclerk.store.schema import ingestion_batches, quarantine

router = APIRouter(prefix="/api/v1", tags=["ingestion"])

Paging = Annotated[PageParams, Depends(page_params)]
State = Annotated[ServiceState, Depends(service)]
BatchIdPath = Annotated[int, Path(ge=1, le=LARGEST_ID, description="The batch's id.")]
RecordIdPath = Annotated[int, Path(ge=1, le=LARGEST_ID, description="The quarantined record's id.")]
_KIND_ORDER = {k.name: i for i, k in enumerate(KINDS)}  # parents before children
OPEN = "open"


class BatchOut(BaseModel):
    """One ingestion batch: a file or payload, what it held, and what became of it."""

    batch_id: int
    source: str
    kind: str
    format: str
    provider_id: str | None  # null: a brand-wide batch
    status: str  # running | landed | failed
    started_at: datetime
    finished_at: datetime | None
    stored: int
    updated: int
    duplicate: int
    quarantined: int
    replay_of: int | None
    size_bytes: int | None
    payload_sha256: str | None
    message: str | None


class BatchDetail(BatchOut):
    """A batch with how many of its quarantined records are still open."""

    open_quarantine: int


class RejectOut(BaseModel):
    """A record a batch held back: where and why."""

    line: int | None
    position: str | None
    column: str | None
    reason: str


class BatchReportOut(BaseModel):
    """What a batch just did (a replay): counts, and a sample of what it held back."""

    batch_id: int | None
    source: str
    kind: str
    status: str
    stored: int
    updated: int
    duplicate: int
    quarantined: int
    replayed: int  # older open quarantine records of the source this batch read again
    message: str | None
    rejects: list[RejectOut]

    @classmethod
    def of(cls, report: BatchReport) -> BatchReportOut:
        """The API form of a batch report."""
        return cls(
            batch_id=report.batch_id,
            source=report.source,
            kind=report.kind,
            status=report.status,
            stored=report.stored,
            updated=report.updated,
            duplicate=report.duplicate,
            quarantined=report.quarantined,
            replayed=report.replayed,
            message=report.message,
            rejects=[
                RejectOut(line=r.line, position=r.where, column=r.column, reason=r.reason)
                for r in report.rejects
            ],
        )


class QuarantineOut(BaseModel):
    """A record held back from the store: its source, position, reason and raw content."""

    quarantine_id: int
    batch_id: int
    provider_id: str | None
    kind: str
    source: str
    line: int | None
    position: str | None
    column: str | None
    reason: str
    status: str  # open | replayed
    record: Any  # the canonical record as text fields (JSON object), or the raw text
    created_at: datetime
    resolved_at: datetime | None
    resolved_batch_id: int | None


RawValue = Annotated[str, Field(max_length=10_000)] | int | float | bool | None


class RecordFix(BaseModel):
    """The corrected record: its kind's canonical columns (DESIGN section 4) as values."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "raw": {
                        "order_id": "ORD-1002",
                        "placed_at": "2026-03-02T10:00:00-06:00",
                        "channel": "web",
                        "ship_to_country": "US",
                        "order_value": "55.00",
                        "currency": "USD",
                    }
                }
            ]
        },
    )

    raw: dict[Annotated[str, Field(max_length=100)], RawValue]


class ReplayRequest(BaseModel):
    """What to replay: records fixed here (ids), or every open record (of a batch) again."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"ids": [41, 42]},
                {"batch": 7, "from_archive": True},
                {},
            ]
        },
    )

    ids: list[Annotated[int, Field(ge=1, le=LARGEST_ID)]] | None = Field(
        default=None, max_length=10_000
    )
    batch: int | None = Field(default=None, ge=1, le=LARGEST_ID)
    from_archive: bool = False


class ReplayOut(BaseModel):
    """The batches a replay ran, and what is still in quarantine."""

    batches: list[BatchReportOut]
    records_replayed: int
    still_open: int


class SourceHealthOut(BaseModel):
    """A data source (a file path, an upload, a webhook topic) and how its last batch went."""

    source: str
    provider_id: str | None
    kind: str
    batches: int
    last_batch_id: int
    last_status: str
    last_started_at: datetime
    last_finished_at: datetime | None
    last_stored: int
    last_updated: int
    last_duplicate: int
    last_quarantined: int
    last_message: str | None
    open_quarantine: int


# -- where a batch belongs ---------------------------------------------------------------------


def provider_of(options: str | None) -> str | None:
    """The provider a batch was read for (from its stored connector options), or None."""
    if not options:
        return None
    try:
        value = json.loads(options).get("provider_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


class _OptionsProvider(FunctionElement[str]):
    """`provider_of` in SQL: the text `provider_id` of a batch's options (JSON), else NULL.

    Part of the query itself, so a provider user's filter applies before a page is cut and
    to the count of the whole list.
    """

    type = sa.String()
    inherit_cache = True
    name = "options_provider"


@compiles(_OptionsProvider, "duckdb")
def _options_provider_duckdb(element: _OptionsProvider, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    found = f"json_extract_string({text}, '$.provider_id')"
    typed = f"json_type({text}, '$.provider_id') = 'VARCHAR'"
    return f"CASE WHEN json_valid({text}) THEN CASE WHEN {typed} THEN {found} END END"


@compiles(_OptionsProvider, "postgresql")
def _options_provider_postgresql(
    element: _OptionsProvider, compiler: SQLCompiler, **kw: Any
) -> str:
    text = compiler.process(element.clauses, **kw)
    value = f"(CAST({text} AS JSONB) -> 'provider_id')"
    found = f"(CAST({text} AS JSONB) ->> 'provider_id')"
    return (
        f"CASE WHEN left(ltrim({text}), 1) = '{{' THEN "
        f"CASE WHEN jsonb_typeof{value} = 'string' THEN {found} END END"
    )


def _provider_condition(
    column: sa.ColumnElement[Any], providers: list[str]
) -> sa.ColumnElement[bool]:
    """Batches whose options name one of the providers, decided in SQL as provider_of does."""
    return sa.func.nullif(_OptionsProvider(column), "").in_(providers)


def _batch_out(row: sa.RowMapping) -> BatchOut:
    return BatchOut(
        batch_id=int(row["batch_id"]),
        source=row["source"],
        kind=row["kind"],
        format=row["format"],
        provider_id=provider_of(row["options"]),
        status=row["status"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        stored=int(row["stored"]),
        updated=int(row["updated"]),
        duplicate=int(row["duplicate"]),
        quarantined=int(row["quarantined"]),
        replay_of=row["replay_of"],
        size_bytes=row["size_bytes"],
        payload_sha256=row["payload_sha256"],
        message=row["message"],
    )


def _record(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _quarantine_out(row: sa.RowMapping) -> QuarantineOut:
    return QuarantineOut(
        quarantine_id=int(row["quarantine_id"]),
        batch_id=int(row["batch_id"]),
        provider_id=provider_of(row["options"]),
        kind=row["kind"],
        source=row["source"],
        line=row["line"],
        position=row["position"] or (f"line {row['line']}" if row["line"] is not None else None),
        column=row["column_name"],
        reason=row["reason"],
        status=row["status"],
        record=_record(row["record"]),
        created_at=row["created_at"],
        resolved_at=row["resolved_at"],
        resolved_batch_id=row["resolved_batch_id"],
    )


def _visible_batch(opened: Store, batch_id: int, scope: Scope) -> sa.RowMapping:
    with opened.connect() as connection:
        row = (
            connection.execute(
                sa.select(ingestion_batches).where(ingestion_batches.c.batch_id == batch_id)
            )
            .mappings()
            .first()
        )
    if row is None:
        raise NotFoundError(f"no batch {batch_id}")
    scope.check(provider_of(row["options"]), "batch")
    return row


def _quarantine_query() -> sa.Select[Any]:
    return sa.select(quarantine, ingestion_batches.c.options).join(
        ingestion_batches, ingestion_batches.c.batch_id == quarantine.c.batch_id
    )


def _visible_record(opened: Store, record_id: int, scope: Scope) -> sa.RowMapping:
    with opened.connect() as connection:
        row = (
            connection.execute(_quarantine_query().where(quarantine.c.quarantine_id == record_id))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFoundError(f"no quarantined record {record_id}")
    scope.check(provider_of(row["options"]), "quarantined record")
    return row


def _scoped(
    query: sa.Select[Any], column: sa.ColumnElement[Any], scope: Scope, provider: str | None
) -> sa.Select[Any]:
    chosen = scope.providers(provider)
    return query if chosen is None else query.where(_provider_condition(column, chosen))


# -- batches -----------------------------------------------------------------------------------


@router.get(
    "/batches",
    response_model=Page[BatchOut],
    summary="Ingestion batches",
    description="Batches, newest first, filtered by provider, status and kind. A provider "
    "user sees the batches read for its provider.",
    responses=errors(404, 422),
)
def batches(
    scope: ScopeDep,
    opened: StoreDep,
    paging: Paging,
    provider: ProviderQuery = None,
    status: Annotated[
        Literal["running", "landed", "failed"] | None, Query(description="Only this status.")
    ] = None,
    kind: Annotated[str | None, Query(pattern=NAME_PATTERN, description="Only this kind.")] = None,
) -> Page[BatchOut]:
    """The batches, a page at a time."""
    b = ingestion_batches.c
    query = _scoped(sa.select(ingestion_batches), b.options, scope, provider)
    if status is not None:
        query = query.where(b.status == status)
    if kind is not None:
        query = query.where(b.kind == kind)
    with opened.connect() as connection:
        total = int(
            connection.execute(
                sa.select(sa.func.count()).select_from(query.subquery())
            ).scalar_one()
        )
        rows = connection.execute(
            query.order_by(b.batch_id.desc()).limit(paging.limit).offset(paging.offset)
        ).mappings()
        out = [_batch_out(r) for r in rows if scope.allows(provider_of(r["options"]))]
    return Page[BatchOut].of(out, total, paging)


@router.get(
    "/batches/{batch_id}",
    response_model=BatchDetail,
    summary="One batch",
    description="A batch with its counts and how many of its held-back records are open.",
    responses=errors(404, 422),
)
def one_batch(batch_id: BatchIdPath, scope: ScopeDep, opened: StoreDep) -> BatchDetail:
    """The batch."""
    row = _visible_batch(opened, batch_id, scope)
    q = quarantine.c
    with opened.connect() as connection:
        still = connection.execute(
            sa.select(sa.func.count()).where(q.batch_id == batch_id, q.status == OPEN)
        ).scalar_one()
    return BatchDetail(**_batch_out(row).model_dump(), open_quarantine=int(still))


@router.post(
    "/batches/{batch_id}/replay",
    response_model=BatchReportOut,
    summary="Replay a batch",
    description="Ingest the archived payload of the batch again as a new batch of the same "
    "source (after a fix to reference data, e.g. a contract giving a facility its time "
    "zone). Admin only.",
    responses=errors(400, 403, 404, 422),
)
def replay_one_batch(
    batch_id: BatchIdPath, scope: ScopeDep, opened: StoreDep, state: State
) -> BatchReportOut:
    """Replay the batch."""
    scope.require_admin()
    _visible_batch(opened, batch_id, scope)
    return BatchReportOut.of(replay_batch(opened, batch_id, settings=state.settings))


# -- quarantine --------------------------------------------------------------------------------


@router.get(
    "/quarantine",
    response_model=Page[QuarantineOut],
    summary="Quarantined records",
    description="Records held back by ingestion, oldest first, with file, position, column "
    "and reason (default: the open ones). A provider user sees those of its batches. "
    "`format=csv`: every matching record as a CSV download.",
    responses={**errors(404, 422), **csv_responses()},
)
def quarantined(
    scope: ScopeDep,
    opened: StoreDep,
    paging: Paging,
    batch: Annotated[
        int | None, Query(ge=1, le=LARGEST_ID, description="Only this batch's records.")
    ] = None,
    kind: Annotated[str | None, Query(pattern=NAME_PATTERN, description="Only this kind.")] = None,
    status: Annotated[
        Literal["open", "replayed", "all"], Query(description="Open, replayed, or all.")
    ] = "open",
    provider: ProviderQuery = None,
    fmt: FormatQuery = "json",
) -> Page[QuarantineOut] | Response:
    """The quarantined records, a page at a time (or all of them as CSV)."""
    q = quarantine.c
    query = _scoped(_quarantine_query(), ingestion_batches.c.options, scope, provider)
    if batch is not None:
        query = query.where(q.batch_id == batch)
    if kind is not None:
        query = query.where(q.kind == kind)
    if status != "all":
        query = query.where(q.status == status)
    if fmt == "csv":
        ordered = query.order_by(q.quarantine_id)
        with snapshot(opened) as connection:
            held = paged(
                lambda limit, offset: (
                    connection.execute(ordered.limit(limit).offset(offset)).mappings().all()
                )
            )
            visible = (r for r in held if scope.allows(provider_of(r["options"])))
            return csv_response("quarantine", QuarantineOut, map(_quarantine_out, visible))
    with opened.connect() as connection:
        total = int(
            connection.execute(
                sa.select(sa.func.count()).select_from(query.subquery())
            ).scalar_one()
        )
        rows = connection.execute(
            query.order_by(q.quarantine_id).limit(paging.limit).offset(paging.offset)
        ).mappings()
        out = [_quarantine_out(r) for r in rows if scope.allows(provider_of(r["options"]))]
    return Page[QuarantineOut].of(out, total, paging)


@router.get(
    "/quarantine/{quarantine_id}",
    response_model=QuarantineOut,
    summary="One quarantined record",
    description="A held-back record with where it was and why.",
    responses=errors(404, 422),
)
def one_record(quarantine_id: RecordIdPath, scope: ScopeDep, opened: StoreDep) -> QuarantineOut:
    """The quarantined record."""
    return _quarantine_out(_visible_record(opened, quarantine_id, scope))


def _canonical_text(kind: str, raw: dict[str, Any]) -> str:
    """The corrected record as the JSON object of text fields a replay loads."""
    columns = KINDS_BY_NAME[kind].column_names
    unknown = sorted(set(raw) - set(columns))
    if unknown:
        raise InputError(
            f"{kind} has no column(s) {', '.join(unknown)} (its columns: {', '.join(columns)})"
        )
    fields: dict[str, str | None] = {}
    for name in columns:
        value = raw.get(name)
        if isinstance(value, bool):
            fields[name] = "true" if value else "false"
        elif value is None:
            fields[name] = None
        else:
            fields[name] = str(value)
    return json.dumps(fields)


@router.put(
    "/quarantine/{quarantine_id}",
    response_model=QuarantineOut,
    summary="Fix a quarantined record",
    description="Replace the held-back record with its corrected canonical form (the "
    "kind's columns, DESIGN section 4). It stays open until replayed with POST "
    '/quarantine/replay {"ids": [...]}. Admin only.',
    responses=errors(400, 403, 404, 409, 422),
)
def fix_record(
    quarantine_id: RecordIdPath, body: RecordFix, scope: ScopeDep, opened: StoreDep
) -> QuarantineOut:
    """Store the corrected record."""
    scope.require_admin()
    row = _visible_record(opened, quarantine_id, scope)
    if row["status"] != OPEN:
        raise InputError(f"record {quarantine_id} is {row['status']} already; nothing to fix")
    if row["kind"] not in KINDS_BY_NAME:
        raise InputError(f"record {quarantine_id} is of kind {row['kind']!r}, not a canonical one")
    text = _canonical_text(row["kind"], body.raw)
    with opened.begin() as connection:
        connection.execute(
            quarantine.update()
            .where(quarantine.c.quarantine_id == quarantine_id)
            .values(record=text)
        )
    return _quarantine_out(_visible_record(opened, quarantine_id, scope))


def _replay_fixed(opened: Store, ids: list[int], state: ServiceState) -> list[BatchReport]:
    """Load the records as new batches (one per kind, parents first) and close them."""
    wanted = sorted(set(ids))
    with opened.connect() as connection:
        rows = list(
            connection.execute(
                sa.select(quarantine).where(quarantine.c.quarantine_id.in_(wanted))
            ).mappings()
        )
    missing = sorted(set(wanted) - {int(r["quarantine_id"]) for r in rows})
    if missing:
        raise NotFoundError(f"no quarantined record {', '.join(map(str, missing))}")
    by_kind: dict[str, list[sa.RowMapping]] = {}
    for row in rows:
        if row["status"] != OPEN:
            raise InputError(f"record {row['quarantine_id']} is {row['status']} already")
        record = _record(row["record"])
        if row["kind"] not in KINDS_BY_NAME or not isinstance(record, dict):
            raise InputError(
                f"record {row['quarantine_id']} is not a canonical record yet; fix it first "
                f"(PUT /api/v1/quarantine/{row['quarantine_id']})"
            )
        by_kind.setdefault(row["kind"], []).append(row)
    reports = []
    for kind in sorted(by_kind, key=lambda k: _KIND_ORDER[k]):
        group = by_kind[kind]
        with tempfile.TemporaryDirectory(prefix="tallyclerk-fixed-") as tmp:
            path = FilePath(tmp) / f"{kind}.jsonl"
            path.write_text("".join(f"{row['record']}\n" for row in group), encoding="utf-8")
            numbers = ",".join(str(row["quarantine_id"]) for row in group)
            report = ingest_file(
                opened,
                path,
                KINDS_BY_NAME[kind],
                settings=state.settings,
                source=f"quarantine fix {numbers}",
                replay_of=min(int(row["batch_id"]) for row in group),
            )
        if report.batch_id is not None:
            closing = [int(row["quarantine_id"]) for row in group]
            with opened.begin() as connection:
                connection.execute(
                    quarantine.update()
                    .where(quarantine.c.quarantine_id.in_(closing), quarantine.c.status == OPEN)
                    .values(
                        status="replayed",
                        resolved_batch_id=report.batch_id,
                        resolved_at=datetime.now(UTC),
                    )
                )
            report.replayed = len(closing)
        reports.append(report)
    return reports


@router.post(
    "/quarantine/replay",
    response_model=ReplayOut,
    summary="Replay quarantined records",
    description="With `ids`: load those records as they are now (fixed with PUT) as new "
    "batches; each is closed, and one that still fails is quarantined again under the new "
    "batch. Without `ids`: read every source with open records (of `batch`) again, from "
    "the file if it is still there, else (or with `from_archive`) from the archived copy, "
    "as `tallyclerk quarantine replay` does. Admin only.",
    responses=errors(400, 403, 404, 422),
)
def replay(body: ReplayRequest, scope: ScopeDep, opened: StoreDep, state: State) -> ReplayOut:
    """Replay the records."""
    scope.require_admin()
    if body.ids is not None:
        if body.batch is not None:
            raise InputError("give ids or batch, not both")
        if not body.ids:
            raise InputError("ids is empty: name the records to replay, or leave ids out")
        reports = _replay_fixed(opened, body.ids, state)
    else:
        if body.batch is not None:
            _visible_batch(opened, body.batch, scope)
        run = replay_quarantine(
            opened, batch_id=body.batch, from_archive=body.from_archive, settings=state.settings
        )
        reports = run.batches
    with opened.connect() as connection:
        still = connection.execute(
            sa.select(sa.func.count()).select_from(quarantine).where(quarantine.c.status == OPEN)
        ).scalar_one()
    return ReplayOut(
        batches=[BatchReportOut.of(r) for r in reports],
        records_replayed=sum(r.replayed for r in reports),
        still_open=int(still),
    )


# -- data health -------------------------------------------------------------------------------


@router.get(
    "/health/sources",
    response_model=Page[SourceHealthOut],
    summary="Health of each data source",
    description="Per source (a file path, an upload, a webhook topic) and provider: how "
    "many batches, how the last one went, and the records of the source still open in "
    "quarantine. A provider user sees its own sources.",
    responses=errors(404, 422),
)
def source_health(
    scope: ScopeDep, opened: StoreDep, paging: Paging, provider: ProviderQuery = None
) -> Page[SourceHealthOut]:
    """The sources and their last batches."""
    b = ingestion_batches.c
    q = quarantine.c
    grouped = _scoped(
        sa.select(b.source, b.options, sa.func.count(), sa.func.max(b.batch_id)).group_by(
            b.source, b.options
        ),
        b.options,
        scope,
        provider,
    )
    held = _scoped(
        sa.select(q.source, ingestion_batches.c.options, sa.func.count())
        .join(ingestion_batches, ingestion_batches.c.batch_id == q.batch_id)
        .where(q.status == OPEN)
        .group_by(q.source, ingestion_batches.c.options),
        ingestion_batches.c.options,
        scope,
        provider,
    )
    counts: dict[tuple[str, str | None], list[int]] = {}
    with opened.connect() as connection:
        for source, options, n, last in connection.execute(grouped):
            key = (source, provider_of(options))
            if not scope.allows(key[1]):
                continue
            seen = counts.setdefault(key, [0, 0])
            seen[0] += int(n)
            seen[1] = max(seen[1], int(last))
        still: dict[tuple[str, str | None], int] = {}
        for source, options, n in connection.execute(held):
            key = (source, provider_of(options))
            still[key] = still.get(key, 0) + int(n)
        keys = sorted(counts, key=lambda k: (k[0], k[1] or ""))
        chosen = keys[paging.offset : paging.offset + paging.limit]
        lasts = {
            int(r["batch_id"]): r
            for r in connection.execute(
                sa.select(ingestion_batches).where(b.batch_id.in_([counts[k][1] for k in chosen]))
            ).mappings()
        }
    out = []
    for key in chosen:
        n, last_id = counts[key]
        last = lasts[last_id]
        out.append(
            SourceHealthOut(
                source=key[0],
                provider_id=key[1],
                kind=last["kind"],
                batches=n,
                last_batch_id=last_id,
                last_status=last["status"],
                last_started_at=last["started_at"],
                last_finished_at=last["finished_at"],
                last_stored=int(last["stored"]),
                last_updated=int(last["updated"]),
                last_duplicate=int(last["duplicate"]),
                last_quarantined=int(last["quarantined"]),
                last_message=last["message"],
                open_quarantine=still.get(key, 0),
            )
        )
    return Page[SourceHealthOut].of(out, len(keys), paging)
