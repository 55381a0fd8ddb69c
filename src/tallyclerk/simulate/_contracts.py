"""The two demo contracts (DESIGN section 6): terms the simulation obeys and their YAML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from ._network import FACILITIES


@dataclass(frozen=True, slots=True)
class RateCard:
    """Contracted fees in cents (packaging per type), markup on carrier cost in percent."""

    pick_pack: int
    additional_unit: int
    packaging: dict[str, int]
    storage_per_pallet_month: int
    receiving_per_unit: int
    returns_per_unit: int
    shipping_markup_pct: int


@dataclass(frozen=True, slots=True)
class Contract:
    """The terms of one provider's agreement that shape the simulated data."""

    provider_id: str
    code: str
    name: str
    ship_on_time_target: Decimal
    peak_ship_on_time_target: Decimal
    inventory_target: Decimal
    inventory_tolerance_units: int
    dock_to_stock_target: Decimal
    dock_to_stock_days: int
    return_target: Decimal
    return_days: int
    no_first_scan_max: Decimal
    no_first_scan_days: int
    dispute_target: Decimal
    dispute_days: int
    closed_month_days: tuple[tuple[int, int], ...]
    exclusion: tuple[tuple[int, int], tuple[int, int], str] | None
    credit_tiers: tuple[tuple[Decimal, int], ...]
    rates: RateCard


CONTRACTS: dict[str, Contract] = {
    "westcoast": Contract(
        provider_id="westcoast",
        code="WC",
        name="WestCoast 3PL fulfillment services agreement",
        ship_on_time_target=Decimal("0.99"),
        peak_ship_on_time_target=Decimal("0.97"),
        inventory_target=Decimal("0.99"),
        inventory_tolerance_units=0,
        dock_to_stock_target=Decimal("0.95"),
        dock_to_stock_days=2,
        return_target=Decimal("0.95"),
        return_days=5,
        no_first_scan_max=Decimal("0.002"),
        no_first_scan_days=5,
        dispute_target=Decimal("1.0"),
        dispute_days=2,
        closed_month_days=((12, 26),),
        exclusion=((1, 10), (1, 12), "force majeure"),
        credit_tiers=((Decimal("0.99"), 5), (Decimal("0.97"), 10)),
        rates=RateCard(
            pick_pack=300,
            additional_unit=75,
            packaging={"poly_mailer": 35, "box_small": 85, "box_medium": 125},
            storage_per_pallet_month=2500,
            receiving_per_unit=25,
            returns_per_unit=350,
            shipping_markup_pct=0,
        ),
    ),
    "eastbridge": Contract(
        provider_id="eastbridge",
        code="EB",
        name="EastBridge Logistics warehousing and fulfillment agreement",
        ship_on_time_target=Decimal("0.985"),
        peak_ship_on_time_target=Decimal("0.97"),
        inventory_target=Decimal("0.98"),
        inventory_tolerance_units=1,
        dock_to_stock_target=Decimal("0.95"),
        dock_to_stock_days=3,
        return_target=Decimal("0.95"),
        return_days=3,
        no_first_scan_max=Decimal("0.003"),
        no_first_scan_days=3,
        dispute_target=Decimal("0.95"),
        dispute_days=3,
        closed_month_days=((12, 24),),
        exclusion=None,
        credit_tiers=((Decimal("0.985"), 4), (Decimal("0.97"), 8), (Decimal("0.93"), 15)),
        rates=RateCard(
            pick_pack=275,
            additional_unit=60,
            packaging={"poly_mailer": 30, "box_small": 95, "box_medium": 140},
            storage_per_pallet_month=2500,
            receiving_per_unit=20,
            returns_per_unit=300,
            shipping_markup_pct=5,
        ),
    ),
}

# Storage billed at this rate in the planted overbilled months (contract: 25.00).
OVERBILLED_STORAGE_RATE = 3200


def money(cents: int) -> str:
    """Cents as a 2-decimal amount string."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def closed_dates(contract: Contract, years: range) -> list[date]:
    """The contract's closed dates falling in the given years."""
    return [date(y, m, d) for y in years for m, d in contract.closed_month_days]


def peak_windows(years: range) -> list[tuple[date, date]]:
    """The peak season (Nov 20 to Dec 31) of each year."""
    return [(date(y, 11, 20), date(y, 12, 31)) for y in years]


def render_yaml(
    contract: Contract, years: range, capacity: tuple[int, int], effective: date
) -> str:
    """The contract in DESIGN section 6 YAML."""
    r = contract.rates
    facilities = [f for f in FACILITIES if f.provider_id == contract.provider_id]
    lines = [
        f"provider: {contract.provider_id}",
        f"name: {contract.name}",
        f"effective: {effective.isoformat()}",
        "currency: USD",
        "facilities:",
    ]
    lines += [
        f"  - {{id: {f.id}, timezone: {f.timezone}, country: {f.country}, "
        f'subdivision: {f.subdivision}, cutoff: "{f.cutoff}"}}'
        for f in facilities
    ]
    lines += [
        f"capacity: {{orders_per_day: {capacity[0]}, peak_orders_per_day: {capacity[1]}}}",
        "metrics:",
        f"  ship_on_time_rate: {{target: {contract.ship_on_time_target}, "
        "rule: same_day_before_cutoff}",
        "  order_accuracy_rate: {target: 0.995}",
        f"  inventory_accuracy_rate: {{target: {contract.inventory_target}, "
        f"tolerance_units: {contract.inventory_tolerance_units}}}",
        f"  dock_to_stock_on_time_rate: {{target: {contract.dock_to_stock_target}, "
        f"within_business_days: {contract.dock_to_stock_days}}}",
        f"  return_processing_on_time_rate: {{target: {contract.return_target}, "
        f"within_business_days: {contract.return_days}}}",
        f"  no_first_scan_rate: {{max: {contract.no_first_scan_max}, "
        f"within_business_days: {contract.no_first_scan_days}}}",
        f"  dispute_response_on_time_rate: {{target: {contract.dispute_target}, "
        f"within_business_days: {contract.dispute_days}}}",
    ]
    peaks = ", ".join(
        f"{{from: {a.isoformat()}, to: {b.isoformat()}, metrics: {{ship_on_time_rate: "
        f"{{target: {contract.peak_ship_on_time_target}}}}}}}"
        for a, b in peak_windows(years)
    )
    lines.append(f"peak: [{peaks}]")
    if contract.exclusion is None:
        lines.append("exclusions: []")
    else:
        (m1, d1), (m2, d2), reason = contract.exclusion
        y = years[0]
        lines.append(
            f"exclusions: [{{from: {date(y, m1, d1).isoformat()}, "
            f"to: {date(y, m2, d2).isoformat()}, reason: {reason}}}]"
        )
    closed = ", ".join(d.isoformat() for d in closed_dates(contract, years))
    lines.append(f"closed_dates: [{closed}]")
    lines += ["credits:", "  cap_pct_of_fees: 25", "  tiers:"]
    lines += [
        f"    - {{metric: ship_on_time_rate, below: {below}, credit_pct_of_fees: {pct}}}"
        for below, pct in contract.credit_tiers
    ]
    lines.append("  per_incident: {picking_error: 25.00, lost_shipment: order_value}")
    packaging = ", ".join(f"{k}: {money(v)}" for k, v in r.packaging.items())
    lines += [
        "rates:",
        f"  pick_pack: {money(r.pick_pack)}",
        f"  additional_unit: {money(r.additional_unit)}",
        f"  packaging: {{{packaging}}}",
        f"  storage_per_pallet_month: {money(r.storage_per_pallet_month)}",
        f"  receiving_per_unit: {money(r.receiving_per_unit)}",
        f"  returns_per_unit: {money(r.returns_per_unit)}",
        f"  shipping_markup_pct: {r.shipping_markup_pct}",
    ]
    return "\n".join(lines) + "\n"


def write_contracts(
    out_dir: Path, years: range, capacities: dict[str, tuple[int, int]], effective: date
) -> list[Path]:
    """Write `contracts/<provider>.yaml` for both providers; return the paths."""
    folder = out_dir / "contracts"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for provider_id, contract in CONTRACTS.items():
        path = folder / f"{provider_id}.yaml"
        text = render_yaml(contract, years, capacities[provider_id], effective)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
