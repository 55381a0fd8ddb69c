"""From item tables to figures: numerator, denominator, value and drill-down ids per group."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import ibis
import ibis.expr.types as ir

from tallyclerk.metrics._context import MetricContext
from tallyclerk.metrics._registry import Metric, catalogue, get_metric

Grain = Literal["month", "week", "day"]
GRAINS: tuple[Grain, ...] = ("month", "week", "day")
_TRUNCATE = {"month": "M", "week": "W"}


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One figure: a metric for a provider (and facility) over one period."""

    metric: str
    provider_id: str
    facility_id: str | None
    period: date  # first day of the period
    grain: Grain
    numerator: int
    denominator: int
    value: float | None  # None: no data in the period (never a made-up 100%)
    ids: tuple[str, ...] = ()  # the items behind the numerator, when asked for


def period_start(column: ir.DateValue, grain: Grain) -> ir.DateValue:
    """The first day of the period holding a date."""
    if grain == "day":
        return column
    return column.truncate(_TRUNCATE[grain])


def metric_items(ctx: MetricContext, name: str) -> ir.Table:
    """The item table of a metric (one row per counted item)."""
    metric = get_metric(name)
    items = metric.items(ctx)
    return items.mutate(metric=ibis.literal(metric.name))


def aggregate(
    ctx: MetricContext,
    metric: Metric,
    *,
    grain: Grain = "month",
    by_facility: bool = False,
    start: date | None = None,
    end: date | None = None,
    with_ids: bool = False,
) -> ir.Table:
    """The metric per provider (and facility) and period, as an expression."""
    items = metric.items(ctx).mutate(period=lambda t: period_start(t.period_date, grain))
    if start is not None:
        items = items.filter(items.period >= start)
    if end is not None:
        items = items.filter(items.period <= end)
    keys = ["provider_id", "period", *(["facility_id"] if by_facility else [])]
    measures: dict[str, ir.Scalar] = {
        "numerator": items.hit.ifelse(1, 0).cast("int64").sum(),
        "denominator": items.count(),
    }
    if metric.quantile is not None:
        measures["value"] = items.value.quantile(metric.quantile).cast("float64")
    if with_ids:
        measures["ids"] = items.item_id.collect(where=items.hit)
    return items.group_by(keys).aggregate(**measures)


def compute(
    ctx: MetricContext,
    names: Sequence[str] | None = None,
    *,
    grain: Grain = "month",
    by_facility: bool = False,
    start: date | None = None,
    end: date | None = None,
    with_ids: bool = False,
) -> list[MetricResult]:
    """Run metrics on the context's engine and return their figures, sorted."""
    results: list[MetricResult] = []
    for name in names or [m.name for m in catalogue()]:
        metric = get_metric(name)
        table = aggregate(
            ctx,
            metric,
            grain=grain,
            by_facility=by_facility,
            start=start,
            end=end,
            with_ids=with_ids,
        ).to_pyarrow()
        for row in table.to_pylist():
            denominator = int(row["denominator"])
            numerator = int(row["numerator"] or 0)
            if metric.quantile is not None:
                value = None if row["value"] is None else float(row["value"])
            else:
                value = numerator / denominator if denominator else None
            results.append(
                MetricResult(
                    metric=metric.name,
                    provider_id=row["provider_id"],
                    facility_id=row.get("facility_id") if by_facility else None,
                    period=row["period"],
                    grain=grain,
                    numerator=numerator,
                    denominator=denominator,
                    value=value,
                    ids=tuple(sorted(row.get("ids") or ())) if with_ids else (),
                )
            )
    rank = {m.name: i for i, m in enumerate(catalogue())}
    results.sort(key=lambda r: (rank[r.metric], r.provider_id, r.facility_id or "", r.period))
    return results
