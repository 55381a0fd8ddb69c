"""Batches, the quarantine (fix and replay) and the health of each source, through the API."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tallyclerk.store import CANONICAL_TABLES, open_store
from tests.api.conftest import ON_BOTH, auth

FIXED = {
    "order_id": "ORD-EXTRA-2",
    "placed_at": "2026-03-02T11:00:00-06:00",
    "channel": "web",
    "ship_to_country": "US",
    "ship_to_postal": "60601",
    "service_level": "standard",
    "promised_delivery_date": "2026-03-07",
    "order_value": 55,
    "currency": "USD",
    "cancelled_at": None,
}


def _order(url: str, order_id: str) -> dict[str, Any] | None:
    orders = CANONICAL_TABLES["orders"]
    store = open_store(url=url)
    try:
        with store.connect() as connection:
            row = connection.execute(sa.select(orders).where(orders.c.order_id == order_id)).first()
    finally:
        store.close()
    return None if row is None else dict(row._mapping)


def _held(client: TestClient, token: str, query: str = "") -> list[dict[str, Any]]:
    page = client.get(f"/api/v1/quarantine?limit=500{query}", headers=auth(token)).json()
    return list(page["items"])


def test_sources_and_their_health(api_client: TestClient, tokens: dict[str, str]) -> None:
    sources = api_client.get(
        "/api/v1/health/sources?limit=500", headers=auth(tokens["admin"])
    ).json()["items"]
    by_source = {(s["source"], s["provider_id"]): s for s in sources}
    assert by_source[("upload:westcoast:tracking.json", "westcoast")]["open_quarantine"] == 1
    orders = next(s for s in sources if s["source"].endswith("api-extra0/orders.csv"))
    assert (orders["provider_id"], orders["open_quarantine"], orders["last_stored"]) == (
        None,
        1,
        1,
    )
    assert all(s["last_status"] == "landed" for s in sources)
    assert (
        sum(s["batches"] for s in sources)
        == api_client.get("/api/v1/batches", headers=auth(tokens["admin"])).json()["total"]
    )
    own = api_client.get("/api/v1/health/sources", headers=auth(tokens["westcoast"])).json()
    assert [s["source"] for s in own["items"]] == ["upload:westcoast:tracking.json"]


def test_batches_filter(api_client: TestClient, tokens: dict[str, str]) -> None:
    admin = auth(tokens["admin"])
    everything = api_client.get("/api/v1/batches?limit=500", headers=admin).json()
    ids = [b["batch_id"] for b in everything["items"]]
    assert ids == sorted(ids, reverse=True)
    west = api_client.get("/api/v1/batches?provider=westcoast", headers=admin).json()["items"]
    assert [b["provider_id"] for b in west] == ["westcoast"]
    kind = api_client.get("/api/v1/batches?kind=orders", headers=admin).json()["items"]
    assert {b["kind"] for b in kind} == {"orders"}
    assert len(kind) == 2
    assert api_client.get("/api/v1/batches?status=failed", headers=admin).json()["total"] == 0
    one = api_client.get(f"/api/v1/batches/{west[0]['batch_id']}", headers=admin).json()
    assert one["open_quarantine"] == 1
    assert api_client.get("/api/v1/batches/999999", headers=admin).status_code == 404


@ON_BOTH
def test_a_record_is_fixed_and_replayed(
    api_store: str, api_client: TestClient, tokens: dict[str, str]
) -> None:
    admin = tokens["admin"]
    (record,) = _held(api_client, admin, "&kind=orders")
    assert record["column"] == "placed_at"
    assert record["record"]["order_id"] == "ORD-EXTRA-2"
    assert _order(api_store, "ORD-EXTRA-2") is None
    url = f"/api/v1/quarantine/{record['quarantine_id']}"
    unknown = api_client.put(url, headers=auth(admin), json={"raw": {"order_nr": "1"}})
    assert unknown.status_code == 400
    assert "order_nr" in unknown.json()["error"]["message"]
    fixed = api_client.put(url, headers=auth(admin), json={"raw": FIXED})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["record"]["placed_at"] == FIXED["placed_at"]
    assert fixed.json()["record"]["order_value"] == "55"
    assert fixed.json()["status"] == "open"
    replayed = api_client.post(
        "/api/v1/quarantine/replay", headers=auth(admin), json={"ids": [record["quarantine_id"]]}
    )
    assert replayed.status_code == 200, replayed.text
    (batch,) = replayed.json()["batches"]
    assert (batch["status"], batch["stored"], batch["quarantined"]) == ("landed", 1, 0)
    assert replayed.json()["records_replayed"] == 1
    closed = api_client.get(url, headers=auth(admin)).json()
    assert (closed["status"], closed["resolved_batch_id"]) == ("replayed", batch["batch_id"])
    stored = _order(api_store, "ORD-EXTRA-2")
    assert stored is not None
    assert str(stored["order_value"]).startswith("55")
    assert api_client.put(url, headers=auth(admin), json={"raw": FIXED}).status_code == 400
    again = api_client.post(
        "/api/v1/quarantine/replay", headers=auth(admin), json={"ids": [record["quarantine_id"]]}
    )
    assert again.status_code == 400
    assert not _held(api_client, admin, "&kind=orders")


def test_a_fix_that_still_fails_is_held_again(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    admin = auth(tokens["admin"])
    record = next(r for r in _held(api_client, tokens["admin"]) if r["provider_id"] == "eastbridge")
    broken = {
        "tracking_number": record["record"].get("tracking_number", "X1"),
        "carrier": "UPS",
        "status": "lost in space",
        "occurred_at": "2026-03-18T11:00:00+00:00",
    }
    url = f"/api/v1/quarantine/{record['quarantine_id']}"
    assert api_client.put(url, headers=admin, json={"raw": broken}).status_code == 200
    result = api_client.post(
        "/api/v1/quarantine/replay", headers=admin, json={"ids": [record["quarantine_id"]]}
    ).json()
    (batch,) = result["batches"]
    assert (batch["stored"], batch["quarantined"]) == (0, 1)
    assert "status" in batch["rejects"][0]["reason"]
    assert api_client.get(url, headers=admin).json()["status"] == "replayed"
    held = [r for r in _held(api_client, tokens["admin"]) if r["batch_id"] == batch["batch_id"]]
    assert len(held) == 1
    assert held[0]["source"].startswith("quarantine fix")
    assert held[0]["provider_id"] is None  # a fix loaded here is the brand's batch


def test_a_source_is_read_again_from_its_archive(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    admin = auth(tokens["admin"])
    record = next(r for r in _held(api_client, tokens["admin"]) if r["provider_id"] == "westcoast")
    result = api_client.post(
        "/api/v1/quarantine/replay",
        headers=admin,
        json={"batch": record["batch_id"], "from_archive": True},
    )
    assert result.status_code == 200, result.text
    (batch,) = result.json()["batches"]
    assert batch["quarantined"] == 1  # the unknown status is still unknown
    assert batch["replayed"] == 1
    assert (
        api_client.get(f"/api/v1/quarantine/{record['quarantine_id']}", headers=admin).json()[
            "status"
        ]
        == "replayed"
    )
    now_held = [r for r in _held(api_client, tokens["westcoast"]) if r["status"] == "open"]
    assert [r["batch_id"] for r in now_held] == [batch["batch_id"]]
    replay = api_client.post(f"/api/v1/batches/{record['batch_id']}/replay", headers=admin)
    assert replay.status_code == 200, replay.text
    assert replay.json()["batch_id"] > batch["batch_id"]
    detail = api_client.get(f"/api/v1/batches/{replay.json()['batch_id']}", headers=admin).json()
    assert detail["replay_of"] == record["batch_id"]
    assert detail["provider_id"] == "westcoast"
    both = api_client.post(
        "/api/v1/quarantine/replay", headers=admin, json={"ids": [1], "batch": 1}
    )
    assert both.status_code == 400
