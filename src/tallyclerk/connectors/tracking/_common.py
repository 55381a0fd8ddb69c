"""What the tracking connectors share: reading JSON, text, times, places and status tables.

Every connector walks its own envelope and hands each carrier event to an `EventSink`, which
maps it to a `tracking_events` row or rejects it with a reason, and keeps a note of the
events it skipped because their status carries no news about the parcel.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from tallyclerk.connectors._base import ConnectorError, Parsed, Position, Row
from tallyclerk.domain import TrackingStatus

KIND: Final = "tracking_events"

# A status table maps the words of one source to ours; None marks a "no news" status: the
# event says nothing about where the parcel is, so it is skipped with a note.
StatusTable = Mapping[str, TrackingStatus | None]


class RefusedError(Exception):
    """One event cannot be mapped; the message is the reason, in plain words."""


class Absent:
    """The source has no such field at all (the column is not supplied)."""


ABSENT: Final = Absent()


def shown(value: object, limit: int = 60) -> str:
    """A short rendering of a bad value for a message: 'text' quoted, anything else as JSON."""
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 1] + "…"
        return f"'{text}'"
    try:
        text = json.dumps(value, default=str)
    except (ValueError, TypeError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record_text(value: object) -> str | None:
    """The raw record for the quarantine: text as it is, else JSON (None if unwritable)."""
    if isinstance(value, str):
        return value[:4000]
    try:
        return json.dumps(value, default=str)[:4000]
    except (ValueError, TypeError, RecursionError):
        return None


# The first bytes of gzip data: refused by name, never decompressed (a small body can hold a
# huge one).
GZIP_MAGIC = b"\x1f\x8b"


def load_json(data: bytes, source: str, what: str) -> Any:
    """The payload as JSON, or a ConnectorError that names the file and the problem."""
    if not data.strip():
        raise ConnectorError(f"{source}: the payload is empty, not {what}")
    if data.startswith(GZIP_MAGIC):
        raise ConnectorError(f"{source}: the payload is gzip-compressed; send it uncompressed")
    try:
        return json.loads(data)
    except RecursionError:
        raise ConnectorError(f"{source}: the JSON is nested too deeply to read") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise ConnectorError(f"{source}: not valid JSON ({exc})") from None


def text_value(value: object, field: str) -> str | None:
    """A text field: strings stripped (empty = None), whole numbers as digits, else refused."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RefusedError(f"{field} {shown(value)} is not text")


def label_text(value: object) -> str:
    """A value for a position label: short text, or '?' when it is not text."""
    if isinstance(value, str) and value.strip():
        text = value.strip()
        return text if len(text) <= 40 else text[:39] + "…"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return "?"


def timestamp(value: object, field: str) -> str:
    """An ISO 8601 date and time, its offset kept (`Z` becomes `+00:00`); else refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RefusedError(f"the event has no time ({field} is empty)")
    if not isinstance(value, str):
        raise RefusedError(f"{field} {shown(value)} is not an ISO 8601 date and time")
    text = value.strip()
    if len(text) <= 10 or not any(sep in text for sep in "Tt "):
        raise RefusedError(f"{field} {shown(text)} has no time of day")
    try:
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise RefusedError(f"{field} {shown(text)} is not an ISO 8601 date and time") from None
    return moment.isoformat()


def join_location(*parts: object) -> str | None:
    """'City, ST, Country' from the parts that are present (None when there are none)."""
    texts = [part.strip() for part in parts if isinstance(part, str) and part.strip()]
    return ", ".join(texts) or None


def map_status(table: StatusTable, value: object, field: str, source: str) -> TrackingStatus | None:
    """Our status for a source status; None for a "no news" status; unknown ones refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RefusedError(f"the event has no status ({field} is empty)")
    if not isinstance(value, str):
        raise RefusedError(f"{source} {field} {shown(value)} is not text")
    key = value.strip()
    if key not in table:
        known = ", ".join(table)
        raise RefusedError(f"{source} {field} {shown(key)} is not one we know (known: {known})")
    return table[key]


class EventSink:
    """Collects the rows, rejects and skip notes of one connector run."""

    def __init__(self) -> None:
        """Start an empty run."""
        self.parsed = Parsed()
        self._number = 0
        self._skipped: dict[tuple[str, str], list[str]] = {}
        self._seen: Counter[str] = Counter()

    def position(self, label: str, number: int | None = None) -> Position:
        """The next position (numbered in reading order unless a number is given)."""
        self._number += 1
        return Position(self._number if number is None else number, label)

    def saw(self, what: str) -> None:
        """Count one document of a kind for the summary ("EasyPost tracker x2")."""
        self._seen[what] += 1

    def note(self, text: str) -> None:
        """Add a note for the batch report."""
        self.parsed.notes.append(text)

    def reject(self, position: Position, reason: str, record: object) -> None:
        """Refuse one event or document."""
        self.parsed.reject(KIND, position, reason, record_text(record))

    def skip(self, source: str, status: str, position: Position) -> None:
        """Remember an event skipped for its "no news" status."""
        self._skipped.setdefault((source, status), []).append(position.label)

    def add(
        self,
        position: Position,
        *,
        tracking_number: str | None,
        tracking_field: str,
        carrier: str | Absent | None,
        status: TrackingStatus,
        occurred_at: str,
        location: str | Absent | None,
    ) -> None:
        """Add one event as a canonical row (a missing tracking number is refused)."""
        if tracking_number is None:
            raise RefusedError(f"the event has no tracking number ({tracking_field} is empty)")
        row: Row = {"tracking_number": tracking_number}
        if not isinstance(carrier, Absent):
            row["carrier"] = carrier
        row["status"] = status.value
        row["occurred_at"] = occurred_at
        if not isinstance(location, Absent):
            row["location"] = location
        self.parsed.add(KIND, row, position)

    def finish(self) -> Parsed:
        """The run's result, with one note per skipped status and a summary."""
        for (source, status), labels in self._skipped.items():
            more = f"; and {len(labels) - 5} more" if len(labels) > 5 else ""
            where = "; ".join(labels[:5]) + more
            self.note(
                f"skipped {len(labels)} {source} event(s) with status {shown(status)}, which "
                f"carries no news about the parcel: {where}"
            )
        self.parsed.summary = ", ".join(
            what if count == 1 else f"{what} x{count}" for what, count in self._seen.items()
        )
        return self.parsed
