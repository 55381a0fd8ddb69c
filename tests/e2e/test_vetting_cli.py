"""`tallyclerk vet` end to end: the example RFP ranked on a simulated brand's own activity.

The store holds the simulated year (3,000 orders, seed 3) and a kept forecast of it; the
example RFP's harborline ran its pilot as `westcoast`, whose data is in the store, so its
risk is priced on measured rates while the others' are claimed.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tallyclerk.cli import app
from tallyclerk.cli._common import state
from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.forecast import run_forecast, save_run
from tallyclerk.ingest import ingest_paths
from tallyclerk.metrics import open_context
from tallyclerk.settings import Settings
from tallyclerk.simulate import simulate
from tallyclerk.store import open_store
from tallyclerk.vetting import load_rfp
from tallyclerk.vetting._cost import measured_rates

pytestmark = pytest.mark.slow

runner = CliRunner()
RFP = Path(__file__).resolve().parents[2] / "examples" / "vetting" / "rfp.yaml"
SETTINGS = {"brand": {"timezone": "America/Chicago"}}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    data = tmp_path_factory.mktemp("brand")
    simulate(data, 3000, seed=3)
    url = f"duckdb:///{tmp_path_factory.mktemp('store') / 'store.duckdb'}"
    settings = Settings(database_url=url, **SETTINGS)  # type: ignore[arg-type]
    store = open_store(settings)
    try:
        with store.begin() as connection:
            for path in sorted((data / "contracts").glob("*.yaml")):
                add_contract(
                    connection, load_contract(path), path.read_text(encoding="utf-8"), path.name
                )
        assert ingest_paths(store, [data], settings=settings).ok
        run = run_forecast(store, as_of=date(2026, 10, 31), horizon=61, settings=settings)
        with store.begin() as connection:
            save_run(connection, run)
    finally:
        store.close()
    return url


def _run(db: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setattr(state, "settings", Settings(**SETTINGS))  # type: ignore[arg-type]
    monkeypatch.setenv("COLUMNS", "160")
    return runner.invoke(app, ["--db", db, *args])


@pytest.fixture(scope="module")
def doc(db: str) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        result = _run(db, patch, "vet", str(RFP), "--window", "2026-01..2026-10", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_every_candidate_is_ranked_with_reasons(doc: dict[str, Any]) -> None:
    assert doc["window"] == {"from": "2026-01", "to": "2026-10"}
    assert doc["months"] == 10
    ranks = [c["rank"] for c in doc["candidates"]]
    assert ranks == [1, 2, 3]
    scores = [c["score"] for c in doc["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert {c["candidate_id"] for c in doc["candidates"]} == {"northstar", "prairie", "harborline"}
    for candidate in doc["candidates"]:
        assert candidate["reasons"]
        assert candidate["standing"]
        assert sum(c["weight"] for c in candidate["criteria"]) == 100
        assert abs(sum(c["points"] for c in candidate["criteria"]) - candidate["score"]) < 0.05


def test_costs_are_priced_on_the_window_and_risk_adjusted(doc: dict[str, Any]) -> None:
    shipped = sum(month["orders"] for month in doc["activity"])
    assert shipped > 2000  # the simulated orders of January to October
    for candidate in doc["candidates"]:
        cost = candidate["cost"]
        charges = cost["by_charge"]
        assert set(charges) >= {"pick_pack", "additional_unit", "packaging", "shipping"}
        assert Decimal(cost["total"]) == sum(Decimal(v) for v in charges.values())
        assert Decimal(cost["risk_adjusted"]) == (
            Decimal(cost["total"]) + Decimal(cost["error_cost"]) + Decimal(cost["late_cost"])
        )
        growth = candidate["growth"]
        assert growth is not None
        assert Decimal(growth["total"]) > Decimal(cost["total"])


def test_the_pilot_is_priced_on_its_measured_rates(db: str, doc: dict[str, Any]) -> None:
    (harborline,) = [c for c in doc["candidates"] if c["candidate_id"] == "harborline"]
    assert harborline["pilot_provider"] == "westcoast"
    assert harborline["cost"]["error_rate_source"] == "pilot westcoast"
    settings = Settings(database_url=db, **SETTINGS)  # type: ignore[arg-type]
    store = open_store(settings)
    try:
        with open_context(store, settings=settings) as ctx:
            measured = measured_rates(ctx, "westcoast", date(2026, 1, 1), date(2026, 10, 31))
    finally:
        store.close()
    assert harborline["cost"]["error_rate"] == pytest.approx(1 - measured["order_accuracy_rate"])
    # The pilot is scored on the same KPIs as the incumbents, inventory accuracy included.
    assert "inventory_accuracy_rate" in measured
    (inventory,) = [c for c in harborline["criteria"] if c["criterion_id"] == "inventory"]
    assert inventory["evidence"] == "measured"
    assert inventory["value"] == pytest.approx(measured["inventory_accuracy_rate"])
    (accuracy,) = [c for c in harborline["criteria"] if c["criterion_id"] == "accuracy"]
    assert accuracy["evidence"] == "measured"
    others = [c for c in doc["candidates"] if c["candidate_id"] != "harborline"]
    assert {c["cost"]["error_rate_source"] for c in others} == {"claimed"}


def test_capacity_fit_uses_the_kept_forecast(doc: dict[str, Any]) -> None:
    peak = doc["peak_demand"]
    assert peak is not None
    assert peak["as_of"] == "2026-10-31"
    for candidate in doc["candidates"]:
        assert candidate["capacity_fit"] is not None
        assert 0 < candidate["capacity_fit"] <= 1


def test_peak_capacity_shortfall_is_priced(doc: dict[str, Any]) -> None:
    rfp = load_rfp(RFP)
    for candidate in doc["candidates"]:
        shortfall = candidate["peak_shortfall"]
        assert shortfall is not None
        claimed = rfp.candidate(candidate["candidate_id"])
        assert shortfall["capacity"] == (claimed.peak_orders_per_day or claimed.orders_per_day)
        # Each late order costs the RFP's cost per late order.
        expected = rfp.risk.cost_per_late_order * shortfall["late_orders"]
        assert Decimal(shortfall["cost"]) == expected.quantize(Decimal("0.01"))
        assert shortfall["late_orders"] <= shortfall["demand"]
    # A candidate whose claimed capacity covers less of the peak day ships more of it late.
    ordered = sorted(doc["candidates"], key=lambda c: c["capacity_fit"])
    assert (
        ordered[0]["peak_shortfall"]["late_orders"] >= ordered[-1]["peak_shortfall"]["late_orders"]
    )


def test_table_and_html_report(db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = tmp_path / "vetting.html"
    result = _run(
        db, monkeypatch, "vet", str(RFP), "--window", "2026-01..2026-10", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "candidates ranked" in result.output
    html = out.read_text(encoding="utf-8")
    for name in ("NorthStar Fulfillment", "Prairie Logistics", "Harborline Logistics"):
        assert name in result.output
        assert name in html
    assert "<script" not in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--window", "2026-13..2027-01"], "2026-13"),
        (["--window", "2020-01..2020-03"], "no orders were shipped from 2020-01 to 2020-03"),
    ],
)
def test_bad_input_is_a_clear_error(
    db: str, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    result = _run(db, monkeypatch, "vet", str(RFP), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_unknown_pilot_and_bad_rfp(
    db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = RFP.read_text(encoding="utf-8")
    unknown = tmp_path / "unknown-pilot.yaml"
    unknown.write_text(
        text.replace("pilot_provider: westcoast", "pilot_provider: nowhere"), "utf-8"
    )
    result = _run(db, monkeypatch, "vet", str(unknown))
    assert result.exit_code == 2, result.output
    assert "pilot_provider 'nowhere' has no data in this store" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("weight: 20", "weight: 15", 1), "utf-8")
    result = _run(db, monkeypatch, "vet", str(bad))
    assert result.exit_code == 2, result.output
    assert "bad.yaml:" in result.output
    assert "add up to 95" in result.output
