"""Parquet export: every canonical table, the same on DuckDB and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.domain import KINDS
from tallyclerk.ingest import ingest_paths
from tallyclerk.settings import Settings
from tallyclerk.simulate import simulate
from tallyclerk.store import Store, open_store
from tallyclerk.store.export import arrow_schema, export_parquet


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    simulate(out, 400, seed=3)
    return out


def _load(store: Store, data: Path) -> None:
    with store.begin() as connection:
        for path in sorted((data / "contracts").glob("*.yaml")):
            add_contract(connection, load_contract(path), path.read_text(), path.name)
    run = ingest_paths(store, [data])
    assert run.ok, [(b.kind, b.rejects[:3]) for b in run.batches if not b.ok]


def _csv_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def test_export_writes_every_table_with_the_canonical_schema(
    store: Store, demo_data: Path, tmp_path: Path
) -> None:
    _load(store, demo_data)
    written = export_parquet(store, tmp_path / "parquet")
    assert [w.kind for w in written] == [*(k.name for k in KINDS), "disputes"]
    for item, kind in zip(written, KINDS, strict=False):
        table = pq.read_table(item.path)
        assert table.schema == arrow_schema(kind)
        assert item.rows == table.num_rows == _csv_rows(demo_data / f"{kind.name}.csv")


@pytest.mark.postgres
def test_duckdb_and_postgres_export_identical_tables(
    demo_data: Path, postgres_url: str, tmp_path: Path
) -> None:
    exported = {}
    for name, url in (("duckdb", f"duckdb:///{tmp_path / 's.duckdb'}"), ("postgres", postgres_url)):
        store = open_store(Settings(database_url=url))
        try:
            _load(store, demo_data)
            export_parquet(store, tmp_path / name)
        finally:
            store.close()
        exported[name] = tmp_path / name
    for name in [*(k.name for k in KINDS), "disputes"]:
        left = pq.read_table(exported["duckdb"] / f"{name}.parquet")
        right = pq.read_table(exported["postgres"] / f"{name}.parquet")
        assert left.equals(right), name
