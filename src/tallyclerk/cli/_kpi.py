"""`tallyclerk kpi list|show|drill`: the KPI catalogue, its figures and the items behind them."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from tallyclerk.cli._common import console, state, store_session
from tallyclerk.cli._evaluate import format_value, parse_as_of
from tallyclerk.errors import InputError
from tallyclerk.metrics import (
    ENGINES,
    GRAINS,
    Engine,
    Grain,
    catalogue,
    compute,
    get_metric,
    metric_items,
    open_context,
    period_start,
)

app = typer.Typer(
    help="The KPI catalogue: list it, compute figures by period and facility, drill down.",
    no_args_is_help=True,
)


def _grain(text: str) -> Grain:
    if text not in GRAINS:
        raise InputError(f"--grain must be one of {', '.join(GRAINS)}")
    return text


def _engine(text: str | None) -> Engine | None:
    if text is not None and text not in ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ENGINES)}")
    return text


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text if len(text) > 7 else f"{text}-01")
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date (YYYY-MM-DD or YYYY-MM)") from None


def _check_metric(name: str) -> None:
    try:
        get_metric(name)
    except ValueError as exc:
        raise InputError(str(exc)) from None


@app.command("list")
def list_command() -> None:
    """List every KPI: name, unit, which way is better, what it counts.

    Example:

      tallyclerk kpi list
    """
    table = Table(title="KPI catalogue", title_justify="left")
    for name in ("metric", "unit", "better", "numerator / denominator"):
        table.add_column(name, overflow="fold")
    for metric in catalogue():
        table.add_row(
            metric.name,
            metric.unit,
            metric.direction,
            f"{metric.numerator} / {metric.denominator}",
        )
    console.print(table)


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="A metric of `tallyclerk kpi list`.")],
    grain: Annotated[str, typer.Option("--grain", "-g", help="month, week or day.")] = "month",
    by_facility: Annotated[
        bool, typer.Option("--by-facility", help="One row per facility.")
    ] = False,
    provider: Annotated[str | None, typer.Option("--provider", help="Only this provider.")] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First period (YYYY-MM[-DD]).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last period (YYYY-MM[-DD]).")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The evaluation clock (ISO).")
    ] = None,
    engine: Annotated[
        str | None, typer.Option("--engine", help="duckdb | postgres | spark.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compute one KPI per provider (and facility) and period, with numerator and denominator.

    Examples:

      tallyclerk kpi show ship_on_time_rate

      tallyclerk kpi show ship_on_time_rate --grain week --by-facility --from 2026-11 --to 2026-12
    """
    with store_session() as store:
        _check_metric(name)
        with open_context(
            store,
            engine=_engine(engine),
            as_of=parse_as_of(as_of),
            settings=state.effective_settings(),
        ) as ctx:
            results = compute(
                ctx,
                [name],
                grain=_grain(grain),
                by_facility=by_facility,
                start=_day(start, "--from"),
                end=_day(end, "--to"),
            )
    results = [r for r in results if provider is None or r.provider_id == provider]
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {
                        "metric": r.metric,
                        "provider": r.provider_id,
                        "facility": r.facility_id,
                        "period": r.period.isoformat(),
                        "grain": r.grain,
                        "value": r.value,
                        "numerator": r.numerator,
                        "denominator": r.denominator,
                    }
                    for r in results
                ]
            )
        )
        return
    table = Table(title=f"{name} by {grain}", title_justify="left")
    for column in ("provider", *(["facility"] if by_facility else []), "period", "value", "items"):
        table.add_column(column, justify="right" if column in ("value", "items") else "left")
    for r in results:
        table.add_row(
            r.provider_id,
            *([r.facility_id or ""] if by_facility else []),
            f"{r.period}",
            format_value(r.metric, r.value),
            f"{r.numerator:,}/{r.denominator:,}",
        )
    console.print(table)
    if not results:
        console.print("No data for this metric in the store (no data is not 100%).")


@app.command("drill")
def drill_command(
    name: Annotated[str, typer.Argument(help="A metric of `tallyclerk kpi list`.")],
    provider: Annotated[str, typer.Option("--provider", help="The provider.")],
    period: Annotated[str, typer.Option("--period", help="The period's first day or month.")],
    grain: Annotated[str, typer.Option("--grain", "-g", help="month, week or day.")] = "month",
    misses: Annotated[
        bool, typer.Option("--misses", help="The items NOT in the numerator (e.g. late orders).")
    ] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The evaluation clock (ISO).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many.")] = 50,
) -> None:
    """List the items behind a figure: the orders (shipments, ...) in its numerator or not.

    Examples:

      tallyclerk kpi drill ship_on_time_rate --provider eastbridge --period 2026-11 --misses

      tallyclerk kpi drill no_first_scan_rate --provider westcoast --period 2026-06
    """
    first = _day(period, "--period")
    assert first is not None
    chosen_grain = _grain(grain)
    with store_session() as store:
        _check_metric(name)
        with open_context(
            store, as_of=parse_as_of(as_of), settings=state.effective_settings()
        ) as ctx:
            items = metric_items(ctx, name)
            wanted = items.filter(
                (items.provider_id == provider)
                & (period_start(items.period_date, chosen_grain) == first)
                & (items.hit == (not misses))
            )
            ids = sorted(wanted.item_id.to_pyarrow().to_pylist())
    which = "not in the numerator" if misses else "in the numerator"
    console.print(f"{len(ids):,} item(s) of {name} for {provider}, period {first} ({which}):")
    for item_id in ids[:limit]:
        console.print(f"  {item_id}")
    if len(ids) > limit:
        console.print(f"[dim]… and {len(ids) - limit:,} more (--limit)[/]")
