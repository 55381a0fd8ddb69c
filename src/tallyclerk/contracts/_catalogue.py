"""The vocabularies a contract is written in: KPI names, ship rules, incident kinds."""

from __future__ import annotations

from typing import Literal, get_args

KPI_ORDER: tuple[str, ...] = (
    "ship_on_time_rate",
    "order_cycle_hours_p50",
    "order_cycle_hours_p90",
    "order_accuracy_rate",
    "inventory_accuracy_rate",
    "dock_to_stock_on_time_rate",
    "return_processing_on_time_rate",
    "delivery_on_time_rate",
    "damage_free_rate",
    "perfect_order_rate",
    "no_first_scan_rate",
    "invoice_accuracy_rate",
    "dispute_response_on_time_rate",
)
"""Every metric name of the KPI catalogue (DESIGN section 5), in the catalogue's order."""

KPI_NAMES: frozenset[str] = frozenset(KPI_ORDER)
"""The same names, for membership tests."""

LOWER_IS_BETTER_METRICS: frozenset[str] = frozenset(
    {"no_first_scan_rate", "order_cycle_hours_p50", "order_cycle_hours_p90"}
)
"""Metrics held to a `max`; every other metric is held to a `target`."""

HOURS_METRICS: frozenset[str] = frozenset({"order_cycle_hours_p50", "order_cycle_hours_p90"})
"""Metrics measured in hours rather than as a rate between 0 and 1."""

BUSINESS_DAY_METRICS: frozenset[str] = frozenset(
    {
        "dock_to_stock_on_time_rate",
        "return_processing_on_time_rate",
        "no_first_scan_rate",
        "dispute_response_on_time_rate",
    }
)
"""Metrics measured against a deadline of N business days (`within_business_days`)."""

TOLERANCE_METRICS: frozenset[str] = frozenset({"inventory_accuracy_rate"})
"""Metrics that take `tolerance_units`."""

RULE_METRICS: frozenset[str] = frozenset({"ship_on_time_rate"})
"""Metrics that take a due-time `rule`."""

ShipRule = Literal["same_day_before_cutoff"]
"""How the ship due time of an order is computed (DESIGN section 3)."""

SHIP_RULES: tuple[ShipRule, ...] = get_args(ShipRule)
"""Every known ship rule."""

DEFAULT_SHIP_RULE: ShipRule = "same_day_before_cutoff"
"""The rule ship_on_time_rate uses when the contract names none."""

IncidentKind = Literal["picking_error", "lost_shipment", "damaged_shipment", "missed_ship_date"]
"""Incidents that earn a per-incident credit."""

INCIDENT_KINDS: tuple[IncidentKind, ...] = get_args(IncidentKind)
"""Every known incident kind."""
