"""Scorecards, trends, burn rates and periods: what the API shows is what was recorded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tallyclerk.sla import MetricStanding, Scorecard, credit_lines, metric_trend, scorecards
from tallyclerk.store import open_store
from tests.api.conftest import ON_BOTH, PERIODS, PROVIDERS, auth


def _direct(url: str, **kwargs: Any) -> list[Scorecard]:
    store = open_store(url=url)
    try:
        with store.connect() as connection:
            return scorecards(connection, **kwargs)
    finally:
        store.close()


def _standing(m: MetricStanding) -> dict[str, Any]:
    return {
        "metric": m.metric,
        "segment": m.segment,
        "segment_from": m.segment_from.isoformat(),
        "value": m.value,
        "threshold": m.threshold,
        "met": m.met,
        "state": m.state,
        "numerator": m.numerator,
        "denominator": m.denominator,
        "excluded": m.excluded,
        "burn": None if m.burn is None else m.burn.state,
    }


def _shown(item: dict[str, Any]) -> dict[str, Any]:
    keys = ("metric", "segment", "segment_from", "value", "threshold", "met", "state")
    return {
        **{k: item[k] for k in keys},
        **{k: item[k] for k in ("numerator", "denominator", "excluded")},
        "burn": None if item["burn"] is None else item["burn"]["state"],
    }


@ON_BOTH
def test_scorecards_equal_a_direct_read(
    api_store: str, api_client: TestClient, tokens: dict[str, str]
) -> None:
    for period in (None, *PERIODS):
        query = "" if period is None else f"?period={period:%Y-%m}"
        page = api_client.get(f"/api/v1/scorecards{query}", headers=auth(tokens["analyst"]))
        assert page.status_code == 200, page.text
        shown = page.json()["items"]
        direct = _direct(api_store, period=period)
        assert [c["provider_id"] for c in shown] == [c.provider_id for c in direct]
        assert {c["provider_id"] for c in shown} == set(PROVIDERS)
        for item, card in zip(shown, direct, strict=True):
            assert item["period"] == f"{card.period:%Y-%m}"
            assert item["run_id"] == card.run_id
            assert item["light"] == card.light
            assert Decimal(item["credits"]) == card.credits
            assert Decimal(item["ledger_credits"]) == card.ledger_credits
            assert item["currency"] == card.currency
            assert item["breached"] == list(dict.fromkeys(m.metric for m in card.breached))
            assert [_shown(m) for m in item["metrics"]] == [_standing(m) for m in card.metrics]
            assert item["metrics"], "a scorecard without metrics proves nothing"


def test_the_latest_period_is_the_default_and_march_burns(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    admin = auth(tokens["admin"])
    latest = api_client.get("/api/v1/scorecards", headers=admin).json()["items"]
    assert {c["period"] for c in latest} == {f"{PERIODS[-1]:%Y-%m}"}
    # March was evaluated while open: its metrics carry burn states; February's do not.
    assert all(any(m["burn"] for m in c["metrics"]) for c in latest)
    february = api_client.get("/api/v1/scorecards?period=2026-02", headers=admin).json()
    assert not any(m["burn"] for c in february["items"] for m in c["metrics"])
    periods = api_client.get("/api/v1/periods", headers=admin).json()
    assert periods["items"] == ["2026-03", "2026-02"]
    none = api_client.get("/api/v1/scorecards?period=2025-06", headers=admin).json()
    assert none["items"] == []
    assert none["total"] == 0


def test_one_scorecard_with_its_credit_lines(
    api_store: str, api_client: TestClient, tokens: dict[str, str]
) -> None:
    for provider in PROVIDERS:
        response = api_client.get(
            f"/api/v1/scorecards/{provider}?period=2026-02", headers=auth(tokens[provider])
        )
        assert response.status_code == 200, response.text
        card = response.json()
        store = open_store(url=api_store)
        try:
            with store.connect() as connection:
                lines = credit_lines(connection, provider_id=provider, period=PERIODS[0])
        finally:
            store.close()
        assert [(x["kind"], x["label"], Decimal(x["amount"])) for x in card["credit_lines"]] == [
            (x["kind"], x["label"], x["amount"]) for x in lines
        ]
        total = sum((Decimal(x["amount"]) for x in card["credit_lines"]), Decimal(0))
        assert Decimal(card["credits"]) == total
    missing = api_client.get(
        "/api/v1/scorecards/westcoast?period=2025-01", headers=auth(tokens["admin"])
    )
    assert missing.status_code == 404


def test_the_trend_follows_the_months(
    api_store: str, api_client: TestClient, tokens: dict[str, str]
) -> None:
    headers = auth(tokens["westcoast"])
    trend = api_client.get(
        "/api/v1/scorecards/westcoast/trend?metric=ship_on_time_rate", headers=headers
    ).json()
    assert [p["period"] for p in trend["points"]] == ["2026-02", "2026-03"]
    assert {p["metric"] for p in trend["points"]} == {"ship_on_time_rate"}
    store = open_store(url=api_store)
    try:
        with store.connect() as connection:
            direct = metric_trend(connection, provider_id="westcoast", metric="ship_on_time_rate")
    finally:
        store.close()
    assert [p["value"] for p in trend["points"]] == [m.value for m in direct]
    last = api_client.get("/api/v1/scorecards/westcoast/trend?months=1", headers=headers).json()
    assert {p["period"] for p in last["points"]} == {"2026-03"}
    unknown = api_client.get("/api/v1/scorecards/westcoast/trend?metric=joy_rate", headers=headers)
    assert unknown.status_code == 400


def test_burn_lists_the_open_month(api_client: TestClient, tokens: dict[str, str]) -> None:
    page = api_client.get("/api/v1/burn", headers=auth(tokens["admin"])).json()
    assert {b["provider_id"] for b in page["items"]} == set(PROVIDERS)
    assert {b["period"] for b in page["items"]} == {"2026-03"}
    assert all(b["burn"]["state"] in ("ok", "warn", "page", "no data") for b in page["items"])
    own = api_client.get("/api/v1/burn", headers=auth(tokens["westcoast"])).json()
    assert own["items"]
    assert own["items"] == [b for b in page["items"] if b["provider_id"] == "westcoast"]
