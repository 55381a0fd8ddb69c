"""`tallyclerk inventory`: the brand's book against the 3PL's counts, and why they differ."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tallyclerk.cli._common import console, state, store_session
from tallyclerk.cli._evaluate import parse_as_of
from tallyclerk.cli._findings import Column, Entry, fitted_table, format_money
from tallyclerk.errors import InputError
from tallyclerk.metrics import open_context
from tallyclerk.reconcile._inventory import (
    BookExplanation,
    InventoryReport,
    SkuPosition,
    explain_book,
    inventory_report,
)


def _start(text: str | None) -> datetime | None:
    """--from: an ISO timestamp (naive means UTC) or a date (its start, UTC)."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--from {text!r} is not an ISO timestamp or date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _end(text: str | None) -> datetime | None:
    """--to: like --as-of (a date means its end)."""
    try:
        return parse_as_of(text)
    except InputError:
        raise InputError(f"--to {text!r} is not an ISO timestamp or date") from None


def _money(value: Decimal | None, currency: str | None = None, *, signed: bool = True) -> str:
    return format_money(value, currency, signed=signed, blank="—")


def _day(p: SkuPosition) -> str:
    return (p.snapshot_date or p.as_of.date()).isoformat()


def _print_report(report: InventoryReport, include_all: bool) -> None:
    totals = report.totals()
    clock = report.as_of.isoformat(timespec="minutes")
    console.print(
        f"Inventory book against the 3PL counts at each facility's latest snapshot "
        f"(clock {clock}): {report.checked:,} (facility, SKU) reconciled, "
        f"{totals['out_of_tolerance']:,} out of tolerance, {totals['drifting']:,} drifting."
    )
    if not report.positions:
        if report.checked:
            console.print("Every count matches the book within the contract's tolerance.")
        else:
            console.print("No inventory snapshot in the store for this selection.")
        return
    title = "Every SKU" if include_all else "SKUs off the book (or drifting)"
    columns = [
        Column("provider", keep=4),
        Column("facility", keep=6),
        Column("sku", keep=9),
        Column("snapshot", keep=1),
        Column("book", right=True, keep=7),
        Column("3PL on_hand", right=True, keep=7),
        Column("variance", right=True, keep=8),
        Column("value", right=True, keep=8),
        Column("drift /30d", right=True, keep=3),
        Column("first gap", keep=2),
    ]
    entries = []
    for p in report.positions:
        on_hand = f"{p.on_hand:,}" if p.reported_on_hand is not None else "0 (not listed)"
        entries.append(
            Entry(
                [
                    escape(p.provider_id),
                    escape(p.facility_id),
                    escape(p.sku),
                    _day(p),
                    f"{p.book:,}",
                    on_hand,
                    f"{p.variance:+,}",
                    _money(p.variance_value, p.currency),
                    "—" if p.drift_per_30_days is None else f"{p.drift_per_30_days:+.1f}",
                    "—" if p.first_gap_date is None else p.first_gap_date.isoformat(),
                ],
                note=escape(p.trend),
                style="red" if not p.within_tolerance else ("yellow" if p.drifting else None),
            )
        )
    net: dict[str, Decimal] = totals["net_value"]
    stake: dict[str, Decimal] = totals["value_at_stake"]
    if entries:
        entries[-1] = replace(entries[-1], end_section=True)
    entries.append(
        Entry(
            [
                "",
                "",
                f"total: {totals['skus']:,} SKUs",
                "",
                "",
                "",
                f"-{totals['units_short']:,} / +{totals['units_over']:,}",
                "; ".join(_money(v, c) for c, v in sorted(net.items())) or "—",
                "",
                "",
            ],
            style="bold",
        )
    )
    table = fitted_table(
        f"{title}, money at stake first", columns, entries, note="trend", note_min=30
    )
    console.print(table)
    if stake:
        listed = "; ".join(_money(v, c, signed=False) for c, v in sorted(stake.items()))
        console.print(f"Value at stake (short and over, at unit cost): {listed}.")
    console.print(
        "[dim]Why a book says what it says: tallyclerk inventory --sku SKU --facility F "
        "--explain[/]"
    )


def _report_document(report: InventoryReport) -> dict[str, Any]:
    totals = report.totals()
    return {
        "as_of": report.as_of.isoformat(),
        "checked": report.checked,
        "totals": {
            **{k: v for k, v in totals.items() if not isinstance(v, dict)},
            "net_value": {c: str(v) for c, v in totals["net_value"].items()},
            "value_at_stake": {c: str(v) for c, v in totals["value_at_stake"].items()},
        },
        "skus": [p.as_dict() for p in report.positions],
    }


_LABELS = {
    "received": "received (stocked)",
    "shipped": "shipped",
    "restocked": "return restocked",
    "adjusted": "adjustment (approved)",
    "unapproved": "adjustment NOT approved: not in the book",
}


def _print_explanation(explained: BookExplanation) -> None:
    e = explained
    console.print(
        f"Book of {e.sku} at {e.facility_id} ({e.provider_id}): baseline {e.first_on_hand:,} "
        f"at the first snapshot {e.first_at.isoformat(timespec='minutes')}; "
        f"{len(e.steps)} of {e.snapshots} snapshots shown."
    )
    console.print(
        "book = previous book + received - shipped + restocked returns + approved adjustments"
    )
    for step in e.steps:
        day = (step.snapshot_date or step.as_of.date()).isoformat()
        console.print()
        if step.previous_at is None:
            console.print(f"[bold]{day}[/]: first snapshot, the book starts at {step.book:,}.")
            continue
        change = "" if step.variance_change is None else f" ({step.variance_change:+,} since)"
        counted = (
            f"{step.on_hand:,}" if step.reported_on_hand is not None else "nothing (not listed)"
        )
        console.print(
            f"[bold]{day}[/]: book {step.previous_book:,} -> {step.book:,} "
            f"(+{step.received:,} received, -{step.shipped:,} shipped, "
            f"+{step.restocked:,} restocked, {step.adjusted:+,} adjusted); "
            f"3PL counted {counted}: variance {step.variance:+,}{change}"
            + (f", {_money(step.variance_value, e.currency)}" if step.variance else "")
        )
        if step.unapproved:
            console.print(
                f"  [yellow]unapproved adjustments {step.unapproved:+,} in this interval "
                "(not in the book)[/]"
            )
        if not step.records:
            console.print("  no record moved the book in this interval")
            continue
        table = Table(show_header=True, box=None, padding=(0, 2))
        for name, right in (("at (UTC)", False), ("record", False), ("what", False), ("qty", True)):
            table.add_column(name, justify="right" if right else "left")
        for r in step.records:
            table.add_row(
                r.at.strftime("%Y-%m-%d %H:%M"),
                r.record_id,
                _LABELS.get(r.component, r.component),
                f"{r.qty:+,}",
                style=None if r.in_book else "yellow",
            )
        console.print(table)


def inventory_command(
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider (repeatable).")
    ] = None,
    facility: Annotated[
        list[str] | None, typer.Option("--facility", help="Only this facility (repeatable).")
    ] = None,
    sku: Annotated[
        list[str] | None, typer.Option("--sku", help="Only this SKU (repeatable).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Reconcile as if the clock read this time (ISO; default now)."
        ),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list the SKUs within tolerance.")
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="With one --sku: the records that moved its book between snapshots.",
        ),
    ] = False,
    start: Annotated[
        str | None,
        typer.Option("--from", help="--explain: snapshots from this date or time (ISO)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", help="--explain: snapshots up to this date or time (ISO)."),
    ] = None,
    last: Annotated[
        int,
        typer.Option("--last", help="--explain without --from/--to: the last N snapshots."),
    ] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Reconcile the inventory book against the 3PL's counts, SKU by SKU.

    The book of a (facility, SKU) is its first snapshot's on_hand + stocked receipts -
    shipped units + restocked returns + approved adjustments, up to each snapshot. Listed:
    the SKUs whose count at the facility's latest snapshot is off the book beyond the
    contract's tolerance (or whose shortfall keeps growing), with the variance in units and
    at unit cost, the trend and the first snapshot with a gap, money at stake first.
    --explain lists, for one SKU, the receipts, shipments, returns and adjustments that
    moved its book between snapshots, and the unapproved adjustments that did not.

    Examples:

      tallyclerk inventory

      tallyclerk inventory --provider westcoast --all --json

      tallyclerk inventory --facility LAX1 --sku JKT-BRO-XS --explain --last 6

      tallyclerk inventory --facility LAX1 --sku JKT-BRO-XS --explain --from 2026-03-01
    """
    with store_session() as store:
        if explain and len(sku or []) != 1:
            raise InputError("--explain needs exactly one --sku")
        if explain and (len(provider or []) > 1 or len(facility or []) > 1):
            raise InputError("--explain takes at most one --provider and one --facility")
        if last < 0:
            raise InputError("--last must be 0 or more")
        clock = parse_as_of(as_of)
        window = (_start(start), _end(end))
        with open_context(store, as_of=clock, settings=state.effective_settings()) as ctx:
            if explain:
                assert sku is not None
                explained = explain_book(
                    ctx,
                    sku[0],
                    provider_id=provider[0] if provider else None,
                    facility_id=facility[0] if facility else None,
                    start=window[0],
                    end=window[1],
                    last=last,
                )
                if as_json:
                    console.print_json(json.dumps(explained.as_dict()))
                else:
                    _print_explanation(explained)
                return
            report = inventory_report(
                ctx, providers=provider, facilities=facility, skus=sku, include_all=show_all
            )
    if as_json:
        console.print_json(json.dumps(_report_document(report)))
        return
    _print_report(report, show_all)
