"""Invoice audit: every invoice line against the contract's rate card and the recorded activity.

The line checks of the KPI invoice_accuracy_rate (`metrics._billing.invoice_line_checks`)
are the basis; the audit adds what the KPI does not judge and prices every line:

- the expected amount of a line: the rate in force x the quantity the activity calls for, to
  the cent; 0 for a copy of a charge already billed, for a reference to nothing, and for a
  charge the contract does not price as billed (no rate, another currency, a packaging type
  the order did not use);
- storage quantity: pallets at the month's last inventory snapshot, per facility
  ceil(sum over SKUs of on_hand / units_per_pallet), summed over the provider's facilities
  (the KPI keeps its own rule: it does not count pallets, so its figures do not move);
- activity never billed, within the span the provider has invoiced.

A line failing several checks gives one finding, of the first failed check in PRECEDENCE,
with every failed check in its evidence. Amounts: billed - expected (over-billed positive,
under-billed negative).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from tallyclerk.metrics import MetricContext, open_context
from tallyclerk.metrics._billing import (
    MONEY,
    _in_force,
    _order_activity,
    contract_rates,
    invoice_line_checks,
)
from tallyclerk.reconcile._findings import (
    Check,
    CheckParams,
    Detected,
    Finding,
    SyncResult,
    list_findings,
    register_check,
)
from tallyclerk.reconcile._service import detect, run_findings
from tallyclerk.settings import Settings
from tallyclerk.store import Store

DUPLICATE = "duplicate_charge"
UNKNOWN_REFERENCE = "unknown_reference"
WRONG_RATE = "wrong_rate"
QUANTITY_MISMATCH = "wrong_quantity"  # quantity_mismatch is the hand-off check's kind
WRONG_AMOUNT = "wrong_amount"
UNBILLED = "unbilled_activity"

# One finding per line: the first of these that the line fails.
PRECEDENCE = (DUPLICATE, UNKNOWN_REFERENCE, WRONG_RATE, QUANTITY_MISMATCH, WRONG_AMOUNT)
KINDS = (*PRECEDENCE, UNBILLED)

UTC_TIMESTAMP = dt.Timestamp(timezone="UTC")
CENTS = Decimal("0.01")
# Pallet shares are summed as float64; this much is forgiven before rounding up, so a sum
# that is a whole number in exact arithmetic is not pushed to the next pallet by rounding.
# Exact for pallet sizes whose least common multiple is below a billion.
_PALLET_SLACK = 1e-9

# The columns of the line audit (`audit_lines`) that become a finding's evidence.
LINE_EVIDENCE = (
    "invoice_id",
    "line_no",
    "invoice_date",
    "charge_type",
    "reference",
    "ref_kind",
    "quantity",
    "unit_rate",
    "billed_amount",
    "expected_rate",
    "expected_quantity",
    "expected_amount",
    "failed_checks",
    "first_billed_as",
    "snapshot_at",
)


def _month_text(day: ir.DateValue) -> ir.StringValue:
    """YYYY-MM of a date, built from its parts (the same on every engine)."""
    return day.year().cast("string") + "-" + day.month().cast("string").lpad(2, "0")


def storage_pallets(ctx: MetricContext) -> ir.Table:
    """Pallets in use per provider and month, at each facility's last snapshot of the month.

    Columns: provider_id, month (YYYY-MM), month_start, snapshot_at (the latest snapshot
    counted), facilities, pallets (null when a SKU held has no units_per_pallet). Per
    facility the pallets are ceil(sum over SKUs of on_hand / units_per_pallet) at its last
    snapshot whose local date falls in the month; the provider's facilities are summed.
    """
    snaps = ctx.happened(ctx.table("inventory_snapshots"), "as_of")
    local = ctx.with_local_date(snaps, "as_of", "snap_date")
    local = local.mutate(snap_date=local.snap_date.fill_null(local.as_of.date()))
    dated = local.mutate(
        month=_month_text(local.snap_date), month_start=local.snap_date.truncate("M")
    )
    dated = dated.mutate(
        _last=dated.as_of.max().over(group_by=["provider_id", "facility_id", "month"])
    )
    last = dated.filter(dated.as_of == dated._last)
    sites = last.group_by(["provider_id", "facility_id", "month", "month_start"]).aggregate(
        snapshot_at=last.as_of.max()
    )
    held = last.filter(last.on_hand > 0)
    products = ctx.table("products").select("sku", "units_per_pallet")
    sized = held.left_join(products, held.sku == products.sku)
    sized = sized.select(
        provider_id=sized.provider_id,
        facility_id=sized.facility_id,
        month=sized.month,
        units=sized.on_hand.cast("int64"),
        size=sized.units_per_pallet.cast("int64"),
    )
    # Whole units per pallet size first (exact), then the few shares as floats.
    by_size = sized.group_by(["provider_id", "facility_id", "month", "size"]).aggregate(
        units=sized.units.sum()
    )
    unsized = by_size.size.isnull() | (by_size.size <= 0)
    share = ibis.ifelse(unsized, 0.0, by_size.units.cast("float64") / by_size.size.cast("float64"))
    per_site = by_size.group_by(["provider_id", "facility_id", "month"]).aggregate(
        share=share.sum(),
        unsized=ibis.ifelse(unsized, 1, 0).sum(),
    )
    joined = sites.left_join(
        per_site,
        [
            sites.provider_id == per_site.provider_id,
            sites.facility_id == per_site.facility_id,
            sites.month == per_site.month,
        ],
    )
    joined = joined.select(
        provider_id=joined.provider_id,
        month=joined.month,
        month_start=joined.month_start,
        snapshot_at=joined.snapshot_at,
        pallets=(joined.share.fill_null(0.0) - _PALLET_SLACK).ceil().cast("int64"),
        unsized=joined.unsized.fill_null(0),
    )
    joined = joined.mutate(pallets=ibis.greatest(joined.pallets, 0))
    per_month = joined.group_by(["provider_id", "month", "month_start"]).aggregate(
        snapshot_at=joined.snapshot_at.max(),
        facilities=joined.count(),
        pallets=joined.pallets.sum(),
        unsized=joined.unsized.sum(),
    )
    return per_month.select(
        "provider_id",
        "month",
        "month_start",
        "snapshot_at",
        "facilities",
        pallets=ibis.ifelse(per_month.unsized > 0, ibis.null().cast("int64"), per_month.pallets),
    )


def _packaging_expectations(ctx: MetricContext, lines: ir.Table, card: ir.Table) -> ir.Table:
    """Per packaging line: the order's packaging types priced on the line's date.

    Columns: invoice_id, line_no, n_types (types of the order with a rate), match_parcels
    (parcels in the type with the billed rate), only_rate, only_parcels and only_currency
    (the type, when the order used just one).
    """
    _, packs = _order_activity(ctx)
    pack_rates = card.filter(card.charge_type == "packaging")
    billed = lines.filter(lines.charge_type == "packaging").select(
        "invoice_id", "line_no", "provider_id", "reference", "line_date", "unit_rate", "currency"
    )
    cand = billed.join(
        packs,
        [billed.provider_id == packs.provider_id, billed.reference == packs.order_id],
    )
    cand = cand.join(
        pack_rates,
        [
            cand.provider_id == pack_rates.provider_id,
            cand.packaging == pack_rates.packaging,
            _in_force(pack_rates, cand.line_date),
        ],
    )
    same = (cand.unit_rate == cand.rate) & (cand.currency == cand.currency_right)
    return cand.group_by(["invoice_id", "line_no"]).aggregate(
        n_types=cand.count(),
        match_parcels=ibis.ifelse(same, cand.parcels, ibis.null().cast("int64")).min(),
        only_rate=cand.rate.cast(MONEY).max(),
        only_parcels=cand.parcels.max(),
        only_currency=cand.currency_right.max(),
    )


def audit_lines(ctx: MetricContext, rates: pa.Table | ir.Table | None = None) -> ir.Table:
    """Every invoice line issued by the clock, priced and judged.

    Columns: the line's own (amount renamed billed_amount), issued, expected_rate,
    expected_quantity, expected_amount, discrepancy (billed - expected), pallets and
    snapshot_at (storage), the check booleans, failed_checks (comma-separated, in
    PRECEDENCE order), finding_kind (the first failed check, null for a clean line) and
    first_billed_as (for a copy: INVOICE#LINE of the first copy).
    """
    card = contract_rates(ctx, rates)
    t = invoice_line_checks(ctx, rates, detail=True)
    packs = _packaging_expectations(ctx, t, card)
    t = t.left_join(packs, [t.invoice_id == packs.invoice_id, t.line_no == packs.line_no])
    t = t.drop("invoice_id_right", "line_no_right")
    pallets = storage_pallets(ctx)
    t = t.left_join(
        pallets,
        [
            t.provider_id == pallets.provider_id,
            t.charge_type == "storage",
            t.reference == pallets.month,
        ],
    )
    t = t.drop("provider_id_right", "month", "month_start", "facilities")

    kind = t.charge_type
    copies = ibis.window(
        group_by=[
            t.provider_id,
            t.charge_type,
            t.reference,
            ibis.ifelse(kind == "packaging", t.unit_rate, ibis.null().cast(MONEY)),
        ],
        order_by=[t.issued, t.invoice_id, t.line_no],
    )
    line_key = t.invoice_id + "#" + t.line_no.cast("string")
    order_copies = ibis.window(group_by=[t.provider_id, t.charge_type, t.reference])
    t = t.mutate(
        first_key=line_key.first().over(copies),
        order_pack_matched=ibis.ifelse(t.pack_rate_ok, 1, 0).max().over(order_copies),
    )
    # A packaging line bills the order's type with the billed rate; failing that, when the
    # order went out in one type only and no other line bills it, that type.
    fallback = (
        (t.n_types == 1) & (t.order_pack_matched == 0) & (t.currency == t.only_currency)
    ).fill_null(False)
    pack_rate = ibis.cases(
        (t.pack_rate_ok, t.unit_rate),
        (fallback, t.only_rate),
        else_=ibis.null().cast(MONEY),
    )
    pack_quantity = ibis.cases(
        (t.pack_rate_ok & t.pack_quantity_ok, t.quantity),
        (t.pack_rate_ok, t.match_parcels.cast(MONEY)),
        (fallback, t.only_parcels.cast(MONEY)),
        else_=ibis.null().cast(MONEY),
    )
    expected_rate = ibis.cases(
        (kind == "other", t.unit_rate),
        (kind == "packaging", pack_rate),
        else_=t.expected_rate.cast(MONEY),
    )
    expected_quantity = ibis.cases(
        (kind == "other", t.quantity),
        (kind == "packaging", pack_quantity),
        (kind == "storage", ibis.coalesce(t.pallets.cast(MONEY), t.quantity)),
        else_=ibis.coalesce(t.expected_quantity.cast(MONEY), t.quantity),
    )
    currency_ok = kind.isin(("other", "packaging")) | (t.currency == t.card_currency)
    payable = t.first_copy & t.reference_ok & currency_ok.fill_null(False) & expected_rate.notnull()
    expected_amount = ibis.ifelse(
        payable, (expected_rate * expected_quantity).round(2), ibis.literal(0)
    ).cast(MONEY)
    pallets_ok = (kind != "storage") | t.pallets.isnull() | (t.quantity == t.pallets)
    quantity_ok = t.quantity_ok & pallets_ok.fill_null(False)
    failed = {
        DUPLICATE: ~t.first_copy,
        UNKNOWN_REFERENCE: ~t.reference_ok,
        WRONG_RATE: ~t.rate_ok,
        QUANTITY_MISMATCH: ~quantity_ok,
        WRONG_AMOUNT: ~t.amount_ok,
    }
    listed = ibis.literal("")
    for name in PRECEDENCE:
        listed = listed + ibis.ifelse(failed[name], ibis.literal(", " + name), ibis.literal(""))
    finding_kind = ibis.cases(
        *((failed[name], ibis.literal(name)) for name in PRECEDENCE),
        else_=ibis.null().cast("string"),
    )
    out = t.mutate(
        expected_rate=expected_rate,
        expected_quantity=expected_quantity,
        expected_amount=expected_amount,
        quantity_ok=quantity_ok,
        failed_checks=ibis.ifelse(listed == "", ibis.null().cast("string"), listed.substr(2)),
        finding_kind=finding_kind,
        first_billed_as=ibis.ifelse(t.first_copy, ibis.null().cast("string"), t.first_key),
    )
    out = out.rename(billed_amount="amount")
    return out.mutate(discrepancy=(out.billed_amount - out.expected_amount).cast(MONEY)).select(
        "invoice_id",
        "line_no",
        "provider_id",
        "invoice_date",
        "period_start",
        "period_end",
        "issued",
        "line_date",
        "charge_type",
        "reference",
        "quantity",
        "unit_rate",
        "billed_amount",
        "currency",
        "ref_kind",
        "units",
        "pallets",
        "snapshot_at",
        "expected_rate",
        "expected_quantity",
        "expected_amount",
        "discrepancy",
        "reference_ok",
        "rate_ok",
        "amount_ok",
        "quantity_ok",
        "first_copy",
        "failed_checks",
        "finding_kind",
        "first_billed_as",
    )


def failed_lines(ctx: MetricContext) -> pa.Table:
    """The lines of `audit_lines` with a finding, computed once per context.

    The five line checks share one pass over the invoices: the engine computes the audit and
    returns only the lines that fail (few, by nature); each check then takes its kind.
    """

    def build() -> pa.Table:
        lines = audit_lines(ctx)
        return lines.filter(lines.finding_kind.notnull()).to_pyarrow()

    return ctx.memo("invoice_failed_lines", build)


def _line_findings(kind: str) -> Any:
    def detect(ctx: MetricContext, params: CheckParams) -> ir.Table:
        lines = ibis.memtable(failed_lines(ctx))
        hit = lines.filter(lines.finding_kind == kind)
        return hit.select(
            provider_id=hit.provider_id,
            facility_id=ibis.null().cast("string"),
            subject_kind=ibis.literal("invoice_line"),
            subject_id=hit.invoice_id + "#" + hit.line_no.cast("string"),
            since=hit.issued.cast(UTC_TIMESTAMP),
            amount=hit.discrepancy,
            currency=hit.currency,
            **{c: hit[c] for c in LINE_EVIDENCE if c != "invoice_date"},
            invoice_date=hit.invoice_date,
        )

    return detect


def _issued_lines(ctx: MetricContext) -> ir.Table:
    """Invoice lines issued by the clock (the KPI's rule), with the days they span."""
    raw = ctx.table("invoice_lines")
    lines = raw.mutate(
        issued=ibis.coalesce(raw.invoice_date, raw.period_end, raw.period_start),
        span_from=ibis.coalesce(raw.period_start, raw.invoice_date, raw.period_end),
        span_to=ibis.coalesce(raw.period_end, raw.invoice_date, raw.period_start),
    )
    return lines.filter(lines.issued.notnull() & (lines.issued <= ibis.literal(ctx.as_of.date())))


def _first_activity(
    ctx: MetricContext,
    kind: str,
    at: str,
    key: str,
    quantity: Callable[[ir.Table], ir.NumericValue] | None = None,
) -> ir.Table:
    """Per (provider, `key`): facility, first event time and its local date (the UTC date
    where the calendars do not reach), and the summed quantity when asked for."""
    happened = ctx.happened(ctx.table(kind), at)
    dated = ctx.with_local_date(happened, at, "day")
    dated = dated.mutate(day=dated.day.fill_null(dated[at].date()))
    measures: dict[str, ir.Value] = {
        "facility_id": dated.facility_id.min(),
        "activity_at": dated[at].min(),
        "activity_date": dated.day.min(),
    }
    if quantity is not None:
        measures["quantity"] = quantity(dated).sum()
    return dated.group_by(["provider_id", key]).aggregate(**measures)


def unbilled_activity(ctx: MetricContext, rates: pa.Table | ir.Table | None = None) -> ir.Table:
    """Activity of a period the provider has invoiced that no invoice line bills.

    A shipped order with no pick_pack line, a stocked receipt with no receiving line, a
    processed return with no returns line, a month holding pallets with no storage line.
    The provider has invoiced a day when it lies between its invoices' first period_start
    and last period_end: activity later than that is not due yet, activity before it
    predates the invoices on record. Columns: provider_id, facility_id (null for storage),
    charge_type, subject_kind, reference, activity_at, activity_date, quantity,
    expected_rate, expected_amount (what the missing line would have billed), currency.
    """
    card = contract_rates(ctx, rates)
    orders = _first_activity(ctx, "shipments", "shipped_at", "order_id")
    received = _first_activity(
        ctx, "receipts", "stocked_at", "receipt_id", quantity=lambda t: t.received_qty.fill_null(0)
    )
    returned = _first_activity(
        ctx, "returns", "processed_at", "return_id", quantity=lambda t: t.qty
    )
    pallets = storage_pallets(ctx)
    stored = pallets.filter(pallets.pallets > 0)
    one_month = ibis.interval(months=1)
    one_day = ibis.interval(days=1)

    def part(
        table: ir.Table,
        charge_type: str,
        subject_kind: str,
        reference: ir.StringValue,
        quantity: ir.NumericValue,
        facility: ir.StringValue,
        span_from: ir.DateValue,
        span_to: ir.DateValue,
    ) -> ir.Table:
        return table.select(
            provider_id=table.provider_id.cast("string"),
            facility_id=facility.cast("string"),
            charge_type=ibis.literal(charge_type),
            subject_kind=ibis.literal(subject_kind),
            reference=reference.cast("string"),
            activity_at=table.activity_at.cast(UTC_TIMESTAMP),
            activity_date=span_from.cast("date"),
            span_to=span_to.cast("date"),
            quantity=quantity.cast(MONEY),
        )

    parts = [
        part(
            orders,
            "pick_pack",
            "order",
            orders.order_id,
            ibis.literal(1),
            orders.facility_id,
            orders.activity_date,
            orders.activity_date,
        ),
        part(
            received,
            "receiving",
            "receipt",
            received.receipt_id,
            received.quantity,
            received.facility_id,
            received.activity_date,
            received.activity_date,
        ),
        part(
            returned,
            "returns",
            "return",
            returned.return_id,
            returned.quantity,
            returned.facility_id,
            returned.activity_date,
            returned.activity_date,
        ),
        part(
            stored.mutate(activity_at=stored.snapshot_at),
            "storage",
            "storage_month",
            stored.month,
            stored.pallets,
            ibis.null().cast("string"),
            stored.month_start,
            (stored.month_start + one_month - one_day).cast("date"),
        ),
    ]
    activity = ibis.union(*parts, distinct=False)

    lines = _issued_lines(ctx)
    billed = lines.select("provider_id", "charge_type", "reference").distinct()
    missing = activity.anti_join(
        billed,
        [
            activity.provider_id == billed.provider_id,
            activity.charge_type == billed.charge_type,
            activity.reference == billed.reference,
        ],
    )
    spans = lines.group_by("provider_id").aggregate(
        first_day=lines.span_from.min(), last_day=lines.span_to.max()
    )
    due = missing.join(spans, missing.provider_id == spans.provider_id)
    due = due.filter((due.activity_date >= due.first_day) & (due.span_to <= due.last_day))
    due = due.select(*(due[c] for c in missing.columns))
    fixed = card.filter(card.charge_type != "packaging")
    priced = due.left_join(
        fixed,
        [
            due.provider_id == fixed.provider_id,
            due.charge_type == fixed.charge_type,
            _in_force(fixed, due.activity_date),
        ],
    )
    expected = (priced.rate.cast(MONEY) * priced.quantity).round(2).cast(MONEY)
    return priced.select(
        *(priced[c] for c in missing.columns if c != "span_to"),
        expected_rate=priced.rate.cast(MONEY),
        expected_amount=expected,
        currency=priced.currency,
    )


def _detect_unbilled(ctx: MetricContext, params: CheckParams) -> ir.Table:
    t = unbilled_activity(ctx)
    return t.select(
        provider_id=t.provider_id,
        facility_id=t.facility_id,
        subject_kind=t.subject_kind,
        subject_id=t.reference,
        since=t.activity_at,
        amount=(-t.expected_amount).cast(MONEY),
        currency=t.currency,
        charge_type=t.charge_type,
        activity_date=t.activity_date,
        quantity=t.quantity,
        expected_rate=t.expected_rate,
        expected_amount=t.expected_amount,
    )


def _money(value: Any) -> str:
    if value is None:
        return "?"
    return f"{Decimal(str(value)).quantize(CENTS):,}"


def _number(value: Any) -> str:
    if value is None:
        return "?"
    return f"{Decimal(str(value)).normalize():f}"


def _subject(row: Mapping[str, Any]) -> str:
    return f"{row['charge_type']} {row['reference']}"


def _reason_duplicate(row: Mapping[str, Any]) -> str:
    return (
        f"{_subject(row)} billed again (first billed as {row.get('first_billed_as')}): "
        f"{_money(row['amount'])} {row['currency']} over-billed"
    )


def _reason_unknown(row: Mapping[str, Any]) -> str:
    what = {
        "order": "no order this provider shipped",
        "receipt": "no receipt of this provider",
        "return": "no return of this provider",
    }.get(row.get("ref_kind") or "", "not a month (YYYY-MM)")
    return (
        f"{row['charge_type']} line bills {row['reference']!r}, which is {what}: "
        f"{_money(row['amount'])} {row['currency']} over-billed"
    )


def _reason_rate(row: Mapping[str, Any]) -> str:
    expected = row.get("expected_rate")
    contract = (
        f"the contract's {_money(expected)}"
        if expected is not None and row.get("expected_amount") not in (None, 0)
        else "no rate of the contract for this charge as billed"
    )
    return (
        f"{_subject(row)} billed at {_money(row['unit_rate'])} {row['currency']} instead of "
        f"{contract}: {_money(row['amount'])} {row['currency']} billed - expected"
    )


def _reason_quantity(row: Mapping[str, Any]) -> str:
    unit = "pallets at the month's last snapshot" if row["charge_type"] == "storage" else ""
    return (
        f"{_subject(row)} billed for {_number(row['quantity'])}, the activity gives "
        f"{_number(row.get('expected_quantity'))}{' ' + unit if unit else ''}: "
        f"{_money(row['amount'])} {row['currency']} billed - expected"
    )


def _reason_amount(row: Mapping[str, Any]) -> str:
    return (
        f"{_subject(row)} amount {_money(row['billed_amount'])} is not "
        f"{_number(row['quantity'])} x {_money(row['unit_rate'])}: "
        f"{_money(row['amount'])} {row['currency']} billed - expected"
    )


def _reason_unbilled(row: Mapping[str, Any]) -> str:
    what = {
        "order": f"order {row['subject_id']} shipped on {row['activity_date']}",
        "receipt": f"receipt {row['subject_id']} stocked on {row['activity_date']}",
        "return": f"return {row['subject_id']} processed on {row['activity_date']}",
    }.get(
        row["subject_kind"], f"storage of {row['subject_id']} ({_number(row['quantity'])} pallets)"
    )
    return (
        f"{what} has no {row['charge_type']} line on any invoice: "
        f"{_money(row['expected_amount'])} {row['currency'] or ''} under-billed".rstrip()
    )


register_check(
    Check(
        kind=DUPLICATE,
        domain="invoice",
        title="Charge billed twice",
        description="The same charge type for the same reference billed again, on the same "
        "invoice or a later one; every copy after the first is over-billed in full.",
        detect=_line_findings(DUPLICATE),
        reason=_reason_duplicate,
    )
)
register_check(
    Check(
        kind=UNKNOWN_REFERENCE,
        domain="invoice",
        title="Bills nothing on record",
        description="A line's reference is no order shipped, receipt or return of that "
        "provider (or, for storage, not a month): over-billed in full.",
        detect=_line_findings(UNKNOWN_REFERENCE),
        reason=_reason_unknown,
    )
)
register_check(
    Check(
        kind=WRONG_RATE,
        domain="invoice",
        title="Not the contract's rate",
        description="The unit rate is not the rate card's in force for the period billed "
        "(shipping: the carrier's cost with the markup, to the cent).",
        detect=_line_findings(WRONG_RATE),
        reason=_reason_rate,
    )
)
register_check(
    Check(
        kind=QUANTITY_MISMATCH,
        domain="invoice",
        title="Quantity differs from activity",
        description="The quantity billed is not what the activity gives: orders, units "
        "beyond the first, parcels per packaging type, units received or returned, pallets "
        "at the month's last snapshot.",
        detect=_line_findings(QUANTITY_MISMATCH),
        reason=_reason_quantity,
    )
)
register_check(
    Check(
        kind=WRONG_AMOUNT,
        domain="invoice",
        title="Amount is not quantity x rate",
        description="The line's amount differs from its own quantity x unit rate, rounded "
        "to the cent.",
        detect=_line_findings(WRONG_AMOUNT),
        reason=_reason_amount,
    )
)
register_check(
    Check(
        kind=UNBILLED,
        domain="invoice",
        title="Activity never billed",
        description="A shipped order, stocked receipt, processed return or month of storage "
        "within the span the provider has invoiced, with no line billing it (under-billed).",
        detect=_detect_unbilled,
        reason=_reason_unbilled,
    )
)


# --- per-invoice figures and the audit report ---------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoiceSummary:
    """One invoice's figures: what was billed against what the contract and activity call for.

    over_billed and under_billed are both positive sums of line differences (billed -
    expected above and below zero); unbilled is activity of the invoice's period that no
    line bills, counted in expected and under_billed. net = billed - expected.
    """

    provider_id: str
    invoice_id: str
    invoice_date: date | None
    period_start: date | None
    period_end: date | None
    currency: str
    lines: int
    billed: Decimal
    expected: Decimal
    over_billed: Decimal
    under_billed: Decimal
    unbilled: Decimal = Decimal("0.00")
    findings: dict[str, int] = field(default_factory=dict)

    @property
    def net(self) -> Decimal:
        """billed - expected: positive when the invoice asks for more than is owed."""
        return self.billed - self.expected

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (money as text with 2 decimals)."""
        return {
            "provider": self.provider_id,
            "invoice_id": self.invoice_id,
            "invoice_date": self.invoice_date.isoformat() if self.invoice_date else None,
            "period_start": self.period_start.isoformat() if self.period_start else None,
            "period_end": self.period_end.isoformat() if self.period_end else None,
            "currency": self.currency,
            "lines": self.lines,
            "billed": str(self.billed),
            "expected": str(self.expected),
            "over_billed": str(self.over_billed),
            "under_billed": str(self.under_billed),
            "unbilled": str(self.unbilled),
            "net": str(self.net),
            "findings": dict(self.findings),
        }


@dataclass(frozen=True, slots=True)
class AuditedFinding:
    """A finding of this audit, with its stored id and state when it has been recorded."""

    detected: Detected
    finding_id: int | None = None
    status: str | None = None
    dispute_id: str | None = None

    @property
    def invoice_id(self) -> str | None:
        """The invoice of a line finding (None for activity never billed)."""
        value = self.detected.evidence.get("invoice_id")
        return None if value is None else str(value)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = self.detected
        return {
            "finding_id": self.finding_id,
            "status": self.status,
            "dispute_id": self.dispute_id,
            "kind": d.kind,
            "provider": d.provider_id,
            "facility": d.facility_id,
            "subject_kind": d.subject_kind,
            "subject_id": d.subject_id,
            "since": d.since.isoformat() if d.since else None,
            "amount": None if d.amount is None else str(d.amount.quantize(CENTS)),
            "currency": d.currency,
            "reason": d.reason,
            "evidence": d.evidence,
        }


@dataclass(frozen=True, slots=True)
class InvoiceAudit:
    """The audit of a set of invoices: per-invoice figures and the findings behind them."""

    as_of: datetime
    invoices: list[InvoiceSummary]
    findings: list[AuditedFinding]
    sync: SyncResult | None = None  # what recording changed (None: not recorded)

    def totals(self) -> dict[str, dict[str, Decimal]]:
        """Billed, expected, over, under and net per currency over the invoices."""
        out: dict[str, dict[str, Decimal]] = {}
        for s in self.invoices:
            t = out.setdefault(
                s.currency,
                {k: Decimal("0.00") for k in ("billed", "expected", "over", "under", "net")},
            )
            t["billed"] += s.billed
            t["expected"] += s.expected
            t["over"] += s.over_billed
            t["under"] += s.under_billed
            t["net"] += s.net
        return out

    def by_kind(self) -> dict[str, list[AuditedFinding]]:
        """The findings grouped by kind, in PRECEDENCE order then unbilled."""
        out: dict[str, list[AuditedFinding]] = {}
        for kind in KINDS:
            items = [f for f in self.findings if f.detected.kind == kind]
            if items:
                out[kind] = items
        return out

    def as_dict(self) -> dict[str, Any]:
        """The JSON document (the CLI's --json; the API reads the same)."""
        return {
            "as_of": self.as_of.isoformat(),
            "invoices": [s.as_dict() for s in self.invoices],
            "totals": {
                currency: {k: str(v) for k, v in figures.items()}
                for currency, figures in self.totals().items()
            },
            "findings": [f.as_dict() for f in self.findings],
            "recorded": None
            if self.sync is None
            else {
                "new": self.sync.new,
                "seen_again": self.sync.seen_again,
                "reopened": self.sync.reopened,
                "cleared": self.sync.cleared,
            },
        }


def _cents(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(CENTS)


def invoice_summaries(
    ctx: MetricContext,
    *,
    invoice_ids: Sequence[str] | None = None,
    providers: Sequence[str] | None = None,
    rates: pa.Table | ir.Table | None = None,
) -> list[InvoiceSummary]:
    """Per invoice (and currency): lines, billed, expected, over- and under-billed.

    Finding counts and unbilled activity are filled in by `audit_invoices`.
    """
    lines = audit_lines(ctx, rates)
    if invoice_ids is not None:
        lines = lines.filter(lines.invoice_id.isin(list(invoice_ids)))
    if providers is not None:
        lines = lines.filter(lines.provider_id.isin(list(providers)))
    zero = ibis.literal(0).cast(MONEY)
    diff = lines.discrepancy
    grouped = lines.group_by(["provider_id", "invoice_id", "currency"]).aggregate(
        invoice_date=lines.invoice_date.min(),
        period_start=lines.period_start.min(),
        period_end=lines.period_end.max(),
        lines=lines.count(),
        billed=lines.billed_amount.sum(),
        expected=lines.expected_amount.sum(),
        over_billed=ibis.ifelse(diff > 0, diff, zero).sum(),
        under_billed=ibis.ifelse(diff < 0, -diff, zero).sum(),
    )
    rows = grouped.order_by(["provider_id", "invoice_id", "currency"]).to_pyarrow().to_pylist()
    return [
        InvoiceSummary(
            provider_id=r["provider_id"],
            invoice_id=r["invoice_id"],
            invoice_date=r["invoice_date"],
            period_start=r["period_start"],
            period_end=r["period_end"],
            currency=r["currency"] or "",
            lines=int(r["lines"]),
            billed=_cents(r["billed"]),
            expected=_cents(r["expected"]),
            over_billed=_cents(r["over_billed"]),
            under_billed=_cents(r["under_billed"]),
        )
        for r in rows
    ]


def _with_findings(
    summaries: list[InvoiceSummary], detected: Sequence[Detected]
) -> list[InvoiceSummary]:
    """Attach finding counts to each invoice, and unbilled activity to the invoice of its period.

    Activity never billed goes to the provider's invoice (in the activity's currency) whose
    period holds the activity's date (the first such invoice by id).
    """
    counts: dict[str, dict[str, int]] = {}
    unbilled: dict[str, Decimal] = {}
    unbilled_counts: dict[str, int] = {}
    for item in detected:
        invoice_id = item.evidence.get("invoice_id")
        if invoice_id is not None:
            per = counts.setdefault(str(invoice_id), {})
            per[item.kind] = per.get(item.kind, 0) + 1
            continue
        day = date.fromisoformat(str(item.evidence["activity_date"]))
        home = next(
            (
                s
                for s in summaries
                if s.provider_id == item.provider_id
                and s.currency == (item.currency or s.currency)
                and s.period_start is not None
                and s.period_end is not None
                and s.period_start <= day <= s.period_end
            ),
            None,
        )
        if home is not None and item.amount is not None:
            unbilled[home.invoice_id] = unbilled.get(home.invoice_id, Decimal(0)) - item.amount
            unbilled_counts[home.invoice_id] = unbilled_counts.get(home.invoice_id, 0) + 1
    out = []
    for s in summaries:
        extra = _cents(unbilled.get(s.invoice_id, 0))
        found = dict(counts.get(s.invoice_id, {}).items())
        if s.invoice_id in unbilled_counts:
            found[UNBILLED] = unbilled_counts[s.invoice_id]
        out.append(
            InvoiceSummary(
                provider_id=s.provider_id,
                invoice_id=s.invoice_id,
                invoice_date=s.invoice_date,
                period_start=s.period_start,
                period_end=s.period_end,
                currency=s.currency,
                lines=s.lines,
                billed=s.billed,
                expected=s.expected + extra,
                over_billed=s.over_billed,
                under_billed=s.under_billed + extra,
                unbilled=extra,
                findings={k: found[k] for k in KINDS if k in found},
            )
        )
    return out


def _audit_on(
    ctx: MetricContext,
    detected: list[Detected],
    invoice_ids: Sequence[str] | None,
    providers: Sequence[str] | None,
) -> tuple[list[InvoiceSummary], list[Detected]]:
    summaries = _with_findings(invoice_summaries(ctx, providers=providers), detected)
    if invoice_ids is None:
        return summaries, detected
    wanted = set(invoice_ids)
    chosen = [s for s in summaries if s.invoice_id in wanted]
    # Activity never billed goes with the invoice whose period holds it.
    periods = [
        (s.provider_id, s.period_start, s.period_end)
        for s in chosen
        if s.period_start is not None and s.period_end is not None
    ]

    def belongs(item: Detected) -> bool:
        invoice_id = item.evidence.get("invoice_id")
        if invoice_id is not None:
            return str(invoice_id) in wanted
        day = date.fromisoformat(str(item.evidence["activity_date"]))
        return any(p == item.provider_id and a <= day <= b for p, a, b in periods)

    return chosen, [d for d in detected if belongs(d)]


def audit_invoices(
    source: Store | MetricContext,
    invoice_ids: Sequence[str] | None = None,
    *,
    as_of: datetime | None = None,
    providers: Sequence[str] | None = None,
    record: bool = False,
    settings: Settings | None = None,
) -> InvoiceAudit:
    """Audit the invoices (all, or the ones named) and return their figures and findings.

    `source` is a store (the context is opened here, at `as_of`) or an open context (its
    clock is used). With `record` (a store only), the findings of the invoice domain are
    kept with their lifecycle, as `run_findings` does: every invoice of the providers is
    audited for that, whatever `invoice_ids` selects for the report.
    """
    sync = None
    stored: dict[str, Finding] = {}
    if isinstance(source, MetricContext):
        detected = detect(source, ["invoice"], providers=providers)
        summaries, chosen = _audit_on(source, detected, invoice_ids, providers)
        clock = source.as_of
    else:
        clock = (as_of or datetime.now(UTC)).astimezone(UTC)
        if record:
            run = run_findings(
                source, ["invoice"], as_of=clock, providers=providers, settings=settings
            )
            detected, sync = run.detected, run.sync
            with open_context(source, as_of=clock, settings=settings) as ctx:
                summaries, chosen = _audit_on(ctx, detected, invoice_ids, providers)
        else:
            with open_context(source, as_of=clock, settings=settings) as ctx:
                detected = detect(ctx, ["invoice"], providers=providers)
                summaries, chosen = _audit_on(ctx, detected, invoice_ids, providers)
        with source.connect() as connection:
            known = list_findings(
                connection,
                domains=["invoice"],
                providers=list(providers) if providers is not None else None,
            )
        stored = {f.fingerprint: f for f in known}
    findings = []
    for item in chosen:
        kept = stored.get(item.fingerprint)
        findings.append(
            AuditedFinding(
                detected=item,
                finding_id=kept.finding_id if kept else None,
                status=kept.status if kept else None,
                dispute_id=kept.dispute_id if kept else None,
            )
        )
    return InvoiceAudit(as_of=clock, invoices=summaries, findings=findings, sync=sync)
