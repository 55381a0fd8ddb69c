"""Shopify: store orders and the fulfillments a brand ships itself, as canonical records.

What is read (the shape is recognized from the content):

- an order object: the body of an orders/create, orders/updated, orders/cancelled or
  orders/fulfilled webhook; the Admin REST replies `{"order": {...}}` and
  `{"orders": [...]}`; a JSON array of orders;
- a fulfillment object: a fulfillments/create or fulfillments/update body, `{"fulfillment":
  {...}}`, `{"fulfillments": [...]}`, a JSON array of fulfillments, and the `fulfillments`
  inside an order;
- JSON Lines with one of the above per line, or Airbyte records (`{"stream", "data",
  "emitted_at"}`) of the streams `orders` and `fulfillments` (records of other streams are
  counted in a note and otherwise ignored);
- the orders CSV export of the Shopify admin (columns: see `_export`).

Mapping:

- orders: order_id = the order `id` as text (settings `order_key: name` uses the order
  `name`, "#1001", instead: for stores whose people and 3PLs quote order names); placed_at =
  `created_at` with its offset; channel = `source_name`; ship_to_country / ship_to_postal =
  `shipping_address.country_code` / `.zip`; service_level = the first shipping line's
  `title` (else its `code`); order_value = `total_price`, exact (JSON numbers are read as
  decimals, never floats); currency = `currency` in upper case; cancelled_at.
  promised_delivery_date comes from a note attribute named "promised delivery date",
  "delivery date", "estimated delivery date", "expected delivery date", "estimated delivery",
  "promised delivery" or "deliver by" (any case; "_" or "-" for spaces) holding a date
  (2024-05-03) or a timestamp (its date part), else from an order or first-shipping-line field
  `promised_delivery_date` or `estimated_delivery_at`; an unreadable one is noted, not fatal.
- order_lines: line_no = the position in `line_items` from 1; sku = the line's `sku`, or its
  `variant_id` when the sku is empty (noted); qty = `quantity`; unit_price = `price`.
- shipments and shipment_lines, from fulfillments with status `success` (or none; other
  statuses such as cancelled are noted and skipped): shipment_id = the fulfillment `id`;
  provider_id = the ParseOptions provider, else settings `self_provider`, else "brand";
  facility_id = settings `facility`, else the fulfillment's `location_id`, else "brand";
  shipped_at = `created_at`; carrier = `tracking_company`; tracking_number = the first of
  `tracking_numbers` (else `tracking_number`); service = `service`; lines = its line items,
  quantities of the same sku summed. With `order_key: name`, a fulfillment on its own names
  its order through its own name ("#1001.1" is order "#1001").

Only the columns a payload carries are supplied: a key that is absent leaves the stored value;
a key present with null clears it. Webhooks: `verify_webhook` checks the HMAC header and
`parse_webhook` reads a body by its topic.
"""

from __future__ import annotations

from tallyclerk.connectors._base import ConnectorError, Parsed, ParseOptions
from tallyclerk.connectors.shopify._export import looks_export, read_export
from tallyclerk.connectors.shopify._map import Config, Mapper
from tallyclerk.connectors.shopify._payload import order_payload
from tallyclerk.connectors.shopify._read import decode, looks_json, read_json
from tallyclerk.connectors.shopify._webhook import (
    FULFILLMENT_TOPICS,
    HMAC_HEADER,
    ORDER_TOPICS,
    TOPIC_HEADER,
    TOPICS,
    WEBHOOK_ID_HEADER,
    parse_webhook,
    verify_webhook,
)


class ShopifyConnector:
    """Shopify order and fulfillment JSON (webhooks, Admin REST, Airbyte) and the orders CSV."""

    name = "shopify"
    description = (
        "Shopify orders and fulfillments: webhook bodies, Admin REST JSON, JSON Lines "
        "(also Airbyte records) and the admin's orders CSV export"
    )

    def sniff(self, head: bytes, filename: str) -> bool:
        """Whether the first bytes look like Shopify JSON or the orders export header."""
        if looks_json(head, filename):
            return True
        name = filename.lower()
        if name.endswith((".json", ".jsonl", ".ndjson")):
            return False
        return looks_export(head)

    def parse(self, data: bytes, options: ParseOptions) -> Parsed:
        """Map a whole payload; ConnectorError when it is not Shopify data at all."""
        source = options.source
        config = Config.of(options)
        parsed = Parsed()
        try:
            text = decode(data, source)
        except ConnectorError:
            # An export saved again by a spreadsheet program may be in Windows-1252.
            if data.lstrip()[:1] in (b"{", b"[") or not looks_export(data[:65536]):
                raise
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                raise ConnectorError(f"{source}: neither UTF-8 nor Windows-1252 text") from None
            parsed.notes.append("the file is not UTF-8: read as Windows-1252")
        mapper = Mapper(parsed, config)
        body = text.lstrip()
        if not body:
            raise ConnectorError(f"{source}: empty")
        if body[0] in "{[":
            what = read_json(mapper, text, source)
        else:
            what = read_export(mapper, text, source)
        mapper.finish()
        parsed.summary = f"{what}: {mapper.counts()}"
        return parsed


CONNECTORS = (ShopifyConnector(),)

__all__ = [
    "CONNECTORS",
    "FULFILLMENT_TOPICS",
    "HMAC_HEADER",
    "ORDER_TOPICS",
    "TOPICS",
    "TOPIC_HEADER",
    "WEBHOOK_ID_HEADER",
    "ShopifyConnector",
    "order_payload",
    "parse_webhook",
    "verify_webhook",
]
