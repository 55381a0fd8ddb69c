"""The day-by-day simulation loop that wires the modules together and streams every file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path

from ._aftercare import Aftercare
from ._audits import Audits
from ._billing import Billing, month_key
from ._calendars import BusinessCalendar
from ._capacity import contract_capacity, peak_capacity
from ._catalog import Catalog, build_catalog, write_products
from ._clock import DAY, Clock, day_date, day_index
from ._contracts import CONTRACTS, closed_dates, peak_windows, write_contracts
from ._demand import HOURLY, daily_counts
from ._draw import Draw
from ._fulfillment import Fulfillment
from ._inventory import Inventory
from ._network import FACILITIES, all_zones
from ._orders import MEAN_UNITS_PER_ORDER, OrderMaker, site_shares
from ._planted import (
    DRIFT_SKUS,
    NEVER_SHIPPED_ORDERS,
    PlantedLog,
    write_planted,
)
from ._sites import Site
from ._summary import SimulationSummary, build_problems, conventions
from ._tracking import Carriers
from ._writer import Tables

_FLUSH_EVERY = 2000
_HOURLY_CUM = tuple(accumulate(HOURLY))
_TAIL_DAYS = 120  # timestamps run past the last order day: deliveries, returns, invoices
HISTORY_GROWTH = 1.25  # the simulated year's volume over the year of history before it


def add_months(d: date, months: int) -> date:
    """The same day-of-month `months` later (clamped to the month's end)."""
    key = d.year * 12 + d.month - 1 + months
    year, month = divmod(key, 12)
    month += 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(d.day, (following - timedelta(days=1)).day))


def _never_ship_targets(counts: list[int], first_order_day: int) -> set[int]:
    """Order numbers planted to be released and never shipped, spread over quiet months."""
    eligible = []
    seq = 0
    for offset, count in enumerate(counts):
        d = day_date(first_order_day + offset)
        quiet = not (
            d.month == 12 or (d.month == 11 and d.day >= 10) or (d.month == 1 and d.day <= 5)
        )
        if count and quiet:
            eligible.append(seq + 1 + count // 2)
        seq += count
    if not eligible:
        return set()
    picks = min(NEVER_SHIPPED_ORDERS, max(3, sum(counts) // 250), len(eligible))
    return {eligible[(2 * i + 1) * len(eligible) // (2 * picks)] for i in range(picks)}


def simulate(
    out_dir: Path,
    orders: int,
    seed: int = 7,
    start: date = date(2026, 1, 1),
    months: int = 12,
    progress: Callable[[int], None] | None = None,
    problems: bool = True,
    history_months: int = 0,
) -> SimulationSummary:
    """Generate a demo brand's year of canonical CSVs, contracts and planted problems.

    With `problems=False` nothing is planted: eastbridge's peak throughput meets its target,
    no LAX1 stock drifts, every invoice line follows the rate card once, westcoast processes
    returns within its contract, every released order ships (or is cancelled) and every
    parcel gets carrier scans. The background of a normal operation stays (mis-picks, a few
    late shipments, short receipts, damage, carrier delays). `planted.json` then lists no
    problems and says `"planted": false`. The default output does not change.

    `history_months` adds the store's orders of the months before `start`, placed before the
    brand's 3PL contracts began (so never released to them): the order history a forecast
    learns last year's peak from. Drawn from their own random stream, so the simulated year
    is the same with or without them.
    """
    if orders < 0:
        raise ValueError("orders must be >= 0")
    if months < 1:
        raise ValueError("months must be >= 1")
    if history_months < 0:
        raise ValueError("history_months must be >= 0")
    out_dir = Path(out_dir)
    rng = Draw(seed)
    end = add_months(start, months)
    first_order_day = day_index(start)
    end_day = day_index(end)
    opening_day = first_order_day - 1
    years = range(start.year, day_date(end_day - 1).year + 1)
    clock = Clock(all_zones(), opening_day - 7, end_day + _TAIL_DAYS)
    first, last = clock.first_day, clock.last_day

    sites = [
        Site(
            i,
            f,
            clock.zone(f.timezone),
            BusinessCalendar(
                first, last, f.country, f.subdivision, closed_dates(CONTRACTS[f.provider_id], years)
            ),
        )
        for i, f in enumerate(FACILITIES)
    ]
    carrier_calendar = BusinessCalendar(first, last, "US", None)
    peak_days = bytearray(last - first + 1)
    for a, b in peak_windows(years):
        for day in range(day_index(a), day_index(b) + 1):
            if first <= day <= last:
                peak_days[day - first] = 1

    catalog = build_catalog(rng, orders)
    counts = daily_counts(orders, first_order_day, end_day)
    shares = site_shares()
    expected_units = [
        [0.0, *accumulate(c * share * MEAN_UNITS_PER_ORDER for c in counts)] for share in shares
    ]
    capacity = peak_capacity(sites, counts, shares, first_order_day, peak_days, meltdown=problems)
    contract_terms = contract_capacity(sites, orders, len(counts), shares, capacity)
    mean_daily = orders / max(1, len(counts))
    weekly_orders = [7 * mean_daily * share for share in shares]
    never_ship = _never_ship_targets(counts, first_order_day) if problems else set()

    planted = PlantedLog()
    contract_paths = write_contracts(out_dir, years, contract_terms, date(start.year, 1, 1))
    with Tables(out_dir) as tables:
        write_products(catalog, tables["products"])
        billing = Billing(tables["invoice_lines"], clock, rng, planted, start, problems=problems)
        inventory = Inventory(
            catalog,
            sites,
            clock,
            tables,
            billing.receipt,
            rng,
            planted,
            expected_units,
            first_order_day,
        )
        inventory.open_stock()
        if problems:
            inventory.choose_drift("LAX1", min(DRIFT_SKUS, len(catalog.products)))
        maker = OrderMaker(catalog, clock, tables, rng)
        carriers = Carriers(clock, carrier_calendar, tables, rng)
        skus = [p.sku for p in catalog.products]
        aftercare = Aftercare(
            clock, tables, rng, inventory, billing, planted, skus, problems=problems
        )
        audits = Audits(clock, tables, rng, weekly_orders)
        fulfillment = Fulfillment(
            sites,
            clock,
            carrier_calendar,
            tables,
            rng,
            maker,
            carriers,
            inventory,
            billing,
            aftercare,
            audits,
            planted,
            peak_days,
            capacity,
            never_ship,
            problems=problems,
        )

        history_orders = _write_history(
            catalog, tables, seed, start, history_months, orders, len(counts)
        )

        inventory.snapshot(opening_day)
        month_pallets: dict[str, int] = {}
        snapshot_month = -1
        seq = 0
        brand_zone = clock.zone("America/Chicago")
        for offset, count in enumerate(counts):
            day = first_order_day + offset
            d = day_date(day)
            if count:
                midnight = clock.midnight(brand_zone, day)
                length = clock.midnight(brand_zone, day + 1) - midnight
                scale = length / DAY
                times = sorted(
                    int((rng.pick(_HOURLY_CUM) * 3600 + rng.between(0, 3600)) * scale)
                    for _ in range(count)
                )
                discount = 20 if _is_cyber_week(d) else 0
                for second in times:
                    seq += 1
                    fulfillment.process(maker.draw(seq, midnight + second, discount), seq)
                    if seq % _FLUSH_EVERY == 0:
                        tables.flush()
            inventory.work_day(day)
            inventory.apply(day)
            if (day + 3) % 7 == 6:  # Sunday
                month_pallets = inventory.snapshot(day)
                snapshot_month = month_key(d)
            if (
                (d + timedelta(days=1)).day == 1
                and month_pallets
                and snapshot_month == month_key(d)
            ):
                for provider_id in CONTRACTS:
                    billing.storage(provider_id, day, month_pallets[provider_id])
            if progress is not None and count:
                progress(count)
        tables.flush()

    rows = tables.counts()
    planted_problems = (
        build_problems(planted, start, day_date(end_day - 1), sites) if problems else []
    )
    planted_path = out_dir / "planted.json"
    header = {
        "generator": "tallyclerk.simulate",
        "seed": seed,
        "orders": orders,
        "start": start.isoformat(),
        "end": day_date(end_day - 1).isoformat(),
        "months": months,
        "history_orders": history_orders,
        "rows": rows,
        "conventions": conventions(),
    }
    if not problems:
        header["planted"] = False
    write_planted(planted_path, header, planted_problems)
    return SimulationSummary(
        out_dir=out_dir,
        orders=orders,
        seed=seed,
        start=start,
        end=day_date(end_day - 1),
        rows=rows,
        paths=tables.paths(),
        contracts=tuple(contract_paths),
        planted_path=planted_path,
        planted=tuple(planted_problems),
        problems=problems,
    )


def _write_history(
    catalog: Catalog,
    tables: Tables,
    seed: int,
    start: date,
    history_months: int,
    orders: int,
    days: int,
) -> int:
    """The store's orders of the months before `start` (the year before grew 25% less).

    They are orders only (with their lines), ids ORD-H0000001 on: fulfilled before the
    contracted 3PLs began, so nothing else of them is in the data.
    """
    if history_months == 0:
        return 0
    first = add_months(start, -history_months)
    first_day, end_day = day_index(first), day_index(start)
    total = round(orders * (end_day - first_day) / max(1, days) / HISTORY_GROWTH)
    counts = daily_counts(total, first_day, end_day)
    clock = Clock(all_zones(), first_day - 1, end_day + 1)
    rng = Draw(seed + 1_000_003)
    maker = OrderMaker(catalog, clock, tables, rng)
    brand_zone = clock.zone("America/Chicago")
    seq = 0
    for offset, count in enumerate(counts):
        day = first_day + offset
        midnight = clock.midnight(brand_zone, day)
        scale = (clock.midnight(brand_zone, day + 1) - midnight) / DAY
        times = sorted(
            int((rng.pick(_HOURLY_CUM) * 3600 + rng.between(0, 3600)) * scale) for _ in range(count)
        )
        promised = (day_date(day) + timedelta(days=6)).isoformat()
        for second in times:
            seq += 1
            order = maker.draw(seq, midnight + second, 20 if _is_cyber_week(day_date(day)) else 0)
            order.id = f"ORD-H{seq:07d}"
            maker.write(order, promised, "")
    tables.flush()
    return seq


def _is_cyber_week(d: date) -> bool:
    first = date(d.year, 11, 1)
    thanksgiving = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
    return 0 <= (d - thanksgiving).days <= 4
