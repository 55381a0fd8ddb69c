"""Vetting benchmark: cost-to-serve of five candidate 3PLs over a simulated year, on DuckDB.

For each order count (`--orders`, 10M by default) it uses a simulated brand's year loaded
into a DuckDB store exactly as `benchmarks/evaluate.py` prepares it (same work dir, same file
names: one simulation and one load serve every benchmark). Then, each in a fresh process over
the same store file, with the evaluation clock fixed after the data's end (`--as-of`) and the
twelve months of the simulated year as the window:

- (a) cost: the cost-to-serve of five candidates, the whole job: `open_context`, the brand's
  activity per month (`vetting._cost.month_activity`, every provider together), then each of
  five rate cards priced on it (`price`, with 20% growth) and risk-adjusted on claimed error
  and late rates (`risk_adjust`). The five cards: the two incumbents' contracts from the store
  and three made-up candidates (one without a price for box_medium, one with a markup).
- (b) pilot: (a) plus the incumbents' measured order_accuracy_rate and ship_on_time_rate over
  the window (`measured_rates`), used as their error and late rates: what `tallyclerk vet`
  does when a candidate has run a pilot.
- (c) sql: the same monthly activity as hand-written DuckDB SQL, the near-limit baseline:
  local dates with DuckDB's time zone functions (a CASE over the facilities, each zone a
  constant), an order's month by its first shipment, units, parcels per packaging type,
  carrier cost, units stocked, units processed as returns, and pallets at each facility's
  last count of the month.
- (d) scan: one plain DuckDB aggregate over the same shipments (shipments and carrier cost
  per UTC month): the floor of reading the data once.

(a) and (c) must give the same activity, month by month; the report says whether they do.
Runs are alternated over `--rounds` rounds and the best time of each is kept, with the peak
memory of that run (ru_maxrss of the process). The ratio (a)/(c) is what to compare across
machines.

Results replace the `vetting` section of docs/benchmarks.md.

    uv run python benchmarks/vetting.py                                   # 10M orders
    uv run python benchmarks/vetting.py --orders 1000000                  # 1M orders
    uv run python benchmarks/vetting.py --orders 20000 --rounds 1 --out /tmp/bench.md
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from _report import (
    REPORT,
    best_of,
    command_line,
    failure,
    load_line,
    orders_label,
    peak_rss_mb,
    preload,
    ratio,
    round_line,
    run_measured_child,
    stamp,
    store_line,
    versions,
    write_section,
)
from evaluate import (
    FIRST_PERIOD,
    LAST_PERIOD,
    PRELOAD_TALLYCLERK,
    _ensure_data,
    _ensure_store,
    local_clock,
    open_baseline,
    store_options,
)

MODES = ("cost", "pilot", "sql", "scan")
LABELS = {
    "cost": "(a) cost-to-serve of 5 candidates through tallyclerk",
    "pilot": "(b) the same, with the incumbents' measured rates",
    "sql": "(c) the monthly activity, hand-written DuckDB SQL (baseline)",
    "scan": "(d) one plain aggregate over the shipments (floor)",
}
FIRST = FIRST_PERIOD  # 2026-01-01
LAST = date(LAST_PERIOD.year, LAST_PERIOD.month, 31)  # 2026-12-31
GROWTH = Decimal(20)
COST_PER_ERROR = Decimal("25.00")
COST_PER_LATE = Decimal("8.00")
# Made-up candidates: (id, card, claimed error rate, claimed late rate).
CANDIDATES: tuple[tuple[str, dict[str, Any], float, float], ...] = (
    (
        "northstar",
        {
            "pick_pack": "2.60",
            "additional_unit": "0.55",
            "packaging": {"poly_mailer": "0.30", "box_small": "0.80", "box_medium": "1.40"},
            "storage_per_pallet_month": "32.00",
            "receiving_per_unit": "0.30",
            "returns_per_unit": "3.00",
            "shipping_markup_pct": "0",
        },
        0.004,
        0.015,
    ),
    (
        "prairie",
        {
            "pick_pack": "2.95",
            "additional_unit": "0.70",
            "packaging": {"poly_mailer": "0.25", "box_small": "0.75"},
            "storage_per_pallet_month": "18.00",
            "receiving_per_unit": "0.20",
            "returns_per_unit": "4.00",
            "shipping_markup_pct": "0",
        },
        0.008,
        0.02,
    ),
    (
        "harbor",
        {
            "pick_pack": "2.25",
            "additional_unit": "0.50",
            "packaging": {"poly_mailer": "0.30", "box_small": "0.70", "box_medium": "1.10"},
            "storage_per_pallet_month": "28.00",
            "receiving_per_unit": "0.22",
            "returns_per_unit": "3.25",
            "shipping_markup_pct": "8",
        },
        0.01,
        0.03,
    ),
)
INCUMBENT_CLAIMS = {"westcoast": (0.003, 0.01), "eastbridge": (0.003, 0.015)}
PILOT_KPIS = ("order_accuracy_rate", "ship_on_time_rate")

_PRELOAD = {
    "sql": ("duckdb", "pyarrow"),
    "tallyclerk": (*PRELOAD_TALLYCLERK, "tallyclerk.vetting._cost"),
}

# The monthly activity of `vetting._cost.month_activity`, every provider, as DuckDB SQL.
# {local} is a CASE over the facilities giving the wall clock of {ts} in the facility's zone.
ACTIVITY_SQL = """
WITH s AS (
    SELECT shipment_id, provider_id, order_id, coalesce(packaging, '') AS kind, shipping_cost,
           CAST({ship_local} AS DATE) AS day
    FROM shipments t WHERE shipped_at <= $as_of
),
o AS (  -- an order's month: its first shipment's local date
    SELECT provider_id, order_id, CAST(date_trunc('month', min(day)) AS DATE) AS month,
           sum(shipping_cost) AS cost
    FROM s GROUP BY provider_id, order_id
    HAVING min(day) >= $first AND min(day) < $stop
),
totals AS (
    SELECT month, count(*) AS orders, sum(cost) AS cost FROM o GROUP BY month
),
units AS (
    SELECT o.month, sum(l.qty) AS units
    FROM shipment_lines l
    JOIN s ON s.shipment_id = l.shipment_id
    JOIN o ON o.provider_id = s.provider_id AND o.order_id = s.order_id
    GROUP BY o.month
),
parcels AS (
    SELECT month, list(struct_pack(kind := kind, n := n)) AS parcels
    FROM (
        SELECT o.month, s.kind, count(*) AS n
        FROM s JOIN o ON o.provider_id = s.provider_id AND o.order_id = s.order_id
        GROUP BY o.month, s.kind
    ) GROUP BY month
),
received AS (
    SELECT CAST(date_trunc('month', day) AS DATE) AS month, sum(coalesce(received_qty, 0)) AS n
    FROM (SELECT received_qty, CAST({stock_local} AS DATE) AS day
          FROM receipts t WHERE stocked_at <= $as_of)
    WHERE day >= $first AND day < $stop GROUP BY 1
),
returned AS (
    SELECT CAST(date_trunc('month', day) AS DATE) AS month, sum(qty) AS n
    FROM (SELECT qty, CAST({process_local} AS DATE) AS day
          FROM returns t WHERE processed_at <= $as_of)
    WHERE day >= $first AND day < $stop GROUP BY 1
),
counts AS (
    SELECT provider_id, facility_id, as_of, sku, on_hand,
           CAST(date_trunc('month', CAST({count_local} AS DATE)) AS DATE) AS month
    FROM inventory_snapshots t
    WHERE as_of <= $as_of
      AND CAST({count_local} AS DATE) >= $first AND CAST({count_local} AS DATE) < $stop
),
last_counts AS (
    SELECT * FROM counts
    QUALIFY as_of = max(as_of) OVER (PARTITION BY provider_id, facility_id, month)
),
per_site AS (  -- whole units per pallet size first, then the shares (forgiving float dust)
    SELECT month, ceil(sum(CAST(units AS DOUBLE) / size) - 1e-9) AS pallets
    FROM (
        SELECT c.provider_id, c.facility_id, c.month, p.units_per_pallet AS size,
               sum(c.on_hand) AS units
        FROM last_counts c JOIN products p ON p.sku = c.sku
        WHERE c.on_hand > 0 AND p.units_per_pallet > 0
        GROUP BY ALL
    ) GROUP BY provider_id, facility_id, month
),
pallets AS (SELECT month, sum(pallets) AS n FROM per_site GROUP BY month)
SELECT m.month, coalesce(t.orders, 0), coalesce(u.units, 0), p.parcels,
       coalesce(r.n, 0), coalesce(x.n, 0), coalesce(pl.n, 0), coalesce(t.cost, 0)
FROM (SELECT CAST(unnest(generate_series(CAST($first AS TIMESTAMP),
                                         CAST($last AS TIMESTAMP), INTERVAL 1 MONTH))
                  AS DATE) AS month) m
LEFT JOIN totals t ON t.month = m.month
LEFT JOIN units u ON u.month = m.month
LEFT JOIN parcels p ON p.month = m.month
LEFT JOIN received r ON r.month = m.month
LEFT JOIN returned x ON x.month = m.month
LEFT JOIN pallets pl ON pl.month = m.month
ORDER BY m.month
"""

SCAN_SQL = """
SELECT CAST(date_trunc('month', shipped_at) AS DATE) AS month, count(*) AS shipments,
       sum(shipping_cost) AS cost
FROM shipments
WHERE shipped_at <= $as_of AND shipped_at >= $first AND shipped_at < $stop
GROUP BY 1 ORDER BY 1
"""


# --- children ---------------------------------------------------------------------------------


def _activity_rows(activity: list[Any]) -> list[list[Any]]:
    """MonthActivity values as JSON-ready rows, for comparing (a) with (c)."""
    return [
        [
            a.month.isoformat(),
            a.orders,
            a.units,
            dict(sorted(a.parcels.items())),
            a.received_units,
            a.returned_units,
            a.pallets,
            str(Decimal(a.shipping_cost).quantize(Decimal("0.01"))),
        ]
        for a in activity
    ]


def _child_cost(db: Path, as_of: datetime, pilot: bool) -> dict[str, Any]:
    from tallyclerk.contracts import RateCard
    from tallyclerk.metrics import open_context
    from tallyclerk.metrics._engines import load_versions
    from tallyclerk.settings import Settings
    from tallyclerk.store import open_store
    from tallyclerk.vetting._cost import measured_rates, month_activity, price, risk_adjust

    start = time.perf_counter()
    settings = Settings(database_url=f"duckdb:///{db}")
    store = open_store(settings)
    out: dict[str, Any] = {"setup_seconds": 0.0}
    try:
        with store.begin() as connection:
            versions = load_versions(connection)
        cards = [
            (
                provider_id,
                contracts[-1].rates,
                contracts[-1].currency,
                *INCUMBENT_CLAIMS[provider_id],
            )
            for provider_id, contracts in sorted(versions.items())
        ]
        cards += [
            (name, RateCard.model_validate(card), "USD", error, late)
            for name, card, error, late in CANDIDATES
        ]
        with open_context(store, engine="duckdb", as_of=as_of, settings=settings) as ctx:
            out["setup_seconds"] = time.perf_counter() - start
            began = time.perf_counter()
            activity = month_activity(ctx, FIRST, LAST)
            out["activity_seconds"] = time.perf_counter() - began
            measured: dict[str, dict[str, float]] = {}
            if pilot:
                began = time.perf_counter()
                for provider_id in sorted(versions):
                    measured[provider_id] = measured_rates(
                        ctx, provider_id, FIRST, LAST, metrics=PILOT_KPIS
                    )
                out["pilot_seconds"] = time.perf_counter() - began
        began = time.perf_counter()
        results = []
        for name, card, currency, error, late in cards:
            source = "claimed"
            if name in measured:
                rates = measured[name]
                error = 1 - rates.get("order_accuracy_rate", 1 - error)
                late = 1 - rates.get("ship_on_time_rate", 1 - late)
                source = f"pilot {name}"
            cost = price(activity, card, currency, name, growth_pct=GROWTH)
            cost = risk_adjust(
                cost,
                activity,
                error_rate=error,
                error_source=source,
                late_rate=late,
                late_source=source,
                cost_per_error=COST_PER_ERROR,
                cost_per_late=COST_PER_LATE,
            )
            results.append(
                {
                    "candidate": name,
                    "fees": str(cost.total),
                    "risk": str(cost.error_cost + cost.late_cost),
                    "risk_adjusted": str(cost.risk_adjusted),
                    "source": source,
                    "notes": len(cost.notes),
                }
            )
        out["price_seconds"] = time.perf_counter() - began
    except Exception as error:
        store.close()
        return {
            **out,
            "seconds": time.perf_counter() - start,
            "peak_rss_mb": peak_rss_mb(),
            **failure(error),
        }
    store.close()
    out.update(
        seconds=time.perf_counter() - start,
        peak_rss_mb=peak_rss_mb(),
        activity=_activity_rows(activity),
        candidates=results,
    )
    return out


def _params(as_of: datetime) -> dict[str, Any]:
    stop = date(LAST.year + LAST.month // 12, LAST.month % 12 + 1, 1)
    return {"as_of": as_of, "first": FIRST, "last": LAST.replace(day=1), "stop": stop}


def _local(con: Any, column: str) -> str:
    return local_clock(con, column, "t", otherwise=True)


def _child_sql(db: Path, as_of: datetime) -> dict[str, Any]:
    start = time.perf_counter()
    con = open_baseline(db)
    query = ACTIVITY_SQL.format(
        ship_local=_local(con, "shipped_at"),
        stock_local=_local(con, "stocked_at"),
        process_local=_local(con, "processed_at"),
        count_local=_local(con, "as_of"),
    )
    setup = time.perf_counter() - start
    rows = con.execute(query, _params(as_of)).fetchall()
    con.close()
    activity = [
        [
            month.isoformat(),
            int(orders),
            int(units),
            {p["kind"]: int(p["n"]) for p in sorted(parcels or [], key=lambda p: p["kind"])},
            int(received),
            int(returned),
            int(pallets),
            str(Decimal(cost).quantize(Decimal("0.01"))),
        ]
        for month, orders, units, parcels, received, returned, pallets, cost in rows
    ]
    return {
        "seconds": time.perf_counter() - start,
        "setup_seconds": setup,
        "peak_rss_mb": peak_rss_mb(),
        "activity": activity,
    }


def _child_scan(db: Path, as_of: datetime) -> dict[str, Any]:
    start = time.perf_counter()
    con = open_baseline(db)
    setup = time.perf_counter() - start
    params = _params(as_of)
    params.pop("last")
    rows = con.execute(SCAN_SQL, params).fetchall()
    con.close()
    return {
        "seconds": time.perf_counter() - start,
        "setup_seconds": setup,
        "peak_rss_mb": peak_rss_mb(),
        "shipments": sum(int(r[1]) for r in rows),
    }


def _child_warmup(db: Path, as_of: datetime) -> dict[str, Any]:
    """Import and compile what the measured children will, so that none pays it first."""
    from tallyclerk.metrics import open_context
    from tallyclerk.settings import Settings
    from tallyclerk.store import open_store
    from tallyclerk.vetting._cost import month_activity

    for modules in _PRELOAD.values():
        preload(*modules)
    settings = Settings(database_url=f"duckdb:///{db}")
    store = open_store(settings)
    with open_context(store, engine="duckdb", as_of=as_of, settings=settings) as ctx:
        month_activity(ctx, FIRST, FIRST)
    store.close()
    return {}


def _child(args: argparse.Namespace) -> dict[str, Any]:
    as_of = datetime.fromisoformat(args.as_of)
    if args.child == "warmup":
        return _child_warmup(args.db, as_of)
    preload(*_PRELOAD["sql" if args.child in ("sql", "scan") else "tallyclerk"])
    if args.child == "sql":
        return _child_sql(args.db, as_of)
    if args.child == "scan":
        return _child_scan(args.db, as_of)
    return _child_cost(args.db, as_of, pilot=args.child == "pilot")


# --- running children, comparing, reporting ---------------------------------------------------


def _run_child(mode: str, db: Path, as_of: datetime) -> dict[str, Any]:
    options = ("--db", str(db), "--as-of", as_of.isoformat())
    return run_measured_child(__file__, mode, *options, pycache=db.parent / "pycache")


def _compare(ours: dict[str, Any], sql: dict[str, Any]) -> dict[str, Any]:
    if "error" in ours or "error" in sql:
        return {"equal": None, "text": "not compared (a run failed)"}
    a, b = ours["activity"], sql["activity"]
    if a == b:
        return {"equal": True, "text": f"the same activity in all {len(a)} months"}
    differ = [x[0] for x, y in zip(a, b, strict=False) if x != y]
    return {"equal": False, "text": f"DIFFERENT activity in {len(differ)} month(s): {differ[:4]}"}


def _measure(orders: int, work: Path, seed: int, rounds: int, as_of: datetime) -> dict[str, Any]:
    data = _ensure_data(work, orders, seed)
    db, load = _ensure_store(work, data, orders, seed)
    load_before = os.getloadavg()[0]
    warm = _run_child("warmup", db, as_of)
    if "error" in warm:
        print(f"warm-up failed (measuring anyway): {warm['error']}", flush=True)
    best = best_of(
        rounds,
        MODES,
        lambda mode: _run_child(mode, db, as_of),
        lambda round_no, mode, result: round_line(orders, round_no, mode, 6, result),
    )
    comparison = _compare(best["cost"], best["sql"])
    print(f"{orders:>11,} activity, tallyclerk vs SQL: {comparison['text']}", flush=True)
    return {
        "orders": orders,
        "load": load,
        "best": best,
        "comparison": comparison,
        "loadavg": (load_before, os.getloadavg()[0]),
    }


def _fmt(result: dict[str, Any], key: str = "seconds") -> str:
    if "error" in result or key not in result:
        return "failed" if "error" in result else ""
    return f"{result[key]:,.2f}"


def _ms(result: dict[str, Any], key: str) -> str:
    return f"{result[key] * 1000:,.1f}" if key in result and "error" not in result else ""


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> str:
    times = ratio(a, b)
    return "not measured (a run failed)" if times is None else f"{times:.2f}x"


def _section(runs: list[dict[str, Any]], rounds: int, as_of: datetime) -> str:
    sizes = " and ".join(orders_label(r["orders"]) for r in runs)
    lines = [
        f"## Vetting: cost-to-serve of five candidates over {sizes} orders, on DuckDB",
        "",
        "Measured with `benchmarks/vetting.py` on the store of `benchmarks/evaluate.py` (a",
        "simulated brand's year, two 3PLs, three facilities, loaded through `tallyclerk",
        "ingest`), each run in a fresh process over the same store file, the window being the",
        "twelve months of the simulated year: (a) the cost-to-serve of five candidates (the two",
        "incumbents' contract rate cards and three made-up ones) on the brand's activity, with",
        f"{GROWTH}% growth and risk-adjusted on claimed rates; (b) the same with the incumbents'",
        "measured order_accuracy_rate and ship_on_time_rate over the window (a pilot's figures);",
        "(c) the monthly activity as one hand-written DuckDB query (local dates with DuckDB's",
        "time zone functions): the near-limit baseline; (d) one plain aggregate over the",
        "shipments, the floor of reading them once. Seconds run from opening the store to the",
        "result in hand (imports excluded); *setup* is `open_context` (calendar tables built in",
        f"Python) for tallyclerk. Figures are the best of {rounds} alternated round(s). Peak",
        "memory is the process's ru_maxrss, DuckDB's buffers included.",
        "",
        *stamp(),
        "- Software: " + versions("duckdb", "ibis-framework", "pyarrow", "tallyclerk"),
        f"- Evaluation clock (as_of): {as_of:%Y-%m-%d %H:%M} UTC, after the data's last event",
        "",
    ]
    for run in runs:
        best, load = run["best"], run["load"]
        lines += [
            f"### {orders_label(run['orders'])} orders",
            "",
            store_line(load) + ".",
            "",
            load_line(run["loadavg"]),
            "",
            "| run | seconds | of which setup | activity | pilot KPIs | pricing 5 cards (ms) "
            "| peak memory |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for mode in MODES:
            r = best[mode]
            lines.append(
                f"| {LABELS[mode]} | {_fmt(r)} | {_fmt(r, 'setup_seconds')} | "
                f"{_fmt(r, 'activity_seconds')} | {_fmt(r, 'pilot_seconds')} | "
                f"{_ms(r, 'price_seconds')} | {r['peak_rss_mb']:,.0f} MB |"
            )
        lines += [
            "",
            f"- (a)/(c), tallyclerk's cost-to-serve over the hand-written activity SQL: "
            f"{_ratio(best['cost'], best['sql'])}; (a)/(d), over one plain scan: "
            f"{_ratio(best['cost'], best['scan'])}.",
            f"- (a) and (c) give {run['comparison']['text']}.",
        ]
        for mode in MODES:
            if "error" in best[mode]:
                lines.append(
                    f"- FAILED: {LABELS[mode]}: {best[mode]['error']} "
                    f"(at {best[mode].get('where', '?')})"
                )
        pilot = best["pilot"]
        if "candidates" in pilot:
            lines += [
                "",
                f"The five candidates as (b) priced them (12 months, {GROWTH}% growth, "
                f"{COST_PER_ERROR} per error, {COST_PER_LATE} per late order):",
                "",
                "| candidate | fees | expected errors and lateness | risk-adjusted | rates from |",
                "|---|---:|---:|---:|---|",
            ]
            for c in sorted(pilot["candidates"], key=lambda c: Decimal(c["risk_adjusted"])):
                lines.append(
                    f"| {c['candidate']} | {Decimal(c['fees']):,.2f} | "
                    f"{Decimal(c['risk']):,.2f} | {Decimal(c['risk_adjusted']):,.2f} | "
                    f"{c['source']} |"
                )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = command_line(__doc__)
    store_options(parser, [10_000_000])
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument("--child", choices=["warmup", *MODES], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(_child(args), default=str))
        return

    as_of = datetime.fromisoformat(args.as_of).astimezone(UTC)
    args.work.mkdir(parents=True, exist_ok=True)
    runs = [_measure(n, args.work, args.seed, args.rounds, as_of) for n in args.orders]
    body = _section(runs, args.rounds, as_of)
    print(body)
    write_section("vetting", body, args.out)
    print(f"\nWritten to the vetting section of {args.out}.", flush=True)


if __name__ == "__main__":
    main()
