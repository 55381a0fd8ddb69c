"""The review's sections computed by the analytics services: inventory against the book,
the customer's experience of the week, and the kept forecast against committed capacity.

Inventory comes from `reconcile.inventory_reconciliation`; experience from the catalogue's
KPIs and the experience module's feedback and audits of the week (the figures of
`experience.experience_report`, without the breakdowns and order ids the review does not
show, which would cost most of a review's time on a large store); the forecast from a kept
run (`forecast.load_run`, with the capacity check of `forecast.attach_capacity`). Only the
provider's rows are read back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tallyclerk.contracts._repository import contract_versions
from tallyclerk.experience import audits_in_period, feedback_in_period
from tallyclerk.experience._report import ACCURACY, DAMAGE_FREE, ON_TIME, PERFECT
from tallyclerk.forecast import attach_capacity, load_run
from tallyclerk.forecast._capacity import business_loads, daily_capacity
from tallyclerk.metrics import MetricContext
from tallyclerk.reconcile._inventory import inventory_reconciliation
from tallyclerk.reports._gather_kpis import WeeklyFigures
from tallyclerk.reports._model import (
    Audience,
    ExperienceLine,
    ForecastWeekLine,
    InventoryLine,
    IsoWeek,
)
from tallyclerk.store.schema import forecast_runs, forecast_series

TOP_DIFFERENCES = 5  # the largest count differences listed
FORECAST_WEEKS = 6  # weeks ahead of the review's


# -- inventory ----------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def inventory_line(
    ctx: MetricContext,
    provider_id: str,
    until: datetime,
    audience: Audience,
    notes: list[str],
) -> InventoryLine | None:
    """The book against the provider's latest count at each facility up to `until`.

    A SKU at its first count there is the book's baseline (equal to it by definition) and is
    not judged, as in inventory_accuracy_rate; `accuracy` is that KPI's rule: the share of
    the SKUs judged whose count is within the contract's tolerance of the book. `skus_off`
    and `units_off` count every difference, tolerated or not.
    """
    steps = inventory_reconciliation(ctx, providers=[provider_id])
    steps = steps.filter(steps.as_of <= until)
    steps = steps.mutate(_latest=steps.as_of.max().over(group_by=["facility_id"]))
    latest = steps.filter(steps.as_of == steps._latest)
    rows = (
        latest.select(
            "facility_id",
            "sku",
            "as_of",
            "first_at",
            "snapshot_date",
            "book",
            "on_hand",
            "variance",
            "variance_value",
            "currency",
            "within_tolerance",
        )
        .to_pyarrow()
        .to_pylist()
    )
    if not rows:
        notes.append(
            f"no inventory count from {provider_id} on or before {until:%Y-%m-%d}: "
            "the book cannot be checked"
        )
        return None
    counted_on: date | None = max(
        (r["snapshot_date"] for r in rows if r["snapshot_date"] is not None), default=None
    )
    judged = [r for r in rows if _utc(r["as_of"]) > _utc(r["first_at"])]
    if not judged:
        notes.append(
            f"the latest inventory count from {provider_id} is its first: the book starts "
            "from it, so there is nothing to check it against yet"
        )
    off = [r for r in judged if int(r["variance"]) != 0]
    values = [Decimal(str(r["variance_value"])) for r in off if r["variance_value"] is not None]
    costs = audience == "brand"
    value_off = None
    if costs and (values or not off):  # None: differences without a unit cost to value them
        value_off = sum((abs(v) for v in values), Decimal(0))
    currency = next((r["currency"] for r in rows if r["currency"]), None)
    within = sum(1 for r in judged if r["within_tolerance"])
    off.sort(key=lambda r: (-abs(int(r["variance"])), r["facility_id"], r["sku"]))
    top: list[dict[str, Any]] = []
    for r in off[:TOP_DIFFERENCES]:
        item: dict[str, Any] = {
            "facility_id": r["facility_id"],
            "sku": r["sku"],
            "book": int(r["book"]),
            "counted": int(r["on_hand"]),
            "difference": int(r["variance"]),
        }
        if costs:
            value = r["variance_value"]
            item["value"] = None if value is None else Decimal(str(value))
        top.append(item)
    return InventoryLine(
        counted_on=counted_on,
        skus_counted=len(judged),
        skus_off=len(off),
        units_off=sum(abs(int(r["variance"])) for r in off),
        value_off=value_off,
        currency=currency,
        accuracy=within / len(judged) if judged else None,
        top=top,
    )


# -- customer experience ------------------------------------------------------------------------


def _share(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _feedback(ctx: MetricContext, provider_id: str, week: IsoWeek) -> tuple[int, int]:
    """(score sum, responses with a score) of the feedback on the provider's orders received
    in the week (`experience.feedback_in_period`)."""
    feedback = feedback_in_period(ctx, week.start, week.end)
    feedback = feedback.filter(feedback.provider_id == provider_id)
    row = feedback.aggregate(scored=feedback.score.count(), score_sum=feedback.score.sum())
    (found,) = row.to_pyarrow().to_pylist()
    return int(found["score_sum"] or 0), int(found["scored"] or 0)


def _audits(ctx: MetricContext, provider_id: str, week: IsoWeek) -> tuple[int, int]:
    """(orders that passed every check, orders audited) in the week, as the experience report
    counts them (`experience.audits_in_period`; an audit without an order stands for itself)."""
    audits = audits_in_period(ctx, week.start, week.end)
    audits = audits.filter(audits.provider_id == provider_id)
    audits = audits.mutate(_subject=audits.order_id.fill_null(audits.audit_id))
    subjects = audits.group_by("_subject").aggregate(ok=audits.passed.all())
    row = subjects.aggregate(audited=subjects.count(), passed=subjects.ok.ifelse(1, 0).sum())
    (found,) = row.to_pyarrow().to_pylist()
    return int(found["passed"] or 0), int(found["audited"] or 0)


def experience_lines(
    ctx: MetricContext,
    figures: WeeklyFigures,
    provider_id: str,
    week: IsoWeek,
    notes: list[str],
) -> list[ExperienceLine]:
    """The week's customer-experience figures of the provider, labelled in plain words.

    The figures of the experience report (`experience.experience_report`) without its
    breakdowns: the catalogue's perfect-order, delivery, damage-free and accuracy KPIs of the
    week (damaged and mis-shipped orders are those KPIs' misses), the feedback received and
    the packaging audits done in the week.
    """
    perfect = figures.week(PERFECT, week)
    on_time = figures.week(ON_TIME, week)
    damage_free = figures.week(DAMAGE_FREE, week)
    accurate = figures.week(ACCURACY, week)
    damaged = damage_free.denominator - damage_free.numerator
    misshipped = accurate.denominator - accurate.numerator
    score_sum, scored = _feedback(ctx, provider_id, week)
    passed, audited = _audits(ctx, provider_id, week)
    lines = [
        ExperienceLine(
            name="perfect_order_rate",
            label="Perfect orders (on time, complete, right items, undamaged)",
            value=perfect.value,
            numerator=perfect.numerator,
            denominator=perfect.denominator,
            unit="rate",
        ),
        ExperienceLine(
            name="on_time_delivery_rate",
            label="Delivered by the promised date",
            value=on_time.value,
            numerator=on_time.numerator,
            denominator=on_time.denominator,
            unit="rate",
        ),
        ExperienceLine(
            name="damage_rate",
            label="Delivered orders reported damaged",
            value=_share(damaged, damage_free.denominator),
            numerator=damaged,
            denominator=damage_free.denominator,
            unit="rate",
        ),
        ExperienceLine(
            name="mis_ship_rate",
            label="Shipped orders with a wrong or missing item",
            value=_share(misshipped, accurate.denominator),
            numerator=misshipped,
            denominator=accurate.denominator,
            unit="rate",
        ),
        ExperienceLine(
            name="feedback_score",
            label="Average customer feedback score",
            value=_share(score_sum, scored),
            numerator=score_sum,
            denominator=scored,
            unit="score",
        ),
        ExperienceLine(
            name="audit_pass_rate",
            label="Audited orders that passed every packaging check",
            value=_share(passed, audited),
            numerator=passed,
            denominator=audited,
            unit="rate",
        ),
    ]
    if all(line.denominator == 0 for line in lines):
        notes.append(
            f"no customer-experience data for {provider_id} in {week.name} (no deliveries "
            "due, orders shipped, feedback or audits that week)"
        )
    return lines


# -- forecast -----------------------------------------------------------------------------------


def _run_id(connection: sa.Connection, provider_id: str, clock: datetime) -> int | None:
    """The latest kept run forecasting the provider from history up to the clock (else the
    latest run at all)."""
    holding = sa.select(forecast_series.c.run_id).where(
        forecast_series.c.provider_id == provider_id
    )
    r = forecast_runs.c
    base = sa.select(sa.func.max(r.run_id)).where(r.run_id.in_(holding))
    before = connection.execute(base.where(r.as_of < clock.date())).scalar()
    if before is not None:
        return int(before)
    latest = connection.execute(base).scalar()
    return None if latest is None else int(latest)


def forecast_lines(
    connection: sa.Connection,
    provider_id: str,
    week: IsoWeek,
    clock: datetime,
    notes: list[str],
) -> tuple[list[ForecastWeekLine], date | None]:
    """The six ISO weeks after `week`: P50/P90 orders against committed capacity."""
    ahead = [week.shifted(i) for i in range(1, FORECAST_WEEKS + 1)]
    span = f"{ahead[0].name}..{ahead[-1].name}"
    run_id = _run_id(connection, provider_id, clock)
    run = None
    if run_id is not None:
        run = load_run(connection, run_id, provider_ids=[provider_id], include_store=False)
    if run is None:
        notes.append(f"no forecast run is kept for {provider_id}: run tallyclerk forecast")
        return [], None
    forecast = run.find(provider_id, None, "orders")
    if forecast is None:
        notes.append(
            f"the kept forecast run of {run.as_of} holds no orders forecast for {provider_id}"
        )
        return [], run.as_of
    run = attach_capacity(connection, run)
    versions = contract_versions(connection, provider_id)
    report = run.capacity.get(provider_id)
    judged = {w.start: w for w in report.weeks} if report is not None else {}
    loads_by_week: dict[date, list[date]] = {}
    for day, _p50, _p90 in business_loads(forecast, versions):
        loads_by_week.setdefault(day - timedelta(days=day.weekday()), []).append(day)
    lines: list[ForecastWeekLine] = []
    missing: list[str] = []
    for each in ahead:
        offset = (each.start - forecast.start).days
        if offset < 0 or offset + 7 > forecast.horizon:
            missing.append(each.name)
            continue
        capacities = [daily_capacity(versions, d)[0] for d in loads_by_week.get(each.start, [])]
        known = [c for c in capacities if c is not None]
        capacity_week = judged.get(each.start)
        lines.append(
            ForecastWeekLine(
                week=each.name,
                start=each.start,
                p50=float(forecast.p50[offset : offset + 7].sum()),
                p90=float(forecast.p90[offset : offset + 7].sum()),
                capacity=float(sum(known)) if known else None,
                days_over=capacity_week.over_days if capacity_week is not None else 0,
                gap=capacity_week.gap_orders if capacity_week is not None else 0.0,
            )
        )
    if not lines:
        notes.append(
            f"the latest kept forecast run (history to {run.as_of}, {run.horizon} days ahead) "
            f"does not cover {span}: run tallyclerk forecast"
        )
    elif missing:
        notes.append(
            f"the kept forecast run (history to {run.as_of}, {run.horizon} days ahead) does "
            f"not cover {', '.join(missing)}"
        )
    return lines, run.as_of
