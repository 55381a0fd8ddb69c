"""Growth and peaks: demand forecast, capacity check and peak simulation.

- `read_inputs` / `forecast_inputs` (or `run_forecast`): daily orders and units per provider and
  facility (and the store's), a model chosen per series by rolling-origin cross-validation,
  P50/P90 per day, and each provider's capacity check;
- `save_run` / `load_run`: runs are kept for the dashboard and the weekly review;
- the peak simulation of a scenario against a provider's capacity, cutoff and calendar.
"""

from __future__ import annotations

from pathlib import Path

from tallyclerk.forecast._capacity import capacity_report, capacity_weeks, storage_check
from tallyclerk.forecast._document import (
    capacity_document,
    run_document,
    series_document,
)
from tallyclerk.forecast._service import (
    DEFAULT_HORIZON,
    ForecastInputs,
    ForecastRun,
    attach_capacity,
    default_as_of,
    forecast_inputs,
    holds_past_peak,
    load_run,
    read_inputs,
    run_forecast,
    save_run,
)
from tallyclerk.forecast._types import (
    CapacityReport,
    CapacityWeek,
    DailySeries,
    ModelScore,
    SeriesForecast,
    SeriesKey,
    StorageCheck,
)

PLOT_SUFFIXES = (".png", ".svg")


def plot_run(run: ForecastRun, path: Path, provider_ids: list[str] | None = None) -> Path:
    """Draw each provider's orders forecast against capacity into a PNG or SVG file.

    matplotlib is imported on first use only: most commands never draw.
    """
    from tallyclerk.forecast._plot import plot_run as draw

    return draw(run, path, provider_ids)


__all__ = [
    "DEFAULT_HORIZON",
    "PLOT_SUFFIXES",
    "CapacityReport",
    "CapacityWeek",
    "DailySeries",
    "ForecastInputs",
    "ForecastRun",
    "ModelScore",
    "SeriesForecast",
    "SeriesKey",
    "StorageCheck",
    "attach_capacity",
    "capacity_document",
    "capacity_report",
    "capacity_weeks",
    "default_as_of",
    "forecast_inputs",
    "holds_past_peak",
    "load_run",
    "plot_run",
    "read_inputs",
    "run_document",
    "run_forecast",
    "save_run",
    "series_document",
    "storage_check",
]
