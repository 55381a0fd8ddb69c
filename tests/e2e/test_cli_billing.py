"""`tallyclerk billing audit|dispute` end to end on a small store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tallyclerk.cli import app
from tests.support import tiny_store

runner = CliRunner()
MARCH = {"invoice_date": "2026-04-05", "period_start": "2026-03-01", "period_end": "2026-03-31"}


def _line(no: int, charge: str, ref: str, qty: str, rate: str, amount: str) -> dict[str, Any]:
    return {
        "invoice_id": "INV-7",
        "line_no": no,
        "provider_id": "westcoast",
        **MARCH,
        "charge_type": charge,
        "reference": ref,
        "quantity": qty,
        "unit_rate": rate,
        "amount": amount,
        "currency": "USD",
    }


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    store = tiny_store(
        tmp_path,
        url=url,
        orders=[{"order_id": o, "placed_at": "2026-03-02T08:00:00-08:00"} for o in ("o1", "o2")],
        shipments=[
            {
                "shipment_id": f"s-{o}",
                "order_id": o,
                "provider_id": "westcoast",
                "facility_id": "LAX1",
                "shipped_at": "2026-03-04T15:00:00-08:00",
                "packaging": "box_small",
                "shipping_cost": "5.00",
            }
            for o in ("o1", "o2")
        ],
        shipment_lines=[{"shipment_id": f"s-{o}", "sku": "A", "qty": 1} for o in ("o1", "o2")],
        invoice_lines=[
            _line(1, "pick_pack", "o1", "1", "3.00", "3.00"),
            _line(2, "pick_pack", "o1", "1", "3.00", "3.00"),
            _line(3, "shipping", "o1", "1", "5.00", "5.00"),
            _line(4, "pick_pack", "o2", "1", "3.50", "3.50"),
        ],
    )
    store.close()
    return url


@pytest.mark.parametrize("command", [["billing", "audit"], ["billing", "dispute"]], ids=" ".join)
def test_help_has_an_example(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert "tallyclerk billing" in result.output


def test_audit_table_then_dispute(db: str) -> None:
    result = runner.invoke(app, ["--db", db, "billing", "audit", "--as-of", "2026-06-01"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "INV-7" in out
    assert "14.50 USD" in out  # billed
    assert "11.00 USD" in out  # expected
    assert "3.50 USD" in out  # over-billed
    assert "Charge billed twice (duplicate_charge): 1" in out
    assert "Not the contract's rate (wrong_rate): 1" in out
    assert "INV-7#2" in out
    assert "2 new" in out

    document = json.loads(
        runner.invoke(
            app, ["--db", db, "billing", "audit", "--as-of", "2026-06-01", "--json"]
        ).output
    )
    (invoice,) = document["invoices"]
    assert (invoice["billed"], invoice["expected"], invoice["over_billed"]) == (
        "14.50",
        "11.00",
        "3.50",
    )
    dup = next(f for f in document["findings"] if f["kind"] == "duplicate_charge")
    assert (dup["subject_id"], dup["amount"], dup["status"]) == ("INV-7#2", "3.00", "open")
    assert "billed again (first billed as INV-7#1)" in dup["reason"]
    rate = next(f for f in document["findings"] if f["kind"] == "wrong_rate")
    assert "billed at 3.50 USD instead of the contract's 3.00" in rate["reason"]
    assert invoice["findings"] == {"duplicate_charge": 1, "wrong_rate": 1}

    disputed = runner.invoke(
        app, ["--db", db, "billing", "dispute", str(dup["finding_id"]), "--by", "ana"]
    )
    assert disputed.exit_code == 0, disputed.output
    assert "DSP-000001" in disputed.output
    assert "3.00 USD" in disputed.output

    again = runner.invoke(app, ["--db", db, "billing", "dispute", str(dup["finding_id"])])
    assert again.exit_code == 2
    assert "already disputed as DSP-000001" in again.output
    assert "Traceback" not in again.output

    missing = runner.invoke(app, ["--db", db, "billing", "dispute", "999"])
    assert missing.exit_code == 2
    assert "no finding 999" in missing.output


def test_no_record_and_invoice_filter(db: str) -> None:
    result = runner.invoke(
        app,
        ["--db", db, "billing", "audit", "--as-of", "2026-06-01", "--no-record", "--json"],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["recorded"] is None
    assert all(f["finding_id"] is None for f in document["findings"])
    other = runner.invoke(
        app, ["--db", db, "billing", "audit", "--invoice", "INV-0", "--no-record"]
    )
    assert other.exit_code == 0, other.output
    assert "No invoice issued by then" in other.output


def test_an_unknown_invoice_is_named(db: str) -> None:
    result = runner.invoke(
        app,
        [
            "--db",
            db,
            "billing",
            "audit",
            "--as-of",
            "2026-06-01",
            "--invoice",
            "NOPE",
            "--no-record",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "no invoice NOPE issued by 2026-06-01" in " ".join(result.output.split())
