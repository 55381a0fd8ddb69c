"""Tracking events as plain JSON (`tracking-json`), and Shippo tracks read the same way.

The generic form, for carriers and tools without a connector of their own. A document is
one of:

- a tracking with its events::

      {"tracking_number": "1Z999", "carrier": "UPS",
       "events": [{"status": "in_transit", "occurred_at": "2026-01-05T14:03:00-05:00",
                   "location": "Newark, NJ, US"}]}

- a flat event: ``{"tracking_number", "carrier", "status", "occurred_at", "location"}``;
- a JSON array of either, or JSON Lines (one such object per line).

``tracking_number`` and ``carrier`` of a tracking apply to its events (an event may carry its
own). ``location`` is text or an object with ``city``, ``state``, ``country`` (joined as
"City, ST, Country"); ``carrier`` and ``location`` may be left out (then they are not
supplied). ``occurred_at`` is ISO 8601; an offset is kept, ``Z`` becomes ``+00:00``.
``status`` is one of our words (label_created, in_transit, out_for_delivery, delivered,
exception, returned_to_sender, in any letter case) or a word of the source translated by the
``status_map`` setting (``ParseOptions.settings["status_map"]``): a mapping of source status
to our status, or to null for a status that carries no news (those events are skipped with a
note). The map is looked up first, exactly as written; a status neither in it nor ours is
rejected.

Shippo tracks (``GET /tracks/<carrier>/<number>`` responses, and ``track_updated`` webhooks,
whose ``data`` is the track) are recognized by their ``tracking_history``: each history
entry becomes a row with the track's ``tracking_number`` and ``carrier``, its ``status``,
``status_date`` and ``location`` (``city``, ``state``, ``country``). A track without history
is read from its ``tracking_status``. ``status_map`` does not apply to Shippo.

Shippo status   our status
--------------  -----------------------------------------------------
PRE_TRANSIT     label_created
TRANSIT         in_transit
DELIVERED       delivered
RETURNED        returned_to_sender
FAILURE         exception
UNKNOWN         skipped: no news of the parcel
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from tallyclerk.connectors._base import ConnectorError, Parsed, ParseOptions, Position
from tallyclerk.connectors.tracking._common import (
    ABSENT,
    GZIP_MAGIC,
    Absent,
    EventSink,
    RefusedError,
    StatusTable,
    join_location,
    label_text,
    map_status,
    shown,
    text_value,
    timestamp,
)
from tallyclerk.domain import TrackingStatus as S

SHIPPO_STATUSES: Final[StatusTable] = {
    "PRE_TRANSIT": S.LABEL_CREATED,
    "TRANSIT": S.IN_TRANSIT,
    "DELIVERED": S.DELIVERED,
    "RETURNED": S.RETURNED_TO_SENDER,
    "FAILURE": S.EXCEPTION,
    "UNKNOWN": None,
}

_OURS: Final = {status.value: status for status in S}
_TRACKING_NUMBER = re.compile(rb'"tracking_number"\s*:')
_EVENTS = re.compile(rb'"(?:events|tracking_history)"\s*:')
_SHIPPO = "Shippo"
_GENERIC = "tracking JSON"


def _status_map(options: ParseOptions) -> dict[str, S | None]:
    raw = options.settings.get("status_map")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConnectorError(
            f"{options.source}: the status_map setting must map source statuses to ours"
        )
    table: dict[str, S | None] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise ConnectorError(f"{options.source}: status_map key {shown(key)} is not text")
        if value is None:
            table[key] = None
        elif isinstance(value, str) and value in _OURS:
            table[key] = _OURS[value]
        else:
            raise ConnectorError(
                f"{options.source}: status_map maps {shown(key)} to {shown(value)}, which is "
                f"not a tracking status ({', '.join(_OURS)})"
            )
    return table


def _place(value: object, field: str = "location") -> str | None:
    if isinstance(value, dict):
        return join_location(value.get("city"), value.get("state"), value.get("country"))
    if value is None or isinstance(value, str):
        return join_location(value)
    raise RefusedError(f"{field} {shown(value)} is neither text nor a place object")


class _Reader:
    """One run of the generic connector."""

    def __init__(self, status_map: dict[str, S | None]) -> None:
        self.sink = EventSink()
        self.status_map = status_map

    def position(self, label: str, line: int | None) -> Position:
        return self.sink.position(label or "the document", line)

    def status(self, value: object) -> S | None:
        if isinstance(value, str) and value in self.status_map:
            return self.status_map[value]
        if value is None or (isinstance(value, str) and not value.strip()):
            raise RefusedError("the event has no status (status is empty)")
        if not isinstance(value, str):
            raise RefusedError(f"status {shown(value)} is not text")
        ours = _OURS.get(value.strip().lower())
        if ours is not None:
            return ours
        hint = "status_map has no entry for it" if self.status_map else "no status_map is set"
        raise RefusedError(
            f"status {shown(value)} is not a tracking status ({', '.join(_OURS)}) and {hint}"
        )

    def item(self, obj: object, label: str, line: int | None, *, top: bool) -> None:
        """Read one document: a tracking with events, a flat event or a Shippo track."""
        if not isinstance(obj, dict):
            self.sink.reject(self.position(label, line), f"{label} is not a JSON object", obj)
            return
        data = obj.get("data")
        if isinstance(data, dict) and "tracking_history" in data:
            self.shippo(data, label, line)
        elif "tracking_history" in obj:
            self.shippo(obj, label, line)
        elif "events" in obj:
            self.group(obj, label, line)
        elif "status" in obj or "occurred_at" in obj:
            self.sink.saw(f"{_GENERIC} event")
            self.event(obj, {}, self.position(label, line))
        elif top:
            raise RefusedError(
                "not the tracking JSON form (an object with tracking_number and events, "
                "a flat event with status and occurred_at, or a Shippo track)"
            )
        else:
            reason = f"{label} has neither events nor status: not a tracking record"
            self.sink.reject(self.position(label, line), reason, obj)

    def group(self, obj: dict[str, Any], label: str, line: int | None) -> None:
        self.sink.saw(f"{_GENERIC} tracking")
        number = label_text(obj.get("tracking_number"))
        prefix = f"{label}, " if label else ""
        events = obj["events"]
        if events is None or events == []:
            self.sink.note(f"tracking {number} has no events: nothing to map")
            return
        if not isinstance(events, list):
            where = self.position(f"{prefix}tracking {number}", line)
            self.sink.reject(where, f"events {shown(events)} is not a list", obj)
            return
        for index, event in enumerate(events, 1):
            where = self.position(f"{prefix}tracking {number}, event {index}", line)
            if not isinstance(event, dict):
                self.sink.reject(where, f"event {index} is not a JSON object", event)
                continue
            self.event(event, obj, where)

    def event(self, event: dict[str, Any], parent: dict[str, Any], where: Position) -> None:
        try:
            status = self.status(event.get("status"))
            if status is None:
                self.sink.skip(_GENERIC, str(event.get("status")), where)
                return
            self.sink.add(
                where,
                tracking_number=text_value(_pick(event, parent), "tracking_number"),
                tracking_field="tracking_number",
                carrier=_optional(event, parent, "carrier", text_value),
                status=status,
                occurred_at=timestamp(event.get("occurred_at"), "occurred_at"),
                location=_optional(event, {}, "location", _place),
            )
        except RefusedError as exc:
            self.sink.reject(where, str(exc), event)

    def shippo(self, track: dict[str, Any], label: str, line: int | None) -> None:
        self.sink.saw("Shippo track")
        number = label_text(track.get("tracking_number"))
        prefix = f"{label}, " if label else ""
        history = track.get("tracking_history")
        if history is None or history == []:
            latest = track.get("tracking_status")
            if not isinstance(latest, dict):
                self.sink.note(f"Shippo track {number} has no tracking history: nothing to map")
                return
            history = [latest]
        if not isinstance(history, list):
            where = self.position(f"{prefix}Shippo track {number}", line)
            self.sink.reject(where, f"tracking_history {shown(history)} is not a list", track)
            return
        for index, entry in enumerate(history, 1):
            where = self.position(f"{prefix}Shippo track {number}, history entry {index}", line)
            if not isinstance(entry, dict):
                self.sink.reject(where, f"history entry {index} is not a JSON object", entry)
                continue
            try:
                status = map_status(SHIPPO_STATUSES, entry.get("status"), "status", _SHIPPO)
                if status is None:
                    self.sink.skip(_SHIPPO, str(entry.get("status")).strip(), where)
                    continue
                self.sink.add(
                    where,
                    tracking_number=text_value(track.get("tracking_number"), "tracking_number"),
                    tracking_field="tracking_number",
                    carrier=text_value(track.get("carrier"), "carrier")
                    if "carrier" in track
                    else ABSENT,
                    status=status,
                    occurred_at=timestamp(entry.get("status_date"), "status_date"),
                    location=_place(entry.get("location")) if "location" in entry else ABSENT,
                )
            except RefusedError as exc:
                self.sink.reject(where, str(exc), entry)


def _pick(event: dict[str, Any], parent: dict[str, Any]) -> object:
    if "tracking_number" in event:
        return event["tracking_number"]
    return parent.get("tracking_number")


def _optional(
    event: dict[str, Any],
    parent: dict[str, Any],
    field: str,
    read: Callable[[object, str], str | None],
) -> str | Absent | None:
    """A field of the event, else of its tracking; ABSENT when neither has it."""
    if field in event:
        return read(event[field], field)
    if field in parent:
        return read(parent[field], field)
    return ABSENT


def _documents(data: bytes, source: str) -> tuple[list[tuple[object, int | None]], bool]:
    """The documents of the payload with their line numbers, and whether it is JSON Lines."""
    if not data.strip():
        raise ConnectorError(f"{source}: the payload is empty, not tracking JSON")
    if data.startswith(GZIP_MAGIC):
        raise ConnectorError(f"{source}: the payload is gzip-compressed; send it uncompressed")
    try:
        return [(json.loads(data), None)], False
    except RecursionError:
        raise ConnectorError(f"{source}: the JSON is nested too deeply to read") from None
    except ValueError as whole:
        first_error = whole
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConnectorError(f"{source}: not valid JSON ({first_error})") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    documents: list[tuple[object, int | None]] = []
    for number, line in lines:
        try:
            documents.append((json.loads(line), number))
        except (ValueError, RecursionError):
            if not documents:  # the first line is not JSON either: not JSON Lines
                raise ConnectorError(f"{source}: not valid JSON ({first_error})") from None
            documents.append((_BadLine(line), number))
    if len(documents) < 2:
        raise ConnectorError(f"{source}: not valid JSON ({first_error})")
    return documents, True


class _BadLine:
    """A line of JSON Lines that is not JSON."""

    def __init__(self, text: str) -> None:
        self.text = text


class GenericTrackingConnector:
    """Tracking events in a plain JSON form, and Shippo tracks."""

    name = "tracking-json"
    description = "tracking events as plain JSON or JSON Lines, and Shippo tracks"

    def sniff(self, head: bytes, filename: str) -> bool:
        """`"tracking_number"` with `"events"` (or Shippo's `"tracking_history"`)."""
        return _TRACKING_NUMBER.search(head) is not None and _EVENTS.search(head) is not None

    def parse(self, data: bytes, options: ParseOptions) -> Parsed:
        """Map every event of the payload."""
        reader = _Reader(_status_map(options))
        documents, lines = _documents(data, options.source)
        for doc, line in documents:
            if isinstance(doc, _BadLine):
                where = reader.position(f"line {line}", line)
                reader.sink.reject(where, f"line {line} is not valid JSON", doc.text)
            elif lines:
                reader.item(doc, f"line {line}", line, top=False)
            elif isinstance(doc, list):
                for index, entry in enumerate(doc, 1):
                    reader.item(entry, f"item {index}", None, top=False)
            elif not isinstance(doc, dict):
                message = "not tracking JSON (neither an object nor an array)"
                raise ConnectorError(f"{options.source}: {message}")
            else:
                try:
                    reader.item(doc, "", None, top=True)
                except RefusedError as exc:
                    raise ConnectorError(f"{options.source}: {exc}") from None
        return reader.sink.finish()
