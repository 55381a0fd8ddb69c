"""The alert scheduler inside `tallyclerk serve`: the rules run every few minutes.

With `TALLYCLERK_ALERTS__RULES_FILE` set, the service starts one `AlertScheduler`: a daemon
thread that, every `TALLYCLERK_ALERTS__INTERVAL_MINUTES` (15), reads the rules file again
(so an edit takes effect at the next run, without a restart) and calls `run_alerts` on the
store. A file that has become unusable is reported in one log line and the rules read last
keep running; while no version of the file was ever usable, nothing runs and the scheduler
waits for the next round.

The store is taken through the service's gate, like a request: on DuckDB the file is shared
one operation at a time with the requests and with other processes, so the run holds it for
its own length only (its messages are sent within it: requests wait meanwhile, at most the
channels' timeouts). A run that fails (a busy store, a channel's bug) is logged in one line and
the scheduler carries on; `stop` ends the thread promptly, after the run under way if any.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tallyclerk.alerts._channels import Sender
from tallyclerk.alerts._engine import AlertRun, run_alerts
from tallyclerk.alerts._rules import AlertRules, RulesError, load_rules
from tallyclerk.settings import Settings
from tallyclerk.store import StoreGate

log = logging.getLogger("tallyclerk.alerts")

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def one_line(error: RulesError) -> str:
    """Every problem of a rules file on one line: `file:line: key: message; ...`."""
    return "; ".join(str(issue) for issue in error.errors) or str(error).replace("\n", " ")


class AlertScheduler:
    """Runs the alert rules on the store every `interval_minutes`, on a thread of its own.

    `clock` gives the time each run is made at (a fake clock in tests); `sender` is handed
    to `run_alerts` (None: the rules file's real channels). `run_once` makes one run now,
    without the thread.
    """

    def __init__(
        self,
        gate: StoreGate,
        settings: Settings,
        *,
        rules_file: Path | None = None,
        interval_minutes: float | None = None,
        refresh: bool | None = None,
        clock: Clock | None = None,
        sender: Sender | None = None,
    ) -> None:
        chosen = rules_file if rules_file is not None else settings.alerts.rules_file
        if chosen is None:
            raise ValueError("the alert scheduler needs a rules file (alerts.rules_file)")
        self.gate = gate
        self.settings = settings
        self.rules_file = Path(chosen)
        self.interval_minutes = (
            interval_minutes if interval_minutes is not None else settings.alerts.interval_minutes
        )
        self.refresh = refresh if refresh is not None else settings.alerts.refresh
        self.clock: Clock = clock or _utc_now
        self.sender = sender
        self.rules: AlertRules | None = None  # the rules read last that could be used
        self.rules_loaded_at: datetime | None = None
        self.runs = 0  # runs that completed
        self.failures = 0  # runs that raised
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._run_lock = threading.Lock()

    # -- the rules -------------------------------------------------------------------------

    def load(self) -> AlertRules | None:
        """Read the rules file; on a problem, log one line and keep the rules read before."""
        try:
            rules = load_rules(self.rules_file)
        except RulesError as exc:
            if self.rules is None:
                log.error(
                    "alerts: the rules file %s cannot be used, so no alerts run until it is "
                    "fixed: %s",
                    self.rules_file,
                    one_line(exc),
                )
            else:
                log.error(
                    "alerts: the rules file %s cannot be used; the rules read at %s stay in "
                    "force: %s",
                    self.rules_file,
                    f"{self.rules_loaded_at:%Y-%m-%d %H:%M} UTC"
                    if self.rules_loaded_at
                    else "the last run",
                    one_line(exc),
                )
            return self.rules
        self.rules = rules
        self.rules_loaded_at = self.clock()
        return rules

    # -- one run ---------------------------------------------------------------------------

    def run_once(self) -> AlertRun | None:
        """Read the rules and run them once at the clock's time; the run's result (None when
        no rules could be read, or the run failed: both are logged)."""
        with self._run_lock:
            rules = self.load()
            if rules is None:
                return None
            now = self.clock()
            try:
                with self.gate.store() as store:
                    result = run_alerts(
                        store,
                        rules,
                        self.settings,
                        now=now,
                        refresh=self.refresh,
                        sender=self.sender,
                    )
            except Exception as exc:  # a busy store, a lost connection, a bug: the next run
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.error(
                    "alerts: the run at %s failed (%s); the next one is in %g minutes",
                    f"{now:%Y-%m-%d %H:%M} UTC",
                    self.last_error.replace("\n", " "),
                    self.interval_minutes,
                )
                return None
            self.runs += 1
            self.last_error = None
            for line in result.lines:
                if line.startswith("FAILED"):
                    log.warning("alerts: %s", line)
                else:
                    log.info("alerts: %s", line)
            log.info("alerts: run at %s: %s", f"{now:%Y-%m-%d %H:%M} UTC", result.summary())
            return result

    # -- the thread ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread: a first run at once, then one every `interval_minutes`."""
        if self.running:
            return
        self._stop.clear()
        log.info(
            "alerts: rules from %s, every %g minutes%s",
            self.rules_file,
            self.interval_minutes,
            " (findings and burn rates refreshed first)" if self.refresh else "",
        )
        self._thread = threading.Thread(target=self._loop, name="tallyclerk-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread: at once when it waits, after the run under way when one is."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("alerts: the run under way did not finish within %g s", timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # run_once logs its own failures; this is a last guard
                log.error("alerts: the scheduler's round failed: %s", exc)
            if self._stop.wait(self.interval_minutes * 60):
                return
