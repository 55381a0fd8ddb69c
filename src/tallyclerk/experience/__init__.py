"""Customer experience: perfect orders and why others were not, late deliveries by cause,
damage and mis-ships, feedback and packaging audits per provider, with the orders behind
every figure. KPI-backed figures come from the catalogue (`tallyclerk.metrics`)."""

from __future__ import annotations

from tallyclerk.experience._model import (
    TOTAL,
    AuditItem,
    Audits,
    Breakdown,
    Damage,
    Delivery,
    ExperienceReport,
    Feedback,
    Ids,
    MisShip,
    PerfectOrder,
    ProviderExperience,
    Rate,
)
from tallyclerk.experience._report import (
    DAMAGE_ROUTES,
    ID_LIMIT,
    KPIS,
    LATE_CAUSES,
    MISSHIP_ROUTES,
    PERFECT_REASONS,
    TAGS,
    audits_in_period,
    experience_report,
    feedback_in_period,
)

__all__ = [
    "DAMAGE_ROUTES",
    "ID_LIMIT",
    "KPIS",
    "LATE_CAUSES",
    "MISSHIP_ROUTES",
    "PERFECT_REASONS",
    "TAGS",
    "TOTAL",
    "AuditItem",
    "Audits",
    "Breakdown",
    "Damage",
    "Delivery",
    "ExperienceReport",
    "Feedback",
    "Ids",
    "MisShip",
    "PerfectOrder",
    "ProviderExperience",
    "Rate",
    "audits_in_period",
    "experience_report",
    "feedback_in_period",
]
