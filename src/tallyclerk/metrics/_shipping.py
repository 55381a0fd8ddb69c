"""Ship-on-time and order cycle time (DESIGN section 5)."""

from __future__ import annotations

import ibis.expr.types as ir

from tallyclerk.metrics._context import MetricContext
from tallyclerk.metrics._orders import no_value, order_completion
from tallyclerk.metrics._registry import Metric, register


def _released_with_completion(ctx: MetricContext) -> ir.Table:
    released = ctx.happened(ctx.table("releases"), "released_at")
    completion = order_completion(ctx)
    joined = released.left_join(completion, released.order_id == completion.order_id)
    return joined.select(*released.columns, complete_at=joined.complete_at)


def ship_on_time_items(ctx: MetricContext) -> ir.Table:
    """Released orders due in the period; on time when completely shipped by the due time.

    Orders cancelled before their due time are left out. An order not completely shipped
    counts as late once its due time has passed on the evaluation clock, and is left out
    (pending) before that.
    """
    due = ctx.with_ship_due(_released_with_completion(ctx))
    orders = ctx.table("orders")
    joined = due.left_join(orders, due.order_id == orders.order_id)
    cancelled_first = ctx.seen(joined.cancelled_at) & (joined.cancelled_at <= joined.due_utc)
    complete = joined.complete_at.notnull()
    decided = complete | (joined.due_utc < ctx.now)
    kept = joined.filter(~cancelled_first & decided)
    return kept.select(
        item_id=kept.order_id,
        provider_id=kept.provider_id,
        facility_id=kept.facility_id,
        period_date=kept.due_date,
        hit=(kept.complete_at.notnull() & (kept.complete_at <= kept.due_utc)).fill_null(False),
        value=no_value(),
    )


def cycle_hours_items(ctx: MetricContext) -> ir.Table:
    """Completely shipped orders with the hours from release to complete shipment.

    No deadline: an order belongs to the period of its completion's local date.
    """
    released = _released_with_completion(ctx)
    done = released.filter(released.complete_at.notnull())
    dated = ctx.with_local_date(done, "complete_at", "complete_date")
    hours = ctx.hours_between(dated.released_at, dated.complete_at)
    return dated.select(
        item_id=dated.order_id,
        provider_id=dated.provider_id,
        facility_id=dated.facility_id,
        period_date=dated.complete_date,
        hit=hours >= 0,
        value=hours.cast("float64"),
    )


register(
    Metric(
        name="ship_on_time_rate",
        unit="rate",
        direction="higher",
        description="Released orders completely shipped by their ship due time "
        "(same day before the cutoff, else the next business day).",
        numerator="orders completely shipped by the due time",
        denominator="orders released whose due time falls in the period, less those cancelled "
        "before it; an order still unshipped after its due time counts as late",
        items=ship_on_time_items,
    )
)
for _q, _name in ((0.5, "order_cycle_hours_p50"), (0.9, "order_cycle_hours_p90")):
    register(
        Metric(
            name=_name,
            unit="hours",
            direction="lower",
            description=f"The {int(_q * 100)}th percentile of hours from release to complete "
            "shipment.",
            numerator="completely shipped orders measured",
            denominator="completely shipped orders measured",
            items=cycle_hours_items,
            quantile=_q,
        )
    )
