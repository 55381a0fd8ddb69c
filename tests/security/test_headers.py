"""Security headers on every answer: pages, API data, errors, static files, a failure.

Every answer carries the Content-Security-Policy (no inline script, no framing), X-Frame-
Options DENY, nosniff, a same-origin Referrer-Policy, a Permissions-Policy and
Cross-Origin-Opener-Policy; everything but the static files is `Cache-Control: no-store`;
Strict-Transport-Security comes with secure cookies (the service is behind HTTPS).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tallyclerk.api import create_app
from tallyclerk.settings import Settings
from tests.api.conftest import PROVIDERS, auth
from tests.security.conftest import log_in, no_trace

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}
CSP_PARTS = ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'")


def _problems(response: httpx.Response, *, cacheable: bool = False) -> list[str]:
    headers = response.headers
    found = [
        f"{name}: {headers.get(name)!r}"
        for name, value in EXPECTED.items()
        if headers.get(name) != value and not (name == "referrer-policy" and headers.get(name))
    ]
    csp = headers.get("content-security-policy", "")
    found += [f"CSP without {part}" for part in CSP_PARTS if part not in csp]
    if "'unsafe-inline'" in csp.split("script-src", 1)[-1].split(";", 1)[0]:
        found.append("CSP allows inline scripts")
    if "camera=()" not in headers.get("permissions-policy", ""):
        found.append(f"permissions-policy: {headers.get('permissions-policy')!r}")
    if not cacheable and headers.get("cache-control") != "no-store":
        found.append(f"cache-control: {headers.get('cache-control')!r}")
    return found


@pytest.fixture(scope="module")
def failing_client(api_settings: Settings) -> Iterator[TestClient]:
    """The service with one route that fails unexpectedly (as a bug would)."""
    app: FastAPI = create_app(api_settings)

    def boom() -> None:
        raise RuntimeError("a bug with a secret in its message: hunter2")

    app.add_api_route("/api/v1/boom", boom)
    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_every_kind_of_answer_has_the_headers(
    client: TestClient, tokens: dict[str, str], failing_client: TestClient
) -> None:
    token = auth(tokens[PROVIDERS[0]])
    answers: dict[str, httpx.Response] = {
        "api data": client.get("/api/v1/scorecards", headers=token),
        "api health": client.get("/api/v1/health"),
        "api 401": client.get("/api/v1/scorecards"),
        "api 403": client.get("/api/v1/users", headers=token),
        "api 404": client.get("/api/v1/no-such-thing", headers=token),
        "api 422": client.get("/api/v1/scorecards?period=March", headers=token),
        "api 405": client.delete("/api/v1/scorecards", headers=token),
        "openapi": client.get("/openapi.json"),
        "docs": client.get("/docs"),
        "webhook 503": client.post("/webhooks/shopify", content=b"{}"),
        "webhook 404": client.post("/webhooks/tracking/pigeon", content=b"{}"),
        "login page": client.get("/login"),
        "redirect to login": client.get("/findings", follow_redirects=False),
        "ack link": client.get("/alerts/1/ack?token=guess"),
        "page 404 without login": client.get("/no-such-page"),
        "api 500": failing_client.get("/api/v1/boom"),
        "page 500": failing_client.get("/boom", headers={"Accept": "text/html"}),
    }
    log_in(client, PROVIDERS[0])
    answers.update(
        {
            "page": client.get("/findings"),
            "fragment": client.get("/findings", headers={"HX-Request": "true"}),
            "page 403": client.get("/health"),
            "page 404": client.get(f"/providers/{PROVIDERS[1]}"),
            "review download": client.get(f"/providers/{PROVIDERS[1]}/review.pdf"),
        }
    )
    problems = [f"{what}: {p}" for what, answer in answers.items() for p in _problems(answer)]
    static = client.get("/static/dashboard.js")
    assert static.status_code == 200
    problems += [f"static: {p}" for p in _problems(static, cacheable=True)]
    assert not problems, "\n".join(problems)
    assert answers["ack link"].headers["referrer-policy"] == "no-referrer"  # its own, kept
    assert "strict-transport-security" not in answers["page"].headers


def test_a_failure_is_a_plain_500(failing_client: TestClient) -> None:
    for url in ("/api/v1/boom", "/boom"):
        response = failing_client.get(url, headers={"Accept": "text/html"})
        assert response.status_code == 500
        no_trace(response)
        assert "hunter2" not in response.text
        assert "reference" in response.text


def test_hsts_with_secure_cookies(api_settings: Settings) -> None:
    settings = api_settings.model_copy(
        update={"service": api_settings.service.model_copy(update={"secure_cookies": True})}
    )
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        for url in ("/login", "/api/v1/health", "/api/v1/scorecards", "/static/dashboard.js"):
            response = client.get(url)
            assert response.headers["strict-transport-security"] == "max-age=31536000", url
