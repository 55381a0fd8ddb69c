"""Vocabularies of the canonical records (DESIGN section 4)."""

from __future__ import annotations

from enum import StrEnum


class TrackingStatus(StrEnum):
    """Where a parcel is, in the carrier-neutral words every connector maps to."""

    LABEL_CREATED = "label_created"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"


# How far along a parcel is: the tie-break between events stamped at the same instant.
# Delivered and returned to sender are final: a later event of another status (a stray
# scan) does not undo them. Connectors (the live status) and reconciliation (the status as
# of a clock) both read these two, so a parcel has one status everywhere.
TRACKING_PRECEDENCE: tuple[TrackingStatus, ...] = (
    TrackingStatus.LABEL_CREATED,
    TrackingStatus.IN_TRANSIT,
    TrackingStatus.OUT_FOR_DELIVERY,
    TrackingStatus.EXCEPTION,
    TrackingStatus.RETURNED_TO_SENDER,
    TrackingStatus.DELIVERED,
)
TERMINAL_TRACKING = frozenset({TrackingStatus.DELIVERED, TrackingStatus.RETURNED_TO_SENDER})


class ReturnReason(StrEnum):
    """Why a customer sent an item back."""

    WRONG_ITEM = "wrong_item"
    MISSING_ITEM = "missing_item"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    LATE = "late"
    NO_LONGER_NEEDED = "no_longer_needed"
    OTHER = "other"


class FeedbackTag(StrEnum):
    """What a customer complained about, as far as fulfillment is concerned."""

    LATE = "late"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    MISSING_ITEM = "missing_item"
    PACKAGING = "packaging"


class ChargeType(StrEnum):
    """The kinds of line a 3PL puts on an invoice."""

    PICK_PACK = "pick_pack"
    ADDITIONAL_UNIT = "additional_unit"
    PACKAGING = "packaging"
    STORAGE = "storage"
    RECEIVING = "receiving"
    RETURNS = "returns"
    SHIPPING = "shipping"
    OTHER = "other"


# Reasons that mean the 3PL picked or packed the wrong thing (order_accuracy_rate).
PICKING_ERROR_REASONS = frozenset({ReturnReason.WRONG_ITEM, ReturnReason.MISSING_ITEM})
PICKING_ERROR_TAGS = frozenset({FeedbackTag.WRONG_ITEM, FeedbackTag.MISSING_ITEM})
