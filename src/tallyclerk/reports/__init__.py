"""The weekly performance review: per provider and ISO week, as data, HTML and PDF; and the
action items agreed in reviews, carried from week to week until done.
"""

from __future__ import annotations

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
]
