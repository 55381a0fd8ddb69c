"""The RFP file: the criteria a brand scores 3PL candidates on, and each candidate's answers.

An RFP names the criteria and their weights (adding up to 100), how much a claim is worth at
each level of evidence, the standings a total falls into, what an error and a late order cost
the brand, and for each candidate its claims, integrations, evidence, the brand's ratings and
its proposed rate card (the contract's `rates` format). Every problem in a file is reported as
`file:line: key: message`, as contracts and peak scenarios are (docs/vetting.md).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, Self, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tallyclerk.contracts._catalogue import HOURS_METRICS, KPI_ORDER, LOWER_IS_BETTER_METRICS
from tallyclerk.contracts._located import LocatedIssue, parse_located, render_issues, sort_issues
from tallyclerk.contracts._schema import RateCard
from tallyclerk.contracts._values import (
    CountryCode,
    CurrencyCode,
    EmptyDictIfNone,
    EmptyIfNone,
    Identifier,
    Money,
    NonNegativeFloat,
    NonNegativeInt,
    NonNegativePercent,
    Percent,
    Rate,
    Text,
    as_number,
    as_whole,
    check_subdivision,
    describe,
    did_you_mean,
    fail,
    one_of,
)
from tallyclerk.errors import InputError

# --- vocabularies --------------------------------------------------------------------------

EvidenceLevel = Literal["none", "requested", "received", "verified"]
"""How far the brand has checked a claim: nothing, asked for proof, holds it, checked it."""
EVIDENCE_LEVELS: tuple[EvidenceLevel, ...] = get_args(EvidenceLevel)
"""Every evidence level, weakest first."""

Rule = Literal["capacity_fit", "integration_fit", "cost", "rating"]
"""How a criterion that is not a measure is scored (docs/vetting.md)."""
RULES: tuple[Rule, ...] = get_args(Rule)
"""Every scoring rule."""
SINGLE_RULES: frozenset[str] = frozenset({"capacity_fit", "integration_fit", "cost"})
"""Rules that at most one criterion may use (a second would count the same thing twice)."""
CLAIM_RULES: frozenset[str] = frozenset({"capacity_fit", "integration_fit"})
"""Rules scored on what the candidate claims, so the evidence behind the claim counts."""

EXTRA_MEASURES: dict[str, str] = {
    "dock_to_stock_hours": "hours from a receipt's arrival at the dock until its units can be "
    "picked (lower is better)",
}
"""Measures a candidate may claim beyond the KPI catalogue (DESIGN section 5)."""
MEASURES: tuple[str, ...] = (*KPI_ORDER, *EXTRA_MEASURES)
"""Every measure a criterion may score: the KPI names, then the extra measures."""
LOWER_IS_BETTER_MEASURES: frozenset[str] = LOWER_IS_BETTER_METRICS | {"dock_to_stock_hours"}
"""Measures where a lower figure is better."""
RATE_MEASURES: frozenset[str] = frozenset(MEASURES) - HOURS_METRICS - {"dock_to_stock_hours"}
"""Measures that are shares between 0 and 1 (the others are hours)."""
CAPACITY_CLAIMS: tuple[str, ...] = ("orders_per_day", "peak_orders_per_day")
"""Claims of capacity, in orders a day, as the contract's `capacity` writes them."""

Verdict = Literal["positive", "mixed", "negative"]
"""What a reference said of the candidate."""
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
"""Every verdict."""

DEFAULT_EVIDENCE_WEIGHTS: dict[EvidenceLevel, float] = {
    "none": 0.4,
    "requested": 0.5,
    "received": 0.75,
    "verified": 1.0,
}
"""The share of a claim's score kept at each level of evidence, unless the RFP says otherwise."""

_EDI_SET = re.compile(r"\d{3}")
_WINDOW = re.compile(r"(\d{4})-(\d{2})(?:\s*\.\.\s*(\d{4})-(\d{2}))?")

_CONFIG = ConfigDict(
    extra="forbid",
    frozen=True,
    allow_inf_nan=False,
    validate_by_name=True,
    validate_by_alias=True,
)


# --- located problems ----------------------------------------------------------------------

# One problem in an RFP: where it is (file, line, dotted key) and what is wrong.
RfpIssue = LocatedIssue


class RfpError(InputError):
    """An RFP that cannot be used; `errors` lists every problem found, in file order."""

    def __init__(self, errors: Iterable[RfpIssue]) -> None:
        """Keep the problems, sorted by line, and build a readable message from them."""
        self.errors: list[RfpIssue] = sort_issues(errors)
        super().__init__(render_issues(self.errors, "RFP"))


# --- values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthWindow:
    """Whole months from `first` to `last` (each the first day of its month), both included."""

    first: date
    last: date

    def months(self) -> list[date]:
        """The first day of every month of the window, in order."""
        out: list[date] = []
        year, month = self.first.year, self.first.month
        while (year, month) <= (self.last.year, self.last.month):
            out.append(date(year, month, 1))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def __str__(self) -> str:
        """Written as in the RFP: 2026-01..2026-10."""
        return f"{self.first:%Y-%m}..{self.last:%Y-%m}"


def _month_window(value: object) -> MonthWindow:
    if isinstance(value, MonthWindow):
        return value
    match = _WINDOW.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        fail(
            "must be a month or a span of months written YYYY-MM..YYYY-MM "
            f"(such as 2026-01..2026-10), got {describe(value)}"
        )
    start_year, start_month, end_year, end_month = match.groups()
    end_year, end_month = end_year or start_year, end_month or start_month
    for month in (start_month, end_month):
        if not 1 <= int(month) <= 12:
            fail(f"month {month} does not exist (months run from 01 to 12), got {describe(value)}")
    first = date(int(start_year), int(start_month), 1)
    last = date(int(end_year), int(end_month), 1)
    if last < first:
        fail(f"the last month ({last:%Y-%m}) is before the first ({first:%Y-%m})")
    return MonthWindow(first, last)


def _weight(value: object) -> Decimal:
    number = as_number(value)
    if number is None or not 0 < number <= 100:
        fail(f"must be a weight above 0 and at most 100, got {describe(value)}")
    return number


def _measure(value: object) -> str:
    if not isinstance(value, str) or value not in MEASURES:
        hint = did_you_mean(value, MEASURES)
        fail(
            f"unknown measure {describe(value)} ({hint}expected a KPI name of the catalogue "
            f"or an extra measure: {one_of(MEASURES)})"
        )
    return value


def _rule(value: object) -> Rule:
    rule = next((rule for rule in RULES if rule == value), None)
    if rule is None:
        hint = did_you_mean(value, RULES)
        fail(f"unknown rule {describe(value)} ({hint}expected one of: {', '.join(RULES)})")
    return rule


def _evidence_level(value: object) -> EvidenceLevel:
    level = next((level for level in EVIDENCE_LEVELS if level == value), None)
    if level is None:
        hint = did_you_mean(value, EVIDENCE_LEVELS)
        fail(
            f"unknown evidence level {describe(value)} "
            f"({hint}expected one of: {', '.join(EVIDENCE_LEVELS)})"
        )
    return level


def _claim_name(value: object) -> str:
    names = (*MEASURES, *CAPACITY_CLAIMS)
    if not isinstance(value, str) or value not in names:
        hint = did_you_mean(value, names)
        fail(
            f"unknown claim {describe(value)} ({hint}expected a measure or a capacity: "
            f"{one_of(names)})"
        )
    return value


def _edi_set(value: object) -> int:
    text = (
        str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    )
    if not _EDI_SET.fullmatch(text) or text.startswith("0"):
        fail(f"must be an X12 transaction set number such as 940 or 945, got {describe(value)}")
    return int(text)


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        fail(f"must be true or false, got {describe(value)}")
    return value


def _rating(value: object) -> float:
    number = as_number(value)
    if number is None or not 0 <= number <= 5:
        fail(f"must be a rating from 0 to 5, got {describe(value)}")
    return float(number)


def _verdict(value: object) -> Verdict:
    verdict = next((verdict for verdict in VERDICTS if verdict == value), None)
    if verdict is None:
        fail(f"unknown verdict {describe(value)} (expected one of: {', '.join(VERDICTS)})")
    return verdict


Window = Annotated[
    MonthWindow,
    PlainValidator(_month_window, json_schema_input_type=str),
    PlainSerializer(str, return_type=str),
]
"""A span of whole months, written 2026-01..2026-10 (or one month, 2026-03)."""
Weight = Annotated[Decimal, PlainValidator(_weight, json_schema_input_type=Decimal)]
"""A criterion's weight: above 0, at most 100, exact."""
MeasureName = Annotated[str, PlainValidator(_measure, json_schema_input_type=str)]
"""A KPI name of the catalogue or an extra measure."""
RuleName = Annotated[Rule, PlainValidator(_rule, json_schema_input_type=str)]
"""A scoring rule."""
EvidenceLevelName = Annotated[
    EvidenceLevel, PlainValidator(_evidence_level, json_schema_input_type=str)
]
"""An evidence level."""
ClaimName = Annotated[str, PlainValidator(_claim_name, json_schema_input_type=str)]
"""A measure or a capacity a candidate claims."""
EdiSet = Annotated[int, PlainValidator(_edi_set, json_schema_input_type=int)]
"""An X12 transaction set number (940, 945, ...)."""
Flag = Annotated[bool, PlainValidator(_flag, json_schema_input_type=bool)]
"""true or false, nothing else."""
Rating = Annotated[float, PlainValidator(_rating, json_schema_input_type=float)]
"""The brand's rating of a candidate on a criterion, from 0 to 5."""
VerdictName = Annotated[Verdict, PlainValidator(_verdict, json_schema_input_type=str)]
"""A reference's verdict."""


# --- the model -----------------------------------------------------------------------------


class Scale(BaseModel):
    """The figures of a measure that score 0 (`worst`) and 100 (`best`), linear in between."""

    model_config = _CONFIG

    worst: NonNegativeFloat
    best: NonNegativeFloat

    @model_validator(mode="after")
    def _worst_is_not_best(self) -> Self:
        if self.worst == self.best:
            fail(f"worst and best must differ (both are {self.worst:g})")
        return self

    @property
    def lower_is_better(self) -> bool:
        """True when a lower figure scores higher (worst above best)."""
        return self.worst > self.best

    def score(self, value: float) -> float:
        """The figure on a 0..100 scale: linear from worst to best, clipped at both ends."""
        share = (value - self.worst) / (self.best - self.worst)
        return 100.0 * min(1.0, max(0.0, share))


class IntegrationTerms(BaseModel):
    """Integrations: X12 EDI transaction sets, store platforms, an API, real-time inventory.

    In a criterion's `requires`, what the brand needs; in a candidate's `integrations`, what it
    offers.
    """

    model_config = _CONFIG

    edi: Annotated[list[EdiSet], EmptyIfNone] = Field(default_factory=list)
    platforms: Annotated[list[Identifier], EmptyIfNone] = Field(default_factory=list)
    api: Flag = False
    realtime_inventory: Flag = False

    def items(self) -> list[str]:
        """Each item named plainly: 'EDI 940', 'Shopify' (as written), 'an API', ..."""
        out = [f"EDI {number}" for number in dict.fromkeys(self.edi)]
        out += list(dict.fromkeys(self.platforms))
        if self.api:
            out.append("an API")
        if self.realtime_inventory:
            out.append("real-time inventory")
        return out

    def missing_from(self, offered: IntegrationTerms) -> list[str]:
        """The items required here that `offered` lacks (platform names compared in any case)."""
        platforms = {name.lower() for name in offered.platforms}
        missing = [
            f"EDI {number}" for number in dict.fromkeys(self.edi) if number not in offered.edi
        ]
        missing += [name for name in dict.fromkeys(self.platforms) if name.lower() not in platforms]
        if self.api and not offered.api:
            missing.append("an API")
        if self.realtime_inventory and not offered.realtime_inventory:
            missing.append("real-time inventory")
        return missing


class Criterion(BaseModel):
    """One line of the scorecard: a measure on a scale, or a rule, with its weight."""

    model_config = _CONFIG

    id: Identifier
    name: Text
    weight: Weight
    measure: MeasureName | None = None
    scale: Scale | None = None
    rule: RuleName | None = None
    requires: IntegrationTerms | None = None

    @model_validator(mode="after")
    def _measure_or_rule(self) -> Self:
        if self.measure is not None and self.rule is not None:
            fail("give either 'measure' (with 'scale') or 'rule', not both")
        if self.measure is None and self.rule is None:
            fail(
                f"give 'measure' (a KPI name, with 'scale') or 'rule' (one of: {', '.join(RULES)})"
            )
        if self.measure is not None and self.scale is None:
            fail(f"'scale' is required with 'measure' {self.measure}: {{worst: ..., best: ...}}")
        if self.rule is not None and self.scale is not None:
            fail("'scale' goes only with 'measure', not with 'rule'")
        if self.rule == "integration_fit" and self.requires is None:
            fail("rule integration_fit needs 'requires': the integrations the brand needs")
        if self.requires is not None and self.rule != "integration_fit":
            fail("'requires' goes only with rule integration_fit")
        if self.requires is not None and not self.requires.items():
            fail("'requires' names nothing: list edi sets, platforms, or set api or realtime")
        return self

    @property
    def kind(self) -> str:
        """'measure' or the rule's name."""
        return "measure" if self.rule is None else self.rule

    @property
    def takes_evidence(self) -> bool:
        """Whether the criterion scores a candidate's claim, so evidence behind it counts."""
        return self.rule is None or self.rule in CLAIM_RULES


class EvidenceWeights(BaseModel):
    """The share of a claim's score kept at each evidence level."""

    model_config = _CONFIG

    none: Rate = DEFAULT_EVIDENCE_WEIGHTS["none"]
    requested: Rate = DEFAULT_EVIDENCE_WEIGHTS["requested"]
    received: Rate = DEFAULT_EVIDENCE_WEIGHTS["received"]
    verified: Rate = DEFAULT_EVIDENCE_WEIGHTS["verified"]

    def factor(self, level: EvidenceLevel) -> float:
        """The share kept at one level."""
        value: float = getattr(self, level)
        return value


class RiskTerms(BaseModel):
    """What an error and a late order cost the brand, and the growth to price as well."""

    model_config = _CONFIG

    cost_per_error: Annotated[dict[Identifier, Money], EmptyDictIfNone] = Field(
        default_factory=dict
    )
    cost_per_late_order: Money
    growth_pct: NonNegativePercent = Decimal("0")

    @property
    def error_cost(self) -> Decimal:
        """The cost of one error: the sum of its parts (reship, shipping, customer service...)."""
        return sum(self.cost_per_error.values(), Decimal("0"))


class Standing(BaseModel):
    """A band of totals from `min` up, with what the brand does about a candidate in it."""

    model_config = _CONFIG

    min: Percent
    name: Text
    consequence: Text


DEFAULT_STANDINGS: tuple[Standing, ...] = (
    Standing(min=Decimal(80), name="excellent", consequence="shortlist for contract"),
    Standing(min=Decimal(65), name="average", consequence="pilot before deciding"),
    Standing(min=Decimal(50), name="poor", consequence="only with remediation plan"),
    Standing(min=Decimal(0), name="very poor", consequence="reject"),
)
"""The standings used when the RFP gives none."""


class CandidateFacility(BaseModel):
    """A warehouse the candidate would serve the brand from."""

    model_config = _CONFIG

    id: Identifier
    city: Text | None = None
    country: CountryCode
    subdivision: Text | None = None

    @field_validator("subdivision")
    @classmethod
    def _subdivision_of_country(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if value is None or not isinstance(country, str):
            return value
        return check_subdivision(value, country)


class Experience(BaseModel):
    """The industries the candidate serves and its years in the trade."""

    model_config = _CONFIG

    industries: Annotated[list[Text], EmptyIfNone] = Field(default_factory=list)
    years: NonNegativeInt | None = None


class Reference(BaseModel):
    """A client of the candidate the brand may call, and what it said."""

    model_config = _CONFIG

    name: Text
    contacted: Flag = False
    verdict: VerdictName | None = None


class Candidate(BaseModel):
    """A 3PL answering the RFP: its claims, integrations, evidence, ratings and rate card."""

    model_config = _CONFIG

    id: Identifier
    name: Text
    pilot_provider: Identifier | None = None
    claims: Annotated[dict[ClaimName, NonNegativeFloat], EmptyDictIfNone] = Field(
        default_factory=dict
    )
    facilities: Annotated[list[CandidateFacility], EmptyIfNone] = Field(default_factory=list)
    integrations: IntegrationTerms = Field(default_factory=IntegrationTerms)
    experience: Experience | None = None
    references: Annotated[list[Reference], EmptyIfNone] = Field(default_factory=list)
    evidence: Annotated[dict[Identifier, EvidenceLevelName], EmptyDictIfNone] = Field(
        default_factory=dict
    )
    ratings: Annotated[dict[Identifier, Rating], EmptyDictIfNone] = Field(default_factory=dict)
    rates: RateCard
    notes: Text | None = None

    def claim(self, measure: str) -> float | None:
        """The figure the candidate claims for a measure, if it claims one."""
        return self.claims.get(measure)

    def evidence_for(self, criterion_id: str) -> EvidenceLevel:
        """The evidence behind the candidate's claim on a criterion ('none' when not given)."""
        return self.evidence.get(criterion_id, "none")

    @property
    def orders_per_day(self) -> int | None:
        """The claimed everyday capacity, in orders a day."""
        value = self.claims.get("orders_per_day")
        return None if value is None else int(value)

    @property
    def peak_orders_per_day(self) -> int | None:
        """The claimed peak capacity, in orders a day."""
        value = self.claims.get("peak_orders_per_day")
        return None if value is None else int(value)


class Rfp(BaseModel):
    """A request for proposal: criteria, weights, evidence, standings, risk and candidates."""

    model_config = _CONFIG

    name: Text
    currency: CurrencyCode
    window: Window | None = None
    risk: RiskTerms
    evidence_weights: EvidenceWeights = Field(default_factory=EvidenceWeights)
    criteria: Annotated[list[Criterion], EmptyIfNone]
    standings: Annotated[list[Standing], EmptyIfNone] = Field(
        default_factory=lambda: list(DEFAULT_STANDINGS)
    )
    candidates: Annotated[list[Candidate], EmptyIfNone]

    def criterion(self, criterion_id: str) -> Criterion:
        """One criterion by id; KeyError when the RFP has none of that id."""
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(f"the RFP has no criterion {criterion_id!r}")

    def candidate(self, candidate_id: str) -> Candidate:
        """One candidate by id; KeyError when the RFP has none of that id."""
        for candidate in self.candidates:
            if candidate.id == candidate_id:
                return candidate
        raise KeyError(f"the RFP has no candidate {candidate_id!r}")

    def standing(self, total: float) -> Standing:
        """The standing a total falls into: the band with the highest `min` at or below it."""
        for band in sorted(self.standings, key=lambda s: s.min, reverse=True):
            if total >= float(band.min):
                return band
        return self.standings[-1]  # unreachable on a validated RFP: the lowest band is 0


# --- checks across keys --------------------------------------------------------------------

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


def _cross_check(rfp: Rfp) -> list[Problem]:
    """Problems that involve several keys: ids, weights, scales, bands, evidence, ratings."""
    return [
        *_check_criteria(rfp.criteria),
        *_check_evidence_weights(rfp.evidence_weights),
        *_check_standings(rfp.standings),
        *_check_candidates(rfp),
    ]


def _check_criteria(criteria: list[Criterion]) -> list[Problem]:
    if not criteria:
        return [(("criteria",), "list at least one criterion")]
    out: list[Problem] = []
    first_id: dict[str, int] = {}
    first_rule: dict[str, int] = {}
    for index, criterion in enumerate(criteria):
        loc: Loc = ("criteria", index)
        if criterion.id in first_id:
            out.append(
                (
                    (*loc, "id"),
                    f"duplicate criterion id '{criterion.id}' "
                    f"(already used by criteria[{first_id[criterion.id]}])",
                )
            )
        else:
            first_id[criterion.id] = index
        rule = criterion.rule
        if rule in SINGLE_RULES:
            if rule in first_rule:
                out.append(
                    (
                        (*loc, "rule"),
                        f"rule {rule} is already used by criteria[{first_rule[rule]}]; "
                        "one criterion per rule",
                    )
                )
            else:
                first_rule[rule] = index
        out += _check_scale(loc, criterion)
    total = sum((criterion.weight for criterion in criteria), Decimal("0"))
    if total != 100:
        out.append(
            (("criteria",), f"the weights add up to {_plain(total)}; they must add up to 100")
        )
    return out


def _check_scale(loc: Loc, criterion: Criterion) -> list[Problem]:
    measure, scale = criterion.measure, criterion.scale
    if measure is None or scale is None:
        return []
    out: list[Problem] = []
    if measure in RATE_MEASURES:
        for key, value in (("worst", scale.worst), ("best", scale.best)):
            if value > 1:
                out.append(
                    (
                        (*loc, "scale", key),
                        f"{measure} is a share: must be a number between 0 and 1, got {value:g}",
                    )
                )
    if measure in LOWER_IS_BETTER_MEASURES and not scale.lower_is_better:
        out.append(
            (
                (*loc, "scale"),
                f"{measure} is better when lower: worst must be above best "
                f"(got worst {scale.worst:g}, best {scale.best:g})",
            )
        )
    if measure not in LOWER_IS_BETTER_MEASURES and scale.lower_is_better:
        out.append(
            (
                (*loc, "scale"),
                f"{measure} is better when higher: best must be above worst "
                f"(got worst {scale.worst:g}, best {scale.best:g})",
            )
        )
    return out


def _check_evidence_weights(weights: EvidenceWeights) -> list[Problem]:
    out: list[Problem] = []
    if weights.none >= 1:
        out.append(
            (
                ("evidence_weights", "none"),
                f"must be below 1: a claim without evidence never earns full marks, "
                f"got {weights.none:g}",
            )
        )
    for weaker, stronger in itertools.pairwise(EVIDENCE_LEVELS):
        if weights.factor(stronger) < weights.factor(weaker):
            out.append(
                (
                    ("evidence_weights", stronger),
                    f"must be at least {weaker} ({weights.factor(weaker):g}): stronger evidence "
                    f"never counts for less, got {weights.factor(stronger):g}",
                )
            )
    return out


def _check_standings(standings: list[Standing]) -> list[Problem]:
    if not standings:
        return [(("standings",), "list at least one standing, the lowest with min 0")]
    out: list[Problem] = []
    names: dict[str, int] = {}
    for index, band in enumerate(standings):
        if index and band.min >= standings[index - 1].min:
            out.append(
                (
                    ("standings", index, "min"),
                    "must be below the min of the standing before it "
                    f"({_plain(standings[index - 1].min)}): highest min first, "
                    f"got {_plain(band.min)}",
                )
            )
        if band.name in names:
            out.append(
                (
                    ("standings", index, "name"),
                    f"duplicate standing '{band.name}' "
                    f"(already used by standings[{names[band.name]}])",
                )
            )
        else:
            names[band.name] = index
    lowest = min(band.min for band in standings)
    if lowest != 0:
        out.append(
            (
                ("standings",),
                f"the standings must cover 0: the lowest min is {_plain(lowest)}, "
                "so a lower total would have no standing",
            )
        )
    return out


def _check_candidates(rfp: Rfp) -> list[Problem]:
    if not rfp.candidates:
        return [(("candidates",), "list at least one candidate")]
    criteria = {criterion.id: criterion for criterion in rfp.criteria}
    claim_criteria = [c.id for c in rfp.criteria if c.takes_evidence]
    rating_criteria = [c.id for c in rfp.criteria if c.rule == "rating"]
    out: list[Problem] = []
    first_id: dict[str, int] = {}
    first_pilot: dict[str, int] = {}
    for index, candidate in enumerate(rfp.candidates):
        loc: Loc = ("candidates", index)
        if candidate.id in first_id:
            out.append(
                (
                    (*loc, "id"),
                    f"duplicate candidate id '{candidate.id}' "
                    f"(already used by candidates[{first_id[candidate.id]}])",
                )
            )
        else:
            first_id[candidate.id] = index
        pilot = candidate.pilot_provider
        if pilot is not None:
            if pilot in first_pilot:
                out.append(
                    (
                        (*loc, "pilot_provider"),
                        f"provider '{pilot}' is already the pilot of "
                        f"candidates[{first_pilot[pilot]}]; a pilot measures one candidate",
                    )
                )
            else:
                first_pilot[pilot] = index
        out += _check_claims(loc, candidate)
        for criterion_id in candidate.evidence:
            key: Loc = (*loc, "evidence", criterion_id, "[key]")
            if criterion_id not in criteria:
                hint = did_you_mean(criterion_id, criteria)
                out.append(
                    (
                        key,
                        f"no criterion '{criterion_id}' ({hint}evidence is given per criterion "
                        f"id: {one_of(claim_criteria) or 'none takes evidence'})",
                    )
                )
            elif not criteria[criterion_id].takes_evidence:
                out.append(
                    (
                        key,
                        f"criterion '{criterion_id}' ({criteria[criterion_id].kind}) takes no "
                        "evidence: it is priced or rated by the brand, not claimed",
                    )
                )
        for criterion_id in candidate.ratings:
            key = (*loc, "ratings", criterion_id, "[key]")
            if criterion_id not in criteria:
                hint = did_you_mean(criterion_id, criteria)
                out.append(
                    (
                        key,
                        f"no criterion '{criterion_id}' ({hint}ratings are given per criterion "
                        f"id with rule rating: {one_of(rating_criteria) or 'there is none'})",
                    )
                )
            elif criteria[criterion_id].rule != "rating":
                out.append(
                    (
                        key,
                        f"criterion '{criterion_id}' is not rated by the brand (its rule is "
                        f"{criteria[criterion_id].kind}, not rating)",
                    )
                )
    return out


def _check_claims(loc: Loc, candidate: Candidate) -> list[Problem]:
    out: list[Problem] = []
    for name, value in candidate.claims.items():
        key: Loc = (*loc, "claims", name)
        if name in CAPACITY_CLAIMS:
            if as_whole(value) is None or value < 1:
                out.append((key, f"must be a whole number of orders of 1 or more, got {value:g}"))
        elif name in RATE_MEASURES and value > 1:
            out.append((key, f"{name} is a share: must be between 0 and 1, got {value:g}"))
    normal, peak = (
        candidate.claims.get("orders_per_day"),
        candidate.claims.get("peak_orders_per_day"),
    )
    if normal is not None and peak is not None and peak < normal:
        out.append(
            (
                (*loc, "claims", "peak_orders_per_day"),
                f"must be at least orders_per_day ({normal:g}), got {peak:g}",
            )
        )
    return out


def _plain(number: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 95, 99.5."""
    return format(number.normalize(), "f")


# --- loading -------------------------------------------------------------------------------


def parse_rfp(text: str, source: str = "<rfp>") -> Rfp:
    """Validate RFP YAML; raise RfpError listing every problem found."""
    rfp, issues = parse_located(text, source, Rfp, "RFP", check=_cross_check)
    if issues or rfp is None:
        raise RfpError(issues)
    return rfp


def load_rfp(path: Path) -> Rfp:
    """Read and validate an RFP file; raise RfpError listing every problem found."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"the file is not UTF-8 text (byte {exc.start})"
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
    else:
        return parse_rfp(text, str(path))
    raise RfpError([RfpIssue(str(path), None, "", message)])
