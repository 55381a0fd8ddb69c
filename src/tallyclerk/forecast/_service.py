"""Forecast runs: read the demand series from the store, forecast them, check capacity, keep them.

Which series are forecast: for every provider, its orders and units in total and per facility;
and the store's orders and units (orders placed, by the brand's local date). A provider whose own
history holds no past November-December peak while the store's does is forecast top-down: the
store's forecast times the provider's (or facility's) share of the store's demand over the last
eight weeks, so a 3PL taken on this year still gets last year's peak in its forecast.

A run is kept (`forecast_runs`, `forecast_series`) so the dashboard and the weekly review read
the same figures the command printed, and a later run never rewrites an earlier one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa

from tallyclerk.contracts import Contract
from tallyclerk.contracts._repository import contract_versions
from tallyclerk.errors import InputError
from tallyclerk.forecast._capacity import capacity_report, storage_check
from tallyclerk.forecast._features import peak_years
from tallyclerk.forecast._series import (
    facility_series,
    provider_totals,
    recent_share,
    store_series,
)
from tallyclerk.forecast._types import (
    CapacityReport,
    DailySeries,
    ModelScore,
    SeriesForecast,
    SeriesKey,
    StorageCheck,
)
from tallyclerk.metrics import open_context
from tallyclerk.settings import Settings, get_settings
from tallyclerk.store import Store
from tallyclerk.store.schema import forecast_runs, forecast_series, providers

DEFAULT_HORIZON = 90
MAX_HORIZON = 366
SHARE_WINDOW_DAYS = 56


@dataclass
class ForecastRun:
    """The forecasts of one run, with the histories and capacity checks they were judged by."""

    as_of: date
    horizon: int
    series: list[SeriesForecast]
    created_at: datetime
    run_id: int | None = None
    created_by: str | None = None
    histories: dict[SeriesKey, DailySeries] = field(default_factory=dict)
    capacity: dict[str, CapacityReport] = field(default_factory=dict)
    storage: dict[str, StorageCheck] = field(default_factory=dict)

    def find(
        self, provider_id: str | None, facility_id: str | None = None, measure: str = "orders"
    ) -> SeriesForecast | None:
        """The forecast of one series, if the run holds it."""
        wanted = SeriesKey(provider_id, facility_id, measure)
        return next((s for s in self.series if s.key == wanted), None)

    @property
    def provider_ids(self) -> list[str]:
        """Providers the run forecast, sorted."""
        return sorted({s.key.provider_id for s in self.series if s.key.provider_id})


def holds_past_peak(series: DailySeries) -> bool:
    """Whether the history covers some year's whole November-December peak (the models'
    rule for learning the peak: `_features.peak_years`)."""
    return bool(peak_years(series.start, len(series)))


def _top_down(
    key: SeriesKey, own: DailySeries, store_history: DailySeries, store: SeriesForecast
) -> SeriesForecast | None:
    share = recent_share(own, store_history, SHARE_WINDOW_DAYS)
    if share is None:
        return None
    who = key.label.rsplit(" ", 1)[0]
    note = (
        f"Top-down: {who}'s own history ({len(own)} days, from {own.start}) holds no past "
        f"November-December peak, while the store's ({len(store_history)} days, from "
        f"{store_history.start}) does; this is the store's forecast ({store.model}) times "
        f"{who}'s share of the store's {key.measure} over the last {SHARE_WINDOW_DAYS // 7} "
        f"weeks ({share:.1%}). The accuracy shown is the store forecast's."
    )
    return SeriesForecast(
        key=key,
        model=store.model,
        method="top-down",
        start=store.start,
        p50=store.p50 * share,
        p90=store.p90 * share,
        history_start=own.start,
        history_days=len(own),
        scores=store.scores,
        baseline=store.baseline,
        notes=(note, *store.notes),
    )


def default_as_of(settings: Settings) -> date:
    """Yesterday in the brand's time zone: the last whole day of history."""
    return datetime.now(ZoneInfo(settings.brand.timezone)).date() - timedelta(days=1)


@dataclass
class ForecastInputs:
    """What a forecast needs from the store, read in one short visit (the file is then free)."""

    as_of: date
    horizon: int
    histories: dict[SeriesKey, DailySeries]
    versions: dict[str, list[Contract]]
    storage: dict[str, StorageCheck]


def read_inputs(
    store: Store,
    *,
    as_of: date | None = None,
    horizon: int = DEFAULT_HORIZON,
    provider_id: str | None = None,
    settings: Settings | None = None,
) -> ForecastInputs:
    """Read the daily histories, contracts and pallet counts up to `as_of` (default yesterday).

    Raises InputError when the horizon is out of range, the provider unknown, or no orders
    were released to any provider by then.
    """
    settings = settings or get_settings()
    if not 1 <= horizon <= MAX_HORIZON:
        raise InputError(f"--horizon must be between 1 and {MAX_HORIZON} days, got {horizon}")
    last = as_of or default_as_of(settings)
    with store.connect() as connection:
        known = list(connection.execute(sa.select(providers.c.provider_id)).scalars())
        if provider_id is not None and provider_id not in known:
            raise InputError(
                f"unknown provider {provider_id!r}; the store knows: "
                + (", ".join(sorted(known)) or "none yet")
            )
        wanted = [provider_id] if provider_id else known
        versions = {p: contract_versions(connection, p) for p in wanted}
    clock = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    with open_context(store, as_of=clock, settings=settings) as ctx:
        facilities = facility_series(ctx, last)
        if provider_id is not None:
            facilities = {k: v for k, v in facilities.items() if k.provider_id == provider_id}
        histories = {**facilities, **provider_totals(facilities)}
        histories.update(store_series(ctx, last, settings.brand.timezone))
        if not any(k.provider_id for k in histories):
            who = f"provider {provider_id!r}" if provider_id else "any provider"
            raise InputError(
                f"no orders released to {who} up to {last}: nothing to forecast yet "
                "(ingest releases first, or pick a later --as-of)"
            )
        horizon_end = last + timedelta(days=horizon)
        storage = {
            pid: storage_check(ctx, pid, versions.get(pid, []), last, horizon_end)
            for pid in sorted({k.provider_id for k in histories if k.provider_id})
        }
    return ForecastInputs(last, horizon, histories, versions, storage)


def forecast_inputs(inputs: ForecastInputs) -> ForecastRun:
    """Choose, fit and forecast every series, then check capacity (no store needed)."""
    forecasts = _forecast_all(inputs.histories, inputs.horizon)
    run = ForecastRun(
        as_of=inputs.as_of,
        horizon=inputs.horizon,
        series=forecasts,
        created_at=datetime.now(UTC),
        histories=inputs.histories,
        storage=dict(inputs.storage),
    )
    for pid in run.provider_ids:
        total = run.find(pid, None, "orders")
        if total is None:
            continue
        report = capacity_report(pid, total, inputs.versions.get(pid, []))
        report.storage = run.storage.get(pid)
        if report.storage is not None and report.storage.flagged:
            check = report.storage
            report.notes.append(
                f"Storage: {check.pallets} pallets on {check.as_of}, {check.projected} projected "
                f"by {total.end} on the recent trend, over the {check.committed} committed."
            )
        run.capacity[pid] = report
    return run


def run_forecast(
    store: Store,
    *,
    as_of: date | None = None,
    horizon: int = DEFAULT_HORIZON,
    provider_id: str | None = None,
    settings: Settings | None = None,
) -> ForecastRun:
    """read_inputs then forecast_inputs, holding the store for both (tests, scripts)."""
    inputs = read_inputs(
        store, as_of=as_of, horizon=horizon, provider_id=provider_id, settings=settings
    )
    return forecast_inputs(inputs)


def _forecast_all(histories: dict[SeriesKey, DailySeries], horizon: int) -> list[SeriesForecast]:
    """Direct forecasts of every series, then top-down where the provider lacks a past peak."""
    # statsforecast is imported here, not with the module: reading kept runs does not need it.
    from tallyclerk.forecast._models import forecast_many

    keys = sorted(histories, key=_order)
    direct = forecast_many([histories[k] for k in keys], horizon)
    by_key = dict(zip(keys, direct, strict=True))
    out: list[SeriesForecast] = []
    for key in keys:
        result = by_key[key]
        own = histories[key]
        store_key = SeriesKey(None, None, key.measure)
        if key.provider_id is not None and store_key in histories and not holds_past_peak(own):
            store_history = histories[store_key]
            if holds_past_peak(store_history) and len(store_history) > len(own):
                result = _top_down(key, own, store_history, by_key[store_key]) or result
        out.append(result)
    return out


def _order(key: SeriesKey) -> tuple[int, str, str, int]:
    """Store first, then each provider's total before its facilities; orders before units."""
    return (
        0 if key.provider_id is None else 1,
        key.provider_id or "",
        key.facility_id or "",
        0 if key.measure == "orders" else 1,
    )


# --- keeping runs -----------------------------------------------------------------------------


def _score_dict(score: ModelScore | None) -> dict[str, Any] | None:
    if score is None:
        return None
    return {
        "model": score.model,
        "mase": score.mase,
        "smape": score.smape,
        "windows": score.windows,
        "horizon": score.horizon,
    }


def _score_of(data: dict[str, Any] | None) -> ModelScore | None:
    if not data:
        return None
    return ModelScore(
        data["model"], data.get("mase"), data.get("smape"), data["windows"], data["horizon"]
    )


def _numbers(values: np.ndarray[Any, Any]) -> str:
    return json.dumps([round(float(v), 3) for v in values])


def save_run(connection: sa.Connection, run: ForecastRun, created_by: str | None = None) -> int:
    """Store a run and its series; returns the run id (also set on `run`)."""
    storage = {
        pid: {
            "as_of": check.as_of.isoformat() if check.as_of else None,
            "pallets": check.pallets,
            "trend_per_week": check.trend_per_week,
            "projected": check.projected,
            "committed": check.committed,
        }
        for pid, check in run.storage.items()
    }
    run_id = connection.execute(
        forecast_runs.insert()
        .values(
            created_at=run.created_at,
            as_of=run.as_of,
            horizon_days=run.horizon,
            created_by=created_by,
            storage=json.dumps(storage),
        )
        .returning(forecast_runs.c.run_id)
    ).scalar_one()
    rows = []
    for number, forecast in enumerate(run.series, start=1):
        chosen = forecast.chosen
        rows.append(
            {
                "run_id": run_id,
                "series_no": number,
                "provider_id": forecast.key.provider_id,
                "facility_id": forecast.key.facility_id,
                "measure": forecast.key.measure,
                "model": forecast.model,
                "method": forecast.method,
                "start_day": forecast.start,
                "history_start": forecast.history_start,
                "history_days": forecast.history_days,
                "mase": chosen.mase if chosen else None,
                "smape": chosen.smape if chosen else None,
                "baseline_mase": forecast.baseline.mase if forecast.baseline else None,
                "baseline_smape": forecast.baseline.smape if forecast.baseline else None,
                "scores": json.dumps(
                    {
                        "scores": [_score_dict(s) for s in forecast.scores],
                        "baseline": _score_dict(forecast.baseline),
                    }
                ),
                "notes": json.dumps(list(forecast.notes)),
                "p50": _numbers(forecast.p50),
                "p90": _numbers(forecast.p90),
            }
        )
    if rows:
        connection.execute(forecast_series.insert(), rows)
    run.run_id = int(run_id)
    run.created_by = created_by
    return int(run_id)


def load_run(
    connection: sa.Connection,
    run_id: int | None = None,
    *,
    provider_ids: Sequence[str] | None = None,
    include_store: bool = True,
) -> ForecastRun | None:
    """A kept run (the latest holding any of the providers when no id is given), or None.

    `provider_ids` limits the series read to those providers (a provider user's scope);
    `include_store` False leaves out the store-wide series (brand data).
    """
    query = sa.select(forecast_runs).order_by(forecast_runs.c.run_id.desc()).limit(1)
    if run_id is not None:
        query = sa.select(forecast_runs).where(forecast_runs.c.run_id == run_id)
    elif provider_ids is not None:
        holding = sa.select(forecast_series.c.run_id).where(
            forecast_series.c.provider_id.in_(list(provider_ids))
        )
        query = query.where(forecast_runs.c.run_id.in_(holding))
    head = connection.execute(query).mappings().first()
    if head is None:
        return None
    series_query = (
        sa.select(forecast_series)
        .where(forecast_series.c.run_id == head["run_id"])
        .order_by(forecast_series.c.series_no)
    )
    if provider_ids is not None:
        allowed: sa.ColumnElement[bool] = forecast_series.c.provider_id.in_(list(provider_ids))
        if include_store:
            allowed = allowed | forecast_series.c.provider_id.is_(None)
        series_query = series_query.where(allowed)
    elif not include_store:
        series_query = series_query.where(forecast_series.c.provider_id.is_not(None))
    series = [_series_of(row) for row in connection.execute(series_query).mappings()]
    storage_data: dict[str, Any] = json.loads(head["storage"] or "{}")
    storage = {
        pid: StorageCheck(
            pid,
            date.fromisoformat(item["as_of"]) if item.get("as_of") else None,
            item.get("pallets"),
            item.get("trend_per_week"),
            item.get("projected"),
            item.get("committed"),
        )
        for pid, item in storage_data.items()
        if provider_ids is None or pid in provider_ids
    }
    return ForecastRun(
        as_of=head["as_of"],
        horizon=head["horizon_days"],
        series=series,
        created_at=head["created_at"],
        run_id=int(head["run_id"]),
        created_by=head["created_by"],
        storage=storage,
    )


def _series_of(row: Any) -> SeriesForecast:
    scores = json.loads(row["scores"])
    return SeriesForecast(
        key=SeriesKey(row["provider_id"], row["facility_id"], row["measure"]),
        model=row["model"],
        method=row["method"],
        start=row["start_day"],
        p50=np.array(json.loads(row["p50"]), dtype=np.float64),
        p90=np.array(json.loads(row["p90"]), dtype=np.float64),
        history_start=row["history_start"],
        history_days=row["history_days"],
        scores=tuple(s for s in (_score_of(d) for d in scores.get("scores", [])) if s),
        baseline=_score_of(scores.get("baseline")),
        notes=tuple(json.loads(row["notes"])),
    )


def attach_capacity(connection: sa.Connection, run: ForecastRun) -> ForecastRun:
    """Recompute the order-capacity check of a kept run from its providers' contracts."""
    for pid in run.provider_ids:
        total = run.find(pid, None, "orders")
        if total is None:
            continue
        versions: list[Contract] = contract_versions(connection, pid)
        report = capacity_report(pid, total, versions)
        report.storage = run.storage.get(pid)
        run.capacity[pid] = report
    return run


__all__ = [
    "DEFAULT_HORIZON",
    "ForecastInputs",
    "ForecastRun",
    "attach_capacity",
    "default_as_of",
    "forecast_inputs",
    "holds_past_peak",
    "load_run",
    "read_inputs",
    "run_forecast",
    "save_run",
]
