"""Report benchmark: one 3PL's weekly performance review over a simulated year, on DuckDB.

For an order count (`--orders`, 1M by default) it uses a simulated brand's year loaded into
a DuckDB store exactly as `benchmarks/evaluate.py` prepares it (same work dir, same file
names: one simulation and one load serve every benchmark). The review reads what a user keeps
before the weekly meeting, so the loaded store is copied (`store-N-SEED.report.duckdb`; the
loaded one stays as the other benchmarks expect it) and the copy is prepared as a user would
at the end of the week, each step timed in its own process (not part of the review):

- findings: `reconcile.run_findings` over every domain, recorded (what `tallyclerk reconcile`
  and `tallyclerk billing audit` keep);
- evaluation: `sla.evaluate` of the month holding the week's Sunday, recorded, burn rates
  included (`tallyclerk evaluate --period`);
- forecast: the daily histories up to the week's Sunday, models chosen and fitted, the run
  kept (`tallyclerk forecast`). `--no-forecast` skips it: the review then has no forecast
  section and says so in its notes.

The provider is the one with the most orders released (`--provider` names another); the week
is the ISO week overlapping the provider's contracted peak windows with the most orders
released to it (`--week` names another). The review is read at the week's end (Sunday 24:00
in the brand's zone, `TALLYCLERK_BRAND__TIMEZONE`). Then, each in a fresh process:

- (a) cold: `build_review` in a process that has imported nothing of tallyclerk, Ibis or
  DuckDB yet (bytecode cached): the imports, the first Ibis compile and the build, once;
- (b) review: the imports done before the clock; the process's first `build_review`, then a
  second one in the same process (a running server's case), then `render_html` and
  `render_pdf` (tallyclerk.reports._render) of the review, with the PDF's pages and size;
- (c) steps: the steps of `build_review` (reports/_gather.py) run one by one through the
  private gather functions it calls (reports/_gather_kpis.py, _gather_records.py,
  _gather_figures.py), each timed, with each KPI's query timed on its own: where the time
  goes. The review they make must equal (b)'s; the report says whether it does;
- (d) scan: the baseline, one hand-written DuckDB query over the same store: the provider's
  raw weekly counts over the review's twelve weeks (orders released, shipments, orders and
  units shipped, shipping cost, deliveries, returns and returned units, receipts, feedback
  and its score, packaging audits and passes), a plain GROUP BY per table: the floor of
  merely reading what the review reads.

(b), (c) and (d) alternate over `--rounds` rounds; each figure is the best of its rounds,
with the peak memory of the process (ru_maxrss). The ratio (b)/(d) is what to compare across
machines.

Results replace the `report` section of docs/benchmarks.md unless `--no-write` is given.

    uv run python benchmarks/report.py                                      # 1M orders
    uv run python benchmarks/report.py --orders 20000 --rounds 1 --no-write
    uv run python -m benchmarks.report --orders 20000 --week 2026-W49 --no-forecast --no-write
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__:  # `python -m benchmarks.report`: the helpers sit next to this file
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import (
    REPORT,
    best_of,
    command_line,
    failed_note,
    failure,
    load_line,
    orders_label,
    peak_rss_mb,
    preload,
    publish,
    run_measured_child,
    stamp,
    store_line,
    versions,
)
from evaluate import (
    PRELOAD_SQL,
    PRELOAD_TALLYCLERK,
    _ensure_data,
    _ensure_store,
    open_baseline,
)

SECTION = "report"
MODES = ("review", "steps", "scan")
PREPARATION = ("findings", "evaluate", "forecast")
LABELS = {
    "cold": "(a) cold: imports, first compile and build_review in a fresh process",
    "review": "(b) build_review, the process's first (imports done)",
    "again": "(b') build_review again in the same process",
    "html": "render_html, standalone page",
    "pdf": "render_pdf, A4 (its HTML included)",
    "steps": "(c) the steps of build_review, one by one (sum)",
    "scan": "(d) the provider's weekly raw counts, hand-written DuckDB SQL (baseline)",
    "findings": "findings: run_findings over every domain, recorded",
    "evaluate": "evaluation: sla.evaluate of the month, recorded",
    "forecast": "forecast: histories read, models fitted, run kept",
}
TREND_WEEKS = 12  # the review's trend (reports/_gather_kpis.py)

# What each kind of child imports before its clock starts: the benchmark times work, not
# imports ((a) cold is the exception: it imports on the clock).
PRELOAD_REVIEW = (
    *PRELOAD_TALLYCLERK,
    "sqlalchemy",
    "tallyclerk.reports",
    "tallyclerk.reports._gather",
    "tallyclerk.reports._render",
    "jinja2",
    "matplotlib",
    "matplotlib.figure",
    "matplotlib.ticker",
    "weasyprint",
)
_PRELOAD = {
    "scan": PRELOAD_SQL,
    "review": PRELOAD_REVIEW,
    "steps": PRELOAD_REVIEW,
    "findings": (*PRELOAD_TALLYCLERK, "tallyclerk.reconcile"),
    "evaluate": (*PRELOAD_TALLYCLERK, "tallyclerk.sla"),
    "forecast": (*PRELOAD_TALLYCLERK, "tallyclerk.forecast", "statsforecast"),
}

# The baseline (d): the provider's raw weekly counts over the review's twelve weeks. Weeks are
# ISO weeks of the session's zone (set to the brand's), as the review's are.
SCAN_SQL = """
WITH weeks AS (
    SELECT CAST(unnest(generate_series(CAST($first AS TIMESTAMP), CAST($last AS TIMESTAMP),
                                       INTERVAL 7 DAY)) AS DATE) AS week
),
rel AS (
    SELECT CAST(date_trunc('week', released_at) AS DATE) AS week, count(*) AS released
    FROM releases
    WHERE provider_id = $provider AND released_at >= $start AND released_at < $end
    GROUP BY 1
),
shp AS (
    SELECT CAST(date_trunc('week', shipped_at) AS DATE) AS week, count(*) AS shipments,
           count(DISTINCT order_id) AS orders_shipped, sum(shipping_cost) AS shipping_cost
    FROM shipments
    WHERE provider_id = $provider AND shipped_at >= $start AND shipped_at < $end
    GROUP BY 1
),
units AS (
    SELECT CAST(date_trunc('week', s.shipped_at) AS DATE) AS week, sum(l.qty) AS units
    FROM shipment_lines l JOIN shipments s ON s.shipment_id = l.shipment_id
    WHERE s.provider_id = $provider AND s.shipped_at >= $start AND s.shipped_at < $end
    GROUP BY 1
),
dlv AS (
    SELECT CAST(date_trunc('week', e.occurred_at) AS DATE) AS week,
           count(DISTINCT e.tracking_number) AS delivered
    FROM tracking_events e JOIN shipments s ON s.tracking_number = e.tracking_number
    WHERE s.provider_id = $provider AND e.status = 'delivered'
      AND e.occurred_at >= $start AND e.occurred_at < $end
    GROUP BY 1
),
ret AS (
    SELECT CAST(date_trunc('week', received_at) AS DATE) AS week, count(*) AS returns,
           sum(qty) AS returned_units
    FROM returns
    WHERE provider_id = $provider AND received_at >= $start AND received_at < $end
    GROUP BY 1
),
rcv AS (
    SELECT CAST(date_trunc('week', arrived_at) AS DATE) AS week, count(*) AS receipts
    FROM receipts
    WHERE provider_id = $provider AND arrived_at >= $start AND arrived_at < $end
    GROUP BY 1
),
fb AS (
    SELECT CAST(date_trunc('week', f.received_at) AS DATE) AS week, count(*) AS feedback,
           avg(f.score) AS score
    FROM feedback f JOIN releases r ON r.order_id = f.order_id
    WHERE r.provider_id = $provider AND f.received_at >= $start AND f.received_at < $end
    GROUP BY 1
),
aud AS (
    SELECT CAST(date_trunc('week', audited_at) AS DATE) AS week,
           count(DISTINCT audit_id) AS audits,
           count(DISTINCT audit_id) - count(DISTINCT audit_id) FILTER (WHERE NOT passed)
               AS audits_passed
    FROM audits
    WHERE provider_id = $provider AND audited_at >= $start AND audited_at < $end
    GROUP BY 1
)
SELECT w.week, coalesce(rel.released, 0), coalesce(shp.shipments, 0),
       coalesce(shp.orders_shipped, 0), coalesce(units.units, 0),
       coalesce(shp.shipping_cost, 0), coalesce(dlv.delivered, 0), coalesce(ret.returns, 0),
       coalesce(ret.returned_units, 0), coalesce(rcv.receipts, 0), coalesce(fb.feedback, 0),
       fb.score, coalesce(aud.audits, 0), coalesce(aud.audits_passed, 0)
FROM weeks w
LEFT JOIN rel ON rel.week = w.week
LEFT JOIN shp ON shp.week = w.week
LEFT JOIN units ON units.week = w.week
LEFT JOIN dlv ON dlv.week = w.week
LEFT JOIN ret ON ret.week = w.week
LEFT JOIN rcv ON rcv.week = w.week
LEFT JOIN fb ON fb.week = w.week
LEFT JOIN aud ON aud.week = w.week
ORDER BY w.week
"""
SCAN_COLUMNS = (
    "released",
    "shipments",
    "orders_shipped",
    "units",
    "shipping_cost",
    "delivered",
    "returns",
    "returned_units",
    "receipts",
    "feedback",
    "feedback_score",
    "audits",
    "audits_passed",
)


# --- the review's week, clock and bounds -------------------------------------------------------


def iso_week_name(day: date) -> str:
    """2026-W48 for a day of that ISO week."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(name: str) -> date:
    """The Monday of an ISO week named like 2026-W48."""
    year, _, week = name.upper().partition("-W")
    return date.fromisocalendar(int(year), int(week), 1)


def week_clock(name: str, timezone: str) -> tuple[datetime, datetime]:
    """The week's start (Monday 00:00) and end (Sunday 24:00) in the zone, as UTC."""
    zone = ZoneInfo(timezone)
    monday = monday_of(name)
    start = datetime.combine(monday, clock_time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), clock_time(), tzinfo=zone)
    return start, end.astimezone(UTC)


def _peak_windows(source_texts: list[str]) -> list[tuple[date, date]]:
    """The peak windows of the provider's contract versions."""
    import yaml

    windows = []
    for text in source_texts:
        for peak in (yaml.safe_load(text) or {}).get("peak") or []:
            low, high = peak.get("from"), peak.get("to")
            if low is not None and high is not None:
                windows.append((date.fromisoformat(str(low)), date.fromisoformat(str(high))))
    return windows


def choose_review(
    db: Path, timezone: str, provider: str | None, week: str | None
) -> dict[str, Any]:
    """The provider (most orders released) and the week (the peak's busiest for it)."""
    con = open_baseline(db)
    con.execute(f"SET TimeZone = '{timezone}'")
    counts = dict(
        con.execute(
            "SELECT provider_id, count(*) FROM releases GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
    )
    if not counts:
        raise SystemExit(f"{db} holds no releases: nothing to review")
    if provider is None:
        provider = max(counts, key=lambda p: (counts[p], p))
    elif provider not in counts:
        raise SystemExit(f"--provider {provider}: the store releases to {', '.join(counts)}")
    weekly = dict(
        con.execute(
            "SELECT CAST(date_trunc('week', released_at) AS DATE), count(*) FROM releases "
            "WHERE provider_id = $p GROUP BY 1",
            {"p": provider},
        ).fetchall()
    )
    texts = [
        t
        for (t,) in con.execute(
            "SELECT source_text FROM contracts WHERE provider_id = $p", {"p": provider}
        ).fetchall()
    ]
    con.close()
    windows = _peak_windows(texts)
    chosen_by = "named with --week"
    if week is None:
        in_peak = {
            m: n
            for m, n in weekly.items()
            if any(low <= m + timedelta(days=6) and m <= high for low, high in windows)
        }
        chosen_by = "the contracted peak's week with the most orders released to it"
        if not in_peak:
            in_peak = weekly
            chosen_by = "the week with the most orders released to it (no peak window)"
        week = iso_week_name(max(in_peak, key=lambda m: (in_peak[m], m)))
    monday = monday_of(week)
    return {
        "provider": provider,
        "orders_released": counts,
        "week": week,
        "week_released": weekly.get(monday, 0),
        "chosen_by": chosen_by,
        "peak_windows": [f"{low}..{high}" for low, high in windows],
    }


# --- children ----------------------------------------------------------------------------------


def cpu() -> float:
    """CPU seconds of this process so far, every thread (DuckDB's included), user and system.

    On a shared machine wall time depends on what else runs; CPU time much less."""
    return time.process_time()


def _settings(db: Path) -> Any:
    from tallyclerk.settings import Settings

    return Settings(database_url=f"duckdb:///{db}")


def _digest(review: Any) -> str:
    """A fingerprint of a review's content, to check that two ways of building it agree."""
    text = json.dumps(review.as_dict(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _summary(review: Any) -> dict[str, Any]:
    """What the report says about the review: its sections' sizes and its notes."""
    return {
        "kpis": len(review.kpis),
        "kpis_with_data": sum(1 for k in review.kpis if k.value is not None),
        "breached_in_week": sum(1 for k in review.kpis if k.met is False),
        "month_breaches": len(review.breaches),
        "credits": None if review.credits is None else str(review.credits.amount),
        "disputes": len(review.disputes),
        "finding_kinds": len(review.findings) + len(review.invoice_findings),
        "findings_open": sum(f.open_at_end for f in [*review.findings, *review.invoice_findings]),
        "forecast_weeks": len(review.forecast),
        "notes": list(review.notes),
        "digest": _digest(review),
    }


def _child_cold(db: Path, provider: str, week: str, clock: datetime) -> dict[str, Any]:
    started, cpu_started = time.perf_counter(), cpu()
    from tallyclerk.reports import IsoWeek, build_review
    from tallyclerk.settings import Settings
    from tallyclerk.store import open_store

    imported = time.perf_counter() - started
    settings = Settings(database_url=f"duckdb:///{db}")
    store = open_store(settings, create=False)
    try:
        review = build_review(
            store, settings, provider, IsoWeek.parse(week), as_of=clock, now=clock
        )
    finally:
        store.close()
    return {
        "seconds": time.perf_counter() - started,
        "setup_seconds": imported,
        "cpu_seconds": cpu() - cpu_started,
        "peak_rss_mb": peak_rss_mb(),
        **_summary(review),
    }


def _pdf_pages(pdf: bytes) -> int | None:
    """The page count of a PDF, by poppler's pdfinfo (None where it is not installed)."""
    import subprocess

    try:
        out = subprocess.run(
            ["pdfinfo", "-"], input=pdf, capture_output=True, check=True, timeout=60
        ).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    return None


def _child_review(db: Path, provider: str, week: str, clock: datetime) -> dict[str, Any]:
    from tallyclerk.reports import IsoWeek, build_review, render_html, render_pdf
    from tallyclerk.store import open_store

    settings = _settings(db)
    chosen = IsoWeek.parse(week)
    out: dict[str, Any] = {"setup_seconds": 0.0}
    start, cpu_start = time.perf_counter(), cpu()
    store = open_store(settings, create=False)
    try:
        review = build_review(store, settings, provider, chosen, as_of=clock, now=clock)
        out["seconds"] = time.perf_counter() - start
        out["cpu_seconds"] = cpu() - cpu_start
        out["build_rss_mb"] = peak_rss_mb()
        began, cpu_began = time.perf_counter(), cpu()
        again = build_review(store, settings, provider, chosen, as_of=clock, now=clock)
        out["again_seconds"] = time.perf_counter() - began
        out["again_cpu_seconds"] = cpu() - cpu_began
        out["again_digest"] = _digest(again)
        out["again_rss_mb"] = peak_rss_mb()
    except Exception as error:
        return {
            "seconds": time.perf_counter() - start,
            **out,
            "peak_rss_mb": peak_rss_mb(),
            **failure(error),
        }
    finally:
        store.close()
    try:
        began, cpu_began = time.perf_counter(), cpu()
        html = render_html(review)
        out["html_seconds"] = time.perf_counter() - began
        out["html_cpu_seconds"] = cpu() - cpu_began
        began, cpu_began = time.perf_counter(), cpu()
        pdf = render_pdf(review)
        out["pdf_seconds"] = time.perf_counter() - began
        out["pdf_cpu_seconds"] = cpu() - cpu_began
    except Exception as error:
        return {**out, "peak_rss_mb": peak_rss_mb(), **failure(error), "where": "rendering"}
    return {
        **out,
        "html_kb": len(html.encode()) / 1024,
        "pdf_kb": len(pdf) / 1024,
        "pdf_pages": _pdf_pages(pdf),
        "peak_rss_mb": peak_rss_mb(),
        **_summary(review),
    }


def _child_steps(db: Path, provider: str, week: str, clock: datetime) -> dict[str, Any]:
    """build_review's steps one by one, each timed (keep in step with reports/_gather.py)."""
    from tallyclerk.contracts import contract_in_force
    from tallyclerk.contracts._repository import contract_versions
    from tallyclerk.metrics import open_context
    from tallyclerk.reports import IsoWeek, WeeklyReview
    from tallyclerk.reports._gather import _actions, _provider_name, week_bounds
    from tallyclerk.reports._gather_figures import (
        experience_lines,
        forecast_lines,
        inventory_line,
    )
    from tallyclerk.reports._gather_kpis import WeeklyFigures, kpi_lines
    from tallyclerk.reports._gather_records import (
        dispute_lines,
        findings_sections,
        recorded_month,
    )
    from tallyclerk.store import open_store

    class TimedFigures(WeeklyFigures):
        """The review's weekly figures, each metric's one query timed."""

        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.timings: dict[str, tuple[float, float]] = {}

        def of(self, name: str) -> Any:
            if name in self.timings:
                return super().of(name)
            began, cpu_began = time.perf_counter(), cpu()
            figures = super().of(name)
            self.timings[name] = (time.perf_counter() - began, cpu() - cpu_began)
            return figures

    steps: list[list[Any]] = []

    @contextmanager
    def step(label: str) -> Iterator[None]:
        began, cpu_began = time.perf_counter(), cpu()
        yield
        steps.append([label, time.perf_counter() - began, cpu() - cpu_began])

    settings = _settings(db)
    chosen = IsoWeek.parse(week)
    notes: list[str] = []
    start, cpu_start = time.perf_counter(), cpu()
    begin, end = week_bounds(chosen, settings.brand.timezone)
    until = min(end, clock)
    with step("open the store"):
        store = open_store(settings, create=False)
    try:
        with store.connect() as connection:
            with step("provider, contract versions"):
                name = _provider_name(connection, provider)
                versions_ = contract_versions(connection, provider)
                contract = contract_in_force(versions_, chosen.end) or (
                    versions_[-1] if versions_ else None
                )
                currency = contract.currency if contract is not None else None
            with step("the month's recorded evaluation: breaches, credits, burn"):
                month = recorded_month(
                    connection, provider, chosen.end.replace(day=1), clock, currency, notes
                )
            with step("disputes"):
                disputes = dispute_lines(connection, provider, clock)
            with step("findings and invoice findings of the week"):
                found = findings_sections(connection, provider, begin, until, "brand", notes)
            with step("the kept forecast against capacity"):
                forecast, forecast_as_of = forecast_lines(
                    connection, provider, chosen, clock, notes
                )
            with step("action items"):
                actions = _actions(connection, provider, chosen)
        began, cpu_began = time.perf_counter(), cpu()
        with open_context(store, as_of=clock, settings=settings) as ctx:
            steps.append(
                ["open_context (calendars)", time.perf_counter() - began, cpu() - cpu_began]
            )
            with step("contracted KPIs, 12 weeks (kpi_lines)"):
                figures = TimedFigures(ctx, provider, chosen)
                kpis = kpi_lines(figures, provider, versions_, chosen, notes)
            kpi_metrics = dict(figures.timings)
            with step("inventory against the book (inventory_line)"):
                inventory = inventory_line(ctx, provider, until, "brand", notes)
            with step("customer experience (experience_lines)"):
                experience = experience_lines(ctx, figures, provider, chosen, notes)
            began, cpu_began = time.perf_counter(), cpu()
        steps.append(["closing the context", time.perf_counter() - began, cpu() - cpu_began])
    except Exception as error:
        store.close()
        return {
            "seconds": time.perf_counter() - start,
            "setup_seconds": 0.0,
            "peak_rss_mb": peak_rss_mb(),
            "steps": steps,
            **failure(error),
        }
    store.close()
    seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu_start
    review = WeeklyReview(
        provider_id=provider,
        provider_name=name,
        week=chosen,
        audience="brand",
        as_of=clock,
        generated_at=clock,
        currency=currency,
        kpis=kpis,
        breaches=month.breaches,
        credits=month.credits,
        burn=month.burn,
        disputes=disputes,
        findings=found.findings,
        invoice_findings=found.invoice,
        inventory=inventory,
        experience=experience,
        forecast=forecast,
        forecast_as_of=forecast_as_of,
        actions=actions,
        notes=notes,
        redacted=[],
    )
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "setup_seconds": 0.0,
        "peak_rss_mb": peak_rss_mb(),
        "steps": steps,
        "metrics": [[m, s, c, m in kpi_metrics] for m, (s, c) in figures.timings.items()],
        **_summary(review),
    }


def _child_scan(db: Path, provider: str, week: str, timezone: str) -> dict[str, Any]:
    last = monday_of(week)
    first = last - timedelta(weeks=TREND_WEEKS - 1)
    start, cpu_start = time.perf_counter(), cpu()
    con = open_baseline(db)
    con.execute(f"SET TimeZone = '{timezone}'")
    setup = time.perf_counter() - start
    params = {
        "provider": provider,
        "first": first,
        "last": last,
        "start": week_clock(iso_week_name(first), timezone)[0],
        "end": week_clock(week, timezone)[1],
    }
    rows = con.execute(SCAN_SQL, params).fetchall()
    con.close()
    return {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": cpu() - cpu_start,
        "setup_seconds": setup,
        "peak_rss_mb": peak_rss_mb(),
        "weeks": [
            [w.isoformat(), *(None if v is None else float(v) for v in values)]
            for w, *values in rows
        ],
    }


def _child_findings(db: Path, clock: datetime) -> dict[str, Any]:
    from tallyclerk.reconcile import DOMAINS, run_findings
    from tallyclerk.store import open_store

    settings = _settings(db)
    start = time.perf_counter()
    store = open_store(settings)  # the copy's schema brought up to date, as any command does
    try:
        run = run_findings(store, DOMAINS, as_of=clock, record=True, settings=settings)
    finally:
        store.close()
    sync = run.sync
    return {
        "seconds": time.perf_counter() - start,
        "setup_seconds": 0.0,
        "peak_rss_mb": peak_rss_mb(),
        "detail": f"{len(run.detected):,} findings detected, "
        f"{sync.new if sync else 0:,} recorded as new, {len(run.open_findings):,} open",
    }


def _child_evaluate(db: Path, clock: datetime, week: str) -> dict[str, Any]:
    from tallyclerk.sla import evaluate
    from tallyclerk.store import open_store

    settings = _settings(db)
    month = (monday_of(week) + timedelta(days=6)).replace(day=1)
    start = time.perf_counter()
    store = open_store(settings, create=False)
    try:
        report = evaluate(store, month, as_of=clock, record=True, settings=settings)
    finally:
        store.close()
    evaluations = [m for p in report.providers for m in p.evaluation.metrics]
    burn = [b for p in report.providers for b in p.burn]
    return {
        "seconds": time.perf_counter() - start,
        "setup_seconds": 0.0,
        "peak_rss_mb": peak_rss_mb(),
        "detail": f"{month:%Y-%m}, {len(report.providers)} providers: "
        f"{len(evaluations)} metric evaluations, "
        f"{sum(1 for m in evaluations if m.met is False)} breached, "
        f"{len(burn)} burn rates",
    }


def _child_forecast(db: Path, week: str) -> dict[str, Any]:
    from tallyclerk.forecast import forecast_inputs, read_inputs, save_run
    from tallyclerk.store import open_store

    settings = _settings(db)
    sunday = monday_of(week) + timedelta(days=6)
    start = time.perf_counter()
    store = open_store(settings, create=False)
    try:
        inputs = read_inputs(store, as_of=sunday, settings=settings)
        read = time.perf_counter() - start
        run = forecast_inputs(inputs)
        with store.begin() as connection:
            run_id = save_run(connection, run, created_by="benchmark")
    finally:
        store.close()
    return {
        "seconds": time.perf_counter() - start,
        "setup_seconds": read,
        "peak_rss_mb": peak_rss_mb(),
        "detail": f"history to {sunday}, {run.horizon} days ahead, {len(run.series)} series, "
        f"kept as run {run_id} (setup: reading the histories)",
    }


def _child_warmup() -> dict[str, Any]:
    """Import what the children will, so that bytecode is cached before any is measured."""
    for modules in _PRELOAD.values():
        preload(*modules)
    return {}


def _child(args: argparse.Namespace) -> dict[str, Any]:
    if args.child == "warmup":
        return _child_warmup()
    clock = datetime.fromisoformat(args.clock)
    if args.child == "cold":
        return _child_cold(args.db, args.provider, args.week, clock)
    preload(*_PRELOAD[args.child])
    if args.child == "scan":
        return _child_scan(args.db, args.provider, args.week, args.timezone)
    if args.child == "review":
        return _child_review(args.db, args.provider, args.week, clock)
    if args.child == "steps":
        return _child_steps(args.db, args.provider, args.week, clock)
    if args.child == "findings":
        return _child_findings(args.db, clock)
    if args.child == "evaluate":
        return _child_evaluate(args.db, clock, args.week)
    return _child_forecast(args.db, args.week)


# --- running children, reporting ---------------------------------------------------------------


def _runner(db: Path, chosen: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
    options = (
        "--db",
        str(db),
        "--provider",
        chosen["provider"],
        "--week",
        chosen["week"],
        "--clock",
        chosen["clock"].isoformat(),
        "--timezone",
        chosen["timezone"],
    )

    def run(mode: str) -> dict[str, Any]:
        began = time.perf_counter()
        result = run_measured_child(__file__, mode, *options, pycache=db.parent / "pycache")
        result["process_seconds"] = time.perf_counter() - began
        return result

    return run


def _copy_store(db: Path, orders: int, seed: int) -> tuple[Path, float]:
    """A copy of the loaded store for this benchmark to prepare (the original stays)."""
    copy = db.parent / f"store-{orders}-{seed}.report.duckdb"
    began = time.perf_counter()
    for leftover in (copy, Path(f"{copy}.wal")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(db, copy)
    if Path(f"{db}.wal").exists():
        shutil.copyfile(Path(f"{db}.wal"), Path(f"{copy}.wal"))
    return copy, time.perf_counter() - began


def _line(orders: int, label: str, result: dict[str, Any], extra: str = "") -> str:
    used = f" CPU {result['cpu_seconds']:7.2f} s" if "cpu_seconds" in result else ""
    return (
        f"{orders:>11,} {label:<24} {result['seconds']:8.2f} s{used} "
        f"{result['peak_rss_mb']:7.0f} MB{extra} {failed_note(result)}"
    )


def _round_extra(result: dict[str, Any]) -> str:
    """(b)'s other timings, as a round prints them."""
    parts = [
        f"{name} {result[key]:.2f} s"
        for name, key in (("again", "again_seconds"), ("html", "html_seconds"))
        if key in result
    ]
    if "pdf_seconds" in result:
        parts.append(f"pdf {result['pdf_seconds']:.2f} s")
    return f" ({', '.join(parts)})" if parts else ""


def _measure(args: argparse.Namespace, timezone: str) -> dict[str, Any]:
    orders = args.orders
    data = _ensure_data(args.work, orders, args.seed)
    base, load = _ensure_store(args.work, data, orders, args.seed)
    chosen = choose_review(base, timezone, args.provider, args.week)
    chosen["timezone"] = timezone
    chosen["clock"] = week_clock(chosen["week"], timezone)[1]
    print(
        f"reviewing {chosen['provider']} in {chosen['week']} ({chosen['chosen_by']}: "
        f"{chosen['week_released']:,} orders released), read at {chosen['clock']:%Y-%m-%d %H:%M}"
        " UTC",
        flush=True,
    )
    db, copy_seconds = _copy_store(base, orders, args.seed)
    print(f"copied the store to {db} in {copy_seconds:.1f} s", flush=True)
    run = _runner(db, chosen)
    load_before = os.getloadavg()[0]
    warm = run("warmup")
    if "error" in warm:
        print(f"warm-up failed (measuring anyway): {warm['error']}", flush=True)
    prepared: dict[str, dict[str, Any]] = {}
    for step in PREPARATION:
        if step == "forecast" and args.no_forecast:
            continue
        prepared[step] = run(step)
        print(_line(orders, f"prepare {step}", prepared[step]), flush=True)
        if "error" in prepared[step]:
            print(f"  preparing failed (measuring anyway): {prepared[step]['error']}")
    cold = run("cold")
    print(_line(orders, "cold", cold, f" (imports {cold['setup_seconds']:.2f} s)"), flush=True)
    every: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}

    def measured(mode: str) -> dict[str, Any]:
        result = run(mode)
        every[mode].append(result)
        return result

    best = best_of(
        args.rounds,
        MODES,
        measured,
        lambda round_no, mode, result: _line(
            orders, f"round {round_no} {mode}", result, _round_extra(result)
        ),
    )
    digests = {
        "cold": cold.get("digest"),
        "again": best["review"].get("again_digest"),
        "steps": best["steps"].get("digest"),
    }
    reference = best["review"].get("digest")
    checks = {
        name: "not compared (a run failed)"
        if reference is None or digest is None
        else ("the same review" if digest == reference else "a DIFFERENT review")
        for name, digest in digests.items()
    }
    for name, check in checks.items():
        print(f"{orders:>11,} {name} vs (b): {check}", flush=True)
    return {
        "orders": orders,
        "load": load,
        "chosen": chosen,
        "copy_seconds": copy_seconds,
        "prepared": prepared,
        "cold": cold,
        "best": best,
        "every": every,
        "checks": checks,
        "loadavg": (load_before, os.getloadavg()[0]),
    }


def _least(results: list[dict[str, Any]], key: str) -> float | None:
    """The best (least) of a figure over the rounds that ran."""
    values = [r[key] for r in results if "error" not in r and r.get(key) is not None]
    return min(values) if values else None


def _s(value: float | None) -> str:
    return "failed" if value is None else f"{value:,.2f}"


def _mb(value: float | None) -> str:
    return "" if value is None or value != value else f"{value:,.0f} MB"  # NaN: a failed run


def _money(amount: str | None) -> str:
    return "none" if amount is None else f"{Decimal(amount):,.2f}"


def _times(a: float | None, b: float | None) -> str:
    return "" if a is None or b is None or not b else f"{a / b:.1f}x"


def _section(result: dict[str, Any], rounds: int, no_forecast: bool) -> str:
    chosen, best, every = result["chosen"], result["best"], result["every"]
    review, steps, scan, cold = best["review"], best["steps"], best["scan"], result["cold"]
    orders = orders_label(result["orders"])
    provider, week = chosen["provider"], chosen["week"]
    released = ", ".join(f"{p} {n:,}" for p, n in chosen["orders_released"].items())
    lines = [
        f"## Report: the weekly review of one 3PL over {orders} orders, on DuckDB",
        "",
        "Measured with `benchmarks/report.py` on the store of `benchmarks/evaluate.py` (a",
        "simulated brand's year, two 3PLs, three facilities, loaded through `tallyclerk",
        "ingest`), copied and prepared as a user would before the weekly meeting: findings",
        "recorded (`run_findings`, every domain), the month holding the week evaluated and",
        "recorded (`sla.evaluate`, burn rates included) and",
        "no forecast (`--no-forecast`: the review notes that it has none)."
        if no_forecast
        else "a forecast run kept (histories up to the week's Sunday).",
        "Each preparation step ran once in its own process; they are not part of the review.",
        "Then, each in a fresh process: (a) `build_review` in a process that had imported",
        "nothing (imports, first Ibis compile and build: the first review of a command); (b)",
        "`build_review` with the imports done before the clock, then (b') a second build in the",
        "same process (a running server's case), then `render_html` and `render_pdf`; (c) the",
        "steps of `build_review` run one by one through the gather functions it calls, each",
        "timed; (d) the baseline: one hand-written DuckDB query of the provider's raw weekly",
        "counts over the review's twelve weeks (orders released, shipments, orders and units",
        "shipped, shipping cost, deliveries, returns and returned units, receipts, feedback and",
        "its score, audits and passes: a plain GROUP BY per table), the floor of merely reading",
        "what the review reads. Seconds run from opening the store to the review (or the",
        f"counts) in hand. (b), (c) and (d) alternated over {rounds} round(s); each figure is",
        "the best of its rounds. Peak memory is the process's ru_maxrss, DuckDB's buffers",
        "included.",
        "",
        *stamp(),
        "- Software: "
        + versions("duckdb", "ibis-framework", "pyarrow", "weasyprint", "matplotlib", "tallyclerk"),
        f"- Review: `{provider}` (orders released: {released}), {week} ({chosen['chosen_by']}; "
        f"peak windows {', '.join(chosen['peak_windows']) or 'none'}; "
        f"{chosen['week_released']:,} orders released to it that week), brand copy, read at "
        f"{chosen['clock']:%Y-%m-%d %H:%M} UTC (the week's end in {chosen['timezone']})",
        "",
        store_line(result["load"])
        + f". Copied for this benchmark in {result['copy_seconds']:,.1f} s.",
        "",
        load_line(result["loadavg"]),
        "",
        "Preparing the store (once each, not the review):",
        "",
        "| step | seconds | peak memory | what it kept |",
        "|---|---:|---:|---|",
    ]
    for step in PREPARATION:
        r = result["prepared"].get(step)
        if r is None:
            lines.append(f"| {LABELS[step]} | skipped | | `--no-forecast` |")
            continue
        detail = f"FAILED: {r['error']}" if "error" in r else r.get("detail", "")
        lines.append(
            f"| {LABELS[step]} | {_s(None if 'error' in r else r['seconds'])} | "
            f"{_mb(r['peak_rss_mb'])} | {detail} |"
        )
    wall = {
        "cold": None if "error" in cold else cold["seconds"],
        "review": _least(every["review"], "seconds"),
        "again": _least(every["review"], "again_seconds"),
        "html": _least(every["review"], "html_seconds"),
        "pdf": _least(every["review"], "pdf_seconds"),
        "steps": _least(every["steps"], "seconds"),
        "scan": _least(every["scan"], "seconds"),
    }
    cpu_time = {
        "cold": None if "error" in cold else cold.get("cpu_seconds"),
        "review": _least(every["review"], "cpu_seconds"),
        "again": _least(every["review"], "again_cpu_seconds"),
        "html": _least(every["review"], "html_cpu_seconds"),
        "pdf": _least(every["review"], "pdf_cpu_seconds"),
        "steps": _least(every["steps"], "cpu_seconds"),
        "scan": _least(every["scan"], "cpu_seconds"),
    }
    memory = {
        "cold": cold["peak_rss_mb"],
        "review": review.get("build_rss_mb"),
        "again": review.get("again_rss_mb"),
        "pdf": review["peak_rss_mb"],
        "steps": steps["peak_rss_mb"],
        "scan": scan["peak_rss_mb"],
    }

    def row(label: str, key: str, versus: bool = True) -> str:
        return f"| {label} | {_s(wall[key])} | {_s(cpu_time[key])} | {_mb(memory.get(key))} | " + (
            f"{_times(wall[key], wall['scan'])} | {_times(cpu_time[key], cpu_time['scan'])} |"
            if versus
            else " | |"
        )

    lines += [
        "",
        "The review (seconds: wall clock; CPU: every thread of the process, user and system,",
        "the steadier figure on a shared machine):",
        "",
        "| run | seconds | CPU seconds | peak memory | vs (d) | vs (d), CPU |",
        "|---|---:|---:|---:|---:|---:|",
        row(LABELS["cold"], "cold"),
        f"| &nbsp;&nbsp;of which imports | {_s(cold.get('setup_seconds'))} | | | | |",
        f"| &nbsp;&nbsp;the whole process, interpreter start to exit | "
        f"{_s(cold.get('process_seconds'))} | | | | |",
        row(LABELS["review"], "review"),
        row(LABELS["again"], "again"),
        row(LABELS["html"], "html", versus=False),
        row(LABELS["pdf"], "pdf", versus=False),
        row(LABELS["steps"], "steps"),
        row(LABELS["scan"], "scan"),
        "",
    ]
    b_d, b_d_cpu = (
        _times(wall["review"], wall["scan"]),
        _times(cpu_time["review"], cpu_time["scan"]),
    )
    lines.append(
        "- (b)/(d), the review over merely reading its data: "
        + (f"{b_d} in wall time, {b_d_cpu} in CPU time" if b_d else "not measured (a run failed)")
        + (
            f"; (b')/(d): {_times(wall['again'], wall['scan'])} and "
            f"{_times(cpu_time['again'], cpu_time['scan'])}"
            if wall["again"] is not None
            else ""
        )
        + "."
    )
    if "error" not in review:
        pages = review.get("pdf_pages")
        lines.append(
            f"- The PDF: {pages if pages is not None else '?'} A4 pages, "
            f"{review['pdf_kb']:,.0f} KB; the standalone HTML {review['html_kb']:,.0f} KB."
        )
        lines.append(
            f"- The review holds {review['kpis']} contracted KPIs ({review['kpis_with_data']} "
            f"with data in the week, {review['breached_in_week']} below target), "
            f"breaches in the month: {review['month_breaches']}, credits accrued: "
            f"{_money(review['credits'])}, disputes open: {review['disputes']}, "
            f"{review['finding_kinds']} kinds of findings ({review['findings_open']:,} open at "
            f"the week's end), {review['forecast_weeks']} forecast weeks."
        )
        if review["notes"]:
            lines.append("- Its notes: " + "; ".join(review["notes"]) + ".")
    spread = [
        f"{label} {', '.join(_s(r.get(key)) for r in every[mode])} "
        f"(CPU {', '.join(_s(r.get(cpu_key)) for r in every[mode])})"
        for label, mode, key, cpu_key in (
            ("(b)", "review", "seconds", "cpu_seconds"),
            ("(b')", "review", "again_seconds", "again_cpu_seconds"),
            ("(c)", "steps", "seconds", "cpu_seconds"),
            ("(d)", "scan", "seconds", "cpu_seconds"),
        )
    ]
    lines.append(f"- Every round, in seconds: {'; '.join(spread)}.")
    checks = result["checks"]
    lines.append(
        f"- Same content as (b): (a) cold gives {checks['cold']}, (b') {checks['again']}, "
        f"(c) the steps {checks['steps']}."
    )
    for label, r in (("(a)", cold), ("(b)", review), ("(c)", steps), ("(d)", scan)):
        if "error" in r:
            lines.append(f"- FAILED: {label}: {r['error']} (at {r.get('where', '?')})")
    if steps.get("steps"):
        total = sum(c for _, _, c in steps["steps"]) or 1.0
        lines += [
            "",
            "Where (c)'s time goes (its round with the least wall time, in build_review's",
            "order; shares of its CPU time):",
            "",
            "| step | seconds | CPU seconds | share |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| {label} | {seconds:,.2f} | {cpu_seconds:,.2f} | {cpu_seconds / total:.0%} |"
            for label, seconds, cpu_seconds in steps["steps"]
        ]
        if steps.get("metrics"):
            lines += [
                "",
                "Each KPI's one query over the twelve weeks, inside the steps above (contracted:"
                " in kpi_lines; the others: in experience_lines):",
                "",
                "| metric | seconds | CPU seconds | share of (c) | contracted |",
                "|---|---:|---:|---:|---|",
            ]
            lines += [
                f"| `{name}` | {seconds:,.2f} | {cpu_seconds:,.2f} | {cpu_seconds / total:.0%} "
                f"| {'yes' if contracted else 'no'} |"
                for name, seconds, cpu_seconds, contracted in steps["metrics"]
            ]
    if "weeks" in scan:
        week_row = next((w for w in scan["weeks"] if w[0] == monday_of(week).isoformat()), None)
        if week_row is not None:
            figures = ", ".join(
                f"{name} {value:,.2f}"
                if name in ("shipping_cost", "feedback_score") and value is not None
                else f"{name} {value or 0:,.0f}"
                for name, value in zip(SCAN_COLUMNS, week_row[1:], strict=True)
            )
            lines += ["", f"(d)'s counts for {week}: {figures}."]
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = command_line(__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders simulated")
    parser.add_argument("--seed", type=int, default=7, help="the simulation's seed")
    parser.add_argument(
        "--dir",
        "--work",
        dest="work",
        metavar="DIR",
        type=Path,
        default=Path("/tmp/tallyclerk-bench"),
        help="work dir holding the simulated data and the stores (shared with evaluate.py)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds of (b)-(d)")
    parser.add_argument("--provider", help="the 3PL to review (default: the most orders)")
    parser.add_argument("--week", help="the ISO week, e.g. 2026-W48 (default: the busiest peak)")
    parser.add_argument(
        "--no-forecast", action="store_true", help="prepare no forecast run (noted in the report)"
    )
    parser.add_argument("--out", type=Path, default=REPORT, help="the report file to write")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch the docs")
    parser.add_argument(
        "--child", choices=["warmup", "cold", *MODES, *PREPARATION], help=argparse.SUPPRESS
    )
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--clock", help=argparse.SUPPRESS)
    parser.add_argument("--timezone", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(_child(args), default=str))
        return
    if args.week is not None:
        try:
            monday_of(args.week)
        except ValueError:
            parser.error(f"--week {args.week!r}: write an ISO week like 2026-W48")

    from tallyclerk.settings import Settings

    timezone = Settings().brand.timezone
    args.work.mkdir(parents=True, exist_ok=True)
    result = _measure(args, timezone)
    body = _section(result, args.rounds, args.no_forecast)
    publish(SECTION, body, args.out, write=not args.no_write)
    if not args.no_write:
        print(f"\nWritten to the {SECTION} section of {args.out}.", flush=True)


if __name__ == "__main__":
    main()
