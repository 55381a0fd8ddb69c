"""Vetting: choose a 3PL on evidence, not on price.

- `load_rfp` / `parse_rfp`: the RFP file (candidates, claims, evidence, criteria, standings,
  rate cards), validated with located errors;
- `vet` (or `read_inputs` then `vet_inputs`): every candidate's rate card priced on the brand's
  own activity (cost-to-serve), risk-adjusted by the errors and late shipments measured in its
  pilot or claimed, its capacity against the forecast, and the weighted scorecard, ranked;
- `report_document` / `report_html`: the report as JSON or a standalone HTML page.
"""

from __future__ import annotations

from tallyclerk.vetting._cost import (
    measured_rates,
    month_activity,
    parse_window,
    price,
    risk_adjust,
)
from tallyclerk.vetting._document import report_document, report_html
from tallyclerk.vetting._repository import KeptReport, latest_report, save_report
from tallyclerk.vetting._rfp import Candidate, Criterion, Rfp, RfpError, load_rfp, parse_rfp
from tallyclerk.vetting._scoring import CandidateFacts, CandidateScore, score_candidates
from tallyclerk.vetting._service import (
    CandidateResult,
    PeakDemand,
    VetInputs,
    VetReport,
    read_inputs,
    vet,
    vet_inputs,
)
from tallyclerk.vetting._types import CHARGE_TYPES, ChargeLine, CostToServe, MonthActivity

__all__ = [
    "CHARGE_TYPES",
    "Candidate",
    "CandidateFacts",
    "CandidateResult",
    "CandidateScore",
    "ChargeLine",
    "CostToServe",
    "Criterion",
    "KeptReport",
    "MonthActivity",
    "PeakDemand",
    "Rfp",
    "RfpError",
    "VetInputs",
    "VetReport",
    "latest_report",
    "load_rfp",
    "measured_rates",
    "month_activity",
    "parse_rfp",
    "parse_window",
    "price",
    "read_inputs",
    "report_document",
    "report_html",
    "risk_adjust",
    "save_report",
    "score_candidates",
    "vet",
    "vet_inputs",
]
