"""Inventory reconciliation: the brand's book against the 3PL's counts, snapshot by snapshot.

The book is the one of DESIGN section 5 (`metrics._inventory.inventory_book`): first
snapshot's on_hand + stocked receipts - shipped units + restocked returns + approved
adjustments, up to and including each snapshot. Here it is laid out for a person:

- `inventory_reconciliation`: per (provider, facility, SKU, snapshot) the book, the count,
  the variance in units and money (variance x products.unit_cost), its change since the
  previous snapshot and what moved the book in between (received, shipped, restocked,
  adjusted), plus the unapproved adjustments of the same interval, which are not in the book
  but are the first thing to look at when the count and the book differ;
- `inventory_trend`: per (provider, facility, SKU) at its latest snapshot, the current
  variance and how it got there (snapshots short, the current run of shortfall, how often it
  deepened or recovered, the drift in units per 30 days, the first snapshot with a gap);
- `explain_book`: for one SKU, the records (receipt, shipment, return and adjustment ids)
  between snapshots, so a person sees why the book says what it says;
- two checks of domain "inventory": `inventory_variance` and `inventory_drift`.

Everything bulk is an Ibis expression (one window pass per table, no per-snapshot joins);
Python only shapes the per-SKU summary and the records of one SKU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from tallyclerk.errors import InputError
from tallyclerk.metrics import MetricContext
from tallyclerk.metrics._inventory import (
    COMPONENTS,
    METRIC,
    STOCK_KEY,
    inventory_book,
    nullable,
    stock_records,
)
from tallyclerk.reconcile._findings import Check, CheckParams, register_check
from tallyclerk.settings import get_settings

MONEY = dt.Decimal(18, 4)

# The drift rule: during the current run of shortfall (the latest snapshots in a row where
# the count is below the book), the shortfall deepened at least this many times more often
# than it recovered. A one-off loss deepens once; a miscount that is corrected recovers as
# often as it deepened; units that keep going missing ratchet the shortfall down.
DRIFT_MIN_STEPS = 3
# The drift in units per 30 days is the least-squares slope of the variance over the
# snapshots of this many days up to the latest (about a quarter: 13 weekly snapshots).
TREND_DAYS = 91

_MOVEMENT = 0
_CHECK = 1
_BOOK_COLUMNS = (
    "first_at",
    "first_on_hand",
    "reported_on_hand",
    "moved",
    "book",
    "on_hand",
    "variance",
)
# How each component adds to the book: shipped units are shown as a positive count of units
# out; unapproved adjustments keep their sign but do not move the book.
_SHOWN_SIGN = {"received": 1, "shipped": -1, "restocked": 1, "adjusted": 1, "unapproved": 1}


def _only(
    table: ir.Table,
    providers: Sequence[str] | None,
    facilities: Sequence[str] | None,
    skus: Sequence[str] | None,
) -> ir.Table:
    """The rows of the named providers, facilities and SKUs (None: all)."""
    for column, wanted in (("provider_id", providers), ("facility_id", facilities), ("sku", skus)):
        if wanted is not None:
            table = table.filter(table[column].isin(list(wanted)))
    return table


def _currency_by_provider(ctx: MetricContext) -> dict[str, str]:
    """Each provider's contract currency (its newest version's), from the rate cards."""
    rates = ctx.frames.rates
    if rates is None:
        return {}
    out: dict[str, str] = {}
    for row in rates.select(["provider_id", "valid_until", "currency"]).to_pylist():
        if row["valid_until"] is None or row["provider_id"] not in out:
            out[row["provider_id"]] = row["currency"]
    return out


def _currency(ctx: MetricContext, provider: ir.StringValue) -> ir.StringValue:
    """The currency the variance is valued in: the provider's contract currency.

    Products carry a unit cost without a currency; it is read in the currency the brand
    deals with the 3PL in (its contract's), else the brand's own.
    """
    default = get_settings().brand.currency
    known = _currency_by_provider(ctx)
    if not known:
        return ibis.literal(default)
    branches = [(provider == p, c) for p, c in sorted(known.items())]
    return ibis.cases(*branches, else_=default)


def inventory_reconciliation(
    ctx: MetricContext,
    *,
    providers: Sequence[str] | None = None,
    facilities: Sequence[str] | None = None,
    skus: Sequence[str] | None = None,
) -> ir.Table:
    """The book against the count per (provider, facility, SKU) and snapshot instant.

    Columns: the book's (provider_id, facility_id, sku, as_of, first_at, first_on_hand,
    reported_on_hand, moved, book, on_hand, variance) plus
      previous_at      the facility's previous snapshot (null at the SKU's first)
      variance_change  variance - the previous snapshot's variance (null at the first)
      received, shipped, restocked, adjusted
                       units that moved the book after previous_at up to as_of (shipped as
                       a positive count of units out): book = previous book + received -
                       shipped + restocked + adjusted
      unapproved       net units of unapproved adjustments in that interval (not in the book)
      snapshot_date    the snapshot's facility-local date
      tolerance_units  the contract's tolerance in force that date (0 without one)
      within_tolerance |variance| <= tolerance_units
      unit_cost, variance_value (variance x unit_cost, Decimal; null without a product),
      currency

    One running sum per component over the records and the snapshot instants together (a
    record at a snapshot's very instant is in it, as in the book), then the difference with
    the previous snapshot's sums.
    """
    book = _only(inventory_book(ctx), providers, facilities, skus)
    records = _only(stock_records(ctx, unapproved=True), providers, facilities, skus)
    zero = ibis.literal(0, type="int64")
    moved = records.select(
        *STOCK_KEY,
        at=records.moved_at,
        kind=ibis.literal(_MOVEMENT, type="int8"),
        **{
            c: ibis.ifelse(records.component == c, records.qty * _SHOWN_SIGN[c], zero)
            for c in COMPONENTS
        },
        **{c: ibis.null().cast(book[c].type()) for c in _BOOK_COLUMNS},
    )
    marks = book.select(
        *STOCK_KEY,
        at=book.as_of,
        kind=ibis.literal(_CHECK, type="int8"),
        **dict.fromkeys(COMPONENTS, zero),
        **{c: book[c] for c in _BOOK_COLUMNS},
    )
    events = ibis.union(nullable(moved), nullable(marks), distinct=False)
    running = ibis.window(group_by=list(STOCK_KEY), order_by=["at", "kind"], rows=(None, 0))
    events = events.mutate(**{f"_sum_{c}": events[c].sum().over(running) for c in COMPONENTS})
    checks = events.filter(events.kind == _CHECK)
    previous = ibis.window(group_by=list(STOCK_KEY), order_by="at")
    checks = checks.mutate(
        previous_at=checks.at.lag().over(previous),
        _previous_variance=checks.variance.lag().over(previous),
        **{f"_prev_{c}": checks[f"_sum_{c}"].lag().over(previous) for c in COMPONENTS},
    )
    steps = checks.select(
        *STOCK_KEY,
        as_of=checks.at,
        **{c: checks[c] for c in _BOOK_COLUMNS},
        previous_at=checks.previous_at,
        variance_change=(checks.variance - checks._previous_variance).cast("int64"),
        # At the SKU's first snapshot (the baseline) nothing has moved the book yet.
        **{
            c: ibis.ifelse(
                checks.previous_at.isnull(),
                zero,
                checks[f"_sum_{c}"] - checks[f"_prev_{c}"].fill_null(0),
            ).cast("int64")
            for c in COMPONENTS
        },
    )
    dated = ctx.with_local_date(steps, "as_of", "snapshot_date")
    params = ctx.frame("metric_params").filter(lambda p: p.metric == METRIC)
    joined = dated.left_join(
        params,
        [dated.provider_id == params.provider_id, dated.snapshot_date == params.local_date],
    )
    tolerated = joined.select(
        *(joined[c] for c in dated.columns),
        tolerance_units=joined.tolerance_units.fill_null(0).cast("int64"),
    )
    products = ctx.table("products").select("sku", "unit_cost")
    priced = tolerated.left_join(products, tolerated.sku == products.sku)
    value = (priced.variance.cast(MONEY) * priced.unit_cost.cast(MONEY)).cast(MONEY)
    return priced.select(
        *(priced[c] for c in tolerated.columns),
        within_tolerance=priced.variance.abs() <= priced.tolerance_units,
        unit_cost=priced.unit_cost.cast(MONEY),
        variance_value=value,
        currency=_currency(ctx, priced.provider_id),
    )


def inventory_trend(
    ctx: MetricContext,
    *,
    providers: Sequence[str] | None = None,
    facilities: Sequence[str] | None = None,
    skus: Sequence[str] | None = None,
    reconciliation: ir.Table | None = None,
) -> ir.Table:
    """Per (provider, facility, SKU): the latest snapshot and the trend that led to it.

    Columns: the reconciliation's columns at the SKU's latest snapshot (the facility's latest
    by the clock) plus
      snapshots        snapshots of the SKU there, its first (the baseline) included
      snapshots_short  snapshots whose count was below the book
      short_since      first snapshot of the current run of shortfall (null: not short now)
      short_run        snapshots in that run (0: not short now)
      deepened         snapshots of that run where the shortfall grew (variance fell)
      recovered        snapshots of that run where it shrank (variance rose)
      out_since        first snapshot of the current run out of tolerance (null: in it now)
      out_run          snapshots in that run
      first_gap_at     first snapshot whose count differed from the book (null: never)
      first_gap_date   its facility-local date
      unapproved_total net units of unapproved adjustments since the first snapshot
      drift_per_30_days least-squares slope of the variance, units per 30 days, over the
                       snapshots of the last TREND_DAYS days (null with fewer than two)
      drifting         the drift rule holds (see DRIFT_MIN_STEPS)
    """
    r = reconciliation
    if r is None:
        r = inventory_reconciliation(ctx, providers=providers, facilities=facilities, skus=skus)
    whole = ibis.window(group_by=list(STOCK_KEY))
    never = ibis.null().cast(dt.Timestamp(timezone="UTC"))
    no_day = ibis.null().cast("date")
    r = r.mutate(
        _latest=r.as_of.max().over(whole),
        _last_not_short=ibis.ifelse(r.variance >= 0, r.as_of, never).max().over(whole),
        _last_within=ibis.ifelse(r.within_tolerance, r.as_of, never).max().over(whole),
    )
    in_short = r._last_not_short.isnull() | (r.as_of > r._last_not_short)
    in_out = r._last_within.isnull() | (r.as_of > r._last_within)
    days = ctx.hours_between(r._latest, r.as_of) / 24  # <= 0
    recent = days >= -TREND_DAYS
    t = ibis.ifelse(recent, days, ibis.null().cast("float64"))
    v = ibis.ifelse(recent, r.variance.cast("float64"), ibis.null().cast("float64"))
    one = ibis.literal(1, type="int64")
    nought = ibis.literal(0, type="int64")

    def count(condition: ir.BooleanValue) -> ir.IntegerValue:
        return ibis.ifelse(condition, one, nought).sum().over(whole)

    r = r.mutate(
        snapshots=r.as_of.count().over(whole),
        snapshots_short=count(r.variance < 0),
        short_since=ibis.ifelse(in_short, r.as_of, never).min().over(whole),
        short_run=count(in_short),
        deepened=count(in_short & (r.variance_change < 0)),
        recovered=count(in_short & (r.variance_change > 0)),
        out_since=ibis.ifelse(in_out, r.as_of, never).min().over(whole),
        out_run=count(in_out),
        first_gap_at=ibis.ifelse(r.variance != 0, r.as_of, never).min().over(whole),
        first_gap_date=ibis.ifelse(r.variance != 0, r.snapshot_date, no_day).min().over(whole),
        unapproved_total=r.unapproved.sum().over(whole).cast("int64"),
        _n=t.count().over(whole).cast("float64"),
        _st=t.sum().over(whole),
        _sv=v.sum().over(whole),
        _stt=(t * t).sum().over(whole),
        _stv=(t * v).sum().over(whole),
    )
    latest = r.filter(r.as_of == r._latest)
    spread = latest._n * latest._stt - latest._st * latest._st
    slope = ibis.ifelse(
        (latest._n >= 2) & (spread > 0),
        (latest._n * latest._stv - latest._st * latest._sv) / spread,
        ibis.null().cast("float64"),
    )
    drifting = (latest.variance < 0) & (latest.deepened - latest.recovered >= DRIFT_MIN_STEPS)
    keep = [c for c in latest.columns if not c.startswith("_")]
    return latest.select(
        *keep,
        drift_per_30_days=slope * 30,
        drifting=drifting,
    )


# -- findings --------------------------------------------------------------------------------


def _subject(table: ir.Table) -> ir.StringValue:
    return table.facility_id.concat("|", table.sku)


def _evidence(t: ir.Table) -> dict[str, ir.Value]:
    return {
        "sku": t.sku,
        "snapshot_at": t.as_of,
        "book": t.book,
        "on_hand": t.on_hand,
        "reported_on_hand": t.reported_on_hand,
        "variance": t.variance,
        "unit_cost": t.unit_cost,
        "variance_value": t.variance_value,
        "tolerance_units": t.tolerance_units,
        "snapshots": t.snapshots,
        "snapshots_short": t.snapshots_short,
        "short_run": t.short_run,
        "deepened": t.deepened,
        "recovered": t.recovered,
        "first_gap_at": t.first_gap_at,
        "unapproved_total": t.unapproved_total,
        "drift_per_30_days": t.drift_per_30_days,
    }


def latest_trend(ctx: MetricContext) -> ir.Table:
    """`inventory_trend` of every SKU, computed once per context (one row per facility and
    SKU, so it is small) and shared by the inventory checks."""
    return ibis.memtable(ctx.memo("inventory_trend", lambda: inventory_trend(ctx).to_pyarrow()))


def detect_variance(ctx: MetricContext, params: CheckParams) -> ir.Table:
    """SKUs whose count at the facility's latest snapshot is off the book beyond tolerance."""
    t = latest_trend(ctx)
    t = t.filter(~t.within_tolerance)
    return t.select(
        provider_id=t.provider_id,
        facility_id=t.facility_id,
        subject_kind=ibis.literal("sku"),
        subject_id=_subject(t),
        since=t.out_since,
        amount=t.variance_value.abs(),
        currency=t.currency,
        out_run=t.out_run,
        **_evidence(t),
    )


def detect_drift(ctx: MetricContext, params: CheckParams) -> ir.Table:
    """SKUs whose shortfall keeps growing: repeated shrink on the same SKU."""
    t = latest_trend(ctx)
    t = t.filter(t.drifting)
    return t.select(
        provider_id=t.provider_id,
        facility_id=t.facility_id,
        subject_kind=ibis.literal("sku"),
        subject_id=_subject(t),
        since=t.short_since,
        currency=t.currency,
        **_evidence(t),
    )


def _money(value: Any, currency: Any) -> str:
    if value is None:
        return "no unit cost"
    return f"{currency or ''} {Decimal(str(value)).copy_abs():,.2f}".strip()


def _units(n: int) -> str:
    return f"{n:,} unit{'' if abs(n) == 1 else 's'}"


def _variance_reason(row: Mapping[str, Any]) -> str:
    variance = int(row["variance"])
    side = "short" if variance < 0 else "over"
    text = (
        f"{row['facility_id']} counts {row['on_hand']:,} of {row['sku']} against a book of "
        f"{row['book']:,}: {_units(abs(variance))} {side} "
        f"({_money(row['variance_value'], row['currency'])}), beyond the tolerance of "
        f"{row['tolerance_units']}"
    )
    if row["reported_on_hand"] is None:
        text += "; the latest snapshot leaves the SKU out"
    if int(row["out_run"]) > 1:
        text += f"; off the book for {row['out_run']} snapshots in a row"
    unapproved = int(row["unapproved_total"] or 0)
    if unapproved and (unapproved < 0) == (variance < 0):
        text += (
            f"; unapproved adjustments of {unapproved:+,} (not in the book) may account for "
            "part of it"
        )
    return text


def _drift_reason(row: Mapping[str, Any]) -> str:
    text = (
        f"{row['sku']} at {row['facility_id']} has been short for {row['short_run']} "
        f"snapshots and the shortfall grew at {row['deepened']} of them "
        f"(recovered at {row['recovered']}): now {_units(-int(row['variance']))} short "
        f"({_money(row['variance_value'], row['currency'])})"
    )
    drift = row["drift_per_30_days"]
    if drift is not None and drift < 0:
        text += f", losing about {-drift:.1f} units per 30 days"
    return text


register_check(
    Check(
        kind="inventory_variance",
        domain="inventory",
        title="Count off the book",
        description="At the facility's latest snapshot the 3PL's on_hand differs from the book "
        "(first snapshot + stocked receipts - shipped units + restocked returns + approved "
        "adjustments) by more than the contract's tolerance_units.",
        detect=detect_variance,
        reason=_variance_reason,
    )
)
register_check(
    Check(
        kind="inventory_drift",
        domain="inventory",
        title="Repeated shrink",
        description="A SKU is short at the latest snapshot and, since it last matched the book, "
        f"the shortfall grew at least {DRIFT_MIN_STEPS} more times than it recovered: units "
        "keep going missing without an adjustment.",
        detect=detect_drift,
        reason=_drift_reason,
    )
)


# -- the report a person reads ----------------------------------------------------------------


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True, slots=True)
class SkuPosition:
    """One (provider, facility, SKU) at its latest snapshot, with its trend."""

    provider_id: str
    facility_id: str
    sku: str
    as_of: datetime
    snapshot_date: date | None
    book: int
    on_hand: int
    reported_on_hand: int | None
    variance: int
    unit_cost: Decimal | None
    variance_value: Decimal | None
    currency: str
    tolerance_units: int
    within_tolerance: bool
    snapshots: int
    snapshots_short: int
    short_since: datetime | None
    short_run: int
    deepened: int
    recovered: int
    out_since: datetime | None
    out_run: int
    first_gap_at: datetime | None
    first_gap_date: date | None
    unapproved_total: int
    drift_per_30_days: float | None
    drifting: bool

    @property
    def trend(self) -> str:
        """A few words on how the variance got where it is."""
        if self.drifting:
            return f"shrinking: short {self.short_run} snapshots, grew {self.deepened}x"
        if self.short_run:
            return f"short {self.short_run} snapshot{'s' if self.short_run != 1 else ''}"
        if self.variance > 0:
            run = self.out_run
            return f"over {run} snapshot{'s' if run != 1 else ''}" if run else "over, in tolerance"
        if self.first_gap_at is not None:
            return "matches (had gaps)"
        return "matches"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, float):
                value = round(value, 3)
            out[name] = value
        out["trend"] = self.trend
        return out


@dataclass(frozen=True, slots=True)
class InventoryReport:
    """The SKUs of a reconciliation at their latest snapshots, money at stake first."""

    as_of: datetime
    positions: list[SkuPosition]
    checked: int  # (facility, SKU) reconciled, whether listed or not

    def totals(self) -> dict[str, Any]:
        """Units short and over, and their value per currency, over the listed SKUs."""
        short = sum(-p.variance for p in self.positions if p.variance < 0)
        over = sum(p.variance for p in self.positions if p.variance > 0)
        net: dict[str, Decimal] = {}
        at_stake: dict[str, Decimal] = {}
        for p in self.positions:
            if p.variance_value is None:
                continue
            net[p.currency] = net.get(p.currency, Decimal(0)) + p.variance_value
            at_stake[p.currency] = at_stake.get(p.currency, Decimal(0)) + abs(p.variance_value)
        return {
            "skus": len(self.positions),
            "out_of_tolerance": sum(1 for p in self.positions if not p.within_tolerance),
            "drifting": sum(1 for p in self.positions if p.drifting),
            "units_short": short,
            "units_over": over,
            "net_value": net,
            "value_at_stake": at_stake,
        }


def _position(row: Mapping[str, Any]) -> SkuPosition:
    drift = row["drift_per_30_days"]
    return SkuPosition(
        provider_id=row["provider_id"],
        facility_id=row["facility_id"],
        sku=row["sku"],
        as_of=_utc(row["as_of"]),  # type: ignore[arg-type]
        snapshot_date=row["snapshot_date"],
        book=int(row["book"]),
        on_hand=int(row["on_hand"]),
        reported_on_hand=row["reported_on_hand"],
        variance=int(row["variance"]),
        unit_cost=_decimal(row["unit_cost"]),
        variance_value=_decimal(row["variance_value"]),
        currency=row["currency"],
        tolerance_units=int(row["tolerance_units"]),
        within_tolerance=bool(row["within_tolerance"]),
        snapshots=int(row["snapshots"]),
        snapshots_short=int(row["snapshots_short"]),
        short_since=_utc(row["short_since"]),
        short_run=int(row["short_run"]),
        deepened=int(row["deepened"]),
        recovered=int(row["recovered"]),
        out_since=_utc(row["out_since"]),
        out_run=int(row["out_run"]),
        first_gap_at=_utc(row["first_gap_at"]),
        first_gap_date=row["first_gap_date"],
        unapproved_total=int(row["unapproved_total"] or 0),
        drift_per_30_days=None if drift is None or drift != drift else float(drift),
        drifting=bool(row["drifting"]),
    )


def _stake(p: SkuPosition) -> tuple[Decimal, int, str, str, str]:
    value = abs(p.variance_value) if p.variance_value is not None else Decimal(0)
    return (-value, -abs(p.variance), p.provider_id, p.facility_id, p.sku)


def inventory_report(
    ctx: MetricContext,
    *,
    providers: Sequence[str] | None = None,
    facilities: Sequence[str] | None = None,
    skus: Sequence[str] | None = None,
    include_all: bool = False,
) -> InventoryReport:
    """Every (facility, SKU) at its latest snapshot, money at stake first.

    Without `include_all` only the SKUs that need a look are listed: out of tolerance, or
    drifting (repeated shrink still within tolerance).
    """
    trend = inventory_trend(ctx, providers=providers, facilities=facilities, skus=skus)
    checked = int(trend.count().to_pyarrow().as_py())
    if not include_all:
        trend = trend.filter(~trend.within_tolerance | trend.drifting)
    positions = [_position(row) for row in trend.to_pyarrow().to_pylist()]
    positions.sort(key=_stake)
    return InventoryReport(as_of=ctx.as_of, positions=positions, checked=checked)


# -- which records explain the book ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookRecord:
    """A record that moved the book (or, unapproved, would have)."""

    at: datetime
    component: str  # received | shipped | restocked | adjusted | unapproved
    record_id: str
    qty: int  # signed effect on stock (shipped units are negative)

    @property
    def in_book(self) -> bool:
        """Whether the record moves the book."""
        return self.component != "unapproved"


@dataclass(frozen=True, slots=True)
class BookStep:
    """One snapshot of a SKU and what moved the book since the previous one."""

    as_of: datetime
    snapshot_date: date | None
    previous_at: datetime | None
    book: int
    on_hand: int
    reported_on_hand: int | None
    variance: int
    variance_change: int | None
    received: int
    shipped: int
    restocked: int
    adjusted: int
    unapproved: int
    variance_value: Decimal | None
    records: list[BookRecord] = field(default_factory=list)

    @property
    def previous_book(self) -> int | None:
        """The book at the previous snapshot (None at the SKU's first)."""
        if self.previous_at is None:
            return None
        return self.book - self.received + self.shipped - self.restocked - self.adjusted

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "as_of": self.as_of.isoformat(),
            "snapshot_date": None if self.snapshot_date is None else self.snapshot_date.isoformat(),
            "previous_at": None if self.previous_at is None else self.previous_at.isoformat(),
            "previous_book": self.previous_book,
            "book": self.book,
            "on_hand": self.on_hand,
            "reported_on_hand": self.reported_on_hand,
            "variance": self.variance,
            "variance_change": self.variance_change,
            "variance_value": None if self.variance_value is None else str(self.variance_value),
            "received": self.received,
            "shipped": self.shipped,
            "restocked": self.restocked,
            "adjusted": self.adjusted,
            "unapproved": self.unapproved,
            "records": [
                {
                    "at": r.at.isoformat(),
                    "component": r.component,
                    "record_id": r.record_id,
                    "qty": r.qty,
                    "in_book": r.in_book,
                }
                for r in self.records
            ],
        }


@dataclass(frozen=True, slots=True)
class BookExplanation:
    """Why the book of one (provider, facility, SKU) says what it says, step by step."""

    provider_id: str
    facility_id: str
    sku: str
    first_at: datetime
    first_on_hand: int
    currency: str
    steps: list[BookStep]
    snapshots: int  # of the SKU there in all, shown or not

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "provider_id": self.provider_id,
            "facility_id": self.facility_id,
            "sku": self.sku,
            "first_at": self.first_at.isoformat(),
            "first_on_hand": self.first_on_hand,
            "currency": self.currency,
            "snapshots": self.snapshots,
            "steps": [s.as_dict() for s in self.steps],
        }


def _one_place(
    ctx: MetricContext, sku: str, provider_id: str | None, facility_id: str | None
) -> tuple[str, str]:
    """The (provider, facility) of a SKU's book, or an InputError naming the choices."""
    snapshots = ctx.happened(ctx.table("inventory_snapshots"), "as_of")
    places = _only(
        snapshots.filter(snapshots.sku == sku),
        None if provider_id is None else [provider_id],
        None if facility_id is None else [facility_id],
        None,
    )
    found = sorted(
        (r["provider_id"], r["facility_id"])
        for r in places.select("provider_id", "facility_id").distinct().to_pyarrow().to_pylist()
    )
    if not found:
        where = " at ".join(x for x in (provider_id, facility_id) if x)
        raise InputError(f"no snapshot holds SKU {sku}" + (f" for {where}" if where else ""))
    if len(found) > 1:
        listed = ", ".join(f"{p}/{f}" for p, f in found)
        raise InputError(f"SKU {sku} is held at several facilities ({listed}): name one")
    return found[0]


def explain_book(
    ctx: MetricContext,
    sku: str,
    *,
    provider_id: str | None = None,
    facility_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    last: int | None = 4,
) -> BookExplanation:
    """The snapshots of one SKU and the records that moved its book between them.

    The snapshots shown are those taken from `start` to `end` (inclusive), else the `last`
    ones (None: all). Each step lists the records after the previous snapshot up to its own
    instant: receipts stocked, shipments, restocked returns and approved adjustments (in
    the book), and unapproved adjustments (not in it).
    """
    provider_id, facility_id = _one_place(ctx, sku, provider_id, facility_id)
    where = ([provider_id], [facility_id], [sku])
    rows = inventory_reconciliation(ctx, providers=where[0], facilities=where[1], skus=where[2])
    steps = sorted(rows.to_pyarrow().to_pylist(), key=lambda r: r["as_of"])
    total = len(steps)
    first = steps[0]
    shown = [
        r
        for r in steps
        if (start is None or _utc(r["as_of"]) >= start)  # type: ignore[operator]
        and (end is None or _utc(r["as_of"]) <= end)  # type: ignore[operator]
    ]
    if start is None and end is None and last is not None:
        shown = shown[-last:] if last > 0 else []
    records: list[BookRecord] = []
    if shown:
        low = _utc(shown[0]["previous_at"]) or _utc(shown[0]["as_of"])
        high = _utc(shown[-1]["as_of"])
        moves = _only(stock_records(ctx, unapproved=True), *where)
        moves = moves.filter((moves.moved_at > low) & (moves.moved_at <= high))
        records = sorted(
            (
                BookRecord(
                    at=_utc(m["moved_at"]),  # type: ignore[arg-type]
                    component=m["component"],
                    record_id=str(m["record_id"]),
                    qty=int(m["qty"]),
                )
                for m in moves.to_pyarrow().to_pylist()
            ),
            key=lambda r: (r.at, r.component, r.record_id),
        )
    out: list[BookStep] = []
    for row in shown:
        at, before = _utc(row["as_of"]), _utc(row["previous_at"])
        assert at is not None
        mine = [r for r in records if before is not None and before < r.at <= at]
        out.append(
            BookStep(
                as_of=at,
                snapshot_date=row["snapshot_date"],
                previous_at=before,
                book=int(row["book"]),
                on_hand=int(row["on_hand"]),
                reported_on_hand=row["reported_on_hand"],
                variance=int(row["variance"]),
                variance_change=row["variance_change"],
                received=int(row["received"]),
                shipped=int(row["shipped"]),
                restocked=int(row["restocked"]),
                adjusted=int(row["adjusted"]),
                unapproved=int(row["unapproved"]),
                variance_value=_decimal(row["variance_value"]),
                records=mine,
            )
        )
    return BookExplanation(
        provider_id=provider_id,
        facility_id=facility_id,
        sku=sku,
        first_at=_utc(first["first_at"]),  # type: ignore[arg-type]
        first_on_hand=int(first["first_on_hand"]),
        currency=first["currency"],
        steps=out,
        snapshots=total,
    )
