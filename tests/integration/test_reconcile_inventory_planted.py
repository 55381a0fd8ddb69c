"""Inventory reconciliation on a simulated year: the planted drift, and nothing else.

The simulator (3,000 orders, seed 3) plants shrink on four LAX1 SKUs of westcoast: units go
missing without an adjustment, so the gap to the book only grows. The inventory checks must
find exactly those SKUs, with the generator's own book, count and first gap; a year simulated
without planted problems must give no inventory finding at all.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.ingest import ingest_paths
from tallyclerk.metrics import open_context
from tallyclerk.reconcile import Detected, detect, run_findings
from tallyclerk.reconcile._inventory import DRIFT_MIN_STEPS, explain_book, inventory_report
from tallyclerk.settings import Settings
from tallyclerk.simulate import simulate
from tallyclerk.store import Store, open_store

pytestmark = pytest.mark.slow

AS_OF = datetime(2027, 6, 1, tzinfo=UTC)  # after every simulated event
MIDYEAR = datetime(2026, 7, 1, tzinfo=UTC)
LAX = ZoneInfo("America/Los_Angeles")


@dataclass
class Simulated:
    """A loaded simulation and what the generator says it planted."""

    store: Store
    settings: Settings
    drift: dict[str, Any]  # the planted problem `westcoast_inventory_drift`, if any
    unit_cost: dict[str, Decimal]
    skus: int
    facilities: int

    def detect(self, as_of: datetime = AS_OF) -> list[Detected]:
        with open_context(self.store, as_of=as_of, settings=self.settings) as ctx:
            return detect(ctx, ["inventory"])


def _simulated(root: Path, problems: bool) -> Simulated:
    summary = simulate(root / "sim", 3000, seed=3, problems=problems)
    planted = json.loads(summary.planted_path.read_text(encoding="utf-8"))
    settings = Settings(
        database_url=f"duckdb:///{root / 'store.duckdb'}",
        brand={"timezone": "America/Chicago"},  # type: ignore[arg-type]
    )
    store = open_store(settings)
    facilities = 0
    with store.begin() as connection:
        for path in sorted((summary.out_dir / "contracts").glob("*.yaml")):
            contract = load_contract(path)
            facilities += len(contract.facilities)
            add_contract(connection, contract, path.read_text(encoding="utf-8"), path.name)
    run = ingest_paths(store, [summary.out_dir], settings=settings)
    assert all(b.status == "landed" and not b.rejects for b in run.batches)
    with (summary.out_dir / "products.csv").open(encoding="utf-8") as handle:
        costs = {row["sku"]: Decimal(row["unit_cost"]) for row in csv.DictReader(handle)}
    drift = next((p for p in planted["problems"] if p["name"] == "westcoast_inventory_drift"), {})
    return Simulated(store, settings, drift, costs, len(costs), facilities)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulated]:
    loaded = _simulated(tmp_path_factory.mktemp("inventory-planted"), problems=True)
    try:
        yield loaded
    finally:
        loaded.store.close()


def test_findings_are_exactly_the_planted_drift(planted: Simulated) -> None:
    drift = planted.drift
    skus = set(drift["ids"])
    assert len(skus) == 4
    found = planted.detect()
    assert {(d.kind, d.provider_id, d.subject_id) for d in found} == {
        (kind, "westcoast", f"LAX1|{sku}")
        for kind in ("inventory_variance", "inventory_drift")
        for sku in skus
    }
    for d in found:
        sku = d.subject_id.split("|")[1]
        final = drift["observed"][sku]
        assert (d.evidence["book"], d.evidence["on_hand"]) == (final["book"], final["on_hand"])
        assert d.evidence["variance"] == -final["gap"]
        assert d.since is not None
        # The gap opened at the generator's first snapshot with a gap and never closed.
        first_gap = drift["details"]["first_snapshot_with_gap"][sku]
        assert d.since.astimezone(LAX).date().isoformat() == first_gap
        assert d.evidence["first_gap_at"][:10] == first_gap
        if d.kind == "inventory_variance":
            assert d.amount == final["gap"] * planted.unit_cost[sku]
            assert d.currency == "USD"
        else:
            assert d.evidence["recovered"] == 0
            # Each snapshot with new shrink deepened the gap (by a unit or more).
            assert DRIFT_MIN_STEPS <= d.evidence["deepened"] <= final["gap"]
            assert d.evidence["drift_per_30_days"] < 0


def test_midyear_the_drift_is_already_flagged(planted: Simulated) -> None:
    found = planted.detect(MIDYEAR)
    skus = set(planted.drift["ids"])
    assert {(d.kind, d.subject_id) for d in found} == {
        (kind, f"LAX1|{sku}") for kind in ("inventory_variance", "inventory_drift") for sku in skus
    }


def test_report_and_explanation(planted: Simulated) -> None:
    with open_context(planted.store, as_of=AS_OF, settings=planted.settings) as ctx:
        report = inventory_report(ctx)
        everything = inventory_report(ctx, include_all=True)
        sku = planted.drift["ids"][0]
        explained = explain_book(ctx, sku, facility_id="LAX1", last=None)
    assert report.checked == planted.skus * planted.facilities
    assert len(everything.positions) == report.checked
    assert {p.sku for p in report.positions} == set(planted.drift["ids"])
    assert all(p.drifting and not p.within_tolerance for p in report.positions)
    values = [abs(p.variance_value or 0) for p in report.positions]
    assert values == sorted(values, reverse=True)
    assert report.totals()["units_short"] == sum(
        o["gap"] for o in planted.drift["observed"].values()
    )
    # The explanation adds up: every step's records move the book from one snapshot to the next.
    steps = explained.steps
    assert len(steps) == explained.snapshots
    assert steps[0].book == explained.first_on_hand
    for before, step in itertools.pairwise(steps):
        in_book = sum(r.qty for r in step.records if r.in_book)
        assert step.book == before.book + in_book
    # The count falls one unit at a time with no record behind it: the shrink is unexplained.
    gaps = {s.snapshot_date.isoformat()[:7]: -s.variance for s in steps if s.snapshot_date}
    monthly = planted.drift["details"]["monthly_gap"][sku]
    assert all(gaps[month] == gap for month, gap in monthly.items() if month in gaps)


def test_stored_findings(planted: Simulated) -> None:
    run = run_findings(planted.store, ["inventory"], as_of=AS_OF, settings=planted.settings)
    assert run.sync is not None
    assert run.sync.new == 8
    assert len(run.open_findings) == 8
    again = run_findings(planted.store, ["inventory"], as_of=AS_OF, settings=planted.settings)
    assert again.sync is not None
    assert (again.sync.new, again.sync.seen_again, again.sync.cleared) == (0, 8, 0)


def test_nothing_planted_nothing_found(tmp_path: Path) -> None:
    clean = _simulated(tmp_path, problems=False)
    try:
        assert clean.drift == {}
        assert clean.detect() == []
        assert clean.detect(MIDYEAR) == []
    finally:
        clean.store.close()
