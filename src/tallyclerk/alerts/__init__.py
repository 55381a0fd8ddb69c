"""Alerts: rules over the store's figures, sent by email and webhook, escalated until someone
acknowledges them.

- `_rules.py`: the rules file (contacts, channels, escalation chain, quiet hours, rules);
- `_detect.py`: each rule's signals from the store at a clock;
- `_repository.py`: alerts kept one open per cause, their events, acknowledgement tokens;
- `_channels.py`: email over SMTP and signed JSON webhooks;
- `_engine.py`: `run_alerts`, idempotent: open, refresh, resolve, notify, escalate.
"""

from __future__ import annotations

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
    "RULE_KINDS",
    "SEVERITIES",
    "AlertRules",
    "Contact",
    "Rule",
    "RulesError",
    "Signal",
    "load_rules",
    "parse_rules",
]
