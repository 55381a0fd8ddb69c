"""The capacity check: forecast demand against what each 3PL committed to.

Orders: a provider ships on its business days, so the work of a business day is the orders
released that day plus those released on the days just before it when every facility of the
provider was closed (a weekend's orders land on Monday). Each business day's P90 load is
judged against the contract's `orders_per_day`, or `peak_orders_per_day` on the days of a peak
window; a week is flagged when some day's P90 load exceeds it by half an order or more (a
whole order, rounded), with the size of the gap.

Storage: pallets held for the brand at each inventory count (per facility, the sum over SKUs of
on hand ÷ units per pallet, rounded up), its trend over the recent counts, projected to the
end of the horizon and judged against the contract's `storage_pallets` when it gives one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta

import ibis
import numpy as np

from tallyclerk.calendar import BusinessCalendar
from tallyclerk.contracts import Contract, contract_in_force
from tallyclerk.forecast._types import CapacityReport, CapacityWeek, SeriesForecast, StorageCheck
from tallyclerk.metrics import MetricContext

RECENT_COUNTS = 12  # inventory counts the storage trend is fitted on
OVER_BY = 0.5  # a day is over capacity when its P90 load exceeds it by half an order or more


def _calendars(contract: Contract) -> list[BusinessCalendar]:
    return [
        BusinessCalendar(f.country, f.subdivision, contract.closed_dates)
        for f in contract.facilities
    ]


def daily_capacity(versions: Sequence[Contract], day: date) -> tuple[int | None, bool]:
    """Committed orders on a day and whether the peak figure applied (None: no contract)."""
    contract = contract_in_force(versions, day)
    if contract is None:
        return None, False
    peak = contract.peak_variant(day) is not None and contract.capacity.peak_orders_per_day
    if peak:
        return contract.capacity.peak_orders_per_day, True
    return contract.capacity.orders_per_day, False


def business_loads(
    forecast: SeriesForecast, versions: Sequence[Contract]
) -> list[tuple[date, float, float]]:
    """(business day, P50 load, P90 load) over the forecast: closed days' orders carried on."""
    calendars_by_version: dict[int, list[BusinessCalendar]] = {}
    loads: list[tuple[date, float, float]] = []
    carry50 = carry90 = 0.0
    for day, p50, p90 in zip(forecast.days(), forecast.p50, forecast.p90, strict=True):
        contract = contract_in_force(versions, day)
        if contract is None:
            continue
        calendars = calendars_by_version.setdefault(id(contract), _calendars(contract))
        carry50 += float(p50)
        carry90 += float(p90)
        if any(c.is_business_day(day) for c in calendars):
            loads.append((day, carry50, carry90))
            carry50 = carry90 = 0.0
    return loads


def capacity_weeks(
    provider_id: str, forecast: SeriesForecast, versions: Sequence[Contract]
) -> list[CapacityWeek]:
    """The ISO weeks of the forecast, each judged against the committed daily capacity."""
    by_week: dict[date, list[tuple[date, float, float]]] = {}
    for day, p50, p90 in business_loads(forecast, versions):
        monday = day - timedelta(days=day.weekday())
        by_week.setdefault(monday, []).append((day, p50, p90))
    weekly_p50: dict[date, float] = {}
    for day, p50 in zip(forecast.days(), forecast.p50, strict=True):
        monday = day - timedelta(days=day.weekday())
        weekly_p50[monday] = weekly_p50.get(monday, 0.0) + float(p50)
    weeks: list[CapacityWeek] = []
    for monday in sorted(by_week):
        days = by_week[monday]
        over = 0
        gap = 0.0
        peak_terms = False
        capacities: list[int] = []
        for day, _p50, p90 in days:
            capacity, peak = daily_capacity(versions, day)
            peak_terms = peak_terms or peak
            if capacity is None:
                continue
            capacities.append(capacity)
            if p90 - capacity >= OVER_BY:
                over += 1
                gap += p90 - capacity
        year, week, _ = monday.isocalendar()
        weeks.append(
            CapacityWeek(
                provider_id=provider_id,
                week=f"{year}-W{week:02d}",
                start=monday,
                p50_orders=weekly_p50.get(monday, 0.0),
                p90_peak_day=max(p90 for _d, _p50, p90 in days),
                capacity_per_day=min(capacities) if capacities else None,
                over_days=over,
                gap_orders=gap,
                peak_terms=peak_terms,
            )
        )
    return weeks


def pallet_counts(ctx: MetricContext, provider_id: str, last: date) -> list[tuple[date, int]]:
    """Pallets held for the brand at each of the provider's inventory counts up to `last`."""
    snapshots = ctx.table("inventory_snapshots")
    products = ctx.table("products")
    mine = snapshots.filter(
        (snapshots.provider_id == provider_id)
        & snapshots.as_of.notnull()
        & (snapshots.as_of.cast("date") <= last)
    )
    joined = mine.join(products, mine.sku == products.sku)
    joined = joined.filter(joined.units_per_pallet.notnull() & (joined.units_per_pallet > 0))
    per_facility = joined.group_by(
        [joined.facility_id, joined.as_of.cast("date").name("day")]
    ).aggregate(
        pallets=(joined.on_hand.clip(lower=0).cast("float64") / joined.units_per_pallet).sum()
    )
    per_facility = per_facility.mutate(pallets=per_facility.pallets.ceil())
    per_day = per_facility.group_by("day").aggregate(pallets=per_facility.pallets.sum())
    rows = per_day.order_by(ibis.desc("day")).limit(RECENT_COUNTS).to_pyarrow().to_pylist()
    return sorted((row["day"], int(row["pallets"] or 0)) for row in rows)


def storage_check(
    ctx: MetricContext,
    provider_id: str,
    versions: Sequence[Contract],
    last: date,
    horizon_end: date,
) -> StorageCheck:
    """The provider's pallets now, their weekly trend and the projection against the contract."""
    counts = pallet_counts(ctx, provider_id, last)
    contract = contract_in_force(versions, horizon_end) or contract_in_force(versions, last)
    committed = contract.capacity.storage_pallets if contract is not None else None
    if not counts:
        return StorageCheck(provider_id, None, None, None, None, committed)
    as_of, pallets = counts[-1]
    trend: float | None = None
    projected = pallets
    if len(counts) >= 3:
        x = np.array([(d - counts[0][0]).days / 7 for d, _ in counts], dtype=np.float64)
        y = np.array([p for _, p in counts], dtype=np.float64)
        if float(np.ptp(x)) > 0:
            trend = float(np.polyfit(x, y, 1)[0])
            weeks_ahead = (horizon_end - as_of).days / 7
            projected = max(0, math.ceil(pallets + trend * weeks_ahead))
    return StorageCheck(provider_id, as_of, pallets, trend, projected, committed)


def capacity_report(
    provider_id: str, forecast: SeriesForecast, versions: Sequence[Contract]
) -> CapacityReport:
    """Orders per business day of one provider against its contract (storage: see
    `storage_check`, which needs the store)."""
    report = CapacityReport(provider_id)
    if not versions:
        report.notes.append(f"{provider_id} has no contract: no committed capacity to judge.")
        return report
    report.weeks = capacity_weeks(provider_id, forecast, versions)
    flagged = report.flagged_weeks
    if flagged:
        worst = max(flagged, key=lambda w: w.gap_orders)
        report.notes.append(
            f"P90 demand exceeds committed capacity in {len(flagged)} week(s); the worst is "
            f"{worst.week} ({worst.over_days} day(s), {worst.gap_orders:,.0f} orders over)."
        )
    return report


__all__ = [
    "business_loads",
    "capacity_report",
    "capacity_weeks",
    "daily_capacity",
    "pallet_counts",
    "storage_check",
]
