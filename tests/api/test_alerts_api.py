"""Alerts through the service: the API per role, the dashboard pages, the acknowledgement link.

Five alerts are kept in the module's store (tests/api/conftest.py's simulated quarter) by
the repository, as a run of the rules would keep them; a test that changes an alert works
on one of its own, removed afterwards, so the five stay as they are:

    label     cause                                 severity provider   status        opened
    stuck     stuck:eastbridge                      page     eastbridge open          T - 3 h
    silent    silent:westcoast                      warn     westcoast  open          T - 2 h
    store     silent:store                          warn     -          acknowledged  T - 5 h
    burn      burn:westcoast:ship_on_time_rate:...  page     westcoast  resolved      T - 30 h
    dispute   dispute-due:DSP-000001                warn     eastbridge resolved      T - 50 h

Listed, open pages come first, then the newest: stuck, silent, store, burn, dispute.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tallyclerk.alerts._repository import (
    get_alert,
    insert_alert,
    new_token,
    record_event,
    update_alert,
)
from tallyclerk.store import Store
from tallyclerk.store.schema import alert_events, alerts
from tests.api.conftest import AS_OF, USERS, auth
from tests.api.test_web_pages import as_user, csrf_of

T = AS_OF
ADMIN = USERS["admin"][0]
ORDER = ["stuck", "silent", "store", "burn", "dispute"]


@dataclass(frozen=True)
class Kept:
    """An alert the test put in the store, and the token of its acknowledgement link."""

    alert_id: int
    token: str
    subject: str
    message: str


def _keep(
    opened: Store,
    *,
    cause: str,
    severity: str,
    provider_id: str | None,
    opened_at: datetime,
    status: str = "open",
    told: tuple[str, ...] = (),
    unreached: tuple[str, ...] = (),
    **values: Any,
) -> Kept:
    rule = cause.split(":", 1)[0]
    token, digest = new_token()
    subject = f"{provider_id or 'store'}: {rule} ({cause})"
    message = f"The figures of {cause}: 14 orders, the oldest ORD-1 (secret detail)."
    with opened.begin() as connection:
        alert_id = insert_alert(
            connection,
            cause=cause,
            rule=rule,
            kind={"stuck": "stuck_orders", "silent": "source_silent", "burn": "burn_rate"}.get(
                rule, "dispute_deadline"
            ),
            severity=severity,
            provider_id=provider_id,
            subject=subject,
            message=message,
            link=f"/providers/{provider_id}" if provider_id else "/health",
            details={"count": 14, "sample_ids": ["ORD-1", "ORD-2"]},
            token_digest=digest,
            at=opened_at,
        )
        # As a run records them: the first contact notified; then each escalation, and the
        # contact it reached notified (or, for `unreached`, the send failed).
        for level, contact in enumerate((*told, *unreached)):
            at = opened_at + timedelta(minutes=61 * level)
            if level > 0:
                record_event(
                    connection,
                    alert_id,
                    "escalated",
                    at=at,
                    contact=contact,
                    detail=f"level {level}: not acknowledged 61 minutes after it was sent",
                )
            reached = level < len(told)
            record_event(
                connection,
                alert_id,
                "notified" if reached else "failed",
                at=at,
                contact=contact,
                channel="email",
                detail=f"sent to {contact}@brand.example" if reached else "connection refused",
            )
            update_alert(connection, alert_id, level=level, notified_at=at if reached else None)
        if status != "open" or values:
            update_alert(connection, alert_id, status=status, **values)
    return Kept(alert_id, token, subject, message)


def _forget(opened: Store, alert_id: int) -> None:
    with opened.begin() as connection:
        connection.execute(sa.delete(alert_events).where(alert_events.c.alert_id == alert_id))
        connection.execute(sa.delete(alerts).where(alerts.c.alert_id == alert_id))


@pytest.fixture(scope="module")
def kept(api_app: FastAPI, api_client: TestClient) -> dict[str, Kept]:
    """The five alerts of the module docstring, by label."""
    with api_app.state.tc.gate.store() as opened:
        return {
            "stuck": _keep(
                opened,
                cause="stuck:eastbridge",
                severity="page",
                provider_id="eastbridge",
                opened_at=T - timedelta(hours=3),
                told=("liaison", "ops-lead"),
            ),
            "silent": _keep(
                opened,
                cause="silent:westcoast",
                severity="warn",
                provider_id="westcoast",
                opened_at=T - timedelta(hours=2),
                told=("liaison",),
                unreached=("ops-lead",),
            ),
            "store": _keep(
                opened,
                cause="silent:store",
                severity="warn",
                provider_id=None,
                opened_at=T - timedelta(hours=5),
                status="acknowledged",
                acknowledged_at=T - timedelta(hours=4),
                acknowledged_by=ADMIN,
            ),
            "burn": _keep(
                opened,
                cause="burn:westcoast:ship_on_time_rate:2026-03",
                severity="page",
                provider_id="westcoast",
                opened_at=T - timedelta(hours=30),
                status="resolved",
                resolved_at=T - timedelta(hours=20),
            ),
            "dispute": _keep(
                opened,
                cause="dispute-due:DSP-000001",
                severity="warn",
                provider_id="eastbridge",
                opened_at=T - timedelta(hours=50),
                status="resolved",
                resolved_at=T - timedelta(hours=49),
            ),
        }


@pytest.fixture
def fresh(api_app: FastAPI, kept: dict[str, Kept]) -> Iterator[Kept]:
    """An open alert of this test alone (removed after it)."""
    with api_app.state.tc.gate.store() as opened:
        mine = _keep(
            opened,
            cause="no-scan:westcoast",
            severity="warn",
            provider_id="westcoast",
            opened_at=T - timedelta(hours=1),
            told=("liaison",),
        )
    yield mine
    with api_app.state.tc.gate.store() as opened:
        _forget(opened, mine.alert_id)


@pytest.fixture
def client(api_client: TestClient) -> Iterator[TestClient]:
    """The module's client with no cookies left from another test."""
    api_client.cookies.clear()
    yield api_client
    api_client.cookies.clear()


def _ids(kept: dict[str, Kept], labels: list[str]) -> list[int]:
    return [kept[label].alert_id for label in labels]


def _listed(client: TestClient, token: str, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/v1/alerts{query}", headers=auth(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _stored(api_app: FastAPI, alert_id: int) -> Any:
    with api_app.state.tc.gate.store() as opened, opened.connect() as connection:
        return get_alert(connection, alert_id)


# -- the API -------------------------------------------------------------------------------------


def test_admin_and_analyst_list_every_alert_open_pages_first(
    client: TestClient, tokens: dict[str, str], kept: dict[str, Kept]
) -> None:
    for role in ("admin", "analyst"):
        page = _listed(client, tokens[role])
        assert page["total"] == 5
        assert [a["alert_id"] for a in page["items"]] == _ids(kept, ORDER)
        assert page["next_offset"] is None
    first = _listed(client, tokens["admin"])["items"][0]
    assert first["cause"] == "stuck:eastbridge"
    assert first["rule"] == "stuck"
    assert first["kind"] == "stuck_orders"
    assert first["severity"] == "page"
    assert first["provider_id"] == "eastbridge"
    assert first["status"] == "open"
    assert first["level"] == 1  # the second contact of the chain was told last
    assert first["details"] == {"count": 14, "sample_ids": ["ORD-1", "ORD-2"]}
    assert datetime.fromisoformat(first["opened_at"]) == T - timedelta(hours=3)
    assert datetime.fromisoformat(first["notified_at"]) == T - timedelta(minutes=119)
    assert first["acknowledged_by"] is None


def test_the_list_filters_by_status_and_provider(
    client: TestClient, tokens: dict[str, str], kept: dict[str, Kept]
) -> None:
    admin = tokens["admin"]
    cases = {
        "?status=open": ["stuck", "silent"],
        "?status=open&status=acknowledged": ["stuck", "silent", "store"],
        "?status=resolved": ["burn", "dispute"],
        "?provider=westcoast": ["silent", "burn"],
        "?provider=eastbridge&status=resolved": ["dispute"],
        "?provider=nobody": [],
    }
    for query, labels in cases.items():
        page = _listed(client, admin, query)
        assert [a["alert_id"] for a in page["items"]] == _ids(kept, labels), query
        assert page["total"] == len(labels), query
    bad = client.get("/api/v1/alerts?status=closed", headers=auth(admin))
    assert bad.status_code == 422


def test_the_list_is_paginated(
    client: TestClient, tokens: dict[str, str], kept: dict[str, Kept]
) -> None:
    first = _listed(client, tokens["analyst"], "?limit=2")
    assert [a["alert_id"] for a in first["items"]] == _ids(kept, ["stuck", "silent"])
    assert (first["total"], first["limit"], first["offset"], first["next_offset"]) == (5, 2, 0, 2)
    second = _listed(client, tokens["analyst"], "?limit=2&offset=2")
    assert [a["alert_id"] for a in second["items"]] == _ids(kept, ["store", "burn"])
    assert second["next_offset"] == 4
    last = _listed(client, tokens["analyst"], "?limit=2&offset=4")
    assert [a["alert_id"] for a in last["items"]] == _ids(kept, ["dispute"])
    assert last["next_offset"] is None
    assert _listed(client, tokens["analyst"], "?offset=9")["items"] == []


def test_one_alert_carries_its_events(
    client: TestClient, tokens: dict[str, str], kept: dict[str, Kept]
) -> None:
    stuck = kept["stuck"]
    response = client.get(f"/api/v1/alerts/{stuck.alert_id}", headers=auth(tokens["analyst"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["alert_id"] == stuck.alert_id
    assert body["subject"] == stuck.subject
    assert body["message"] == stuck.message
    assert body["link"] == "/providers/eastbridge"
    events = [(e["event"], e["contact"], e["channel"]) for e in body["events"]]
    assert events == [
        ("opened", None, None),
        ("notified", "liaison", "email"),
        ("escalated", "ops-lead", None),
        ("notified", "ops-lead", "email"),
    ]
    times = [datetime.fromisoformat(e["happened_at"]) for e in body["events"]]
    assert times == [T - timedelta(hours=3)] * 2 + [T - timedelta(minutes=119)] * 2
    assert "ack_token_hash" not in body
    assert "token" not in str(body)


def test_an_unknown_alert_is_not_found(client: TestClient, tokens: dict[str, str]) -> None:
    admin = auth(tokens["admin"])
    assert client.get("/api/v1/alerts/987654", headers=admin).status_code == 404
    assert client.post("/api/v1/alerts/987654/ack", headers=admin).status_code == 404
    assert client.get("/api/v1/alerts/0", headers=admin).status_code == 422
    assert client.get("/api/v1/alerts/x", headers=admin).status_code == 422


@pytest.mark.parametrize("provider", ["eastbridge", "westcoast"])
def test_a_provider_user_finds_no_alerts_at_all(
    client: TestClient, tokens: dict[str, str], kept: dict[str, Kept], provider: str
) -> None:
    token = auth(tokens[provider])
    own = kept["stuck"] if provider == "eastbridge" else kept["silent"]
    for path in (
        "/api/v1/alerts",
        f"/api/v1/alerts?provider={provider}",
        "/api/v1/alerts?status=open",
        f"/api/v1/alerts/{own.alert_id}",
        f"/api/v1/alerts/{kept['store'].alert_id}",
        "/api/v1/alerts/987654",
    ):
        response = client.get(path, headers=token)
        assert response.status_code == 404, path
        assert response.json()["error"]["message"] == "Not Found", path
    ack = client.post(f"/api/v1/alerts/{own.alert_id}/ack", headers=token)
    assert ack.status_code == 404
    assert client.get("/api/v1/alerts").status_code == 401  # and nobody without a token


def test_an_analyst_may_not_acknowledge(
    client: TestClient, tokens: dict[str, str], api_app: FastAPI, fresh: Kept
) -> None:
    response = client.post(f"/api/v1/alerts/{fresh.alert_id}/ack", headers=auth(tokens["analyst"]))
    assert response.status_code == 403
    assert "admin" in response.json()["error"]["message"]
    assert _stored(api_app, fresh.alert_id).status == "open"


def test_an_admin_acknowledges(
    client: TestClient, tokens: dict[str, str], api_app: FastAPI, fresh: Kept
) -> None:
    admin = auth(tokens["admin"])
    response = client.post(f"/api/v1/alerts/{fresh.alert_id}/ack", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == ADMIN
    acknowledged_at = body["acknowledged_at"]
    stored = _stored(api_app, fresh.alert_id)
    assert (stored.status, stored.acknowledged_by) == ("acknowledged", ADMIN)
    events = client.get(f"/api/v1/alerts/{fresh.alert_id}", headers=admin).json()["events"]
    assert [e["event"] for e in events] == ["opened", "notified", "acknowledged"]
    assert events[-1]["detail"] == f"by {ADMIN}"
    # Again: nothing changes, the first acknowledgement stands.
    again = client.post(f"/api/v1/alerts/{fresh.alert_id}/ack", headers=admin)
    assert again.status_code == 200
    assert again.json()["acknowledged_at"] == acknowledged_at


def test_a_resolved_alert_cannot_be_acknowledged(
    client: TestClient, tokens: dict[str, str], kept: dict[str, Kept], api_app: FastAPI
) -> None:
    burn = kept["burn"]
    response = client.post(f"/api/v1/alerts/{burn.alert_id}/ack", headers=auth(tokens["admin"]))
    assert response.status_code == 400
    assert "resolved" in response.json()["error"]["message"]
    assert _stored(api_app, burn.alert_id).acknowledged_at is None


def test_the_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/api/v1/alerts"]) == {"get"}
    assert set(paths["/api/v1/alerts/{alert_id}"]) == {"get"}
    assert set(paths["/api/v1/alerts/{alert_id}/ack"]) == {"post"}
    assert paths["/api/v1/alerts"]["get"]["tags"] == ["alerts"]
    # The dashboard's pages and the link's page are not part of the API.
    assert not any(p.startswith("/alerts") for p in paths)


# -- the acknowledgement link --------------------------------------------------------------------

_HIDDEN_TOKEN = re.compile(r'<input type="hidden" name="token" value="([^"]*)">')


def _link(kept: Kept, token: str | None = None) -> str:
    return f"/alerts/{kept.alert_id}/ack?token={kept.token if token is None else token}"


def test_the_link_asks_first_and_acknowledges_nothing(
    client: TestClient, api_app: FastAPI, fresh: Kept
) -> None:
    page = client.get(_link(fresh), follow_redirects=False)
    assert page.status_code == 200, page.text
    assert 'data-ack-state="confirm"' in page.text
    assert fresh.subject in page.text
    assert fresh.message not in page.text  # the subject only: no figures, no details
    assert "ORD-2" not in page.text
    assert f'<form method="post" action="/alerts/{fresh.alert_id}/ack"' in page.text
    found = _HIDDEN_TOKEN.search(page.text)
    assert found is not None
    assert found.group(1) == fresh.token
    assert 'name="csrf_token"' not in page.text  # the token is the credential
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    # Fetched twice (a link preview, a mail scanner): still open.
    client.get(_link(fresh))
    assert _stored(api_app, fresh.alert_id).status == "open"


def test_the_links_button_acknowledges_without_a_login(
    client: TestClient, api_app: FastAPI, fresh: Kept
) -> None:
    assert not client.cookies
    done = client.post(f"/alerts/{fresh.alert_id}/ack", data={"token": fresh.token})
    assert done.status_code == 200, done.text
    assert 'data-ack-state="done"' in done.text
    assert "<h1>Acknowledged</h1>" in done.text
    stored = _stored(api_app, fresh.alert_id)
    assert (stored.status, stored.acknowledged_by) == ("acknowledged", "link")
    # The same link afterwards says so, and a second press changes nothing.
    again = client.get(_link(fresh))
    assert 'data-ack-state="acknowledged"' in again.text
    pressed = client.post(f"/alerts/{fresh.alert_id}/ack", data={"token": fresh.token})
    assert 'data-ack-state="acknowledged"' in pressed.text
    assert _stored(api_app, fresh.alert_id).acknowledged_at == stored.acknowledged_at


def test_a_wrong_token_is_refused(
    client: TestClient, api_app: FastAPI, kept: dict[str, Kept], fresh: Kept
) -> None:
    other = kept["silent"].token  # a real token, of another alert
    for token in ("", "not-the-token", other, fresh.token + "x", "x" * 5000):
        page = client.get(_link(fresh, token))
        assert page.status_code == 404, token
        assert 'data-ack-state="invalid"' in page.text
        assert "This link is not valid" in page.text
        assert fresh.subject not in page.text
        posted = client.post(f"/alerts/{fresh.alert_id}/ack", data={"token": token})
        assert posted.status_code == 404, token
        assert 'data-ack-state="invalid"' in posted.text
    assert client.post(f"/alerts/{fresh.alert_id}/ack").status_code == 404
    unknown = client.get(f"/alerts/987654/ack?token={fresh.token}")
    assert unknown.status_code == 404
    assert 'data-ack-state="invalid"' in unknown.text
    assert "Traceback" not in unknown.text
    assert _stored(api_app, fresh.alert_id).status == "open"


def test_the_link_of_a_resolved_alert_says_so(
    client: TestClient, api_app: FastAPI, kept: dict[str, Kept]
) -> None:
    burn = kept["burn"]
    page = client.get(_link(burn))
    assert page.status_code == 200
    assert 'data-ack-state="resolved"' in page.text
    posted = client.post(f"/alerts/{burn.alert_id}/ack", data={"token": burn.token})
    assert 'data-ack-state="resolved"' in posted.text
    assert _stored(api_app, burn.alert_id).acknowledged_at is None


# -- the dashboard -------------------------------------------------------------------------------


def _rows(page: httpx.Response, section: str) -> list[int]:
    """The alert ids listed in a section of /alerts, in order."""
    start = page.text.index(f'data-section="{section}"')
    end = page.text.find("</section>", start)
    return [int(i) for i in re.findall(r'<tr data-alert="(\d+)"', page.text[start:end])]


def _row(page: httpx.Response, alert_id: int) -> str:
    """The table row of an alert on /alerts."""
    start = page.text.index(f'<tr data-alert="{alert_id}"')
    return page.text[start : page.text.index("</tr>", start)]


def test_the_dashboard_lists_active_alerts_then_resolved_ones(
    client: TestClient, kept: dict[str, Kept]
) -> None:
    as_user(client, ADMIN)
    page = client.get("/alerts")
    assert page.status_code == 200, page.text
    assert _rows(page, "active") == _ids(kept, ["stuck", "silent", "store"])
    assert _rows(page, "resolved") == _ids(kept, ["burn", "dispute"])
    assert kept["stuck"].subject in page.text
    # Who was told, in order, and the level reached (an escalation that failed told nobody).
    stuck, silent = (_row(page, kept[label].alert_id) for label in ("stuck", "silent"))
    assert '<td data-level="1">liaison, ops-lead<br>' in stuck
    assert '<td data-level="1">liaison<br><small class="muted">level 2</small>' in silent
    assert f"by {ADMIN}" in page.text  # who acknowledged the store's alert
    forms = re.findall(r'action="/alerts/(\d+)/acknowledge"', page.text)
    assert [int(f) for f in forms] == _ids(kept, ["stuck", "silent"])  # open ones only
    west = client.get("/alerts?provider=westcoast")
    assert _rows(west, "active") == _ids(kept, ["silent"])
    assert _rows(west, "resolved") == _ids(kept, ["burn"])
    assert 'href="/alerts"' in page.text  # the navigation entry


def test_an_analyst_sees_the_dashboard_without_buttons(
    client: TestClient, kept: dict[str, Kept]
) -> None:
    as_user(client, USERS["analyst"][0])
    page = client.get("/alerts")
    assert page.status_code == 200
    assert _rows(page, "active") == _ids(kept, ["stuck", "silent", "store"])
    assert "/acknowledge" not in page.text
    detail = client.get(f"/alerts/{kept['stuck'].alert_id}")
    assert detail.status_code == 200
    assert "/acknowledge" not in detail.text
    refused = client.post(
        f"/alerts/{kept['stuck'].alert_id}/acknowledge",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert refused.status_code == 403


def test_the_alert_page_shows_its_message_figures_and_history(
    client: TestClient, kept: dict[str, Kept]
) -> None:
    as_user(client, ADMIN)
    stuck = kept["stuck"]
    page = client.get(f"/alerts/{stuck.alert_id}")
    assert page.status_code == 200, page.text
    assert stuck.message in page.text
    assert re.findall(r'<li data-event="(\w+)"', page.text) == [
        "opened",
        "notified",
        "escalated",
        "notified",
    ]
    assert 'data-detail="count">14<' in page.text
    assert 'href="/providers/eastbridge"' in page.text
    assert f'action="/alerts/{stuck.alert_id}/acknowledge"' in page.text
    assert client.get("/alerts/987654").status_code == 404


@pytest.mark.parametrize("provider", ["eastbridge", "westcoast"])
def test_the_dashboard_does_not_exist_for_a_provider(
    client: TestClient, kept: dict[str, Kept], provider: str
) -> None:
    as_user(client, USERS[provider][0])
    home = client.get("/")
    assert 'href="/alerts"' not in home.text
    own = kept["stuck"] if provider == "eastbridge" else kept["silent"]
    for path in ("/alerts", f"/alerts?provider={provider}", f"/alerts/{own.alert_id}"):
        assert client.get(path).status_code == 404, path
    refused = client.post(f"/alerts/{own.alert_id}/acknowledge", data={"csrf_token": csrf_of(home)})
    assert refused.status_code == 404


def test_the_dashboard_needs_a_login(client: TestClient) -> None:
    response = client.get("/alerts", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Falerts"


def test_admin_acknowledges_on_the_dashboard(
    client: TestClient, api_app: FastAPI, fresh: Kept
) -> None:
    as_user(client, ADMIN)
    page = client.get("/alerts")
    assert fresh.alert_id in _rows(page, "active")
    refused = client.post(f"/alerts/{fresh.alert_id}/acknowledge", follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token
    assert _stored(api_app, fresh.alert_id).status == "open"
    done = client.post(
        f"/alerts/{fresh.alert_id}/acknowledge",
        data={"csrf_token": csrf_of(page), "next": "/alerts"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/alerts"
    stored = _stored(api_app, fresh.alert_id)
    assert (stored.status, stored.acknowledged_by) == ("acknowledged", ADMIN)
    after = client.get("/alerts")
    assert fresh.alert_id in _rows(after, "active")
    assert f'action="/alerts/{fresh.alert_id}/acknowledge"' not in after.text
    # Elsewhere than this site, the form goes back to the alert's own page.
    again = client.post(
        f"/alerts/{fresh.alert_id}/acknowledge",
        data={"csrf_token": csrf_of(page), "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert again.headers["location"] == f"/alerts/{fresh.alert_id}"
