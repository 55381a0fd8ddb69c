"""The peak simulation: a provider's floor, day by day, against the demand of a scenario.

A pure module: it reads no store and no network. Given the provider's contract versions, the
orders each facility receives per local day and the capacity plan, it plays the days through
in order (docs/peak.md):

- **Due days** follow the `same_day_before_cutoff` rule (DESIGN section 3): of the orders
  arriving on a business day, `before_cutoff_share` are due that day and the rest on the next
  business day; orders arriving on a day off are all due on the next business day.
- **Shipping**: each business day a facility ships up to its capacity of the day, earliest due
  day first, from everything that has arrived up to and including that day. Nothing ships on a
  day off. Orders are expected values, so they may be fractional.
- **Judging**: an order is on time when it ships on or before its due day; one still unshipped
  at the end of its due day is late. Orders due after the last simulated day are not judged.
- **Capacity**: the contract's `orders_per_day` (its `peak_orders_per_day` inside a peak
  window), unless the plan overrides either figure, plus booked extra capacity, split across
  facilities by their share of the simulated demand (or an explicit split).
- **Periods and credits**: each month is cut into the SLA evaluation's own segments
  (`sla.segments`); a segment is judged against its `ship_on_time_rate` terms, and a month's
  credits are priced as the SLA engine prices them (highest tier hit, missed-ship-date
  incidents, the cap).
- **Recommendation**: the smallest extra capacity to book, and the largest share of demand the
  provider can keep (routing the rest to a second provider), each found by bisection on the
  simulation itself.
"""

from __future__ import annotations

import calendar as _calendar
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from tallyclerk.calendar import FacilityClock
from tallyclerk.contracts import ORDER_VALUE, Contract, contract_in_force
from tallyclerk.errors import InputError
from tallyclerk.sla._credits import cents
from tallyclerk.sla._segments import segments

METRIC = "ship_on_time_rate"
"""The metric the simulation judges."""
MISSED_SHIP_DATE: Literal["missed_ship_date"] = "missed_ship_date"
"""The per-incident credit the simulation prices: an order shipped after its due day."""
EPSILON = 1e-9
"""Amounts of orders (and differences of rates) below this are taken as zero."""
SHARE_STEPS = 1000
"""The share kept by the provider is searched in steps of 1/SHARE_STEPS (0.1%)."""

_ONE_DAY = timedelta(days=1)


# --- inputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FacilityDemand:
    """The orders one facility receives: per local day, and how many arrive before the cutoff.

    `orders` maps a facility-local date to the orders released to the facility that day
    (expected values: fractions are fine); days outside the simulated span are ignored.
    `before_cutoff_share` is the share of a day's orders released before the facility's
    cutoff, between 0 and 1.
    """

    clock: FacilityClock
    orders: Mapping[date, float]
    before_cutoff_share: float

    def __post_init__(self) -> None:
        """Reject a share outside 0..1 and negative or non-finite orders."""
        share = self.before_cutoff_share
        if not (isinstance(share, int | float) and 0 <= share <= 1):
            raise ValueError(f"before_cutoff_share must be between 0 and 1, got {share!r}")
        for day, value in self.orders.items():
            if not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"orders of {self.facility_id} on {day} must be a number of 0 or more, "
                    f"got {value!r}"
                )

    @property
    def facility_id(self) -> str:
        """The facility's id (its clock's)."""
        return self.clock.facility_id


@dataclass(frozen=True)
class ExtraCapacity:
    """Overflow capacity booked with the provider: orders per day between two dates."""

    start: date
    end: date
    orders_per_day: float
    label: str = ""

    def __post_init__(self) -> None:
        """Reject an empty span or a negative figure."""
        if self.end < self.start:
            raise ValueError(f"extra capacity ends ({self.end}) before it starts ({self.start})")
        if not math.isfinite(self.orders_per_day) or self.orders_per_day < 0:
            raise ValueError(f"extra orders per day must be 0 or more, got {self.orders_per_day}")

    def holds(self, day: date) -> bool:
        """Whether the booking covers the day."""
        return self.start <= day <= self.end


@dataclass(frozen=True)
class CapacityPlan:
    """The provider's capacity in a scenario: the contract's figures unless overridden.

    `orders_per_day` replaces the contract's base figure and `peak_orders_per_day` its peak
    figure; each override replaces only its own figure. Inside a contract peak window the peak
    figure applies when there is one, else the base figure. `extra` adds booked capacity on
    its days. `split` gives each facility's share of the provider's capacity explicitly
    (facility id -> weight, normalised to sum to 1); without it the capacity is split in
    proportion to each facility's share of the simulated demand.
    """

    orders_per_day: float | None = None
    peak_orders_per_day: float | None = None
    extra: tuple[ExtraCapacity, ...] = ()
    split: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        """Reject figures that are not positive."""
        for name in ("orders_per_day", "peak_orders_per_day"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value <= 0):
                raise ValueError(f"{name} must be above 0, got {value}")
        for facility_id, weight in (self.split or {}).items():
            if not math.isfinite(weight) or weight <= 0:
                raise ValueError(f"capacity share of {facility_id} must be above 0, got {weight}")


# --- outputs -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeakDay:
    """One facility's day (or, with facility_id None, every facility's day added up).

    arriving: orders released that day; due: orders whose due day it is; capacity: what the
    facility could ship (0 on a day off); shipped and shipped_on_time: what left that day, and
    how much of it by its due day; backlog: orders waiting at the end of the day, of which
    overdue are already past their due day; late: orders due that day still unshipped at its
    end (each late order is counted once, on its due day).
    """

    facility_id: str | None
    day: date
    business_day: bool
    peak: bool
    arriving: float
    due: float
    capacity: float
    shipped: float
    shipped_on_time: float
    backlog: float
    overdue: float
    late: float


@dataclass(frozen=True, slots=True)
class PeakPeriod:
    """One segment of a month (SLA segments: a contract version and peak variant) judged.

    Orders count in the segment holding their due day; those due on excluded days are left
    out (and counted in `excluded`). rate is None when nothing fell due; met is None then, or
    when the contract sets no ship_on_time_rate terms in the segment.
    """

    period: date  # the month, as its first day
    start: date
    end: date
    label: str  # base | peak MM-DD..MM-DD
    contract_effective: date
    due: float
    on_time: float
    late: float
    excluded: float
    rate: float | None
    target: float | None
    lower_is_better: bool
    met: bool | None


@dataclass(frozen=True, slots=True)
class PeakCreditLine:
    """One line of a month's simulated credit note (kind: tier | incident | cap)."""

    kind: str
    label: str
    basis: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class MonthCredits:
    """The credits a month's simulated performance would earn, against its simulated fees.

    fees: fee_per_order x orders shipped in the simulated days of the month, to the cent.
    """

    period: date
    currency: str
    shipped: float
    fees: Decimal
    lines: tuple[PeakCreditLine, ...]

    @property
    def total(self) -> Decimal:
        """The credit owed, after the cap."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def capped(self) -> bool:
        """Whether the cap cut the credits."""
        return any(line.kind == "cap" for line in self.lines)


@dataclass(frozen=True, slots=True)
class CapacityAdvice:
    """Extra orders per day to book on the over-capacity days.

    dates: the business days where the orders due exceed some facility's capacity (the extra
    is booked on those days, split across facilities as the capacity is). orders_per_day:
    the smallest whole number of extra orders per day that brings every segment to its
    ship_on_time_rate terms (0: none needed); orders_per_day_no_late: the smallest for no late
    order at all. A None figure: not reachable by booking capacity on those days alone.
    worst_rate: the lowest segment rate with orders_per_day booked. schedule_no_late: the
    same goal day by day instead of a flat figure: going through the days in order, the
    fewest extra orders on each day that leave nothing due that day unshipped.
    """

    needed: bool
    dates: tuple[date, ...]
    orders_per_day: int | None
    orders_per_day_no_late: int | None
    worst_rate: float | None
    schedule_no_late: tuple[tuple[date, int], ...] = ()


@dataclass(frozen=True, slots=True)
class RoutingAdvice:
    """The share of demand to route to a second provider on the days that feed the peak.

    dates: the arrival days whose orders fall due on an over-capacity day; on those days the
    provider keeps keep_share of every facility's orders and the rest goes to the second
    provider. keep_share is the largest share (in steps of 0.1%) that brings every segment to
    its terms; keep_share_no_late the largest with no late order. routed_orders: the orders
    routed in all; peak_routed_orders on peak_routed_day: the most routed in one day (what the
    second provider must absorb that day).
    """

    needed: bool
    dates: tuple[date, ...]
    keep_share: float
    keep_share_no_late: float
    routed_orders: float
    peak_routed_orders: float
    peak_routed_day: date | None
    second_provider: str | None
    second_provider_capacity: float | None
    worst_rate: float | None

    @property
    def route_share(self) -> float:
        """The share of each routed day's orders that goes to the second provider."""
        return round(1.0 - self.keep_share, 6)

    @property
    def fits_second_provider(self) -> bool | None:
        """Whether the busiest routed day fits the second provider's daily capacity, if known."""
        if self.second_provider_capacity is None or not self.needed:
            return None
        return self.peak_routed_orders <= self.second_provider_capacity + EPSILON


@dataclass(frozen=True, slots=True)
class Recommendation:
    """What to do about the peak: book capacity, or route a share; and plain sentences."""

    capacity: CapacityAdvice
    routing: RoutingAdvice
    summary: tuple[str, ...]

    @property
    def needed(self) -> bool:
        """Whether some segment misses its terms without action."""
        return self.capacity.needed


@dataclass(frozen=True, slots=True)
class PeakTotals:
    """Figures over the whole simulation (every facility, excluded days included)."""

    arrived: float
    shipped: float
    due: float  # due on a simulated day
    on_time: float
    late: float
    not_judged: float  # due after the last simulated day
    backlog_at_end: float
    worst_backlog: float
    worst_backlog_day: date | None
    credits: Decimal


@dataclass(frozen=True, slots=True)
class FacilityPlan:
    """How a facility entered the simulation."""

    facility_id: str
    orders: float  # arriving within the simulated days
    capacity_share: float
    before_cutoff_share: float


@dataclass(frozen=True)
class PeakResult:
    """The outcome of a peak simulation; `as_dict()` gives it as JSON-ready data."""

    provider_id: str
    start: date
    end: date
    currency: str
    fee_per_order: Decimal
    facilities: tuple[FacilityPlan, ...]
    days: tuple[PeakDay, ...]  # per facility, by day then facility
    periods: tuple[PeakPeriod, ...]
    credits: tuple[MonthCredits, ...]
    recommendation: Recommendation
    totals: PeakTotals
    notes: tuple[str, ...] = ()

    def by_day(self) -> list[PeakDay]:
        """Every facility's day added up (facility_id None), in date order."""
        grouped: dict[date, list[PeakDay]] = {}
        for row in self.days:
            grouped.setdefault(row.day, []).append(row)
        return [_add_days(day, rows) for day, rows in sorted(grouped.items())]

    def as_dict(self) -> dict[str, Any]:
        """The result as plain data: dates in ISO form, money as strings, counts rounded."""
        rec = self.recommendation
        return {
            "provider": self.provider_id,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "currency": self.currency,
            "fee_per_order": str(self.fee_per_order),
            "facilities": [
                {
                    "facility": f.facility_id,
                    "orders": _count(f.orders),
                    "capacity_share": _share(f.capacity_share),
                    "before_cutoff_share": _share(f.before_cutoff_share),
                }
                for f in self.facilities
            ],
            "totals": _totals_dict(self.totals),
            "periods": [_period_dict(p) for p in self.periods],
            "credits": [_credits_dict(c) for c in self.credits],
            "recommendation": {
                "needed": rec.needed,
                "summary": list(rec.summary),
                "capacity": _capacity_dict(rec.capacity),
                "routing": _routing_dict(rec.routing),
            },
            "days": [_day_dict(d) for d in self.by_day()],
            "facility_days": [_day_dict(d) for d in self.days],
            "notes": list(self.notes),
        }


# --- the simulation ------------------------------------------------------------------------


def simulate_peak(
    contract_versions: Sequence[Contract],
    provider_id: str,
    facilities: Sequence[FacilityDemand],
    start: date,
    end: date,
    *,
    capacity: CapacityPlan | None = None,
    fee_per_order: Decimal,
    second_provider: str | None = None,
    second_provider_capacity: float | None = None,
) -> PeakResult:
    """Play start..end day by day for a provider's facilities and judge it as the SLA would.

    contract_versions: the provider's versions, for capacity, peak windows, targets, exclusions
    and credits (their closed dates belong in the facilities' clocks). facilities: each
    facility's demand and clock. capacity: the plan (default: the contract's figures).
    fee_per_order: the fulfillment fee of one order, the base of the credits. second_provider
    (and its daily capacity, when known) only label the routing advice. Raises InputError for
    inputs a scenario got wrong (no contract, a split naming other facilities), ValueError for
    misuse (an empty span, a facility given twice, versions of another provider).
    """
    plan = capacity or CapacityPlan()
    if end < start:
        raise ValueError(f"the simulation ends ({end}) before it starts ({start})")
    versions = list(contract_versions)
    if not versions:
        raise InputError(f"no contract for provider {provider_id}: nothing to simulate against")
    strangers = sorted({v.provider for v in versions if v.provider != provider_id})
    if strangers:
        raise ValueError(f"contract versions of {', '.join(strangers)} given for {provider_id}")
    if not facilities:
        raise InputError(f"no facility of {provider_id} to simulate")
    model = _Model(versions, provider_id, facilities, start, end, plan)
    base = model.run(model.arrivals, {})
    credits = model.credits(base, fee_per_order)
    recommendation = _recommend(model, base, second_provider, second_provider_capacity)
    totals = model.totals(base, credits)
    return PeakResult(
        provider_id=provider_id,
        start=start,
        end=end,
        currency=model.currency,
        fee_per_order=fee_per_order,
        facilities=tuple(
            FacilityPlan(
                site.facility_id,
                sum(model.arrivals[k]),
                site.capacity_share,
                site.before_cutoff_share,
            )
            for k, site in enumerate(model.sites)
        ),
        days=model.day_rows(base),
        periods=model.periods(base),
        credits=credits,
        recommendation=recommendation,
        totals=totals,
        notes=tuple(model.notes),
    )


@dataclass
class _Site:
    """The fixed facts of one facility over the simulated days (index 0 is `start`)."""

    facility_id: str
    before_cutoff_share: float
    business: list[bool]
    next_business: list[int]  # index of the next business day after each day (may pass the end)
    capacity_share: float = 0.0


@dataclass
class _Flow:
    """What one facility did, per day index (due and on-time are by due day)."""

    due: list[float]
    on_time: list[float]  # orders due that day shipped by it
    shipped: list[float]
    shipped_on_time: list[float]
    backlog: list[float]
    overdue: list[float]
    not_judged: float


@dataclass(frozen=True)
class _Judged:
    """A segment's index range, its terms, and the month it belongs to."""

    period: date
    start: date
    end: date
    label: str
    contract: Contract
    days: tuple[int, ...]  # judged day indices
    excluded: tuple[int, ...]
    threshold: float | None
    lower_is_better: bool


@dataclass(frozen=True)
class _Outcome:
    """A run's judgement: every segment's rate, whether all are on terms, the late orders."""

    rates: list[float | None]
    all_met: bool
    late: float
    worst_rate: float | None


class _Model:
    """The simulated span, the sites, the capacity per day and the segments to judge."""

    def __init__(
        self,
        versions: list[Contract],
        provider_id: str,
        facilities: Sequence[FacilityDemand],
        start: date,
        end: date,
        plan: CapacityPlan,
    ) -> None:
        self.provider_id = provider_id
        self.versions = versions
        self.start = start
        self.end = end
        self.n = (end - start).days + 1
        self.dates = [start + timedelta(days=i) for i in range(self.n)]
        self.notes: list[str] = []
        ids = [f.facility_id for f in facilities]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"facility {', '.join(repeated)} given twice")
        self.sites = [self._site(f) for f in facilities]
        self.arrivals = [[float(f.orders.get(day, 0.0)) for day in self.dates] for f in facilities]
        earliest = min(v.effective for v in versions)
        self.newest = max(versions, key=lambda v: v.effective)
        self.currency = self.newest.currency
        self._split(plan)
        self.peak_days: list[bool] = []
        self.committed: list[float] = []
        self.extra: list[float] = []
        uncovered = 0
        for day in self.dates:
            contract = contract_in_force(versions, day)
            if contract is None:
                uncovered += 1
                contract = min(versions, key=lambda v: v.effective)
            in_peak = contract.peak_variant(day) is not None
            base = plan.orders_per_day or float(contract.capacity.orders_per_day)
            peak = plan.peak_orders_per_day or contract.capacity.peak_orders_per_day
            self.peak_days.append(in_peak)
            self.committed.append(float(peak) if in_peak and peak is not None else float(base))
            self.extra.append(sum(x.orders_per_day for x in plan.extra if x.holds(day)))
        if uncovered:
            self.notes.append(
                f"{uncovered} simulated day(s) fall before the first contract version "
                f"(effective {earliest}): they use its capacity and are not judged."
            )
        self.judged = self._segments()
        if not any(j.threshold is not None for j in self.judged):
            self.notes.append(
                f"The contract sets no {METRIC} terms on the simulated days: nothing is judged."
            )
        self.notes.append(
            f"The simulation starts with an empty floor on {start}: orders released before "
            "it are not carried in."
        )
        for first, last in _months(start, end):
            if start > first or end < last:
                self.notes.append(
                    f"{first:%Y-%m} is simulated from {max(first, start)} to "
                    f"{min(last, end)} only: its fees and credits cover those days."
                )

    # -- set-up

    def _site(self, demand: FacilityDemand) -> _Site:
        calendar = demand.clock.calendar
        business = [calendar.is_business_day(day) for day in self.dates]
        following: list[int] = []
        for day in self.dates:
            following.append((calendar.next_business_day(day) - self.start).days)
        return _Site(demand.facility_id, float(demand.before_cutoff_share), business, following)

    def _split(self, plan: CapacityPlan) -> None:
        ids = [site.facility_id for site in self.sites]
        if plan.split:
            unknown = sorted(set(plan.split) - set(ids))
            missing = sorted(set(ids) - set(plan.split))
            if unknown or missing:
                parts = []
                if unknown:
                    parts.append(f"names {', '.join(unknown)}, not simulated")
                if missing:
                    parts.append(f"leaves out {', '.join(missing)}")
                raise InputError(
                    f"the capacity split {' and '.join(parts)} "
                    f"(the facilities of {self.provider_id}: {', '.join(ids)})"
                )
            weights = [float(plan.split[i]) for i in ids]
            basis = "as the plan splits it"
        else:
            weights = [sum(orders) for orders in self.arrivals]
            basis = "in proportion to each facility's share of the simulated demand"
            if sum(weights) <= EPSILON:
                weights = [1.0] * len(ids)
                basis = "evenly (no demand simulated)"
        total = sum(weights)
        for site, weight in zip(self.sites, weights, strict=True):
            site.capacity_share = weight / total
        if len(self.sites) > 1:
            shares = ", ".join(f"{s.facility_id} {s.capacity_share:.1%}" for s in self.sites)
            self.notes.append(f"Capacity is split across facilities {basis}: {shares}.")

    def _segments(self) -> list[_Judged]:
        judged: list[_Judged] = []
        for first, last in _months(self.start, self.end):
            lo, hi = max(first, self.start), min(last, self.end)
            for part in segments(self.provider_id, self.versions, lo, hi):
                terms = part.terms(METRIC)
                days = [(d - self.start).days for d in part.days()]
                judged.append(
                    _Judged(
                        period=first,
                        start=part.start,
                        end=part.end,
                        label=part.label,
                        contract=part.contract,
                        days=tuple(i for i in days if self.dates[i] not in part.excluded_days),
                        excluded=tuple(i for i in days if self.dates[i] in part.excluded_days),
                        threshold=None if terms is None else terms.threshold,
                        lower_is_better=False if terms is None else terms.lower_is_better,
                    )
                )
        return judged

    # -- running

    def capacity_of(self, extra: Mapping[int, float]) -> list[list[float]]:
        """Each facility's capacity per day: its share of the provider's, on business days."""
        out = []
        for site in self.sites:
            out.append(
                [
                    (self.committed[i] + self.extra[i] + extra.get(i, 0.0)) * site.capacity_share
                    if site.business[i]
                    else 0.0
                    for i in range(self.n)
                ]
            )
        return out

    def run(self, arrivals: list[list[float]], extra: Mapping[int, float]) -> list[_Flow]:
        """Play every facility through the days with the arrivals and added extra capacity."""
        capacity = self.capacity_of(extra)
        return [
            _flow(site, orders, caps, self.n)
            for site, orders, caps in zip(self.sites, arrivals, capacity, strict=True)
        ]

    def judge(self, flows: list[_Flow]) -> _Outcome:
        """Every segment's rate, whether all are on terms, and the late orders judged."""
        rates: list[float | None] = []
        all_met = True
        for part in self.judged:
            due = sum(flow.due[i] for flow in flows for i in part.days)
            on_time = sum(flow.on_time[i] for flow in flows for i in part.days)
            rate = on_time / due if due > EPSILON else None
            rates.append(rate)
            if _met(rate, part) is False:
                all_met = False
        late = sum(max(0.0, flow.due[i] - flow.on_time[i]) for flow in flows for i in range(self.n))
        judged = [
            r for r, part in zip(rates, self.judged, strict=True) if part.threshold is not None
        ]
        worst = min((r for r in judged if r is not None), default=None)
        return _Outcome(rates, all_met, late, worst)

    # -- reporting

    def day_rows(self, flows: list[_Flow]) -> tuple[PeakDay, ...]:
        """Per facility and day, by day then facility."""
        capacity = self.capacity_of({})
        rows = []
        for i, day in enumerate(self.dates):
            for k, (site, flow) in enumerate(zip(self.sites, flows, strict=True)):
                rows.append(
                    PeakDay(
                        facility_id=site.facility_id,
                        day=day,
                        business_day=site.business[i],
                        peak=self.peak_days[i],
                        arriving=self.arrivals[k][i],
                        due=flow.due[i],
                        capacity=capacity[k][i],
                        shipped=flow.shipped[i],
                        shipped_on_time=flow.shipped_on_time[i],
                        backlog=flow.backlog[i],
                        overdue=flow.overdue[i],
                        late=_clean(flow.due[i] - flow.on_time[i]),
                    )
                )
        return tuple(rows)

    def periods(self, flows: list[_Flow]) -> tuple[PeakPeriod, ...]:
        """Every segment of every month touched, judged."""
        out = []
        for part in self.judged:
            due = sum(flow.due[i] for flow in flows for i in part.days)
            on_time = sum(flow.on_time[i] for flow in flows for i in part.days)
            excluded = sum(flow.due[i] for flow in flows for i in part.excluded)
            rate = on_time / due if due > EPSILON else None
            out.append(
                PeakPeriod(
                    period=part.period,
                    start=part.start,
                    end=part.end,
                    label=part.label,
                    contract_effective=part.contract.effective,
                    due=due,
                    on_time=on_time,
                    late=_clean(due - on_time),
                    excluded=excluded,
                    rate=rate,
                    target=part.threshold,
                    lower_is_better=part.lower_is_better,
                    met=_met(rate, part),
                )
            )
        return tuple(out)

    def credits(self, flows: list[_Flow], fee_per_order: Decimal) -> tuple[MonthCredits, ...]:
        """Each month's credits as the SLA engine prices them, on the simulated fees."""
        periods = self.periods(flows)
        out = []
        for first, last in _months(self.start, self.end):
            parts = [p for p in periods if p.period == first]
            if not parts:
                continue  # no contract in force: nothing to credit
            judged = [j for j in self.judged if j.period == first]
            contract = judged[-1].contract  # as the SLA engine: the month's last version
            shipped = sum(
                flow.shipped[i]
                for flow in flows
                for i in range(self.n)
                if first <= self.dates[i] <= last
            )
            fees = cents(fee_per_order * _decimal(shipped))
            lines = _tier_lines(contract, parts, fees)
            lines.extend(self._incident_lines(contract, parts, first))
            total = sum((line.amount for line in lines), Decimal("0.00"))
            cap = cents(fees * Decimal(contract.credits.cap_pct_of_fees) / 100)
            if total > cap:
                lines.append(
                    PeakCreditLine(
                        "cap",
                        f"cap: {contract.credits.cap_pct_of_fees}% of fees",
                        f"credits capped at {cap} {self.currency}",
                        -(total - cap),
                    )
                )
            out.append(MonthCredits(first, self.currency, shipped, fees, tuple(lines)))
        return tuple(out)

    def _incident_lines(
        self, contract: Contract, parts: list[PeakPeriod], period: date
    ) -> list[PeakCreditLine]:
        price = contract.credits.per_incident.get(MISSED_SHIP_DATE)
        # As the SLA engine: the days of the segments that judge the metric, or every day of
        # the month when none does (the clause stands alone).
        judging = [p for p in parts if p.target is not None] or parts
        late = sum(p.late for p in judging)
        if price is None or late <= EPSILON:
            return []
        if price == ORDER_VALUE:
            self.notes.append(
                f"Missed ship dates of {period:%Y-%m} are credited at the order's value, which "
                "the simulation does not know: that credit is left out."
            )
            return []
        amount = cents(Decimal(price) * _decimal(late))
        return [
            PeakCreditLine(
                "incident",
                "missed ship date",
                f"{late:,.1f} late orders x {price} {self.currency}",
                amount,
            )
        ]

    def totals(self, flows: list[_Flow], credits: Sequence[MonthCredits]) -> PeakTotals:
        """Figures over the whole simulation (and a note when orders are left waiting)."""
        backlog = [sum(flow.backlog[i] for flow in flows) for i in range(self.n)]
        waiting = backlog[-1]
        if waiting > EPSILON:
            overdue = sum(flow.overdue[-1] for flow in flows)
            self.notes.append(
                f"{waiting:,.0f} orders are still waiting at the end of {self.end}, "
                f"{overdue:,.0f} of them past their due day (counted late)."
            )
        worst = max(backlog, default=0.0)
        worst_day = None if worst <= EPSILON else self.dates[backlog.index(worst)]
        due = sum(sum(flow.due) for flow in flows)
        on_time = sum(sum(flow.on_time) for flow in flows)
        return PeakTotals(
            arrived=sum(sum(orders) for orders in self.arrivals),
            shipped=sum(sum(flow.shipped) for flow in flows),
            due=due,
            on_time=on_time,
            late=_clean(due - on_time),
            not_judged=sum(flow.not_judged for flow in flows),
            backlog_at_end=backlog[-1],
            worst_backlog=worst,
            worst_backlog_day=worst_day,
            credits=sum((c.total for c in credits), Decimal("0.00")),
        )


def _flow(site: _Site, orders: list[float], capacity: list[float], n: int) -> _Flow:
    """One facility through the days: arrivals join a queue by due day, FIFO shipping."""
    due = [0.0] * n
    on_time = [0.0] * n
    shipped = [0.0] * n
    shipped_on_time = [0.0] * n
    backlog = [0.0] * n
    overdue = [0.0] * n
    not_judged = 0.0
    # Due days never decrease in arrival order (an arrival is due on its day or the next
    # business day, both on or after every earlier arrival's), so the queue stays sorted by
    # appending: [due day index, orders].
    queue: deque[list[float]] = deque()
    share = site.before_cutoff_share

    def enqueue(due_day: int, amount: float) -> None:
        nonlocal not_judged
        if amount <= 0.0:
            return
        if due_day < n:
            due[due_day] += amount
        else:
            not_judged += amount
        if queue and int(queue[-1][0]) == due_day:
            queue[-1][1] += amount
        else:
            queue.append([float(due_day), amount])

    for i in range(n):
        arriving = orders[i]
        if site.business[i]:
            enqueue(i, arriving * share)
            enqueue(site.next_business[i], arriving * (1.0 - share))
        else:
            enqueue(site.next_business[i], arriving)
        room = capacity[i]
        while queue and room > EPSILON:
            entry = queue[0]
            take = min(room, entry[1])
            room -= take
            shipped[i] += take
            due_day = int(entry[0])
            if due_day >= i:
                shipped_on_time[i] += take
                if due_day < n:
                    on_time[due_day] += take
            entry[1] -= take
            if entry[1] <= EPSILON:
                queue.popleft()
        backlog[i] = sum(entry[1] for entry in queue)
        overdue[i] = sum(entry[1] for entry in queue if entry[0] <= i)
    return _Flow(due, on_time, shipped, shipped_on_time, backlog, overdue, not_judged)


# --- the recommendation --------------------------------------------------------------------


def _recommend(
    model: _Model,
    base: list[_Flow],
    second_provider: str | None,
    second_capacity: float | None,
) -> Recommendation:
    """Capacity to book and share to route, each by bisection on the simulation itself."""
    outcome = model.judge(base)
    needed = not outcome.all_met
    capacity = model.capacity_of({})
    over = sorted(
        {
            i
            for k, flow in enumerate(base)
            for i in range(model.n)
            if model.sites[k].business[i] and flow.due[i] > capacity[k][i] + EPSILON
        }
    )
    has_late = outcome.late > EPSILON

    def meets(flows: list[_Flow]) -> bool:
        return model.judge(flows).all_met

    def no_late(flows: list[_Flow]) -> bool:
        return model.judge(flows).late <= 1e-6

    def with_extra(amount: int) -> list[_Flow]:
        return model.run(model.arrivals, dict.fromkeys(over, float(amount)))

    # Enough to ship, on every over day, every order any facility could hold by then.
    shares = [s.capacity_share for s in model.sites if s.capacity_share > 0]
    ceiling = math.ceil(sum(map(sum, model.arrivals)) / min(shares, default=1.0)) + 1
    extra_target = 0 if not needed else _smallest(lambda e: meets(with_extra(e)), ceiling)
    extra_no_late = 0 if not has_late else _smallest(lambda e: no_late(with_extra(e)), ceiling)
    worst_with_extra = (
        model.judge(with_extra(extra_target)).worst_rate
        if extra_target is not None
        else outcome.worst_rate
    )
    capacity_advice = CapacityAdvice(
        needed=needed,
        dates=tuple(model.dates[i] for i in over) if (needed or has_late) else (),
        orders_per_day=extra_target,
        orders_per_day_no_late=extra_no_late,
        worst_rate=worst_with_extra,
        schedule_no_late=_schedule(model, over) if has_late else (),
    )

    over_set = set(over)
    route_days = [
        i
        for i in range(model.n)
        if any(_feeds(site, i, over_set) for site in model.sites)
        and any(orders[i] > EPSILON for orders in model.arrivals)
    ]

    def keeping(steps: int) -> list[_Flow]:
        kept = [list(orders) for orders in model.arrivals]
        for orders in kept:
            for i in route_days:
                orders[i] *= steps / SHARE_STEPS
        return model.run(kept, {})

    keep = SHARE_STEPS if not needed else _largest(lambda s: meets(keeping(s)))
    keep_no_late = SHARE_STEPS if not has_late else _largest(lambda s: no_late(keeping(s)))
    routed = [
        (1 - keep / SHARE_STEPS) * sum(orders[i] for orders in model.arrivals) for i in route_days
    ]
    peak_routed = max(routed, default=0.0)
    routing = RoutingAdvice(
        needed=needed,
        dates=tuple(model.dates[i] for i in route_days) if (needed or has_late) else (),
        keep_share=keep / SHARE_STEPS,
        keep_share_no_late=keep_no_late / SHARE_STEPS,
        routed_orders=sum(routed),
        peak_routed_orders=peak_routed,
        peak_routed_day=(
            model.dates[route_days[routed.index(peak_routed)]]
            if needed and peak_routed > EPSILON
            else None
        ),
        second_provider=second_provider,
        second_provider_capacity=second_capacity,
        worst_rate=model.judge(keeping(keep)).worst_rate if needed else outcome.worst_rate,
    )
    return Recommendation(capacity_advice, routing, _summary(capacity_advice, routing, has_late))


def _schedule(model: _Model, over: list[int]) -> tuple[tuple[date, int], ...]:
    """Day by day, the fewest extra orders that leave nothing late on each over day.

    With every earlier day settled nothing overdue is carried into a day, so what a facility
    leaves late is exactly what it lacks; the provider's extra is split by capacity share,
    so the day needs the largest of (late at a facility / its share).
    """
    extra: dict[int, float] = {}
    for i in over:
        flows = model.run(model.arrivals, extra)
        need = max(
            (
                (flow.due[i] - flow.on_time[i]) / site.capacity_share
                for site, flow in zip(model.sites, flows, strict=True)
                if site.capacity_share > 0
            ),
            default=0.0,
        )
        if need > 1e-6:
            extra[i] = float(math.ceil(need - 1e-6))
    return tuple((model.dates[i], int(amount)) for i, amount in sorted(extra.items()))


def _feeds(site: _Site, i: int, over: set[int]) -> bool:
    """Whether orders arriving at the site on day i fall due (in part) on an over day."""
    if not site.business[i]:
        return site.next_business[i] in over
    parts = []
    if site.before_cutoff_share > 0:
        parts.append(i)
    if site.before_cutoff_share < 1:
        parts.append(site.next_business[i])
    return any(p in over for p in parts)


def _smallest(ok: Callable[[int], bool], ceiling: int) -> int | None:
    """The smallest whole number in 0..ceiling for which ok holds (ok must be monotone)."""
    if not ok(ceiling):
        return None
    lo, hi = 0, ceiling  # ok(hi) holds; ok(lo - 1) is taken as failing
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _largest(ok: Callable[[int], bool]) -> int:
    """The largest step in 0..SHARE_STEPS for which ok holds; 0 when none but 0 does.

    Keeping less demand is not strictly monotone for a rate (fewer orders are judged too), so
    the bisection's answer is checked and, if it fails, the steps below it are tried in turn.
    """
    lo, hi = 0, SHARE_STEPS  # ok(lo) is taken as holding; ok(hi) as failing
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    while lo > 0 and not ok(lo):
        lo -= 1
    return lo


def _summary(capacity: CapacityAdvice, routing: RoutingAdvice, has_late: bool) -> tuple[str, ...]:
    """The recommendation in plain sentences."""
    if not capacity.needed:
        if not has_late:
            return (
                f"No action needed: every order ships by its due day and every {METRIC} "
                "target is met.",
            )
        return (
            f"No action needed to meet the {METRIC} targets; to ship every order on time, book "
            f"{_whole(capacity.orders_per_day_no_late)} extra orders per day on "
            f"{_date_runs(capacity.dates)}, or day by day "
            f"{_schedule_text(capacity.schedule_no_late)}.",
        )
    lines = []
    if capacity.orders_per_day is None:
        lines.append(
            f"Booking extra capacity on {_date_runs(capacity.dates)} alone cannot meet the "
            f"{METRIC} targets."
        )
    else:
        lines.append(
            f"Book {_whole(capacity.orders_per_day)} extra orders per day on "
            f"{_date_runs(capacity.dates)} to meet every {METRIC} target; for no late order, "
            f"{_whole(capacity.orders_per_day_no_late)} per day, or day by day "
            f"{_schedule_text(capacity.schedule_no_late)}."
        )
    who = routing.second_provider or "a second provider"
    lines.append(
        f"Or route {routing.route_share:.1%} of the orders arriving on "
        f"{_date_runs(routing.dates)} to {who}: {routing.routed_orders:,.0f} orders, at most "
        f"{routing.peak_routed_orders:,.0f} on {routing.peak_routed_day} "
        f"(route {1 - routing.keep_share_no_late:.1%} for no late order)."
    )
    if routing.fits_second_provider is not None:
        verdict = "fits even then" if routing.fits_second_provider else "may not fit"
        lines.append(
            f"{who} has as little as {routing.second_provider_capacity:,.0f} orders per day to "
            "spare on some days (its committed capacity less its own load): the busiest "
            f"routed day {verdict}."
        )
    return tuple(lines)


def _schedule_text(schedule: Sequence[tuple[date, int]], most: int = 6) -> str:
    """'130 on 2026-03-09, 20 on 2026-03-20', or the total over many days."""
    if len(schedule) > most:
        total = sum(amount for _, amount in schedule)
        return f"{total:,} in all over {len(schedule)} days"
    return ", ".join(f"{amount:,} on {day.isoformat()}" for day, amount in schedule)


def _whole(value: int | None) -> str:
    return "no amount of" if value is None else f"{value:,}"


# --- helpers -------------------------------------------------------------------------------


def _met(rate: float | None, part: _Judged) -> bool | None:
    if rate is None or part.threshold is None:
        return None
    if part.lower_is_better:
        return rate <= part.threshold + EPSILON
    return rate >= part.threshold - EPSILON


def _tier_lines(contract: Contract, parts: list[PeakPeriod], fees: Decimal) -> list[PeakCreditLine]:
    """The highest ship_on_time_rate tier hit by a breached segment of the month."""
    best: tuple[Decimal, str] | None = None
    for part in parts:
        if part.met is not False or part.rate is None:
            continue
        for tier in contract.credits.tiers:
            if tier.metric == METRIC and part.rate < tier.below:
                pct = Decimal(tier.credit_pct_of_fees)
                if best is None or pct > best[0]:
                    best = (pct, f"{METRIC} {part.rate:.4f} below {tier.below} ({part.label})")
    if best is None:
        return []
    return [
        PeakCreditLine(
            "tier", f"{METRIC}: {best[0]}% of fees", best[1], cents(fees * best[0] / 100)
        )
    ]


def _months(start: date, end: date) -> list[tuple[date, date]]:
    """First and last day of every month touched by start..end."""
    out = []
    first = start.replace(day=1)
    while first <= end:
        last = first.replace(day=_calendar.monthrange(first.year, first.month)[1])
        out.append((first, last))
        first = last + _ONE_DAY
    return out


def _decimal(value: float) -> Decimal:
    """A count of orders as a Decimal, to 6 places (expected values are floats)."""
    return Decimal(f"{value:.6f}")


def _clean(value: float) -> float:
    """Rounding noise below EPSILON as 0."""
    return 0.0 if abs(value) <= EPSILON else value


def _add_days(day: date, rows: list[PeakDay]) -> PeakDay:
    return PeakDay(
        facility_id=None,
        day=day,
        business_day=any(r.business_day for r in rows),
        peak=any(r.peak for r in rows),
        arriving=sum(r.arriving for r in rows),
        due=sum(r.due for r in rows),
        capacity=sum(r.capacity for r in rows),
        shipped=sum(r.shipped for r in rows),
        shipped_on_time=sum(r.shipped_on_time for r in rows),
        backlog=sum(r.backlog for r in rows),
        overdue=sum(r.overdue for r in rows),
        late=sum(r.late for r in rows),
    )


def _date_runs(days: Iterable[date], most: int = 6) -> str:
    """'2026-11-27..2026-11-30, 2026-12-02': consecutive days as ranges.

    More than `most` ranges are summed up as '40 days from 2026-11-02 to 2026-12-31'.
    """
    ordered = sorted(days)
    runs: list[list[date]] = []
    for day in ordered:
        if runs and day - runs[-1][1] == _ONE_DAY:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    if len(runs) > most:
        return f"{len(ordered)} days from {ordered[0].isoformat()} to {ordered[-1].isoformat()}"
    return (
        ", ".join(a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}" for a, b in runs)
        or "no day"
    )


def _count(value: float) -> float:
    return round(value, 2) + 0.0


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 6) + 0.0


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _day_dict(row: PeakDay) -> dict[str, Any]:
    return {
        "facility": row.facility_id,
        "day": row.day.isoformat(),
        "business_day": row.business_day,
        "peak": row.peak,
        "arriving": _count(row.arriving),
        "due": _count(row.due),
        "capacity": _count(row.capacity),
        "shipped": _count(row.shipped),
        "shipped_on_time": _count(row.shipped_on_time),
        "backlog": _count(row.backlog),
        "overdue": _count(row.overdue),
        "late": _count(row.late),
    }


def _period_dict(row: PeakPeriod) -> dict[str, Any]:
    return {
        "period": f"{row.period:%Y-%m}",
        "from": row.start.isoformat(),
        "to": row.end.isoformat(),
        "label": row.label,
        "contract_effective": row.contract_effective.isoformat(),
        "due": _count(row.due),
        "on_time": _count(row.on_time),
        "late": _count(row.late),
        "excluded": _count(row.excluded),
        "rate": _share(row.rate),
        "target": row.target,
        "lower_is_better": row.lower_is_better,
        "met": row.met,
    }


def _credits_dict(row: MonthCredits) -> dict[str, Any]:
    return {
        "period": f"{row.period:%Y-%m}",
        "currency": row.currency,
        "shipped": _count(row.shipped),
        "fees": str(row.fees),
        "lines": [
            {
                "kind": line.kind,
                "label": line.label,
                "basis": line.basis,
                "amount": str(line.amount),
            }
            for line in row.lines
        ],
        "total": str(row.total),
        "capped": row.capped,
    }


def _totals_dict(row: PeakTotals) -> dict[str, Any]:
    return {
        "arrived": _count(row.arrived),
        "shipped": _count(row.shipped),
        "due": _count(row.due),
        "on_time": _count(row.on_time),
        "late": _count(row.late),
        "not_judged": _count(row.not_judged),
        "backlog_at_end": _count(row.backlog_at_end),
        "worst_backlog": _count(row.worst_backlog),
        "worst_backlog_day": _iso(row.worst_backlog_day),
        "credits": str(row.credits),
    }


def _capacity_dict(row: CapacityAdvice) -> dict[str, Any]:
    return {
        "needed": row.needed,
        "dates": [d.isoformat() for d in row.dates],
        "orders_per_day": row.orders_per_day,
        "orders_per_day_no_late": row.orders_per_day_no_late,
        "worst_rate": _share(row.worst_rate),
        "schedule_no_late": [
            {"day": day.isoformat(), "orders": amount} for day, amount in row.schedule_no_late
        ],
    }


def _routing_dict(row: RoutingAdvice) -> dict[str, Any]:
    return {
        "needed": row.needed,
        "dates": [d.isoformat() for d in row.dates],
        "keep_share": row.keep_share,
        "route_share": row.route_share,
        "keep_share_no_late": row.keep_share_no_late,
        "routed_orders": _count(row.routed_orders),
        "peak_routed_orders": _count(row.peak_routed_orders),
        "peak_routed_day": _iso(row.peak_routed_day),
        "second_provider": row.second_provider,
        "second_provider_capacity": row.second_provider_capacity,
        "fits_second_provider": row.fits_second_provider,
        "worst_rate": _share(row.worst_rate),
    }
