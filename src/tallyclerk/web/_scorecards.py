"""The overview, a provider's page with its KPI trends, and the items behind a figure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from tallyclerk.access import NotFoundError
from tallyclerk.api.routes.forecast import scoped_run
from tallyclerk.contracts._repository import stored_contracts
from tallyclerk.metrics import REGISTRY, metric_items, open_context, period_start
from tallyclerk.sla import (
    BurnWatch,
    MetricStanding,
    Scorecard,
    credit_lines,
    latest_burn,
    ledger,
    list_disputes,
    metric_trend,
    periods_evaluated,
    scorecards,
)
from tallyclerk.web._common import (
    PAGE_SIZE,
    ViewerDep,
    format_figure,
    metric_label,
    metric_unit,
    parse_month,
)

router = APIRouter(include_in_schema=False)
TREND_MONTHS = 12


def _provider_names(viewer: ViewerDep) -> dict[str, str]:
    """provider -> its contract's name, for the providers the viewer may see."""
    with viewer.store.connect() as connection:
        stored = stored_contracts(connection)
    names: dict[str, str] = {}
    for contract in stored:  # oldest first: the latest version's name wins
        if viewer.scope.allows(contract.provider_id):
            names[contract.provider_id] = contract.name or contract.provider_id
    return names


@router.get("/", response_class=HTMLResponse)
def overview(viewer: ViewerDep, period: str | None = None) -> HTMLResponse:
    """One card per provider in scope: each contracted metric against target, burn, credits."""
    providers = viewer.scope.providers()
    chosen = parse_month(period)
    with viewer.store.connect() as connection:
        evaluated = periods_evaluated(connection, providers=providers)
        month = chosen or (evaluated[0] if evaluated else None)
        cards = scorecards(connection, providers=providers, period=month) if month else []
        watches: dict[str, list[BurnWatch]] = {}
        for watch in latest_burn(connection, providers=providers):
            watches.setdefault(watch.provider_id, []).append(watch)
        forecast = scoped_run(connection, viewer.scope, store_series=False)
    names = _provider_names(viewer)
    shown = {card.provider_id for card in cards}
    return viewer.render(
        "overview.html",
        period=month,
        periods=evaluated,
        cards=cards,
        watches=watches,
        forecast=forecast,
        names=names,
        unevaluated=sorted(p for p in names if p not in shown),
    )


def _known_provider(viewer: ViewerDep, provider_id: str) -> str:
    """The provider's name; 404 when it is outside the scope or has no contract."""
    viewer.scope.check(provider_id, "provider")
    names = _provider_names(viewer)
    if provider_id not in names:
        raise NotFoundError(f"no provider {provider_id!r}")
    return names[provider_id]


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One month of a metric's trend (segments of a month folded into one figure)."""

    period: date
    value: float | None
    threshold: float


def _fold(standings: Sequence[MetricStanding]) -> TrendPoint:
    """A month's segments as one point: a rate over every judged item; hours: the last
    segment's figure. The target is the one of the month's last segment."""
    last = standings[-1]
    if metric_unit(last.metric) == "rate":
        judged = sum(s.denominator for s in standings)
        value = sum(s.numerator for s in standings) / judged if judged else None
    else:
        value = last.value
    return TrendPoint(last.period, value, last.threshold)


def _charts(trend: Sequence[MetricStanding]) -> list[dict[str, Any]]:
    """One chart per metric: its monthly figures and the contract's target line."""
    by_metric: dict[str, dict[date, list[MetricStanding]]] = {}
    for standing in trend:
        by_metric.setdefault(standing.metric, {}).setdefault(standing.period, []).append(standing)
    charts = []
    for metric, months in by_metric.items():
        points = [_fold(months[p]) for p in sorted(months)]
        unit = metric_unit(metric)
        scale = 100.0 if unit == "rate" else 1.0
        charts.append(
            {
                "metric": metric,
                "label": metric_label(metric),
                "rows": [(p, format_figure(p.value, metric)) for p in points],
                # What dashboard.js draws (rates in percent): read from a data attribute.
                "data": {
                    "label": metric_label(metric),
                    "unit": "%" if unit == "rate" else "h",
                    "labels": [f"{p.period:%Y-%m}" for p in points],
                    "values": [
                        None if p.value is None else round(p.value * scale, 4) for p in points
                    ],
                    "targets": [round(p.threshold * scale, 4) for p in points],
                },
            }
        )
    return charts


@router.get("/providers/{provider_id}", response_class=HTMLResponse)
def provider_page(viewer: ViewerDep, provider_id: str, period: str | None = None) -> HTMLResponse:
    """A provider's KPI trends, the period's metrics with drill-down links, credits, ledger."""
    name = _known_provider(viewer, provider_id)
    chosen = parse_month(period)
    with viewer.store.connect() as connection:
        evaluated = periods_evaluated(connection, providers=[provider_id])
        month = chosen or (evaluated[0] if evaluated else None)
        found = scorecards(connection, providers=[provider_id], period=month) if month else []
        trend = (
            metric_trend(connection, provider_id=provider_id, months=TREND_MONTHS, until=month)
            if month
            else []
        )
        lines = credit_lines(connection, provider_id=provider_id, period=month) if month else []
        booked = ledger(connection, providers=[provider_id], period=month) if month else []
        open_disputes = list_disputes(connection, providers=[provider_id], limit=500)
    card: Scorecard | None = found[0] if found else None
    return viewer.render(
        "provider.html",
        provider_id=provider_id,
        name=name,
        period=month,
        periods=evaluated,
        card=card,
        charts=_charts(trend),
        credit_lines=lines,
        ledger=booked,
        # "metric@YYYY-MM" -> the unresolved dispute of that breach, shown instead of a button.
        disputed={
            d.source_ref: d.dispute_id
            for d in open_disputes
            if d.source == "sla_breach" and d.status != "resolved" and d.source_ref
        },
    )


Show = Literal["bad", "all"]


def _bad(items: ir.Table, metric: str, standings: Sequence[MetricStanding]) -> ir.BooleanValue:
    """Which items pull the figure the wrong way.

    A rate where higher is better: the items not in the numerator (late orders); where lower
    is better: the items in it (parcels without a scan). Hours: the items above the threshold
    of the segment their date falls in (every item when no threshold was recorded).
    """
    definition = REGISTRY[metric]
    if definition.unit == "rate":
        return items.hit if definition.lower_is_better else ~items.hit
    condition: ir.BooleanValue | None = None
    for s in standings:
        over = (
            (items.period_date >= s.segment_from)
            & (items.period_date <= s.segment_to)
            & (items.value > s.threshold)
        )
        condition = over if condition is None else condition | over
    return condition if condition is not None else ibis.literal(True)


@router.get("/providers/{provider_id}/kpis/{metric}", response_class=HTMLResponse)
def metric_drill(
    viewer: ViewerDep,
    provider_id: str,
    metric: str,
    period: str | None = None,
    show: Show = "bad",
    offset: int = Query(0, ge=0, le=10**9),
) -> HTMLResponse:
    """The items behind a provider's figure for a month: the bad ones by default, paged."""
    name = _known_provider(viewer, provider_id)
    if metric not in REGISTRY:
        raise NotFoundError(f"no metric {metric!r} in the KPI catalogue")
    with viewer.store.connect() as connection:
        evaluated = periods_evaluated(connection, providers=[provider_id])
        month = parse_month(period) or (evaluated[0] if evaluated else None)
        found = scorecards(connection, providers=[provider_id], period=month) if month else []
    card = found[0] if found else None
    standings = [s for s in card.metrics if s.metric == metric] if card else []
    rows: list[dict[str, Any]] = []
    total = bad_total = listed = 0
    if month is not None:
        # The clock of the recorded run, so the items are the ones that made its figure.
        as_of = card.as_of if card else None
        with open_context(viewer.store, as_of=as_of, settings=viewer.settings) as ctx:
            items = metric_items(ctx, metric)
            items = items.filter(
                (items.provider_id == provider_id)
                & (period_start(items.period_date, "month") == month)
            )
            items = items.mutate(bad=_bad(items, metric, standings))
            counts = items.aggregate(
                total=items.count(), bad=items.bad.ifelse(1, 0).sum()
            ).to_pyarrow()
            total = int(counts["total"][0].as_py() or 0)
            bad_total = int(counts["bad"][0].as_py() or 0)
            chosen = items.filter(items.bad) if show == "bad" else items
            listed = bad_total if show == "bad" else total
            order = (
                [ibis.desc("value"), "item_id"]
                if REGISTRY[metric].unit == "hours"
                else ["period_date", "item_id"]
            )
            page = (
                chosen.select("item_id", "facility_id", "period_date", "hit", "value", "bad")
                .order_by(order)
                .limit(PAGE_SIZE, offset=offset)
            )
            rows = page.to_pyarrow().to_pylist()
    definition = REGISTRY[metric]
    return viewer.render(
        "kpi_items.html",
        provider_id=provider_id,
        name=name,
        metric=metric,
        definition=definition,
        period=month,
        periods=evaluated,
        standings=standings,
        show=show,
        rows=rows,
        total=total,
        bad_total=bad_total,
        listed=listed,
        offset=offset,
        page_size=PAGE_SIZE,
        as_of=card.as_of if card else None,
    )
