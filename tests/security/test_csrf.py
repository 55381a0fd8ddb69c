"""Cross-site request forgery: every change made with the session cookie needs its token.

FORMS holds, for every form of the dashboard that changes something (read from the app: a
new one without a row fails test_every_form_has_a_row), a post the admin may make. Each is
sent without the CSRF token, with a wrong one, with the token of another live session and
as HTMX with a wrong header: 403 every time, and every table as it was. Then with the
session's own token it goes through (the refusals were the token's). A post that names
another site as its origin is refused even with the right token. The API takes the cookie
too, under the same rule; a bearer token is not sent by browsers on their own, so it needs
no CSRF token, and no cross-origin read is allowed (no CORS).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tallyclerk.api import create_app
from tallyclerk.settings import Settings
from tests.api.conftest import PROVIDERS, auth
from tests.api.test_isolation import Records, api_routes
from tests.security.conftest import (
    USER_OF,
    changed,
    csrf_of,
    log_in,
    login_token,
    no_trace,
    snapshot,
)

OWN = PROVIDERS[0]
# Posts that are not made with a session: the login form (its own token, tested below) and
# an alert's acknowledgement link (its token is the credential).
NOT_SESSION_FORMS = {"/login", "/alerts/{alert_id}/ack"}
EVIL = "http://evil.example"


@dataclass(frozen=True)
class Post:
    """A form the admin may post (without its CSRF token)."""

    url: str
    data: dict[str, str]


def _forms(records: dict[str | None, Records]) -> dict[str, Post]:
    mine = records[OWN]
    finding, dispute, action = mine.findings[-1], mine.disputes[0], mine.actions[0]
    return {
        "/findings/{finding_id}/acknowledge": Post(f"/findings/{finding}/acknowledge", {}),
        "/findings/{finding_id}/resolve": Post(
            f"/findings/{finding}/resolve", {"resolution": "checked"}
        ),
        "/findings/{finding_id}/dispute": Post(f"/findings/{finding}/dispute", {"note": "x"}),
        "/health/replay": Post("/health/replay", {}),
        "/disputes": Post("/disputes", {"provider_id": OWN, "subject": "csrf"}),
        "/disputes/from-breach": Post(
            "/disputes/from-breach",
            {"provider_id": OWN, "metric": "ship_on_time_rate", "period": "2026-02"},
        ),
        "/disputes/{dispute_id}/answer": Post(f"/disputes/{dispute}/answer", {"answer": "accept"}),
        "/disputes/{dispute_id}/resolve": Post(
            f"/disputes/{dispute}/resolve", {"resolution": "withdrawn"}
        ),
        "/disputes/{dispute_id}/comment": Post(f"/disputes/{dispute}/comment", {"note": "x"}),
        "/actions": Post("/actions", {"provider_id": OWN, "title": "csrf", "owner": "x"}),
        "/actions/{action_id}/done": Post(f"/actions/{action}/done", {"note": "x"}),
        "/actions/{action_id}/update": Post(f"/actions/{action}/update", {"note": "x"}),
        "/alerts/{alert_id}/acknowledge": Post("/alerts/1/acknowledge", {}),
        "/logout": Post("/logout", {}),  # last: it ends the session
    }


@pytest.fixture
def other_session(api_app: FastAPI) -> Iterator[str]:
    """The CSRF token of another live session (the analyst's, in another browser)."""
    with TestClient(api_app) as browser:
        yield log_in(browser, "analyst")


def test_every_form_has_a_row(api_app: FastAPI, records: dict[str | None, Records]) -> None:
    posts = {
        route.path
        for route in api_routes(api_app.routes)
        if route.endpoint.__module__.startswith("tallyclerk.web.")
        and route.methods - {"GET", "HEAD"}
    }
    assert posts - NOT_SESSION_FORMS == set(_forms(records))


def test_a_form_without_its_token_changes_nothing(
    client: TestClient,
    api_store: str,
    records: dict[str | None, Records],
    other_session: str,
) -> None:
    token = log_in(client, "admin")
    assert other_session != token
    forgeries: list[tuple[str, dict[str, Any]]] = [
        ("no token", {}),
        ("a wrong token", {"data": {"csrf_token": "0" * len(token)}}),
        ("another session's token", {"data": {"csrf_token": other_session}}),
        ("a wrong HTMX header", {"headers": {"HX-Request": "true", "X-CSRF-Token": "x"}}),
        ("a wrong header beside the right field", {"headers": {"X-CSRF-Token": other_session}}),
    ]
    before = snapshot(api_store)
    problems = []
    for route, post in _forms(records).items():
        for label, extra in forgeries:
            data = {**post.data, **extra.get("data", {})}
            if label.endswith("the right field"):
                data["csrf_token"] = token
            response = client.post(
                post.url, data=data, headers=extra.get("headers", {}), follow_redirects=False
            )
            no_trace(response)
            if response.status_code != 403:
                problems.append(f"{route} with {label}: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert changed(before, snapshot(api_store)) == []
    # The same posts with the session's token are taken (or refused for another reason).
    for route, post in _forms(records).items():
        response = client.post(
            post.url, data={**post.data, "csrf_token": token}, follow_redirects=False
        )
        no_trace(response)
        assert response.status_code not in (401, 403), (route, response.text[:300])
    assert changed(before, snapshot(api_store)) != []
    assert client.get("/", follow_redirects=False).status_code == 303  # logged out last


def test_a_post_from_another_site_is_refused(
    client: TestClient, api_store: str, records: dict[str | None, Records]
) -> None:
    """Even with the right token (a page of a sibling site could have read it somehow)."""
    token = log_in(client, "admin")
    post = _forms(records)["/disputes/{dispute_id}/comment"]
    before = snapshot(api_store)
    for headers in (
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Referer": f"{EVIL}/page"},
        {"Origin": "http://testserver.evil.example"},
        {"Origin": EVIL, "Referer": "http://testserver/disputes"},  # the Origin is believed
        {"Origin": EVIL, "X-Forwarded-Host": "testserver.evil.example"},
    ):
        response = client.post(
            post.url,
            data={**post.data, "csrf_token": token},
            headers=headers,
            follow_redirects=False,
        )
        assert response.status_code == 403, (headers, response.text[:300])
        assert "another site" in response.text
    assert changed(before, snapshot(api_store)) == []


def test_the_origin_of_this_site_is_accepted(
    client: TestClient, records: dict[str | None, Records]
) -> None:
    """The host the request was sent to, directly or as a proxy forwarded it."""
    token = log_in(client, "admin")
    post = _forms(records)["/disputes/{dispute_id}/comment"]
    for headers in (
        {"Origin": "http://testserver"},
        {"Referer": "http://testserver/disputes"},
        {"Origin": "https://tally.example.com", "X-Forwarded-Host": "tally.example.com"},
        {"Origin": "https://tally.example.com", "X-Forwarded-Host": "tally.example.com:443"},
        {},
    ):
        response = client.post(
            post.url,
            data={**post.data, "csrf_token": token},
            headers=headers,
            follow_redirects=False,
        )
        assert response.status_code == 303, (headers, response.text[:300])


def test_the_login_form_is_not_forged_either(client: TestClient, api_settings: Settings) -> None:
    """Its token must match its cookie, and it may not be posted from another site."""
    form = {"username": USER_OF["admin"], "password": "correct horse battery"}
    token = login_token(client)
    for headers, data in (
        ({}, {**form, "login_token": "forged"}),
        ({}, form),
        ({"Origin": EVIL}, {**form, "login_token": token}),
    ):
        response = client.post("/login", data=data, headers=headers, follow_redirects=False)
        assert response.status_code == 403, response.text[:300]
        assert "tc_session" not in response.headers.get("set-cookie", "")
    allowed = api_settings.model_copy(
        update={
            "service": api_settings.service.model_copy(
                update={"allowed_origins": ["https://tally.example.com"]}
            )
        }
    )
    with TestClient(create_app(allowed)) as behind_a_proxy:
        token = login_token(behind_a_proxy)
        response = behind_a_proxy.post(
            "/login",
            data={**form, "login_token": token},
            headers={"Origin": "https://tally.example.com"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text[:300]


def test_the_api_takes_the_cookie_only_with_the_token(
    api_app: FastAPI,
    client: TestClient,
    tokens: dict[str, str],
    api_store: str,
    records: dict[str | None, Records],
) -> None:
    """Every API write carried by the cookie alone is refused before it does anything."""
    token = log_in(client, "admin")
    writes = sorted(
        (method, route.path)
        for route in api_routes(api_app.routes)
        if route.path.startswith("/api/v1/")
        for method in route.methods - {"GET", "HEAD"}
    )
    assert len(writes) > 15
    before = snapshot(api_store)
    for method, path in writes:
        url = path.replace("{", "").replace("}", "")  # any id: the check comes first
        response = client.request(method, url, json={}, follow_redirects=False)
        assert response.status_code == 403, (method, url, response.text[:200])
        assert "CSRF" in response.json()["error"]["message"]
    assert changed(before, snapshot(api_store)) == []
    comment = f"/api/v1/disputes/{records[OWN].disputes[0]}/comments"
    taken = client.post(comment, json={"note": "via the cookie"}, headers={"X-CSRF-Token": token})
    assert taken.status_code == 201, taken.text
    assert taken.json()["actor"] == USER_OF["admin"]
    # A bearer token wins over the cookie: the request is the token's user's, no CSRF asked.
    bearer = client.post(
        comment,
        json={"note": "via a token"},
        headers={**auth(tokens[OWN]), "Origin": EVIL},
    )
    assert bearer.status_code == 201, bearer.text
    assert bearer.json()["actor"] == USER_OF[OWN]


def test_no_cross_origin_reads(client: TestClient, tokens: dict[str, str]) -> None:
    """No CORS: a page of another site cannot read an answer, nor send a token with fetch."""
    preflight = client.options(
        "/api/v1/scorecards",
        headers={
            "Origin": EVIL,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert "access-control-allow-origin" not in preflight.headers
    answer = client.get("/api/v1/scorecards", headers={**auth(tokens[OWN]), "Origin": EVIL})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-credentials" not in answer.headers


def test_the_page_token_is_the_sessions(client: TestClient) -> None:
    """Each login gets its own CSRF token; the page carries the current session's."""
    first = log_in(client, "admin")
    assert csrf_of(client.get("/findings")) == first
    second = log_in(client, "admin")
    assert second != first
    assert csrf_of(client.get("/findings")) == second


def test_a_form_sends_nobody_to_another_site(
    client: TestClient, records: dict[str | None, Records]
) -> None:
    """Where a form returns to (`next`, `back`) is only ever a path of this site."""
    token = log_in(client, "admin")
    action, finding = records[OWN].actions[0], records[OWN].findings[0]
    for target in ("https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:x"):
        for url, field in (
            (f"/actions/{action}/update", "next"),
            (f"/findings/{finding}/acknowledge", "back"),
        ):
            data = {"csrf_token": token, field: target, "note": "x"}
            response = client.post(url, data=data, follow_redirects=False)
            assert response.status_code == 303, (url, response.text[:200])
            location = response.headers["location"]
            assert location.startswith("/"), (target, location)
            assert not location.startswith(("//", "/\\")), (target, location)
