"""`tallyclerk forecast` and `tallyclerk peak simulate` end to end on a simulated brand.

The store holds a year of the store's orders before the 3PLs (2025) and the 3PLs' simulated
year (2026, 20,000 orders, eastbridge's planted peak meltdown). Seen from 2026-10-31 the
providers' own histories hold no peak, the store's does: their forecasts are top-down and
carry last year's peak, and the peak simulation shows eastbridge missing its peak target.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tallyclerk.cli import app
from tallyclerk.cli._common import state
from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.forecast import load_run
from tallyclerk.ingest import ingest_paths
from tallyclerk.settings import Settings
from tallyclerk.simulate import simulate
from tallyclerk.store import open_store

pytestmark = pytest.mark.slow

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "peak"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    data = tmp_path_factory.mktemp("brand")
    simulate(data, 20_000, seed=3, history_months=12)
    url = f"duckdb:///{tmp_path_factory.mktemp('store') / 'store.duckdb'}"
    settings = Settings(database_url=url)
    store = open_store(settings)
    try:
        with store.begin() as connection:
            for path in sorted((data / "contracts").glob("*.yaml")):
                add_contract(
                    connection, load_contract(path), path.read_text(encoding="utf-8"), path.name
                )
        assert ingest_paths(store, [data], settings=settings).ok
    finally:
        store.close()
    return url


def _run(db: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    # The simulated store's orders are placed in America/Chicago: the brand's zone.
    monkeypatch.setattr(state, "settings", Settings(brand={"timezone": "America/Chicago"}))  # type: ignore[arg-type]
    monkeypatch.setenv("COLUMNS", "160")
    return runner.invoke(app, ["--db", db, *args])


@pytest.fixture(scope="module")
def forecast_doc(db: str) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        result = _run(db, patch, "forecast", "--as-of", "2026-10-31", "--horizon", "92", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def _series(doc: dict[str, Any], provider: str | None, facility: str | None = None) -> Any:
    (found,) = [
        s
        for s in doc["series"]
        if s["provider_id"] == provider
        and s["facility_id"] == facility
        and s["measure"] == "orders"
    ]
    return found


def test_store_forecast_learns_last_years_peak(forecast_doc: dict[str, Any]) -> None:
    store = _series(forecast_doc, None)
    assert store["method"] == "direct"
    assert store["history"] == {"start": "2025-01-01", "days": 669}
    assert store["accuracy"]["mase"] is not None
    assert store["baseline"]["model"] == "SeasonalNaive(7)"
    by_day = {d["day"]: d for d in store["days"]}
    october = [v["p50"] for k, v in by_day.items() if k < "2026-11-01"]
    assert not october  # the forecast starts the day after the history
    black_friday_week = [by_day[f"2026-11-{d}"]["p50"] for d in range(27, 31)]
    early_november = [by_day[f"2026-11-0{d}"]["p50"] for d in range(2, 7)]
    # The simulated Black Friday weekend is 2-3x a normal November day: the forecast sees it.
    assert sum(black_friday_week) / 4 > 1.5 * sum(early_november) / 5


def test_providers_are_forecast_top_down_with_a_note(forecast_doc: dict[str, Any]) -> None:
    for provider in ("eastbridge", "westcoast"):
        series = _series(forecast_doc, provider)
        assert series["method"] == "top-down"
        # The first orders of 2026 (Chicago) were released on Dec 31 in Los Angeles.
        assert "2025-12-31" <= series["history"]["start"] <= "2026-01-01"
        assert "Top-down" in series["notes"][0]
        for day in series["days"]:
            assert day["p90"] >= day["p50"] >= 0


def test_eastbridge_peak_weeks_are_flagged(forecast_doc: dict[str, Any]) -> None:
    (east,) = [c for c in forecast_doc["capacity"] if c["provider_id"] == "eastbridge"]
    weeks = {w["week"]: w for w in east["weeks"]}
    assert "2026-W49" in east["flagged_weeks"]  # Cyber Monday, Nov 30, with the weekend's orders
    cyber = weeks["2026-W49"]
    assert cyber["peak_terms"] is True
    assert cyber["p90_peak_day"] > cyber["capacity_per_day"]
    assert cyber["gap_orders"] > 0
    # Outside the peak nothing is over capacity.
    assert not weeks["2026-W45"]["flagged"]


def test_the_run_is_kept(db: str, forecast_doc: dict[str, Any]) -> None:
    store = open_store(Settings(database_url=db))
    try:
        with store.connect() as connection:
            kept = load_run(connection, forecast_doc["run_id"])
            scoped = load_run(connection, provider_ids=["westcoast"], include_store=False)
    finally:
        store.close()
    assert kept is not None
    assert kept.as_of.isoformat() == "2026-10-31"
    east = kept.find("eastbridge")
    assert east is not None
    printed = [d["p50"] for d in _series(forecast_doc, "eastbridge")["days"]]
    assert len(printed) == len(east.p50) == 92
    # Kept to 3 decimals, printed to 2.
    assert all(abs(float(v) - p) <= 0.0051 for v, p in zip(east.p50, printed, strict=True))
    assert scoped is not None
    assert {s.key.provider_id for s in scoped.series} == {"westcoast"}


def test_table_and_plot(db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    chart = tmp_path / "forecast.png"
    result = _run(
        db,
        monkeypatch,
        "forecast",
        "--provider",
        "eastbridge",
        "--as-of",
        "2026-10-31",
        "--horizon",
        "45",
        "--plot",
        str(chart),
        "--no-save",
    )
    assert result.exit_code == 0, result.output
    assert "eastbridge: the busiest business day of each week" in result.output
    assert "2026-W49" in result.output
    assert "westcoast" not in result.output.split("eastbridge: the busiest")[1]
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provider", "nosuch"], "unknown provider 'nosuch'"),
        (["--plot", "chart.txt"], "give a file ending in .png or .svg"),
        (["--as-of", "2026-13-01"], "is not a date"),
        (["--as-of", "2025-06-30"], "no orders released to any provider up to 2025-06-30"),
    ],
)
def test_bad_input_is_a_clear_error(
    db: str, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    result = _run(db, monkeypatch, "forecast", "--no-save", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_peak_simulation_shows_the_meltdown_ahead(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(
        db, monkeypatch, "peak", "simulate", str(EXAMPLES / "forecast-p90.yaml"), "--json"
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["provider"] == "eastbridge"
    assert doc["as_of"] == "2026-10-31"
    peak = [p for p in doc["periods"] if p["label"].startswith("peak") and p["period"] == "2026-11"]
    assert peak
    assert doc["totals"]["late"] > 0
    assert doc["recommendation"]["needed"] is (peak[0]["met"] is False)
    assert doc["recommendation"]["summary"]


def test_peak_simulation_table(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(
        db, monkeypatch, "peak", "simulate", str(EXAMPLES / "black-friday-promo.yaml"), "--days"
    )
    assert result.exit_code == 0, result.output
    assert "Ship on time, per SLA period" in result.output
    assert "Day by day" in result.output
    assert "Recommendation" in result.output


def test_bad_scenario_names_line_and_key(
    db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nprovider: eastbridge\nfrom: 2026-11-01\nto: 2026-12-31\ndemand:\n  scale: -2\n",
        encoding="utf-8",
    )
    result = _run(db, monkeypatch, "peak", "simulate", str(bad))
    assert result.exit_code == 2, result.output
    assert "bad.yaml:6: demand.scale" in result.output
    assert "Traceback" not in result.output
