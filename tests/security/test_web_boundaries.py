"""Role boundaries of the dashboard: pages, HTMX fragments, downloads and forms.

PAGES holds, for every page of the dashboard (read from the app: a new one without a row
fails test_every_page_and_form_has_a_row), what eastbridge's user asks of it: its own
records (shown, with nothing of westcoast's in them) and westcoast's or the brand's (404 as
if absent, 403 for a brand page). FORMS holds what that user posts, with a valid CSRF token,
to every form that changes something, naming westcoast's or the brand's records: refused,
and every table of the store as it was. The analyst posts the same and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import PROVIDERS
from tests.api.test_isolation import Records, api_routes
from tests.security.conftest import changed, log_in, no_trace, snapshot

OWN, OTHER = PROVIDERS
WEEK = "2026-W10"
OK, GONE, FORBIDDEN = frozenset({200}), frozenset({404}), frozenset({403})
REFUSED = FORBIDDEN | GONE
# Forms that are not a signed-in user's: the login form (its own token) and an alert's
# acknowledgement link (the link's token is the credential); test_sessions and
# tests/api/test_alerts_api.py walk them.
NOT_SESSION_FORMS = {"/login", "/logout", "/alerts/{alert_id}/ack"}


@dataclass(frozen=True)
class Page:
    """A page request and the statuses it may get."""

    url: str
    statuses: frozenset[int]


@dataclass(frozen=True)
class Form:
    """A form post (without its CSRF token) and the statuses it may get."""

    url: str
    data: dict[str, str]
    statuses: frozenset[int] = REFUSED


def _pages(records: dict[str | None, Records]) -> dict[str, list[Page]]:
    mine, theirs = records[OWN], records[OTHER]
    return {
        "/": [Page("/", OK), Page("/?period=2026-02", OK)],
        "/providers/{provider_id}": [
            Page(f"/providers/{OWN}", OK),
            Page(f"/providers/{OTHER}", GONE),
            Page(f"/providers/{OTHER}?period=2026-02", GONE),
        ],
        "/providers/{provider_id}/kpis/{metric}": [
            Page(f"/providers/{OTHER}/kpis/ship_on_time_rate?period=2026-02", GONE),
        ],
        "/providers/{provider_id}/forecast": [
            Page(f"/providers/{OWN}/forecast", OK),
            Page(f"/providers/{OTHER}/forecast", GONE),
        ],
        "/findings": [
            Page("/findings?status=all", OK),
            Page(f"/findings?provider={OTHER}", GONE),
        ],
        "/inventory": [Page("/inventory", OK), Page(f"/inventory?provider={OTHER}", GONE)],
        "/invoices": [Page(f"/invoices?provider={OTHER}", GONE)],
        "/health": [Page("/health", FORBIDDEN)],
        "/disputes": [Page("/disputes", OK), Page(f"/disputes?provider={OTHER}", GONE)],
        "/disputes/{dispute_id}": [
            Page(f"/disputes/{mine.disputes[0]}", OK),
            Page(f"/disputes/{theirs.disputes[0]}", GONE),
        ],
        "/vetting": [Page("/vetting", GONE), Page("/vetting?report_id=1", GONE)],
        "/reviews": [Page(f"/reviews?week={WEEK}", OK)],
        "/providers/{provider_id}/review": [
            Page(f"/providers/{OTHER}/review?week={WEEK}", GONE),
            Page(f"/providers/{OTHER}/review?week={WEEK}&audience=brand", GONE),
        ],
        "/providers/{provider_id}/review.pdf": [
            Page(f"/providers/{OTHER}/review.pdf?week={WEEK}", GONE),
        ],
        "/providers/{provider_id}/review.html": [
            Page(f"/providers/{OTHER}/review.html?week={WEEK}", GONE),
        ],
        "/actions": [Page("/actions?status=all", OK), Page(f"/actions?provider={OTHER}", GONE)],
        "/actions/panel": [
            Page(f"/actions/panel?provider={OWN}&week={WEEK}", OK),
            Page(f"/actions/panel?provider={OTHER}&week={WEEK}", GONE),
        ],
        "/alerts": [Page("/alerts", GONE), Page(f"/alerts?provider={OWN}", GONE)],
        "/alerts/{alert_id}": [Page("/alerts/1", GONE)],
        "/alerts/{alert_id}/ack": [Page("/alerts/1/ack?token=guess", GONE)],
        "/login": [Page("/login", frozenset({303}))],
    }


def _forms(records: dict[str | None, Records]) -> dict[str, list[Form]]:
    theirs, brand = records[OTHER], records[None]
    findings = [*theirs.findings[:1], *brand.findings[:1]]
    dispute, action = theirs.disputes[0], theirs.actions[0]
    breach = {"provider_id": OTHER, "metric": "ship_on_time_rate", "period": "2026-02"}
    return {
        "/findings/{finding_id}/acknowledge": [
            Form(f"/findings/{f}/acknowledge", {}) for f in findings
        ],
        "/findings/{finding_id}/resolve": [
            Form(f"/findings/{f}/resolve", {"resolution": "gone"}) for f in findings
        ],
        "/findings/{finding_id}/dispute": [
            Form(f"/findings/{f}/dispute", {"note": "evil"}) for f in findings
        ],
        "/health/replay": [
            Form("/health/replay", {}),
            Form("/health/replay", {"batch_id": str(brand.batches[0])}),
        ],
        "/disputes": [Form("/disputes", {"provider_id": OTHER, "subject": "evil"})],
        "/disputes/from-breach": [Form("/disputes/from-breach", breach)],
        "/disputes/{dispute_id}/answer": [
            Form(f"/disputes/{dispute}/answer", {"answer": "accept"})
        ],
        "/disputes/{dispute_id}/resolve": [
            Form(f"/disputes/{dispute}/resolve", {"resolution": "withdrawn"})
        ],
        "/disputes/{dispute_id}/comment": [Form(f"/disputes/{dispute}/comment", {"note": "x"})],
        "/actions": [Form("/actions", {"provider_id": OTHER, "title": "evil", "owner": "x"}, GONE)],
        "/actions/{action_id}/done": [Form(f"/actions/{action}/done", {"note": "evil"})],
        "/actions/{action_id}/update": [
            Form(f"/actions/{action}/update", {"status": "dropped", "note": "evil"})
        ],
        "/alerts/{alert_id}/acknowledge": [Form("/alerts/1/acknowledge", {})],
    }


def web_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) of the dashboard."""
    found = {
        (method, route.path)
        for route in api_routes(app.routes)
        if route.endpoint.__module__.startswith("tallyclerk.web.")
        for method in route.methods - {"HEAD"}
    }
    assert len(found) > 30, "the dashboard's routes were not found"
    return found


def test_every_page_and_form_has_a_row(
    api_app: FastAPI, records: dict[str | None, Records]
) -> None:
    pages = {("GET", route) for route in _pages(records)}
    forms = {("POST", route) for route in (*_forms(records), *NOT_SESSION_FORMS)}
    routes = web_routes(api_app)
    assert routes - (pages | forms) == set(), "dashboard routes without probes"
    assert (pages | forms) - routes == set(), "probes of routes that no longer exist"


def _leaks(response: Any, records: dict[str | None, Records]) -> list[str]:
    """westcoast's name or facilities in an answer (an error may repeat the name asked for)."""
    names = records[OTHER].facilities + ([OTHER] if response.status_code < 400 else [])
    return [name for name in names if name in response.text]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_provider_user_sees_nothing_of_others(
    htmx: bool, client: TestClient, records: dict[str | None, Records]
) -> None:
    """Every page, and the same asked by HTMX (a fragment, or the error in a flash)."""
    log_in(client, OWN)
    headers = {"HX-Request": "true"} if htmx else {}
    problems = []
    for route, pages in sorted(_pages(records).items()):
        for page in pages:
            if htmx and (page.statuses == OK and route != "/actions/panel"):
                continue  # a whole page asked by HTMX is the same page: read once
            response = client.get(page.url, headers=headers, follow_redirects=False)
            no_trace(response)
            if response.status_code not in page.statuses:
                problems.append(f"{page.url}: {response.status_code} {response.text[:150]}")
            elif _leaks(response, records):
                problems.append(f"{page.url} shows {_leaks(response, records)}")
    assert not problems, "\n".join(problems)


def _post(client: TestClient, form: Form, token: str) -> Any:
    return client.post(form.url, data={**form.data, "csrf_token": token}, follow_redirects=False)


@pytest.mark.parametrize(
    ("role", "statuses"), [(OWN, None), ("analyst", FORBIDDEN)], ids=["provider", "analyst"]
)
def test_forms_change_nothing_of_others(
    role: str,
    statuses: frozenset[int] | None,
    client: TestClient,
    api_store: str,
    records: dict[str | None, Records],
) -> None:
    token = log_in(client, role)
    before = snapshot(api_store)
    problems = []
    for forms in _forms(records).values():
        for form in forms:
            response = _post(client, form, token)
            no_trace(response)
            allowed = statuses or form.statuses
            if response.status_code not in allowed:
                problems.append(f"{form.url}: {response.status_code} {response.text[:150]}")
            elif role == OWN and _leaks(response, records):
                problems.append(f"{form.url} shows {_leaks(response, records)}")
    assert not problems, "\n".join(problems)
    assert changed(before, snapshot(api_store)) == []
    # The same user's own step goes through: the refusals were about whose records.
    if role == OWN:
        own = Form(f"/disputes/{records[OWN].disputes[0]}/comment", {"note": "ours"})
        assert _post(client, own, token).status_code == 303
        assert changed(before, snapshot(api_store)) == ["dispute_events: 2 -> 3 rows"]
