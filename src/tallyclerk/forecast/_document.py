"""The JSON document of a forecast run: what `forecast --json` prints and the API sends."""

from __future__ import annotations

from typing import Any

from tallyclerk.forecast._service import ForecastRun
from tallyclerk.forecast._types import (
    CapacityReport,
    CapacityWeek,
    ModelScore,
    SeriesForecast,
    StorageCheck,
)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def score_document(score: ModelScore | None) -> dict[str, Any] | None:
    """A model's cross-validated accuracy."""
    if score is None:
        return None
    return {
        "model": score.model,
        "mase": _round(score.mase),
        "smape": _round(score.smape),
        "windows": score.windows,
        "horizon": score.horizon,
    }


def series_document(forecast: SeriesForecast) -> dict[str, Any]:
    """One series: the chosen model, its accuracy next to the naive baseline, P50/P90 per day."""
    return {
        "provider_id": forecast.key.provider_id,
        "facility_id": forecast.key.facility_id,
        "measure": forecast.key.measure,
        "model": forecast.model,
        "method": forecast.method,
        "history": {
            "start": forecast.history_start.isoformat(),
            "days": forecast.history_days,
        },
        "accuracy": score_document(forecast.chosen),
        "baseline": score_document(forecast.baseline),
        "candidates": [score_document(s) for s in forecast.scores],
        "notes": list(forecast.notes),
        "days": [
            {"day": day.isoformat(), "p50": round(float(p50), 2), "p90": round(float(p90), 2)}
            for day, p50, p90 in zip(forecast.days(), forecast.p50, forecast.p90, strict=True)
        ],
    }


def week_document(week: CapacityWeek) -> dict[str, Any]:
    """One ISO week of the capacity check."""
    return {
        "week": week.week,
        "start": week.start.isoformat(),
        "p50_orders": round(week.p50_orders, 1),
        "p90_peak_day": round(week.p90_peak_day, 1),
        "capacity_per_day": week.capacity_per_day,
        "peak_terms": week.peak_terms,
        "over_days": week.over_days,
        "gap_orders": round(week.gap_orders, 1),
        "flagged": week.flagged,
    }


def storage_document(check: StorageCheck | None) -> dict[str, Any] | None:
    """Pallets held, their trend and the projection against the committed pallets."""
    if check is None:
        return None
    return {
        "as_of": check.as_of.isoformat() if check.as_of else None,
        "pallets": check.pallets,
        "trend_per_week": _round(check.trend_per_week, 2),
        "projected": check.projected,
        "committed": check.committed,
        "flagged": check.flagged,
    }


def capacity_document(report: CapacityReport) -> dict[str, Any]:
    """A provider's capacity check."""
    return {
        "provider_id": report.provider_id,
        "flagged_weeks": [w.week for w in report.flagged_weeks],
        "weeks": [week_document(w) for w in report.weeks],
        "storage": storage_document(report.storage),
        "notes": list(report.notes),
    }


def run_document(run: ForecastRun) -> dict[str, Any]:
    """The whole run: its series and each provider's capacity check."""
    return {
        "run_id": run.run_id,
        "created_at": run.created_at.isoformat(),
        "as_of": run.as_of.isoformat(),
        "horizon_days": run.horizon,
        "series": [series_document(s) for s in run.series],
        "capacity": [capacity_document(run.capacity[p]) for p in sorted(run.capacity)],
    }


__all__ = [
    "capacity_document",
    "run_document",
    "score_document",
    "series_document",
    "storage_document",
    "week_document",
]
