"""Users and API tokens through the API: add, list, disable, issue and revoke tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.api.conftest import USERS, auth


def _admin(tokens: dict[str, str]) -> dict[str, str]:
    return auth(tokens["admin"])


def test_users_are_listed_without_secrets(api_client: TestClient, tokens: dict[str, str]) -> None:
    page = api_client.get("/api/v1/users", headers=_admin(tokens)).json()
    listed = {u["user_id"]: u for u in page["items"]}
    assert {user for user, _, _ in USERS.values()} <= set(listed)
    assert listed["wes"]["role"] == "provider"
    assert listed["wes"]["provider_id"] == "westcoast"
    assert listed["ana"]["has_password"] is True
    assert "password" not in str(page).replace("has_password", "")
    assert page["total"] == len(page["items"])


def test_a_provider_user_is_added_and_can_read_its_own_scorecards(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    admin = _admin(tokens)
    created = api_client.post(
        "/api/v1/users",
        headers=admin,
        json={"user_id": "ed", "role": "provider", "provider_id": "eastbridge"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["has_password"] is False
    issued = api_client.post("/api/v1/users/ed/tokens", headers=admin, json={"name": "ed's"})
    assert issued.status_code == 201, issued.text
    secret = issued.json()["secret"]
    assert secret.startswith(f"tc_{issued.json()['token']['token_id']}_")
    me = api_client.get("/api/v1/me", headers=auth(secret)).json()
    assert me == {"user_id": "ed", "role": "provider", "provider_id": "eastbridge"}
    cards = api_client.get("/api/v1/scorecards", headers=auth(secret)).json()["items"]
    assert {c["provider_id"] for c in cards} == {"eastbridge"}


def test_bad_users_are_refused(api_client: TestClient, tokens: dict[str, str]) -> None:
    admin = _admin(tokens)
    cases = [
        ({"user_id": "ana", "role": "analyst"}, 400, "exists already"),
        ({"user_id": "p1", "role": "provider"}, 400, "needs"),
        ({"user_id": "p2", "role": "provider", "provider_id": "nowhere"}, 400, "no provider"),
        ({"user_id": "a1", "role": "analyst", "provider_id": "westcoast"}, 400, "brand user"),
        ({"user_id": "a2", "role": "owner"}, 422, "role"),
        ({"user_id": "a3", "role": "analyst", "password": "short"}, 422, "password"),
    ]
    for body, status, words in cases:
        response = api_client.post("/api/v1/users", headers=admin, json=body)
        assert response.status_code == status, (body, response.text)
        assert words in response.json()["error"]["message"], response.text


def test_a_revoked_token_stops_working_at_once(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    admin = _admin(tokens)
    issued = api_client.post("/api/v1/users/otto/tokens", headers=admin, json={}).json()
    secret, token_id = issued["secret"], issued["token"]["token_id"]
    assert api_client.get("/api/v1/scorecards", headers=auth(secret)).status_code == 200
    revoked = api_client.delete(f"/api/v1/tokens/{token_id}", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    refused = api_client.get("/api/v1/scorecards", headers=auth(secret))
    assert refused.status_code == 401
    assert refused.json()["error"]["message"]
    # the other tokens of the user still work; the revoked one stays listed
    assert api_client.get("/api/v1/me", headers=auth(tokens["analyst"])).status_code == 200
    listed = api_client.get("/api/v1/tokens?user=otto", headers=admin).json()["items"]
    assert {t["token_id"] for t in listed if t["revoked_at"]} == {token_id}
    assert all(t["user_id"] == "otto" for t in listed)
    assert api_client.delete("/api/v1/tokens/abcdef", headers=admin).status_code == 404


def test_a_disabled_user_is_locked_out(api_client: TestClient, tokens: dict[str, str]) -> None:
    admin = _admin(tokens)
    api_client.post("/api/v1/users", headers=admin, json={"user_id": "tmp", "role": "analyst"})
    secret = api_client.post("/api/v1/users/tmp/tokens", headers=admin).json()["secret"]
    assert api_client.get("/api/v1/kpis", headers=auth(secret)).status_code == 200
    disabled = api_client.post("/api/v1/users/tmp/disable", headers=admin)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled_at"] is not None
    assert api_client.get("/api/v1/kpis", headers=auth(secret)).status_code == 401
    again = api_client.post("/api/v1/users/tmp/tokens", headers=admin)
    assert again.status_code == 400
    assert api_client.post("/api/v1/users/nobody/disable", headers=admin).status_code == 404
    myself = api_client.post("/api/v1/users/ana/disable", headers=admin)
    assert myself.status_code == 400
    assert "yourself" in myself.json()["error"]["message"]


def test_an_expiring_token(api_client: TestClient, tokens: dict[str, str]) -> None:
    admin = _admin(tokens)
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    issued = api_client.post(
        "/api/v1/users/otto/tokens", headers=admin, json={"name": "brief", "expires_at": soon}
    )
    assert issued.status_code == 201, issued.text
    assert issued.json()["token"]["expires_at"] is not None
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    refused = api_client.post("/api/v1/users/otto/tokens", headers=admin, json={"expires_at": past})
    assert refused.status_code == 400


def test_users_pages(api_client: TestClient, tokens: dict[str, str]) -> None:
    admin = _admin(tokens)
    everyone = api_client.get("/api/v1/users?limit=500", headers=admin).json()
    first = api_client.get("/api/v1/users?limit=2", headers=admin).json()
    second = api_client.get("/api/v1/users?limit=2&offset=2", headers=admin).json()
    assert first["total"] == everyone["total"] >= 4
    assert first["next_offset"] == 2
    assert [u["user_id"] for u in first["items"] + second["items"]] == [
        u["user_id"] for u in everyone["items"][:4]
    ]
    assert api_client.get("/api/v1/users?limit=0", headers=admin).status_code == 422
