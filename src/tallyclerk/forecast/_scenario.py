"""Peak scenarios: the YAML that says which demand to play against which capacity.

A scenario names a provider, the days to simulate, how to turn the forecast into demand
(quantile, growth, promotion spikes, days replaced outright) and how to change the
contract's capacity (overrides, booked overflow, a split across facilities). Every problem
in a file is reported as `file:line: key: message`, as contracts are (docs/peak.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainValidator

from tallyclerk.contracts._located import LocatedIssue, parse_located, render_issues, sort_issues
from tallyclerk.contracts._values import (
    ContractDate,
    EmptyDictIfNone,
    EmptyIfNone,
    Identifier,
    Money,
    Rate,
    Text,
    as_number,
    describe,
    did_you_mean,
    fail,
)
from tallyclerk.errors import InputError
from tallyclerk.forecast._peak import CapacityPlan, ExtraCapacity

QUANTILES = ("p50", "p90")
"""The forecast lines a scenario may take as its demand."""
MAX_DAYS = 366
"""The longest span a scenario may simulate."""
MAX_FACTOR = 100
"""The largest multiplier accepted (a larger one is most likely a percentage typed as a factor)."""


# --- located problems ----------------------------------------------------------------------


# One problem in a scenario: where it is (file, line, dotted key) and what is wrong.
ScenarioIssue = LocatedIssue


class ScenarioError(InputError):
    """A scenario that cannot be used; `errors` lists every problem found, in file order."""

    def __init__(self, errors: Iterable[ScenarioIssue]) -> None:
        """Keep the problems, sorted by line, and build a readable message from them."""
        self.errors: list[ScenarioIssue] = sort_issues(errors)
        super().__init__(render_issues(self.errors, "scenario"))


# --- values --------------------------------------------------------------------------------


def _factor(value: object) -> float:
    number = as_number(value)
    if number is None or not 0 < number <= MAX_FACTOR:
        fail(
            f"must be a multiplier above 0 and at most {MAX_FACTOR} (1.2 means +20%), "
            f"got {describe(value)}"
        )
    return float(number)


def _orders(value: object) -> float:
    number = as_number(value)
    if number is None or number < 0:
        fail(f"must be a number of orders of 0 or more, got {describe(value)}")
    return float(number)


def _positive_orders(value: object) -> float:
    number = as_number(value)
    if number is None or number <= 0:
        fail(f"must be a number of orders above 0, got {describe(value)}")
    return float(number)


def _quantile(value: object) -> str:
    if not isinstance(value, str) or value not in QUANTILES:
        hint = did_you_mean(value, QUANTILES)
        fail(f"unknown quantile {describe(value)} ({hint}expected one of: {', '.join(QUANTILES)})")
    return value


def _weight(value: object) -> float:
    number = as_number(value)
    if number is None or not 0 < number <= 1:
        fail(f"must be a share above 0 and at most 1, got {describe(value)}")
    return float(number)


Factor = Annotated[float, PlainValidator(_factor, json_schema_input_type=float)]
Orders = Annotated[float, PlainValidator(_orders, json_schema_input_type=float)]
PositiveOrders = Annotated[float, PlainValidator(_positive_orders, json_schema_input_type=float)]
Quantile = Annotated[str, PlainValidator(_quantile, json_schema_input_type=str)]
Weight = Annotated[float, PlainValidator(_weight, json_schema_input_type=float)]

_CONFIG = ConfigDict(
    extra="forbid",
    frozen=True,
    allow_inf_nan=False,
    validate_by_name=True,
    validate_by_alias=True,
)


# --- the model -----------------------------------------------------------------------------


class Spike(BaseModel):
    """A promotion: demand multiplied by `factor` between two dates, both included."""

    model_config = _CONFIG

    from_: ContractDate = Field(alias="from")
    to: ContractDate
    factor: Factor
    label: Text | None = None

    def holds(self, day: date) -> bool:
        """Whether the day falls in the spike."""
        return self.from_ <= day <= self.to


class DemandTerms(BaseModel):
    """How the forecast becomes the simulated demand."""

    model_config = _CONFIG

    quantile: Quantile = "p90"
    scale: Factor = 1.0
    spikes: Annotated[list[Spike], EmptyIfNone] = Field(default_factory=list)
    orders: Annotated[dict[ContractDate, Orders], EmptyDictIfNone] = Field(default_factory=dict)
    before_cutoff_share: Rate | None = None

    def factor(self, day: date) -> float:
        """The multiplier of a day: scale times every spike holding it (spikes multiply)."""
        value = self.scale
        for spike in self.spikes:
            if spike.holds(day):
                value *= spike.factor
        return value

    def adjust(self, day: date, forecast: Mapping[str, float]) -> dict[str, float]:
        """One day's demand per facility from its forecast per facility.

        The forecast times factor(day); on a day listed under `orders`, that number replaces
        the provider's demand outright, split across facilities in the forecast's mix of the
        day (evenly when the forecast is 0 everywhere).
        """
        replaced = self.orders.get(day)
        if replaced is None:
            multiplier = self.factor(day)
            return {facility: value * multiplier for facility, value in forecast.items()}
        total = sum(forecast.values())
        if total > 0:
            return {facility: replaced * value / total for facility, value in forecast.items()}
        if not forecast:
            return {}
        return dict.fromkeys(forecast, replaced / len(forecast))


class ExtraBooking(BaseModel):
    """Overflow capacity booked with the provider between two dates, both included."""

    model_config = _CONFIG

    from_: ContractDate = Field(alias="from")
    to: ContractDate
    orders_per_day: PositiveOrders
    label: Text | None = None


class CapacityChanges(BaseModel):
    """Changes to the contract's capacity; every key is optional."""

    model_config = _CONFIG

    orders_per_day: PositiveOrders | None = None
    peak_orders_per_day: PositiveOrders | None = None
    extra: Annotated[list[ExtraBooking], EmptyIfNone] = Field(default_factory=list)
    split: Annotated[dict[Identifier, Weight], EmptyDictIfNone] = Field(default_factory=dict)


class Scenario(BaseModel):
    """A peak scenario: whose floor, which days, which demand, which capacity."""

    model_config = _CONFIG

    name: Text
    provider: Identifier
    as_of: ContractDate | None = None
    from_: ContractDate = Field(alias="from")
    to: ContractDate
    demand: DemandTerms = Field(default_factory=DemandTerms)
    capacity: CapacityChanges = Field(default_factory=CapacityChanges)
    second_provider: Identifier | None = None
    fee_per_order: Money | None = None

    @property
    def start(self) -> date:
        """The first simulated day."""
        return self.from_

    @property
    def end(self) -> date:
        """The last simulated day."""
        return self.to

    def days(self) -> list[date]:
        """Every simulated day, in order."""
        return [self.from_ + timedelta(days=i) for i in range((self.to - self.from_).days + 1)]

    def capacity_plan(self) -> CapacityPlan:
        """The scenario's capacity as the simulation takes it."""
        changes = self.capacity
        return CapacityPlan(
            orders_per_day=changes.orders_per_day,
            peak_orders_per_day=changes.peak_orders_per_day,
            extra=tuple(
                ExtraCapacity(block.from_, block.to, block.orders_per_day, block.label or "")
                for block in changes.extra
            ),
            split=dict(changes.split) or None,
        )


# --- checks across keys --------------------------------------------------------------------


def _cross_check(scenario: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems that involve several keys: spans, windows, shares."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    start, end = scenario.from_, scenario.to
    if end < start:
        out.append((("to",), f"must not be before from ({start}), got {end}"))
        return out
    if (end - start).days + 1 > MAX_DAYS:
        out.append(
            (("to",), f"the scenario spans {(end - start).days + 1} days; at most {MAX_DAYS}")
        )
    window = f"{start}..{end}"
    for index, spike in enumerate(scenario.demand.spikes):
        loc: tuple[str | int, ...] = ("demand", "spikes", index)
        if spike.to < spike.from_:
            out.append(((*loc, "to"), f"must not be before from ({spike.from_}), got {spike.to}"))
        elif spike.to < start or spike.from_ > end:
            out.append((loc, f"no day of {spike.from_}..{spike.to} falls within {window}"))
    for day in scenario.demand.orders:
        if not start <= day <= end:
            out.append((("demand", "orders", day.isoformat()), f"{day} is outside {window}"))
    for index, block in enumerate(scenario.capacity.extra):
        loc = ("capacity", "extra", index)
        if block.to < block.from_:
            out.append(((*loc, "to"), f"must not be before from ({block.from_}), got {block.to}"))
        elif block.to < start or block.from_ > end:
            out.append((loc, f"no day of {block.from_}..{block.to} falls within {window}"))
    split = scenario.capacity.split
    if split and abs(sum(split.values()) - 1) > 0.001:
        total = sum(split.values())
        out.append(
            (("capacity", "split"), f"the shares must add up to 1; they add up to {total:g}")
        )
    if scenario.second_provider is not None and scenario.second_provider == scenario.provider:
        out.append((("second_provider",), f"must be another provider than {scenario.provider}"))
    return out


# --- loading -------------------------------------------------------------------------------


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate scenario YAML; raise ScenarioError listing every problem found."""
    scenario, issues = parse_located(
        text, source, Scenario, "scenario", prepare=_iso_keys, check=_cross_check
    )
    if issues or scenario is None:
        raise ScenarioError(issues)
    return scenario


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; raise ScenarioError listing every problem found."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"the file is not UTF-8 text (byte {exc.start})"
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
    else:
        return parse_scenario(text, str(path))
    raise ScenarioError([ScenarioIssue(str(path), None, "", message)])


def _iso_keys(data: object) -> object:
    """The data with every date used as a mapping key written as text (2026-11-27).

    Validation reads the text back as a date; an error then names the key as it is written
    in the file, so that it can be located.
    """
    if isinstance(data, dict):
        return {
            (key.isoformat() if isinstance(key, date) else key): _iso_keys(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [_iso_keys(item) for item in data]
    return data
