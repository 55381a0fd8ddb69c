"""Bulk loading of Arrow tables: DuckDB scans Arrow directly, PostgreSQL receives COPY."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa

_COPY_CHUNK_ROWS = 100_000


def driver_connection(connection: sa.Connection) -> Any:
    """The DB-API connection under a SQLAlchemy connection (same transaction)."""
    return connection.connection.driver_connection


def quote(identifier: str) -> str:
    """Quote an SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def column_list(columns: Sequence[str]) -> str:
    """A comma-separated list of quoted identifiers."""
    return ", ".join(quote(c) for c in columns)


def append_arrow(connection: sa.Connection, table: str, data: pa.Table) -> None:
    """Append every row of `data` to `table` (columns matched by name), in bulk."""
    if data.num_rows == 0:
        return
    columns = column_list(data.column_names)
    if connection.dialect.name == "duckdb":
        raw = driver_connection(connection)
        view = "_tallyclerk_arrow_in"
        raw.register(view, data)
        try:
            raw.execute(f"INSERT INTO {quote(table)} ({columns}) SELECT {columns} FROM {view}")
        finally:
            raw.unregister(view)
        return
    raw = driver_connection(connection)
    with raw.cursor() as cursor:
        statement = f"COPY {quote(table)} ({columns}) FROM STDIN (FORMAT csv, HEADER false)"
        with cursor.copy(statement) as copy:
            for batch in data.to_batches(max_chunksize=_COPY_CHUNK_ROWS):
                buffer = io.BytesIO()
                pa_csv.write_csv(
                    pa.Table.from_batches([batch]),
                    buffer,
                    write_options=pa_csv.WriteOptions(include_header=False, quoting_style="needed"),
                )
                copy.write(buffer.getvalue())


def create_temp_like(
    connection: sa.Connection, name: str, source: str, extra_columns: Sequence[str] = ()
) -> None:
    """Create an empty temporary table with the columns of `source` plus BIGINT extras."""
    extras = "".join(f", CAST(NULL AS BIGINT) AS {quote(c)}" for c in extra_columns)
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {quote(name)} AS SELECT *{extras} FROM {quote(source)} WHERE 1 = 0"
    )


def fetch_arrow(connection: sa.Connection, sql: str) -> pa.Table:
    """Run a query and return its result as an Arrow table (native on DuckDB)."""
    if connection.dialect.name == "duckdb":
        result = driver_connection(connection).execute(sql)
        return result.arrow() if hasattr(result, "arrow") else result.fetch_arrow_table()
    rows = connection.exec_driver_sql(sql)
    names = list(rows.keys())
    records = [dict(zip(names, row, strict=True)) for row in rows]
    if not records:
        return pa.table({n: pa.array([], pa.string()) for n in names})
    return pa.Table.from_pylist(records)
