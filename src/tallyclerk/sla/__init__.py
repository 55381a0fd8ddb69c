"""SLA as code: evaluation of contracts, breaches, credits and burn-rate warnings."""

from __future__ import annotations

from tallyclerk.sla._burn import BurnRate, burn_rates
from tallyclerk.sla._credits import CreditLine, PeriodCredits, period_credits, period_fees
from tallyclerk.sla._disputes import (
    ANSWERS,
    DISPUTE_STATUSES,
    RESOLUTIONS,
    Answer,
    Dispute,
    DisputeEvent,
    DisputeStatus,
    Resolution,
    answer_dispute,
    comment_dispute,
    count_disputes,
    dispute_events,
    get_dispute,
    list_disputes,
    open_dispute,
    open_from_breach,
    open_from_credit,
    resolve_dispute,
)
from tallyclerk.sla._evaluate import MetricEvaluation, ProviderEvaluation, evaluate_period
from tallyclerk.sla._ledger import LedgerEntry, ledger, ledger_totals, record_credit
from tallyclerk.sla._read import (
    BurnState,
    BurnWatch,
    MetricStanding,
    Scorecard,
    credit_lines,
    latest_burn,
    metric_trend,
    periods_evaluated,
    scorecards,
)
from tallyclerk.sla._repository import Change
from tallyclerk.sla._segments import Segment, month_bounds, parse_period, segments
from tallyclerk.sla._service import (
    EvaluationReport,
    ProviderReport,
    evaluate,
    evaluate_periods,
)

__all__ = [
    "ANSWERS",
    "DISPUTE_STATUSES",
    "RESOLUTIONS",
    "Answer",
    "BurnRate",
    "BurnState",
    "BurnWatch",
    "Change",
    "CreditLine",
    "Dispute",
    "DisputeEvent",
    "DisputeStatus",
    "EvaluationReport",
    "LedgerEntry",
    "MetricEvaluation",
    "MetricStanding",
    "PeriodCredits",
    "ProviderEvaluation",
    "ProviderReport",
    "Resolution",
    "Scorecard",
    "Segment",
    "answer_dispute",
    "burn_rates",
    "comment_dispute",
    "count_disputes",
    "credit_lines",
    "dispute_events",
    "evaluate",
    "evaluate_period",
    "evaluate_periods",
    "get_dispute",
    "latest_burn",
    "ledger",
    "ledger_totals",
    "list_disputes",
    "metric_trend",
    "month_bounds",
    "open_dispute",
    "open_from_breach",
    "open_from_credit",
    "parse_period",
    "period_credits",
    "period_fees",
    "periods_evaluated",
    "record_credit",
    "resolve_dispute",
    "scorecards",
    "segments",
]
