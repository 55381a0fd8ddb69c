"""`tallyclerk ingest` and `tallyclerk batches`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tallyclerk import connectors
from tallyclerk.cli._common import byte_progress, console, err_console, store_session, user_errors
from tallyclerk.domain import KINDS_BY_NAME
from tallyclerk.ingest import (
    IngestRequest,
    IngestRun,
    ingest_sources,
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
        list[Path],
        typer.Argument(
            help="Files or directories: canonical CSV / JSON Lines, X12 EDI, Shopify or "
            "carrier tracking JSON, or a 3PL export read through --profile."
        ),
    ],
    kind: Annotated[str | None, typer.Option("--kind", "-k", help=KIND_HELP)] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            "-p",
            help="The 3PL that sent the file(s): needed for X12; its profile "
            "profiles/<ID>.yaml is used when present.",
        ),
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option(
            "--profile",
            help="A mapping profile (YAML): a CSV export profile (format: csv) or an X12 "
            "mapping profile (format: x12).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="Read the file(s) as this format instead of recognizing it: csv, jsonl, "
            + ", ".join(connectors.names()),
        ),
    ] = None,
    ack_dir: Annotated[
        Path | None,
        typer.Option(
            "--ack-dir",
            help="Write the 997 acknowledgments of X12 files here (they are always kept "
            "in the store: tallyclerk outbox).",
            file_okay=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log each file as it lands.")
    ] = False,
) -> None:
    """Load files into the store: idempotent, with bad records quarantined.

    Canonical files are known by name (shipments.csv holds shipments) unless --kind says
    otherwise. X12 EDI is recognized by its ISA header (945, 846, 943, 944, 856, 947, 180,
    940), Shopify orders and carrier tracking by their JSON. A directory loads every file
    it recognizes, parents before their lines. Exits 1 when any record was quarantined,
    2 when a file could not be read.

    Examples:

      tallyclerk ingest demo-data/

      tallyclerk ingest exports/westcoast-ship-confirm.csv --kind shipments

      tallyclerk ingest inbox/945-20260105.edi --provider westcoast --ack-dir outbox/

      tallyclerk ingest heartland-export.csv --profile profiles/heartland-shipments.yaml

      tallyclerk ingest orders-create.json --format shopify
    """
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    request = IngestRequest(
        kind=kind, fmt=fmt, provider_id=provider, profile=profile, ack_dir=ack_dir
    )
    with store_session() as store, byte_progress() as progress:

        def on_file(path: Path, label: str, size: int) -> Callable[[int], None]:
            task = progress.add_task(f"{label:<20}", total=size)
            log.info("reading %s as %s", path, label)

            def advance(n: int) -> None:
                progress.advance(task, n)

            return advance

        with user_errors():
            run = ingest_sources(store, paths, request, on_file=on_file)
    print_run(run)
    if any(b.status == "failed" for b in run.batches):
        raise typer.Exit(2)
    if not run.ok:
        raise typer.Exit(1)


_COMPACT_OVER = 30  # more files than this: one row per folder and format
_PROBLEM_FILES_SHOWN = 10


def _print_compact(run: IngestRun, title: str) -> None:
    """Many files (a drop folder's day, the demo): totals per folder and format."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for b in run.batches:
        groups.setdefault((Path(b.source).parent.name, b.kind), []).append(b)
    table = Table(title=title, title_justify="left")
    table.add_column("folder", overflow="fold")
    table.add_column("format or kind")
    for name in ("files", "stored", "updated", "dup", "quarantined", "failed"):
        table.add_column(name, justify="right")
    for (folder, kind), items in groups.items():
        quarantined = sum(b.quarantined for b in items)
        failed = sum(1 for b in items if b.status == "failed")
        table.add_row(
            folder,
            kind,
            f"{len(items):,}",
            f"{sum(b.stored for b in items):,}",
            f"{sum(b.updated for b in items):,}",
            f"{sum(b.duplicate for b in items):,}",
            f"[yellow]{quarantined:,}[/]" if quarantined else "0",
            f"[red]{failed:,}[/]" if failed else "0",
        )
    console.print(table)
    by_kind: dict[str, list[int]] = {}
    sent = 0
    for details in run.documents.values():
        sent += len(details.outbound)
        for kind, c in details.by_kind.items():
            totals = by_kind.setdefault(kind, [0, 0])
            totals[0] += c.stored + c.updated + c.duplicate
            totals[1] += c.quarantined
    if by_kind:
        parts = [
            f"{kind} {landed:,}" + (f" ({held:,} quarantined)" if held else "")
            for kind, (landed, held) in by_kind.items()
        ]
        console.print(f"[dim]records from connectors: {', '.join(parts)}[/]")
    if sent:
        console.print(f"[dim]documents sent back (997s): {sent:,}[/]")


def print_run(run: IngestRun, title: str = "Ingestion") -> None:
    """The batch report: one row per file, then the quarantined records found."""
    if len(run.batches) > _COMPACT_OVER:
        _print_compact(run, title)
        _print_problems(run)
        return
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
    for source, details in run.documents.items():
        name = Path(source).name
        parts = [
            f"{kind}: {c.stored + c.updated + c.duplicate:,} landed"
            + (f", {c.quarantined:,} quarantined" if c.quarantined else "")
            for kind, c in details.by_kind.items()
        ]
        if details.summary or parts:
            console.print(f"[dim]{name}: {details.summary}  {'; '.join(parts)}[/]")
        for written in details.written:
            console.print(f"[dim]  sent back: {written}[/]")
    _print_problems(run)


def _print_problems(run: IngestRun) -> None:
    """Messages and quarantined records of the batches, for the first files that have any."""
    shown = 0
    for b in run.batches:
        if not (b.message or b.rejects):
            continue
        shown += 1
        if shown > _PROBLEM_FILES_SHOWN:
            rest = sum(1 for x in run.batches if x.message or x.rejects) - _PROBLEM_FILES_SHOWN
            err_console.print(f"[dim]… and {rest:,} more file(s) with notes: tallyclerk batches[/]")
            break
        if b.status == "duplicate" and b.message:
            console.print(f"[dim]{Path(b.source).name}: {b.message}[/]")
        elif b.message:
            colour = "red" if b.status == "failed" else "yellow"
            err_console.print(f"[{colour}]{Path(b.source).name}: {b.message}[/]")
        if b.rejects:
            err_console.print(
                f"[yellow]{Path(b.source).name}: {b.quarantined:,} record(s) quarantined[/]"
            )
            for r in b.rejects:
                where = f" {r.where}" if r.where else (f":{r.line}" if r.line is not None else "")
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
