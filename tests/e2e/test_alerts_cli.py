"""`tallyclerk alerts ...` end to end: a store with an overdue dispute, a rules file whose email
goes to a real SMTP server on 127.0.0.1, and `--now` as the clock.

The commands are invoked on the alerts group itself, with the store chosen as `--db` would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tallyclerk.access import SYSTEM
from tallyclerk.cli import _alerts
from tallyclerk.cli._common import state
from tallyclerk.settings import Settings
from tallyclerk.sla import answer_dispute, open_dispute
from tallyclerk.store import open_store
from tests.integration.test_alert_channels import Inbox, free_port
from tests.support import tiny_store

runner = CliRunner()

DANA, SAM = "dana@brand.example", "sam@brand.example"
OVERDUE = "westcoast: dispute DSP-000001 unanswered, 9 hours overdue"


def rules_yaml(port: int) -> str:
    return f"""\
contacts:
  liaison: {{name: Dana Ruiz, email: {DANA}}}
  ops-lead: {{name: Sam Ito, email: {SAM}}}
channels:
  email: {{host: 127.0.0.1, port: {port}, sender: alerts@brand.example, timeout_seconds: 5}}
escalation: {{chain: [liaison, ops-lead], after_minutes: 60}}
ack_base_url: http://tower.brand.example
rules:
  - {{name: deadline, kind: dispute_deadline, hours: 24, severity: page}}
  - {{name: stuck, kind: stuck_orders, older_than_hours: 48, min_count: 5}}
"""


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    server = Inbox().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The westcoast contract and dispute DSP-000001, due an answer by 2026-03-04 23:59 UTC."""
    url = f"duckdb:///{tmp_path / 'alerts.duckdb'}"
    store = tiny_store(tmp_path, url=url)
    with store.begin() as connection:
        dispute = open_dispute(
            connection,
            provider_id="westcoast",
            subject="pallet 88 lost in receiving",
            source="manual",
            opened_at=datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
            settings=Settings(database_url=url),
        )
    assert dispute.response_due_at is not None
    assert f"{dispute.response_due_at:%Y-%m-%d %H:%M}" == "2026-03-04 23:59"
    store.close()
    monkeypatch.setattr(state, "database_url", url)
    monkeypatch.setattr(state, "settings", Settings(database_url=url))
    monkeypatch.setenv("USER", "maria")
    return url


@pytest.fixture
def rules_file(tmp_path: Path, inbox: Inbox) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(rules_yaml(inbox.port), encoding="utf-8")
    return path


def _run(*args: str) -> Result:
    return runner.invoke(_alerts.app, list(args))


def _ok(*args: str) -> str:
    """The output of a command that succeeds, its lines joined (rich wraps at the width)."""
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _json(*args: str) -> Any:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _fails(code: int, *args: str) -> Result:
    result = _run(*args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize("command", ["run", "list", "show", "ack", "check"])
def test_every_command_has_examples(command: str) -> None:
    result = _run(command, "--help")
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output
    assert f"tallyclerk alerts {command}" in result.output


def test_an_overdue_dispute_from_alert_to_all_clear(
    db: str, rules_file: Path, inbox: Inbox
) -> None:
    rules = str(rules_file)
    at = "2026-03-05T09:00Z"
    dry = _ok("run", rules, "--now", at, "--no-refresh", "--dry-run")
    assert f"would open an alert (page) for deadline:DSP-000001: {OVERDUE}" in dry
    assert "to liaison by email" in dry
    assert "dry run: would have 1 opened" in dry
    assert inbox.messages == []
    assert "No open alerts." in _ok("list")

    first = _ok("run", rules, "--now", at, "--no-refresh")
    assert f"opened alert 1 (page) deadline:DSP-000001: {OVERDUE}" in first
    assert f"alert 1: sent to {DANA} (liaison)" in first
    assert "1 opened, 0 still open, 0 resolved, 1 notified" in first
    assert "(1 messages sent)" in first
    (mail,) = inbox.messages
    assert mail.rcpt_tos == [DANA]
    assert mail.subject == f"[tallyclerk PAGE] {OVERDUE}"
    assert "Look at it:   http://tower.brand.example/disputes/DSP-000001" in mail.text
    assert "Acknowledge:  http://tower.brand.example/alerts/1/ack?token=" in mail.text

    again = _ok("run", rules, "--now", at, "--no-refresh")
    assert "0 opened, 1 still open" in again
    assert "(0 messages sent)" in again
    assert len(inbox.messages) == 1

    quiet = _run("run", rules, "--now", "2026-03-05T09:30Z", "--no-refresh", "--quiet")
    assert (quiet.exit_code, quiet.output) == (0, "")

    later = "2026-03-05T10:01Z"
    would = _ok("run", rules, "--now", later, "--no-refresh", "--dry-run")
    assert "would escalate alert 1 deadline:DSP-000001 to ops-lead" in would
    assert len(inbox.messages) == 1
    up = _ok("run", rules, "--now", later, "--no-refresh")
    assert "escalated alert 1 deadline:DSP-000001 to ops-lead" in up
    assert f"alert 1: escalation sent to {SAM} (ops-lead)" in up
    assert [m.rcpt_tos for m in inbox.messages] == [[DANA], [SAM]]

    listed = _json("list")
    assert listed["total"] == 1
    (alert,) = listed["alerts"]
    assert (alert["alert_id"], alert["status"], alert["level"]) == (1, "open", 1)
    assert alert["subject"] == "westcoast: dispute DSP-000001 unanswered, 10 hours overdue"
    table = _ok("list")
    assert "Alerts (1 of 1)" in table
    assert "deadline" in table
    assert "westcoast" in table
    shown = _json("show", "1")
    # 09:30 is still "9 hours overdue" (whole hours); 10:01 reads "10 hours": one update.
    assert [e["event"] for e in shown["events"]] == [
        "opened",
        "notified",
        "updated",
        "escalated",
        "notified",
    ]
    assert "History" in _ok("show", "1")

    assert "alert 1 acknowledged by maria" in _ok("ack", "1")
    assert "alert 1 was acknowledged already by maria" in _ok("ack", "1", "--by", "sam")
    calm = _ok("run", rules, "--now", "2026-03-05T14:00Z", "--no-refresh")
    assert "(0 messages sent)" in calm
    assert len(inbox.messages) == 2

    with open_store(Settings(database_url=db)) as store, store.begin() as connection:
        answer_dispute(
            connection,
            "DSP-000001",
            by=SYSTEM,
            answer="accept",
            now=datetime(2026, 3, 5, 15, 0, tzinfo=UTC),
        )
    cleared = _ok("run", rules, "--now", "2026-03-05T15:30Z", "--no-refresh")
    assert "resolved alert 1 deadline:DSP-000001: no longer detected" in cleared
    assert f"alert 1: all-clear sent to {SAM} (ops-lead)" in cleared
    last_seen = "westcoast: dispute DSP-000001 unanswered, 14 hours overdue"  # at 14:00
    assert inbox.messages[-1].subject == f"[tallyclerk cleared] {last_seen}"
    assert "No open alerts." in _ok("list")
    assert _json("list", "--all")["alerts"][0]["status"] == "resolved"


def test_a_failed_send_exits_1_and_quiet_prints_only_the_failure(db: str, tmp_path: Path) -> None:
    port = free_port()  # nobody listens there
    path = tmp_path / "down.yaml"
    path.write_text(rules_yaml(port), encoding="utf-8")
    result = _fails(1, "run", str(path), "--now", "2026-03-05T09:00Z", "--no-refresh", "--quiet")
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"FAILED alert 1: email to liaison: email to {DANA} through")
    assert f"127.0.0.1:{port} failed:" in lines[0]
    loud = _fails(1, "run", str(path), "--now", "2026-03-05T09:05Z", "--no-refresh")
    assert "FAILED alert 1" in loud.output
    assert "1 failed (0 messages sent)" in " ".join(loud.output.split())
    events = _json("show", "1")["events"]
    assert [e["event"] for e in events] == ["opened", "failed", "failed"]


def test_the_rules_file_comes_from_the_settings_when_none_is_named(
    db: str, rules_file: Path, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = _fails(2, "run", "--no-refresh")
    assert "no rules file: name one (tallyclerk alerts run RULES.yaml) or set" in " ".join(
        missing.output.split()
    )
    configured = Settings(database_url=db, alerts={"rules_file": rules_file})  # type: ignore[arg-type]
    monkeypatch.setattr(state, "settings", configured)
    ran = _ok("run", "--now", "2026-03-05T09:00Z", "--no-refresh")
    assert "1 opened" in ran
    assert [m.rcpt_tos for m in inbox.messages] == [[DANA]]
    assert "is valid" in _ok("check")


def test_check_describes_a_valid_file_in_80_columns(rules_file: Path) -> None:
    result = _run("check", str(rules_file))
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    text = " ".join(result.output.split())
    assert f"{rules_file} is valid." in text
    for expected in (
        "liaison",
        "Dana Ruiz",
        SAM,
        "Email through 127.0.0.1:",
        "Escalation: liaison → ops-lead, one step after 60 minutes without acknowledgement",
        "Quiet hours: none",
        "Rules (2)",
        "dispute_deadline",
        "hours 24",
        "older_than_hours 48 · min_count 5",
    ):
        assert expected in text, expected


def test_check_names_the_line_and_key_of_each_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        rules_yaml(2525).replace("chain: [liaison, ops-lead]", "chain: [liaison, boss]"),
        encoding="utf-8",
    )
    result = _fails(2, "check", str(path))
    text = " ".join(result.output.split())
    assert f"{path}:6: escalation.chain[1]: 'boss' is not a contact (liaison, ops-lead)" in text


def test_acknowledging_an_unknown_alert_is_a_plain_error(db: str) -> None:
    result = _fails(2, "ack", "42")
    assert "no alert 42" in result.output


def test_a_bad_clock_is_a_plain_error(db: str, rules_file: Path) -> None:
    result = _fails(2, "run", str(rules_file), "--now", "yesterday", "--no-refresh")
    assert "--now 'yesterday' is not an ISO timestamp" in " ".join(result.output.split())
