"""Where the KPI expressions run: the store's own engine (DuckDB, PostgreSQL) or Spark.

Spark reads the canonical tables as exported to Parquet (`tallyclerk export parquet`), the
hand-off for data that outgrows one machine.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import ibis
import sqlalchemy as sa

from tallyclerk.contracts import Contract
from tallyclerk.contracts._repository import contract_versions, stored_contracts
from tallyclerk.domain import KINDS
from tallyclerk.errors import InputError
from tallyclerk.metrics._context import MetricContext
from tallyclerk.metrics._frames import build_frames, sites_from_contracts
from tallyclerk.settings import Settings, get_settings
from tallyclerk.store import CANONICAL_TABLES, Store
from tallyclerk.store.bulk import driver_connection

Engine = Literal["duckdb", "postgres", "spark"]
TABLES = (*(k.name for k in KINDS), "disputes")  # what KPI expressions may read
ENGINES: tuple[Engine, ...] = ("duckdb", "postgres", "spark")

# The span of dates the calendars must cover comes from these event columns.
_SPAN_COLUMNS = (
    ("releases", "released_at"),
    ("shipments", "shipped_at"),
    ("receipts", "arrived_at"),
    ("returns", "received_at"),
    ("inventory_snapshots", "as_of"),
    ("tracking_events", "occurred_at"),
    ("orders", "placed_at"),
)


def load_versions(connection: sa.Connection) -> dict[str, list[Contract]]:
    """Every provider's stored contract versions."""
    providers = sorted({c.provider_id for c in stored_contracts(connection)})
    return {p: contract_versions(connection, p) for p in providers}


def data_span(connection: sa.Connection) -> tuple[date, date] | None:
    """The first and last dates any event in the store happened on."""
    lows: list[datetime] = []
    highs: list[datetime] = []
    for kind, column in _SPAN_COLUMNS:
        col = CANONICAL_TABLES[kind].c[column]
        low, high = connection.execute(sa.select(sa.func.min(col), sa.func.max(col))).one()
        if low is not None:
            lows.append(low)
            highs.append(high)
    if not lows:
        return None
    return min(lows).date(), max(highs).date()


def _duckdb_backend(store: Store) -> tuple[ibis.BaseBackend, Any]:
    raw = store.engine.raw_connection()
    wrapper = raw.driver_connection
    # duckdb-engine wraps the DuckDB connection; Ibis needs the connection itself, and the
    # store's single pooled connection is the only one this process may hold on the file.
    con = getattr(wrapper, "_ConnectionWrapper__c", wrapper)
    return ibis.duckdb.from_connection(con), raw


def _postgres_backend(store: Store) -> ibis.BaseBackend:
    url = store.engine.url
    return ibis.postgres.connect(
        host=url.host or "localhost",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )


@contextmanager
def spark_session() -> Iterator[Any]:
    """A local Spark session in UTC (local mode on this machine's cores)."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[*]")
        .appName("tallyclerk")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


@contextmanager
def open_context(
    store: Store,
    *,
    engine: Engine | None = None,
    as_of: datetime | None = None,
    settings: Settings | None = None,
    parquet_dir: Path | None = None,
) -> Iterator[MetricContext]:
    """A MetricContext over the store's data on the chosen engine."""
    settings = settings or get_settings()
    engine = engine or ("duckdb" if store.dialect == "duckdb" else "postgres")
    if engine == "duckdb" and store.dialect != "duckdb":
        raise InputError("--engine duckdb needs a DuckDB store; this store is PostgreSQL")
    if engine == "postgres" and store.dialect != "postgresql":
        raise InputError("--engine postgres needs a PostgreSQL store; this store is DuckDB")
    as_of = (as_of or datetime.now(UTC)).astimezone(UTC)
    with store.connect() as connection:
        versions = load_versions(connection)
        span = data_span(connection)
    first, last = span or (as_of.date(), as_of.date())
    last = max(last, min(as_of.date(), last + timedelta(days=366)))
    frames = build_frames(
        sites_from_contracts(versions, settings.brand.timezone), versions, first, last
    )
    if engine == "duckdb":
        backend, raw = _duckdb_backend(store)
        try:
            tables = {name: backend.table(name) for name in TABLES}
            yield MetricContext(backend, as_of, tables, frames)
        finally:
            raw.close()
        return
    if engine == "postgres":
        backend = _postgres_backend(store)
        try:
            tables = {name: backend.table(name) for name in TABLES}
            yield MetricContext(backend, as_of, tables, frames)
        finally:
            backend.disconnect()
        return
    with spark_session() as session, tempfile.TemporaryDirectory() as tmp:
        from tallyclerk.store.export import export_parquet

        folder = parquet_dir or Path(tmp)
        if parquet_dir is None:
            export_parquet(store, folder)
        backend = ibis.pyspark.connect(session)
        tables = {
            name: backend.read_parquet(str(folder / f"{name}.parquet"), table_name=name)
            for name in TABLES
        }
        yield MetricContext(backend, as_of, tables, frames)


__all__ = ["ENGINES", "Engine", "data_span", "driver_connection", "load_versions", "open_context"]
