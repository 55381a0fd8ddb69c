"""Parquet export of every canonical table, the hand-off to Spark or any other engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from tallyclerk.domain import KINDS, ColumnType, Kind
from tallyclerk.store._store import Store
from tallyclerk.store.bulk import column_list, driver_connection, quote

_ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.TEXT: pa.string(),
    ColumnType.CODE: pa.string(),
    ColumnType.TAGS: pa.string(),
    ColumnType.CURRENCY: pa.string(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.DECIMAL: pa.decimal128(18, 4),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    ColumnType.DATE: pa.date32(),
    ColumnType.BOOLEAN: pa.bool_(),
}
_ROWS_PER_GROUP = 100_000


def arrow_schema(kind: Kind) -> pa.Schema:
    """The Arrow schema of a canonical kind: the same on every engine."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.type]) for c in kind.columns])


@dataclass(frozen=True, slots=True)
class ExportedTable:
    """One written Parquet file."""

    kind: str
    path: Path
    rows: int


# Tables beside the canonical kinds that analytics read too (the dispute response KPI).
DISPUTES_SCHEMA = pa.schema(
    [
        ("dispute_id", pa.string()),
        ("provider_id", pa.string()),
        ("opened_at", pa.timestamp("us", tz="UTC")),
        ("subject", pa.string()),
        ("reference", pa.string()),
        ("amount", pa.decimal128(18, 4)),
        ("currency", pa.string()),
        ("status", pa.string()),
        ("responded_at", pa.timestamp("us", tz="UTC")),
        ("resolved_at", pa.timestamp("us", tz="UTC")),
        ("resolution", pa.string()),
        ("source", pa.string()),
        ("source_ref", pa.string()),
        ("opened_by", pa.string()),
        ("details", pa.string()),
    ]
)
EXTRA_TABLES: dict[str, tuple[pa.Schema, tuple[str, ...]]] = {
    "disputes": (DISPUTES_SCHEMA, ("dispute_id",)),
}


def export_parquet(
    store: Store, out_dir: Path, *, on_table: Callable[[str], None] | None = None
) -> list[ExportedTable]:
    """Write every canonical table (and the disputes) to `out_dir/<name>.parquet`, streamed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    tables: list[tuple[str, pa.Schema, tuple[str, ...]]] = [
        (k.name, arrow_schema(k), k.key) for k in KINDS
    ]
    tables += [(name, schema, key) for name, (schema, key) in EXTRA_TABLES.items()]
    with store.connect() as connection:
        for name, schema, key in tables:
            if on_table is not None:
                on_table(name)
            path = out_dir / f"{name}.parquet"
            rows = _write_table(connection, name, schema, key, path)
            written.append(ExportedTable(name, path, rows))
    return written


def _write_table(
    connection: sa.Connection, name: str, schema: pa.Schema, key: tuple[str, ...], path: Path
) -> int:
    order = ", ".join(quote(k) for k in key)
    sql = f"SELECT {column_list(schema.names)} FROM {quote(name)} ORDER BY {order}"
    rows = 0
    tmp = path.with_suffix(".parquet.tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        if connection.dialect.name == "duckdb":
            reader = driver_connection(connection).execute(sql).to_arrow_reader(_ROWS_PER_GROUP)
            for batch in reader:
                table = pa.Table.from_batches([batch]).cast(schema)
                writer.write_table(table)
                rows += table.num_rows
        else:
            result = connection.execution_options(stream_results=True).exec_driver_sql(sql)
            for part in result.partitions(_ROWS_PER_GROUP):
                columns: list[tuple[object, ...]] = (
                    list(zip(*part, strict=True)) if part else [() for _ in schema]
                )
                table = pa.table(
                    [pa.array(col, f.type) for col, f in zip(columns, schema, strict=True)],
                    schema=schema,
                )
                writer.write_table(table)
                rows += table.num_rows
    tmp.replace(path)
    return rows
