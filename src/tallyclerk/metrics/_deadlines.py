"""KPIs of work due "within N business days": dock to stock, returns, dispute responses.

One rule for all three (DESIGN section 3): the count starts on the first business day on or
after the event's local date, and the work is on time when done by the end of the N-th
business day after it, N being the contract's on the event's local date (peak variants and
new versions included). An item belongs to the period of its deadline's local date.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tallyclerk.metrics._context import MetricContext
from tallyclerk.metrics._frames import BRAND_FACILITY
from tallyclerk.metrics._orders import no_value
from tallyclerk.metrics._registry import Metric, register

DOCK_TO_STOCK = "dock_to_stock_on_time_rate"
RETURN_PROCESSING = "return_processing_on_time_rate"
DISPUTE_RESPONSE = "dispute_response_on_time_rate"

_CLOCK = "_clock_facility"


def deadline_items(
    ctx: MetricContext,
    work: ir.Table,
    metric: str,
    *,
    per_facility: bool = True,
) -> ir.Table:
    """Items of work due within the contract's N business days of an event.

    `work` has item_id, provider_id, the calendar to count on (`_clock_facility`), the
    event (`event_at`, which has happened) and its completion (`done_at`, null while open).
    Work done by the deadline is a hit; work not done by the evaluation clock is late once
    the deadline has passed and left out (pending) before, as ship_on_time_rate does.
    """
    timed = ctx.with_business_deadline(work, "event_at", metric=metric, facility=_CLOCK)
    # A deadline beyond the calendars' span cannot be placed in a period; the calendars
    # cover the data's span with margins, so this only drops records far outside it.
    timed = timed.filter(timed.deadline_utc.notnull())
    done = ctx.seen(timed.done_at)
    kept = timed.filter(done | (timed.deadline_utc < ctx.now))
    on_time = ctx.seen(kept.done_at) & (kept.done_at <= kept.deadline_utc)
    return kept.select(
        item_id=kept.item_id,
        provider_id=kept.provider_id,
        facility_id=kept[_CLOCK] if per_facility else ibis.null().cast("string"),
        period_date=kept.deadline_date,
        hit=on_time.fill_null(False),
        value=no_value(),
    )


def dock_to_stock_items(ctx: MetricContext) -> ir.Table:
    """Receipt lines (receipt_id, sku) that arrived: on time when stocked within N days."""
    receipts = ctx.happened(ctx.table("receipts"), "arrived_at")
    work = receipts.select(
        item_id=receipts.receipt_id.concat("|", receipts.sku),
        provider_id=receipts.provider_id,
        **{_CLOCK: receipts.facility_id},
        event_at=receipts.arrived_at,
        done_at=receipts.stocked_at,
    )
    return deadline_items(ctx, work, DOCK_TO_STOCK)


def return_processing_items(ctx: MetricContext) -> ir.Table:
    """Return lines (return_id, sku) received: on time when processed within N days."""
    returns = ctx.happened(ctx.table("returns"), "received_at")
    work = returns.select(
        item_id=returns.return_id.concat("|", returns.sku),
        provider_id=returns.provider_id,
        **{_CLOCK: returns.facility_id},
        event_at=returns.received_at,
        done_at=returns.processed_at,
    )
    return deadline_items(ctx, work, RETURN_PROCESSING)


def dispute_response_items(ctx: MetricContext) -> ir.Table:
    """Disputes opened: on time when the 3PL responded within N business days.

    A dispute belongs to no facility, so its days are counted on the brand's calendar (the
    brand's time zone, weekends off), the one the brand's liaison works by.
    """
    disputes = ctx.happened(ctx.table("disputes"), "opened_at")
    work = disputes.select(
        item_id=disputes.dispute_id,
        provider_id=disputes.provider_id,
        **{_CLOCK: ibis.literal(BRAND_FACILITY)},
        event_at=disputes.opened_at,
        done_at=disputes.responded_at,
    )
    return deadline_items(ctx, work, DISPUTE_RESPONSE, per_facility=False)


register(
    Metric(
        name=DOCK_TO_STOCK,
        unit="rate",
        direction="higher",
        description="Receipt lines stocked within the contract's N business days of arrival.",
        numerator="receipt lines stocked by the end of the N-th business day after arrival",
        denominator="receipt lines arrived whose deadline falls in the period; a line still "
        "unstocked after its deadline counts as late",
        items=dock_to_stock_items,
    )
)
register(
    Metric(
        name=RETURN_PROCESSING,
        unit="rate",
        direction="higher",
        description="Returns processed within the contract's N business days of receipt.",
        numerator="return lines processed by the end of the N-th business day after receipt",
        denominator="return lines received whose deadline falls in the period; a line still "
        "unprocessed after its deadline counts as late",
        items=return_processing_items,
    )
)
register(
    Metric(
        name=DISPUTE_RESPONSE,
        unit="rate",
        direction="higher",
        description="Disputes the 3PL answered within the contract's N business days.",
        numerator="disputes answered by the end of the N-th business day after opening "
        "(brand calendar)",
        denominator="disputes opened whose deadline falls in the period; a dispute still "
        "unanswered after its deadline counts as late",
        items=dispute_response_items,
    )
)
