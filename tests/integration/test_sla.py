"""The SLA engine end to end on a small store: scorecard, exclusions, credits, burn, history."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tallyclerk.cli import app
from tallyclerk.ingest import ingest_paths
from tallyclerk.sla import evaluate
from tallyclerk.store import Store
from tests.support import tiny_store, write_kind

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
exclusions: [{from: 2026-03-10, to: 2026-03-11, reason: flood}]
credits:
  cap_pct_of_fees: 10
  tiers:
    - {metric: ship_on_time_rate, below: 0.95, credit_pct_of_fees: 5}
    - {metric: ship_on_time_rate, below: 0.85, credit_pct_of_fees: 10}
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

CLOSED = datetime(2026, 4, 15, tzinfo=UTC)


def _records(late_days: dict[str, int]) -> dict[str, list[dict[str, object]]]:
    """Orders o0..o9 released on March business days 09:00 PST/PDT; `late_days` ship late."""
    days = [date(2026, 3, d) for d in (2, 3, 4, 5, 6, 9, 12, 13, 16, 17)]
    orders, releases, shipments, lines = [], [], [], []
    for i, day in enumerate(days):
        order_id = f"o{i}"
        released = datetime(day.year, day.month, day.day, 17, 0, tzinfo=UTC)  # 09:00/10:00 local
        shipped = released + timedelta(hours=2, days=late_days.get(order_id, 0))
        orders.append(
            {"order_id": order_id, "placed_at": released, "order_value": "40.00", "currency": "USD"}
        )
        releases.append(
            {
                "order_id": order_id,
                "provider_id": "acme",
                "facility_id": "LAX1",
                "released_at": released,
            }
        )
        shipments.append(
            {
                "shipment_id": f"s{i}",
                "order_id": order_id,
                "provider_id": "acme",
                "facility_id": "LAX1",
                "shipped_at": shipped,
            }
        )
        lines.append({"shipment_id": f"s{i}", "sku": "A", "qty": 1})
    # A late order due on an excluded day (the flood): left out, but counted as excluded.
    flood = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
    orders.append({"order_id": "x1", "placed_at": flood, "currency": "USD"})
    releases.append(
        {"order_id": "x1", "provider_id": "acme", "facility_id": "LAX1", "released_at": flood}
    )
    shipments.append(
        {
            "shipment_id": "sx",
            "order_id": "x1",
            "provider_id": "acme",
            "facility_id": "LAX1",
            "shipped_at": flood + timedelta(days=3),
        }
    )
    lines.append({"shipment_id": "sx", "sku": "A", "qty": 1})
    invoice = [
        {
            "invoice_id": "INV-3",
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
        },
        {
            "invoice_id": "INV-3",
            "line_no": 2,
            "provider_id": "acme",
            "invoice_date": "2026-04-02",
            "period_start": "2026-03-01",
            "period_end": "2026-03-31",
            "charge_type": "shipping",
            "reference": "o1",
            "quantity": 1,
            "unit_rate": "9.00",
            "amount": "9.00",
            "currency": "USD",
        },
    ]
    return {
        "orders": orders,
        "releases": releases,
        "shipments": shipments,
        "shipment_lines": lines,
        "invoice_lines": invoice,
    }


@pytest.fixture
def acme(tmp_path: Path) -> Store:
    return tiny_store(tmp_path, contracts=[CONTRACT], **_records({"o3": 2, "o7": 1}))


def test_scorecard_exclusions_and_capped_credits(acme: Store) -> None:
    report = evaluate(acme, date(2026, 3, 1), as_of=CLOSED)
    (provider,) = report.providers
    (sot,) = provider.evaluation.metrics
    assert (sot.numerator, sot.denominator, sot.excluded) == (8, 10, 1)
    assert sot.value == pytest.approx(0.8)
    assert sot.met is False
    credits = provider.credits
    assert credits.fees.amount == Decimal("1000.00")  # shipping is not a fulfillment fee
    assert credits.fees_basis == "invoiced"
    assert [(line.kind, line.amount.amount) for line in credits.lines] == [
        ("tier", Decimal("100.00")),  # the highest tier hit: 10% (0.8 < 0.85)
        ("incident", Decimal("10.00")),  # 2 missed ship dates x 5.00 (the excluded one is not)
        ("cap", Decimal("-10.00")),  # capped at 10% of fees
    ]
    assert credits.total.amount == Decimal("100.00")
    assert not report.open
    assert report.run_id is not None


def test_late_data_shows_as_a_change(acme: Store, tmp_path: Path) -> None:
    first = evaluate(acme, date(2026, 3, 1), as_of=CLOSED)
    assert first.changes == []
    # The 3PL resends its ship confirmation for o3: it did ship on time.
    folder = tmp_path / "late"
    folder.mkdir()
    write_kind(
        folder,
        "shipments",
        [
            {
                "shipment_id": "s3",
                "order_id": "o3",
                "provider_id": "acme",
                "facility_id": "LAX1",
                "shipped_at": "2026-03-05T11:00:00-08:00",
            }
        ],
    )
    ingest_paths(acme, [folder])
    second = evaluate(acme, date(2026, 3, 1), as_of=CLOSED)
    (change,) = second.changes
    assert (change.before, change.after) == (pytest.approx(0.8), pytest.approx(0.9))
    assert change.previous_run == first.run_id


def test_no_activity_is_no_data_not_a_perfect_score(acme: Store) -> None:
    report = evaluate(acme, date(2026, 5, 1), as_of=datetime(2026, 6, 15, tzinfo=UTC))
    (sot,) = report.providers[0].evaluation.metrics
    assert (sot.value, sot.met, sot.denominator) == (None, None, 0)
    assert report.providers[0].credits.total.amount == 0
    assert report.providers[0].credits.fees_basis == "estimated from the rate card"


def test_burn_rate_pages_while_the_month_is_open(tmp_path: Path) -> None:
    # Every order late from 03-09: the budget (5%) burns at 20x.
    late = {f"o{i}": 3 for i in range(5, 10)}
    store = tiny_store(tmp_path, contracts=[CONTRACT], **_records(late))
    report = evaluate(store, date(2026, 3, 1), as_of=datetime(2026, 3, 21, tzinfo=UTC))
    assert report.open
    (burn,) = report.providers[0].burn
    assert burn.state == "page"
    assert burn.burn_long is not None
    assert burn.burn_long > 2
    assert "projected" in burn.reason


def test_cli_scorecard_and_json(acme: Store) -> None:
    runner = CliRunner()
    url = str(acme.engine.url)
    acme.close()
    table = runner.invoke(
        app, ["--db", url, "evaluate", "--period", "2026-03", "--as-of", "2026-04-15"]
    )
    assert table.exit_code == 0, table.output
    assert "ship_on_time_rate" in table.output
    assert "breached" in table.output
    assert "100.00 USD" in table.output
    document = runner.invoke(
        app,
        [
            "--db",
            url,
            "evaluate",
            "--period",
            "2026-03",
            "--as-of",
            "2026-04-15",
            "--json",
            "--no-record",
        ],
    )
    assert document.exit_code == 0, document.output
    data = json.loads(document.output)
    assert data["period"] == "2026-03"
    (provider,) = data["providers"]
    assert provider["provider"] == "acme"
    (metric,) = provider["metrics"]
    assert {
        k: metric[k] for k in ("name", "target", "met", "numerator", "denominator", "excluded")
    } == {
        "name": "ship_on_time_rate",
        "target": 0.95,
        "met": False,
        "numerator": 8,
        "denominator": 10,
        "excluded": 1,
    }
    assert provider["credits"]["amount"] == "100.00"
    assert provider["credits"]["currency"] == "USD"
    bad = runner.invoke(app, ["--db", url, "evaluate", "--period", "March"])
    assert bad.exit_code == 2
    assert "not a month like 2026-11" in bad.output


def test_kpi_show_and_drill(acme: Store) -> None:
    runner = CliRunner()
    url = str(acme.engine.url)
    acme.close()
    listed = runner.invoke(app, ["kpi", "list"])
    assert "ship_on_time_rate" in listed.output
    shown = runner.invoke(
        app,
        [
            "--db",
            url,
            "kpi",
            "show",
            "ship_on_time_rate",
            "--grain",
            "week",
            "--as-of",
            "2026-04-15",
            "--json",
        ],
    )
    assert shown.exit_code == 0, shown.output
    weeks = json.loads(shown.output)
    assert sum(w["denominator"] for w in weeks) == 11  # the excluded order is a KPI item too
    drilled = runner.invoke(
        app,
        [
            "--db",
            url,
            "kpi",
            "drill",
            "ship_on_time_rate",
            "--provider",
            "acme",
            "--period",
            "2026-03",
            "--misses",
            "--as-of",
            "2026-04-15",
        ],
    )
    assert drilled.exit_code == 0, drilled.output
    assert "3 item(s)" in drilled.output
    assert "o3" in drilled.output
    assert "o7" in drilled.output
    assert "x1" in drilled.output
    unknown = runner.invoke(app, ["--db", url, "kpi", "show", "speed"])
    assert unknown.exit_code == 2
    assert "unknown metric 'speed'" in unknown.output


@pytest.mark.postgres
def test_the_scorecard_is_the_same_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    store = tiny_store(
        tmp_path, contracts=[CONTRACT], url=postgres_url, **_records({"o3": 2, "o7": 1})
    )
    try:
        report = evaluate(store, date(2026, 3, 1), as_of=CLOSED)
        (sot,) = report.providers[0].evaluation.metrics
        assert (sot.numerator, sot.denominator, sot.excluded) == (8, 10, 1)
        assert report.providers[0].credits.total.amount == Decimal("100.00")
        open_month = evaluate(store, date(2026, 3, 1), as_of=datetime(2026, 3, 21, tzinfo=UTC))
        assert open_month.providers[0].burn
    finally:
        store.close()
