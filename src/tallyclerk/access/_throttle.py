"""Login throttling: a few failures per name and address, then a wait that doubles."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    lockouts: int = 0


class LoginThrottle:
    """Counts failed logins per key (user name, client address) in a sliding window.

    After `limit` failures within `window` seconds the key is locked for `lockout` seconds,
    doubling with each further lockout (capped at an hour). A success clears the key.
    """

    def __init__(
        self,
        *,
        limit: int = 5,
        window: float = 300.0,
        lockout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.lockout = lockout
        self._clock = clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, *keys: str) -> float:
        """Seconds until any of `keys` may try again (0: now)."""
        now = self._clock()
        with self._lock:
            waits = [r.locked_until - now for k in keys if (r := self._records.get(k))]
        return max([0.0, *waits])

    def failed(self, *keys: str) -> None:
        """Record a failed attempt for each key."""
        now = self._clock()
        with self._lock:
            for key in keys:
                record = self._records.setdefault(key, _Record())
                record.failures = [t for t in record.failures if now - t < self.window]
                record.failures.append(now)
                if len(record.failures) >= self.limit:
                    record.locked_until = now + min(3600.0, self.lockout * 2**record.lockouts)
                    record.lockouts += 1
                    record.failures.clear()

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of each key."""
        with self._lock:
            for key in keys:
                self._records.pop(key, None)
