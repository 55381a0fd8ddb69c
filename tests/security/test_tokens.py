"""API tokens: kept hashed, refused once revoked, expired or their user disabled, or forged.

A token reads `tc_<id>_<secret>`; the store keeps the SHA-256 of the secret and never the
secret. Every way a presented token can be wrong gets the same 401, so the answer tells
nothing of which part was wrong, and the secret is compared in constant time.
"""

from __future__ import annotations

import hashlib
import inspect
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tallyclerk.access import _users, create_token
from tallyclerk.store import open_store
from tallyclerk.store.schema import api_tokens
from tests.api.conftest import auth
from tests.security.conftest import no_trace


def _issue(client: TestClient, admin: str, user: str = "otto", **body: object) -> dict[str, str]:
    response = client.post(f"/api/v1/users/{user}/tokens", json=body, headers=auth(admin))
    assert response.status_code == 201, response.text
    issued = response.json()
    return {"id": issued["token"]["token_id"], "secret": issued["secret"]}


def _stored(url: str) -> list[dict[str, object]]:
    store = open_store(url=url)
    try:
        with store.connect() as connection:
            return [dict(r) for r in connection.execute(sa.select(api_tokens)).mappings()]
    finally:
        store.close()


def test_the_store_never_holds_the_secret(
    client: TestClient, tokens: dict[str, str], api_store: str
) -> None:
    issued = _issue(client, tokens["admin"], name="nightly export")
    secret = issued["secret"]
    prefix, token_id, random_part = secret.split("_", 2)
    assert (prefix, token_id) == ("tc", issued["id"])
    assert len(random_part) >= 40  # 256 random bits, URL-safe
    rows = _stored(api_store)
    mine = next(r for r in rows if r["token_id"] == token_id)
    assert mine["token_hash"] == hashlib.sha256(random_part.encode()).hexdigest()
    every_value = [str(v) for row in rows for v in row.values()]
    for known in (secret, random_part, *(t.split("_", 2)[2] for t in tokens.values())):
        assert not any(known in value for value in every_value)
    listed = client.get("/api/v1/tokens?user=otto", headers=auth(tokens["admin"]))
    assert random_part not in listed.text
    assert "secret" not in listed.text
    assert "token_hash" not in listed.text


def test_a_revoked_token_stops_at_the_next_request(
    client: TestClient, tokens: dict[str, str]
) -> None:
    secret = _issue(client, tokens["admin"], name="to revoke")
    assert client.get("/api/v1/me", headers=auth(secret["secret"])).status_code == 200
    revoked = client.delete(f"/api/v1/tokens/{secret['id']}", headers=auth(tokens["admin"]))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    for _ in range(2):
        response = client.get("/api/v1/me", headers=auth(secret["secret"]))
        assert response.status_code == 401
    assert client.get("/api/v1/me", headers=auth(tokens["analyst"])).status_code == 200


def test_an_expired_token_is_refused(client: TestClient, api_store: str) -> None:
    now = datetime.now(UTC)
    store = open_store(url=api_store)
    try:
        with store.begin() as connection:
            _, expired = create_token(
                connection, "otto", expires_at=now - timedelta(seconds=1), now=now - timedelta(1)
            )
            _, valid = create_token(connection, "otto", expires_at=now + timedelta(hours=1))
    finally:
        store.close()
    assert client.get("/api/v1/me", headers=auth(expired)).status_code == 401
    assert client.get("/api/v1/me", headers=auth(valid)).status_code == 200


def test_issuing_a_token_already_expired_is_refused(
    client: TestClient, tokens: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/users/otto/tokens",
        json={"expires_at": "2020-01-01T00:00:00Z"},
        headers=auth(tokens["admin"]),
    )
    assert response.status_code == 400


def test_forged_tokens_are_refused_alike(client: TestClient, tokens: dict[str, str]) -> None:
    """Unknown, tampered, swapped, malformed: one 401 and one message for all."""
    real = tokens["analyst"]
    _, token_id, secret = real.split("_", 2)
    other_id = tokens["admin"].split("_", 2)[1]
    forged = [
        f"tc_{token_id}_{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}",  # one character off
        f"tc_{token_id}_{secret[:-8]}",  # cut short
        f"tc_{token_id}_{secret}x",  # one more
        f"tc_{other_id}_{secret}",  # the secret under another token's id
        f"tc_000000000000_{secret}",  # an id nobody has
        f"TC_{token_id}_{secret}",
        f"tc_{token_id}",
        f"tc_{token_id}_",
        f"tc__{secret}",
        "tc_",
        f"{token_id}_{secret}",
        f"tc_{token_id}_{secret}" + "A" * 10_000,
        f"tc_{token_id}_{'é' * 43}",
        f"tc_{token_id}_' OR '1'='1",
        f"tc_' OR '1'='1_{secret}",
    ]
    messages = set()
    for value in forged:
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {value}".encode()})
        no_trace(response)
        assert response.status_code == 401, (value[:60], response.text[:200])
        messages.add(response.json()["error"]["message"])
    assert len(messages) == 1, messages
    assert client.get("/api/v1/me", headers=auth(real)).status_code == 200


def test_the_secret_is_compared_in_constant_time() -> None:
    """The check compares digests with compare_digest, never with ==."""
    source = inspect.getsource(_users.check_token)
    assert "compare_digest(" in source
    assert 'm["token_hash"] ==' not in source
    assert "digest(secret)" in source
