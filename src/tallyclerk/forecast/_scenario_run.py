"""A peak scenario played against the store: forecast (or recorded) demand into the simulation.

The demand of each facility comes from the provider's forecast as of the scenario's `as_of`
(P50 or P90, scaled, with spikes and days given outright), or, for simulated days on or
before `as_of`, from the orders actually released then (a replay: last year's peak against
this year's capacity). The share of orders released before the cutoff and the fee per order
are measured on the provider's last eight weeks of history unless the scenario gives them.
The second provider's spare capacity (its committed capacity less its own P90 load) tells
whether the routed share would fit there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from tallyclerk.calendar import BusinessCalendar, FacilityClock
from tallyclerk.contracts import Contract, contract_in_force
from tallyclerk.contracts._repository import contract_versions
from tallyclerk.errors import InputError
from tallyclerk.forecast._capacity import business_loads, daily_capacity
from tallyclerk.forecast._peak import FacilityDemand, PeakResult, simulate_peak
from tallyclerk.forecast._scenario import Scenario
from tallyclerk.forecast._service import (
    SHARE_WINDOW_DAYS,
    ForecastInputs,
    ForecastRun,
    default_as_of,
    forecast_inputs,
    read_inputs,
)
from tallyclerk.forecast._types import DailySeries, SeriesKey
from tallyclerk.metrics import MetricContext, open_context
from tallyclerk.settings import Settings, get_settings
from tallyclerk.store import Store
from tallyclerk.store.schema import providers

_CENT = Decimal("0.01")


@dataclass
class ScenarioInputs:
    """What a scenario needs from the store, read in one short visit."""

    scenario: Scenario
    as_of: date
    forecast: ForecastInputs
    versions: list[Contract]
    cutoff_shares: dict[str, float]
    units_per_order: float | None
    second_versions: list[Contract] = field(default_factory=list)


@dataclass
class ScenarioOutcome:
    """The simulation's result with the forecast run it was fed from."""

    scenario: Scenario
    as_of: date
    result: PeakResult
    run: ForecastRun
    notes: list[str]


def _known(connection: sa.Connection, provider_id: str, what: str) -> None:
    known = set(connection.execute(sa.select(providers.c.provider_id)).scalars())
    if provider_id not in known:
        raise InputError(
            f"{what} {provider_id!r} is not a provider of this store; it knows: "
            + (", ".join(sorted(known)) or "none yet")
        )


def read_scenario_inputs(
    store: Store, scenario: Scenario, *, settings: Settings | None = None
) -> ScenarioInputs:
    """Read the histories, contracts and recent release habits the scenario needs."""
    settings = settings or get_settings()
    as_of = scenario.as_of or default_as_of(settings)
    provider_id = scenario.provider
    with store.connect() as connection:
        _known(connection, provider_id, "provider")
        versions = contract_versions(connection, provider_id)
        second_versions: list[Contract] = []
        if scenario.second_provider is not None:
            _known(connection, scenario.second_provider, "second_provider")
            second_versions = contract_versions(connection, scenario.second_provider)
    if not versions:
        raise InputError(f"{provider_id} has no contract: add one before simulating its peak")
    horizon = max(1, (scenario.end - as_of).days)
    inputs = read_inputs(store, as_of=as_of, horizon=horizon, settings=settings)
    wanted = {provider_id, scenario.second_provider}
    inputs.histories = {
        k: v
        for k, v in inputs.histories.items()
        if k.provider_id is None or k.provider_id in wanted
    }
    contract = contract_in_force(versions, scenario.start) or versions[0]
    clock = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    with open_context(store, as_of=clock, settings=settings) as ctx:
        shares = _cutoff_shares(ctx, contract, as_of)
    units = _units_per_order(inputs.histories, provider_id, as_of)
    return ScenarioInputs(scenario, as_of, inputs, versions, shares, units, second_versions)


def _cutoff_shares(ctx: MetricContext, contract: Contract, last: date) -> dict[str, float]:
    """Per facility, the share of the last eight weeks' releases made before its cutoff."""
    first = last - timedelta(days=SHARE_WINDOW_DAYS - 1)
    start = datetime.combine(first - timedelta(days=1), time(), tzinfo=UTC)
    stop = datetime.combine(last + timedelta(days=2), time(), tzinfo=UTC)
    releases = ctx.happened(ctx.table("releases"), "released_at")
    mine = releases.filter(
        (releases.provider_id == contract.provider)
        & (releases.released_at >= start)
        & (releases.released_at < stop)
    )
    per_minute = mine.group_by(
        [mine.facility_id, mine.released_at.truncate("m").name("slot")]
    ).aggregate(n=mine.count())
    counts: dict[str, list[float]] = {}
    terms = {f.id: f for f in contract.facilities}
    for row in per_minute.to_pyarrow().to_pylist():
        facility = terms.get(row["facility_id"])
        if facility is None:
            continue
        moment: datetime = row["slot"]
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        local = moment.astimezone(facility.timezone)
        if not first <= local.date() <= last:
            continue
        before = local.time() < facility.cutoff
        tally = counts.setdefault(facility.id, [0.0, 0.0])
        tally[0 if before else 1] += row["n"]
    return {fid: b / (b + a) for fid, (b, a) in counts.items() if b + a > 0}


def _units_per_order(
    histories: dict[SeriesKey, DailySeries], provider_id: str, last: date
) -> float | None:
    orders = histories.get(SeriesKey(provider_id, None, "orders"))
    units = histories.get(SeriesKey(provider_id, None, "units"))
    if orders is None or units is None:
        return None
    n = float(orders.values[-SHARE_WINDOW_DAYS:].sum())
    return float(units.values[-SHARE_WINDOW_DAYS:].sum()) / n if n > 0 else None


def simulate_scenario(inputs: ScenarioInputs) -> ScenarioOutcome:
    """Forecast, shape the demand as the scenario says, and play it (no store needed)."""
    scenario = inputs.scenario
    run = forecast_inputs(inputs.forecast)
    notes: list[str] = []
    contract = contract_in_force(inputs.versions, scenario.start) or inputs.versions[0]
    closed = sorted({d for v in inputs.versions for d in v.closed_dates})
    demand = _demand(inputs, run, contract)
    facilities: list[FacilityDemand] = []
    for terms in contract.facilities:
        calendar = BusinessCalendar(terms.country, terms.subdivision, closed)
        clock = FacilityClock(terms.id, terms.timezone, terms.cutoff, calendar)
        share = scenario.demand.before_cutoff_share
        if share is None:
            share = inputs.cutoff_shares.get(terms.id)
            if share is None:
                share = 1.0
                notes.append(
                    f"{terms.id}: no releases in the last eight weeks to measure the share "
                    "before the cutoff; all orders are taken as released before it."
                )
        facilities.append(FacilityDemand(clock, demand.get(terms.id, {}), share))
    fee = _fee_per_order(scenario, contract, inputs.units_per_order, notes)
    result = simulate_peak(
        inputs.versions,
        scenario.provider,
        facilities,
        scenario.start,
        scenario.end,
        capacity=scenario.capacity_plan(),
        fee_per_order=fee,
        second_provider=scenario.second_provider,
        second_provider_capacity=_spare(inputs, run),
    )
    if scenario.start <= inputs.as_of:
        last = min(inputs.as_of, scenario.end)
        notes.append(
            f"{scenario.start} to {last} replay the orders actually released (history up to "
            f"{inputs.as_of}); later days are forecast."
        )
    return ScenarioOutcome(scenario, inputs.as_of, result, run, notes)


def _demand(
    inputs: ScenarioInputs, run: ForecastRun, contract: Contract
) -> dict[str, dict[date, float]]:
    """Orders per facility and day: recorded up to as_of, forecast after, shaped by the scenario."""
    scenario = inputs.scenario
    histories = inputs.forecast.histories
    quantile = scenario.demand.quantile
    per_day: dict[date, dict[str, float]] = {}
    for terms in contract.facilities:
        key = SeriesKey(scenario.provider, terms.id, "orders")
        history = histories.get(key)
        forecast = run.find(scenario.provider, terms.id, "orders")
        for day in scenario.days():
            value = 0.0
            if day <= inputs.as_of:
                if history is not None and history.start <= day <= history.end:
                    value = float(history.values[(day - history.start).days])
            elif forecast is not None and forecast.start <= day <= forecast.end:
                line = forecast.p90 if quantile == "p90" else forecast.p50
                value = float(line[(day - forecast.start).days])
            per_day.setdefault(day, {})[terms.id] = value
    shaped: dict[str, dict[date, float]] = {}
    for day, values in per_day.items():
        for facility_id, value in scenario.demand.adjust(day, values).items():
            shaped.setdefault(facility_id, {})[day] = value
    return shaped


def _fee_per_order(
    scenario: Scenario, contract: Contract, units_per_order: float | None, notes: list[str]
) -> Decimal:
    if scenario.fee_per_order is not None:
        return Decimal(scenario.fee_per_order)
    rates = contract.rates
    if units_per_order is None:
        notes.append("Fee per order: the contract's pick_pack rate (no recent units to measure).")
        return Decimal(rates.pick_pack)
    extra = Decimal(str(max(0.0, units_per_order - 1)))
    fee = (rates.pick_pack + rates.additional_unit * extra).quantize(_CENT)
    notes.append(
        f"Fee per order {fee}: pick_pack {rates.pick_pack} plus additional_unit "
        f"{rates.additional_unit} for the {units_per_order - 1:.2f} extra units of an average "
        "order over the last eight weeks."
    )
    return fee


def _spare(inputs: ScenarioInputs, run: ForecastRun) -> float | None:
    """The second provider's least spare capacity over the simulated business days."""
    second = inputs.scenario.second_provider
    if second is None or not inputs.second_versions:
        return None
    forecast = run.find(second, None, "orders")
    if forecast is None:
        return None
    spare: list[float] = []
    for day, _p50, p90 in business_loads(forecast, inputs.second_versions):
        if inputs.scenario.start <= day <= inputs.scenario.end:
            capacity, _peak = daily_capacity(inputs.second_versions, day)
            if capacity is not None:
                spare.append(max(0.0, capacity - p90))
    return min(spare) if spare else None


def run_scenario(
    store: Store, scenario: Scenario, *, settings: Settings | None = None
) -> ScenarioOutcome:
    """read_scenario_inputs then simulate_scenario, holding the store for both."""
    return simulate_scenario(read_scenario_inputs(store, scenario, settings=settings))


__all__ = [
    "ScenarioInputs",
    "ScenarioOutcome",
    "read_scenario_inputs",
    "run_scenario",
    "simulate_scenario",
]
