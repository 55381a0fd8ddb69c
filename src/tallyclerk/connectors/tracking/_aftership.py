"""AfterShip trackings (API v4 responses and webhooks).

Accepted payloads: a response ``{"meta": {...}, "data": {"trackings": [...]}}`` or
``{"data": {"tracking": {...}}}``, a webhook body ``{"msg": {tracking}}``, a bare tracking
(an object with ``checkpoints``) or a JSON array of trackings. Each checkpoint becomes one
``tracking_events`` row: the tracking's ``tracking_number`` and ``slug`` (the carrier), the
checkpoint's ``tag`` (refined by ``subtag``), ``checkpoint_time`` and its place joined from
``city``, ``state`` and ``country_name`` (or ``country_iso3``) as "City, ST, Country", or its
``location`` text when it has none of these. A response whose ``meta.code`` is not 2xx is a
ConnectorError with AfterShip's message; a tracking without checkpoints gets a note.

AfterShip tag        our status
-------------------  -----------------------------------------------------------------
InfoReceived         label_created (the carrier has the shipper's data, not the parcel)
InTransit            in_transit
OutForDelivery       out_for_delivery
AvailableForPickup   out_for_delivery (the last step before the customer has it)
AttemptFail          exception
Delivered            delivered
Exception            exception; subtag Exception_011 (returned to sender):
                     returned_to_sender
Expired              skipped: no news of the parcel for 30 days
Pending              skipped: no news of the parcel yet
"""

from __future__ import annotations

import re
from typing import Any, Final

from tallyclerk.connectors._base import ConnectorError, Parsed, ParseOptions
from tallyclerk.connectors.tracking._common import (
    ABSENT,
    Absent,
    EventSink,
    RefusedError,
    StatusTable,
    join_location,
    label_text,
    load_json,
    map_status,
    shown,
    text_value,
    timestamp,
)
from tallyclerk.domain import TrackingStatus as S

AFTERSHIP_TAGS: Final[StatusTable] = {
    "InfoReceived": S.LABEL_CREATED,
    "InTransit": S.IN_TRANSIT,
    "OutForDelivery": S.OUT_FOR_DELIVERY,
    "AvailableForPickup": S.OUT_FOR_DELIVERY,
    "AttemptFail": S.EXCEPTION,
    "Delivered": S.DELIVERED,
    "Exception": S.EXCEPTION,
    "Expired": None,
    "Pending": None,
}

# Subtags that say more than their tag does.
AFTERSHIP_SUBTAGS: Final[dict[str, S]] = {
    "Exception_011": S.RETURNED_TO_SENDER,
}

_CHECKPOINTS = re.compile(rb'"checkpoints"\s*:')
_META = re.compile(rb'"meta"\s*:')
_TRACKINGS = re.compile(rb'"trackings?"\s*:')
_SOURCE = "AfterShip"
_PLACE_FIELDS = ("city", "state", "country_name", "country_iso3")


def _location(checkpoint: dict[str, Any]) -> str | Absent | None:
    if not any(field in checkpoint for field in (*_PLACE_FIELDS, "location")):
        return ABSENT
    country = checkpoint.get("country_name") or checkpoint.get("country_iso3")
    joined = join_location(checkpoint.get("city"), checkpoint.get("state"), country)
    if joined is not None:
        return joined
    return join_location(checkpoint.get("location"))


def _carrier(tracking: dict[str, Any], checkpoint: dict[str, Any]) -> str | Absent | None:
    for holder in (tracking, checkpoint):
        value = text_value(holder.get("slug"), "slug")
        if value is not None:
            return value
    return None if "slug" in tracking or "slug" in checkpoint else ABSENT


def _status(checkpoint: dict[str, Any]) -> S | None:
    status = map_status(AFTERSHIP_TAGS, checkpoint.get("tag"), "tag", _SOURCE)
    subtag = checkpoint.get("subtag")
    if status is not None and isinstance(subtag, str) and subtag.strip() in AFTERSHIP_SUBTAGS:
        return AFTERSHIP_SUBTAGS[subtag.strip()]
    return status


def _tracking(sink: EventSink, tracking: object, label: str) -> None:
    sink.saw("AfterShip tracking")
    if not isinstance(tracking, dict):
        sink.reject(sink.position(label), f"{label} is not a JSON object", tracking)
        return
    number = label_text(tracking.get("tracking_number"))
    name = f"AfterShip tracking {number} ({label_text(tracking.get('slug'))})"
    checkpoints = tracking.get("checkpoints")
    if checkpoints is None or checkpoints == []:
        tag = tracking.get("tag")
        said = f", tag {label_text(tag)}," if isinstance(tag, str) and tag.strip() else ""
        sink.note(f"{name}{said} has no checkpoints: nothing to map")
        return
    if not isinstance(checkpoints, list):
        where = sink.position(f"tracking {number}")
        sink.reject(where, f"checkpoints {shown(checkpoints)} is not a list", tracking)
        return
    for index, checkpoint in enumerate(checkpoints, 1):
        where = sink.position(f"tracking {number}, checkpoint {index}")
        if not isinstance(checkpoint, dict):
            sink.reject(where, f"checkpoint {index} is not a JSON object", checkpoint)
            continue
        try:
            status = _status(checkpoint)
            if status is None:
                sink.skip(_SOURCE, str(checkpoint.get("tag")).strip(), where)
                continue
            sink.add(
                where,
                tracking_number=text_value(tracking.get("tracking_number"), "tracking_number"),
                tracking_field="tracking_number",
                carrier=_carrier(tracking, checkpoint),
                status=status,
                occurred_at=timestamp(checkpoint.get("checkpoint_time"), "checkpoint_time"),
                location=_location(checkpoint),
            )
        except RefusedError as exc:
            sink.reject(where, str(exc), checkpoint)


def _check_meta(doc: dict[str, Any], source: str) -> None:
    meta = doc.get("meta")
    if not isinstance(meta, dict):
        return
    code = meta.get("code")
    if not isinstance(code, int) or isinstance(code, bool) or 200 <= code < 300:
        return
    kind = meta.get("type")
    message = meta.get("message")
    said = f"AfterShip error {code}"
    if isinstance(kind, str) and kind.strip():
        said += f" ({kind.strip()})"
    if isinstance(message, str) and message.strip():
        said += f": {message.strip()}"
    raise ConnectorError(f"{source}: {said}")


class AfterShipConnector:
    """AfterShip v4 tracking responses and tracking webhooks."""

    name = "aftership"
    description = "AfterShip trackings: API v4 responses and webhooks (JSON)"

    def sniff(self, head: bytes, filename: str) -> bool:
        """AfterShip JSON: `"checkpoints"`, or `"meta"` with `"tracking"`/`"trackings"`."""
        if _CHECKPOINTS.search(head):
            return True
        return _META.search(head) is not None and _TRACKINGS.search(head) is not None

    def parse(self, data: bytes, options: ParseOptions) -> Parsed:
        """Map every checkpoint of every tracking in the payload."""
        doc = load_json(data, options.source, "an AfterShip tracking")
        sink = EventSink()
        if isinstance(doc, list):
            for index, tracking in enumerate(doc, 1):
                _tracking(sink, tracking, f"item {index}")
            return sink.finish()
        if not isinstance(doc, dict):
            raise ConnectorError(f"{options.source}: not an AfterShip tracking response")
        _check_meta(doc, options.source)
        data_part = doc.get("data")
        if isinstance(doc.get("msg"), dict):
            _tracking(sink, doc["msg"], "msg")
        elif isinstance(data_part, dict) and "trackings" in data_part:
            trackings = data_part["trackings"]
            if not isinstance(trackings, list):
                raise ConnectorError(
                    f"{options.source}: AfterShip data.trackings {shown(trackings)} is not a list"
                )
            for index, tracking in enumerate(trackings, 1):
                _tracking(sink, tracking, f"trackings item {index}")
        elif isinstance(data_part, dict) and isinstance(data_part.get("tracking"), dict):
            _tracking(sink, data_part["tracking"], "data.tracking")
        elif "checkpoints" in doc:
            _tracking(sink, doc, "the document")
        else:
            raise ConnectorError(
                f"{options.source}: not an AfterShip tracking response "
                "(no data.tracking, data.trackings, msg or checkpoints)"
            )
        return sink.finish()
