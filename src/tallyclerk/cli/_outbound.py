"""`tallyclerk release` (940s to a 3PL), `tallyclerk outbox` and `tallyclerk watch`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tallyclerk.cli._common import console, err_console, state, store_session, user_errors
from tallyclerk.errors import InputError
from tallyclerk.ingest import (
    IngestRequest,
    Outcome,
    Watcher,
    list_outbound,
    release_940s,
    write_outbound,
)
from tallyclerk.store import Store, open_store


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InputError(
            f"--since {value!r} is not a date or time (use 2026-01-05 or 2026-01-05T14:00)"
        ) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def release(
    provider: Annotated[
        str, typer.Option("--provider", "-p", help="The 3PL the orders were released to.")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for the 940 files.", file_okay=False)
    ],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Write a 940 for every order released since this time (UTC unless it has "
            "an offset), sent before or not. Without it: only orders with no 940 yet.",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="At most this many orders.", min=1)
    ] = None,
) -> None:
    """Write X12 940 warehouse shipping orders for orders released to a 3PL.

    One interchange per order, each with its own control number; every 940 is also kept
    in the store (tallyclerk outbox). The 3PL's envelope id comes from its profile
    (profiles/<provider>.yaml, key interchange_id), else its provider id.

    Examples:

      tallyclerk release --provider westcoast --out outbox/westcoast

      tallyclerk release --provider westcoast --since 2026-11-01 --out outbox/resend
    """
    with user_errors(), store_session() as store:
        run = release_940s(store, provider, out, since=_parse_time(since), limit=limit)
    console.print(
        f"{len(run.written):,} warehouse shipping order(s) (940) for {provider} written to {out}"
    )
    for path in run.written[:5]:
        console.print(f"[dim]  {path}[/]")
    if len(run.written) > 5:
        console.print(f"[dim]  … and {len(run.written) - 5:,} more[/]")
    if run.without_lines:
        err_console.print(
            f"[yellow]{len(run.without_lines):,} released order(s) have no order lines and "
            f"got no 940: {', '.join(run.without_lines[:5])}[/]"
        )


def outbox(
    document: Annotated[
        str | None, typer.Option("--document", "-d", help="Only this document type: 997 or 940.")
    ] = None,
    partner: Annotated[
        str | None, typer.Option("--partner", "-p", help="Only documents for this provider.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many to list.")] = 20,
    write: Annotated[
        list[int] | None,
        typer.Option("--write", "-w", help="Write the document with this id again (repeatable)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where --write puts the files.")
    ] = None,
) -> None:
    """List the documents sent back to partners (997s, 940s); write one again.

    Examples:

      tallyclerk outbox --document 997

      tallyclerk outbox --write 12 --out resend/
    """
    with user_errors(), store_session() as store:
        if write:
            if out is None:
                raise InputError("--write needs --out DIR")
            for path in write_outbound(store, out, document_ids=list(write)):
                console.print(f"written: {path}")
            return
        rows = list_outbound(store, document=document, partner=partner, limit=limit)
    table = Table(title="Outbound documents (newest first)", title_justify="left")
    for name, justify in (
        ("id", "right"),
        ("doc", "left"),
        ("partner", "left"),
        ("control", "right"),
        ("reference", "left"),
        ("created (UTC)", "left"),
        ("written to", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        table.add_row(
            str(row.document_id),
            row.document,
            row.partner or "-",
            row.control_number or "-",
            row.reference or "-",
            row.created_at.strftime("%Y-%m-%d %H:%M"),
            row.written_to or "[dim]in the store only[/]",
        )
    console.print(table)


@contextmanager
def _store_per_file() -> Iterator[Store]:
    store = open_store(state.effective_settings())
    try:
        yield store
    finally:
        store.close()


def watch(
    directory: Annotated[Path, typer.Argument(help="The drop folder.", file_okay=False)],
    provider: Annotated[
        str | None,
        typer.Option("--provider", "-p", help="The 3PL whose files arrive here (for X12)."),
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option("--profile", help="Read every file with this mapping profile.", exists=True),
    ] = None,
    settle: Annotated[
        float,
        typer.Option(
            "--settle",
            help="Seconds a file's size must stay the same before it is taken.",
            min=0,
        ),
    ] = 2.0,
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between looks at the folder.", min=0.05)
    ] = 1.0,
    once: Annotated[
        bool,
        typer.Option("--once", help="Take what is complete now, then stop (for cron jobs)."),
    ] = False,
) -> None:
    """Ingest every file dropped into a folder, once, then move it aside.

    A file is taken when it is complete (arrived by rename under a final name, and its size
    has not changed for --settle seconds). It lands like `tallyclerk ingest` would, then
    moves to processed/ or failed/ with NAME.report.json beside it; 997 acknowledgments go
    to outbound/. A restart never ingests a file twice. Stop with Ctrl-C.

    Examples:

      tallyclerk watch /srv/sftp/westcoast --provider westcoast

      tallyclerk watch inbox/ --once --settle 0
    """
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    request = IngestRequest(provider_id=provider, profile=profile)
    with user_errors():
        watcher = Watcher(
            directory,
            _store_per_file,
            request=request,
            settings=state.effective_settings(),
            settle=settle,
        )

    def show(outcome: Outcome) -> None:
        colour = "green" if outcome.status == "processed" else "red"
        detail = f": {outcome.message}" if outcome.message else ""
        batch = f" (batch {outcome.batch_id})" if outcome.batch_id else ""
        console.print(f"[{colour}]{outcome.status}[/] {outcome.name}{batch}{detail}")

    if once:
        if settle > 0:
            watcher.poll()  # first look: note sizes
            import time

            time.sleep(settle)
        with user_errors():
            for outcome in watcher.poll():
                show(outcome)
        return
    console.print(f"watching {directory} (Ctrl-C to stop)")
    with user_errors():
        for _ in watcher.run(interval=interval, on_outcome=show):
            pass
