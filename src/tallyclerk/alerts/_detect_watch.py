"""Rules over what the SLA, the forecast, ingestion and disputes keep: burn rates, capacity at
risk, sources gone silent, dispute answers coming due."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tallyclerk.alerts._detect_base import (
    STORE,
    Clock,
    finite,
    hours_between,
    hours_text,
    make_signal,
    money_text,
    money_value,
    plural,
    rate_text,
    utc,
    when_text,
)
from tallyclerk.alerts._rules import Rule, threshold
from tallyclerk.alerts._types import Signal
from tallyclerk.forecast import CapacityWeek, attach_capacity, load_run
from tallyclerk.metrics import REGISTRY
from tallyclerk.sla import BurnWatch, latest_burn
from tallyclerk.sla._burn import LONG_WINDOW_DAYS, SHORT_WINDOW_DAYS
from tallyclerk.store.schema import (
    CANONICAL_TABLES,
    LINEAGE_COLUMN,
    disputes,
    ingestion_batches,
    providers,
)

BURN_STATES = ("warn", "page")


def _provider_link(provider_id: str, rest: str = "") -> str:
    return f"/providers/{quote(provider_id, safe='')}{rest}"


# -------------------------------------------------------------------------------- burn rate


def _window(days: int) -> str:
    return "the last day" if days == 1 else f"the last {days} days"


def _figure(watch: BurnWatch, value: float) -> str:
    """A metric's value as people read it: a rate in percent, hours with one decimal."""
    unit = REGISTRY[watch.metric].unit if watch.metric in REGISTRY else "rate"
    return f"{value:.1%}" if unit == "rate" else f"{value:,.1f} h"


def _goal(watch: BurnWatch) -> str:
    kind = "a maximum" if watch.lower_is_better else "a target"
    return f"{kind} of {_figure(watch, watch.threshold)}"


def _burn_message(watch: BurnWatch) -> str:
    burn = watch.burn
    text = (
        f"{watch.provider_id}: {watch.metric} is spending its {watch.period:%Y-%m} error "
        f"budget at {rate_text(burn.burn_short)} the sustainable pace over "
        f"{_window(SHORT_WINDOW_DAYS)} and {rate_text(burn.burn_long)} over "
        f"{_window(LONG_WINDOW_DAYS)}; {plural(burn.bad, 'bad item')} of {burn.judged:,} "
        f"judged so far, against a budget of {burn.budget:,.1f} for the month."
    )
    if burn.projected is not None:
        ends = _figure(watch, burn.projected)
        text += f" At this pace the month ends at {ends}, against {_goal(watch)}."
    return text + f" Read at {when_text(watch.as_of)}."


def burn_rate(connection: sa.Connection, rule: Rule, clock: Clock) -> list[Signal]:
    """The burn states recorded at the latest evaluation of the month holding the clock, in
    the rule's states (default warn and page) and metrics (default all); the severity is the
    state. A month that has closed burns no more: its last warnings are not signalled."""
    month = clock.now.date().replace(day=1)
    states = set(rule.states or BURN_STATES)
    metrics = set(rule.metrics) if rule.metrics is not None else None
    out = []
    for watch in latest_burn(connection, providers=rule.providers):
        state = watch.burn.state
        if watch.period != month or state not in states:
            continue
        if metrics is not None and watch.metric not in metrics:
            continue
        period = f"{watch.period:%Y-%m}"
        subject = f"{watch.provider_id}: {watch.metric} is burning its {period} error budget"
        if watch.burn.projected is not None:
            heading = _figure(watch, watch.burn.projected)
            subject += f", heading for {heading} against {_goal(watch)}"
        out.append(
            make_signal(
                rule,
                [watch.provider_id, watch.metric, period],
                provider_id=watch.provider_id,
                subject=subject,
                message=_burn_message(watch),
                link=_provider_link(watch.provider_id),
                details={
                    "metric": watch.metric,
                    "period": period,
                    "state": state,
                    "burn_short": finite(watch.burn.burn_short),
                    "burn_long": finite(watch.burn.burn_long),
                    "projected": finite(watch.burn.projected),
                    "threshold": watch.threshold,
                    "lower_is_better": watch.lower_is_better,
                    "judged": watch.burn.judged,
                    "bad": watch.burn.bad,
                    "budget": watch.burn.budget,
                    "as_of": watch.as_of.isoformat(),
                    "reason": watch.burn.reason,
                },
                severity="page" if state == "page" else "warn",
            )
        )
    return out


# ---------------------------------------------------------------------------- capacity risk


def _local_today(clock: Clock) -> date:
    return clock.now.astimezone(ZoneInfo(clock.settings.brand.timezone)).date()


def capacity_risk(connection: sa.Connection, rule: Rule, clock: Clock) -> list[Signal]:
    """Per provider of the latest kept forecast run, the weeks still to come (this one
    included) within `weeks` weeks whose P90 demand exceeds the committed daily capacity."""
    run = load_run(connection, provider_ids=rule.providers, include_store=False)
    if run is None:
        return []
    attach_capacity(connection, run)
    today = _local_today(clock)
    horizon = today + timedelta(days=7 * int(threshold(rule, "weeks")))
    out = []
    for provider_id in sorted(run.capacity):
        if rule.providers is not None and provider_id not in rule.providers:
            continue
        risky = [
            w
            for w in run.capacity[provider_id].weeks
            if w.flagged and w.start + timedelta(days=6) >= today and w.start < horizon
        ]
        if not risky:
            continue
        first = risky[0]
        out.append(_capacity_signal(rule, provider_id, first, risky, run.run_id, run.as_of))
    return out


def _capacity_signal(
    rule: Rule,
    provider_id: str,
    first: CapacityWeek,
    risky: list[CapacityWeek],
    run_id: int | None,
    as_of: date,
) -> Signal:
    capacity = (
        f"the {first.capacity_per_day:,} orders a day committed"
        if first.capacity_per_day is not None
        else "the committed capacity"
    )
    subject = (
        f"{provider_id}: forecast demand over committed capacity in {first.week} "
        f"({plural(first.over_days, 'day')})"
    )
    message = (
        f"{provider_id}: the P90 forecast exceeds {capacity} on "
        f"{plural(first.over_days, 'day')} of the week of {first.start} ({first.week}), by "
        f"{plural(round(first.gap_orders), 'order')} in all; the busiest day is forecast at "
        f"{first.p90_peak_day:,.0f} orders."
    )
    if len(risky) > 1:
        days = sum(w.over_days for w in risky)
        gap = sum(w.gap_orders for w in risky)
        message += (
            f" {plural(len(risky), 'week')} are at risk ahead "
            f"({', '.join(w.week for w in risky)}): {plural(days, 'day')} and "
            f"{plural(round(gap), 'order')} over capacity in all."
        )
    message += f" From forecast run {run_id} (history to {as_of})."
    return make_signal(
        rule,
        [provider_id, first.week],
        provider_id=provider_id,
        subject=subject,
        message=message,
        link=_provider_link(provider_id, "/forecast"),
        details={
            "first_week": first.week,
            "week_start": first.start.isoformat(),
            "over_days": first.over_days,
            "gap_orders": f"{first.gap_orders:.1f}",
            "p90_peak_day": f"{first.p90_peak_day:.1f}",
            "capacity_per_day": first.capacity_per_day,
            "peak_terms": first.peak_terms,
            "weeks_at_risk": [
                {"week": w.week, "over_days": w.over_days, "gap_orders": f"{w.gap_orders:.1f}"}
                for w in risky
            ],
            "forecast_run": run_id,
            "forecast_as_of": as_of.isoformat(),
        },
    )


# ---------------------------------------------------------------------------- source silent

# Kinds that name the provider that sent them; the store's own orders name none.
PROVIDER_KINDS = tuple(name for name, table in CANONICAL_TABLES.items() if "provider_id" in table.c)


def latest_arrivals(
    connection: sa.Connection, provider_ids: list[str] | None
) -> dict[str | None, tuple[datetime, str, int]]:
    """provider (None: the store's orders) -> when its latest stored records arrived, their
    kind and batch.

    Set-based: the highest batch id per provider in each provider-bearing table (and in
    orders), then the batches' finish times in the same statement.
    """
    parts = []
    for name in PROVIDER_KINDS:
        table = CANONICAL_TABLES[name]
        lineage = table.c[LINEAGE_COLUMN]
        part = sa.select(
            sa.cast(sa.literal(name), sa.String()).label("kind"),
            table.c.provider_id.label("provider_id"),
            sa.func.max(lineage).label("batch_id"),
        ).where(lineage.is_not(None))
        if provider_ids is not None:
            part = part.where(table.c.provider_id.in_(provider_ids))
        parts.append(part.group_by(table.c.provider_id))
    orders = CANONICAL_TABLES["orders"]
    parts.append(
        sa.select(
            sa.cast(sa.literal("orders"), sa.String()).label("kind"),
            sa.cast(sa.null(), sa.String()).label("provider_id"),
            sa.func.max(orders.c[LINEAGE_COLUMN]).label("batch_id"),
        )
    )
    latest = sa.union_all(*parts).subquery("latest")
    b = ingestion_batches.c
    arrived = sa.func.coalesce(b.finished_at, b.started_at)
    rows = connection.execute(
        sa.select(latest.c.kind, latest.c.provider_id, latest.c.batch_id, arrived.label("at"))
        .select_from(latest.join(ingestion_batches, b.batch_id == latest.c.batch_id))
        .order_by(latest.c.provider_id, latest.c.kind)
    ).mappings()
    out: dict[str | None, tuple[datetime, str, int]] = {}
    for row in rows:
        at = utc(row["at"])
        assert at is not None  # started_at is required
        known = out.get(row["provider_id"])
        if known is None or at > known[0]:
            out[row["provider_id"]] = (at, row["kind"], int(row["batch_id"]))
    return out


def source_silent(connection: sa.Connection, rule: Rule, clock: Clock) -> list[Signal]:
    """Per provider (and for the store's orders when the rule names no providers), nothing
    received for more than `hours` hours, or nothing ever."""
    hours = threshold(rule, "hours")
    query = sa.select(providers.c.provider_id).order_by(providers.c.provider_id)
    if rule.providers is not None:
        query = query.where(providers.c.provider_id.in_(list(rule.providers)))
    watched: list[str | None] = list(connection.execute(query).scalars())
    if rule.providers is None:
        watched.append(None)
    wanted = [p for p in watched if p is not None]
    arrivals = latest_arrivals(connection, wanted if rule.providers is not None else None)
    out = []
    for provider_id in watched:
        name = provider_id or STORE
        records = "records" if provider_id else "orders (Shopify webhooks or order files)"
        link = "/health"
        latest = arrivals.get(provider_id)
        if latest is None:
            out.append(
                make_signal(
                    rule,
                    [name],
                    provider_id=provider_id,
                    subject=f"{name}: no data ever received",
                    message=(
                        f"{name}: no {records} have ever arrived; check the connection, the "
                        "drop folder or the webhooks that should bring them."
                    ),
                    link=link,
                    details={"last_at": None, "hours_silent": None, "hours": hours},
                )
            )
            continue
        at, kind, batch_id = latest
        silent = hours_between(at, clock.now)
        if silent <= hours:
            continue
        out.append(
            make_signal(
                rule,
                [name],
                provider_id=provider_id,
                subject=f"{name}: no data received for {hours_text(silent)}",
                message=(
                    f"{name}: no {records} have arrived for {hours_text(silent)} (the rule "
                    f"allows {hours_text(hours)}); the latest, {kind} of batch {batch_id}, "
                    f"arrived {when_text(at)}."
                ),
                link=link,
                details={
                    "last_at": at.isoformat(),
                    "last_kind": kind,
                    "last_batch_id": batch_id,
                    "hours_silent": round(silent, 1),
                    "hours": hours,
                },
            )
        )
    return out


# ------------------------------------------------------------------------- dispute deadline


def dispute_deadline(connection: sa.Connection, rule: Rule, clock: Clock) -> list[Signal]:
    """Disputes still waiting for the provider's answer whose deadline falls within `hours`
    hours of the clock, or has passed (overdue); one signal per dispute."""
    hours = threshold(rule, "hours")
    d = disputes.c
    query = sa.select(
        d.dispute_id,
        d.provider_id,
        d.subject,
        d.amount,
        d.currency,
        d.opened_at,
        d.response_due_at,
    ).where(
        d.status == "open",
        d.response_due_at.is_not(None),
        d.response_due_at <= clock.now + timedelta(hours=hours),
    )
    if rule.providers is not None:
        query = query.where(d.provider_id.in_(list(rule.providers)))
    out = []
    for row in connection.execute(query.order_by(d.dispute_id)).mappings():
        due = utc(row["response_due_at"])
        assert due is not None
        left = hours_between(clock.now, due)
        provider_id, dispute_id = row["provider_id"], row["dispute_id"]
        claim = (
            f"; it claims {money_text(Decimal(str(row['amount'])), row['currency'])}"
            if row["amount"] is not None
            else ""
        )
        if left < 0:
            subject = f"{provider_id}: dispute {dispute_id} unanswered, {hours_text(-left)} overdue"
            timing = f"was due an answer by {when_text(due)} and is {hours_text(-left)} overdue"
        else:
            subject = f"{provider_id}: dispute {dispute_id} due an answer in {hours_text(left)}"
            timing = f"is due an answer by {when_text(due)}, in {hours_text(left)}"
        details: dict[str, Any] = {
            "dispute_id": dispute_id,
            "response_due_at": due.isoformat(),
            "hours_left": round(left, 1),
            "overdue": left < 0,
            "amount": money_value(Decimal(str(row["amount"])))
            if row["amount"] is not None
            else None,
            "currency": row["currency"],
        }
        out.append(
            make_signal(
                rule,
                [dispute_id],
                provider_id=provider_id,
                subject=subject,
                message=f"{provider_id}: dispute {dispute_id} ({row['subject']}) {timing}{claim}.",
                link=f"/disputes/{quote(dispute_id, safe='')}",
                details=details,
            )
        )
    return out
