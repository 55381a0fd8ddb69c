"""A provider user never sees another provider's data, nor the brand's, through any GET.

Every GET route under /api/v1 is walked (the routes are read from the app, so a new one
without a row in PROBES fails the test): lists without a filter must hold nothing of the
other provider (not its id, not its facilities) and nothing brand-wide; asking for the other
provider by filter or by record id gives 404 (403 for brand administration). The brand's
vetting of candidate 3PLs gives 404 whatever is asked: for a provider user it does not exist
(its API route and its dashboard page alike).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from tallyclerk.api.routes.batches import provider_of
from tallyclerk.reconcile import list_findings
from tallyclerk.reports import add_action, list_actions
from tallyclerk.sla import list_disputes
from tallyclerk.store import open_store
from tallyclerk.store.schema import facilities, ingestion_batches, quarantine
from tests.api.conftest import AS_OF, ON_BOTH, PROVIDERS, auth
from tests.api.test_forecast_api import SPIKE, hand_run, keep_run
from tests.api.test_vetting_api import keep_vetting_at

CLOCK = AS_OF.date().isoformat()


@dataclass(frozen=True)
class Records:
    """Ids of one owner's records (a provider's, or the brand's: owner None)."""

    findings: list[int]
    batches: list[int]
    quarantined: list[int]
    disputes: list[str]
    facilities: list[str]
    actions: list[int]


@dataclass(frozen=True)
class Probe:
    """A request and the statuses it may get."""

    url: str
    statuses: frozenset[int]


@pytest.fixture(scope="module")
def records(api_store: str) -> dict[str | None, Records]:
    """Every owner's record ids, read straight from the store (an action item each added)."""
    store = open_store(url=api_store)
    try:
        with store.begin() as connection:
            for provider in PROVIDERS:
                add_action(connection, provider_id=provider, title="isolation", owner="someone")
        with store.connect() as connection:
            found = list_findings(connection)
            batches = connection.execute(
                sa.select(ingestion_batches.c.batch_id, ingestion_batches.c.options)
            ).all()
            held = connection.execute(
                sa.select(quarantine.c.quarantine_id, ingestion_batches.c.options).join(
                    ingestion_batches, ingestion_batches.c.batch_id == quarantine.c.batch_id
                )
            ).all()
            disputes = list_disputes(connection, limit=1000)
            actions = list_actions(connection)
            sites = connection.execute(
                sa.select(facilities.c.facility_id, facilities.c.provider_id)
            ).all()
    finally:
        store.close()
    out = {}
    for owner in (*PROVIDERS, None):
        out[owner] = Records(
            findings=[f.finding_id for f in found if f.provider_id == owner],
            batches=[int(b) for b, options in batches if provider_of(options) == owner],
            quarantined=[int(q) for q, options in held if provider_of(options) == owner],
            disputes=[d.dispute_id for d in disputes if d.provider_id == owner],
            facilities=[f for f, p in sites if p == owner],
            actions=[a.action_id for a in actions if a.provider_id == owner],
        )
    for provider in PROVIDERS:
        mine = out[provider]
        assert all((mine.findings, mine.batches, mine.quarantined, mine.disputes, mine.actions)), (
            provider
        )
    assert all((out[None].batches, out[None].quarantined))
    return out


@pytest.fixture(scope="module")
def kept_forecast(api_store: str) -> int:
    """A forecast run of both providers and of the store (brand data), kept in the store."""
    return keep_run(api_store, hand_run(AS_OF.date(), 28, SPIKE))


@pytest.fixture(scope="module")
def kept_vetting(api_store: str, kept_forecast: int) -> int:
    """A vetting of candidate 3PLs (brand data, naming westcoast as a pilot), kept; its id."""
    return keep_vetting_at(api_store).report_id


def _probes(
    own: str, other: str, records: dict[str | None, Records], vetting: int = 1
) -> dict[str, list[Probe]]:
    """Route -> the requests a user of `own` makes to it, and the statuses allowed."""
    ok, gone, refused = frozenset({200}), frozenset({404}), frozenset({403})
    theirs, brand = records[other], records[None]

    def listing(path: str, query: str = "") -> list[Probe]:
        sep = "&" if query else ""
        return [
            Probe(f"{path}?{query}", ok),
            Probe(f"{path}?{query}{sep}provider={other}", gone),
        ]

    def foreign(template: str, ids: list[Any]) -> list[Probe]:
        return [Probe(template.format(i), gone) for i in ids[:3]]

    return {
        "/api/v1/health": [Probe("/api/v1/health", ok)],
        "/api/v1/me": [Probe("/api/v1/me", ok)],
        "/api/v1/webhooks/status": [Probe("/api/v1/webhooks/status", refused)],
        "/api/v1/users": [Probe("/api/v1/users", refused)],
        "/api/v1/tokens": [Probe("/api/v1/tokens", refused)],
        "/api/v1/periods": listing("/api/v1/periods"),
        "/api/v1/scorecards": listing("/api/v1/scorecards")
        + listing("/api/v1/scorecards", "period=2026-02"),
        "/api/v1/scorecards/{provider_id}": [
            Probe(f"/api/v1/scorecards/{own}", ok),
            Probe(f"/api/v1/scorecards/{other}", gone),
            Probe(f"/api/v1/scorecards/{other}?period=2026-02", gone),
        ],
        "/api/v1/scorecards/{provider_id}/trend": [
            Probe(f"/api/v1/scorecards/{own}/trend", ok),
            Probe(f"/api/v1/scorecards/{other}/trend", gone),
        ],
        "/api/v1/burn": listing("/api/v1/burn"),
        "/api/v1/kpis": [Probe("/api/v1/kpis", ok)],
        "/api/v1/kpis/{metric}": listing(
            "/api/v1/kpis/ship_on_time_rate", f"as_of={CLOCK}&by_facility=true&limit=500"
        ),
        "/api/v1/kpis/{metric}/items": listing(
            "/api/v1/kpis/ship_on_time_rate/items", f"as_of={CLOCK}&limit=500"
        ),
        "/api/v1/findings": listing("/api/v1/findings", "limit=500"),
        "/api/v1/findings/{finding_id}": [
            *foreign("/api/v1/findings/{}", theirs.findings + brand.findings),
            Probe(f"/api/v1/findings/{records[own].findings[0]}", ok),
        ],
        "/api/v1/invoices/audit": listing("/api/v1/invoices/audit", f"as_of={CLOCK}"),
        "/api/v1/inventory/variance": listing(
            "/api/v1/inventory/variance", f"as_of={CLOCK}&all=true"
        ),
        "/api/v1/experience": listing("/api/v1/experience", "from=2026-02&to=2026-03"),
        "/api/v1/contracts": listing("/api/v1/contracts"),
        "/api/v1/contracts/{provider_id}": [
            Probe(f"/api/v1/contracts/{own}", ok),
            Probe(f"/api/v1/contracts/{other}", gone),
        ],
        "/api/v1/batches": listing("/api/v1/batches", "limit=500"),
        "/api/v1/batches/{batch_id}": [
            *foreign("/api/v1/batches/{}", theirs.batches + brand.batches),
            Probe(f"/api/v1/batches/{records[own].batches[0]}", ok),
        ],
        "/api/v1/quarantine": [
            *listing("/api/v1/quarantine", "status=all&limit=500"),
            *(Probe(f"/api/v1/quarantine?batch={b}&status=all", ok) for b in theirs.batches),
        ],
        "/api/v1/quarantine/{quarantine_id}": [
            *foreign("/api/v1/quarantine/{}", theirs.quarantined + brand.quarantined),
            Probe(f"/api/v1/quarantine/{records[own].quarantined[0]}", ok),
        ],
        "/api/v1/health/sources": listing("/api/v1/health/sources", "limit=500"),
        "/api/v1/disputes": listing("/api/v1/disputes", "limit=500"),
        "/api/v1/disputes/{dispute_id}": [
            *foreign("/api/v1/disputes/{}", theirs.disputes),
            Probe(f"/api/v1/disputes/{records[own].disputes[0]}", ok),
        ],
        "/api/v1/credits": listing("/api/v1/credits"),
        "/api/v1/actions": listing("/api/v1/actions", "limit=500"),
        "/api/v1/actions/{action_id}": [
            *foreign("/api/v1/actions/{}", theirs.actions),
            Probe(f"/api/v1/actions/{records[own].actions[0]}", ok),
        ],
        # The weekly review: a provider user reads its own provider's copy, never another's.
        "/api/v1/reviews/{provider_id}/{week}": [
            Probe(f"/api/v1/reviews/{own}/2026-W10?as_of={CLOCK}", ok),
            Probe(f"/api/v1/reviews/{own}/2026-W10?as_of={CLOCK}&audience=brand", ok),
            Probe(f"/api/v1/reviews/{other}/2026-W10?as_of={CLOCK}", gone),
            Probe(f"/api/v1/reviews/{other}/2026-W10?format=html", gone),
        ],
        # The brand's internal escalation: absent for a provider user, whatever is asked.
        "/api/v1/alerts": [
            Probe("/api/v1/alerts", gone),
            Probe(f"/api/v1/alerts?provider={own}", gone),
            Probe(f"/api/v1/alerts?provider={other}", gone),
        ],
        "/api/v1/alerts/{alert_id}": [Probe("/api/v1/alerts/1", gone)],
        # The store-wide series (provider_id null) is the brand's: the leak check catches it.
        "/api/v1/forecast": [
            *listing("/api/v1/forecast"),
            Probe(f"/api/v1/forecast?provider={own}&history=true", ok),
        ],
        # Brand-only: absent for a provider user, the kept report and an unknown one alike.
        "/api/v1/vetting": [
            Probe("/api/v1/vetting", gone),
            Probe(f"/api/v1/vetting?report_id={vetting}", gone),
            Probe(f"/api/v1/vetting?report_id={vetting + 1}", gone),
        ],
    }


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route of the app, looking into the routers it includes."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        if included is not None:
            yield from api_routes(included.routes)


def get_routes(app: FastAPI) -> set[str]:
    """Every GET route of the REST API."""
    found = {
        route.path
        for route in api_routes(app.routes)
        if route.path.startswith("/api/v1/") and "GET" in route.methods
    }
    assert len(found) > 20, "the app's routes were not found"
    return found


def _walk(value: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        yield where, value
        for key, item in value.items():
            yield from _walk(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{where}[{i}]")


def leaks(body: Any, text: str, own: str, other: str, others_sites: list[str]) -> list[str]:
    """What of another owner a response shows: names, facilities, foreign provider ids."""
    found = [name for name in (other, *others_sites) if name in text]
    for where, item in _walk(body):
        if where.endswith(".total"):
            continue  # the experience report's total row: the user's own providers together
        for key in ("provider_id", "provider"):
            if key in item and item[key] != own:
                found.append(f"{where}.{key} = {item[key]!r}")
    return found


def test_every_get_route_has_probes(api_app: FastAPI, records: dict[str | None, Records]) -> None:
    table = _probes(PROVIDERS[0], PROVIDERS[1], records)
    routes = get_routes(api_app)
    assert routes - set(table) == set(), "GET routes without isolation probes"
    assert set(table) - routes == set(), "probes of routes that no longer exist"


@pytest.mark.parametrize("own", PROVIDERS)
def test_a_provider_sees_nothing_of_another(
    own: str,
    api_client: TestClient,
    tokens: dict[str, str],
    records: dict[str | None, Records],
    kept_forecast: int,
    kept_vetting: int,
) -> None:
    other = next(p for p in PROVIDERS if p != own)
    headers = auth(tokens[own])
    problems: list[str] = []
    for route, probes in sorted(_probes(own, other, records, kept_vetting).items()):
        for probe in probes:
            response = api_client.get(probe.url, headers=headers)
            if response.status_code not in probe.statuses:
                problems.append(f"{probe.url}: {response.status_code} {response.text[:200]}")
                continue
            body = response.json()
            if response.status_code != 200:
                assert set(body) == {"error"}, probe.url  # an error says no more than that
                continue
            shown = leaks(body, response.text, own, other, records[other].facilities)
            if shown:
                problems.append(f"{route} via {probe.url} shows {shown[:5]}")
    assert not problems, "\n".join(problems)


@ON_BOTH
@pytest.mark.parametrize("own", PROVIDERS)
def test_own_lists_are_not_empty(own: str, api_client: TestClient, tokens: dict[str, str]) -> None:
    """The walk above is only meaningful when a provider's own lists hold its records."""
    headers = auth(tokens[own])
    for path in (
        "/api/v1/scorecards",
        "/api/v1/findings",
        "/api/v1/batches",
        "/api/v1/quarantine",
        "/api/v1/disputes",
        "/api/v1/credits",
        "/api/v1/health/sources",
    ):
        page = api_client.get(path, headers=headers).json()
        assert page["total"] >= 1, path
        assert {item["provider_id"] for item in page["items"]} == {own}, path


@pytest.mark.parametrize("own", PROVIDERS)
def test_the_vetting_is_absent_for_a_provider_user(
    own: str, api_client: TestClient, tokens: dict[str, str], kept_vetting: int
) -> None:
    """The API route and the page answer 404, as a path that does not exist does."""
    headers = auth(tokens[own])
    brand = api_client.get("/api/v1/vetting", headers=auth(tokens["analyst"]))
    assert brand.status_code == 200
    assert brand.json()["report_id"] == kept_vetting  # there is something to hide
    nothing = api_client.get("/api/v1/no-such-route", headers=headers).json()
    for url in ("/api/v1/vetting", f"/api/v1/vetting?report_id={kept_vetting}"):
        response = api_client.get(url, headers=headers)
        assert response.status_code == 404, url
        assert response.json() == nothing
    page = api_client.get("/vetting", headers={**headers, "Accept": "text/html"})
    assert page.status_code == 404
    assert "harborline" not in page.text.lower()
    assert 'href="/vetting"' not in api_client.get("/", headers=headers).text


def test_the_leak_check_can_fail() -> None:
    body = {"items": [{"provider_id": "westcoast"}, {"provider_id": None}]}
    found = leaks(body, "westcoast LAX1", "eastbridge", "westcoast", ["LAX1"])
    assert {"westcoast", "LAX1"} <= set(found)
    assert any("items[1].provider_id" in f for f in found)
