"""Order-level facts several KPIs share: when each order was completely shipped."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tallyclerk.metrics._context import MetricContext


def shipped_lines(ctx: MetricContext) -> ir.Table:
    """Every shipped unit line known by the clock: order_id, shipment_id, sku, qty, shipped_at."""
    shipments = ctx.happened(ctx.table("shipments"), "shipped_at")
    lines = ctx.table("shipment_lines")
    joined = lines.join(shipments, lines.shipment_id == shipments.shipment_id)
    return joined.select(
        order_id=joined.order_id,
        shipment_id=lines.shipment_id,
        sku=lines.sku,
        qty=lines.qty,
        shipped_at=joined.shipped_at,
    )


def order_completion(ctx: MetricContext) -> ir.Table:
    """order_id -> complete_at: when the order's shipments together covered its units.

    Complete means the shipped units reach the ordered units; the moment is the last
    shipment's (a split order completes with its last parcel). A wrong SKU in the parcel
    still counts as shipped here: it is a picking error, measured by order accuracy, not
    a late shipment. An order without lines is complete with its last shipment.
    """
    shipped = (
        shipped_lines(ctx)
        .group_by("order_id")
        .aggregate(shipped_units=lambda t: t.qty.sum(), complete_at=lambda t: t.shipped_at.max())
    )
    ordered = (
        ctx.table("order_lines").group_by("order_id").aggregate(ordered_units=lambda t: t.qty.sum())
    )
    joined = shipped.left_join(ordered, shipped.order_id == ordered.order_id)
    covered = joined.filter(
        joined.ordered_units.isnull() | (joined.shipped_units >= joined.ordered_units)
    )
    return covered.select(order_id=covered.order_id, complete_at=covered.complete_at)


def union_all(*tables: ir.Table, distinct: bool = False) -> ir.Table:
    """Union tables whose columns agree but for nullability.

    Store columns are declared NOT NULL where literals and outer joins are not; Ibis
    refuses a union over such a difference, so every column is made nullable first.
    """
    loose = [t.cast({n: typ.copy(nullable=True) for n, typ in t.schema().items()}) for t in tables]
    return ibis.union(*loose, distinct=distinct)


def sku_differences(ctx: MetricContext) -> ir.Table:
    """(order_id, sku, ordered, shipped) where the units shipped by the clock differ from the
    units ordered: a SKU shipped but not ordered, an ordered SKU not (fully) shipped, or a
    different quantity. Whether the order is complete is the caller's question."""
    lines = ctx.table("order_lines")
    ordered = lines.select(
        order_id=lines.order_id,
        sku=lines.sku,
        ordered=lines.qty.cast("int64"),
        shipped=ibis.literal(0, type="int64"),
    )
    out = shipped_lines(ctx)
    shipped = out.select(
        order_id=out.order_id,
        sku=out.sku,
        ordered=ibis.literal(0, type="int64"),
        shipped=out.qty.cast("int64"),
    )
    # A union and a sum rather than a full outer join: the same on every engine.
    per_sku = (
        union_all(ordered, shipped)
        .group_by(["order_id", "sku"])
        .aggregate(ordered=lambda t: t.ordered.sum(), shipped=lambda t: t.shipped.sum())
    )
    return per_sku.filter(per_sku.ordered != per_sku.shipped)


def no_value() -> ir.FloatingScalar:
    """The `value` of rate metrics: none."""
    return ibis.null().cast("float64")
