"""Role boundaries of the REST API: what a provider user, an analyst and nobody may change.

`_writes` gives, for every API route that changes something (read from the app: a new one
without a row fails test_every_write_route_has_a_row), the requests a user of eastbridge
makes to it with westcoast's ids, the brand's ids or westcoast named in the body, and the
statuses they may get. Among them, data sent for eastbridge that would change westcoast's
records (its shipment's id, a line of its shipment, a scan of its parcel, its facility). The
same requests are made by the analyst, who changes nothing. Each set of refusals must leave
every table of the store as it was.

Reads are walked by tests/api/test_isolation.py (every GET route, both providers); here the
exports of those routes (`?format=csv`, `html`, `pdf`, discovered from the OpenAPI document)
are walked with the same probes, and every route of the app, the dashboard's included, is
asked without credentials.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tallyclerk.access import list_tokens
from tallyclerk.domain import KINDS_BY_NAME
from tallyclerk.store import open_store
from tallyclerk.store.schema import CANONICAL_TABLES, facilities
from tests.api.conftest import PROVIDERS, auth
from tests.api.test_isolation import (
    Records,
    _probes,
    api_routes,
    leaks,
)
from tests.security.conftest import SESSION_COOKIE, Snapshot, changed, no_trace, snapshot

OWN, OTHER = PROVIDERS  # eastbridge's user probes westcoast's and the brand's records
CONTRACT = Path(__file__).parents[1] / "fixtures" / "contracts" / "westcoast.yaml"
REFUSED = frozenset({403, 404})
# Routes that compute a report from the store (seconds per request).
COMPUTED = {"/api/v1/invoices/audit", "/api/v1/inventory/variance", "/api/v1/experience"}
GONE = frozenset({404})
FORBIDDEN = frozenset({403})
# Routes that take no login: the signature, the login form or the link's token is the check.
PUBLIC = {
    ("GET", "/api/v1/health"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/alerts/{alert_id}/ack"),
    ("POST", "/alerts/{alert_id}/ack"),
    ("POST", "/webhooks/shopify"),
    ("POST", "/webhooks/tracking/{source}"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
}


@dataclass(frozen=True)
class Ids:
    """Ids of westcoast's records and of the brand's, read from the store."""

    theirs: Records
    brand: Records
    token_id: str  # one of westcoast's user's tokens
    shipment: dict[str, Any]  # a westcoast shipment, as stored
    receipt: dict[str, Any]  # a westcoast receipt line, as stored
    facility: str  # a westcoast facility
    own_facility: str


@dataclass(frozen=True)
class Probe:
    """A request and the statuses it may get."""

    label: str
    method: str
    url: str
    kwargs: dict[str, Any]
    statuses: frozenset[int]


def _text(row: dict[str, Any]) -> dict[str, str | None]:
    return {k: None if v is None else str(v) for k, v in row.items() if k != "batch_id"}


@pytest.fixture(scope="module")
def ids(api_store: str, records: dict[str | None, Records]) -> Ids:
    """westcoast's and the brand's ids (records, of the isolation walk, adds action items)."""
    shipments = CANONICAL_TABLES["shipments"]
    receipts = CANONICAL_TABLES["receipts"]
    store = open_store(url=api_store)
    try:
        with store.connect() as connection:
            shipment = dict(
                connection.execute(
                    sa.select(shipments)
                    .where(shipments.c.provider_id == OTHER)
                    .order_by(shipments.c.shipment_id)
                    .limit(1)
                )
                .mappings()
                .one()
            )
            receipt = dict(
                connection.execute(
                    sa.select(receipts)
                    .where(receipts.c.provider_id == OTHER)
                    .order_by(receipts.c.receipt_id)
                    .limit(1)
                )
                .mappings()
                .one()
            )
            sites = dict(
                connection.execute(sa.select(facilities.c.provider_id, facilities.c.facility_id))
                .tuples()
                .all()
            )
            token = list_tokens(connection, "wes")[0].token_id
    finally:
        store.close()
    return Ids(
        theirs=records[OTHER],
        brand=records[None],
        token_id=token,
        shipment=_text(shipment),
        receipt=_text(receipt),
        facility=sites[OTHER],
        own_facility=sites[OWN],
    )


def _csv(kind: str, rows: list[dict[str, str | None]]) -> bytes:
    columns = KINDS_BY_NAME[kind].column_names
    lines = [",".join(columns)]
    lines += [",".join(row.get(c) or "" for c in columns) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def _upload(name: str, body: bytes, **form: str) -> dict[str, Any]:
    return {"files": {"files": (name, io.BytesIO(body), "application/octet-stream")}, "data": form}


def _records(*rows: dict[str, Any], provider: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"records": list(rows)}
    if provider is not None:
        body["provider"] = provider
    return {"json": body}


def _takeover(ids: Ids) -> dict[str, str | None]:
    """westcoast's shipment claimed as eastbridge's, at eastbridge's facility."""
    return {**ids.shipment, "provider_id": OWN, "facility_id": ids.own_facility}


def _ingest_probes(ids: Ids) -> list[Probe]:
    """Data sent by eastbridge's user that names westcoast or touches westcoast's records."""
    shipment, receipt = ids.shipment, ids.receipt
    foreign_line = {"shipment_id": shipment["shipment_id"], "sku": "SKU-EVIL", "qty": "1"}
    foreign_scan = {
        "tracking_number": shipment["tracking_number"],
        "carrier": shipment["carrier"],
        "status": "delivered",
        "occurred_at": "2026-03-19T10:00:00+00:00",
    }
    stock = {
        "provider_id": OWN,
        "facility_id": ids.facility,
        "as_of": "2026-03-19T00:00:00+00:00",
        "sku": "SKU-EVIL",
        "on_hand": "5",
        "available": "5",
        "damaged": "0",
    }
    tracking = json.dumps([foreign_scan]).encode()
    ingest = "/api/v1/ingest/{}"
    return [
        Probe("json for westcoast", "POST", ingest.format("shipments"), _records(
            _takeover(ids), provider=OTHER), GONE),
        Probe("json naming westcoast", "POST", ingest.format("shipments"), _records(
            {**ids.shipment, "shipment_id": "SHP-EVIL"}), GONE),
        Probe("json of the brand's orders", "POST", ingest.format("orders"), _records(
            {"order_id": "ORD-EVIL", "placed_at": "2026-03-01T10:00:00Z"}), FORBIDDEN),
        Probe("json takes westcoast's shipment", "POST", ingest.format("shipments"),
              _records(_takeover(ids)), REFUSED),
        Probe("json adds a line to westcoast's shipment", "POST",
              ingest.format("shipment_lines"), _records(foreign_line), REFUSED),
        Probe("json scans westcoast's parcel", "POST", ingest.format("tracking_events"),
              _records(foreign_scan), REFUSED),
        Probe("json takes westcoast's receipt", "POST", ingest.format("receipts"),
              _records({**receipt, "provider_id": OWN, "facility_id": ids.own_facility}),
              REFUSED),
        Probe("json counts stock at westcoast's facility", "POST",
              ingest.format("inventory_snapshots"), _records(stock), REFUSED),
        Probe("upload for westcoast", "POST", "/api/v1/uploads", _upload(
            "tracking.json", tracking, format="tracking-json", provider=OTHER), GONE),
        Probe("upload naming westcoast", "POST", "/api/v1/uploads", _upload(
            "shipments.csv", _csv("shipments", [{**ids.shipment, "shipment_id": "SHP-EV2"}])),
            GONE),
        Probe("upload of the brand's orders", "POST", "/api/v1/uploads", _upload(
            "orders.csv", b"order_id,placed_at\nORD-EVIL,2026-03-01T10:00:00Z\n"), FORBIDDEN),
        Probe("upload takes westcoast's shipment", "POST", "/api/v1/uploads", _upload(
            "shipments.csv", _csv("shipments", [_takeover(ids)])), REFUSED),
        Probe("upload scans westcoast's parcel", "POST", "/api/v1/uploads", _upload(
            "tracking.json", tracking, format="tracking-json"), REFUSED),
    ]  # fmt: skip


def _writes(ids: Ids) -> dict[tuple[str, str], list[Probe]]:
    """(method, route) -> what eastbridge's user sends to it, and the statuses it may get."""
    theirs, brand = ids.theirs, ids.brand
    findings = [*theirs.findings[:1], *brand.findings[:1]]
    batches = [theirs.batches[0], brand.batches[0]]
    held = [theirs.quarantined[0], brand.quarantined[0]]
    dispute, action = theirs.disputes[0], theirs.actions[0]

    def each(method: str, template: str, values: list[Any], **kwargs: Any) -> list[Probe]:
        return [
            Probe(f"{method} {template} {v}", method, template.format(v), kwargs, REFUSED)
            for v in values
        ]

    ingest = _ingest_probes(ids)
    return {
        ("POST", "/api/v1/users"): [
            Probe("a user of westcoast", "POST", "/api/v1/users", {"json": {
                "user_id": "evil-wes", "role": "provider", "provider_id": OTHER}}, FORBIDDEN),
            Probe("an admin", "POST", "/api/v1/users", {"json": {
                "user_id": "evil-admin", "role": "admin", "password": "long enough 123"}},
                FORBIDDEN),
        ],
        ("POST", "/api/v1/users/{user_id}/disable"): each(
            "POST", "/api/v1/users/{}/disable", ["wes", "ana"]),
        ("POST", "/api/v1/users/{user_id}/tokens"): each(
            "POST", "/api/v1/users/{}/tokens", ["wes", "ana"], json={"name": "mine now"}),
        ("DELETE", "/api/v1/tokens/{token_id}"): each(
            "DELETE", "/api/v1/tokens/{}", [ids.token_id]),
        ("POST", "/api/v1/findings/{finding_id}/acknowledge"): each(
            "POST", "/api/v1/findings/{}/acknowledge", findings),
        ("POST", "/api/v1/findings/{finding_id}/resolve"): each(
            "POST", "/api/v1/findings/{}/resolve", findings, json={"resolution": "gone"}),
        ("POST", "/api/v1/contracts"): [
            Probe("westcoast's contract", "POST", "/api/v1/contracts?source_name=w.yaml", {
                "content": CONTRACT.read_bytes().replace(b"2026-01-01", b"2027-01-01"),
                "headers": {"Content-Type": "application/yaml"}}, FORBIDDEN),
        ],
        ("POST", "/api/v1/batches/{batch_id}/replay"): each(
            "POST", "/api/v1/batches/{}/replay", batches),
        ("PUT", "/api/v1/quarantine/{quarantine_id}"): each(
            "PUT", "/api/v1/quarantine/{}", held, json={"raw": {"order_id": "ORD-EVIL"}}),
        ("POST", "/api/v1/quarantine/replay"): [
            Probe("replay by id", "POST", "/api/v1/quarantine/replay",
                  {"json": {"ids": held}}, REFUSED),
            Probe("replay a batch", "POST", "/api/v1/quarantine/replay",
                  {"json": {"batch": batches[1]}}, REFUSED),
            Probe("replay all", "POST", "/api/v1/quarantine/replay", {"json": {}}, REFUSED),
        ],
        ("POST", "/api/v1/disputes"): [
            Probe("by hand", "POST", "/api/v1/disputes", {"json": {
                "from": "manual", "provider_id": OTHER, "subject": "evil"}}, REFUSED),
            Probe("from a finding", "POST", "/api/v1/disputes", {"json": {
                "from": "finding", "finding_id": findings[0]}}, REFUSED),
        ],
        ("POST", "/api/v1/disputes/{dispute_id}/answer"): each(
            "POST", "/api/v1/disputes/{}/answer", [dispute], json={"answer": "accept"}),
        ("POST", "/api/v1/disputes/{dispute_id}/resolve"): each(
            "POST", "/api/v1/disputes/{}/resolve", [dispute], json={"resolution": "withdrawn"}),
        ("POST", "/api/v1/disputes/{dispute_id}/comments"): each(
            "POST", "/api/v1/disputes/{}/comments", [dispute], json={"note": "evil"}),
        ("POST", "/api/v1/actions"): [
            Probe("for westcoast", "POST", "/api/v1/actions", {"json": {
                "provider_id": OTHER, "title": "evil", "owner": "x"}}, GONE),
        ],
        ("PATCH", "/api/v1/actions/{action_id}"): each(
            "PATCH", "/api/v1/actions/{}", [action], json={"status": "done"}),
        ("POST", "/api/v1/alerts/{alert_id}/ack"): each("POST", "/api/v1/alerts/{}/ack", [1]),
        ("POST", "/api/v1/uploads"): [p for p in ingest if p.url == "/api/v1/uploads"],
        ("POST", "/api/v1/ingest/{kind}"): [p for p in ingest if p.url != "/api/v1/uploads"],
    }  # fmt: skip


def write_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, route) of the REST API that is not a read."""
    found = {
        (method, route.path)
        for route in api_routes(app.routes)
        if route.path.startswith("/api/v1/")
        for method in route.methods - {"GET", "HEAD"}
    }
    assert len(found) > 15, "the app's routes were not found"
    return found


def _send(client: TestClient, token: str, probe: Probe) -> Any:
    kwargs = dict(probe.kwargs)
    headers = {**kwargs.pop("headers", {}), **auth(token)}
    return client.request(probe.method, probe.url, headers=headers, **kwargs)


def test_every_write_route_has_a_row(api_app: FastAPI, ids: Ids) -> None:
    table = _writes(ids)
    routes = write_routes(api_app)
    assert routes - set(table) == set(), "write routes without probes"
    assert set(table) - routes == set(), "probes of routes that no longer exist"
    assert all(table.values()), "a route without a request"


def _refusals(
    client: TestClient, token: str, probes: list[Probe], statuses: frozenset[int] | None = None
) -> list[str]:
    problems = []
    for probe in probes:
        response = _send(client, token, probe)
        no_trace(response)
        allowed = statuses or probe.statuses
        if response.status_code not in allowed:
            problems.append(
                f"{probe.label}: {probe.method} {probe.url} -> {response.status_code} "
                f"{response.text[:200]}"
            )
        elif set(response.json()) != {"error"}:
            problems.append(f"{probe.label}: not an error body: {response.text[:200]}")
    return problems


def test_a_provider_user_changes_nothing_of_others(
    api_client: TestClient, tokens: dict[str, str], api_store: str, ids: Ids
) -> None:
    probes = [p for ps in _writes(ids).values() for p in ps]
    before = snapshot(api_store)
    problems = _refusals(api_client, tokens[OWN], probes)
    assert not problems, "\n".join(problems)
    assert changed(before, snapshot(api_store)) == []


def test_the_analyst_changes_nothing(
    api_client: TestClient, tokens: dict[str, str], api_store: str, ids: Ids
) -> None:
    probes = [p for ps in _writes(ids).values() for p in ps]
    own = [  # and the analyst's own writes of things a brand user may see
        Probe("a dispute", "POST", f"/api/v1/disputes/{ids.theirs.disputes[0]}/answer",
              {"json": {"answer": "accept"}}, FORBIDDEN),
        Probe("an action", "POST", "/api/v1/actions", {"json": {
            "provider_id": OWN, "title": "analyst", "owner": "x"}}, FORBIDDEN),
    ]  # fmt: skip
    before = snapshot(api_store)
    problems = _refusals(api_client, tokens["analyst"], probes + own, FORBIDDEN)
    assert not problems, "\n".join(problems)
    assert changed(before, snapshot(api_store)) == []


def test_the_admin_probes_would_change_things(
    api_client: TestClient, tokens: dict[str, str], ids: Ids
) -> None:
    """The refused requests are real ones: the admin's same comment and action land."""
    dispute = ids.theirs.disputes[0]
    response = api_client.post(
        f"/api/v1/disputes/{dispute}/comments", json={"note": "ok"}, headers=auth(tokens["admin"])
    )
    assert response.status_code == 201, response.text
    response = api_client.post(
        "/api/v1/actions",
        json={"provider_id": OTHER, "title": "fine", "owner": "x"},
        headers=auth(tokens["admin"]),
    )
    assert response.status_code == 201, response.text


# -- exports --------------------------------------------------------------------------------------


def export_formats(app: FastAPI) -> dict[str, list[str]]:
    """GET routes that answer in other formats than JSON (`format`), and those formats."""
    found: dict[str, list[str]] = {}
    for path, operations in app.openapi()["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["name"] != "format" or parameter["in"] != "query":
                continue
            schema = parameter.get("schema", {})
            choices = schema.get("enum") or [
                c for option in schema.get("anyOf", []) for c in option.get("enum", [])
            ]
            others = [c for c in choices if c != "json"]
            if others:
                found[path] = others
    return found


def test_export_routes_are_found(api_app: FastAPI) -> None:
    formats = export_formats(api_app)
    assert "pdf" in formats.get("/api/v1/reviews/{provider_id}/{week}", []), formats


def _with_format(url: str, fmt: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}format={fmt}"


def test_exports_show_nothing_of_another_provider(
    api_app: FastAPI,
    api_client: TestClient,
    tokens: dict[str, str],
    records: dict[str | None, Records],
    kept_vetting: int,
) -> None:
    """Each export of a route answers what its JSON answers, with nothing foreign in it.

    Every probe of another provider's or the brand's records is made in every format; of the
    user's own, the first (a PDF's text is compressed: its HTML twin is read instead), but
    on the routes that compute a report for seconds, whose JSON the isolation walk reads.
    """
    own, other = OWN, OTHER
    table = _probes(own, other, records, kept_vetting)
    headers = auth(tokens[own])
    problems = []
    for route, formats in sorted(export_formats(api_app).items()):
        assert route in table, f"{route} exports without isolation probes"
        mine = [p for p in table[route] if 200 in p.statuses]
        refused = [p for p in table[route] if 200 not in p.statuses]
        for fmt in formats:
            shown = [] if fmt == "pdf" or route in COMPUTED else mine[:1]
            for probe in refused + shown:
                response = api_client.get(_with_format(probe.url, fmt), headers=headers)
                no_trace(response)
                if response.status_code not in probe.statuses:
                    problems.append(f"{probe.url} as {fmt}: {response.status_code}")
                    continue
                if response.status_code != 200:
                    assert set(response.json()) == {"error"}, probe.url
                    continue
                shown = leaks({}, response.text, own, other, records[other].facilities)
                if shown:
                    problems.append(f"{probe.url} as {fmt} shows {shown[:5]}")
    assert not problems, "\n".join(problems)


# -- no credentials -------------------------------------------------------------------------------


def every_route(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every (method, path) the app answers, its dashboard and docs included."""
    for route in app.routes:
        methods = getattr(route, "methods", None)
        if methods and not isinstance(route, APIRoute):
            for method in methods - {"HEAD"}:
                yield method, route.path
    for route in api_routes(app.routes):
        for method in route.methods - {"HEAD"}:
            yield method, route.path


_PATH_VALUES = {
    "provider_id": OTHER,
    "metric": "ship_on_time_rate",
    "dispute_id": "DSP-000001",
    "user_id": "ana",
    "token_id": "abc",
    "week": "2026-W10",
    "kind": "shipments",
    "source": "easypost",
}


def _filled(path: str) -> str:
    parts = path.replace("{", "}").split("}")
    return "".join(_PATH_VALUES.get(p, "1") if i % 2 else p for i, p in enumerate(parts))


@pytest.mark.parametrize(
    "credentials",
    [{}, {"cookies": {SESSION_COOKIE: "planted-by-someone"}}],
    ids=["nothing", "unknown-session"],
)
def test_nothing_answers_without_credentials(
    credentials: dict[str, Any], api_app: FastAPI, client: TestClient, api_store: str
) -> None:
    """The API answers 401; a dashboard page leads to the login form; nothing changes.

    Every route without credentials; the dashboard's with a session id nobody was given
    (the API's refuse it alike: test_csrf, test_sessions; an unknown, expired or revoked
    token: test_tokens)."""
    routes = sorted(set(every_route(api_app)))
    assert len(routes) > 60
    before = snapshot(api_store)
    problems = []
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        if credentials and path.startswith(("/api/", "/webhooks/")):
            continue
        url = _filled(path)
        client.cookies.clear()
        for name, value in credentials.get("cookies", {}).items():
            client.cookies.set(name, value, domain="testserver.local")
        response = client.request(
            method, url, headers=credentials.get("headers", {}), follow_redirects=False
        )
        no_trace(response)
        status = response.status_code
        if path.startswith(("/api/", "/webhooks/")):
            ok = status == 401 and response.json()["error"]["status"] == 401
        elif method == "GET":
            ok = status == 303 and response.headers["location"].startswith("/login")
        else:
            ok = status == 401
        if not ok:
            problems.append(f"{method} {url}: {status} {response.text[:120]}")
    client.cookies.clear()
    assert not problems, "\n".join(problems)
    assert changed(before, snapshot(api_store)) == []


def test_the_public_routes_exist(api_app: FastAPI) -> None:
    """PUBLIC names routes the app has, and only the documented ones."""
    routes = set(every_route(api_app))
    assert routes >= PUBLIC, PUBLIC - routes


def test_a_probe_helper_can_fail() -> None:
    """The snapshot comparison sees a change."""
    before: Snapshot = {"orders": (1, "a")}
    assert changed(before, {"orders": (2, "b")}) == ["orders: 1 -> 2 rows"]
    assert _filled("/providers/{provider_id}/kpis/{metric}") == (
        f"/providers/{OTHER}/kpis/ship_on_time_rate"
    )
