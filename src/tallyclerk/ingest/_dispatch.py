"""Which reader takes a file: canonical CSV / JSON Lines, a CSV profile, or a connector.

The order of the questions: a mapping profile says its own format (`format: csv` or
`format: x12`); a format named by the user wins; a canonical file is known by its name
(`shipments.csv`); anything else is recognized by its first bytes (an ISA header is X12,
a Shopify order or a carrier's tracking JSON by its keys). An X12 file from a provider
with a profile in the profiles directory (`profiles/<provider>.yaml`) is read with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tallyclerk import connectors
from tallyclerk.domain import KINDS, KINDS_BY_NAME, Kind
from tallyclerk.errors import InputError
from tallyclerk.ingest._documents import SourceOptions, ingest_document
from tallyclerk.ingest._read import file_format, kind_name_from_path
from tallyclerk.ingest._service import IngestRun, ingest_file, resolve_kind
from tallyclerk.settings import Settings, get_settings
from tallyclerk.store import Store

_HEAD_BYTES = 64 * 1024
_ORDER = {k.name: i for i, k in enumerate(KINDS)}
# Connector payloads land after canonical files; store orders before 3PL documents.
_CONNECTOR_ORDER = {"shopify": 0, "x12": 1, "easypost": 2, "aftership": 2, "tracking-json": 2}


@dataclass(frozen=True)
class IngestRequest:
    """What the user said about the files: kind, format, provider, profile, where acks go."""

    kind: str | None = None
    fmt: str | None = None
    provider_id: str | None = None
    profile: Path | None = None
    ack_dir: Path | None = None
    # The provider canonical files belong to: a provider user's upload, its records checked.
    owner: str | None = None


@dataclass(frozen=True)
class Planned:
    """One file and how it will be read."""

    path: Path
    kind: Kind | None = None  # canonical (or CSV profile) files
    options: SourceOptions | None = None  # connector payloads
    csv_profile: Path | None = None

    @property
    def label(self) -> str:
        """The kind or format, for progress bars."""
        if self.options is not None:
            return self.options.connector
        return self.kind.name if self.kind is not None else "?"

    def order(self) -> tuple[int, int]:
        """Canonical files first in kind order (parents before lines), then connectors."""
        if self.options is not None:
            return 1, _CONNECTOR_ORDER.get(self.options.connector, 9)
        return 0, _ORDER[self.kind.name] if self.kind is not None else 99


def profile_format(profile: Path) -> str:
    """The `format` a mapping profile declares (csv or x12)."""
    from tallyclerk.connectors.csv_profile import profile_format as read_format

    try:
        return read_format(profile)
    except connectors.ConnectorError as exc:
        raise InputError(str(exc)) from exc


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(_HEAD_BYTES)


def _connector_options(name: str, request: IngestRequest, settings: Settings) -> SourceOptions:
    profile = request.profile
    if profile is None and name == "x12" and request.provider_id:
        candidate = settings.connectors.profiles_dir / f"{request.provider_id}.yaml"
        if candidate.is_file():
            profile = candidate
    return SourceOptions(
        name,
        provider_id=request.provider_id,
        profile=str(profile.resolve()) if profile is not None else None,
    )


def classify(path: Path, request: IngestRequest, settings: Settings) -> Planned | None:
    """How to read one file, or None when nothing recognizes it."""
    if request.profile is not None:
        declared = profile_format(request.profile)
        if declared == "csv":
            from tallyclerk.connectors.csv_profile import load_csv_profile

            try:
                profile = load_csv_profile(request.profile)
            except connectors.ConnectorError as exc:
                raise InputError(str(exc)) from exc
            return Planned(path, kind=KINDS_BY_NAME[profile.kind], csv_profile=request.profile)
        return Planned(path, options=_connector_options(declared, request, settings))
    if request.fmt is not None:
        if request.fmt in connectors.names():
            return Planned(path, options=_connector_options(request.fmt, request, settings))
        if request.fmt not in ("csv", "jsonl"):
            known = ", ".join(["csv", "jsonl", *connectors.names()])
            raise InputError(f"unknown format {request.fmt!r} (known formats: {known})")
        return Planned(path, kind=resolve_kind(path, request.kind))
    name = request.kind or kind_name_from_path(path)
    if file_format(path) is not None and name in KINDS_BY_NAME:
        return Planned(path, kind=KINDS_BY_NAME[name])
    found = connectors.detect(_head(path), path.name)
    if found is not None:
        return Planned(path, options=_connector_options(found.name, request, settings))
    return None


def plan(
    paths: Sequence[Path], request: IngestRequest, settings: Settings
) -> tuple[list[Planned], list[Path]]:
    """Every file to read (directories expanded), in landing order, and those not recognized."""
    planned: list[Planned] = []
    unrecognized: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_dir():
            children = sorted(
                p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
            )
            for child in children:
                item = classify(child, request, settings)
                if item is None or (
                    request.kind and item.kind is not None and item.kind.name != request.kind
                ):
                    unrecognized.append(child)
                else:
                    planned.append(item)
            continue
        item = classify(path, request, settings)
        if item is None:
            if file_format(path) is not None:
                resolve_kind(path, request.kind)  # raises the clear "cannot tell the kind" error
            raise InputError(
                f"{path}: not a file tallyclerk recognizes: canonical files are <kind>.csv or "
                ".jsonl; X12 starts with ISA; Shopify and tracking payloads are JSON "
                "(name the format with --format, or give a --profile)"
            )
        planned.append(item)
    planned.sort(key=lambda p: (p.order(), str(p.path)))
    return planned, unrecognized


def ingest_sources(
    store: Store,
    paths: Sequence[Path],
    request: IngestRequest,
    *,
    on_file: Callable[[Path, str, int], Callable[[int], None] | None] | None = None,
    settings: Settings | None = None,
) -> IngestRun:
    """Ingest files of any recognized format; one batch per file."""
    settings = settings or get_settings()
    planned, unrecognized = plan(paths, request, settings)
    run = IngestRun(unrecognized=unrecognized)
    for item in planned:
        on_bytes = on_file(item.path, item.label, item.path.stat().st_size) if on_file else None
        if item.options is not None:
            report, details = ingest_document(
                store, item.path, item.options, settings=settings, out_dir=request.ack_dir
            )
            if on_bytes is not None:
                on_bytes(item.path.stat().st_size)
            run.batches.append(report)
            run.documents[report.source] = details
            continue
        assert item.kind is not None
        run.batches.append(
            ingest_file(
                store,
                item.path,
                item.kind,
                on_bytes=on_bytes,
                settings=settings,
                csv_profile=item.csv_profile,
                owner=request.owner,
            )
        )
    return run
