"""The customer-experience report as plain values: what the CLI prints and the API serves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

TOTAL = "__all__"  # the provider_id of the brand total row


@dataclass(frozen=True, slots=True)
class Ids:
    """The ids behind a figure: the first `limit` of them (sorted) and how many in all."""

    ids: tuple[str, ...] = ()
    total: int = 0

    @property
    def truncated(self) -> bool:
        """Whether some ids were left off."""
        return self.total > len(self.ids)


@dataclass(frozen=True, slots=True)
class Rate:
    """A rate read from a catalogue KPI (or a summary count pair), never recomputed."""

    metric: str | None  # the catalogue KPI it comes from, None for a plain count ratio
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """numerator ÷ denominator; None without data (never a made-up 100%)."""
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True, slots=True)
class Breakdown:
    """A count within a figure's base (a failure reason, a cause, a route, a tag)."""

    key: str
    count: int
    base: int  # what the share is of: the figure's denominator
    orders: Ids = Ids()  # the orders behind the count
    records: Ids | None = None  # the feedback or audit ids, where the count is of those

    @property
    def share(self) -> float | None:
        """count ÷ base; None when the base is empty."""
        return self.count / self.base if self.base else None


@dataclass(frozen=True, slots=True)
class PerfectOrder:
    """perfect_order_rate and why the other orders were not perfect (an order may fail
    several components and is then counted under each)."""

    rate: Rate
    failed: Breakdown
    reasons: tuple[Breakdown, ...]  # late_delivery, not_complete, picking_error, damaged


@dataclass(frozen=True, slots=True)
class Delivery:
    """delivery_on_time_rate and the late deliveries by cause."""

    rate: Rate
    late: Breakdown
    causes: tuple[Breakdown, ...]  # late_3pl (shipped late), late_carrier


@dataclass(frozen=True, slots=True)
class Damage:
    """Damage rate (= 1 − damage_free_rate) with how damage became known."""

    rate: Rate  # damage_free_rate as computed by the catalogue
    damaged: Breakdown
    routes: tuple[Breakdown, ...]  # by_return, by_feedback (an order may have both)

    @property
    def damage_rate(self) -> float | None:
        """Damaged orders ÷ delivered orders."""
        return self.damaged.share


@dataclass(frozen=True, slots=True)
class MisShip:
    """Mis-ship rate (= 1 − order_accuracy_rate) with how each picking error became known."""

    rate: Rate  # order_accuracy_rate as computed by the catalogue
    misshipped: Breakdown
    routes: tuple[Breakdown, ...]  # by_lines, by_return, by_feedback

    @property
    def misship_rate(self) -> float | None:
        """Mis-shipped orders ÷ orders shipped complete."""
        return self.misshipped.share


@dataclass(frozen=True, slots=True)
class Feedback:
    """What customers said about the orders of a provider, received in the period."""

    responses: int
    scored: int  # responses with a score
    score_sum: int
    distribution: tuple[tuple[int, int], ...]  # (score, responses), by score
    tags: tuple[Breakdown, ...]  # one per tag; base = responses; records = feedback ids

    @property
    def mean_score(self) -> float | None:
        """The mean of the scores given; None without any."""
        return self.score_sum / self.scored if self.scored else None


@dataclass(frozen=True, slots=True)
class AuditItem:
    """One checklist item's audits: checks, passes, and the failing audits and orders."""

    checklist_item: str
    checks: int
    passed: int
    failed_audits: Ids
    failed_orders: Ids

    @property
    def pass_rate(self) -> float | None:
        """Passed checks ÷ checks."""
        return self.passed / self.checks if self.checks else None


@dataclass(frozen=True, slots=True)
class Audits:
    """Packaging audits in the period: audited orders and each checklist item."""

    orders_audited: int  # audited orders (an audit without an order counts for itself)
    orders_passed: int  # audited orders whose every check passed
    items: tuple[AuditItem, ...]

    @property
    def pass_rate(self) -> float | None:
        """Audited orders that passed every check ÷ audited orders."""
        return self.orders_passed / self.orders_audited if self.orders_audited else None


@dataclass(frozen=True, slots=True)
class ProviderExperience:
    """Every experience figure of one provider (or of the brand: provider_id TOTAL)."""

    provider_id: str
    perfect_order: PerfectOrder
    delivery: Delivery
    damage: Damage
    misship: MisShip
    feedback: Feedback
    audits: Audits


@dataclass(frozen=True, slots=True)
class ExperienceReport:
    """The customer-experience report of a period, per provider and for the brand."""

    period_start: date
    period_end: date
    as_of: datetime
    id_limit: int
    providers: tuple[ProviderExperience, ...]
    total: ProviderExperience
