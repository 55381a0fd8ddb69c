"""`tallyclerk action add|list|done|update`: what the weekly reviews agreed, until it is done.

The command line acts for the brand (the shell's login name is recorded as who did it).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.markup import escape

from tallyclerk.cli._common import console, store_session
from tallyclerk.cli._findings import Column, Entry, current_user, fitted_table
from tallyclerk.errors import InputError
from tallyclerk.reports._actions import (
    PENDING,
    action_document,
    add_action,
    check_party,
    check_status,
    count_actions,
    list_actions,
    mark_done,
    update_action,
)
from tallyclerk.reports._model import (
    ACTION_STATUSES,
    PARTIES,
    ActionItem,
    ActionStatus,
    IsoWeek,
    Party,
)

app = typer.Typer(
    help="Action items agreed in weekly reviews: add, list, mark done, update.",
    no_args_is_help=True,
)

_STATUS = {
    "open": "open",
    "in_progress": "[yellow]in progress[/]",
    "done": "[green]done[/]",
    "dropped": "[dim]dropped[/]",
}


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date like 2026-11-20", param_hint=option
        ) from None


def _week(text: str | None) -> IsoWeek | None:
    if text is None:
        return None
    try:
        return IsoWeek.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--week") from None


def _party(text: str) -> Party:
    try:
        return check_party(text)
    except InputError as exc:
        raise typer.BadParameter(str(exc), param_hint="--party") from None


def _status_option(text: str | None) -> ActionStatus | None:
    if text is None:
        return None
    try:
        return check_status(text)
    except InputError as exc:
        raise typer.BadParameter(str(exc), param_hint="--status") from None


def _due(item: ActionItem, today: date) -> str:
    if item.due_on is None:
        return "—"
    text = item.due_on.isoformat()
    return f"[bold red]{text}[/]" if item.overdue(today) else text


def _status(item: ActionItem, today: date) -> str:
    text = _STATUS.get(item.status, escape(item.status))
    if item.overdue(today):
        text += " [bold red]overdue[/]"
    return text


def _what(item: ActionItem) -> str:
    text = escape(item.title)
    if item.reference:
        text += f" [dim]({escape(item.reference)})[/]"
    if item.note:
        text += f"\n[dim]{escape(item.note)}[/]"
    return text


def _announce(item: ActionItem, verb: str) -> None:
    due = f", due {item.due_on.isoformat()}" if item.due_on else ""
    console.print(
        f"action [bold]{item.action_id}[/] {verb} for {escape(item.provider_id)} "
        f"(agreed in {item.opened_week}): {escape(item.title)}; "
        f"{escape(item.owner)} ({item.party}){due}, {item.status.replace('_', ' ')}"
    )


@app.command("add")
def add_command(
    title: Annotated[str, typer.Argument(help="What is to be done.", metavar="TITLE")],
    provider: Annotated[str, typer.Option("--provider", "-p", help="The 3PL it concerns.")],
    owner: Annotated[str, typer.Option("--owner", help="The person who does it.")],
    party: Annotated[
        str, typer.Option("--party", help=f"Whose side owns it ({', '.join(PARTIES)}).")
    ] = "provider",
    due: Annotated[
        str | None, typer.Option("--due", help="The date it is due, like 2026-11-20.")
    ] = None,
    week: Annotated[
        str | None,
        typer.Option("--week", help="The review it was agreed in, like 2026-W46 (default: now)."),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option("--ref", help="What it follows up: finding:42, DSP-000012, a metric."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", "-m", help="A note kept with it.")] = None,
) -> None:
    """Add an action item agreed in a weekly review.

    It is carried on every later review of the provider until it is done or dropped.

    Examples:

      tallyclerk action add -p eastbridge "Re-slot fast movers" --owner Dana

      tallyclerk action add -p eastbridge Recount --owner Eve --due 2026-11-20

      tallyclerk action add -p westcoast "Peak plan" --owner Maria --party brand

      tallyclerk action add -p westcoast "Fix ASNs" --owner Wes --week 2026-W46

      tallyclerk action add -p westcoast "Fix ASNs" --owner Wes --ref finding:42
    """
    chosen_party = _party(party)
    due_on = _day(due, "--due")
    opened = _week(week)
    with store_session() as store, store.begin() as connection:
        item = add_action(
            connection,
            provider_id=provider,
            title=title,
            owner=owner,
            party=chosen_party,
            due_on=due_on,
            opened_week=opened,
            reference=reference,
            note=note,
            by=current_user(),
        )
    _announce(item, "added")


@app.command("list")
def list_command(
    provider: Annotated[
        list[str] | None, typer.Option("--provider", "-p", help="Only this provider; repeatable.")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", "-a", help="Done and dropped items too.")
    ] = False,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status", "-s", help=f"Only this status ({', '.join(ACTION_STATUSES)}); repeatable."
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many.")] = 100,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many first.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """List action items: pending ones (open or in progress) unless --all.

    Overdue items come first, in red; then by due date.

    Examples:

      tallyclerk action list

      tallyclerk action list --provider eastbridge --all

      tallyclerk action list --status done --json
    """
    for given in status or []:
        _status_option(given)
    if status and show_all:
        raise typer.BadParameter("give --all or --status, not both")
    statuses: list[str] | None = list(status) if status else None
    if statuses is None and not show_all:
        statuses = list(PENDING)
    today = datetime.now(UTC).date()
    with store_session() as store, store.connect() as connection:
        items = list_actions(
            connection,
            providers=provider or None,
            statuses=statuses,
            limit=max(0, limit),
            offset=max(0, offset),
            today=today,
        )
        total = count_actions(connection, providers=provider or None, statuses=statuses)
    if as_json:
        document = {"total": total, "actions": [action_document(i, today) for i in items]}
        console.print_json(json.dumps(document))
        return
    if not items:
        console.print("[green]No action items match.[/]")
        return
    columns = [
        Column("id", right=True, keep=9),
        Column("provider", keep=7),
        Column("owner", keep=5, wrap=True),
        Column("due", keep=8),
        Column("week", keep=3),
        Column("status", keep=6),
    ]
    entries = [
        Entry(
            [
                str(i.action_id),
                escape(i.provider_id),
                escape(i.owner),
                _due(i, today),
                i.opened_week,
                _status(i, today),
            ],
            note=_what(i),
        )
        for i in items
    ]
    console.print(
        fitted_table(
            f"Action items ({len(items)} of {total})", columns, entries, note="action", note_min=24
        )
    )


@app.command("done")
def done_command(
    action_id: Annotated[int, typer.Argument(help="The action item's id.", metavar="ID")],
    note: Annotated[str | None, typer.Option("--note", "-m", help="How it was done.")] = None,
) -> None:
    """Mark an action item done (it leaves the reviews after this week).

    Examples:

      tallyclerk action done 12

      tallyclerk action done 12 --note "re-slotted on 11-18, picks down 14%"
    """
    with store_session() as store, store.begin() as connection:
        item = mark_done(connection, action_id, by=current_user(), note=note)
    _announce(item, "done")


@app.command("update")
def update_command(
    action_id: Annotated[int, typer.Argument(help="The action item's id.", metavar="ID")],
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            "-s",
            help=f"The new status ({', '.join(ACTION_STATUSES)}; open reopens a closed one).",
        ),
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="The new owner.")] = None,
    due: Annotated[
        str | None, typer.Option("--due", help="The new due date, like 2026-11-27.")
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", "-m", help="The note (an empty one clears it).")
    ] = None,
) -> None:
    """Change an action item's status, owner, due date or note.

    Examples:

      tallyclerk action update 12 --status in_progress

      tallyclerk action update 12 --owner "Lee (eastbridge)" --due 2026-11-27

      tallyclerk action update 12 --status open --note "came back after the audit"
    """
    chosen = _status_option(status)
    due_on = _day(due, "--due")
    if chosen is None and owner is None and due_on is None and note is None:
        raise typer.BadParameter("give at least one of --status, --owner, --due or --note")
    with store_session() as store, store.begin() as connection:
        item = update_action(
            connection,
            action_id,
            status=chosen,
            owner=owner,
            due_on=due_on,
            note=note,
            by=current_user(),
        )
    _announce(item, "updated")
