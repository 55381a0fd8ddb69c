"""Shopify's orders CSV export (admin: Orders, Export) to canonical orders and order lines.

The export has one row per line item; the order's own fields (Created at, Total, the
shipping address, ...) are filled on the first row of each order only, and every row
repeats the order's Name. Columns read:

- order: `Id` (order_id; `Name` with order_key "name", or when the export has no Id
  column), `Created at` (placed_at, "2024-03-05 14:03:22 -0500"), `Source` (channel),
  `Shipping Country` (ship_to_country, the two-letter code), `Shipping Zip` (ship_to_postal,
  Shopify's leading apostrophe dropped), `Shipping Method` (service_level), `Total`
  (order_value), `Currency`, `Cancelled at`, `Note Attributes` (promised_delivery_date, from
  a "delivery date: 2024-05-03"-like attribute line);
- line: `Lineitem sku`, `Lineitem quantity`, `Lineitem price`; line_no counts the rows of
  the order from 1.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from tallyclerk.connectors._base import ConnectorError, Position, Row
from tallyclerk.connectors.shopify._map import Mapper, Where, promise_name
from tallyclerk.connectors.shopify._values import (
    BadValueError,
    amount,
    identifier,
    optional_timestamp,
    text,
    timestamp,
    whole,
)

# The columns that make a header Shopify's orders export.
SIGNATURE = ("Name", "Financial Status", "Lineitem quantity", "Lineitem sku")
_NEEDED = ("Name", "Created at", "Lineitem quantity", "Lineitem sku")


def header_of(head: str) -> list[str] | None:
    """The header cells of the first line, or None when it cannot be read."""
    first = head.split("\n", 1)[0].rstrip("\r")
    try:
        cells = next(csv.reader([first]), None)
    except csv.Error:
        return None
    return [cell.strip() for cell in cells] if cells else None


def looks_export(head: bytes) -> bool:
    """Whether the first bytes are the header of Shopify's orders export."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    header = header_of(head[:16384].decode("utf-8", errors="replace"))
    return header is not None and all(column in header for column in SIGNATURE)


class _Row:
    """One CSV row read by column name."""

    def __init__(self, header: list[str], cells: list[str], line: int) -> None:
        self.cells = {name: cells[i] for i, name in enumerate(header) if i < len(cells)}
        self.raw = cells
        self.line = line

    def get(self, column: str) -> str:
        return self.cells.get(column, "").strip()

    def has(self, column: str) -> bool:
        return column in self.cells


def _rows(text: str, source: str) -> tuple[list[str], list[_Row], tuple[int, str] | None]:
    """The header and the rows with their first line; a CSV error ends the reading."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        first = next(reader, None)
    except csv.Error as exc:
        raise ConnectorError(f"{source}: the header cannot be read as CSV ({exc})") from None
    header = [cell.strip() for cell in first or []]
    missing = [column for column in _NEEDED if column not in header]
    if missing:
        raise ConnectorError(
            f"{source}: not a Shopify orders export (the header lacks {', '.join(missing)})"
        )
    rows: list[_Row] = []
    start = reader.line_num + 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append(_Row(header, cells, start))
            start = reader.line_num + 1
    except csv.Error as exc:
        return header, rows, (start, str(exc)[:120])
    return header, rows, None


def read_export(mapper: Mapper, text: str, source: str) -> str:
    """Read the export into the mapper; returns what the payload was."""
    header, rows, broken = _rows(text, source)
    parsed = mapper.parsed
    key = mapper.config.order_key
    if key == "id" and "Id" not in header:
        parsed.notes.append("the export has no Id column: orders are keyed by their Name")
        key = "name"
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        name = row.get("Name")
        if not name:
            parsed.reject(None, Position.line(row.line), "Name is empty", _record(row))
            continue
        groups.setdefault(name, []).append(row)
    for name, members in groups.items():
        _order(mapper, key, name, members)
    if broken is not None:
        line, why = broken
        reason = f"line {line} cannot be read as CSV ({why}); the rest of the file was not read"
        parsed.reject(None, Position.line(line), reason)
    if not groups and broken is not None:
        raise ConnectorError(f"{source}: no order could be read ({broken[1]})")
    return "Shopify orders export"


def _order(mapper: Mapper, key: str, name: str, members: list[_Row]) -> None:
    parsed = mapper.parsed
    first = members[0]
    where = Where(first.line, f"line {first.line}")
    mapper.orders += 1
    try:
        row = _order_row(mapper, key, name, first, where)
    except BadValueError as exc:
        parsed.reject("orders", where.position, str(exc), _record(first))
        for other in members[1:]:
            reason = f"belongs to order {name}, which was rejected at line {first.line}"
            parsed.reject("order_lines", Position.line(other.line), reason, _record(other))
        return
    order_id = str(row["order_id"])
    parsed.add("orders", row, where.position)
    for number, member in enumerate(members, 1):
        position = Position.line(member.line)
        try:
            line: Row = {
                "order_id": order_id,
                "line_no": str(number),
                "sku": _sku(member),
                "qty": whole("Lineitem quantity", member.get("Lineitem quantity")),
            }
            if member.has("Lineitem price"):
                line["unit_price"] = amount("Lineitem price", member.get("Lineitem price"))
        except BadValueError as exc:
            parsed.reject("order_lines", position, str(exc), _record(member))
            continue
        parsed.add("order_lines", line, position)


def _sku(row: _Row) -> str:
    sku = row.get("Lineitem sku")
    if sku:
        return sku
    title = row.get("Lineitem name")
    named = f" (Lineitem name {title[:60]!r})" if title else ""
    raise BadValueError(f"Lineitem sku is empty{named}")


def _order_row(mapper: Mapper, key: str, name: str, first: _Row, where: Where) -> Row:
    order_id = identifier("Id", first.get("Id")) if key == "id" else name
    row: Row = {
        "order_id": order_id,
        "placed_at": timestamp("Created at", first.get("Created at")),
    }
    optional = {
        "channel": "Source",
        "ship_to_country": "Shipping Country",
        "ship_to_postal": "Shipping Zip",
        "service_level": "Shipping Method",
    }
    for column, source in optional.items():
        if first.has(source):
            row[column] = text(source, first.get(source))
    if row.get("ship_to_country"):
        row["ship_to_country"] = str(row["ship_to_country"]).upper()
    if row.get("ship_to_postal"):
        row["ship_to_postal"] = str(row["ship_to_postal"]).lstrip("'") or None
    if first.has("Note Attributes"):
        promised = mapper.pick_promise(_attributes(first.get("Note Attributes")), where)
        if promised is not None:
            row["promised_delivery_date"] = promised
    if first.has("Total"):
        row["order_value"] = amount("Total", first.get("Total"))
    if first.has("Currency"):
        row["currency"] = first.get("Currency").upper() or None
    if first.has("Cancelled at"):
        row["cancelled_at"] = optional_timestamp("Cancelled at", first.get("Cancelled at"))
    return row


def _attributes(cell: str) -> list[tuple[str, Any]]:
    """The promised-date candidates of a Note Attributes cell ("name: value" per line)."""
    found: list[tuple[str, Any]] = []
    for line in cell.splitlines():
        name, colon, value = line.partition(":")
        if colon and promise_name(name):
            found.append((f"Note Attributes {name.strip()!r}", value.strip()))
    return found


def _record(row: _Row) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(row.raw)
    return buffer.getvalue()[:4000]
