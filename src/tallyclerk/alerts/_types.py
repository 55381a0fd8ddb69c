"""What a rule sees: one `Signal` per cause that is true now."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tallyclerk.alerts._rules import Severity


@dataclass(frozen=True, slots=True)
class Signal:
    """A condition a rule found in the store at the run's clock.

    `cause` identifies it across runs (one open alert per cause): the rule's name, then what
    it is about, e.g. `burn:eastbridge:ship_on_time_rate:2026-11` or `silent:westcoast`. It
    must not hold figures that change from run to run (counts, amounts): those belong in the
    message and details, which are refreshed on the open alert.
    """

    rule: str
    kind: str
    cause: str
    severity: Severity
    provider_id: str | None
    subject: str  # one line, e.g. "eastbridge: 14 orders stuck past their ship due time"
    message: str  # a few sentences with the figures and what to do
    link: str | None = None  # a dashboard path to look at, e.g. /providers/eastbridge
    details: dict[str, Any] = field(default_factory=dict)  # JSON values
