"""Gather a provider's weekly review from the store: every section of `WeeklyReview`.

The review reads, never recomputes its own way: the contracted KPIs come from the catalogue
at week grain, the month's breaches, credits and burn from its recorded evaluation, disputes
from the workflow, findings from those kept by reconciliation and the invoice audit,
inventory from the reconciliation of the book, the customer's experience with the figures of
the experience report, the weeks ahead from the latest kept forecast run, and the action
items from the reviews.

One short visit to the store reads what it keeps; then one MetricContext (on the review's
clock) runs the analytics. Everything bulk is a set-based query in the store's own engine.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tallyclerk.contracts import contract_in_force
from tallyclerk.contracts._repository import contract_versions
from tallyclerk.errors import InputError
from tallyclerk.metrics import open_context
from tallyclerk.reports._gather_figures import (
    experience_lines,
    forecast_lines,
    inventory_line,
)
from tallyclerk.reports._gather_kpis import WeeklyFigures, kpi_lines
from tallyclerk.reports._gather_records import (
    dispute_lines,
    findings_sections,
    recorded_month,
)
from tallyclerk.reports._model import AUDIENCES, ActionItem, Audience, IsoWeek, WeeklyReview
from tallyclerk.settings import Settings
from tallyclerk.store import Store
from tallyclerk.store.schema import providers

# What the provider's copy leaves out: the brand's cost data (DESIGN section 8), as the API
# leaves it out for provider users.
REDACTED = (
    "inventory: the value of the count differences at the brand's unit cost",
    "inventory findings: the money at stake at the brand's unit cost, in amounts and reasons",
)


def week_bounds(week: IsoWeek, timezone: str) -> tuple[datetime, datetime]:
    """Monday 00:00 and the following Monday 00:00 (Sunday 24:00) in the zone, as UTC."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(week.start, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(week.end + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def _utc(value: datetime) -> datetime:
    """An instant in UTC (a timestamp without an offset is read as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _provider_name(connection: sa.Connection, provider_id: str) -> str:
    """The provider's name, or an InputError naming the providers the store knows."""
    query = sa.select(providers.c.provider_id, providers.c.name)
    rows: dict[str, str | None] = {row.provider_id: row.name for row in connection.execute(query)}
    if provider_id not in rows:
        known = ", ".join(sorted(rows)) or "none yet (add a contract first)"
        raise InputError(f"unknown provider {provider_id!r}; the store knows: {known}")
    return str(rows[provider_id] or provider_id)


def build_review(
    store: Store,
    settings: Settings,
    provider_id: str,
    week: IsoWeek,
    *,
    audience: Audience = "brand",
    as_of: datetime | None = None,
    now: datetime | None = None,
) -> WeeklyReview:
    """The weekly review of `provider_id` for the ISO `week`, read at `as_of`.

    `as_of` defaults to the end of the week (Sunday 24:00 in the brand's time zone) but is
    never later than `now` (default: the current time), which is also `generated_at`. The
    provider's copy (`audience="provider"`) leaves out the brand's cost data and lists what
    in `redacted`. A week without data still builds; `notes` say what is missing and how to
    get it. Unknown provider: InputError naming the known ones.
    """
    if audience not in AUDIENCES:
        raise InputError(f"audience {audience!r} is not one of {', '.join(AUDIENCES)}")
    now = _utc(now or datetime.now(UTC))
    start, end = week_bounds(week, settings.brand.timezone)
    clock = _utc(as_of) if as_of is not None else min(end, now)
    until = min(end, clock)  # the week as far as the clock has seen it
    notes: list[str] = []
    if clock < start:
        notes.append(
            f"{week.name} had not started at {clock:%Y-%m-%d %H:%M} UTC: nothing happened in it yet"
        )
    elif clock < end:
        notes.append(
            f"read at {clock:%Y-%m-%d %H:%M} UTC, before {week.name} ended: the week's "
            "figures are not final"
        )

    with store.connect() as connection:
        name = _provider_name(connection, provider_id)
        versions = contract_versions(connection, provider_id)
        contract = contract_in_force(versions, week.end) or (versions[-1] if versions else None)
        currency = contract.currency if contract is not None else None
        month = recorded_month(
            connection, provider_id, week.end.replace(day=1), clock, currency, notes
        )
        disputes = dispute_lines(connection, provider_id, clock)
        found = findings_sections(connection, provider_id, start, until, audience, notes)
        forecast, forecast_as_of = forecast_lines(connection, provider_id, week, clock, notes)
        actions = _actions(connection, provider_id, week)

    with open_context(store, as_of=clock, settings=settings) as ctx:
        figures = WeeklyFigures(ctx, provider_id, week)
        kpis = kpi_lines(figures, provider_id, versions, week, notes)
        inventory = inventory_line(ctx, provider_id, until, audience, notes)
        experience = experience_lines(ctx, figures, provider_id, week, notes)

    return WeeklyReview(
        provider_id=provider_id,
        provider_name=name,
        week=week,
        audience=audience,
        as_of=clock,
        generated_at=now,
        currency=currency,
        kpis=kpis,
        breaches=month.breaches,
        credits=month.credits,
        burn=month.burn,
        disputes=disputes,
        findings=found.findings,
        invoice_findings=found.invoice,
        inventory=inventory,
        experience=experience,
        forecast=forecast,
        forecast_as_of=forecast_as_of,
        actions=actions,
        notes=notes,
        redacted=list(REDACTED) if audience == "provider" else [],
    )


def _actions(connection: sa.Connection, provider_id: str, week: IsoWeek) -> list[ActionItem]:
    """The action items of the week, as the reviews' own module reads them."""
    from tallyclerk.reports._actions import actions_for_review

    return actions_for_review(connection, provider_id, week)
