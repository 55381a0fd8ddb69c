"""`tallyclerk forecast` and `tallyclerk peak simulate`: demand ahead against capacity."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tallyclerk.cli._common import console, state, store_session, user_errors
from tallyclerk.errors import InputError
from tallyclerk.forecast import (
    DEFAULT_HORIZON,
    ForecastRun,
    SeriesForecast,
    forecast_inputs,
    plot_run,
    read_inputs,
    run_document,
    save_run,
)
from tallyclerk.forecast._peak import PeakResult
from tallyclerk.forecast._scenario_run import ScenarioOutcome

BAR_WIDTH = 20


def _parse_day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


def forecast_command(
    provider: Annotated[
        str | None, typer.Option("--provider", help="Only this provider (default: every one).")
    ] = None,
    horizon: Annotated[
        int, typer.Option("--horizon", min=1, max=366, help="Days to forecast.")
    ] = DEFAULT_HORIZON,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Last day of history to use (YYYY-MM-DD; default yesterday in the brand's zone).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Also draw the forecast against capacity into FILE.png|svg."),
    ] = None,
    save: Annotated[
        bool,
        typer.Option(
            "--save/--no-save", help="Keep the run in the store for the dashboard (default)."
        ),
    ] = True,
) -> None:
    """Forecast daily orders and units per 3PL and facility, and check them against capacity.

    Reads the orders released to each provider (by facility-local day) and the store's orders,
    chooses a model per series by rolling-origin cross-validation (seasonal naive, ETS, MSTL
    with weekly and yearly seasonality, ARIMA with retail-peak holiday features, whichever
    the history supports), and reports its MASE and sMAPE next to the seasonal-naive
    baseline. P50 and P90 per day. A provider whose own history holds no past peak while the
    store's does is forecast top-down from the store. Weeks where the P90 of a business
    day's orders exceeds the contract's capacity are flagged with the size of the gap.

    The store is read first and then released while the models run, so a server sharing
    the DuckDB file is held up only for the reading and the saving.

    Examples:

      tallyclerk forecast

      tallyclerk forecast --provider eastbridge --horizon 60 --plot eastbridge.png

      tallyclerk forecast --as-of 2026-10-31 --json > forecast.json
    """
    with user_errors():
        if plot is not None and plot.suffix.lower() not in (".png", ".svg"):
            raise InputError(f"--plot {plot}: give a file ending in .png or .svg")
        settings = state.effective_settings()
        last = _parse_day(as_of, "--as-of")
        with console.status("reading the daily history", spinner="dots"), store_session() as store:
            inputs = read_inputs(
                store, as_of=last, horizon=horizon, provider_id=provider, settings=settings
            )
        with console.status(
            f"choosing and fitting models for {len(inputs.histories)} series", spinner="dots"
        ):
            run = forecast_inputs(inputs)
        if save:
            with store_session() as store, store.begin() as connection:
                save_run(connection, run, created_by="cli")
        if plot is not None:
            plot_run(run, plot, [provider] if provider else None)
    if as_json:
        console.print_json(json.dumps(run_document(run)))
        return
    print_run(run)
    if plot is not None:
        console.print(f"chart written to {plot}")
    if save and run.run_id is not None:
        console.print(f"[dim]kept as forecast run {run.run_id}; the dashboard shows it.[/]")


def _accuracy(forecast: SeriesForecast) -> tuple[str, str]:
    chosen, base = forecast.chosen, forecast.baseline
    if chosen is None or chosen.mase is None:
        return "—", "—"
    mase = f"{chosen.mase:.2f}"
    if base is not None and base.mase is not None:
        mase += f" [dim]({base.mase:.2f})[/]"
    smape = "—" if chosen.smape is None else f"{chosen.smape:.1f}%"
    return mase, smape


def print_run(run: ForecastRun, measures: tuple[str, ...] = ("orders", "units")) -> None:
    """The series table, their notes, then per provider its weeks against capacity."""
    table = Table(
        title=f"Forecast from history to {run.as_of}, {run.horizon} days ahead",
        title_justify="left",
        caption="MASE below 1 beats the weekly seasonal naive in sample; (naive): the "
        "seasonal naive's own MASE on the same test days.",
        caption_justify="left",
    )
    table.add_column("series")
    table.add_column("model")
    table.add_column("method")
    table.add_column("MASE (naive)", justify="right")
    table.add_column("sMAPE", justify="right")
    table.add_column("next 7 days", justify="right")
    shown = [f for f in run.series if f.key.measure in measures]
    for forecast in shown:
        mase, smape = _accuracy(forecast)
        table.add_row(
            forecast.key.label,
            forecast.model,
            f"{forecast.method} ({forecast.history_days} d)",
            mase,
            smape,
            f"{float(forecast.p50[:7].sum()):,.0f}",
        )
    console.print(table)
    # Notes of the store's and each provider's series (facilities repeat them), each once.
    seen: set[str] = set()
    for forecast in shown:
        if forecast.key.facility_id is not None:
            continue
        for note in forecast.notes:
            if note not in seen:
                seen.add(note)
                console.print(f"[dim]- {forecast.key.label}: {note}[/]")
    for provider_id in sorted(run.capacity):
        _print_capacity(run, provider_id)


def _print_capacity(run: ForecastRun, provider_id: str) -> None:
    report = run.capacity[provider_id]
    if not report.weeks:
        for note in report.notes:
            console.print(f"[yellow]{note}[/]")
        return
    scale = max(
        max(w.p90_peak_day for w in report.weeks),
        max((w.capacity_per_day or 0) for w in report.weeks),
    )
    table = Table(
        title=f"{provider_id}: the busiest business day of each week (P90) against capacity",
        title_justify="left",
        caption="P50: the week's orders; P90 day: the busiest business day's P90 load (closed "
        "days' orders carried to it); capacity per day, p: the peak figure; over: orders over "
        f"capacity in the week. Bars to scale {scale:,.0f}.",
        caption_justify="left",
    )
    table.add_column("week")
    table.add_column("P50", justify="right")
    table.add_column("P90 day", justify="right")
    table.add_column("capacity", justify="right")
    table.add_column("over", justify="right")
    table.add_column("P90 day █ vs capacity │")
    for week in report.weeks:
        gap = f"[bold red]{week.gap_orders:,.0f}[/]" if week.flagged else ""
        capacity = "—" if week.capacity_per_day is None else f"{week.capacity_per_day:,}"
        if week.peak_terms:
            capacity += "[dim]p[/]"
        table.add_row(
            week.week,
            f"{week.p50_orders:,.0f}",
            f"{week.p90_peak_day:,.0f}",
            capacity,
            gap,
            _bar(week.p90_peak_day, week.capacity_per_day, scale, week.flagged),
        )
    console.print(table)
    storage = report.storage
    if storage is not None and storage.pallets is not None:
        trend = "" if storage.trend_per_week is None else f", {storage.trend_per_week:+.1f}/week"
        committed = (
            "no pallets committed"
            if storage.committed is None
            else (f"{storage.committed:,} committed")
        )
        style = "bold red" if storage.flagged else "dim"
        console.print(
            f"[{style}]storage: {storage.pallets:,} pallets on {storage.as_of}{trend}, "
            f"{storage.projected:,} projected; {committed}[/]"
        )
    for note in report.notes:
        console.print(f"[yellow]{note}[/]" if report.flagged_weeks else f"[dim]{note}[/]")


def _bar(value: float, capacity: int | None, scale: float, flagged: bool) -> str:
    """A text bar of `value` with a mark where the capacity falls."""
    if scale <= 0:
        return ""
    filled = round(value / scale * BAR_WIDTH)
    cells = ["█" if i < filled else " " for i in range(BAR_WIDTH + 1)]
    if capacity is not None:
        mark = min(BAR_WIDTH, round(capacity / scale * BAR_WIDTH))
        cells[mark] = "│"
    color = "red" if flagged else "green"
    return f"[{color}]{''.join(cells).rstrip()}[/]"


peak_app = typer.Typer(
    help="Play a peak scenario against a 3PL's capacity, cutoff and calendar.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@peak_app.command("simulate")
def peak_simulate(
    scenario_path: Annotated[
        Path, typer.Argument(metavar="SCENARIO.yaml", help="The scenario file (docs/peak.md).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
    days: Annotated[
        bool, typer.Option("--days", help="Also print every simulated day (all facilities).")
    ] = False,
) -> None:
    """Simulate a peak day by day: backlog, late orders, ship-on-time per period, credits.

    The demand is the provider's forecast as of the scenario's `as_of` (P50 or P90, scaled,
    with promotion spikes), or the orders actually released on days up to `as_of`. Each
    business day a facility ships up to its capacity, earliest due first; an order released
    after the cutoff is due the next business day. The periods are the SLA's (months split
    at the contract's peak windows), judged against the contract's ship_on_time_rate target,
    with the credits they would trigger. The recommendation: the capacity to book, or the
    share of orders to route to a second provider, to stay on target.

    Examples:

      tallyclerk peak simulate examples/peak/forecast-p90.yaml

      tallyclerk peak simulate examples/peak/black-friday-promo.yaml --days

      tallyclerk peak simulate my-peak.yaml --json > peak.json
    """
    from tallyclerk.forecast._scenario import load_scenario
    from tallyclerk.forecast._scenario_run import read_scenario_inputs, simulate_scenario

    with user_errors():
        scenario = load_scenario(scenario_path)
        settings = state.effective_settings()
        with console.status("reading the history", spinner="dots"), store_session() as store:
            inputs = read_scenario_inputs(store, scenario, settings=settings)
        with console.status("forecasting and simulating", spinner="dots"):
            outcome = simulate_scenario(inputs)
    if as_json:
        document = {
            "scenario": scenario.name,
            "as_of": outcome.as_of.isoformat(),
            "notes": outcome.notes,
            **outcome.result.as_dict(),
        }
        if not days:
            document.pop("facility_days", None)
        console.print_json(json.dumps(document))
        return
    print_outcome(outcome, days)


def print_outcome(outcome: ScenarioOutcome, show_days: bool) -> None:
    """Facilities, SLA periods, credits, totals, (days,) the recommendation and notes."""
    result = outcome.result
    scenario = outcome.scenario
    totals = result.totals
    console.print(
        f"[bold]{scenario.name}[/]: {result.provider_id}, {result.start} to {result.end}, "
        f"demand {scenario.demand.quantile.upper()} from history up to {outcome.as_of}"
    )
    facilities = Table(title="Facilities", title_justify="left")
    for column in ("facility", "orders", "capacity share", "released before cutoff"):
        facilities.add_column(column, justify="left" if column == "facility" else "right")
    for plan in result.facilities:
        facilities.add_row(
            plan.facility_id,
            f"{plan.orders:,.0f}",
            f"{plan.capacity_share:.0%}",
            f"{plan.before_cutoff_share:.0%}",
        )
    console.print(facilities)
    periods = Table(title="Ship on time, per SLA period", title_justify="left")
    for column in ("month", "segment", "due", "on time", "late", "rate", "target", ""):
        periods.add_column(
            column,
            justify="right" if column in ("due", "on time", "late", "rate", "target") else "left",
        )
    for period in result.periods:
        rate = "—" if period.rate is None else f"{period.rate:.2%}"
        target = (
            "—"
            if period.target is None
            else f"{'≤' if period.lower_is_better else '≥'} {period.target:.2%}"
        )
        verdict = {True: "[green]met[/]", False: "[bold red]missed[/]", None: ""}[period.met]
        periods.add_row(
            f"{period.period:%Y-%m}",
            f"{period.start:%m-%d}..{period.end:%m-%d} {period.label}",
            f"{period.due:,.0f}",
            f"{period.on_time:,.0f}",
            f"{period.late:,.0f}",
            rate,
            target,
            verdict,
        )
    console.print(periods)
    credits = [c for c in result.credits if c.lines]
    if credits:
        table = Table(title="Credits the provider would owe", title_justify="left")
        table.add_column("month")
        table.add_column("fees", justify="right")
        table.add_column("credit", justify="right")
        table.add_column("basis")
        for month in credits:
            basis = "; ".join(line.basis for line in month.lines)
            table.add_row(
                f"{month.period:%Y-%m}",
                f"{month.fees:,} {month.currency}",
                f"{month.total:,} {month.currency}",
                basis,
            )
        console.print(table)
    worst = (
        f"worst backlog {totals.worst_backlog:,.0f} orders on {totals.worst_backlog_day}"
        if totals.worst_backlog_day
        else "no backlog"
    )
    console.print(
        f"{totals.arrived:,.0f} orders arrive, {totals.due:,.0f} fall due, "
        f"{totals.on_time:,.0f} ship on time, [bold]{totals.late:,.0f} late[/]; {worst}."
    )
    if show_days:
        _print_days(result)
    style = "bold yellow" if result.recommendation.needed else "green"
    console.print(f"\n[{style}]Recommendation[/]")
    for line in result.recommendation.summary:
        console.print(f"  {line}")
    for note in (*outcome.notes, *result.notes):
        console.print(f"[dim]- {note}[/]")


def _print_days(result: PeakResult) -> None:
    rows = result.by_day()
    scale = max((max(r.due, r.capacity, r.backlog) for r in rows), default=0.0)
    table = Table(title="Day by day (all facilities)", title_justify="left")
    for column in ("day", "arriving", "due", "capacity", "shipped", "late", "backlog"):
        table.add_column(column, justify="left" if column == "day" else "right")
    table.add_column("backlog (█) vs capacity (│)")
    for row in rows:
        late = f"[red]{row.late:,.0f}[/]" if row.late >= 0.5 else ""
        table.add_row(
            f"{row.day:%a %m-%d}" + (" [dim]off[/]" if not row.business_day else ""),
            f"{row.arriving:,.0f}",
            f"{row.due:,.0f}",
            f"{row.capacity:,.0f}",
            f"{row.shipped:,.0f}",
            late,
            f"{row.backlog:,.0f}",
            _bar(
                row.backlog,
                round(row.capacity) if row.business_day else None,
                scale,
                row.overdue >= 0.5,
            ),
        )
    console.print(table)


__all__ = ["forecast_command", "peak_app", "print_outcome", "print_run"]
