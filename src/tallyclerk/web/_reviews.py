"""The weekly review on the dashboard: pick a provider and a week, read the review, download
it as PDF or HTML, and record the action items agreed in the meeting.

The review is the one `GET /api/v1/reviews/{provider}/{week}` answers and `tallyclerk report
weekly` writes, built by the same helper; a provider user reads its own provider's copy.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from tallyclerk.access import NotFoundError
from tallyclerk.api.routes.reviews import (
    NO_PROVIDER,
    WEEK_PATTERN,
    audience_for,
    parse_week,
    review_for,
    review_response,
)
from tallyclerk.reports import Audience, IsoWeek
from tallyclerk.web._actions import actions_panel_context
from tallyclerk.web._common import ViewerDep
from tallyclerk.web._scorecards import _provider_names

router = APIRouter(include_in_schema=False)

WeekQuery = Annotated[str | None, Query(pattern=WEEK_PATTERN)]
AudienceQuery = Annotated[Audience | None, Query()]
RECENT_WEEKS = 8  # the weeks the index page links for each provider


@router.get("/reviews", response_class=HTMLResponse)
def reviews_index(viewer: ViewerDep, week: WeekQuery = None) -> HTMLResponse:
    """Each provider in view with links to its recent weekly reviews, and a week picker."""
    chosen = parse_week(week)
    names = _provider_names(viewer)
    weeks = [chosen.shifted(-i) for i in range(RECENT_WEEKS)]
    return viewer.render(
        "reviews.html",
        providers=sorted(names.items()),
        week=chosen,
        weeks=weeks,
    )


def _named(viewer: ViewerDep, provider_id: str) -> str:
    """The provider's name; the API's one 404 when it is outside the view or unknown."""
    name = _provider_names(viewer).get(provider_id)
    if name is None:
        raise NotFoundError(NO_PROVIDER)
    return name


def _panel(viewer: ViewerDep, provider_id: str, week: IsoWeek) -> dict[str, Any]:
    """What the week's action-items panel shows (the actions page's own partial)."""
    with viewer.store.connect() as connection:
        context: dict[str, Any] = actions_panel_context(connection, viewer.scope, provider_id, week)
    return context


@router.get("/providers/{provider_id}/review", response_class=HTMLResponse)
def review_page(
    viewer: ViewerDep,
    provider_id: str,
    week: WeekQuery = None,
    audience: AudienceQuery = None,
) -> HTMLResponse:
    """The provider's review of the week, with its downloads and the week's action items."""
    from tallyclerk.reports._render import render_html

    name = _named(viewer, provider_id)
    chosen = parse_week(week)
    review = review_for(
        viewer.store, viewer.settings, viewer.scope, provider_id, chosen, audience=audience
    )
    copy = audience_for(viewer.scope, audience)
    return viewer.render(
        "review.html",
        provider_id=provider_id,
        name=name,
        week=chosen,
        previous=chosen.shifted(-1),
        following=chosen.shifted(1),
        audience=copy,
        audience_query="&audience=provider"
        if viewer.principal.is_brand and copy == "provider"
        else "",
        # The renderer escapes every value it puts in the fragment; its charts are our own SVG.
        body=Markup(render_html(review, standalone=False)),
        **_panel(viewer, provider_id, chosen),
    )


def _download(
    viewer: ViewerDep, provider_id: str, week: str | None, audience: Audience | None, fmt: str
) -> Response:
    _named(viewer, provider_id)
    review = review_for(
        viewer.store,
        viewer.settings,
        viewer.scope,
        provider_id,
        parse_week(week),
        audience=audience,
    )
    return review_response(review, "pdf" if fmt == "pdf" else "html", download=True)


@router.get("/providers/{provider_id}/review.pdf")
def review_pdf(
    viewer: ViewerDep,
    provider_id: str,
    week: WeekQuery = None,
    audience: AudienceQuery = None,
) -> Response:
    """The review as a PDF download."""
    return _download(viewer, provider_id, week, audience, "pdf")


@router.get("/providers/{provider_id}/review.html")
def review_html(
    viewer: ViewerDep,
    provider_id: str,
    week: WeekQuery = None,
    audience: AudienceQuery = None,
) -> Response:
    """The review as a standalone HTML download (styles and charts inside the file)."""
    return _download(viewer, provider_id, week, audience, "html")
