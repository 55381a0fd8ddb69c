"""The alert scheduler of `tallyclerk serve`: runs on a clock, survives bad files and failures.

The store holds WestCoast's contract and no records at all, so a `source_silent` rule finds
two causes at any clock: `silent:store` (no store orders ever arrived) and
`silent:westcoast` (nothing from WestCoast ever). Messages go to a sender that records them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tallyclerk.alerts import load_rules
from tallyclerk.alerts._repository import list_alerts
from tallyclerk.alerts._rules import EmailChannel, WebhookChannel
from tallyclerk.alerts._scheduler import AlertScheduler
from tallyclerk.api import create_app
from tallyclerk.api.routes.alerts import SCHEDULER
from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.settings import Settings
from tallyclerk.store import StoreBusyError, StoreGate
from tests.support import WESTCOAST

EXAMPLE_RULES = Path(__file__).resolve().parents[2] / "examples" / "alerts" / "rules.yaml"
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)  # a Friday afternoon in New York
RULES = """\
contacts:
  liaison: {name: Dana Ruiz, email: dana@brand.example}
  ops-lead: {name: Sam Ito, email: sam@brand.example, webhook: ops}
channels:
  email: {host: 127.0.0.1, port: 1, sender: alerts@brand.example, timeout_seconds: 2}
  webhooks:
    ops: {url: "http://127.0.0.1:1/hook", timeout_seconds: 2}
escalation: {chain: [liaison, ops-lead], after_minutes: 60}
rules:
  - {name: silent, kind: source_silent, hours: 12}
"""
BROKEN = RULES.replace("kind: source_silent", "kind: source_quiet")
LOGGER = "tallyclerk.alerts"


@dataclass
class Recorder:
    """A sender that keeps what it was given (nothing leaves the process)."""

    emails: list[tuple[str, str]] = field(default_factory=list)  # (to, subject)
    webhooks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def email(
        self, channel: EmailChannel, to: str, subject: str, text: str, html: str | None
    ) -> None:
        self.emails.append((to, subject))

    def webhook(self, name: str, channel: WebhookChannel, body: dict[str, Any]) -> None:
        self.webhooks.append((name, body))


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def gate(settings: Settings) -> Iterator[StoreGate]:
    """The store (DuckDB and PostgreSQL) with WestCoast's contract, through a gate."""
    shared = StoreGate(settings.database_url, wait=5)
    with shared.store() as opened, opened.begin() as connection:
        add_contract(
            connection,
            load_contract(WESTCOAST),
            WESTCOAST.read_text(encoding="utf-8"),
            WESTCOAST.name,
        )
    yield shared
    shared.close()


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


def _scheduler(
    gate: StoreGate,
    settings: Settings,
    rules_file: Path,
    recorder: Recorder,
    clock: FakeClock | None = None,
    **options: Any,
) -> AlertScheduler:
    return AlertScheduler(
        gate,
        settings,
        rules_file=rules_file,
        refresh=False,
        clock=clock or FakeClock(NOW),
        sender=recorder,
        **options,
    )


def _kept(gate: StoreGate) -> list[tuple[str, str, int, datetime]]:
    with gate.store() as opened, opened.connect() as connection:
        found = list_alerts(connection)
    return sorted((a.cause, a.status, a.level, a.opened_at) for a in found)


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelname == "ERROR"]


def _wait_for(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_run_once_opens_alerts_at_the_clock_and_escalates_later(
    gate: StoreGate, settings: Settings, rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    recorder = Recorder()
    clock = FakeClock(NOW)
    scheduler = _scheduler(gate, settings, rules_file, recorder, clock)
    run = scheduler.run_once()
    assert run is not None
    assert len(run.opened) == 2
    assert _kept(gate) == [
        ("silent:store", "open", 0, NOW),
        ("silent:westcoast", "open", 0, NOW),
    ]
    assert sorted(to for to, _ in recorder.emails) == ["dana@brand.example"] * 2
    assert recorder.webhooks == []
    logged = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert any("opened alert" in line and "silent:westcoast" in line for line in logged)
    assert any(line.startswith("alerts: run at 2026-03-20 15:00 UTC: 2 opened") for line in logged)
    # The same clock again: nothing new is sent.
    scheduler.run_once()
    assert len(recorder.emails) == 2
    # 61 minutes on, nobody has acknowledged: the operations lead is told, by both channels.
    clock.now = NOW + timedelta(minutes=61)
    later = scheduler.run_once()
    assert later is not None
    assert sorted(later.escalated) == sorted(later.refreshed)
    assert [(c, s, lvl) for c, s, lvl, _ in _kept(gate)] == [
        ("silent:store", "open", 1),
        ("silent:westcoast", "open", 1),
    ]
    assert sorted(to for to, _ in recorder.emails[2:]) == ["sam@brand.example"] * 2
    assert [name for name, _ in recorder.webhooks] == ["ops", "ops"]
    assert (scheduler.runs, scheduler.failures) == (3, 0)


def test_a_broken_rules_file_is_logged_and_the_last_rules_keep_running(
    gate: StoreGate, settings: Settings, rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    recorder = Recorder()
    clock = FakeClock(NOW)
    scheduler = _scheduler(gate, settings, rules_file, recorder, clock)
    assert scheduler.run_once() is not None
    rules_file.write_text(BROKEN, encoding="utf-8")
    clock.now = NOW + timedelta(minutes=15)
    caplog.clear()
    run = scheduler.run_once()
    errors = _errors(caplog)
    assert len(errors) == 1
    line = errors[0]
    assert "\n" not in line
    assert str(rules_file) in line
    # The file, line and key of the problem.
    assert f"{rules_file}:10: rules[0].kind: input should be" in line
    assert "the rules read at 2026-03-20 15:00 UTC stay in force" in line
    # The run went on with the rules read before: both alerts still seen.
    assert run is not None
    assert len(run.refreshed) == 2
    assert scheduler.runs == 2
    # Fixed again: read again at the next run, without a word.
    rules_file.write_text(RULES.replace("hours: 12", "hours: 13"), encoding="utf-8")
    caplog.clear()
    assert scheduler.run_once() is not None
    assert _errors(caplog) == []
    assert scheduler.rules is not None
    assert scheduler.rules.rules[0].hours == 13


def test_a_file_never_valid_runs_nothing(
    gate: StoreGate, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    scheduler = _scheduler(gate, settings, path, Recorder())
    assert scheduler.run_once() is None
    missing = _scheduler(gate, settings, tmp_path / "nowhere.yaml", Recorder())
    assert missing.run_once() is None
    errors = _errors(caplog)
    assert len(errors) == 2
    assert all("no alerts run until it is fixed" in e for e in errors)
    assert "cannot read the file" in errors[1]
    assert _kept(gate) == []
    assert scheduler.runs == missing.runs == 0


class BusyGate:
    """A gate whose store is always taken by another process."""

    def __init__(self) -> None:
        self.asked = 0

    def store(self) -> Any:
        self.asked += 1
        raise StoreBusyError("the store is open in another process; waited 0 s for it")


def test_a_failing_run_is_logged_and_the_scheduler_goes_on(
    settings: Settings, rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    busy = BusyGate()
    scheduler = AlertScheduler(
        busy,  # type: ignore[arg-type]
        settings,
        rules_file=rules_file,
        interval_minutes=0.001,  # 60 ms between rounds
        refresh=False,
        clock=FakeClock(NOW),
        sender=Recorder(),
    )
    assert scheduler.run_once() is None
    assert scheduler.failures == 1
    (line,) = _errors(caplog)
    assert line.startswith("alerts: the run at 2026-03-20 15:00 UTC failed (StoreBusyError:")
    scheduler.start()
    try:
        _wait_for(lambda: scheduler.failures >= 4)
        assert scheduler.running
    finally:
        scheduler.stop()
    assert not scheduler.running
    assert busy.asked == scheduler.failures


def test_start_says_what_it_runs_and_stop_is_prompt(
    gate: StoreGate, settings: Settings, rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    scheduler = _scheduler(gate, settings, rules_file, Recorder(), interval_minutes=60)
    scheduler.start()
    try:
        _wait_for(lambda: scheduler.runs == 1)  # the first run comes at once
        assert scheduler.running
    finally:
        started = time.monotonic()
        scheduler.stop()
        stopped_in = time.monotonic() - started
    assert stopped_in < 1.0
    assert not scheduler.running
    assert scheduler.runs == 1
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert f"alerts: rules from {rules_file}, every 60 minutes" in messages
    assert len(_kept(gate)) == 2


def test_the_scheduler_needs_a_rules_file(gate: StoreGate, settings: Settings) -> None:
    with pytest.raises(ValueError, match="rules file"):
        AlertScheduler(gate, settings)


def test_the_service_runs_the_scheduler_when_a_rules_file_is_set(
    duckdb_url: str, rules_file: Path
) -> None:
    plain = create_app(Settings(database_url=duckdb_url))
    with TestClient(plain):
        assert SCHEDULER not in plain.state.tc.extras
    settings = Settings(
        database_url=duckdb_url,
        alerts={"rules_file": rules_file, "interval_minutes": 30, "refresh": False},  # type: ignore[arg-type]
    )
    app = create_app(settings)
    with TestClient(app):
        scheduler: AlertScheduler = app.state.tc.extras[SCHEDULER]
        assert scheduler.running
        assert scheduler.interval_minutes == 30
        _wait_for(lambda: scheduler.runs + scheduler.failures >= 1)
        assert scheduler.runs == 1
    assert not scheduler.running
    assert SCHEDULER not in app.state.tc.extras
    # The real channels were tried (nothing listens on port 1): each failure is recorded.
    with StoreGate(duckdb_url).store() as opened, opened.connect() as connection:
        found = list_alerts(connection)
        events = connection.execute(sa.text("SELECT event FROM alert_events")).scalars().all()
    assert [a.cause for a in found] == ["silent:store"]
    assert sorted(events) == ["failed", "opened"]


def test_the_example_rules_file_loads() -> None:
    rules = load_rules(EXAMPLE_RULES)
    assert sorted(r.kind for r in rules.rules) == sorted(
        [
            "burn_rate",
            "stuck_orders",
            "no_first_scan",
            "inventory_variance",
            "overbilling",
            "capacity_risk",
            "source_silent",
            "dispute_deadline",
        ]
    )
    assert rules.escalation.chain == ["liaison", "ops-lead"]
    assert rules.channels.email is not None
    assert (rules.channels.email.host, rules.channels.email.port) == ("127.0.0.1", 1025)
    assert [w.secret_env for w in rules.channels.webhooks.values()] == ["OPS_ALERTS_SECRET"]
