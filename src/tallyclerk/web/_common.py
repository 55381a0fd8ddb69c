"""What every page shares: the templates, the viewer behind a request, formats, redirects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tallyclerk import __version__
from tallyclerk.access import Principal, Scope
from tallyclerk.api import ScopeDep, StoreDep, service
from tallyclerk.errors import InputError
from tallyclerk.metrics import REGISTRY
from tallyclerk.settings import Settings
from tallyclerk.sla import MetricStanding, month_bounds, parse_period
from tallyclerk.store import Store

PACKAGE_DIR = Path(__file__).parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class NavLink:
    """One entry of the navigation bar."""

    href: str
    label: str
    brand_only: bool = False


NAV = (
    NavLink("/", "Overview"),
    NavLink("/findings", "Findings"),
    NavLink("/inventory", "Inventory"),
    NavLink("/invoices", "Invoices"),
    NavLink("/disputes", "Disputes"),
    NavLink("/reviews", "Reviews"),
    NavLink("/alerts", "Alerts", brand_only=True),
    NavLink("/vetting", "Vetting", brand_only=True),
    NavLink("/health", "Data health", brand_only=True),
)


# -- formats ------------------------------------------------------------------------------------


def metric_unit(metric: str) -> str:
    """'rate' or 'hours', from the KPI catalogue (a rate when the metric is unknown)."""
    found = REGISTRY.get(metric)
    return found.unit if found is not None else "rate"


def metric_label(metric: str) -> str:
    """A metric's name for people: ship_on_time_rate -> Ship on time rate."""
    text = metric.replace("_", " ")
    return text[:1].upper() + text[1:]


def format_figure(value: float | None, metric: str) -> str:
    """A KPI value as people read it: 98.25 % for rates, 31.5 h for hours, — for no data."""
    if value is None:
        return "—"
    if metric_unit(metric) == "hours":
        return f"{value:,.1f} h"
    return f"{value * 100:.2f} %"


def format_target(standing: MetricStanding) -> str:
    """The contract's threshold with its direction: ≥ 99.00 % or ≤ 48.0 h."""
    sign = "≤" if standing.lower_is_better else "≥"
    return f"{sign} {format_figure(standing.threshold, standing.metric)}"


def format_money(amount: Decimal | float | int | None, currency: str | None = None) -> str:
    """Money with two decimals and its currency: 1,234.50 USD (— for none)."""
    if amount is None:
        return "—"
    text = f"{Decimal(str(amount)):,.2f}"
    return f"{text} {currency}" if currency else text


def format_when(moment: datetime | None) -> str:
    """A UTC timestamp to the minute: 2026-12-20 14:03 UTC."""
    if moment is None:
        return "—"
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def format_month(day: date | None) -> str:
    """2026-12."""
    return "—" if day is None else f"{day:%Y-%m}"


def light_of(standing: MetricStanding) -> str:
    """A metric's traffic light: red breached, amber burning its budget, green met, grey."""
    if standing.met is False:
        return "red"
    burn = standing.burn.state if standing.burn is not None else None
    if burn == "page":
        return "red"
    if burn == "warn":
        return "amber"
    return "grey" if standing.met is None else "green"


def data_value(value: object) -> str:
    """The exact figure for a data-value attribute (what a test compares with the API)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


# -- requests -----------------------------------------------------------------------------------


def parse_month(text: str | None) -> date | None:
    """A ?period=YYYY-MM parameter as the month's first day (None when absent)."""
    if not text:
        return None
    try:
        return month_bounds(parse_period(text.strip()))[0]
    except ValueError as exc:
        raise InputError(str(exc)) from None


def local_path(target: str | None, default: str = "/") -> str:
    """`target` when it is a path on this site, else `default` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def is_htmx(request: Request) -> bool:
    """Whether HTMX sent the request (it then wants a fragment, not a page)."""
    return request.headers.get("hx-request") == "true"


def redirect(request: Request, url: str) -> Response:
    """Go to `url` after a form: a 303 for a browser, HX-Redirect for HTMX."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def query(**params: object) -> str:
    """A query string of the parameters that are set ('' when none is)."""
    kept = {k: str(v) for k, v in params.items() if v not in (None, "", False)}
    return f"?{urlencode(kept)}" if kept else ""


# -- templates ----------------------------------------------------------------------------------

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(
    figure=format_figure,
    target=format_target,
    money=format_money,
    when=format_when,
    month=format_month,
    light=light_of,
    dv=data_value,
    label=metric_label,
)
_env.globals.update(query=query, version=__version__)


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page (or fragment) from a template, with the user, the navigation and the CSRF token."""
    brand = principal is not None and principal.is_brand
    values: dict[str, Any] = {
        "request": request,
        "user": principal,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "nav": [link for link in NAV if brand or not link.brand_only] if principal else [],
        "path": request.url.path,
        "is_brand": brand,
        "is_admin": principal is not None and principal.can_change,
    }
    values.update(context or {})
    html = _env.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who asks for a page, what they may see, and the store to read it from."""

    request: Request
    scope: Scope
    store: Store
    settings: Settings

    @property
    def principal(self) -> Principal:
        """The authenticated user."""
        return self.scope.principal

    def render(
        self,
        template: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """The template rendered for this user."""
        return render(
            self.request,
            template,
            context,
            principal=self.principal,
            status=status,
            headers=headers,
        )


def viewer(request: Request, opened: StoreDep, scope: ScopeDep) -> Viewer:
    """The viewer of a dashboard page (401 when not logged in: the login page follows)."""
    return Viewer(request, scope, opened, service(request).settings)


ViewerDep = Annotated[Viewer, Depends(viewer)]
