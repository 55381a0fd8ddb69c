"""The weekly review as HTML and PDF.

`render_html` fills the Jinja2 templates of `templates/` (autoescaped: every figure, name and
subject is escaped; only the charts of `_charts.py`, which we draw ourselves, go in as markup).
The standalone document carries its CSS and its charts inline and makes no request, so it works
offline and as an e-mail attachment; the fragment is the same `<article>` for the dashboard,
whose classes all start with `review-`. `render_pdf` lays the standalone document out on A4 with
WeasyPrint, with the review named and the page counted in every footer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup

from tallyclerk.errors import TallyclerkError
from tallyclerk.reports._charts import forecast_svg, kpi_trend_svg
from tallyclerk.reports._model import (
    FindingsLine,
    ForecastWeekLine,
    KpiLine,
    WeeklyReview,
)

NO_DATA = "no data"


# Formats -----------------------------------------------------------------------------------


def fmt_money(amount: Decimal | float | int | str | None, currency: str | None = None) -> str:
    """`USD 1,234.50`; the bare amount without a currency; None (or not a number): no data."""
    if amount is None:
        return NO_DATA
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        return NO_DATA
    if not value.is_finite():
        return NO_DATA
    text = f"{value.quantize(Decimal('0.01')):,.2f}"
    return f"{currency} {text}" if currency else text


def fmt_rate(value: float | None) -> str:
    """A share as a percentage with one decimal: 0.97 -> 97.0%."""
    if value is None or value != value:
        return NO_DATA
    return f"{value * 100:.1f}%"


def fmt_value(value: float | None, unit: str) -> str:
    """A figure in its unit: rates as percentages, hours with one decimal, counts whole."""
    if value is None or value != value:
        return NO_DATA
    if unit == "rate":
        return fmt_rate(value)
    if unit == "hours":
        return f"{value:,.1f} h"
    if unit == "score":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def fmt_target(value: float | None, unit: str, lower_is_better: bool) -> str:
    """`≥ 99.0%` for a floor, `≤ 24.0 h` for a ceiling; no target when none is set."""
    if value is None:
        return "no target"
    return f"{'≤' if lower_is_better else '≥'} {fmt_value(value, unit)}"


def fmt_count(value: int | float | None) -> str:
    """A whole number with thousands separators."""
    if value is None:
        return NO_DATA
    return f"{value:,.0f}"


def fmt_day(value: date | None) -> str:
    """ISO date (2026-11-16); none: no data."""
    return NO_DATA if value is None else value.isoformat()


def fmt_clock(value: datetime | None) -> str:
    """A moment in UTC to the minute: 2026-11-22 23:59 UTC."""
    if value is None:
        return NO_DATA
    moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def metric_label(name: str) -> str:
    """ship_on_time_rate -> ship on time rate."""
    return name.replace("_", " ")


def _unit_of(metric: str, kpis: list[KpiLine]) -> str:
    for line in kpis:
        if line.metric == metric:
            return line.unit
    return "hours" if "hours" in metric else "rate"


def _css_string(text: str) -> Markup:
    """`text` as a quoted CSS string, every character outside a safe set as a CSS escape (so
    it cannot close the string or the `<style>` element)."""
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,:;-()·")
    body = "".join(c if c in safe else f"\\{ord(c):x} " for c in text)
    return Markup(f'"{body}"')


# What the templates are given ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Summary:
    kpis_met: int
    kpis_breached: int
    kpis_no_data: int
    disputes_open: int
    disputes_overdue: int
    findings_open: int
    findings_opened: int
    actions_open: int
    actions_overdue: int


@dataclass(frozen=True, slots=True)
class _Chart:
    line: KpiLine
    svg: Markup


def _summary(review: WeeklyReview, on: date) -> _Summary:
    findings = [*review.findings, *review.invoice_findings]
    open_actions = [a for a in review.actions if a.status in ("open", "in_progress")]
    return _Summary(
        kpis_met=sum(1 for k in review.kpis if k.met is True),
        kpis_breached=sum(1 for k in review.kpis if k.met is False),
        kpis_no_data=sum(1 for k in review.kpis if k.met is None),
        disputes_open=len(review.disputes),
        disputes_overdue=sum(1 for d in review.disputes if d.overdue),
        findings_open=sum(f.open_at_end for f in findings),
        findings_opened=sum(f.opened for f in findings),
        actions_open=len(open_actions),
        actions_overdue=sum(1 for a in open_actions if a.overdue(on)),
    )


def _findings_totals(lines: list[FindingsLine]) -> dict[str, int]:
    return {
        "opened": sum(f.opened for f in lines),
        "resolved": sum(f.resolved for f in lines),
        "open_at_end": sum(f.open_at_end for f in lines),
    }


def _context(review: WeeklyReview, standalone: bool) -> dict[str, Any]:
    on = review.as_of.astimezone(UTC).date() if review.as_of.tzinfo else review.as_of.date()
    forecast: list[ForecastWeekLine] = review.forecast
    return {
        "r": review,
        "standalone": standalone,
        "on": on,
        "summary": _summary(review, on),
        "charts": [_Chart(k, Markup(kpi_trend_svg(k))) for k in review.kpis if k.trend],
        "forecast_chart": Markup(forecast_svg(forecast)) if forecast else None,
        "findings_totals": _findings_totals(review.findings),
        "invoice_totals": _findings_totals(review.invoice_findings),
        "breach_units": {b.metric: _unit_of(b.metric, review.kpis) for b in review.breaches},
        "burn_units": {b.metric: _unit_of(b.metric, review.kpis) for b in review.burn},
        "footer": _css_string(
            f"tallyclerk weekly review · {review.provider_name} · {review.week.name} · "
        ),
    }


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tallyclerk.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        money=fmt_money,
        rate=fmt_rate,
        value=fmt_value,
        target=fmt_target,
        count=fmt_count,
        day=fmt_day,
        clock=fmt_clock,
        metric=metric_label,
    )
    return env


def render_html(review: WeeklyReview, *, standalone: bool = True) -> str:
    """The review as HTML.

    standalone: a whole `<!doctype html>` document with its CSS and charts (SVG) inline and no
    external request, fit to open offline or send by e-mail. Otherwise the
    `<article class="review">` fragment alone, the same markup, for a page with its own CSS.
    """
    env = _environment()
    name = "review_document.html" if standalone else "review_fragment.html"
    return env.get_template(name).render(_context(review, standalone))


class RenderError(TallyclerkError):
    """The PDF could not be laid out."""


_SVG_ONLY = ("fill", "stroke", "text-anchor", "clip-path", "dominant-baseline", "marker")


class _SvgStyleFilter(logging.Filter):
    """Drops WeasyPrint's notes on the charts' SVG properties, which its HTML style pass does
    not know but its SVG renderer applies: a note per chart element would bury real ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        svg_note = (
            isinstance(args, tuple)
            and len(args) == 5
            and args[4] == "unknown property"
            and str(args[0]).lower().startswith(_SVG_ONLY)
        )
        return not svg_note


def _quiet_svg_notes() -> None:
    weasy_log = logging.getLogger("weasyprint")
    if not any(isinstance(f, _SvgStyleFilter) for f in weasy_log.filters):
        weasy_log.addFilter(_SvgStyleFilter())


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the review fetches nothing ({url})")


def render_pdf(review: WeeklyReview) -> bytes:
    """The standalone review laid out by WeasyPrint: A4 portrait, the footer naming the review
    with "page N of M"."""
    try:
        import weasyprint  # type: ignore[import-untyped]
    except OSError as exc:  # the system's Pango is missing: WeasyPrint cannot load it
        raise RenderError(
            "cannot write PDF: WeasyPrint needs the Pango library of the system "
            "(Debian: apt install libpango-1.0-0 libpangoft2-1.0-0); "
            f"HTML works without it ({exc})"
        ) from None

    html = render_html(review, standalone=True)
    _quiet_svg_notes()
    try:
        document = weasyprint.HTML(string=html, url_fetcher=_no_fetch)
        pdf = document.write_pdf()
    except (OSError, ValueError) as exc:
        raise RenderError(f"cannot lay out the review as PDF: {exc}") from None
    if not isinstance(pdf, bytes):
        raise RenderError("cannot lay out the review as PDF: WeasyPrint returned no bytes")
    return pdf


__all__ = [
    "RenderError",
    "fmt_clock",
    "fmt_count",
    "fmt_day",
    "fmt_money",
    "fmt_rate",
    "fmt_target",
    "fmt_value",
    "metric_label",
    "render_html",
    "render_pdf",
]
