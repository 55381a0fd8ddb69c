"""`run_alerts`: one run of the rules: open, refresh, resolve, notify, escalate.

A run takes the signals of the rules (from `_detect`, or given) at a clock `now` and:

1. keeps one alert per cause: a cause with an open or acknowledged alert refreshes it (an
   `updated` event when its message or severity changed); a new cause opens an alert at
   level 0 (`opened`);
2. resolves the open and acknowledged alerts whose cause no rule signals any more
   (`resolved`, "no longer detected"; "rule removed" when the rules file lost their rule),
   and tells the contact who was last reached that the alert cleared (one short message);
3. notifies: an open alert whose current level was never reached goes to that contact of
   the rule's chain (its own `chain`, else `escalation.chain`), by email when the contact
   has an address and by its webhook when it has one (`notified`, one event per channel);
4. escalates: an open alert (acknowledged ones never) reached more than the rule's
   `escalate_after_minutes` (else `escalation.after_minutes`) ago goes one level up the
   chain (`escalated`, naming the contact) and that contact is told; at the end of the chain
   nothing more is sent;
5. inside the quiet hours only `page` alerts go out: a `warn` alert's notification and its
   escalation wait (one `deferred` event) and happen at the first run after the quiet hours;
   so do the all-clears of `warn` alerts, which are then not sent at all;
6. a channel that fails gets a `failed` event with the reason; when no channel reached the
   contact, the level stays un-notified and the next run tries again; when one did, the
   failed channel alone is tried again by the next runs. The run goes on with the others
   and reports them (`AlertRun.failed`).

The state changes (steps 1-5) happen in one transaction, committed before anything is sent;
the messages go out after it, and their results are recorded in a second transaction. Running
twice at the same clock sends nothing the second time. On PostgreSQL a run holds an advisory
lock, so two runs (the service's scheduler and a cron job) never send the same message twice;
a DuckDB file admits one process at a time anyway.

Acknowledgement links: each message that goes out at an alert's level carries
`{ack_base_url}/alerts/{alert_id}/ack?token=...` with a token made for it, of which the store
keeps only the SHA-256 (`_repository.py`). The token of a new alert is made when the alert is
opened, and used when its first notification goes out in that same run; when that
notification is deferred (quiet hours) or fails, the token that finally goes out is made at
that time and replaces the unsent one. An escalation, or a channel tried again, gets a token
of its own, added to the alert's, since the plain token of an earlier run is not kept: every
link a contact received keeps working until the alert resolves.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tallyclerk.alerts._channels import RealSender, Sender
from tallyclerk.alerts._repository import (
    Alert,
    AlertEvent,
    active_alerts,
    events_of,
    get_alert,
    insert_alert,
    new_token,
    record_event,
    stored_token_hashes,
    update_alert,
    utc_now,
)
from tallyclerk.alerts._rules import AlertRules, Contact, QuietHours, Rule
from tallyclerk.alerts._types import Signal
from tallyclerk.settings import Settings
from tallyclerk.store import Store

Purpose = Literal["notify", "escalate", "clear"]
# The advisory lock PostgreSQL runs take (any fixed 64-bit number tallyclerk uses for nothing
# else).
_LOCK_KEY = 0x7A11_C1E2_A1E2_7500
_SLACK_HEADER = 150  # Slack's limits on a header block and on a section's text
_SLACK_SECTION = 3000


@dataclass
class AlertRun:
    """What one run did (or, with `dry_run`, would do): alert ids per step, and a log."""

    now: datetime
    dry_run: bool = False
    opened: list[int] = field(default_factory=list)
    refreshed: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    notified: list[int] = field(default_factory=list)  # reached on at least one channel
    escalated: list[int] = field(default_factory=list)  # moved up the chain
    deferred: list[int] = field(default_factory=list)  # held by the quiet hours
    failed: list[int] = field(default_factory=list)  # a channel failed (all-clears included)
    cleared: list[int] = field(default_factory=list)  # all-clear sent to the last contact
    sent: int = 0  # messages delivered, one per channel
    lines: list[str] = field(default_factory=list)  # a plain log, one line per step

    @property
    def ok(self) -> bool:
        """Every message that was due went out."""
        return not self.failed

    def summary(self) -> str:
        """One line: how many alerts each step touched."""
        parts = [
            f"{len(self.opened)} opened",
            f"{len(self.refreshed)} still open",
            f"{len(self.resolved)} resolved",
            f"{len(self.notified)} notified",
            f"{len(self.escalated)} escalated",
            f"{len(self.deferred)} deferred",
            f"{len(self.failed)} failed",
        ]
        head = "dry run: would have " if self.dry_run else ""
        return head + ", ".join(parts) + f" ({self.sent} messages sent)"

    def as_dict(self) -> dict[str, Any]:
        """The run as plain JSON values."""
        return {
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "opened": self.opened,
            "refreshed": self.refreshed,
            "resolved": self.resolved,
            "notified": self.notified,
            "escalated": self.escalated,
            "deferred": self.deferred,
            "failed": self.failed,
            "cleared": self.cleared,
            "sent": self.sent,
            "lines": self.lines,
        }


# ---------------------------------------------------------------------------- pure helpers


def _add(bucket: list[int], alert_id: int) -> None:
    if alert_id not in bucket:
        bucket.append(alert_id)


def in_quiet_hours(quiet: QuietHours | None, now: datetime) -> bool:
    """Whether `now` falls in the daily quiet window (wall clock of its time zone).

    A window whose start is after its end spans midnight (22:00-07:00); one whose start
    equals its end is empty.
    """
    if quiet is None:
        return False
    local = now.astimezone(ZoneInfo(quiet.timezone)).time().replace(tzinfo=None)
    return clock_in_window(local, quiet.start_time, quiet.end_time)


def clock_in_window(local: time, start: time, end: time) -> bool:
    """Whether a wall-clock time is in [start, end), the window possibly spanning midnight."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def contact_channels(rules: AlertRules, contact: Contact) -> list[str]:
    """The channels that reach a contact: `email` and/or `webhook:<name>`."""
    out: list[str] = []
    if contact.email is not None and rules.channels.email is not None:
        out.append("email")
    if contact.webhook is not None and contact.webhook in rules.channels.webhooks:
        out.append(f"webhook:{contact.webhook}")
    return out


def chain_names(rules: AlertRules, rule: Rule) -> list[str]:
    """The names of the contacts a rule's alerts reach, in escalation order."""
    return list(rule.chain or rules.escalation.chain)


def ack_url(rules: AlertRules, alert_id: int, token: str) -> str:
    """The acknowledgement link: GET shows a confirmation page, POST acknowledges."""
    return f"{rules.ack_base_url.rstrip('/')}/alerts/{alert_id}/ack?token={token}"


def dashboard_url(rules: AlertRules, link: str | None) -> str | None:
    """The alert's dashboard page as a full URL, when it names one."""
    if not link:
        return None
    if link.startswith(("http://", "https://")):
        return link
    return rules.ack_base_url.rstrip("/") + ("" if link.startswith("/") else "/") + link


def _since_level(events: Sequence[AlertEvent]) -> list[AlertEvent]:
    """The events since the alert last went up a level (all of them at level 0)."""
    last = max((i for i, e in enumerate(events) if e.event == "escalated"), default=-1)
    return list(events[last + 1 :])


def _minutes(value: float) -> str:
    return f"{value:g} minutes" if value != 1 else "1 minute"


# ---------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class Message:
    """One alert message, in the forms the channels send."""

    subject: str
    text: str
    html: str
    body: dict[str, Any]  # the webhook's JSON


def _mrkdwn(text: str) -> str:
    """Text safe inside Slack mrkdwn (&, < and > escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


@dataclass(frozen=True, slots=True)
class _Context:
    """Who a message goes to and where the alert stands in its chain."""

    purpose: Purpose
    contact_name: str
    contact: Contact
    level: int
    chain: tuple[str, ...]
    after_minutes: float
    token: str | None
    now: datetime


def compose(rules: AlertRules, alert: Alert, ctx: _Context) -> Message:
    """The email and webhook forms of an alert's notification, escalation or all-clear."""
    severity = "PAGE" if alert.severity == "page" else "warn"
    label = {
        "notify": severity,
        "escalate": f"{severity}, escalated",
        "clear": "cleared",
    }[ctx.purpose]
    subject = f"[tallyclerk {label}] {alert.subject}"
    look = dashboard_url(rules, alert.link)
    ack = (
        ack_url(rules, alert.alert_id, ctx.token) if ctx.token and ctx.purpose != "clear" else None
    )
    facts = (
        f"Alert {alert.alert_id} · {alert.severity} · rule {alert.rule} ({alert.kind})"
        + (f" · {alert.provider_id}" if alert.provider_id else "")
        + f" · opened {alert.opened_at:%Y-%m-%d %H:%M} UTC"
    )
    if ctx.purpose == "clear":
        lead = (
            f"As of {ctx.now:%Y-%m-%d %H:%M} UTC the rule {alert.rule} no longer finds this "
            f"condition, so alert {alert.alert_id} is resolved. Nothing more to do."
        )
        chain_note = ""
    else:
        lead = alert.message
        chain_note = _chain_note(rules, ctx)
    if ctx.purpose == "escalate":
        waited = _minutes(ctx.after_minutes)
        lead = (
            f"Nobody acknowledged this alert within {waited}; you are next in its "
            f"escalation chain.\n\n{lead}"
        )
    text_lines = [alert.subject, "", lead, "", facts, ""]
    if look:
        text_lines.append(f"Look at it:   {look}")
    if ack:
        text_lines.append(f"Acknowledge:  {ack}")
    if chain_note:
        text_lines += ["", chain_note]
    text = "\n".join(text_lines).rstrip() + "\n"

    def paragraphs(value: str) -> str:
        return "".join(f"<p>{html.escape(p)}</p>" for p in value.split("\n\n") if p)

    links = []
    if look:
        links.append(f'<a href="{html.escape(look)}">Look at it on the dashboard</a>')
    if ack:
        links.append(f'<a href="{html.escape(ack)}">Acknowledge</a>')
    html_body = (
        "<!doctype html><html><body>"
        f"<h2>{html.escape(alert.subject)}</h2>"
        f"{paragraphs(lead)}"
        f'<p style="color:#555">{html.escape(facts)}</p>'
        + (f"<p>{' &middot; '.join(links)}</p>" if links else "")
        + (f"<p>{html.escape(chain_note)}</p>" if chain_note else "")
        + "</body></html>"
    )

    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _cut(f"{label}: {alert.subject}", _SLACK_HEADER),
            },
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _cut(_mrkdwn(lead), _SLACK_SECTION)},
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _mrkdwn(facts)}]},
    ]
    buttons: list[dict[str, Any]] = []
    if ack:
        buttons.append(
            {"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"}, "url": ack}
        )
    if look:
        buttons.append(
            {"type": "button", "text": {"type": "plain_text", "text": "Look at it"}, "url": look}
        )
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    fallback = f"{label}: {alert.subject}" + (f" (acknowledge: {ack})" if ack else "")
    body = {
        "text": fallback,
        "blocks": blocks,
        "event": ctx.purpose,
        "contact": ctx.contact_name,
        "level": ctx.level,
        "alert": alert.as_dict(),
        "ack_url": ack,
        "link_url": look,
    }
    return Message(subject=subject, text=text, html=html_body, body=body)


def _chain_note(rules: AlertRules, ctx: _Context) -> str:
    """Where the reader stands in the chain, and who is told next."""
    size = len(ctx.chain)
    if size == 1:
        return "You are the only contact of this alert's chain."
    if ctx.level >= size - 1:
        return f"You are the last contact of this alert's chain ({size} of {size})."
    nxt_name = ctx.chain[ctx.level + 1]
    nxt = rules.contacts.get(nxt_name)
    who = f"{nxt.name} ({nxt_name})" if nxt is not None else nxt_name
    return (
        f"You are contact {ctx.level + 1} of {size} for this alert. If nobody acknowledges it "
        f"within {_minutes(ctx.after_minutes)}, it goes to {who}."
    )


# ---------------------------------------------------------------------------- the plan


@dataclass
class _Delivery:
    """A message the run has decided to send, and what to record once it is sent."""

    alert_id: int
    ctx: _Context
    channels: list[str]
    sets_notified: bool  # the first delivery at this level: notified_at is set on success
    restore_hashes: bool = False  # nothing delivered: put back the previous token digests
    previous_hashes: str | None = None
    alert: Alert | None = None  # read back once the state changes are made


class _Planner:
    """Steps 1-5 of a run, on one connection inside its transaction."""

    def __init__(
        self, connection: sa.Connection, rules: AlertRules, now: datetime, run: AlertRun
    ) -> None:
        self.connection = connection
        self.rules = rules
        self.now = now
        self.run = run
        self.dry = run.dry_run
        self.quiet = in_quiet_hours(rules.quiet_hours, now)
        self.fresh_tokens: dict[int, str] = {}
        self.deliveries: list[_Delivery] = []

    def log(self, done: str, would: str) -> None:
        self.run.lines.append(would if self.dry else done)

    # -- steps 1 and 2 ---------------------------------------------------------------------

    def apply_signals(self, signals: Sequence[Signal]) -> None:
        unique: dict[str, Signal] = {}
        for signal in signals:
            if self.rules.rule(signal.rule) is None:
                self.run.lines.append(
                    f"ignored a signal of rule {signal.rule!r}, which the rules file does not "
                    f"have ({signal.cause})"
                )
                continue
            unique[signal.cause] = signal
        current: dict[str, Alert] = {}
        for alert in active_alerts(self.connection):
            kept = current.setdefault(alert.cause, alert)
            if kept is not alert:  # one alert per cause: a second one is a leftover
                self._resolve(alert, f"duplicate of alert {kept.alert_id}", tell=False)
        for cause, signal in unique.items():
            existing = current.get(cause)
            if existing is None:
                self._open(signal)
            else:
                self._refresh(existing, signal)
        for cause, alert in current.items():
            if cause in unique:
                continue
            if self.rules.rule(alert.rule) is None:
                self._resolve(alert, "rule removed", tell=False)
            else:
                self._resolve(alert, "no longer detected", tell=True)

    def _open(self, signal: Signal) -> None:
        token, digest = new_token()
        alert_id = insert_alert(
            self.connection,
            cause=signal.cause,
            rule=signal.rule,
            kind=signal.kind,
            severity=signal.severity,
            provider_id=signal.provider_id,
            subject=signal.subject,
            message=signal.message,
            link=signal.link,
            details=dict(signal.details),
            token_digest=digest,
            at=self.now,
        )
        self.fresh_tokens[alert_id] = token
        _add(self.run.opened, alert_id)
        self.log(
            f"opened alert {alert_id} ({signal.severity}) {signal.cause}: {signal.subject}",
            f"would open an alert ({signal.severity}) for {signal.cause}: {signal.subject}",
        )

    def _refresh(self, alert: Alert, signal: Signal) -> None:
        update_alert(
            self.connection,
            alert.alert_id,
            subject=signal.subject,
            message=signal.message,
            details=dict(signal.details),
            link=signal.link,
            severity=signal.severity,
            last_seen_at=self.now,
        )
        _add(self.run.refreshed, alert.alert_id)
        changes = []
        if signal.severity != alert.severity:
            changes.append(f"severity {alert.severity} -> {signal.severity}")
        if signal.message != alert.message:
            changes.append("message changed")
        if changes:
            record_event(
                self.connection,
                alert.alert_id,
                "updated",
                at=self.now,
                detail=f"{'; '.join(changes)}: {signal.subject}",
            )
            self.log(
                f"updated alert {alert.alert_id} {alert.cause}: {signal.subject}",
                f"would update alert {alert.alert_id} {alert.cause}: {signal.subject}",
            )

    def _resolve(self, alert: Alert, reason: str, *, tell: bool) -> None:
        update_alert(self.connection, alert.alert_id, status="resolved", resolved_at=self.now)
        record_event(self.connection, alert.alert_id, "resolved", at=self.now, detail=reason)
        _add(self.run.resolved, alert.alert_id)
        note = ""
        if tell:
            note = self._plan_clear(alert)
        self.log(
            f"resolved alert {alert.alert_id} {alert.cause}: {reason}{note}",
            f"would resolve alert {alert.alert_id} {alert.cause}: {reason}{note}",
        )

    def _plan_clear(self, alert: Alert) -> str:
        """Plan the all-clear to the contact last reached; a note for the log."""
        events = events_of(self.connection, [alert.alert_id])[alert.alert_id]
        reached = [e for e in events if e.event == "notified" and e.contact]
        if not reached:
            return ""
        name = reached[-1].contact
        assert name is not None
        contact = self.rules.contacts.get(name)
        if contact is None:
            return f" (its last contact {name} is no longer in the rules file)"
        if self.quiet and alert.severity != "page":
            return f" (all-clear to {name} not sent: quiet hours)"
        rule = self.rules.rule(alert.rule)
        assert rule is not None
        channels = contact_channels(self.rules, contact)
        self.deliveries.append(
            _Delivery(
                alert_id=alert.alert_id,
                ctx=self._context("clear", name, contact, alert.level, rule, None),
                channels=channels,
                sets_notified=False,
            )
        )
        return f"; all-clear to {name} by {', '.join(channels)}"

    # -- steps 3 to 5 ----------------------------------------------------------------------

    def _context(
        self,
        purpose: Purpose,
        name: str,
        contact: Contact,
        level: int,
        rule: Rule,
        token: str | None,
    ) -> _Context:
        return _Context(
            purpose=purpose,
            contact_name=name,
            contact=contact,
            level=level,
            chain=tuple(chain_names(self.rules, rule)),
            after_minutes=self.rules.escalate_after(rule),
            token=token,
            now=self.now,
        )

    def notify_and_escalate(self) -> None:
        alerts = [a for a in active_alerts(self.connection) if a.status == "open"]
        history = events_of(self.connection, [a.alert_id for a in alerts])
        for alert in alerts:
            rule = self.rules.rule(alert.rule)
            if rule is None:  # resolved above; a leftover of another run
                continue
            self._step(alert, rule, history[alert.alert_id])

    def _step(self, alert: Alert, rule: Rule, events: list[AlertEvent]) -> None:
        chain = chain_names(self.rules, rule)
        level = min(alert.level, len(chain) - 1)
        held = self.quiet and alert.severity != "page"
        since = _since_level(events)
        target = chain[level]
        contact = self.rules.contacts[target]
        channels = contact_channels(self.rules, contact)
        delivered = {e.channel for e in since if e.event == "notified" and e.contact == target}
        purpose: Purpose = "notify" if level == 0 else "escalate"
        if alert.notified_at is None:
            pending = [c for c in channels if c not in delivered]
            if not pending:  # every channel it has now was reached before
                update_alert(self.connection, alert.alert_id, notified_at=self.now)
                return
            if held:
                self._defer(alert, target, since, "notification")
                return
            self._plan_send(alert, rule, purpose, target, contact, level, pending, events, True)
            return
        waited = self.now - alert.notified_at
        if level < len(chain) - 1 and waited >= timedelta(minutes=self.rules.escalate_after(rule)):
            upper = chain[level + 1]
            if held:
                self._defer(alert, upper, since, "escalation")
                return
            self._escalate(alert, rule, level + 1, upper, waited, events)
            return
        failed = {e.channel for e in since if e.event == "failed" and e.contact == target}
        retry = [c for c in channels if c in failed and c not in delivered]
        if retry and not held:
            self._plan_send(alert, rule, purpose, target, contact, level, retry, events, False)

    def _defer(self, alert: Alert, name: str, since: list[AlertEvent], what: str) -> None:
        _add(self.run.deferred, alert.alert_id)
        quiet = self.rules.quiet_hours
        assert quiet is not None
        if any(e.event == "deferred" and e.contact == name for e in since):
            return  # recorded once
        detail = f"{what} held by the quiet hours until {quiet.end} {quiet.timezone}"
        record_event(
            self.connection, alert.alert_id, "deferred", at=self.now, contact=name, detail=detail
        )
        self.log(
            f"deferred alert {alert.alert_id} {alert.cause} for {name}: {detail}",
            f"would defer alert {alert.alert_id} {alert.cause} for {name}: {detail}",
        )

    def _escalate(
        self,
        alert: Alert,
        rule: Rule,
        level: int,
        name: str,
        waited: timedelta,
        events: list[AlertEvent],
    ) -> None:
        minutes = waited.total_seconds() / 60
        detail = (
            f"level {level}: not acknowledged {minutes:.0f} minutes after it was sent "
            f"(escalates after {_minutes(self.rules.escalate_after(rule))})"
        )
        update_alert(self.connection, alert.alert_id, level=level, notified_at=None)
        record_event(
            self.connection, alert.alert_id, "escalated", at=self.now, contact=name, detail=detail
        )
        _add(self.run.escalated, alert.alert_id)
        self.log(
            f"escalated alert {alert.alert_id} {alert.cause} to {name}: {detail}",
            f"would escalate alert {alert.alert_id} {alert.cause} to {name}: {detail}",
        )
        contact = self.rules.contacts[name]
        channels = contact_channels(self.rules, contact)
        self._plan_send(alert, rule, "escalate", name, contact, level, channels, events, True)

    def _plan_send(
        self,
        alert: Alert,
        rule: Rule,
        purpose: Purpose,
        name: str,
        contact: Contact,
        level: int,
        channels: list[str],
        events: list[AlertEvent],
        first: bool,
    ) -> None:
        # Should nothing reach the contact, the digests go back to what they were before
        # (none for an alert opened in this run), so only links that went out are valid.
        token = self.fresh_tokens.pop(alert.alert_id, None)
        previous: str | None = None
        if token is None:
            token, digest = new_token()
            previous = stored_token_hashes(self.connection, alert.alert_id)
            ever_sent = any(e.event == "notified" for e in events)
            # No link went out yet: the unsent token is replaced; else this one is added.
            stored = f"{previous} {digest}" if ever_sent and previous else digest
            update_alert(self.connection, alert.alert_id, ack_token_hash=stored)
        self.deliveries.append(
            _Delivery(
                alert_id=alert.alert_id,
                ctx=self._context(purpose, name, contact, level, rule, token),
                channels=channels,
                sets_notified=first,
                restore_hashes=True,
                previous_hashes=previous,
            )
        )
        verb = "escalation" if purpose == "escalate" else "notification"
        self.log(
            f"sending alert {alert.alert_id} {alert.cause} ({verb}) to {name} by "
            f"{', '.join(channels)}",
            f"would send alert {alert.alert_id} {alert.cause} ({verb}) to {name} by "
            f"{', '.join(channels)}",
        )

    def read_back(self) -> None:
        for delivery in self.deliveries:
            delivery.alert = get_alert(self.connection, delivery.alert_id)


# ---------------------------------------------------------------------------- sending


@dataclass(frozen=True, slots=True)
class _Outcome:
    channel: str
    error: str | None  # None: delivered
    detail: str


def _send(rules: AlertRules, sender: Sender, delivery: _Delivery) -> list[_Outcome]:
    alert = delivery.alert
    assert alert is not None
    message = compose(rules, alert, delivery.ctx)
    contact = delivery.ctx.contact
    what = {"notify": "sent", "escalate": "escalation sent", "clear": "all-clear sent"}[
        delivery.ctx.purpose
    ]
    outcomes: list[_Outcome] = []
    for channel in delivery.channels:
        try:
            if channel == "email":
                email = rules.channels.email
                assert email is not None
                assert contact.email is not None
                sender.email(email, contact.email, message.subject, message.text, message.html)
                detail = f"{what} to {contact.email}"
            else:
                name = channel.split(":", 1)[1]
                sender.webhook(name, rules.channels.webhooks[name], message.body)
                detail = f"{what} to webhook {name}"
        except Exception as exc:  # a channel's failure is recorded; the run goes on
            reason = str(exc).strip() or type(exc).__name__
            outcomes.append(_Outcome(channel, reason, reason))
        else:
            outcomes.append(_Outcome(channel, None, detail))
    return outcomes


def _record(
    connection: sa.Connection,
    delivery: _Delivery,
    outcomes: list[_Outcome],
    now: datetime,
    run: AlertRun,
) -> None:
    name = delivery.ctx.contact_name
    reached = False
    for outcome in outcomes:
        event = "notified" if outcome.error is None else "failed"
        record_event(
            connection,
            delivery.alert_id,
            event,
            at=now,
            contact=name,
            channel=outcome.channel,
            detail=outcome.detail,
        )
        if outcome.error is None:
            reached = True
            run.sent += 1
            run.lines.append(f"alert {delivery.alert_id}: {outcome.detail} ({name})")
        else:
            _add(run.failed, delivery.alert_id)
            run.lines.append(
                f"FAILED alert {delivery.alert_id}: {outcome.channel} to {name}: {outcome.error}"
            )
    if reached:
        bucket = run.cleared if delivery.ctx.purpose == "clear" else run.notified
        _add(bucket, delivery.alert_id)
        if delivery.sets_notified:
            update_alert(connection, delivery.alert_id, notified_at=now)
    elif delivery.restore_hashes:
        update_alert(connection, delivery.alert_id, ack_token_hash=delivery.previous_hashes)


# ---------------------------------------------------------------------------- the run


@contextmanager
def _exclusive(store: Store) -> Iterator[None]:
    """One run at a time on a PostgreSQL store (an advisory lock held for the run)."""
    if store.dialect != "postgresql":
        yield
        return
    with store.connect() as lock:
        lock.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
        lock.commit()
        try:
            yield
        finally:
            lock.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
            lock.commit()


def run_alerts(
    store: Store,
    rules: AlertRules,
    settings: Settings,
    *,
    now: datetime | None = None,
    signals: list[Signal] | None = None,
    refresh: bool = False,
    sender: Sender | None = None,
    dry_run: bool = False,
) -> AlertRun:
    """Run the rules once at `now` (default: the current time, UTC); see the module's doc.

    `signals` None: the rules' own detection on the store (`_detect.detect`), after refreshing
    the kept findings and the open month's burn rates when `refresh`. `sender` None: the real
    channels of the rules file. `dry_run`: the same decisions, rolled back, nothing sent and
    nothing refreshed; the lines say what would happen.
    """
    moment = utc_now(now)
    run = AlertRun(now=moment, dry_run=dry_run)
    if signals is None:
        from tallyclerk.alerts import _detect

        if refresh and not dry_run:
            run.lines.extend(_detect.refresh(store, settings, now=moment))
        elif refresh:
            run.lines.append("findings and burn rates not refreshed (dry run)")
        signals = _detect.detect(store, rules, settings, now=moment)
    with _exclusive(store):
        with store.connect() as connection, connection.begin() as transaction:
            planner = _Planner(connection, rules, moment, run)
            planner.apply_signals(signals)
            planner.notify_and_escalate()
            if dry_run:
                transaction.rollback()
            else:
                planner.read_back()
        if dry_run or not planner.deliveries:
            return run
        chosen: Sender = sender if sender is not None else RealSender()
        results = [(d, _send(rules, chosen, d)) for d in planner.deliveries]
        with store.begin() as connection:
            for delivery, outcomes in results:
                _record(connection, delivery, outcomes, moment, run)
    return run


__all__ = [
    "AlertRun",
    "Message",
    "ack_url",
    "chain_names",
    "clock_in_window",
    "compose",
    "contact_channels",
    "dashboard_url",
    "in_quiet_hours",
    "run_alerts",
]
