"""`tallyclerk inventory` end to end: the table of SKUs off the book, JSON, --explain, errors.

LAX1 (westcoast, tolerance 0), weekly counts against a book that only moves with one receipt
of 10 units of KEEP stocked before the second snapshot:
  KEEP   20, 30, 30, 30, 30   (matches its book: 20 + 10)
  LEAK   40, 39, 38, 36, 35   (units go missing every week: drift)
  MUG    12, 12, 12, 12, 11   (one unit short at the last count)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tallyclerk.cli import app
from tallyclerk.cli._common import console
from tests.support import tiny_store

runner = CliRunner()

SNAPSHOTS = [
    "2026-03-01T00:00:00-08:00",
    "2026-03-08T00:00:00-08:00",
    "2026-03-15T00:00:00-07:00",
    "2026-03-22T00:00:00-07:00",
    "2026-03-29T00:00:00-07:00",
]
COUNTS = {
    "KEEP": (20, 30, 30, 30, 30),
    "LEAK": (40, 39, 38, 36, 35),
    "MUG": (12, 12, 12, 12, 11),
}
AS_OF = "2026-04-15"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """A console wide enough that no line of the table wraps."""
    monkeypatch.setattr(console, "_width", 220)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    store = tiny_store(
        tmp_path,
        url=url,
        products=[
            {"sku": "KEEP", "unit_cost": "3.00"},
            {"sku": "LEAK", "unit_cost": "25.00"},
            {"sku": "MUG", "unit_cost": "8.40"},
        ],
        inventory_snapshots=[
            {
                "provider_id": "westcoast",
                "facility_id": "LAX1",
                "as_of": at,
                "sku": sku,
                "on_hand": n,
            }
            for sku, counts in COUNTS.items()
            for at, n in zip(SNAPSHOTS, counts, strict=True)
        ],
        receipts=[
            {
                "receipt_id": "RCV-1",
                "provider_id": "westcoast",
                "facility_id": "LAX1",
                "sku": "KEEP",
                "expected_qty": 10,
                "received_qty": 10,
                "arrived_at": "2026-03-03T09:00:00-08:00",
                "stocked_at": "2026-03-04T10:00:00-08:00",
            }
        ],
    )
    store.close()
    return url


def _run(db: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--db", db, "inventory", "--as-of", AS_OF, *args])
    return result.exit_code, result.output


def test_help_has_examples() -> None:
    result = runner.invoke(app, ["inventory", "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    assert "tallyclerk inventory" in result.output


def test_table_of_skus_off_the_book(db: str) -> None:
    code, out = _run(db)
    assert code == 0, out
    assert "3 (facility, SKU) reconciled, 2 out of tolerance, 1 drifting" in out
    assert "KEEP" not in out.split("reconciled")[1]
    # Money at stake first: LEAK (5 x 25.00) before MUG (1 x 8.40).
    assert out.index("LEAK") < out.index("MUG")
    assert "-125.00 USD" in out
    assert "-8.40 USD" in out
    assert "shrinking" in out
    assert "-133.40 USD" in out  # the total


def test_all_and_json(db: str) -> None:
    code, out = _run(db, "--all", "--json")
    assert code == 0, out
    document = json.loads(out)
    assert [s["sku"] for s in document["skus"]] == ["LEAK", "MUG", "KEEP"]
    leak = document["skus"][0]
    assert (leak["book"], leak["on_hand"], leak["variance"]) == (40, 35, -5)
    assert leak["variance_value"] == "-125.0000"
    assert leak["drifting"] is True
    assert leak["first_gap_date"] == "2026-03-08"
    assert document["totals"]["units_short"] == 6
    assert document["totals"]["value_at_stake"] == {"USD": "133.4000"}
    keep = document["skus"][2]
    assert (keep["book"], keep["variance"], keep["trend"]) == (30, 0, "matches")


def test_filters(db: str) -> None:
    code, out = _run(db, "--sku", "MUG", "--json")
    assert code == 0, out
    assert [s["sku"] for s in json.loads(out)["skus"]] == ["MUG"]
    code, out = _run(db, "--facility", "EWR1")
    assert code == 0, out
    assert "No inventory snapshot" in out


def test_explain(db: str) -> None:
    code, out = _run(db, "--sku", "KEEP", "--explain", "--from", "2026-03-02", "--to", "2026-03-09")
    assert code == 0, out
    assert "Book of KEEP at LAX1 (westcoast)" in out
    assert "book 20 -> 30" in out
    assert "RCV-1" in out
    assert "received (stocked)" in out
    code, out = _run(db, "--sku", "LEAK", "--explain", "--json", "--last", "2")
    assert code == 0, out
    steps = json.loads(out)["steps"]
    assert [(s["book"], s["on_hand"], s["variance"]) for s in steps] == [(40, 36, -4), (40, 35, -5)]
    assert all(s["records"] == [] for s in steps)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--explain"], "--explain needs exactly one --sku"),
        (["--explain", "--sku", "NOPE"], "no snapshot holds SKU NOPE"),
        (["--sku", "KEEP", "--explain", "--from", "soon"], "--from 'soon' is not"),
    ],
)
def test_user_errors_are_one_line(db: str, args: list[str], message: str) -> None:
    code, out = _run(db, *args)
    assert code != 0
    assert message in out
    assert "Traceback" not in out
