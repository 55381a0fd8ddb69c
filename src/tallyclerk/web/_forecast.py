"""A provider's forecast and capacity page: demand ahead against what the 3PL committed to.

The figures are the latest kept run (`tallyclerk forecast`), read through the same scope and
helpers as `GET /api/v1/forecast`; the capacity check is recomputed from the stored contracts
and the history shown is read from the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from tallyclerk.api.routes.forecast import HISTORY_DAYS, order_history, scoped_run
from tallyclerk.forecast import (
    CapacityReport,
    DailySeries,
    ForecastRun,
    SeriesForecast,
    StorageCheck,
)
from tallyclerk.web._common import ViewerDep
from tallyclerk.web._scorecards import _known_provider

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class SeriesView:
    """One of the provider's series as the page lists it."""

    forecast: SeriesForecast
    label: str  # "orders, every facility", "EWR1 units"
    week_p50: float  # forecast of the first seven days

    @property
    def better_than_naive(self) -> bool | None:
        """Whether the chosen model's MASE beats the seasonal-naive baseline's (None: unknown)."""
        chosen, base = self.forecast.chosen, self.forecast.baseline
        if chosen is None or base is None or chosen.mase is None or base.mase is None:
            return None
        return chosen.mase < base.mase


def _series_label(forecast: SeriesForecast) -> str:
    where = forecast.key.facility_id or "every facility"
    return f"{forecast.key.measure}, {where}"


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def chart_data(
    forecast: SeriesForecast, report: CapacityReport | None, history: DailySeries | None
) -> dict[str, Any]:
    """What dashboard.js draws: one label per day from the history's first day to the last
    forecast day, the orders released, P50, P90, the week's committed capacity per day, and the
    flagged weeks as [first, last] label indexes."""
    first = min(history.start, forecast.start) if history is not None else forecast.start
    days = [first + timedelta(days=i) for i in range((forecast.end - first).days + 1)]
    index = {day: i for i, day in enumerate(days)}
    released: list[float | None] = [None] * len(days)
    if history is not None:
        for day, value in zip(history.days(), history.values, strict=True):
            if day in index:
                released[index[day]] = round(float(value), 2)
    p50: list[float | None] = [None] * len(days)
    p90: list[float | None] = [None] * len(days)
    for day, low, high in zip(forecast.days(), forecast.p50, forecast.p90, strict=True):
        p50[index[day]] = round(float(low), 2)
        p90[index[day]] = round(float(high), 2)
    weeks = {w.start: w for w in report.weeks} if report is not None else {}
    capacity: list[int | None] = [None] * len(days)
    for day in forecast.days():
        week = weeks.get(_monday(day))
        capacity[index[day]] = week.capacity_per_day if week is not None else None
    flagged = []
    for week in report.flagged_weeks if report is not None else []:
        inside = [
            index[d] for d in (week.start + timedelta(days=i) for i in range(7)) if d in index
        ]
        if inside:
            flagged.append([min(inside), max(inside)])
    return {
        "labels": [d.isoformat() for d in days],
        "released": released,
        "p50": p50,
        "p90": p90,
        "capacity": capacity,
        "flagged": flagged,
        "forecast_start": index[forecast.start],
    }


def _storage(
    run: ForecastRun, report: CapacityReport | None, provider_id: str
) -> StorageCheck | None:
    if report is not None and report.storage is not None:
        return report.storage
    return run.storage.get(provider_id)


def _grouped_notes(series: list[SeriesView]) -> list[tuple[str, list[str]]]:
    """Each distinct note once, with the series it is about (empty: about every series).

    A note that names its series (a top-down share) stays apart from the others; one said of
    every series (the model choice) is shown once.
    """
    found: dict[str, list[str]] = {}
    for view in series:
        for note in view.forecast.notes:
            found.setdefault(note, []).append(view.label)
    every = len(series)
    return [(note, [] if len(labels) == every else labels) for note, labels in found.items()]


@router.get("/providers/{provider_id}/forecast", response_class=HTMLResponse)
def forecast_page(viewer: ViewerDep, provider_id: str) -> HTMLResponse:
    """The provider's latest forecast: chart, weeks against capacity, models, notes, storage."""
    name = _known_provider(viewer, provider_id)
    with viewer.store.connect() as connection:
        run = scoped_run(connection, viewer.scope, provider_id, store_series=False)
    total = run.find(provider_id, None, "orders") if run is not None else None
    if run is None or total is None:
        return viewer.render(
            "forecast.html", provider_id=provider_id, name=name, run=None, total=None
        )
    report = run.capacity.get(provider_id)
    found = order_history(viewer.store, [provider_id], run.as_of, settings=viewer.settings)
    history = found.get(provider_id)
    series = [
        SeriesView(s, _series_label(s), float(s.p50[:7].sum()))
        for s in run.series
        if s.key.provider_id == provider_id
    ]
    return viewer.render(
        "forecast.html",
        provider_id=provider_id,
        name=name,
        run=run,
        total=total,
        report=report,
        weeks=report.weeks if report is not None else [],
        flagged=report.flagged_weeks if report is not None else [],
        series=series,
        notes=_grouped_notes(series),
        next_week=float(total.p50[:7].sum()),
        storage=_storage(run, report, provider_id),
        history_days=len(history) if history is not None else 0,
        history_window=HISTORY_DAYS,
        chart=chart_data(total, report, history),
    )
