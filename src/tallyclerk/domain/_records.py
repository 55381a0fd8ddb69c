"""One typed record per canonical kind (DESIGN section 4).

Field names and order are the canonical CSV columns. Money fields are Decimal; the records
that carry a currency expose the amount as Money too. Timestamps are tz-aware datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from tallyclerk.domain._money import Money
from tallyclerk.domain._vocab import ChargeType, FeedbackTag, ReturnReason, TrackingStatus


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must carry a time zone, got naive {value.isoformat()}")


def check_aware(record: object) -> None:
    """Raise ValueError when a datetime field of `record` is naive."""
    for name in getattr(record, "__dataclass_fields__", {}):
        value = getattr(record, name)
        if isinstance(value, datetime):
            _require_aware(name, value)


@dataclass(frozen=True, slots=True)
class Product:
    """A stock-keeping unit the brand sells."""

    sku: str
    name: str | None = None
    unit_cost: Decimal | None = None
    weight_kg: float | None = None
    units_per_pallet: int | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """A customer order as placed in the store."""

    order_id: str
    placed_at: datetime
    channel: str | None = None
    ship_to_country: str | None = None
    ship_to_postal: str | None = None
    service_level: str | None = None
    promised_delivery_date: date | None = None
    order_value: Decimal | None = None
    currency: str | None = None
    cancelled_at: datetime | None = None

    def __post_init__(self) -> None:
        check_aware(self)

    @property
    def value(self) -> Money | None:
        """The order value with its currency, when both are known."""
        if self.order_value is None or self.currency is None:
            return None
        return Money(self.order_value, self.currency)


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One SKU and quantity of an order."""

    order_id: str
    line_no: int
    sku: str
    qty: int
    unit_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Release:
    """The hand-off of an order to a 3PL facility for fulfillment."""

    order_id: str
    provider_id: str
    facility_id: str
    released_at: datetime

    def __post_init__(self) -> None:
        check_aware(self)


@dataclass(frozen=True, slots=True)
class Shipment:
    """A parcel that left a 3PL facility for (part of) an order."""

    shipment_id: str
    order_id: str
    provider_id: str
    facility_id: str
    shipped_at: datetime
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    packaging: str | None = None
    weight_kg: float | None = None
    shipping_cost: Decimal | None = None

    def __post_init__(self) -> None:
        check_aware(self)


@dataclass(frozen=True, slots=True)
class ShipmentLine:
    """A SKU and quantity inside a shipment."""

    shipment_id: str
    sku: str
    qty: int


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    """A carrier scan of a parcel."""

    tracking_number: str
    carrier: str | None
    status: TrackingStatus
    occurred_at: datetime
    location: str | None = None

    def __post_init__(self) -> None:
        check_aware(self)


@dataclass(frozen=True, slots=True)
class InventorySnapshot:
    """What a 3PL says it holds of a SKU at a facility at a moment."""

    provider_id: str
    facility_id: str
    as_of: datetime
    sku: str
    on_hand: int
    available: int | None = None
    damaged: int | None = None

    def __post_init__(self) -> None:
        check_aware(self)


@dataclass(frozen=True, slots=True)
class Receipt:
    """Inbound stock: expected on an ASN, then received and put away."""

    receipt_id: str
    provider_id: str
    facility_id: str
    asn_id: str | None
    sku: str
    expected_qty: int | None = None
    received_qty: int | None = None
    arrived_at: datetime | None = None
    stocked_at: datetime | None = None

    def __post_init__(self) -> None:
        check_aware(self)


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A change of stock outside orders and receipts (cycle count, damage, found)."""

    adjustment_id: str
    provider_id: str
    facility_id: str
    sku: str
    qty_delta: int
    occurred_at: datetime
    reason: str | None = None
    approved: bool | None = None

    def __post_init__(self) -> None:
        check_aware(self)


@dataclass(frozen=True, slots=True)
class Return:
    """An item a customer sent back, as received and processed by a 3PL."""

    return_id: str
    order_id: str | None
    provider_id: str
    facility_id: str
    sku: str
    qty: int
    reason: ReturnReason | None
    received_at: datetime
    processed_at: datetime | None = None
    disposition: str | None = None

    def __post_init__(self) -> None:
        check_aware(self)


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One charge on a 3PL's invoice."""

    invoice_id: str
    line_no: int
    provider_id: str
    invoice_date: date | None
    period_start: date | None
    period_end: date | None
    charge_type: ChargeType
    reference: str | None
    quantity: Decimal | None
    unit_rate: Decimal | None
    amount: Decimal
    currency: str

    @property
    def amount_money(self) -> Money:
        """The billed amount with its currency."""
        return Money(self.amount, self.currency)


@dataclass(frozen=True, slots=True)
class Feedback:
    """What a customer said about an order (review, survey, support ticket)."""

    feedback_id: str
    order_id: str | None
    channel: str | None
    received_at: datetime
    score: int | None = None
    tags: tuple[FeedbackTag, ...] = ()
    text: str | None = None

    def __post_init__(self) -> None:
        check_aware(self)


@dataclass(frozen=True, slots=True)
class Audit:
    """One checklist item of a packaging or unboxing audit."""

    audit_id: str
    provider_id: str
    facility_id: str | None
    order_id: str | None
    audited_at: datetime
    checklist_item: str
    passed: bool
    note: str | None = None

    def __post_init__(self) -> None:
        check_aware(self)
