"""The KPI catalogue, its figures per provider and period, and the items behind a figure.

Figures are computed on the store's own engine from the catalogue's definitions (the same
ones the scorecards are evaluated with); a drill-down lists the orders, shipments, receipts
... that a figure counts, with whether each counted as good or bad.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from tallyclerk.access import NotFoundError
from tallyclerk.api._csv import FormatQuery, csv_response, csv_responses, table_rows
from tallyclerk.api._deps import ScopeDep, ServiceState, StoreDep, service
from tallyclerk.api._models import (
    DAY_OR_MONTH_PATTERN,
    NAME_PATTERN,
    AsOfQuery,
    FromQuery,
    ProviderQuery,
    ToQuery,
    check_range,
    errors,
    page_slice,
    parse_clock,
    parse_first_day,
    parse_last_day,
)
from tallyclerk.api._pagination import Page, PageParams, page_params
from tallyclerk.errors import InputError
from tallyclerk.metrics import (
    Grain,
    Metric,
    catalogue,
    compute,
    get_metric,
    metric_items,
    open_context,
    period_start,
)

router = APIRouter(prefix="/api/v1", tags=["kpis"])

Paging = Annotated[PageParams, Depends(page_params)]
State = Annotated[ServiceState, Depends(service)]
MetricPath = Annotated[
    str, Path(pattern=NAME_PATTERN, description="A KPI of the catalogue (GET /api/v1/kpis).")
]
GrainQuery = Annotated[
    Literal["month", "week", "day"], Query(description="The length of a period.")
]


class KpiOut(BaseModel):
    """One KPI of the catalogue: what it counts and which way is better."""

    name: str
    unit: str  # rate | hours
    direction: str  # higher | lower
    description: str
    numerator: str
    denominator: str

    @classmethod
    def of(cls, metric: Metric) -> KpiOut:
        """The API form of a catalogue entry."""
        return cls(
            name=metric.name,
            unit=metric.unit,
            direction=metric.direction,
            description=metric.description,
            numerator=metric.numerator,
            denominator=metric.denominator,
        )


class FigureOut(BaseModel):
    """A KPI for a provider (and facility) over one period; value null means no data."""

    metric: str
    provider_id: str
    facility_id: str | None
    period: date  # the period's first day
    grain: str
    value: float | None
    numerator: int
    denominator: int


class KpiItemOut(BaseModel):
    """One item behind a figure (an order, a shipment, a receipt ...).

    `period_date` is the facility-local date that places it in a period: its deadline's
    date, or the event's date for KPIs without a deadline. `outcome` is good or bad for a
    rate (bad: it pulls the rate the wrong way), `measured` for an hours KPI (`value`).
    """

    metric: str
    item_id: str
    provider_id: str
    facility_id: str | None
    period_date: date
    outcome: str  # good | bad | measured
    in_numerator: bool
    value: float | None


def _metric(name: str) -> Metric:
    try:
        return get_metric(name)
    except ValueError:
        raise NotFoundError(f"no KPI {name!r} in the catalogue (see GET /api/v1/kpis)") from None


def _outcome(metric: Metric, hit: bool) -> str:
    if metric.quantile is not None:
        return "measured"
    good = hit != metric.lower_is_better  # a hit of a lower-is-better KPI is a failure
    return "good" if good else "bad"


def _item_out(metric: Metric, row: dict[str, Any]) -> KpiItemOut:
    return KpiItemOut(
        metric=metric.name,
        item_id=str(row["item_id"]),
        provider_id=row["provider_id"],
        facility_id=row["facility_id"],
        period_date=row["period_date"],
        outcome=_outcome(metric, bool(row["hit"])),
        in_numerator=bool(row["hit"]),
        value=None if row["value"] is None else float(row["value"]),
    )


@router.get(
    "/kpis",
    response_model=Page[KpiOut],
    summary="The KPI catalogue",
    description="Every KPI tallyclerk computes, in the catalogue's order: unit, which way "
    "is better, what its numerator and denominator count.",
    responses=errors(422),
)
def kpis(scope: ScopeDep, paging: Paging) -> Page[KpiOut]:
    """The catalogue."""
    listed = [KpiOut.of(m) for m in catalogue()]
    return Page[KpiOut].of(page_slice(listed, paging.limit, paging.offset), len(listed), paging)


@router.get(
    "/kpis/{metric}",
    response_model=Page[FigureOut],
    summary="A KPI's figures",
    description="The KPI per provider (and facility, with `by_facility`) and period, with "
    "numerator and denominator, computed now on the store (or at `as_of`). A period "
    "without data is absent, never a made-up 100%. A provider user sees its own figures; "
    "asking for another provider's gives 404.",
    responses=errors(400, 404, 422),
)
def figures(
    metric: MetricPath,
    scope: ScopeDep,
    opened: StoreDep,
    state: State,
    paging: Paging,
    provider: ProviderQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
    grain: GrainQuery = "month",
    by_facility: Annotated[bool, Query(description="One figure per facility.")] = False,
    as_of: AsOfQuery = None,
) -> Page[FigureOut]:
    """The KPI's figures."""
    chosen = scope.providers(provider)
    entry = _metric(metric)
    first, last = parse_first_day(start), parse_last_day(end)
    check_range(first, last)
    clock = parse_clock(as_of)
    with open_context(opened, as_of=clock, settings=state.settings) as ctx:
        results = compute(
            ctx, [entry.name], grain=grain, by_facility=by_facility, start=first, end=last
        )
    wanted = [r for r in results if chosen is None or r.provider_id in chosen]
    out = [
        FigureOut(
            metric=r.metric,
            provider_id=r.provider_id,
            facility_id=r.facility_id,
            period=r.period,
            grain=r.grain,
            value=r.value,
            numerator=r.numerator,
            denominator=r.denominator,
        )
        for r in wanted
    ]
    return Page[FigureOut].of(page_slice(out, paging.limit, paging.offset), len(out), paging)


@router.get(
    "/kpis/{metric}/items",
    response_model=Page[KpiItemOut],
    summary="The items behind a KPI",
    description="Drill down from a figure: the orders (shipments, receipts, returns ...) a "
    "KPI counted for a provider and period, oldest period date first, each with whether "
    "it counted as good or bad, e.g. the late orders behind ship_on_time_rate "
    "(`outcome=bad`). A provider user sees its own items only. `format=csv`: every "
    "matching item as a CSV download.",
    responses={**errors(400, 404, 422), **csv_responses()},
)
def items(
    metric: MetricPath,
    scope: ScopeDep,
    opened: StoreDep,
    state: State,
    paging: Paging,
    provider: ProviderQuery = None,
    period: Annotated[
        str | None,
        Query(
            pattern=DAY_OR_MONTH_PATTERN,
            description="The period's month (YYYY-MM) or first day (week and day grains).",
            examples=["2026-02"],
        ),
    ] = None,
    grain: GrainQuery = "month",
    outcome: Annotated[
        Literal["bad", "good", "all"], Query(description="Only the bad items, the good, or all.")
    ] = "all",
    as_of: AsOfQuery = None,
    fmt: FormatQuery = "json",
) -> Page[KpiItemOut] | Response:
    """The items behind the KPI (or all of them as CSV)."""
    chosen = scope.providers(provider)
    entry = _metric(metric)
    first = parse_first_day(period, "period")
    chosen_grain: Grain = grain
    if entry.quantile is not None and outcome != "all":
        raise InputError(f"{entry.name} measures hours; every item counts (use outcome=all)")
    clock = parse_clock(as_of)
    with open_context(opened, as_of=clock, settings=state.settings) as ctx:
        table = metric_items(ctx, entry.name)
        if chosen is not None:
            table = table.filter(table.provider_id.isin(chosen))
        if first is not None:
            table = table.filter(period_start(table.period_date, chosen_grain) == first)
        if outcome != "all":
            hit_is_bad = entry.lower_is_better
            table = table.filter(table.hit == ((outcome == "bad") == hit_is_bad))
        ordered = table.order_by([table.period_date, table.item_id, table.provider_id])
        if fmt == "csv":
            return csv_response(
                f"{entry.name}-items",
                KpiItemOut,
                (_item_out(entry, row) for row in table_rows(ordered)),
            )
        total = int(table.count().to_pyarrow().as_py())
        rows = ordered.limit(paging.limit, offset=paging.offset).to_pyarrow().to_pylist()
    return Page[KpiItemOut].of([_item_out(entry, row) for row in rows], total, paging)
