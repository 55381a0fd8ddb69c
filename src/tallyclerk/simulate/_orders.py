"""Store orders: who ordered what, where it goes and at what service level."""

from __future__ import annotations

import string
from itertools import accumulate

from ._catalog import Catalog
from ._clock import Clock
from ._draw import Draw
from ._network import DESTINATIONS, FACILITIES, Destination
from ._writer import Tables

_LINE_COUNT = (1, 2, 3, 4, 5)
_LINE_COUNT_CUM = tuple(accumulate((0.55, 0.25, 0.12, 0.05, 0.03)))
_QTY = (1, 2, 3)
_QTY_CUM = tuple(accumulate((0.78, 0.18, 0.04)))
_CHANNELS = ("web", "app", "social")
_CHANNEL_CUM = tuple(accumulate((0.7, 0.22, 0.08)))
_LEVELS = ("standard", "expedited", "overnight")
_LEVEL_CUM = tuple(accumulate((0.82, 0.13, 0.05)))
_INTERNATIONAL_LEVELS = ("standard", "expedited")
_INTERNATIONAL_LEVEL_CUM = tuple(accumulate((0.8, 0.2)))
_DESTINATION_CUM = tuple(accumulate(d.weight for d in DESTINATIONS))
_SITE_OF = {f.id: i for i, f in enumerate(FACILITIES)}

MEAN_UNITS_PER_ORDER = sum(
    n * p for n, p in zip(_LINE_COUNT, (0.55, 0.25, 0.12, 0.05, 0.03), strict=True)
) * sum(q * p for q, p in zip(_QTY, (0.78, 0.18, 0.04), strict=True))


def site_shares() -> list[float]:
    """Share of orders routed to each facility (FACILITIES order)."""
    total = _DESTINATION_CUM[-1]
    shares = [0.0] * len(FACILITIES)
    for d in DESTINATIONS:
        shares[_SITE_OF[d.facility_id]] += d.weight / total
    return shares


class Order:
    """One drawn order; lines are [sku index, qty, unit price in cents]."""

    __slots__ = (
        "channel",
        "destination",
        "id",
        "level",
        "lines",
        "placed_ts",
        "postal",
        "site",
        "value",
    )

    def __init__(
        self,
        order_id: str,
        placed_ts: int,
        destination: Destination,
        postal: str,
        site: int,
        level: str,
        channel: str,
        lines: list[list[int]],
    ) -> None:
        self.id = order_id
        self.placed_ts = placed_ts
        self.destination = destination
        self.postal = postal
        self.site = site
        self.level = level
        self.channel = channel
        self.lines = lines
        self.value = sum(qty * price for _, qty, price in lines)


class OrderMaker:
    """Draws orders and writes their orders and order_lines rows."""

    def __init__(self, catalog: Catalog, clock: Clock, tables: Tables, rng: Draw) -> None:
        self._rng = rng
        self._clock = clock
        self._brand_zone = 0
        self._sku_ids = range(len(catalog.products))
        self._sku_cum = catalog.cum_weights
        self._skus = [p.sku for p in catalog.products]
        self._prices = [p.price for p in catalog.products]
        self._orders = tables["orders"].append
        self._lines = tables["order_lines"].append

    def _postal(self, destination: Destination) -> str:
        rng = self._rng
        if destination.country == "US":
            return f"{destination.postal_prefix}{rng.between(0, 100):02d}"
        if destination.country == "CA":
            letters = "ABCEGHJKLMNPRSTVXY"
            digits = f"{rng.between(0, 10)}{rng.one(letters)}{rng.between(0, 10)}"
            return f"{destination.postal_prefix} {digits}"
        return (
            f"{destination.postal_prefix} {rng.between(0, 10)}"
            f"{rng.one(string.ascii_uppercase)}{rng.one(string.ascii_uppercase)}"
        )

    def draw(self, seq: int, placed_ts: int, discount_pct: int) -> Order:
        """A new order placed at `placed_ts`; prices carry any site-wide sale discount."""
        rng = self._rng
        random_ = rng.random
        destination = DESTINATIONS[rng.pick(_DESTINATION_CUM)]
        if destination.country == "US":
            level = _LEVELS[rng.pick(_LEVEL_CUM)]
        else:
            level = _INTERNATIONAL_LEVELS[rng.pick(_INTERNATIONAL_LEVEL_CUM)]
        n_lines = _LINE_COUNT[rng.pick(_LINE_COUNT_CUM)]
        sku_cum = self._sku_cum
        skus = [rng.pick(sku_cum) for _ in range(n_lines)]
        if n_lines > 1:
            skus = list(dict.fromkeys(skus))
        if discount_pct == 0 and random_() < 0.1:
            discount_pct = 15  # a promo code
        prices = self._prices
        lines = []
        for sku in skus:
            qty = 1 if random_() < _QTY_CUM[0] else (2 if random_() < 0.82 else 3)
            price = prices[sku]
            if discount_pct:
                price = price * (100 - discount_pct) // 100
            lines.append([sku, qty, price])
        channel = _CHANNELS[rng.pick(_CHANNEL_CUM)]
        return Order(
            f"ORD-{seq:08d}",
            placed_ts,
            destination,
            self._postal(destination),
            _SITE_OF[destination.facility_id],
            level,
            channel,
            lines,
        )

    def write(self, order: Order, promised: str, cancelled_at: str) -> None:
        """Write the orders row and its order_lines."""
        value = order.value
        self._orders(
            (
                order.id,
                self._clock.text(self._brand_zone, order.placed_ts),
                order.channel,
                order.destination.country,
                order.postal,
                order.level,
                promised,
                f"{value // 100}.{value % 100:02d}",
                "USD",
                cancelled_at,
            )
        )
        append = self._lines
        skus = self._skus
        order_id = order.id
        for line_no, (sku, qty, price) in enumerate(order.lines, 1):
            append(
                (order_id, str(line_no), skus[sku], str(qty), f"{price // 100}.{price % 100:02d}")
            )
