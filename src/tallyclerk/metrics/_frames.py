"""Calendar and contract-term tables that let KPI expressions reason in business days.

Engines do not agree on time-zone arithmetic, so it happens here, once, in Python (with the
`calendar` package), and reaches the engines as small tables they join on plain keys:

- `local_buckets`: each 15-minute UTC bucket of the data's time span -> the facility-local
  date it falls in (every real UTC offset is a multiple of 15 minutes, so a bucket never
  straddles midnight);
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

import pyarrow as pa

from tallyclerk.calendar import BusinessCalendar, FacilityClock
from tallyclerk.contracts import Contract, contract_in_force

BUCKET_SECONDS = 900
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
    return Frames(
        local_buckets=_buckets(sites, first, last),
        facility_days=_days(sites, first, last),
        business_days=_business_days(sites, first, last),
        metric_params=_params(versions, first, last),
    )


def _dates(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _buckets(sites: Sequence[FacilitySite], first: date, last: date) -> pa.Table:
    start = datetime.combine(first - timedelta(days=1), time(), UTC)
    stop = datetime.combine(last + timedelta(days=1), time(), UTC)
    first_bucket = int(start.timestamp()) // BUCKET_SECONDS
    count = int((stop - start).total_seconds()) // BUCKET_SECONDS
    facility_ids: list[str] = []
    buckets: list[int] = []
    local_dates: list[date] = []
    zones: dict[str, ZoneInfo] = {}
    for site in sites:
        zones[site.facility_id] = site.clock.timezone
    for facility_id, zone in zones.items():
        # Offsets change rarely: walk the span hour by hour and expand each hour's buckets.
        per_hour = 3600 // BUCKET_SECONDS
        for hour in range(count // per_hour + 1):
            instant = start + timedelta(hours=hour)
            for quarter in range(per_hour):
                moment = instant + timedelta(seconds=quarter * BUCKET_SECONDS)
                facility_ids.append(facility_id)
                buckets.append(first_bucket + hour * per_hour + quarter)
                local_dates.append(moment.astimezone(zone).date())
    return pa.table(
        {
            "facility_id": pa.array(facility_ids, pa.string()),
            "bucket": pa.array(buckets, pa.int64()),
            "local_date": pa.array(local_dates, pa.date32()),
        }
    )


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
