"""Order accuracy (DESIGN section 5): completely shipped orders without a picking error.

The per-order picking-error facts live here, once, because the perfect-order rate needs
the very same facts (DESIGN section 5: perfect order ∧ no picking error).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tallyclerk.domain import PICKING_ERROR_REASONS, PICKING_ERROR_TAGS
from tallyclerk.metrics._context import MetricContext
from tallyclerk.metrics._orders import no_value, order_completion, sku_differences, union_all
from tallyclerk.metrics._registry import Metric, register

# The routes by which a picking error becomes known, as the columns of `picking_errors`.
ERROR_ROUTES = ("by_lines", "by_return", "by_feedback")


def released_orders(ctx: MetricContext) -> ir.Table:
    """order_id, provider_id, facility_id, released_at of releases known by the clock.

    Order-level KPIs are charged to the 3PL and facility the order was released to.
    """
    released = ctx.happened(ctx.table("releases"), "released_at")
    return released.select("order_id", "provider_id", "facility_id", "released_at")


def has_tag(tags: ir.StringValue, tag: str) -> ir.BooleanValue:
    """Whether a `;`-joined tag list (DESIGN section 4) holds `tag` (False when null).

    Both sides are wrapped in separators so that a tag never matches inside another one;
    plain string containment runs on every engine (no arrays, no LIKE wildcards).
    """
    wrapped = ibis.literal(";") + tags + ibis.literal(";")
    return wrapped.contains(f";{tag};").fill_null(False)


def _line_mismatches(ctx: MetricContext) -> ir.Table:
    """order_id of complete orders whose shipped lines differ from the ordered lines.

    Compared per (order, SKU) once the order is complete: a SKU shipped but not ordered,
    an ordered SKU not shipped, or a different quantity. Orders without any order line are
    left out (nothing to compare against: a data gap, not a picking error).
    """
    ordered_lines = ctx.table("order_lines")
    differing = sku_differences(ctx).select("order_id").distinct()
    with_lines = ordered_lines.select("order_id").distinct()
    complete = order_completion(ctx)
    # Inner joins on distinct ids rather than semi joins: Ibis compiles a semi join to
    # `LEFT SEMI JOIN` for PostgreSQL in some plans, which PostgreSQL does not know.
    judged = differing.join(with_lines, "order_id").join(complete, "order_id")
    return judged.select("order_id")


def _returned_wrong(ctx: MetricContext) -> ir.Table:
    """order_id of orders with a return received by the clock for wrong or missing items."""
    returns = ctx.happened(ctx.table("returns"), "received_at")
    reasons = sorted(str(r) for r in PICKING_ERROR_REASONS)
    wrong = returns.filter(returns.order_id.notnull() & returns.reason.isin(reasons))
    return wrong.select("order_id").distinct()


def _feedback_wrong(ctx: MetricContext) -> ir.Table:
    """order_id of orders with feedback received by the clock tagged wrong or missing item."""
    feedback = ctx.happened(ctx.table("feedback"), "received_at")
    tagged = ibis.or_(*(has_tag(feedback.tags, str(t)) for t in sorted(PICKING_ERROR_TAGS)))
    wrong = feedback.filter(feedback.order_id.notnull() & tagged)
    return wrong.select("order_id").distinct()


def picking_errors(ctx: MetricContext) -> ir.Table:
    """Orders with a picking error known by the clock, one row each, with its routes.

    Columns: order_id, by_lines (shipped lines differ from the order, judged once the order
    is complete), by_return (a wrong_item or missing_item return), by_feedback (feedback
    tagged wrong_item or missing_item). Orders without an error have no row, so callers
    left-join and read a missing row as "no picking error" (DESIGN section 5).
    """
    sources = {
        "by_lines": _line_mismatches(ctx),
        "by_return": _returned_wrong(ctx),
        "by_feedback": _feedback_wrong(ctx),
    }
    flagged = [
        ids.select(
            "order_id",
            **{route: ibis.literal(route == name, type="boolean") for route in ERROR_ROUTES},
        )
        for name, ids in sources.items()
    ]
    union = union_all(*flagged)
    return union.group_by("order_id").aggregate(**{r: union[r].any() for r in ERROR_ROUTES})


def order_accuracy_items(ctx: MetricContext) -> ir.Table:
    """Completely shipped orders; a hit when the order has no picking error.

    The item is the order, charged to its release's provider and facility. It belongs to the
    period of the local date (at the release facility) of its completing shipment, like the
    cycle hours: an event without a deadline (DESIGN section 3). Orders not completely
    shipped by the clock are left out.
    """
    released = released_orders(ctx)
    complete = order_completion(ctx)
    joined = released.join(complete, released.order_id == complete.order_id)
    done = joined.select("order_id", "provider_id", "facility_id", "complete_at")
    dated = ctx.with_local_date(done, "complete_at", "complete_date")
    errors = picking_errors(ctx).select("order_id", _error=ibis.literal(True))
    flagged = dated.left_join(errors, dated.order_id == errors.order_id)
    return flagged.select(
        item_id=flagged.order_id,
        provider_id=flagged.provider_id,
        facility_id=flagged.facility_id,
        period_date=flagged.complete_date,
        hit=flagged._error.isnull(),
        value=no_value(),
    )


register(
    Metric(
        name="order_accuracy_rate",
        unit="rate",
        direction="higher",
        description="Completely shipped orders without a picking error (shipped lines that "
        "differ from the order, a wrong_item or missing_item return, or feedback tagged so).",
        numerator="completely shipped orders without a picking error",
        denominator="orders completely shipped in the period (by the local date of the "
        "completing shipment)",
        items=order_accuracy_items,
    )
)
