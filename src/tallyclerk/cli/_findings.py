"""`tallyclerk findings list|show|ack|resolve|dispute`: work through what the checks found."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from tallyclerk.cli._common import console, store_session
from tallyclerk.reconcile import (
    CHECKS,
    DOMAINS,
    STATUSES,
    Finding,
    acknowledge,
    dispute_finding,
    get_finding,
    list_findings,
    resolve,
)

app = typer.Typer(
    help="Findings of reconciliation and the invoice audit: list, acknowledge, resolve, dispute.",
    no_args_is_help=True,
)


def current_user() -> str:
    """Who is acting, for the record (the login name of the shell)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def format_age(days: float | None) -> str:
    """An age people read at a glance: 5 h, 3.2 d, 41 d."""
    if days is None:
        return "—"
    if days < 1:
        return f"{days * 24:.0f} h"
    if days < 10:
        return f"{days:.1f} d"
    return f"{days:,.0f} d"


def format_money(amount: object, currency: str | None) -> str:
    """Money as 1,234.50 USD (blank when there is none)."""
    if amount is None:
        return ""
    text = f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


def title_of(kind: str) -> str:
    """The human title of a finding kind."""
    check = CHECKS.get(kind)
    return check.title if check else kind


_STATUS = {
    "open": "[bold red]open[/]",
    "acknowledged": "[yellow]acknowledged[/]",
    "resolved": "[green]resolved[/]",
}


def findings_table(items: list[Finding], *, title: str, as_of: datetime) -> Table:
    """Findings as a table: id, kind, subject, where, age, amount, status, reason."""
    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("id", "right"),
        ("kind", "left"),
        ("subject", "left"),
        ("provider", "left"),
        ("age", "right"),
        ("amount", "right"),
        ("status", "left"),
        ("reason", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for f in items:
        where = f.provider_id or "—"
        if f.facility_id:
            where += f" {f.facility_id}"
        table.add_row(
            str(f.finding_id),
            title_of(f.kind),
            f.subject_id,
            where,
            format_age(f.age_days(as_of)),
            format_money(f.amount, f.currency),
            _STATUS.get(f.status, f.status),
            f.reason,
        )
    return table


@app.command("list")
def list_command(
    domain: Annotated[
        list[str] | None,
        typer.Option(
            "--domain", "-d", help=f"Only this domain ({', '.join(DOMAINS)}); repeatable."
        ),
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", "-k", help="Only this kind; repeatable.")
    ] = None,
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider; repeatable.")
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status", "-s", help="open, acknowledged, resolved (default: open and acknowledged)."
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many.")] = 50,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many first.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """List stored findings, oldest problem first.

    Findings are written by `tallyclerk reconcile` and `tallyclerk billing audit`; each
    problem is kept once, with its status and who acknowledged or resolved it.

    Examples:

      tallyclerk findings list

      tallyclerk findings list --kind not_shipped --provider westcoast

      tallyclerk findings list --status resolved --json
    """
    for name in domain or ():
        if name not in DOMAINS:
            raise typer.BadParameter(
                f"{name!r} is not one of {', '.join(DOMAINS)}", param_hint="--domain"
            )
    for name in status or ():
        if name not in STATUSES:
            raise typer.BadParameter(
                f"{name!r} is not one of {', '.join(STATUSES)}", param_hint="--status"
            )
    now = datetime.now(UTC)
    with store_session() as store, store.connect() as connection:
        items = list_findings(
            connection,
            domains=domain,
            kinds=kind,
            providers=provider,
            statuses=status or ["open", "acknowledged"],
            limit=limit,
            offset=offset,
        )
    if as_json:
        console.print_json(json.dumps({"findings": [f.as_dict(now) for f in items]}))
        return
    if not items:
        console.print("[green]No findings match.[/]")
        return
    console.print(findings_table(items, title=f"Findings ({len(items)} shown)", as_of=now))


def _one(finding_id: int) -> Finding:
    with store_session() as store, store.connect() as connection:
        return get_finding(connection, finding_id)


@app.command("show")
def show_command(
    finding_id: Annotated[int, typer.Argument(help="The finding's id.", metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """Show one finding with its evidence and its history.

    Examples:

      tallyclerk findings show 12
    """
    now = datetime.now(UTC)
    finding = _one(finding_id)
    document = finding.as_dict(now)
    if as_json:
        console.print_json(json.dumps(document))
        return
    console.print(f"[bold]Finding {finding.finding_id}[/]: {title_of(finding.kind)}")
    console.print(finding.reason)
    rows = [
        ("status", _STATUS.get(finding.status, finding.status)),
        ("subject", f"{finding.subject_kind} {finding.subject_id}"),
        ("provider", " ".join(x for x in (finding.provider_id, finding.facility_id) if x) or "—"),
        ("since", document["since"] or "—"),
        ("age", format_age(finding.age_days(now))),
        ("amount", format_money(finding.amount, finding.currency) or "—"),
        ("first detected", document["first_detected_at"]),
        ("last detected", f"{document['last_detected_at']} (clock {document['last_as_of']})"),
    ]
    if finding.acknowledged_at:
        rows.append(("acknowledged", f"{document['acknowledged_at']} by {finding.acknowledged_by}"))
    if finding.resolved_at:
        rows.append(
            (
                "resolved",
                f"{document['resolved_at']} by {finding.resolved_by}: {finding.resolution}",
            )
        )
    if finding.dispute_id:
        rows.append(("dispute", finding.dispute_id))
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    if finding.evidence:
        console.print("[bold]evidence[/]")
        console.print_json(json.dumps(finding.evidence))


@app.command("ack")
def ack_command(
    finding_ids: Annotated[list[int], typer.Argument(help="Finding ids.", metavar="ID...")],
    by: Annotated[str | None, typer.Option("--by", help="Who (default: your login).")] = None,
) -> None:
    """Acknowledge findings: someone has seen them and is on it.

    Examples:

      tallyclerk findings ack 12 13 --by maria
    """
    who = by or current_user()
    with store_session() as store, store.begin() as connection:
        for finding_id in finding_ids:
            finding = acknowledge(connection, finding_id, by=who)
            console.print(f"finding {finding.finding_id} acknowledged by {who}")


@app.command("resolve")
def resolve_command(
    finding_ids: Annotated[list[int], typer.Argument(help="Finding ids.", metavar="ID...")],
    note: Annotated[
        str, typer.Option("--note", "-m", help="How it was resolved (kept with the finding).")
    ],
    by: Annotated[str | None, typer.Option("--by", help="Who (default: your login).")] = None,
) -> None:
    """Resolve findings with a note; a later run does not raise them again.

    Examples:

      tallyclerk findings resolve 12 -m "3PL found the parcel; reshipped on 2026-03-04"
    """
    who = by or current_user()
    with store_session() as store, store.begin() as connection:
        for finding_id in finding_ids:
            finding = resolve(connection, finding_id, by=who, resolution=note)
            console.print(f"finding {finding.finding_id} resolved by {who}")


@app.command("dispute")
def dispute_command(
    finding_id: Annotated[int, typer.Argument(help="The finding's id.", metavar="ID")],
    note: Annotated[str | None, typer.Option("--note", "-m", help="A note for the 3PL.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who (default: your login).")] = None,
) -> None:
    """Open a dispute with the 3PL from a finding (its amount and evidence go along).

    Examples:

      tallyclerk findings dispute 12 -m "storage billed at 32.00, contract says 25.00"
    """
    who = by or current_user()
    with store_session() as store:
        finding, dispute = dispute_finding(store, finding_id, by=who, note=note)
    amount = format_money(dispute.amount, dispute.currency)
    console.print(
        f"dispute [bold]{dispute.dispute_id}[/] opened with {dispute.provider_id} "
        f"from finding {finding.finding_id}" + (f" for {amount}" if amount else "")
    )
