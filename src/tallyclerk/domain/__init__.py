"""Canonical records, vocabularies and money: the pure core every other module speaks.

This package imports nothing else of tallyclerk.
"""

from __future__ import annotations

from tallyclerk.domain._kinds import KINDS, KINDS_BY_NAME, Column, ColumnType, Kind, ParentRef, kind
from tallyclerk.domain._money import CurrencyMismatchError, Money, check_currency
from tallyclerk.domain._records import (
    Adjustment,
    Audit,
    Feedback,
    InventorySnapshot,
    InvoiceLine,
    Order,
    OrderLine,
    Product,
    Receipt,
    Release,
    Return,
    Shipment,
    ShipmentLine,
    TrackingEvent,
    check_aware,
)
from tallyclerk.domain._vocab import (
    PICKING_ERROR_REASONS,
    PICKING_ERROR_TAGS,
    TERMINAL_TRACKING,
    TRACKING_PRECEDENCE,
    ChargeType,
    FeedbackTag,
    ReturnReason,
    TrackingStatus,
)

__all__ = [
    "KINDS",
    "KINDS_BY_NAME",
    "PICKING_ERROR_REASONS",
    "PICKING_ERROR_TAGS",
    "TERMINAL_TRACKING",
    "TRACKING_PRECEDENCE",
    "Adjustment",
    "Audit",
    "ChargeType",
    "Column",
    "ColumnType",
    "CurrencyMismatchError",
    "Feedback",
    "FeedbackTag",
    "InventorySnapshot",
    "InvoiceLine",
    "Kind",
    "Money",
    "Order",
    "OrderLine",
    "ParentRef",
    "Product",
    "Receipt",
    "Release",
    "Return",
    "ReturnReason",
    "Shipment",
    "ShipmentLine",
    "TrackingEvent",
    "TrackingStatus",
    "check_aware",
    "check_currency",
    "kind",
]
