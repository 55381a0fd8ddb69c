"""Throughput: eastbridge's peak capacity (planted meltdown) and the contracts' capacity terms."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from ._clock import seconds_east
from ._contracts import CONTRACTS
from ._demand import HOURLY
from ._network import BRAND_TIMEZONE
from ._planted import PEAK_ON_TIME_GOAL
from ._sites import Site

# Without planted problems, eastbridge's peak throughput keeps this share of peak orders on
# time in the FIFO model of expected demand (its peak target is 0.97), plus a buffer of three
# standard deviations of a day's random order count, so small data sets meet the target too.
CLEAN_PEAK_ON_TIME_GOAL = 0.995


def _share_before_cutoff(site: Site, year: int) -> float:
    """Share of a day's orders (placed in the brand's zone) released before the cutoff."""
    moment = datetime(year, 12, 1, 12)
    facility_offset = seconds_east(moment.replace(tzinfo=ZoneInfo(site.facility.timezone)))
    brand_offset = seconds_east(moment.replace(tzinfo=ZoneInfo(BRAND_TIMEZONE)))
    shift = (facility_offset - brand_offset) // 3600
    cutoff_hour = site.facility.cutoff_second // 3600 - shift
    return sum(HOURLY[: max(0, cutoff_hour)]) / sum(HOURLY)


def expected_due(
    site: Site, counts: list[int], share: float, first_order_day: int, peak_days: bytearray
) -> list[float]:
    """Expected orders due per business day inside the peak windows, in date order."""
    calendar = site.calendar
    before = _share_before_cutoff(site, 2026)
    due: dict[int, float] = {}
    for offset, count in enumerate(counts):
        day = first_order_day + offset
        expected = count * share
        if calendar.business(day):
            due[day] = due.get(day, 0.0) + expected * before
            later = calendar.after(day)
            due[later] = due.get(later, 0.0) + expected * (1 - before)
        else:
            later = calendar.on_or_after(day)
            due[later] = due.get(later, 0.0) + expected
    first = calendar.first_day
    return [due[day] for day in sorted(due) if peak_days[day - first]]


def capacity_for(due: list[float], goal: float) -> int:
    """Smallest daily throughput whose FIFO backlog keeps the on-time share at the goal."""

    def on_time_share(cap: float) -> float:
        """Share shipped by its due day when `cap` orders ship per business day, FIFO."""
        backlog = on_time = total = 0.0
        for demand in due:
            total += demand
            on_time += max(0.0, min(demand, cap - backlog))
            backlog = max(0.0, backlog + demand - cap)
        return on_time / total if total else 1.0

    if not due:
        return 0
    low, high = 0.0, max(due) * 2 + 1
    for _ in range(50):
        middle = (low + high) / 2
        if on_time_share(middle) < goal:
            low = middle
        else:
            high = middle
    return max(1, round(high))


def peak_capacity(
    sites: list[Site],
    counts: list[int],
    shares: list[float],
    first_order_day: int,
    peak_days: bytearray,
    *,
    meltdown: bool = True,
) -> list[int]:
    """Orders each site can ship per peak business day; 0 means unconstrained.

    Planted problem 1: eastbridge's peak throughput is sized so that its backlog keeps only
    about PEAK_ON_TIME_GOAL of peak orders on time (its contract asks 0.97). Without the
    meltdown it is sized for CLEAN_PEAK_ON_TIME_GOAL instead, which meets the target.
    """
    capacity = [0] * len(sites)
    for site in sites:
        if site.facility.provider_id == "eastbridge":
            share = shares[site.index]
            due = expected_due(site, counts, share, first_order_day, peak_days)
            if meltdown:
                capacity[site.index] = capacity_for(due, PEAK_ON_TIME_GOAL)
            else:
                needed = capacity_for(due, CLEAN_PEAK_ON_TIME_GOAL)
                capacity[site.index] = needed + math.ceil(3 * math.sqrt(needed))
    return capacity


def contract_capacity(
    sites: list[Site], orders: int, days: int, shares: list[float], peak: list[int]
) -> dict[str, tuple[int, int]]:
    """Committed (orders_per_day, peak_orders_per_day) per provider for the contract YAML."""
    mean_daily = orders / max(1, days)
    terms = {}
    for provider_id in CONTRACTS:
        mine = [s.index for s in sites if s.facility.provider_id == provider_id]
        # A Monday ships the weekend's orders too (about three days of them), with room.
        normal = max(10, math.ceil(4.0 * mean_daily * sum(shares[i] for i in mine)))
        # What the provider signed for at peak; eastbridge's planted meltdown is that its
        # real peak throughput falls short of the work due, whatever it committed to.
        committed_peak = max(math.ceil(1.5 * normal), sum(peak[i] for i in mine))
        terms[provider_id] = (normal, committed_peak)
    return terms
