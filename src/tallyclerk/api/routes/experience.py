"""Customer experience per provider: perfect orders, delivery, damage, mis-ships, feedback."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from tallyclerk.api._deps import ScopeDep, ServiceState, StoreDep, service
from tallyclerk.api._models import (
    AsOfQuery,
    FromQuery,
    ProviderQuery,
    ToQuery,
    check_range,
    errors,
    parse_clock,
    parse_first_day,
    parse_last_day,
)
from tallyclerk.experience import (
    ID_LIMIT,
    TOTAL,
    Breakdown,
    Ids,
    ProviderExperience,
    Rate,
    experience_report,
)
from tallyclerk.metrics import open_context

router = APIRouter(prefix="/api/v1", tags=["experience"])

State = Annotated[ServiceState, Depends(service)]
DEFAULT_ID_LIMIT = 100


class IdsOut(BaseModel):
    """The ids behind a figure: the first `id_limit` (sorted) and how many in all."""

    total: int
    ids: list[str]
    truncated: bool

    @classmethod
    def of(cls, ids: Ids) -> IdsOut:
        """The API form of an id list."""
        return cls(total=ids.total, ids=list(ids.ids), truncated=ids.truncated)


class BreakdownOut(BaseModel):
    """A count within a figure: a failure reason, a cause, a route, a tag."""

    key: str
    count: int
    base: int
    share: float | None
    orders: IdsOut
    records: IdsOut | None  # feedback or audit ids, where the count is of those

    @classmethod
    def of(cls, b: Breakdown) -> BreakdownOut:
        """The API form of a breakdown."""
        return cls(
            key=b.key,
            count=b.count,
            base=b.base,
            share=b.share,
            orders=IdsOut.of(b.orders),
            records=IdsOut.of(b.records) if b.records is not None else None,
        )


class RateOut(BaseModel):
    """A rate read from a catalogue KPI (metric) or a plain count ratio (metric null)."""

    metric: str | None
    value: float | None
    numerator: int
    denominator: int

    @classmethod
    def of(cls, rate: Rate) -> RateOut:
        """The API form of a rate."""
        return cls(
            metric=rate.metric,
            value=rate.value,
            numerator=rate.numerator,
            denominator=rate.denominator,
        )


class PerfectOrderOut(BaseModel):
    """perfect_order_rate, and why the other orders were not perfect."""

    rate: RateOut
    failed: BreakdownOut
    reasons: list[BreakdownOut]


class DeliveryOut(BaseModel):
    """delivery_on_time_rate, and the late deliveries by cause (3PL or carrier)."""

    rate: RateOut
    late: BreakdownOut
    causes: list[BreakdownOut]


class DamageOut(BaseModel):
    """Damaged orders, and how the damage became known."""

    damage_rate: float | None
    damage_free: RateOut
    damaged: BreakdownOut
    routes: list[BreakdownOut]


class MisShipOut(BaseModel):
    """Mis-shipped orders, and how each picking error became known."""

    misship_rate: float | None
    order_accuracy: RateOut
    misshipped: BreakdownOut
    routes: list[BreakdownOut]


class FeedbackOut(BaseModel):
    """What customers said: responses, scores and tags."""

    responses: int
    scored: int
    mean_score: float | None
    distribution: dict[str, int]
    tags: list[BreakdownOut]


class AuditItemOut(BaseModel):
    """One checklist item of the packaging audits."""

    checklist_item: str
    checks: int
    passed: int
    pass_rate: float | None
    failed_audits: IdsOut
    failed_orders: IdsOut


class AuditsOut(BaseModel):
    """The packaging audits of the period."""

    orders_audited: int
    orders_passed: int
    pass_rate: float | None
    items: list[AuditItemOut]


class ProviderExperienceOut(BaseModel):
    """Every experience figure of one provider (provider_id null: the total row)."""

    provider_id: str | None
    perfect_order: PerfectOrderOut
    delivery: DeliveryOut
    damage: DamageOut
    misship: MisShipOut
    feedback: FeedbackOut
    audits: AuditsOut

    @classmethod
    def of(cls, p: ProviderExperience) -> ProviderExperienceOut:
        """The API form of one provider's figures."""
        return cls(
            provider_id=None if p.provider_id == TOTAL else p.provider_id,
            perfect_order=PerfectOrderOut(
                rate=RateOut.of(p.perfect_order.rate),
                failed=BreakdownOut.of(p.perfect_order.failed),
                reasons=[BreakdownOut.of(b) for b in p.perfect_order.reasons],
            ),
            delivery=DeliveryOut(
                rate=RateOut.of(p.delivery.rate),
                late=BreakdownOut.of(p.delivery.late),
                causes=[BreakdownOut.of(b) for b in p.delivery.causes],
            ),
            damage=DamageOut(
                damage_rate=p.damage.damage_rate,
                damage_free=RateOut.of(p.damage.rate),
                damaged=BreakdownOut.of(p.damage.damaged),
                routes=[BreakdownOut.of(b) for b in p.damage.routes],
            ),
            misship=MisShipOut(
                misship_rate=p.misship.misship_rate,
                order_accuracy=RateOut.of(p.misship.rate),
                misshipped=BreakdownOut.of(p.misship.misshipped),
                routes=[BreakdownOut.of(b) for b in p.misship.routes],
            ),
            feedback=FeedbackOut(
                responses=p.feedback.responses,
                scored=p.feedback.scored,
                mean_score=p.feedback.mean_score,
                distribution={str(score): n for score, n in p.feedback.distribution},
                tags=[BreakdownOut.of(b) for b in p.feedback.tags],
            ),
            audits=AuditsOut(
                orders_audited=p.audits.orders_audited,
                orders_passed=p.audits.orders_passed,
                pass_rate=p.audits.pass_rate,
                items=[
                    AuditItemOut(
                        checklist_item=i.checklist_item,
                        checks=i.checks,
                        passed=i.passed,
                        pass_rate=i.pass_rate,
                        failed_audits=IdsOut.of(i.failed_audits),
                        failed_orders=IdsOut.of(i.failed_orders),
                    )
                    for i in p.audits.items
                ],
            ),
        )


class ExperienceOut(BaseModel):
    """The customer-experience report of the days period_start..period_end."""

    period_start: date
    period_end: date
    as_of: datetime
    id_limit: int
    providers: list[ProviderExperienceOut]
    total: ProviderExperienceOut  # the providers together (a provider user: its own)


def _previous_month(clock: datetime) -> tuple[date, date]:
    last = clock.date().replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


@router.get(
    "/experience",
    response_model=ExperienceOut,
    summary="Customer experience",
    description="Per provider and in total for the days `from`..`to` (months or dates; "
    "default the last full month): perfect-order rate and why orders were not perfect, "
    "late deliveries by cause (3PL or carrier), damage and mis-ships with how they became "
    "known, feedback scores and tags, packaging audits, each with the orders behind it "
    "(the first `id_limit`). A provider user gets its own figures only.",
    responses=errors(400, 404, 422),
)
def experience(
    scope: ScopeDep,
    opened: StoreDep,
    state: State,
    provider: ProviderQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
    id_limit: Annotated[
        int, Query(ge=1, le=ID_LIMIT, description="At most this many ids per figure.")
    ] = DEFAULT_ID_LIMIT,
    as_of: AsOfQuery = None,
) -> ExperienceOut:
    """The experience report."""
    chosen = scope.providers(provider)
    clock = parse_clock(as_of)
    first, last = parse_first_day(start), parse_last_day(end)
    if first is None and last is None:
        first, last = _previous_month(clock or datetime.now(UTC))
    elif first is None:
        assert last is not None
        first = last.replace(day=1)
    elif last is None:
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    check_range(first, last)
    with open_context(opened, as_of=clock, settings=state.settings) as ctx:
        report = experience_report(ctx, first, last, chosen, id_limit=id_limit)
    return ExperienceOut(
        period_start=report.period_start,
        period_end=report.period_end,
        as_of=report.as_of,
        id_limit=report.id_limit,
        providers=[ProviderExperienceOut.of(p) for p in report.providers],
        total=ProviderExperienceOut.of(report.total),
    )
