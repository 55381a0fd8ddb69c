"""Uploads and JSON ingestion: files of every format `tallyclerk ingest` reads, and records.

Who may send data: the brand's admins (for any provider) and a provider's users (for their
own provider only: the provider is theirs whatever they name, naming another is answered as
if it did not exist, and they may send only what a 3PL reports: shipments, stock, receipts,
adjustments, returns, invoices and tracking; never the brand's orders). Analysts read only.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import pyarrow.compute as pc
from fastapi import APIRouter, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Send
from starlette.types import Scope as AsgiScope

from tallyclerk import connectors
from tallyclerk.access import AccessError, NotFoundError, Scope, check_own_records
from tallyclerk.api._deps import ScopeDep, ServiceState, StoreDep, service
from tallyclerk.api._errors import error_body
from tallyclerk.connectors import ConnectorError, ParseOptions
from tallyclerk.connectors._base import exact_number
from tallyclerk.domain import KINDS_BY_NAME, Kind
from tallyclerk.errors import InputError
from tallyclerk.ingest import (
    BatchReport,
    DocumentReport,
    IngestRequest,
    SourceOptions,
    ingest_sources,
    list_quarantine,
    plan,
)
from tallyclerk.ingest._read import file_format, read_csv, read_jsonl
from tallyclerk.ingest._webhooks import ingest_records
from tallyclerk.settings import Settings
from tallyclerk.store import Store

router = APIRouter(tags=["ingestion"])

# What a 3PL reports; its users may send these kinds (and X12, tracking, CSV profiles of them).
PROVIDER_KINDS = frozenset(
    {
        "shipments",
        "shipment_lines",
        "inventory_snapshots",
        "receipts",
        "adjustments",
        "returns",
        "invoice_lines",
        "tracking_events",
    }
)
PROVIDER_CONNECTORS = frozenset({"x12", "easypost", "aftership", "tracking-json"})
_LIMITED_PATHS = ("/api/v1/uploads", "/api/v1/ingest/")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_REJECTS_LISTED = 1000
_EXPONENT = 100  # decimal exponents a JSON number of the records may have


class Rejected(BaseModel):
    """A quarantined record: where it was and why."""

    position: str = Field(examples=["record 2", "line 7", "segment 14 (W12)"])
    column: str | None = None
    reason: str
    record: str | None = None


class Acknowledgment(BaseModel):
    """A document produced in answer (a 997), kept in the store's outbox."""

    name: str
    document: str
    control_number: str | None
    partner: str | None
    reference: str | None


class FileResult(BaseModel):
    """What one uploaded file became: its batch and what happened to its records."""

    file: str
    batch_id: int | None
    kind: str = Field(description="The canonical kind, or the connector that read the file.")
    status: str = Field(description="landed, failed (nothing could be read) or duplicate.")
    records: int
    stored: int
    updated: int
    duplicate: int
    quarantined: int
    message: str | None = None
    rejects: list[Rejected] = Field(description="The quarantined records (the first 20).")
    acknowledgments: list[Acknowledgment] = []


class UploadResult(BaseModel):
    """The run over every uploaded file."""

    ok: bool = Field(description="Every file landed with nothing quarantined.")
    files: list[FileResult]


class RecordsBody(BaseModel):
    """Canonical records of one kind."""

    records: list[dict[str, Any]] = Field(
        description="Objects with the kind's canonical columns (docs/data-format.md)."
    )
    provider: str | None = Field(
        default=None, description="Fills an empty provider_id (a provider user's is forced)."
    )


class RecordsResult(BaseModel):
    """The batch the records landed in and every record quarantined."""

    batch_id: int | None
    kind: str
    status: str
    records: int
    stored: int
    updated: int
    duplicate: int
    quarantined: int
    message: str | None = None
    rejects: list[Rejected]


_UPLOAD_EXAMPLE = {
    "ok": False,
    "files": [
        {
            "file": "945-20260105.edi",
            "batch_id": 41,
            "kind": "x12",
            "status": "landed",
            "records": 12,
            "stored": 11,
            "updated": 0,
            "duplicate": 0,
            "quarantined": 1,
            "message": None,
            "rejects": [
                {
                    "position": "segment 14 (W12)",
                    "column": None,
                    "reason": "W12-02 quantity '3O' is not a whole number",
                    "record": "W12*CC*3O*3*0*EA**VN*SKU-1",
                }
            ],
            "acknowledgments": [
                {
                    "name": "997-000000007.edi",
                    "document": "997",
                    "control_number": "000000007",
                    "partner": "westcoast",
                    "reference": "000000905",
                }
            ],
        }
    ],
}

_RECORDS_EXAMPLE = {
    "records": [
        {
            "shipment_id": "SH-1001",
            "order_id": "1001",
            "provider_id": "westcoast",
            "facility_id": "LAX1",
            "shipped_at": "2026-03-02T15:20:00-08:00",
            "carrier": "UPS",
            "tracking_number": "1Z999AA10123456784",
        },
        {"shipment_id": "SH-1002", "order_id": "1002", "shipped_at": "yesterday"},
    ],
    "provider": "westcoast",
}


class _BodyLimit:
    """Refuse an upload larger than `service.max_upload_bytes` (413), reading no further.

    A body announced too large is refused before it is read. One that grows too large while
    read (no Content-Length) looks to the app like a client gone away; its answer is then
    replaced by the 413.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(_LIMITED_PATHS):
            await self.app(scope, receive, send)
            return
        refusal = JSONResponse(
            error_body(
                413,
                f"the upload is larger than {self.limit:,} bytes "
                "(TALLYCLERK_SERVICE__MAX_UPLOAD_BYTES); nothing was taken",
            ),
            status_code=413,
        )
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await refusal(scope, receive, send)
            return
        received = 0
        over = False
        started = False

        async def limited() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            item = await receive()
            if item["type"] == "http.request":
                received += len(item.get("body", b""))
                if received > self.limit:
                    over = True
                    return {"type": "http.disconnect"}
            return item

        async def answer(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to a "disconnected" client; the 413 goes instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, answer)
        except Exception:
            if not over:
                raise
        if over and not started:
            await refusal(scope, receive, send)


def install(app: FastAPI) -> None:
    """Limit the size of uploads and JSON ingestion to the configured maximum."""
    state: ServiceState = app.state.tc
    app.add_middleware(_BodyLimit, limit=state.settings.service.max_upload_bytes)


def _sender(scope: Scope, requested: str | None) -> str | None:
    """The provider the data is sent for; refuses analysts, and a provider naming another."""
    principal = scope.principal
    if principal.role not in ("admin", "provider"):
        raise AccessError(
            f"sending data needs the admin role or a provider user; {principal.user_id} is "
            f"{principal.role}"
        )
    chosen = scope.providers(requested or None)
    return chosen[0] if chosen else None


def _provider_kind(kind: str) -> None:
    if kind not in PROVIDER_KINDS:
        raise AccessError(
            f"{kind} are the brand's data; a provider user may send "
            + ", ".join(sorted(PROVIDER_KINDS))
        )


def _rejected(position: str, column: str | None, reason: str, record: str | None) -> Rejected:
    return Rejected(position=position, column=column, reason=reason, record=record)


# -- uploads ---------------------------------------------------------------------------------


def _file_name(given: str | None, number: int) -> str:
    """A safe local name that keeps what identifies the file (orders.csv, .edi, .json)."""
    name = Path((given or "").replace("\\", "/")).name.strip()
    name = _SAFE_NAME.sub("_", name)[:200]
    if not name or name.startswith("."):
        name = f"upload-{number}{'_' + name if name else ''}"
    return name


def _profile_path(name: str | None, settings: Settings) -> Path | None:
    """The mapping profile named in the upload, from the profiles directory."""
    if not name:
        return None
    folder = settings.connectors.profiles_dir
    if not _PROFILE_NAME.match(name):
        raise InputError(f"profile {name!r}: give the name of a file in {folder}/")
    candidates = [folder / name] if name.endswith((".yaml", ".yml")) else []
    candidates += [folder / f"{name}.yaml", folder / f"{name}.yml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    known = sorted(p.stem for p in folder.glob("*.y*ml")) if folder.is_dir() else []
    listed = ", ".join(known) if known else "none"
    raise InputError(f"no profile {name!r} in {folder}/ (profiles there: {listed})")


def _foreign_provider(path: Path, kind: Kind, own: str) -> str | None:
    """A provider_id other than `own` in a canonical file, if any (None: all are `own`)."""
    if "provider_id" not in kind.column_names:
        return None
    source = str(path)
    try:
        chunks = read_csv(path, kind, source) if file_format(path) == "csv" else None
        if chunks is None:
            chunks = read_jsonl(path, kind, source)
        for chunk in chunks:
            for value in pc.unique(chunk.table["provider_id"]).to_pylist():
                if value not in (None, own):
                    return str(value)
    except InputError:
        return None  # the file cannot be read: ingestion records it as a failed batch
    return None


def _connector_rows(
    path: Path, options: SourceOptions, settings: Settings
) -> dict[str, list[dict[str, str | None]]]:
    """The canonical records a connector reads from a file (nothing is stored)."""
    try:
        parsed = connectors.get(options.connector).parse(
            path.read_bytes(),
            ParseOptions(
                provider_id=options.provider_id,
                profile=Path(options.profile) if options.profile else None,
                source=path.name,
                brand_timezone=settings.brand.timezone,
            ),
        )
    except ConnectorError:
        return {}  # the file cannot be read: ingestion records it as a failed batch
    return {kind: [dict(row) for row in rows] for kind, rows in parsed.rows.items()}


def _file_rows(path: Path, kind: Kind) -> list[dict[str, Any]]:
    """The records of a canonical file as text (nothing is stored)."""
    source = str(path)
    try:
        chunks = read_csv(path, kind, source) if file_format(path) == "csv" else None
        if chunks is None:
            chunks = read_jsonl(path, kind, source)
        return [row for chunk in chunks for row in chunk.table.to_pylist()]
    except InputError:
        return []  # the file cannot be read: ingestion records it as a failed batch


def _check_provider_files(
    opened: Store,
    paths: Sequence[Path],
    request: IngestRequest,
    settings: Settings,
    own: str,
) -> None:
    """A provider user sends only its own 3PL data (see the module docstring)."""
    from tallyclerk.connectors.csv_profile import load_csv_profile

    planned, _ = plan(paths, request, settings)
    for item in planned:
        if item.options is not None:
            if item.options.connector not in PROVIDER_CONNECTORS:
                raise AccessError(
                    f"{item.path.name}: {item.options.connector} data is the brand's; a "
                    "provider user may send X12, tracking JSON, canonical files and CSV "
                    "exports of its own records"
                )
            with opened.connect() as connection:
                for kind, rows in _connector_rows(item.path, item.options, settings).items():
                    check_own_records(connection, own, kind, rows)
            continue
        assert item.kind is not None
        _provider_kind(item.kind.name)
        if item.csv_profile is not None:
            try:
                fixed = load_csv_profile(item.csv_profile).provider
            except ConnectorError as exc:
                raise InputError(str(exc)) from exc
            if fixed != own:
                raise AccessError(
                    f"profile {item.csv_profile.name} must fix `provider: {own}` to be used "
                    "by a provider user"
                )
            continue
        foreign = _foreign_provider(item.path, item.kind, own)
        if foreign is not None:
            raise NotFoundError(f"no provider {foreign!r}")
        with opened.connect() as connection:
            check_own_records(connection, own, item.kind.name, _file_rows(item.path, item.kind))


def _acknowledgments(details: Any) -> list[Acknowledgment]:
    if not isinstance(details, DocumentReport):
        return []
    return [
        Acknowledgment(
            name=doc.name,
            document=doc.document,
            control_number=doc.control_number,
            partner=doc.partner,
            reference=doc.reference,
        )
        for doc in details.outbound
    ]


def _file_result(report: BatchReport, name: str, details: Any, hide: str) -> FileResult:
    return FileResult(
        file=name,
        batch_id=report.batch_id,
        kind=report.kind,
        status=report.status,
        records=report.records,
        stored=report.stored,
        updated=report.updated,
        duplicate=report.duplicate,
        quarantined=report.quarantined,
        message=_hide_paths(report.message, hide),
        rejects=[
            _rejected(
                r.where or (f"line {r.line}" if r.line is not None else "-"),
                r.column,
                r.reason,
                r.record,
            )
            for r in report.rejects
        ],
        acknowledgments=_acknowledgments(details),
    )


def _hide_paths(text: str | None, folder: str) -> str | None:
    """A message about an uploaded file, naming the file and not where it was kept."""
    if text is None:
        return None
    text = re.sub(re.escape(folder) + r"/\d+/", "", text)
    text = text.replace("give a --profile", "name a profile")
    for flag, field in (("--format", "format"), ("--profile", "profile"), ("--kind", "kind")):
        text = text.replace(flag, f"the {field} field")
    return text


def _ingest_upload(
    opened: Store,
    settings: Settings,
    files: Sequence[UploadFile],
    request: IngestRequest,
    own_provider: str | None,
) -> UploadResult:
    with tempfile.TemporaryDirectory(prefix="tallyclerk-upload-") as tmp:
        folder = Path(tmp).resolve()
        paths: list[Path] = []
        names: dict[str, str] = {}
        for number, upload in enumerate(files):
            name = _file_name(upload.filename, number + 1)
            target = folder / str(number) / name
            target.parent.mkdir()
            with target.open("wb") as out:
                upload.file.seek(0)
                shutil.copyfileobj(upload.file, out)
            paths.append(target)
            names[str(target.resolve())] = name
        try:
            if own_provider is not None:
                _check_provider_files(opened, paths, request, settings, own_provider)
            run = ingest_sources(opened, paths, request, settings=settings)
        except InputError as exc:
            raise InputError(_hide_paths(str(exc), str(folder)) or "") from exc
        results = [
            _file_result(
                report,
                names.get(report.source, Path(report.source).name),
                run.documents.get(report.source),
                str(folder),
            )
            for report in run.batches
        ]
    return UploadResult(ok=run.ok, files=results)


@router.post(
    "/api/v1/uploads",
    response_model=UploadResult,
    summary="Upload files (CSV, JSON Lines, X12, Shopify, tracking JSON, 3PL exports)",
    responses={
        200: {"content": {"application/json": {"example": _UPLOAD_EXAMPLE}}},
        403: {"description": "An analyst, or brand data sent by a provider user."},
        404: {"description": "A provider user naming another provider."},
        413: {"description": "Larger than service.max_upload_bytes."},
    },
)
def upload_files(
    request: Request,
    opened: StoreDep,
    scope: ScopeDep,
    files: Annotated[
        list[UploadFile],
        File(description="One or more files; canonical files are known by name (orders.csv)."),
    ],
    kind: Annotated[
        str | None, Form(description="The kind of canonical records, when names don't say.")
    ] = None,
    fmt: Annotated[
        str | None,
        Form(alias="format", description="csv, jsonl, x12, shopify, easypost, aftership, ..."),
    ] = None,
    provider: Annotated[
        str | None, Form(description="The 3PL that sent the files (needed for X12).")
    ] = None,
    profile: Annotated[
        str | None, Form(description="A mapping profile in the profiles directory, by name.")
    ] = None,
) -> UploadResult:
    """Ingest uploaded files exactly as `tallyclerk ingest` would: one batch per file.

    Answers per file the batch, the records stored, updated or already there, the records
    quarantined with their position and reason, and the 997 acknowledgments produced for
    X12 interchanges (kept in the store's outbox). A provider user's files are for its
    own provider.
    """
    settings = service(request).settings
    chosen = _sender(scope, provider)
    own = scope.own_provider
    if kind is not None and kind not in KINDS_BY_NAME:
        raise InputError(f"unknown kind {kind!r} (known kinds: {', '.join(KINDS_BY_NAME)})")
    ingest_request = IngestRequest(
        kind=kind or None,
        fmt=fmt or None,
        provider_id=chosen,
        profile=_profile_path(profile, settings),
        owner=own,
    )
    return _ingest_upload(opened, settings, files, ingest_request, own)


# -- JSON records ----------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _number(text: str) -> Decimal:
    """A JSON number as an exact Decimal, within what a canonical column can hold.

    Far beyond it (1e999999) the number is refused here: written out in full it would not
    fit in memory.
    """
    value = exact_number(text)
    if value.is_finite() and not -_EXPONENT <= value.adjusted() <= _EXPONENT:
        raise ValueError(f"the number {text[:30]} is out of range")
    return value


def _records_body(raw: bytes) -> tuple[list[Any], str | None]:
    """The records and provider of a JSON body; money stays exact (decimals, never floats)."""

    def invalid(where: str, message: str) -> RequestValidationError:
        return RequestValidationError(
            [{"loc": ("body", *where.split(".")), "msg": message, "type": "value_error"}]
        )

    try:
        doc = json.loads(raw, parse_float=_number, parse_int=str, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise invalid("", f"the body is not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise invalid("", 'the body must be an object: {"records": [...], "provider": ...}')
    records = doc.get("records")
    if not isinstance(records, list):
        raise invalid("records", "a list of records is required")
    provider = doc.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise invalid("provider", "must be text")
    return records, provider


def _land_records(
    opened: Store,
    settings: Settings,
    kind: str,
    records: list[Any],
    provider_id: str | None,
    own: str | None,
    user_id: str,
) -> RecordsResult:
    if own is not None:
        _provider_kind(kind)
        if "provider_id" in KINDS_BY_NAME[kind].column_names:
            for record in records:
                if not isinstance(record, dict):
                    continue  # quarantined as "not a JSON object"
                keys = {str(key).strip().lower(): value for key, value in record.items()}
                named = keys.get("provider_id")
                if named not in (None, "", own):
                    raise NotFoundError(f"no provider {named!r}")
        with opened.connect() as connection:
            check_own_records(connection, own, kind, [r for r in records if isinstance(r, dict)])
    report = ingest_records(
        opened,
        kind,
        records,
        provider_id=provider_id,
        origin=f"api/{user_id}",
        settings=settings,
        owner=own,
    )
    with opened.connect() as connection:
        held = list_quarantine(
            connection, status=None, batch_id=report.batch_id, limit=_REJECTS_LISTED
        )
    return RecordsResult(
        batch_id=report.batch_id,
        kind=kind,
        status=report.status,
        records=report.records,
        stored=report.stored,
        updated=report.updated,
        duplicate=report.duplicate,
        quarantined=report.quarantined,
        message=report.message,
        rejects=[_rejected(q.where, q.column, q.reason, q.record) for q in held],
    )


@router.post(
    "/api/v1/ingest/{kind}",
    response_model=RecordsResult,
    summary="Send canonical records as JSON (one batch)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": RecordsBody.model_json_schema(),
                    "example": _RECORDS_EXAMPLE,
                }
            },
        }
    },
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "batch_id": 42,
                        "kind": "shipments",
                        "status": "landed",
                        "records": 2,
                        "stored": 1,
                        "updated": 0,
                        "duplicate": 0,
                        "quarantined": 1,
                        "message": None,
                        "rejects": [
                            {
                                "position": "record 2",
                                "column": "shipped_at",
                                "reason": "shipped_at: 'yesterday' is not a timestamp",
                                "record": '{"shipment_id": "SH-1002", "...": "..."}',
                            }
                        ],
                    }
                }
            }
        },
        403: {"description": "An analyst, or brand data sent by a provider user."},
        404: {"description": "A provider user naming another provider."},
    },
)
async def ingest_json(
    kind: str, request: Request, opened: StoreDep, scope: ScopeDep
) -> RecordsResult:
    """Land canonical records of `kind` (the columns of docs/data-format.md) as one batch.

    Numbers are read exactly (money never passes through floating point). A record that
    fails a check is quarantined and listed with its position, "record N" counted from 1;
    the others land. Sending the same records again changes nothing.
    """
    if kind not in KINDS_BY_NAME:
        raise HTTPException(404, f"no kind {kind!r} (known kinds: {', '.join(KINDS_BY_NAME)})")
    settings = service(request).settings
    _sender(scope, None)  # who may send at all, before reading the body
    records, provider = _records_body(await request.body())
    chosen = _sender(scope, provider)
    return await run_in_threadpool(
        _land_records,
        opened,
        settings,
        kind,
        records,
        chosen,
        scope.own_provider,
        scope.principal.user_id,
    )
