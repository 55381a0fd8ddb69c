"""Charts of a forecast run (matplotlib, no display needed): history, P50/P90 band, capacity.

One panel per provider: the last weeks of daily orders released to it, the forecast's P50 line
and P50-P90 band, the committed capacity per business day as a step line, and the flagged weeks
shaded. Written as PNG or SVG.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: files only, never a window

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes

from tallyclerk.errors import InputError
from tallyclerk.forecast._service import ForecastRun
from tallyclerk.forecast._types import SeriesKey

HISTORY_SHOWN_DAYS = 120


def plot_run(run: ForecastRun, path: Path, provider_ids: list[str] | None = None) -> Path:
    """Draw each provider's orders forecast against its capacity into a PNG or SVG file."""
    if path.suffix.lower() not in (".png", ".svg"):
        raise InputError(f"--plot {path}: give a file ending in .png or .svg")
    wanted = provider_ids or run.provider_ids
    panels = [p for p in wanted if run.find(p, None, "orders") is not None]
    if not panels:
        raise InputError("nothing to plot: the run holds no provider forecast")
    figure, axes = plt.subplots(
        len(panels), 1, figsize=(11, 3.6 * len(panels)), squeeze=False, layout="constrained"
    )
    for axis, provider_id in zip(axes[:, 0], panels, strict=True):
        _panel(axis, run, provider_id)
    figure.suptitle(
        f"Orders per day: history to {run.as_of}, forecast for {run.horizon} days", fontsize=12
    )
    try:
        figure.savefig(path, dpi=120)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(figure)
    return path


def _x(days: list[date]) -> npt.NDArray[np.datetime64]:
    """Days as numpy dates, which matplotlib places on a date axis."""
    return np.array(days, dtype="datetime64[D]")


def _panel(axis: Axes, run: ForecastRun, provider_id: str) -> None:
    forecast = run.find(provider_id, None, "orders")
    assert forecast is not None
    history = run.histories.get(SeriesKey(provider_id, None, "orders"))
    if history is not None:
        shown = max(0, len(history) - HISTORY_SHOWN_DAYS)
        axis.plot(
            _x(history.days()[shown:]),
            history.values[shown:],
            color="#5f6b7a",
            linewidth=1,
            label="orders released",
        )
    days = _x(forecast.days())
    axis.fill_between(
        days, forecast.p50, forecast.p90, color="#4c8bf5", alpha=0.25, label="P50-P90"
    )
    axis.plot(days, forecast.p50, color="#1a56c4", linewidth=1.5, label="forecast P50")
    report = run.capacity.get(provider_id)
    if report is not None and report.weeks:
        steps_x: list[date] = []
        steps_y: list[float] = []
        for week in report.weeks:
            if week.capacity_per_day is None:
                continue
            steps_x += [week.start, week.start + timedelta(days=7)]
            steps_y += [week.capacity_per_day, week.capacity_per_day]
        if steps_x:
            axis.plot(_x(steps_x), steps_y, color="#c0392b", linewidth=1.5, label="capacity / day")
        for week in report.flagged_weeks:
            low, high = mdates.date2num([week.start, week.start + timedelta(days=7)])  # type: ignore[no-untyped-call]
            axis.axvspan(float(low), float(high), color="#e74c3c", alpha=0.12, lw=0)
    axis.set_title(f"{provider_id}: {forecast.model} ({forecast.method})", loc="left", fontsize=10)
    axis.xaxis.set_major_locator(mdates.MonthLocator())  # type: ignore[no-untyped-call]
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))  # type: ignore[no-untyped-call]
    axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", fontsize=8, ncols=4)


__all__ = ["plot_run"]
