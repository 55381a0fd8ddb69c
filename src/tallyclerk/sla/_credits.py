"""Service credits of a period (DESIGN section 6): tiers, per-incident credits, the cap.

Credits are a share of the period's fulfillment fees: what the provider invoiced for the
period's fulfillment work, or, before an invoice exists, the rate card times the activity.
Money is Decimal throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import ibis
import ibis.expr.types as ir

from tallyclerk.contracts import ORDER_VALUE, Contract
from tallyclerk.domain import Money
from tallyclerk.metrics import REGISTRY, MetricContext
from tallyclerk.sla._evaluate import ProviderEvaluation
from tallyclerk.sla._segments import month_bounds

_CENT = Decimal("0.01")
FULFILLMENT_CHARGES = (
    "pick_pack",
    "additional_unit",
    "packaging",
    "storage",
    "receiving",
    "returns",
)

# Per-incident credits and the KPI whose items are the incidents (hit or miss).
INCIDENT_SOURCES: dict[str, tuple[str, bool, str]] = {
    # incident: (metric, incident when hit is ..., what the item id is)
    "picking_error": ("order_accuracy_rate", False, "order"),
    "missed_ship_date": ("ship_on_time_rate", False, "order"),
    "lost_shipment": ("no_first_scan_rate", True, "shipment"),
    "damaged_shipment": ("damage_free_rate", False, "order"),
}


def cents(amount: Decimal) -> Decimal:
    """Round to cents, half up, as credit notes are written."""
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class CreditLine:
    """One line of a period's credit note."""

    kind: str  # tier | incident | cap
    label: str
    basis: str
    amount: Money


@dataclass
class PeriodCredits:
    """The credits a provider owes for a period, with the fees they are measured against."""

    provider_id: str
    period: date
    fees: Money
    fees_basis: str  # invoiced | estimated from the rate card
    lines: list[CreditLine] = field(default_factory=list)

    @property
    def total(self) -> Money:
        """The credit owed (after the cap)."""
        total = Money.zero(self.fees.currency)
        for line in self.lines:
            total = total + line.amount
        return total


def _in_period(column: ir.Value, first: date, last: date) -> ir.BooleanValue:
    return (column >= first) & (column <= last)


def period_fees(
    ctx: MetricContext, provider_id: str, period: date, contract: Contract
) -> tuple[Decimal, str]:
    """The period's fulfillment fees: invoiced, else rate card x activity."""
    first, last = month_bounds(period)
    lines = ctx.table("invoice_lines")
    when = lines.period_start.fill_null(lines.invoice_date)
    billed = lines.filter(
        (lines.provider_id == provider_id)
        & lines.charge_type.isin(FULFILLMENT_CHARGES)
        & _in_period(when, first, last)
    )
    count, total = (
        billed.aggregate(n=billed.count(), total=billed.amount.sum())
        .to_pyarrow()
        .to_pylist()[0]
        .values()
    )
    if count:
        return Decimal(str(total)), "invoiced"
    return _estimated_fees(ctx, provider_id, first, last, contract), "estimated from the rate card"


def _estimated_fees(
    ctx: MetricContext, provider_id: str, first: date, last: date, contract: Contract
) -> Decimal:
    """Rate card x activity of the period (UTC month boundaries: an estimate)."""
    rates = contract.rates
    start = ibis.literal(first).cast("timestamp")
    stop = ibis.literal(last).cast("timestamp") + ibis.interval(days=1)

    def during(column: ir.TimestampValue) -> ir.BooleanValue:
        return (
            ctx.seen(column)
            & (column.cast("timestamp") >= start)
            & (column.cast("timestamp") < stop)
        )

    shipments = ctx.table("shipments")
    mine = shipments.filter((shipments.provider_id == provider_id) & during(shipments.shipped_at))
    lines = ctx.table("shipment_lines")
    units = lines.join(mine, lines.shipment_id == mine.shipment_id)
    orders = mine.order_id.nunique().to_pyarrow().as_py() or 0
    unit_count = units.qty.sum().to_pyarrow().as_py() or 0
    by_packaging = mine.group_by("packaging").aggregate(n=mine.count()).to_pyarrow().to_pylist()
    receipts = ctx.table("receipts")
    received = (
        receipts.filter((receipts.provider_id == provider_id) & during(receipts.stocked_at))
        .received_qty.sum()
        .to_pyarrow()
        .as_py()
        or 0
    )
    returns = ctx.table("returns")
    returned = (
        returns.filter((returns.provider_id == provider_id) & during(returns.processed_at))
        .qty.sum()
        .to_pyarrow()
        .as_py()
        or 0
    )
    total = rates.pick_pack * orders + rates.additional_unit * max(0, unit_count - orders)
    for row in by_packaging:
        total += rates.packaging.get(row["packaging"] or "", Decimal(0)) * row["n"]
    total += rates.receiving_per_unit * received + rates.returns_per_unit * returned
    return cents(Decimal(total))


def period_credits(
    ctx: MetricContext, evaluation: ProviderEvaluation, *, fees: tuple[Decimal, str] | None = None
) -> PeriodCredits:
    """Tier credits (the highest tier hit per metric), per-incident credits, then the cap."""
    contract = evaluation.contract
    currency = contract.currency
    fee_amount, fee_basis = fees or period_fees(
        ctx, evaluation.provider_id, evaluation.period, contract
    )
    credits = PeriodCredits(
        evaluation.provider_id, evaluation.period, Money(fee_amount, currency), fee_basis
    )
    line_amounts: list[CreditLine] = []
    for metric in sorted({m.metric for m in evaluation.metrics}):
        best: tuple[Decimal, str] | None = None
        for result in (m for m in evaluation.metrics if m.metric == metric):
            if result.met is not False or result.value is None:
                continue
            for tier in contract.credits.tiers:
                if tier.metric == metric and result.value < tier.below:
                    pct = Decimal(tier.credit_pct_of_fees)
                    if best is None or pct > best[0]:
                        best = (
                            pct,
                            f"{metric} {result.value:.4f} below {tier.below} "
                            f"({result.segment.label})",
                        )
        if best is not None:
            amount = cents(fee_amount * best[0] / 100)
            line_amounts.append(
                CreditLine(
                    "tier", f"{metric}: {best[0]}% of fees", best[1], Money(amount, currency)
                )
            )
    line_amounts.extend(_incident_lines(ctx, evaluation, currency))
    credits.lines.extend(line_amounts)
    cap = cents(fee_amount * Decimal(contract.credits.cap_pct_of_fees) / 100)
    if credits.total.amount > cap:
        over = credits.total.amount - cap
        credits.lines.append(
            CreditLine(
                "cap",
                f"cap: {contract.credits.cap_pct_of_fees}% of fees",
                f"credits capped at {cap} {currency}",
                Money(-over, currency),
            )
        )
    return credits


def _incident_lines(
    ctx: MetricContext, evaluation: ProviderEvaluation, currency: str
) -> list[CreditLine]:
    contract = evaluation.contract
    out: list[CreditLine] = []
    for incident, price in contract.credits.per_incident.items():
        source = INCIDENT_SOURCES.get(str(incident))
        if source is None or source[0] not in REGISTRY:
            continue
        metric_name, incident_when, id_kind = source
        judged = [m for m in evaluation.metrics if m.metric == metric_name]
        days = sorted(
            {d for m in judged for d in m.segment.days() if d not in m.segment.excluded_days}
        )
        if not judged:  # the clause stands alone: every day of the period not excluded
            first, last = month_bounds(evaluation.period)
            days = [
                first + timedelta(days=i)
                for i in range((last - first).days + 1)
                if contract.is_excluded(first + timedelta(days=i)) is None
            ]
        items = REGISTRY[metric_name].items(ctx)
        hits = items.filter(
            (items.provider_id == evaluation.provider_id)
            & items.period_date.isin(days)
            & (items.hit == incident_when)
        )
        if price == ORDER_VALUE:
            amount, count = _order_values(ctx, hits, id_kind)
            basis = f"{count} {incident.replace('_', ' ')}(s) at order value"
        else:
            count = int(hits.count().to_pyarrow().as_py() or 0)
            amount = Decimal(price) * count
            basis = f"{count} x {price} {currency}"
        if count:
            out.append(
                CreditLine(
                    "incident", incident.replace("_", " "), basis, Money(cents(amount), currency)
                )
            )
    return out


def _order_values(ctx: MetricContext, hits: ir.Table, id_kind: str) -> tuple[Decimal, int]:
    orders = ctx.table("orders")
    if id_kind == "shipment":
        shipments = ctx.table("shipments")
        hits = hits.join(shipments, hits.item_id == shipments.shipment_id).select(
            item_id=shipments.order_id
        )
    joined = hits.left_join(orders, hits.item_id == orders.order_id)
    row = (
        joined.aggregate(n=joined.count(), total=joined.order_value.sum())
        .to_pyarrow()
        .to_pylist()[0]
    )
    total = row["total"]
    return Decimal(str(total)) if total is not None else Decimal(0), int(row["n"] or 0)
