"""The contract of DESIGN section 6 as frozen, validated pydantic models."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from tallyclerk.contracts._catalogue import (
    DEFAULT_SHIP_RULE,
    KPI_NAMES,
    TOLERANCE_METRICS,
)
from tallyclerk.contracts._checks import cross_check
from tallyclerk.contracts._values import (
    ERROR_TYPE,
    ContractDate,
    CountryCode,
    CurrencyCode,
    Cutoff,
    EmptyDictIfNone,
    EmptyIfNone,
    Identifier,
    IncidentCredit,
    IncidentKindName,
    MetricName,
    Money,
    NonNegativeFloat,
    NonNegativeInt,
    NonNegativePercent,
    Percent,
    PositiveInt,
    Rate,
    ShipRuleName,
    Text,
    TimeZoneName,
    check_subdivision,
    fail,
)

_CONFIG = ConfigDict(
    extra="forbid",
    frozen=True,
    allow_inf_nan=False,
    validate_by_name=True,
    validate_by_alias=True,
)


class FacilityTerms(BaseModel):
    """A facility of the provider: its time zone, business calendar and order cutoff."""

    model_config = _CONFIG

    id: Identifier
    timezone: TimeZoneName
    country: CountryCode
    subdivision: Text | None = None
    cutoff: Cutoff

    @field_validator("subdivision")
    @classmethod
    def _subdivision_of_country(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if value is None or not isinstance(country, str):
            return value
        return check_subdivision(value, country)


class CapacityTerms(BaseModel):
    """The order volume the provider commits to handle per day, and the pallets it will store.

    `peak_orders_per_day` applies on the days of the contract's peak windows; `storage_pallets`
    (optional) is the pallet positions reserved for the brand.
    """

    model_config = _CONFIG

    orders_per_day: PositiveInt
    peak_orders_per_day: PositiveInt | None = None
    storage_pallets: PositiveInt | None = None


class MetricTerms(BaseModel):
    """What the contract holds one metric to: a `target` (higher is better) or a `max`."""

    model_config = _CONFIG

    target: Rate | None = None
    max: NonNegativeFloat | None = None
    rule: ShipRuleName | None = None
    tolerance_units: NonNegativeInt | None = None
    within_business_days: PositiveInt | None = None

    @model_validator(mode="after")
    def _exactly_one_threshold(self) -> Self:
        if (self.target is None) == (self.max is None):
            fail(
                "give exactly one of 'target' (for metrics where higher is better) "
                "or 'max' (for metrics where lower is better)"
            )
        return self

    @property
    def lower_is_better(self) -> bool:
        """True when the metric is held to a `max` rather than a `target`."""
        return self.max is not None

    @property
    def threshold(self) -> float:
        """The target (a floor) or the max (a ceiling), whichever the terms give."""
        if self.max is not None:
            return self.max
        assert self.target is not None  # guaranteed by validation
        return self.target

    def meets(self, value: float) -> bool:
        """Whether a measured value satisfies these terms."""
        return value <= self.threshold if self.lower_is_better else value >= self.threshold


class MetricOverride(BaseModel):
    """A peak variant's changes to one metric's terms; the keys given replace the base ones."""

    model_config = _CONFIG

    target: Rate | None = None
    max: NonNegativeFloat | None = None
    rule: ShipRuleName | None = None
    tolerance_units: NonNegativeInt | None = None
    within_business_days: PositiveInt | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        given = self.model_dump(exclude_none=True)
        if not given:
            fail("give at least one of target, max, rule, tolerance_units, within_business_days")
        if "target" in given and "max" in given:
            fail("give at most one of 'target' or 'max'")
        return self

    def apply_to(self, base: MetricTerms) -> MetricTerms:
        """The base terms with this override's keys replacing theirs."""
        return base.model_copy(update=self.model_dump(exclude_none=True))


class PeakVariant(BaseModel):
    """Terms that replace the base metric terms between two dates, both included."""

    model_config = _CONFIG

    from_: ContractDate = Field(alias="from")
    to: ContractDate
    metrics: Annotated[dict[MetricName, MetricOverride], EmptyDictIfNone] = Field(
        default_factory=dict
    )

    def holds(self, on: date) -> bool:
        """Whether the day falls in this window."""
        return self.from_ <= on <= self.to


class ExclusionWindow(BaseModel):
    """Days, both ends included, that SLA evaluation leaves out (force majeure and the like)."""

    model_config = _CONFIG

    from_: ContractDate = Field(alias="from")
    to: ContractDate
    reason: Text

    def holds(self, on: date) -> bool:
        """Whether the day falls in this window."""
        return self.from_ <= on <= self.to


class CreditTier(BaseModel):
    """A credit owed when a metric falls below a level in a period."""

    model_config = _CONFIG

    metric: MetricName
    below: Rate
    credit_pct_of_fees: Percent


class CreditTerms(BaseModel):
    """Service credits: tiers per metric, per-incident credits, and a cap on the total."""

    model_config = _CONFIG

    cap_pct_of_fees: Percent
    tiers: Annotated[list[CreditTier], EmptyIfNone] = Field(default_factory=list)
    per_incident: Annotated[dict[IncidentKindName, IncidentCredit], EmptyDictIfNone] = Field(
        default_factory=dict
    )


class RateCard(BaseModel):
    """The provider's prices, in the contract's currency."""

    model_config = _CONFIG

    pick_pack: Money
    additional_unit: Money
    packaging: Annotated[dict[Text, Money], EmptyDictIfNone] = Field(default_factory=dict)
    storage_per_pallet_month: Money
    receiving_per_unit: Money
    returns_per_unit: Money
    shipping_markup_pct: NonNegativePercent


class Contract(BaseModel):
    """One version of a provider's contract, in force from its `effective` date."""

    model_config = _CONFIG

    provider: Identifier
    name: Text
    effective: ContractDate
    currency: CurrencyCode
    facilities: list[FacilityTerms]
    capacity: CapacityTerms
    metrics: dict[MetricName, MetricTerms]
    peak: Annotated[list[PeakVariant], EmptyIfNone] = Field(default_factory=list)
    exclusions: Annotated[list[ExclusionWindow], EmptyIfNone] = Field(default_factory=list)
    closed_dates: Annotated[list[ContractDate], EmptyIfNone] = Field(default_factory=list)
    credits: CreditTerms
    rates: RateCard

    @model_validator(mode="wrap")
    @classmethod
    def _check_across_keys(
        cls, data: Any, handler: ModelWrapValidatorHandler[Contract]
    ) -> Contract:
        if not isinstance(data, Mapping):
            return handler(data)
        problems = [
            InitErrorDetails(
                type=PydanticCustomError(ERROR_TYPE, "{reason}", {"reason": message}),
                loc=loc,
                input=data,
            )
            for loc, message in cross_check(data)
        ]
        try:
            contract = handler(data)
        except ValidationError as exc:
            if not problems:
                raise
            raise ValidationError.from_exception_data(
                cls.__name__, _as_init_errors(exc) + problems
            ) from None
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, problems)
        return contract

    @field_validator("metrics", mode="after")
    @classmethod
    def _metric_defaults(cls, metrics: dict[str, MetricTerms]) -> dict[str, MetricTerms]:
        filled: dict[str, MetricTerms] = {}
        for name, terms in metrics.items():
            if name == "ship_on_time_rate" and terms.rule is None:
                terms = terms.model_copy(update={"rule": DEFAULT_SHIP_RULE})
            if name in TOLERANCE_METRICS and terms.tolerance_units is None:
                terms = terms.model_copy(update={"tolerance_units": 0})
            filled[name] = terms
        return filled

    def facility(self, facility_id: str) -> FacilityTerms:
        """The terms of one facility; KeyError when the contract has no such facility."""
        for facility in self.facilities:
            if facility.id == facility_id:
                return facility
        known = ", ".join(f.id for f in self.facilities)
        raise KeyError(
            f"contract of {self.provider} effective {self.effective} has no facility "
            f"{facility_id!r} (it has: {known})"
        )

    def peak_variant(self, on: date) -> PeakVariant | None:
        """The peak variant whose window holds the day, if any."""
        return next((variant for variant in self.peak if variant.holds(on)), None)

    def metric_terms(self, name: str, on: date) -> MetricTerms | None:
        """The terms of a metric on a day, peak overrides applied; None when not contracted."""
        if name not in KPI_NAMES:
            raise ValueError(f"unknown metric {name!r}")
        base = self.metrics.get(name)
        if base is None:
            return None
        variant = self.peak_variant(on)
        if variant is not None and name in variant.metrics:
            return variant.metrics[name].apply_to(base)
        return base

    def is_excluded(self, on: date) -> ExclusionWindow | None:
        """The exclusion window holding the day, if any."""
        return next((window for window in self.exclusions if window.holds(on)), None)


def _as_init_errors(exc: ValidationError) -> list[InitErrorDetails]:
    """Turn a ValidationError's errors back into details that can build a new one."""
    details: list[InitErrorDetails] = []
    for error in exc.errors(include_url=False):
        ctx = error.get("ctx")
        if error["type"] == ERROR_TYPE:
            kind: str | PydanticCustomError = PydanticCustomError(
                ERROR_TYPE, "{reason}", {"reason": error["msg"]}
            )
        else:
            kind = error["type"]
        detail = InitErrorDetails(type=kind, loc=error["loc"], input=error["input"])
        if ctx is not None and not isinstance(kind, PydanticCustomError):
            detail["ctx"] = ctx
        details.append(detail)
    return details
