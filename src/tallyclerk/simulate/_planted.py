"""The planted problems: what was planted, bounded id samples and the generator's own tallies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ID_CAP = 1000

# Planted knobs (shares are per eligible row, independent of scale).
NEVER_SHIPPED_ORDERS = 12  # fewer below 3,000 orders, where each one weighs on the rates
DRIFT_SKUS = 4
DRIFT_SHARE_OF_UNITS = 0.03  # drift SKUs lose this share of their throughput at LAX1
DRIFT_MIN_UNITS_PER_YEAR = 12  # and at least this many units a year
SLOW_RETURN_SHARE = 0.35  # westcoast returns processed after the contract's N business days
NO_SCAN_SHARE = 0.01  # westcoast shipments with no carrier event at all (contract max 0.002)
DUPLICATE_PICK_PACK_SHARE = 0.015  # eastbridge orders billed pick_pack twice, in planted months
DUPLICATE_MONTH_INDEXES = (1, 4, 7, 10)  # months since start with duplicates
OVERBILLED_STORAGE_MONTH_INDEXES = (2, 6, 9)  # months since start with the wrong storage rate
PEAK_ON_TIME_GOAL = 0.86  # eastbridge peak throughput is sized to miss its 0.97 target


class IdSample:
    """The first ids seen (at most ID_CAP) and how many there were in total."""

    __slots__ = ("ids", "total")

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.total = 0

    def add(self, item: str) -> None:
        """Count an id, keeping it while under the cap."""
        self.total += 1
        if len(self.ids) < ID_CAP:
            self.ids.append(item)


class Tally:
    """A numerator over a denominator."""

    __slots__ = ("hits", "total")

    def __init__(self) -> None:
        self.hits = 0
        self.total = 0

    def add(self, hit: bool) -> None:
        """Count one case."""
        self.total += 1
        if hit:
            self.hits += 1

    def as_dict(self) -> dict[str, Any]:
        """Numerator, denominator and rate (rounded to 4 places)."""
        rate = round(self.hits / self.total, 4) if self.total else None
        return {"numerator": self.hits, "denominator": self.total, "rate": rate}


@dataclass
class PlantedLog:
    """Everything the generator records about its planted problems while it runs."""

    peak_late_orders: IdSample = field(default_factory=IdSample)
    peak_on_time: dict[str, Tally] = field(default_factory=dict)
    off_peak_on_time: dict[str, Tally] = field(default_factory=dict)
    monthly_on_time: dict[tuple[str, str], Tally] = field(default_factory=dict)
    never_shipped: list[dict[str, str]] = field(default_factory=list)
    drift_skus: list[str] = field(default_factory=list)
    drift_gap: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)
    storage_overbilled: list[dict[str, str]] = field(default_factory=list)
    duplicate_pick_pack: IdSample = field(default_factory=IdSample)
    duplicate_invoices: list[str] = field(default_factory=list)
    slow_returns: IdSample = field(default_factory=IdSample)
    return_on_time: dict[str, Tally] = field(default_factory=dict)
    no_scan_shipments: IdSample = field(default_factory=IdSample)
    scanned: dict[str, Tally] = field(default_factory=dict)


@dataclass(frozen=True)
class PlantedProblem:
    """One planted problem as a checker needs it (the `planted.json` entry)."""

    number: int
    name: str
    description: str
    provider_ids: tuple[str, ...]
    facility_ids: tuple[str, ...]
    period_start: str
    period_end: str
    metric: str
    expected: dict[str, Any]
    id_kind: str
    ids: tuple[str, ...]
    ids_total: int
    observed: dict[str, Any]
    details: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "number": self.number,
            "name": self.name,
            "description": self.description,
            "provider_ids": list(self.provider_ids),
            "facility_ids": list(self.facility_ids),
            "period": {"from": self.period_start, "to": self.period_end},
            "metric": self.metric,
            "expected": self.expected,
            "id_kind": self.id_kind,
            "ids": list(self.ids),
            "ids_total": self.ids_total,
            "observed": self.observed,
            "details": self.details,
        }


def write_planted(path: Path, header: dict[str, Any], problems: list[PlantedProblem]) -> None:
    """Write `planted.json` (sorted keys, stable bytes)."""
    document = dict(header)
    document["problems"] = [p.as_dict() for p in problems]
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
