"""Building Shopify-shaped order objects (Admin REST / webhook shape) from plain values."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

_CENT = Decimal("0.01")


def _money(value: Decimal | str | int) -> str:
    """Shopify's money text: at least two decimals, never rounded."""
    number = Decimal(str(value))
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        number = number.quantize(_CENT)
    return format(number, "f")


def _time(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else value


def _number(value: str) -> int | str:
    """An id as Shopify writes it: a JSON number when the text is one (without a leading 0)."""
    plain = value.isdigit() and len(value) < 19 and (value == "0" or not value.startswith("0"))
    return int(value) if plain else value


def order_payload(
    order_id: str | int,
    name: str,
    created_at: datetime | str,
    currency: str,
    total_price: Decimal | str | int,
    lines: Sequence[tuple[str, int, Decimal | str | int]],
    shipping_country: str | None,
    shipping_zip: str | None,
    service_level: str | None,
    cancelled_at: datetime | str | None = None,
) -> dict[str, Any]:
    """A Shopify order object (as an orders/create webhook body) with the given values.

    `lines` holds (sku, quantity, unit price) per line item. The result serializes with
    `json.dumps` (amounts are strings, as Shopify writes them) and reads back through the
    Shopify connector to the same canonical values.
    """
    ident = _number(str(order_id))
    created = _time(created_at)
    cancelled = _time(cancelled_at)
    items: list[dict[str, Any]] = []
    subtotal = Decimal(0)
    for number, (sku, quantity, price) in enumerate(lines, 1):
        line_id = zlib.crc32(f"{order_id}/{number}".encode()) + 10**12
        subtotal += Decimal(str(price)) * quantity
        items.append(
            {
                "id": line_id,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
                "fulfillable_quantity": 0 if cancelled else quantity,
                "fulfillment_service": "manual",
                "fulfillment_status": None,
                "gift_card": False,
                "grams": 0,
                "name": sku,
                "price": _money(price),
                "product_exists": True,
                "product_id": None,
                "properties": [],
                "quantity": quantity,
                "requires_shipping": True,
                "sku": sku,
                "taxable": True,
                "title": sku,
                "total_discount": "0.00",
                "variant_id": None,
                "variant_title": None,
                "vendor": None,
                "tax_lines": [],
                "discount_allocations": [],
            }
        )
    address = None
    if shipping_country is not None or shipping_zip is not None:
        address = {
            "first_name": None,
            "last_name": None,
            "address1": None,
            "address2": None,
            "city": None,
            "company": None,
            "province": None,
            "province_code": None,
            "country": None,
            "country_code": shipping_country,
            "zip": shipping_zip,
            "phone": None,
            "name": None,
        }
    shipping_lines = []
    if service_level:
        shipping_lines.append(
            {
                "id": zlib.crc32(f"{order_id}/shipping".encode()) + 10**12,
                "code": service_level,
                "title": service_level,
                "price": "0.00",
                "source": "shopify",
                "discounted_price": "0.00",
                "carrier_identifier": None,
                "tax_lines": [],
            }
        )
    digits = name.lstrip("#")
    return {
        "id": ident,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": name,
        "order_number": int(digits) if digits.isdigit() and len(digits) < 19 else None,
        "email": "",
        "created_at": created,
        "updated_at": cancelled or created,
        "processed_at": created,
        "cancelled_at": cancelled,
        "cancel_reason": "customer" if cancelled else None,
        "closed_at": cancelled,
        "confirmed": True,
        "currency": currency,
        "presentment_currency": currency,
        "financial_status": "voided" if cancelled else "paid",
        "fulfillment_status": None,
        "source_name": "web",
        "subtotal_price": _money(subtotal),
        "total_line_items_price": _money(subtotal),
        "total_discounts": "0.00",
        "total_tax": "0.00",
        "total_price": _money(total_price),
        "taxes_included": False,
        "test": False,
        "tags": "",
        "note": None,
        "note_attributes": [],
        "discount_codes": [],
        "line_items": items,
        "shipping_lines": shipping_lines,
        "shipping_address": address,
        "billing_address": address,
        "fulfillments": [],
        "refunds": [],
    }
