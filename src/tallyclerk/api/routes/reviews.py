"""The weekly performance review of a provider: as JSON, a standalone HTML page, or a PDF.

The review is built from the store when asked for (`reports.build_review`): the contracted KPIs
of the week with their 12-week trend, the month's breaches, credits and burn rate, disputes,
findings, inventory, customer experience, the forecast ahead and the action items. A provider
user always gets its own provider's copy, which leaves out the brand's cost data; a brand user
gets the brand's copy, or the provider's with `audience=provider` (to see what the 3PL sees).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from tallyclerk.access import NotFoundError, Scope
from tallyclerk.api._deps import ScopeDep, ServiceState, StoreDep, service
from tallyclerk.api._models import (
    FIRST_YEAR,
    LAST_YEAR,
    NAME_PATTERN,
    AsOfQuery,
    errors,
    parse_clock,
)
from tallyclerk.errors import InputError
from tallyclerk.reports import Audience, IsoWeek, WeeklyReview
from tallyclerk.settings import Settings
from tallyclerk.store import Store
from tallyclerk.store.schema import providers

router = APIRouter(prefix="/api/v1", tags=["reviews"])

State = Annotated[ServiceState, Depends(service)]

WEEK_PATTERN = r"^\d{4}-?[Ww]\d{1,2}$"
Format = Literal["json", "html", "pdf"]
MEDIA_TYPES = {"json": "application/json", "html": "text/html", "pdf": "application/pdf"}
# What every provider outside the asker's view, or unknown to the store, answers: one 404 body,
# so a provider user cannot tell another provider from a name nobody uses.
NO_PROVIDER = "no such provider"


def parse_week(text: str | None, *, today: date | None = None) -> IsoWeek:
    """An ISO week from text; None: the last whole week before `today` (default: today, UTC)."""
    if text is None:
        day = today or datetime.now(UTC).date()
        return IsoWeek.of(day - timedelta(days=7))
    try:
        week = IsoWeek.parse(text)
    except ValueError as exc:
        raise InputError(f"week {exc}") from None
    # The review reaches 12 weeks back and 6 ahead: keep to the years every date can hold.
    if not FIRST_YEAR <= week.year <= LAST_YEAR:
        raise InputError(f"week {text!r} is out of range (years {FIRST_YEAR} to {LAST_YEAR})")
    return week


def audience_for(scope: Scope, asked: Audience | None) -> Audience:
    """The copy a user gets: a provider user always its own provider's; a brand user either."""
    if not scope.principal.is_brand:
        return "provider"
    return asked or "brand"


def review_for(
    store: Store,
    settings: Settings,
    scope: Scope,
    provider_id: str,
    week: IsoWeek,
    *,
    audience: Audience | None = None,
    as_of: datetime | None = None,
) -> WeeklyReview:
    """The provider's review of `week` as `scope` may see it.

    NotFound (the same for all) when the provider is outside the scope or unknown to the
    store. `as_of` (default: the end of the week) may not be before the week begins, and a
    clock later than now reads as now: figures are never dated in the future.
    """
    from tallyclerk.reports._gather import build_review, week_bounds

    if not scope.allows(provider_id):
        raise NotFoundError(NO_PROVIDER)
    with store.connect() as connection:
        known = connection.execute(
            sa.select(providers.c.provider_id).where(providers.c.provider_id == provider_id)
        ).first()
    if known is None:
        raise NotFoundError(NO_PROVIDER)
    now = datetime.now(UTC)
    if as_of is not None:
        begins = week_bounds(week, settings.brand.timezone)[0]
        if as_of < begins:
            raise InputError(
                f"as_of {as_of.astimezone(UTC):%Y-%m-%d %H:%M} UTC is before {week.name} begins "
                f"({begins:%Y-%m-%d %H:%M} UTC): nothing of the week can be read then"
            )
        as_of = min(as_of, now)
    return build_review(
        store,
        settings,
        provider_id,
        week,
        audience=audience_for(scope, audience),
        as_of=as_of,
        now=now,
    )


def file_name(review: WeeklyReview, suffix: str) -> str:
    """review-eastbridge-2026-W47.pdf (-provider before the suffix for the 3PL's copy)."""
    copy = "-provider" if review.audience == "provider" else ""
    return f"review-{review.provider_id}-{review.week.name}{copy}.{suffix}"


def review_response(review: WeeklyReview, fmt: Format, *, download: bool) -> Response:
    """The review in `fmt`, as an attachment when `download`."""
    headers = {"Cache-Control": "no-store"}
    if download or fmt == "pdf":
        disposition = "attachment" if download else "inline"
        headers["Content-Disposition"] = f'{disposition}; filename="{file_name(review, fmt)}"'
    if fmt == "json":
        return JSONResponse(review.as_dict(), headers=headers)
    from tallyclerk.reports._render import render_html, render_pdf

    if fmt == "html":
        return HTMLResponse(render_html(review, standalone=True), headers=headers)
    return Response(render_pdf(review), media_type=MEDIA_TYPES["pdf"], headers=headers)


@router.get(
    "/reviews/{provider_id}/{week}",
    summary="A provider's weekly performance review",
    responses={
        **errors(400, 404, 422, 503),
        200: {
            "content": {
                "application/json": {},
                "text/html": {},
                "application/pdf": {},
            },
            "description": "The review as JSON (default), a standalone HTML page or a PDF.",
        },
    },
)
def get_review(
    state: State,
    opened: StoreDep,
    scope: ScopeDep,
    provider_id: Annotated[str, Path(pattern=NAME_PATTERN)],
    week: Annotated[
        str, Path(pattern=WEEK_PATTERN, description="An ISO week.", examples=["2026-W47"])
    ],
    as_of: AsOfQuery = None,
    fmt: Annotated[Format, Query(alias="format", description="json, html or pdf.")] = "json",
    audience: Annotated[
        Audience | None,
        Query(description="brand or provider (a provider user always gets its own copy)."),
    ] = None,
    download: Annotated[bool, Query(description="Send as an attachment.")] = False,
) -> Response:
    """The review of `provider_id` for the ISO `week`, as of the week's end or `as_of` (not
    before the week begins; a later clock reads the week with what arrived since, up to now).
    Each contracted KPI against its target with its 12-week trend, the month's breaches,
    credits and burn rate, open disputes and their deadlines, findings opened and resolved in
    the week, the invoice audit, inventory variance, customer experience, the next six weeks
    of forecast against capacity, and the action items agreed in reviews."""
    review = review_for(
        opened,
        state.settings,
        scope,
        provider_id,
        parse_week(week),
        audience=audience,
        as_of=parse_clock(as_of),
    )
    return review_response(review, fmt, download=download)
