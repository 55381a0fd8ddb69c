"""The review's KPI section: each contracted metric per ISO week, twelve weeks to the review's.

The figures come from the KPI catalogue (`metrics.aggregate` at week grain, one query per
metric over the whole range, restricted to the provider); the target of each week is the
threshold of the contract terms in force on its Monday, a peak variant's inside its window
(`sla.segments`). Nothing here defines a KPI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

import ibis.expr.types as ir

from tallyclerk.contracts import Contract, MetricTerms
from tallyclerk.metrics import CATALOGUE_ORDER, REGISTRY, Metric, MetricContext, aggregate
from tallyclerk.metrics._inventory import METRIC as INVENTORY_ACCURACY
from tallyclerk.metrics._inventory import inventory_accuracy_items
from tallyclerk.reports._model import IsoWeek, KpiLine, TrendPoint
from tallyclerk.sla import segments

TREND_WEEKS = 12


@dataclass(frozen=True, slots=True)
class WeekFigure:
    """A metric's numerator, denominator and value in one week (value None: no data)."""

    numerator: int
    denominator: int
    value: float | None


NO_FIGURE = WeekFigure(0, 0, None)


def trend_weeks(week: IsoWeek, count: int = TREND_WEEKS) -> list[IsoWeek]:
    """The `count` ISO weeks ending with `week`, oldest first."""
    return [week.shifted(-i) for i in range(count - 1, -1, -1)]


def terms_on(
    provider_id: str, versions: Sequence[Contract], metric: str, day: date
) -> MetricTerms | None:
    """The contract's terms of a metric on a day (a peak variant's inside its window)."""
    parts = segments(provider_id, versions, day, day)
    return parts[0].terms(metric) if parts else None


def contracted_metrics(provider_id: str, versions: Sequence[Contract], week: IsoWeek) -> list[str]:
    """The metrics the contract (any version in force during the week) holds the provider to,
    in the catalogue's order."""
    names = {
        name
        for part in segments(provider_id, versions, week.start, week.end)
        for name in part.contract.metrics
    }
    rank = {name: i for i, name in enumerate(CATALOGUE_ORDER)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def _weekly(metric: Metric, provider_id: str) -> Metric:
    """The metric's items for one provider; inventory accuracy at each week's last count.

    The registered inventory accuracy judges the month's last snapshot (the SLA period);
    the catalogue offers the same items at week grain, which a weekly trend needs.
    """

    def items(ctx: MetricContext) -> ir.Table:
        if metric.name == INVENTORY_ACCURACY:
            table = inventory_accuracy_items(ctx, "week")
        else:
            table = metric.items(ctx)
        return table.filter(table.provider_id == provider_id)

    return replace(metric, items=items)


def _figures(
    ctx: MetricContext, metric: Metric, provider_id: str, first: date, last: date
) -> dict[date, WeekFigure]:
    """Monday -> the metric's weekly figure, for the weeks starting first..last."""
    table = aggregate(ctx, _weekly(metric, provider_id), grain="week", start=first, end=last)
    out: dict[date, WeekFigure] = {}
    for row in table.to_pyarrow().to_pylist():
        period = row["period"]
        monday = period.date() if isinstance(period, datetime) else period
        numerator = int(row["numerator"] or 0)
        denominator = int(row["denominator"] or 0)
        if metric.quantile is not None:
            raw = row.get("value")
            value = None if raw is None or not denominator else float(raw)
        else:
            value = numerator / denominator if denominator else None
        out[monday] = WeekFigure(numerator, denominator, value)
    return out


class WeeklyFigures:
    """The catalogue's figures of one provider for the review's twelve weeks, per metric.

    Each metric is one query over the whole range, run once however many sections read it
    (a KPI that is both contracted and part of the customer's experience).
    """

    def __init__(self, ctx: MetricContext, provider_id: str, week: IsoWeek) -> None:
        self.ctx = ctx
        self.provider_id = provider_id
        self.weeks = trend_weeks(week)
        self._read: dict[str, dict[date, WeekFigure]] = {}

    def of(self, name: str) -> dict[date, WeekFigure]:
        """Monday -> the metric's figure of that week (weeks without items are absent)."""
        if name not in self._read:
            self._read[name] = _figures(
                self.ctx,
                REGISTRY[name],
                self.provider_id,
                self.weeks[0].start,
                self.weeks[-1].start,
            )
        return self._read[name]

    def week(self, name: str, week: IsoWeek) -> WeekFigure:
        """The metric's figure in one of the weeks."""
        return self.of(name).get(week.start, NO_FIGURE)


def kpi_lines(
    figures: WeeklyFigures,
    provider_id: str,
    versions: Sequence[Contract],
    week: IsoWeek,
    notes: list[str],
) -> list[KpiLine]:
    """Each contracted KPI of the week against its target, with its 12-week trend."""
    names = contracted_metrics(provider_id, versions, week)
    if not names:
        notes.append(
            f"{provider_id} has no contract in force in {week.name}: no contracted KPIs to show"
        )
        return []
    lines: list[KpiLine] = []
    for name in names:
        metric = REGISTRY.get(name)
        if metric is None:
            notes.append(f"{name} is contracted but not in the KPI catalogue: it is not shown")
            continue
        trend = []
        for each in figures.weeks:
            figure = figures.week(name, each)
            terms = terms_on(provider_id, versions, name, each.start)
            trend.append(
                TrendPoint(
                    week=each.name,
                    start=each.start,
                    value=figure.value,
                    numerator=figure.numerator,
                    denominator=figure.denominator,
                    target=terms.threshold if terms is not None else None,
                )
            )
        now = trend[-1]
        terms = terms_on(provider_id, versions, name, week.start) or terms_on(
            provider_id, versions, name, week.end
        )
        lower = terms.lower_is_better if terms is not None else metric.lower_is_better
        met = None
        if now.value is not None and terms is not None:
            met = terms.meets(now.value)
        lines.append(
            KpiLine(
                metric=name,
                unit=metric.unit,
                lower_is_better=lower,
                target=terms.threshold if terms is not None else None,
                value=now.value,
                numerator=now.numerator,
                denominator=now.denominator,
                met=met,
                trend=trend,
            )
        )
    if lines and all(line.value is None for line in lines):
        notes.append(
            f"no contracted KPI of {provider_id} has data in {week.name} "
            "(nothing was due or judged that week)"
        )
    return lines
