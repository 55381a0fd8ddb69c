"""Reconcile benchmark: every reconciliation check and the invoice audit, on DuckDB.

For each order count (`--orders`, 10M by default) it uses a simulated brand's year loaded
into a DuckDB store exactly as `benchmarks/evaluate.py` prepares it (same work dir, same file
names: one simulation and one load serve both benchmarks). Then, each in a fresh process over
the same store file, with the evaluation clock fixed after the data's end (`--as-of`):

- (a) findings: `run_findings(store, DOMAINS, as_of=..., record=True)`, the whole job: the
  context's calendars, every registered check of every domain, and the findings stored with
  their lifecycle. The findings table is emptied first (untimed), so every round records the
  same findings as new; then the same call runs again in the same process, when every finding
  is already known (the steady state of a daily run). Peak memory is the process's.
- (b) domains: inside one `open_context`, `detect(ctx, [domain])` for each domain in turn
  (nothing stored), each timed, with the findings per kind.
- (c) not_shipped through tallyclerk: the `not_shipped` check alone (`run_check` on a fresh
  context: what `detect` runs for that check).
- (d) not_shipped as one hand-written DuckDB query, the near-limit baseline: released orders,
  not cancelled by the clock, whose shipped units (by the clock) do not reach the ordered
  units, with the ship due time of DESIGN section 3 passed. The due-time rule is written in
  SQL with DuckDB's time zone functions over a business-day table built in the process
  (evaluate.py's: `holidays` and the contracts' closed dates).

(c) and (d) must list exactly the same orders; the report says whether they do, and how many
of the orders planted as never shipped (`planted.json`) are among them. Runs are alternated
over `--rounds` rounds and the best time of each is kept, with the peak memory of that run
(ru_maxrss). The ratio (c)/(d) is what to compare across machines. Finally each registered
check runs alone, once, in its own process (context set-up included), to show where the time
goes and which check fails on large data, if any does (`--no-breakdown` skips it).

Results replace the `reconcile` section of docs/benchmarks.md, but only when every domain
has checks registered: a run without them is printed and not recorded there (another `--out`
file is written regardless, to try the harness).

    uv run python benchmarks/reconcile.py                                  # 10M orders
    uv run python benchmarks/reconcile.py --orders 20000 --rounds 1 --out /tmp/bench.md
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _report import (
    REPORT,
    best_of,
    command_line,
    failed_note,
    failure,
    fmt_seconds,
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
    PRELOAD_SQL,
    PRELOAD_TALLYCLERK,
    _business_days,
    _ensure_data,
    _ensure_store,
    local_clock,
    open_baseline,
    store_options,
)

MODES = ("findings", "domains", "not_shipped", "sql")
LABELS = {
    "findings": "(a) run_findings, every domain, findings recorded",
    "findings_again": "(a') the same again, every finding already known",
    "domains": "(b) detect per domain, one context (sum)",
    "not_shipped": "(c) not_shipped through tallyclerk",
    "sql": "(d) not_shipped, hand-written DuckDB SQL (baseline)",
}
NOT_SHIPPED = "not_shipped"

# What each kind of child imports before its clock starts: the benchmark times work, not
# imports.
_PRELOAD = {
    "sql": PRELOAD_SQL,
    "tallyclerk": (*PRELOAD_TALLYCLERK, "tallyclerk.reconcile"),
}

# The not_shipped check (reconcile/_handoff.py) as one DuckDB query. Instants are TIMESTAMPTZ;
# `timezone(zone, instant)` gives the facility's wall clock, `timezone(zone, wall)` the instant
# of a wall-clock time; the end of a local day is the next day's start less 1 us.
# {local_date} is a CASE over the facilities with each zone as a constant (much faster in
# DuckDB than a zone read per row from a joined column).
NOT_SHIPPED_SQL = """
WITH shipped AS (  -- units shipped per order by the clock
    SELECT s.order_id, sum(l.qty) AS units
    FROM shipment_lines l JOIN shipments s ON s.shipment_id = l.shipment_id
    WHERE s.shipped_at <= $as_of
    GROUP BY s.order_id
),
ordered AS (
    SELECT order_id, sum(qty) AS units FROM order_lines GROUP BY order_id
),
complete AS (  -- shipped units reach ordered units (an order without lines: any shipment)
    SELECT s.order_id
    FROM shipped s LEFT JOIN ordered o ON o.order_id = s.order_id
    WHERE o.units IS NULL OR s.units >= o.units
),
days AS (  -- per facility and local day: business day?, cutoff, end, next business day's end
    SELECT b.facility_id, b.local_date, b.is_business_day,
           timezone(f.timezone, b.local_date + CAST(f.cutoff AS TIME)) AS cutoff_at,
           timezone(f.timezone, CAST(b.local_date + 1 AS TIMESTAMP))
               - INTERVAL 1 MICROSECOND AS end_at,
           timezone(f.timezone, CAST(b.next_business_date + 1 AS TIMESTAMP))
               - INTERVAL 1 MICROSECOND AS next_end_at
    FROM business_days b JOIN facilities f ON f.facility_id = b.facility_id
),
released AS (
    SELECT r.order_id, r.facility_id, r.released_at, CAST({local_date} AS DATE) AS local_date
    FROM releases r
    WHERE r.released_at <= $as_of
),
due AS (  -- same_day_before_cutoff
    SELECT r.order_id,
           CASE WHEN d.is_business_day AND r.released_at < d.cutoff_at THEN d.end_at
                ELSE d.next_end_at END AS due_at
    FROM released r
    LEFT JOIN days d ON d.facility_id = r.facility_id AND d.local_date = r.local_date
)
SELECT due.order_id
FROM due
WHERE due.due_at < $as_of
  AND NOT EXISTS (SELECT 1 FROM complete c WHERE c.order_id = due.order_id)
  AND NOT EXISTS (
      SELECT 1 FROM orders o
      WHERE o.order_id = due.order_id AND o.cancelled_at <= $as_of
  )
ORDER BY due.order_id
"""


# --- children ---------------------------------------------------------------------------------


def _ids(ids: list[str]) -> dict[str, Any]:
    """A set of subject ids as count and digest, and the ids themselves when few."""
    ordered = sorted(ids)
    digest = hashlib.sha256("\n".join(ordered).encode()).hexdigest()
    return {
        "count": len(ordered),
        "digest": digest,
        "ids": ordered if len(ordered) <= 1000 else None,
    }


def _open(db: Path) -> Any:
    from tallyclerk.settings import Settings
    from tallyclerk.store import open_store

    settings = Settings(database_url=f"duckdb:///{db}")
    # Upgrades the schema if the store predates the findings table.
    return settings, open_store(settings)


def _child_findings(db: Path, as_of: datetime) -> dict[str, Any]:
    from tallyclerk.reconcile import DOMAINS, run_findings

    settings, store = _open(db)
    with store.begin() as connection:
        connection.exec_driver_sql("DELETE FROM findings")
    out: dict[str, Any] = {"seconds": 0.0, "setup_seconds": 0.0}
    start = time.perf_counter()
    try:
        first = run_findings(
            store, DOMAINS, as_of=as_of, engine="duckdb", record=True, settings=settings
        )
        out["seconds"] = time.perf_counter() - start
        out["peak_rss_mb"] = peak_rss_mb()
        again_start = time.perf_counter()
        again = run_findings(
            store, DOMAINS, as_of=as_of, engine="duckdb", record=True, settings=settings
        )
        out["again_seconds"] = time.perf_counter() - again_start
        out["again_peak_rss_mb"] = peak_rss_mb()
    except Exception as error:
        store.close()
        return {
            **out,
            "seconds": time.perf_counter() - start,
            "peak_rss_mb": peak_rss_mb(),
            **failure(error),
        }
    store.close()
    assert first.sync is not None
    assert again.sync is not None
    out["kinds"] = dict(sorted(Counter(d.kind for d in first.detected).items()))
    out["detected"] = len(first.detected)
    out["sync"] = {"new": first.sync.new, "seen_again": first.sync.seen_again}
    out["again_sync"] = {"new": again.sync.new, "seen_again": again.sync.seen_again}
    out["open_findings"] = len(first.open_findings)
    return out


def _child_domains(db: Path, as_of: datetime) -> dict[str, Any]:
    from tallyclerk.metrics import open_context
    from tallyclerk.reconcile import DOMAINS, detect

    start = time.perf_counter()
    setup = 0.0
    per_domain: dict[str, dict[str, Any]] = {}
    settings, store = _open(db)
    try:
        with open_context(store, engine="duckdb", as_of=as_of, settings=settings) as ctx:
            setup = time.perf_counter() - start
            for domain in DOMAINS:
                began = time.perf_counter()
                found = detect(ctx, [domain])
                per_domain[domain] = {
                    "seconds": time.perf_counter() - began,
                    "findings": len(found),
                    "kinds": dict(sorted(Counter(d.kind for d in found).items())),
                }
    except Exception as error:
        store.close()
        failed = next((d for d in DOMAINS if d not in per_domain), None)
        return {
            "seconds": time.perf_counter() - start,
            "setup_seconds": setup,
            "peak_rss_mb": peak_rss_mb(),
            "domains": per_domain,
            "failed_domain": failed,
            **failure(error),
        }
    store.close()
    return {
        "seconds": time.perf_counter() - start,
        "setup_seconds": setup,
        "peak_rss_mb": peak_rss_mb(),
        "domains": per_domain,
    }


def _child_check(db: Path, as_of: datetime, kind: str) -> dict[str, Any]:
    """One check alone on a fresh context (for not_shipped: (c))."""
    from tallyclerk.metrics import open_context
    from tallyclerk.reconcile import CHECKS, CheckParams, run_check

    start = time.perf_counter()
    setup = 0.0
    settings, store = _open(db)
    try:
        with open_context(store, engine="duckdb", as_of=as_of, settings=settings) as ctx:
            setup = time.perf_counter() - start
            found = run_check(ctx, CHECKS[kind], CheckParams())
    except Exception as error:
        store.close()
        return {
            "seconds": time.perf_counter() - start,
            "setup_seconds": setup,
            "peak_rss_mb": peak_rss_mb(),
            **failure(error),
        }
    store.close()
    return {
        "seconds": time.perf_counter() - start,
        "setup_seconds": setup,
        "peak_rss_mb": peak_rss_mb(),
        "ids": _ids([d.subject_id for d in found]),
    }


def _child_sql(db: Path, as_of: datetime) -> dict[str, Any]:
    start = time.perf_counter()
    con = open_baseline(db)
    con.register("business_days", _business_days(con))
    query = NOT_SHIPPED_SQL.format(local_date=local_clock(con, "released_at"))
    setup = time.perf_counter() - start
    rows = con.execute(query, {"as_of": as_of}).fetchall()
    con.close()
    return {
        "seconds": time.perf_counter() - start,
        "setup_seconds": setup,
        "peak_rss_mb": peak_rss_mb(),
        "ids": _ids([r[0] for r in rows]),
    }


def _child_warmup(db: Path, as_of: datetime) -> dict[str, Any]:
    """Import and compile what the measured children will, so that none pays it first."""
    import duckdb

    from tallyclerk.metrics import open_context
    from tallyclerk.reconcile import CHECKS, CheckParams

    for modules in _PRELOAD.values():
        preload(*modules)
    settings, store = _open(db)
    failed = {}
    with open_context(store, engine="duckdb", as_of=as_of, settings=settings) as ctx:
        for kind, check in CHECKS.items():
            try:
                ctx.backend.compile(check.detect(ctx, CheckParams()))
            except Exception as error:  # reported by the measured runs
                failed[kind] = failure(error)["error"]
    store.close()
    con = duckdb.connect(str(db), read_only=True)
    _business_days(con)
    con.close()
    return {"failed": failed}


def _child(args: argparse.Namespace) -> dict[str, Any]:
    as_of = datetime.fromisoformat(args.as_of)
    if args.child == "warmup":
        return _child_warmup(args.db, as_of)
    preload(*_PRELOAD["sql" if args.child == "sql" else "tallyclerk"])
    if args.child == "sql":
        return _child_sql(args.db, as_of)
    if args.child == "findings":
        return _child_findings(args.db, as_of)
    if args.child == "domains":
        return _child_domains(args.db, as_of)
    if args.child == "not_shipped":
        return _child_check(args.db, as_of, NOT_SHIPPED)
    return _child_check(args.db, as_of, args.check)


# --- running children, comparing, reporting ---------------------------------------------------


def _run_child(mode: str, db: Path, as_of: datetime, *, check: str | None = None) -> dict[str, Any]:
    options = ["--db", str(db), "--as-of", as_of.isoformat()]
    if check is not None:
        options += ["--check", check]
    return run_measured_child(__file__, mode, *options, pycache=db.parent / "pycache")


def _round_line(orders: int, round_no: int, mode: str, result: dict[str, Any]) -> str:
    extra = ""
    if mode == "findings" and "again_seconds" in result:
        extra = f" (again {result['again_seconds']:.2f} s)"
    return round_line(orders, round_no, mode, 12, result, extra)


def _planted_never_shipped(data: Path) -> set[str]:
    document = json.loads((data / "planted.json").read_text(encoding="utf-8"))
    for problem in document.get("problems", []):
        if problem["name"] == "released_never_shipped":
            return set(problem["ids"])
    return set()


def _compare(ours: dict[str, Any], sql: dict[str, Any], planted: set[str]) -> dict[str, Any]:
    if "error" in ours or "error" in sql:
        return {"equal": None, "text": "not compared (a run failed)"}
    a, b = ours["ids"], sql["ids"]
    equal = a["count"] == b["count"] and a["digest"] == b["digest"]
    text = (
        f"the same {a['count']:,} orders"
        if equal
        else f"DIFFERENT: tallyclerk {a['count']:,} orders, SQL {b['count']:,}"
    )
    found = None if a["ids"] is None else len(planted & set(a["ids"]))
    return {"equal": equal, "text": text, "planted": len(planted), "planted_found": found}


def _registered() -> dict[str, list[str]]:
    from tallyclerk.reconcile import DOMAINS, checks_of

    return {domain: [c.kind for c in checks_of(domain)] for domain in DOMAINS}


def _measure(
    orders: int, work: Path, seed: int, rounds: int, as_of: datetime, breakdown: bool
) -> dict[str, Any]:
    data = _ensure_data(work, orders, seed)
    db, load = _ensure_store(work, data, orders, seed)
    load_before = os.getloadavg()[0]
    warm = _run_child("warmup", db, as_of)
    if "error" in warm:
        print(f"warm-up failed (measuring anyway): {warm['error']}", flush=True)
    for kind, error in warm.get("failed", {}).items():
        print(f"warm-up: check {kind} did not compile: {error}", flush=True)
    best = best_of(
        rounds,
        MODES,
        lambda mode: _run_child(mode, db, as_of),
        lambda round_no, mode, result: _round_line(orders, round_no, mode, result),
    )
    per_check: dict[str, dict[str, Any]] = {}
    if breakdown:
        for kinds in _registered().values():
            for kind in kinds:
                result = _run_child("check", db, as_of, check=kind)
                per_check[kind] = result
                count = result["ids"]["count"] if "ids" in result else 0
                print(
                    f"{orders:>11,} alone   {kind:<28} {result['seconds']:8.2f} s "
                    f"(setup {result['setup_seconds']:6.2f} s) {result['peak_rss_mb']:7.0f} MB "
                    f"{count:>9,} findings {failed_note(result)}",
                    flush=True,
                )
    comparison = _compare(best["not_shipped"], best["sql"], _planted_never_shipped(data))
    print(f"{orders:>11,} not_shipped, tallyclerk vs SQL: {comparison['text']}", flush=True)
    return {
        "orders": orders,
        "load": load,
        "best": best,
        "per_check": per_check,
        "comparison": comparison,
        "loadavg": (load_before, os.getloadavg()[0]),
    }


def _section(
    runs: list[dict[str, Any]], rounds: int, as_of: datetime, registered: dict[str, list[str]]
) -> str:
    sizes = " and ".join(orders_label(r["orders"]) for r in runs)
    lines = [
        f"## Reconcile: every check and the invoice audit over {sizes} orders, on DuckDB",
        "",
        "Measured with `make bench-reconcile` (`benchmarks/reconcile.py`) on the store of",
        "`benchmarks/evaluate.py` (a simulated brand's year, two 3PLs, three facilities, loaded",
        "through `tallyclerk ingest`), each run in a fresh process over the same store file:",
        "(a) `run_findings` over every domain with the findings recorded (the findings table",
        "emptied first, so every finding is new), then (a') the same call again in the same",
        "process, every finding already known; (b) `detect` per domain inside one",
        "`open_context`; (c) the `not_shipped` check alone through tallyclerk; (d) the same",
        "check as one hand-written DuckDB query (the due-time rule in SQL with DuckDB's time",
        "zone functions and a small business-day table from `holidays` and the contracts'",
        f"closed dates): the near-limit baseline. Figures are the best of {rounds} alternated",
        "round(s); seconds run from opening the store to the findings in hand (imports",
        "excluded), and *setup* is the part before the checks: for tallyclerk `open_context`",
        "(calendar tables built in Python), for (d) the business-day table. Peak memory is the",
        "process's ru_maxrss, DuckDB's buffers included.",
        "",
        *stamp(),
        "- Software: " + versions("duckdb", "ibis-framework", "pyarrow", "holidays", "tallyclerk"),
        f"- Evaluation clock (as_of): {as_of:%Y-%m-%d %H:%M} UTC, after the data's last event",
        "- Checks registered at the time: "
        + "; ".join(
            f"{domain} ({len(kinds)}): " + (", ".join(f"`{k}`" for k in kinds) or "none")
            for domain, kinds in registered.items()
        ),
        "",
    ]
    for run in runs:
        best, load = run["best"], run["load"]
        findings, domains = best["findings"], best["domains"]
        lines += [
            f"### {orders_label(run['orders'])} orders",
            "",
            store_line(load) + ".",
            "",
            load_line(run["loadavg"]),
            "",
            "| run | seconds | of which setup | peak memory | findings |",
            "|---|---:|---:|---:|---:|",
            f"| {LABELS['findings']} | {fmt_seconds(findings)} | | "
            f"{findings.get('peak_rss_mb', float('nan')):,.0f} MB | "
            f"{findings.get('detected', 0):,} |",
            f"| {LABELS['findings_again']} | "
            + ("failed" if "again_seconds" not in findings else f"{findings['again_seconds']:,.2f}")
            + f" | | {findings.get('again_peak_rss_mb', float('nan')):,.0f} MB | "
            f"{findings.get('detected', 0):,} |",
            f"| {LABELS['domains']} | {fmt_seconds(domains)} | "
            f"{domains['setup_seconds']:,.2f} | {domains['peak_rss_mb']:,.0f} MB | "
            f"{sum(d['findings'] for d in domains.get('domains', {}).values()):,} |",
        ]
        for domain, figures in domains.get("domains", {}).items():
            lines.append(
                f"| &nbsp;&nbsp;{domain} | {figures['seconds']:,.2f} | | | "
                f"{figures['findings']:,} |"
            )
        c_d = ratio(best["not_shipped"], best["sql"])
        for mode in ("not_shipped", "sql"):
            r = best[mode]
            count = f"{r['ids']['count']:,}" if "ids" in r else ""
            lines.append(
                f"| {LABELS[mode]} | {fmt_seconds(r)} | {r['setup_seconds']:,.2f} | "
                f"{r['peak_rss_mb']:,.0f} MB | {count} |"
            )
        comparison = run["comparison"]
        lines += [
            "",
            "- (c)/(d), tallyclerk's not_shipped over the hand-written SQL: "
            + ("not measured (a run failed)" if c_d is None else f"{c_d:.2f}x"),
            f"- (c) and (d) list {comparison['text']}; the data has "
            f"{comparison.get('planted', 0)} orders planted as released and never shipped"
            + (
                f", {comparison['planted_found']} of them among (c)'s."
                if comparison.get("planted_found") is not None
                else "."
            ),
        ]
        if "kinds" in findings:
            lines.append(
                "- Findings per kind: "
                + (", ".join(f"`{k}` {n:,}" for k, n in findings["kinds"].items()) or "none")
                + "."
            )
        if "sync" in findings:
            lines.append(
                f"- Recorded: {findings['sync']['new']:,} new in (a); in (a') "
                f"{findings['again_sync']['new']:,} new and "
                f"{findings['again_sync']['seen_again']:,} seen again."
            )
        for mode in MODES:
            if "error" in best[mode]:
                lines.append(
                    f"- FAILED: {LABELS[mode]}: {best[mode]['error']} "
                    f"(at {best[mode].get('where', '?')})"
                )
        if run["per_check"]:
            lines += [
                "",
                "Each check alone, once, in its own process (context set-up included):",
                "",
                "| check | seconds | of which setup | peak memory | findings |",
                "|---|---:|---:|---:|---:|",
            ]
            for kind, r in run["per_check"].items():
                count = f"{r['ids']['count']:,}" if "ids" in r else ""
                lines.append(
                    f"| `{kind}` | {fmt_seconds(r)} | {r['setup_seconds']:,.2f} | "
                    f"{r['peak_rss_mb']:,.0f} MB | {count} |"
                )
            for kind, r in run["per_check"].items():
                if "error" in r:
                    lines += ["", f"- FAILED: `{kind}` alone: {r['error']} (at {r['where']})"]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = command_line(__doc__)
    store_options(parser, [10_000_000])
    parser.add_argument("--no-breakdown", action="store_true", help="skip each check alone")
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument(
        "--child",
        choices=["warmup", *MODES, "check"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--check", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(_child(args), default=str))
        return

    as_of = datetime.fromisoformat(args.as_of).astimezone(UTC)
    args.work.mkdir(parents=True, exist_ok=True)
    registered = _registered()
    runs = [
        _measure(n, args.work, args.seed, args.rounds, as_of, not args.no_breakdown)
        for n in args.orders
    ]
    body = _section(runs, args.rounds, as_of, registered)
    print(body)
    missing = [domain for domain, kinds in registered.items() if not kinds]
    if missing and args.out.resolve() == REPORT.resolve():
        print(
            f"\nNot recorded in {REPORT}: no checks are registered for {', '.join(missing)}.",
            flush=True,
        )
        return
    write_section("reconcile", body, args.out)
    print(f"\nWritten to the reconcile section of {args.out}.", flush=True)


if __name__ == "__main__":
    main()
