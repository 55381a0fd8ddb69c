"""The drop folder: every complete file that appears is ingested once, then moved aside.

A file is taken when it is complete: it arrived by an atomic rename (a name that does not
look temporary: no leading dot, no .part/.tmp/.partial/.filepart ending), and its size and
modification time have not changed for `settle` seconds. It is ingested as one batch like
`tallyclerk ingest` would (the same recognition of formats), then moved to `processed/`
(it landed, perhaps with some records quarantined) or `failed/` (nothing could be read),
with `<name>.report.json` beside it. Documents sent back (997s) go to `outbound/`.

Restarts are safe: before ingesting, the watcher looks for a landed batch of the same path
and content; one found means the file was ingested but the move was cut short, and the file
is only moved. The store is opened for each file and closed after, so other commands can use
an embedded DuckDB store between files.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tallyclerk.errors import TallyclerkError
from tallyclerk.ingest import _archive
from tallyclerk.ingest._dispatch import IngestRequest, ingest_sources
from tallyclerk.settings import Settings
from tallyclerk.store import Store
from tallyclerk.store.schema import ingestion_batches

log = logging.getLogger(__name__)

PROCESSED = "processed"
FAILED = "failed"
OUTBOUND = "outbound"
_TEMPORARY_SUFFIXES = (".part", ".tmp", ".partial", ".filepart", ".crdownload", "~")
_REPORT_SUFFIX = ".report.json"


def is_temporary(path: Path) -> bool:
    """Whether a name says the file is still being written (or is not meant for us)."""
    name = path.name
    return name.startswith(".") or name.lower().endswith(_TEMPORARY_SUFFIXES)


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float


@dataclass
class Outcome:
    """What became of one dropped file."""

    name: str
    status: str  # processed | failed | skipped (already ingested)
    moved_to: Path
    report: Path
    message: str | None = None
    batch_id: int | None = None


@dataclass
class Watcher:
    """Polls one directory; `poll()` processes what is ready and returns the outcomes."""

    directory: Path
    open_store: Callable[[], AbstractContextManager[Store]]
    request: IngestRequest = field(default_factory=IngestRequest)
    settings: Settings | None = None
    settle: float = 2.0
    clock: Callable[[], float] = time.monotonic
    _seen: dict[Path, _Seen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.directory.is_dir():
            raise TallyclerkError(f"{self.directory}: no such directory to watch")
        for sub in (PROCESSED, FAILED, OUTBOUND):
            (self.directory / sub).mkdir(exist_ok=True)

    def ready(self) -> list[Path]:
        """Files that are complete: stable for `settle` seconds under a final name."""
        now = self.clock()
        present: set[Path] = set()
        ready: list[Path] = []
        for path in sorted(self.directory.iterdir()):
            if not path.is_file() or is_temporary(path):
                continue
            present.add(path)
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            seen = self._seen.get(path)
            if seen is None or (seen.size, seen.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                self._seen[path] = _Seen(stat.st_size, stat.st_mtime_ns, now)
                if self.settle > 0:
                    continue
                seen = self._seen[path]
            if now - seen.since >= self.settle:
                ready.append(path)
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return ready

    def poll(self) -> list[Outcome]:
        """Process every ready file, oldest name first."""
        outcomes = []
        for path in self.ready():
            outcomes.append(self.process(path))
            self._seen.pop(path, None)
        return outcomes

    def process(self, path: Path) -> Outcome:
        """Ingest one file (unless it already landed) and move it aside with its report."""
        source = str(path.resolve())
        digest = _archive.digest_file(path).sha256
        report: dict[str, Any] = {"file": path.name, "received_at": _now(), "sha256": digest}
        status = FAILED
        batch_id: int | None = None
        message: str | None = None
        try:
            with self.open_store() as store:
                earlier = _landed_batch(store, source, digest)
                if earlier is not None:
                    status, batch_id = PROCESSED, earlier
                    message = f"already ingested as batch {earlier}; moved only"
                    report["batches"] = [{"batch": earlier, "status": "landed (earlier)"}]
                else:
                    request = IngestRequest(
                        kind=self.request.kind,
                        fmt=self.request.fmt,
                        provider_id=self.request.provider_id,
                        profile=self.request.profile,
                        ack_dir=self.request.ack_dir or self.directory / OUTBOUND,
                    )
                    run = ingest_sources(store, [path], request, settings=self.settings)
                    report["batches"] = [
                        _batch_json(b, run.documents.get(b.source)) for b in run.batches
                    ]
                    failed = [b for b in run.batches if b.status == "failed"]
                    status = FAILED if failed or not run.batches else PROCESSED
                    batch_id = run.batches[0].batch_id if run.batches else None
                    message = "; ".join(b.message for b in failed if b.message) or None
        except TallyclerkError as exc:
            message = str(exc)
        except Exception as exc:  # one bad file must not stop the folder: it goes to failed/
            log.exception("%s: internal error", path.name)
            message = f"internal error ({type(exc).__name__}: {exc}); the file was not ingested"
        report["status"] = status
        if message:
            report["message"] = message
        moved = _move(path, self.directory / status)
        report_path = moved.with_name(moved.name + _REPORT_SUFFIX)
        report_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
        log.info("%s: %s%s", path.name, status, f" ({message})" if message else "")
        return Outcome(path.name, status, moved, report_path, message, batch_id)

    def run(
        self,
        *,
        interval: float = 1.0,
        stop: threading.Event | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        max_polls: int | None = None,
    ) -> Iterator[Outcome]:
        """Poll until stopped; yields each outcome as it happens."""
        stop = stop or threading.Event()
        polls = 0
        while not stop.is_set():
            for outcome in self.poll():
                if on_outcome is not None:
                    on_outcome(outcome)
                yield outcome
            polls += 1
            if max_polls is not None and polls >= max_polls:
                return
            stop.wait(interval)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _landed_batch(store: Store, source: str, digest: str) -> int | None:
    b = ingestion_batches.c
    with store.connect() as connection:
        value = connection.execute(
            sa.select(sa.func.max(b.batch_id)).where(
                b.source == source, b.payload_sha256 == digest, b.status == "landed"
            )
        ).scalar()
    return None if value is None else int(value)


def _batch_json(batch: Any, details: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "batch": batch.batch_id,
        "kind": batch.kind,
        "status": batch.status,
        "stored": batch.stored,
        "updated": batch.updated,
        "duplicate": batch.duplicate,
        "quarantined": batch.quarantined,
    }
    if batch.message:
        data["message"] = batch.message
    if batch.rejects:
        data["quarantine_sample"] = [
            {
                "where": r.where or (f"line {r.line}" if r.line is not None else None),
                "reason": r.reason,
            }
            for r in batch.rejects
        ]
    if details is not None:
        data["by_kind"] = {k: vars(v) for k, v in details.by_kind.items()}
        data["sent_back"] = [str(p) for p in details.written]
        if details.summary:
            data["summary"] = details.summary
    return data


def _move(path: Path, folder: Path) -> Path:
    """Move a file into a folder; an existing name gets a time stamp instead of an overwrite."""
    target = folder / path.name
    if target.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        target = folder / f"{path.stem}.{stamp}{path.suffix}"
    path.replace(target)
    return target
