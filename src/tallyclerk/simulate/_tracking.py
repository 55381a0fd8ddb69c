"""Carriers: choice of carrier and service, tracking numbers and the tracking event trail."""

from __future__ import annotations

from itertools import accumulate

from ._calendars import BusinessCalendar
from ._clock import Clock
from ._draw import Draw
from ._network import HUBS, SERVICES
from ._writer import Tables

# carrier mix per (origin provider, service level)
_MIX: dict[tuple[str, str], tuple[tuple[str, ...], tuple[float, ...]]] = {
    ("westcoast", "standard"): (("USPS", "UPS", "FedEx"), (0.45, 0.35, 0.2)),
    ("westcoast", "expedited"): (("UPS", "FedEx", "USPS"), (0.5, 0.3, 0.2)),
    ("westcoast", "overnight"): (("UPS", "FedEx"), (0.55, 0.45)),
    ("westcoast", "international"): (("USPS", "UPS"), (0.6, 0.4)),
    ("eastbridge", "standard"): (("UPS", "FedEx", "USPS"), (0.45, 0.3, 0.25)),
    ("eastbridge", "expedited"): (("UPS", "FedEx", "USPS"), (0.45, 0.4, 0.15)),
    ("eastbridge", "overnight"): (("UPS", "FedEx"), (0.5, 0.5)),
    ("eastbridge", "international"): (("UPS", "FedEx"), (0.6, 0.4)),
}
_MIX_CUM = {key: (names, tuple(accumulate(w))) for key, (names, w) in _MIX.items()}

# carrier business days in transit after the ship day: (days, cumulative probability)
_TRANSIT: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "standard": ((1, 2, 3, 4, 5, 6, 7), (0.04, 0.22, 0.35, 0.22, 0.135, 0.025, 0.01)),
    "expedited": ((1, 2, 3), (0.08, 0.895, 0.025)),
    "overnight": ((1, 2), (0.975, 0.025)),
    "international_standard": ((4, 5, 6, 7, 8, 9, 10), (0.1, 0.2, 0.25, 0.22, 0.16, 0.05, 0.02)),
    "international_expedited": ((2, 3, 4, 5), (0.15, 0.45, 0.36, 0.04)),
}
_TRANSIT_CUM = {key: (days, tuple(accumulate(w))) for key, (days, w) in _TRANSIT.items()}

_UPS_SERVICE_CODE = {"standard": "03", "expedited": "02", "overnight": "01", "international": "08"}
_USPS_PREFIX = {"standard": "940011", "expedited": "940551", "overnight": "947011"}
EXCEPTION_SHARE = 0.02
# Odd and not a multiple of 5, so n -> n * _SPREAD mod 10^k is a bijection: unique numbers
# that look random.
_SPREAD = 2_862_933_555_777_941_757
RETURN_TO_SENDER_SHARE = 0.0025

# base cents, cents per started kg, carrier factor in percent
_RATE = {
    "standard": (540, 95),
    "expedited": (1250, 210),
    "overnight": (2790, 360),
    "international": (1890, 720),
}
_CARRIER_FACTOR = {"UPS": 100, "FedEx": 103, "USPS": 92}


class Carriers:
    """Picks carriers, prices labels and writes each parcel's tracking events."""

    def __init__(self, clock: Clock, calendar: BusinessCalendar, tables: Tables, rng: Draw) -> None:
        self._clock = clock
        self._calendar = calendar
        self._rng = rng
        self._events = tables["tracking_events"].append
        self._serial = 0
        self._hubs = {
            carrier: [(place, clock.zone(tz)) for place, tz in hubs]
            for carrier, hubs in HUBS.items()
        }

    def choose(self, provider_id: str, level: str) -> tuple[str, str]:
        """Carrier and carrier service name for an order's service level."""
        names, cum = _MIX_CUM[(provider_id, level)]
        carrier = names[self._rng.pick(cum)]
        return carrier, SERVICES[carrier][level]

    def tracking_number(self, carrier: str, level: str, ups_account: str) -> str:
        """A unique tracking number in the carrier's usual shape."""
        self._serial += 1
        n = self._serial
        if carrier == "UPS":
            return f"1Z{ups_account}{_UPS_SERVICE_CODE[level]}{(n * _SPREAD + 1234567) % 10**8:08d}"
        if carrier == "FedEx":
            return f"7{(n * _SPREAD + 9876543) % 10**11:011d}"
        if level == "international":
            return f"LZ{(n * _SPREAD + 12345) % 10**9:09d}US"
        return f"{_USPS_PREFIX[level]}{(n * _SPREAD + 12345) % 10**16:016d}"

    def cost(self, carrier: str, level: str, grams: int) -> int:
        """The carrier's label cost in cents."""
        base, per_kg = _RATE[level]
        kilos = -(-grams // 1000)
        return (base + per_kg * kilos) * _CARRIER_FACTOR[carrier] // 100

    def track(
        self,
        tracking: str,
        carrier: str,
        transit_key: str,
        origin: str,
        origin_zone: int,
        destination: str,
        destination_zone: int,
        label_ts: int,
        ship_ts: int,
        ship_day: int,
    ) -> tuple[int, int]:
        """Write the parcel's events; return (delivered local day, delivered ts) or (-1, -1)."""
        rng = self._rng
        clock = self._clock
        add = self._calendar.add
        text = clock.text
        events = self._events
        events((tracking, carrier, "label_created", text(origin_zone, label_ts), origin))
        first_scan = ship_ts + rng.between(1800, 5 * 3600)
        events((tracking, carrier, "in_transit", text(origin_zone, first_scan), origin))
        days, cum = _TRANSIT_CUM[transit_key]
        transit = days[rng.pick(cum)]
        if transit >= 2 and rng.random() < 0.6:
            hub, hub_zone = rng.one(self._hubs[carrier])
            hub_ts = clock.at(hub_zone, add(ship_day, 1), rng.between(10 * 3600, 20 * 3600))
            events((tracking, carrier, "in_transit", text(hub_zone, hub_ts), hub))
        delivery_day = add(ship_day, transit)
        draw = rng.random()
        if draw < EXCEPTION_SHARE:
            # Weather, address or damage hold at the destination: delivered a day later, or not.
            at = clock.at(destination_zone, delivery_day, rng.between(8 * 3600, 12 * 3600))
            events((tracking, carrier, "exception", text(destination_zone, at), destination))
            if draw < RETURN_TO_SENDER_SHARE:
                back = clock.at(destination_zone, add(delivery_day, 1), rng.between(32400, 54000))
                events(
                    (
                        tracking,
                        carrier,
                        "returned_to_sender",
                        text(destination_zone, back),
                        destination,
                    )
                )
                return -1, -1
            delivery_day = add(delivery_day, 1)
        out = clock.at(
            destination_zone, delivery_day, rng.between(6 * 3600 + 1800, 9 * 3600 + 1800)
        )
        events((tracking, carrier, "out_for_delivery", text(destination_zone, out), destination))
        delivered = min(
            out + rng.between(3600, 9 * 3600), clock.at(destination_zone, delivery_day, 73800)
        )
        events((tracking, carrier, "delivered", text(destination_zone, delivered), destination))
        return delivery_day, delivered
