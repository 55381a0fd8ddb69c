"""From release to carrier: due dates, the pick/pack/ship plan, shipments and their stock."""

from __future__ import annotations

from collections.abc import Container

from ._aftercare import Aftercare
from ._audits import Audits
from ._billing import Billing
from ._calendars import BusinessCalendar
from ._clock import DAY, Clock
from ._draw import Draw
from ._inventory import Inventory
from ._network import INTERNATIONAL_PROMISED_TRANSIT, PROMISED_TRANSIT
from ._orders import Order, OrderMaker
from ._planted import NO_SCAN_SHARE, PlantedLog, Tally
from ._sites import Site
from ._tracking import Carriers
from ._writer import Tables

CANCEL_BEFORE_RELEASE = 0.004
CANCEL_AFTER_RELEASE = 0.006
LATE_SHARE = 0.002  # shipped a business day after due, outside any backlog
SPLIT_SHARE_OF_MULTILINE = 0.09  # about 4% of all orders
SPLIT_NEXT_DAY_SHARE = 0.06
MISPICK_SHARE = 0.0012
# eastbridge parcels lost without a scan (none when problems are off: every parcel scanned)
BACKGROUND_NO_SCAN = 0.0004

_WORK_START = 8 * 3600
_LAST_PICKUP = 19 * 3600 + 1800
_PACKAGING_GRAMS = {"poly_mailer": 40, "box_small": 260, "box_medium": 480}


class Fulfillment:
    """Plans and writes everything a 3PL does with one order, and keeps score of on-time."""

    def __init__(
        self,
        sites: list[Site],
        clock: Clock,
        carrier_calendar: BusinessCalendar,
        tables: Tables,
        rng: Draw,
        maker: OrderMaker,
        carriers: Carriers,
        inventory: Inventory,
        billing: Billing,
        aftercare: Aftercare,
        audits: Audits,
        planted: PlantedLog,
        peak_days: bytearray,
        capacity: list[int],
        never_ship: Container[int],
        *,
        problems: bool = True,
    ) -> None:
        self._sites = sites
        self._plant = problems  # False: every parcel gets its carrier scans
        self._clock = clock
        self._carrier_calendar = carrier_calendar
        self._rng = rng
        self._maker = maker
        self._carriers = carriers
        self._inventory = inventory
        self._billing = billing
        self._aftercare = aftercare
        self._audits = audits
        self._planted = planted
        self._peak = peak_days
        self._first_day = clock.first_day
        self._capacity = capacity
        self._load: list[dict[int, int]] = [{} for _ in sites]
        self._never_ship = never_ship
        self._releases = tables["releases"].append
        self._shipments = tables["shipments"].append
        self._shipment_lines = tables["shipment_lines"].append
        self._skus = [p.sku for p in inventory.catalog.products]
        self._grams = [p.grams for p in inventory.catalog.products]
        self._flat = [p.flat for p in inventory.catalog.products]
        self._shipment_no = 0
        self._planted.scanned["westcoast"] = Tally()
        self._until_silent = self._silent_gap()
        self._cutoff = [site.facility.cutoff_second for site in sites]
        self._zone_of = {name: i for i, name in enumerate(clock.zone_names)}

    def _silent_gap(self) -> int:
        mean = round(1 / NO_SCAN_SHARE)
        return self._rng.between(mean // 2, mean * 3 // 2 + 1)

    def _slot(self, site: int, earliest: int) -> int:
        """The ship day: the earliest day with throughput left (only peak days are capped)."""
        cap = self._capacity[site]
        first = self._first_day
        if cap <= 0 or not self._peak[earliest - first]:
            return earliest
        after = self._sites[site].calendar.after
        load = self._load[site]
        day = earliest
        while self._peak[day - first] and load.get(day, 0) >= cap:
            day = after(day)
        load[day] = load.get(day, 0) + 1
        return day

    def _tally(self, provider_id: str, order_id: str, due: int, complete: int | None) -> None:
        planted = self._planted
        on_time = complete is not None and complete <= due
        month = (provider_id, self._clock.month_text(due))
        tally = planted.monthly_on_time.get(month)
        if tally is None:
            tally = planted.monthly_on_time[month] = Tally()
        tally.add(on_time)
        book = (
            planted.peak_on_time if self._peak[due - self._first_day] else planted.off_peak_on_time
        )
        if provider_id not in book:
            book[provider_id] = Tally()
        book[provider_id].add(on_time)
        if not on_time and provider_id == "eastbridge" and book is planted.peak_on_time:
            planted.peak_late_orders.add(order_id)

    def process(self, order: Order, seq: int) -> None:
        """Release, ship (or not), track, bill and follow up one order; write all its rows."""
        rng = self._rng
        clock = self._clock
        site = self._sites[order.site]
        facility = site.facility
        provider_id = facility.provider_id
        zone = site.zone
        calendar = site.calendar
        international = order.destination.country != "US"
        level = "international" if international else order.level
        placed = order.placed_ts
        release_ts = placed + rng.between(120, 900)
        release_day, release_second = divmod(clock.local(zone, release_ts), DAY)
        # DESIGN section 3, same_day_before_cutoff.
        if calendar.business(release_day) and release_second < self._cutoff[order.site]:
            due = release_day
        else:
            due = calendar.after(release_day)
        promised_transit = (
            INTERNATIONAL_PROMISED_TRANSIT[order.level]
            if international
            else PROMISED_TRANSIT[order.level]
        )
        promised_day = self._carrier_calendar.add(due, promised_transit)
        promised = clock.date_text(promised_day)
        never_ship = seq in self._never_ship
        draw = 1.0 if never_ship else rng.random()
        if draw < CANCEL_BEFORE_RELEASE:
            cancelled = placed + rng.between(30, 110)
            self._maker.write(order, promised, clock.text(0, cancelled))
            return
        self._releases((order.id, provider_id, facility.id, clock.text(zone, release_ts)))
        if never_ship:
            self._maker.write(order, promised, "")
            self._planted.never_shipped.append(
                {
                    "order_id": order.id,
                    "provider_id": provider_id,
                    "facility_id": facility.id,
                    "released_at": clock.text(zone, release_ts),
                    "due_date": clock.date_text(due),
                }
            )
            self._tally(provider_id, order.id, due, None)
            return
        if draw < CANCEL_BEFORE_RELEASE + CANCEL_AFTER_RELEASE:
            # Cancelled while waiting to be picked, before the ship due time.
            limit = clock.at(zone, due, 12 * 3600) - release_ts
            cancelled = release_ts + rng.between(60, max(61, limit))
            self._maker.write(order, promised, clock.text(0, cancelled))
            return
        self._maker.write(order, promised, "")
        earliest = calendar.after(due) if rng.random() < LATE_SHARE else due
        ship_day = self._slot(order.site, earliest)
        low = max(_WORK_START, release_second + 1800) if ship_day == release_day else _WORK_START
        ship_ts = clock.at(zone, ship_day, rng.between(low, _LAST_PICKUP))

        shipped = [[sku, qty] for sku, qty, _ in order.lines]
        mispicked = -1
        if rng.random() < MISPICK_SHARE:
            # A neighbouring SKU (usually the next size) picked instead of the ordered one.
            mispicked = rng.between(0, len(shipped))
            sku = shipped[mispicked][0]
            wrong = sku + 1 if sku + 1 < len(self._skus) else sku - 1
            if any(line[0] == wrong for line in shipped):
                mispicked = -1
            else:
                shipped[mispicked][0] = wrong
        plan = [(ship_day, ship_ts, shipped)]
        complete_day = ship_day
        if len(shipped) > 1 and rng.random() < SPLIT_SHARE_OF_MULTILINE:
            cut = rng.between(1, len(shipped))
            if rng.random() < SPLIT_NEXT_DAY_SHARE:
                second_day = calendar.after(ship_day)
                second_ts = clock.at(zone, second_day, rng.between(_WORK_START, _LAST_PICKUP))
            else:
                second_day = ship_day
                second_ts = ship_ts + rng.between(
                    0, max(1, clock.at(zone, ship_day, _LAST_PICKUP) - ship_ts)
                )
            plan = [(ship_day, ship_ts, shipped[:cut]), (second_day, second_ts, shipped[cut:])]
            complete_day = second_day

        carriers = self._carriers
        destination = order.destination
        destination_zone = self._zone_of[destination.timezone]
        packaging: list[str] = []
        shipping_cost = 0
        units = 0
        delivered_day = 0
        delivered_ts = 0
        lost = False
        last_ship_ts = 0
        for day, ts, lines in plan:
            self._shipment_no += 1
            shipment_id = f"SHP-{self._shipment_no:08d}"
            grams = 0
            flat = True
            for sku, qty in lines:
                grams += self._grams[sku] * qty
                flat = flat and self._flat[sku]
                units += qty
                self._inventory.allocate(order.site, sku, qty, day)
                self._shipment_lines((shipment_id, self._skus[sku], str(qty)))
            kind = (
                "poly_mailer"
                if flat and grams <= 1500
                else ("box_small" if grams <= 3000 else "box_medium")
            )
            grams += _PACKAGING_GRAMS[kind]
            packaging.append(kind)
            carrier, service = carriers.choose(provider_id, level)
            tracking = carriers.tracking_number(carrier, level, facility.ups_account)
            cost = carriers.cost(carrier, level, grams)
            shipping_cost += cost
            self._shipments(
                (
                    shipment_id,
                    order.id,
                    provider_id,
                    facility.id,
                    clock.text(zone, ts),
                    carrier,
                    service,
                    tracking,
                    kind,
                    f"{grams // 1000}.{grams % 1000:03d}",
                    f"{cost // 100}.{cost % 100:02d}",
                )
            )
            label_ts = max(release_ts + 120, ts - rng.between(600, 5400))
            last_ship_ts = max(last_ship_ts, ts)
            if not self._plant:
                scanned = True
            elif provider_id == "westcoast":
                # Planted: about one westcoast parcel in 1/NO_SCAN_SHARE never gets a scan, at
                # random gaps (so the rate holds at any scale).
                self._until_silent -= 1
                scanned = self._until_silent > 0
                if not scanned:
                    self._until_silent = self._silent_gap()
                    self._planted.no_scan_shipments.add(shipment_id)
                self._planted.scanned[provider_id].add(not scanned)
            else:
                scanned = rng.random() >= BACKGROUND_NO_SCAN
            if not scanned:
                lost = True
                continue
            transit_key = f"international_{order.level}" if international else order.level
            got_day, got_ts = carriers.track(
                tracking,
                carrier,
                transit_key,
                facility.location,
                zone,
                destination.city,
                destination_zone,
                label_ts,
                ts,
                day,
            )
            if got_day < 0:
                lost = True
            elif got_day > delivered_day:
                delivered_day, delivered_ts = got_day, got_ts
        self._tally(provider_id, order.id, due, complete_day)
        self._billing.order(provider_id, ship_day, order.id, units, packaging, shipping_cost)
        self._aftercare.follow_up(
            order,
            site,
            plan,
            -1 if lost else delivered_day,
            delivered_ts,
            promised_day,
            mispicked >= 0,
        )
        self._audits.maybe_audit(order.id, site, release_ts, last_ship_ts)
