"""The values vetting passes around: a candidate's priced activity and its scored criteria.

A pure module (standard library only), shared by the RFP scorecard, the cost-to-serve engine,
the service that joins them, the CLI and the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

CHARGE_TYPES = (
    "pick_pack",
    "additional_unit",
    "packaging",
    "storage",
    "receiving",
    "returns",
    "shipping",
)


@dataclass(frozen=True, slots=True)
class MonthActivity:
    """The brand's activity of one month, as a 3PL would bill it (DESIGN section 4 charges).

    orders: orders shipped (first shipment in the month); units: units shipped; parcels: per
    packaging type, shipments; received_units: units stocked; returned_units: return units
    processed; pallets: storage pallets at the month's last inventory count (per facility the
    sum over SKUs of on hand / units_per_pallet, rounded up, summed); shipping_cost: the
    carriers' cost of the month's shipments.
    """

    month: date  # first day
    orders: int
    units: int
    parcels: dict[str, int]
    received_units: int
    returned_units: int
    pallets: int
    shipping_cost: Decimal


@dataclass(frozen=True, slots=True)
class ChargeLine:
    """One charge type of one month priced with one rate card."""

    month: date
    charge_type: str  # one of CHARGE_TYPES
    quantity: Decimal
    amount: Decimal


@dataclass
class CostToServe:
    """A rate card priced on the brand's activity over a window, and its risk adjustment.

    lines: per month and charge type. risk: expected cost of errors and late shipments per
    month (see docs/vetting.md); monthly figures are averages over the window's months.
    """

    candidate_id: str
    currency: str
    months: list[date]
    lines: list[ChargeLine] = field(default_factory=list)
    error_rate: float | None = None  # the rate used: measured in a pilot, else claimed
    error_rate_source: str = ""  # "pilot <provider>" | "claimed" | "none"
    late_rate: float | None = None
    late_rate_source: str = ""
    error_cost: Decimal = Decimal("0")  # over the window
    late_cost: Decimal = Decimal("0")
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        """The fees over the window."""
        return sum((line.amount for line in self.lines), Decimal("0"))

    @property
    def risk_adjusted(self) -> Decimal:
        """Fees plus the expected cost of errors and late shipments."""
        return self.total + self.error_cost + self.late_cost

    def monthly(self, value: Decimal) -> Decimal:
        """A window total as an average month."""
        return value / len(self.months) if self.months else Decimal("0")

    def by_charge(self) -> dict[str, Decimal]:
        """Fees over the window per charge type."""
        out: dict[str, Decimal] = {}
        for line in self.lines:
            out[line.charge_type] = out.get(line.charge_type, Decimal("0")) + line.amount
        return out
