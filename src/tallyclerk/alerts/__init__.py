"""Alerts: rules over the store's figures, sent by email and webhook, escalated until someone
acknowledges them.

- `_rules.py`: the rules file (contacts, channels, escalation chain, quiet hours, rules);
- `_detect.py`: each rule's signals from the store at a clock;
- `_repository.py`: alerts kept one open per cause, their events, acknowledgement tokens;
- `_channels.py`: email over SMTP and signed JSON webhooks;
- `_engine.py`: `run_alerts`, idempotent: open, refresh, resolve, notify, escalate.
"""

from __future__ import annotations

from tallyclerk.alerts._channels import (
    ChannelError,
    RealSender,
    Sender,
    sign_webhook,
    verify_webhook_signature,
)
from tallyclerk.alerts._detect import detect, refresh
from tallyclerk.alerts._engine import AlertRun, run_alerts
from tallyclerk.alerts._repository import (
    ALERT_STATUSES,
    Alert,
    AlertEvent,
    acknowledge_alert,
    acknowledge_by_token,
    alert_events,
    count_alerts,
    get_alert,
    list_alerts,
)
from tallyclerk.alerts._rules import (
    RULE_KINDS,
    SEVERITIES,
    AlertRules,
    Contact,
    Rule,
    RulesError,
    load_rules,
    parse_rules,
)
from tallyclerk.alerts._types import Signal

__all__ = [
    "ALERT_STATUSES",
    "RULE_KINDS",
    "SEVERITIES",
    "Alert",
    "AlertEvent",
    "AlertRules",
    "AlertRun",
    "ChannelError",
    "Contact",
    "RealSender",
    "Rule",
    "RulesError",
    "Sender",
    "Signal",
    "acknowledge_alert",
    "acknowledge_by_token",
    "alert_events",
    "count_alerts",
    "detect",
    "get_alert",
    "list_alerts",
    "load_rules",
    "parse_rules",
    "refresh",
    "run_alerts",
    "sign_webhook",
    "verify_webhook_signature",
]
