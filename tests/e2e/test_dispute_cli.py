"""`tallyclerk dispute ...` end to end on a small store: open, answer, resolve, the ledger.

The commands are invoked on the dispute group itself, with the store chosen as `--db` would.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tallyclerk.access import add_user
from tallyclerk.cli import _disputes
from tallyclerk.cli._common import state
from tallyclerk.sla import evaluate
from tests.support import tiny_store

runner = CliRunner()

CONTRACT = """
provider: acme
name: Acme fulfilment agreement
effective: 2026-01-01
currency: USD
facilities:
  - {id: LAX1, timezone: America/Los_Angeles, country: US, subdivision: CA, cutoff: "14:00"}
capacity: {orders_per_day: 100}
metrics:
  ship_on_time_rate: {target: 0.95}
  dispute_response_on_time_rate: {target: 1.0, within_business_days: 2}
credits:
  cap_pct_of_fees: 10
  tiers:
    - {metric: ship_on_time_rate, below: 0.95, credit_pct_of_fees: 5}
  per_incident: {missed_ship_date: 5.00}
rates:
  pick_pack: 3.00
  additional_unit: 0.75
  packaging: {box_small: 0.85}
  storage_per_pallet_month: 25.00
  receiving_per_unit: 0.25
  returns_per_unit: 3.50
  shipping_markup_pct: 0
"""

OTHER = """
provider: bravo
name: Bravo logistics agreement
effective: 2026-01-01
currency: USD
facilities:
  - {id: JFK1, timezone: America/New_York, country: US, subdivision: NY, cutoff: "12:00"}
capacity: {orders_per_day: 100}
metrics:
  ship_on_time_rate: {target: 0.98}
credits: {cap_pct_of_fees: 10, tiers: []}
rates:
  pick_pack: 2.50
  additional_unit: 0.50
  packaging: {}
  storage_per_pallet_month: 20.00
  receiving_per_unit: 0.20
  returns_per_unit: 3.00
  shipping_markup_pct: 0
"""


def _records() -> dict[str, list[dict[str, Any]]]:
    """Eight March orders, the one of 03-04 two days late, and 1,000.00 of storage fees."""
    kinds: dict[str, list[dict[str, Any]]] = {
        "orders": [],
        "releases": [],
        "shipments": [],
        "shipment_lines": [],
    }
    for day in (2, 3, 4, 5, 6, 9, 10, 11):
        released = datetime(2026, 3, day, 17, 0, tzinfo=UTC)
        shipped = released + timedelta(hours=1, days=2 if day == 4 else 0)
        kinds["orders"].append({"order_id": f"c{day}", "placed_at": released, "currency": "USD"})
        kinds["releases"].append(
            {"order_id": f"c{day}", "provider_id": "acme", "facility_id": "LAX1"}
            | {"released_at": released}
        )
        kinds["shipments"].append(
            {"shipment_id": f"cs{day}", "order_id": f"c{day}", "provider_id": "acme"}
            | {"facility_id": "LAX1", "shipped_at": shipped}
        )
        kinds["shipment_lines"].append({"shipment_id": f"cs{day}", "sku": "A", "qty": 1})
    kinds["invoice_lines"] = [
        {
            "invoice_id": "INV-C3",
            "line_no": 1,
            "provider_id": "acme",
            "invoice_date": "2026-04-02",
            "period_start": "2026-03-01",
            "period_end": "2026-03-31",
            "charge_type": "storage",
            "reference": "2026-03",
            "quantity": 40,
            "unit_rate": "25.00",
            "amount": "1000.00",
            "currency": "USD",
        }
    ]
    return kinds


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"duckdb:///{tmp_path / 'disputes.duckdb'}"
    store = tiny_store(tmp_path, contracts=[CONTRACT, OTHER], url=url, **_records())
    evaluate(store, date(2026, 3, 1), as_of=datetime(2026, 4, 3, tzinfo=UTC))
    with store.begin() as connection:
        add_user(connection, "acme-liaison", "provider", provider_id="acme")
        add_user(connection, "bravo-liaison", "provider", provider_id="bravo")
    store.close()
    monkeypatch.setattr(state, "database_url", url)
    monkeypatch.setenv("USER", "maria")
    return url


def _run(*args: str) -> Result:
    return runner.invoke(_disputes.app, list(args))


def _ok(*args: str) -> str:
    """The output of a command that succeeds, its lines joined (rich wraps at the width)."""
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _json(*args: str) -> Any:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _fails(*args: str) -> str:
    result = _run(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize(
    "command", ["list", "show", "open", "answer", "resolve", "comment", "ledger"]
)
def test_every_command_has_examples(command: str) -> None:
    result = _run(command, "--help")
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output
    assert f"tallyclerk dispute {command}" in result.output


def test_a_dispute_from_opening_to_credit(db: str) -> None:
    opened = _ok(
        "open",
        "--provider",
        "acme",
        "--subject",
        "pallet 88 lost in receiving",
        "--amount",
        "420",
        "--period",
        "2026-03",
        "-m",
        "see the receiving report",
    )
    assert "dispute DSP-000001 opened with acme for 420.00 USD" in opened
    assert "the answer is due by" in opened
    countered = _ok(
        "answer", "DSP-000001", "--counter", "300", "--reason", "half found", "--as", "acme-liaison"
    )
    assert "DSP-000001 countered by acme-liaison" in countered
    again = _fails("answer", "DSP-000001", "--accept", "--as", "acme-liaison")
    assert "dispute DSP-000001 is countered" in again
    foreign = _fails("answer", "DSP-000001", "--accept", "--as", "bravo-liaison")
    assert "no such dispute" in foreign
    assert "no user 'nobody'" in _fails("answer", "DSP-000001", "--accept", "--as", "nobody")
    credited = _ok("resolve", "DSP-000001", "--credit")
    assert "DSP-000001 credited: 300.00 USD booked to 2026-03" in credited
    shown = _ok("show", "DSP-000001")
    assert "pallet 88 lost in receiving" in shown
    assert "History" in shown
    assert "acme-liaison (provider)" in shown
    assert "maria (admin)" in shown
    assert "half found" in shown
    document = _json("show", "DSP-000001")
    assert document["status"] == "resolved"
    assert document["credited_amount"] == "300.0000"
    assert [e["action"] for e in document["events"]] == ["opened", "countered", "credited"]
    listed = _json("list")
    assert listed["total"] == 1
    assert listed["disputes"][0]["dispute_id"] == "DSP-000001"
    assert "No disputes match." in _ok("list", "--status", "open")
    assert "DSP-000001" in _ok("list", "--provider", "acme")


def test_breach_and_credit_claims_then_the_ledger(db: str) -> None:
    breach = _ok(
        "open", "--provider", "acme", "--breach", "ship_on_time_rate", "--period", "2026-03"
    )
    assert "DSP-000001 opened with acme for 50.00 USD" in breach
    assert "ship_on_time_rate 87.5% against 95.0% in 2026-03" in breach
    claim = _ok("open", "--provider", "acme", "--credit", "--period", "2026-03")
    assert "DSP-000002 opened with acme for 55.00 USD" in claim
    assert "needs the reason" in _fails("answer", "DSP-000002", "--reject", "--as", "acme-liaison")
    # No --as: the brand admin records an answer that came by e-mail.
    assert "DSP-000001 accepted by maria" in _ok("answer", "DSP-000001", "--accept")
    rejected = _ok(
        "answer",
        "DSP-000002",
        "--reject",
        "--reason",
        "fees were estimated",
        "--as",
        "acme-liaison",
    )
    assert "DSP-000002 rejected by acme-liaison" in rejected
    assert "is rejected" in _fails("resolve", "DSP-000002", "--credit")
    assert "DSP-000002 upheld" in _ok("resolve", "DSP-000002", "--uphold")
    assert "20.00 USD booked to 2026-03" in _ok(
        "resolve", "DSP-000001", "20.00", "--credit", "-m", "agreed on the call"
    )
    _ok("comment", "DSP-000001", "-m", "credit note received")
    table = _ok("ledger")
    assert "acme" in table
    assert "20.00 USD" in table
    assert "DSP-000001" in table
    document = _json("ledger", "--provider", "acme")
    assert [e["amount"] for e in document["entries"]] == ["20.0000"]
    assert document["totals"] == [
        {"provider_id": "acme", "period": "2026-03", "currency": "USD", "total": "20.0000"}
    ]
    assert "No credits booked." in _ok("ledger", "--provider", "bravo")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["open", "--provider", "acme"], "exactly one of --subject, --breach or --credit"),
        (["open", "--provider", "acme", "--credit"], "need the month"),
        (["open", "--provider", "acme", "--credit", "--period", "March"], "not a month"),
        (["open", "--provider", "acme", "--subject", "x", "--amount", "lots"], "not an amount"),
        (["answer", "DSP-000001"], "exactly one of --accept, --reject or --counter"),
        (["resolve", "DSP-000001", "10", "--withdraw"], "only --credit takes an amount"),
        (["resolve", "DSP-000001"], "exactly one of --credit, --withdraw or --uphold"),
        (["list", "--status", "closed"], "is not one of"),
        (["show", "DSP-000404"], "no dispute 'DSP-000404'"),
        (["open", "--provider", "bravo", "--breach", "ship_on_time_rate", "--period", "2026-03"],
         "no breach of ship_on_time_rate"),
    ],
)  # fmt: skip
def test_mistakes_get_a_plain_message(db: str, args: list[str], message: str) -> None:
    assert message in _fails(*args)
