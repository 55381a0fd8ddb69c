"""Every endpoint of the REST API for every role: admin, analyst and a provider's user.

ROWS holds one row per route of the modules listed in MODULES (a route without a row fails
test_every_route_has_a_row): the request each role makes and the status it must get. Roles
that may not change anything go first and must be refused before anything changes; the
admin goes last. The provider column of the GET routes is the isolation walk's
(test_isolation.py walks every GET route for both providers); here the provider's user
takes every write. Every error must be the JSON error body, with no stack trace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tallyclerk.reconcile import list_findings
from tallyclerk.sla import list_disputes
from tallyclerk.store import open_store
from tests.api.conftest import AS_OF, auth
from tests.api.test_isolation import api_routes

MODULES = {
    f"tallyclerk.api.routes.{name}"
    for name in (
        "users",
        "scorecards",
        "kpis",
        "findings",
        "experience",
        "contracts",
        "batches",
        "disputes",
    )
}
ROLES = ("analyst", "westcoast", "admin")  # the admin last: it may change what it touches
CLOCK = AS_OF.date().isoformat()
WESTCOAST_CONTRACT = Path(__file__).parents[1] / "fixtures" / "contracts" / "westcoast.yaml"


@dataclass
class Ctx:
    """The client, the tokens, and ids of westcoast's (and the brand's) records."""

    client: TestClient
    tokens: dict[str, str]
    ids: dict[str, Any] = field(default_factory=dict)

    def admin(self, method: str, url: str, **kwargs: Any) -> Any:
        """A request as the admin that must succeed; its JSON."""
        response = self.client.request(method, url, headers=auth(self.tokens["admin"]), **kwargs)
        assert response.status_code < 300, response.text
        return response.json()

    def fresh_dispute(self) -> str:
        """A new open dispute with westcoast."""
        body = {
            "from": "manual",
            "provider_id": "westcoast",
            "subject": "role test",
            "amount": "20.00",
            "currency": "USD",
        }
        return str(self.admin("POST", "/api/v1/disputes", json=body)["dispute_id"])


Request = tuple[str, dict[str, Any]]  # url, keyword arguments of the request


@dataclass(frozen=True)
class Row:
    """A route, what each role sends to it, and the status each role gets."""

    method: str
    route: str
    expect: dict[str, int]
    make: Callable[[Ctx, str], Request]


def _get(url: str) -> Callable[[Ctx, str], Request]:
    return lambda ctx, role: (url, {})


def _read(route: str, url: str | None = None) -> Row:
    return Row("GET", route, {"admin": 200, "analyst": 200}, _get(url or route))


def _admin_only(method: str, route: str, make: Callable[[Ctx, str], Request], ok: int = 200) -> Row:
    return Row(method, route, {"analyst": 403, "westcoast": 403, "admin": ok}, make)


def _throwaway_user(ctx: Ctx, role: str) -> Request:
    user = f"temp-{role}"
    ctx.admin("POST", "/api/v1/users", json={"user_id": user, "role": "analyst"})
    return f"/api/v1/users/{user}/disable", {}


def _fresh_token(ctx: Ctx, role: str) -> Request:
    issued = ctx.admin("POST", "/api/v1/users/otto/tokens", json={"name": f"revoke {role}"})
    return f"/api/v1/tokens/{issued['token']['token_id']}", {}


def _contract(ctx: Ctx, role: str) -> Request:
    text = WESTCOAST_CONTRACT.read_text(encoding="utf-8").replace(
        "effective: 2026-01-01", "effective: 2027-01-01"
    )
    assert "2027-01-01" in text
    return "/api/v1/contracts?source_name=next.yaml", {
        "content": text.encode(),
        "headers": {"Content-Type": "application/yaml"},
    }


def _answer(ctx: Ctx, role: str) -> Request:
    dispute = ctx.fresh_dispute()
    return f"/api/v1/disputes/{dispute}/answer", {"json": {"answer": "accept"}}


def _withdraw(ctx: Ctx, role: str) -> Request:
    dispute = ctx.fresh_dispute()
    return f"/api/v1/disputes/{dispute}/resolve", {
        "json": {"resolution": "withdrawn", "note": "opened by mistake"}
    }


def _fixed_order() -> dict[str, Any]:
    return {
        "raw": {
            "order_id": "ORD-EXTRA-2",
            "placed_at": "2026-03-02T11:00:00-06:00",
            "channel": "web",
            "ship_to_country": "US",
            "ship_to_postal": "60601",
            "service_level": "standard",
            "promised_delivery_date": "2026-03-07",
            "order_value": "55.00",
            "currency": "USD",
        }
    }


ROWS: list[Row] = [
    # users
    _admin_only("GET", "/api/v1/users", _get("/api/v1/users")),
    _admin_only(
        "POST",
        "/api/v1/users",
        lambda ctx, role: (
            "/api/v1/users",
            {"json": {"user_id": f"new-{role}", "role": "analyst"}},
        ),
        201,
    ),
    _admin_only("POST", "/api/v1/users/{user_id}/disable", _throwaway_user),
    _admin_only("GET", "/api/v1/tokens", _get("/api/v1/tokens")),
    _admin_only(
        "POST",
        "/api/v1/users/{user_id}/tokens",
        lambda ctx, role: ("/api/v1/users/otto/tokens", {"json": {"name": role}}),
        201,
    ),
    _admin_only("DELETE", "/api/v1/tokens/{token_id}", _fresh_token),
    # scorecards
    _read("/api/v1/periods"),
    _read("/api/v1/scorecards"),
    _read("/api/v1/scorecards/{provider_id}", "/api/v1/scorecards/westcoast?period=2026-02"),
    _read("/api/v1/scorecards/{provider_id}/trend", "/api/v1/scorecards/westcoast/trend"),
    _read("/api/v1/burn"),
    # kpis
    _read("/api/v1/kpis"),
    _read("/api/v1/kpis/{metric}", f"/api/v1/kpis/ship_on_time_rate?as_of={CLOCK}"),
    _read(
        "/api/v1/kpis/{metric}/items",
        f"/api/v1/kpis/ship_on_time_rate/items?as_of={CLOCK}&period=2026-02&outcome=bad",
    ),
    # findings
    _read("/api/v1/findings"),
    Row(
        "GET",
        "/api/v1/findings/{finding_id}",
        {"admin": 200, "analyst": 200},
        lambda ctx, role: (f"/api/v1/findings/{ctx.ids['finding']}", {}),
    ),
    _admin_only(
        "POST",
        "/api/v1/findings/{finding_id}/acknowledge",
        lambda ctx, role: (f"/api/v1/findings/{ctx.ids['finding']}/acknowledge", {}),
    ),
    _admin_only(
        "POST",
        "/api/v1/findings/{finding_id}/resolve",
        lambda ctx, role: (
            f"/api/v1/findings/{ctx.ids['finding']}/resolve",
            {"json": {"resolution": "recounted; the book was right"}},
        ),
    ),
    _read("/api/v1/invoices/audit", f"/api/v1/invoices/audit?as_of={CLOCK}&from=2026-02"),
    _read("/api/v1/inventory/variance", f"/api/v1/inventory/variance?as_of={CLOCK}"),
    # experience
    _read("/api/v1/experience", "/api/v1/experience?from=2026-02"),
    # contracts
    _read("/api/v1/contracts"),
    _read("/api/v1/contracts/{provider_id}", "/api/v1/contracts/westcoast"),
    _admin_only("POST", "/api/v1/contracts", _contract, 201),
    # batches and quarantine
    _read("/api/v1/batches"),
    Row(
        "GET",
        "/api/v1/batches/{batch_id}",
        {"admin": 200, "analyst": 200},
        lambda ctx, role: (f"/api/v1/batches/{ctx.ids['batch']}", {}),
    ),
    _admin_only(
        "POST",
        "/api/v1/batches/{batch_id}/replay",
        lambda ctx, role: (f"/api/v1/batches/{ctx.ids['batch']}/replay", {}),
    ),
    _read("/api/v1/quarantine"),
    Row(
        "GET",
        "/api/v1/quarantine/{quarantine_id}",
        {"admin": 200, "analyst": 200},
        lambda ctx, role: (f"/api/v1/quarantine/{ctx.ids['held']}", {}),
    ),
    _admin_only(
        "PUT",
        "/api/v1/quarantine/{quarantine_id}",
        lambda ctx, role: (f"/api/v1/quarantine/{ctx.ids['brand_held']}", {"json": _fixed_order()}),
    ),
    _admin_only(
        "POST",
        "/api/v1/quarantine/replay",
        lambda ctx, role: ("/api/v1/quarantine/replay", {"json": {"ids": [ctx.ids["brand_held"]]}}),
    ),
    _read("/api/v1/health/sources"),
    # disputes
    _read("/api/v1/disputes"),
    Row(
        "GET",
        "/api/v1/disputes/{dispute_id}",
        {"admin": 200, "analyst": 200},
        lambda ctx, role: (f"/api/v1/disputes/{ctx.ids['dispute']}", {}),
    ),
    _admin_only(
        "POST",
        "/api/v1/disputes",
        lambda ctx, role: (
            "/api/v1/disputes",
            {"json": {"from": "manual", "provider_id": "westcoast", "subject": f"by {role}"}},
        ),
        201,
    ),
    Row(
        "POST",
        "/api/v1/disputes/{dispute_id}/answer",
        {"analyst": 403, "westcoast": 200, "admin": 200},
        _answer,
    ),
    _admin_only("POST", "/api/v1/disputes/{dispute_id}/resolve", _withdraw),
    Row(
        "POST",
        "/api/v1/disputes/{dispute_id}/comments",
        {"analyst": 403, "westcoast": 201, "admin": 201},
        lambda ctx, role: (
            f"/api/v1/disputes/{ctx.ids['dispute']}/comments",
            {"json": {"note": f"a note from {role}"}},
        ),
    ),
    _read("/api/v1/credits"),
]


@pytest.fixture(scope="module")
def ctx(api_store: str, api_client: TestClient, tokens: dict[str, str]) -> Ctx:
    """Ids of westcoast's records and of the brand-wide quarantined order."""
    store = open_store(url=api_store)
    try:
        with store.connect() as connection:
            finding = next(
                f
                for f in list_findings(connection, providers=["westcoast"], statuses=["open"])
                if f.domain == "handoff" and f.dispute_id is None
            )
            dispute = list_disputes(connection, providers=["westcoast"])[0]
    finally:
        store.close()
    found = Ctx(api_client, tokens, {"finding": finding.finding_id, "dispute": dispute.dispute_id})
    held = found.admin("GET", "/api/v1/quarantine?limit=500")["items"]
    found.ids["held"] = next(r for r in held if r["provider_id"] == "westcoast")["quarantine_id"]
    found.ids["brand_held"] = next(r for r in held if r["kind"] == "orders")["quarantine_id"]
    found.ids["batch"] = next(r for r in held if r["provider_id"] == "westcoast")["batch_id"]
    return found


def _routes(app: FastAPI) -> Iterator[APIRoute]:
    for route in api_routes(app.routes):
        if getattr(route.endpoint, "__module__", "") in MODULES:
            yield route


def test_every_route_has_a_row(api_app: FastAPI) -> None:
    routes = {(m, r.path) for r in _routes(api_app) for m in r.methods - {"HEAD"}}
    rows = {(row.method, row.route) for row in ROWS}
    assert routes - rows == set(), "routes without a row"
    assert rows - routes == set(), "rows of routes that no longer exist"


def _check_error(response: Any, status: int) -> None:
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["status"] == status
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.route}")
def test_each_role_gets_its_status(row: Row, ctx: Ctx) -> None:
    for role in ROLES:
        if role not in row.expect:
            continue
        url, kwargs = row.make(ctx, role)
        headers = {**kwargs.pop("headers", {}), **auth(ctx.tokens[role])}
        response = ctx.client.request(row.method, url, headers=headers, **kwargs)
        assert response.status_code == row.expect[role], (role, url, response.text[:500])
        if response.status_code >= 400:
            _check_error(response, response.status_code)


def test_nothing_without_a_token(api_app: FastAPI, api_client: TestClient) -> None:
    for route in _routes(api_app):
        url = route.path.format(
            provider_id="westcoast",
            metric="ship_on_time_rate",
            finding_id=1,
            batch_id=1,
            quarantine_id=1,
            dispute_id="DSP-000001",
            user_id="ana",
            token_id="abc",
        )
        for method in route.methods - {"HEAD"}:
            response = api_client.request(method, url)
            assert response.status_code == 401, (method, url, response.text)
            _check_error(response, 401)


def test_a_bad_token_is_refused(api_client: TestClient, tokens: dict[str, str]) -> None:
    for header in ("Bearer tc_nothing_here", "Basic YW5hOnB3", "Bearer "):
        response = api_client.get("/api/v1/scorecards", headers={"Authorization": header})
        assert response.status_code == 401, header
        _check_error(response, 401)
    forged = tokens["admin"][:-4] + "AAAA"
    response = api_client.get("/api/v1/scorecards", headers=auth(forged))
    assert response.status_code == 401


def test_analyst_changes_nothing(ctx: Ctx) -> None:
    """The analyst's refused writes left no trace (the rows above ran first)."""
    users = ctx.admin("GET", "/api/v1/users?limit=500")["items"]
    assert not any(u["user_id"] == "new-analyst" for u in users)
    disputes = ctx.admin("GET", "/api/v1/disputes?limit=500")["items"]
    assert not any(d["subject"] == "by analyst" for d in disputes)
    events = ctx.admin("GET", f"/api/v1/disputes/{ctx.ids['dispute']}")["events"]
    assert not any(e["actor"] == "otto" for e in events)
    assert any(e["actor"] == "wes" and e["action"] == "commented" for e in events)


def test_errors_are_json_without_traces(ctx: Ctx) -> None:
    admin = auth(ctx.tokens["admin"])
    cases = [
        ("GET", "/api/v1/scorecards?period=2026-13", 400),
        ("GET", "/api/v1/scorecards?period=March", 422),
        ("GET", "/api/v1/findings/999999", 404),
        ("GET", "/api/v1/kpis/happiness_rate", 404),
        ("GET", "/api/v1/kpis/order_cycle_hours_p50/items?outcome=bad", 400),
        ("GET", "/api/v1/experience?from=2026-03&to=2026-02", 400),
        ("GET", "/api/v1/disputes/DSP-999999", 404),
        ("POST", "/api/v1/disputes/DSP-999999/comments", 404),
        ("GET", "/api/v1/scorecards/nobody", 404),
        ("GET", "/api/v1/limit-is-not-a-route", 404),
    ]
    for method, url, status in cases:
        kwargs = {"json": {"note": "x"}} if method == "POST" else {}
        response = ctx.client.request(method, url, headers=admin, **kwargs)
        assert response.status_code == status, (url, response.text)
        _check_error(response, status)
