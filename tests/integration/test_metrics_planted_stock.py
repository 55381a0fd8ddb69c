"""Cross-check: the KPIs find the problems the simulator planted, and nothing else.

A year of 3,000 simulated orders is loaded once (contracts, then every canonical file); the
inventory, deadline and billing KPIs must reveal the planted problems of `planted.json` with
the generator's own figures where it gives them, and show the rest meeting the contract.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tallyclerk.contracts import Contract, load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.ingest import ingest_paths
from tallyclerk.metrics import MetricResult, compute, metric_items, open_context
from tallyclerk.metrics._billing import invoice_line_checks
from tallyclerk.metrics._inventory import inventory_book
from tallyclerk.settings import Settings
from tallyclerk.simulate import simulate
from tallyclerk.store import Store, open_store

pytestmark = pytest.mark.slow

AS_OF = datetime(2027, 6, 1, tzinfo=UTC)  # after every simulated event
METRICS = (
    "inventory_accuracy_rate",
    "dock_to_stock_on_time_rate",
    "return_processing_on_time_rate",
    "invoice_accuracy_rate",
    "dispute_response_on_time_rate",
)


@dataclass(frozen=True)
class Loaded:
    """What the module's tests read: planted problems, contracts and the KPI results."""

    problems: dict[str, dict[str, Any]]
    contracts: dict[str, Contract]
    results: list[MetricResult]
    inventory_items: list[dict[str, Any]]
    drift_book: list[dict[str, Any]]
    return_items: list[dict[str, Any]]
    invoice_failures: list[dict[str, Any]]
    invoice_lines: int

    def figures(self, metric: str, provider_id: str) -> list[MetricResult]:
        """The monthly figures of one metric and provider."""
        return [r for r in self.results if r.metric == metric and r.provider_id == provider_id]

    def target(self, metric: str, provider_id: str, on: date) -> float:
        """The contract's target for a metric on a day."""
        terms = self.contracts[provider_id].metric_terms(metric, on)
        assert terms is not None
        assert terms.target is not None
        return terms.target


def _load(settings: Settings, sim_dir: Path) -> Store:
    """A store holding the simulation's contracts and files."""
    store = open_store(settings)
    with store.begin() as connection:
        for path in sorted((sim_dir / "contracts").glob("*.yaml")):
            contract = load_contract(path)
            add_contract(connection, contract, path.read_text(encoding="utf-8"), path.name)
    run = ingest_paths(store, [sim_dir], settings=settings)
    assert all(b.status == "landed" and not b.rejects for b in run.batches)
    return store


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    root = tmp_path_factory.mktemp("planted")
    summary = simulate(root / "sim", 3000)
    planted = json.loads(summary.planted_path.read_text(encoding="utf-8"))
    settings = Settings(
        database_url=f"duckdb:///{root / 'store.duckdb'}",
        brand={"timezone": "America/Chicago"},  # type: ignore[arg-type]
    )
    store = _load(settings, summary.out_dir)
    try:
        contracts = {c.provider: c for c in map(load_contract, summary.contracts)}
        drift_skus = {s for p in planted["problems"] for s in p["ids"] if p["number"] == 2}
        with open_context(store, as_of=AS_OF, settings=settings) as ctx:
            results = compute(ctx, list(METRICS), with_ids=True)
            inventory = metric_items(ctx, "inventory_accuracy_rate").to_pyarrow().to_pylist()
            book = inventory_book(ctx)
            book = book.filter(book.facility_id == "LAX1").filter(book.sku.isin(drift_skus))
            drift_book = book.to_pyarrow().to_pylist()
            returns = metric_items(ctx, "return_processing_on_time_rate").to_pyarrow()
            checks = invoice_line_checks(ctx)
            failures = checks.filter(~checks.matched).to_pyarrow().to_pylist()
            line_count = int(checks.count().to_pyarrow().as_py())
        yield Loaded(
            problems={p["name"]: p for p in planted["problems"]},
            contracts=contracts,
            results=results,
            inventory_items=inventory,
            drift_book=drift_book,
            return_items=returns.to_pylist(),
            invoice_failures=failures,
            invoice_lines=line_count,
        )
    finally:
        store.close()


def test_westcoast_inventory_drift(loaded: Loaded) -> None:
    problem = loaded.problems["westcoast_inventory_drift"]
    drift = set(problem["ids"])
    monthly_gap: dict[str, dict[str, int]] = problem["details"]["monthly_gap"]
    # The misses of each month are exactly the drift SKUs with a gap at its last snapshot.
    misses: dict[str, set[str]] = defaultdict(set)
    for row in loaded.inventory_items:
        if not row["hit"]:
            assert row["facility_id"] == "LAX1", row
            misses[row["period_date"].strftime("%Y-%m")].add(row["item_id"])
    for month in {row["period_date"].strftime("%Y-%m") for row in loaded.inventory_items}:
        gapped = {f"LAX1|{sku}" for sku in drift if monthly_gap[sku].get(month, 0) != 0}
        assert misses.get(month, set()) == gapped, month
    assert sum(map(len, misses.values())) > 0
    # The book's shortfall equals the planted gap, snapshot by snapshot.
    zone = ZoneInfo("America/Los_Angeles")
    last_of_month: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sorted(loaded.drift_book, key=lambda r: r["as_of"]):
        local = row["as_of"].astimezone(zone).date()
        last_of_month[(row["sku"], local.strftime("%Y-%m"))] = row
    for (sku, month), row in last_of_month.items():
        assert -row["variance"] == monthly_gap[sku][month], (sku, month)
    for sku, final in problem["observed"].items():
        row = last_of_month[(sku, final["as_of"][:7])]
        assert row["as_of"].astimezone(zone).date().isoformat() == final["as_of"]
        assert (row["book"], row["on_hand"]) == (final["book"], final["on_hand"])
    # WestCoast misses its target in every month with a gap.
    for result in loaded.figures("inventory_accuracy_rate", "westcoast"):
        month = result.period.strftime("%Y-%m")
        assert result.value is not None
        below = result.value < loaded.target("inventory_accuracy_rate", "westcoast", result.period)
        assert below is bool(misses.get(month)), month


def test_westcoast_slow_returns(loaded: Loaded) -> None:
    problem = loaded.problems["westcoast_slow_returns"]
    for provider_id in ("westcoast", "eastbridge"):
        figures = loaded.figures("return_processing_on_time_rate", provider_id)
        numerator = sum(r.numerator for r in figures)
        denominator = sum(r.denominator for r in figures)
        observed = problem["observed"][provider_id]
        assert (numerator, denominator) == (observed["numerator"], observed["denominator"])
    late = {
        row["item_id"].split("|")[0]
        for row in loaded.return_items
        if row["provider_id"] == "westcoast" and not row["hit"]
    }
    assert problem["ids_total"] == len(problem["ids"])  # under the id cap: every id is listed
    assert late == set(problem["ids"])
    year = loaded.figures("return_processing_on_time_rate", "westcoast")
    rate = sum(r.numerator for r in year) / sum(r.denominator for r in year)
    assert rate < float(problem["expected"]["threshold"])


def test_eastbridge_overbilling(loaded: Loaded) -> None:
    storage = loaded.problems["eastbridge_storage_overbilled"]
    duplicates = loaded.problems["eastbridge_duplicate_pick_pack"]
    assert {r["provider_id"] for r in loaded.invoice_failures} == {"eastbridge"}
    wrong_rate = {
        f"{r['invoice_id']}#{r['line_no']}"
        for r in loaded.invoice_failures
        if r["charge_type"] == "storage"
    }
    assert wrong_rate == set(storage["ids"])
    assert all(
        not r["rate_ok"] and r["first_copy"] and r["amount_ok"] and r["reference_ok"]
        for r in loaded.invoice_failures
        if r["charge_type"] == "storage"
    )
    copies = [r for r in loaded.invoice_failures if r["charge_type"] != "storage"]
    assert all(r["charge_type"] == "pick_pack" and not r["first_copy"] for r in copies)
    assert all(r["rate_ok"] and r["amount_ok"] and r["quantity_ok"] for r in copies)
    assert len(copies) == duplicates["observed"]["duplicate_lines"]
    assert {r["reference"] for r in copies} == set(duplicates["ids"])
    assert {r["invoice_id"] for r in copies} == set(duplicates["details"]["invoice_ids"])
    # The monthly figures fall below 1 exactly in the months holding a planted line.
    planted_months = {r["period_start"] for r in loaded.invoice_failures}
    for result in loaded.figures("invoice_accuracy_rate", "eastbridge"):
        assert (result.numerator < result.denominator) is (result.period in planted_months)
    failed = sum(
        r.denominator - r.numerator for r in loaded.results if r.metric == "invoice_accuracy_rate"
    )
    assert failed == storage["observed"]["lines"] + duplicates["observed"]["duplicate_lines"]


def test_the_rest_meets_the_contract(loaded: Loaded) -> None:
    # Inventory: EastBridge's counts match the book at every month's last snapshot.
    eastbridge = loaded.figures("inventory_accuracy_rate", "eastbridge")
    assert len(eastbridge) == 12
    assert all(r.numerator == r.denominator for r in eastbridge)
    # Dock to stock (both) and EastBridge's returns meet their targets over the year.
    for metric, provider_id in (
        ("dock_to_stock_on_time_rate", "westcoast"),
        ("dock_to_stock_on_time_rate", "eastbridge"),
        ("return_processing_on_time_rate", "eastbridge"),
    ):
        figures = loaded.figures(metric, provider_id)
        assert figures, (metric, provider_id)
        rate = sum(r.numerator for r in figures) / sum(r.denominator for r in figures)
        assert rate >= loaded.target(metric, provider_id, date(2026, 6, 1)), (metric, provider_id)
    # Every WestCoast invoice line matches; no dispute was opened, so there is no figure.
    westcoast = loaded.figures("invoice_accuracy_rate", "westcoast")
    assert westcoast
    assert all(r.numerator == r.denominator for r in westcoast)
    assert sum(r.denominator for r in loaded.results if r.metric == "invoice_accuracy_rate") == (
        loaded.invoice_lines
    )
    assert not [r for r in loaded.results if r.metric == "dispute_response_on_time_rate"]
    assert all(0 <= (r.value or 0) <= 1 for r in loaded.results)
