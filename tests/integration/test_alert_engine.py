"""`run_alerts` on DuckDB and PostgreSQL, delivering for real to an SMTP server (aiosmtpd) and
a webhook receiver that checks every signature, on a fake clock.

Signals are given to each run, as the rules' detection would produce them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest

from tallyclerk.access import NotFoundError
from tallyclerk.alerts._engine import AlertRun, clock_in_window, in_quiet_hours, run_alerts
from tallyclerk.alerts._repository import (
    LINK_INVALID,
    Alert,
    acknowledge_alert,
    acknowledge_by_token,
    alert_events,
    count_alerts,
    get_alert,
    list_alerts,
    stored_token_hashes,
    token_hash,
)
from tallyclerk.alerts._rules import AlertRules, QuietHours, parse_rules
from tallyclerk.alerts._types import Signal
from tallyclerk.errors import InputError
from tallyclerk.settings import Settings
from tallyclerk.store import Store, open_store
from tests.integration.test_alert_channels import (
    HOOK_SECRET_ENV,
    HookReceiver,
    Inbox,
    Mail,
    free_port,
    inbox,
    receiver,
)

__all__ = ["inbox", "receiver"]  # fixtures shared with the channel tests

T0 = datetime(2026, 3, 20, 14, 0, tzinfo=UTC)  # a Friday afternoon
NEW_YORK_QUIET = '{start: "22:00", end: "07:00", timezone: America/New_York}'
ACK_LINK = re.compile(r"http://tower\.brand\.example/alerts/(\d+)/ack\?token=([A-Za-z0-9_-]+)")
DANA, SAM, LEE = "dana@brand.example", "sam@brand.example", "lee@brand.example"


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def rules_text(smtp_port: int, hook_url: str, *, quiet: str | None = None, rules: str = "") -> str:
    """Three contacts (Dana also on the ops webhook), a three-step chain, 60 minutes."""
    return f"""
contacts:
  liaison: {{name: Dana Ruiz, email: {DANA}, webhook: ops}}
  ops-lead: {{name: Sam Ito, email: {SAM}}}
  director: {{name: Lee Park, email: {LEE}}}
channels:
  email: {{host: 127.0.0.1, port: {smtp_port}, sender: alerts@brand.example, timeout_seconds: 5}}
  webhooks:
    ops: {{url: "{hook_url}", secret_env: {HOOK_SECRET_ENV}, timeout_seconds: 5}}
escalation: {{chain: [liaison, ops-lead, director], after_minutes: 60}}
{"quiet_hours: " + quiet if quiet else ""}
ack_base_url: http://tower.brand.example/
rules:
  - {{name: stuck, kind: stuck_orders, severity: page}}
  - {{name: silent, kind: source_silent, hours: 12}}
{rules}
"""


def stuck(count: int = 14, provider: str = "westcoast") -> Signal:
    return Signal(
        rule="stuck",
        kind="stuck_orders",
        cause=f"stuck:{provider}",
        severity="page",
        provider_id=provider,
        subject=f"{provider}: {count} orders stuck past their ship due time",
        message=f"{count} orders released to {provider} are more than 24 hours past their "
        "ship due time and not shipped.",
        link=f"/providers/{provider}",
        details={"count": count},
    )


def silent(provider: str = "eastbridge") -> Signal:
    return Signal(
        rule="silent",
        kind="source_silent",
        cause=f"silent:{provider}",
        severity="warn",
        provider_id=provider,
        subject=f"{provider}: no data received for 13 hours",
        message=f"{provider}: no records have arrived for 13 hours (the rule allows 12 hours).",
        link="/health",
        details={"hours_silent": 13.0},
    )


class Tower:
    """A store, the rules file's channels pointing at the test servers, and a fake clock."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        inbox: Inbox,
        receiver: HookReceiver,
        *,
        smtp_port: int | None = None,
        quiet: str | None = None,
        rules: str = "",
    ) -> None:
        self.store = store
        self.settings = settings
        self.inbox = inbox
        self.receiver = receiver
        self.rules: AlertRules = parse_rules(
            rules_text(smtp_port or inbox.port, receiver.url, quiet=quiet, rules=rules)
        )

    def run(self, at: datetime, signals: list[Signal], rules: AlertRules | None = None) -> AlertRun:
        return run_alerts(self.store, rules or self.rules, self.settings, now=at, signals=signals)

    def alert(self, alert_id: int) -> Alert:
        with self.store.connect() as connection:
            return get_alert(connection, alert_id)

    def events(self, alert_id: int) -> list[tuple[str, str | None, str | None]]:
        with self.store.connect() as connection:
            return [(e.event, e.contact, e.channel) for e in alert_events(connection, alert_id)]

    def details(self, alert_id: int, event: str) -> list[str | None]:
        with self.store.connect() as connection:
            return [e.detail for e in alert_events(connection, alert_id) if e.event == event]


@pytest.fixture
def tower(store: Store, settings: Settings, inbox: Inbox, receiver: HookReceiver) -> Tower:
    return Tower(store, settings, inbox, receiver)


def ack_link(mail: Mail) -> tuple[int, str]:
    found = ACK_LINK.search(mail.text)
    assert found is not None, mail.text
    return int(found.group(1)), found.group(2)


# ---------------------------------------------------------------------------- quiet hours


def test_quiet_windows_may_span_midnight() -> None:
    night = (time(22, 0), time(7, 0))
    assert [clock_in_window(time(h, m), *night) for h, m in ((21, 59), (22, 0), (3, 0))] == [
        False,
        True,
        True,
    ]
    assert [clock_in_window(time(h, m), *night) for h, m in ((6, 59), (7, 0), (12, 0))] == [
        True,
        False,
        False,
    ]
    day = (time(9, 0), time(17, 0))
    assert [clock_in_window(time(h, 0), *day) for h in (8, 9, 16, 17)] == [
        False,
        True,
        True,
        False,
    ]
    assert not clock_in_window(time(9, 0), time(9, 0), time(9, 0))


def test_quiet_hours_read_the_wall_clock_of_their_time_zone() -> None:
    quiet = QuietHours(start="22:00", end="07:00", timezone="America/New_York")
    # 2026-03-21 02:30 UTC is 22:30 in New York (EDT since 2026-03-08, UTC-4).
    assert in_quiet_hours(quiet, datetime(2026, 3, 21, 2, 30, tzinfo=UTC))
    assert not in_quiet_hours(quiet, datetime(2026, 3, 21, 1, 59, tzinfo=UTC))  # 21:59
    assert in_quiet_hours(quiet, datetime(2026, 3, 21, 10, 59, tzinfo=UTC))  # 06:59
    assert not in_quiet_hours(quiet, datetime(2026, 3, 21, 11, 0, tzinfo=UTC))  # 07:00
    # In January New York is on EST (UTC-5): 03:00 UTC is 22:00 there.
    assert in_quiet_hours(quiet, datetime(2026, 1, 15, 3, 0, tzinfo=UTC))
    assert not in_quiet_hours(quiet, datetime(2026, 1, 15, 2, 59, tzinfo=UTC))
    assert not in_quiet_hours(None, datetime(2026, 1, 15, 3, 0, tzinfo=UTC))


# ---------------------------------------------------------------------------- opening


def test_an_alert_opens_and_its_first_contact_is_told_once(tower: Tower) -> None:
    run = tower.run(T0, [stuck()])
    (alert_id,) = run.opened
    assert run.notified == [alert_id]
    assert (run.sent, run.failed, run.escalated, run.resolved) == (2, [], [], [])
    assert len(tower.inbox.messages) == 1
    mail = tower.inbox.messages[0]
    assert mail.rcpt_tos == [DANA]
    assert mail.subject == "[tallyclerk PAGE] westcoast: 14 orders stuck past their ship due time"
    assert "14 orders released to westcoast are more than 24 hours past" in mail.text
    assert "Look at it:   http://tower.brand.example/providers/westcoast\n" in mail.text
    assert (
        "You are contact 1 of 3 for this alert. If nobody acknowledges it within 60 minutes, "
        "it goes to Sam Ito (ops-lead)." in mail.text
    )
    linked_id, token = ack_link(mail)
    assert linked_id == alert_id
    assert mail.html is not None
    assert f"http://tower.brand.example/alerts/{alert_id}/ack?token={token}" in mail.html

    assert tower.receiver.refused == 0
    assert len(tower.receiver.hooks) == 1
    body = tower.receiver.hooks[0].body
    assert body["event"] == "notify"
    assert body["contact"] == "liaison"
    assert body["ack_url"] == f"http://tower.brand.example/alerts/{alert_id}/ack?token={token}"
    assert body["link_url"] == "http://tower.brand.example/providers/westcoast"
    assert body["text"].startswith("PAGE: westcoast: 14 orders stuck past their ship due time")
    assert body["blocks"][0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "PAGE: westcoast: 14 orders stuck past their ship due time",
        },
    }
    assert body["alert"]["alert_id"] == alert_id
    assert body["alert"]["cause"] == "stuck:westcoast"
    assert body["alert"]["details"] == {"count": 14}

    alert = tower.alert(alert_id)
    assert (alert.status, alert.level, alert.severity) == ("open", 0, "page")
    assert alert.opened_at == alert.last_seen_at == alert.notified_at == T0
    assert tower.events(alert_id) == [
        ("opened", None, None),
        ("notified", "liaison", "email"),
        ("notified", "liaison", "webhook:ops"),
    ]
    assert tower.details(alert_id, "notified") == [f"sent to {DANA}", "sent to webhook ops"]

    again = tower.run(T0, [stuck()])
    assert (again.opened, again.refreshed, again.notified, again.sent) == ([], [alert_id], [], 0)
    assert len(tower.inbox.messages) == 1
    assert len(tower.receiver.hooks) == 1
    assert len(tower.events(alert_id)) == 3


def test_changed_figures_refresh_the_one_alert_of_their_cause(tower: Tower) -> None:
    (alert_id,) = tower.run(T0, [stuck(14)]).opened
    later = tower.run(T0 + minutes(15), [stuck(17)])
    assert (later.opened, later.refreshed, later.sent) == ([], [alert_id], 0)
    alert = tower.alert(alert_id)
    assert alert.subject == "westcoast: 17 orders stuck past their ship due time"
    assert alert.message.startswith("17 orders released to westcoast")
    assert alert.details == {"count": 17}
    assert (alert.opened_at, alert.last_seen_at, alert.notified_at) == (
        T0,
        T0 + minutes(15),
        T0,
    )
    assert tower.details(alert_id, "updated") == [
        "message changed: westcoast: 17 orders stuck past their ship due time"
    ]
    tower.run(T0 + minutes(30), [stuck(17)])
    assert len(tower.details(alert_id, "updated")) == 1  # the same message: no new step
    both = tower.run(T0 + minutes(45), [stuck(17), stuck(3, "eastbridge")])
    assert len(both.opened) == 1
    assert both.refreshed == [alert_id]
    with tower.store.connect() as connection:
        assert count_alerts(connection) == 2
        assert count_alerts(connection, providers=["westcoast"]) == 1
    assert [m.rcpt_tos for m in tower.inbox.messages] == [[DANA], [DANA]]


# ---------------------------------------------------------------------------- escalation


def test_an_unacknowledged_alert_climbs_the_chain_and_stops_at_its_end(tower: Tower) -> None:
    (alert_id,) = tower.run(T0, [stuck()]).opened
    assert tower.run(T0 + minutes(59), [stuck()]).escalated == []
    assert len(tower.inbox.messages) == 1

    up = tower.run(T0 + minutes(61), [stuck()])
    assert (up.escalated, up.notified, up.sent) == ([alert_id], [alert_id], 1)
    (to_sam,) = tower.inbox.to(SAM)
    assert to_sam.subject == (
        "[tallyclerk PAGE, escalated] westcoast: 14 orders stuck past their ship due time"
    )
    assert "Nobody acknowledged this alert within 60 minutes; you are next" in to_sam.text
    assert (
        "You are contact 2 of 3 for this alert. If nobody acknowledges it within 60 minutes, "
        "it goes to Lee Park (director)." in to_sam.text
    )
    assert len(tower.receiver.hooks) == 1  # Sam has no webhook
    alert = tower.alert(alert_id)
    assert (alert.level, alert.notified_at) == (1, T0 + minutes(61))
    assert tower.events(alert_id)[-2:] == [
        ("escalated", "ops-lead", None),
        ("notified", "ops-lead", "email"),
    ]
    assert tower.details(alert_id, "escalated") == [
        "level 1: not acknowledged 61 minutes after it was sent (escalates after 60 minutes)"
    ]

    assert tower.run(T0 + minutes(120), [stuck()]).escalated == []  # 59 minutes after Sam
    top = tower.run(T0 + minutes(122), [stuck()])
    assert top.escalated == [alert_id]
    (to_lee,) = tower.inbox.to(LEE)
    assert "You are the last contact of this alert's chain (3 of 3)." in to_lee.text
    for later in (300, 1000, 5000):
        run = tower.run(T0 + minutes(later), [stuck()])
        assert (run.escalated, run.sent) == ([], 0)
    assert [m.rcpt_tos for m in tower.inbox.messages] == [[DANA], [SAM], [LEE]]
    assert tower.alert(alert_id).level == 2

    gone = tower.run(T0 + minutes(5001), [])
    assert (gone.resolved, gone.cleared) == ([alert_id], [alert_id])
    assert [m.rcpt_tos for m in tower.inbox.messages] == [[DANA], [SAM], [LEE], [LEE]]
    assert tower.inbox.messages[-1].subject.startswith("[tallyclerk cleared] westcoast")


def test_a_rule_with_its_own_chain_and_delay(
    store: Store, settings: Settings, inbox: Inbox, receiver: HookReceiver
) -> None:
    own = "  - {name: deadline, kind: dispute_deadline, chain: [director, liaison], "
    own += "escalate_after_minutes: 15}"
    tower = Tower(store, settings, inbox, receiver, rules=own)
    signal = Signal(
        rule="deadline",
        kind="dispute_deadline",
        cause="deadline:DSP-000004",
        severity="warn",
        provider_id="westcoast",
        subject="westcoast: dispute DSP-000004 due an answer in 5 hours",
        message="westcoast: dispute DSP-000004 is due an answer in 5 hours.",
    )
    (alert_id,) = tower.run(T0, [signal]).opened
    assert [m.rcpt_tos for m in inbox.messages] == [[LEE]]
    assert "Look at it" not in inbox.messages[0].text  # the signal names no page
    assert tower.run(T0 + minutes(14), [signal]).escalated == []
    assert tower.run(T0 + minutes(15), [signal]).escalated == [alert_id]
    assert [m.rcpt_tos for m in inbox.messages] == [[LEE], [DANA]]
    assert len(receiver.hooks) == 1  # Dana's webhook too
    assert tower.run(T0 + minutes(60), [signal]).escalated == []  # the end of this chain


def test_an_acknowledged_alert_never_escalates(tower: Tower) -> None:
    (alert_id,) = tower.run(T0, [stuck()]).opened
    with tower.store.begin() as connection:
        acked = acknowledge_alert(connection, alert_id, by="dana", now=T0 + minutes(10))
    assert (acked.status, acked.acknowledged_by) == ("acknowledged", "dana")
    assert acked.acknowledged_at == T0 + minutes(10)
    for later in (61, 120, 600):
        run = tower.run(T0 + minutes(later), [stuck()])
        assert (run.escalated, run.sent, run.refreshed) == ([], 0, [alert_id])
    assert tower.alert(alert_id).level == 0
    with tower.store.begin() as connection:  # acknowledging again keeps the first one
        again = acknowledge_alert(connection, alert_id, by="sam", now=T0 + minutes(700))
    assert (again.acknowledged_by, again.acknowledged_at) == ("dana", T0 + minutes(10))
    assert tower.details(alert_id, "acknowledged") == ["by dana"]

    gone = tower.run(T0 + minutes(800), [])
    assert gone.cleared == [alert_id]  # Dana was told it opened, so she is told it cleared
    assert [m.rcpt_tos for m in tower.inbox.messages] == [[DANA], [DANA]]
    with tower.store.begin() as connection, pytest.raises(InputError) as caught:
        acknowledge_alert(connection, alert_id, by="dana")
    assert (
        str(caught.value)
        == f"alert {alert_id} is resolved already; there is nothing to acknowledge"
    )


def test_acknowledgement_links(tower: Tower) -> None:
    (first,) = tower.run(T0, [stuck()]).opened
    (second,) = tower.run(T0 + minutes(1), [stuck(), silent()]).opened
    dana_link = ack_link(tower.inbox.messages[0])
    silent_link = ack_link(tower.inbox.messages[1])
    assert dana_link[0] == first
    assert silent_link[0] == second
    tower.run(T0 + minutes(61), [stuck(), silent()])
    sam_link = ack_link(tower.inbox.to(SAM)[0])
    assert sam_link[0] == first
    assert len({dana_link[1], silent_link[1], sam_link[1]}) == 3
    with tower.store.connect() as connection:
        digests = (stored_token_hashes(connection, first) or "").split()
    assert digests == [token_hash(dana_link[1]), token_hash(sam_link[1])]

    with tower.store.begin() as connection:
        for alert_id, token in (
            (first, "not-the-token"),
            (first, ""),
            (first, silent_link[1]),  # another alert's token
            (second, dana_link[1]),
            (99999, dana_link[1]),  # no such alert: the same answer
        ):
            with pytest.raises(InputError) as caught:
                acknowledge_by_token(connection, alert_id, token)
            assert str(caught.value) == LINK_INVALID
    with tower.store.begin() as connection:
        acked = acknowledge_by_token(connection, first, dana_link[1], now=T0 + minutes(70))
    assert (acked.status, acked.acknowledged_by, acked.acknowledged_at) == (
        "acknowledged",
        "link",
        T0 + minutes(70),
    )
    with tower.store.begin() as connection:  # Sam's link still works, and changes nothing
        again = acknowledge_by_token(connection, first, sam_link[1], now=T0 + minutes(80))
    assert again.acknowledged_at == T0 + minutes(70)
    assert tower.details(first, "acknowledged") == ["by link"]
    assert tower.run(T0 + minutes(200), [stuck(), silent()]).escalated == [second]
    assert tower.alert(first).level == 1


# ---------------------------------------------------------------------------- resolution


def test_a_cause_that_goes_away_resolves_and_its_contact_hears_it_cleared(tower: Tower) -> None:
    (alert_id,) = tower.run(T0, [stuck()]).opened
    gone = tower.run(T0 + minutes(30), [])
    assert (gone.resolved, gone.cleared, gone.sent, gone.failed) == (
        [alert_id],
        [alert_id],
        2,
        [],
    )
    alert = tower.alert(alert_id)
    assert (alert.status, alert.resolved_at) == ("resolved", T0 + minutes(30))
    cleared = tower.inbox.messages[1]
    assert cleared.rcpt_tos == [DANA]
    assert cleared.subject == (
        "[tallyclerk cleared] westcoast: 14 orders stuck past their ship due time"
    )
    assert (
        "As of 2026-03-20 14:30 UTC the rule stuck no longer finds this condition, so alert "
        f"{alert_id} is resolved. Nothing more to do." in cleared.text
    )
    assert ACK_LINK.search(cleared.text) is None
    body = tower.receiver.hooks[1].body
    assert (body["event"], body["ack_url"], body["alert"]["status"]) == (
        "clear",
        None,
        "resolved",
    )
    assert tower.events(alert_id)[3:] == [
        ("resolved", None, None),
        ("notified", "liaison", "email"),
        ("notified", "liaison", "webhook:ops"),
    ]
    assert tower.details(alert_id, "resolved") == ["no longer detected"]

    assert tower.run(T0 + minutes(31), []).sent == 0
    back = tower.run(T0 + minutes(60), [stuck()])
    (reopened,) = back.opened
    assert reopened != alert_id  # a cause that comes back is a new alert
    assert len(tower.inbox.messages) == 3


def test_the_alerts_of_a_rule_removed_from_the_file_resolve_quietly(tower: Tower) -> None:
    (alert_id,) = tower.run(T0, [silent()]).opened
    without = parse_rules(
        rules_text(tower.inbox.port, tower.receiver.url).replace(
            "  - {name: silent, kind: source_silent, hours: 12}\n", ""
        )
    )
    assert without.rule("silent") is None
    run = tower.run(T0 + minutes(10), [silent()], rules=without)
    assert (run.resolved, run.cleared, run.opened, run.sent) == ([alert_id], [], [], 0)
    assert tower.details(alert_id, "resolved") == ["rule removed"]
    assert any("ignored a signal of rule 'silent'" in line for line in run.lines)
    assert len(tower.inbox.messages) == 1


# ---------------------------------------------------------------------------- quiet hours


def test_quiet_hours_defer_a_warning_and_let_a_page_through(
    store: Store, settings: Settings, inbox: Inbox, receiver: HookReceiver
) -> None:
    tower = Tower(store, settings, inbox, receiver, quiet=NEW_YORK_QUIET)
    night = datetime(2026, 3, 21, 3, 30, tzinfo=UTC)  # 23:30 in New York
    run = tower.run(night, [stuck(), silent()])
    page, warn = run.opened
    assert (run.notified, run.deferred) == ([page], [warn])
    assert [m.subject[:18] for m in inbox.messages] == ["[tallyclerk PAGE] "]
    assert tower.events(warn) == [("opened", None, None), ("deferred", "liaison", None)]
    assert tower.details(warn, "deferred") == [
        "notification held by the quiet hours until 07:00 America/New_York"
    ]
    assert tower.alert(warn).notified_at is None

    later = tower.run(night + minutes(61), [stuck(), silent()])  # 00:31: pages still escalate
    assert (later.escalated, later.deferred) == ([page], [warn])
    assert [m.rcpt_tos for m in inbox.messages] == [[DANA], [SAM]]
    with store.begin() as connection:
        acknowledge_alert(connection, page, by="sam", now=night + minutes(65))
    dawn = datetime(2026, 3, 21, 10, 59, tzinfo=UTC)  # 06:59
    assert tower.run(dawn, [stuck(), silent()]).sent == 0
    assert len(tower.details(warn, "deferred")) == 1  # deferred once

    morning = tower.run(datetime(2026, 3, 21, 11, 0, tzinfo=UTC), [stuck(), silent()])
    assert (morning.notified, morning.deferred, morning.sent) == ([warn], [], 2)
    sent = inbox.messages[-1]
    assert sent.subject == "[tallyclerk warn] eastbridge: no data received for 13 hours"
    assert tower.alert(warn).notified_at == datetime(2026, 3, 21, 11, 0, tzinfo=UTC)
    # The token made when the alert opened never went out: the one sent replaced it.
    linked, token = ack_link(sent)
    assert linked == warn
    with store.begin() as connection:
        assert stored_token_hashes(connection, warn) == token_hash(token)
        assert acknowledge_by_token(connection, warn, token).acknowledged_by == "link"


def test_quiet_hours_hold_a_warnings_escalation_and_its_all_clear(
    store: Store, settings: Settings, inbox: Inbox, receiver: HookReceiver
) -> None:
    tower = Tower(store, settings, inbox, receiver, quiet=NEW_YORK_QUIET)
    evening = datetime(2026, 3, 21, 1, 0, tzinfo=UTC)  # 21:00 in New York
    (warn,) = tower.run(evening, [silent()]).opened
    assert [m.rcpt_tos for m in inbox.messages] == [[DANA]]
    held = tower.run(evening + minutes(90), [silent()])  # 22:30: due, but quiet
    assert (held.escalated, held.deferred, held.sent) == ([], [warn], 0)
    assert tower.events(warn)[-1] == ("deferred", "ops-lead", None)
    assert tower.details(warn, "deferred") == [
        "escalation held by the quiet hours until 07:00 America/New_York"
    ]
    tower.run(evening + minutes(300), [silent()])  # 02:00
    assert len(tower.details(warn, "deferred")) == 1
    morning = tower.run(datetime(2026, 3, 21, 11, 0, tzinfo=UTC), [silent()])
    assert morning.escalated == [warn]
    assert [m.rcpt_tos for m in inbox.messages] == [[DANA], [SAM]]

    night = datetime(2026, 3, 22, 3, 0, tzinfo=UTC)  # 23:00 the next evening
    gone = tower.run(night, [])
    assert (gone.resolved, gone.cleared, gone.sent) == ([warn], [], 0)
    assert any("all-clear to ops-lead not sent: quiet hours" in line for line in gone.lines)
    assert len(inbox.messages) == 2


# ---------------------------------------------------------------------------- failures


@pytest.fixture
def down() -> Iterator[Inbox]:
    """An SMTP server on a free port, not started: nobody listens there until `start()`."""
    server = Inbox(free_port())
    try:
        yield server
    finally:
        server.stop()


def test_a_channel_that_fails_is_recorded_and_tried_again(
    store: Store, settings: Settings, receiver: HookReceiver, down: Inbox
) -> None:
    port = down.port
    tower = Tower(store, settings, down, receiver)
    run = tower.run(T0, [stuck()])
    (alert_id,) = run.opened
    assert (run.failed, run.notified, run.sent) == ([alert_id], [alert_id], 1)
    assert tower.events(alert_id) == [
        ("opened", None, None),
        ("failed", "liaison", "email"),
        ("notified", "liaison", "webhook:ops"),
    ]
    (reason,) = tower.details(alert_id, "failed")
    assert reason is not None
    assert reason.startswith(f"email to {DANA} through 127.0.0.1:{port} failed:")
    assert any(line.startswith(f"FAILED alert {alert_id}: email to liaison") for line in run.lines)
    assert tower.alert(alert_id).notified_at == T0  # the webhook reached Dana

    down.start()
    retry = tower.run(T0 + minutes(5), [stuck()])
    assert (retry.failed, retry.notified, retry.sent) == ([], [alert_id], 1)
    assert [m.rcpt_tos for m in down.messages] == [[DANA]]
    assert len(receiver.hooks) == 1  # the webhook is not sent again
    assert tower.run(T0 + minutes(10), [stuck()]).sent == 0
    # Dana's two links, from the webhook and from the email sent later, both work.
    email_token = ack_link(down.messages[0])[1]
    hook_token = str(receiver.hooks[0].body["ack_url"]).rsplit("=", 1)[1]
    assert email_token != hook_token
    with store.connect() as connection:
        digests = (stored_token_hashes(connection, alert_id) or "").split()
    assert digests == [token_hash(hook_token), token_hash(email_token)]


def test_a_contact_no_channel_reaches_is_tried_again_before_any_escalation(
    store: Store, settings: Settings, receiver: HookReceiver, down: Inbox
) -> None:
    receiver.status = 503
    tower = Tower(store, settings, down, receiver)
    first = tower.run(T0, [stuck()])
    (alert_id,) = first.opened
    assert (first.failed, first.notified, first.sent) == ([alert_id], [], 0)
    alert = tower.alert(alert_id)
    assert alert.notified_at is None
    with store.begin() as connection:
        assert stored_token_hashes(connection, alert_id) is None  # no link went out
        with pytest.raises(InputError):
            acknowledge_by_token(connection, alert_id, "anything")
    assert tower.run(T0 + minutes(5), [stuck()]).failed == [alert_id]
    assert [e[0] for e in tower.events(alert_id)] == ["opened"] + ["failed"] * 4

    down.start()
    receiver.status = 200
    ok = tower.run(T0 + minutes(10), [stuck()])
    assert (ok.failed, ok.notified, ok.sent) == ([], [alert_id], 2)
    assert tower.alert(alert_id).notified_at == T0 + minutes(10)
    token = ack_link(down.messages[0])[1]
    with store.connect() as connection:
        assert stored_token_hashes(connection, alert_id) == token_hash(token)
    # The escalation clock starts when Dana was reached, not when the alert opened.
    assert tower.run(T0 + minutes(69), [stuck()]).escalated == []
    assert tower.run(T0 + minutes(70), [stuck()]).escalated == [alert_id]


# ---------------------------------------------------------------------------- reading, dry runs


def test_alerts_are_listed_open_pages_first_then_newest_first(tower: Tower) -> None:
    (a1,) = tower.run(T0, [silent("eastbridge")]).opened
    (a2,) = tower.run(T0 + minutes(1), [silent("eastbridge"), silent("westcoast")]).opened
    both = [silent("eastbridge"), silent("westcoast"), stuck(provider="westcoast")]
    (a3,) = tower.run(T0 + minutes(2), both).opened
    last = [silent("eastbridge"), stuck(provider="westcoast"), stuck(provider="eastbridge")]
    run = tower.run(T0 + minutes(3), last)
    (a4,) = run.opened
    assert run.resolved == [a2]
    with tower.store.begin() as connection:
        acknowledge_alert(connection, a4, by="dana", now=T0 + minutes(4))

    def ids(**kwargs: object) -> list[int]:
        with tower.store.connect() as connection:
            return [a.alert_id for a in list_alerts(connection, **kwargs)]  # type: ignore[arg-type]

    assert ids() == [a3, a4, a2, a1]
    assert ids(statuses=["open"]) == [a3, a1]
    assert ids(statuses=["open", "acknowledged"]) == [a3, a4, a1]
    assert ids(providers=["eastbridge"]) == [a4, a1]
    assert ids(limit=2, offset=1) == [a4, a2]
    with tower.store.connect() as connection:
        assert count_alerts(connection) == 4
        assert count_alerts(connection, statuses=["resolved"]) == 1
        assert count_alerts(connection, statuses=["open"], providers=["westcoast"]) == 1
        with pytest.raises(InputError, match="alert status 'closed' is not one of"):
            list_alerts(connection, statuses=["closed"])
        with pytest.raises(NotFoundError, match="no alert 999"):
            get_alert(connection, 999)
        document = get_alert(connection, a4).as_dict()
        assert document["acknowledged_at"] == "2026-03-20T14:04:00+00:00"
        assert document["notified_at"] == "2026-03-20T14:03:00+00:00"
        assert document["resolved_at"] is None
        events = [e.as_dict() for e in alert_events(connection, a2)]
    assert [e["event"] for e in events] == [
        "opened",
        "notified",
        "notified",
        "resolved",
        "notified",
        "notified",
    ]
    assert events[3]["happened_at"] == "2026-03-20T14:03:00+00:00"


def test_a_dry_run_changes_and_sends_nothing(tower: Tower) -> None:
    dry = run_alerts(
        tower.store, tower.rules, tower.settings, now=T0, signals=[stuck()], dry_run=True
    )
    assert dry.dry_run
    assert len(dry.opened) == 1
    assert dry.sent == 0
    assert dry.lines[0] == (
        "would open an alert (page) for stuck:westcoast: westcoast: 14 orders stuck past "
        "their ship due time"
    )
    assert dry.lines[1].endswith("(notification) to liaison by email, webhook:ops")
    assert dry.lines[1].startswith("would send alert ")
    assert dry.summary().startswith("dry run: would have 1 opened")
    with tower.store.connect() as connection:
        assert count_alerts(connection) == 0
    assert tower.inbox.messages == []
    assert tower.receiver.hooks == []

    (alert_id,) = tower.run(T0, [stuck()]).opened
    before = tower.events(alert_id)
    later = run_alerts(
        tower.store,
        tower.rules,
        tower.settings,
        now=T0 + minutes(61),
        signals=[stuck()],
        dry_run=True,
    )
    assert later.escalated == [alert_id]
    assert any(line.startswith(f"would escalate alert {alert_id}") for line in later.lines)
    assert tower.alert(alert_id).level == 0
    assert tower.events(alert_id) == before
    assert len(tower.inbox.messages) == 1


@pytest.mark.postgres
def test_two_runs_at_once_on_postgresql_send_once(
    postgres_url: str, inbox: Inbox, receiver: HookReceiver
) -> None:
    settings = Settings(database_url=postgres_url)
    store = open_store(settings)
    try:
        tower = Tower(store, settings, inbox, receiver)
        start = threading.Barrier(2)
        runs: list[AlertRun] = []

        def run() -> None:
            start.wait()
            runs.append(tower.run(T0, [stuck()]))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(runs) == 2
        assert sorted(len(r.opened) for r in runs) == [0, 1]
        assert sum(r.sent for r in runs) == 2
        assert [m.rcpt_tos for m in inbox.messages] == [[DANA]]
        assert len(receiver.hooks) == 1
        with store.connect() as connection:
            assert count_alerts(connection) == 1
    finally:
        store.close()
