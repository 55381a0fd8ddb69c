"""Where the KPI expressions run: the store's own engine (DuckDB, PostgreSQL) or Spark.

Spark reads the canonical tables as exported to Parquet (`tallyclerk export parquet`), the
hand-off for data that outgrows one machine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import ibis
import sqlalchemy as sa

from tallyclerk.contracts import Contract
from tallyclerk.contracts._repository import contract_versions, stored_contracts
from tallyclerk.domain import KINDS
from tallyclerk.errors import InputError
from tallyclerk.metrics._billing import contract_rates_table
from tallyclerk.metrics._context import MetricContext
from tallyclerk.metrics._frames import build_frames, sites_from_contracts
from tallyclerk.settings import Settings, get_settings
from tallyclerk.store import CANONICAL_TABLES, Store
from tallyclerk.store.bulk import driver_connection
from tallyclerk.store.schema import disputes as disputes_table

Engine = Literal["duckdb", "postgres", "spark"]
TABLES = (*(k.name for k in KINDS), "disputes")  # what KPI expressions may read
ENGINES: tuple[Engine, ...] = ("duckdb", "postgres", "spark")

# The span of dates the calendars must cover comes from these event columns: every
# timestamp a KPI reads a local date or a deadline from.
_SPAN_COLUMNS = (
    ("releases", "released_at"),
    ("shipments", "shipped_at"),
    ("receipts", "arrived_at"),
    ("receipts", "stocked_at"),
    ("returns", "received_at"),
    ("returns", "processed_at"),
    ("inventory_snapshots", "as_of"),
    ("tracking_events", "occurred_at"),
    ("orders", "placed_at"),
    ("adjustments", "occurred_at"),
    ("feedback", "received_at"),
    ("audits", "audited_at"),
    ("disputes", "opened_at"),
    ("disputes", "responded_at"),
)
_SPAN_TABLES: dict[str, sa.Table] = {**CANONICAL_TABLES, "disputes": disputes_table}


def load_versions(connection: sa.Connection) -> dict[str, list[Contract]]:
    """Every provider's stored contract versions."""
    providers = sorted({c.provider_id for c in stored_contracts(connection)})
    return {p: contract_versions(connection, p) for p in providers}


def data_span(connection: sa.Connection) -> tuple[date, date] | None:
    """The first and last dates any event in the store happened on."""
    lows: list[datetime] = []
    highs: list[datetime] = []
    by_table: dict[str, list[str]] = {}
    for kind, column in _SPAN_COLUMNS:
        by_table.setdefault(kind, []).append(column)
    for kind, columns in by_table.items():
        table = _SPAN_TABLES[kind]
        bounds = [f(table.c[c]) for c in columns for f in (sa.func.min, sa.func.max)]
        row = connection.execute(sa.select(*bounds)).one()
        for low, high in zip(row[::2], row[1::2], strict=True):
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


# Spark logs through log4j2 to the JVM's stderr: errors only, and no console progress bars.
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.console.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex
"""
_CORES = max(2, os.cpu_count() or 2)
_SPARK_CONF = (
    ("spark.app.name", "tallyclerk"),
    ("spark.sql.session.timeZone", "UTC"),
    ("spark.ui.enabled", "false"),
    ("spark.ui.showConsoleProgress", "false"),
    # Local mode: one partition per core (Spark's 200 shuffle partitions cost more in task
    # overhead than a single machine's data gains from them).
    ("spark.sql.shuffle.partitions", str(_CORES)),
    ("spark.default.parallelism", str(_CORES)),
    ("spark.driver.memory", "2g"),
)
_JVM_EXIT_SECONDS = 60
_PYSPARK_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")


def _tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file, for an error message."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _reap_launch(exc: BaseException) -> None:
    """Close the pipe to a JVM that failed to start (PySpark leaves its process behind)."""
    trace = exc.__traceback__
    while trace is not None:
        proc = trace.tb_frame.f_locals.get("proc")
        if isinstance(proc, subprocess.Popen):
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(timeout=_JVM_EXIT_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        trace = trace.tb_next


def _stop_jvm(gateway: Any) -> None:
    """Shut a Py4J gateway down and wait for its JVM to exit (it exits when stdin closes)."""
    from pyspark import SparkContext

    with contextlib.suppress(Exception):
        gateway.shutdown()
    proc = getattr(gateway, "proc", None)
    if proc is not None:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=_JVM_EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if SparkContext._gateway is gateway:  # the next session launches a new JVM
        SparkContext._gateway = None
        SparkContext._jvm = None


@functools.cache
def _detached_type(kind: type[BaseException]) -> type[BaseException]:
    """A subclass of a Spark exception type whose message no longer needs the JVM."""

    def message(self: BaseException) -> str:
        return str(getattr(self, "_detached_message", ""))

    return type(kind.__name__, (kind,), {"__str__": message, "__module__": kind.__module__})


def _detach(exc: BaseException) -> None:
    """Fetch the messages of Spark exceptions (and their causes) before the JVM stops.

    PySpark renders a captured exception's message through the JVM; once it is gone, the
    traceback would read "<exception str() failed>".
    """
    from pyspark.errors.exceptions.captured import CapturedException

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, CapturedException):
            with contextlib.suppress(Exception):
                text = str(current)
                current.__class__ = _detached_type(type(current))  # type: ignore[assignment,arg-type]
                current._detached_message = text  # type: ignore[attr-defined]
        current = current.__cause__ or current.__context__


@contextmanager
def _quiet_pyspark() -> Iterator[None]:
    """Silence PySpark's loggers that print every failed query (the exception says it all)."""
    from pyspark.logger import PySparkLogger

    loggers = [PySparkLogger.getLogger(name) for name in _PYSPARK_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextmanager
def spark_session() -> Iterator[Any]:
    """A quiet local Spark session in UTC; a JVM it started is stopped on exit.

    Inside a process that already runs a SparkContext, that context's session is used
    (with the session time zone set to UTC) and left running.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    if SparkContext._active_spark_context is not None:
        shared = SparkSession.builder.getOrCreate()
        shared.conf.set("spark.sql.session.timeZone", "UTC")
        yield shared
        return
    with tempfile.TemporaryDirectory(prefix="tallyclerk-spark-") as tmp, _quiet_pyspark():
        folder = Path(tmp)
        log4j = folder / "log4j2.properties"
        log4j.write_text(_LOG4J2, encoding="utf-8")
        conf = SparkConf().setMaster("local[*]").setAll(list(_SPARK_CONF))
        conf.set("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log4j.as_uri()}")
        conf.set("spark.local.dir", str(folder / "local"))
        conf.set("spark.sql.warehouse.dir", str(folder / "warehouse"))
        log = folder / "jvm.log"
        with log.open("wb") as jvm_output:
            gateway = None
            if SparkContext._gateway is None:
                # The JVM's own console (the JDK's start-up notices, log4j) goes to a file
                # that is quoted if Spark fails to start.
                try:
                    gateway = launch_gateway(  # type: ignore[no-untyped-call]
                        conf, popen_kwargs={"stdout": jvm_output, "stderr": jvm_output}
                    )
                except Exception as exc:
                    _reap_launch(exc)
                    raise RuntimeError(f"Spark did not start: {exc}\n{_tail(log)}") from exc
            try:
                session = SparkSession(SparkContext(conf=conf, gateway=gateway))
                try:
                    yield session
                except BaseException as exc:
                    _detach(exc)
                    raise
                finally:
                    session.stop()
            finally:
                if gateway is not None:
                    _stop_jvm(gateway)


def _contracts_from(versions: dict[str, list[Contract]], timezone: str) -> datetime | None:
    """Midnight, in the brand's zone, of the first effective date of any contract."""
    firsts = [c.effective for contracts in versions.values() for c in contracts]
    if not firsts:
        return None
    return datetime.combine(min(firsts), datetime.min.time(), tzinfo=ZoneInfo(timezone)).astimezone(
        UTC
    )


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
    # Every engine prices invoices from the same rate cards, read here once: a Parquet
    # export (Spark) has no contracts table.
    frames = dataclasses.replace(frames, rates=contract_rates_table(versions))
    contracts_from = _contracts_from(versions, settings.brand.timezone)
    if engine == "duckdb":
        backend, raw = _duckdb_backend(store)
        try:
            tables = {name: backend.table(name) for name in TABLES}
            yield MetricContext(backend, as_of, tables, frames, contracts_from)
        finally:
            raw.close()
        return
    if engine == "postgres":
        backend = _postgres_backend(store)
        try:
            tables = {name: backend.table(name) for name in TABLES}
            yield MetricContext(backend, as_of, tables, frames, contracts_from)
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
        yield MetricContext(backend, as_of, tables, frames, contracts_from)


__all__ = ["ENGINES", "Engine", "data_span", "driver_connection", "load_versions", "open_context"]
