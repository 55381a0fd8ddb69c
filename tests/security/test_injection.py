"""SQL injection through every parameter of every GET route of the API, on both databases.

The routes and their parameters come from /openapi.json, so a new one is covered. Each
parameter gets the classic payloads. The ones its schema refuses must be refused: one is
sent to each parameter (the check comes before any query, whoever asks, on any database).
Every payload the schema admits reaches a query: those are sent as a provider user and as
the admin, on DuckDB and on PostgreSQL. Never a 500 or a trace; an answer never holds more
than the same request with a harmless value does, nor for the provider user anything of the
other provider's; and the store is the same afterwards.

Routes that compute a report from the store take seconds per request: their admitted
payloads are sent once per database (as the provider user on DuckDB, as the admin on
PostgreSQL), the first of them only, and a filter by an id that nothing has must then list
nothing (instead of asking again with a harmless value).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import ON_BOTH, PROVIDERS, auth
from tests.api.test_isolation import Records, leaks
from tests.security.conftest import changed, no_trace, snapshot

OWN, OTHER = PROVIDERS
PAYLOADS = (
    "' OR '1'='1",
    f"{OWN}' OR 'a'='a",
    "1; DROP TABLE orders; --",
    "%' --",
    "\u2019 OR \u20181\u2019=\u20181",  # typographic quotes
    "x" * 5000,
    f"{OWN}\x00' OR '1'='1",
)
HARMLESS = "zz-none"
HEAVY = {
    "/api/v1/invoices/audit",
    "/api/v1/inventory/variance",
    "/api/v1/experience",
    "/api/v1/reviews/{provider_id}/{week}",
}


@dataclass(frozen=True)
class Param:
    """A parameter of a GET route, as /openapi.json describes it."""

    route: str
    name: str
    where: str  # path or query
    schema: dict[str, Any]


def params(app: FastAPI) -> Iterator[Param]:
    """Every parameter of every GET route of the REST API."""
    for route, operations in sorted(app.openapi()["paths"].items()):
        if not route.startswith("/api/v1/") or "get" not in operations:
            continue
        for found in operations["get"].get("parameters", []):
            yield Param(route, found["name"], found["in"], found.get("schema", {}))


def admits(schema: dict[str, Any], value: str) -> bool:
    """Whether a text value fits the parameter's schema (as FastAPI would check it)."""
    if "anyOf" in schema:
        return any(admits(s, value) for s in schema["anyOf"])
    kind = schema.get("type")
    if kind in ("integer", "number", "boolean", "null") or "format" in schema:
        return False
    if kind == "array":
        return admits(schema.get("items", {}), value)
    if "enum" in schema:
        return value in schema["enum"]
    if len(value) > schema.get("maxLength", 10**9):
        return False
    pattern = schema.get("pattern")
    return pattern is None or re.search(pattern, value) is not None


def _path_values(records: dict[str | None, Records]) -> dict[str, str]:
    mine = records[OWN]
    return {
        "provider_id": OWN,
        "metric": "ship_on_time_rate",
        "week": "2026-W10",
        "finding_id": str(mine.findings[0]),
        "batch_id": str(mine.batches[0]),
        "quarantine_id": str(mine.quarantined[0]),
        "dispute_id": mine.disputes[0],
        "action_id": str(mine.actions[0]),
        "alert_id": "1",
    }


def _url(param: Param, value: str, records: dict[str | None, Records]) -> str:
    values = _path_values(records)
    if param.where == "path":
        values[param.name] = value
    path = param.route
    for name, given in values.items():
        path = path.replace("{" + name + "}", quote(given, safe=""))
    if param.where == "query":
        path += f"?{quote(param.name)}={quote(value, safe='')}"
    return path


def _weight(body: Any) -> int:
    """How much an answer holds: a page's total, else the objects and items in it."""
    if isinstance(body, dict) and isinstance(body.get("total"), int):
        return int(body["total"])
    if isinstance(body, dict):
        return 1 + sum(_weight(v) for v in body.values())
    if isinstance(body, list):
        return len(body) + sum(_weight(v) for v in body)
    return 0


def _rows(body: Any) -> int:
    """The items of every list in an answer."""
    if isinstance(body, dict):
        return sum(_rows(v) for v in body.values())
    if isinstance(body, list):
        return len(body) + sum(_rows(v) for v in body)
    return 0


def _refused(param: Param) -> str | None:
    """The first payload the parameter's schema refuses (None: it admits them all)."""
    return next((p for p in PAYLOADS if not admits(param.schema, p)), None)


def _admitted(param: Param, heavy: bool) -> list[str]:
    """The payloads the schema admits (on a heavy route: the first, or none)."""
    admitted = [p for p in PAYLOADS if admits(param.schema, p)]
    if param.route in HEAVY:
        return admitted[:1] if heavy else []
    return admitted


def _check(
    client: TestClient,
    headers: dict[str, str],
    param: Param,
    payload: str,
    records: dict[str | None, Records],
    role: str,
) -> list[str]:
    """What is wrong with the answer to one payload."""
    response = client.get(_url(param, payload, records), headers=headers)
    no_trace(response)
    what = f"{param.route} {param.name}={payload[:30]!r}"
    if response.status_code >= 500:
        return [f"{what}: {response.status_code} {response.text[:200]}"]
    if response.status_code != 200:
        return []
    if not admits(param.schema, payload):
        return [f"{what}: taken although the schema refuses it"]
    problems = []
    body = response.json() if "json" in response.headers["content-type"] else None
    if role != "admin":
        shown = leaks(body, response.text, OWN, OTHER, records[OTHER].facilities)
        problems += [f"{what}: shows {shown[:3]}"] if shown else []
    if param.route in HEAVY and param.name != "as_of":
        if _rows(body):  # a filter by an id nothing has lists nothing
            problems.append(f"{what}: lists {_rows(body)} items")
        return problems
    quiet = client.get(_url(param, HARMLESS, records), headers=headers)
    harmless = _weight(quiet.json()) if quiet.status_code == 200 else 0
    if body is not None and _weight(body) > harmless:
        problems.append(f"{what}: holds more ({_weight(body)}) than {harmless}")
    return problems


def test_the_schema_check_of_this_test_can_fail() -> None:
    pattern = {"anyOf": [{"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$"}]}
    assert admits(pattern, OWN)
    assert not admits(pattern, PAYLOADS[0])
    assert admits({"type": "string", "maxLength": 40}, PAYLOADS[0])
    assert not admits({"type": "integer"}, "1")
    assert _weight({"items": [1], "total": 7}) == 7
    assert _rows({"skus": [], "invoices": [{"lines": [1, 2]}]}) == 3


def test_every_refused_payload_is_refused(
    api_app: FastAPI,
    api_client: TestClient,
    tokens: dict[str, str],
    api_store: str,
    records: dict[str | None, Records],
) -> None:
    before = snapshot(api_store)
    problems = []
    checked = 0
    for param in params(api_app):
        payload = _refused(param)
        if payload is not None:
            checked += 1
            problems += _check(api_client, auth(tokens[OWN]), param, payload, records, OWN)
    assert checked > 100, "the parameters were not found"
    assert not problems, "\n".join(problems)
    assert changed(before, snapshot(api_store)) == []


@ON_BOTH
@pytest.mark.parametrize("role", ["admin", OWN])
def test_no_admitted_payload_injects_sql(
    role: str,
    api_app: FastAPI,
    api_client: TestClient,
    tokens: dict[str, str],
    api_store: str,
    records: dict[str | None, Records],
) -> None:
    heavy = (role == "admin") == api_store.startswith("postgresql")
    before = snapshot(api_store)
    problems = []
    sent = 0
    for param in params(api_app):
        for payload in _admitted(param, heavy):
            sent += 1
            problems += _check(api_client, auth(tokens[role]), param, payload, records, role)
    assert sent >= 10, "too few payloads reached a query"
    assert not problems, "\n".join(problems)
    assert changed(before, snapshot(api_store)) == []
