"""What a simulation produced: row counts, paths and the planted problems for `planted.json`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ._contracts import CONTRACTS, OVERBILLED_STORAGE_RATE, money, peak_windows
from ._planted import (
    DUPLICATE_PICK_PACK_SHARE,
    NO_SCAN_SHARE,
    SLOW_RETURN_SHARE,
    PlantedLog,
    PlantedProblem,
    Tally,
)
from ._sites import Site


@dataclass(frozen=True)
class SimulationSummary:
    """Rows written per kind, where the files are, and the problems planted in them."""

    out_dir: Path
    orders: int
    seed: int
    start: date
    end: date
    rows: Mapping[str, int]
    paths: Mapping[str, Path]
    contracts: tuple[Path, ...]
    planted_path: Path
    planted: tuple[PlantedProblem, ...]
    problems: bool = True  # False: generated with no planted problems


def conventions() -> dict[str, str]:
    """How the generator bills and snapshots, so a checker can recompute expected values."""
    return {
        "timestamps": "facility-local with UTC offset; orders.placed_at and feedback in "
        "America/Chicago; carrier events in the local time of where they happened",
        "snapshots": "as of the day before start and every Sunday; stock moves only on facility "
        "business days between 06:00 and 20:00 local",
        "book": "first snapshot on_hand + stocked receipts (received_qty) - shipped units "
        "+ restocked returns (by processed_at) + approved adjustments",
        "invoice_month": "order fees by the local date of the order's first shipment, receiving by "
        "stocked_at, returns by processed_at, storage by the month billed",
        "pick_pack": "one line per shipped order, quantity 1",
        "additional_unit": "one line per order with more than one unit shipped, "
        "quantity = units - 1",
        "packaging": "one line per order and packaging type, "
        "quantity = shipments in that packaging",
        "shipping": "one line per order, amount = sum of its shipments' shipping_cost x "
        "(1 + shipping_markup_pct / 100), rounded half up to the cent",
        "storage": "one line per provider and month, reference YYYY-MM, quantity = pallets at the "
        "month's last snapshot: per facility ceil(sum over SKUs of on_hand / units_per_pallet), "
        "summed over the provider's facilities",
        "receiving": "one line per receipt row, quantity = received_qty",
        "returns": "one line per return row, quantity = qty",
    }


def _rate(tally: Tally | None) -> dict[str, Any]:
    return (tally or Tally()).as_dict()


def build_problems(
    log: PlantedLog, start: date, end: date, sites: list[Site]
) -> list[PlantedProblem]:
    """The six planted problems with ids, expectations and the generator's own measurements."""
    period = (start.isoformat(), end.isoformat())
    westcoast = CONTRACTS["westcoast"]
    eastbridge = CONTRACTS["eastbridge"]
    east_sites = tuple(s.facility.id for s in sites if s.facility.provider_id == "eastbridge")
    windows = [
        (max(start, a), min(end, b))
        for a, b in peak_windows(range(start.year, end.year + 1))
        if max(start, a) <= min(end, b)
    ]
    peak_from, peak_to = windows[0] if windows else (start, end)
    problems = [
        PlantedProblem(
            number=1,
            name="eastbridge_peak_meltdown",
            description="EastBridge runs out of throughput at peak: a backlog builds on the "
            "busiest days (Black Friday/Cyber Monday, Mondays) and ship-on-time falls clearly "
            "below the peak target from Nov 20 through December; the rest of the year it meets "
            "its target.",
            provider_ids=("eastbridge",),
            facility_ids=east_sites,
            period_start=peak_from.isoformat(),
            period_end=peak_to.isoformat(),
            metric="ship_on_time_rate",
            expected={
                "direction": "below",
                "threshold": str(eastbridge.peak_ship_on_time_target),
                "threshold_kind": "peak target",
                "rest_of_year": {
                    "direction": "at_or_above",
                    "threshold": str(eastbridge.ship_on_time_target),
                },
            },
            id_kind="order_id",
            ids=tuple(log.peak_late_orders.ids),
            ids_total=log.peak_late_orders.total,
            observed={
                "peak": _rate(log.peak_on_time.get("eastbridge")),
                "rest_of_year": _rate(log.off_peak_on_time.get("eastbridge")),
                "by_due_month": {
                    month: tally.as_dict()
                    for (provider_id, month), tally in sorted(log.monthly_on_time.items())
                    if provider_id == "eastbridge"
                },
            },
            details={
                "measured_by": "due date per same_day_before_cutoff; late ids = orders due "
                "in a peak window whose complete shipment came after the due date",
                "peak_windows": [[a.isoformat(), b.isoformat()] for a, b in windows],
            },
        ),
        _drift(log, period),
        PlantedProblem(
            number=3,
            name="eastbridge_storage_overbilled",
            description="EastBridge bills storage at a wrong rate in some months.",
            provider_ids=("eastbridge",),
            facility_ids=east_sites,
            period_start=period[0],
            period_end=period[1],
            metric="invoice_accuracy_rate",
            expected={
                "direction": "below",
                "threshold": "1",
                "billed_rate": money(OVERBILLED_STORAGE_RATE),
                "contract_rate": money(eastbridge.rates.storage_per_pallet_month),
            },
            id_kind="invoice_line",
            ids=tuple(f"{x['invoice_id']}#{x['line_no']}" for x in log.storage_overbilled),
            ids_total=len(log.storage_overbilled),
            observed={"lines": len(log.storage_overbilled)},
            details={"lines": log.storage_overbilled},
        ),
        PlantedProblem(
            number=3,
            name="eastbridge_duplicate_pick_pack",
            description="EastBridge bills pick_pack twice for some orders in some months.",
            provider_ids=("eastbridge",),
            facility_ids=east_sites,
            period_start=period[0],
            period_end=period[1],
            metric="invoice_accuracy_rate",
            expected={"direction": "below", "threshold": "1", "charge_type": "pick_pack"},
            id_kind="order_id",
            ids=tuple(log.duplicate_pick_pack.ids),
            ids_total=log.duplicate_pick_pack.total,
            observed={"duplicate_lines": log.duplicate_pick_pack.total},
            details={
                "invoice_ids": log.duplicate_invoices,
                "share_of_orders_in_those_months": DUPLICATE_PICK_PACK_SHARE,
            },
        ),
        PlantedProblem(
            number=4,
            name="westcoast_slow_returns",
            description=f"WestCoast processes about {SLOW_RETURN_SHARE:.0%} of returns after the "
            f"contract's {westcoast.return_days} business days.",
            provider_ids=("westcoast",),
            facility_ids=("LAX1",),
            period_start=period[0],
            period_end=period[1],
            metric="return_processing_on_time_rate",
            expected={"direction": "below", "threshold": str(westcoast.return_target)},
            id_kind="return_id",
            ids=tuple(log.slow_returns.ids),
            ids_total=log.slow_returns.total,
            observed={
                "westcoast": _rate(log.return_on_time.get("westcoast")),
                "eastbridge": _rate(log.return_on_time.get("eastbridge")),
            },
            details={"within_business_days": westcoast.return_days},
        ),
        PlantedProblem(
            number=5,
            name="released_never_shipped",
            description="A handful of orders were released to a 3PL and never shipped (no "
            "shipment, not cancelled).",
            provider_ids=tuple(sorted({x["provider_id"] for x in log.never_shipped})),
            facility_ids=tuple(sorted({x["facility_id"] for x in log.never_shipped})),
            period_start=period[0],
            period_end=period[1],
            metric="ship_on_time_rate",
            expected={"direction": "late", "check": "released_not_shipped"},
            id_kind="order_id",
            ids=tuple(x["order_id"] for x in log.never_shipped),
            ids_total=len(log.never_shipped),
            observed={"orders": len(log.never_shipped)},
            details={"orders": log.never_shipped},
        ),
        PlantedProblem(
            number=6,
            name="westcoast_no_first_scan",
            description="WestCoast shipments with no carrier event at all (likely lost), at a "
            "rate above the contract maximum.",
            provider_ids=("westcoast",),
            facility_ids=("LAX1",),
            period_start=period[0],
            period_end=period[1],
            metric="no_first_scan_rate",
            expected={
                "direction": "above",
                "threshold": str(westcoast.no_first_scan_max),
                "planted_share": NO_SCAN_SHARE,
            },
            id_kind="shipment_id",
            ids=tuple(log.no_scan_shipments.ids),
            ids_total=log.no_scan_shipments.total,
            observed=_rate(log.scanned.get("westcoast")),
            details={"within_business_days": westcoast.no_first_scan_days},
        ),
    ]
    # A problem that could not be planted (range without a peak, too few orders) is left out.
    return [p for p in problems if p.ids_total > 0]


def _drift(log: PlantedLog, period: tuple[str, str]) -> PlantedProblem:
    final = {sku: gaps[-1] for sku, gaps in log.drift_gap.items() if gaps}
    first_gap = {
        sku: next((as_of for as_of, book, on_hand in gaps if book != on_hand), None)
        for sku, gaps in log.drift_gap.items()
    }
    return PlantedProblem(
        number=2,
        name="westcoast_inventory_drift",
        description="Units of a few LAX1 SKUs go missing with no adjustment: the 3PL's on_hand "
        "falls below the book, and the gap grows over the year.",
        provider_ids=("westcoast",),
        facility_ids=("LAX1",),
        period_start=period[0],
        period_end=period[1],
        metric="inventory_accuracy_rate",
        expected={
            "direction": "below",
            "threshold": str(CONTRACTS["westcoast"].inventory_target),
            "on_hand_vs_book": "below",
            "tolerance_units": CONTRACTS["westcoast"].inventory_tolerance_units,
        },
        id_kind="sku",
        ids=tuple(log.drift_skus),
        ids_total=len(log.drift_skus),
        observed={
            sku: {"as_of": as_of, "book": book, "on_hand": on_hand, "gap": book - on_hand}
            for sku, (as_of, book, on_hand) in sorted(final.items())
        },
        details={
            "first_snapshot_with_gap": first_gap,
            "monthly_gap": {
                sku: {as_of[:7]: book - on_hand for as_of, book, on_hand in gaps}
                for sku, gaps in sorted(log.drift_gap.items())
            },
        },
    )
