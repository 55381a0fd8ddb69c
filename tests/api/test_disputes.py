"""Disputes through the API: opened by the brand, answered by the provider, resolved, booked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ON_BOTH, auth


def _open(client: TestClient, tokens: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/disputes", headers=auth(tokens["admin"]), json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


@ON_BOTH
def test_open_counter_and_credit(api_client: TestClient, tokens: dict[str, str]) -> None:
    dispute = _open(
        api_client,
        tokens,
        **{
            "from": "manual",
            "provider_id": "westcoast",
            "subject": "Damaged pallet at receiving",
            "amount": "80.00",
            "currency": "USD",
            "period": "2026-03",
        },
    )
    assert dispute["status"] == "open"
    assert dispute["response_due_at"] is not None
    url = f"/api/v1/disputes/{dispute['dispute_id']}"
    west, east = auth(tokens["westcoast"]), auth(tokens["eastbridge"])
    # another provider's user cannot see it, answer it or comment on it
    assert api_client.get(url, headers=east).status_code == 404
    foreign = api_client.post(f"{url}/answer", headers=east, json={"answer": "accept"})
    assert foreign.status_code == 404
    assert api_client.post(f"{url}/comments", headers=east, json={"note": "x"}).status_code == 404
    # a counter-offer must be below the claim
    too_much = api_client.post(
        f"{url}/answer", headers=west, json={"answer": "counter", "counter_amount": "95"}
    )
    assert too_much.status_code == 400
    countered = api_client.post(
        f"{url}/answer",
        headers=west,
        json={"answer": "counter", "counter_amount": "30.00", "note": "carrier damage"},
    )
    assert countered.status_code == 200, countered.text
    assert countered.json()["status"] == "countered"
    assert Decimal(countered.json()["counter_amount"]) == Decimal("30.00")
    again = api_client.post(f"{url}/answer", headers=west, json={"answer": "accept"})
    assert again.status_code == 400
    # the provider cannot resolve; the brand credits the counter-offer
    assert (
        api_client.post(f"{url}/resolve", headers=west, json={"resolution": "credited"}).status_code
        == 403
    )
    resolved = api_client.post(
        f"{url}/resolve", headers=auth(tokens["admin"]), json={"resolution": "credited"}
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert Decimal(resolved.json()["credited_amount"]) == Decimal("30.00")
    credits = api_client.get("/api/v1/credits?period=2026-03", headers=west).json()["items"]
    booked = [c for c in credits if c["source_ref"] == dispute["dispute_id"]]
    assert [Decimal(c["amount"]) for c in booked] == [Decimal("30.00")]
    assert booked[0]["source"] == "dispute"
    detail = api_client.get(url, headers=west).json()
    assert [e["action"] for e in detail["events"]] == ["opened", "countered", "credited"]
    assert [e["actor"] for e in detail["events"]] == ["ana", "wes", "ana"]


def test_reject_with_reason_then_uphold(api_client: TestClient, tokens: dict[str, str]) -> None:
    dispute = _open(
        api_client, tokens, **{"from": "manual", "provider_id": "eastbridge", "subject": "Late"}
    )
    url = f"/api/v1/disputes/{dispute['dispute_id']}"
    east = auth(tokens["eastbridge"])
    silent = api_client.post(f"{url}/answer", headers=east, json={"answer": "reject"})
    assert silent.status_code == 400
    assert "reason" in silent.json()["error"]["message"]
    rejected = api_client.post(
        f"{url}/answer", headers=east, json={"answer": "reject", "note": "shipped on time"}
    )
    assert rejected.json()["status"] == "rejected"
    comment = api_client.post(f"{url}/comments", headers=east, json={"note": "see the 945"})
    assert comment.status_code == 201, comment.text
    assert comment.json()["action"] == "commented"
    upheld = api_client.post(
        f"{url}/resolve", headers=auth(tokens["admin"]), json={"resolution": "upheld"}
    )
    assert upheld.json()["resolution"] == "upheld"
    assert upheld.json()["credited_amount"] is None
    listed = api_client.get("/api/v1/disputes?status=resolved", headers=east).json()["items"]
    assert dispute["dispute_id"] in {d["dispute_id"] for d in listed}
    assert {d["provider_id"] for d in listed} == {"eastbridge"}


def test_open_from_a_finding_a_breach_and_credits(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    admin = auth(tokens["admin"])
    finding = next(
        f
        for f in api_client.get(
            "/api/v1/findings?provider=eastbridge&status=open&limit=500", headers=admin
        ).json()["items"]
        if f["dispute_id"] is None
    )
    from_finding = _open(
        api_client, tokens, **{"from": "finding", "finding_id": finding["finding_id"]}
    )
    assert (from_finding["source"], from_finding["source_ref"]) == (
        "finding",
        str(finding["finding_id"]),
    )
    linked = api_client.get(f"/api/v1/findings/{finding['finding_id']}", headers=admin).json()
    assert linked["dispute_id"] == from_finding["dispute_id"]
    twice = api_client.post(
        "/api/v1/disputes",
        headers=admin,
        json={"from": "finding", "finding_id": finding["finding_id"]},
    )
    assert twice.status_code == 400
    cards = [
        c
        for period in ("2026-02", "2026-03")
        for c in api_client.get(f"/api/v1/scorecards?period={period}", headers=admin).json()[
            "items"
        ]
    ]
    breached = next(c for c in cards if c["breached"])
    breach = _open(
        api_client,
        tokens,
        **{
            "from": "breach",
            "provider_id": breached["provider_id"],
            "metric": breached["breached"][0],
            "period": breached["period"],
        },
    )
    assert (breach["source"], breach["period"]) == ("sla_breach", breached["period"])
    assert breached["breached"][0] in breach["subject"]
    no_breach = api_client.post(
        "/api/v1/disputes",
        headers=admin,
        json={
            "from": "breach",
            "provider_id": "eastbridge",
            "metric": "order_accuracy_rate",
            "period": "2025-02",
        },
    )
    assert no_breach.status_code == 400
    owed = next(c for c in cards if Decimal(c["credits"]) > 0)
    claim = _open(
        api_client,
        tokens,
        **{"from": "credit", "provider_id": owed["provider_id"], "period": owed["period"]},
    )
    assert Decimal(claim["amount"]) == Decimal(owed["credits"])
    assert claim["source"] == "credit"
    unknown = api_client.post(
        "/api/v1/disputes",
        headers=admin,
        json={"from": "manual", "provider_id": "nowhere", "subject": "x"},
    )
    assert unknown.status_code == 400
    shape = api_client.post("/api/v1/disputes", headers=admin, json={"from": "rumour"})
    assert shape.status_code == 422


def test_disputes_page_newest_first(api_client: TestClient, tokens: dict[str, str]) -> None:
    admin = auth(tokens["admin"])
    everything = api_client.get("/api/v1/disputes?limit=500", headers=admin).json()
    assert everything["total"] == len(everything["items"]) >= 2
    opened = [d["opened_at"] for d in everything["items"]]
    assert opened == sorted(opened, reverse=True)
    first = api_client.get("/api/v1/disputes?limit=1", headers=admin).json()
    assert first["items"] == everything["items"][:1]
    assert first["next_offset"] == 1
    ledger = api_client.get("/api/v1/credits", headers=admin).json()
    assert {c["provider_id"] for c in ledger["items"]} == {"eastbridge", "westcoast"}
