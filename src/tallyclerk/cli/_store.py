"""`tallyclerk init` and `tallyclerk export parquet`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tallyclerk.cli._common import console, count_progress, store_session
from tallyclerk.domain import KINDS
from tallyclerk.store.export import export_parquet

if TYPE_CHECKING:
    from tallyclerk.store.summary import StoreSummary

export_app = typer.Typer(
    help="Export the canonical tables for other engines.", no_args_is_help=True
)


def init() -> None:
    """Create the store, or upgrade its schema to this version (safe to run again).

    The store is the DuckDB file ./tallyclerk.duckdb unless TALLYCLERK_DATABASE_URL (or
    --db) names another, e.g. postgresql+psycopg://user@host/db.

    Examples:

      tallyclerk init

      TALLYCLERK_DATABASE_URL=postgresql+psycopg://tally@db/tally tallyclerk init
    """
    with store_session(create=False) as store:
        before, after = store.upgrade()
        if before == after:
            console.print(f"The store {store.description} is up to date (schema {after}).")
        elif before is None:
            console.print(f"Created the store {store.description} (schema {after}).")
        else:
            console.print(
                f"Upgraded the store {store.description} from schema {before} to {after}."
            )


@export_app.command("parquet")
def parquet(
    out_dir: Annotated[Path, typer.Argument(help="Directory to write <kind>.parquet files into.")],
) -> None:
    """Write every canonical table as Parquet (for Spark, or any engine that reads it).

    Example:

      tallyclerk export parquet warehouse/
    """
    with store_session() as store, count_progress() as progress:
        task = progress.add_task("exporting", total=len(KINDS))
        written = export_parquet(store, out_dir, on_table=lambda _n: progress.advance(task))
        progress.update(task, completed=len(KINDS))
    table = Table(title=f"Parquet files in {out_dir}", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for item in written:
        table.add_row(item.path.name, f"{item.rows:,}")
    console.print(table)


def status() -> None:
    """Show what the store holds: rows per kind, providers, data range, open quarantine.

    Example:

      tallyclerk status
    """
    from tallyclerk.store.summary import summarize

    with store_session() as store, store.connect() as connection:
        summary = summarize(connection)
        description = store.description
    print_summary(summary, f"Store {description}")


def print_summary(summary: StoreSummary, title: str) -> None:
    """Print a store summary as two tables."""
    rows = Table(title=title, title_justify="left")
    rows.add_column("kind")
    rows.add_column("rows", justify="right")
    for kind in KINDS:
        rows.add_row(kind.name, f"{summary.rows[kind.name]:,}")
    console.print(rows)
    if summary.providers:
        table = Table(title="Providers", title_justify="left")
        for name in ("provider", "facilities", "contracts", "orders released", "shipments"):
            table.add_column(name, justify="right" if name[0] in "cos" else "left")
        for p in summary.providers:
            table.add_row(
                p.provider_id,
                ", ".join(p.facilities) or "-",
                str(p.contract_versions),
                f"{p.releases:,}",
                f"{p.shipments:,}",
            )
        console.print(table)
    if summary.first_order_at and summary.last_order_at:
        console.print(
            f"Orders placed from {summary.first_order_at:%Y-%m-%d} to "
            f"{summary.last_order_at:%Y-%m-%d}; {summary.batches:,} ingestion batches; "
            f"{summary.open_quarantine:,} records in quarantine."
        )
