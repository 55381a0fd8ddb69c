"""Canonical CSV output (DESIGN section 4): one file per kind, rows buffered and streamed."""

from __future__ import annotations

import csv
from pathlib import Path
from types import TracebackType
from typing import IO

COLUMNS: dict[str, tuple[str, ...]] = {
    "products": ("sku", "name", "unit_cost", "weight_kg", "units_per_pallet"),
    "orders": (
        "order_id",
        "placed_at",
        "channel",
        "ship_to_country",
        "ship_to_postal",
        "service_level",
        "promised_delivery_date",
        "order_value",
        "currency",
        "cancelled_at",
    ),
    "order_lines": ("order_id", "line_no", "sku", "qty", "unit_price"),
    "releases": ("order_id", "provider_id", "facility_id", "released_at"),
    "shipments": (
        "shipment_id",
        "order_id",
        "provider_id",
        "facility_id",
        "shipped_at",
        "carrier",
        "service",
        "tracking_number",
        "packaging",
        "weight_kg",
        "shipping_cost",
    ),
    "shipment_lines": ("shipment_id", "sku", "qty"),
    "tracking_events": ("tracking_number", "carrier", "status", "occurred_at", "location"),
    "inventory_snapshots": (
        "provider_id",
        "facility_id",
        "as_of",
        "sku",
        "on_hand",
        "available",
        "damaged",
    ),
    "receipts": (
        "receipt_id",
        "provider_id",
        "facility_id",
        "asn_id",
        "sku",
        "expected_qty",
        "received_qty",
        "arrived_at",
        "stocked_at",
    ),
    "adjustments": (
        "adjustment_id",
        "provider_id",
        "facility_id",
        "sku",
        "qty_delta",
        "occurred_at",
        "reason",
        "approved",
    ),
    "returns": (
        "return_id",
        "order_id",
        "provider_id",
        "facility_id",
        "sku",
        "qty",
        "reason",
        "received_at",
        "processed_at",
        "disposition",
    ),
    "invoice_lines": (
        "invoice_id",
        "line_no",
        "provider_id",
        "invoice_date",
        "period_start",
        "period_end",
        "charge_type",
        "reference",
        "quantity",
        "unit_rate",
        "amount",
        "currency",
    ),
    "feedback": ("feedback_id", "order_id", "channel", "received_at", "score", "tags", "text"),
    "audits": (
        "audit_id",
        "provider_id",
        "facility_id",
        "order_id",
        "audited_at",
        "checklist_item",
        "passed",
        "note",
    ),
}

KINDS: tuple[str, ...] = tuple(COLUMNS)

Row = tuple[str, ...]


class TableWriter:
    """One open canonical CSV file; `append` queues a row of preformatted strings."""

    __slots__ = ("_file", "_width", "_writer", "append", "count", "path", "rows")

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self.path = path
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(columns)
        self._width = len(columns)
        self.rows: list[Row] = []
        self.append = self.rows.append
        self.count = 0

    def flush(self) -> None:
        """Write the queued rows, in the order they were appended."""
        rows = self.rows
        if not rows:
            return
        self.count += len(rows)
        # Fast path, byte-identical to csv.writer: when no field holds a comma, quote or line
        # break, QUOTE_MINIMAL output is the fields joined by commas.
        text = "\n".join([",".join(row) for row in rows])
        plain = (
            text.count(",") == len(rows) * (self._width - 1)
            and text.count("\n") == len(rows) - 1
            and '"' not in text
            and "\r" not in text
        )
        if plain:
            self._file.write(text)
            self._file.write("\n")
        else:
            self._writer.writerows(rows)
        rows.clear()

    def close(self) -> None:
        """Flush and close the file."""
        self.flush()
        self._file.close()


class Tables:
    """The open writers of every kind, closed together."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.writers = {
            kind: TableWriter(out_dir / f"{kind}.csv", columns) for kind, columns in COLUMNS.items()
        }

    def __getitem__(self, kind: str) -> TableWriter:
        return self.writers[kind]

    def __enter__(self) -> Tables:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for writer in self.writers.values():
            writer.close()

    def flush(self) -> None:
        """Write every queued row (the caller bounds memory by flushing often)."""
        for writer in self.writers.values():
            writer.flush()

    def counts(self) -> dict[str, int]:
        """Rows written per kind (after closing)."""
        return {kind: w.count for kind, w in self.writers.items()}

    def paths(self) -> dict[str, Path]:
        """File path per kind."""
        return {kind: w.path for kind, w in self.writers.items()}
