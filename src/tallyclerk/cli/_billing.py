"""`tallyclerk billing audit|dispute`: invoices against the rate card and the activity."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated

import typer
from rich.markup import escape

from tallyclerk.cli._common import console, err_console, state, store_session
from tallyclerk.cli._evaluate import parse_as_of
from tallyclerk.cli._findings import (
    Column,
    Entry,
    current_user,
    fitted_table,
    format_money,
    where,
)
from tallyclerk.reconcile import CHECKS, dispute_finding
from tallyclerk.reconcile._invoice import InvoiceAudit, audit_invoices

app = typer.Typer(
    help="Invoices against the rate card and the recorded activity: audit, dispute.",
    no_args_is_help=True,
)


def money(amount: Decimal | None, currency: str | None) -> str:
    """Money with 2 decimals and its currency: 1,234.50 USD (— for none)."""
    return format_money(amount, currency, blank="—")


# Finding kinds as the invoice table counts them (the findings tables below name them in full).
_SHORT = {
    "duplicate_charge": "dup",
    "unknown_reference": "ref",
    "wrong_rate": "rate",
    "wrong_quantity": "qty",
    "wrong_amount": "amount",
    "unbilled_activity": "unbilled",
}


# A finding of one kind: its id, the invoice line (or activity), where, how much (then why).
_FINDING_COLUMNS = (
    Column("id", right=True, keep=9),
    Column("subject", keep=8),
    Column("provider", keep=4),
    Column("amount", right=True, keep=7),
)


def _period(start: date | None, end: date | None) -> str:
    """2026-03 for a calendar month, else the first and last day."""
    if start is None or end is None:
        return str(start or end or "")
    if (
        start.day == 1
        and (end + timedelta(days=1)).day == 1
        and start.strftime("%Y%m") == end.strftime("%Y%m")
    ):
        return f"{start:%Y-%m}"
    return f"{start} – {end}"


@app.command("audit")
def audit_command(
    invoice: Annotated[
        list[str] | None, typer.Option("--invoice", help="Only this invoice (repeatable).")
    ] = None,
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider (repeatable).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Audit as if the clock read this time (ISO).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
    record: Annotated[
        bool,
        typer.Option("--record/--no-record", help="Keep the findings (default) or only show."),
    ] = True,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="Show at most this many findings per kind.")
    ] = 25,
) -> None:
    """Check every invoice line against the contract's rates and the recorded activity.

    Wrong rate, quantity that differs from the activity (storage: pallets at the month's
    last snapshot), amount that is not quantity x rate, a charge billed twice, a reference
    to nothing, and activity never billed. One row per invoice with what was billed, what
    is owed, over- and under-billed; then the findings by kind. Findings are kept (turn one
    into a dispute with `tallyclerk billing dispute ID`) unless --no-record.

    Examples:

      tallyclerk billing audit

      tallyclerk billing audit --invoice INV-EB-202603 --invoice INV-EB-202611

      tallyclerk billing audit --provider eastbridge --json --no-record
    """
    with store_session() as store:
        report = audit_invoices(
            store,
            invoice or None,
            as_of=parse_as_of(as_of),
            providers=provider or None,
            record=record,
            settings=state.effective_settings(),
        )
    unknown = sorted(set(invoice or ()) - {s.invoice_id for s in report.invoices})
    if unknown:
        err_console.print(
            f"[yellow]warning:[/] no invoice {', '.join(unknown)} issued by "
            f"{report.as_of:%Y-%m-%d %H:%M} UTC (check the id, the provider, or --as-of)"
        )
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
        return
    print_audit(report, limit=limit)


def print_audit(report: InvoiceAudit, *, limit: int = 25) -> None:
    """The per-invoice table, then the findings grouped by kind."""
    console.print(f"[bold]Invoice audit[/] as of {report.as_of:%Y-%m-%d %H:%M} UTC")
    if not report.invoices:
        console.print("No invoice issued by then (ingest invoice_lines first).")
    else:
        currencies = sorted({s.currency for s in report.invoices})
        one = currencies[0] if len(currencies) == 1 else None
        columns = [
            Column("invoice", keep=9),
            Column("provider", keep=3),
            Column("period", keep=4),
            Column("lines", right=True, keep=2),
            *([] if one else [Column("cur", keep=8)]),
            Column("billed", right=True, keep=8),
            Column("expected", right=True, keep=5),
            Column("over", right=True, keep=7),
            Column("under", right=True, keep=6),
        ]
        entries = []
        for s in report.invoices:
            over = money(s.over_billed, None)
            entries.append(
                Entry(
                    [
                        escape(s.invoice_id),
                        escape(s.provider_id),
                        _period(s.period_start, s.period_end),
                        f"{s.lines:,}",
                        *([] if one else [s.currency]),
                        money(s.billed, None),
                        money(s.expected, None),
                        f"[bold red]{over}[/]" if s.over_billed else over,
                        money(s.under_billed, None),
                    ],
                    note=", ".join(f"{n} {_SHORT.get(k, k)}" for k, n in s.findings.items()),
                )
            )
        table = fitted_table(
            "Invoices" + (f" (amounts in {one})" if one else ""),
            columns,
            entries,
            note="findings",
            note_min=20,
            empty_note="[green]clean[/]",
            label_note=True,
        )
        console.print(table)
        if any(s.findings for s in report.invoices):
            console.print(
                "[dim]findings: "
                + ", ".join(f"{short} = {kind}" for kind, short in _SHORT.items())
                + "[/]"
            )
        for currency, t in report.totals().items():
            console.print(
                f"Total {currency}: billed {money(t['billed'], currency)}, expected "
                f"{money(t['expected'], currency)}, over-billed {money(t['over'], currency)}, "
                f"under-billed {money(t['under'], currency)}, net {money(t['net'], currency)}"
            )
    groups = report.by_kind()
    if not groups:
        console.print("[green]No findings.[/]")
    for kind, items in groups.items():
        title = CHECKS[kind].title if kind in CHECKS else kind
        entries = [
            Entry(
                [
                    str(f.finding_id) if f.finding_id is not None else "—",
                    escape(f.detected.subject_id),
                    escape(where(f.detected.provider_id, f.detected.facility_id)),
                    money(f.detected.amount, f.detected.currency),
                ],
                note=escape(f.detected.reason)
                + (f" [dim](dispute {escape(f.dispute_id)})[/]" if f.dispute_id else ""),
            )
            for f in items[:limit]
        ]
        table = fitted_table(
            f"{title} ({kind}): {len(items):,}", _FINDING_COLUMNS, entries, note="reason"
        )
        console.print(table)
        if len(items) > limit:
            console.print(f"[dim]… and {len(items) - limit:,} more (--limit)[/]")
    if report.sync is not None:
        sync = report.sync
        console.print(
            f"Findings kept: {sync.new} new, {sync.seen_again} seen again, "
            f"{sync.reopened} reopened, {sync.cleared} no longer found."
        )
    elif report.findings:
        console.print("[dim]Not recorded (--no-record).[/]")


@app.command("dispute")
def dispute_command(
    finding_id: Annotated[int, typer.Argument(help="A finding id from `billing audit`.")],
    by: Annotated[str | None, typer.Option("--by", help="Who opens it (default: you).")] = None,
    note: Annotated[str | None, typer.Option("--note", help="A note for the provider.")] = None,
) -> None:
    """Turn a finding into an open dispute with the provider, carrying its amount.

    Examples:

      tallyclerk billing dispute 12

      tallyclerk billing dispute 12 --by ana --note "pick_pack billed twice for this order"
    """
    with store_session() as store:
        finding, dispute = dispute_finding(
            store,
            finding_id,
            by=by or current_user(),
            note=note,
            settings=state.effective_settings(),
        )
    console.print(
        f"Dispute [bold]{dispute.dispute_id}[/] opened with {dispute.provider_id} for "
        f"{money(dispute.amount, dispute.currency)}: {finding.kind} {finding.subject_id}"
    )
