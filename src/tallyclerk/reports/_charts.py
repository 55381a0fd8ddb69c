"""Charts of the weekly review as inline SVG, drawn by matplotlib without a browser or display.

Each chart is a small multiple sized for an A4 page: a KPI's 12-week trend against its target,
and the six weeks ahead (forecast P50 and P90 against committed capacity). The SVG keeps its
text as text (`svg.fonttype` none), so it stays sharp and searchable in the PDF, and is
deterministic: a fixed hash salt per chart, no date in its metadata, and every id prefixed with
the chart's own name so that several charts can sit in one HTML document.

matplotlib is imported when a chart is first drawn, and drawing holds a lock: its settings are
process-wide and the server renders reviews on several threads.
"""

from __future__ import annotations

import io
import itertools
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from typing import TYPE_CHECKING, Any

from tallyclerk.reports._model import ForecastWeekLine, KpiLine, TrendPoint

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

INK = "#1f2933"
MUTED = "#6b7785"
GRID = "#e3e7ec"
VALUE = "#1f4e79"
TARGET = "#7a8591"
BREACHED = "#c0392b"
P90 = "#b9cde4"
P90_OVER = "#e9b3ab"
CAPACITY = "#1f2933"

KPI_SIZE = (3.4, 1.45)  # inches: two side by side across an A4 page's text width
FORECAST_SIZE = (6.9, 2.3)  # inches: the text width of an A4 page

_LOCK = threading.Lock()
_ID = re.compile(r'\bid="([^"]+)"')


def _style() -> dict[RcKeyType, Any]:
    return {
        "svg.fonttype": "none",
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"],
        "font.size": 7.0,
        "axes.edgecolor": MUTED,
        "axes.labelcolor": INK,
        "axes.linewidth": 0.6,
        "xtick.color": MUTED,
        "ytick.color": MUTED,
        "xtick.labelcolor": INK,
        "ytick.labelcolor": INK,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "xtick.major.size": 2.5,
        "ytick.major.size": 2.5,
        "legend.fontsize": 6.5,
        "legend.frameon": False,
    }


@contextmanager
def _drawing(salt: str) -> Iterator[type[Figure]]:
    """matplotlib's settings for one chart, with the lock held; yields the Figure class."""
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: no backend, no window, no global figure

    with _LOCK, matplotlib.rc_context({**_style(), "svg.hashsalt": salt}):
        yield Figure


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


def _svg(figure: Figure, prefix: str, label: str) -> str:
    """The figure as an `<svg>` element for inline use: no XML prolog, no metadata, ids
    prefixed, labelled for screen readers."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    # Its <style> would apply to the whole HTML page: the same strokes as inherited attributes.
    text = re.sub(r"\s*<style[^>]*>.*?</style>", "", text, flags=re.DOTALL)
    text = re.sub(r"\s*<defs>\s*</defs>", "", text)
    ids = set(_ID.findall(text))
    text = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', text)
    for ident in sorted(ids, key=len, reverse=True):
        text = text.replace(f'href="#{ident}"', f'href="#{prefix}-{ident}"')
        text = text.replace(f"url(#{ident})", f"url(#{prefix}-{ident})")
    attributes = (
        f'<svg class="review-chart-svg" role="img" aria-label="{escape(label)}" '
        'stroke-linejoin="round" stroke-linecap="butt" '
    )
    return attributes + text[len("<svg ") :].rstrip() + "\n"


def _breached(point: TrendPoint, lower_is_better: bool) -> bool:
    if point.value is None or point.target is None:
        return False
    return point.value > point.target if lower_is_better else point.value < point.target


def _short_week(name: str) -> str:
    """2026-W47 -> W47."""
    return name.rpartition("-")[2] or name


def _value_axis(axis: Axes, unit: str) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

    axis.yaxis.set_major_locator(MaxNLocator(nbins=4))
    if unit == "rate":
        # As many decimals as the ticks' spacing needs: 96%, 97.5%, 99.85%.
        bottom, top = axis.get_ylim()
        ticks = list(axis.yaxis.get_major_locator().tick_values(bottom, top))
        step = min((b - a for a, b in itertools.pairwise(ticks)), default=0.01)
        decimals = next((d for d in range(4) if abs(round(step * 100, d) - step * 100) < 1e-9), 3)
        axis.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=decimals))
    elif unit == "hours":
        axis.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g} h"))
    else:
        axis.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def _limits(unit: str, values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    span = max(high - low, 0.01 if unit == "rate" else 1.0)
    pad = span * 0.18
    bottom, top = low - pad, high + pad
    if unit == "rate":
        bottom = max(bottom, 0.0)
        top = min(top, 1.0) if high <= 1.0 else top
    else:
        bottom = max(bottom, 0.0)
    if top <= bottom:
        top = bottom + span
    return bottom, top


def _frame(axis: Axes) -> None:
    for side in ("top", "right"):
        axis.spines[side].set_visible(False)
    axis.grid(axis="y", color=GRID, linewidth=0.6)
    axis.set_axisbelow(True)


def kpi_trend_svg(line: KpiLine) -> str:
    """The KPI's last 12 weeks against its target as an inline `<svg>`: the weekly values as a
    line, the target in force each week as a dashed step (a peak variant shows as a step),
    weeks that missed the target marked in red, weeks without data left as gaps."""
    points = line.trend
    label = f"{line.metric}: weekly values against target, {len(points)} weeks"
    with _drawing(f"tallyclerk-kpi-{line.metric}") as figure_class:
        figure = figure_class(figsize=KPI_SIZE, layout="constrained")
        axis = figure.add_subplot()
        _frame(axis)
        xs = list(range(len(points)))
        values = [float("nan") if p.value is None else p.value for p in points]
        targets = [float("nan") if p.target is None else p.target for p in points]
        known = [p.value for p in points if p.value is not None]
        known += [p.target for p in points if p.target is not None]
        if points and any(p.target is not None for p in points):
            # Each week's target across the whole week, so a peak variant shows as a step.
            axis.stairs(
                targets,
                [x - 0.5 for x in range(len(points) + 1)],
                baseline=None,
                color=TARGET,
                linewidth=0.9,
                linestyle=(0, (3, 2)),
                label="target",
            )
        if points:
            axis.plot(
                xs,
                values,
                color=VALUE,
                linewidth=1.2,
                marker="o",
                markersize=2.6,
                label="week",
                clip_on=False,
            )
        missed = [i for i, p in enumerate(points) if _breached(p, line.lower_is_better)]
        if missed:
            axis.plot(
                missed,
                [values[i] for i in missed],
                linestyle="none",
                marker="o",
                markersize=4.6,
                markerfacecolor=BREACHED,
                markeredgecolor="white",
                markeredgewidth=0.6,
                label="missed",
                clip_on=False,
            )
        if any(p.value is not None for p in points):
            axis.set_ylim(*_limits(line.unit, known))
        else:
            if known:
                axis.set_ylim(*_limits(line.unit, known))
            axis.tick_params(axis="y", labelleft=False, length=0)
            axis.text(
                0.5,
                0.5,
                "no data in these weeks",
                transform=axis.transAxes,
                ha="center",
                va="center",
                color=MUTED,
            )
        _value_axis(axis, line.unit)
        axis.set_xlim(-0.5, max(len(points) - 0.5, 0.5))
        # Every other week named, counting back from the review's week.
        last = len(points) - 1
        names = [_short_week(p.week) if (last - i) % 2 == 0 else "" for i, p in enumerate(points)]
        axis.set_xticks(xs, names)
        axis.tick_params(axis="x", length=0)
        try:
            return _svg(figure, f"kpi-{_slug(line.metric)}", label)
        finally:
            figure.clear()


def forecast_svg(lines: list[ForecastWeekLine]) -> str:
    """The weeks ahead as an inline `<svg>`: each week's P90 orders as a pale bar (red where it
    exceeds capacity), its P50 as a narrower dark bar inside it, and the committed capacity as a
    black tick across the week."""
    label = f"Orders forecast for the next {len(lines)} weeks, P50 and P90 against capacity"
    with _drawing("tallyclerk-forecast") as figure_class:
        figure = figure_class(figsize=FORECAST_SIZE, layout="constrained")
        axis = figure.add_subplot()
        _frame(axis)
        xs = list(range(len(lines)))
        over = [w.gap > 0 for w in lines]
        axis.bar(
            xs,
            [w.p90 for w in lines],
            width=0.62,
            color=[P90_OVER if o else P90 for o in over],
            label="P90",
        )
        axis.bar(xs, [w.p50 for w in lines], width=0.3, color=VALUE, label="P50")
        capacity = [(i, w.capacity) for i, w in enumerate(lines) if w.capacity is not None]
        if capacity:
            axis.hlines(
                [c for _, c in capacity],
                [i - 0.42 for i, _ in capacity],
                [i + 0.42 for i, _ in capacity],
                colors=CAPACITY,
                linewidth=1.6,
                label="capacity",
            )
        top = max([w.p90 for w in lines] + [c for _, c in capacity] + [1.0])
        for i, week in enumerate(lines):
            if week.gap > 0:
                axis.annotate(
                    f"+{week.gap:,.0f}",
                    (i, week.p90),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    color=BREACHED,
                    fontsize=6.5,
                )
        axis.set_ylim(0, top * 1.15)
        _value_axis(axis, "orders")
        axis.set_xticks(xs, [f"{_short_week(w.week)}\n{w.start:%d %b}" for w in lines])
        axis.tick_params(axis="x", length=0)
        axis.set_xlim(-0.6, max(len(lines) - 0.4, 0.6))
        axis.set_ylabel("orders per week")
        axis.legend(loc="lower left", ncols=3, bbox_to_anchor=(0.0, 1.0), borderaxespad=0.2)
        try:
            return _svg(figure, "forecast", label)
        finally:
            figure.clear()


__all__ = ["forecast_svg", "kpi_trend_svg"]
