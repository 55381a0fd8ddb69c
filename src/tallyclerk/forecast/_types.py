"""The values the forecast, the capacity check and the peak simulation pass around.

A pure module: numpy and the standard library only, so the models, the simulation, the
service and the pages can share these shapes without importing one another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

MEASURES = ("orders", "units")

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """What a daily series counts: a measure for a provider (and facility), or the whole store.

    provider_id None: the brand's whole store (orders placed, by the brand's local date);
    facility_id None: every facility of the provider together.
    """

    provider_id: str | None
    facility_id: str | None
    measure: str  # orders | units

    @property
    def label(self) -> str:
        """'eastbridge/EWR1 orders', 'eastbridge orders', 'store orders'."""
        who = self.provider_id or "store"
        if self.facility_id:
            who = f"{who}/{self.facility_id}"
        return f"{who} {self.measure}"


@dataclass(frozen=True)
class DailySeries:
    """One value per calendar day from `start`, without gaps (a day with nothing is 0)."""

    key: SeriesKey
    start: date
    values: FloatArray

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def end(self) -> date:
        """The last day held (the day before `start` when empty)."""
        return self.start + timedelta(days=len(self) - 1)

    def days(self) -> list[date]:
        """Every day of the series, in order."""
        return [self.start + timedelta(days=i) for i in range(len(self))]


@dataclass(frozen=True, slots=True)
class ModelScore:
    """A model's accuracy in rolling-origin cross-validation.

    mase: mean absolute error over every held-out day, scaled by the in-sample mean absolute
    error of the weekly seasonal naive forecast (below 1: better than naive in sample).
    smape: symmetric mean absolute percentage error, 0 to 200 (a day where both the actual
    and the forecast are 0 counts as 0).
    """

    model: str
    mase: float | None
    smape: float | None
    windows: int
    horizon: int


@dataclass(frozen=True)
class SeriesForecast:
    """The forecast of one series: P50 and P90 per day, the model chosen and why."""

    key: SeriesKey
    model: str  # name of the chosen model (e.g. "MSTL(7,365)", "AutoETS(7)", "recent mean")
    method: str  # direct | top-down | fallback
    start: date  # first forecast day: the day after the history's last day
    p50: FloatArray
    p90: FloatArray
    history_start: date
    history_days: int
    scores: tuple[ModelScore, ...] = ()  # every candidate evaluated, best first
    baseline: ModelScore | None = None  # the weekly seasonal naive forecast, same windows
    notes: tuple[str, ...] = ()  # plain sentences: short history, fallbacks, features used

    @property
    def horizon(self) -> int:
        """Days forecast."""
        return int(self.p50.shape[0])

    @property
    def end(self) -> date:
        """The last day forecast."""
        return self.start + timedelta(days=self.horizon - 1)

    def days(self) -> list[date]:
        """Every forecast day, in order."""
        return [self.start + timedelta(days=i) for i in range(self.horizon)]

    @property
    def chosen(self) -> ModelScore | None:
        """The score of the chosen model, when it was cross-validated."""
        for score in self.scores:
            if score.model == self.model:
                return score
        return None


@dataclass(frozen=True, slots=True)
class CapacityWeek:
    """One ISO week of a provider's forecast against what it committed to per day."""

    provider_id: str
    week: str  # ISO week, "2026-W48"
    start: date  # the Monday
    p50_orders: float  # forecast orders of the week (sum of daily P50)
    p90_peak_day: float  # the highest daily P90 of the week
    capacity_per_day: int | None  # committed orders per day (the peak figure inside peak)
    over_days: int  # days whose P90 exceeds the daily capacity
    gap_orders: float  # sum over those days of P90 minus capacity
    peak_terms: bool  # whether the contract's peak capacity applied on any day

    @property
    def flagged(self) -> bool:
        """Whether P90 demand exceeds the committed capacity on some day of the week."""
        return self.over_days > 0


@dataclass(frozen=True, slots=True)
class StorageCheck:
    """Pallets the provider holds for the brand against a committed pallet count."""

    provider_id: str
    as_of: date | None  # the last snapshot
    pallets: int | None
    trend_per_week: float | None  # least-squares slope over the recent snapshots
    projected: int | None  # pallets at the end of the horizon on that trend
    committed: int | None  # contract capacity.storage_pallets, when given

    @property
    def flagged(self) -> bool:
        """Whether the projection exceeds the committed pallets."""
        return self.committed is not None and (self.projected or 0) > self.committed


@dataclass
class CapacityReport:
    """The capacity check of one provider over the forecast horizon."""

    provider_id: str
    weeks: list[CapacityWeek] = field(default_factory=list)
    storage: StorageCheck | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def flagged_weeks(self) -> list[CapacityWeek]:
        """The weeks where P90 demand exceeds capacity."""
        return [w for w in self.weeks if w.flagged]
