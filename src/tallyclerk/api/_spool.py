"""The webhook spool: each verified delivery is on disk before it is answered, then landed.

A sender retries a webhook it did not see answered, and gives up after a while; a delivery
must therefore be answered fast and never lost, even when the store is busy (another process
holds the embedded DuckDB file) or the service dies. So a delivery is written to one file in
the spool directory (under a temporary name, fsynced, renamed, the directory fsynced) before
the 202, and a writer thread lands the waiting files in batches.

Files are named `<arrival sequence>-<source>-<hash of the delivery id>.delivery`; the
sequence orders them by arrival across restarts. A file holds one line of JSON (source,
delivery id, topic, arrival time) and then the body exactly as received.

Replays: a delivery id already waiting in the spool, or landed (the writer remembers the
landed ids of the last days, read back from `webhook_receipts` when it starts), is answered
as a duplicate and not written again. Whatever slips through (an id landed longer ago)
lands as a no-op, as the receipts table is checked in the landing transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tallyclerk.errors import InputError
from tallyclerk.ingest._webhooks import (
    Delivery,
    WebhookBatchReport,
    ingest_deliveries,
    landed_deliveries,
    topic_kind,
)
from tallyclerk.settings import Settings
from tallyclerk.store import StoreGate

log = logging.getLogger("tallyclerk.webhooks")

SUFFIX = ".delivery"
_PART = ".part"
_UNREADABLE = ".unreadable"
# Landed ids remembered for replay answers: senders retry for up to two days (Shopify 48 h).
LANDED_WINDOW = timedelta(days=7)
LANDED_MEMORY = 200_000


@dataclass(frozen=True, slots=True)
class Spooled:
    """A delivery waiting in the spool (its body stays in the file)."""

    seq: int
    source: str
    delivery_id: str
    topic: str | None
    received_at: datetime
    path: Path

    @property
    def key(self) -> tuple[str, str]:
        """(source, delivery id): what makes two deliveries the same."""
        return self.source, self.delivery_id


@dataclass(slots=True)
class _Entry:
    item: Spooled
    ready: bool  # False while its file is being written


def _file_name(seq: int, source: str, delivery_id: str) -> str:
    # The delivery id comes from the sender: hashed, it cannot shape a path.
    digest = hashlib.sha256(f"{source}\n{delivery_id}".encode()).hexdigest()[:32]
    return f"{seq:020d}-{source}-{digest}{SUFFIX}"


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class Spool:
    """The directory of waiting deliveries, with an index of what waits and what landed."""

    def __init__(self, directory: Path, *, landed_memory: int = LANDED_MEMORY) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str], _Entry] = {}
        self._by_seq: OrderedDict[int, _Entry] = OrderedDict()
        self._landed: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.landed_memory = landed_memory
        self._last_seq = 0
        self._made = False
        self.on_ready: Callable[[int], None] | None = None  # told how many wait after each write

    # -- start-up ----------------------------------------------------------------------------

    def scan(self) -> int:
        """Index the files left by an earlier run (and drop unfinished writes); how many wait."""
        if not self.directory.is_dir():
            return 0
        found: list[Spooled] = []
        for path in sorted(self.directory.iterdir()):
            if path.name.endswith(_PART):
                # Written but never renamed: the sender had no answer and will send it again.
                path.unlink(missing_ok=True)
                continue
            if not path.name.endswith(SUFFIX) or not path.is_file():
                continue
            item = self._read_header(path)
            if item is not None:
                found.append(item)
        with self._lock:
            for item in sorted(found, key=lambda i: i.seq):
                known = self._by_key.get(item.key)
                if known is not None:
                    if known.item.path != item.path:
                        item.path.unlink(missing_ok=True)  # the same delivery twice: keep one
                    continue
                entry = _Entry(item, ready=True)
                self._by_key[item.key] = entry
                self._by_seq[item.seq] = entry
                self._last_seq = max(self._last_seq, item.seq)
            return len(self._by_seq)

    def _read_header(self, path: Path) -> Spooled | None:
        try:
            seq = int(path.name.split("-", 1)[0])
            with path.open("rb") as handle:
                header = json.loads(handle.readline())
            return Spooled(
                seq,
                str(header["source"]),
                str(header["delivery_id"]),
                header.get("topic"),
                datetime.fromisoformat(header["received_at"]),
                path,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._set_aside(path, f"its header cannot be read ({exc})")
            return None

    def _set_aside(self, path: Path, why: str) -> None:
        """Keep a file the writer cannot use out of its way, for a person to look at."""
        log.error(
            "spooled file %s is set aside as %s%s: %s", path.name, path.name, _UNREADABLE, why
        )
        try:
            path.replace(path.with_name(path.name + _UNREADABLE))
        except OSError:
            log.exception("cannot set aside %s", path)

    # -- accepting ---------------------------------------------------------------------------

    def accept(
        self,
        source: str,
        delivery_id: str,
        topic: str | None,
        body: bytes,
        received_at: datetime | None = None,
    ) -> bool:
        """Write a delivery durably; False (nothing written) when it waits or landed already."""
        key = (source, delivery_id)
        received = received_at or datetime.now(UTC)
        with self._lock:
            if key in self._by_key or key in self._landed:
                return False
            seq = max(time.time_ns(), self._last_seq + 1)
            self._last_seq = seq
            path = self.directory / _file_name(seq, source, delivery_id)
            entry = _Entry(Spooled(seq, source, delivery_id, topic, received, path), ready=False)
            self._by_key[key] = entry
            self._by_seq[seq] = entry
        try:
            self._write(entry.item, body)
        except BaseException:
            with self._lock:
                self._by_key.pop(key, None)
                self._by_seq.pop(seq, None)
            raise
        with self._lock:
            entry.ready = True
            waiting = len(self._by_seq)
        if self.on_ready is not None:
            self.on_ready(waiting)
        return True

    def _write(self, item: Spooled, body: bytes) -> None:
        if not self._made:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._made = True
        header = {
            "source": item.source,
            "delivery_id": item.delivery_id,
            "topic": item.topic,
            "received_at": item.received_at.isoformat(),
        }
        temporary = item.path.with_name(item.path.name + _PART)
        with temporary.open("wb") as handle:
            handle.write(json.dumps(header).encode("utf-8") + b"\n")
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(item.path)
        _fsync_directory(self.directory)

    # -- landing -----------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """Deliveries in the spool (being written or waiting to land)."""
        with self._lock:
            return len(self._by_seq)

    def oldest(self) -> datetime | None:
        """When the longest-waiting delivery arrived."""
        with self._lock:
            for entry in self._by_seq.values():
                return entry.item.received_at
        return None

    def take(self, limit: int) -> list[Spooled]:
        """Up to `limit` waiting deliveries in arrival order (stopping at one still written)."""
        taken: list[Spooled] = []
        with self._lock:
            for entry in self._by_seq.values():
                if not entry.ready or len(taken) >= limit:
                    break
                taken.append(entry.item)
        return taken

    def load(self, item: Spooled) -> Delivery | None:
        """The delivery of a spooled file, or None (set aside) when it cannot be used."""
        try:
            with item.path.open("rb") as handle:
                handle.readline()
                body = handle.read()
            topic_kind(item.source, item.topic)
        except (OSError, InputError) as exc:
            self._set_aside(item.path, str(exc))
            self.finish([item], landed=False)
            return None
        return Delivery(item.source, item.delivery_id, item.topic, body, item.received_at)

    def finish(self, items: Sequence[Spooled], *, landed: bool = True) -> None:
        """Forget deliveries that landed (their files are deleted) or were set aside."""
        for item in items:
            if landed:
                item.path.unlink(missing_ok=True)
        with self._lock:
            for item in items:
                self._by_key.pop(item.key, None)
                self._by_seq.pop(item.seq, None)
            if landed:
                self._remember([item.key for item in items])

    def remember_landed(self, keys: Sequence[tuple[str, str]]) -> None:
        """Note delivery ids known to have landed, so a replay of them is answered as such."""
        with self._lock:
            self._remember(keys)

    def _remember(self, keys: Sequence[tuple[str, str]]) -> None:
        for key in keys:
            self._landed[key] = None
            self._landed.move_to_end(key)
        while len(self._landed) > self.landed_memory:
            self._landed.popitem(last=False)

    def is_landed(self, source: str, delivery_id: str) -> bool:
        """Whether the delivery is known to have landed."""
        with self._lock:
            return (source, delivery_id) in self._landed


@dataclass(frozen=True, slots=True)
class WriterStatus:
    """What the writer has done lately, for the status endpoint."""

    running: bool
    waiting: int
    oldest_waiting_at: datetime | None
    landed_total: int
    last_landed_at: datetime | None
    last_landed_deliveries: int
    last_batch_ids: tuple[int, ...]
    last_error: str | None
    last_error_at: datetime | None


class SpoolWriter:
    """A thread that lands waiting deliveries every `interval` seconds or when `batch_size` wait.

    Each round takes up to `round_limit` deliveries in arrival order and hands them to
    `ingest_deliveries` (one batch per source and topic kind). When the store is busy or a
    round fails, the files stay and the round is tried again after a growing pause.
    """

    def __init__(
        self,
        spool: Spool,
        gate: StoreGate,
        settings: Settings,
        *,
        interval: float = 0.2,
        batch_size: int = 500,
        round_limit: int = 5_000,
        max_pause: float = 5.0,
    ) -> None:
        self.spool = spool
        self.gate = gate
        self.settings = settings
        self.interval = interval
        self.batch_size = batch_size
        self.round_limit = round_limit
        self.max_pause = max_pause
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._round_lock = threading.Lock()
        self._halted = False
        self._failures = 0
        self._landed_known = False
        self._landed_total = 0
        self._last_landed_at: datetime | None = None
        self._last_landed = 0
        self._last_batches: tuple[int, ...] = ()
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        spool.on_ready = self._on_ready

    def _on_ready(self, waiting: int) -> None:
        # After a failed round the pause stands: a busy store is not asked again sooner.
        if waiting >= self.batch_size and self._failures == 0:
            self._wake.set()

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread; files left by an earlier run land first (they are oldest)."""
        if self.running:
            return
        self._halted = False
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="tallyclerk-webhooks", daemon=True)
        self._thread.start()

    def stop(self, *, drain: bool = True) -> None:
        """Stop the thread after its current round; with `drain`, land what still waits.

        Stopping a writer that was stopped before does nothing (files wait for the next run).
        """
        if self._halted:
            return
        self._halted = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if drain:
            self.land_waiting()

    def _run(self) -> None:
        pause = 0.0
        while not self._stop.is_set():
            self._wake.wait(pause)
            self._wake.clear()
            if self._stop.is_set():
                return
            self.learn_landed()
            started = time.monotonic()
            landed = self.land_once()
            busy = time.monotonic() - started
            if landed < 0:
                pause = min(self.max_pause, self.interval * 2 ** min(self._failures, 10))
            elif self.spool.waiting >= self.batch_size:
                pause = busy  # a backlog: land again soon, in a round as large as it is
            else:
                # A round costs mostly the same whatever its size (opening the store,
                # preparing the checks), so while deliveries trickle in the rounds grow
                # rather than multiply: the writer lands about a third of the time at most
                # and the answers to senders come first.
                pause = max(self.interval, 2 * busy)

    def learn_landed(self) -> None:
        """Read the recently landed ids once, when this installation has received webhooks."""
        if self._landed_known or not self.spool.directory.is_dir():
            return
        try:
            with self.gate.store() as store, store.connect() as connection:
                keys = landed_deliveries(
                    connection, within=LANDED_WINDOW, limit=self.spool.landed_memory
                )
        except Exception as exc:  # the store is busy or away: try again next round
            self._note_error(exc)
            return
        self.spool.remember_landed(list(reversed(keys)))
        self._landed_known = True

    def land_waiting(self) -> bool:
        """Land rounds until the spool is empty; False when a round failed (files kept)."""
        while True:
            landed = self.land_once()
            if landed < 0:
                return False
            if landed == 0:
                return True

    def land_once(self) -> int:
        """Land one round; how many deliveries it took (0: none waiting, -1: it failed)."""
        with self._round_lock:
            items = self.spool.take(self.round_limit)
            if not items:
                return 0
            pairs = [(item, self.spool.load(item)) for item in items]
            usable = [(item, delivery) for item, delivery in pairs if delivery is not None]
            if not usable:
                return len(items)
            try:
                with self.gate.store() as store:
                    report = ingest_deliveries(
                        store, [delivery for _, delivery in usable], settings=self.settings
                    )
            except Exception as exc:  # busy store, lost connection, a failed transaction
                self._failures += 1
                self._note_error(exc)
                return -1
            self.spool.finish([item for item, _ in usable])
            self._failures = 0
            self._note_landed(report)
            return len(items)

    def _note_landed(self, report: WebhookBatchReport) -> None:
        self._landed_total += report.deliveries
        self._last_landed_at = datetime.now(UTC)
        self._last_landed = report.deliveries
        self._last_batches = tuple(b.batch_id for b in report.batches if b.batch_id is not None)
        log.info(
            "landed %d webhook deliveries (%d seen before) in batch(es) %s",
            report.deliveries,
            report.already_landed,
            ", ".join(map(str, self._last_batches)) or "-",
        )

    def _note_error(self, exc: Exception) -> None:
        self._last_error = f"{type(exc).__name__}: {exc}"
        self._last_error_at = datetime.now(UTC)
        log.warning("webhook deliveries wait in the spool: %s", exc)

    def status(self) -> WriterStatus:
        """The writer's state and the spool's size."""
        return WriterStatus(
            running=self.running,
            waiting=self.spool.waiting,
            oldest_waiting_at=self.spool.oldest(),
            landed_total=self._landed_total,
            last_landed_at=self._last_landed_at,
            last_landed_deliveries=self._last_landed,
            last_batch_ids=self._last_batches,
            last_error=self._last_error,
            last_error_at=self._last_error_at,
        )
