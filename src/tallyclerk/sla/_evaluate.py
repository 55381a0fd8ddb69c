"""Evaluate each provider's contract, metric by metric, over one period (DESIGN section 6).

The figures come from the KPI catalogue (metrics/); this module only decides which items a
contract judges and how: items are placed by the date of their deadline (period_date), days
in an exclusion window leave their items out (and are counted), a peak variant or a new
contract version splits the period into segments with their own terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis
import pyarrow as pa

from tallyclerk.contracts import Contract
from tallyclerk.metrics import CATALOGUE_ORDER, REGISTRY, MetricContext, get_metric
from tallyclerk.sla._segments import Segment, month_bounds, segments


@dataclass(frozen=True, slots=True)
class MetricEvaluation:
    """One contracted metric of one provider over one segment of a period."""

    provider_id: str
    metric: str
    period: date
    segment: Segment
    value: float | None
    numerator: int
    denominator: int
    excluded: int
    threshold: float
    lower_is_better: bool

    @property
    def met(self) -> bool | None:
        """Met, breached, or None when there was nothing to judge (no data is not 100%)."""
        if self.value is None:
            return None
        if self.lower_is_better:
            return self.value <= self.threshold
        return self.value >= self.threshold


@dataclass
class ProviderEvaluation:
    """A provider's evaluations for one period."""

    provider_id: str
    period: date
    contract: Contract
    metrics: list[MetricEvaluation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # contracted but not in the catalogue


def _day_map(
    provider_segments: dict[str, list[Segment]],
) -> tuple[pa.Table, dict[tuple[str, date], Segment]]:
    """(provider, day) -> segment start and exclusion, as a table the engine joins."""
    providers: list[str] = []
    days: list[date] = []
    starts: list[date] = []
    excluded: list[bool] = []
    lookup: dict[tuple[str, date], Segment] = {}
    for provider_id, parts in provider_segments.items():
        for segment in parts:
            lookup[(provider_id, segment.start)] = segment
            for day in segment.days():
                providers.append(provider_id)
                days.append(day)
                starts.append(segment.start)
                excluded.append(day in segment.excluded_days)
    table = pa.table(
        {
            "provider_id": pa.array(providers, pa.string()),
            "local_date": pa.array(days, pa.date32()),
            "segment_from": pa.array(starts, pa.date32()),
            "excluded": pa.array(excluded, pa.bool_()),
        }
    )
    return table, lookup


def evaluate_period(
    ctx: MetricContext,
    versions: dict[str, list[Contract]],
    period: date,
    providers: Sequence[str] | None = None,
) -> list[ProviderEvaluation]:
    """Every contracted metric of every provider (or those named) for the month of `period`."""
    first, last = month_bounds(period)
    chosen = sorted(p for p in versions if providers is None or p in providers)
    provider_segments = {p: segments(p, versions[p], first, last) for p in chosen}
    evaluations: dict[str, ProviderEvaluation] = {}
    wanted: dict[str, set[str]] = {}
    for provider_id, parts in provider_segments.items():
        if not parts:
            continue
        evaluations[provider_id] = ProviderEvaluation(provider_id, first, parts[-1].contract)
        for segment in parts:
            for name in segment.contract.metrics:
                wanted.setdefault(name, set()).add(provider_id)
    if not evaluations:
        return []
    day_table, lookup = _day_map({p: provider_segments[p] for p in evaluations})
    days = ibis.memtable(day_table)
    for name in sorted(wanted):
        if name not in REGISTRY:
            for provider_id in wanted[name]:
                evaluations[provider_id].skipped.append(name)
            continue
        rows = _segment_figures(ctx, name, days)
        for provider_id in sorted(wanted[name]):
            for segment in provider_segments[provider_id]:
                terms = segment.terms(name)
                if terms is None:
                    continue
                kept, dropped = rows.get((provider_id, segment.start), ({}, {}))
                numerator = int(kept.get("numerator") or 0)
                denominator = int(kept.get("denominator") or 0)
                metric = get_metric(name)
                if metric.quantile is not None:
                    raw = kept.get("value")
                    value = None if raw is None or not denominator else float(raw)
                else:
                    value = numerator / denominator if denominator else None
                evaluations[provider_id].metrics.append(
                    MetricEvaluation(
                        provider_id=provider_id,
                        metric=name,
                        period=first,
                        segment=lookup[(provider_id, segment.start)],
                        value=value,
                        numerator=numerator,
                        denominator=denominator,
                        excluded=int(dropped.get("denominator") or 0),
                        threshold=terms.threshold,
                        lower_is_better=terms.lower_is_better,
                    )
                )
    order = {name: i for i, name in enumerate(CATALOGUE_ORDER)}
    for evaluation in evaluations.values():
        evaluation.metrics.sort(key=lambda m: (order.get(m.metric, 99), m.segment.start))
    return [evaluations[p] for p in sorted(evaluations)]


def _segment_figures(
    ctx: MetricContext, name: str, days: ibis.Table
) -> dict[tuple[str, date], tuple[dict[str, Any], dict[str, Any]]]:
    """(provider, segment start) -> (figures of the judged items, of the excluded ones)."""
    metric = get_metric(name)
    items = metric.items(ctx)
    joined = items.join(
        days,
        [items.provider_id == days.provider_id, items.period_date == days.local_date],
    )
    measures = {
        "numerator": joined.hit.ifelse(1, 0).cast("int64").sum(),
        "denominator": joined.count(),
    }
    if metric.quantile is not None:
        measures["value"] = joined.value.quantile(metric.quantile).cast("float64")
    grouped = joined.group_by(
        provider_id=joined.provider_id, segment_from=joined.segment_from, excluded=joined.excluded
    ).aggregate(**measures)
    out: dict[tuple[str, date], tuple[dict[str, Any], dict[str, Any]]] = {}
    for row in grouped.to_pyarrow().to_pylist():
        key = (row["provider_id"], row["segment_from"])
        kept, dropped = out.setdefault(key, ({}, {}))
        (dropped if row["excluded"] else kept).update(row)
    return out
