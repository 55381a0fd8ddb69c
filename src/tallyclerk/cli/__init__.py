"""The tallyclerk command line: thin commands over the services."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from tallyclerk.cli import (
    _access,
    _actions,
    _alerts,
    _billing,
    _contract,
    _disputes,
    _evaluate,
    _experience,
    _findings,
    _forecast,
    _ingest,
    _inventory,
    _kpi,
    _outbound,
    _quarantine,
    _reconcile,
    _report,
    _serve,
    _simulate,
    _store,
    _vetting,
)
from tallyclerk.cli._common import err_console, state

app = typer.Typer(
    name="tallyclerk",
    help="tallyclerk: the control tower for brands that outsource fulfillment to 3PLs.\n\n"
    "Ingest orders, shipments, inventory and invoices; hold each 3PL to its contract.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL (default: TALLYCLERK_DATABASE_URL, else duckdb:///tallyclerk.duckdb).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """tallyclerk: the control tower for brands that outsource fulfillment to 3PLs."""
    state.database_url = db


app.command("init")(_store.init)
app.command("status")(_store.status)
app.command("ingest")(_ingest.ingest)
app.command("batches")(_ingest.batches)
app.command("replay")(_ingest.replay)
app.command("watch")(_outbound.watch)
app.command("release")(_outbound.release)
app.command("outbox")(_outbound.outbox)
app.command("evaluate")(_evaluate.evaluate_command)
app.command("reconcile")(_reconcile.reconcile_command)
app.command("inventory")(_inventory.inventory_command)
app.command("experience")(_experience.experience_command)
app.command("simulate")(_simulate.simulate_command)
app.command("demo")(_simulate.demo)
app.command("serve")(_serve.serve)
app.command("forecast")(_forecast.forecast_command)
app.command("vet")(_vetting.vet_command)
app.add_typer(_quarantine.app, name="quarantine")
app.add_typer(_contract.app, name="contract")
app.add_typer(_kpi.app, name="kpi")
app.add_typer(_store.export_app, name="export")
app.add_typer(_billing.app, name="billing")
app.add_typer(_findings.app, name="findings")
app.add_typer(_disputes.app, name="dispute")
app.add_typer(_forecast.peak_app, name="peak")
app.add_typer(_access.user_app, name="user")
app.add_typer(_access.token_app, name="token")
app.add_typer(_actions.app, name="action")
app.add_typer(_alerts.app, name="alerts")
app.add_typer(_report.app, name="report")


def main() -> None:
    """Entry point: run the app; an unexpected failure prints one line, not a stack trace."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # the last line of defence: no stack trace reaches a user
        if os.environ.get("TALLYCLERK_DEBUG"):
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
            "This is a bug in tallyclerk; run again with TALLYCLERK_DEBUG=1 to see the details."
        )
        sys.exit(70)
