"""Invoice accuracy: each invoice line against the rate card and the activity it bills.

Contracts are Python objects, not tables, so the rate card reaches the engine as a small Arrow
table built here from the contract versions (`contract_rates_table`): one row per provider,
version, charge type (and packaging type), with the dates the version is in force.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from tallyclerk.contracts import Contract, parse_contract
from tallyclerk.errors import InputError
from tallyclerk.metrics._context import MetricContext
from tallyclerk.metrics._inventory import nullable
from tallyclerk.metrics._orders import no_value
from tallyclerk.metrics._registry import Metric, register

METRIC = "invoice_accuracy_rate"
MONEY = dt.Decimal(18, 4)

# Charge types whose reference is an order shipped by the provider (DESIGN section 4).
ORDER_CHARGES = ("pick_pack", "additional_unit", "packaging", "shipping")
# A storage line bills a month: its reference is `YYYY-MM`.
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"

RATES_SCHEMA = pa.schema(
    [
        ("provider_id", pa.string()),
        ("valid_from", pa.date32()),  # null: since always (the first version reaches back)
        ("valid_until", pa.date32()),  # exclusive; null: still in force
        ("currency", pa.string()),
        ("charge_type", pa.string()),
        # Packaging type for charge_type packaging, else "" (Ibis loads a null string into
        # Spark as the text 'NaN', so the table holds no null strings).
        ("packaging", pa.string()),
        # What one unit costs, or for shipping (per = carrier_cost) what the carrier's cost is
        # multiplied by: 1 + markup / 100. Never null: Spark cannot load null decimals.
        ("rate", pa.decimal128(18, 8)),
        ("per", pa.string()),  # unit | carrier_cost
    ]
)

_PERCENT = Decimal(100)
_RATE_QUANTUM = Decimal("0.00000001")


def contract_rates_table(versions: Mapping[str, Sequence[Contract]]) -> pa.Table:
    """The rate cards of every provider's contract versions as one Arrow table (RATES_SCHEMA).

    A version is in force from its effective date to the next version's; the first version
    also covers the days before it, as the calendars' contract parameters do (`_frames`).
    """
    rows: list[dict[str, object]] = []
    for provider_id, contracts in sorted(versions.items()):
        ordered = sorted(contracts, key=lambda c: c.effective)
        for i, contract in enumerate(ordered):
            card = contract.rates
            factor = 1 + card.shipping_markup_pct / _PERCENT
            if factor.quantize(_RATE_QUANTUM) != factor:
                raise ValueError(
                    f"shipping_markup_pct {card.shipping_markup_pct} of {provider_id} has more "
                    "decimal places than an exact rate can hold"
                )
            priced: list[tuple[str, str, Decimal, str]] = [
                ("pick_pack", "", card.pick_pack, "unit"),
                ("additional_unit", "", card.additional_unit, "unit"),
                ("storage", "", card.storage_per_pallet_month, "unit"),
                ("receiving", "", card.receiving_per_unit, "unit"),
                ("returns", "", card.returns_per_unit, "unit"),
                ("shipping", "", factor, "carrier_cost"),
                *(
                    ("packaging", kind, rate, "unit")
                    for kind, rate in sorted(card.packaging.items())
                ),
            ]
            rows += [
                {
                    "provider_id": provider_id,
                    "valid_from": contract.effective if i else None,
                    "valid_until": ordered[i + 1].effective if i + 1 < len(ordered) else None,
                    "currency": contract.currency,
                    "charge_type": charge_type,
                    "packaging": packaging,
                    "rate": rate,
                    "per": per,
                }
                for charge_type, packaging, rate, per in priced
            ]
    return pa.Table.from_pylist(rows, schema=RATES_SCHEMA)


def stored_contract_versions(ctx: MetricContext) -> dict[str, list[Contract]]:
    """Every provider's contract versions, read from the store the context runs on.

    The fallback for a context built without `frames.rates` (open_context fills them): it
    works where the engine is the store's own (DuckDB, PostgreSQL); an engine reading an
    export (Spark) has no contracts table, and its caller must hand the rates in.
    """
    try:
        stored = ctx.backend.table("contracts")
    except Exception as exc:  # each engine has its own "no such table" error
        raise InputError(
            "invoice_accuracy_rate needs the contracts' rate cards: this engine has no "
            "contracts table, so pass the rates (contract_rates_table) to invoice_line_checks"
        ) from exc
    rows = stored.select("provider_id", "effective", "source_text", "source_name")
    versions: dict[str, list[Contract]] = {}
    for row in rows.order_by(["provider_id", "effective"]).to_pyarrow().to_pylist():
        name = row["source_name"] or f"{row['provider_id']} contract"
        versions.setdefault(row["provider_id"], []).append(parse_contract(row["source_text"], name))
    return versions


def contract_rates(ctx: MetricContext, rates: pa.Table | ir.Table | None = None) -> ir.Table:
    """The rate-card table as an engine table: given, carried by the frames, or built."""
    if isinstance(rates, ir.Table):
        return rates
    if rates is None and getattr(ctx.frames, "rates", None) is not None:
        return ctx.frame("rates")
    if rates is None:
        rates = contract_rates_table(stored_contract_versions(ctx))
    return ibis.memtable(rates)


def _order_activity(ctx: MetricContext) -> tuple[ir.Table, ir.Table]:
    """Per (provider, order): shipped units and shipping cost; per packaging type: parcels."""
    shipments = ctx.happened(ctx.table("shipments"), "shipped_at")
    lines = ctx.table("shipment_lines")
    parcels = lines.join(shipments, lines.shipment_id == shipments.shipment_id)
    units = parcels.group_by(["provider_id", "order_id"]).aggregate(
        units=parcels.qty.sum().cast("int64")
    )
    orders = shipments.group_by(["provider_id", "order_id"]).aggregate(
        shipping_cost=shipments.shipping_cost.sum().cast(MONEY)
    )
    joined = orders.left_join(
        units,
        [orders.provider_id == units.provider_id, orders.order_id == units.order_id],
    )
    activity = joined.select(
        provider_id=joined.provider_id,
        ref_kind=ibis.literal("order"),
        reference=joined.order_id,
        units=joined.units.fill_null(0),
        shipping_cost=joined.shipping_cost,
    )
    packs = shipments.group_by(["provider_id", "order_id", "packaging"]).aggregate(
        parcels=shipments.count()
    )
    return activity, packs


def _activity(ctx: MetricContext) -> tuple[ir.Table, ir.Table]:
    """What a line may bill, keyed (provider_id, ref_kind, reference), with its quantity."""
    orders, packs = _order_activity(ctx)
    receipts = ctx.table("receipts")
    # A receipt exists for billing once its goods arrived (or were stocked).
    arrived = receipts.filter(ctx.seen(receipts.arrived_at) | ctx.seen(receipts.stocked_at))
    received = arrived.group_by(["provider_id", "receipt_id"]).aggregate(
        units=arrived.received_qty.sum().fill_null(0).cast("int64")
    )
    returns = ctx.happened(ctx.table("returns"), "received_at")
    returned = returns.group_by(["provider_id", "return_id"]).aggregate(
        units=returns.qty.sum().cast("int64")
    )
    no_cost = ibis.null().cast(MONEY)
    parts = [
        orders,
        received.select(
            provider_id=received.provider_id,
            ref_kind=ibis.literal("receipt"),
            reference=received.receipt_id,
            units=received.units,
            shipping_cost=no_cost,
        ),
        returned.select(
            provider_id=returned.provider_id,
            ref_kind=ibis.literal("return"),
            reference=returned.return_id,
            units=returned.units,
            shipping_cost=no_cost,
        ),
    ]
    activity = ibis.union(*(nullable(p) for p in parts), distinct=False)
    return activity, packs


def _in_force(rates: ir.Table, on: ir.DateValue) -> ir.BooleanValue:
    return (rates.valid_from.isnull() | (rates.valid_from <= on)) & (
        rates.valid_until.isnull() | (on < rates.valid_until)
    )


def invoice_line_checks(
    ctx: MetricContext, rates: pa.Table | ir.Table | None = None, *, detail: bool = False
) -> ir.Table:
    """Every invoice line issued by the clock, with the checks of invoice_accuracy_rate.

    Columns: the line's own, line_date (period_start, else invoice_date: it picks the
    contract version and the period), issued, ref_kind (order, receipt, return or null),
    units and shipping_cost of the activity billed, expected_rate, expected_quantity, and
    the booleans
    reference_ok, rate_ok, amount_ok, quantity_ok, first_copy and matched (all of them).
    A line is issued on its invoice_date (else period_end, else period_start); one issued
    after the clock does not exist yet. The invoice audit reads this table.

    With `detail` the working columns stay too (the KPI does not need them, the audit
    prices lines with them): card_rate and card_currency (the contract's price of the
    charge, null for packaging and other), found (the reference exists), pack_rate_ok and
    pack_quantity_ok (a packaging type of the order has the billed rate, and that many
    parcels).
    """
    card = contract_rates(ctx, rates)
    today = ibis.literal(ctx.as_of.date())
    raw = ctx.table("invoice_lines")
    lines = raw.mutate(
        line_date=ibis.coalesce(raw.period_start, raw.invoice_date),
        issued=ibis.coalesce(raw.invoice_date, raw.period_end, raw.period_start),
        ref_kind=ibis.cases(
            (raw.charge_type.isin(ORDER_CHARGES), ibis.literal("order")),
            (raw.charge_type == "receiving", ibis.literal("receipt")),
            (raw.charge_type == "returns", ibis.literal("return")),
            else_=ibis.null().cast("string"),
        ),
    )
    # A line with neither date cannot be placed in a period or under a contract version.
    lines = lines.filter(lines.line_date.notnull() & (lines.issued <= today))

    activity, packs = _activity(ctx)

    # Packaging is priced per packaging type, which the line does not name: it matches when
    # one of the order's packaging types has the billed rate, and its quantity is the number
    # of the order's parcels in that type (one line per order and type).
    pack_rates = card.filter(card.charge_type == "packaging")
    packaging_lines = lines.filter(lines.charge_type == "packaging")
    candidates = packaging_lines.join(
        packs,
        [
            packaging_lines.provider_id == packs.provider_id,
            packaging_lines.reference == packs.order_id,
        ],
    )
    candidates = candidates.join(
        pack_rates,
        [
            candidates.provider_id == pack_rates.provider_id,
            candidates.packaging == pack_rates.packaging,
            _in_force(pack_rates, candidates.line_date),
        ],
    )
    same_rate = (candidates.unit_rate == candidates.rate) & (
        candidates.currency == candidates.currency_right
    )
    packaging_checks = candidates.group_by(["invoice_id", "line_no"]).aggregate(
        pack_rate_ok=same_rate.fill_null(False).any(),
        pack_quantity_ok=(same_rate & (candidates.quantity == candidates.parcels))
        .fill_null(False)
        .any(),
    )

    fixed = card.filter(card.charge_type != "packaging")
    priced = lines.left_join(
        fixed,
        [
            lines.provider_id == fixed.provider_id,
            lines.charge_type == fixed.charge_type,
            _in_force(fixed, lines.line_date),
        ],
    )
    priced = priced.select(
        *(priced[c] for c in lines.columns),
        card_rate=priced.rate,
        card_currency=priced.currency_right,
    )
    acted = priced.left_join(
        activity,
        [
            priced.provider_id == activity.provider_id,
            priced.ref_kind == activity.ref_kind,
            priced.reference == activity.reference,
        ],
    )
    acted = acted.select(
        *(acted[c] for c in priced.columns),
        found=acted.units.notnull(),
        units=acted.units,
        shipping_cost=acted.shipping_cost,
    )
    full = acted.left_join(
        packaging_checks,
        [
            acted.invoice_id == packaging_checks.invoice_id,
            acted.line_no == packaging_checks.line_no,
        ],
    )
    t = full.select(
        *(full[c] for c in acted.columns),
        pack_rate_ok=full.pack_rate_ok.fill_null(False),
        pack_quantity_ok=full.pack_quantity_ok.fill_null(False),
    )

    kind = t.charge_type
    # Carrier cost passed on with the contract's markup, rounded to the cent (DESIGN 6).
    marked_up = (t.shipping_cost * t.card_rate).round(2).cast(MONEY)
    expected_rate = ibis.cases((kind == "shipping", marked_up), else_=t.card_rate.cast(MONEY))
    expected_quantity = ibis.cases(
        (kind.isin(("pick_pack", "shipping")), ibis.literal(1, type="int64")),
        (kind == "additional_unit", t.units - 1),
        (kind.isin(("receiving", "returns")), t.units),
        else_=ibis.null().cast("int64"),
    )
    reference_ok = ibis.cases(
        (kind == "other", ibis.literal(True)),
        (kind == "storage", t.reference.re_search(MONTH_PATTERN)),
        else_=t.found,
    )
    # The card's prices are in the contract's currency (packaging's is checked with its type).
    # Checks against the activity need the activity: for a line whose reference is unknown
    # they pass, and the line fails on its reference alone.
    unknown = kind.isin((*ORDER_CHARGES, "receiving", "returns")) & ~t.found
    rate_ok = ibis.cases(
        (kind == "other", ibis.literal(True)),
        (kind == "packaging", unknown | t.pack_rate_ok),
        (kind == "shipping", unknown | (t.unit_rate == expected_rate)),
        else_=t.unit_rate == expected_rate,
    ) & (kind.isin(("other", "packaging")) | (t.currency == t.card_currency))
    # A packaging line's quantity is judged once its rate tells which type it bills.
    quantity_ok = ibis.cases(
        (kind.isin(("other", "storage")) | unknown, ibis.literal(True)),
        (kind == "packaging", ~t.pack_rate_ok | t.pack_quantity_ok),
        else_=t.quantity == expected_quantity,
    )
    amount_ok = t.amount == (t.quantity * t.unit_rate).round(2)
    # The same charge for the same reference billed again, on this invoice or a later one:
    # every copy after the first is wrong. Packaging lines of one order differ by their type,
    # told apart by the rate billed.
    copies = ibis.window(
        group_by=[
            t.provider_id,
            t.charge_type,
            t.reference,
            ibis.ifelse(kind == "packaging", t.unit_rate, ibis.null().cast(MONEY)),
        ],
        order_by=[t.issued, t.invoice_id, t.line_no],
    )
    first_copy = (kind == "other") | t.reference.isnull() | (ibis.row_number().over(copies) == 0)
    checked = t.mutate(
        expected_rate=expected_rate,
        expected_quantity=expected_quantity,
        reference_ok=reference_ok.fill_null(False),
        rate_ok=rate_ok.fill_null(False),
        amount_ok=amount_ok.fill_null(False),
        quantity_ok=quantity_ok.fill_null(False),
        first_copy=first_copy.fill_null(False),
    )
    out = checked.mutate(
        matched=checked.reference_ok
        & checked.rate_ok
        & checked.amount_ok
        & checked.quantity_ok
        & checked.first_copy
    )
    if detail:
        return out
    return out.drop("card_rate", "card_currency", "found", "pack_rate_ok", "pack_quantity_ok")


def invoice_accuracy_items(
    ctx: MetricContext, rates: pa.Table | ir.Table | None = None
) -> ir.Table:
    """Invoice lines: a hit when the line matches the rate card and the activity it bills.

    The period is the line's period_start (else its invoice_date); invoices belong to a
    provider, not a facility.
    """
    checked = invoice_line_checks(ctx, rates)
    return checked.select(
        item_id=checked.invoice_id.concat("|", checked.line_no.cast("string")),
        provider_id=checked.provider_id,
        facility_id=ibis.null().cast("string"),
        period_date=checked.line_date,
        hit=checked.matched,
        value=no_value(),
    )


def _items(ctx: MetricContext) -> ir.Table:
    return invoice_accuracy_items(ctx)


register(
    Metric(
        name=METRIC,
        unit="rate",
        direction="higher",
        description="Invoice lines that match the rate card and the activity they bill.",
        numerator="lines with the contract's rate, amount = quantity x rate to the cent, an "
        "existing reference, the activity's quantity, and not billed before",
        denominator="invoice lines issued, by the period they bill (period_start, else "
        "invoice_date)",
        items=_items,
    )
)
