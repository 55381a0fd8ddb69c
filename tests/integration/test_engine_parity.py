"""The whole KPI catalogue gives the same figures on DuckDB, PostgreSQL and Spark.

A simulated year (about 2,000 orders) is loaded into a DuckDB store and a PostgreSQL store,
and exported to Parquet for Spark; every registered metric (so metrics added later are
covered without touching this file) is computed on the three engines with one evaluation
clock, and every figure is compared: numerator, denominator, value and drill-down ids.
Spark starts once for the module and its JVM is gone after it.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import ibis
import psycopg
import pyarrow as pa
import pytest

from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.ingest import ingest_paths
from tallyclerk.metrics import (
    Grain,
    MetricContext,
    MetricResult,
    catalogue,
    compute,
    open_context,
    spark_session,
)
from tallyclerk.settings import Settings
from tallyclerk.simulate import simulate
from tallyclerk.store import Store, open_store
from tallyclerk.store.export import export_parquet

pytestmark = [
    pytest.mark.spark,
    pytest.mark.postgres,
    pytest.mark.slow,
    # PySpark 4.0's toPandas passes `copy=False`, which pandas deprecates (pandas 3 warns
    # with its own Pandas4Warning, which pandas 2 does not have: no category named here).
    pytest.mark.filterwarnings(r"ignore:The copy keyword is deprecated::pyspark\.sql\.pandas"),
    # Ibis 12 reads pandas' `future.infer_string` option, which pandas 3 deprecates.
    pytest.mark.filterwarnings(
        r"ignore:The 'future.infer_string' option is deprecated::ibis\.formats\.pandas"
    ),
    # PySpark 4.0's collect() closes the file of its result socket but not the socket.
    pytest.mark.filterwarnings(
        r"ignore:unclosed <socket\.socket.*raddr=\('127\.0\.0\.1':ResourceWarning"
    ),
]

ORDERS = 2000
SEED = 5
BRAND_ZONE = "America/Chicago"  # the simulated brand's clock
# Mid-December: peak season, with orders still pending, returns still open and the
# evaluation clock cutting through every table.
AS_OF = datetime(2026, 12, 10, 17, 30, tzinfo=UTC)
ENGINES = ("duckdb", "postgres", "spark")
# Beside the whole catalogue by month: a couple of metrics per facility and by week.
VARIANT_METRICS = ("ship_on_time_rate", "order_cycle_hours_p90")
VARIANTS: tuple[tuple[Grain, bool], ...] = (("month", False), ("month", True), ("week", False))
REL_TOL = 1e-9  # floats (quantiles) may differ in their last bits between engines, no more

Key = tuple[str, str, str | None, date, str]
_UTC_US = pa.timestamp("us", tz="UTC")


def _unavailable(what: str, exc: BaseException) -> NoReturn:
    """In CI an engine that cannot run fails the test; elsewhere it skips it."""
    reason = f"{what} unavailable: {type(exc).__name__}: {str(exc).strip()[:500]}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@dataclass
class Stores:
    """The same data in both stores, and as Parquet."""

    duckdb: Store
    postgres: Store
    parquet: Path
    settings: dict[str, Settings]


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated year of canonical files and contracts."""
    out = tmp_path_factory.mktemp("parity-data")
    simulate(out, ORDERS, seed=SEED)
    return out


def _load(store: Store, data: Path, settings: Settings) -> None:
    with store.begin() as connection:
        for path in sorted((data / "contracts").glob("*.yaml")):
            add_contract(connection, load_contract(path), path.read_text("utf-8"), path.name)
    run = ingest_paths(store, [data], settings=settings)
    assert run.ok, [(b.kind, b.rejects[:3]) for b in run.batches if not b.ok]


@pytest.fixture(scope="module")
def postgres_database(postgres_admin: str) -> Iterator[str]:
    """A database of its own for the module, dropped afterwards."""
    name = f"tallyclerk_parity_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(postgres_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def stores(
    demo_data: Path, postgres_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stores]:
    """The demo data loaded into DuckDB and PostgreSQL, and exported from DuckDB."""
    folder = tmp_path_factory.mktemp("parity-stores")
    urls = {"duckdb": f"duckdb:///{folder / 'store.duckdb'}", "postgres": postgres_database}
    settings = {
        name: Settings(database_url=url, brand={"timezone": BRAND_ZONE})  # type: ignore[arg-type]
        for name, url in urls.items()
    }
    with ExitStack() as stack:
        opened = {}
        for name, config in settings.items():
            store = open_store(config)
            stack.callback(store.close)
            _load(store, demo_data, config)
            opened[name] = store
        parquet = folder / "parquet"
        export_parquet(opened["duckdb"], parquet)
        yield Stores(opened["duckdb"], opened["postgres"], parquet, settings)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One quiet local Spark session for the module; its JVM must not outlive it."""
    from pyspark import SparkContext

    with ExitStack() as stack:
        try:
            session = stack.enter_context(spark_session())
        except Exception as exc:
            _unavailable("Spark", exc)
        gateway = SparkContext._gateway
        jvm = getattr(gateway, "proc", None)
        yield session
    assert SparkContext._active_spark_context is None
    if jvm is not None:
        assert jvm.poll() is not None, "the Spark JVM outlived its session"


@pytest.fixture(scope="module")
def contexts(spark: Any, stores: Stores) -> Iterator[dict[str, MetricContext]]:
    """A MetricContext per engine, over the same data and the same clock."""
    with ExitStack() as stack:
        opened = {
            "duckdb": stack.enter_context(
                open_context(
                    stores.duckdb, engine="duckdb", as_of=AS_OF, settings=stores.settings["duckdb"]
                )
            ),
            "postgres": stack.enter_context(
                open_context(
                    stores.postgres,
                    engine="postgres",
                    as_of=AS_OF,
                    settings=stores.settings["postgres"],
                )
            ),
            # Inside the module's session, open_context uses it rather than starting another.
            "spark": stack.enter_context(
                open_context(
                    stores.duckdb,
                    engine="spark",
                    as_of=AS_OF,
                    settings=stores.settings["duckdb"],
                    parquet_dir=stores.parquet,
                )
            ),
        }
        assert opened["spark"].backend._session is spark
        yield opened


def _figures(results: list[MetricResult]) -> dict[Key, MetricResult]:
    figures: dict[Key, MetricResult] = {}
    for r in results:
        key = (r.metric, r.provider_id, r.facility_id, r.period, r.grain)
        assert key not in figures, f"two figures for {key}"
        figures[key] = r
    return figures


def _same_value(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=REL_TOL)


def _differences(
    name: str, base: dict[Key, MetricResult], other: dict[Key, MetricResult]
) -> list[str]:
    """What differs between DuckDB's figures and another engine's, one line each."""
    problems = [f"{name} lacks {k}" for k in sorted(base.keys() - other.keys(), key=str)]
    problems += [f"{name} adds {k}" for k in sorted(other.keys() - base.keys(), key=str)]
    for key in sorted(base.keys() & other.keys(), key=str):
        a, b = base[key], other[key]
        if (a.numerator, a.denominator) != (b.numerator, b.denominator):
            problems.append(
                f"{key}: duckdb {a.numerator}/{a.denominator}, {name} {b.numerator}/{b.denominator}"
            )
        if not _same_value(a.value, b.value):
            problems.append(f"{key}: value duckdb {a.value!r}, {name} {b.value!r}")
        if a.ids != b.ids:
            only_a = sorted(set(a.ids) - set(b.ids))[:5]
            only_b = sorted(set(b.ids) - set(a.ids))[:5]
            problems.append(f"{key}: ids only on duckdb {only_a}, only on {name} {only_b}")
    return problems


def _variants(metric: str) -> tuple[tuple[Grain, bool], ...]:
    return VARIANTS if metric in VARIANT_METRICS else VARIANTS[:1]


@pytest.mark.parametrize("metric", [m.name for m in catalogue()])
def test_every_engine_gives_the_same_figures(
    metric: str, contexts: dict[str, MetricContext]
) -> None:
    problems: list[str] = []
    for grain, by_facility in _variants(metric):
        figures = {
            engine: _figures(
                compute(ctx, [metric], grain=grain, by_facility=by_facility, with_ids=True)
            )
            for engine, ctx in contexts.items()
        }
        for engine in ENGINES[1:]:
            problems += [
                f"[{grain}{', by facility' if by_facility else ''}] {line}"
                for line in _differences(engine, figures["duckdb"], figures[engine])
            ]
    assert not problems, f"{len(problems)} difference(s):\n" + "\n".join(problems[:40])


def test_the_catalogue_has_data_to_compare(contexts: dict[str, MetricContext]) -> None:
    """The parity above is not vacuous: the core KPIs have figures with items in them."""
    results = compute(contexts["duckdb"], ["ship_on_time_rate", "order_cycle_hours_p50"])
    assert {r.metric for r in results} == {"ship_on_time_rate", "order_cycle_hours_p50"}
    assert sum(r.denominator for r in results if r.metric == "ship_on_time_rate") > ORDERS // 2


def test_hours_between_is_the_same_on_every_engine(contexts: dict[str, MetricContext]) -> None:
    """The helper for durations: whole seconds and float division everywhere."""
    starts = [datetime(2026, 3, 1, 8, 0, 0, 500_000), datetime(2026, 3, 8, 9, 59, 59)]
    ends = [datetime(2026, 3, 2, 9, 30, 1, 999_999), datetime(2026, 3, 8, 10, 0, 1)]
    table = ibis.memtable(
        pa.table(
            {
                "n": pa.array([0, 1], pa.int64()),
                "start": pa.array([s.replace(tzinfo=UTC) for s in starts], _UTC_US),
                "end": pa.array([e.replace(tzinfo=UTC) for e in ends], _UTC_US),
            }
        )
    )
    expected = [(25 * 3600 + 30 * 60 + 1) / 3600, 2 / 3600]
    for engine, ctx in contexts.items():
        expr = table.select("n", hours=ctx.hours_between(table.start, table.end)).order_by("n")
        got = ctx.backend.to_pyarrow(expr).column("hours").to_pylist()
        assert got == expected, engine


@pytest.mark.parametrize("domain", ["handoff", "inventory", "invoice"])
def test_every_engine_finds_the_same_findings(
    domain: str, contexts: dict[str, MetricContext]
) -> None:
    """Reconciliation and the invoice audit are Ibis expressions too: the same findings
    (subject, provider, age, money) on every engine."""
    from tallyclerk.reconcile import detect

    found = {
        engine: {
            d.fingerprint: (
                d.facility_id,
                d.since,
                None if d.amount is None else round(d.amount, 4),
            )
            for d in detect(ctx, [domain])  # type: ignore[list-item]
        }
        for engine, ctx in contexts.items()
    }
    assert found["duckdb"], f"no {domain} finding to compare"
    for engine in ENGINES[1:]:
        only_duckdb = sorted(found["duckdb"].keys() - found[engine].keys())[:5]
        only_other = sorted(found[engine].keys() - found["duckdb"].keys())[:5]
        assert not only_duckdb, (engine, "missing", only_duckdb)
        assert not only_other, (engine, "extra", only_other)
        differing = [k for k in found["duckdb"] if found["duckdb"][k] != found[engine][k]][:5]
        assert not differing, [(k, found["duckdb"][k], found[engine][k]) for k in differing]
