"""`tallyclerk vet`: rank candidate 3PLs on evidence and on their cost to serve this brand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tallyclerk.cli._common import console, state, store_session, user_errors
from tallyclerk.errors import InputError


def vet_command(
    rfp_path: Annotated[
        Path, typer.Argument(metavar="RFP.yaml", help="The RFP file (docs/vetting.md).")
    ],
    window: Annotated[
        str | None,
        typer.Option(
            "--window",
            help="Months of the brand's history to price, e.g. 2026-01..2026-10 "
            "(default: the RFP's window, else the last 12 whole months).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
    save: Annotated[
        bool,
        typer.Option("--save/--no-save", help="Keep the report for the dashboard (default)."),
    ] = True,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the report as a standalone HTML file.")
    ] = None,
) -> None:
    """Rank the RFP's candidates: weighted scorecard with evidence, cost-to-serve, risk.

    Every candidate's proposed rate card is priced on the brand's own activity of the window
    (orders, units, packaging, receipts, returns, storage pallets, shipping), month by month
    and charge by charge. The risk-adjusted cost adds the expected cost of picking errors and
    late shipments, at the rates measured in the candidate's pilot (its data in the store
    under `pilot_provider`) or else claimed. Unverified claims count for less than verified
    ones; capacity fit uses the latest kept forecast (`tallyclerk forecast`). The report is
    kept for the dashboard's vetting page (brand users only) unless --no-save.

    Examples:

      tallyclerk vet examples/vetting/rfp.yaml

      tallyclerk vet rfp.yaml --window 2026-01..2026-10 --out vetting.html

      tallyclerk vet rfp.yaml --json > vetting.json
    """
    from tallyclerk.vetting._cost import parse_window
    from tallyclerk.vetting._document import report_document, report_html
    from tallyclerk.vetting._repository import save_report
    from tallyclerk.vetting._rfp import load_rfp
    from tallyclerk.vetting._service import read_inputs, vet_inputs

    with user_errors():
        rfp = load_rfp(rfp_path)
        months = parse_window(window) if window else None
        settings = state.effective_settings()
        with (
            console.status("reading the brand's activity", spinner="dots"),
            store_session() as store,
        ):
            inputs = read_inputs(store, rfp, window=months, settings=settings)
        report = vet_inputs(inputs)
        if save:
            with store_session() as store, store.begin() as connection:
                save_report(connection, report, created_by="cli")
        if out is not None:
            try:
                out.write_text(report_html(report), encoding="utf-8")
            except OSError as exc:
                raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
    document = report_document(report)
    if as_json:
        console.print_json(json.dumps(document))
        return
    print_report(document)
    if out is not None:
        console.print(f"report written to {out}")


def _peak_late(shortfall: dict[str, object] | None) -> str:
    if shortfall is None:
        return "—"
    late = shortfall["late_orders"]
    assert isinstance(late, int)
    if late == 0:
        return "none"
    return f"[red]{late:,}[/]"


def print_report(doc: dict[str, object]) -> None:
    """The ranked table, each candidate's reasons, and the notes."""
    currency = str(doc["currency"])
    window = doc["window"]
    assert isinstance(window, dict)
    table = Table(
        title=f"{doc['rfp']}: candidates ranked",
        title_justify="left",
        caption=f"Costs per average month of {window['from']}..{window['to']}, in {currency}; "
        "risk-adjusted adds expected errors and late orders. Capacity: the share of the "
        "forecast's busiest P90 day the claimed capacity covers; peak late: the forecast's "
        "orders its claimed capacity would ship late; +N%: risk-adjusted with that growth.",
        caption_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("candidate")
    table.add_column("score", justify="right")
    table.add_column("standing")
    table.add_column("fees/month", justify="right")
    table.add_column("risk-adj./month", justify="right")
    candidates = doc["candidates"]
    assert isinstance(candidates, list)
    first_growth = next((c["growth"] for c in candidates if c["growth"] is not None), None)
    table.add_column(
        f"+{first_growth['pct']}%" if first_growth is not None else "growth", justify="right"
    )
    table.add_column("capacity", justify="right")
    table.add_column("peak late", justify="right")
    table.add_column("integration", justify="right")
    wide = console.width >= 140
    for c in candidates:
        growth = c["growth"]
        fit = c["capacity_fit"]
        integration = c["integration_fit"]
        table.add_row(
            str(c["rank"]),
            f"{c['name']}\n[dim]{c['candidate_id']}[/]" if wide else c["candidate_id"],
            f"{c['score']:.1f}",
            f"{c['standing']}\n[dim]{c['consequence']}[/]" if wide else c["standing"],
            f"{float(c['cost']['monthly']):,.0f}",
            f"{float(c['cost']['risk_adjusted_monthly']):,.0f}",
            "—" if growth is None else f"{float(growth['risk_adjusted_monthly']):,.0f}",
            "—" if fit is None else f"{fit:.0%}",
            _peak_late(c["peak_shortfall"]),
            "—" if integration is None else f"{integration:.0f}",
        )
    console.print(table)
    for c in candidates:
        console.print(
            f"[bold]{c['rank']}. {c['name']}[/] ({c['score']:.1f}, {c['standing']}: "
            f"{c['consequence']})"
        )
        for reason in c["reasons"]:
            console.print(f"  - {reason}")
    notes = doc["notes"]
    assert isinstance(notes, list)
    for note in notes:
        console.print(f"[dim]{note}[/]")


__all__ = ["print_report", "vet_command"]
