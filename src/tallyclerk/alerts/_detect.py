"""Each rule's signals from the store at a clock, and bringing the kept figures up to it.

`detect` only reads: the findings the reconciliation and the invoice audit keep, the burn
states the SLA evaluation records while a month is open, the latest kept forecast run, the
ingestion batches and the disputes. `refresh` brings the first two up to the clock first
(the alert engine runs it before detection when `alerts.refresh` is on).

One signal per cause, in rule order and then by cause; see `Signal` for what a cause may hold.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tallyclerk.alerts._detect_base import Clock, Detector, when_text
from tallyclerk.alerts._detect_findings import (
    inventory_variance,
    no_first_scan,
    overbilling,
    stuck_orders,
)
from tallyclerk.alerts._detect_watch import (
    burn_rate,
    capacity_risk,
    dispute_deadline,
    source_silent,
)
from tallyclerk.alerts._rules import AlertRules
from tallyclerk.alerts._types import Signal
from tallyclerk.reconcile import DOMAINS, run_findings
from tallyclerk.settings import Settings
from tallyclerk.sla import evaluate
from tallyclerk.store import Store

DETECTORS: dict[str, Detector] = {
    "burn_rate": burn_rate,
    "stuck_orders": stuck_orders,
    "no_first_scan": no_first_scan,
    "inventory_variance": inventory_variance,
    "overbilling": overbilling,
    "capacity_risk": capacity_risk,
    "source_silent": source_silent,
    "dispute_deadline": dispute_deadline,
}


def detect(store: Store, rules: AlertRules, settings: Settings, *, now: datetime) -> list[Signal]:
    """Every rule evaluated at `now` against what the store keeps.

    Deterministic: rules in the file's order, each rule's signals sorted by cause. Nothing
    is written.
    """
    clock = Clock(now.astimezone(UTC), settings)
    out: list[Signal] = []
    with store.connect() as connection:
        for rule in rules.rules:
            found = DETECTORS[rule.kind](connection, rule, clock)
            out.extend(sorted(found, key=lambda s: s.cause))
    return out


def refresh(store: Store, settings: Settings, *, now: datetime) -> list[str]:
    """Bring the kept figures up to `now`: the findings of every reconciliation and audit
    check (kept with their lifecycle), then the month holding `now` evaluated with its burn
    states recorded. Returns one plain line per step, for the log or the command line."""
    now = now.astimezone(UTC)
    run = run_findings(store, DOMAINS, as_of=now, settings=settings)
    lines = []
    sync = run.sync
    changed = (
        f"{sync.new:,} new, {sync.seen_again:,} seen again, {sync.reopened:,} reopened, "
        f"{sync.cleared:,} cleared"
        if sync is not None
        else "nothing recorded"
    )
    lines.append(
        f"findings as of {when_text(now)}: {changed}; {len(run.open_findings):,} unresolved"
    )
    period = now.date().replace(day=1)
    report = evaluate(store, period, as_of=now, settings=settings)
    if not report.providers:
        lines.append(f"SLA {period:%Y-%m}: no provider has a contract; nothing evaluated")
        return lines
    states = [b.state for p in report.providers for b in p.burn]
    counts = ", ".join(
        f"{states.count(s)} {s}" for s in ("page", "warn", "ok", "no data") if states.count(s)
    )
    lines.append(
        f"SLA {period:%Y-%m} evaluated as of {when_text(now)} (run {report.run_id}): "
        f"{len(report.providers)} provider(s); burn states: {counts or 'none'}"
    )
    return lines


__all__ = ["DETECTORS", "detect", "refresh"]
