"""Scorecards: each provider's contracted metrics against target, burn rates and credits.

Everything here is read back from the recorded evaluations (`tallyclerk evaluate`); nothing
is recomputed, so the API shows what the reports and the dashboard show.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from tallyclerk.access import NotFoundError
from tallyclerk.api._deps import ScopeDep, StoreDep
from tallyclerk.api._models import (
    NAME_PATTERN,
    MonthQuery,
    ProviderQuery,
    errors,
    page_slice,
    parse_month,
)
from tallyclerk.api._pagination import Page, PageParams, page_params
from tallyclerk.errors import InputError
from tallyclerk.metrics import CATALOGUE_ORDER
from tallyclerk.sla import (
    BurnState,
    MetricStanding,
    Scorecard,
    credit_lines,
    metric_trend,
    periods_evaluated,
    scorecards,
)

router = APIRouter(prefix="/api/v1", tags=["scorecards"])

Paging = Annotated[PageParams, Depends(page_params)]
ProviderPath = Annotated[str, Path(pattern=NAME_PATTERN, description="The provider.")]
RECENT_PERIODS = 3  # how far back /burn looks for an open month


class BurnStateOut(BaseModel):
    """How fast a metric spent its error budget when its open month was evaluated."""

    state: str  # ok | warn | page | no data
    burn_short: float | None
    burn_long: float | None
    projected: float | None
    judged: int
    bad: int
    budget: float
    reason: str

    @classmethod
    def of(cls, burn: BurnState) -> BurnStateOut:
        """The API form of a recorded burn state."""
        return cls(**burn.as_dict())


class StandingOut(BaseModel):
    """One contracted metric over one segment of a month (peak variants split a month)."""

    provider_id: str
    metric: str
    period: str  # YYYY-MM
    segment: str
    segment_from: date
    segment_to: date
    value: float | None
    threshold: float
    lower_is_better: bool
    met: bool | None
    state: str  # met | breached | no data
    numerator: int
    denominator: int
    excluded: int
    burn: BurnStateOut | None

    @classmethod
    def of(cls, standing: MetricStanding) -> StandingOut:
        """The API form of a recorded standing."""
        return cls(
            provider_id=standing.provider_id,
            metric=standing.metric,
            period=f"{standing.period:%Y-%m}",
            segment=standing.segment,
            segment_from=standing.segment_from,
            segment_to=standing.segment_to,
            value=standing.value,
            threshold=standing.threshold,
            lower_is_better=standing.lower_is_better,
            met=standing.met,
            state=standing.state,
            numerator=standing.numerator,
            denominator=standing.denominator,
            excluded=standing.excluded,
            burn=BurnStateOut.of(standing.burn) if standing.burn is not None else None,
        )


class ScorecardOut(BaseModel):
    """A provider's month as last evaluated: its light, metrics, credits and booked credits."""

    provider_id: str
    period: str  # YYYY-MM
    run_id: int
    evaluated_at: datetime
    as_of: datetime
    light: str  # red | amber | green | grey
    breached: list[str]  # the metrics that missed their target
    metrics: list[StandingOut]
    credits: Decimal  # SLA credits of the evaluation
    currency: str | None
    ledger_credits: Decimal  # credits booked in the ledger for the month

    @classmethod
    def fields_of(cls, card: Scorecard) -> dict[str, Any]:
        """The fields of a recorded scorecard."""
        return {
            "provider_id": card.provider_id,
            "period": f"{card.period:%Y-%m}",
            "run_id": card.run_id,
            "evaluated_at": card.evaluated_at,
            "as_of": card.as_of,
            "light": card.light,
            "breached": list(dict.fromkeys(m.metric for m in card.breached)),
            "metrics": [StandingOut.of(m) for m in card.metrics],
            "credits": card.credits,
            "currency": card.currency,
            "ledger_credits": card.ledger_credits,
        }


class CreditLineOut(BaseModel):
    """One line of a month's SLA credits: a tier hit, an incident, or the cap."""

    kind: str
    label: str
    basis: str
    amount: Decimal
    currency: str


class ScorecardDetail(ScorecardOut):
    """One scorecard with the lines its credits are made of."""

    credit_lines: list[CreditLineOut]


class TrendOut(BaseModel):
    """A provider's metrics month by month (the latest evaluation of each), oldest first."""

    provider_id: str
    metric: str | None
    months: int
    points: list[StandingOut]


class BurnOut(BaseModel):
    """A metric's burn rate in the latest month evaluated while it was still open."""

    provider_id: str
    period: str
    as_of: datetime
    metric: str
    segment: str
    value: float | None
    threshold: float
    lower_is_better: bool
    burn: BurnStateOut


@router.get(
    "/periods",
    response_model=Page[str],
    summary="Months evaluated",
    description="The months with a recorded SLA evaluation (of the provider, or of any "
    "provider the user may see), newest first, as YYYY-MM.",
    responses=errors(404, 422),
)
def periods(
    scope: ScopeDep, opened: StoreDep, paging: Paging, provider: ProviderQuery = None
) -> Page[str]:
    """The evaluated months."""
    chosen = scope.providers(provider)
    with opened.connect() as connection:
        months = [f"{p:%Y-%m}" for p in periods_evaluated(connection, providers=chosen)]
    return Page[str].of(page_slice(months, paging.limit, paging.offset), len(months), paging)


@router.get(
    "/scorecards",
    response_model=Page[ScorecardOut],
    summary="Scorecards of a month",
    description="Each provider's scorecard for the month (default: the latest evaluated): "
    "every contracted metric against its target, burn states, credits. A provider user "
    "gets its own only.",
    responses=errors(400, 404, 422),
)
def list_scorecards(
    scope: ScopeDep,
    opened: StoreDep,
    paging: Paging,
    period: MonthQuery = None,
    provider: ProviderQuery = None,
) -> Page[ScorecardOut]:
    """The month's scorecards, by provider."""
    chosen = scope.providers(provider)
    month = parse_month(period)
    with opened.connect() as connection:
        cards = scorecards(connection, providers=chosen, period=month)
    out = [ScorecardOut(**ScorecardOut.fields_of(c)) for c in cards]
    return Page[ScorecardOut].of(page_slice(out, paging.limit, paging.offset), len(out), paging)


@router.get(
    "/scorecards/{provider_id}",
    response_model=ScorecardDetail,
    summary="One provider's scorecard",
    description="The provider's scorecard for the month (default: its latest evaluated), "
    "with the credit lines. 404 when it was never evaluated for that month, or is another "
    "provider's.",
    responses=errors(400, 404, 422),
)
def one_scorecard(
    provider_id: ProviderPath, scope: ScopeDep, opened: StoreDep, period: MonthQuery = None
) -> ScorecardDetail:
    """The provider's scorecard with its credit lines."""
    scope.check(provider_id, "provider")
    month = parse_month(period)
    with opened.connect() as connection:
        cards = scorecards(connection, providers=[provider_id], period=month)
        if not cards:
            when = f" for {period}" if period else ""
            raise NotFoundError(f"no scorecard of {provider_id!r}{when}")
        card = cards[0]
        lines = credit_lines(connection, provider_id=provider_id, period=card.period)
    return ScorecardDetail(
        **ScorecardOut.fields_of(card),
        credit_lines=[CreditLineOut(**line) for line in lines],
    )


@router.get(
    "/scorecards/{provider_id}/trend",
    response_model=TrendOut,
    summary="A provider's metrics over the months",
    description="Month by month (the latest evaluation of each), oldest first, the last "
    "`months` months up to `until` (default: the latest evaluated); one metric or all.",
    responses=errors(400, 404, 422),
)
def trend(
    provider_id: ProviderPath,
    scope: ScopeDep,
    opened: StoreDep,
    metric: Annotated[
        str | None, Query(pattern=NAME_PATTERN, description="One metric (default: all).")
    ] = None,
    months: Annotated[int, Query(ge=1, le=120, description="How many months.")] = 12,
    until: MonthQuery = None,
) -> TrendOut:
    """The provider's standings month by month."""
    scope.check(provider_id, "provider")
    if metric is not None and metric not in CATALOGUE_ORDER:
        raise InputError(f"unknown metric {metric!r} (see GET /api/v1/kpis)")
    last = parse_month(until, "until")
    with opened.connect() as connection:
        if not periods_evaluated(connection, providers=[provider_id]):
            raise NotFoundError(f"no scorecard of {provider_id!r}")
        points = metric_trend(
            connection, provider_id=provider_id, metric=metric, months=months, until=last
        )
    return TrendOut(
        provider_id=provider_id,
        metric=metric,
        months=months,
        points=[StandingOut.of(p) for p in points],
    )


@router.get(
    "/burn",
    response_model=Page[BurnOut],
    summary="Burn rates of the open month",
    description="Per provider, the burn state of each contracted metric in the latest month "
    "evaluated while it was still open: `warn` or `page` says a breach is coming before "
    "the month closes.",
    responses=errors(404, 422),
)
def burn(
    scope: ScopeDep, opened: StoreDep, paging: Paging, provider: ProviderQuery = None
) -> Page[BurnOut]:
    """The latest burn states, by provider and metric."""
    chosen = scope.providers(provider)
    found: dict[str, list[BurnOut]] = {}
    with opened.connect() as connection:
        for month in periods_evaluated(connection, providers=chosen)[:RECENT_PERIODS]:
            for card in scorecards(connection, providers=chosen, period=month):
                if card.provider_id in found:
                    continue
                rows = [
                    BurnOut(
                        provider_id=card.provider_id,
                        period=f"{card.period:%Y-%m}",
                        as_of=card.as_of,
                        metric=m.metric,
                        segment=m.segment,
                        value=m.value,
                        threshold=m.threshold,
                        lower_is_better=m.lower_is_better,
                        burn=BurnStateOut.of(m.burn),
                    )
                    for m in card.metrics
                    if m.burn is not None
                ]
                if rows:
                    found[card.provider_id] = rows
    out = [row for provider_id in sorted(found) for row in found[provider_id]]
    return Page[BurnOut].of(page_slice(out, paging.limit, paging.offset), len(out), paging)
