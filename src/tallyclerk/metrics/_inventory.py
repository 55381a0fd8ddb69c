"""Inventory accuracy: the 3PL's on_hand against the brand's book (DESIGN section 5).

The book of a (facility, SKU) starts from its first snapshot and moves with every record the
brand holds: stocked receipts, shipped units, restocked returns and approved adjustments. The
running sum is one window over the movements and the snapshot instants, so it stays a single
pass on every engine instead of a join of each snapshot with everything before it.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tallyclerk.metrics._compute import Grain, period_start
from tallyclerk.metrics._context import MetricContext
from tallyclerk.metrics._orders import no_value
from tallyclerk.metrics._registry import Metric, register

METRIC = "inventory_accuracy_rate"
STOCK_KEY = ("provider_id", "facility_id", "sku")

# In the running sum a movement sorts before a snapshot taken at the same instant: the book
# "up to the snapshot" includes what happened at that very instant (DESIGN section 5).
_MOVEMENT = 0
_CHECK = 1


def nullable(table: ir.Table) -> ir.Table:
    """The table with every column nullable, so that tables of several sources union."""
    schema = table.schema()
    return table.select(
        **{name: table[name].cast(dtype.copy(nullable=True)) for name, dtype in schema.items()}
    )


# The components of a stock movement. The first four move the book; the last do not, but are
# the likeliest explanation of a gap between the book and a count.
IN_BOOK = ("received", "shipped", "restocked", "adjusted")
NOT_IN_BOOK = ("unapproved",)
COMPONENTS = (*IN_BOOK, *NOT_IN_BOOK)


def stock_records(ctx: MetricContext, *, unapproved: bool = False) -> ir.Table:
    """Every record that moved stock by the clock, signed, with its id and component.

    Columns: provider_id, facility_id, sku, moved_at, qty, component (one of COMPONENTS),
    record_id (the receipt, shipment, return or adjustment id). With `unapproved`, the
    adjustments not (yet) approved are listed too, as component "unapproved": they do not
    move the book.
    """
    receipts = ctx.happened(ctx.table("receipts"), "stocked_at")
    received = receipts.select(
        provider_id=receipts.provider_id,
        facility_id=receipts.facility_id,
        sku=receipts.sku,
        moved_at=receipts.stocked_at,
        qty=receipts.received_qty.fill_null(0).cast("int64"),
        component=ibis.literal("received"),
        record_id=receipts.receipt_id,
    )
    shipments = ctx.happened(ctx.table("shipments"), "shipped_at")
    lines = ctx.table("shipment_lines")
    parcels = lines.join(shipments, lines.shipment_id == shipments.shipment_id)
    shipped = parcels.select(
        provider_id=parcels.provider_id,
        facility_id=parcels.facility_id,
        sku=parcels.sku,
        moved_at=parcels.shipped_at,
        qty=(-parcels.qty).cast("int64"),
        component=ibis.literal("shipped"),
        record_id=parcels.shipment_id,
    )
    returns = ctx.happened(ctx.table("returns"), "processed_at")
    restocked = returns.filter(returns.disposition.strip().lower() == "restock")
    restocked = restocked.select(
        provider_id=restocked.provider_id,
        facility_id=restocked.facility_id,
        sku=restocked.sku,
        moved_at=restocked.processed_at,
        qty=restocked.qty.cast("int64"),
        component=ibis.literal("restocked"),
        record_id=restocked.return_id,
    )
    adjustments = ctx.happened(ctx.table("adjustments"), "occurred_at")
    is_approved = adjustments.approved.fill_null(False)
    chosen = adjustments if unapproved else adjustments.filter(is_approved)
    adjusted = chosen.select(
        provider_id=chosen.provider_id,
        facility_id=chosen.facility_id,
        sku=chosen.sku,
        moved_at=chosen.occurred_at,
        qty=chosen.qty_delta.cast("int64"),
        component=ibis.ifelse(chosen.approved.fill_null(False), "adjusted", "unapproved"),
        record_id=chosen.adjustment_id,
    )
    parts = (received, shipped, restocked, adjusted)
    return ibis.union(*(nullable(p) for p in parts), distinct=False)


def stock_movements(ctx: MetricContext) -> ir.Table:
    """Every stock movement the brand knows of by the clock, signed.

    Columns: provider_id, facility_id, sku, moved_at, qty. Receipts count when stocked (not
    on arrival: unstocked goods are not available to ship), returns only when restocked, and
    adjustments only when approved (an unapproved count is a dispute, not a stock change).
    """
    return stock_records(ctx).select(*STOCK_KEY, "moved_at", "qty")


def inventory_book(ctx: MetricContext) -> ir.Table:
    """The book against the 3PL's count, per (provider, facility, SKU) and snapshot instant.

    Columns: provider_id, facility_id, sku, as_of, first_at (the SKU's first snapshot there),
    first_on_hand, moved (net movements after first_at, up to and including as_of), book,
    reported_on_hand (null when the snapshot leaves the SKU out), on_hand (a left-out SKU
    counts as none on hand) and variance (on_hand - book: negative is shrink).

    Every snapshot instant of a facility is checked against every SKU known there by then, so
    a SKU the 3PL stops reporting is still held to its book. Reconciliation reads this table.
    """
    snapshots = ctx.happened(ctx.table("inventory_snapshots"), "as_of")
    first_seen = snapshots.group_by(list(STOCK_KEY)).aggregate(first_at=snapshots.as_of.min())
    firsts = first_seen.join(
        snapshots,
        [
            *(first_seen[k] == snapshots[k] for k in STOCK_KEY),
            first_seen.first_at == snapshots.as_of,
        ],
    ).select(*STOCK_KEY, "first_at", first_on_hand=snapshots.on_hand.cast("int64"))

    instants = snapshots.select("provider_id", "facility_id", "as_of").distinct()
    known = instants.join(
        firsts,
        [
            instants.provider_id == firsts.provider_id,
            instants.facility_id == firsts.facility_id,
            firsts.first_at <= instants.as_of,
        ],
    ).select(*STOCK_KEY, "as_of", "first_at", "first_on_hand")
    reported = known.left_join(
        snapshots,
        [*(known[k] == snapshots[k] for k in STOCK_KEY), known.as_of == snapshots.as_of],
    )
    checks = reported.select(
        *(reported[c] for c in known.columns),
        reported_on_hand=reported.on_hand.cast("int64"),
    )

    moves = stock_movements(ctx)
    later = moves.join(
        firsts,
        [*(moves[k] == firsts[k] for k in STOCK_KEY), moves.moved_at > firsts.first_at],
    )
    # Snapshot rows carry their own facts through the running sum, so nothing has to be
    # joined back to it afterwards (a join some planners run once per snapshot row).
    carried = ("first_at", "first_on_hand", "reported_on_hand")
    none = {c: ibis.null().cast(checks[c].type()) for c in carried}
    events = ibis.union(
        nullable(
            later.select(
                *STOCK_KEY,
                at=later.moved_at,
                qty=later.qty,
                kind=ibis.literal(_MOVEMENT, type="int8"),
                **none,
            )
        ),
        nullable(
            checks.select(
                *STOCK_KEY,
                at=checks.as_of,
                qty=ibis.literal(0, type="int64"),
                kind=ibis.literal(_CHECK, type="int8"),
                **{c: checks[c] for c in carried},
            )
        ),
        distinct=False,
    )
    running = ibis.window(group_by=list(STOCK_KEY), order_by=["at", "kind"], rows=(None, 0))
    events = events.mutate(moved=events.qty.sum().over(running))
    marks = events.filter(events.kind == _CHECK)
    book = (marks.first_on_hand + marks.moved).cast("int64")
    on_hand = marks.reported_on_hand.fill_null(0)
    return marks.select(
        *STOCK_KEY,
        as_of=marks.at,
        first_at=marks.first_at,
        first_on_hand=marks.first_on_hand,
        reported_on_hand=marks.reported_on_hand,
        moved=marks.moved.cast("int64"),
        book=book,
        on_hand=on_hand,
        variance=(on_hand - book).cast("int64"),
    )


def inventory_accuracy_items(ctx: MetricContext, grain: Grain = "month") -> ir.Table:
    """(facility, SKU) at the period's last snapshot: a hit when on_hand is within tolerance.

    The period's last snapshot is, per provider and facility, the latest instant whose
    facility-local date falls in the period (DESIGN section 5). The contract's
    `tolerance_units` is the one in force on the snapshot's local date. A SKU's first
    snapshot is its book's baseline, equal to it by definition, so it is not an item.
    The registered metric uses the month, the SLA period; other grains can ask here.
    """
    dated = ctx.with_local_date(inventory_book(ctx), "as_of", "snapshot_date")
    dated = dated.mutate(_period=period_start(dated.snapshot_date, grain))
    # The window is a column before it is filtered on: Spark cannot filter on it inline.
    dated = dated.mutate(
        _last=dated.as_of.max().over(group_by=["provider_id", "facility_id", "_period"])
    )
    closing = dated.filter((dated.as_of == dated._last) & (dated.as_of > dated.first_at))
    params = ctx.frame("metric_params").filter(lambda p: p.metric == METRIC)
    joined = closing.left_join(
        params,
        [
            closing.provider_id == params.provider_id,
            closing.snapshot_date == params.local_date,
        ],
    )
    tolerance = joined.tolerance_units.fill_null(0)
    return joined.select(
        item_id=joined.facility_id.concat("|", joined.sku),
        provider_id=joined.provider_id,
        facility_id=joined.facility_id,
        period_date=joined.snapshot_date,
        hit=(joined.variance.abs() <= tolerance).fill_null(False),
        value=no_value(),
    )


def _monthly_items(ctx: MetricContext) -> ir.Table:
    return inventory_accuracy_items(ctx, "month")


register(
    Metric(
        name=METRIC,
        unit="rate",
        direction="higher",
        description="Share of (facility, SKU) whose 3PL on_hand is within the contract's "
        "tolerance of the book at the period's last snapshot.",
        numerator="(facility, SKU) within tolerance of the book at the period's last snapshot",
        denominator="(facility, SKU) known at the facility's last snapshot of the period "
        "(book = first snapshot + stocked receipts - shipped units + restocked returns "
        "+ approved adjustments, up to the snapshot)",
        items=_monthly_items,
    )
)
