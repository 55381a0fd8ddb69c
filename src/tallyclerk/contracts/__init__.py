"""The contract with a 3PL: the YAML of DESIGN section 6 as a validated, typed, versioned schema.

Every problem in a contract is reported as a ContractIssue naming the file, line and key.
"""

from __future__ import annotations

from tallyclerk.contracts._catalogue import (
    BUSINESS_DAY_METRICS,
    HOURS_METRICS,
    INCIDENT_KINDS,
    KPI_NAMES,
    LOWER_IS_BETTER_METRICS,
    SHIP_RULES,
    IncidentKind,
    ShipRule,
)
from tallyclerk.contracts._errors import ContractError, ContractIssue
from tallyclerk.contracts._load import check_contract, content_hash, load_contract, parse_contract
from tallyclerk.contracts._schema import (
    CapacityTerms,
    Contract,
    CreditTerms,
    CreditTier,
    ExclusionWindow,
    FacilityTerms,
    MetricOverride,
    MetricTerms,
    PeakVariant,
    RateCard,
)
from tallyclerk.contracts._values import ORDER_VALUE
from tallyclerk.contracts._versions import contract_in_force

__all__ = [
    "BUSINESS_DAY_METRICS",
    "HOURS_METRICS",
    "INCIDENT_KINDS",
    "KPI_NAMES",
    "LOWER_IS_BETTER_METRICS",
    "ORDER_VALUE",
    "SHIP_RULES",
    "CapacityTerms",
    "Contract",
    "ContractError",
    "ContractIssue",
    "CreditTerms",
    "CreditTier",
    "ExclusionWindow",
    "FacilityTerms",
    "IncidentKind",
    "MetricOverride",
    "MetricTerms",
    "PeakVariant",
    "RateCard",
    "ShipRule",
    "check_contract",
    "content_hash",
    "contract_in_force",
    "load_contract",
    "parse_contract",
]
