"""Promise vs delivery, damage and the perfect order (DESIGN section 5).

An order is delivered when every one of its shipments with a tracking number (shipped by
the clock) has a `delivered` event by the clock; its delivery moment is the latest of those
shipments' first delivered events, read as a date in the brand's time zone (the promise
was made to the customer in the brand's calendar, not in any facility's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir

from tallyclerk.domain import FeedbackTag, ReturnReason, TrackingStatus
from tallyclerk.metrics._accuracy import has_tag, picking_errors, released_orders
from tallyclerk.metrics._compute import Grain, period_start
from tallyclerk.metrics._context import MetricContext
from tallyclerk.metrics._frames import BRAND_FACILITY
from tallyclerk.metrics._orders import no_value, order_completion, union_all
from tallyclerk.metrics._registry import Metric, register
from tallyclerk.metrics._shipping import ship_on_time_items


def first_deliveries(ctx: MetricContext) -> ir.Table:
    """tracking_number -> delivered_at: the earliest `delivered` event seen by the clock.

    The minimum, not the last one received: carriers resend and reorder events, and a
    later duplicate scan must not move a delivery that already happened.
    """
    events = ctx.happened(ctx.table("tracking_events"), "occurred_at")
    delivered = events.filter(events.status == str(TrackingStatus.DELIVERED))
    return delivered.group_by("tracking_number").aggregate(delivered_at=delivered.occurred_at.min())


def delivered_orders(ctx: MetricContext) -> ir.Table:
    """Delivered orders: order_id, provider_id, facility_id, delivered_at, delivery_date.

    Delivered = every shipment with a tracking number, shipped by the clock, has a first
    delivered event (at least one such shipment). Parcels without a tracking number cannot
    be followed and are ignored. `delivery_date` is the brand-local date of the latest first
    delivery; provider and facility come from the order's release.
    """
    shipments = ctx.happened(ctx.table("shipments"), "shipped_at")
    tracked = shipments.filter(shipments.tracking_number.notnull())
    firsts = first_deliveries(ctx)
    joined = tracked.left_join(firsts, tracked.tracking_number == firsts.tracking_number)
    per_order = joined.group_by(joined.order_id).aggregate(
        parcels=joined.count(),
        delivered=joined.delivered_at.count(),
        delivered_at=joined.delivered_at.max(),
    )
    # One parcel still on its way and the order is not delivered yet (left out, pending).
    done = per_order.filter(per_order.parcels == per_order.delivered)
    released = released_orders(ctx)
    charged = done.join(released, done.order_id == released.order_id)
    orders = charged.select(
        "order_id",
        "provider_id",
        "facility_id",
        "delivered_at",
        _brand=ibis.literal(BRAND_FACILITY),
    )
    dated = ctx.with_local_date(orders, "delivered_at", "delivery_date", facility="_brand")
    return dated.drop("_brand")


def _promised_deliveries(ctx: MetricContext) -> ir.Table:
    """Delivered orders with a promised date, and whether they arrived by it."""
    delivered = delivered_orders(ctx)
    orders = ctx.table("orders")
    joined = delivered.join(orders, delivered.order_id == orders.order_id)
    promised = joined.filter(joined.promised_delivery_date.notnull())
    return promised.select(
        "order_id",
        "provider_id",
        "facility_id",
        "delivered_at",
        "delivery_date",
        promised_date=promised.promised_delivery_date,
        on_time=promised.delivery_date <= promised.promised_delivery_date,
    )


def delivery_on_time_items(ctx: MetricContext) -> ir.Table:
    """Delivered orders with a promise; a hit when delivered on or before the promised date.

    The promised date is the deadline, so it places the order in a period (DESIGN section
    3). Orders without a promised date, and orders not delivered by the clock (in transit,
    lost, or one parcel of several still out), are left out.
    """
    promised = _promised_deliveries(ctx)
    return promised.select(
        item_id=promised.order_id,
        provider_id=promised.provider_id,
        facility_id=promised.facility_id,
        period_date=promised.promised_date,
        hit=promised.on_time,
        value=no_value(),
    )


def delivery_lateness_items(ctx: MetricContext) -> ir.Table:
    """delivery_on_time_rate's items, each with who caused a late delivery.

    Columns: item_id, provider_id, facility_id, period_date (as the KPI's), late,
    shipped_late (the order was shipped late by ship_on_time_rate's due time: a late
    delivery is then the 3PL's fault; otherwise, or when ship-on-time did not judge the
    order, the carrier's).
    """
    items = delivery_on_time_items(ctx)
    shipping = ship_on_time_items(ctx)
    shipping = shipping.select(order_id=shipping.item_id, shipped_on_time=shipping.hit)
    joined = items.left_join(shipping, items.item_id == shipping.order_id)
    return joined.select(
        item_id=joined.item_id,
        provider_id=joined.provider_id,
        facility_id=joined.facility_id,
        period_date=joined.period_date,
        late=~joined.hit,
        shipped_late=~joined.shipped_on_time.fill_null(True),
    )


def delivery_lateness(
    ctx: MetricContext, *, grain: Grain = "month", by_facility: bool = False
) -> ir.Table:
    """Late deliveries per provider (and facility) and period, split by who caused them.

    Columns: provider_id, period, [facility_id], delivered, late, late_3pl (the order was
    also shipped late by ship_on_time_rate's due time: the 3PL's fault), late_carrier (the
    rest: shipped on time, or not judged by ship-on-time, so the carrier lost the time).
    Periods as in delivery_on_time_rate (the promised date).
    """
    items = delivery_lateness_items(ctx)
    judged = items.select(
        provider_id=items.provider_id,
        facility_id=items.facility_id,
        period=period_start(items.period_date, grain),
        late=items.late,
        shipped_late=items.shipped_late,
    )
    keys = ["provider_id", "period", *(["facility_id"] if by_facility else [])]
    # CASE WHEN rather than a cast: PostgreSQL cannot cast a boolean to bigint.
    return judged.group_by(keys).aggregate(
        delivered=judged.count(),
        late=judged.late.ifelse(1, 0).sum(),
        late_3pl=(judged.late & judged.shipped_late).ifelse(1, 0).sum(),
        late_carrier=(judged.late & ~judged.shipped_late).ifelse(1, 0).sum(),
    )


@dataclass(frozen=True, slots=True)
class LatenessSplit:
    """Late deliveries of one provider (and facility) and period, by cause."""

    provider_id: str
    facility_id: str | None
    period: date  # the first day of the period
    delivered: int
    late: int
    late_3pl: int
    late_carrier: int


def lateness_split(
    ctx: MetricContext, *, grain: Grain = "month", by_facility: bool = False
) -> list[LatenessSplit]:
    """Run `delivery_lateness` on the context's engine; sorted by provider, facility, period."""
    rows = delivery_lateness(ctx, grain=grain, by_facility=by_facility).to_pyarrow().to_pylist()
    splits = [
        LatenessSplit(
            provider_id=row["provider_id"],
            facility_id=row.get("facility_id") if by_facility else None,
            period=row["period"],
            delivered=int(row["delivered"]),
            late=int(row["late"] or 0),
            late_3pl=int(row["late_3pl"] or 0),
            late_carrier=int(row["late_carrier"] or 0),
        )
        for row in rows
    ]
    return sorted(splits, key=lambda s: (s.provider_id, s.facility_id or "", s.period))


def damage_reports(ctx: MetricContext) -> ir.Table:
    """Orders with damage reported by the clock, one row each, with its routes.

    Columns: order_id, by_return (a return with reason damaged), by_feedback (feedback
    tagged damaged). Orders without a report have no row.
    """
    returns = ctx.happened(ctx.table("returns"), "received_at")
    by_return = returns.filter(
        returns.order_id.notnull() & (returns.reason == str(ReturnReason.DAMAGED))
    ).select("order_id", by_return=ibis.literal(True), by_feedback=ibis.literal(False))
    feedback = ctx.happened(ctx.table("feedback"), "received_at")
    by_feedback = feedback.filter(
        feedback.order_id.notnull() & has_tag(feedback.tags, str(FeedbackTag.DAMAGED))
    ).select("order_id", by_return=ibis.literal(False), by_feedback=ibis.literal(True))
    union = union_all(by_return, by_feedback)
    return union.group_by("order_id").aggregate(
        by_return=union.by_return.any(), by_feedback=union.by_feedback.any()
    )


def damaged_orders(ctx: MetricContext) -> ir.Table:
    """order_id of orders with a damaged return or feedback tagged damaged, by the clock."""
    return damage_reports(ctx).select("order_id")


def damage_free_items(ctx: MetricContext) -> ir.Table:
    """Delivered orders; a hit when no damaged return or damaged feedback tag is known.

    No deadline: the order belongs to the period of its delivery's brand-local date
    (DESIGN section 3). Orders not delivered by the clock are left out.
    """
    delivered = delivered_orders(ctx)
    damaged = damaged_orders(ctx).mutate(_damaged=ibis.literal(True))
    joined = delivered.left_join(damaged, delivered.order_id == damaged.order_id)
    return joined.select(
        item_id=joined.order_id,
        provider_id=joined.provider_id,
        facility_id=joined.facility_id,
        period_date=joined.delivery_date,
        hit=joined._damaged.isnull(),
        value=no_value(),
    )


def perfect_order_facts(ctx: MetricContext) -> ir.Table:
    """perfect_order_rate's orders with each of its four components as a flag.

    Columns: order_id, provider_id, facility_id, promised_date, on_time, complete (shipped
    complete by the clock), picking_error, damaged. Same rows as `perfect_order_items`.
    """
    promised = _promised_deliveries(ctx)
    complete = order_completion(ctx).select("order_id", _complete=ibis.literal(True))
    errors = picking_errors(ctx).select("order_id", _error=ibis.literal(True))
    damaged = damaged_orders(ctx).mutate(_damaged=ibis.literal(True))
    facts = promised
    for extra in (complete, errors, damaged):
        joined = facts.left_join(extra, facts.order_id == extra.order_id)
        facts = joined.select(
            *(joined[c] for c in facts.columns),
            *(joined[c] for c in extra.columns if c != "order_id"),
        )
    return facts.select(
        order_id=facts.order_id,
        provider_id=facts.provider_id,
        facility_id=facts.facility_id,
        promised_date=facts.promised_date,
        on_time=facts.on_time,
        complete=facts._complete.notnull(),
        picking_error=facts._error.notnull(),
        damaged=facts._damaged.notnull(),
    )


def perfect_order_items(ctx: MetricContext) -> ir.Table:
    """Delivered orders with a promise; a hit when on time, complete, accurate, undamaged.

    Shipped complete = the order's shipments cover its units by the clock (a short-shipped
    order can be delivered, parcel by parcel, and still not be complete). Same items and
    periods (the promised date) as delivery_on_time_rate.
    """
    facts = perfect_order_facts(ctx)
    perfect = facts.on_time & facts.complete & ~facts.picking_error & ~facts.damaged
    return facts.select(
        item_id=facts.order_id,
        provider_id=facts.provider_id,
        facility_id=facts.facility_id,
        period_date=facts.promised_date,
        hit=perfect,
        value=no_value(),
    )


register(
    Metric(
        name="delivery_on_time_rate",
        unit="rate",
        direction="higher",
        description="Delivered orders whose delivery (brand-local date of the last parcel's "
        "first delivered event) is on or before the promised delivery date.",
        numerator="delivered orders delivered by the promised date",
        denominator="delivered orders whose promised delivery date falls in the period",
        items=delivery_on_time_items,
    )
)
register(
    Metric(
        name="damage_free_rate",
        unit="rate",
        direction="higher",
        description="Delivered orders without a damaged return or a damaged feedback tag.",
        numerator="delivered orders with no damage reported",
        denominator="orders delivered in the period (brand-local delivery date)",
        items=damage_free_items,
    )
)
register(
    Metric(
        name="perfect_order_rate",
        unit="rate",
        direction="higher",
        description="Delivered orders that arrived on time, shipped complete, without a "
        "picking error and without damage.",
        numerator="perfect orders",
        denominator="delivered orders whose promised delivery date falls in the period",
        items=perfect_order_items,
    )
)
