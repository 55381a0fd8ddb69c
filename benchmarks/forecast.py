"""Forecast benchmarks: accuracy on real orders, and the time to forecast many series.

`--olist` (section `forecast-accuracy`): the daily order counts of the public Olist
e-commerce sample (10,000 delivered orders of a Brazilian marketplace, the purchase time's
date), from 2017-02-01 to 2018-08-22: the 2016 test orders and the January 2017 launch ramp
(about three orders a day) are left out at the start, and the last week of August 2018 at the
end, where the sample thins out (orders placed then were mostly not yet delivered when it was
drawn). The backtest is the forecast's own rolling-origin cross-validation: 4 windows of 28
days at the end of that range, every candidate and the seasonal naive baseline, MASE and
sMAPE, with Brazil's public holidays (`--country`). As a reference, MSTL(7) (weekly STL and
an ETS trend, not a candidate) runs on the same windows. The samples are read from
$TALLYCLERK_SAMPLES, else ../shared/samples beside the checkout.

Default (section `forecast`): `--series` synthetic series (1,000) of `--days` days (730),
each the simulator's day weights (weekly and monthly shape, Black Friday and Cyber Monday,
the Christmas shipping cutoff) raised to a random power (a flatter or sharper year and peak),
with a random weekday tilt, level (5 to 2,000 orders a day) and growth (-20% to +50% a year),
drawn from a Poisson law with a fixed seed. Histories end on September 30, so the 90-day
horizon holds the peak. Each run is a fresh process that builds the series and warms
statsforecast up (JIT compilation) before the timed work:

- (a) `forecast_many(series, 90)`: cross-validation of every candidate, choice, final fit;
- (b) baseline: the seasonal naive alone, one StatsForecast call, no cross-validation;
- (c) baseline: AutoETS(7) alone, one fit per series, no cross-validation.

Each run also scores its forecast against the true mean of the simulated demand (P50 error,
relative to the mean) and against the drawn demand (how often it stays at or below P90).
Results replace the section unless `--no-write` is given.

    uv run python benchmarks/forecast.py --olist
    uv run python benchmarks/forecast.py --series 1000 --days 730
    uv run python benchmarks/forecast.py --series 50 --no-write
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from _report import REPORT, ROOT, command_line, peak_rss_mb, publish, run_child, stamp, versions

OLIST = Path("ecommerce_datasets/olist/sample_10000_delivered_orders/olist_orders_dataset.csv")
OLIST_FIRST = date(2017, 2, 1)
OLIST_LAST = date(2018, 8, 22)
OLIST_WINDOWS = 4
OLIST_HORIZON = 28
HISTORY_END = date(2025, 9, 30)
HORIZON = 90
MODES = ("many", "naive", "ets")
SOFTWARE = ("tallyclerk", "statsforecast", "numpy", "pandas")


def samples_dir() -> Path:
    """$TALLYCLERK_SAMPLES, else the samples beside the checkout (../shared/samples)."""
    named = os.environ.get("TALLYCLERK_SAMPLES")
    return Path(named) if named else ROOT.parent / "shared" / "samples"


# --- accuracy on the Olist orders -----------------------------------------------------------


def olist_counts(path: Path) -> dict[date, int]:
    """Orders per purchase date (the timestamps are the marketplace's local time)."""
    counts: Counter[date] = Counter()
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            stamp_text = (row.get("order_purchase_timestamp") or "").strip()
            if stamp_text:
                counts[datetime.fromisoformat(stamp_text).date()] += 1
    return dict(counts)


def _mstl7_reference(values: np.ndarray) -> tuple[float | None, float | None]:
    """MSTL(7) on the same windows, the same way as the candidates (log1p, refit=False)."""
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL

    from tallyclerk.forecast._models import _quiet, mase, naive_scale, smape

    n = values.shape[0]
    frame = pd.DataFrame(
        {
            "unique_id": "olist",
            "ds": pd.date_range(OLIST_FIRST, periods=n, freq="D"),
            "y": np.log1p(values),
        }
    )
    with _quiet():
        out = StatsForecast(models=[MSTL(season_length=[7], alias="m")], freq="D").cross_validation(
            h=OLIST_HORIZON,
            df=frame,
            n_windows=OLIST_WINDOWS,
            step_size=OLIST_HORIZON,
            refit=False,
        )
    out = out.sort_values(["cutoff", "ds"])
    forecast = np.clip(np.expm1(out["m"].to_numpy(dtype=np.float64)), 0.0, None)
    test = OLIST_WINDOWS * OLIST_HORIZON
    actual = values[n - test :]
    return mase(actual, forecast, naive_scale(values[: n - test])), smape(actual, forecast)


def olist_accuracy(country: str | None) -> str:
    """Backtest on the Olist orders; the report section."""
    from tallyclerk.forecast._features import thanksgiving
    from tallyclerk.forecast._models import AUTO_ETS, SEASONAL_NAIVE, forecast_series
    from tallyclerk.forecast._types import DailySeries, SeriesKey

    path = samples_dir() / OLIST
    if not path.exists():
        raise SystemExit(
            f"The Olist sample is not there: {path}\n"
            "Set TALLYCLERK_SAMPLES to the folder holding ecommerce_datasets/, or put the "
            "samples in ../shared/samples beside the checkout. Nothing was written."
        )
    counts = olist_counts(path)
    days = (OLIST_LAST - OLIST_FIRST).days + 1
    values = np.array(
        [counts.get(OLIST_FIRST + timedelta(days=i), 0) for i in range(days)], dtype=np.float64
    )
    left_out = sum(c for d, c in counts.items() if not OLIST_FIRST <= d <= OLIST_LAST)
    history = DailySeries(SeriesKey(None, None, "orders"), OLIST_FIRST, values)
    started = time.perf_counter()
    result = forecast_series(history, OLIST_HORIZON, country=country, cv_windows=OLIST_WINDOWS)
    seconds = time.perf_counter() - started
    reference = _mstl7_reference(values)

    test_days = OLIST_WINDOWS * OLIST_HORIZON
    first_test = OLIST_LAST - timedelta(days=test_days - 1)
    test_mean = float(np.mean(values[-test_days:]))
    lines = [
        "## Forecast accuracy: the Olist orders, rolling origin",
        "",
        "Measured with `benchmarks/forecast.py --olist`: the daily order counts of the public",
        f"Olist sample ({sum(counts.values()):,} delivered orders, purchase dates "
        f"{min(counts)} to {max(counts)}),",
        f"used from {OLIST_FIRST} to {OLIST_LAST} ({days} days, {int(values.sum()):,} orders; "
        f"{left_out} orders",
        "outside: the 2016 test orders and the January 2017 launch ramp at the start, the",
        "last days of August 2018 at the end, where the delivered-orders sample thins out).",
        f"The backtest is the forecast's own cross-validation: {OLIST_WINDOWS} windows of "
        f"{OLIST_HORIZON} days,",
        f"{first_test} to {OLIST_LAST} ({test_mean:.1f} orders a day on average), each "
        "forecast from the days before it;",
        "MASE is scaled by the in-sample error of the weekly seasonal naive forecast on the",
        f"{days - test_days} days before the first window. Public holidays: {country or 'none'}.",
        "",
        *stamp(),
        f"- Software: {versions(*SOFTWARE)}",
        f"- Time: {seconds:.1f} s (cross-validation, choice, final fit; with statsforecast's JIT",
        "  compilation, as the first forecast of the process)",
        "",
        "| model | MASE | sMAPE | |",
        "|---|---:|---:|---|",
    ]
    for score in result.scores:
        tags = []
        if score.model == result.model:
            tags.append("chosen")
        if score.model == SEASONAL_NAIVE:
            tags.append("baseline")
        lines.append(
            f"| {score.model} | {_num(score.mase, 3)} | {_num(score.smape, 1)} | "
            f"{', '.join(tags)} |"
        )
    lines.append(
        f"| MSTL(7) | {_num(reference[0], 3)} | {_num(reference[1], 1)} | reference, "
        "not a candidate |"
    )
    lines += [""]
    if result.notes:
        lines += ["Notes of the forecast:", ""] + [f"- {note}" for note in result.notes] + [""]
    black_friday = thanksgiving(2017) + timedelta(days=1)
    around = [counts.get(black_friday + timedelta(days=k), 0) for k in range(-14, 15) if k]
    by_model = {score.model: score.mase for score in result.scores}
    ets = by_model.get(AUTO_ETS)
    verdict = (
        "does no better than"
        if ets is not None and reference[0] is not None and reference[0] >= ets
        else "does better than"
    )
    lines += [
        "The history holds one November-December peak (Black Friday 2017: "
        f"{counts.get(black_friday, 0)} orders, against",
        f"{np.mean(around):.0f} a day on average in the four weeks around it), so the holiday "
        "model is a candidate;",
        "it holds less than two years, so MSTL(7,365) is not. No test window holds a peak:",
        "with a single past peak, the peak can be learnt but not backtested. MSTL(7) is not",
        "a candidate: on simulated demand it did about as well as AutoETS(7), no better;",
        f"here it {verdict} AutoETS(7).",
        "",
    ]
    return "\n".join(lines)


def _num(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


# --- time over many series -----------------------------------------------------------------


def synthetic(count: int, days: int, seed: int) -> tuple[date, np.ndarray, np.ndarray]:
    """The start date, the drawn demand (count x (days + HORIZON)) and its true mean."""
    from tallyclerk.simulate._clock import day_index
    from tallyclerk.simulate._demand import day_weight

    start = HISTORY_END - timedelta(days=days - 1)
    total = days + HORIZON
    weights = np.array([day_weight(day_index(start + timedelta(days=i))) for i in range(total)])
    weekdays = np.array([(start + timedelta(days=i)).weekday() for i in range(total)])
    years = np.arange(total) / 365.25
    rng = np.random.default_rng(seed)
    level = np.exp(rng.uniform(np.log(5), np.log(2000), count))
    power = rng.uniform(0.6, 1.3, count)
    tilt = np.exp(rng.normal(0.0, 0.08, (count, 7)))
    growth = rng.uniform(-0.2, 0.5, count)
    mean = (
        level[:, None]
        * weights[None, :] ** power[:, None]
        * tilt[:, weekdays]
        * (1 + growth[:, None]) ** years[None, :]
    )
    return start, rng.poisson(mean).astype(np.float64), mean


def _child(mode: str, count: int, days: int, seed: int) -> dict[str, Any]:
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    from tallyclerk.forecast._models import _quiet, forecast_many
    from tallyclerk.forecast._types import DailySeries, SeriesKey

    start, drawn, mean = synthetic(count, days, seed)
    histories = [
        DailySeries(SeriesKey(f"p{i:04d}", None, "orders"), start, drawn[i, :days])
        for i in range(count)
    ]
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat([f"s{i:05d}" for i in range(count)], days),
            "ds": np.tile(pd.date_range(start, periods=days, freq="D").to_numpy(), count),
            "y": np.log1p(drawn[:, :days]).ravel(),
        }
    )
    warm = time.perf_counter()
    forecast_many(histories[:2], HORIZON)  # JIT compilation, not timed
    warm_seconds = time.perf_counter() - warm
    before = peak_rss_mb()

    chosen: dict[str, int] = {}
    started = time.perf_counter()
    if mode == "many":
        results = forecast_many(histories, HORIZON)
        seconds = time.perf_counter() - started
        p50 = np.stack([r.p50 for r in results])
        p90 = np.stack([r.p90 for r in results])
        chosen = dict(Counter(r.model for r in results).most_common())
    else:
        model = (
            SeasonalNaive(season_length=7, alias="m")
            if mode == "naive"
            else AutoETS(season_length=7, model="AZA", alias="m")
        )
        with _quiet():
            out = StatsForecast(models=[model], freq="D").forecast(h=HORIZON, df=frame, level=[80])
        seconds = time.perf_counter() - started
        out = out.sort_values(["unique_id", "ds"])
        p50 = np.clip(np.expm1(out["m"].to_numpy(dtype=np.float64)), 0, None).reshape(count, -1)
        p90 = np.clip(np.expm1(out["m-hi-80"].to_numpy(dtype=np.float64)), 0, None)
        p90 = np.maximum(p90.reshape(count, -1), p50)
    truth = mean[:, days:]
    actual = drawn[:, days:]
    peak = slice(
        (date(HISTORY_END.year, 11, 1) - HISTORY_END).days - 1,
        (date(HISTORY_END.year, 12, 31) - HISTORY_END).days,
    )
    return {
        "seconds": seconds,
        "warm_seconds": warm_seconds,
        "before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
        "chosen": chosen,
        "error": float(np.mean(np.abs(p50 - truth).mean(axis=1) / truth.mean(axis=1))),
        "peak_error": float(
            np.mean(np.abs(p50 - truth)[:, peak].mean(axis=1) / truth[:, peak].mean(axis=1))
        ),
        "coverage": float(np.mean(actual <= p90)),
        "peak_coverage": float(np.mean(actual[:, peak] <= p90[:, peak])),
    }


def _run_child(mode: str, count: int, days: int, seed: int) -> dict[str, Any]:
    return run_child(
        __file__, mode, "--series", str(count), "--days", str(days), "--seed", str(seed)
    )


LABELS = {
    "many": "(a) forecast_many: cross-validation, choice, final fit",
    "naive": "(b) baseline: SeasonalNaive(7) alone, no cross-validation",
    "ets": "(c) baseline: AutoETS(7) alone, no cross-validation",
}


def speed_report(count: int, days: int, seed: int, runs: dict[str, dict[str, Any]]) -> str:
    """The `forecast` section."""
    start = HISTORY_END - timedelta(days=days - 1)
    many = runs["many"]
    lines = [
        f"## Forecast: {count:,} series of {days} days, horizon {HORIZON}",
        "",
        "Measured with `benchmarks/forecast.py`: synthetic daily orders (the simulator's day",
        "weights raised to a random power, a random weekday tilt, level 5 to 2,000 a day,",
        f"growth -20% to +50% a year, Poisson draws, seed {seed}), {start} to {HISTORY_END}; the",
        f"horizon runs to {HISTORY_END + timedelta(days=HORIZON)} and holds the peak. Each run "
        "is a fresh process that builds",
        "the series and warms statsforecast up first (untimed); peak memory is its ru_maxrss,",
        "*growth* the part above its size before the timed work. *P50 error*: mean absolute",
        "error against the simulation's true mean, relative to that mean, averaged over the",
        "series; *P90 cover*: share of drawn days at or below P90 (0.90 is calibrated).",
        "",
        *stamp(),
        f"- Software: {versions(*SOFTWARE)}",
        f"- JIT warm-up before the timed work: {many['warm_seconds']:.1f} s",
        "",
        "| run | seconds | series / s | peak memory | growth | P50 error | P50 error, "
        "Nov-Dec | P90 cover | P90 cover, Nov-Dec | time vs (b) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = runs["naive"]["seconds"]
    for mode in MODES:
        r = runs[mode]
        lines.append(
            f"| {LABELS[mode]} | {r['seconds']:.1f} | {count / r['seconds']:,.1f} | "
            f"{r['peak_rss_mb']:,.0f} MB | {r['peak_rss_mb'] - r['before_mb']:,.0f} MB | "
            f"{r['error']:.3f} | {r['peak_error']:.3f} | {r['coverage']:.2f} | "
            f"{r['peak_coverage']:.2f} | {r['seconds'] / base:,.0f}x |"
        )
    chosen = ", ".join(f"{name}: {n:,}" for name, n in many["chosen"].items())
    ets = runs["ets"]["seconds"]
    lines += [
        "",
        f"Models chosen by (a): {chosen}. The whole choice costs "
        f"{many['seconds'] / ets:.1f} times one AutoETS(7)",
        "fit per series. With 730 days, no history holds two full years before the test",
        "windows, so MSTL(7,365) is not a candidate here (it is from 814 days on).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = command_line(__doc__)
    parser.add_argument("--olist", action="store_true", help="the accuracy check on Olist")
    parser.add_argument("--country", default="BR", help="public holidays for --olist")
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=20251)
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument("--no-write", action="store_true", help="print, do not touch the docs")
    parser.add_argument("--child", choices=MODES)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(_child(args.child, args.series, args.days, args.seed)))
        return
    if args.olist:
        name, body = "forecast-accuracy", olist_accuracy(args.country or None)
    else:
        runs: dict[str, dict[str, Any]] = {}
        for mode in MODES:
            runs[mode] = _run_child(mode, args.series, args.days, args.seed)
            r = runs[mode]
            print(
                f"{mode:<6} {r['seconds']:8.1f} s  {r['peak_rss_mb']:7.0f} MB  "
                f"P50 error {r['error']:.3f}  P90 cover {r['coverage']:.2f}",
                flush=True,
            )
        name, body = "forecast", speed_report(args.series, args.days, args.seed, runs)
    publish(name, body, args.out, write=not args.no_write)


if __name__ == "__main__":
    main()
