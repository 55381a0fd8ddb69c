"""GET /api/v1/vetting: the latest kept vetting report, for brand users only.

The report is a real one: the example RFP (examples/vetting/rfp.yaml) vetted on the API
tests' simulated quarter (2026-01 to 2026-03; the candidate harborline's pilot is the store's
westcoast) after a hand-built forecast run is kept (its store-wide P90 is the peak demand),
and kept with `save_report`, as `tallyclerk vet` does.

Also `keep_vetting` and `keep_vetting_at`, which the page, isolation and browser tests use.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tallyclerk.api import create_app
from tallyclerk.api.routes.vetting import VettingOut
from tallyclerk.settings import Settings
from tallyclerk.store import Store, open_store
from tallyclerk.store.schema import vetting_reports
from tallyclerk.vetting import KeptReport, latest_report, load_rfp, save_report, vet
from tests.api.conftest import AS_OF, BuiltStore, api_settings_for, auth
from tests.api.test_forecast_api import SPIKE, hand_run, keep_run

RFP = Path(__file__).resolve().parents[2] / "examples" / "vetting" / "rfp.yaml"
WINDOW = (date(2026, 1, 1), date(2026, 3, 31))  # the simulated quarter
ADDED = {"report_id", "created_at", "created_by"}  # what the API adds to the document


def keep_vetting(
    store: Store, settings: Settings, window: tuple[date, date] = WINDOW
) -> KeptReport:
    """Vet the example RFP on `store` over `window`, keep the report; it as read back."""
    report = vet(store, load_rfp(RFP), window=window, settings=settings)
    with store.begin() as connection:
        report_id = save_report(connection, report, created_by="tests")
    with store.connect() as connection:
        kept = latest_report(connection, report_id)
    assert kept is not None
    return kept


def keep_vetting_at(url: str, window: tuple[date, date] = WINDOW) -> KeptReport:
    """`keep_vetting` on the store at `url` (the API tests' settings)."""
    store = open_store(url=url)
    try:
        return keep_vetting(store, api_settings_for(url), window)
    finally:
        store.close()


def drop_report(url: str, report_id: int) -> None:
    """Remove a kept report (a test that added one puts the store back as it was)."""
    store = open_store(url=url)
    try:
        with store.begin() as connection:
            connection.execute(
                sa.delete(vetting_reports).where(vetting_reports.c.report_id == report_id)
            )
    finally:
        store.close()


@pytest.fixture(scope="module")
def kept(api_store: str) -> KeptReport:
    """A forecast run kept (for the peak demand), then the vetting of the quarter."""
    keep_run(api_store, hand_run(AS_OF.date(), 28, SPIKE))
    return keep_vetting_at(api_store)


def _get(client: TestClient, token: str, query: str = "") -> Any:
    return client.get(f"/api/v1/vetting{query}", headers=auth(token))


def _plain(document: dict[str, Any]) -> Any:
    """The document as JSON would carry it."""
    return json.loads(json.dumps(document))


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_brand_users_get_the_latest_report(
    role: str, kept: KeptReport, api_client: TestClient, tokens: dict[str, str]
) -> None:
    response = _get(api_client, tokens[role])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["report_id"] == kept.report_id
    assert body["created_by"] == "tests"
    assert body["created_at"].startswith(f"{kept.created_at:%Y-%m-%dT%H:%M}")
    # The rest is the kept document, figure for figure (money stays decimal text).
    assert {k: v for k, v in body.items() if k not in ADDED} == _plain(kept.document)
    assert body["rfp"] == "3PL selection 2027"
    assert body["window"] == {"from": "2026-01", "to": "2026-03"}
    assert body["months"] == 3
    assert [m["month"] for m in body["activity"]] == ["2026-01", "2026-02", "2026-03"]
    # The peak is the hand run's store-wide P90 of 11 orders on a weekday.
    assert body["peak_demand"]["orders_p90"] == 11.0
    ranked = body["candidates"]
    assert [c["rank"] for c in ranked] == [1, 2, 3]
    assert {c["candidate_id"] for c in ranked} == {"northstar", "prairie", "harborline"}
    assert [c["score"] for c in ranked] == sorted((c["score"] for c in ranked), reverse=True)
    pilot = next(c for c in ranked if c["candidate_id"] == "harborline")
    assert pilot["pilot_provider"] == "westcoast"
    assert pilot["cost"]["error_rate_source"] == "pilot westcoast"
    assert pilot["cost"]["late_rate_source"] == "pilot westcoast"
    claimed = next(c for c in ranked if c["candidate_id"] == "prairie")
    assert claimed["cost"]["error_rate_source"] == "claimed"
    for candidate in ranked:
        cost = candidate["cost"]
        assert isinstance(cost["total"], str)  # decimal text, never a float
        charges = sum(Decimal(v) for v in cost["by_charge"].values())
        assert charges == Decimal(cost["total"]), candidate["candidate_id"]
        assert Decimal(cost["risk_adjusted"]) == (
            Decimal(cost["total"]) + Decimal(cost["error_cost"]) + Decimal(cost["late_cost"])
        )
        assert candidate["growth"]["pct"] == "50"


def test_report_id_picks_an_earlier_report(
    api_store: str, kept: KeptReport, api_client: TestClient, tokens: dict[str, str]
) -> None:
    later = keep_vetting_at(api_store, (date(2026, 2, 1), date(2026, 3, 31)))
    try:
        assert later.report_id > kept.report_id
        latest = _get(api_client, tokens["analyst"]).json()
        assert (latest["report_id"], latest["window"]["from"], latest["months"]) == (
            later.report_id,
            "2026-02",
            2,
        )
        earlier = _get(api_client, tokens["analyst"], f"?report_id={kept.report_id}").json()
        assert earlier["report_id"] == kept.report_id
        assert earlier["window"] == {"from": "2026-01", "to": "2026-03"}
        assert {k: v for k, v in earlier.items() if k not in ADDED} == _plain(kept.document)
    finally:
        drop_report(api_store, later.report_id)
    missing = _get(api_client, tokens["admin"], f"?report_id={later.report_id}")
    assert missing.status_code == 404
    assert "tallyclerk vet RFP.yaml" in missing.json()["error"]["message"]
    assert _get(api_client, tokens["admin"]).json()["report_id"] == kept.report_id


@pytest.mark.parametrize("provider", ["eastbridge", "westcoast"])
def test_provider_users_get_404(
    provider: str, kept: KeptReport, api_client: TestClient, tokens: dict[str, str]
) -> None:
    # The brand's costs and judgement of candidates: for a provider user it does not exist,
    # not even for westcoast, whose pilot is in the report.
    for query in ("", f"?report_id={kept.report_id}", "?report_id=999999"):
        response = _get(api_client, tokens[provider], query)
        assert response.status_code == 404, (query, response.text)
        assert response.json() == {"error": {"status": 404, "message": "Not Found"}}
    unknown_route = api_client.get("/api/v1/vetting-nothing", headers=auth(tokens[provider]))
    assert unknown_route.json()["error"]["message"] == "Not Found"  # indistinguishable


def test_bad_parameters_are_refused(
    kept: KeptReport, api_client: TestClient, tokens: dict[str, str]
) -> None:
    for query in ("?report_id=0", "?report_id=-3", "?report_id=x", f"?report_id={2**60}"):
        assert _get(api_client, tokens["admin"], query).status_code == 422, query
    assert api_client.get("/api/v1/vetting").status_code == 401


@pytest.fixture(scope="module")
def empty_client(
    built_duckdb: BuiltStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """A service over a fresh copy of the demo store, where no vetting was ever kept."""
    source = Path(built_duckdb.url.removeprefix("duckdb:///"))
    target = tmp_path_factory.mktemp("vetting-empty") / "store.duckdb"
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    with TestClient(create_app(api_settings_for(f"duckdb:///{target}"))) as client:
        yield client


def test_without_a_kept_report_the_answer_is_404(
    empty_client: TestClient, built_duckdb: BuiltStore
) -> None:
    for role in ("admin", "analyst"):
        response = _get(empty_client, built_duckdb.tokens[role])
        assert response.status_code == 404, response.text
        assert "run `tallyclerk vet RFP.yaml`" in response.json()["error"]["message"]
    hidden = _get(empty_client, built_duckdb.tokens["eastbridge"])
    assert hidden.status_code == 404
    assert "tallyclerk vet" not in hidden.text


def test_the_openapi_document_describes_the_endpoint(api_client: TestClient) -> None:
    schema = api_client.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/vetting"]["get"]
    assert operation["tags"] == ["vetting"]
    assert {p["name"] for p in operation["parameters"]} == {"report_id"}
    assert {"200", "401", "404", "422"} <= set(operation["responses"])
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    assert example["candidates"][0]["cost"]["error_rate_source"].startswith("pilot ")
    assert example["window"] == {"from": "2026-10", "to": "2026-10"}
    assert "VettingOut" in schema["components"]["schemas"]
    assert VettingOut.model_validate(example).candidates[0].growth is not None  # it is valid
    assert "vetting" in {tag["name"] for tag in schema["tags"]}
