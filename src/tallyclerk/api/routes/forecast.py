"""The demand forecast: the latest kept run, each provider's capacity check, recent history.

A run is made by `tallyclerk forecast` (which reads the store, lets it go while the models are
fitted, and keeps the run); this router reads the latest kept run back, so the API, the
dashboard and the command show the same figures. The capacity check is recomputed from the
contracts in the store. A provider user sees its own series and capacity only; the store-wide
series (the brand's own demand) is brand data.

There is no endpoint that makes a run: fitting the models takes from seconds to minutes, far
longer than a request should hold the embedded store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from tallyclerk.access import NotFoundError, Scope
from tallyclerk.api._deps import ScopeDep, ServiceState, StoreDep, service
from tallyclerk.api._models import ProviderQuery, errors
from tallyclerk.forecast import (
    DailySeries,
    ForecastRun,
    SeriesKey,
    attach_capacity,
    load_run,
    run_document,
)
from tallyclerk.forecast._series import facility_series, provider_totals
from tallyclerk.metrics import open_context
from tallyclerk.settings import Settings
from tallyclerk.store import Store

router = APIRouter(prefix="/api/v1", tags=["forecast"])

State = Annotated[ServiceState, Depends(service)]
HISTORY_DAYS = 120  # days of history the dashboard's chart shows, and the API's default
MAX_HISTORY_DAYS = 730
NO_RUN_HINT = "run `tallyclerk forecast` to make one"


# -- reading ------------------------------------------------------------------------------------


def scoped_run(
    connection: sa.Connection,
    scope: Scope,
    provider: str | None = None,
    *,
    store_series: bool | None = None,
) -> ForecastRun | None:
    """The latest kept run as `scope` may see it, narrowed to `provider`, capacity attached.

    A provider user gets its own series only; `store_series` (default: for brand users) keeps
    the store-wide series. None when no kept run holds a provider in view. Another provider's
    id from a provider user raises NotFound (through the scope).
    """
    chosen = scope.providers(provider)
    keep_store = scope.principal.is_brand and store_series is not False
    run = load_run(connection, provider_ids=chosen, include_store=keep_store)
    if run is None:
        return None
    return attach_capacity(connection, run)


def order_history(
    store: Store,
    provider_ids: Sequence[str],
    last: date,
    days: int = HISTORY_DAYS,
    *,
    settings: Settings,
) -> dict[str, DailySeries]:
    """Each provider's daily orders released over the `days` days up to `last` (its facilities
    together, by facility-local date: the series the forecast was fitted on).

    A series starts at its first day with a release when that is later than the window's
    first day; a provider without releases is absent.
    """
    clock = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    with open_context(store, as_of=clock, settings=settings) as ctx:
        facilities = facility_series(ctx, last)
    wanted = set(provider_ids)
    totals = provider_totals({k: v for k, v in facilities.items() if k.provider_id in wanted})
    out: dict[str, DailySeries] = {}
    for provider_id in sorted(wanted):
        series = totals.get(SeriesKey(provider_id, None, "orders"))
        if series is None:
            continue
        first = max(series.start, last - timedelta(days=days - 1))
        offset = (first - series.start).days
        out[provider_id] = DailySeries(series.key, first, series.values[offset:])
    return out


def history_document(series: DailySeries) -> dict[str, Any]:
    """A provider's recent daily orders, one entry per day."""
    return {
        "provider_id": series.key.provider_id,
        "measure": series.key.measure,
        "days": [
            {"day": day.isoformat(), "orders": round(float(value))}
            for day, value in zip(series.days(), series.values, strict=True)
        ],
    }


# -- the document -------------------------------------------------------------------------------


class ScoreOut(BaseModel):
    """A model's accuracy in rolling-origin cross-validation."""

    model: str
    mase: float | None  # below 1: better than the weekly seasonal naive forecast in sample
    smape: float | None  # 0 to 200
    windows: int
    horizon: int


class HistorySpanOut(BaseModel):
    """The history a series was fitted on."""

    start: date
    days: int


class ForecastDayOut(BaseModel):
    """One forecast day."""

    day: date
    p50: float
    p90: float


class SeriesOut(BaseModel):
    """One series: a provider's (or facility's, or the store's) orders or units per day."""

    provider_id: str | None  # null: the whole store (brand users only)
    facility_id: str | None  # null: every facility of the provider
    measure: str  # orders | units
    model: str
    method: str  # direct | top-down | fallback
    history: HistorySpanOut
    accuracy: ScoreOut | None  # the chosen model's
    baseline: ScoreOut | None  # the weekly seasonal naive forecast, same windows
    candidates: list[ScoreOut]
    notes: list[str]
    days: list[ForecastDayOut]


class WeekOut(BaseModel):
    """One ISO week of forecast orders against the committed daily capacity."""

    week: str  # 2026-W48
    start: date  # its Monday
    p50_orders: float  # forecast orders of the week (sum of daily P50)
    p90_peak_day: float  # the highest P90 load of a business day
    capacity_per_day: int | None
    peak_terms: bool  # the contract's peak capacity applied
    over_days: int  # business days whose P90 load exceeds the capacity
    gap_orders: float  # orders over the capacity on those days, at P90
    flagged: bool


class StorageOut(BaseModel):
    """Pallets held for the brand, their trend and the projection against the contract."""

    as_of: date | None
    pallets: int | None
    trend_per_week: float | None
    projected: int | None  # at the end of the horizon, on the trend
    committed: int | None
    flagged: bool


class CapacityOut(BaseModel):
    """A provider's capacity check over the horizon."""

    provider_id: str
    flagged_weeks: list[str]
    weeks: list[WeekOut]
    storage: StorageOut | None
    notes: list[str]


class HistoryDayOut(BaseModel):
    """Orders released to the provider on one (facility-local) day."""

    day: date
    orders: int


class HistoryOut(BaseModel):
    """A provider's recent daily orders, its facilities together."""

    provider_id: str
    measure: str
    days: list[HistoryDayOut]


class ForecastOut(BaseModel):
    """The latest kept forecast run, as the user may see it."""

    run_id: int
    created_at: datetime
    as_of: date  # the last day of history used
    horizon_days: int
    series: list[SeriesOut]
    capacity: list[CapacityOut]
    history: list[HistoryOut] | None = None  # with ?history=true


_EXAMPLE: dict[str, Any] = {
    "run_id": 7,
    "created_at": "2026-10-01T06:12:40+00:00",
    "as_of": "2026-09-30",
    "horizon_days": 90,
    "series": [
        {
            "provider_id": "eastbridge",
            "facility_id": None,
            "measure": "orders",
            "model": "MSTL(7,365)",
            "method": "direct",
            "history": {"start": "2025-01-02", "days": 637},
            "accuracy": {
                "model": "MSTL(7,365)",
                "mase": 0.71,
                "smape": 14.2,
                "windows": 4,
                "horizon": 28,
            },
            "baseline": {
                "model": "seasonal naive(7)",
                "mase": 0.98,
                "smape": 19.6,
                "windows": 4,
                "horizon": 28,
            },
            "candidates": [],
            "notes": ["Black Friday and Cyber Monday are features of the model."],
            "days": [{"day": "2026-10-01", "p50": 412.5, "p90": 471.0}],
        }
    ],
    "capacity": [
        {
            "provider_id": "eastbridge",
            "flagged_weeks": ["2026-W48"],
            "weeks": [
                {
                    "week": "2026-W48",
                    "start": "2026-11-23",
                    "p50_orders": 4210.0,
                    "p90_peak_day": 1120.4,
                    "capacity_per_day": 900,
                    "peak_terms": True,
                    "over_days": 2,
                    "gap_orders": 318.6,
                    "flagged": True,
                }
            ],
            "storage": {
                "as_of": "2026-09-28",
                "pallets": 410,
                "trend_per_week": 6.5,
                "projected": 495,
                "committed": 480,
                "flagged": True,
            },
            "notes": [
                "P90 demand exceeds committed capacity in 1 week(s); the worst is 2026-W48 "
                "(2 day(s), 319 orders over)."
            ],
        }
    ],
    "history": [
        {
            "provider_id": "eastbridge",
            "measure": "orders",
            "days": [{"day": "2026-09-30", "orders": 402}],
        }
    ],
}


@router.get(
    "/forecast",
    response_model=ForecastOut,
    summary="The latest demand forecast and capacity check",
    description="The latest run kept by `tallyclerk forecast`: per series the chosen model "
    "with its MASE and sMAPE next to the weekly seasonal-naive baseline, P50 and P90 per "
    "day; per provider the ISO weeks whose P90 load of a business day exceeds the "
    "contract's committed capacity, and the storage check. A provider user sees its own "
    "series and capacity only (never the store-wide series, which is the brand's). "
    "`history=true` adds each provider's daily orders over the last `history_days` days "
    "up to the run's `as_of`. 404 when no kept run holds a provider in view.",
    responses={
        **errors(404, 422),
        200: {"content": {"application/json": {"example": _EXAMPLE}}},
    },
)
def latest_forecast(
    scope: ScopeDep,
    opened: StoreDep,
    state: State,
    provider: ProviderQuery = None,
    history: Annotated[
        bool, Query(description="Add each provider's recent daily orders (read from the store).")
    ] = False,
    history_days: Annotated[
        int,
        Query(ge=1, le=MAX_HISTORY_DAYS, description="Days of history with history=true."),
    ] = HISTORY_DAYS,
) -> ForecastOut:
    """The latest kept run for what the user may see."""
    with opened.connect() as connection:
        run = scoped_run(connection, scope, provider)
    if run is None:
        who = f" of {provider!r}" if provider else ""
        raise NotFoundError(f"no forecast{who} has been kept yet; {NO_RUN_HINT}")
    document = run_document(run)
    if history:
        found = order_history(
            opened, run.provider_ids, run.as_of, history_days, settings=state.settings
        )
        document["history"] = [history_document(found[p]) for p in sorted(found)]
    return ForecastOut.model_validate(document)
