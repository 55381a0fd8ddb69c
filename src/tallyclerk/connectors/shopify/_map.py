"""Shopify order and fulfillment objects to canonical orders, order lines and shipments."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tallyclerk.connectors._base import ConnectorError, Parsed, ParseOptions, Position, Row
from tallyclerk.connectors.shopify._values import (
    BadValueError,
    amount,
    calendar_date,
    identifier,
    optional_timestamp,
    record,
    show,
    text,
    timestamp,
    whole,
)

# Note attribute names (compared in lower case, "_" and "-" read as spaces) that carry the
# delivery date promised to the customer, as delivery-date apps write them.
PROMISE_ATTRIBUTES = frozenset(
    {
        "promised delivery date",
        "promised delivery",
        "delivery date",
        "estimated delivery date",
        "estimated delivery",
        "expected delivery date",
        "deliver by",
    }
)
# Order and first-shipping-line fields read for the promised date when no note attribute has it.
PROMISE_FIELDS = ("promised_delivery_date", "estimated_delivery_at")
_SPACES = re.compile(r"[\s_-]+")
_EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class Config:
    """The settings a Shopify run obeys (from ParseOptions)."""

    order_key: str = "id"  # "id": the numeric order id; "name": the order name ("#1001")
    provider_id: str = "brand"  # the provider of shipments the brand makes itself
    facility: str | None = None  # the facility of those shipments (else the location id)

    @staticmethod
    def of(options: ParseOptions) -> Config:
        """Read the settings, refusing an unknown order_key."""
        settings: Mapping[str, Any] = options.settings or {}
        key = settings.get("order_key") or "id"
        if key not in ("id", "name"):
            raise ConnectorError(f"settings order_key must be 'id' or 'name', not {show(key)}")
        provider = options.provider_id or settings.get("self_provider") or "brand"
        facility = settings.get("facility")
        return Config(str(key), str(provider), str(facility) if facility else None)


@dataclass(frozen=True, slots=True)
class Where:
    """A position being built: a number and a label, refined for nested records."""

    number: int | None
    label: str

    @property
    def position(self) -> Position:
        """The position for Parsed."""
        return Position(self.number, self.label)

    def sub(self, part: str) -> Where:
        """A record nested inside this one ("order 1 (#1001), line item 2")."""
        return Where(self.number, f"{self.label}, {part}")


def order_label(obj: Any) -> str:
    """How people name an order: its name (#1001), else its id."""
    if isinstance(obj, dict):
        for key in ("name", "id"):
            value = obj.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)[:40]
    return "?"


def promise_name(name: Any) -> bool:
    """Whether a note attribute's name says it holds the promised delivery date."""
    return isinstance(name, str) and _SPACES.sub(" ", name.strip().lower()) in PROMISE_ATTRIBUTES


class Mapper:
    """Maps objects into one Parsed, collecting what deserves a note."""

    def __init__(self, parsed: Parsed, config: Config) -> None:
        self.parsed = parsed
        self.config = config
        self.orders = 0
        self.fulfillments = 0
        self.variant_fallbacks: list[str] = []
        self.not_shipped: list[str] = []
        self.bad_promises: list[str] = []
        self.other_streams: Counter[str] = Counter()
        self._shipments: dict[str, tuple[Row, tuple[tuple[str, int], ...]]] = {}
        self._fulfillment_ids: set[str] = set()

    # -- orders ---------------------------------------------------------------------------

    def order(self, obj: Any, where: Where) -> None:
        """One order object: the order, its line items and its fulfillments."""
        self.orders += 1
        if not isinstance(obj, dict):
            reason = f"{show(obj)} is not an order"
            self.parsed.reject("orders", where.position, reason, record(obj))
            return
        try:
            row = self._order_row(obj, where)
        except BadValueError as exc:
            self.parsed.reject("orders", where.position, str(exc), record(obj))
            return
        order_id = str(row["order_id"])
        self.parsed.add("orders", row, where.position)
        items = obj.get("line_items")
        if isinstance(items, list):
            for number, item in enumerate(items, 1):
                self._order_line(order_id, number, item, where.sub(f"line item {number}"))
        elif items is not None:
            reason = f"line_items {show(items)} is not a list"
            self.parsed.reject("order_lines", where.position, reason, record(items))
        fulfillments = obj.get("fulfillments")
        if isinstance(fulfillments, list):
            for number, fulfillment in enumerate(fulfillments, 1):
                self.fulfillment(fulfillment, where.sub(f"fulfillment {number}"), order_id)
        elif fulfillments is not None:
            reason = f"fulfillments {show(fulfillments)} is not a list"
            self.parsed.reject("shipments", where.position, reason, record(fulfillments))

    def _order_row(self, obj: dict[str, Any], where: Where) -> Row:
        key = self.config.order_key
        row: Row = {
            "order_id": identifier(key, obj.get(key)),
            "placed_at": timestamp("created_at", obj.get("created_at")),
        }
        if "source_name" in obj:
            row["channel"] = text("source_name", obj["source_name"])
        if "shipping_address" in obj:
            address = obj["shipping_address"]
            if address is None:
                row["ship_to_country"] = row["ship_to_postal"] = None
            elif isinstance(address, dict):
                if "country_code" in address:
                    country = text("shipping_address.country_code", address["country_code"])
                    row["ship_to_country"] = country.upper() if country else None
                if "zip" in address:
                    row["ship_to_postal"] = text("shipping_address.zip", address["zip"])
            else:
                raise BadValueError(f"shipping_address {show(address)} is not an address")
        if "shipping_lines" in obj:
            row["service_level"] = self._service_level(obj["shipping_lines"])
        promised = self._promised(obj, where)
        if promised is not None:
            row["promised_delivery_date"] = promised
        if "total_price" in obj:
            row["order_value"] = amount("total_price", obj["total_price"])
        if "currency" in obj:
            currency = text("currency", obj["currency"])
            row["currency"] = currency.upper() if currency else None
        if "cancelled_at" in obj:
            row["cancelled_at"] = optional_timestamp("cancelled_at", obj["cancelled_at"])
        return row

    @staticmethod
    def _service_level(lines: Any) -> str | None:
        if lines is None or lines == []:
            return None
        if not isinstance(lines, list) or not isinstance(lines[0], dict):
            raise BadValueError(f"shipping_lines {show(lines)} is not a list of shipping lines")
        first = lines[0]
        return text("shipping_lines title", first.get("title")) or text(
            "shipping_lines code", first.get("code")
        )

    def _promised(self, obj: dict[str, Any], where: Where) -> str | None:
        """The promised delivery date: a note attribute, else an estimated delivery field."""
        candidates: list[tuple[str, Any]] = []
        attributes = obj.get("note_attributes")
        if isinstance(attributes, list):
            for attribute in attributes:
                if isinstance(attribute, dict) and promise_name(attribute.get("name")):
                    source = f"note attribute {attribute['name']!r}"
                    candidates.append((source, attribute.get("value")))
        for field in PROMISE_FIELDS:
            if obj.get(field) is not None:
                candidates.append((field, obj[field]))
        lines = obj.get("shipping_lines")
        if isinstance(lines, list) and lines and isinstance(lines[0], dict):
            for field in PROMISE_FIELDS:
                if lines[0].get(field) is not None:
                    candidates.append((f"shipping_lines {field}", lines[0][field]))
        return self.pick_promise(candidates, where)

    def pick_promise(self, candidates: list[tuple[str, Any]], where: Where) -> str | None:
        """The first candidate that is a date; unreadable ones are noted, never fatal."""
        for source, value in candidates:
            day = calendar_date(value)
            if day is not None:
                return day
            self.bad_promises.append(f"{where.label}: {source} {show(value)}")
        return None

    def _order_line(self, order_id: str, number: int, item: Any, where: Where) -> None:
        if not isinstance(item, dict):
            reason = f"line item {number} {show(item)} is not a line item"
            self.parsed.reject("order_lines", where.position, reason, record(item))
            return
        try:
            row: Row = {
                "order_id": order_id,
                "line_no": str(number),
                "sku": self._sku(item, where),
                "qty": whole("quantity", item.get("quantity")),
            }
            if "price" in item:
                row["unit_price"] = amount("price", item["price"])
        except BadValueError as exc:
            reason = f"line item {number} {exc}"
            self.parsed.reject("order_lines", where.position, reason, record(item))
            return
        self.parsed.add("order_lines", row, where.position)

    def _sku(self, item: dict[str, Any], where: Where) -> str:
        sku = text("sku", item.get("sku"))
        if sku:
            return sku
        variant = item.get("variant_id")
        if variant is None or (isinstance(variant, str) and not variant.strip()):
            raise BadValueError("has no sku and no variant_id")
        variant_id = identifier("variant_id", variant)
        self.variant_fallbacks.append(f"{where.label}: {variant_id}")
        return variant_id

    # -- fulfillments ---------------------------------------------------------------------

    def fulfillment(self, obj: Any, where: Where, order_id: str | None = None) -> None:
        """One fulfillment: a shipment the brand made, with its lines (success only)."""
        ident = obj.get("id") if isinstance(obj, dict) else None
        seen = isinstance(ident, int | str) and str(ident) in self._fulfillment_ids
        if not seen:
            self.fulfillments += 1  # counted once when it comes both in its order and alone
            if isinstance(ident, int | str):
                self._fulfillment_ids.add(str(ident))
        if not isinstance(obj, dict):
            reason = f"{show(obj)} is not a fulfillment"
            self.parsed.reject("shipments", where.position, reason, record(obj))
            return
        try:
            shipment_id = identifier("fulfillment id", obj.get("id"))
            status = obj.get("status")
            if status not in (None, "", "success"):
                self.not_shipped.append(f"{shipment_id} ({show(status)})")
                return
            row = self._shipment_row(shipment_id, obj, order_id)
        except BadValueError as exc:
            self.parsed.reject("shipments", where.position, str(exc), record(obj))
            return
        lines: dict[str, int] = {}
        items = obj.get("line_items")
        if isinstance(items, list):
            for number, item in enumerate(items, 1):
                self._shipment_line(lines, number, item, where.sub(f"line item {number}"))
        elif items is not None:
            reason = f"line_items {show(items)} is not a list"
            self.parsed.reject("shipment_lines", where.position, reason, record(items))
        content = (row, tuple(lines.items()))
        if self._shipments.get(shipment_id) == content:
            return  # the same fulfillment again (in its order and on its own): nothing new
        self._shipments[shipment_id] = content
        self.parsed.add("shipments", row, where.position)
        for sku, qty in lines.items():
            line: Row = {"shipment_id": shipment_id, "sku": sku, "qty": str(qty)}
            self.parsed.add("shipment_lines", line, where.position)

    def _shipment_row(self, shipment_id: str, obj: dict[str, Any], order_id: str | None) -> Row:
        row: Row = {
            "shipment_id": shipment_id,
            "order_id": order_id or self._fulfillment_order(obj),
            "provider_id": self.config.provider_id,
            "facility_id": self.config.facility
            or text("location_id", obj.get("location_id"))
            or "brand",
            "shipped_at": timestamp("created_at", obj.get("created_at")),
        }
        if "tracking_company" in obj:
            row["carrier"] = text("tracking_company", obj["tracking_company"])
        if "service" in obj:
            row["service"] = text("service", obj["service"])
        if "tracking_numbers" in obj or "tracking_number" in obj:
            row["tracking_number"] = self._tracking_number(obj)
        return row

    def _fulfillment_order(self, obj: dict[str, Any]) -> str:
        if self.config.order_key == "id":
            return identifier("order_id", obj.get("order_id"))
        name = obj.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BadValueError("name is missing (order_key 'name' reads the order from '#1001.1')")
        base, dot, suffix = name.strip().rpartition(".")
        return base if dot and base and suffix.isdigit() else name.strip()

    @staticmethod
    def _tracking_number(obj: dict[str, Any]) -> str | None:
        numbers = obj.get("tracking_numbers")
        if isinstance(numbers, list):
            for number in numbers:
                found = text("tracking_numbers", number)
                if found:
                    return found
        elif numbers is not None:
            raise BadValueError(f"tracking_numbers {show(numbers)} is not a list")
        return text("tracking_number", obj.get("tracking_number"))

    def _shipment_line(self, lines: dict[str, int], number: int, item: Any, where: Where) -> None:
        try:
            if not isinstance(item, dict):
                raise BadValueError(f"{show(item)} is not a line item")
            sku = self._sku(item, where)
            qty = int(whole("quantity", item.get("quantity")))
        except BadValueError as exc:
            reason = f"line item {number} {exc}"
            self.parsed.reject("shipment_lines", where.position, reason, record(item))
            return
        lines[sku] = lines.get(sku, 0) + qty

    # -- the end of a run -----------------------------------------------------------------

    def finish(self) -> None:
        """Write the notes: sku fallbacks, fulfillments not shipped, ignored streams."""
        notes = self.parsed.notes
        if self.variant_fallbacks:
            notes.append(
                f"{len(self.variant_fallbacks)} line item(s) without a sku: the variant_id is "
                f"used as the sku ({_examples(self.variant_fallbacks)})"
            )
        not_shipped = list(dict.fromkeys(self.not_shipped))
        if not_shipped:
            notes.append(
                f"{len(not_shipped)} fulfillment(s) not read as shipments because their "
                f"status is not success: {_examples(not_shipped)}"
            )
        if self.bad_promises:
            notes.append(
                f"{len(self.bad_promises)} promised delivery date(s) not read (not a date): "
                f"{_examples(self.bad_promises)}"
            )
        if self.other_streams:
            total = sum(self.other_streams.values())
            streams = ", ".join(f"{name} {n}" for name, n in sorted(self.other_streams.items()))
            notes.append(f"ignored {total} record(s) of other streams: {streams}")

    def counts(self) -> str:
        """What was read, for the summary: "3 orders, 3 fulfillments"."""
        parts = []
        if self.orders:
            parts.append(f"{self.orders} order{'s' if self.orders != 1 else ''}")
        if self.fulfillments:
            plural = "s" if self.fulfillments != 1 else ""
            parts.append(f"{self.fulfillments} fulfillment{plural}")
        if self.other_streams:
            parts.append(f"{sum(self.other_streams.values())} other record(s)")
        return ", ".join(parts) or "nothing"


def _examples(items: list[str]) -> str:
    shown = "; ".join(items[:_EXAMPLES])
    more = len(items) - _EXAMPLES
    return shown + (f"; and {more} more" if more > 0 else "")
