"""`tallyclerk ingest` and `tallyclerk batches`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tallyclerk.cli._common import byte_progress, console, err_console, store_session, user_errors
from tallyclerk.domain import KINDS_BY_NAME, Kind
from tallyclerk.ingest import (
    IngestRun,
    ingest_paths,
    kind_name_from_path,
    recent_batches,
    replay_batch,
)

log = logging.getLogger("tallyclerk.ingest")

KIND_HELP = "The kind of record in the file(s), when the file name does not say: " + ", ".join(
    KINDS_BY_NAME
)


def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Canonical CSV / JSON Lines files, or directories of them.")
    ],
    kind: Annotated[str | None, typer.Option("--kind", "-k", help=KIND_HELP)] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log each file as it lands.")
    ] = False,
) -> None:
    """Load canonical files into the store: idempotent, with bad records quarantined.

    The kind comes from the file name (shipments.csv holds shipments) unless --kind says
    otherwise. A directory loads every file it recognizes, parents before their lines.
    Exits 1 when any record was quarantined, 2 when a file could not be read.

    Examples:

      tallyclerk ingest demo-data/

      tallyclerk ingest exports/westcoast-ship-confirm.csv --kind shipments
    """
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    with store_session() as store, byte_progress() as progress:
        tasks: dict[Path, int] = {}

        def on_file(path: Path, file_kind: Kind, size: int) -> Callable[[int], None]:
            task = progress.add_task(f"{file_kind.name:<20}", total=size)
            tasks[path] = task
            log.info("reading %s as %s", path, file_kind.name)

            def advance(n: int) -> None:
                progress.advance(task, n)

            return advance

        with user_errors():
            run = ingest_paths(store, paths, kind, on_file=on_file, settings=None)
    print_run(run)
    if any(b.status == "failed" for b in run.batches):
        raise typer.Exit(2)
    if not run.ok:
        raise typer.Exit(1)


def print_run(run: IngestRun, title: str = "Ingestion") -> None:
    """The batch report: one row per file, then the quarantined records found."""
    table = Table(title=title, title_justify="left")
    table.add_column("batch", justify="right")
    table.add_column("file", overflow="fold")
    for name in ("stored", "updated", "dup", "quarantined"):
        table.add_column(name, justify="right")
    table.add_column("status", overflow="fold")
    for b in run.batches:
        status = "[green]landed[/]" if b.status == "landed" else f"[red]{b.status}[/]"
        if b.status == "landed" and b.quarantined:
            status = "[yellow]landed, with quarantine[/]"
        name = Path(b.source).name
        if kind_name_from_path(Path(name)) != b.kind:
            name = f"{name} ({b.kind})"
        table.add_row(
            str(b.batch_id or "-"),
            name,
            f"{b.stored:,}",
            f"{b.updated:,}",
            f"{b.duplicate:,}",
            f"[yellow]{b.quarantined:,}[/]" if b.quarantined else "0",
            status,
        )
    console.print(table)
    for b in run.batches:
        if b.message:
            colour = "red" if b.status == "failed" else "yellow"
            err_console.print(f"[{colour}]{Path(b.source).name}: {b.message}[/]")
        if b.rejects:
            err_console.print(
                f"[yellow]{Path(b.source).name}: {b.quarantined:,} record(s) quarantined[/]"
            )
            for r in b.rejects:
                where = f":{r.line}" if r.line is not None else ""
                err_console.print(f"  {Path(b.source).name}{where}: {r.reason}")
            if b.quarantined > len(b.rejects):
                err_console.print(
                    f"  … and {b.quarantined - len(b.rejects):,} more: tallyclerk quarantine list"
                )
    if run.unrecognized:
        names = ", ".join(p.name for p in run.unrecognized)
        err_console.print(f"[dim]not recognized as canonical files (skipped): {names}[/]")
    if any(b.quarantined for b in run.batches):
        err_console.print(
            "Fix the source files, then run [bold]tallyclerk quarantine replay[/] "
            "(records whose parents were missing only need the parents ingested first)."
        )


def batches(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many batches to show.")] = 20,
) -> None:
    """List the latest ingestion batches with their counts.

    Example:

      tallyclerk batches --limit 5
    """
    with store_session() as store, store.connect() as connection:
        rows = recent_batches(connection, limit)
    table = Table(title="Ingestion batches (newest first)", title_justify="left")
    table.add_column("batch", justify="right")
    table.add_column("started (UTC)")
    table.add_column("kind", no_wrap=True)
    table.add_column("file", overflow="fold")
    for name in ("stored", "updated", "dup", "quar"):
        table.add_column(name, justify="right")
    table.add_column("status", overflow="fold")
    for row in rows:
        table.add_row(
            str(row.batch_id),
            row.started_at.strftime("%m-%d %H:%M"),
            row.kind,
            Path(row.source).name,
            f"{row.stored:,}",
            f"{row.updated:,}",
            f"{row.duplicate:,}",
            f"{row.quarantined:,}",
            row.status if not row.message else f"{row.status}: {row.message[:60]}",
        )
    console.print(table)


def replay(
    batch_ids: Annotated[list[int], typer.Argument(help="Batch ids (see tallyclerk batches).")],
) -> None:
    """Ingest the archived bytes of earlier batches again, as new batches.

    Every file is archived as it arrived, so a batch can be replayed after the source is
    gone: for instance once a contract gives its facility a time zone.

    Example:

      tallyclerk replay 12 13
    """
    with store_session() as store:
        run = IngestRun(batches=[replay_batch(store, batch_id) for batch_id in batch_ids])
    print_run(run, title="Replay")
    if not run.ok:
        raise typer.Exit(1)
