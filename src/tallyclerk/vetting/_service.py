"""Vetting a 3PL RFP against the store: cost-to-serve, pilots, capacity fit, the scorecard.

Every candidate's rate card is priced on the brand's own activity over the window (all of its
current providers' shipments, receipts, returns and storage together: the work the candidate
would take over), then risk-adjusted by the expected cost of picking errors and late shipments
at the rates measured in its pilot, or else claimed. The capacity fit compares its claimed peak
capacity with the busiest day of the latest kept forecast of the store's orders. The store is
read in one visit; pricing and scoring need no store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tallyclerk.errors import InputError
from tallyclerk.forecast import load_run
from tallyclerk.metrics import open_context
from tallyclerk.settings import Settings, get_settings
from tallyclerk.store import Store
from tallyclerk.store.schema import providers
from tallyclerk.vetting._cost import (
    PeakShortfall,
    measured_rates,
    month_activity,
    next_month,
    peak_shortfall,
    price,
    risk_adjust,
    window_months,
)
from tallyclerk.vetting._rfp import Candidate, Rfp
from tallyclerk.vetting._scoring import (
    CandidateFacts,
    CandidateScore,
    capacity_fit,
    score_candidates,
)
from tallyclerk.vetting._types import CostToServe, MonthActivity

DEFAULT_MONTHS = 12


@dataclass(frozen=True)
class PeakDemand:
    """The busiest day of the latest kept forecast of the store's orders (P90), and its days.

    `days` is the forecast's P90 per day over its horizon: the demand a candidate taking all
    of the brand's orders would face, against which its claimed peak capacity is played.
    """

    run_id: int
    as_of: date
    day: date
    orders: float
    days: tuple[tuple[date, float], ...] = ()


@dataclass
class VetInputs:
    """What vetting reads from the store in one visit."""

    rfp: Rfp
    first: date
    last: date
    activity: list[MonthActivity]
    measured: dict[str, dict[str, float]]  # candidate id -> its pilot's KPI values
    peak: PeakDemand | None
    notes: list[str] = field(default_factory=list)


@dataclass
class CandidateResult:
    """One candidate: its score, its cost over the window, with growth, and capacity fit."""

    candidate: Candidate
    score: CandidateScore
    cost: CostToServe
    growth: CostToServe | None
    capacity_fit: float | None
    peak: PeakShortfall | None = None  # the forecast's P90 days against the claimed capacity
    peak_cost: Decimal = Decimal("0")  # its late orders at the RFP's cost per late order

    @property
    def monthly(self) -> Decimal:
        """Fees in an average month of the window."""
        return self.cost.monthly(self.cost.total)

    @property
    def risk_adjusted_monthly(self) -> Decimal:
        """Fees plus expected error and late costs, in an average month."""
        return self.cost.monthly(self.cost.risk_adjusted)


@dataclass
class VetReport:
    """The ranked candidates of an RFP, with what they were judged on."""

    rfp: Rfp
    first: date
    last: date
    months: list[date]
    activity: list[MonthActivity]
    results: list[CandidateResult]  # ranked, the leader first
    peak: PeakDemand | None
    notes: list[str]


def _default_window(settings: Settings) -> tuple[date, date]:
    """The last twelve whole months before today (brand time zone)."""
    today = datetime.now(ZoneInfo(settings.brand.timezone)).date()
    last = today.replace(day=1) - timedelta(days=1)
    first = last.replace(day=1)
    for _ in range(DEFAULT_MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return first, last


def read_inputs(
    store: Store,
    rfp: Rfp,
    *,
    window: tuple[date, date] | None = None,
    settings: Settings | None = None,
) -> VetInputs:
    """The activity of the window, each pilot's measured KPIs, and the forecast's peak day."""
    settings = settings or get_settings()
    notes: list[str] = []
    if window is not None:
        first, last = window
    elif rfp.window is not None:
        first, last = rfp.window.first, rfp.window.last
    else:
        first, last = _default_window(settings)
        notes.append(f"No window given: the last {DEFAULT_MONTHS} whole months are priced.")
    end = next_month(window_months(first, last)[-1])
    with store.connect() as connection:
        known = set(connection.execute(sa.select(providers.c.provider_id)).scalars())
        pilots = {c.id: c.pilot_provider for c in rfp.candidates if c.pilot_provider}
        for candidate_id, provider_id in pilots.items():
            if provider_id not in known:
                raise InputError(
                    f"candidate {candidate_id}: pilot_provider {provider_id!r} has no data in "
                    "this store (ingest the pilot's files under that provider id first)"
                )
        kept = load_run(connection)
    clock = datetime.combine(end, time(), tzinfo=UTC) + timedelta(days=1)
    with open_context(store, as_of=clock, settings=settings) as ctx:
        activity = month_activity(ctx, first, last)
        measured = {
            candidate_id: measured_rates(ctx, provider_id, first, last)
            for candidate_id, provider_id in pilots.items()
        }
    if not any(month.orders for month in activity):
        raise InputError(
            f"no orders were shipped from {first:%Y-%m} to {last:%Y-%m}: nothing to price "
            "(pick a --window with activity)"
        )
    peak = None
    store_orders = kept.find(None, None, "orders") if kept is not None else None
    if kept is not None and kept.run_id is not None and store_orders is not None:
        index = int(store_orders.p90.argmax())
        peak = PeakDemand(
            kept.run_id,
            kept.as_of,
            store_orders.start + timedelta(days=index),
            float(store_orders.p90[index]),
            tuple(
                (day, float(value))
                for day, value in zip(store_orders.days(), store_orders.p90, strict=True)
            ),
        )
    else:
        notes.append("No kept forecast of the store's orders: capacity fit is not scored.")
    return VetInputs(rfp, first, last, activity, measured, peak, notes)


def vet_inputs(inputs: VetInputs) -> VetReport:
    """Price, risk-adjust and score every candidate (no store needed)."""
    rfp = inputs.rfp
    risk = rfp.risk
    costs: dict[str, CostToServe] = {}
    growth: dict[str, CostToServe | None] = {}
    facts: dict[str, CandidateFacts] = {}
    fits: dict[str, float | None] = {}
    for candidate in rfp.candidates:
        measured = inputs.measured.get(candidate.id, {})
        costs[candidate.id] = _priced(inputs, candidate, measured, Decimal(0))
        growth[candidate.id] = (
            _priced(inputs, candidate, measured, risk.growth_pct) if risk.growth_pct else None
        )
        fit = capacity_fit(candidate, inputs.peak.orders) if inputs.peak is not None else None
        fits[candidate.id] = fit
        cost = costs[candidate.id]
        facts[candidate.id] = CandidateFacts(
            candidate.id,
            measured=measured,
            risk_adjusted_monthly=cost.monthly(cost.risk_adjusted),
            monthly=cost.monthly(cost.total),
            capacity_fit=fit,
        )
    ranked = score_candidates(rfp, facts)
    results = []
    for score in ranked:
        candidate = rfp.candidate(score.candidate_id)
        shortfall = _shortfall(candidate, inputs.peak)
        results.append(
            CandidateResult(
                candidate,
                score,
                costs[score.candidate_id],
                growth[score.candidate_id],
                fits[score.candidate_id],
                shortfall,
                (risk.cost_per_late_order * shortfall.late_orders).quantize(Decimal("0.01"))
                if shortfall is not None
                else Decimal("0"),
            )
        )
    return VetReport(
        rfp,
        inputs.first,
        inputs.last,
        window_months(inputs.first, inputs.last),
        inputs.activity,
        results,
        inputs.peak,
        list(inputs.notes),
    )


def _shortfall(candidate: Candidate, peak: PeakDemand | None) -> PeakShortfall | None:
    """The forecast's P90 days played against the candidate's claimed (peak) daily capacity."""
    capacity = candidate.peak_orders_per_day or candidate.orders_per_day
    if peak is None or not peak.days or capacity is None:
        return None
    return peak_shortfall(peak.days, int(capacity))


def _priced(
    inputs: VetInputs, candidate: Candidate, measured: dict[str, float], growth_pct: Decimal
) -> CostToServe:
    """The candidate's rate card on the activity (grown), plus errors and late shipments."""
    rfp = inputs.rfp
    error_rate, error_source = _rate(candidate, measured, "order_accuracy_rate")
    late_rate, late_source = _rate(candidate, measured, "ship_on_time_rate")
    base = price(
        inputs.activity, candidate.rates, rfp.currency, candidate.id, growth_pct=growth_pct
    )
    return risk_adjust(
        base,
        inputs.activity,
        error_rate=error_rate,
        error_source=error_source,
        late_rate=late_rate,
        late_source=late_source,
        cost_per_error=rfp.risk.error_cost,
        cost_per_late=rfp.risk.cost_per_late_order,
    )


def _rate(
    candidate: Candidate, measured: dict[str, float], metric: str
) -> tuple[float | None, str]:
    """1 - the metric: measured in the pilot when there is one, else claimed, else unknown."""
    if metric in measured:
        return 1.0 - measured[metric], f"pilot {candidate.pilot_provider}"
    claimed = candidate.claim(metric)
    if claimed is not None:
        return 1.0 - claimed, "claimed"
    return None, "none"


def vet(
    store: Store,
    rfp: Rfp,
    *,
    window: tuple[date, date] | None = None,
    settings: Settings | None = None,
) -> VetReport:
    """read_inputs then vet_inputs, holding the store for both (tests, scripts)."""
    return vet_inputs(read_inputs(store, rfp, window=window, settings=settings))


__all__ = [
    "CandidateResult",
    "PeakDemand",
    "VetInputs",
    "VetReport",
    "read_inputs",
    "vet",
    "vet_inputs",
]
