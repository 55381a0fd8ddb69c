"""The review's sections read from what the store keeps: the month's recorded evaluation
(breaches, credits, burn), the disputes and the findings of reconciliation and the audit.

Nothing is recomputed: the SLA figures are those `tallyclerk evaluate` recorded (`sla._read`),
the disputes those of the workflow (`sla.list_disputes`), the findings those kept by
`tallyclerk reconcile` and `tallyclerk billing audit`, counted set-based in the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tallyclerk.reconcile import CHECKS, DOMAINS
from tallyclerk.reports._model import (
    Audience,
    BreachLine,
    BurnLine,
    CreditsAccrued,
    DisputeLine,
    FindingsLine,
)
from tallyclerk.sla import (
    BurnState,
    count_disputes,
    credit_lines,
    latest_burn,
    list_disputes,
    scorecards,
)
from tallyclerk.sla._segments import month_bounds
from tallyclerk.store.schema import findings

EXAMPLES = 3  # example subjects per kind of finding
FINDING_DOMAINS = ("handoff", "inventory")  # the review's `findings`; the rest is `invoice`
# An inventory finding's money is valued at the brand's unit cost: its amount, and the figure
# in brackets its reason quotes, are left out of the provider's copy (as the API does).
COST_DOMAINS = frozenset({"inventory"})
_MONEY_IN_TEXT = re.compile(r" \((?:[A-Z]{3} )?-?[\d,]+\.\d{2}\)| \(no unit cost\)")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _money(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


# -- the month's recorded evaluation ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedMonth:
    """What the latest recorded evaluation of the month says about the provider."""

    breaches: list[BreachLine]
    credits: CreditsAccrued | None
    burn: list[BurnLine]


def _burn_line(metric: str, period: date, burn: BurnState) -> BurnLine:
    return BurnLine(
        metric=metric,
        period=f"{period:%Y-%m}",
        state=burn.state,
        burn_short=burn.burn_short,
        burn_long=burn.burn_long,
        projected=burn.projected,
        reason=burn.reason,
    )


def recorded_month(
    connection: sa.Connection,
    provider_id: str,
    month: date,
    clock: datetime,
    currency: str | None,
    notes: list[str],
) -> RecordedMonth:
    """Breaches, credits and burn of the month from its latest recorded evaluation."""
    first = month_bounds(month)[0]
    cards = scorecards(connection, providers=[provider_id], period=first)
    if not cards:
        notes.append(
            f"no evaluation recorded for {first:%Y-%m}: run tallyclerk evaluate --period "
            f"{first:%Y-%m}"
        )
        return RecordedMonth([], None, _burn_watch(connection, provider_id, first))
    (card,) = cards
    if card.as_of > clock:
        notes.append(
            f"the breaches and credits of {first:%Y-%m} are those of its latest evaluation, "
            f"which read the data as of {card.as_of:%Y-%m-%d %H:%M} UTC, after this review's "
            "clock"
        )
    breaches = [
        BreachLine(
            metric=m.metric,
            period=f"{m.period:%Y-%m}",
            segment=m.segment,
            value=m.value,
            threshold=m.threshold,
            lower_is_better=m.lower_is_better,
        )
        for m in card.breached
    ]
    credits = CreditsAccrued(
        period=f"{first:%Y-%m}",
        amount=card.credits,
        currency=card.currency or currency,
        booked=card.ledger_credits,
        lines=credit_lines(connection, provider_id=provider_id, period=first),
    )
    burn = [_burn_line(m.metric, m.period, m.burn) for m in card.metrics if m.burn is not None]
    if not burn:
        burn = _burn_watch(connection, provider_id, first)
    return RecordedMonth(breaches, credits, burn)


def _burn_watch(connection: sa.Connection, provider_id: str, month: date) -> list[BurnLine]:
    """The last burn states recorded for the month while it was open, if the provider's
    latest watch is of that month."""
    return [
        _burn_line(w.metric, w.period, w.burn)
        for w in latest_burn(connection, providers=[provider_id])
        if month_bounds(w.period)[0] == month
    ]


# -- disputes -----------------------------------------------------------------------------------


def dispute_lines(
    connection: sa.Connection, provider_id: str, clock: datetime
) -> list[DisputeLine]:
    """The provider's disputes opened by the clock and not resolved by then, with the status
    they had at the clock and whether their answer was overdue."""
    total = count_disputes(connection, providers=[provider_id])
    out = []
    for d in list_disputes(connection, providers=[provider_id], limit=total):
        if d.opened_at > clock or (d.resolved_at is not None and d.resolved_at <= clock):
            continue
        answered = d.responded_at is not None and d.responded_at <= clock
        status = (d.answer or d.status) if answered else "open"
        overdue = not answered and d.response_due_at is not None and clock > d.response_due_at
        out.append(
            DisputeLine(
                dispute_id=d.dispute_id,
                subject=d.subject,
                status=status,
                opened_at=d.opened_at,
                response_due_at=d.response_due_at,
                overdue=overdue,
                amount=d.amount,
                currency=d.currency,
            )
        )
    far = datetime.max.replace(tzinfo=UTC)
    out.sort(key=lambda line: (line.response_due_at or far, line.opened_at, line.dispute_id))
    return out


# -- findings -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FindingsSections:
    """The review's `findings` (hand-off and inventory) and `invoice_findings`."""

    findings: list[FindingsLine]
    invoice: list[FindingsLine]


def _began() -> sa.ColumnElement[Any]:
    """When a finding's problem began: its `since` (the due time missed, the count that
    differed), else the run that first recorded it. A store reconciled after the fact (late
    data, a first run over a year) still shows each problem in the week it began."""
    f = findings.c
    return sa.func.coalesce(f.since, f.first_detected_at)


def _conditions(start: datetime, end: datetime) -> dict[str, sa.ColumnElement[bool]]:
    f = findings.c
    began = _began()
    return {
        "opened": (began >= start) & (began < end),
        "resolved": f.resolved_at.is_not(None) & (f.resolved_at >= start) & (f.resolved_at < end),
        "open_at_end": (began < end) & (f.resolved_at.is_(None) | (f.resolved_at >= end)),
    }


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _examples(
    connection: sa.Connection, provider_id: str, start: datetime, end: datetime
) -> dict[str, list[tuple[str, str]]]:
    """kind -> up to EXAMPLES (subject, reason) of the week's findings, newest first.

    The week's findings: opened or resolved during it, or open at its end.
    """
    f = findings.c
    when = _conditions(start, end)
    rank = (
        sa.func.row_number()
        .over(partition_by=f.kind, order_by=(_began().desc(), f.finding_id.desc()))
        .label("rank")
    )
    ranked = (
        sa.select(f.kind, f.subject_id, f.reason, rank)
        .where(f.provider_id == provider_id, sa.or_(*when.values()))
        .subquery()
    )
    rows = connection.execute(
        sa.select(ranked.c.kind, ranked.c.subject_id, ranked.c.reason)
        .where(ranked.c.rank <= EXAMPLES)
        .order_by(ranked.c.kind, ranked.c.rank)
    )
    out: dict[str, list[tuple[str, str]]] = {}
    for kind, subject, reason in rows:
        out.setdefault(kind, []).append((subject, reason))
    return out


def findings_sections(
    connection: sa.Connection,
    provider_id: str,
    start: datetime,
    end: datetime,
    audience: Audience,
    notes: list[str],
) -> FindingsSections:
    """Per kind of finding: opened and resolved in [start, end), open at `end`, the money
    at stake of those open and a few examples, from the findings kept in the store."""
    f = findings.c
    when = _conditions(start, end)
    query = (
        sa.select(
            f.domain,
            f.kind,
            sa.func.count().label("kept"),
            _count(when["opened"]).label("opened"),
            _count(when["resolved"]).label("resolved"),
            _count(when["open_at_end"]).label("open_at_end"),
            sa.func.sum(sa.case((when["open_at_end"], f.amount), else_=None)).label("amount"),
            sa.func.max(sa.case((when["open_at_end"], f.currency), else_=None)).label("currency"),
            sa.func.max(f.currency).label("any_currency"),
        )
        .where(f.provider_id == provider_id)
        .group_by(f.domain, f.kind)
    )
    rows = list(connection.execute(query).mappings())
    kept = {row["domain"] for row in rows}
    if not kept & set(FINDING_DOMAINS):
        notes.append(
            f"no hand-off or inventory findings were ever recorded for {provider_id}: "
            "run tallyclerk reconcile"
        )
    if "invoice" not in kept:
        notes.append(
            f"no invoice-audit findings were ever recorded for {provider_id}: "
            "run tallyclerk billing audit"
        )
    active = [r for r in rows if r["opened"] or r["resolved"] or r["open_at_end"]]
    examples = _examples(connection, provider_id, start, end) if active else {}
    order = {kind: i for i, kind in enumerate(CHECKS)}
    domain_rank = {d: i for i, d in enumerate(DOMAINS)}
    active.sort(
        key=lambda r: (domain_rank.get(r["domain"], 99), order.get(r["kind"], 999), r["kind"])
    )
    by_domain: dict[str, list[FindingsLine]] = {}
    for row in active:
        hides_cost = audience == "provider" and row["domain"] in COST_DOMAINS
        amount = _money(row["amount"]) if row["open_at_end"] else None
        listed = []
        for subject, reason in examples.get(row["kind"], []):
            text = _MONEY_IN_TEXT.sub("", reason) if hides_cost else reason
            listed.append(f"{subject}: {text}")
        check = CHECKS.get(row["kind"])
        by_domain.setdefault(row["domain"], []).append(
            FindingsLine(
                domain=row["domain"],
                kind=row["kind"],
                title=check.title if check is not None else row["kind"],
                opened=int(row["opened"] or 0),
                resolved=int(row["resolved"] or 0),
                open_at_end=int(row["open_at_end"] or 0),
                amount_open=None if hides_cost else amount,
                currency=None if hides_cost else row["currency"] or row["any_currency"],
                examples=listed,
            )
        )
    return FindingsSections(
        findings=[line for d in FINDING_DOMAINS for line in by_domain.get(d, [])],
        invoice=by_domain.get("invoice", []),
    )
