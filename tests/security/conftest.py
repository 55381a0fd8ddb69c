"""Fixtures and helpers of the security tests.

The store is the API tests' simulated quarter (tests/api/conftest.py: two providers, users ana
(admin), otto (analyst), eve (eastbridge) and wes (westcoast), one dispute each, a token per
user). Its fixtures are imported here, so each module of this folder gets its own copy, and
so are those of the isolation walk (tests/api/test_isolation.py: the owners' record ids, a
kept forecast and vetting).

`snapshot` reads every table of a store (row counts and a digest of the rows), so a test can
show that a refused request changed nothing; `log_in` signs in through the login form as a
browser does and returns the page's CSRF token.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tallyclerk.store import open_store
from tallyclerk.store.schema import metadata
from tests.api.conftest import (
    PASSWORD,
    USERS,
    api_app,
    api_client,
    api_settings,
    api_store,
    built_duckdb,
    built_postgres,
    demo_data,
    tokens,
)
from tests.api.test_isolation import kept_forecast, kept_vetting, records

__all__ = [
    "api_app",
    "api_client",
    "api_settings",
    "api_store",
    "built_duckdb",
    "built_postgres",
    "demo_data",
    "kept_forecast",
    "kept_vetting",
    "records",
    "tokens",
]

ADMIN, ANALYST = USERS["admin"][0], USERS["analyst"][0]
EAST, WEST = USERS["eastbridge"][0], USERS["westcoast"][0]
USER_OF = {"admin": ADMIN, "analyst": ANALYST, "eastbridge": EAST, "westcoast": WEST}
SESSION_COOKIE = "tc_session"
# Columns a request may change without changing anything a person did (a token's last use).
VOLATILE = {("api_tokens", "last_used_at")}
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')

Snapshot = dict[str, tuple[int, str]]


def snapshot(url: str) -> Snapshot:
    """Every table of the store: its row count and a digest of its rows (in any order)."""
    store = open_store(url=url, create=False)
    try:
        out: Snapshot = {}
        with store.connect() as connection:
            for table in metadata.sorted_tables:
                columns = [c for c in table.c if (table.name, c.name) not in VOLATILE]
                rows = connection.execute(sa.select(*columns)).all()
                text = "\n".join(sorted(repr(tuple(row)) for row in rows))
                out[table.name] = (len(rows), hashlib.sha256(text.encode()).hexdigest())
        return out
    finally:
        store.close()


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    """The tables whose rows differ between two snapshots, with their counts."""
    return [
        f"{name}: {before.get(name, (0, ''))[0]} -> {after.get(name, (0, ''))[0]} rows"
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token a dashboard page carries for its forms and HTMX requests."""
    found = _CSRF.search(page.text)
    assert found is not None, "the page has no CSRF token"
    assert found.group(1), "the page's CSRF token is empty"
    return found.group(1)


def login_token(client: TestClient) -> str:
    """Fetch the login form (its cookie lands in the client); the form's token."""
    page = client.get("/login")
    assert page.status_code == 200, page.text[:300]
    found = _LOGIN_TOKEN.search(page.text)
    assert found is not None
    return found.group(1)


def log_in(client: TestClient, role: str, *, keep_cookies: bool = False) -> str:
    """Sign the client in as the user of `role` through the login form; the CSRF token."""
    if not keep_cookies:
        client.cookies.clear()
    token = login_token(client)
    response = client.post(
        "/login",
        data={"username": USER_OF[role], "password": PASSWORD, "login_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]
    return csrf_of(client.get("/"))


def no_trace(response: httpx.Response) -> None:
    """An answer never shows a stack trace or a server-side path."""
    text = response.text
    assert "Traceback" not in text, text[:500]
    assert 'File "' not in text, text[:500]
    assert "site-packages" not in text, text[:500]


@pytest.fixture
def client(api_client: TestClient) -> Iterator[TestClient]:
    """The module's client without cookies left over from another test."""
    api_client.cookies.clear()
    yield api_client
    api_client.cookies.clear()
