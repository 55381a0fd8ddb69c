"""Stock per facility and SKU: allocation, replenishment, cycle counts, damage, weekly snapshots.

The 3PL's reported on_hand always equals the brand's book (first snapshot + stocked receipts
- shipped units + restocked returns + approved adjustments), except for the planted shrink at
LAX1. Every stock movement happens on a facility business day between 06:00 and 20:00 local,
and snapshots are taken as of Sundays (plus the day before the simulation starts), so the book
is the same whichever way a checker reads "up to the snapshot".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

from ._catalog import Catalog
from ._clock import Clock
from ._draw import Draw
from ._planted import DRIFT_MIN_UNITS_PER_YEAR, DRIFT_SHARE_OF_UNITS, PlantedLog
from ._sites import Site
from ._writer import Tables

_REVIEW_HORIZON = 28  # days of expected demand a reorder point covers (review + lead time)
_SAFETY_UNITS = 4
_CASE = 6

# bills one receipt: provider id, stocked day, receipt id, units received
BillReceipt = Callable[[str, int, str, int], None]


class _DayDelta:
    """Stock movements scheduled for one facility-local day, per stock index."""

    __slots__ = ("damaged", "inflow", "outflow", "received", "shipped", "shrink")

    def __init__(self) -> None:
        self.shipped: dict[int, int] = {}
        self.outflow: dict[int, int] = {}  # write-offs, negative adjustments, shrink
        self.inflow: dict[int, int] = {}  # restocked returns, positive adjustments
        self.received: dict[int, int] = {}
        self.damaged: dict[int, int] = {}
        self.shrink: dict[int, int] = {}


class Inventory:
    """The physical stock of every (facility, SKU) and the future movements already decided."""

    def __init__(
        self,
        catalog: Catalog,
        sites: list[Site],
        clock: Clock,
        tables: Tables,
        billing_receipt: BillReceipt,
        rng: Draw,
        planted: PlantedLog,
        expected_units: list[list[float]],
        first_order_day: int,
    ) -> None:
        self.catalog = catalog
        self.sites = sites
        self.clock = clock
        self.rng = rng
        self.planted = planted
        self._bill_receipt = billing_receipt
        self._receipts = tables["receipts"].append
        self._adjustments = tables["adjustments"].append
        self._snapshots = tables["inventory_snapshots"].append
        self.n = n = len(catalog.products)
        size = n * len(sites)
        self.on_hand = [0] * size
        self.committed = [0] * size  # every scheduled outflow not yet applied
        self.reserved = [0] * size  # units of released orders not yet shipped
        self.damaged = [0] * size
        self.shrink = [0] * size  # planted: units gone without a record
        self.scheduled: list[list[tuple[int, int]]] = [[] for _ in range(size)]
        self.pending: dict[int, _DayDelta] = {}
        self._cum = expected_units  # per site: cumulative expected units by day offset
        self._cum_first = first_order_day
        self._shares = [catalog.share(s) for s in range(n)]
        self._upp = [p.units_per_pallet for p in catalog.products]
        self._receipt_no = 0
        self._asn_no = 0
        self._adjustment_no = 0
        self._last_review_week = [-1] * len(sites)
        self.drift_index: list[int] = []
        self._shrink_owed: dict[int, float] = {}

    # -- planning -----------------------------------------------------------------------------

    def _expected(self, site: int, sku: int, day: int, days: int) -> float:
        cum = self._cum[site]
        last = len(cum) - 1
        a = min(max(day - self._cum_first, 0), last)
        b = min(max(day + days - self._cum_first, 0), last)
        return (cum[b] - cum[a]) * self._shares[sku]

    def _reorder_point(self, site: int, sku: int, day: int) -> int:
        return int(1.3 * self._expected(site, sku, day, _REVIEW_HORIZON)) + _SAFETY_UNITS

    def _order_up_to(self, site: int, sku: int, day: int) -> int:
        reorder = self._reorder_point(site, sku, day)
        return reorder + int(self._expected(site, sku, day + _REVIEW_HORIZON, _REVIEW_HORIZON))

    def open_stock(self) -> None:
        """Opening stock: each SKU at its order-up-to level for the first weeks."""
        for site in self.sites:
            for sku in range(self.n):
                target = self._order_up_to(site.index, sku, self._cum_first)
                self.on_hand[site.index * self.n + sku] = -(-target // _CASE) * _CASE

    def choose_drift(self, facility_id: str, count: int) -> None:
        """Planted: pick `count` well-selling SKUs of a facility to shrink over the year."""
        site = next(s.index for s in self.sites if s.facility.id == facility_id)
        by_share = sorted(range(self.n), key=lambda s: (-self._shares[s], s))
        pool = by_share[2 : min(self.n, 40)]
        chosen = sorted(self.rng.sample(pool, count))
        self.drift_index = [site * self.n + s for s in chosen]
        self.planted.drift_skus = [self.catalog.products[s].sku for s in chosen]

    # -- movements ----------------------------------------------------------------------------

    def _delta(self, day: int) -> _DayDelta:
        delta = self.pending.get(day)
        if delta is None:
            delta = self.pending[day] = _DayDelta()
        return delta

    def free(self, index: int, day: int) -> int:
        """Units that can still be promised to an outflow on `day` without going negative."""
        free = self.on_hand[index] - self.committed[index]
        for stock_day, qty in self.scheduled[index]:
            if stock_day <= day:
                free += qty
        return free

    def allocate(self, site: int, sku: int, qty: int, day: int) -> None:
        """Commit units to a shipment on `day`; an expedited receipt covers any shortfall."""
        index = site * self.n + sku
        free = self.free(index, day)
        if free < qty:
            self._expedite(site, sku, day, qty - free)
        self.committed[index] += qty
        self.reserved[index] += qty
        shipped = self._delta(day).shipped
        shipped[index] = shipped.get(index, 0) + qty

    def restock(self, site: int, sku: int, qty: int, day: int) -> None:
        """A processed return put back on the shelf on `day`."""
        inflow = self._delta(day).inflow
        index = site * self.n + sku
        inflow[index] = inflow.get(index, 0) + qty

    def _expedite(self, site: int, sku: int, day: int, shortfall: int) -> None:
        position = self._position(site * self.n + sku)
        qty = max(shortfall, self._order_up_to(site, sku, day) - position)
        self._asn_no += 1
        asn_id = f"ASN-{self.sites[site].facility.id}-{self._asn_no:06d}"
        zone = self.sites[site].zone
        arrived = self.clock.at(zone, day, 6 * 3600 + self.rng.randrange(0, 1800))
        stocked = arrived + self.rng.randrange(1200, 2400)
        self._receipt(site, sku, asn_id, qty, qty, arrived, stocked, day)

    def _position(self, index: int) -> int:
        return (
            self.on_hand[index] - self.committed[index] + sum(q for _, q in self.scheduled[index])
        )

    def _receipt(
        self,
        site: int,
        sku: int,
        asn_id: str,
        expected: int,
        received: int,
        arrived_ts: int,
        stocked_ts: int,
        stocked_day: int,
    ) -> None:
        facility = self.sites[site].facility
        zone = self.sites[site].zone
        index = site * self.n + sku
        self._receipt_no += 1
        receipt_id = f"RCV-{self._receipt_no:07d}"
        self._receipts(
            (
                receipt_id,
                facility.provider_id,
                facility.id,
                asn_id,
                self.catalog.products[sku].sku,
                str(expected),
                str(received),
                self.clock.text(zone, arrived_ts),
                self.clock.text(zone, stocked_ts),
            )
        )
        self.scheduled[index].append((stocked_day, received))
        got = self._delta(stocked_day).received
        got[index] = got.get(index, 0) + received
        self._bill_receipt(facility.provider_id, stocked_day, receipt_id, received)

    # -- daily facility work ------------------------------------------------------------------

    def work_day(self, day: int) -> None:
        """A facility business day: replenishment review, cycle counts, damage, planted shrink."""
        for site in self.sites:
            if not site.calendar.business(day):
                continue
            week = (day + 3) // 7
            if week != self._last_review_week[site.index]:
                self._last_review_week[site.index] = week
                self._review(site, day)
            self._cycle_count(site, day)
            self._damage(site, day)
        rng = self.rng
        for index in self.drift_index:
            site = self.sites[index // self.n]
            if not site.calendar.business(day):
                continue
            # Shrink grows with the SKU's throughput (a few percent of it), with a floor so
            # that it shows at small scale too; units vanish as whole units accumulate.
            sku = index % self.n
            daily = self._expected(site.index, sku, day, 7) / 7
            rate = max(DRIFT_MIN_UNITS_PER_YEAR / 250, DRIFT_SHARE_OF_UNITS * daily)
            self._shrink_owed[index] = self._shrink_owed.get(index, 0.0) + rate * 2 * rng.random()
            units = int(self._shrink_owed[index])
            if units and self.free(index, day) >= units:
                self._shrink_owed[index] -= units
                self.committed[index] += units
                delta = self._delta(day)
                delta.outflow[index] = delta.outflow.get(index, 0) + units
                delta.shrink[index] = delta.shrink.get(index, 0) + units

    def _review(self, site: Site, day: int) -> None:
        rng = self.rng
        calendar = site.calendar
        lines = []
        for sku in range(self.n):
            index = site.index * self.n + sku
            position = self._position(index)
            if position < self._reorder_point(site.index, sku, day):
                qty = self._order_up_to(site.index, sku, day) - position
                lines.append((sku, -(-qty // _CASE) * _CASE))
        if not lines:
            return
        self._asn_no += 1
        asn_id = f"ASN-{site.facility.id}-{self._asn_no:06d}"
        arrival_day = calendar.add(day, rng.randint(3, 6))
        arrived = self.clock.at(site.zone, arrival_day, 7 * 3600 + rng.randrange(0, 5 * 3600))
        within = 2 if site.facility.provider_id == "westcoast" else 3
        draw = rng.random()
        # Most inbound is put away the day it lands or the next; about 2% runs over the SLA.
        if draw < 0.45:
            stock_day = arrival_day
        elif draw < 0.98:
            stock_day = calendar.add(arrival_day, 1)
        else:
            stock_day = calendar.add(arrival_day, within + 1)
        for sku, expected in lines:
            received = expected
            draw = rng.random()
            if draw < 0.04:
                received = expected - max(1, expected * rng.randint(1, 5) // 100)
            elif draw < 0.05:
                received = expected + rng.randint(1, 3)
            if stock_day == arrival_day:
                stocked = arrived + rng.randrange(2 * 3600, 4 * 3600)
            else:
                stocked = self.clock.at(site.zone, stock_day, rng.randrange(8 * 3600, 18 * 3600))
            self._receipt(site.index, sku, asn_id, expected, received, arrived, stocked, stock_day)

    def _adjustment(
        self, site: Site, sku: int, delta: int, day: int, reason: str, ok: bool
    ) -> None:
        self._adjustment_no += 1
        at = self.clock.at(site.zone, day, self.rng.randrange(10 * 3600, 17 * 3600))
        self._adjustments(
            (
                f"ADJ-{self._adjustment_no:06d}",
                site.facility.provider_id,
                site.facility.id,
                self.catalog.products[sku].sku,
                str(delta),
                self.clock.text(site.zone, at),
                reason,
                "true" if ok else "false",
            )
        )

    def _cycle_count(self, site: Site, day: int) -> None:
        rng = self.rng
        if rng.random() >= 0.35:
            return
        sku = rng.randrange(self.n)
        index = site.index * self.n + sku
        delta = rng.choice((-2, -1, -1, 1, 1, 2))
        approved = rng.random() < 0.85
        if approved:
            if delta < 0 and self.free(index, day) < -delta:
                delta = -delta
            moves = self._delta(day)
            if delta < 0:
                self.committed[index] -= delta
                moves.outflow[index] = moves.outflow.get(index, 0) - delta
            else:
                moves.inflow[index] = moves.inflow.get(index, 0) + delta
        # An unapproved variance is a disputed count: the recount found the book right, so the
        # 3PL's on_hand is unchanged and the book (approved adjustments only) still matches.
        self._adjustment(site, sku, delta, day, "cycle_count", approved)

    def _damage(self, site: Site, day: int) -> None:
        rng = self.rng
        if rng.random() >= 0.25:
            return
        sku = rng.randrange(self.n)
        index = site.index * self.n + sku
        units = rng.randint(1, 2)
        if self.free(index, day) < units:
            return
        # Found damaged today (still on hand, not available), written off some days later.
        found = self._delta(day).damaged
        found[index] = found.get(index, 0) + units
        write_off = site.calendar.add(day, rng.randint(5, 15))
        moves = self._delta(write_off)
        moves.outflow[index] = moves.outflow.get(index, 0) + units
        moves.damaged[index] = moves.damaged.get(index, 0) - units
        self.committed[index] += units
        self._adjustment(site, sku, -units, write_off, "damaged", True)

    # -- end of day ---------------------------------------------------------------------------

    def apply(self, day: int) -> None:
        """Apply every movement scheduled for `day`."""
        delta = self.pending.pop(day, None)
        if delta is None:
            return
        on_hand, committed = self.on_hand, self.committed
        for index, qty in delta.shipped.items():
            on_hand[index] -= qty
            committed[index] -= qty
            self.reserved[index] -= qty
        for index, qty in delta.outflow.items():
            on_hand[index] -= qty
            committed[index] -= qty
        for index, qty in delta.inflow.items():
            on_hand[index] += qty
        for index, qty in delta.received.items():
            on_hand[index] += qty
            self.scheduled[index] = [r for r in self.scheduled[index] if r[0] > day]
        for index, qty in delta.damaged.items():
            self.damaged[index] += qty
        for index, qty in delta.shrink.items():
            self.shrink[index] += qty

    def snapshot(self, day: int) -> dict[str, int]:
        """Write every site's snapshot as of `day`; return pallets in use per provider."""
        as_of = self.clock.date_text(day)
        pallets: dict[str, int] = {}
        skus = [p.sku for p in self.catalog.products]
        for site in self.sites:
            provider_id, facility_id = site.facility.provider_id, site.facility.id
            pallets_used = Fraction(0)
            for sku in range(self.n):
                index = site.index * self.n + sku
                on_hand = self.on_hand[index]
                damaged = self.damaged[index]
                available = max(0, on_hand - damaged - self.reserved[index])
                if on_hand > 0:
                    pallets_used += Fraction(on_hand, self._upp[sku])
                self._snapshots(
                    (
                        provider_id,
                        facility_id,
                        as_of,
                        skus[sku],
                        str(on_hand),
                        str(available),
                        str(damaged),
                    )
                )
            pallets[provider_id] = pallets.get(provider_id, 0) + math.ceil(pallets_used)
        for index in self.drift_index:
            gaps = self.planted.drift_gap.setdefault(skus[index % self.n], [])
            gaps.append((as_of, self.on_hand[index] + self.shrink[index], self.on_hand[index]))
        return pallets
