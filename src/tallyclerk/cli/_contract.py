"""`tallyclerk contract check|add|list`: the SLA as code, validated and versioned."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tallyclerk.cli._common import console, err_console, store_session
from tallyclerk.contracts import ContractError, check_contract, load_contract
from tallyclerk.contracts._repository import add_contract, stored_contracts

app = typer.Typer(
    help="Contracts with 3PLs (YAML): check them, store versions, list what is in force.",
    no_args_is_help=True,
)


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            files.append(path)
    return files


@app.command("check")
def check_command(
    files: Annotated[list[Path], typer.Argument(help="Contract YAML files or directories.")],
) -> None:
    """Validate contracts and report every problem with its file, line and key.

    Examples:

      tallyclerk contract check contracts/westcoast.yaml

      tallyclerk contract check contracts/
    """
    bad = 0
    for path in _expand(files):
        issues = check_contract(path)
        if issues:
            bad += 1
            err_console.print(f"[red]✗ {path}: {len(issues)} problem(s)[/]")
            for issue in issues:
                err_console.print(f"  {issue}")
        else:
            console.print(f"[green]✓ {path}[/]")
    if bad:
        raise typer.Exit(1)


@app.command("add")
def add_command(
    files: Annotated[list[Path], typer.Argument(help="Contract YAML files or directories.")],
) -> None:
    """Store contract versions (by their effective date) for their providers.

    Adding a file again is a no-op; a changed file with the same effective date replaces
    that version. Facilities and their time zones come from each provider's newest version.

    Example:

      tallyclerk contract add contracts/westcoast.yaml contracts/eastbridge.yaml
    """
    paths = _expand(files)
    parsed = []
    failed = False
    for path in paths:
        try:
            parsed.append((path, load_contract(path), path.read_text(encoding="utf-8-sig")))
        except ContractError as exc:
            failed = True
            err_console.print(f"[red]✗ {path}[/]")
            for issue in exc.errors:
                err_console.print(f"  {issue}")
    if failed:
        err_console.print("Nothing was stored: fix the problems above and add again.")
        raise typer.Exit(1)
    with store_session() as store, store.begin() as connection:
        for path, contract, text in parsed:
            outcome = add_contract(connection, contract, text, path.name)
            console.print(
                f"{outcome:>9}  {contract.provider} effective {contract.effective} ({path.name})"
            )


@app.command("list")
def list_command(
    provider: Annotated[
        str | None, typer.Option("--provider", "-p", help="Only this provider.")
    ] = None,
) -> None:
    """List stored contract versions.

    Example:

      tallyclerk contract list --provider westcoast
    """
    with store_session() as store, store.connect() as connection:
        versions = stored_contracts(connection, provider)
    if not versions:
        console.print("No contracts stored yet: tallyclerk contract add FILE")
        return
    table = Table(title="Contract versions", title_justify="left")
    for name in ("provider", "effective", "name", "currency", "file", "added (UTC)"):
        table.add_column(name)
    for v in versions:
        table.add_row(
            v.provider_id,
            str(v.effective),
            v.name or "",
            v.currency,
            v.source_name or "",
            v.added_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
