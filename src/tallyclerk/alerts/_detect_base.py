"""What every rule kind's detection shares: the clock, the signal builder, plain figures."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tallyclerk.alerts._rules import Rule, Severity
from tallyclerk.alerts._types import Signal
from tallyclerk.settings import Settings

STORE = "store"  # how a cause and a subject name what belongs to no provider
SAMPLE_IDS = 5  # ids named in a message (the details hold as many)
CENTS = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Clock:
    """What a rule is judged at: the run's clock (UTC) and the brand's settings."""

    now: datetime
    settings: Settings


# One rule kind's detection: the rule, read on an open connection at the clock.
Detector = Callable[[sa.Connection, Rule, Clock], list[Signal]]


def utc(value: datetime | None) -> datetime | None:
    """A stored timestamp as UTC-aware (DuckDB may hand back naive UTC values)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_signal(
    rule: Rule,
    about: Sequence[str],
    *,
    provider_id: str | None,
    subject: str,
    message: str,
    link: str | None,
    details: dict[str, Any],
    severity: Severity | None = None,
) -> Signal:
    """A signal of the rule; its cause is the rule's name, then `about`, joined by ':'."""
    return Signal(
        rule=rule.name,
        kind=rule.kind,
        cause=":".join([rule.name, *about]),
        severity=severity or rule.severity,
        provider_id=provider_id,
        subject=subject,
        message=message,
        link=link,
        details=details,
    )


def who(provider_id: str | None) -> str:
    """How a subject starts: the provider, or `store` for what belongs to none."""
    return provider_id or STORE


def plural(count: int, singular: str, many: str | None = None) -> str:
    """`1 order`, `14 orders` (thousands separated)."""
    word = singular if count == 1 else (many or singular + "s")
    return f"{count:,} {word}"


def hours_text(hours: float) -> str:
    """A duration for people: minutes under an hour, else whole hours."""
    if hours < 1:
        minutes = max(0, math.floor(hours * 60))
        return plural(minutes, "minute")
    return plural(math.floor(hours), "hour")


def hours_between(start: datetime, end: datetime) -> float:
    """Hours from `start` to `end` (negative when `end` is earlier)."""
    return (end - start).total_seconds() / 3600


def when_text(moment: datetime) -> str:
    """A moment as `2026-03-19 12:00 UTC`."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def money_text(amount: Decimal, currency: str | None) -> str:
    """`USD 1,234.50` (the currency left out when unknown)."""
    text = f"{amount.quantize(CENTS):,}"
    return f"{currency} {text}" if currency else text


def money_value(amount: Decimal) -> str:
    """An amount for the details: plain text to the cent, e.g. `1234.50`."""
    return str(amount.quantize(CENTS))


def ids_text(ids: Sequence[str], total: int) -> str:
    """`ORD-1, ORD-2, ...`: the ids named, with an ellipsis when there are more."""
    shown = ", ".join(ids)
    return shown + (", ..." if total > len(ids) else "")


def rate_text(value: float | None) -> str:
    """A burn rate as `2.5x` (`no data`, or `unbounded` against a budget of zero)."""
    if value is None:
        return "no data"
    if not math.isfinite(value):
        return "unbounded"
    return f"{value:.1f}x"


def finite(value: float | None) -> float | None:
    """A float fit for JSON: None for a missing or infinite value."""
    return value if value is not None and math.isfinite(value) else None
