"""`tallyclerk quarantine list|replay`: see what was held back, and load it once fixed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tallyclerk.cli._common import console, store_session
from tallyclerk.cli._ingest import print_run
from tallyclerk.ingest import count_quarantine, list_quarantine, replay_quarantine

app = typer.Typer(
    help="Records held back by ingestion: list them, and replay them once fixed.",
    no_args_is_help=True,
)


@app.command("list")
def list_command(
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="Only this kind.")] = None,
    batch: Annotated[int | None, typer.Option("--batch", "-b", help="Only this batch.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Include records already replayed, not only open ones.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List quarantined records: file, line, column and why.

    Examples:

      tallyclerk quarantine list

      tallyclerk quarantine list --kind order_lines --json
    """
    with store_session() as store, store.connect() as connection:
        records = list_quarantine(
            connection, status=None if all_ else "open", kind=kind, batch_id=batch, limit=limit
        )
        total = count_quarantine(connection, status=None if all_ else "open")
    if as_json:
        for r in records:
            console.print_json(
                json.dumps(
                    {
                        "id": r.quarantine_id,
                        "batch": r.batch_id,
                        "kind": r.kind,
                        "source": r.source,
                        "line": r.line,
                        "position": r.where,
                        "column": r.column,
                        "reason": r.reason,
                        "status": r.status,
                        "record": _record(r.record),
                    }
                ),
                indent=None,
            )
        return
    if not records:
        console.print(
            "[green]Quarantine is empty.[/]" if not all_ else "Nothing was ever quarantined."
        )
        return
    table = Table(
        title=f"Quarantined records ({total:,} {'in all' if all_ else 'open'})",
        title_justify="left",
    )
    for name in ("id", "batch", "where", "column", "reason", "status"):
        table.add_column(name, overflow="fold")
    for r in records:
        if r.position:
            where = f"{Path(r.source).name} {r.position}"
        elif r.line is not None:
            where = f"{Path(r.source).name}:{r.line}"
        else:
            where = Path(r.source).name
        table.add_row(
            str(r.quarantine_id), str(r.batch_id), where, r.column or "", r.reason, r.status
        )
    console.print(table)
    if total > len(records):
        console.print(f"[dim]showing {len(records)} of {total:,}; use --limit or --kind[/]")


@app.command("replay")
def replay_command(
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="Only this kind.")] = None,
    batch: Annotated[int | None, typer.Option("--batch", "-b", help="Only this batch.")] = None,
    from_archive: Annotated[
        bool,
        typer.Option(
            "--from-archive",
            help="Replay the archived copy even if the source file still exists "
            "(for records that only waited for their parents).",
        ),
    ] = False,
) -> None:
    """Read again every file with open quarantined records and load what now passes.

    Fix the source file in place first (or ingest the missing parents). Records that still
    fail stay in quarantine with their new reason.

    Examples:

      tallyclerk quarantine replay

      tallyclerk quarantine replay --kind order_lines --from-archive
    """
    with store_session() as store:
        run = replay_quarantine(store, batch_id=batch, kind=kind, from_archive=from_archive)
        if not run.batches:
            console.print("[green]Nothing to replay: the quarantine is empty.[/]")
            return
        with store.connect() as connection:
            still_open = count_quarantine(connection)
    print_run(run, title="Replay")
    resolved = sum(b.replayed for b in run.batches) - sum(b.quarantined for b in run.batches)
    console.print(
        f"{sum(b.replayed for b in run.batches):,} record(s) replayed, "
        f"{max(resolved, 0):,} now landed; {still_open:,} still in quarantine."
    )
    if still_open:
        raise typer.Exit(1)


def _record(text: str | None) -> Any:
    """A quarantined record: JSON as JSON, a raw segment or line as its text."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
