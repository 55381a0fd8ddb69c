"""Dashboard sessions: fixation, logout, expiry, disabled users and the cookie's flags.

A session id chosen before the login (planted by someone else, or an attacker's own live
session) is never the one the login hands out, and is dead afterwards; logout ends the
session for good; the store keeps only the id's hash; a session past its hours is over; the
cookie is HttpOnly, SameSite=Lax, Secure (with Strict-Transport-Security) when configured.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tallyclerk.access import Principal, start_session
from tallyclerk.api import create_app
from tallyclerk.settings import Settings
from tallyclerk.store import open_store
from tallyclerk.store.schema import web_sessions
from tests.api.conftest import PASSWORD, auth
from tests.security.conftest import SESSION_COOKIE, USER_OF, csrf_of, log_in, login_token


def _set_cookies(response: httpx.Response) -> dict[str, dict[str, Any]]:
    """The cookies an answer sets: name -> its attributes that are set (and "value")."""
    found: dict[str, dict[str, Any]] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            found[name] = {"value": morsel.value, **{k: v for k, v in morsel.items() if v}}
    return found


def _plant(client: TestClient, session_id: str) -> None:
    client.cookies.set(SESSION_COOKIE, session_id, domain="testserver.local")


def _signed_in(client: TestClient, session_id: str) -> bool:
    """Whether the session id opens a page."""
    client.cookies.clear()
    _plant(client, session_id)
    response = client.get("/findings", follow_redirects=False)
    client.cookies.clear()
    return response.status_code == 200


def _login(client: TestClient, role: str = "admin", plant: str | None = None) -> str:
    """Log in (with `plant` as the session cookie when the form is posted); the new id."""
    client.cookies.clear()
    token = login_token(client)
    if plant is not None:
        _plant(client, plant)
    response = client.post(
        "/login",
        data={"username": USER_OF[role], "password": PASSWORD, "login_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]
    return _set_cookies(response)[SESSION_COOKIE]["value"]


def test_a_planted_session_id_is_never_promoted(client: TestClient) -> None:
    planted = "attacker-chosen-session-id-0000000000000000"
    issued = _login(client, plant=planted)
    assert issued != planted
    assert _signed_in(client, issued)
    assert not _signed_in(client, planted)


def test_the_session_held_before_login_ends(client: TestClient) -> None:
    """An attacker's own live session slipped into a victim's browser dies at the login."""
    attackers = _login(client, "analyst")
    assert _signed_in(client, attackers)
    victims = _login(client, "admin", plant=attackers)
    assert victims != attackers
    assert not _signed_in(client, attackers)
    assert _signed_in(client, victims)


def test_logout_ends_the_session(client: TestClient) -> None:
    token = log_in(client, "admin")
    session = client.cookies.get(SESSION_COOKIE)
    assert session is not None
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    cleared = _set_cookies(response)[SESSION_COOKIE]
    assert cleared["value"] == ""
    assert cleared.get("max-age") == "0" or "expires" in cleared
    assert not _signed_in(client, session)
    # The API refuses the old cookie as well, reads and writes alike.
    _plant(client, session)
    assert client.get("/api/v1/me").status_code == 401
    assert client.post("/logout", data={"csrf_token": token}).status_code == 401


def test_the_store_keeps_only_the_hash(client: TestClient, api_store: str) -> None:
    log_in(client, "admin")
    session = client.cookies.get(SESSION_COOKIE)
    assert session is not None
    store = open_store(url=api_store)
    try:
        with store.connect() as connection:
            rows = connection.execute(sa.select(web_sessions)).mappings().all()
    finally:
        store.close()
    stored = [str(v) for row in rows for v in row.values()]
    assert not any(session in value for value in stored)
    assert hashlib.sha256(session.encode()).hexdigest() in stored


def test_cookie_flags(client: TestClient, api_settings: Settings) -> None:
    client.cookies.clear()
    page = client.get("/login")
    form = _set_cookies(page)["tc_login"]
    assert form["httponly"]
    assert form["samesite"].lower() == "strict"
    assert form["path"] == "/login"
    issued = client.post(
        "/login",
        data={
            "username": USER_OF["admin"],
            "password": PASSWORD,
            "login_token": login_token(client),
        },
        follow_redirects=False,
    )
    cookie = _set_cookies(issued)[SESSION_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert int(cookie["max-age"]) == int(api_settings.service.session_hours * 3600)
    assert "secure" not in cookie  # plain HTTP unless configured
    assert "strict-transport-security" not in issued.headers


@pytest.fixture
def secure_client(api_settings: Settings) -> Iterator[TestClient]:
    """The service configured for HTTPS (secure cookies), seen through https://."""
    settings = api_settings.model_copy(
        update={"service": api_settings.service.model_copy(update={"secure_cookies": True})}
    )
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        yield client


def test_secure_cookies_when_configured(secure_client: TestClient) -> None:
    page = secure_client.get("/login")
    assert "secure" in _set_cookies(page)["tc_login"]
    assert page.headers["strict-transport-security"].startswith("max-age=")
    issued = secure_client.post(
        "/login",
        data={
            "username": USER_OF["admin"],
            "password": PASSWORD,
            "login_token": login_token(secure_client),
        },
        follow_redirects=False,
    )
    assert issued.status_code == 303, issued.text[:300]
    assert "secure" in _set_cookies(issued)[SESSION_COOKIE]
    assert secure_client.get("/").status_code == 200
    assert "strict-transport-security" in secure_client.get("/api/v1/health").headers


def test_an_expired_session_is_over(client: TestClient, api_store: str) -> None:
    store = open_store(url=api_store)
    try:
        with store.begin() as connection:
            long_ago = datetime.now(UTC) - timedelta(hours=13)
            expired, _ = start_session(connection, Principal("ana", "admin"), now=long_ago)
            recent, _ = start_session(
                connection, Principal("ana", "admin"), now=datetime.now(UTC) - timedelta(hours=11)
            )
    finally:
        store.close()
    assert not _signed_in(client, expired)
    assert _signed_in(client, recent)


def test_a_disabled_users_sessions_and_tokens_stop(
    client: TestClient, tokens: dict[str, str]
) -> None:
    admin = auth(tokens["admin"])
    made = client.post(
        "/api/v1/users",
        json={"user_id": "temp-ops", "role": "analyst", "password": "temporary password"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    issued = client.post("/api/v1/users/temp-ops/tokens", json={"name": "t"}, headers=admin)
    secret = issued.json()["secret"]
    client.cookies.clear()
    token = login_token(client)
    login = client.post(
        "/login",
        data={"username": "temp-ops", "password": "temporary password", "login_token": token},
        follow_redirects=False,
    )
    session = _set_cookies(login)[SESSION_COOKIE]["value"]
    assert _signed_in(client, session)
    assert client.get("/api/v1/me", headers=auth(secret)).status_code == 200
    disabled = client.post("/api/v1/users/temp-ops/disable", headers=admin)
    assert disabled.status_code == 200, disabled.text
    assert not _signed_in(client, session)
    assert client.get("/api/v1/me", headers=auth(secret)).status_code == 401
    client.cookies.clear()
    again = client.post(
        "/login",
        data={
            "username": "temp-ops",
            "password": "temporary password",
            "login_token": login_token(client),
        },
        follow_redirects=False,
    )
    assert again.status_code == 401
    assert SESSION_COOKIE not in _set_cookies(again)


def test_the_csrf_token_is_not_in_a_cookie(client: TestClient) -> None:
    """The page carries it; no cookie a script or another site could read holds it."""
    client.cookies.clear()
    token = log_in(client, "admin")
    assert token == csrf_of(client.get("/"))
    assert all(token not in (value or "") for value in client.cookies.values())
