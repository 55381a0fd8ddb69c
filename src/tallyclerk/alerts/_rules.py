"""The alert rules file: who is told, how, when to escalate, and what to watch.

```yaml
contacts:                       # people, by a short name
  liaison:  {name: Dana Ruiz, email: dana@brand.example, webhook: ops}
  ops-lead: {name: Sam Ito, email: sam@brand.example}
channels:
  email: {host: 127.0.0.1, port: 25, sender: alerts@brand.example}
  webhooks:
    ops: {url: "https://hooks.slack.com/services/...", secret_env: OPS_HOOK_SECRET}
escalation: {chain: [liaison, ops-lead], after_minutes: 60}
quiet_hours: {start: "22:00", end: "07:00", timezone: America/New_York}
ack_base_url: http://127.0.0.1:8000
rules:
  - {name: burn, kind: burn_rate}
  - {name: stuck, kind: stuck_orders, older_than_hours: 24, min_count: 5, severity: page}
  - {name: silent, kind: source_silent, hours: 12}
```

A rule sends to its own `chain` when it has one, else to the escalation chain. The first
contact is told when the alert opens; when nobody acknowledges it within `after_minutes`,
the next contact of the chain is told, and so on to the end of the chain. Inside quiet hours
only alerts of severity `page` go out; the others wait for the quiet hours to end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tallyclerk.contracts._located import LocatedIssue, parse_located, render_issues, sort_issues
from tallyclerk.contracts._values import describe, fail
from tallyclerk.errors import InputError

Severity = Literal["warn", "page"]
SEVERITIES: tuple[Severity, ...] = ("warn", "page")

RuleKind = Literal[
    "burn_rate",
    "stuck_orders",
    "no_first_scan",
    "inventory_variance",
    "overbilling",
    "capacity_risk",
    "source_silent",
    "dispute_deadline",
]
RULE_KINDS: tuple[RuleKind, ...] = (
    "burn_rate",
    "stuck_orders",
    "no_first_scan",
    "inventory_variance",
    "overbilling",
    "capacity_risk",
    "source_silent",
    "dispute_deadline",
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(_Strict):
    """A person alerts reach: by email, by a webhook channel, or both."""

    name: str = Field(min_length=1)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    webhook: str | None = None  # the name of a channel under channels.webhooks


class EmailChannel(_Strict):
    """An SMTP server to send alert emails through."""

    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None  # the environment variable holding the password
    timeout_seconds: float = Field(default=10.0, gt=0)


class WebhookChannel(_Strict):
    """A URL alerts are POSTed to as JSON (a Slack-compatible body), signed with HMAC-SHA256."""

    url: str = Field(pattern=r"^https?://")
    secret_env: str | None = None  # the environment variable holding the HMAC secret
    timeout_seconds: float = Field(default=10.0, gt=0)


class Channels(_Strict):
    email: EmailChannel | None = None
    webhooks: dict[str, WebhookChannel] = {}


class Escalation(_Strict):
    """Who is told first, and after how long without acknowledgement the next one is."""

    chain: list[str] = Field(min_length=1)
    after_minutes: float = Field(default=60.0, gt=0)


class QuietHours(_Strict):
    """A daily window (it may span midnight) in which only `page` alerts go out."""

    start: str
    end: str
    timezone: str = "UTC"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            fail(f"must be a time of day like 22:00, got {describe(value)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            fail(f"must be a time zone like America/New_York, got {describe(value)}")
        return value

    @property
    def start_time(self) -> time:
        return time.fromisoformat(self.start)

    @property
    def end_time(self) -> time:
        return time.fromisoformat(self.end)


class Rule(_Strict):
    """One thing to watch. Only the thresholds of the rule's kind apply; the others are refused."""

    name: str
    kind: RuleKind
    severity: Severity = "warn"  # burn_rate takes the burn state's own (warn or page)
    providers: list[str] | None = None  # None: every provider
    chain: list[str] | None = None  # None: the escalation chain
    escalate_after_minutes: float | None = Field(default=None, gt=0)
    # burn_rate
    states: list[Literal["warn", "page"]] | None = None  # default: both
    metrics: list[str] | None = None  # default: every contracted metric
    # stuck_orders, no_first_scan
    older_than_hours: float | None = Field(default=None, ge=0)
    min_count: int | None = Field(default=None, ge=1)
    # inventory_variance (min_value), overbilling (min_amount), in the brand's currency
    min_value: float | None = Field(default=None, ge=0)
    min_amount: float | None = Field(default=None, ge=0)
    # capacity_risk
    weeks: int | None = Field(default=None, ge=1, le=26)
    # source_silent, dispute_deadline
    hours: float | None = Field(default=None, gt=0)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            fail(
                "must be lower-case letters, digits, '-', '_' or '.', starting with a letter or "
                f"digit, got {describe(value)}"
            )
        return value


# The thresholds each kind reads; the defaults apply when the rule leaves them out.
KIND_FIELDS: dict[str, dict[str, float | int | None]] = {
    "burn_rate": {"states": None, "metrics": None},
    "stuck_orders": {"older_than_hours": 24.0, "min_count": 1},
    "no_first_scan": {"older_than_hours": 0.0, "min_count": 1},
    "inventory_variance": {"min_value": 0.0},
    "overbilling": {"min_amount": 0.0},
    "capacity_risk": {"weeks": 6},
    "source_silent": {"hours": 24.0},
    "dispute_deadline": {"hours": 24.0},
}
_THRESHOLDS = (
    "states",
    "metrics",
    "older_than_hours",
    "min_count",
    "min_value",
    "min_amount",
    "weeks",
    "hours",
)


def threshold(rule: Rule, name: str) -> float:
    """A numeric threshold of the rule, or its kind's default."""
    value = getattr(rule, name)
    if value is None:
        default = KIND_FIELDS[rule.kind].get(name)
        if default is None:
            raise KeyError(f"{rule.kind} has no threshold {name}")
        return float(default)
    return float(value)


class AlertRules(_Strict):
    """The whole rules file."""

    contacts: dict[str, Contact] = Field(min_length=1)
    channels: Channels = Channels()
    escalation: Escalation
    quiet_hours: QuietHours | None = None
    ack_base_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://")
    rules: list[Rule] = Field(min_length=1)

    def chain_of(self, rule: Rule) -> list[Contact]:
        """The contacts a rule's alerts reach, in escalation order."""
        return [self.contacts[name] for name in (rule.chain or self.escalation.chain)]

    def escalate_after(self, rule: Rule) -> float:
        """Minutes an alert of the rule waits for acknowledgement before going up the chain."""
        return rule.escalate_after_minutes or self.escalation.after_minutes

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)


# One problem in a rules file: file, line, dotted key, message.
RulesIssue = LocatedIssue


class RulesError(InputError):
    """A rules file that cannot be used; `errors` lists every problem found, in file order."""

    def __init__(self, errors: Iterable[RulesIssue]) -> None:
        self.errors: list[RulesIssue] = sort_issues(errors)
        super().__init__(render_issues(self.errors, "alert rules"))


def _cross_check(rules: AlertRules) -> list[tuple[tuple[str | int, ...], str]]:
    out: list[tuple[tuple[str | int, ...], str]] = []
    known = sorted(rules.contacts)
    webhooks = rules.channels.webhooks
    for name, contact in rules.contacts.items():
        if contact.email is None and contact.webhook is None:
            out.append((("contacts", name), "needs an email or a webhook to be reached"))
        if contact.email is not None and rules.channels.email is None:
            out.append((("contacts", name, "email"), "has an email but channels.email is not set"))
        if contact.webhook is not None and contact.webhook not in webhooks:
            out.append(
                (
                    ("contacts", name, "webhook"),
                    "names no channel under channels.webhooks "
                    f"({', '.join(sorted(webhooks)) or 'none'})",
                )
            )
    for i, name in enumerate(rules.escalation.chain):
        if name not in rules.contacts:
            out.append(
                (("escalation", "chain", i), f"{name!r} is not a contact ({', '.join(known)})")
            )
    seen: set[str] = set()
    for i, rule in enumerate(rules.rules):
        if rule.name in seen:
            out.append((("rules", i, "name"), f"another rule is already named {rule.name!r}"))
        seen.add(rule.name)
        for j, name in enumerate(rule.chain or []):
            if name not in rules.contacts:
                out.append(
                    (("rules", i, "chain", j), f"{name!r} is not a contact ({', '.join(known)})")
                )
        own = KIND_FIELDS[rule.kind]
        article = "an" if rule.kind[0] in "aeiou" else "a"
        for field_name in _THRESHOLDS:
            if getattr(rule, field_name) is not None and field_name not in own:
                takes = ", ".join(own) or "no thresholds"
                out.append(
                    (
                        ("rules", i, field_name),
                        f"does not apply to {article} {rule.kind} rule (it takes {takes})",
                    )
                )
    return out


def parse_rules(text: str, source: str = "<alert rules>") -> AlertRules:
    """Validate rules YAML; raise RulesError listing every problem found."""
    rules, issues = parse_located(text, source, AlertRules, "alert rules", check=_cross_check)
    if issues or rules is None:
        raise RulesError(issues)
    return rules


def load_rules(path: Path) -> AlertRules:
    """Read and validate a rules file; raise RulesError listing every problem found."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"the file is not UTF-8 text (byte {exc.start})"
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
    else:
        return parse_rules(text, str(path))
    raise RulesError([RulesIssue(str(path), None, "", message)])


__all__ = [
    "KIND_FIELDS",
    "RULE_KINDS",
    "SEVERITIES",
    "AlertRules",
    "Channels",
    "Contact",
    "EmailChannel",
    "Escalation",
    "QuietHours",
    "Rule",
    "RuleKind",
    "RulesError",
    "RulesIssue",
    "Severity",
    "WebhookChannel",
    "load_rules",
    "parse_rules",
    "threshold",
]
