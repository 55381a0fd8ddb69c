"""Alerts: the brand's dashboard of what the rules raised, and acknowledgement by link.

`/alerts` and `/alerts/{id}` are for brand users (a provider user gets 404, as for the API):
the alerts still open or acknowledged, the last resolved ones, and one alert's history. An
admin acknowledges an open alert with a button (a form with the session's CSRF token).

`/alerts/{id}/ack?token=...` is the link sent with each notification. It needs no login:
the token is the credential (only its SHA-256 is stored). The link shows a confirmation
page with the alert's subject and a button; only the POST of that button acknowledges, so a
mail scanner or a chat's link preview that fetches the link acknowledges nothing. A token
that is not one sent for the alert gets a page saying the link is not valid (404), the same
for an alert that does not exist.
"""

from __future__ import annotations

import hmac
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from tallyclerk.alerts._repository import (
    TOKEN_BY,
    Alert,
    AlertEvent,
    acknowledge_alert,
    acknowledge_by_token,
    alert_events,
    count_alerts,
    events_of,
    get_alert,
    list_alerts,
    stored_token_hashes,
    token_hash,
)
from tallyclerk.api import StoreDep
from tallyclerk.api._models import LARGEST_ID
from tallyclerk.api.routes.alerts import brand_alert, brand_only
from tallyclerk.contracts._repository import stored_contracts
from tallyclerk.errors import InputError
from tallyclerk.web._common import PAGE_SIZE, ViewerDep, local_path, redirect, render

router = APIRouter(include_in_schema=False)

RESOLVED_SHOWN = 50  # the resolved alerts listed under the active ones
MAX_TOKEN = 200  # longer than any token sent; a longer one is not looked up

AlertId = Annotated[int, Path(ge=1, le=LARGEST_ID)]
# The link page must not leak its token (Referer) nor be indexed or kept by a proxy.
_LINK_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}


def told_of(events: list[AlertEvent]) -> list[str]:
    """The contacts a message of the alert reached, in the order they were first told (an
    escalation whose sends all failed reached nobody)."""
    told = (e.contact for e in events if e.event == "notified" and e.contact)
    return list(dict.fromkeys(told))


# -- the dashboard -------------------------------------------------------------------------------


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    viewer: ViewerDep,
    provider: str | None = None,
    offset: int = Query(0, ge=0, le=10**9),
) -> HTMLResponse:
    """Open and acknowledged alerts (open pages first), then the last resolved ones."""
    brand_only(viewer.scope)
    providers = viewer.scope.providers(provider or None)
    active_statuses = ["open", "acknowledged"]
    with viewer.store.connect() as connection:
        active = list_alerts(
            connection,
            statuses=active_statuses,
            providers=providers,
            limit=PAGE_SIZE,
            offset=offset,
        )
        active_total = count_alerts(connection, statuses=active_statuses, providers=providers)
        resolved = list_alerts(
            connection, statuses=["resolved"], providers=providers, limit=RESOLVED_SHOWN
        )
        resolved_total = count_alerts(connection, statuses=["resolved"], providers=providers)
        events = events_of(connection, [a.alert_id for a in active])
        choices = sorted({c.provider_id for c in stored_contracts(connection)})
    return viewer.render(
        "alerts.html",
        active=active,
        active_total=active_total,
        resolved=resolved,
        resolved_total=resolved_total,
        told={alert_id: told_of(found) for alert_id, found in events.items()},
        offset=offset,
        page_size=PAGE_SIZE,
        providers=choices,
        chosen_provider=provider or "",
    )


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(viewer: ViewerDep, alert_id: AlertId) -> HTMLResponse:
    """One alert: what was found, its figures, who was told, and every step."""
    with viewer.store.connect() as connection:
        alert = brand_alert(connection, viewer.scope, alert_id)
        events = alert_events(connection, alert_id)
    return viewer.render("alert.html", a=alert, events=events, told=told_of(events))


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(
    viewer: ViewerDep, alert_id: AlertId, next: Annotated[str, Form()] = ""
) -> Response:
    """An admin takes the alert on (the button on the list and on the alert's page)."""
    brand_only(viewer.scope)
    viewer.scope.require_admin()
    with viewer.store.begin() as connection:
        acknowledge_alert(connection, alert_id, by=viewer.principal.user_id)
    return redirect(viewer.request, local_path(next, f"/alerts/{alert_id}"))


# -- the link in a notification ------------------------------------------------------------------


def _token_fits(connection: sa.Connection, alert_id: int, token: str) -> bool:
    """Whether `token` is one of those sent for the alert (compared as digests)."""
    if not token or len(token) > MAX_TOKEN:
        return False
    stored = stored_token_hashes(connection, alert_id)
    if not stored:
        return False
    given = token_hash(token)
    matched = False
    for digest in stored.split():
        matched |= hmac.compare_digest(given, digest)
    return matched


def _link_page(
    request: Request, state: str, alert: Alert | None = None, token: str = "", status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "alert_ack.html",
        {"state": state, "a": alert, "token": token, "by_link": TOKEN_BY},
        status=status,
        headers=_LINK_HEADERS,
    )


@router.get("/alerts/{alert_id}/ack", response_class=HTMLResponse)
def ack_link(
    request: Request, opened: StoreDep, alert_id: AlertId, token: str = ""
) -> HTMLResponse:
    """The link of a notification: a page to confirm; nothing is acknowledged yet."""
    with opened.connect() as connection:
        if not _token_fits(connection, alert_id, token):
            return _link_page(request, "invalid", status=404)
        alert = get_alert(connection, alert_id)  # it exists: its digests were found
    if alert.status != "open":
        return _link_page(request, alert.status, alert)
    return _link_page(request, "confirm", alert, token)


@router.post("/alerts/{alert_id}/ack", response_class=HTMLResponse)
def ack_by_link(
    request: Request,
    opened: StoreDep,
    alert_id: AlertId,
    token: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """The confirmation's button: acknowledge with the link's token (recorded as `link`)."""
    with opened.begin() as connection:
        if not _token_fits(connection, alert_id, token):
            return _link_page(request, "invalid", status=404)
        before = get_alert(connection, alert_id)  # it exists: its digests were found
        if before.status == "resolved":
            return _link_page(request, "resolved", before)
        try:
            alert = acknowledge_by_token(connection, alert_id, token)
        except InputError:
            return _link_page(request, "invalid", status=404)
    return _link_page(request, "done" if before.status == "open" else alert.status, alert)
