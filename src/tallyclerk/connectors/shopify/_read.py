"""Recognizing and reading Shopify JSON: payloads, Admin REST documents, JSON Lines."""

from __future__ import annotations

import json
import re
from typing import Any

from tallyclerk.connectors._base import ConnectorError, Position, exact_number
from tallyclerk.connectors.shopify._map import Mapper, Where, order_label
from tallyclerk.connectors.shopify._values import record, show

_ORDER_KEYS = ("created_at", "total_price", "order_number", "financial_status")
_FULFILLMENT_KEYS = (
    "line_items",
    "tracking_company",
    "tracking_numbers",
    "tracking_number",
    "shipment_status",
)
_FULFILLMENT_ORDER_KEYS = (
    "fulfillment_order_line_items",
    "assigned_location_id",
    "request_status",
    "supported_actions",
)
_JSON_NAMES = (".json", ".jsonl", ".ndjson")
_LINES_NAMES = (".jsonl", ".ndjson")
_ENVELOPE = re.compile(rb'"(?:order|orders|fulfillment|fulfillments)"\s*:\s*[\[{]')
_ORDER_MARK = re.compile(rb'"(?:total_price|financial_status|order_number)"\s*:')
_FULFILLMENT_MARK = re.compile(rb'"(?:tracking_company|tracking_numbers)"\s*:')
_AIRBYTE = re.compile(rb'^\s*\{\s*"stream"\s*:\s*"[a-z_]+"')
_SHOPIFY_MARK = re.compile(rb'gid://shopify/|"shop_url"\s*:|"line_items"\s*:')


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads(text: str) -> Any:
    """JSON with exact decimals (never floats); NaN and Infinity refused."""
    return json.loads(text, parse_float=exact_number, parse_constant=_no_constant)


def decode(data: bytes, source: str) -> str:
    """The payload as text (UTF-8, a byte-order mark dropped)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith(b"\x1f\x8b"):  # refused by name, never decompressed
        raise ConnectorError(f"{source}: the payload is gzip-compressed; send it uncompressed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConnectorError(f"{source}: not UTF-8 text (byte {exc.start})") from None


def looks_json(head: bytes, filename: str) -> bool:
    """Whether the first bytes look like Shopify JSON (a payload, a document, JSON Lines)."""
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if body[:1] not in (b"{", b"["):
        return False
    name = filename.lower()
    if "." in name.rsplit("/", 1)[-1] and not name.endswith(_JSON_NAMES):
        return False
    if _AIRBYTE.match(body):
        return bool(_SHOPIFY_MARK.search(body))
    if _ENVELOPE.search(body):
        return bool(_ORDER_MARK.search(body) or _FULFILLMENT_MARK.search(body))
    has_lines = b'"line_items"' in body
    return has_lines and bool(_ORDER_MARK.search(body) or _FULFILLMENT_MARK.search(body))


def _dict_entries(doc: dict[str, Any]) -> list[tuple[str, Any]] | None:
    """What a JSON object holds: ("order" | "fulfillment" | "airbyte", object) entries."""
    if isinstance(doc.get("order"), dict):
        return [("order", doc["order"])]
    if isinstance(doc.get("orders"), list):
        return [("order", item) for item in doc["orders"]]
    if isinstance(doc.get("fulfillment"), dict):
        return [("fulfillment", doc["fulfillment"])]
    if "stream" in doc and "data" in doc:
        return [("airbyte", doc)]
    if "order_id" in doc:  # an order never names an order; fulfillments (and others) do
        if any(key in doc for key in _FULFILLMENT_ORDER_KEYS):
            return None  # a fulfillment order: work requested, not a shipment
        return [("fulfillment", doc)] if any(key in doc for key in _FULFILLMENT_KEYS) else None
    if isinstance(doc.get("fulfillments"), list) and not ("id" in doc or "line_items" in doc):
        return [("fulfillment", item) for item in doc["fulfillments"]]
    if ("id" in doc or "line_items" in doc) and any(key in doc for key in _ORDER_KEYS):
        return [("order", doc)]
    return None


def entries(doc: Any) -> list[tuple[str, Any, int]] | None:
    """The entries of a document with their element number (1 for an object); None: unknown."""
    if isinstance(doc, dict):
        found = _dict_entries(doc)
        return None if found is None else [(kind, obj, 1) for kind, obj in found]
    if not isinstance(doc, list):
        return None
    listed: list[tuple[str, Any, int]] = []
    for number, item in enumerate(doc, 1):
        inner = _dict_entries(item) if isinstance(item, dict) else None
        if inner is None:
            listed.append(("unknown", item, number))
        else:
            listed.extend((kind, obj, number) for kind, obj in inner)
    return listed


class JsonReader:
    """Feeds entries to the mapper with positions a person can find."""

    def __init__(self, mapper: Mapper) -> None:
        self.mapper = mapper
        self._orders = 0
        self._fulfillments = 0
        self._records = 0

    def entry(self, kind: str, obj: Any, element: int, line: int | None = None) -> bool:
        """Map one entry; False when it is not something this connector reads."""
        mapper = self.mapper
        if kind == "airbyte":
            self._records += 1
            number = line if line is not None else self._records
            stream = obj.get("stream")
            named = f"record {number} ({stream})" if isinstance(stream, str) else f"record {number}"
            self._airbyte(obj, Where(number, f"line {line}" if line is not None else named[:80]))
            return True
        if kind == "order":
            self._orders += 1
            where = (
                Where(line, f"line {line}")
                if line is not None
                else Where(self._orders, f"order {self._orders} ({order_label(obj)})")
            )
            mapper.order(obj, where)
            return True
        if kind == "fulfillment":
            self._fulfillments += 1
            number = self._fulfillments
            where = (
                Where(line, f"line {line}")
                if line is not None
                else Where(number, f"fulfillment {number} ({_fulfillment_label(obj)})")
            )
            mapper.fulfillment(obj, where)
            return True
        label = f"line {line}" if line is not None else f"element {element}"
        where = Where(line if line is not None else element, label)
        reason = f"{label} is neither a Shopify order nor a fulfillment"
        mapper.parsed.reject(None, where.position, reason, record(obj))
        return False

    def _airbyte(self, obj: dict[str, Any], where: Where) -> None:
        stream = obj.get("stream")
        data = obj.get("data")
        if stream == "orders":
            self.mapper.order(data, where)
        elif stream == "fulfillments":
            self.mapper.fulfillment(data, where)
        else:
            name = stream if isinstance(stream, str) else show(stream)
            self.mapper.other_streams[name[:60]] += 1

    def document(self, doc: Any, source: str) -> None:
        """One JSON document: an order, a fulfillment, a list of them, an Admin REST reply."""
        found = entries(doc)
        if not found or all(kind == "unknown" for kind, _, _ in found):
            raise ConnectorError(f"{source}: {_not_shopify(doc)}")
        for kind, obj, element in found:
            self.entry(kind, obj, element)

    def lines(self, text: str, source: str) -> None:
        """JSON Lines: one order, fulfillment or airbyte record per line."""
        readable = 0
        bad_json = 0
        for number, raw in enumerate(text.split("\n"), 1):
            line = raw.strip()
            if not line:
                continue
            try:
                doc = loads(line)
            except (ValueError, RecursionError) as exc:
                bad_json += 1
                reason = f"line {number} is not valid JSON ({_short(exc)})"
                self.mapper.parsed.reject(None, Position.line(number), reason, line[:4000])
                continue
            found = entries(doc) or [("unknown", doc, 1)]
            for kind, obj, element in found:
                readable += self.entry(kind, obj, element, number)
        if not readable:
            why = "no line is valid JSON" if bad_json else "no Shopify order or fulfillment"
            raise ConnectorError(f"{source}: {why}")


def _fulfillment_label(obj: Any) -> str:
    if isinstance(obj, dict):
        value = obj.get("id")
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)[:40]
    return "?"


def _not_shopify(doc: Any) -> str:
    if isinstance(doc, dict):
        keys = ", ".join(sorted(str(k) for k in doc)[:8]) or "none"
        return f"not a Shopify order or fulfillment (top-level keys: {keys})"
    if isinstance(doc, list):
        return "not a list of Shopify orders or fulfillments"
    return f"not a Shopify order or fulfillment ({show(doc)})"


def _short(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}" if exc.lineno == 1 else f"{exc.msg}, {exc}"
    return str(exc)[:120]


def read_json(mapper: Mapper, text: str, source: str) -> str:
    """Read JSON or JSON Lines text into the mapper; returns what the payload was."""
    reader = JsonReader(mapper)
    body = text.strip()
    if not body:
        raise ConnectorError(f"{source}: empty")
    if not source.lower().endswith(_LINES_NAMES):
        try:
            doc = loads(body)
        except (ValueError, RecursionError) as exc:
            if "\n" not in body:
                raise ConnectorError(f"{source}: not valid JSON ({_short(exc)})") from None
        else:
            reader.document(doc, source)
            return "Shopify JSON"
    reader.lines(text, source)
    return "Shopify JSON Lines"
