"""What every connector speaks: records of canonical kinds out, rejects with positions, no I/O.

A connector turns one external format (an X12 interchange, a Shopify payload, a carrier's
tracking JSON) into rows of canonical kinds. Rows hold text values exactly like cells of a
canonical CSV file (None for empty); typing and checking happen once, in ingest, with the
same rules as for canonical files. A connector never touches the store or the network.

A row carries only the columns its source supplies: when a later document updates a record
(a 944 receipt advice after the 943 that announced it), the columns it does not carry keep
their stored values. Each row and each reject has a position: a line, a segment number or a
record number, with a label a person can find in the file ("segment 14 (W12)").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from tallyclerk.domain import KINDS, KINDS_BY_NAME

Row = dict[str, str | None]
_KIND_ORDER = {k.name: i for i, k in enumerate(KINDS)}
# What no store keeps as text: PostgreSQL refuses NUL, UTF-8 has no unpaired surrogates.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """The text with every NUL character and unpaired surrogate replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def unstorable(text: str) -> str | None:
    """Why a value cannot be stored as text (a NUL, an unpaired surrogate), or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "holds a NUL character (U+0000), which cannot be stored as text"
    return f"holds an unpaired surrogate (\\u{ord(found.group()):04x}), which is not valid Unicode"


def exact_number(text: str) -> Decimal:
    """A JSON number as an exact Decimal (for `json.loads(parse_float=...)`); ValueError for
    one beyond what a Decimal holds (an exponent of twenty digits)."""
    try:
        return Decimal(text)
    except ArithmeticError:
        shown = text if len(text) <= 30 else text[:30] + "..."
        raise ValueError(f"the number {shown} is out of range") from None


class ConnectorError(Exception):
    """The payload as a whole cannot be read (not this format, broken envelope): says why."""

    def __init__(self, message: str) -> None:
        # The message is kept as a failed batch's message: it must be storable text.
        super().__init__(storable(str(message)))


class _Texts(list[str]):
    """A list of texts that keeps each one storable (see `storable`)."""

    def __init__(self, items: Iterable[str] = ()) -> None:
        super().__init__(storable(item) for item in items)

    def append(self, item: str) -> None:
        super().append(storable(item))

    def extend(self, items: Iterable[str]) -> None:
        super().extend(storable(item) for item in items)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a record sits in its source: a sortable number and a label for people."""

    number: int | None
    label: str

    @staticmethod
    def line(number: int) -> Position:
        """A line of a text file."""
        return Position(number, f"line {number}")

    @staticmethod
    def segment(number: int, segment_id: str) -> Position:
        """A segment of an X12 interchange, counted from 1 at the ISA."""
        return Position(number, f"segment {number} ({segment_id})")


@dataclass(frozen=True, slots=True)
class ConnectorReject:
    """A record the connector could not map, with where it was and why."""

    kind: str | None  # the canonical kind it would have become, when known
    position: Position
    reason: str
    record: str | None = None  # the raw text or JSON of the record, for the quarantine


@dataclass(frozen=True, slots=True)
class Outbound:
    """A document to send back: a 997 acknowledgment, a 940 shipping order."""

    name: str  # a file name that is unique for the document
    content: bytes
    document: str  # "997", "940"
    partner: str | None = None  # the provider it goes to
    control_number: str | None = None
    reference: str | None = None  # what it answers or carries (an interchange, an order)


@dataclass
class Parsed:
    """The result of one connector run over one payload."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    positions: dict[str, list[Position]] = field(default_factory=dict)
    rejects: list[ConnectorReject] = field(default_factory=list)
    outbound: list[Outbound] = field(default_factory=list)
    notes: list[str] = field(default_factory=_Texts)
    # What the payload was, for the batch report: "945 x2, 846", "orders/create webhook".
    summary: str = ""

    def __setattr__(self, name: str, value: Any) -> None:
        # Notes and the summary end up in the batch's message: kept storable.
        if name == "summary" and isinstance(value, str):
            value = storable(value)
        elif name == "notes" and not isinstance(value, _Texts):
            value = _Texts(value)
        super().__setattr__(name, value)

    def add(self, kind: str, row: Mapping[str, str | None], position: Position) -> None:
        """Add one record of a canonical kind (unknown columns are a programming error).

        A value that no store keeps as text (a NUL character, an unpaired surrogate) sends
        the record to quarantine instead, with the column and the reason.
        """
        spec = KINDS_BY_NAME[kind]
        unknown = set(row) - set(spec.column_names)
        if unknown:
            raise ValueError(f"{kind} has no column(s) {', '.join(sorted(unknown))}")
        for name, value in row.items():
            problem = unstorable(value) if isinstance(value, str) else None
            if problem is not None:
                self.reject(kind, position, f"{name} {problem}", dict(row))
                return
        self.rows.setdefault(kind, []).append(dict(row))
        self.positions.setdefault(kind, []).append(_storable_position(position))

    def reject(self, kind: str | None, position: Position, reason: str, record: Any = None) -> None:
        """Refuse one record: it goes to quarantine with its position and the reason."""
        if record is not None and not isinstance(record, str):
            record = json.dumps(record, default=str)[:4000]
        self.rejects.append(
            ConnectorReject(
                kind,
                _storable_position(position),
                storable(reason),
                None if record is None else storable(record),
            )
        )

    def kinds(self) -> list[str]:
        """The kinds with records, parents before their lines."""
        return sorted(self.rows, key=lambda k: _KIND_ORDER[k])

    def supplied(self, kind: str) -> tuple[str, ...]:
        """The columns the source supplies for a kind, in canonical order."""
        present: set[str] = set()
        for row in self.rows.get(kind, ()):
            present.update(row)
        return tuple(c for c in KINDS_BY_NAME[kind].column_names if c in present)

    def count(self, kind: str | None = None) -> int:
        """Records mapped (of one kind, or in all)."""
        if kind is not None:
            return len(self.rows.get(kind, ()))
        return sum(len(v) for v in self.rows.values())

    def extend(self, other: Parsed) -> None:
        """Append another run's results (several payloads in one batch)."""
        for kind, rows in other.rows.items():
            self.rows.setdefault(kind, []).extend(rows)
            self.positions.setdefault(kind, []).extend(other.positions[kind])
        self.rejects.extend(other.rejects)
        self.outbound.extend(other.outbound)
        self.notes.extend(other.notes)


def _storable_position(position: Position) -> Position:
    label = storable(position.label)
    return position if label == position.label else Position(position.number, label)


@dataclass(frozen=True)
class ParseOptions:
    """What a connector may need beyond the bytes: whose file it is and how to read it."""

    provider_id: str | None = None  # the 3PL that sent the file
    profile: Path | None = None  # a mapping profile (YAML)
    source: str = "<payload>"  # the file name or endpoint, for messages
    brand_timezone: str = "UTC"
    # When the payload arrived (stamps the 997s); None: the current time.
    received_at: datetime | None = None
    # Draws the next interchange control number for documents sent back (997s); the ingest
    # service draws them from the store, so they never repeat. None: numbers from 1.
    next_control: Callable[[], int] | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    """One external format."""

    name: str  # the registry name: "x12", "shopify", "easypost", ...
    description: str

    def sniff(self, head: bytes, filename: str) -> bool:
        """Whether the first bytes (up to 64 KiB) and the file name look like this format."""
        ...

    def parse(self, data: bytes, options: ParseOptions) -> Parsed:
        """Map a whole payload; raise ConnectorError only when nothing of it can be read."""
        ...
