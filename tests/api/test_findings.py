"""Findings, the invoice audit and the inventory variance through the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tallyclerk.reconcile._invoice import audit_invoices
from tallyclerk.store import open_store
from tests.api.conftest import AS_OF, ON_BOTH, api_settings_for, auth

CLOCK = AS_OF.date().isoformat()


def _all(client: TestClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every item of a paginated list, following next_offset."""
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        sep = "&" if "?" in url else "?"
        page = client.get(f"{url}{sep}limit=3&offset={offset}", headers=headers).json()
        items += page["items"]
        assert page["total"] >= len(items)
        offset = page["next_offset"]
    return items


def test_findings_filter_and_page(api_client: TestClient, tokens: dict[str, str]) -> None:
    admin = auth(tokens["admin"])
    everything = api_client.get("/api/v1/findings?limit=500", headers=admin).json()
    assert everything["total"] == len(everything["items"]) >= 6
    assert _all(api_client, "/api/v1/findings", admin) == everything["items"]
    for domain in ("handoff", "inventory", "invoice"):
        page = api_client.get(f"/api/v1/findings?domain={domain}", headers=admin).json()
        expected = [f for f in everything["items"] if f["domain"] == domain]
        assert page["items"] == expected
        assert page["total"] == len(expected)
    west = api_client.get("/api/v1/findings?provider=westcoast&status=open", headers=admin)
    assert {f["provider_id"] for f in west.json()["items"]} == {"westcoast"}
    assert {f["status"] for f in west.json()["items"]} == {"open"}
    bad = api_client.get("/api/v1/findings?domain=weather", headers=admin)
    assert bad.status_code == 422


def test_inventory_findings_hide_costs_from_the_provider(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    query = "/api/v1/findings?domain=inventory&provider=westcoast"
    brand = api_client.get(query, headers=auth(tokens["analyst"])).json()["items"]
    own = api_client.get(query, headers=auth(tokens["westcoast"])).json()["items"]
    assert brand
    assert [f["finding_id"] for f in brand] == [f["finding_id"] for f in own]
    assert any(f["amount"] is not None for f in brand)
    assert any("unit_cost" in f["evidence"] for f in brand)
    assert any("USD" in f["reason"] for f in brand)
    for mine in own:
        assert mine["amount"] is None
        assert "unit_cost" not in mine["evidence"]
        assert "variance_value" not in mine["evidence"]
        assert "USD" not in mine["reason"]
        assert "units short" in mine["reason"] or "short" in mine["reason"]
        one = api_client.get(
            f"/api/v1/findings/{mine['finding_id']}", headers=auth(tokens["westcoast"])
        )
        assert one.json() == mine


@ON_BOTH
def test_a_finding_is_acknowledged_then_resolved(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    admin = auth(tokens["admin"])
    finding = api_client.get(
        "/api/v1/findings?domain=handoff&provider=eastbridge&status=open", headers=admin
    ).json()["items"][-1]
    url = f"/api/v1/findings/{finding['finding_id']}"
    seen = api_client.post(f"{url}/acknowledge", headers=admin)
    assert seen.status_code == 200, seen.text
    assert seen.json()["status"] == "acknowledged"
    assert seen.json()["acknowledged_by"] == "ana"
    empty = api_client.post(f"{url}/resolve", headers=admin, json={"resolution": "  "})
    assert empty.status_code == 400
    done = api_client.post(f"{url}/resolve", headers=admin, json={"resolution": "shipped late"})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["resolved_by"]) == ("resolved", "ana")
    assert api_client.get(url, headers=admin).json()["resolution"] == "shipped late"
    assert api_client.post(f"{url}/acknowledge", headers=admin).status_code == 400
    again = api_client.post(f"{url}/resolve", headers=admin, json={"resolution": "x"})
    assert again.status_code == 400
    assert api_client.post("/api/v1/findings/999999/acknowledge", headers=admin).status_code == 404
    # the provider sees the outcome, and cannot change it
    own = api_client.get(url, headers=auth(tokens["eastbridge"]))
    assert own.json()["status"] == "resolved"
    refused = api_client.post(f"{url}/acknowledge", headers=auth(tokens["eastbridge"]))
    assert refused.status_code == 403


def test_the_invoice_audit_matches_a_direct_audit(
    api_store: str, api_client: TestClient, tokens: dict[str, str]
) -> None:
    audit = api_client.get(
        f"/api/v1/invoices/audit?as_of={CLOCK}", headers=auth(tokens["analyst"])
    ).json()
    store = open_store(url=api_store)
    try:
        direct = audit_invoices(
            store,
            as_of=AS_OF.replace(hour=23, minute=59, second=59),
            settings=api_settings_for(api_store),
        )
    finally:
        store.close()
    assert [i["invoice_id"] for i in audit["invoices"]] == [s.invoice_id for s in direct.invoices]
    for shown, summary in zip(audit["invoices"], direct.invoices, strict=True):
        assert Decimal(shown["billed"]) == summary.billed
        assert Decimal(shown["expected"]) == summary.expected
        assert shown["billed"] == f"{summary.billed:.2f}"
    assert len(audit["findings"]) == len(direct.findings) >= 1
    assert {f["provider_id"] for f in audit["findings"]} == {"eastbridge"}
    totals = audit["totals"]["USD"]
    assert Decimal(totals["billed"]) == sum((s.billed for s in direct.invoices), Decimal(0))
    # a window keeps the invoices whose billing period overlaps it
    february = api_client.get(
        f"/api/v1/invoices/audit?as_of={CLOCK}&from=2026-02&to=2026-02",
        headers=auth(tokens["westcoast"]),
    ).json()
    assert february["invoices"]
    for invoice in february["invoices"]:
        assert invoice["provider_id"] == "westcoast"
        assert invoice["period_start"] <= "2026-02-28"
        assert invoice["period_end"] >= "2026-02-01"
    assert len(february["invoices"]) < len(
        [i for i in audit["invoices"] if i["provider_id"] == "westcoast"]
    )


def test_inventory_variance_without_values_for_the_provider(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    query = f"/api/v1/inventory/variance?as_of={CLOCK}&provider=westcoast"
    brand = api_client.get(query, headers=auth(tokens["admin"])).json()
    own = api_client.get(query, headers=auth(tokens["westcoast"])).json()
    assert brand["skus"]
    assert brand["value_at_stake"]["USD"] is not None
    assert any(s["unit_cost"] is not None for s in brand["skus"])
    assert own["net_value"] is None
    assert own["value_at_stake"] is None
    quantities = ("sku", "facility_id", "book", "on_hand", "variance", "within_tolerance")
    assert [[s[k] for k in quantities] for s in own["skus"]] == [
        [s[k] for k in quantities] for s in brand["skus"]
    ]
    assert all(s["unit_cost"] is None and s["variance_value"] is None for s in own["skus"])
    assert own["units_short"] == brand["units_short"] > 0
    east = api_client.get(
        f"/api/v1/inventory/variance?as_of={CLOCK}&provider=eastbridge&all=true",
        headers=auth(tokens["admin"]),
    ).json()
    assert east["checked"] == len(east["skus"]) > 0
