"""Daily demand series read from the store: what each 3PL facility was given, and the store's.

A provider's demand is the orders released to it (and their units), by the facility-local date
of the release: the work that lands on its floor each day. The store's demand is the orders
placed (and their units), by the brand's local date: the longer history a brand usually has
from before its current 3PLs, which a new provider's forecast can be drawn from (top-down).

The counting runs in the store's engine through Ibis; only one row per day and series comes
back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from tallyclerk.forecast._types import DailySeries, SeriesKey
from tallyclerk.metrics import MetricContext


def _rows_to_series(
    rows: Iterable[tuple[SeriesKey, date, float]], last: date
) -> dict[SeriesKey, DailySeries]:
    """Dense series from sparse (key, day, value) rows: from each key's first day to `last`."""
    by_key: dict[SeriesKey, dict[date, float]] = defaultdict(dict)
    for key, day, value in rows:
        if day <= last:
            by_key[key][day] = by_key[key].get(day, 0.0) + float(value)
    out: dict[SeriesKey, DailySeries] = {}
    for key, days in by_key.items():
        first = min(days)
        values = np.zeros((last - first).days + 1, dtype=np.float64)
        for day, value in days.items():
            values[(day - first).days] = value
        out[key] = DailySeries(key, first, values)
    return out


def facility_series(ctx: MetricContext, last: date) -> dict[SeriesKey, DailySeries]:
    """Orders and units released per provider and facility and local day, up to `last`.

    Releases to a facility no contract names have no local date and are left out.
    """
    releases = ctx.happened(ctx.table("releases"), "released_at")
    releases = releases.select("order_id", "provider_id", "facility_id", "released_at")
    dated = ctx.with_local_date(releases, "released_at", "day")
    dated = dated.filter(dated.day.notnull() & (dated.day <= last))
    lines = ctx.table("order_lines")
    units = lines.group_by("order_id").aggregate(units=lines.qty.sum())
    joined = dated.left_join(units, dated.order_id == units.order_id)
    per_day = joined.group_by(["provider_id", "facility_id", "day"]).aggregate(
        orders=joined.order_id.nunique(), units=joined.units.fill_null(0).sum()
    )
    rows: list[tuple[SeriesKey, date, float]] = []
    for record in per_day.to_pyarrow().to_pylist():
        for measure in ("orders", "units"):
            key = SeriesKey(record["provider_id"], record["facility_id"], measure)
            rows.append((key, record["day"], record[measure] or 0))
    return _rows_to_series(rows, last)


def store_series(ctx: MetricContext, last: date, timezone: str) -> dict[SeriesKey, DailySeries]:
    """Orders and units placed in the store per day in the brand's time zone, up to `last`.

    Counted per UTC hour in the engine (per minute when the zone has an offset that is not a
    whole hour), then dated in the brand's zone here.
    """
    zone = ZoneInfo(timezone)
    orders = ctx.happened(ctx.table("orders"), "placed_at")
    lines = ctx.table("order_lines")
    units = lines.group_by("order_id").aggregate(units=lines.qty.sum())
    joined = orders.select("order_id", "placed_at").left_join(
        units, orders.order_id == units.order_id
    )
    unit = "h" if _whole_hour_offsets(zone, last) else "m"
    slot = joined.placed_at.truncate(unit)
    per_slot = joined.group_by(slot=slot).aggregate(
        orders=joined.count(), units=joined.units.fill_null(0).sum()
    )
    rows: list[tuple[SeriesKey, date, float]] = []
    for record in per_slot.to_pyarrow().to_pylist():
        moment: datetime = record["slot"]
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        day = moment.astimezone(zone).date()
        rows.append((SeriesKey(None, None, "orders"), day, record["orders"]))
        rows.append((SeriesKey(None, None, "units"), day, record["units"] or 0))
    return _rows_to_series(rows, last)


def _whole_hour_offsets(zone: ZoneInfo, last: date) -> bool:
    """Whether the zone's UTC offsets over the recent years are whole hours."""
    for year in range(last.year - 3, last.year + 1):
        for month in (1, 7):
            offset = datetime(year, month, 1, tzinfo=zone).utcoffset() or timedelta(0)
            if offset.total_seconds() % 3600:
                return False
    return True


def provider_totals(series: dict[SeriesKey, DailySeries]) -> dict[SeriesKey, DailySeries]:
    """Each provider's facilities summed per measure (facility_id None), on a common span."""
    grouped: dict[SeriesKey, list[DailySeries]] = defaultdict(list)
    for key, one in series.items():
        if key.provider_id is not None and key.facility_id is not None:
            grouped[SeriesKey(key.provider_id, None, key.measure)].append(one)
    return {key: sum_series(key, parts) for key, parts in grouped.items()}


def sum_series(key: SeriesKey, parts: Sequence[DailySeries]) -> DailySeries:
    """The day-by-day sum of series (a day missing from one counts 0 there)."""
    first = min(p.start for p in parts)
    last = max(p.end for p in parts)
    values = np.zeros((last - first).days + 1, dtype=np.float64)
    for part in parts:
        offset = (part.start - first).days
        values[offset : offset + len(part)] += part.values
    return DailySeries(key, first, values)


def recent_share(part: DailySeries, whole: DailySeries, days: int = 56) -> float | None:
    """The part's share of the whole over the last `days` days both hold (None: no volume)."""
    end = min(part.end, whole.end)
    start = max(part.start, whole.start, end - timedelta(days=days - 1))
    if start > end:
        return None

    def window(series: DailySeries) -> float:
        lo = (start - series.start).days
        hi = (end - series.start).days + 1
        return float(series.values[lo:hi].sum())

    total = window(whole)
    if total <= 0:
        return None
    return window(part) / total


__all__ = [
    "facility_series",
    "provider_totals",
    "recent_share",
    "store_series",
    "sum_series",
]
