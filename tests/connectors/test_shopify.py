"""The Shopify connector on real fixtures, a hand-written orders export, webhooks and fuzz."""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import hmac
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyclerk.connectors import ConnectorError, Parsed, ParseOptions, Position
from tallyclerk.connectors.shopify import (
    CONNECTORS,
    HMAC_HEADER,
    TOPIC_HEADER,
    WEBHOOK_ID_HEADER,
    ShopifyConnector,
    order_payload,
    parse_webhook,
    verify_webhook,
)

SHOPIFY = ShopifyConnector()
AIRBYTE = "airbyte_source_shopify_expected_records.jsonl"


def parse(data: bytes | str, source: str = "payload.json", **settings_: Any) -> Parsed:
    raw = data.encode() if isinstance(data, str) else data
    return SHOPIFY.parse(raw, ParseOptions(source=source, settings=settings_))


def python_fixture(samples: Path, name: str) -> Path:
    return samples / "shopify" / "shopify_python_api_fixtures" / name


def ruby_fixture(samples: Path, name: str) -> Path:
    return samples / "shopify" / "shopify_api_ruby_fixtures" / name


def reasons(parsed: Parsed) -> list[tuple[str | None, str, str]]:
    return [(r.kind, r.position.label, r.reason) for r in parsed.rejects]


def check_cells(parsed: Parsed) -> None:
    """Every mapped value is text or None, as in a canonical CSV."""
    for kind, rows in parsed.rows.items():
        assert len(rows) == len(parsed.positions[kind])
        for row in rows:
            assert all(value is None or isinstance(value, str) for value in row.values())


# -- registry and sniffing ----------------------------------------------------------------


def test_registry_exposes_one_connector_named_shopify() -> None:
    assert [c.name for c in CONNECTORS] == ["shopify"]
    assert CONNECTORS[0].description
    assert (HMAC_HEADER, TOPIC_HEADER, WEBHOOK_ID_HEADER) == (
        "X-Shopify-Hmac-Sha256",
        "X-Shopify-Topic",
        "X-Shopify-Webhook-Id",
    )


@pytest.mark.parametrize(
    "path",
    [
        "shopify_python_api_fixtures/order.json",
        "shopify_python_api_fixtures/orders.json",
        "shopify_python_api_fixtures/fulfillment.json",
        "shopify_api_ruby_fixtures/order.json",
        "shopify_api_ruby_fixtures/orders.json",
        "shopify_api_ruby_fixtures/fulfillments.json",
        AIRBYTE,
    ],
)
def test_sniff_recognizes_the_shopify_samples(samples: Path, path: str) -> None:
    file = samples / "shopify" / path
    assert SHOPIFY.sniff(file.read_bytes()[:65536], file.name)


@pytest.mark.parametrize(
    "path",
    [
        "woocommerce/frappe_ecommerce_integrations_test_order_at_825278b.json",
        "woocommerce/woocommerce_docs_order_example.EXTRACTED.json",
        "shopify/shopify_python_api_fixtures/fulfillment_orders_at_f3a0f28.json",
        "shopify/shopify_python_api_fixtures/inventory_levels.json",
        "shopify/shopify_api_ruby_fixtures/refund.json",
    ],
)
def test_sniff_leaves_other_json_alone(samples: Path, path: str) -> None:
    file = samples / path
    assert not SHOPIFY.sniff(file.read_bytes()[:65536], file.name)


def test_sniff_leaves_carrier_tracking_alone(samples: Path) -> None:
    files = sorted((samples / "carrier_tracking").rglob("*.json"))
    assert files
    for file in files:
        assert not SHOPIFY.sniff(file.read_bytes()[:65536], file.name), file


def test_sniff_reads_the_export_header_and_not_a_canonical_csv() -> None:
    assert SHOPIFY.sniff(export_csv([]).encode("utf-8-sig")[:4096], "orders_export_1.csv")
    assert not SHOPIFY.sniff(b"order_id,placed_at,channel\n1,2026-01-05,web\n", "orders.csv")
    assert not SHOPIFY.sniff(b'{"order": {"id": 1, "total_price": "1.00"}}', "order.xml")
    assert not SHOPIFY.sniff(b"", "empty.json")


# -- the Python API fixtures ----------------------------------------------------------------


def test_order_1001_from_the_python_fixture(samples: Path) -> None:
    parsed = parse(python_fixture(samples, "order.json").read_bytes(), "order.json")
    assert parsed.rows["orders"] == [
        {
            "order_id": "450789469",
            "placed_at": "2008-01-10T11:00:00-05:00",
            "channel": "web",
            "ship_to_country": "US",
            "ship_to_postal": "40202",
            "service_level": "Free Shipping",
            "order_value": "409.94",
            "currency": "USD",
            "cancelled_at": None,
        }
    ]
    assert parsed.positions["orders"] == [Position(1, "order 1 (#1001)")]
    assert parsed.rows["order_lines"] == [
        {"order_id": "450789469", "line_no": "1", "sku": "IPOD2008GREEN", "qty": "1",
         "unit_price": "199.00"},
        {"order_id": "450789469", "line_no": "2", "sku": "IPOD2008RED", "qty": "1",
         "unit_price": "199.00"},
        {"order_id": "450789469", "line_no": "3", "sku": "IPOD2008BLACK", "qty": "1",
         "unit_price": "199.00"},
    ]  # fmt: skip
    assert parsed.positions["order_lines"][1].label == "order 1 (#1001), line item 2"
    # Its one fulfillment failed: no shipment, and a note says why.
    assert "shipments" not in parsed.rows
    assert parsed.notes == [
        "1 fulfillment(s) not read as shipments because their status is not success: "
        "255858046 ('failure')"
    ]
    assert parsed.rejects == []
    assert parsed.summary == "Shopify JSON: 1 order, 1 fulfillment"
    assert "promised_delivery_date" not in parsed.supplied("orders")


def test_order_key_name_uses_the_order_name(samples: Path) -> None:
    parsed = parse(python_fixture(samples, "order.json").read_bytes(), order_key="name")
    assert parsed.rows["orders"][0]["order_id"] == "#1001"
    assert {line["order_id"] for line in parsed.rows["order_lines"]} == {"#1001"}


def test_an_unknown_order_key_is_refused(samples: Path) -> None:
    with pytest.raises(ConnectorError, match="order_key must be 'id' or 'name', not 'number'"):
        parse(python_fixture(samples, "order.json").read_bytes(), order_key="number")


def test_orders_list_from_the_python_fixture(samples: Path) -> None:
    parsed = parse(python_fixture(samples, "orders.json").read_bytes(), "orders.json")
    (order,) = parsed.rows["orders"]
    assert order["order_id"] == "450789469"
    assert order["order_value"] == "598.94"
    assert order["ship_to_postal"] == "40202"
    # This listing carries no source_name, shipping_lines nor line_items: not supplied.
    assert "channel" not in order
    assert "service_level" not in order
    assert "order_lines" not in parsed.rows


def test_fulfillment_fixture_is_pending_so_no_shipment(samples: Path) -> None:
    parsed = parse(python_fixture(samples, "fulfillment.json").read_bytes())
    assert parsed.count() == 0
    assert parsed.notes == [
        "1 fulfillment(s) not read as shipments because their status is not success: "
        "255858046 ('pending')"
    ]


def test_successful_fulfillment_becomes_a_brand_shipment(samples: Path) -> None:
    doc = json.loads(python_fixture(samples, "fulfillment.json").read_text())
    doc["fulfillment"]["status"] = "success"
    item = copy.deepcopy(doc["fulfillment"]["line_items"][0])
    item["quantity"] = 2
    doc["fulfillment"]["line_items"].append(item)  # the same sku twice: quantities summed
    parsed = parse(json.dumps(doc), "fulfillment.json")
    assert parsed.rows["shipments"] == [
        {
            "shipment_id": "255858046",
            "order_id": "450789469",
            "provider_id": "brand",
            "facility_id": "brand",
            "shipped_at": "2013-11-01T16:06:08-04:00",
            "carrier": "null-company",
            "service": "manual",
            "tracking_number": "1Z2345",
        }
    ]
    assert parsed.rows["shipment_lines"] == [
        {"shipment_id": "255858046", "sku": "IPOD2008GREEN", "qty": "3"}
    ]
    assert parsed.positions["shipments"] == [Position(1, "fulfillment 1 (255858046)")]


def test_shipment_provider_and_facility_settings(samples: Path) -> None:
    doc = json.loads(python_fixture(samples, "fulfillment.json").read_text())
    doc["fulfillment"]["status"] = None
    doc["fulfillment"]["location_id"] = 905684977
    data = json.dumps(doc).encode()
    by_location = SHOPIFY.parse(data, ParseOptions())
    assert by_location.rows["shipments"][0]["facility_id"] == "905684977"
    configured = SHOPIFY.parse(
        data, ParseOptions(settings={"self_provider": "own-dc", "facility": "ATL1"})
    )
    assert configured.rows["shipments"][0]["provider_id"] == "own-dc"
    assert configured.rows["shipments"][0]["facility_id"] == "ATL1"
    provider = SHOPIFY.parse(data, ParseOptions(provider_id="acme-3pl"))
    assert provider.rows["shipments"][0]["provider_id"] == "acme-3pl"


# -- the Ruby API fixtures ------------------------------------------------------------------


def test_ruby_order_and_orders(samples: Path) -> None:
    for name in ("order.json", "orders.json"):
        parsed = parse(ruby_fixture(samples, name).read_bytes(), name)
        (order,) = parsed.rows["orders"]
        assert order["order_id"] == "450789469"
        assert order["placed_at"] == "2008-01-10T11:00:00-05:00"
        assert order["order_value"] == "409.94"
        assert order["service_level"] == "Free Shipping"
        assert [line["sku"] for line in parsed.rows["order_lines"]] == [
            "IPOD2008GREEN",
            "IPOD2008RED",
            "IPOD2008BLACK",
        ]
        assert "shipments" not in parsed.rows  # the fulfillment failed


def test_ruby_fulfillments_array(samples: Path) -> None:
    raw = ruby_fixture(samples, "fulfillments.json").read_bytes()
    parsed = parse(raw)
    assert parsed.count() == 0
    assert "255858046 ('failure')" in parsed.notes[0]
    doc = json.loads(raw)
    doc[0]["status"] = "success"
    shipped = parse(json.dumps(doc))
    assert shipped.rows["shipments"][0]["shipped_at"] == "2014-03-07T16:14:08-05:00"
    assert shipped.rows["shipments"][0]["carrier"] is None
    assert shipped.rows["shipment_lines"] == [
        {"shipment_id": "255858046", "sku": "IPOD2008GREEN", "qty": "1"}
    ]


@pytest.mark.parametrize(
    "name",
    ["fulfillment_order.json", "fulfillment_orders.json", "assigned_fulfillment_orders.json"],
)
def test_fulfillment_orders_are_not_read_as_orders(samples: Path, name: str) -> None:
    raw = ruby_fixture(samples, name).read_bytes()
    assert not SHOPIFY.sniff(raw[:65536], name)
    with pytest.raises(ConnectorError, match="not a"):
        parse(raw, name)


def test_cancelled_fulfillment_inside_an_order_is_noted(samples: Path) -> None:
    doc = json.loads(ruby_fixture(samples, "order.json").read_text())
    doc["order"]["fulfillments"][0]["status"] = "cancelled"
    parsed = parse(json.dumps(doc))
    assert "shipments" not in parsed.rows
    assert parsed.notes[-1].endswith("255858046 ('cancelled')")


# -- Airbyte records of a real test store ----------------------------------------------------


def test_airbyte_records(samples: Path) -> None:
    parsed = parse((samples / "shopify" / AIRBYTE).read_bytes(), AIRBYTE)
    check_cells(parsed)
    orders = {row["order_id"]: row for row in parsed.rows["orders"]}
    assert set(orders) == {"5010584895677", "5010585911485", "4554821468349"}
    assert orders["4554821468349"] == {
        "order_id": "4554821468349",
        "placed_at": "2022-06-15T05:16:53-07:00",
        "channel": "web",
        "ship_to_country": None,
        "ship_to_postal": None,
        "service_level": None,
        "order_value": "57.23",
        "currency": "USD",
        "cancelled_at": None,
    }
    assert orders["5010584895677"]["channel"] == "shopify_draft_order"
    assert orders["5010584895677"]["order_value"] == "102.0"  # a JSON number, kept exact
    assert parsed.positions["orders"] == [Position.line(70), Position.line(71), Position.line(72)]
    # The store's skus are empty: the variant id stands in, and a note says so.
    assert parsed.rows["order_lines"][2] == {
        "order_id": "4554821468349",
        "line_no": "1",
        "sku": "40090597884093",
        "qty": "1",
        "unit_price": "59.0",
    }
    assert any("without a sku: the variant_id is used" in note for note in parsed.notes)
    # Each fulfillment appears twice (its stream and inside its order): one shipment each.
    shipments = {row["shipment_id"]: row for row in parsed.rows["shipments"]}
    assert set(shipments) == {"4451164913853", "4451169501373", "4075788501181"}
    assert shipments["4075788501181"] == {
        "shipment_id": "4075788501181",
        "order_id": "4554821468349",
        "provider_id": "brand",
        "facility_id": "63590301885",
        "shipped_at": "2022-06-15T05:16:55-07:00",
        "carrier": None,
        "service": "manual",
        "tracking_number": None,
    }
    assert {"shipment_id": "4075788501181", "sku": "40090597884093", "qty": "1"} in parsed.rows[
        "shipment_lines"
    ]
    assert len(parsed.rows["shipment_lines"]) == 3
    assert parsed.positions["shipments"][2] == Position.line(27)
    other = [note for note in parsed.notes if note.startswith("ignored")]
    assert len(other) == 1
    assert other[0].startswith("ignored 95 record(s) of other streams: articles 3, blogs 2,")
    assert parsed.rejects == []
    assert parsed.summary == "Shopify JSON Lines: 3 orders, 3 fulfillments, 95 other record(s)"


def test_airbyte_with_order_names(samples: Path) -> None:
    parsed = parse((samples / "shopify" / AIRBYTE).read_bytes(), AIRBYTE, order_key="name")
    assert [row["order_id"] for row in parsed.rows["orders"]] == ["#1143", "#1144", "#1136"]
    # The fulfillments stream names its order only as "#1136.1".
    assert {row["order_id"] for row in parsed.rows["shipments"]} == {"#1143", "#1144", "#1136"}


def test_jsonl_bad_line_is_rejected_and_the_rest_read(samples: Path) -> None:
    lines = (samples / "shopify" / AIRBYTE).read_text().splitlines()
    orders = [line for line in lines if line.startswith('{"stream": "orders"')]
    text = "\n".join([orders[0], '{"stream": "orders", "data": {"id"', orders[1]])
    parsed = parse(text, "records.jsonl")
    assert len(parsed.rows["orders"]) == 2
    assert reasons(parsed) == [
        (
            None,
            "line 2",
            "line 2 is not valid JSON (Expecting ':' delimiter at column 35)",
        )
    ]


# -- bad values ------------------------------------------------------------------------------


def small_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": 820982911946154508,
        "name": "#1017",
        "created_at": "2024-05-01T09:30:00-04:00",
        "currency": "usd",
        "total_price": "45.50",
        "source_name": "web",
        "line_items": [
            {"id": 1, "sku": "MUG-BLU", "variant_id": 11, "quantity": 2, "price": "18.00"},
            {"id": 2, "sku": "TOWEL-01", "variant_id": 12, "quantity": 1, "price": "9.50"},
        ],
    }
    order.update(changes)
    return order


def test_missing_id_rejects_the_order() -> None:
    order = small_order()
    del order["id"]
    parsed = parse(json.dumps(order))
    assert reasons(parsed) == [("orders", "order 1 (#1017)", "id is missing")]
    assert parsed.count() == 0
    assert json.loads(parsed.rejects[0].record or "")["name"] == "#1017"


def test_unparseable_date_rejects_the_order() -> None:
    parsed = parse(json.dumps(small_order(created_at="yesterday")))
    assert reasons(parsed) == [
        ("orders", "order 1 (#1017)", "created_at 'yesterday' is not a date and time")
    ]
    cancelled = parse(json.dumps(small_order(cancelled_at="2024-13-01T00:00:00Z")))
    assert cancelled.rejects[0].reason == (
        "cancelled_at '2024-13-01T00:00:00Z' is not a date and time"
    )


def test_non_numeric_quantity_rejects_the_line_only() -> None:
    order = small_order()
    order["line_items"][1]["quantity"] = "two"
    parsed = parse(json.dumps(order))
    assert reasons(parsed) == [
        (
            "order_lines",
            "order 1 (#1017), line item 2",
            "line item 2 quantity 'two' is not a whole number",
        )
    ]
    assert parsed.rows["orders"][0]["currency"] == "USD"
    assert [line["sku"] for line in parsed.rows["order_lines"]] == ["MUG-BLU"]


def test_line_without_sku_or_variant_and_a_bad_price() -> None:
    order = small_order()
    order["line_items"][0].update(sku="", variant_id=None)
    order["line_items"][1]["price"] = "9,50"
    parsed = parse(json.dumps(order))
    assert [r[2] for r in reasons(parsed)] == [
        "line item 1 has no sku and no variant_id",
        "line item 2 price '9,50' is not an amount",
    ]


def test_money_is_exact_even_from_json_numbers() -> None:
    text = json.dumps(small_order(total_price="X")).replace('"X"', "1234567.105")
    parsed = parse(text)
    assert parsed.rows["orders"][0]["order_value"] == "1234567.105"


def test_promised_delivery_date_from_a_note_attribute() -> None:
    attributes = [
        {"name": "gift note", "value": "Happy birthday"},
        {"name": "Delivery-Date", "value": "2024-05-07"},
    ]
    parsed = parse(json.dumps(small_order(note_attributes=attributes)))
    assert parsed.rows["orders"][0]["promised_delivery_date"] == "2024-05-07"
    unreadable = [{"name": "delivery_date", "value": "next Tuesday"}]
    noted = parse(json.dumps(small_order(note_attributes=unreadable)))
    assert "promised_delivery_date" not in noted.rows["orders"][0]
    assert noted.notes == [
        "1 promised delivery date(s) not read (not a date): order 1 (#1017): "
        "note attribute 'delivery_date' 'next Tuesday'"
    ]
    field = parse(json.dumps(small_order(estimated_delivery_at="2024-05-09T18:00:00-04:00")))
    assert field.rows["orders"][0]["promised_delivery_date"] == "2024-05-09"


def test_not_shopify_json_is_a_connector_error(samples: Path) -> None:
    woo = samples / "woocommerce" / "woocommerce_docs_order_example.EXTRACTED.json"
    with pytest.raises(ConnectorError, match=r"woo\.json: not a Shopify order or fulfillment"):
        parse(woo.read_bytes(), "woo.json")
    with pytest.raises(ConnectorError, match=r"x\.json: not valid JSON"):
        parse(b'{"order": ', "x.json")
    with pytest.raises(ConnectorError, match=r"x\.json: empty"):
        parse(b"  \n", "x.json")
    with pytest.raises(ConnectorError, match="not UTF-8"):
        parse(b'{"order": "\xff"}', "x.json")


# -- the admin's orders CSV export ----------------------------------------------------------

# The header of Shopify's orders export (Orders, Export, "CSV for Excel, Numbers, or other
# spreadsheet programs"), column for column.
EXPORT_HEADER_LINE = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,"
    "Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
    "Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,"
    "Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,"
    "Billing City,Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,"
    "Shipping Street,Shipping Address1,Shipping Address2,Shipping Company,Shipping City,"
    "Shipping Zip,Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,"
    "Cancelled at,Payment Method,Payment Reference,Refunded Amount,Vendor,"
    "Outstanding Balance,Employee,Location,Device ID,Id,Tags,Risk Level,Source,"
    "Lineitem discount,Tax 1 Name,Tax 1 Value,Tax 2 Name,Tax 2 Value,Tax 3 Name,Tax 3 Value,"
    "Tax 4 Name,Tax 4 Value,Tax 5 Name,Tax 5 Value,Phone,Receipt Number,Duties,"
    "Billing Province Name,Shipping Province Name,Payment ID,Payment Terms Name,"
    "Next Payment Due At,Payment References"
)
EXPORT_HEADER = next(csv.reader([EXPORT_HEADER_LINE]))

FIRST_1001 = {
    "Name": "#1001",
    "Email": "ana.ruiz@example.com",
    "Financial Status": "paid",
    "Paid at": "2024-03-05 14:05:10 -0500",
    "Fulfillment Status": "unfulfilled",
    "Accepts Marketing": "no",
    "Currency": "USD",
    "Subtotal": "54.00",
    "Shipping": "5.00",
    "Taxes": "3.38",
    "Total": "62.38",
    "Discount Amount": "0.00",
    "Shipping Method": "Standard Shipping",
    "Created at": "2024-03-05 14:03:22 -0500",
    "Lineitem quantity": "2",
    "Lineitem name": "Ceramic Mug - Blue",
    "Lineitem price": "18.00",
    "Lineitem sku": "MUG-BLU",
    "Lineitem requires shipping": "true",
    "Lineitem taxable": "true",
    "Lineitem fulfillment status": "pending",
    "Billing Name": "Ana Ruiz",
    "Billing Street": "12 Elm St",
    "Billing Address1": "12 Elm St",
    "Billing City": "Boston",
    "Billing Zip": "'02134",
    "Billing Province": "MA",
    "Billing Country": "US",
    "Shipping Name": "Ana Ruiz",
    "Shipping Street": "12 Elm St",
    "Shipping Address1": "12 Elm St",
    "Shipping City": "Boston",
    "Shipping Zip": "'02134",
    "Shipping Province": "MA",
    "Shipping Country": "US",
    "Note Attributes": "gift wrap: yes\ndelivery date: 2024-03-12",
    "Payment Method": "Shopify Payments",
    "Payment Reference": "c29385749381.1",
    "Refunded Amount": "0.00",
    "Vendor": "Northwind Ceramics",
    "Outstanding Balance": "0.00",
    "Id": "5530018332981",
    "Risk Level": "Low",
    "Source": "web",
    "Lineitem discount": "0.00",
    "Tax 1 Name": "MA State Tax 6.25%",
    "Tax 1 Value": "3.38",
    "Billing Province Name": "Massachusetts",
    "Shipping Province Name": "Massachusetts",
    "Payment ID": "c29385749381.1",
    "Payment References": "c29385749381.1",
}
SECOND_1001 = {
    "Name": "#1001",
    "Email": "ana.ruiz@example.com",
    "Lineitem quantity": "1",
    "Lineitem name": "Linen Tea Towel",
    "Lineitem price": "18.00",
    "Lineitem sku": "TOWEL-01",
    "Lineitem requires shipping": "true",
    "Lineitem taxable": "true",
    "Lineitem fulfillment status": "pending",
    "Vendor": "Northwind Ceramics",
    "Lineitem discount": "0.00",
}
FIRST_1002 = {
    "Name": "#1002",
    "Email": "li.wei@example.com",
    "Financial Status": "voided",
    "Fulfillment Status": "unfulfilled",
    "Accepts Marketing": "yes",
    "Currency": "CAD",
    "Subtotal": "25.00",
    "Shipping": "0.00",
    "Taxes": "0.00",
    "Total": "25.00",
    "Shipping Method": "Express",
    "Created at": "2024-03-06 08:40:51 -0500",
    "Lineitem quantity": "1",
    "Lineitem name": "Ceramic Mug - Red",
    "Lineitem price": "25.00",
    "Lineitem sku": "MUG-RED",
    "Lineitem requires shipping": "true",
    "Lineitem taxable": "true",
    "Lineitem fulfillment status": "pending",
    "Shipping Name": "Li Wei",
    "Shipping City": "Toronto",
    "Shipping Zip": "M5V 2T6",
    "Shipping Province": "ON",
    "Shipping Country": "CA",
    "Cancelled at": "2024-03-06 09:12:00 -0500",
    "Id": "5530019250485",
    "Source": "shopify_draft_order",
}


def export_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_HEADER, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def test_orders_export() -> None:
    text = export_csv([FIRST_1001, SECOND_1001, FIRST_1002])
    parsed = parse(text.encode("utf-8-sig"), "orders_export_1.csv")
    check_cells(parsed)
    assert parsed.rows["orders"] == [
        {
            "order_id": "5530018332981",
            "placed_at": "2024-03-05T14:03:22-05:00",
            "channel": "web",
            "ship_to_country": "US",
            "ship_to_postal": "02134",
            "service_level": "Standard Shipping",
            "promised_delivery_date": "2024-03-12",
            "order_value": "62.38",
            "currency": "USD",
            "cancelled_at": None,
        },
        {
            "order_id": "5530019250485",
            "placed_at": "2024-03-06T08:40:51-05:00",
            "channel": "shopify_draft_order",
            "ship_to_country": "CA",
            "ship_to_postal": "M5V 2T6",
            "service_level": "Express",
            "order_value": "25.00",
            "currency": "CAD",
            "cancelled_at": "2024-03-06T09:12:00-05:00",
        },
    ]
    assert parsed.rows["order_lines"] == [
        {"order_id": "5530018332981", "line_no": "1", "sku": "MUG-BLU", "qty": "2",
         "unit_price": "18.00"},
        {"order_id": "5530018332981", "line_no": "2", "sku": "TOWEL-01", "qty": "1",
         "unit_price": "18.00"},
        {"order_id": "5530019250485", "line_no": "1", "sku": "MUG-RED", "qty": "1",
         "unit_price": "25.00"},
    ]  # fmt: skip
    # The Note Attributes cell spans two lines: the rows after it start one line later.
    assert parsed.positions["orders"] == [Position.line(2), Position.line(5)]
    assert parsed.positions["order_lines"][1] == Position.line(4)
    assert parsed.rejects == []
    assert parsed.summary == "Shopify orders export: 2 orders"


def test_orders_export_keyed_by_name() -> None:
    parsed = parse(export_csv([FIRST_1001, SECOND_1001]), "orders.csv", order_key="name")
    assert parsed.rows["orders"][0]["order_id"] == "#1001"
    assert [line["order_id"] for line in parsed.rows["order_lines"]] == ["#1001", "#1001"]


def test_orders_export_bad_values() -> None:
    bad_quantity = dict(SECOND_1001, **{"Lineitem quantity": "two"})
    no_sku = dict(FIRST_1002, **{"Lineitem sku": ""})
    parsed = parse(export_csv([FIRST_1001, bad_quantity, no_sku]), "orders.csv")
    assert reasons(parsed) == [
        ("order_lines", "line 4", "Lineitem quantity 'two' is not a whole number"),
        (
            "order_lines",
            "line 5",
            "Lineitem sku is empty (Lineitem name 'Ceramic Mug - Red')",
        ),
    ]
    assert len(parsed.rows["orders"]) == 2
    bad_date = dict(FIRST_1001, **{"Created at": "05/03/2024 2:03 PM"})
    rejected = parse(export_csv([bad_date, SECOND_1001]), "orders.csv")
    assert rejected.count() == 0
    assert reasons(rejected) == [
        ("orders", "line 2", "Created at '05/03/2024 2:03 PM' is not a date and time"),
        ("order_lines", "line 4", "belongs to order #1001, which was rejected at line 2"),
    ]
    assert rejected.rejects[0].record is not None
    assert rejected.rejects[0].record.startswith("#1001,ana.ruiz@example.com,paid,")


def test_orders_export_saved_as_windows_1252() -> None:
    row = dict(FIRST_1001, **{"Shipping Method": "Envío estándar"})
    parsed = parse(export_csv([row]).encode("cp1252"), "orders.csv")
    assert parsed.rows["orders"][0]["service_level"] == "Envío estándar"
    assert parsed.notes == ["the file is not UTF-8: read as Windows-1252"]


def test_orders_export_without_the_needed_columns() -> None:
    with pytest.raises(ConnectorError, match="lacks Created at, Lineitem quantity"):
        parse("Name,Email,Financial Status,Lineitem sku\n#1,a@b.c,paid,X\n", "orders.csv")


# -- webhooks --------------------------------------------------------------------------------


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_verify_webhook(samples: Path) -> None:
    body = python_fixture(samples, "order.json").read_bytes()
    secret = "shpss_4f1c0ffee"
    header = sign(body, secret)
    assert verify_webhook(body, header, secret)
    assert verify_webhook(body, f" {header}\n", secret)
    assert not verify_webhook(body, header, "another-secret")
    assert not verify_webhook(body, None, secret)
    assert not verify_webhook(body, "", secret)
    assert not verify_webhook(body, "not base64 at all ✓", secret)
    assert not verify_webhook(body, header, "")
    changed = bytearray(body)
    changed[100] ^= 0x01
    assert not verify_webhook(bytes(changed), header, secret)


def test_parse_webhook_orders_create(samples: Path) -> None:
    body = json.dumps(json.loads(python_fixture(samples, "order.json").read_text())["order"])
    parsed = parse_webhook(body.encode(), "orders/create", ParseOptions())
    assert parsed.summary == "orders/create webhook"
    assert parsed.rows["orders"][0]["order_id"] == "450789469"
    assert len(parsed.rows["order_lines"]) == 3


def test_parse_webhook_fulfillment_and_cancellation() -> None:
    fulfillment = {
        "id": 4451164913853,
        "order_id": 5010584895677,
        "name": "#1143.1",
        "status": "success",
        "created_at": "2023-04-13T05:09:45-07:00",
        "location_id": 63590301885,
        "tracking_company": "UPS",
        "tracking_numbers": ["1Z999AA10123456784"],
        "tracking_number": "1Z999AA10123456784",
        "service": "manual",
        "line_items": [{"sku": "CANDLE-8OZ", "variant_id": 1, "quantity": 1}],
    }
    parsed = parse_webhook(json.dumps(fulfillment).encode(), "fulfillments/create")
    (shipment,) = parsed.rows["shipments"]
    assert shipment["carrier"] == "UPS"
    assert shipment["tracking_number"] == "1Z999AA10123456784"
    assert shipment["order_id"] == "5010584895677"
    assert parsed.positions["shipments"] == [Position(1, "fulfillment 1 (4451164913853)")]
    named = parse_webhook(
        json.dumps(fulfillment).encode(),
        "fulfillments/update",
        ParseOptions(settings={"order_key": "name"}),
    )
    assert named.rows["shipments"][0]["order_id"] == "#1143"
    cancelled = small_order(cancelled_at="2024-05-01T11:00:00-04:00")
    order = parse_webhook(json.dumps(cancelled).encode(), "orders/cancelled")
    assert order.rows["orders"][0]["cancelled_at"] == "2024-05-01T11:00:00-04:00"


def test_parse_webhook_refuses_other_topics_and_bodies() -> None:
    with pytest.raises(ConnectorError, match="topic 'products/create' is not read here"):
        parse_webhook(b"{}", "products/create")
    with pytest.raises(ConnectorError, match="orders/create webhook: the body is not valid JSON"):
        parse_webhook(b"{", "orders/create")
    with pytest.raises(ConnectorError, match="the body is not a JSON object"):
        parse_webhook(b"[1]", "orders/updated")


def test_order_payload_reads_back_to_the_same_values() -> None:
    payload = order_payload(
        "820982911946154508",
        "#1017",
        "2024-05-01T09:30:00-04:00",
        "USD",
        Decimal("45.5"),
        [("MUG-BLU", 2, Decimal("18.00")), ("TOWEL-01", 1, "9.5")],
        "US",
        "02134",
        "Standard",
    )
    assert payload["total_price"] == "45.50"
    parsed = parse(json.dumps(payload), "webhook.json")
    assert parsed.rows["orders"] == [
        {
            "order_id": "820982911946154508",
            "placed_at": "2024-05-01T09:30:00-04:00",
            "channel": "web",
            "ship_to_country": "US",
            "ship_to_postal": "02134",
            "service_level": "Standard",
            "order_value": "45.50",
            "currency": "USD",
            "cancelled_at": None,
        }
    ]
    assert parsed.rows["order_lines"] == [
        {"order_id": "820982911946154508", "line_no": "1", "sku": "MUG-BLU", "qty": "2",
         "unit_price": "18.00"},
        {"order_id": "820982911946154508", "line_no": "2", "sku": "TOWEL-01", "qty": "1",
         "unit_price": "9.50"},
    ]  # fmt: skip
    assert parsed.rejects == []
    assert parsed.notes == []
    assert SHOPIFY.sniff(json.dumps(payload).encode(), "webhook.json")
    cancelled = order_payload(
        "A-77", "#1018", "2024-05-02T10:00:00Z", "EUR", "10.00", [("X", 1, "10.00")],
        None, None, None, cancelled_at="2024-05-02T12:00:00Z",
    )  # fmt: skip
    body = json.dumps(cancelled).encode()
    (order,) = parse_webhook(body, "orders/cancelled").rows["orders"]
    assert order["order_id"] == "A-77"
    assert order["cancelled_at"] == "2024-05-02T12:00:00+00:00"
    assert order["ship_to_country"] is None
    assert order["service_level"] is None


# -- fuzz ------------------------------------------------------------------------------------

KEYS = st.sampled_from(
    [
        "id", "name", "order", "orders", "fulfillment", "fulfillments", "line_items", "sku",
        "variant_id", "quantity", "price", "created_at", "cancelled_at", "total_price",
        "currency", "shipping_address", "shipping_lines", "country_code", "zip", "title",
        "note_attributes", "value", "status", "order_id", "tracking_numbers", "stream", "data",
        "location_id", "source_name",
    ]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["2024-05-01T09:30:00Z", "#1001", "orders", "success", "1e9999", ""])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=4),
                                                                inner, max_size=6),
    max_leaves=30,
)  # fmt: skip


def run(data: bytes, source: str = "fuzz.json") -> None:
    try:
        parsed = SHOPIFY.parse(data, ParseOptions(source=source))
    except ConnectorError:
        return
    check_cells(parsed)
    for reject in parsed.rejects:
        assert reject.reason


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_VALUES)
def test_fuzz_random_json_shapes(doc: Any) -> None:
    text = json.dumps(doc)
    run(text.encode())
    run(text.encode(), "fuzz.jsonl")
    run(json.dumps({"order": doc}).encode())
    run(json.dumps({"stream": "orders", "data": doc}).encode())
    try:
        parsed = parse_webhook(text.encode(), "orders/updated")
    except ConnectorError:
        return
    check_cells(parsed)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fuzz_mangled_fixture_values(samples: Path, data: st.DataObject) -> None:
    order = json.loads(ruby_fixture(samples, "order.json").read_text())["order"]
    holders = [order, order["line_items"][0], order["fulfillments"][0]]
    for _ in range(data.draw(st.integers(1, 4))):
        holder = data.draw(st.sampled_from(holders))
        holder[data.draw(KEYS)] = data.draw(JSON_VALUES)
    run(json.dumps(order, default=str).encode())


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_fuzz_truncated_and_flipped_bytes(samples: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(["order.json", "fulfillment.json", "orders.json"]))
    raw = python_fixture(samples, name).read_bytes()
    cut = raw[: data.draw(st.integers(0, len(raw)))]
    run(cut)
    if raw:
        position = data.draw(st.integers(0, len(raw) - 1))
        flipped = bytearray(raw)
        flipped[position] = data.draw(st.integers(0, 255))
        run(bytes(flipped))
    run(data.draw(st.binary(max_size=200)))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_fuzz_jsonl_and_export(samples: Path, data: st.DataObject) -> None:
    lines = (samples / "shopify" / AIRBYTE).read_bytes().split(b"\n")[20:30]
    mixed = [line[: data.draw(st.integers(0, len(line)))] for line in lines]
    run(b"\n".join(mixed), "records.jsonl")
    row = dict(FIRST_1001)
    for column in data.draw(st.lists(st.sampled_from(EXPORT_HEADER), max_size=5)):
        row[column] = data.draw(st.text(max_size=20))
    text = export_csv([row, SECOND_1001])
    run(text.encode(), "orders.csv")
    run(text.encode()[: data.draw(st.integers(0, len(text)))], "orders.csv")


def test_deep_nesting_and_huge_numbers_are_refused_not_crashing() -> None:
    run(b"[" * 100000 + b"]" * 100000)
    run(("\n".join(["[" * 50000] * 3)).encode(), "deep.jsonl")
    huge = json.dumps(small_order(total_price="X")).replace('"X"', "1e999999999")
    parsed = parse(huge)
    assert parsed.rejects[0].reason == "total_price 1E+999999999 is not an amount"
    nan = json.dumps(small_order()).replace('"45.50"', "NaN")
    with pytest.raises(ConnectorError, match="not valid JSON"):
        parse(nan)
