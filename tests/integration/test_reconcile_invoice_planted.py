"""The invoice audit on a simulated year (3,000 orders, seed 3): the planted overbilling is
found with the generator's own amounts, and nothing else is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.ingest import ingest_paths
from tallyclerk.reconcile._invoice import InvoiceAudit, audit_invoices
from tallyclerk.settings import Settings
from tallyclerk.simulate import simulate
from tallyclerk.store import open_store

pytestmark = pytest.mark.slow

SEED = 3
AS_OF = datetime(2028, 1, 1, tzinfo=UTC)  # every invoice issued


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InvoiceAudit, Any]]:
    data = tmp_path_factory.mktemp("planted")
    simulate(data, 3000, seed=SEED)
    db = tmp_path_factory.mktemp("store") / "store.duckdb"
    settings = Settings(
        database_url=f"duckdb:///{db}",
        brand={"timezone": "America/Chicago"},  # type: ignore[arg-type]
    )
    store = open_store(settings)
    try:
        with store.begin() as connection:
            for path in sorted((data / "contracts").glob("*.yaml")):
                add_contract(
                    connection, load_contract(path), path.read_text(encoding="utf-8"), path.name
                )
        run = ingest_paths(store, [data], settings=settings)
        assert run.ok
        audit = audit_invoices(store, as_of=AS_OF, record=True, settings=settings)
        planted = json.loads((data / "planted.json").read_text(encoding="utf-8"))
        yield audit, planted
    finally:
        store.close()


def _problem(planted: Any, name: str) -> Any:
    return next(p for p in planted["problems"] if p["name"] == name)


def test_planted_storage_overbilling_found_with_its_amount(
    audited: tuple[InvoiceAudit, Any],
) -> None:
    audit, planted = audited
    lines = _problem(planted, "eastbridge_storage_overbilled")["details"]["lines"]
    found = {f.detected.subject_id: f.detected for f in audit.findings}
    assert len(lines) == 3
    for line in lines:
        finding = found[f"{line['invoice_id']}#{line['line_no']}"]
        assert finding.kind == "wrong_rate"
        assert finding.provider_id == "eastbridge"
        overbilled = Decimal(line["billed_amount"]) - Decimal(line["expected_amount"])
        assert finding.amount == overbilled
        assert finding.evidence["expected_amount"] == f"{Decimal(line['expected_amount']):.4f}"


def test_planted_duplicate_pick_pack_found(audited: tuple[InvoiceAudit, Any]) -> None:
    audit, planted = audited
    problem = _problem(planted, "eastbridge_duplicate_pick_pack")
    dups = [f.detected for f in audit.findings if f.detected.kind == "duplicate_charge"]
    assert {d.evidence["reference"] for d in dups} == set(problem["ids"])
    assert {d.evidence["charge_type"] for d in dups} == {"pick_pack"}
    assert {str(d.evidence["invoice_id"]) for d in dups} == set(problem["details"]["invoice_ids"])
    assert all(d.amount == Decimal("2.75") for d in dups)


def test_nothing_else_is_found(audited: tuple[InvoiceAudit, Any]) -> None:
    audit, planted = audited
    storage = _problem(planted, "eastbridge_storage_overbilled")["ids"]
    dup_orders = set(_problem(planted, "eastbridge_duplicate_pick_pack")["ids"])
    others = [
        f.detected
        for f in audit.findings
        if f.detected.subject_id not in storage
        and not (
            f.detected.kind == "duplicate_charge" and f.detected.evidence["reference"] in dup_orders
        )
    ]
    assert others == []
    # Per invoice: only the planted invoices are over-billed, by the planted amounts.
    over = {s.invoice_id: s.over_billed for s in audit.invoices if s.over_billed}
    assert over == {
        "INV-EB-202602": Decimal("5.50"),
        "INV-EB-202603": Decimal("56.00"),
        "INV-EB-202605": Decimal("5.50"),
        "INV-EB-202607": Decimal("56.00"),
        "INV-EB-202608": Decimal("5.50"),
        "INV-EB-202610": Decimal("63.00"),
        "INV-EB-202611": Decimal("19.25"),
    }
    assert all(s.under_billed == 0 for s in audit.invoices)
    assert audit.sync is not None
    assert audit.sync.new == 16
