"""The catalogue of canonical kinds: columns, types, keys and references (DESIGN section 4).

Everything that reads or writes canonical data (the CSV reader, the store schema, the
exporters) works from this one description instead of repeating the columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tallyclerk.domain import _records as r
from tallyclerk.domain._vocab import ChargeType, FeedbackTag, ReturnReason, TrackingStatus


class ColumnType(Enum):
    """The logical type of a canonical column."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    FLOAT = "float"
    TIMESTAMP = "timestamp"
    DATE = "date"
    BOOLEAN = "boolean"
    CODE = "code"  # one value of a vocabulary
    TAGS = "tags"  # a ;-separated subset of a vocabulary
    CURRENCY = "currency"  # ISO 4217, upper case


@dataclass(frozen=True, slots=True)
class Column:
    """One canonical column and the rules its values obey."""

    name: str
    type: ColumnType = ColumnType.TEXT
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    vocabulary: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParentRef:
    """A reference that must resolve before a record may land (else: quarantine)."""

    column: str
    kind: str
    parent_column: str


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of canonical record: its file name, columns, natural key and references."""

    name: str
    record_type: type
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    parents: tuple[ParentRef, ...] = ()
    description: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        """The canonical columns in file order."""
        return tuple(c.name for c in self.columns)

    @property
    def value_columns(self) -> tuple[str, ...]:
        """The columns outside the natural key (what a later version may change)."""
        return tuple(c.name for c in self.columns if c.name not in self.key)

    def column(self, name: str) -> Column:
        """The column called `name`."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def has_facility(self) -> bool:
        """Whether naive timestamps of this kind are read in a facility's time zone."""
        return "facility_id" in self.column_names


T = ColumnType


def _text(name: str, *, required: bool = False) -> Column:
    return Column(name, T.TEXT, required=required)


def _count(name: str, *, required: bool = False, minimum: int | None = 0) -> Column:
    return Column(name, T.INTEGER, required=required, minimum=minimum)


def _money(name: str, *, required: bool = False, minimum: int | None = 0) -> Column:
    return Column(name, T.DECIMAL, required=required, minimum=minimum)


def _ts(name: str, *, required: bool = False) -> Column:
    return Column(name, T.TIMESTAMP, required=required)


def _codes(
    vocab: type[TrackingStatus | ReturnReason | FeedbackTag | ChargeType],
) -> tuple[str, ...]:
    return tuple(v.value for v in vocab)


_ORDER_REF = ParentRef("order_id", "orders", "order_id")

KINDS: tuple[Kind, ...] = (
    Kind(
        "products",
        r.Product,
        (
            _text("sku", required=True),
            _text("name"),
            _money("unit_cost"),
            Column("weight_kg", T.FLOAT, minimum=0),
            _count("units_per_pallet", minimum=1),
        ),
        key=("sku",),
        description="the brand's SKUs",
    ),
    Kind(
        "orders",
        r.Order,
        (
            _text("order_id", required=True),
            _ts("placed_at", required=True),
            _text("channel"),
            _text("ship_to_country"),
            _text("ship_to_postal"),
            _text("service_level"),
            Column("promised_delivery_date", T.DATE),
            _money("order_value"),
            Column("currency", T.CURRENCY),
            _ts("cancelled_at"),
        ),
        key=("order_id",),
        description="customer orders from the store",
    ),
    Kind(
        "order_lines",
        r.OrderLine,
        (
            _text("order_id", required=True),
            _count("line_no", required=True, minimum=1),
            _text("sku", required=True),
            _count("qty", required=True, minimum=1),
            _money("unit_price"),
        ),
        key=("order_id", "line_no"),
        parents=(_ORDER_REF,),
        description="the SKUs and quantities of each order",
    ),
    Kind(
        "releases",
        r.Release,
        (
            _text("order_id", required=True),
            _text("provider_id", required=True),
            _text("facility_id", required=True),
            _ts("released_at", required=True),
        ),
        key=("order_id",),
        description="orders handed to a 3PL facility",
    ),
    Kind(
        "shipments",
        r.Shipment,
        (
            _text("shipment_id", required=True),
            _text("order_id", required=True),
            _text("provider_id", required=True),
            _text("facility_id", required=True),
            _ts("shipped_at", required=True),
            _text("carrier"),
            _text("service"),
            _text("tracking_number"),
            _text("packaging"),
            Column("weight_kg", T.FLOAT, minimum=0),
            _money("shipping_cost"),
        ),
        key=("shipment_id",),
        description="parcels shipped by a 3PL",
    ),
    Kind(
        "shipment_lines",
        r.ShipmentLine,
        (
            _text("shipment_id", required=True),
            _text("sku", required=True),
            _count("qty", required=True, minimum=1),
        ),
        key=("shipment_id", "sku"),
        parents=(ParentRef("shipment_id", "shipments", "shipment_id"),),
        description="the SKUs and quantities in each shipment",
    ),
    Kind(
        "tracking_events",
        r.TrackingEvent,
        (
            _text("tracking_number", required=True),
            _text("carrier"),
            Column("status", T.CODE, required=True, vocabulary=_codes(TrackingStatus)),
            _ts("occurred_at", required=True),
            _text("location"),
        ),
        key=("tracking_number", "status", "occurred_at"),
        description="carrier scans",
    ),
    Kind(
        "inventory_snapshots",
        r.InventorySnapshot,
        (
            _text("provider_id", required=True),
            _text("facility_id", required=True),
            _ts("as_of", required=True),
            _text("sku", required=True),
            _count("on_hand", required=True),
            _count("available"),
            _count("damaged"),
        ),
        key=("provider_id", "facility_id", "as_of", "sku"),
        description="stock on hand as a 3PL reports it",
    ),
    Kind(
        "receipts",
        r.Receipt,
        (
            _text("receipt_id", required=True),
            _text("provider_id", required=True),
            _text("facility_id", required=True),
            _text("asn_id"),
            _text("sku", required=True),
            _count("expected_qty"),
            _count("received_qty"),
            _ts("arrived_at"),
            _ts("stocked_at"),
        ),
        key=("receipt_id", "sku"),
        description="inbound stock, expected and received",
    ),
    Kind(
        "adjustments",
        r.Adjustment,
        (
            _text("adjustment_id", required=True),
            _text("provider_id", required=True),
            _text("facility_id", required=True),
            _text("sku", required=True),
            _count("qty_delta", required=True, minimum=None),
            _ts("occurred_at", required=True),
            _text("reason"),
            Column("approved", T.BOOLEAN),
        ),
        key=("adjustment_id",),
        description="stock changes outside orders and receipts",
    ),
    Kind(
        "returns",
        r.Return,
        (
            _text("return_id", required=True),
            _text("order_id"),
            _text("provider_id", required=True),
            _text("facility_id", required=True),
            _text("sku", required=True),
            _count("qty", required=True, minimum=1),
            Column("reason", T.CODE, vocabulary=_codes(ReturnReason)),
            _ts("received_at", required=True),
            _ts("processed_at"),
            _text("disposition"),
        ),
        key=("return_id", "sku"),
        description="items customers sent back",
    ),
    Kind(
        "invoice_lines",
        r.InvoiceLine,
        (
            _text("invoice_id", required=True),
            _count("line_no", required=True, minimum=1),
            _text("provider_id", required=True),
            Column("invoice_date", T.DATE),
            Column("period_start", T.DATE),
            Column("period_end", T.DATE),
            Column("charge_type", T.CODE, required=True, vocabulary=_codes(ChargeType)),
            _text("reference"),
            _money("quantity"),
            _money("unit_rate", minimum=None),
            _money("amount", required=True, minimum=None),
            Column("currency", T.CURRENCY, required=True),
        ),
        key=("invoice_id", "line_no"),
        description="3PL invoice charges",
    ),
    Kind(
        "feedback",
        r.Feedback,
        (
            _text("feedback_id", required=True),
            _text("order_id"),
            _text("channel"),
            _ts("received_at", required=True),
            Column("score", T.INTEGER, minimum=0, maximum=10),
            Column("tags", T.TAGS, vocabulary=_codes(FeedbackTag)),
            _text("text"),
        ),
        key=("feedback_id",),
        description="what customers said",
    ),
    Kind(
        "audits",
        r.Audit,
        (
            _text("audit_id", required=True),
            _text("provider_id", required=True),
            _text("facility_id"),
            _text("order_id"),
            _ts("audited_at", required=True),
            _text("checklist_item", required=True),
            Column("passed", T.BOOLEAN, required=True),
            _text("note"),
        ),
        key=("audit_id", "checklist_item"),
        description="packaging and unboxing audit results",
    ),
)

KINDS_BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}


def kind(name: str) -> Kind:
    """The kind called `name`, or a ValueError listing the known kinds."""
    try:
        return KINDS_BY_NAME[name]
    except KeyError:
        known = ", ".join(KINDS_BY_NAME)
        raise ValueError(f"unknown kind {name!r} (known kinds: {known})") from None
