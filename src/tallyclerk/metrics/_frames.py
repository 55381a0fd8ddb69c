"""Calendar and contract-term tables that let KPI expressions reason in business days.

Engines do not agree on time-zone arithmetic, so it happens here, once, in Python (with the
`calendar` package), and reaches the engines as small tables they join on plain keys:

- `utc_offsets`: per facility, the intervals of UTC time [from_utc, to_utc) over which its
  UTC offset is constant (a few rows a year): an expression finds a timestamp's interval by
  a range join and adds the offset to get the local date (`MetricContext.with_local_date`);
- `local_buckets`: the same facts expanded to each 15-minute UTC bucket of the span -> the
  facility-local date it falls in (every real UTC offset is a multiple of 15 minutes, so a
  bucket never straddles midnight), for plain equi-joins;
- `facility_days`: per facility and local date: business day or not, the cutoff instant,
  the end of the day, the end of the next business day, and the business-day ordinal from
  which "within N business days" deadlines count;
- `business_days`: per facility, the N-th business day and the instant it ends;
- `metric_params`: per provider, metric and local date, the contract's parameters in force
  (N business days, tolerance), so a peak variant or a new version changes them on its date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from tallyclerk.calendar import BusinessCalendar, FacilityClock
from tallyclerk.contracts import Contract, contract_in_force

BUCKET_SECONDS = 900
_DAY_SECONDS = 86_400
BRAND_FACILITY = "__brand__"  # the brand's own clock, for records without a facility

# Defaults where a provider's contract does not name the metric (DESIGN section 6 example).
DEFAULT_BUSINESS_DAYS = {
    "dock_to_stock_on_time_rate": 2,
    "return_processing_on_time_rate": 5,
    "no_first_scan_rate": 5,
    "dispute_response_on_time_rate": 2,
}
PARAM_METRICS = (*DEFAULT_BUSINESS_DAYS, "inventory_accuracy_rate")

_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class FacilitySite:
    """A facility as the calendars need it."""

    facility_id: str
    provider_id: str | None
    clock: FacilityClock


@dataclass(frozen=True, slots=True)
class Frames:
    """The Arrow tables handed to the engine."""

    local_buckets: pa.Table
    facility_days: pa.Table
    business_days: pa.Table
    metric_params: pa.Table
    utc_offsets: pa.Table
    # The contracts' rate cards (`_billing.RATES_SCHEMA`), for engines that read an export
    # without the contracts table; None: the metric reads them from the store.
    rates: pa.Table | None = None


def sites_from_contracts(
    versions: Mapping[str, Sequence[Contract]], brand_timezone: str
) -> list[FacilitySite]:
    """One clock per facility (newest version's terms; closed dates of every version)."""
    sites = []
    for provider_id, contracts in sorted(versions.items()):
        if not contracts:
            continue
        newest = max(contracts, key=lambda c: c.effective)
        closed = {d for c in contracts for d in c.closed_dates}
        for facility in newest.facilities:
            calendar = BusinessCalendar(facility.country, facility.subdivision, closed)
            clock = FacilityClock(facility.id, facility.timezone, facility.cutoff, calendar)
            sites.append(FacilitySite(facility.id, provider_id, clock))
    brand = FacilityClock(
        BRAND_FACILITY, ZoneInfo(brand_timezone), time(23, 59), BusinessCalendar()
    )
    sites.append(FacilitySite(BRAND_FACILITY, None, brand))
    return sites


def build_frames(
    sites: Sequence[FacilitySite],
    versions: Mapping[str, Sequence[Contract]],
    start: date,
    end: date,
) -> Frames:
    """Calendar and parameter tables covering local dates start..end (with margins)."""
    first = start - timedelta(days=7)
    last = end + timedelta(days=60)  # deadlines of late-period events reach past the end
    span = _bucket_span(first, last)
    offsets = _offsets(sites, span)
    return Frames(
        local_buckets=_expand_buckets(offsets, span),
        facility_days=_days(sites, first, last),
        business_days=_business_days(sites, first, last),
        metric_params=_params(versions, first, last),
        utc_offsets=_offset_table(offsets, span),
    )


def _dates(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _zones(sites: Sequence[FacilitySite]) -> dict[str, ZoneInfo]:
    """Each facility's time zone (the last site wins for a facility listed twice)."""
    zones: dict[str, ZoneInfo] = {}
    for site in sites:
        zones[site.facility_id] = site.clock.timezone
    return zones


def _bucket_span(first: date, last: date) -> tuple[int, int]:
    """The UTC instants (epoch seconds) the bucket table covers: [start, stop)."""
    start = datetime.combine(first - timedelta(days=1), time(), UTC)
    stop = datetime.combine(last + timedelta(days=1), time(), UTC)
    count = int((stop - start).total_seconds()) // BUCKET_SECONDS
    per_hour = 3600 // BUCKET_SECONDS
    # Whole hours, one more than the span holds (the table's historical extent).
    buckets = (count // per_hour + 1) * per_hour
    begin = int(start.timestamp())
    return begin, begin + buckets * BUCKET_SECONDS


def _offsets(
    sites: Sequence[FacilitySite], span: tuple[int, int]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per facility, the offset changes over the span."""
    return {f: _offset_changes(zone, *span) for f, zone in _zones(sites).items()}


def _buckets(sites: Sequence[FacilitySite], first: date, last: date) -> pa.Table:
    """The `local_buckets` table for local dates first..last (with a day's margin)."""
    span = _bucket_span(first, last)
    return _expand_buckets(_offsets(sites, span), span)


def _offset_at(zone: ZoneInfo, instant: int) -> int:
    """The zone's UTC offset in seconds at an instant (epoch seconds)."""
    offset = datetime.fromtimestamp(instant, zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return int(offset.total_seconds())


def _offset_changes(zone: ZoneInfo, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """The instants in [start, stop) from which the zone's offset holds, and those offsets.

    The first instant is `start`. Offsets are probed once a day and each change is found to
    the second by bisection: the time-zone database never changes an offset twice within a
    day (its closest transitions, anywhere, are four days apart).
    """
    froms = [start]
    offsets = [_offset_at(zone, start)]
    low, low_offset = start, offsets[0]
    while low < stop:
        high = min(low + _DAY_SECONDS, stop)
        high_offset = _offset_at(zone, high)
        if high_offset != low_offset:
            # The first second whose offset is the new one lies in (low, high].
            a, b = low, high
            while b - a > 1:
                middle = (a + b) // 2
                if _offset_at(zone, middle) == low_offset:
                    a = middle
                else:
                    b = middle
            if b < stop:
                froms.append(b)
                offsets.append(high_offset)
        low, low_offset = high, high_offset
    return np.array(froms, np.int64), np.array(offsets, np.int64)


def _offset_table(
    offsets: Mapping[str, tuple[np.ndarray, np.ndarray]], span: tuple[int, int]
) -> pa.Table:
    """Per facility, the UTC intervals [from_utc, to_utc) of constant offset."""
    facility_ids: list[pa.Array] = []
    froms: list[np.ndarray] = []
    tos: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    for facility_id, (starts, values) in offsets.items():
        facility_ids.append(pa.repeat(pa.scalar(facility_id, pa.string()), len(starts)))
        froms.append(starts)
        tos.append(np.append(starts[1:], np.int64(span[1])))
        seconds.append(values)
    micros = 1_000_000
    return pa.table(
        {
            "facility_id": _concat(facility_ids, pa.string()),
            "from_utc": pa.array(_stack(froms) * micros, pa.int64()).cast(_TS),
            "to_utc": pa.array(_stack(tos) * micros, pa.int64()).cast(_TS),
            "offset_seconds": pa.array(_stack(seconds), pa.int64()),
        }
    )


def _expand_buckets(
    offsets: Mapping[str, tuple[np.ndarray, np.ndarray]], span: tuple[int, int]
) -> pa.Table:
    """Each facility's 15-minute UTC buckets -> the local date at the bucket's start."""
    first_bucket = span[0] // BUCKET_SECONDS
    count = (span[1] - span[0]) // BUCKET_SECONDS
    buckets = np.arange(first_bucket, first_bucket + count, dtype=np.int64)
    instants = buckets * BUCKET_SECONDS
    facility_ids: list[pa.Array] = []
    local_days: list[np.ndarray] = []
    for facility_id, (starts, values) in offsets.items():
        offset = values[np.searchsorted(starts, instants, side="right") - 1]
        facility_ids.append(pa.repeat(pa.scalar(facility_id, pa.string()), count))
        local_days.append((instants + offset) // _DAY_SECONDS)
    return pa.table(
        {
            "facility_id": _concat(facility_ids, pa.string()),
            "bucket": pa.array(np.tile(buckets, len(local_days)), pa.int64()),
            "local_date": pa.array(_stack(local_days).astype(np.int32), pa.int32()).cast(
                pa.date32()
            ),
        }
    )


def _stack(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenate int64 arrays (an empty list gives an empty array)."""
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _concat(parts: Sequence[pa.Array], kind: pa.DataType) -> pa.Array:
    """Concatenate Arrow arrays of one type (an empty list gives an empty array)."""
    return pa.concat_arrays(parts) if parts else pa.array([], kind)


def _days(sites: Sequence[FacilitySite], first: date, last: date) -> pa.Table:
    columns: dict[str, list[object]] = {
        name: []
        for name in (
            "facility_id",
            "local_date",
            "is_business_day",
            "cutoff_utc",
            "end_utc",
            "next_business_date",
            "next_business_end_utc",
            "anchor_index",
        )
    }
    for site in sites:
        clock = site.clock
        calendar = clock.calendar
        index = {
            d: i for i, d in enumerate(calendar.business_days(first, last + timedelta(days=30)))
        }
        for day in _dates(first, last):
            next_business = calendar.next_business_day(day)
            cutoff = datetime.combine(day, clock.cutoff, clock.timezone)
            columns["facility_id"].append(site.facility_id)
            columns["local_date"].append(day)
            columns["is_business_day"].append(calendar.is_business_day(day))
            columns["cutoff_utc"].append(
                clock.localize(cutoff.replace(tzinfo=None)).astimezone(UTC)
            )
            columns["end_utc"].append(clock.end_of_day(day).astimezone(UTC))
            columns["next_business_date"].append(next_business)
            columns["next_business_end_utc"].append(clock.end_of_day(next_business).astimezone(UTC))
            columns["anchor_index"].append(index.get(calendar.on_or_after(day), -1))
    return pa.table(
        {
            "facility_id": pa.array(columns["facility_id"], pa.string()),
            "local_date": pa.array(columns["local_date"], pa.date32()),
            "is_business_day": pa.array(columns["is_business_day"], pa.bool_()),
            "cutoff_utc": pa.array(columns["cutoff_utc"], _TS),
            "end_utc": pa.array(columns["end_utc"], _TS),
            "next_business_date": pa.array(columns["next_business_date"], pa.date32()),
            "next_business_end_utc": pa.array(columns["next_business_end_utc"], _TS),
            "anchor_index": pa.array(columns["anchor_index"], pa.int64()),
        }
    )


def _business_days(sites: Sequence[FacilitySite], first: date, last: date) -> pa.Table:
    facility_ids: list[str] = []
    indexes: list[int] = []
    days: list[date] = []
    ends: list[datetime] = []
    for site in sites:
        for i, day in enumerate(
            site.clock.calendar.business_days(first, last + timedelta(days=30))
        ):
            facility_ids.append(site.facility_id)
            indexes.append(i)
            days.append(day)
            ends.append(site.clock.end_of_day(day).astimezone(UTC))
    return pa.table(
        {
            "facility_id": pa.array(facility_ids, pa.string()),
            "bd_index": pa.array(indexes, pa.int64()),
            "local_date": pa.array(days, pa.date32()),
            "end_utc": pa.array(ends, _TS),
        }
    )


def _params(versions: Mapping[str, Sequence[Contract]], first: date, last: date) -> pa.Table:
    providers: list[str] = []
    metrics: list[str] = []
    days: list[date] = []
    business_days: list[int] = []
    tolerances: list[int] = []
    for provider_id, contracts in sorted(versions.items()):
        for day in _dates(first, last):
            contract = contract_in_force(contracts, day) or (
                min(contracts, key=lambda c: c.effective) if contracts else None
            )
            for metric in PARAM_METRICS:
                terms = contract.metric_terms(metric, day) if contract else None
                providers.append(provider_id)
                metrics.append(metric)
                days.append(day)
                business_days.append(
                    (terms.within_business_days if terms and terms.within_business_days else None)
                    or DEFAULT_BUSINESS_DAYS.get(metric, 0)
                )
                tolerances.append(terms.tolerance_units or 0 if terms else 0)
    return pa.table(
        {
            "provider_id": pa.array(providers, pa.string()),
            "metric": pa.array(metrics, pa.string()),
            "local_date": pa.array(days, pa.date32()),
            "within_business_days": pa.array(business_days, pa.int64()),
            "tolerance_units": pa.array(tolerances, pa.int64()),
        }
    )
