"""Helpers for tests that need a small store with hand-made records.

    store = tiny_store(tmp_path, releases=[{...}], shipments=[{...}], ...)
    results = figures(store, "ship_on_time_rate", as_of=...)

Records are written as canonical CSV and ingested, so tests exercise the real path; an
ingest that quarantines anything fails the test (the fixture itself would be wrong).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.domain import KINDS_BY_NAME
from tallyclerk.ingest import ingest_paths
from tallyclerk.metrics import Grain, MetricResult, compute, metric_items, open_context
from tallyclerk.settings import Settings
from tallyclerk.store import Store, open_store

FIXTURES = Path(__file__).parent / "fixtures"
WESTCOAST = FIXTURES / "contracts" / "westcoast.yaml"
EASTBRIDGE = FIXTURES / "contracts" / "eastbridge.yaml"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def write_kind(folder: Path, kind: str, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write records of one kind as a canonical CSV file."""
    columns = KINDS_BY_NAME[kind].column_names
    path = folder / f"{kind}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            unknown = set(row) - set(columns)
            if unknown:
                raise KeyError(f"{kind} has no column(s) {sorted(unknown)}")
            writer.writerow([_text(row.get(c)) for c in columns])
    return path


def tiny_store(
    tmp_path: Path,
    *,
    contracts: Iterable[Path | str] = (WESTCOAST,),
    url: str | None = None,
    brand_timezone: str = "UTC",
    **kinds: Iterable[Mapping[str, Any]],
) -> Store:
    """A store holding the given contracts (files or YAML text) and records."""
    settings = Settings(
        database_url=url or f"duckdb:///{tmp_path / 'tiny.duckdb'}",
        brand={"timezone": brand_timezone},  # type: ignore[arg-type]
    )
    store = open_store(settings)
    with store.begin() as connection:
        for i, contract in enumerate(contracts):
            if isinstance(contract, Path):
                path = contract
            else:
                path = tmp_path / f"contract-{i}.yaml"
                path.write_text(contract, encoding="utf-8")
            add_contract(
                connection, load_contract(path), path.read_text(encoding="utf-8"), path.name
            )
    folder = tmp_path / "records"
    folder.mkdir(exist_ok=True)
    for kind, rows in kinds.items():
        write_kind(folder, kind, rows)
    if kinds:
        run = ingest_paths(store, [folder], settings=settings)
        problems = [(b.kind, r.line, r.reason) for b in run.batches for r in b.rejects]
        assert not problems, problems
        assert all(b.status == "landed" for b in run.batches), [b.message for b in run.batches]
    store.settings = settings  # type: ignore[attr-defined]
    return store


def figures(
    store: Store,
    metric: str,
    as_of: datetime = datetime(2027, 6, 1, tzinfo=UTC),
    *,
    grain: Grain = "month",
    by_facility: bool = False,
    with_ids: bool = True,
) -> list[MetricResult]:
    """A metric's figures on the tiny store."""
    settings = getattr(store, "settings", None)
    with open_context(store, as_of=as_of, settings=settings) as ctx:
        return compute(ctx, [metric], grain=grain, by_facility=by_facility, with_ids=with_ids)


def items(
    store: Store, metric: str, as_of: datetime = datetime(2027, 6, 1, tzinfo=UTC)
) -> list[dict[str, Any]]:
    """A metric's item rows, sorted by item id."""
    settings = getattr(store, "settings", None)
    with open_context(store, as_of=as_of, settings=settings) as ctx:
        rows = metric_items(ctx, metric).to_pyarrow().to_pylist()
    return sorted(rows, key=lambda r: str(r["item_id"]))
