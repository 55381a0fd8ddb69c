"""Alerts in the store: one per cause while it lasts, with every step in `alert_events`.

An alert is `open` from the run that first sees its cause until a run no longer sees it
(`resolved`); a person may `acknowledge` it in between, which stops its escalation. Only one
open or acknowledged alert exists per cause; a cause that comes back after its alert was
resolved opens a new alert.

Acknowledgement links carry a random token (`secrets.token_urlsafe`). The store keeps only
the SHA-256 of each token ever sent, in `alerts.ack_token_hash` (hex digests separated by
spaces, one per message that went out with a link), so a leaked copy of the store cannot be
used to acknowledge anything, and every link a contact received stays valid until the alert
resolves. Nothing here commits: callers hold the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tallyclerk.access import NotFoundError
from tallyclerk.errors import InputError
from tallyclerk.store.schema import alert_events as alert_events_table
from tallyclerk.store.schema import alerts

ALERT_STATUSES = ("open", "acknowledged", "resolved")
ACTIVE_STATUSES = ("open", "acknowledged")
LINK_INVALID = "this acknowledgement link is not valid"
TOKEN_BY = "link"  # who an acknowledgement through a link is recorded as


@dataclass(frozen=True, slots=True)
class Alert:
    """A stored alert."""

    alert_id: int
    cause: str
    rule: str
    kind: str
    severity: str  # warn | page
    provider_id: str | None
    subject: str
    message: str
    link: str | None  # a dashboard path, e.g. /providers/westcoast
    details: dict[str, Any]
    status: str  # open | acknowledged | resolved
    level: int  # the index in the rule's chain of the contact told last
    opened_at: datetime
    last_seen_at: datetime
    notified_at: datetime | None  # when the contact of the current level was reached
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None

    @property
    def active(self) -> bool:
        """Open or acknowledged: its cause still holds."""
        return self.status in ACTIVE_STATUSES

    def as_dict(self) -> dict[str, Any]:
        """The alert as plain JSON values (times as ISO 8601)."""
        return {
            "alert_id": self.alert_id,
            "cause": self.cause,
            "rule": self.rule,
            "kind": self.kind,
            "severity": self.severity,
            "provider_id": self.provider_id,
            "subject": self.subject,
            "message": self.message,
            "link": self.link,
            "details": self.details,
            "status": self.status,
            "level": self.level,
            "opened_at": _iso(self.opened_at),
            "last_seen_at": _iso(self.last_seen_at),
            "notified_at": _iso(self.notified_at),
            "acknowledged_at": _iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "resolved_at": _iso(self.resolved_at),
        }


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One step of an alert.

    `event` is one of opened, updated, notified, escalated, deferred, failed, acknowledged,
    resolved; `contact` names a contact of the rules file, `channel` is `email` or
    `webhook:<name>`.
    """

    event_id: int
    alert_id: int
    happened_at: datetime
    event: str
    contact: str | None
    channel: str | None
    detail: str | None

    def as_dict(self) -> dict[str, Any]:
        """The event as plain JSON values."""
        return {
            "event_id": self.event_id,
            "alert_id": self.alert_id,
            "happened_at": _iso(self.happened_at),
            "event": self.event,
            "contact": self.contact,
            "channel": self.channel,
            "detail": self.detail,
        }


# ---------------------------------------------------------------------------- helpers


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _required(value: datetime | None) -> datetime:
    moment = _utc(value)
    assert moment is not None  # a NOT NULL column
    return moment


def utc_now(now: datetime | None = None) -> datetime:
    """`now` as UTC (naive means UTC), or the current time."""
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def new_token() -> tuple[str, str]:
    """A fresh acknowledgement token and the SHA-256 hex digest the store keeps of it."""
    token = secrets.token_urlsafe(24)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _alert(row: sa.RowMapping) -> Alert:
    raw = json.loads(row["details"]) if row["details"] else {}
    return Alert(
        alert_id=int(row["alert_id"]),
        cause=row["cause"],
        rule=row["rule"],
        kind=row["kind"],
        severity=row["severity"],
        provider_id=row["provider_id"],
        subject=row["subject"],
        message=row["message"],
        link=row["link"],
        details=raw if isinstance(raw, dict) else {"details": raw},
        status=row["status"],
        level=int(row["level"]),
        opened_at=_required(row["opened_at"]),
        last_seen_at=_required(row["last_seen_at"]),
        notified_at=_utc(row["notified_at"]),
        acknowledged_at=_utc(row["acknowledged_at"]),
        acknowledged_by=row["acknowledged_by"],
        resolved_at=_utc(row["resolved_at"]),
    )


def _event(row: sa.RowMapping) -> AlertEvent:
    return AlertEvent(
        event_id=int(row["event_id"]),
        alert_id=int(row["alert_id"]),
        happened_at=_required(row["happened_at"]),
        event=row["event"],
        contact=row["contact"],
        channel=row["channel"],
        detail=row["detail"],
    )


def details_json(details: dict[str, Any]) -> str | None:
    """Details as stored: sorted JSON, None when empty."""
    return json.dumps(details, sort_keys=True, default=str) if details else None


# ---------------------------------------------------------------------------- reading


def _filtered(
    query: sa.Select[Any], statuses: Sequence[str] | None, providers: Sequence[str] | None
) -> sa.Select[Any]:
    if statuses is not None:
        unknown = [s for s in statuses if s not in ALERT_STATUSES]
        if unknown:
            raise InputError(
                f"alert status {unknown[0]!r} is not one of {', '.join(ALERT_STATUSES)}"
            )
        query = query.where(alerts.c.status.in_(list(statuses)))
    if providers is not None:
        query = query.where(alerts.c.provider_id.in_(list(providers)))
    return query


def list_alerts(
    connection: sa.Connection,
    *,
    statuses: Sequence[str] | None = None,
    providers: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Alert]:
    """Stored alerts: open pages first, then newest first (of some statuses and providers)."""
    c = alerts.c
    urgent = sa.case((sa.and_(c.status == "open", c.severity == "page"), 0), else_=1)
    query = _filtered(sa.select(alerts), statuses, providers).order_by(
        urgent, c.opened_at.desc(), c.alert_id.desc()
    )
    if limit is not None:
        query = query.limit(max(0, limit))
    if offset:
        query = query.offset(max(0, offset))
    return [_alert(row) for row in connection.execute(query).mappings()]


def count_alerts(
    connection: sa.Connection,
    *,
    statuses: Sequence[str] | None = None,
    providers: Sequence[str] | None = None,
) -> int:
    """How many alerts `list_alerts` would page through."""
    query = _filtered(sa.select(sa.func.count()).select_from(alerts), statuses, providers)
    return int(connection.execute(query).scalar_one())


def _find(connection: sa.Connection, alert_id: int) -> Alert | None:
    row = (
        connection.execute(sa.select(alerts).where(alerts.c.alert_id == alert_id))
        .mappings()
        .first()
    )
    return _alert(row) if row is not None else None


def get_alert(connection: sa.Connection, alert_id: int) -> Alert:
    """The stored alert, or NotFoundError when there is none by that id."""
    found = _find(connection, alert_id)
    if found is None:
        raise NotFoundError(f"no alert {alert_id}")
    return found


def alert_events(connection: sa.Connection, alert_id: int) -> list[AlertEvent]:
    """An alert's history, oldest step first."""
    e = alert_events_table.c
    rows = connection.execute(
        sa.select(alert_events_table)
        .where(e.alert_id == alert_id)
        .order_by(e.happened_at, e.event_id)
    ).mappings()
    return [_event(row) for row in rows]


def active_alerts(connection: sa.Connection) -> list[Alert]:
    """Open and acknowledged alerts, oldest first."""
    c = alerts.c
    rows = connection.execute(
        sa.select(alerts).where(c.status.in_(ACTIVE_STATUSES)).order_by(c.alert_id)
    ).mappings()
    return [_alert(row) for row in rows]


def events_of(connection: sa.Connection, alert_ids: Sequence[int]) -> dict[int, list[AlertEvent]]:
    """The events of several alerts, each list in the order they were recorded."""
    out: dict[int, list[AlertEvent]] = {i: [] for i in alert_ids}
    if not alert_ids:
        return out
    e = alert_events_table.c
    rows = connection.execute(
        sa.select(alert_events_table)
        .where(e.alert_id.in_(list(alert_ids)))
        .order_by(e.alert_id, e.event_id)
    ).mappings()
    for row in rows:
        event = _event(row)
        out.setdefault(event.alert_id, []).append(event)
    return out


def stored_token_hashes(connection: sa.Connection, alert_id: int) -> str | None:
    """The digests of the acknowledgement tokens sent for an alert, as stored."""
    value = connection.execute(
        sa.select(alerts.c.ack_token_hash).where(alerts.c.alert_id == alert_id)
    ).scalar()
    return str(value) if value is not None else None


# ---------------------------------------------------------------------------- writing


def record_event(
    connection: sa.Connection,
    alert_id: int,
    event: str,
    *,
    at: datetime,
    contact: str | None = None,
    channel: str | None = None,
    detail: str | None = None,
) -> None:
    """Add one step to an alert's history."""
    connection.execute(
        sa.insert(alert_events_table).values(
            alert_id=alert_id,
            happened_at=at,
            event=event,
            contact=contact,
            channel=channel,
            detail=detail,
        )
    )


def insert_alert(
    connection: sa.Connection,
    *,
    cause: str,
    rule: str,
    kind: str,
    severity: str,
    provider_id: str | None,
    subject: str,
    message: str,
    link: str | None,
    details: dict[str, Any],
    token_digest: str | None,
    at: datetime,
) -> int:
    """A new open alert at level 0 (and its `opened` event); returns its id."""
    alert_id = int(
        connection.execute(
            sa.insert(alerts)
            .values(
                cause=cause,
                rule=rule,
                kind=kind,
                severity=severity,
                provider_id=provider_id,
                subject=subject,
                message=message,
                link=link,
                details=details_json(details),
                status="open",
                level=0,
                opened_at=at,
                last_seen_at=at,
                ack_token_hash=token_digest,
            )
            .returning(alerts.c.alert_id)
        ).scalar_one()
    )
    record_event(connection, alert_id, "opened", at=at, detail=f"{severity}: {subject}")
    return alert_id


def update_alert(connection: sa.Connection, alert_id: int, **values: Any) -> None:
    """Set columns of one alert (`details` given as a dict)."""
    if "details" in values:
        values["details"] = details_json(values["details"] or {})
    connection.execute(sa.update(alerts).where(alerts.c.alert_id == alert_id).values(**values))


def acknowledge_alert(
    connection: sa.Connection, alert_id: int, *, by: str, now: datetime | None = None
) -> Alert:
    """Someone has taken the alert on: it stops going up the escalation chain.

    Acknowledging an acknowledged alert changes nothing (the first acknowledgement is kept);
    a resolved alert cannot be acknowledged (InputError).
    """
    alert = get_alert(connection, alert_id)
    if alert.status == "acknowledged":
        return alert
    if alert.status == "resolved":
        raise InputError(f"alert {alert_id} is resolved already; there is nothing to acknowledge")
    who = by.strip() or "unknown"
    at = utc_now(now)
    update_alert(
        connection, alert_id, status="acknowledged", acknowledged_at=at, acknowledged_by=who
    )
    record_event(connection, alert_id, "acknowledged", at=at, detail=f"by {who}")
    return get_alert(connection, alert_id)


def acknowledge_by_token(
    connection: sa.Connection, alert_id: int, token: str, *, now: datetime | None = None
) -> Alert:
    """Acknowledge through the link of a notification (recorded as by `link`).

    The token must be one sent for this alert; any other token, or an alert that does not
    exist, gets the same InputError, so a link reveals nothing about other alerts.
    """
    stored = stored_token_hashes(connection, alert_id) if token else None
    if not stored:
        raise InputError(LINK_INVALID)
    given = token_hash(token)
    # Compare against every digest, without stopping at the first match.
    matched = False
    for digest in stored.split():
        matched |= hmac.compare_digest(given, digest)
    if not matched:
        raise InputError(LINK_INVALID)
    return acknowledge_alert(connection, alert_id, by=TOKEN_BY, now=now)


__all__ = [
    "ACTIVE_STATUSES",
    "ALERT_STATUSES",
    "LINK_INVALID",
    "Alert",
    "AlertEvent",
    "acknowledge_alert",
    "acknowledge_by_token",
    "active_alerts",
    "alert_events",
    "count_alerts",
    "events_of",
    "get_alert",
    "insert_alert",
    "list_alerts",
    "new_token",
    "record_event",
    "stored_token_hashes",
    "token_hash",
    "update_alert",
    "utc_now",
]
