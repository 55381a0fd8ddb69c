"""Carrier tracking: EasyPost, AfterShip and a plain JSON form (with Shippo) to tracking_events.

Each connector maps a source's events to canonical ``tracking_events`` rows (tracking_number,
carrier, status, occurred_at, location) with ``status`` in our words (`TrackingStatus`).
Every source has one status table (module-level data, documented in its module):
`EASYPOST_STATUSES`, `AFTERSHIP_TAGS` (with `AFTERSHIP_SUBTAGS`), `SHIPPO_STATUSES`. A source
status that is not in its table is rejected with the value named, never guessed; the
statuses a table maps to None carry no news about the parcel (EasyPost unknown and error,
AfterShip Pending and Expired, Shippo UNKNOWN): their events are skipped with a note, so
that a parcel nobody has scanned still looks unscanned.

Times keep their offsets (``Z`` becomes ``+00:00``); an event without a time is rejected.
Places are joined as "City, ST, Country" from the parts present.

Also here: `current_status` and `later_status`, which keep events arriving out of order from
moving a shipment's status backwards, and `verify_signature` for the sources' webhooks.
"""

from __future__ import annotations

from tallyclerk.connectors.tracking._aftership import (
    AFTERSHIP_SUBTAGS,
    AFTERSHIP_TAGS,
    AfterShipConnector,
)
from tallyclerk.connectors.tracking._easypost import EASYPOST_STATUSES, EasyPostConnector
from tallyclerk.connectors.tracking._generic import SHIPPO_STATUSES, GenericTrackingConnector
from tallyclerk.connectors.tracking._signature import (
    AFTERSHIP_SIGNATURE_HEADER,
    EASYPOST_SIGNATURE_HEADER,
    GENERIC_SIGNATURE_HEADER,
    SIGNATURE_HEADERS,
    sign,
    verify_signature,
)
from tallyclerk.connectors.tracking._status import (
    STATUS_RANK,
    TERMINAL_STATUSES,
    current_status,
    later_status,
)

# Detection order: the generic form last, as it is the loosest.
CONNECTORS = (EasyPostConnector(), AfterShipConnector(), GenericTrackingConnector())

__all__ = [
    "AFTERSHIP_SIGNATURE_HEADER",
    "AFTERSHIP_SUBTAGS",
    "AFTERSHIP_TAGS",
    "CONNECTORS",
    "EASYPOST_SIGNATURE_HEADER",
    "EASYPOST_STATUSES",
    "GENERIC_SIGNATURE_HEADER",
    "SHIPPO_STATUSES",
    "SIGNATURE_HEADERS",
    "STATUS_RANK",
    "TERMINAL_STATUSES",
    "AfterShipConnector",
    "EasyPostConnector",
    "GenericTrackingConnector",
    "current_status",
    "later_status",
    "sign",
    "verify_signature",
]
