"""SLA as code: evaluation of contracts, breaches, credits and burn-rate warnings."""

from __future__ import annotations

from tallyclerk.sla._burn import BurnRate, burn_rates
from tallyclerk.sla._credits import CreditLine, PeriodCredits, period_credits, period_fees
from tallyclerk.sla._evaluate import MetricEvaluation, ProviderEvaluation, evaluate_period
from tallyclerk.sla._repository import Change
from tallyclerk.sla._segments import Segment, month_bounds, parse_period, segments
from tallyclerk.sla._service import (
    EvaluationReport,
    ProviderReport,
    evaluate,
    evaluate_periods,
)

__all__ = [
    "BurnRate",
    "Change",
    "CreditLine",
    "EvaluationReport",
    "MetricEvaluation",
    "PeriodCredits",
    "ProviderEvaluation",
    "ProviderReport",
    "Segment",
    "burn_rates",
    "evaluate",
    "evaluate_period",
    "evaluate_periods",
    "month_bounds",
    "parse_period",
    "period_credits",
    "period_fees",
    "segments",
]
