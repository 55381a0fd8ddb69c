"""EasyPost trackers: Tracker objects, Event envelopes (webhooks) and their lists.

Accepted payloads: a Tracker (``"object": "Tracker"``), an Event (``"object": "Event"``, a
webhook body such as ``tracker.updated``, whose ``result`` is the Tracker), a list response
(``{"trackers": [...]}`` or ``{"events": [...]}``) or a JSON array of any of these. Each entry
of a Tracker's ``tracking_details`` becomes one ``tracking_events`` row: the Tracker's
``tracking_code`` and ``carrier``, the detail's ``status`` and ``datetime``, and its
``tracking_location`` joined as "City, ST, Country". An Event without a ``result`` (EasyPost
sends ``tracker.created`` envelopes that way) or about another object has nothing to map: a
note says so. An error body (``{"error": {...}}``) is a ConnectorError with its message.

EasyPost status        our status
---------------------  ---------------------------------------------------------------
pre_transit            label_created
in_transit             in_transit
out_for_delivery       out_for_delivery
available_for_pickup   out_for_delivery (the last step before the customer has it)
delivered              delivered
return_to_sender       returned_to_sender
failure                exception
cancelled              exception (the carrier will not deliver the parcel)
error                  skipped: an error of the tracking service, no news of the parcel
unknown                skipped: no news of the parcel
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

EASYPOST_STATUSES: Final[StatusTable] = {
    "pre_transit": S.LABEL_CREATED,
    "in_transit": S.IN_TRANSIT,
    "out_for_delivery": S.OUT_FOR_DELIVERY,
    "available_for_pickup": S.OUT_FOR_DELIVERY,
    "delivered": S.DELIVERED,
    "return_to_sender": S.RETURNED_TO_SENDER,
    "failure": S.EXCEPTION,
    "cancelled": S.EXCEPTION,
    "error": None,
    "unknown": None,
}

_SNIFF = re.compile(rb'"object"\s*:\s*"(?:Tracker|Event)"')
_SOURCE = "EasyPost"


def _location(detail: dict[str, Any]) -> str | Absent | None:
    if "tracking_location" not in detail:
        return ABSENT
    place = detail["tracking_location"]
    if not isinstance(place, dict):
        return None
    return join_location(place.get("city"), place.get("state"), place.get("country"))


def _tracker(sink: EventSink, tracker: dict[str, Any]) -> None:
    sink.saw("EasyPost tracker")
    code_label = label_text(tracker.get("tracking_code"))
    details = tracker.get("tracking_details")
    if details is None or details == []:
        sink.note(f"EasyPost tracker {code_label} has no tracking details: nothing to map")
        return
    if not isinstance(details, list):
        where = sink.position(f"tracker {code_label}")
        sink.reject(where, f"tracking_details {shown(details)} is not a list", tracker)
        return
    for index, detail in enumerate(details, 1):
        where = sink.position(f"tracker {code_label}, tracking detail {index}")
        if not isinstance(detail, dict):
            sink.reject(where, f"tracking detail {index} is not a JSON object", detail)
            continue
        try:
            status = map_status(EASYPOST_STATUSES, detail.get("status"), "status", _SOURCE)
            if status is None:
                sink.skip(_SOURCE, str(detail.get("status")).strip(), where)
                continue
            sink.add(
                where,
                tracking_number=text_value(tracker.get("tracking_code"), "tracking_code"),
                tracking_field="tracking_code",
                carrier=text_value(tracker.get("carrier"), "carrier")
                if "carrier" in tracker
                else ABSENT,
                status=status,
                occurred_at=timestamp(detail.get("datetime"), "datetime"),
                location=_location(detail),
            )
        except RefusedError as exc:
            sink.reject(where, str(exc), detail)


def _event(sink: EventSink, event: dict[str, Any]) -> None:
    sink.saw("EasyPost event")
    name = f"EasyPost event {label_text(event.get('id'))} ({label_text(event.get('description'))})"
    result = event.get("result")
    if result is None:
        sink.note(f"{name} carries no tracker (it has no result): nothing to map")
        return
    if isinstance(result, dict) and (
        result.get("object") == "Tracker" or "tracking_details" in result
    ):
        _tracker(sink, result)
        return
    about = label_text(result.get("object")) if isinstance(result, dict) else shown(result)
    sink.note(f"{name} is about {about}, not a tracker: nothing to map")


def _entry(sink: EventSink, entry: object, label: str) -> None:
    if isinstance(entry, dict):
        kind = entry.get("object")
        if kind == "Tracker" or (kind is None and "tracking_details" in entry):
            _tracker(sink, entry)
            return
        if kind == "Event":
            _event(sink, entry)
            return
    sink.reject(sink.position(label), f"{label} is not an EasyPost Tracker or Event", entry)


def _error_message(error: object) -> str:
    if isinstance(error, dict):
        parts = [
            text for text in (error.get("code"), error.get("message")) if isinstance(text, str)
        ]
        if parts:
            return ": ".join(parts)
    return shown(error)


class EasyPostConnector:
    """EasyPost Tracker objects and tracker Event webhooks."""

    name = "easypost"
    description = "EasyPost trackers and tracker webhooks (JSON)"

    def sniff(self, head: bytes, filename: str) -> bool:
        """An EasyPost object: `"object": "Tracker"` or `"object": "Event"` near the start."""
        return _SNIFF.search(head) is not None

    def parse(self, data: bytes, options: ParseOptions) -> Parsed:
        """Map every tracking detail of every Tracker in the payload."""
        doc = load_json(data, options.source, "an EasyPost tracker")
        sink = EventSink()
        if isinstance(doc, list):
            for index, entry in enumerate(doc, 1):
                _entry(sink, entry, f"item {index}")
            return sink.finish()
        if not isinstance(doc, dict):
            raise ConnectorError(f"{options.source}: not an EasyPost Tracker or Event")
        if "error" in doc and "object" not in doc:
            message = _error_message(doc["error"])
            raise ConnectorError(f"{options.source}: EasyPost answered with an error: {message}")
        kind = doc.get("object")
        if kind in ("Tracker", "Event") or "tracking_details" in doc:
            _entry(sink, doc, "the document")
        elif isinstance(doc.get("trackers"), list):
            for index, entry in enumerate(doc["trackers"], 1):
                _entry(sink, entry, f"trackers item {index}")
        elif isinstance(doc.get("events"), list):
            for index, entry in enumerate(doc["events"], 1):
                _entry(sink, entry, f"events item {index}")
        else:
            raise ConnectorError(
                f"{options.source}: not an EasyPost Tracker or Event "
                '(no "object": "Tracker" or "Event", no trackers or events list)'
            )
        return sink.finish()
