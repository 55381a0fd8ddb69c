"""Ingestion: files in, canonical records stored, every bad record quarantined, nothing lost.

Each file is one batch inside one transaction: its raw bytes are archived, its records are
typed and checked, the good ones merged idempotently and the bad ones quarantined with file,
line, column and reason. A crash mid-file leaves the store as it was before the file.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Full, Queue
from typing import Any, cast

from tallyclerk.domain import KINDS, KINDS_BY_NAME, Kind
from tallyclerk.errors import InputError
from tallyclerk.ingest import _archive, _repository
from tallyclerk.ingest._merge import MergeCounts, Merger
from tallyclerk.ingest._read import (
    Chunk,
    Reject,
    file_format,
    kind_name_from_path,
    read_csv,
    read_jsonl,
    read_profiled,
)
from tallyclerk.ingest._validate import Validator
from tallyclerk.settings import Settings, get_settings
from tallyclerk.store import Store

log = logging.getLogger(__name__)

_SAMPLE_REJECTS = 20
_ORDER = {k.name: i for i, k in enumerate(KINDS)}


@dataclass
class BatchReport:
    """What one file's batch did: counts per outcome and a sample of the quarantined records."""

    source: str
    kind: str
    batch_id: int | None
    status: str
    stored: int = 0
    updated: int = 0
    duplicate: int = 0
    quarantined: int = 0
    rejects: list[Reject] = field(default_factory=list)
    message: str | None = None
    replayed: int = 0

    @property
    def ok(self) -> bool:
        """Landed with nothing quarantined."""
        return self.status == "landed" and self.quarantined == 0

    @property
    def records(self) -> int:
        """Records read from the file."""
        return self.stored + self.updated + self.duplicate + self.quarantined


@dataclass
class IngestRun:
    """The batches of one ingest command and the files it could not place."""

    batches: list[BatchReport] = field(default_factory=list)
    unrecognized: list[Path] = field(default_factory=list)
    # Connector batches: counts per kind, documents sent back (by source).
    documents: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every file landed whole."""
        return all(b.ok for b in self.batches)


def resolve_kind(path: Path, kind: str | None) -> Kind:
    """The kind a file holds: as given, else from its name, else a clear error."""
    name = kind or kind_name_from_path(path)
    if name not in KINDS_BY_NAME:
        known = ", ".join(KINDS_BY_NAME)
        if kind:
            raise InputError(f"unknown kind {kind!r} (known kinds: {known})")
        raise InputError(
            f"{path}: cannot tell which kind of record this file holds from its name; "
            f"name it <kind>.csv or pass --kind (known kinds: {known})"
        )
    return KINDS_BY_NAME[name]


def plan_files(
    paths: Sequence[Path], kind: str | None
) -> tuple[list[tuple[Path, Kind]], list[Path]]:
    """Expand directories and order files so that parents land before their lines."""
    planned: list[tuple[Path, Kind]] = []
    unrecognized: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_dir():
            for child in sorted(p for p in path.iterdir() if p.is_file()):
                name = kind_name_from_path(child)
                if file_format(child) and name in KINDS_BY_NAME and kind in (None, name):
                    planned.append((child, KINDS_BY_NAME[name]))
                else:
                    unrecognized.append(child)
            continue
        if file_format(path) is None:
            raise InputError(
                f"{path}: unknown file type; canonical files are .csv or .jsonl (optionally .gz)"
            )
        planned.append((path, resolve_kind(path, kind)))
    planned.sort(key=lambda item: _ORDER[item[1].name])
    return planned, unrecognized


def _chunks(
    path: Path,
    kind: Kind,
    source: str,
    fmt: str,
    on_bytes: Callable[[int], None] | None,
    settings: Settings,
) -> Iterator[Chunk]:
    if fmt == "csv":
        return read_csv(path, kind, source, on_bytes, block_size=settings.ingest.chunk_bytes)
    return read_jsonl(path, kind, source, on_bytes)


_DONE = object()


class _Prefetcher:
    """Read chunks on a worker thread, ahead of the chunk being checked and merged.

    Parsing (pyarrow) and the SQL work (DuckDB, the database) release the GIL, so they
    overlap on a second core; the reader starts at once, while the raw bytes are archived.
    Errors of the reader surface in the consumer.
    """

    def __init__(self, chunks: Iterator[Chunk]) -> None:
        self._queue: Queue[object] = Queue(maxsize=1)
        self._stop = threading.Event()
        self._chunks = chunks
        self._worker = threading.Thread(target=self._produce, name="tallyclerk-reader", daemon=True)
        self._worker.start()

    def _produce(self) -> None:
        try:
            for chunk in self._chunks:
                while not self._stop.is_set():
                    try:
                        self._queue.put(chunk, timeout=0.1)
                        break
                    except Full:
                        continue
                if self._stop.is_set():
                    return
            self._queue.put(_DONE)
        except BaseException as exc:  # handed over to the consuming thread
            self._queue.put(exc)

    def __iter__(self) -> Iterator[Chunk]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield cast(Chunk, item)

    def close(self) -> None:
        """Stop the reader (when the consumer gives up early) and wait for it."""
        self._stop.set()
        while self._worker.is_alive():
            try:
                self._queue.get_nowait()
            except Empty:
                self._worker.join(timeout=0.1)


def ingest_file(
    store: Store,
    path: Path,
    kind: Kind | None = None,
    *,
    on_bytes: Callable[[int], None] | None = None,
    settings: Settings | None = None,
    source: str | None = None,
    replay_of: int | None = None,
    csv_profile: Path | None = None,
    owner: str | None = None,
) -> BatchReport:
    """Ingest one canonical file (or a 3PL export through a CSV profile) as one batch.

    `owner`: the provider the batch belongs to (a provider user's upload, every record checked
    to be its own), so that its user sees the batch and what it quarantined.
    """
    settings = settings or get_settings()
    kind = kind or resolve_kind(path, None)
    fmt = file_format(path) or "csv"
    source = source or str(path.resolve())
    facts = _archive.digest_file(path)
    supplied: tuple[str, ...] | None = None
    if csv_profile is not None:
        try:
            supplied, profiled = read_profiled(path, kind, csv_profile, source, on_bytes)
        except InputError as exc:
            return _record_failure(store, path, kind, fmt, source, facts, str(exc), replay_of)
        reader = _Prefetcher(profiled)
    else:
        reader = _Prefetcher(_chunks(path, kind, source, fmt, on_bytes, settings))
    try:
        with store.begin() as connection:
            batch_id = _repository.start_batch(
                connection,
                source=source,
                kind=kind.name,
                fmt=fmt,
                sha256=facts.sha256,
                size_bytes=facts.size_bytes,
                replay_of=replay_of,
                options=file_options_json(csv_profile, owner),
            )
            _archive.archive(connection, path, facts)
            validator = Validator(
                kind, _repository.facility_timezones(connection), settings.brand.timezone
            )
            merger = Merger(connection, kind, batch_id, columns=supplied)
            totals = MergeCounts()
            quarantined = 0
            sample: list[Reject] = []
            notes: list[str] = []
            try:
                for chunk in reader:
                    if chunk.note:
                        notes.append(chunk.note)
                    good, bad = validator.validate(chunk.table)
                    counts, orphans = merger.merge(good)
                    totals.add(counts)
                    rejects = sorted([*chunk.rejects, *bad, *orphans], key=lambda r: r.line or 0)
                    _repository.add_quarantine(connection, batch_id, kind.name, source, rejects)
                    quarantined += len(rejects)
                    sample.extend(rejects[: max(0, _SAMPLE_REJECTS - len(sample))])
                    log.info(
                        "%s: chunk of %d record(s) written (batch %d, not yet committed)",
                        path.name,
                        chunk.table.num_rows + len(chunk.rejects),
                        batch_id,
                    )
            finally:
                validator.close()
                merger.close()
            # The file has been read again: its older open quarantine records are now
            # represented by this batch (fixed ones landed, the rest quarantined anew).
            replayed = _repository.mark_replayed(
                connection, source=source, kind=kind.name, before_batch=batch_id
            )
            _repository.finish_batch(
                connection,
                batch_id,
                status="landed",
                stored=totals.stored,
                updated=totals.updated,
                duplicate=totals.duplicate,
                quarantined=quarantined,
                message="; ".join(notes) or None,
            )
    except InputError as exc:
        reader.close()
        return _record_failure(store, path, kind, fmt, source, facts, str(exc), replay_of)
    finally:
        reader.close()
    return BatchReport(
        source,
        kind.name,
        batch_id,
        "landed",
        totals.stored,
        totals.updated,
        totals.duplicate,
        quarantined,
        sample,
        message="; ".join(notes) or None,
        replayed=replayed,
    )


@dataclass(frozen=True)
class FileOptions:
    """A canonical file's stored options: its CSV profile and the provider it belongs to."""

    csv_profile: Path | None = None
    owner: str | None = None


def file_options_json(csv_profile: Path | None, owner: str | None = None) -> str | None:
    """What a canonical batch remembers, so a replay reads it alike and keeps its owner.

    The owner is kept under `provider_id`, the key a connector's options use for the same
    thing (the API scopes batches by it).
    """
    options: dict[str, str] = {}
    if csv_profile is not None:
        options["csv_profile"] = str(csv_profile.resolve())
    if owner is not None:
        options["provider_id"] = owner
    return json.dumps(options, sort_keys=True) if options else None


def is_document_options(text: str) -> bool:
    """Whether stored batch options are a connector's (else a canonical file's)."""
    loaded = json.loads(text)
    return isinstance(loaded, dict) and "connector" in loaded


def parse_file_options(text: str | None) -> FileOptions:
    """A canonical batch's options read back (older batches: the profile only, or none)."""
    if not text:
        return FileOptions()
    loaded = json.loads(text)
    profile = loaded.get("csv_profile")
    owner = loaded.get("provider_id")
    return FileOptions(
        Path(profile) if isinstance(profile, str) else None,
        owner if isinstance(owner, str) and owner else None,
    )


def _record_failure(
    store: Store,
    path: Path,
    kind: Kind,
    fmt: str,
    source: str,
    facts: _archive.PayloadFacts,
    message: str,
    replay_of: int | None,
) -> BatchReport:
    """A file that cannot be read at all: archive it and record the failed batch."""
    with store.begin() as connection:
        batch_id = _repository.start_batch(
            connection,
            source=source,
            kind=kind.name,
            fmt=fmt,
            sha256=facts.sha256,
            size_bytes=facts.size_bytes,
            replay_of=replay_of,
        )
        _archive.archive(connection, path, facts)
        _repository.finish_batch(connection, batch_id, status="failed", message=message)
    return BatchReport(source, kind.name, batch_id, "failed", message=message)


def ingest_paths(
    store: Store,
    paths: Sequence[Path],
    kind: str | None = None,
    *,
    on_file: Callable[[Path, Kind, int], Callable[[int], None] | None] | None = None,
    settings: Settings | None = None,
) -> IngestRun:
    """Ingest files and directories in dependency order; `on_file` may return a byte callback."""
    planned, unrecognized = plan_files(paths, kind)
    run = IngestRun(unrecognized=unrecognized)
    for path, file_kind in planned:
        on_bytes = on_file(path, file_kind, path.stat().st_size) if on_file else None
        run.batches.append(
            ingest_file(store, path, file_kind, on_bytes=on_bytes, settings=settings)
        )
    return run


def replay_quarantine(
    store: Store,
    *,
    batch_id: int | None = None,
    kind: str | None = None,
    from_archive: bool = False,
    settings: Settings | None = None,
) -> IngestRun:
    """Read again every source with open quarantine records (fixed in place, or archived).

    A source whose file still exists is read from disk (the user fixed it there); otherwise,
    or with `from_archive`, the archived payload is replayed (useful when the records only
    waited for their parents to arrive). Open records of the source are closed as replayed;
    records that still fail are quarantined again under the new batch.
    """
    with store.connect() as connection:
        sources = _repository.replay_sources(connection, batch_id=batch_id, kind=kind)
        stored_options = {
            item.source: options
            for item in sources
            if (options := _repository.batch_options(connection, item.batch_id)) is not None
        }
    documents = {s: t for s, t in stored_options.items() if is_document_options(t)}
    files = {s: parse_file_options(t) for s, t in stored_options.items() if s not in documents}
    run = IngestRun()
    done: set[str] = set()
    for item in sorted(sources, key=lambda s: _ORDER.get(s.kind, 99)):
        if item.source in documents:
            if item.source not in done:
                done.add(item.source)
                run.batches.append(
                    _replay_document(
                        store,
                        item.source,
                        item.sha256,
                        documents[item.source],
                        item.batch_id,
                        from_archive=from_archive,
                        settings=settings,
                    )
                )
            continue
        file_kind = KINDS_BY_NAME[item.kind]
        path = Path(item.source)
        if path.is_file() and not from_archive:
            run.batches.append(
                ingest_file(
                    store,
                    path,
                    file_kind,
                    settings=settings,
                    source=item.source,
                    replay_of=item.batch_id,
                    csv_profile=files.get(item.source, FileOptions()).csv_profile,
                    owner=files.get(item.source, FileOptions()).owner,
                )
            )
            continue
        if item.sha256 is None:
            run.batches.append(
                BatchReport(
                    item.source,
                    item.kind,
                    None,
                    "failed",
                    message="the source is gone and nothing was archived",
                )
            )
            continue
        with tempfile.TemporaryDirectory(prefix="tallyclerk-replay-") as tmp:
            restored = Path(tmp) / Path(item.source).name
            with store.connect() as connection:
                found = _archive.restore(connection, item.sha256, restored)
            if not found:
                run.batches.append(
                    BatchReport(
                        item.source,
                        item.kind,
                        None,
                        "failed",
                        message="the archived payload is missing",
                    )
                )
                continue
            run.batches.append(
                ingest_file(
                    store,
                    restored,
                    file_kind,
                    settings=settings,
                    source=item.source,
                    replay_of=item.batch_id,
                    csv_profile=files.get(item.source, FileOptions()).csv_profile,
                    owner=files.get(item.source, FileOptions()).owner,
                )
            )
    return run


def replay_batch(store: Store, batch_id: int, *, settings: Settings | None = None) -> BatchReport:
    """Ingest the archived bytes of an earlier batch again, as a new batch of the same source.

    Useful after a fix to tallyclerk itself or to reference data (a contract that gives a
    facility its time zone): the archive holds exactly what arrived.
    """
    with store.connect() as connection:
        found = _repository.batch_payload(connection, batch_id)
        options = _repository.batch_options(connection, batch_id)
    if found is None:
        raise InputError(f"there is no batch {batch_id} (see 'tallyclerk batches')")
    source, kind_name, sha256 = found
    if sha256 is None:
        raise InputError(f"batch {batch_id} has no archived payload to replay")
    if options is not None and is_document_options(options):
        return _replay_document(
            store, source, sha256, options, batch_id, from_archive=True, settings=settings
        )
    stored = parse_file_options(options)
    with tempfile.TemporaryDirectory(prefix="tallyclerk-replay-") as tmp:
        restored = Path(tmp) / Path(source).name
        with store.connect() as connection:
            if not _archive.restore(connection, sha256, restored):
                raise InputError(f"the archived payload of batch {batch_id} is missing")
        return ingest_file(
            store,
            restored,
            KINDS_BY_NAME[kind_name],
            settings=settings,
            source=source,
            replay_of=batch_id,
            csv_profile=stored.csv_profile,
            owner=stored.owner,
        )


def _replay_document(
    store: Store,
    source: str,
    sha256: str | None,
    options_json: str,
    batch_id: int,
    *,
    from_archive: bool,
    settings: Settings | None,
) -> BatchReport:
    """Read a connector's payload again (the file if it is still there, else the archive)."""
    from tallyclerk.ingest._documents import SourceOptions, ingest_document

    options = SourceOptions.from_json(options_json)
    path = Path(source)
    if path.is_file() and not from_archive:
        report, _ = ingest_document(
            store, path, options, settings=settings, source=source, replay_of=batch_id
        )
        return cast(BatchReport, report)
    if sha256 is None:
        return BatchReport(
            source,
            options.connector,
            None,
            "failed",
            message="the source is gone and nothing was archived",
        )
    with tempfile.TemporaryDirectory(prefix="tallyclerk-replay-") as tmp:
        restored = Path(tmp) / (Path(source).name or "payload")
        with store.connect() as connection:
            found = _archive.restore(connection, sha256, restored)
        if not found:
            return BatchReport(
                source,
                options.connector,
                None,
                "failed",
                message="the archived payload is missing",
            )
        report, _ = ingest_document(
            store, restored, options, settings=settings, source=source, replay_of=batch_id
        )
        return cast(BatchReport, report)
