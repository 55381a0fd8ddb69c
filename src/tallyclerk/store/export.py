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


def export_parquet(
    store: Store, out_dir: Path, *, on_table: Callable[[str], None] | None = None
) -> list[ExportedTable]:
    """Write every canonical table to `out_dir/<kind>.parquet` (streamed, bounded memory)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with store.connect() as connection:
        for kind in KINDS:
            if on_table is not None:
                on_table(kind.name)
            path = out_dir / f"{kind.name}.parquet"
            rows = _write_table(connection, kind, path)
            written.append(ExportedTable(kind.name, path, rows))
    return written


def _write_table(connection: sa.Connection, kind: Kind, path: Path) -> int:
    schema = arrow_schema(kind)
    order = ", ".join(quote(k) for k in kind.key)
    sql = f"SELECT {column_list(kind.column_names)} FROM {quote(kind.name)} ORDER BY {order}"
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
