"""`tallyclerk action ...` end to end on a small store: add, list, update, done.

The commands are invoked on the action group itself, with the store chosen as `--db` would.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tallyclerk.cli import _actions
from tallyclerk.cli._common import console, state
from tallyclerk.reports import IsoWeek
from tallyclerk.reports._actions import get_action
from tallyclerk.store import open_store
from tests.support import EASTBRIDGE, WESTCOAST, tiny_store

runner = CliRunner()
TODAY = datetime.now(UTC).date()
THIS_WEEK = IsoWeek.of(TODAY)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"duckdb:///{tmp_path / 'actions.duckdb'}"
    tiny_store(tmp_path, contracts=[EASTBRIDGE, WESTCOAST], url=url).close()
    monkeypatch.setattr(state, "database_url", url)
    monkeypatch.setenv("USER", "maria")
    monkeypatch.setattr("tallyclerk.cli._actions.current_user", lambda: "maria")
    return url


def _run(*args: str) -> Result:
    return runner.invoke(_actions.app, list(args))


def _ok(*args: str) -> str:
    """The output of a command that succeeds, its lines joined (rich wraps at the width)."""
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _json(*args: str) -> Any:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _fails(*args: str, code: int = 2) -> str:
    result = _run(*args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize("command", ["add", "list", "done", "update"])
def test_every_command_has_examples(command: str) -> None:
    result = _run(command, "--help")
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output
    assert f"tallyclerk action {command}" in result.output


def test_add_list_update_done(db: str) -> None:
    due = (TODAY - timedelta(days=1)).isoformat()  # due yesterday: overdue now
    added = _ok(
        "add",
        "--provider",
        "eastbridge",
        "Re-slot the fast movers before Black Friday",
        "--owner",
        "Dana (eastbridge)",
        "--party",
        "provider",
        "--due",
        due,
        "--week",
        THIS_WEEK.shifted(-1).name,
        "--ref",
        "finding:42",
    )
    assert (
        f"action 1 added for eastbridge (agreed in {THIS_WEEK.shifted(-1).name}): "
        "Re-slot the fast movers before Black Friday; Dana (eastbridge) (provider), "
        f"due {due}, open"
    ) in added
    second = _ok("add", "-p", "westcoast", "Send the cycle-count plan", "--owner", "Maria")
    assert f"action 2 added for westcoast (agreed in {THIS_WEEK.name})" in second
    listed = _json("list")
    assert listed["total"] == 2
    first = listed["actions"][0]
    assert (first["action_id"], first["overdue"], first["due_on"]) == (1, True, due)
    assert (first["reference"], first["party"], first["status"]) == (
        "finding:42",
        "provider",
        "open",
    )
    assert listed["actions"][1]["action_id"] == 2
    assert listed["actions"][1]["due_on"] is None
    table = _ok("list")
    assert "Action items (2 of 2)" in table
    assert "overdue" in table
    assert "Re-slot the fast movers" in table
    updated = _ok("update", "1", "--status", "in_progress", "--owner", "Lee (eastbridge)")
    assert "action 1 updated for eastbridge" in updated
    assert "Lee (eastbridge) (provider)" in updated
    assert "in progress" in updated
    done = _ok("done", "1", "--note", "re-slotted, picks down 14%")
    assert "action 1 done for eastbridge" in done
    pending = _json("list")
    assert [a["action_id"] for a in pending["actions"]] == [2]
    everything = _json("list", "--all")
    assert [a["action_id"] for a in everything["actions"]] == [2, 1]
    assert everything["actions"][1]["note"] == "re-slotted, picks down 14%"
    assert everything["actions"][1]["done_at"] is not None
    only_done = _json("list", "--status", "done", "--provider", "eastbridge")
    assert [a["action_id"] for a in only_done["actions"]] == [1]
    assert _json("list", "--provider", "westcoast", "--status", "done")["total"] == 0
    assert "No action items match." in _ok("list", "--provider", "nowhere")
    reopened = _ok("update", "1", "--status", "open", "--note", "came back after the audit")
    assert "action 1 updated" in reopened
    store = open_store(url=db)
    try:
        with store.connect() as connection:
            item = get_action(connection, 1)
    finally:
        store.close()
    assert (item.status, item.done_at, item.note) == ("open", None, "came back after the audit")
    assert item.created_by == "maria"


def test_the_table_fits_80_columns_and_marks_overdue_in_red(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ok(
        "add",
        "-p",
        "eastbridge",
        "Re-slot the fast movers before Black Friday so the pickers walk less",
        "--owner",
        "Dana Whitfield-Okonkwo (eastbridge operations)",
        "--due",
        (TODAY - timedelta(days=3)).isoformat(),
        "--week",
        THIS_WEEK.shifted(-1).name,
        "--ref",
        "finding:42",
        "-m",
        "pick faces A1 to A9 first",
    )
    _ok("add", "-p", "westcoast", "Later", "--owner", "Maria", "--party", "brand")
    for width in (80, 120):
        monkeypatch.setattr(console, "_width", width)
        with console.capture() as captured:
            _actions.list_command(
                provider=None, show_all=False, status=None, limit=100, offset=0, as_json=False
            )
        text = captured.get()
        assert all(len(line) <= width for line in text.splitlines()), text
        assert "Re-slot the fast movers" in " ".join(text.split())
    due_markup = _actions._due(_overdue_item(), TODAY)
    assert due_markup.startswith("[bold red]")
    assert "[bold red]overdue[/]" in _actions._status(_overdue_item(), TODAY)
    assert "red" not in _actions._due(_overdue_item(done=True), TODAY)


def _overdue_item(done: bool = False) -> Any:
    from tallyclerk.reports import ActionItem

    moment = datetime(2026, 1, 5, 9, tzinfo=UTC)
    return ActionItem(
        action_id=9,
        provider_id="eastbridge",
        title="t",
        owner="o",
        party="provider",
        due_on=date(2026, 1, 5),
        status="done" if done else "open",
        opened_week="2026-W02",
        created_at=moment,
        created_by=None,
        updated_at=moment,
        done_at=moment if done else None,
        note=None,
        reference=None,
    )


def test_plain_errors(db: str) -> None:
    unknown = _fails("add", "-p", "nowhere", "t", "--owner", "o")
    assert "no provider 'nowhere' (add its contract first)" in unknown
    assert "is not a date like 2026-11-20" in _fails(
        "add", "-p", "eastbridge", "t", "--owner", "o", "--due", "20-11-2026"
    )
    assert "is not an ISO week" in _fails(
        "add", "-p", "eastbridge", "t", "--owner", "o", "--week", "week 46"
    )
    assert "party 'carrier' is not one of brand, provider" in _fails(
        "add", "-p", "eastbridge", "t", "--owner", "o", "--party", "carrier"
    )
    assert "an action item needs a title" in _fails("add", "-p", "eastbridge", " ", "--owner", "o")
    before = _fails(
        "add", "-p", "eastbridge", "t", "--owner", "o", "--week", "2026-W46", "--due", "2026-11-01"
    )
    assert "due date 2026-11-01 is before week 2026-W46" in before
    assert "no action item 7" in _fails("done", "7")
    _ok("add", "-p", "eastbridge", "t", "--owner", "o")
    assert "give at least one of --status, --owner, --due or --note" in _fails("update", "1")
    assert "status 'finished' is not one of" in _fails("update", "1", "--status", "finished")
    _ok("done", "1")
    assert "action 1 is done already" in _fails("done", "1")
    assert "it can only be reopened" in _fails("update", "1", "--status", "in_progress")
    assert "give --all or --status, not both" in _fails("list", "--all", "--status", "done")
