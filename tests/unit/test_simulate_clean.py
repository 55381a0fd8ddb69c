"""The simulator with its planted problems switched off.

Each check below looks for one planted problem directly in the CSV files. On a data set made
with `problems=False` it must find nothing; on the same seed with problems planted it must find
the planted cases, so a check that could never fire does not pass by accident.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import holidays
import pytest
import yaml
from typer.testing import CliRunner

from tallyclerk.simulate import SimulationSummary, simulate

ORDERS = 2500
SEED = 4

Row = dict[str, str]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    return simulate(tmp_path_factory.mktemp("clean"), ORDERS, seed=SEED, problems=False)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    return simulate(tmp_path_factory.mktemp("planted"), ORDERS, seed=SEED)


@cache
def _read(path: Path) -> tuple[Row, ...]:
    with path.open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def rows(sim: SimulationSummary, kind: str) -> tuple[Row, ...]:
    return _read(sim.out_dir / f"{kind}.csv")


def contracts(sim: SimulationSummary) -> dict[str, dict[str, Any]]:
    loaded = (yaml.safe_load(p.read_text(encoding="utf-8")) for p in sim.contracts)
    return {c["provider"]: c for c in loaded}


def planted_json(sim: SimulationSummary) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(sim.planted_path.read_text(encoding="utf-8"))
    return document


# Facility timestamps are written in the facility's local time with its offset, so the first
# ten characters are the local date and the next five the local wall-clock time.
def local_day(text: str) -> date:
    return date.fromisoformat(text[:10])


def local_minutes(text: str) -> int:
    return int(text[11:13]) * 60 + int(text[14:16])


@dataclass(frozen=True)
class Site:
    provider_id: str
    cutoff_minutes: int
    business: frozenset[date]

    def next_business(self, d: date) -> date:
        d += timedelta(days=1)
        while d not in self.business:
            d += timedelta(days=1)
        return d

    def ship_due(self, released_at: str) -> date:
        d = local_day(released_at)
        if d in self.business and local_minutes(released_at) < self.cutoff_minutes:
            return d
        return self.next_business(d)

    def within(self, event: str, n: int) -> date:
        d = local_day(event)
        while d not in self.business:
            d += timedelta(days=1)
        for _ in range(n):
            d = self.next_business(d)
        return d


def sites(sim: SimulationSummary) -> dict[str, Site]:
    result = {}
    for provider_id, contract in contracts(sim).items():
        closed = set(contract["closed_dates"])
        for f in contract["facilities"]:
            public = holidays.country_holidays(
                f["country"], subdiv=f["subdivision"], years=range(2025, 2028)
            )
            days = (date(2025, 12, 1) + timedelta(days=i) for i in range(800))
            business = frozenset(
                d for d in days if d.weekday() < 5 and d not in public and d not in closed
            )
            hours, minutes = f["cutoff"].split(":")
            result[f["id"]] = Site(provider_id, int(hours) * 60 + int(minutes), business)
    return result


# -- the checks, one per planted problem ------------------------------------------------------


def storage_off_rate(sim: SimulationSummary) -> list[Row]:
    """Storage lines billed at a rate other than the provider's contract rate."""
    rates = {
        provider_id: Decimal(str(c["rates"]["storage_per_pallet_month"]))
        for provider_id, c in contracts(sim).items()
    }
    return [
        line
        for line in rows(sim, "invoice_lines")
        if line["charge_type"] == "storage"
        and Decimal(line["unit_rate"]) != rates[line["provider_id"]]
    ]


def duplicate_pick_pack(sim: SimulationSummary) -> set[str]:
    """Orders with more than one pick_pack line."""
    count = Counter(
        (line["provider_id"], line["reference"])
        for line in rows(sim, "invoice_lines")
        if line["charge_type"] == "pick_pack"
    )
    return {reference for (_, reference), n in count.items() if n > 1}


def released_never_shipped(sim: SimulationSummary) -> set[str]:
    """Released orders, not cancelled, with no shipment at all."""
    cancelled = {r["order_id"] for r in rows(sim, "orders") if r["cancelled_at"]}
    shipped = {s["order_id"] for s in rows(sim, "shipments")}
    released = {r["order_id"] for r in rows(sim, "releases")}
    return released - cancelled - shipped


def unscanned_shipments(sim: SimulationSummary) -> Counter[str]:
    """Shipments with no carrier event at all, per provider."""
    scanned = {e["tracking_number"] for e in rows(sim, "tracking_events")}
    return Counter(
        s["provider_id"] for s in rows(sim, "shipments") if s["tracking_number"] not in scanned
    )


def return_on_time(sim: SimulationSummary) -> dict[str, float]:
    """Share of returns processed within the contract's business days, per provider."""
    terms = sites(sim)
    days = {
        provider_id: c["metrics"]["return_processing_on_time_rate"]["within_business_days"]
        for provider_id, c in contracts(sim).items()
    }
    flags: dict[str, list[bool]] = defaultdict(list)
    for r in rows(sim, "returns"):
        site = terms[r["facility_id"]]
        deadline = site.within(r["received_at"], days[site.provider_id])
        flags[site.provider_id].append(local_day(r["processed_at"]) <= deadline)
    return {provider_id: sum(f) / len(f) for provider_id, f in flags.items()}


def peak_ship_on_time(sim: SimulationSummary, provider_id: str) -> float:
    """Ship-on-time of orders due from Nov 20 on (cancelled orders left out)."""
    terms = sites(sim)
    cancelled = {r["order_id"] for r in rows(sim, "orders") if r["cancelled_at"]}
    complete: dict[str, str] = {}
    for s in rows(sim, "shipments"):
        complete[s["order_id"]] = max(complete.get(s["order_id"], ""), s["shipped_at"][:10])
    flags = []
    for release in rows(sim, "releases"):
        site = terms[release["facility_id"]]
        if site.provider_id != provider_id or release["order_id"] in cancelled:
            continue
        due = site.ship_due(release["released_at"])
        if due < date(due.year, 11, 20):
            continue
        done = complete.get(release["order_id"])
        flags.append(done is not None and date.fromisoformat(done) <= due)
    return sum(flags) / len(flags)


def book_gap_at_last_snapshot(sim: SimulationSummary, facility_id: str) -> dict[str, int]:
    """Per SKU: book minus the 3PL's on_hand at the last snapshot (DESIGN section 5)."""
    snapshots = [r for r in rows(sim, "inventory_snapshots") if r["facility_id"] == facility_id]
    first = min(r["as_of"] for r in snapshots)
    last = max(r["as_of"] for r in snapshots)
    until = date.fromisoformat(last)
    book: Counter[str] = Counter()
    on_hand: dict[str, int] = {}
    for r in snapshots:
        if r["as_of"] == first:
            book[r["sku"]] += int(r["on_hand"])
        if r["as_of"] == last:
            on_hand[r["sku"]] = int(r["on_hand"])
    for r in rows(sim, "receipts"):
        if r["facility_id"] == facility_id and local_day(r["stocked_at"]) <= until:
            book[r["sku"]] += int(r["received_qty"])
    shipped_here = {
        s["shipment_id"]
        for s in rows(sim, "shipments")
        if s["facility_id"] == facility_id and local_day(s["shipped_at"]) <= until
    }
    for line in rows(sim, "shipment_lines"):
        if line["shipment_id"] in shipped_here:
            book[line["sku"]] -= int(line["qty"])
    for r in rows(sim, "returns"):
        if (
            r["facility_id"] == facility_id
            and r["disposition"] == "restock"
            and local_day(r["processed_at"]) <= until
        ):
            book[r["sku"]] += int(r["qty"])
    for a in rows(sim, "adjustments"):
        if (
            a["facility_id"] == facility_id
            and a["approved"] == "true"
            and local_day(a["occurred_at"]) <= until
        ):
            book[a["sku"]] += int(a["qty_delta"])
    return {sku: book[sku] - count for sku, count in on_hand.items()}


# -- with problems off, nothing is there --------------------------------------------------------


def test_planted_json_says_nothing_was_planted(clean: SimulationSummary) -> None:
    document = planted_json(clean)
    assert document["planted"] is False
    assert document["problems"] == []
    assert clean.planted == ()
    assert clean.problems is False
    assert document["rows"]["orders"] == ORDERS


def test_storage_billed_at_the_contract_rate(clean: SimulationSummary) -> None:
    assert any(line["charge_type"] == "storage" for line in rows(clean, "invoice_lines"))
    assert storage_off_rate(clean) == []


def test_no_duplicate_pick_pack_lines(clean: SimulationSummary) -> None:
    assert duplicate_pick_pack(clean) == set()


def test_every_released_order_ships_or_is_cancelled(clean: SimulationSummary) -> None:
    assert released_never_shipped(clean) == set()


def test_every_shipment_has_a_carrier_event(clean: SimulationSummary) -> None:
    assert sum(unscanned_shipments(clean).values()) == 0


def test_westcoast_returns_processed_on_time_like_eastbridge(clean: SimulationSummary) -> None:
    on_time = return_on_time(clean)
    assert on_time["westcoast"] >= 0.97
    assert on_time["westcoast"] >= on_time["eastbridge"] - 0.02


def test_eastbridge_meets_its_peak_target(clean: SimulationSummary) -> None:
    target = contracts(clean)["eastbridge"]["peak"][0]["metrics"]["ship_on_time_rate"]["target"]
    assert peak_ship_on_time(clean, "eastbridge") >= target


def test_lax1_on_hand_equals_the_book(clean: SimulationSummary) -> None:
    gaps = book_gap_at_last_snapshot(clean, "LAX1")
    assert len(gaps) == len(rows(clean, "products"))
    assert {sku: gap for sku, gap in gaps.items() if gap} == {}


def test_the_background_noise_stays(clean: SimulationSummary) -> None:
    receipts = rows(clean, "receipts")
    assert any(r["received_qty"] != r["expected_qty"] for r in receipts)
    assert any(a["approved"] == "false" for a in rows(clean, "adjustments"))
    statuses = {e["status"] for e in rows(clean, "tracking_events")}
    assert "exception" in statuses
    # orders still ship late now and then outside the peak
    terms = sites(clean)
    shipped: dict[str, str] = {}
    for s in rows(clean, "shipments"):
        shipped[s["order_id"]] = max(shipped.get(s["order_id"], ""), s["shipped_at"][:10])
    late = sum(
        1
        for r in rows(clean, "releases")
        if r["order_id"] in shipped
        and date.fromisoformat(shipped[r["order_id"]])
        > terms[r["facility_id"]].ship_due(r["released_at"])
    )
    assert late > 0


# -- with problems on, the same checks find them ------------------------------------------------


def test_the_same_checks_find_the_planted_problems(planted: SimulationSummary) -> None:
    document = planted_json(planted)
    assert "planted" not in document
    listed = {p["name"]: p for p in document["problems"]}
    assert len(listed) == 7
    assert {f"{line['invoice_id']}#{line['line_no']}" for line in storage_off_rate(planted)} == set(
        listed["eastbridge_storage_overbilled"]["ids"]
    )
    assert duplicate_pick_pack(planted) == set(listed["eastbridge_duplicate_pick_pack"]["ids"])
    assert released_never_shipped(planted) == set(listed["released_never_shipped"]["ids"])
    assert (
        unscanned_shipments(planted)["westcoast"] == listed["westcoast_no_first_scan"]["ids_total"]
    )
    on_time = return_on_time(planted)
    assert on_time["westcoast"] < on_time["eastbridge"] - 0.1
    assert peak_ship_on_time(planted, "eastbridge") < 0.93
    gaps = book_gap_at_last_snapshot(planted, "LAX1")
    drift = listed["westcoast_inventory_drift"]
    assert {sku for sku, gap in gaps.items() if gap} == set(drift["ids"])
    for sku in drift["ids"]:
        assert gaps[sku] == drift["observed"][sku]["gap"] > 0


def test_cli_flag_writes_a_clean_data_set(tmp_path: Path) -> None:
    from tallyclerk.cli import app

    result = CliRunner().invoke(
        app,
        ["simulate", "--out", str(tmp_path), "--orders", "200", "--months", "2", "--no-problems"],
    )
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "planted.json").read_text(encoding="utf-8"))
    assert document["planted"] is False
    assert document["problems"] == []
    assert "No problems were planted" in result.output
