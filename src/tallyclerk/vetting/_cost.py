"""Cost-to-serve: any 3PL's rate card priced on the brand's own activity, month by month.

Three steps, each usable alone:

1. `month_activity` reads what the brand's 3PLs did, per month, the way a 3PL invoices it
   (the simulator's billing conventions, `tallyclerk.simulate.conventions()`): an order's fees
   fall in the month of the facility-local date of its first shipment (all its units, parcels
   and carrier cost with it), receiving in the month a receipt was stocked, returns in the
   month a return was processed, storage at the pallets of the month's last inventory count.
   The engine (DuckDB, PostgreSQL, or any Ibis backend) does the work; only monthly
   aggregates come back, so it runs over millions of orders.
2. `price` prices one rate card on that activity: per month and charge type, a quantity and
   an amount rounded half up to the cent; a growth percentage scales every volume.
3. `risk_adjust` adds the expected cost of picking errors and late shipments: priced orders x
   an error rate (measured in a pilot with `measured_rates`, else the candidate's claim) x a
   cost per error, and likewise for late orders.

`peak_shortfall` says how many orders of a peak would miss their ship day at a candidate's
claimed daily capacity.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import ibis
import ibis.expr.types as ir

from tallyclerk.contracts import RateCard
from tallyclerk.errors import InputError
from tallyclerk.metrics import REGISTRY, MetricContext, aggregate, period_start
from tallyclerk.vetting._types import CHARGE_TYPES, ChargeLine, CostToServe, MonthActivity

CENTS = Decimal("0.01")
_HUNDRED = Decimal(100)
NO_PACKAGING = ""  # the parcels key of shipments that name no packaging type

# The KPIs a pilot is measured on (`measured_rates`); the first two feed the risk adjustment.
PILOT_METRICS = (
    "order_accuracy_rate",
    "ship_on_time_rate",
    "inventory_accuracy_rate",
    "delivery_on_time_rate",
    "damage_free_rate",
    "perfect_order_rate",
)

_MONTH = r"(\d{4})-(\d{2})"
_WINDOW = re.compile(rf"^\s*{_MONTH}\s*(?:\.\.\s*{_MONTH}\s*)?$")


# --- months and windows ------------------------------------------------------------------------


def month_start(day: date) -> date:
    """The first day of the month holding a date."""
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after the one holding a date."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def window_months(first: date, last: date) -> list[date]:
    """The first days of the months from `first`'s through `last`'s, both included."""
    months: list[date] = []
    current, stop = month_start(first), month_start(last)
    while current <= stop:
        months.append(current)
        current = next_month(current)
    return months


def _check_window(first: date, last: date) -> None:
    if month_start(first) > month_start(last):
        raise InputError(
            f"the window starts after it ends ({first:%Y-%m} is after {last:%Y-%m}): "
            "give the earlier month first"
        )


def parse_window(text: str) -> tuple[date, date]:
    """A window of whole months written `YYYY-MM..YYYY-MM` (or one month, `YYYY-MM`).

    Returns the first day of the first month and the last day of the last month.
    """
    match = _WINDOW.match(text or "")
    if match is None:
        raise InputError(
            f"window {text!r} is not months written YYYY-MM..YYYY-MM (e.g. 2026-01..2026-10) "
            "or a single month YYYY-MM"
        )
    year1, month1, year2, month2 = match.groups()
    bounds: list[date] = []
    for year, month in ((year1, month1), (year2 or year1, month2 or month1)):
        if not 1 <= int(month) <= 12:
            raise InputError(f"window {text!r}: {year}-{month} is not a month (01 to 12)")
        bounds.append(date(int(year), int(month), 1))
    first, last_month = bounds
    _check_window(first, last_month)
    return first, next_month(last_month) - timedelta(days=1)


# --- the brand's activity per month ------------------------------------------------------------


def _local_day(ctx: MetricContext, table: ir.Table, ts: str) -> ir.Table:
    """Add `day`, the facility-local date of `ts` (its UTC date where the calendars end)."""
    dated = ctx.with_local_date(table, ts, "day")
    return dated.mutate(day=dated.day.fill_null(dated[ts].date()))


def _in_window(day: ir.DateValue, first: date, last: date) -> ir.BooleanValue:
    return (day >= ibis.literal(month_start(first))) & (day < ibis.literal(next_month(last)))


def _mine(table: ir.Table, provider_id: str | None) -> ir.Table:
    return table if provider_id is None else table.filter(table.provider_id == provider_id)


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()  # type: ignore[no-any-return]


def _fulfilment_rows(
    ctx: MetricContext, first: date, last: date, provider_id: str | None
) -> list[dict[str, Any]]:
    """Per month and packaging type: orders, parcels, units and carrier cost.

    One pass: units per shipment; per (provider, order, packaging type) the parcels, units,
    carrier cost and first local ship date; the order's month is the earliest of its types'
    (a window over the order), and each order is counted on one of its rows.
    """
    shipments = _mine(ctx.happened(ctx.table("shipments"), "shipped_at"), provider_id)
    lines = ctx.table("shipment_lines")
    per_shipment = lines.group_by("shipment_id").aggregate(units=lines.qty.sum())
    joined = shipments.left_join(per_shipment, shipments.shipment_id == per_shipment.shipment_id)
    parcels = joined.select(
        provider_id=joined.provider_id,
        facility_id=joined.facility_id,
        order_id=joined.order_id,
        shipped_at=joined.shipped_at,
        kind=joined.packaging.fill_null(NO_PACKAGING),
        cost=joined.shipping_cost,
        units=joined.units.fill_null(0),
    )
    dated = _local_day(ctx, parcels, "shipped_at")
    kinds = dated.group_by(["provider_id", "order_id", "kind"]).aggregate(
        parcels=dated.count(),
        units=dated.units.sum(),
        cost=dated.cost.sum(),
        first_day=dated.day.min(),
    )
    order = ibis.window(group_by=[kinds.provider_id, kinds.order_id], order_by=[kinds.kind])
    kinds = kinds.mutate(
        order_first=kinds.first_day.min().over(order),
        lead=ibis.row_number().over(order) == 0,
    )
    kinds = kinds.filter(_in_window(kinds.order_first, first, last))
    kinds = kinds.mutate(month=kinds.order_first.truncate("M"))
    monthly = kinds.group_by(["month", "kind"]).aggregate(
        orders=kinds.lead.ifelse(1, 0).sum(),
        parcels=kinds.parcels.sum(),
        units=kinds.units.sum(),
        cost=kinds.cost.sum(),
    )
    return _rows(monthly)


def _event_units(
    ctx: MetricContext,
    kind: str,
    at: str,
    qty: str,
    first: date,
    last: date,
    provider_id: str | None,
) -> dict[date, int]:
    """Units per month of the facility-local date of `at` (receipts stocked, returns
    processed)."""
    happened = _mine(ctx.happened(ctx.table(kind), at), provider_id)
    dated = _local_day(ctx, happened, at)
    dated = dated.filter(_in_window(dated.day, first, last))
    monthly = dated.group_by(month=dated.day.truncate("M")).aggregate(
        units=dated[qty].fill_null(0).sum()
    )
    return {row["month"]: int(row["units"] or 0) for row in _rows(monthly)}


def _pallets(
    ctx: MetricContext, first: date, last: date, provider_id: str | None
) -> dict[date, int]:
    """Pallets per month at each facility's last inventory count of the month.

    Per facility: ceil(sum over SKUs of on hand / units_per_pallet) at its last count whose
    local date falls in the month, summed over the facilities (of every provider, or of one).
    The engine sums units per pallet size; the few (facility, month, size) rows are added
    here as exact fractions, so a whole number of pallets is never pushed to the next one by
    float rounding. SKUs without a units_per_pallet take no pallet space in this count.
    """
    snaps = _mine(ctx.happened(ctx.table("inventory_snapshots"), "as_of"), provider_id)
    dated = _local_day(ctx, snaps, "as_of")
    dated = dated.filter(_in_window(dated.day, first, last))
    dated = dated.mutate(month=dated.day.truncate("M"))
    dated = dated.mutate(
        _last=dated.as_of.max().over(group_by=["provider_id", "facility_id", "month"])
    )
    held = dated.filter((dated.as_of == dated._last) & (dated.on_hand > 0))
    products = ctx.table("products").select("sku", "units_per_pallet")
    sized = held.join(products, held.sku == products.sku)
    sized = sized.filter(sized.units_per_pallet.notnull() & (sized.units_per_pallet > 0))
    by_size = sized.group_by(
        ["provider_id", "facility_id", "month", sized.units_per_pallet.name("size")]
    ).aggregate(units=sized.on_hand.sum())
    shares: dict[tuple[str, str, date], Fraction] = {}
    for row in _rows(by_size):
        key = (row["provider_id"], row["facility_id"], row["month"])
        shares[key] = shares.get(key, Fraction(0)) + Fraction(int(row["units"]), int(row["size"]))
    pallets: dict[date, int] = {}
    for (_provider, _facility, month), share in shares.items():
        pallets[month] = pallets.get(month, 0) + math.ceil(share)
    return pallets


def month_activity(
    ctx: MetricContext, first: date, last: date, *, provider_id: str | None = None
) -> list[MonthActivity]:
    """The brand's activity per month from `first`'s month through `last`'s, as 3PLs bill it.

    Every provider's together, or one provider's. An order counts in the month of the
    facility-local date of its first shipment, with all its shipped units, parcels and carrier
    cost; an order shipped by two providers counts once for each (each bills it). Receiving is
    by the local date a receipt was stocked (received_qty), returns by the local date a
    return was processed (qty), storage at the month's last inventory count (see `_pallets`).
    Only events that happened by the context's clock count. Every month of the window is
    listed, with zeros where nothing happened.
    """
    _check_window(first, last)
    fulfilled = _fulfilment_rows(ctx, first, last, provider_id)
    received = _event_units(ctx, "receipts", "stocked_at", "received_qty", first, last, provider_id)
    returned = _event_units(ctx, "returns", "processed_at", "qty", first, last, provider_id)
    pallets = _pallets(ctx, first, last, provider_id)

    orders: dict[date, int] = {}
    units: dict[date, int] = {}
    cost: dict[date, Decimal] = {}
    packs: dict[date, dict[str, int]] = {}
    for row in fulfilled:
        month = row["month"]
        orders[month] = orders.get(month, 0) + int(row["orders"] or 0)
        units[month] = units.get(month, 0) + int(row["units"] or 0)
        if row["cost"] is not None:
            cost[month] = cost.get(month, Decimal(0)) + Decimal(str(row["cost"]))
        packs.setdefault(month, {})[row["kind"]] = int(row["parcels"])
    out: list[MonthActivity] = []
    for month in window_months(first, last):
        out.append(
            MonthActivity(
                month=month,
                orders=orders.get(month, 0),
                units=units.get(month, 0),
                parcels=dict(sorted(packs.get(month, {}).items())),
                received_units=received.get(month, 0),
                returned_units=returned.get(month, 0),
                pallets=pallets.get(month, 0),
                shipping_cost=cost.get(month, Decimal(0)),
            )
        )
    return out


# --- pricing -----------------------------------------------------------------------------------


def cents(amount: Decimal) -> Decimal:
    """An amount rounded half up to the cent."""
    return amount.quantize(CENTS, rounding=ROUND_HALF_UP)


def _growth_factor(growth_pct: Decimal | int | float | str) -> Decimal:
    try:
        pct = Decimal(str(growth_pct))
    except ArithmeticError:
        raise InputError(f"growth {growth_pct!r} is not a percentage") from None
    if not pct.is_finite() or pct < -100:
        raise InputError(f"growth {growth_pct}% is not possible: give a percentage of -100 or more")
    return 1 + pct / _HUNDRED


def _packaging_label(kind: str) -> str:
    return kind if kind != NO_PACKAGING else "(no packaging type given)"


def price(
    activity: Sequence[MonthActivity],
    rates: RateCard,
    currency: str,
    candidate_id: str,
    *,
    growth_pct: Decimal | int = 0,
) -> CostToServe:
    """One rate card priced on the activity: per month, one line per charge type.

    Quantities (growth applied, so possibly fractional) and amounts (rounded half up to the
    cent per line):

    - pick_pack: orders x pick_pack;
    - additional_unit: (units - orders) x additional_unit (every unit after an order's first);
    - packaging: parcels, each at its type's rate; types the card does not price are charged
      0 and named in a note;
    - storage: pallets x storage_per_pallet_month;
    - receiving: units received x receiving_per_unit; returns: units returned x
      returns_per_unit;
    - shipping: quantity orders (one pass-through line per order, as invoiced), amount the
      carriers' cost x (1 + shipping_markup_pct / 100), rounded once for the month.

    `growth_pct` scales every volume (orders, units, parcels, receipts, returns, pallets and
    the carrier cost) by 1 + growth_pct / 100.
    """
    factor = _growth_factor(growth_pct)
    months = [a.month for a in activity]
    if len(set(months)) != len(months):
        raise ValueError("the activity lists a month more than once")
    markup = 1 + rates.shipping_markup_pct / _HUNDRED
    cost = CostToServe(candidate_id=candidate_id, currency=currency, months=sorted(months))
    unpriced: dict[str, Decimal] = {}
    for a in sorted(activity, key=lambda x: x.month):
        orders = a.orders * factor
        extra = max(0, a.units - a.orders) * factor
        parcels = sum(a.parcels.values()) * factor
        packaging = Decimal(0)
        for kind, count in a.parcels.items():
            rate = rates.packaging.get(kind)
            if rate is None:
                unpriced[kind] = unpriced.get(kind, Decimal(0)) + count * factor
            else:
                packaging += count * factor * rate
        pallets = a.pallets * factor
        received = a.received_units * factor
        returned = a.returned_units * factor
        carrier = a.shipping_cost * factor
        priced = (
            ("pick_pack", orders, orders * rates.pick_pack),
            ("additional_unit", extra, extra * rates.additional_unit),
            ("packaging", parcels, packaging),
            ("storage", pallets, pallets * rates.storage_per_pallet_month),
            ("receiving", received, received * rates.receiving_per_unit),
            ("returns", returned, returned * rates.returns_per_unit),
            ("shipping", orders, carrier * markup),
        )
        assert tuple(p[0] for p in priced) == CHARGE_TYPES
        cost.lines += [
            ChargeLine(a.month, charge, _plain(quantity), cents(amount))
            for charge, quantity, amount in priced
        ]
    if unpriced:
        named = ", ".join(
            f"{_packaging_label(kind)} ({_number(count)} parcels)"
            for kind, count in sorted(unpriced.items())
        )
        cost.notes.append(
            f"{candidate_id}'s rate card does not price the packaging type(s) {named}: "
            "charged 0 here; ask for their price"
        )
    if factor != 1:
        cost.notes.append(f"volumes scaled by {_number((factor - 1) * _HUNDRED)}% growth")
    if not months:
        cost.notes.append("no months of activity to price")
    return cost


def _plain(value: Decimal) -> Decimal:
    """A quantity without trailing zeros or an exponent: 1500 stays 1500, 1.50 becomes 1.5."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _number(value: Decimal) -> str:
    return f"{_plain(value):,f}"


# --- risk ----------------------------------------------------------------------------------------


def _check_rate(name: str, rate: float | None) -> None:
    if rate is not None and not (0.0 <= rate <= 1.0 and math.isfinite(rate)):
        raise InputError(f"{name} {rate} is not a share between 0 and 1")


def risk_adjust(
    cost: CostToServe,
    activity: Sequence[MonthActivity],
    *,
    error_rate: float | None,
    error_source: str,
    late_rate: float | None,
    late_source: str,
    cost_per_error: Decimal,
    cost_per_late: Decimal,
) -> CostToServe:
    """The cost with the expected cost of picking errors and late shipments over its window.

    The orders are those priced in `cost` (its pick_pack quantities, so any growth priced in
    is included); `activity` must be what the cost was priced on (its months are checked).
    Expected errors = orders x error_rate, costing cost_per_error each; late orders = orders x
    late_rate, costing cost_per_late each; each cost rounded half up to the cent. A rate of
    None (nothing measured, nothing claimed) costs nothing and is noted.
    """
    if sorted(a.month for a in activity) != sorted(cost.months):
        raise ValueError("risk_adjust needs the activity the cost was priced on (same months)")
    _check_rate("error rate", error_rate)
    _check_rate("late rate", late_rate)
    for name, value in (("cost per error", cost_per_error), ("cost per late order", cost_per_late)):
        if Decimal(value) < 0:
            raise InputError(f"{name} {value} must be 0 or more")
    orders = sum(
        (line.quantity for line in cost.lines if line.charge_type == "pick_pack"), Decimal(0)
    )
    notes = list(cost.notes)
    error_cost = late_cost = Decimal("0")
    if error_rate is None:
        notes.append(f"{cost.candidate_id}: no error rate measured or claimed; errors not costed")
    else:
        error_cost = cents(orders * Decimal(repr(error_rate)) * Decimal(cost_per_error))
    if late_rate is None:
        notes.append(f"{cost.candidate_id}: no late rate measured or claimed; lateness not costed")
    else:
        late_cost = cents(orders * Decimal(repr(late_rate)) * Decimal(cost_per_late))
    return replace(
        cost,
        lines=list(cost.lines),
        months=list(cost.months),
        notes=notes,
        error_rate=error_rate,
        error_rate_source=error_source if error_rate is not None else "none",
        late_rate=late_rate,
        late_rate_source=late_source if late_rate is not None else "none",
        error_cost=error_cost,
        late_cost=late_cost,
    )


def measured_rates(
    ctx: MetricContext,
    provider_id: str,
    first: date,
    last: date,
    *,
    metrics: Iterable[str] = PILOT_METRICS,
) -> dict[str, float]:
    """A provider's KPI figures over the window's months, from the KPI catalogue.

    A rate is the metric's numerator over its denominator, both summed over the months from
    `first`'s through `last`'s (the periods the catalogue assigns, e.g. ship_on_time_rate by
    due date): the figures `compute` gives month by month, pooled. A quantile metric
    (order_cycle_hours_p50, _p90) is the quantile of its items over the whole window. A
    metric with nothing to count in the window is left out, and so is a name the catalogue
    does not hold (an RFP's extra measures, such as dock_to_stock_hours, are claims only).
    The risk adjustment's error rate is 1 - order_accuracy_rate, its late rate
    1 - ship_on_time_rate.
    """
    _check_window(first, last)
    low, high = month_start(first), month_start(last)
    out: dict[str, float] = {}
    for name in dict.fromkeys(metrics):
        metric = REGISTRY.get(name)
        if metric is None:
            continue
        if metric.quantile is None:
            # The catalogue's monthly figures (as `compute` gives them), pooled in the engine.
            monthly = aggregate(ctx, metric, grain="month", start=low, end=high)
            mine = monthly.filter(monthly.provider_id == provider_id)
            row = _rows(
                mine.aggregate(numerator=mine.numerator.sum(), denominator=mine.denominator.sum())
            )[0]
            if row["denominator"]:
                out[name] = int(row["numerator"] or 0) / int(row["denominator"])
            continue
        items = metric.items(ctx)
        items = items.mutate(period=period_start(items.period_date, "month"))
        items = items.filter(
            (items.provider_id == provider_id)
            & (items.period >= ibis.literal(low))
            & (items.period <= ibis.literal(high))
        )
        value = items.value.quantile(metric.quantile).cast("float64").to_pyarrow().as_py()
        if value is not None:
            out[name] = float(value)
    return out


# --- peak capacity -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeakShortfall:
    """Orders of a peak that a claimed daily capacity would not ship on their day.

    Each day ships at most `capacity` orders, oldest first (yesterday's backlog before today's
    orders); an order shipped after the day it came in counts once in late_orders.
    """

    capacity: int
    demand: int  # orders over the days given (each day's demand rounded up)
    days_over: int  # days whose demand plus backlog exceeded the capacity
    late_orders: int  # orders not shipped on their own day
    backlog_end: int  # orders still waiting after the last day
    worst_day: date | None  # the day with the largest backlog left over
    worst_backlog: int

    @property
    def late_share(self) -> float:
        """late_orders / demand (0 when there is no demand)."""
        return self.late_orders / self.demand if self.demand else 0.0


def peak_shortfall(demand: Sequence[tuple[date, float]], capacity: int) -> PeakShortfall:
    """Orders of a peak a candidate's claimed capacity per day would not ship on their day.

    `demand` is orders per day (e.g. the forecast's P90 over the peak window, or the single
    peak P90 day), each rounded up to a whole order; `capacity` is the candidate's claimed
    peak orders per day. Days are taken in date order; what a day cannot ship waits for the
    next, before that day's own orders (first in, first out).
    """
    if capacity < 0:
        raise InputError(f"capacity {capacity} orders per day must be 0 or more")
    backlog = late = total = over = worst = 0
    worst_day: date | None = None
    for day, wanted in sorted(demand):
        orders = max(0, math.ceil(wanted - 1e-9))
        total += orders
        ship_own = max(0, min(orders, capacity - backlog))
        late += orders - ship_own
        pending = backlog + orders
        if pending > capacity:
            over += 1
        backlog = max(0, pending - capacity)
        if backlog > worst:
            worst, worst_day = backlog, day
    return PeakShortfall(
        capacity=capacity,
        demand=total,
        days_over=over,
        late_orders=late,
        backlog_end=backlog,
        worst_day=worst_day,
        worst_backlog=worst,
    )


__all__ = [
    "CENTS",
    "PILOT_METRICS",
    "PeakShortfall",
    "cents",
    "measured_rates",
    "month_activity",
    "month_start",
    "next_month",
    "parse_window",
    "peak_shortfall",
    "price",
    "risk_adjust",
    "window_months",
]
