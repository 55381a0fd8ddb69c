"""KPI figures, their drill-down and the customer-experience report through the API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tallyclerk.metrics import catalogue
from tests.api.conftest import AS_OF, PROVIDERS, auth

CLOCK = AS_OF.date().isoformat()


def _figures(client: TestClient, token: str, metric: str, query: str) -> list[dict[str, Any]]:
    response = client.get(
        f"/api/v1/kpis/{metric}?as_of={CLOCK}&limit=500&{query}", headers=auth(token)
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["items"])
    return list(page["items"])


def test_the_catalogue_is_the_registry(api_client: TestClient, tokens: dict[str, str]) -> None:
    page = api_client.get("/api/v1/kpis", headers=auth(tokens["westcoast"])).json()
    assert [k["name"] for k in page["items"]] == [m.name for m in catalogue()]
    assert {k["direction"] for k in page["items"]} == {"higher", "lower"}


@pytest.mark.parametrize("metric", ["ship_on_time_rate", "no_first_scan_rate"])
def test_the_items_explain_each_figure(
    metric: str, api_client: TestClient, tokens: dict[str, str]
) -> None:
    """Bad and good items add up to the figure; for a lower-is-better KPI the hits are bad."""
    admin = tokens["admin"]
    figures = _figures(api_client, admin, metric, "from=2026-02&to=2026-02")
    assert {f["provider_id"] for f in figures} == set(PROVIDERS)
    lower = next(m for m in catalogue() if m.name == metric).lower_is_better
    for figure in figures:
        counted = {}
        for outcome in ("bad", "good", "all"):
            page = api_client.get(
                f"/api/v1/kpis/{metric}/items?as_of={CLOCK}&provider={figure['provider_id']}"
                f"&period=2026-02&outcome={outcome}&limit=500",
                headers=auth(admin),
            ).json()
            counted[outcome] = page["total"]
            assert len(page["items"]) == page["total"]
            assert {i["provider_id"] for i in page["items"]} <= {figure["provider_id"]}
            assert all(i["period_date"].startswith("2026-02") for i in page["items"])
            if outcome != "all":
                assert {i["outcome"] for i in page["items"]} <= {outcome}
        hits = figure["numerator"]
        assert counted["all"] == figure["denominator"]
        assert counted["bad"] == (hits if lower else figure["denominator"] - hits)
        assert counted["bad"] + counted["good"] == counted["all"]


def test_a_provider_gets_its_own_figures_only(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    brand = _figures(api_client, tokens["analyst"], "ship_on_time_rate", "by_facility=true")
    own = _figures(api_client, tokens["westcoast"], "ship_on_time_rate", "by_facility=true")
    assert own
    assert own == [f for f in brand if f["provider_id"] == "westcoast"]
    assert all(f["facility_id"] for f in own)
    refused = api_client.get(
        "/api/v1/kpis/ship_on_time_rate?provider=eastbridge", headers=auth(tokens["westcoast"])
    )
    assert refused.status_code == 404
    weekly = _figures(
        api_client, tokens["westcoast"], "ship_on_time_rate", "grain=week&from=2026-02-02"
    )
    assert weekly
    assert all(f["grain"] == "week" and f["period"] >= "2026-02-02" for f in weekly)


def test_items_page_through(api_client: TestClient, tokens: dict[str, str]) -> None:
    url = f"/api/v1/kpis/ship_on_time_rate/items?as_of={CLOCK}&provider=westcoast"
    headers = auth(tokens["westcoast"])
    first = api_client.get(f"{url}&limit=5", headers=headers).json()
    second = api_client.get(f"{url}&limit=5&offset=5", headers=headers).json()
    assert first["total"] == second["total"] > 10
    assert first["next_offset"] == 5
    ids = [i["item_id"] for i in first["items"] + second["items"]]
    assert len(set(ids)) == 10
    dates = [i["period_date"] for i in first["items"] + second["items"]]
    assert dates == sorted(dates)


def test_experience_reads_the_catalogue_figures(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    report = api_client.get(
        f"/api/v1/experience?from=2026-02&as_of={CLOCK}", headers=auth(tokens["analyst"])
    )
    assert report.status_code == 200, report.text
    document = report.json()
    assert (document["period_start"], document["period_end"]) == ("2026-02-01", "2026-02-28")
    perfect = _figures(
        api_client, tokens["analyst"], "perfect_order_rate", "from=2026-02&to=2026-02"
    )
    by_provider = {f["provider_id"]: f for f in perfect}
    assert [p["provider_id"] for p in document["providers"]] == sorted(PROVIDERS)
    for row in document["providers"]:
        rate = row["perfect_order"]["rate"]
        figure = by_provider[row["provider_id"]]
        assert (rate["numerator"], rate["denominator"]) == (
            figure["numerator"],
            figure["denominator"],
        )
    total = document["total"]["perfect_order"]["rate"]
    assert total["denominator"] == sum(f["denominator"] for f in perfect)
    assert document["total"]["provider_id"] is None
    own = api_client.get(
        f"/api/v1/experience?from=2026-02&as_of={CLOCK}", headers=auth(tokens["westcoast"])
    ).json()
    assert [p["provider_id"] for p in own["providers"]] == ["westcoast"]
    assert own["total"]["perfect_order"] == own["providers"][0]["perfect_order"]
