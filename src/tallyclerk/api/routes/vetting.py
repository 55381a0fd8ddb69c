"""The vetting of candidate 3PLs: the latest report kept by `tallyclerk vet` (brand users only).

A vetting holds the brand's costs (every candidate's rate card priced on the brand's own
activity) and its judgement of the candidates, so a provider user never sees it: the endpoint
and the dashboard page answer a provider user 404, as if they did not exist. There is no
endpoint that makes a report: `tallyclerk vet RFP.yaml` reads the RFP file and keeps one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from tallyclerk.access import NotFoundError, Scope
from tallyclerk.api._deps import ScopeDep, StoreDep
from tallyclerk.api._models import LARGEST_ID, errors
from tallyclerk.vetting import KeptReport, latest_report

router = APIRouter(prefix="/api/v1", tags=["vetting"])

NO_REPORT_HINT = "run `tallyclerk vet RFP.yaml` to make one"
HIDDEN = "Not Found"  # what a provider user is told: the same as for a path that does not exist


# -- reading ------------------------------------------------------------------------------------


def brand_report(
    connection: sa.Connection, scope: Scope, report_id: int | None = None
) -> KeptReport | None:
    """The kept vetting report `report_id` (default: the latest) for a brand user.

    None when no report has been kept. A provider user gets NotFound whatever is kept (the
    brand's vetting is not there for it); so does a `report_id` that was never kept.
    """
    if not scope.principal.is_brand:
        raise NotFoundError(HIDDEN)
    kept = latest_report(connection, report_id)
    if kept is None and report_id is not None:
        raise NotFoundError(f"no vetting report {report_id}; {NO_REPORT_HINT}")
    return kept


def kept_document(kept: KeptReport) -> dict[str, Any]:
    """The report's document with the report's id, when it was made and by whom."""
    created = kept.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return {
        "report_id": kept.report_id,
        "created_at": created,
        "created_by": kept.created_by,
        **kept.document,
    }


# -- the document -------------------------------------------------------------------------------


class WindowOut(BaseModel):
    """The months of the brand's history the rate cards were priced on, both included."""

    model_config = ConfigDict(populate_by_name=True)

    first: str = Field(alias="from", examples=["2026-01"])
    last: str = Field(alias="to", examples=["2026-10"])


class MonthOut(BaseModel):
    """The brand's activity of one month of the window: what each rate card was priced on."""

    month: str
    orders: int
    units: int
    parcels: dict[str, int]  # parcels shipped per packaging type
    received_units: int
    returned_units: int
    pallets: int
    shipping_cost: Decimal


class PeakOut(BaseModel):
    """The peak day of the latest kept forecast of the store's orders (for capacity fit)."""

    forecast_run: int
    as_of: date
    day: date
    orders_p90: float


class CriterionOut(BaseModel):
    """One criterion of a candidate's scorecard."""

    criterion_id: str
    name: str
    weight: float  # the weights of the RFP add up to 100
    value: float | None  # the figure scored (a rate, hours, a cost, a rating)
    raw: float | None  # its score 0 to 100 before the evidence factor
    evidence: str  # none | requested | received | verified | measured | priced | rated
    factor: float  # the share of the score kept for that evidence
    points: float  # weight x raw / 100 x factor
    reason: str


class CostOut(BaseModel):
    """A candidate's cost to serve the window, and what errors and late orders add to it."""

    total: Decimal  # the fees over the window
    monthly: Decimal  # per average month
    risk_adjusted: Decimal  # fees plus the expected cost of errors and late orders
    risk_adjusted_monthly: Decimal
    by_charge: dict[str, Decimal]  # charge type -> fees over the window
    error_rate: float | None
    error_rate_source: str  # "pilot <provider>", "claimed" or "none"
    error_cost: Decimal
    late_rate: float | None
    late_rate_source: str
    late_cost: Decimal
    notes: list[str]


class GrowthOut(CostOut):
    """The cost to serve priced again with the RFP's growth in volume."""

    pct: Decimal


class PeakShortfallOut(BaseModel):
    """The forecast's P90 days played against the candidate's claimed daily capacity."""

    capacity: int  # the claimed peak orders per day (else the everyday figure)
    demand: int  # orders over the forecast's days
    days_over: int
    late_orders: int  # orders it would ship after their day
    worst_day: date | None = None
    worst_backlog: int
    cost: Decimal  # late_orders x the RFP's cost per late order


class CandidateOut(BaseModel):
    """One candidate, ranked: score and standing, why, criteria, cost, capacity."""

    rank: int
    candidate_id: str
    name: str
    score: float  # 0 to 100
    standing: str
    consequence: str
    reasons: list[str]
    verified_share: float  # share of the claim criteria's weight verified or measured
    pilot_provider: str | None  # the provider id its pilot was recorded under
    capacity_fit: float | None  # share (0 to 1) of the forecast peak day its capacity covers
    integration_fit: float | None  # 0 to 100
    criteria: list[CriterionOut]
    cost: CostOut
    peak_shortfall: PeakShortfallOut | None  # None without a kept forecast
    growth: GrowthOut | None


class VettingOut(BaseModel):
    """A kept vetting report."""

    report_id: int
    created_at: datetime
    created_by: str | None
    rfp: str
    currency: str
    window: WindowOut
    months: int
    activity: list[MonthOut]
    peak_demand: PeakOut | None
    notes: list[str]
    candidates: list[CandidateOut]  # ranked, the leader first


def _example_cost(fees: str, risk: str, source: str) -> dict[str, Any]:
    return {
        "total": fees,
        "monthly": fees,
        "risk_adjusted": risk,
        "risk_adjusted_monthly": risk,
        "by_charge": {"pick_pack": "1092.00", "shipping": "1175.11"},
        "error_rate": 0.002,
        "error_rate_source": source,
        "error_cost": "2.99",
        "late_rate": 0.0155,
        "late_rate_source": source,
        "late_cost": "2.05",
        "notes": [],
    }


_EXAMPLE: dict[str, Any] = {
    "report_id": 3,
    "created_at": "2026-11-02T09:14:05+00:00",
    "created_by": "cli",
    "rfp": "3PL selection 2027",
    "currency": "USD",
    "window": {"from": "2026-10", "to": "2026-10"},
    "months": 1,
    "activity": [
        {
            "month": "2026-10",
            "orders": 4210,
            "units": 9630,
            "parcels": {"box_small": 1720, "poly_mailer": 2490},
            "received_units": 10400,
            "returned_units": 310,
            "pallets": 96,
            "shipping_cost": "32011.40",
        }
    ],
    "peak_demand": {
        "forecast_run": 7,
        "as_of": "2026-09-30",
        "day": "2026-11-30",
        "orders_p90": 612.4,
    },
    "notes": [],
    "candidates": [
        {
            "rank": 1,
            "candidate_id": "harborline",
            "name": "Harborline Logistics",
            "score": 81.2,
            "standing": "excellent",
            "consequence": "shortlist for contract",
            "reasons": ["Ranked 1 of 3 with 81.20 points, 6.40 ahead of NorthStar Fulfillment."],
            "verified_share": 0.8,
            "pilot_provider": "pilot-3pl",
            "capacity_fit": 1.0,
            "integration_fit": 100.0,
            "criteria": [
                {
                    "criterion_id": "accuracy",
                    "name": "Order accuracy",
                    "weight": 20.0,
                    "value": 0.998,
                    "raw": 88.89,
                    "evidence": "measured",
                    "factor": 1.0,
                    "points": 17.78,
                    "reason": "Measured 0.998 in the pilot (pilot-3pl) against worst 0.99, "
                    "best 0.999: 88.9 of 100, counted in full.",
                }
            ],
            "cost": _example_cost("2267.11", "2272.15", "pilot pilot-3pl"),
            "peak_shortfall": {
                "capacity": 900,
                "demand": 41230,
                "days_over": 0,
                "late_orders": 0,
                "worst_day": None,
                "worst_backlog": 0,
                "cost": "0.00",
            },
            "growth": {
                "pct": "50",
                **_example_cost("3400.68", "3408.24", "pilot pilot-3pl"),
                "notes": ["volumes scaled by 50% growth"],
            },
        }
    ],
}


@router.get(
    "/vetting",
    response_model=VettingOut,
    summary="The latest vetting of candidate 3PLs (brand users only)",
    description="The latest report kept by `tallyclerk vet RFP.yaml`, or the one of "
    "`report_id`: the window of the brand's activity every rate card was priced on, the "
    "activity itself, the forecast peak day used for capacity fit, and the candidates "
    "ranked. Per candidate: the weighted score and its standing with the consequence, the "
    "reasons, each criterion's weight, evidence, factor and points, the cost to serve "
    "(fees per charge type, per month, and risk-adjusted with the expected cost of picking "
    "errors and late orders at the rate measured in its pilot or claimed), the same priced "
    "with the RFP's growth, the capacity fit and the integration fit. Money is decimal "
    "text in `currency`. The brand's costs and judgement: a provider user gets 404. "
    "404 too when no report has been kept (run `tallyclerk vet RFP.yaml`).",
    responses={
        **errors(404, 422),
        200: {"content": {"application/json": {"example": _EXAMPLE}}},
    },
)
def latest_vetting(
    scope: ScopeDep,
    opened: StoreDep,
    report_id: Annotated[
        int | None,
        Query(ge=1, le=LARGEST_ID, description="An earlier kept report (default: the latest)."),
    ] = None,
) -> VettingOut:
    """The latest kept vetting report, or the one asked for."""
    with opened.connect() as connection:
        kept = brand_report(connection, scope, report_id)
    if kept is None:
        raise NotFoundError(f"no vetting report has been kept yet; {NO_REPORT_HINT}")
    return VettingOut.model_validate(kept_document(kept))
