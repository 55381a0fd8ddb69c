"""The vetting page (/vetting), brand users only, through the service.

The report is test_vetting_api's: the example RFP vetted on the simulated quarter after a
hand-built forecast run was kept, read back from the store as the page reads it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tallyclerk.api import create_app
from tallyclerk.vetting import KeptReport
from tests.api.conftest import AS_OF, BuiltStore, api_settings_for, auth
from tests.api.test_forecast_api import SPIKE, hand_run, keep_run
from tests.api.test_forecast_page import Elements
from tests.api.test_vetting_api import keep_vetting_at


@pytest.fixture(scope="module")
def kept(api_store: str) -> KeptReport:
    """A forecast run kept (for the peak demand), then the vetting of the quarter."""
    keep_run(api_store, hand_run(AS_OF.date(), 28, SPIKE))
    return keep_vetting_at(api_store)


def _page(client: TestClient, token: str, query: str = "") -> Any:
    return client.get(f"/vetting{query}", headers={**auth(token), "Accept": "text/html"})


def _money(text: str) -> str:
    """Decimal text as the page shows it: 2267.11 -> 2,267.11."""
    return f"{Decimal(text):,.2f}"


def _cell(page: Elements, metric: str, candidate: str, segment: str | None = None) -> str:
    wanted = {"data_metric": metric, "data_candidate": candidate}
    if segment is not None:
        wanted["data_segment"] = segment
    (cell,) = page.find(**wanted)
    return cell["data-value"]


def test_the_ranked_table_shows_the_documents_figures(
    kept: KeptReport, api_client: TestClient, tokens: dict[str, str]
) -> None:
    response = _page(api_client, tokens["admin"])
    assert response.status_code == 200, response.text
    text = response.text
    page = Elements(text)
    ranked = kept.document["candidates"]
    rows = [a for tag, a in page.tags if tag == "tr" and "data-candidate" in a]
    assert [(r["data-candidate"], r["data-rank"]) for r in rows] == [
        (c["candidate_id"], str(c["rank"])) for c in ranked
    ]
    assert rows[0].get("class") == "leader"
    for c in ranked:
        who = c["candidate_id"]
        assert float(_cell(page, "score", who)) == c["score"]
        assert _cell(page, "fees_monthly", who) == c["cost"]["monthly"]
        assert _cell(page, "risk_adjusted_monthly", who) == c["cost"]["risk_adjusted_monthly"]
        growth = _cell(page, "growth_risk_adjusted_monthly", who)
        assert growth == c["growth"]["risk_adjusted_monthly"]
        assert float(_cell(page, "capacity_fit", who)) == c["capacity_fit"]
        assert float(_cell(page, "integration_fit", who)) == c["integration_fit"]
        # The figures people read are the document's too.
        assert f">{_money(c['cost']['monthly'])}</td>" in text, who
        assert f"<strong>{_money(c['cost']['risk_adjusted_monthly'])}</strong>" in text, who
        assert f'<span class="score-figure">{c["score"]:.1f}</span>' in text, who
        assert c["consequence"] in text
    leader = ranked[0]
    assert len(page.find(data_leader=leader["candidate_id"])) == 1
    assert f"{leader['name']}, {leader['score']:.1f}</dd>" in text
    # Every claim covers the peak (the hand run's P90 of 11 orders a day): 100 %.
    assert {c["capacity_fit"] for c in ranked} == {1.0}
    assert ">100 %</td>" in text


def test_the_window_the_peak_and_the_notes_are_shown(
    kept: KeptReport, api_client: TestClient, tokens: dict[str, str]
) -> None:
    text = _page(api_client, tokens["analyst"]).text
    page = Elements(text)
    doc = kept.document
    (lead,) = page.find(data_report=str(kept.report_id))
    assert (lead["data-window-from"], lead["data-window-to"]) == ("2026-01", "2026-03")
    orders = sum(m["orders"] for m in doc["activity"])
    assert f"{orders:,} orders" in text
    peak = doc["peak_demand"]
    (dd,) = page.find(data_peak_day=peak["day"])
    assert float(dd["data-peak"]) == peak["orders_p90"] == 11.0
    for note in doc["notes"]:
        assert note in text
    assert [a["data-month"] for a in page.find() if "data-month" in a] == [
        "2026-01",
        "2026-02",
        "2026-03",
    ]


def test_each_candidate_has_its_reasons_criteria_costs_and_rate_sources(
    kept: KeptReport, api_client: TestClient, tokens: dict[str, str]
) -> None:
    text = _page(api_client, tokens["admin"]).text
    page = Elements(text)
    for c in kept.document["candidates"]:
        who = c["candidate_id"]
        assert page.find(data_detail=who)
        for reason in c["reasons"]:
            assert reason in text
        for k in c["criteria"]:
            assert float(_cell(page, "points", who, k["criterion_id"])) == k["points"]
            assert k["reason"] in text
        for kind, amount in c["cost"]["by_charge"].items():
            assert _cell(page, "charge", who, kind) == amount
        assert _cell(page, "error_cost", who) == c["cost"]["error_cost"]
        assert _cell(page, "late_cost", who) == c["cost"]["late_cost"]
    # harborline's rates were measured in its pilot (westcoast); the others' are claimed.
    sources = [a["data-source"] for a in page.find() if "data-source" in a]
    assert sources.count("pilot westcoast") == 2  # its error rate and its late rate
    assert sources.count("claimed") == 4  # two each for northstar and prairie
    assert "measured in the pilot (westcoast)" in text
    assert "claimed by the candidate" in text


def test_the_chart_data_is_fees_against_risk_adjusted_cost(
    kept: KeptReport, api_client: TestClient, tokens: dict[str, str]
) -> None:
    page = Elements(_page(api_client, tokens["admin"]).text)
    (canvas,) = [a for tag, a in page.tags if tag == "canvas"]
    assert canvas["data-vetting-chart"] == "vetting-chart-data"
    (script,) = page.find(id="vetting-chart-data")
    assert script["type"] == "application/json"
    chart = json.loads(page.scripts["vetting-chart-data"])
    ranked = kept.document["candidates"]
    assert chart["labels"] == [c["name"] for c in ranked]
    assert chart["candidates"] == [c["candidate_id"] for c in ranked]
    assert chart["fees"] == [float(c["cost"]["monthly"]) for c in ranked]
    assert chart["risk_adjusted"] == [float(c["cost"]["risk_adjusted_monthly"]) for c in ranked]
    assert chart["currency"] == "USD"
    # No inline script runs (the CSP forbids them): the only one without src is data.
    inline = [a for tag, a in page.tags if tag == "script" and "src" not in a]
    assert [a.get("type") for a in inline] == ["application/json"]


def test_an_unknown_report_id_is_404(
    kept: KeptReport, api_client: TestClient, tokens: dict[str, str]
) -> None:
    response = _page(api_client, tokens["admin"], f"?report_id={kept.report_id + 1000}")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "tallyclerk vet RFP.yaml" in response.text
    same = _page(api_client, tokens["admin"], f"?report_id={kept.report_id}")
    assert f'data-report="{kept.report_id}"' in same.text


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_brand_users_have_the_menu_entry(
    role: str, kept: KeptReport, api_client: TestClient, tokens: dict[str, str]
) -> None:
    overview = api_client.get("/", headers=auth(tokens[role]))
    assert 'href="/vetting"' in overview.text
    assert 'href="/vetting" aria-current="page"' in _page(api_client, tokens[role]).text


@pytest.mark.parametrize("provider", ["eastbridge", "westcoast"])
def test_provider_users_are_refused_and_have_no_menu_entry(
    provider: str, kept: KeptReport, api_client: TestClient, tokens: dict[str, str]
) -> None:
    for query in ("", f"?report_id={kept.report_id}"):
        refused = _page(api_client, tokens[provider], query)
        assert refused.status_code == 404, refused.text
        assert "text/html" in refused.headers["content-type"]
        for name in ("Harborline", "NorthStar", "Prairie", "tallyclerk vet", "data-candidate"):
            assert name not in refused.text, name
    overview = api_client.get("/", headers=auth(tokens[provider]))
    assert overview.status_code == 200
    assert 'href="/vetting"' not in overview.text
    assert ">Vetting<" not in overview.text


@pytest.fixture(scope="module")
def empty_client(
    built_duckdb: BuiltStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """A service over a fresh copy of the demo store, where no vetting was ever kept."""
    source = Path(built_duckdb.url.removeprefix("duckdb:///"))
    target = tmp_path_factory.mktemp("vetting-page-empty") / "store.duckdb"
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    with TestClient(create_app(api_settings_for(f"duckdb:///{target}"))) as client:
        yield client


def test_without_a_report_the_page_says_how_to_make_one(
    empty_client: TestClient, built_duckdb: BuiltStore
) -> None:
    response = _page(empty_client, built_duckdb.tokens["analyst"])
    assert response.status_code == 200, response.text
    page = Elements(response.text)
    assert page.find(data_vetting="none")
    assert "<code>tallyclerk vet RFP.yaml</code>" in response.text
    assert not [a for tag, a in page.tags if tag == "canvas"]
    assert "chart.umd.min.js" not in response.text
    assert _page(empty_client, built_duckdb.tokens["westcoast"]).status_code == 404
