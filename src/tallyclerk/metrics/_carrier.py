"""No first scan (DESIGN section 5): shipments the carrier never scanned, likely lost."""

from __future__ import annotations

import ibis.expr.types as ir

from tallyclerk.domain import TrackingStatus
from tallyclerk.metrics._context import MetricContext
from tallyclerk.metrics._orders import no_value
from tallyclerk.metrics._registry import Metric, register

# label_created is written when the shipper prints the label, before the carrier has the
# parcel: it is not a scan, and a parcel with nothing else is exactly a "no first scan".
NOT_A_SCAN = (str(TrackingStatus.LABEL_CREATED),)


def scan_deadlines(ctx: MetricContext, within_business_days: int | None = None) -> ir.Table:
    """Shipments by the clock with the deadline for their first carrier scan.

    Columns: shipment_id, order_id, provider_id, facility_id, carrier, tracking_number,
    shipped_at, deadline_utc, deadline_date. The deadline is the end of the N-th business
    day after the first business day on or after shipped_at's local date at the shipping
    facility (DESIGN section 3); N is the contract's no_first_scan_rate term in force, or
    `within_business_days` when given. Null where the facility has no calendar.
    """
    shipments = ctx.happened(ctx.table("shipments"), "shipped_at")
    parcels = shipments.select(
        "shipment_id",
        "order_id",
        "provider_id",
        "facility_id",
        "carrier",
        "tracking_number",
        "shipped_at",
    )
    if within_business_days is None:
        return ctx.with_business_deadline(parcels, "shipped_at", metric="no_first_scan_rate")
    local = ctx.with_local_date(parcels, "shipped_at", "_event_date")
    facts = ctx.with_day(local, "_event_date", "_e_")
    keyed = facts.mutate(_target_index=facts._e_anchor_index + within_business_days)
    bdays = ctx.frame("business_days")
    joined = keyed.left_join(
        bdays,
        [keyed.facility_id == bdays.facility_id, keyed._target_index == bdays.bd_index],
    )
    return joined.select(
        *(joined[c] for c in parcels.columns),
        deadline_utc=joined.end_utc,
        deadline_date=joined.local_date,
    )


def carrier_scans(ctx: MetricContext) -> ir.Table:
    """tracking_number, occurred_at of every carrier scan by the clock (labels are not scans)."""
    events = ctx.happened(ctx.table("tracking_events"), "occurred_at")
    return events.filter(~events.status.isin(NOT_A_SCAN)).select("tracking_number", "occurred_at")


def first_scan_items(ctx: MetricContext) -> ir.Table:
    """Shipments by the clock; a hit (bad) when no carrier scan came within N business days.

    The deadline is the end of the N-th business day after the first business day on or
    after shipped_at's local date at the shipping facility, N from the contract in force
    (DESIGN section 3). A scan counts if it happened by the clock and by the deadline
    (events join shipments by tracking number). A shipment is decided once it has such a
    scan (not a hit) or once its deadline has passed (a hit); before that it is pending and
    left out. A shipment without a tracking number can never be scanned: it counts as no
    scan once its deadline passes. The period is the deadline's local date.
    """
    due = scan_deadlines(ctx)
    scans = carrier_scans(ctx)
    joined = due.left_join(
        scans,
        [due.tracking_number == scans.tracking_number, scans.occurred_at <= due.deadline_utc],
    )
    per_shipment = joined.group_by(
        ["shipment_id", "provider_id", "facility_id", "deadline_utc", "deadline_date"]
    ).aggregate(scans=joined.occurred_at.count())
    scanned = per_shipment.scans > 0
    decided = per_shipment.filter(scanned | (per_shipment.deadline_utc < ctx.now))
    return decided.select(
        item_id=decided.shipment_id,
        provider_id=decided.provider_id,
        facility_id=decided.facility_id,
        period_date=decided.deadline_date,
        hit=decided.scans == 0,
        value=no_value(),
    )


register(
    Metric(
        name="no_first_scan_rate",
        unit="rate",
        direction="lower",
        description="Shipments with no carrier scan within the contract's N business days of "
        "shipping (likely lost).",
        numerator="shipments without a carrier scan by the deadline",
        denominator="shipments whose scan deadline falls in the period, less those still "
        "waiting for one before the deadline",
        items=first_scan_items,
    )
)
