"""Sharing one store between a running service and command-line users.

A DuckDB file admits one process at a time. The service therefore opens the embedded store
only for each operation and closes it after, and so does every command; a process that finds
the file taken waits (up to `wait` seconds) for the other to finish instead of failing. A
PostgreSQL store admits many processes, so it is opened once and pooled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tallyclerk.errors import StoreError
from tallyclerk.store._store import Store, open_store

_LOCKED = "is open in another process"


class StoreBusyError(StoreError):
    """The embedded store stayed locked by another process for the whole wait."""


def is_lock_conflict(error: StoreError) -> bool:
    """Whether the error says another process holds the DuckDB file."""
    return _LOCKED in str(error)


def open_waiting(url: str, *, wait: float, create: bool = False, poll: float = 0.05) -> Store:
    """Open the store, waiting up to `wait` seconds while another process holds its file."""
    deadline = time.monotonic() + wait
    delay = poll
    while True:
        store = Store(url)
        try:
            if create:
                store.ensure_current()
            else:
                with store.connect():
                    pass
        except StoreError as exc:
            store.close()
            if not is_lock_conflict(exc):
                raise
            if time.monotonic() >= deadline:
                raise StoreBusyError(
                    f"{exc}; waited {wait:g} s for it. Try again when that process has finished."
                ) from exc
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)
            continue
        return store


class StoreGate:
    """Hands out the store for one operation at a time (DuckDB) or from one pool (PostgreSQL).

    On DuckDB the operations of this process take turns on one open store: the file is kept
    open while others wait their turn (at most `HOLD_SECONDS` in a row, so other processes
    get theirs) and released when nobody in this process needs it.
    """

    HOLD_SECONDS = 2.0

    def __init__(self, url: str, *, wait: float = 20.0) -> None:
        self.url = url
        self.wait = wait
        self._turn = threading.Lock()
        self._state = threading.Lock()
        self._waiting = 0
        self._open: Store | None = None
        self._opened_at = 0.0
        probe = open_store(url=url)  # create or upgrade the schema once, up front
        self.dialect = probe.dialect
        self.description = probe.description
        if self.dialect == "duckdb":
            probe.close()
            self._shared: Store | None = None
        else:
            self._shared = probe

    @property
    def per_operation(self) -> bool:
        """Whether the store is opened and closed around each operation (DuckDB)."""
        return self._shared is None

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The store for one operation; for DuckDB the file is released when it ends."""
        if self._shared is not None:
            yield self._shared
            return
        with self._state:
            self._waiting += 1
        acquired = self._turn.acquire(timeout=self.wait)
        with self._state:
            self._waiting -= 1
        if not acquired:
            raise StoreBusyError(
                f"the store {self.description} stayed busy with other requests for "
                f"{self.wait:g} s; try again in a moment"
            )
        try:
            if self._open is None:
                self._open = open_waiting(self.url, wait=self.wait)
                self._opened_at = time.monotonic()
            yield self._open
        finally:
            with self._state:
                held = time.monotonic() - self._opened_at
                if self._open is not None and (self._waiting == 0 or held > self.HOLD_SECONDS):
                    self._open.close()
                    self._open = None
            self._turn.release()

    def close(self) -> None:
        """Release the pooled store (PostgreSQL) or the file still held (DuckDB)."""
        with self._state:
            if self._open is not None:
                self._open.close()
                self._open = None
        if self._shared is not None:
            self._shared.close()
            self._shared = None
