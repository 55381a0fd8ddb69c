"""Alerts raised by the rules: the list, one alert with its events, and acknowledgement.

Alerts are the brand's own escalation (who at the brand was told, when, and who took it on),
so only brand users see them: a provider user gets 404 for every path here, as if alerts
did not exist, even when an alert is about its own provider. Analysts read; admins also
acknowledge, which stops the escalation up the chain.

When `TALLYCLERK_ALERTS__RULES_FILE` is set, `startup` starts the scheduler that runs the
rules every `TALLYCLERK_ALERTS__INTERVAL_MINUTES` inside the service (`alerts/_scheduler.py`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Path, Query
from pydantic import BaseModel, ConfigDict

from tallyclerk.access import NotFoundError, Scope
from tallyclerk.alerts._repository import (
    Alert,
    AlertEvent,
    acknowledge_alert,
    alert_events,
    count_alerts,
    get_alert,
    list_alerts,
)
from tallyclerk.alerts._scheduler import AlertScheduler
from tallyclerk.api._deps import PrincipalDep, ScopeDep, ServiceState, StoreDep
from tallyclerk.api._models import LARGEST_ID, ProviderQuery, errors
from tallyclerk.api._pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1", tags=["alerts"])

SCHEDULER = "alert_scheduler"  # the key of the running scheduler in ServiceState.extras
HIDDEN = "Not Found"  # what a provider user is told: the same as for a path that does not exist

Paging = Annotated[PageParams, Depends(page_params)]
AlertIdPath = Annotated[
    int, Path(ge=1, le=LARGEST_ID, description="The alert's id.", examples=[12])
]
StatusQuery = Annotated[
    list[Literal["open", "acknowledged", "resolved"]] | None,
    Query(
        description="Only alerts in these statuses (repeat the parameter for several: "
        "`status=open&status=acknowledged`). Default: every status.",
    ),
]


# -- the service's scheduler ---------------------------------------------------------------------


async def startup(app: FastAPI) -> None:
    """Start the alert scheduler when a rules file is configured (else nothing runs)."""
    state: ServiceState = app.state.tc
    if state.settings.alerts.rules_file is None:
        return
    scheduler = AlertScheduler(state.gate, state.settings)
    state.extras[SCHEDULER] = scheduler
    scheduler.start()


async def shutdown(app: FastAPI) -> None:
    """Stop the scheduler (it finishes the run under way, if any)."""
    state: ServiceState = app.state.tc
    scheduler: AlertScheduler | None = state.extras.pop(SCHEDULER, None)
    if scheduler is not None:
        await asyncio.to_thread(scheduler.stop)


# -- reading -------------------------------------------------------------------------------------


def brand_only(scope: Scope) -> None:
    """Alerts are the brand's: a provider user is told they do not exist (404)."""
    if not scope.principal.is_brand:
        raise NotFoundError(HIDDEN)


def brand_alert(connection: sa.Connection, scope: Scope, alert_id: int) -> Alert:
    """Alert `alert_id` for a brand user; 404 for a provider user or an id never used."""
    brand_only(scope)
    return get_alert(connection, alert_id)


# -- the documents -------------------------------------------------------------------------------


_ALERT_EXAMPLE: dict[str, Any] = {
    "alert_id": 12,
    "cause": "stuck:eastbridge",
    "rule": "stuck",
    "kind": "stuck_orders",
    "severity": "page",
    "provider_id": "eastbridge",
    "subject": "eastbridge: 14 orders stuck past their ship due time",
    "message": "14 orders released to eastbridge are more than 24 hours past their ship due "
    "time and not shipped. The oldest, ORD-10442, was due 2026-03-18 23:59 UTC.",
    "link": "/providers/eastbridge/kpis/ship_on_time_rate",
    "details": {"count": 14, "oldest_order": "ORD-10442"},
    "status": "acknowledged",
    "level": 1,
    "opened_at": "2026-03-20T14:00:00Z",
    "last_seen_at": "2026-03-20T16:00:00Z",
    "notified_at": "2026-03-20T15:00:00Z",
    "acknowledged_at": "2026-03-20T15:12:40Z",
    "acknowledged_by": "ana",
    "resolved_at": None,
}

_EVENT_EXAMPLE: dict[str, Any] = {
    "event_id": 31,
    "happened_at": "2026-03-20T14:00:00Z",
    "event": "notified",
    "contact": "liaison",
    "channel": "email",
    "detail": "sent to dana@brand.example",
}


class AlertEventOut(BaseModel):
    """One step of an alert: opened, updated, notified, escalated, deferred (quiet hours),
    failed (a channel refused it), acknowledged or resolved."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EVENT_EXAMPLE]})

    event_id: int
    happened_at: datetime
    event: str
    contact: str | None  # the contact of the rules file (notified, escalated, failed)
    channel: str | None  # email | webhook:<name>
    detail: str | None

    @classmethod
    def of(cls, event: AlertEvent) -> AlertEventOut:
        """The API form of an alert's event."""
        return cls(
            event_id=event.event_id,
            happened_at=event.happened_at,
            event=event.event,
            contact=event.contact,
            channel=event.channel,
            detail=event.detail,
        )


class AlertOut(BaseModel):
    """An alert: the condition a rule found, kept one open alert per cause, and how far up
    the escalation chain it went."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ALERT_EXAMPLE]})

    alert_id: int
    cause: str  # what it is about, stable across runs: the deduplication key
    rule: str  # the rule's name in the rules file
    kind: str  # the rule's kind: burn_rate, stuck_orders, ...
    severity: str  # warn | page
    provider_id: str | None
    subject: str
    message: str
    link: str | None  # a dashboard path to look at
    details: dict[str, Any]
    status: str  # open | acknowledged | resolved
    level: int  # the index in the escalation chain of the last contact told (0: the first)
    opened_at: datetime
    last_seen_at: datetime  # the last run that still found the condition
    notified_at: datetime | None  # when the contact of the current level was told
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None

    @classmethod
    def fields_of(cls, alert: Alert) -> dict[str, Any]:
        """The fields of a stored alert."""
        return {
            "alert_id": alert.alert_id,
            "cause": alert.cause,
            "rule": alert.rule,
            "kind": alert.kind,
            "severity": alert.severity,
            "provider_id": alert.provider_id,
            "subject": alert.subject,
            "message": alert.message,
            "link": alert.link,
            "details": dict(alert.details or {}),
            "status": alert.status,
            "level": alert.level,
            "opened_at": alert.opened_at,
            "last_seen_at": alert.last_seen_at,
            "notified_at": alert.notified_at,
            "acknowledged_at": alert.acknowledged_at,
            "acknowledged_by": alert.acknowledged_by,
            "resolved_at": alert.resolved_at,
        }

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        """The API form of a stored alert."""
        return cls(**cls.fields_of(alert))


class AlertDetail(AlertOut):
    """An alert with every event of its history, oldest first."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_ALERT_EXAMPLE, "events": [_EVENT_EXAMPLE]}]}
    )

    events: list[AlertEventOut]


# -- routes --------------------------------------------------------------------------------------


@router.get(
    "/alerts",
    response_model=Page[AlertOut],
    summary="List alerts (brand users only)",
    description="Alerts raised by the rules file, newest first, by status and provider. "
    "An alert is kept one per cause: while its condition holds, later runs refresh it "
    "rather than open another. The brand's internal escalation: a provider user gets 404.",
    responses={
        **errors(404, 422),
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "items": [_ALERT_EXAMPLE],
                        "total": 1,
                        "limit": 50,
                        "offset": 0,
                        "next_offset": None,
                    }
                }
            }
        },
    },
)
def alerts(
    scope: ScopeDep,
    opened: StoreDep,
    paging: Paging,
    provider: ProviderQuery = None,
    status: StatusQuery = None,
) -> Page[AlertOut]:
    """The alerts, a page at a time."""
    brand_only(scope)
    chosen = scope.providers(provider)
    statuses = list(dict.fromkeys(status)) if status else None
    with opened.connect() as connection:
        total = count_alerts(connection, statuses=statuses, providers=chosen)
        found = list_alerts(
            connection,
            statuses=statuses,
            providers=chosen,
            limit=paging.limit,
            offset=paging.offset,
        )
    return Page[AlertOut].of([AlertOut.of(a) for a in found], total, paging)


@router.get(
    "/alerts/{alert_id}",
    response_model=AlertDetail,
    summary="One alert with its events (brand users only)",
    description="The alert and its history: opened, refreshed, who was notified on which "
    "channel, escalations, sends deferred by quiet hours or failed, the acknowledgement and "
    "the resolution. A provider user gets 404.",
    responses=errors(404, 422),
)
def one_alert(alert_id: AlertIdPath, scope: ScopeDep, opened: StoreDep) -> AlertDetail:
    """The alert and its events."""
    with opened.connect() as connection:
        alert = brand_alert(connection, scope, alert_id)
        events = alert_events(connection, alert_id)
    return AlertDetail(**AlertOut.fields_of(alert), events=[AlertEventOut.of(e) for e in events])


@router.post(
    "/alerts/{alert_id}/ack",
    response_model=AlertOut,
    summary="Acknowledge an alert (admin)",
    description="Take the alert on: it stops going up the escalation chain, and it is "
    "recorded as acknowledged by the user. It resolves by itself once a run no longer "
    "finds its condition. Acknowledging it again changes nothing (the first acknowledgement "
    "stands); a resolved alert cannot be acknowledged (400). Admin only (an analyst gets "
    "403; a provider user 404).",
    responses=errors(400, 403, 404, 422),
)
def acknowledge(
    alert_id: AlertIdPath, principal: PrincipalDep, scope: ScopeDep, opened: StoreDep
) -> AlertOut:
    """Acknowledge the alert as the user."""
    brand_only(scope)
    scope.require_admin()
    with opened.begin() as connection:
        alert = acknowledge_alert(connection, alert_id, by=principal.user_id)
    return AlertOut.of(alert)
