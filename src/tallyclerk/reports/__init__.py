"""The weekly performance review: per provider and ISO week, as data, HTML and PDF; and the
action items agreed in reviews, carried from week to week until done.
"""

from __future__ import annotations

from tallyclerk.reports._actions import (
    actions_for_review,
    add_action,
    count_actions,
    get_action,
    list_actions,
    mark_done,
    update_action,
)
from tallyclerk.reports._gather import build_review
from tallyclerk.reports._model import (
    ACTION_STATUSES,
    AUDIENCES,
    PARTIES,
    ActionItem,
    ActionStatus,
    Audience,
    BreachLine,
    BurnLine,
    CreditsAccrued,
    DisputeLine,
    ExperienceLine,
    FindingsLine,
    ForecastWeekLine,
    InventoryLine,
    IsoWeek,
    KpiLine,
    Party,
    TrendPoint,
    WeeklyReview,
)

__all__ = [
    "ACTION_STATUSES",
    "AUDIENCES",
    "PARTIES",
    "ActionItem",
    "ActionStatus",
    "Audience",
    "BreachLine",
    "BurnLine",
    "CreditsAccrued",
    "DisputeLine",
    "ExperienceLine",
    "FindingsLine",
    "ForecastWeekLine",
    "InventoryLine",
    "IsoWeek",
    "KpiLine",
    "Party",
    "TrendPoint",
    "WeeklyReview",
    "actions_for_review",
    "add_action",
    "build_review",
    "count_actions",
    "get_action",
    "list_actions",
    "mark_done",
    "render_html",
    "render_pdf",
    "update_action",
]


def render_html(review: WeeklyReview, *, standalone: bool = True) -> str:
    """The review as HTML: a standalone document (CSS and charts inside) or the dashboard's
    fragment. matplotlib and the templates load on first use."""
    from tallyclerk.reports._render import render_html as render

    return render(review, standalone=standalone)


def render_pdf(review: WeeklyReview) -> bytes:
    """The review as an A4 PDF (WeasyPrint, loaded on first use)."""
    from tallyclerk.reports._render import render_pdf as render

    return render(review)
