"""Canonical records, kinds and money."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyclerk.domain import (
    KINDS,
    ChargeType,
    CurrencyMismatchError,
    FeedbackTag,
    Money,
    Order,
    ReturnReason,
    TrackingStatus,
    kind,
)

DESIGN_COLUMNS = {
    "products": "sku, name, unit_cost, weight_kg, units_per_pallet",
    "orders": "order_id, placed_at, channel, ship_to_country, ship_to_postal, service_level, "
    "promised_delivery_date, order_value, currency, cancelled_at",
    "order_lines": "order_id, line_no, sku, qty, unit_price",
    "releases": "order_id, provider_id, facility_id, released_at",
    "shipments": "shipment_id, order_id, provider_id, facility_id, shipped_at, carrier, service, "
    "tracking_number, packaging, weight_kg, shipping_cost",
    "shipment_lines": "shipment_id, sku, qty",
    "tracking_events": "tracking_number, carrier, status, occurred_at, location",
    "inventory_snapshots": "provider_id, facility_id, as_of, sku, on_hand, available, damaged",
    "receipts": "receipt_id, provider_id, facility_id, asn_id, sku, expected_qty, received_qty, "
    "arrived_at, stocked_at",
    "adjustments": "adjustment_id, provider_id, facility_id, sku, qty_delta, occurred_at, reason, "
    "approved",
    "returns": "return_id, order_id, provider_id, facility_id, sku, qty, reason, received_at, "
    "processed_at, disposition",
    "invoice_lines": "invoice_id, line_no, provider_id, invoice_date, period_start, period_end, "
    "charge_type, reference, quantity, unit_rate, amount, currency",
    "feedback": "feedback_id, order_id, channel, received_at, score, tags, text",
    "audits": "audit_id, provider_id, facility_id, order_id, audited_at, checklist_item, passed, "
    "note",
}


def test_the_fourteen_kinds_have_exactly_the_design_columns_in_order() -> None:
    assert [k.name for k in KINDS] == list(DESIGN_COLUMNS)
    for k in KINDS:
        assert ", ".join(k.column_names) == DESIGN_COLUMNS[k.name]
        record_fields = [f.name for f in dataclasses.fields(k.record_type)]
        assert record_fields == list(k.column_names), k.name
        assert k.column_names[0] == k.key[0], "the key comes first"


def test_vocabularies_match_the_design() -> None:
    assert [s.value for s in TrackingStatus] == [
        "label_created",
        "in_transit",
        "out_for_delivery",
        "delivered",
        "exception",
        "returned_to_sender",
    ]
    assert {r.value for r in ReturnReason} == {
        "wrong_item",
        "missing_item",
        "damaged",
        "defective",
        "late",
        "no_longer_needed",
        "other",
    }
    assert {t.value for t in FeedbackTag} == {
        "late",
        "damaged",
        "wrong_item",
        "missing_item",
        "packaging",
    }
    assert {c.value for c in ChargeType} == {
        "pick_pack",
        "additional_unit",
        "packaging",
        "storage",
        "receiving",
        "returns",
        "shipping",
        "other",
    }
    assert kind("tracking_events").column("status").vocabulary == tuple(
        s.value for s in TrackingStatus
    )


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known kinds: products, orders"):
        kind("shipment")


def test_records_refuse_naive_timestamps() -> None:
    with pytest.raises(ValueError, match="placed_at must carry a time zone"):
        Order("o1", datetime(2026, 3, 1, 10, 0))
    order = Order(
        "o1", datetime(2026, 3, 1, 10, 0, tzinfo=UTC), order_value=Decimal("9.99"), currency="usd"
    )
    assert order.value == Money(Decimal("9.99"), "USD")


def test_money_refuses_floats_and_mixed_currencies() -> None:
    with pytest.raises(TypeError):
        Money(0.1, "USD")  # type: ignore[arg-type]
    with pytest.raises(CurrencyMismatchError):
        _ = Money.of("1", "USD") + Money.of("1", "EUR")
    with pytest.raises(ValueError, match="three-letter"):
        Money.of("1", "DOLLARS")
    assert str(Money.of("1234.5", "usd")) == "1,234.50 USD"
    assert Money.of("0.125", "USD").rounded().amount == Decimal("0.12")
    assert Money.of("0.135", "USD").rounded().amount == Decimal("0.14")


amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False)


@given(amounts, amounts, amounts)
def test_money_addition_is_exact_and_associative(a: Decimal, b: Decimal, c: Decimal) -> None:
    x, y, z = (Money(v, "EUR") for v in (a, b, c))
    assert (x + y) + z == x + (y + z)
    assert (x + y - y) == x
    assert (x * 3).amount == a * 3
