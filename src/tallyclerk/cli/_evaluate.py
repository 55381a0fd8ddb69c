"""`tallyclerk evaluate`: the scorecard of a period, its credits and its burn rates."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from tallyclerk.cli._common import console, err_console, state, store_session
from tallyclerk.errors import InputError
from tallyclerk.metrics import ENGINES, get_metric
from tallyclerk.sla import EvaluationReport, MetricEvaluation, evaluate, parse_period


def parse_as_of(text: str | None) -> datetime | None:
    """An ISO timestamp (naive means UTC) or a date (its end, UTC)."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--as-of {text!r} is not an ISO timestamp or date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_value(metric: str, value: float | None) -> str:
    """A figure as people read it: 98.25% or 31.5 h; an em dash for no data."""
    if value is None:
        return "—"
    if get_metric(metric).unit == "hours":
        return f"{value:,.1f} h"
    return f"{value * 100:.2f}%"


def format_threshold(m: MetricEvaluation) -> str:
    """The contract's bar: ≥ target or ≤ max."""
    return ("≤ " if m.lower_is_better else "≥ ") + format_value(m.metric, m.threshold)


def evaluate_command(
    period: Annotated[
        str | None,
        typer.Option(
            "--period", "-p", help="The month, e.g. 2026-11 (default: the month of --as-of)."
        ),
    ] = None,
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider (repeatable).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Evaluate as if the clock read this time (ISO; default now)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
    engine: Annotated[
        str | None,
        typer.Option("--engine", help="duckdb | postgres | spark (default: the store's own)."),
    ] = None,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Keep this evaluation in the history.")
    ] = True,
) -> None:
    """Hold each 3PL to its contract for a month: scorecard, credits, burn-rate warnings.

    Each contracted metric is evaluated against its target (peak variants and exclusion
    windows applied), credits are priced from the period's fees, and for a month still
    running the error budget's burn rate warns before the month is lost. Every run is
    kept; a figure that moved since the previous run (late data) is listed.

    Examples:

      tallyclerk evaluate --period 2026-11

      tallyclerk evaluate --period 2026-11 --provider eastbridge --as-of 2026-11-25T12:00 --json

      tallyclerk evaluate --period 2026-11 --engine spark
    """
    if engine is not None and engine not in ENGINES:
        err_console.print(f"[red]error:[/] --engine must be one of {', '.join(ENGINES)}")
        raise typer.Exit(2)
    with store_session() as store:
        clock = parse_as_of(as_of)
        try:
            month = (
                parse_period(period)
                if period
                else (clock or datetime.now(UTC)).date().replace(day=1)
            )
        except ValueError as exc:
            raise InputError(str(exc)) from None
        report = evaluate(
            store,
            month,
            providers=provider or None,
            as_of=clock,
            engine=engine,
            record=record,
            settings=state.effective_settings(),
        )
    if as_json:
        console.print_json(json.dumps(report_document(report)))
        return
    print_report(report)


def report_document(report: EvaluationReport) -> dict[str, Any]:
    """The JSON document of an evaluation (the CLI's --json and the API share it)."""
    return {
        "period": f"{report.period:%Y-%m}",
        "as_of": report.as_of.isoformat(),
        "engine": report.engine,
        "open": report.open,
        "run_id": report.run_id,
        "providers": [
            {
                "provider": p.provider_id,
                "contract_effective": p.evaluation.contract.effective.isoformat(),
                "metrics": [
                    {
                        "name": m.metric,
                        "segment": m.segment.label,
                        "from": m.segment.start.isoformat(),
                        "to": m.segment.end.isoformat(),
                        "value": m.value,
                        "target": m.threshold,
                        "direction": "max" if m.lower_is_better else "min",
                        "met": m.met,
                        "numerator": m.numerator,
                        "denominator": m.denominator,
                        "excluded": m.excluded,
                    }
                    for m in p.evaluation.metrics
                ],
                "not_evaluated": p.evaluation.skipped,
                "credits": {
                    "amount": str(p.credits.total.amount),
                    "currency": p.credits.total.currency,
                    "fees": str(p.credits.fees.amount),
                    "fees_basis": p.credits.fees_basis,
                    "lines": [
                        {
                            "kind": line.kind,
                            "label": line.label,
                            "basis": line.basis,
                            "amount": str(line.amount.amount),
                        }
                        for line in p.credits.lines
                    ],
                },
                "burn": [
                    {
                        "name": b.metric,
                        "state": b.state,
                        "reason": b.reason,
                        "judged": b.judged,
                        "bad": b.bad,
                        "budget": round(b.budget, 2),
                        "burn_short": b.burn_short,
                        "burn_long": b.burn_long,
                        "projected": b.projected,
                    }
                    for b in p.burn
                ],
            }
            for p in report.providers
        ],
        "changes": [
            {
                "provider": c.provider_id,
                "name": c.metric,
                "from": c.segment_from.isoformat(),
                "before": c.before,
                "after": c.after,
                "previous_run": c.previous_run,
            }
            for c in report.changes
        ],
    }


_MET = {True: "[green]✓ met[/]", False: "[bold red]✗ breached[/]", None: "[dim]no data[/]"}
_STATE = {
    "ok": "[green]ok[/]",
    "warn": "[yellow]warn[/]",
    "page": "[bold red]page[/]",
    "no data": "[dim]no data[/]",
}


def print_report(report: EvaluationReport) -> None:
    """The scorecards as tables, one per provider."""
    status = "open period" if report.open else "closed period"
    console.print(
        f"[bold]SLA scorecard {report.period:%Y-%m}[/] as of {report.as_of:%Y-%m-%d %H:%M} UTC "
        f"({status}, engine {report.engine})"
    )
    if not report.providers:
        console.print(
            "No provider has a contract in force this period: tallyclerk contract add FILE"
        )
    for p in report.providers:
        table = Table(
            title=f"{p.provider_id} (contract effective {p.evaluation.contract.effective})",
            title_justify="left",
        )
        table.add_column("metric", no_wrap=True)
        table.add_column("days")
        table.add_column("value", justify="right")
        table.add_column("target", justify="right")
        table.add_column("met")
        table.add_column("items", justify="right")
        table.add_column("excl.", justify="right")
        for m in p.evaluation.metrics:
            table.add_row(
                m.metric,
                m.segment.label
                if m.segment.label != "base"
                else f"{m.segment.start:%d}–{m.segment.end:%d}",
                format_value(m.metric, m.value),
                format_threshold(m),
                _MET[m.met],
                f"{m.numerator:,}/{m.denominator:,}",
                f"{m.excluded:,}" if m.excluded else "",
            )
        console.print(table)
        if p.evaluation.skipped:
            console.print(
                "[dim]not evaluated (not in the catalogue yet): "
                f"{', '.join(p.evaluation.skipped)}[/]"
            )
        c = p.credits
        console.print(f"Fees {c.fees} ({c.fees_basis}); credit owed [bold]{c.total}[/]")
        for line in c.lines:
            console.print(f"  {line.label}: {line.amount}  [dim]{line.basis}[/]")
        if p.burn:
            burn = Table(title=f"{p.provider_id}: error budget this month", title_justify="left")
            for name in ("metric", "state", "bad / budget", "why"):
                burn.add_column(name, overflow="fold")
            for b in p.burn:
                burn.add_row(b.metric, _STATE[b.state], f"{b.bad:,} / {b.budget:,.0f}", b.reason)
            console.print(burn)
    if report.changes:
        console.print(
            "[bold]Changed since the previous evaluation[/] (late data or a new contract):"
        )
        for change in report.changes:
            console.print(
                f"  {change.provider_id} {change.metric} from {change.segment_from}: "
                f"{format_value(change.metric, change.before)} → "
                f"{format_value(change.metric, change.after)}"
                f" [dim](run {change.previous_run})[/]"
            )
