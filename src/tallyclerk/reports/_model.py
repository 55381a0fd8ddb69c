"""The weekly performance review as data: what `reports` gathers and every renderer shows.

One `WeeklyReview` per provider and ISO week. It is built once from the store (`_gather.py`)
and rendered as HTML and PDF (`_render.py`), as JSON for the API, and on the dashboard. The
`audience` decides what it may hold: the provider's copy carries no brand cost data (no
inventory valuation, no order values, no vetting); every money field below that is brand
cost data is None in that copy, and `redacted` lists what was left out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

Audience = Literal["brand", "provider"]
AUDIENCES: tuple[Audience, ...] = ("brand", "provider")
ActionStatus = Literal["open", "in_progress", "done", "dropped"]
ACTION_STATUSES: tuple[ActionStatus, ...] = ("open", "in_progress", "done", "dropped")
Party = Literal["brand", "provider"]
PARTIES: tuple[Party, ...] = ("brand", "provider")


@dataclass(frozen=True, slots=True)
class IsoWeek:
    """An ISO week: Monday `start` to Sunday `end`, named like 2026-W47."""

    year: int
    week: int

    @property
    def name(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def start(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def end(self) -> date:
        return date.fromisocalendar(self.year, self.week, 7)

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """`2026-W47` (or `2026W47`, `2026-w47`); ValueError with a plain message otherwise."""
        cleaned = text.strip().upper().replace("-W", "W")
        year_text, _, week_text = cleaned.partition("W")
        if not (year_text.isdigit() and week_text.isdigit() and len(year_text) == 4):
            raise ValueError(f"{text!r} is not an ISO week (write it like 2026-W47)")
        year, week = int(year_text), int(week_text)
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{text!r}: {year} has no ISO week {week}") from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        """The ISO week holding `day`."""
        year, week, _ = day.isocalendar()
        return cls(year, week)

    def shifted(self, weeks: int) -> IsoWeek:
        """The week `weeks` later (earlier when negative)."""
        from datetime import timedelta

        return IsoWeek.of(self.start + timedelta(weeks=weeks))

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """A metric's value in one week (None: nothing to judge that week)."""

    week: str  # ISO week name
    start: date
    value: float | None
    numerator: int
    denominator: int
    target: float | None  # the target in force that week (a peak variant's, inside its window)


@dataclass(frozen=True, slots=True)
class KpiLine:
    """One contracted KPI of the provider in the review's week, with its 12-week trend."""

    metric: str
    unit: str  # rate | hours
    lower_is_better: bool
    target: float | None
    value: float | None  # the week's value
    numerator: int
    denominator: int
    met: bool | None  # None: no data this week
    trend: list[TrendPoint]  # 12 weeks, oldest first, ending with the review's week

    @property
    def state(self) -> str:
        if self.met is None:
            return "no data"
        return "met" if self.met else "breached"


@dataclass(frozen=True, slots=True)
class BreachLine:
    """A contracted metric that missed its target in the month holding the week (as recorded)."""

    metric: str
    period: str  # YYYY-MM
    segment: str
    value: float | None
    threshold: float
    lower_is_better: bool


@dataclass(frozen=True, slots=True)
class CreditsAccrued:
    """SLA credits of the month holding the week, from its latest recorded evaluation."""

    period: str  # YYYY-MM
    amount: Decimal
    currency: str | None
    booked: Decimal  # already in the credit ledger
    lines: list[dict[str, Any]]  # the credit lines as recorded (kind, metric, amount, reason)


@dataclass(frozen=True, slots=True)
class BurnLine:
    """Burn-rate state of a metric in the open month (the last recorded watch)."""

    metric: str
    period: str  # YYYY-MM
    state: str  # ok | warn | page | no data
    burn_short: float | None
    burn_long: float | None
    projected: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class DisputeLine:
    """A dispute still open at the end of the week, with its answer deadline."""

    dispute_id: str
    subject: str
    status: str
    opened_at: datetime
    response_due_at: datetime | None
    overdue: bool  # unanswered past its deadline at the review's clock
    amount: Decimal | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class FindingsLine:
    """Reconciliation or invoice-audit findings of one kind: opened and resolved in the week."""

    domain: str  # handoff | inventory | invoice
    kind: str
    title: str
    opened: int  # first detected during the week
    resolved: int  # resolved during the week
    open_at_end: int  # open or acknowledged at the end of the week
    amount_open: Decimal | None  # money at stake of those open (invoice, inventory), if any
    currency: str | None
    examples: list[str]  # a few subjects with their reasons, newest first


@dataclass(frozen=True, slots=True)
class InventoryLine:
    """The book against the provider's latest count on or before the end of the week."""

    counted_on: date | None
    skus_counted: int
    skus_off: int  # SKUs whose count differs from the book
    units_off: int  # sum of absolute differences
    value_off: Decimal | None  # brand cost data: None in the provider's copy
    currency: str | None
    accuracy: float | None  # share of SKUs whose count matches the book
    top: list[dict[str, Any]]  # the largest differences: sku, book, counted, difference


@dataclass(frozen=True, slots=True)
class ExperienceLine:
    """One customer-experience figure of the week."""

    name: str  # e.g. perfect_order_rate, on_time_delivery_rate, damage_rate, mis_ship_rate
    label: str
    value: float | None
    numerator: int
    denominator: int
    unit: str  # rate | score | count


@dataclass(frozen=True, slots=True)
class ForecastWeekLine:
    """A week ahead: the forecast's P50/P90 orders against the committed capacity."""

    week: str
    start: date
    p50: float
    p90: float
    capacity: float | None  # committed orders for the week's business days
    days_over: int  # business days whose P90 exceeds the day's capacity
    gap: float  # orders over capacity that week (P90), 0 when none


@dataclass(frozen=True, slots=True)
class ActionItem:
    """Something agreed in a review: who does what by when; carried until done or dropped."""

    action_id: int
    provider_id: str
    title: str
    owner: str
    party: Party  # whose side owns it
    due_on: date | None
    status: ActionStatus
    opened_week: str  # the review it was agreed in
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    done_at: datetime | None
    note: str | None
    reference: str | None  # a finding, dispute or metric it follows up

    def overdue(self, on: date) -> bool:
        """Still to do after its due date."""
        return (
            self.status in ("open", "in_progress") and self.due_on is not None and on > self.due_on
        )


@dataclass(frozen=True, slots=True)
class WeeklyReview:
    """A provider's week, for the weekly meeting of brand and 3PL."""

    provider_id: str
    provider_name: str
    week: IsoWeek
    audience: Audience
    # The clock figures were read at: the week's end by default, or as given (capped at now).
    as_of: datetime
    generated_at: datetime
    currency: str | None
    kpis: list[KpiLine]
    breaches: list[BreachLine]
    credits: CreditsAccrued | None  # None: the month was never evaluated
    burn: list[BurnLine]
    disputes: list[DisputeLine]
    findings: list[FindingsLine]  # handoff and inventory checks
    invoice_findings: list[FindingsLine]  # invoice-audit checks
    inventory: InventoryLine | None
    experience: list[ExperienceLine]
    forecast: list[ForecastWeekLine]  # the next six weeks; empty without a kept forecast run
    forecast_as_of: date | None
    actions: list[ActionItem]  # open at the end of the week, or closed during it
    notes: list[str] = field(default_factory=list)  # what is missing and why, in plain words
    redacted: list[str] = field(default_factory=list)  # what the provider's copy leaves out

    def as_dict(self) -> dict[str, Any]:
        """The review as JSON values: dates ISO, money as strings, the week by name."""
        data = asdict(self)
        data["week"] = self.week.name
        data["week_start"] = self.week.start.isoformat()
        data["week_end"] = self.week.end.isoformat()
        plain: dict[str, Any] = _plain(data)
        return plain


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN has no JSON form
        return None
    return value
