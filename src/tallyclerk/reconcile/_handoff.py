"""Hand-off reconciliation: every order, shipment and parcel that fell between two parties.

Each check lists the subjects breaking one hand-off as of the evaluation clock (nothing after
it exists yet). `since` is, for every kind, the moment the subject became a finding: the
deadline it missed (release grace, ship due time, scan deadline, patience with a carrier) or
the event that broke the rule (a shipment after a cancellation, a delivery nobody shipped).
The age of a finding is therefore how long it has been overdue.

The rules (docs/reconcile.md holds the same in prose):

- never_released: placed, not cancelled, no release within `release_grace_hours`.
- not_shipped: released, not cancelled, not completely shipped, ship due time passed.
- quantity_mismatch: per (order, SKU), shipped units differ from ordered units, judged once
  shipping has finished (complete, or past due with a shipment; then excesses only).
- shipped_after_cancel: a shipment shipped after its order's cancellation.
- unknown_order: a shipment whose order is not among the orders.
- no_first_scan: a shipment without any carrier scan, its scan deadline passed.
- tracking_exception: a shipped parcel whose tracking has been in `exception` too long.
- tracking_stale: a scanned parcel in transit without a new event for too long.
- delivered_without_shipment: a delivered tracking number no shipment carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from tallyclerk.domain import TERMINAL_TRACKING, TRACKING_PRECEDENCE, TrackingStatus
from tallyclerk.metrics import MetricContext
from tallyclerk.metrics._carrier import NOT_A_SCAN, carrier_scans, scan_deadlines
from tallyclerk.metrics._context import UTC_TIMESTAMP
from tallyclerk.metrics._delivery import first_deliveries
from tallyclerk.metrics._orders import order_completion, shipped_lines, sku_differences
from tallyclerk.reconcile._findings import Check, CheckParams, register_check

# When two events of one parcel carry the same instant, the one furthest along wins.
_PRECEDENCE = TRACKING_PRECEDENCE
_FINAL = tuple(str(s) for s in TERMINAL_TRACKING)
# A parcel whose latest event is one of these is still on its way (and may go stale).
_MOVING = (
    str(TrackingStatus.LABEL_CREATED),
    str(TrackingStatus.IN_TRANSIT),
    str(TrackingStatus.OUT_FOR_DELIVERY),
)


# ---------------------------------------------------------------------------------------------
# Shared pieces


def _attach(table: ir.Table, extra: ir.Table, key: str = "order_id") -> ir.Table:
    """Left-join `extra` on `key`, keeping `table`'s columns and `extra`'s other columns."""
    joined = table.left_join(extra, table[key] == extra[key])
    return joined.select(
        *(joined[c] for c in table.columns),
        *(joined[c] for c in extra.columns if c != key),
    )


def _later(ts: ir.TimestampValue, *, seconds: int = 0, days: int = 0) -> ir.TimestampValue:
    """A timestamp moved forward by a fixed span."""
    if days:
        return ts + ibis.interval(days=days)
    return ts + ibis.interval(seconds=seconds)


def _cancelled_orders(ctx: MetricContext) -> ir.Table:
    """order_id, cancelled_at of orders cancelled by the clock."""
    orders = ctx.table("orders")
    cancelled = orders.filter(ctx.seen(orders.cancelled_at))
    return cancelled.select("order_id", "cancelled_at")


def _order_units(ctx: MetricContext) -> ir.Table:
    """order_id, ordered_units."""
    lines = ctx.table("order_lines")
    return lines.group_by("order_id").aggregate(ordered_units=lines.qty.cast("int64").sum())


def _shipped_units(ctx: MetricContext) -> ir.Table:
    """order_id, shipped_units, shipments, last_shipped_at: what shipped by the clock."""
    lines = shipped_lines(ctx)
    units = lines.group_by("order_id").aggregate(shipped_units=lines.qty.cast("int64").sum())
    parcels = ctx.happened(ctx.table("shipments"), "shipped_at")
    counts = parcels.group_by("order_id").aggregate(
        shipments=parcels.count(), last_shipped_at=parcels.shipped_at.max()
    )
    return _attach(counts, units)


def _ship_due(ctx: MetricContext) -> ir.Table:
    """Releases by the clock with their ship due time (due_utc, due_date)."""
    released = ctx.happened(ctx.table("releases"), "released_at")
    released = released.select("order_id", "provider_id", "facility_id", "released_at")
    return ctx.with_ship_due(released)


def _tracked_shipments(ctx: MetricContext) -> ir.Table:
    """One row per tracking number carried by a shipment shipped by the clock.

    Columns: tracking_number, provider_id, facility_id, shipment_id, order_id, shipments
    (several shipments rarely share a number; the smallest ids stand for them).
    """
    parcels = ctx.happened(ctx.table("shipments"), "shipped_at")
    tracked = parcels.filter(parcels.tracking_number.notnull())
    return tracked.group_by("tracking_number").aggregate(
        provider_id=tracked.provider_id.min(),
        facility_id=tracked.facility_id.min(),
        shipment_id=tracked.shipment_id.min(),
        order_id=tracked.order_id.min(),
        shipments=tracked.count(),
    )


def _rank(status: ir.StringValue) -> ir.IntegerValue:
    return ibis.cases(*((status == str(s), i) for i, s in enumerate(_PRECEDENCE)), else_=-1)


def _status_of(rank: ir.IntegerValue) -> ir.StringValue:
    return ibis.cases(*((rank == i, str(s)) for i, s in enumerate(_PRECEDENCE)), else_=None)


def latest_events(ctx: MetricContext) -> ir.Table:
    """Each tracking number's latest event by the clock, and how its story has gone.

    Columns: tracking_number, last_status, last_at, last_location, carrier, events,
    carrier_scans (events other than label_created), exception_since (the first exception
    after the last event of any other status: how long the parcel has been stuck in
    exception; null unless the latest status is exception). Events at one instant resolve
    to the status furthest along (delivered over exception over in transit ...), and a
    delivery or return to sender is final: a later stray scan does not undo it
    (domain.TRACKING_PRECEDENCE and TERMINAL_TRACKING, as for the live status).
    """
    events = ctx.happened(ctx.table("tracking_events"), "occurred_at")
    exception = str(TrackingStatus.EXCEPTION)
    final = events.status.isin(_FINAL)
    story = events.group_by("tracking_number").aggregate(
        _last_any=events.occurred_at.max(),
        _last_final=events.occurred_at.max(where=final),
        events=events.count(),
        carrier_scans=(~events.status.isin(NOT_A_SCAN)).ifelse(1, 0).sum(),
        last_other_at=events.occurred_at.max(where=events.status != exception),
    )
    # A delivery or return to sender is final: a stray later scan does not undo it.
    story = story.mutate(
        last_at=story._last_final.fill_null(story._last_any),
        _has_final=story._last_final.notnull(),
    ).drop("_last_any", "_last_final")
    at_last = events.join(
        story,
        [events.tracking_number == story.tracking_number, events.occurred_at == story.last_at],
    )
    at_last = at_last.filter(~at_last._has_final | at_last.status.isin(_FINAL))
    ranked = at_last.select(tracking_number=at_last.tracking_number, _rank=_rank(at_last.status))
    top = ranked.group_by("tracking_number").aggregate(_rank=ranked._rank.max())
    top = top.select("tracking_number", last_status=_status_of(top._rank))
    facts = _attach(story.drop("_has_final"), top, key="tracking_number")
    # The location and carrier of the winning event (the natural key makes it one row).
    where = events.select(
        _tn=events.tracking_number,
        _at=events.occurred_at,
        _status=events.status,
        last_location=events.location,
        carrier=events.carrier,
    )
    joined = facts.left_join(
        where,
        [
            facts.tracking_number == where._tn,
            facts.last_at == where._at,
            facts.last_status == where._status,
        ],
    )
    facts = joined.select(*(joined[c] for c in facts.columns), joined.last_location, joined.carrier)
    stuck = events.filter(events.status == exception)
    stuck = stuck.join(story, stuck.tracking_number == story.tracking_number)
    stuck = stuck.filter(stuck.last_other_at.isnull() | (stuck.occurred_at > stuck.last_other_at))
    since = stuck.group_by(stuck.tracking_number).aggregate(exception_since=stuck.occurred_at.min())
    facts = _attach(facts, since, key="tracking_number")
    return facts.mutate(
        exception_since=ibis.ifelse(
            facts.last_status == exception, facts.exception_since, ibis.null()
        ).cast(facts.exception_since.type())
    ).drop("last_other_at")


# ---------------------------------------------------------------------------------------------
# Formatting for the reason sentences


def _at(value: Any) -> str:
    if not isinstance(value, datetime):
        return "?"
    moment = value.astimezone(UTC) if value.tzinfo else value
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else "?"


def _where(row: Mapping[str, Any]) -> str:
    provider = row.get("provider_id") or "no provider"
    facility = row.get("facility_id")
    return f"{provider} {facility}" if facility else provider


def _units(n: Any) -> str:
    n = int(n or 0)
    return f"{n} unit" if n == 1 else f"{n} units"


def _parcel(row: Mapping[str, Any]) -> str:
    carrier = row.get("carrier")
    number = row.get("tracking_number") or row.get("subject_id")
    return f"{carrier} {number}" if carrier else str(number)


# ---------------------------------------------------------------------------------------------
# never_released


def never_released(ctx: MetricContext, params: CheckParams) -> ir.Table:
    """Orders placed by the clock, not cancelled, with no release within the grace.

    since = placed_at + grace (the moment the release was due). Charged to nobody: no 3PL
    has the order yet. Orders placed before any 3PL contract was in force (the store's history
    from an earlier arrangement) are not expected to be released.
    """
    grace = round(params.release_grace_hours * 3600)
    orders = ctx.happened(ctx.table("orders"), "placed_at")
    if ctx.contracts_from is not None:
        orders = orders.filter(
            orders.placed_at >= ibis.literal(ctx.contracts_from, type=UTC_TIMESTAMP)
        )
    live = orders.filter(~ctx.seen(orders.cancelled_at))
    released = ctx.happened(ctx.table("releases"), "released_at")
    released = released.select("order_id", _released=ibis.literal(True))
    waiting = _attach(live.select("order_id", "placed_at", "channel"), released)
    waiting = waiting.filter(waiting._released.isnull())
    due = _later(waiting.placed_at, seconds=grace)
    late = waiting.mutate(release_due_at=due).filter(lambda t: t.release_due_at < ctx.now)
    return late.select(
        provider_id=ibis.null().cast("string"),
        facility_id=ibis.null().cast("string"),
        subject_kind=ibis.literal("order"),
        subject_id=late.order_id,
        since=late.release_due_at,
        placed_at=late.placed_at,
        release_due_at=late.release_due_at,
        channel=late.channel,
    )


def _never_released_reason(row: Mapping[str, Any]) -> str:
    placed, due = row.get("placed_at"), row.get("release_due_at")
    hours = (due - placed).total_seconds() / 3600 if placed and due else 0
    return (
        f"placed {_at(row.get('placed_at'))}, not released to any 3PL within {hours:g} hours "
        f"(due {_at(row.get('release_due_at'))})"
    )


# ---------------------------------------------------------------------------------------------
# not_shipped


def not_shipped(ctx: MetricContext, params: CheckParams) -> ir.Table:
    """Released orders not completely shipped by the clock though their ship due time passed.

    The due time is ship_on_time_rate's (same day before the cutoff, else the next business
    day); complete is order_completion's (shipped units reach ordered units). Orders
    cancelled by the clock are left out: there is nothing left to ship. A partly shipped
    order is a finding, with its shipped and ordered units. since = the due time.
    """
    due = _ship_due(ctx)
    facts = _attach(due, _cancelled_orders(ctx))
    facts = _attach(facts, order_completion(ctx))
    facts = _attach(facts, _shipped_units(ctx))
    facts = _attach(facts, _order_units(ctx))
    late = facts.filter(
        (facts.due_utc < ctx.now) & facts.complete_at.isnull() & facts.cancelled_at.isnull()
    )
    return late.select(
        provider_id=late.provider_id,
        facility_id=late.facility_id,
        subject_kind=ibis.literal("order"),
        subject_id=late.order_id,
        since=late.due_utc,
        released_at=late.released_at,
        due_at=late.due_utc,
        due_date=late.due_date,
        ordered_units=late.ordered_units,
        shipped_units=late.shipped_units.fill_null(0),
        shipments=late.shipments.fill_null(0),
        last_shipped_at=late.last_shipped_at,
    )


def _not_shipped_reason(row: Mapping[str, Any]) -> str:
    shipped = int(row.get("shipped_units") or 0)
    ordered = row.get("ordered_units")
    if ordered is None:
        units = f"{_units(shipped)} shipped (the order has no lines)"
    else:
        units = f"{shipped} of {_units(ordered)} shipped"
    parcels = int(row.get("shipments") or 0)
    if parcels:
        units += f" in {parcels} shipment" + ("s" if parcels > 1 else "")
    return (
        f"released {_at(row.get('released_at'))} to {_where(row)}, due by the end of "
        f"{_day(row.get('due_date'))} (local); {units}"
    )


# ---------------------------------------------------------------------------------------------
# quantity_mismatch


def quantity_mismatch(ctx: MetricContext, params: CheckParams) -> ir.Table:
    """Per (order, SKU): shipped units that differ from ordered units, once shipping is done.

    An order is judged when it is completely shipped by the clock (every difference counts:
    a short line, an extra unit, a SKU not on the order) or when its ship due time has
    passed with at least one shipment; then only the excesses count (a SKU shipped beyond
    its ordered units or not ordered at all), because the shortfall of a late order is the
    not_shipped finding's and may still ship. Orders without lines (nothing to compare),
    and orders cancelled before they were complete, are left out. since = the completing
    shipment, or the due time for a late partial order. Charged to the release's provider
    and facility, else (no release) to those of the shipments.
    """
    lines = ctx.table("order_lines")
    differing = sku_differences(ctx)

    parcels = ctx.happened(ctx.table("shipments"), "shipped_at")
    shipper = parcels.group_by("order_id").aggregate(
        _ship_provider=parcels.provider_id.min(), _ship_facility=parcels.facility_id.min()
    )
    with_lines = lines.select("order_id").distinct()
    judged = _attach(with_lines, order_completion(ctx))
    judged = _attach(
        judged, _ship_due(ctx).select("order_id", "provider_id", "facility_id", "due_utc")
    )
    judged = _attach(judged, shipper)
    judged = _attach(judged, _cancelled_orders(ctx))
    complete = judged.complete_at.notnull()
    late_partial = (
        judged.complete_at.isnull() & judged._ship_provider.notnull() & (judged.due_utc < ctx.now)
    ).fill_null(False)
    cancelled_first = judged.cancelled_at.notnull() & (
        judged.complete_at.isnull() | (judged.cancelled_at < judged.complete_at)
    )
    judged = judged.filter((complete | late_partial) & ~cancelled_first)
    judged = judged.select(
        "order_id",
        provider_id=judged.provider_id.coalesce(judged._ship_provider),
        facility_id=ibis.ifelse(
            judged.provider_id.notnull(), judged.facility_id, judged._ship_facility
        ),
        complete_at=judged.complete_at,
        due_at=judged.due_utc,
    )
    joined = differing.join(judged, differing.order_id == judged.order_id)
    found = joined.filter(joined.complete_at.notnull() | (joined.shipped > joined.ordered))
    return found.select(
        provider_id=found.provider_id,
        facility_id=found.facility_id,
        subject_kind=ibis.literal("order_sku"),
        subject_id=found.order_id + ibis.literal("|") + found.sku,
        since=found.complete_at.coalesce(found.due_at),
        order_id=found.order_id,
        sku=found.sku,
        ordered_units=found.ordered,
        shipped_units=found.shipped,
        complete=found.complete_at.notnull(),
        complete_at=found.complete_at,
        due_at=found.due_at,
    )


def _quantity_mismatch_reason(row: Mapping[str, Any]) -> str:
    ordered = int(row.get("ordered_units") or 0)
    shipped = int(row.get("shipped_units") or 0)
    if ordered == 0:
        what = f"{_units(shipped)} shipped but not on the order"
    elif shipped > ordered:
        what = f"{shipped} shipped for {ordered} ordered ({shipped - ordered} over)"
    else:
        what = f"{shipped} shipped for {ordered} ordered ({ordered - shipped} short)"
    when = (
        f"completely shipped {_at(row.get('complete_at'))}"
        if row.get("complete")
        else f"past its due time {_at(row.get('due_at'))}"
    )
    return f"order {row.get('order_id')} SKU {row.get('sku')}: {what}; {when} by {_where(row)}"


# ---------------------------------------------------------------------------------------------
# shipped_after_cancel and unknown_order


def _shipment_units(ctx: MetricContext) -> ir.Table:
    lines = ctx.table("shipment_lines")
    return lines.group_by("shipment_id").aggregate(units=lines.qty.cast("int64").sum())


def shipped_after_cancel(ctx: MetricContext, params: CheckParams) -> ir.Table:
    """Shipments shipped (by the clock) strictly after their order's cancellation.

    since = shipped_at. Charged to the shipment's provider and facility.
    """
    parcels = ctx.happened(ctx.table("shipments"), "shipped_at")
    cancelled = _cancelled_orders(ctx)
    joined = parcels.join(cancelled, parcels.order_id == cancelled.order_id)
    after = joined.filter(joined.shipped_at > joined.cancelled_at)
    after = after.select(
        "shipment_id",
        "order_id",
        "provider_id",
        "facility_id",
        "shipped_at",
        "cancelled_at",
        "carrier",
        "tracking_number",
    )
    after = _attach(after, _shipment_units(ctx), key="shipment_id")
    return after.select(
        provider_id=after.provider_id,
        facility_id=after.facility_id,
        subject_kind=ibis.literal("shipment"),
        subject_id=after.shipment_id,
        since=after.shipped_at,
        order_id=after.order_id,
        shipped_at=after.shipped_at,
        cancelled_at=after.cancelled_at,
        hours_after_cancel=ctx.hours_between(after.cancelled_at, after.shipped_at),
        units=after.units,
        carrier=after.carrier,
        tracking_number=after.tracking_number,
    )


def _shipped_after_cancel_reason(row: Mapping[str, Any]) -> str:
    hours = float(row.get("hours_after_cancel") or 0)
    units = "" if row.get("units") is None else f" with {_units(row.get('units'))}"
    return (
        f"shipped {_at(row.get('shipped_at'))} by {_where(row)}{units}, {hours:.1f} hours "
        f"after order {row.get('order_id')} was cancelled ({_at(row.get('cancelled_at'))})"
    )


def unknown_order(ctx: MetricContext, params: CheckParams) -> ir.Table:
    """Shipments (by the clock) whose order_id matches no order placed by the clock.

    since = shipped_at. Charged to the shipment's provider and facility.
    """
    parcels = ctx.happened(ctx.table("shipments"), "shipped_at")
    orders = ctx.happened(ctx.table("orders"), "placed_at")
    known = orders.select("order_id", _known=ibis.literal(True))
    facts = _attach(
        parcels.select(
            "shipment_id",
            "order_id",
            "provider_id",
            "facility_id",
            "shipped_at",
            "carrier",
            "tracking_number",
        ),
        known,
    )
    stray = facts.filter(facts._known.isnull())
    return stray.select(
        provider_id=stray.provider_id,
        facility_id=stray.facility_id,
        subject_kind=ibis.literal("shipment"),
        subject_id=stray.shipment_id,
        since=stray.shipped_at,
        order_id=stray.order_id,
        shipped_at=stray.shipped_at,
        carrier=stray.carrier,
        tracking_number=stray.tracking_number,
    )


def _unknown_order_reason(row: Mapping[str, Any]) -> str:
    return (
        f"shipped {_at(row.get('shipped_at'))} by {_where(row)} for order "
        f"{row.get('order_id')}, which is not among the orders"
    )


# ---------------------------------------------------------------------------------------------
# Carrier hand-off: no first scan, exceptions, stale tracking, deliveries nobody shipped


def no_first_scan(ctx: MetricContext, params: CheckParams) -> ir.Table:
    """Shipments with no carrier scan by the clock whose scan deadline has passed.

    The deadline is no_first_scan_rate's (the end of the N-th business day after shipping,
    N from the contract in force, or CheckParams.no_scan_business_days). A label_created
    event is not a scan; a shipment without a tracking number can never be scanned. Unlike
    the KPI, which also counts a scan after the deadline as a miss, the finding lasts only
    while no scan at all has come: a late scan means the parcel was not lost, and clears
    it. since = the deadline. Charged to the shipment's provider and facility.
    """
    due = scan_deadlines(ctx, params.no_scan_business_days)
    scans = carrier_scans(ctx)
    first = scans.group_by("tracking_number").aggregate(first_scan_at=scans.occurred_at.min())
    events = ctx.happened(ctx.table("tracking_events"), "occurred_at")
    labels = events.filter(events.status.isin(NOT_A_SCAN))
    labelled = labels.group_by("tracking_number").aggregate(label_at=labels.occurred_at.min())
    facts = _attach(due, first, key="tracking_number")
    facts = _attach(facts, labelled, key="tracking_number")
    lost = facts.filter(facts.first_scan_at.isnull() & (facts.deadline_utc < ctx.now))
    return lost.select(
        provider_id=lost.provider_id,
        facility_id=lost.facility_id,
        subject_kind=ibis.literal("shipment"),
        subject_id=lost.shipment_id,
        since=lost.deadline_utc,
        order_id=lost.order_id,
        shipped_at=lost.shipped_at,
        carrier=lost.carrier,
        tracking_number=lost.tracking_number,
        scan_deadline_date=lost.deadline_date,
        label_created_at=lost.label_at,
    )


def _no_first_scan_reason(row: Mapping[str, Any]) -> str:
    if row.get("tracking_number") is None:
        what = "no tracking number, so the carrier's scans cannot be followed"
    elif row.get("label_created_at") is not None:
        what = "only a label was created, no carrier scan"
    else:
        what = "no carrier event at all"
    carrier = f" with {row.get('carrier')}" if row.get("carrier") else ""
    number = f" {row.get('tracking_number')}" if row.get("tracking_number") else ""
    return (
        f"shipped {_at(row.get('shipped_at'))} by {_where(row)}{carrier}{number}; {what} by "
        f"the end of {_day(row.get('scan_deadline_date'))} (local), likely lost"
    )


def _tracking_facts(ctx: MetricContext) -> ir.Table:
    """latest_events of the tracking numbers that shipments (by the clock) carry."""
    shipped = _tracked_shipments(ctx)
    latest = latest_events(ctx)
    joined = shipped.join(latest, shipped.tracking_number == latest.tracking_number)
    return joined.select(
        *(joined[c] for c in shipped.columns),
        *(joined[c] for c in latest.columns if c not in ("tracking_number", "carrier")),
        carrier=latest.carrier,
    )


def tracking_exception(ctx: MetricContext, params: CheckParams) -> ir.Table:
    """Shipped parcels whose latest event is `exception` and has been for exception_days.

    Stuck since the first exception after the last event of any other status (repeated
    exception scans do not restart the clock). since = that moment + exception_days.
    """
    facts = _tracking_facts(ctx)
    stuck = facts.filter(facts.last_status == str(TrackingStatus.EXCEPTION))
    stuck = stuck.mutate(_since=_later(stuck.exception_since, days=params.exception_days))
    stuck = stuck.filter(stuck._since < ctx.now)
    return stuck.select(
        provider_id=stuck.provider_id,
        facility_id=stuck.facility_id,
        subject_kind=ibis.literal("tracking_number"),
        subject_id=stuck.tracking_number,
        since=stuck._since,
        shipment_id=stuck.shipment_id,
        order_id=stuck.order_id,
        carrier=stuck.carrier,
        exception_since=stuck.exception_since,
        last_event_at=stuck.last_at,
        last_location=stuck.last_location,
        exception_days=ibis.literal(params.exception_days, type="int64"),
    )


def _tracking_exception_reason(row: Mapping[str, Any]) -> str:
    where = f" at {row.get('last_location')}" if row.get("last_location") else ""
    return (
        f"{_parcel(row)} (shipment {row.get('shipment_id')} by {_where(row)}) in exception "
        f"since {_at(row.get('exception_since'))}{where}, not resolved within "
        f"{row.get('exception_days')} days"
    )


def tracking_stale(ctx: MetricContext, params: CheckParams) -> ir.Table:
    """Shipped, scanned parcels still on their way with no new event for stale_tracking_days.

    Latest event label_created, in_transit or out_for_delivery (delivered and returned are
    done; exception is tracking_exception's). Parcels never scanned by the carrier are
    no_first_scan's and left out. since = the latest event + stale_tracking_days.
    """
    facts = _tracking_facts(ctx)
    moving = facts.filter(facts.last_status.isin(_MOVING) & (facts.carrier_scans > 0))
    moving = moving.mutate(_since=_later(moving.last_at, days=params.stale_tracking_days))
    stale = moving.filter(moving._since < ctx.now)
    return stale.select(
        provider_id=stale.provider_id,
        facility_id=stale.facility_id,
        subject_kind=ibis.literal("tracking_number"),
        subject_id=stale.tracking_number,
        since=stale._since,
        shipment_id=stale.shipment_id,
        order_id=stale.order_id,
        carrier=stale.carrier,
        last_status=stale.last_status,
        last_event_at=stale.last_at,
        last_location=stale.last_location,
        stale_days=ibis.literal(params.stale_tracking_days, type="int64"),
    )


def _tracking_stale_reason(row: Mapping[str, Any]) -> str:
    where = f" at {row.get('last_location')}" if row.get("last_location") else ""
    return (
        f"{_parcel(row)} (shipment {row.get('shipment_id')} by {_where(row)}): last event "
        f"{row.get('last_status')}{where} {_at(row.get('last_event_at'))}, nothing new for "
        f"more than {row.get('stale_days')} days"
    )


def delivered_without_shipment(ctx: MetricContext, params: CheckParams) -> ir.Table:
    """Tracking numbers delivered (by the clock) that no shipment shipped by the clock carries.

    since = the first delivered event. Charged to nobody: no shipment names a provider.
    """
    delivered = first_deliveries(ctx)
    shipped = _tracked_shipments(ctx).select("tracking_number", _shipped=ibis.literal(True))
    orphan = _attach(delivered, shipped, key="tracking_number")
    orphan = orphan.filter(orphan._shipped.isnull()).drop("_shipped")
    events = ctx.happened(ctx.table("tracking_events"), "occurred_at")
    events = events.filter(events.status == str(TrackingStatus.DELIVERED))
    detail = events.select(
        _tn=events.tracking_number,
        _at=events.occurred_at,
        carrier=events.carrier,
        location=events.location,
    )
    joined = orphan.left_join(
        detail, [orphan.tracking_number == detail._tn, orphan.delivered_at == detail._at]
    )
    return joined.select(
        provider_id=ibis.null().cast("string"),
        facility_id=ibis.null().cast("string"),
        subject_kind=ibis.literal("tracking_number"),
        subject_id=joined.tracking_number,
        since=joined.delivered_at,
        delivered_at=joined.delivered_at,
        carrier=joined.carrier,
        location=joined.location,
    )


def _delivered_without_shipment_reason(row: Mapping[str, Any]) -> str:
    where = f" at {row.get('location')}" if row.get("location") else ""
    return (
        f"{_parcel(row)} delivered {_at(row.get('delivered_at'))}{where}, but no shipment "
        "carries this tracking number"
    )


# ---------------------------------------------------------------------------------------------
# The catalogue

for _check in (
    Check(
        kind="never_released",
        domain="handoff",
        title="Placed, never released",
        description="Orders placed and not cancelled that no 3PL received within the release "
        "grace (release_grace_hours).",
        detect=never_released,
        reason=_never_released_reason,
    ),
    Check(
        kind="not_shipped",
        domain="handoff",
        title="Released, not shipped",
        description="Released orders, not cancelled, not completely shipped although their "
        "ship due time has passed (partly shipped ones included).",
        detect=not_shipped,
        reason=_not_shipped_reason,
    ),
    Check(
        kind="quantity_mismatch",
        domain="handoff",
        title="Shipped quantity differs",
        description="SKUs of an order whose shipped units differ from the ordered units, "
        "once the order is completely shipped (or only the excess, once it is past due).",
        detect=quantity_mismatch,
        reason=_quantity_mismatch_reason,
    ),
    Check(
        kind="shipped_after_cancel",
        domain="handoff",
        title="Shipped after cancellation",
        description="Shipments that left after their order was cancelled.",
        detect=shipped_after_cancel,
        reason=_shipped_after_cancel_reason,
    ),
    Check(
        kind="unknown_order",
        domain="handoff",
        title="Shipment for an unknown order",
        description="Shipments whose order is not among the brand's orders.",
        detect=unknown_order,
        reason=_unknown_order_reason,
    ),
    Check(
        kind="no_first_scan",
        domain="handoff",
        title="No carrier scan (likely lost)",
        description="Shipments the carrier has not scanned (a label is not a scan) although "
        "the contract's N business days have passed.",
        detect=no_first_scan,
        reason=_no_first_scan_reason,
    ),
    Check(
        kind="tracking_exception",
        domain="handoff",
        title="Tracking stuck in exception",
        description="Shipped parcels whose tracking has been in exception for more than "
        "exception_days.",
        detect=tracking_exception,
        reason=_tracking_exception_reason,
    ),
    Check(
        kind="tracking_stale",
        domain="handoff",
        title="Tracking gone quiet",
        description="Scanned parcels still in transit with no new carrier event for more "
        "than stale_tracking_days.",
        detect=tracking_stale,
        reason=_tracking_stale_reason,
    ),
    Check(
        kind="delivered_without_shipment",
        domain="handoff",
        title="Delivered, no shipment record",
        description="Tracking numbers the carrier delivered that no shipment record carries.",
        detect=delivered_without_shipment,
        reason=_delivered_without_shipment_reason,
    ),
):
    register_check(_check)
