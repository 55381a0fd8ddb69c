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
    shipments = ctx.happened(ctx.table("shipments"), "shipped_at")
    parcels = shipments.select(
        "shipment_id", "provider_id", "facility_id", "tracking_number", "shipped_at"
    )
    due = ctx.with_business_deadline(parcels, "shipped_at", metric="no_first_scan_rate")
    events = ctx.happened(ctx.table("tracking_events"), "occurred_at")
    scans = events.filter(~events.status.isin(NOT_A_SCAN)).select("tracking_number", "occurred_at")
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
