"""Rules over the kept findings: stuck orders, parcels never scanned, inventory, overbilling.

The findings are those the last reconciliation and invoice-audit runs kept (see `refresh`),
read as they stand: unresolved ones (open or acknowledged: acknowledging a finding says
someone looks at it, not that the problem is gone; the alert has its own acknowledgement).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from tallyclerk.alerts._detect_base import (
    SAMPLE_IDS,
    STORE,
    Clock,
    hours_between,
    hours_text,
    ids_text,
    make_signal,
    money_text,
    money_value,
    plural,
    utc,
    who,
)
from tallyclerk.alerts._rules import Rule, threshold
from tallyclerk.alerts._types import Signal
from tallyclerk.reconcile import CHECKS
from tallyclerk.store.schema import findings

UNRESOLVED = ("open", "acknowledged")
_f = findings.c


def _scoped(query: sa.Select[Any], rule: Rule) -> sa.Select[Any]:
    """The query limited to the rule's providers (which leaves out findings of none)."""
    query = query.where(_f.status.in_(UNRESOLVED))
    if rule.providers is not None:
        query = query.where(_f.provider_id.in_(list(rule.providers)))
    return query


def _kinds_text(kinds: Counter[str]) -> str:
    """`charge billed twice: 2, not the contract's rate: 1`: findings per check title, in the
    checks' catalogue order."""
    order = {kind: i for i, kind in enumerate(CHECKS)}
    ranked = sorted(kinds.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
    return ", ".join(f"{CHECKS[k].title.lower() if k in CHECKS else k}: {n:,}" for k, n in ranked)


def _findings_link(provider_id: str | None, **params: str) -> str:
    query = {"provider": provider_id} if provider_id else {}
    return "/findings?" + urlencode({**query, **params})


# ------------------------------------------------------------------- stuck orders, no scan


@dataclass(frozen=True, slots=True)
class _Wording:
    """How an aged-findings rule speaks of what it counts ({its} becomes its or their)."""

    one: str  # "order"
    what: str  # "released and not shipped by {its} ship due time"
    deadline: str  # "ship due time"


_WORDING = {
    "not_shipped": _Wording(
        "order", "released and not shipped by {its} ship due time", "ship due time"
    ),
    "never_released": _Wording(
        "order", "placed and not released to any 3PL by {its} release due time", "release due time"
    ),
    "no_first_scan": _Wording(
        "shipment", "shipped and not scanned by the carrier by {its} deadline", "scan deadline"
    ),
}


@dataclass
class _Aged:
    """Old-enough findings of one kind and provider: how many, the oldest's start, a few ids."""

    kind: str
    provider_id: str | None
    count: int
    oldest: datetime
    ids: list[str] = field(default_factory=list)


def _aged_groups(
    connection: sa.Connection, rule: Rule, clock: Clock, kinds: tuple[str, ...]
) -> list[_Aged]:
    """Per (kind, provider): how many unresolved findings are old enough, the oldest first."""
    cutoff = clock.now - timedelta(hours=threshold(rule, "older_than_hours"))
    group = (_f.kind, _f.provider_id)
    inner = _scoped(
        sa.select(
            _f.kind,
            _f.provider_id,
            _f.subject_id,
            _f.since,
            sa.func.row_number()
            .over(partition_by=group, order_by=(_f.since, _f.finding_id))
            .label("position"),
            sa.func.count().over(partition_by=group).label("total"),
        ).where(_f.kind.in_(kinds), _f.since.is_not(None), _f.since <= cutoff),
        rule,
    ).subquery()
    rows = connection.execute(
        sa.select(inner)
        .where(inner.c.position <= SAMPLE_IDS)
        .order_by(inner.c.kind, inner.c.provider_id, inner.c.position)
    ).mappings()
    groups: dict[tuple[str, str | None], _Aged] = {}
    for row in rows:
        key = (row["kind"], row["provider_id"])
        if key not in groups:
            since = utc(row["since"])
            assert since is not None  # filtered on
            groups[key] = _Aged(row["kind"], row["provider_id"], int(row["total"]), since)
        groups[key].ids.append(row["subject_id"])
    return list(groups.values())


def _aged_signals(
    connection: sa.Connection, rule: Rule, clock: Clock, kinds: tuple[str, ...]
) -> list[Signal]:
    min_count = int(threshold(rule, "min_count"))
    older_than = threshold(rule, "older_than_hours")
    out = []
    for group in _aged_groups(connection, rule, clock, kinds):
        if group.count < min_count:
            continue
        words = _WORDING[group.kind]
        waited = hours_between(group.oldest, clock.now)
        what = words.what.format(its="its" if group.count == 1 else "their")
        subject = f"{who(group.provider_id)}: {plural(group.count, words.one)} {what}"
        oldest = "it has" if group.count == 1 else "the oldest has"
        message = (
            f"{subject}; {oldest} waited {hours_text(waited)} past its {words.deadline} "
            f"({ids_text(group.ids, group.count)})."
        )
        if older_than > 0:
            message += (
                f" The rule counts those at least {hours_text(older_than)} past their "
                f"{words.deadline}."
            )
        out.append(
            make_signal(
                rule,
                [group.provider_id or STORE],
                provider_id=group.provider_id,
                subject=subject,
                message=message,
                link=_findings_link(group.provider_id, kind=group.kind),
                details={
                    "finding_kind": group.kind,
                    "count": group.count,
                    "oldest_since": group.oldest.isoformat(),
                    "oldest_hours": round(waited, 1),
                    "sample_ids": group.ids,
                    "older_than_hours": older_than,
                    "min_count": min_count,
                },
            )
        )
    return out


def stuck_orders(connection: sa.Connection, rule: Rule, clock: Clock) -> list[Signal]:
    """Per provider, orders released and not shipped (and, for the store, orders never
    released) at least `older_than_hours` past their due time, when `min_count` or more."""
    return _aged_signals(connection, rule, clock, ("not_shipped", "never_released"))


def no_first_scan(connection: sa.Connection, rule: Rule, clock: Clock) -> list[Signal]:
    """Per provider, shipments the carrier never scanned, at least `older_than_hours` past
    their scan deadline, when `min_count` or more."""
    return _aged_signals(connection, rule, clock, ("no_first_scan",))


# ------------------------------------------------------------------------------- inventory


@dataclass
class _Stock:
    kinds: Counter[str] = field(default_factory=Counter)
    unpriced: int = 0  # counts off the book without a value (no unit cost)
    value: Decimal = Decimal(0)
    currency: str | None = None


def inventory_variance(connection: sa.Connection, rule: Rule, clock: Clock) -> list[Signal]:
    """Per provider, the unresolved inventory findings when the value at stake (their amounts,
    at unit cost, in absolute terms) reaches `min_value`."""
    min_value = Decimal(str(threshold(rule, "min_value")))
    totals = connection.execute(
        _scoped(
            sa.select(
                _f.provider_id,
                _f.kind,
                sa.func.count().label("findings"),
                sa.func.count(_f.amount).label("priced"),
                sa.func.sum(sa.func.abs(_f.amount)).label("value"),
                sa.func.max(_f.currency).label("currency"),
            )
            .where(_f.domain == "inventory", _f.provider_id.is_not(None))
            .group_by(_f.provider_id, _f.kind),
            rule,
        )
    ).mappings()
    stock: dict[str, _Stock] = {}
    for row in totals:
        entry = stock.setdefault(row["provider_id"], _Stock())
        entry.kinds[row["kind"]] += int(row["findings"])
        if row["kind"] == "inventory_variance":
            entry.unpriced += int(row["findings"]) - int(row["priced"])
        entry.value += Decimal(str(row["value"] or 0))
        entry.currency = entry.currency or row["currency"]
    chosen = sorted(p for p, e in stock.items() if e.value >= min_value)
    largest = _largest_inventory(connection, rule, chosen) if chosen else {}
    out = []
    for provider_id in chosen:
        entry = stock[provider_id]
        currency = entry.currency or clock.settings.brand.currency
        total = sum(entry.kinds.values())
        worth = money_text(entry.value, currency)
        subject = (
            f"{provider_id}: inventory off the book worth {worth} at unit cost "
            f"({plural(total, 'finding')})"
        )
        message = (
            f"{provider_id}: {plural(total, 'unresolved inventory finding')} "
            f"({_kinds_text(entry.kinds)}) put {worth} at stake at unit cost."
        )
        top = largest.get(provider_id, [])
        if top:
            named = ", ".join(f"{s} ({money_text(a, currency)})" for s, a in top)
            message += f" The largest: {named}."
        if entry.unpriced:
            carry = "carries" if entry.unpriced == 1 else "carry"
            message += (
                f" {plural(entry.unpriced, 'count')} off the book {carry} no value (no unit cost)."
            )
        out.append(
            make_signal(
                rule,
                [provider_id],
                provider_id=provider_id,
                subject=subject,
                message=message,
                link="/inventory?" + urlencode({"provider": provider_id}),
                details={
                    "count": total,
                    "by_kind": dict(sorted(entry.kinds.items())),
                    "value": money_value(entry.value),
                    "currency": currency,
                    "unpriced": entry.unpriced,
                    "largest": [{"subject_id": s, "value": money_value(a)} for s, a in top],
                    "min_value": money_value(min_value),
                },
            )
        )
    return out


def _largest_inventory(
    connection: sa.Connection, rule: Rule, providers: list[str]
) -> dict[str, list[tuple[str, Decimal]]]:
    """The three findings of most value per provider."""
    inner = _scoped(
        sa.select(
            _f.provider_id,
            _f.subject_id,
            sa.func.abs(_f.amount).label("value"),
            sa.func.row_number()
            .over(
                partition_by=_f.provider_id,
                order_by=(sa.func.abs(_f.amount).desc(), _f.subject_id),
            )
            .label("position"),
        ).where(
            _f.domain == "inventory",
            _f.amount.is_not(None),
            _f.amount != 0,
            _f.provider_id.in_(providers),
        ),
        rule,
    ).subquery()
    out: dict[str, list[tuple[str, Decimal]]] = {}
    rows = connection.execute(
        sa.select(inner.c.provider_id, inner.c.subject_id, inner.c.value)
        .where(inner.c.position <= 3)
        .order_by(inner.c.provider_id, inner.c.position)
    )
    for provider_id, subject_id, value in rows:
        out.setdefault(provider_id, []).append((subject_id, Decimal(str(value))))
    return out


# ------------------------------------------------------------------------------ overbilling


@dataclass
class _Invoice:
    provider_id: str
    invoice_id: str
    currency: str | None = None
    amount: Decimal = Decimal(0)
    lines: list[str] = field(default_factory=list)
    finding_ids: list[int] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)


def _invoice_id(subject_id: str, evidence: str | None) -> str:
    """The invoice a line finding belongs to: its evidence's invoice_id, else the subject's
    part before the last '#' (subjects are `INVOICE#LINE`)."""
    if evidence:
        found = json.loads(evidence).get("invoice_id")
        if found:
            return str(found)
    return subject_id.rsplit("#", 1)[0]


def overbilling(connection: sa.Connection, rule: Rule, clock: Clock) -> list[Signal]:
    """Per provider and invoice, the unresolved invoice-line findings of the audit when their
    amounts (billed minus expected) add up to an over-billing of `min_amount` or more.

    Activity never billed is no invoice's line (and bills the brand less, not more).
    """
    min_amount = Decimal(str(threshold(rule, "min_amount")))
    rows = connection.execute(
        _scoped(
            sa.select(
                _f.finding_id,
                _f.provider_id,
                _f.kind,
                _f.subject_id,
                _f.amount,
                _f.currency,
                _f.evidence,
            ).where(
                _f.domain == "invoice",
                _f.subject_kind == "invoice_line",
                _f.provider_id.is_not(None),
            ),
            rule,
        ).order_by(_f.provider_id, _f.subject_id)
    ).mappings()
    invoices: dict[tuple[str, str], _Invoice] = {}
    for row in rows:
        key = (row["provider_id"], _invoice_id(row["subject_id"], row["evidence"]))
        invoice = invoices.setdefault(key, _Invoice(*key))
        invoice.amount += Decimal(str(row["amount"] or 0))
        invoice.currency = invoice.currency or row["currency"]
        invoice.lines.append(row["subject_id"])
        invoice.finding_ids.append(int(row["finding_id"]))
        invoice.kinds[row["kind"]] += 1
    out = []
    for (provider_id, invoice_id), invoice in sorted(invoices.items()):
        if invoice.amount <= 0 or invoice.amount < min_amount:
            continue
        currency = invoice.currency or clock.settings.brand.currency
        over = money_text(invoice.amount, currency)
        subject = f"{provider_id}: invoice {invoice_id} over-billed by {over}"
        parts = _kinds_text(invoice.kinds)
        lines = plural(len(invoice.lines), "line")
        message = (
            f"{provider_id}: invoice {invoice_id} bills {over} more than the rate card and the "
            f"recorded activity call for, on {lines} with findings ({parts}): "
            f"{ids_text(invoice.lines[:SAMPLE_IDS], len(invoice.lines))}."
        )
        out.append(
            make_signal(
                rule,
                [provider_id, invoice_id],
                provider_id=provider_id,
                subject=subject,
                message=message,
                link="/invoices?" + urlencode({"provider": provider_id}),
                details={
                    "invoice_id": invoice_id,
                    "amount": money_value(invoice.amount),
                    "currency": currency,
                    "lines": invoice.lines,
                    "finding_ids": invoice.finding_ids,
                    "by_kind": dict(sorted(invoice.kinds.items())),
                    "min_amount": money_value(min_amount),
                },
            )
        )
    return out
