"""The demo data generator: files, determinism, integrity, vocabularies and planted problems.

Every expectation is recomputed here with plain Python over the CSV files (no tallyclerk code),
so the tests check the data as a consumer of the files sees it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
import yaml

from tallyclerk.simulate import SimulationSummary, simulate

ORDERS = 3000
SEED = 11

# DESIGN section 4, copied here so the test does not trust the generator's own table.
DESIGN_COLUMNS = {
    "products": "sku, name, unit_cost, weight_kg, units_per_pallet",
    "orders": "order_id, placed_at, channel, ship_to_country, ship_to_postal, service_level, "
    "promised_delivery_date, order_value, currency, cancelled_at",
    "order_lines": "order_id, line_no, sku, qty, unit_price",
    "releases": "order_id, provider_id, facility_id, released_at",
    "shipments": "shipment_id, order_id, provider_id, facility_id, shipped_at, carrier, service, "
    "tracking_number, packaging, weight_kg, shipping_cost",
    "shipment_lines": "shipment_id, sku, qty",
    "tracking_events": "tracking_number, carrier, status, occurred_at, location",
    "inventory_snapshots": "provider_id, facility_id, as_of, sku, on_hand, available, damaged",
    "receipts": "receipt_id, provider_id, facility_id, asn_id, sku, expected_qty, received_qty, "
    "arrived_at, stocked_at",
    "adjustments": "adjustment_id, provider_id, facility_id, sku, qty_delta, occurred_at, reason, "
    "approved",
    "returns": "return_id, order_id, provider_id, facility_id, sku, qty, reason, received_at, "
    "processed_at, disposition",
    "invoice_lines": "invoice_id, line_no, provider_id, invoice_date, period_start, period_end, "
    "charge_type, reference, quantity, unit_rate, amount, currency",
    "feedback": "feedback_id, order_id, channel, received_at, score, tags, text",
    "audits": "audit_id, provider_id, facility_id, order_id, audited_at, checklist_item, passed, "
    "note",
}
TIMESTAMP_COLUMNS = {
    "orders": ("placed_at", "cancelled_at"),
    "releases": ("released_at",),
    "shipments": ("shipped_at",),
    "tracking_events": ("occurred_at",),
    "receipts": ("arrived_at", "stocked_at"),
    "adjustments": ("occurred_at",),
    "returns": ("received_at", "processed_at"),
    "feedback": ("received_at",),
    "audits": ("audited_at",),
}
DATE_COLUMNS = {
    "orders": ("promised_delivery_date",),
    "inventory_snapshots": ("as_of",),
    "invoice_lines": ("invoice_date", "period_start", "period_end"),
}
MONEY_COLUMNS = {
    "products": ("unit_cost",),
    "orders": ("order_value",),
    "order_lines": ("unit_price",),
    "shipments": ("shipping_cost",),
    "invoice_lines": ("unit_rate", "amount"),
}
TRACKING_STATUSES = {
    "label_created",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "exception",
    "returned_to_sender",
}
RETURN_REASONS = {
    "wrong_item",
    "missing_item",
    "damaged",
    "defective",
    "late",
    "no_longer_needed",
    "other",
}
FEEDBACK_TAGS = {"late", "damaged", "wrong_item", "missing_item", "packaging"}
CHARGE_TYPES = {
    "pick_pack",
    "additional_unit",
    "packaging",
    "storage",
    "receiving",
    "returns",
    "shipping",
    "other",
}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONEY = re.compile(r"^-?\d+\.\d{2}$")

Row = dict[str, str]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    out = tmp_path_factory.mktemp("sim")
    return simulate(out, ORDERS, seed=SEED)


@cache
def _read(path: Path) -> tuple[Row, ...]:
    with path.open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def rows(sim: SimulationSummary, kind: str) -> tuple[Row, ...]:
    return _read(sim.out_dir / f"{kind}.csv")


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class FacilityTerms:
    provider_id: str
    zone: ZoneInfo
    cutoff_minutes: int
    business: frozenset[date]  # business days over the range the tests look at
    contract: dict[str, Any]

    def local(self, text: str) -> datetime:
        return ts(text).astimezone(self.zone)

    def next_business(self, d: date) -> date:
        d += timedelta(days=1)
        while d not in self.business:
            d += timedelta(days=1)
        return d

    def on_or_after(self, d: date) -> date:
        while d not in self.business:
            d += timedelta(days=1)
        return d

    def ship_due(self, released_at: str) -> date:
        """DESIGN section 3, same_day_before_cutoff."""
        local = self.local(released_at)
        minutes = local.hour * 60 + local.minute
        if local.date() in self.business and minutes < self.cutoff_minutes:
            return local.date()
        return self.next_business(local.date())

    def within(self, event: str, n: int) -> date:
        """Deadline date of "within n business days" of an event (DESIGN section 3)."""
        d = self.on_or_after(self.local(event).date())
        for _ in range(n):
            d = self.next_business(d)
        return d


def facilities(sim: SimulationSummary) -> dict[str, FacilityTerms]:
    terms = {}
    for path in sim.contracts:
        contract = yaml.safe_load(path.read_text(encoding="utf-8"))
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
            terms[f["id"]] = FacilityTerms(
                contract["provider"],
                ZoneInfo(f["timezone"]),
                int(hours) * 60 + int(minutes),
                business,
                contract,
            )
    return terms


def planted(sim: SimulationSummary) -> dict[str, dict[str, Any]]:
    document = json.loads(sim.planted_path.read_text(encoding="utf-8"))
    return {p["name"]: p for p in document["problems"]}


def file_digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def in_peak(d: date) -> bool:
    return d >= date(d.year, 11, 20)


# -- files, formats ---------------------------------------------------------------------------


def test_every_kind_has_a_file_with_design_header(sim: SimulationSummary) -> None:
    assert set(sim.paths) == set(DESIGN_COLUMNS)
    for kind, columns in DESIGN_COLUMNS.items():
        path = sim.out_dir / f"{kind}.csv"
        assert sim.paths[kind] == path
        with path.open(encoding="utf-8", newline="") as f:
            header = next(csv.reader(f))
        assert header == columns.split(", "), kind
    assert (sim.out_dir / "contracts" / "westcoast.yaml").is_file()
    assert (sim.out_dir / "contracts" / "eastbridge.yaml").is_file()
    assert sim.planted_path == sim.out_dir / "planted.json"


def test_row_counts_match_summary_and_every_row_is_full(sim: SimulationSummary) -> None:
    for kind, columns in DESIGN_COLUMNS.items():
        with (sim.out_dir / f"{kind}.csv").open(encoding="utf-8", newline="") as f:
            records = list(csv.reader(f))[1:]
        width = len(columns.split(", "))
        assert all(len(r) == width for r in records), kind
        assert sim.rows[kind] == len(records), kind
        assert records, kind
    assert sim.rows["orders"] == ORDERS


def test_formats(sim: SimulationSummary) -> None:
    for kind, columns in TIMESTAMP_COLUMNS.items():
        for row in rows(sim, kind):
            for column in columns:
                value = row[column]
                if column == "cancelled_at" and not value:
                    continue
                assert TIMESTAMP.match(value), (kind, column, value)
    for kind, columns in DATE_COLUMNS.items():
        for row in rows(sim, kind):
            for column in columns:
                assert DATE.match(row[column]), (kind, column, row[column])
    for kind, columns in MONEY_COLUMNS.items():
        for row in rows(sim, kind):
            for column in columns:
                assert MONEY.match(row[column]), (kind, column, row[column])
    for kind, column in (("adjustments", "approved"), ("audits", "passed")):
        assert {r[column] for r in rows(sim, kind)} == {"true", "false"}
    for row in rows(sim, "orders"):
        assert row["currency"] == "USD"
    for row in rows(sim, "products"):
        assert re.match(r"^\d+\.\d{3}$", row["weight_kg"])
        assert int(row["units_per_pallet"]) > 0


def test_order_placed_at_is_in_brand_zone_and_facility_times_carry_their_offset(
    sim: SimulationSummary,
) -> None:
    chicago = ZoneInfo("America/Chicago")
    for row in rows(sim, "orders")[:500]:
        placed = ts(row["placed_at"])
        assert placed.utcoffset() == placed.astimezone(chicago).utcoffset()
    terms = facilities(sim)
    for row in rows(sim, "shipments")[:500]:
        shipped = ts(row["shipped_at"])
        local = shipped.astimezone(terms[row["facility_id"]].zone)
        assert shipped.utcoffset() == local.utcoffset()
        assert 8 <= local.hour < 20


def test_timestamps_stay_near_the_simulated_year(sim: SimulationSummary) -> None:
    low = datetime.fromisoformat("2025-12-20T00:00:00+00:00")
    high = datetime.fromisoformat("2027-03-31T00:00:00+00:00")
    for kind, columns in TIMESTAMP_COLUMNS.items():
        for row in rows(sim, kind):
            for column in columns:
                if row[column]:
                    assert low <= ts(row[column]) <= high, (kind, column, row[column])


# -- determinism, progress --------------------------------------------------------------------


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    first = simulate(tmp_path / "a", 1200, seed=5)
    second = simulate(tmp_path / "b", 1200, seed=5)
    other = simulate(tmp_path / "c", 1200, seed=6)
    digests = file_digests(tmp_path / "a")
    assert len(digests) == len(DESIGN_COLUMNS) + 3
    assert digests == file_digests(tmp_path / "b")
    assert digests != file_digests(tmp_path / "c")
    assert first.rows == second.rows
    assert first.planted == second.planted
    assert other.rows["orders"] == 1200


def test_progress_reports_every_order(tmp_path: Path) -> None:
    calls: list[int] = []
    simulate(tmp_path, 700, seed=3, start=date(2026, 3, 1), months=2, progress=calls.append)
    assert sum(calls) == 700
    assert all(n > 0 for n in calls)
    assert len(calls) > 30  # driven day by day


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="orders"):
        simulate(tmp_path, -1)
    with pytest.raises(ValueError, match="months"):
        simulate(tmp_path, 10, months=0)


# -- integrity --------------------------------------------------------------------------------


def test_keys_are_unique(sim: SimulationSummary) -> None:
    keys = {
        "products": ("sku",),
        "orders": ("order_id",),
        "order_lines": ("order_id", "line_no"),
        "releases": ("order_id",),
        "shipments": ("shipment_id",),
        "shipment_lines": ("shipment_id", "sku"),
        "inventory_snapshots": ("facility_id", "as_of", "sku"),
        "receipts": ("receipt_id",),
        "adjustments": ("adjustment_id",),
        "returns": ("return_id",),
        "invoice_lines": ("invoice_id", "line_no"),
        "feedback": ("feedback_id",),
        "audits": ("audit_id",),
    }
    for kind, columns in keys.items():
        values = [tuple(r[c] for c in columns) for r in rows(sim, kind)]
        assert len(values) == len(set(values)), kind
    tracking = [r["tracking_number"] for r in rows(sim, "shipments")]
    assert len(tracking) == len(set(tracking))


def test_foreign_references_resolve(sim: SimulationSummary) -> None:
    skus = {r["sku"] for r in rows(sim, "products")}
    orders = {r["order_id"] for r in rows(sim, "orders")}
    shipments = {r["shipment_id"]: r for r in rows(sim, "shipments")}
    tracking = {r["tracking_number"]: r["carrier"] for r in rows(sim, "shipments")}
    released = {r["order_id"]: r for r in rows(sim, "releases")}
    for kind in ("order_lines", "releases", "shipments", "returns", "feedback", "audits"):
        assert {r["order_id"] for r in rows(sim, kind)} <= orders, kind
    for kind in ("order_lines", "shipment_lines", "inventory_snapshots", "receipts"):
        assert {r["sku"] for r in rows(sim, kind)} <= skus, kind
    assert {r["sku"] for r in rows(sim, "adjustments")} <= skus
    assert {r["sku"] for r in rows(sim, "returns")} <= skus
    assert {r["shipment_id"] for r in rows(sim, "shipment_lines")} == set(shipments)
    for event in rows(sim, "tracking_events"):
        assert tracking[event["tracking_number"]] == event["carrier"]
    for shipment in shipments.values():
        release = released[shipment["order_id"]]
        assert release["facility_id"] == shipment["facility_id"]
        assert release["provider_id"] == shipment["provider_id"]
    shipped_facility = {s["order_id"]: s["facility_id"] for s in shipments.values()}
    for r in rows(sim, "returns"):
        assert shipped_facility[r["order_id"]] == r["facility_id"]
    for a in rows(sim, "audits"):
        assert shipped_facility[a["order_id"]] == a["facility_id"]
    references = {
        "pick_pack": orders,
        "additional_unit": orders,
        "packaging": orders,
        "shipping": orders,
        "receiving": {r["receipt_id"] for r in rows(sim, "receipts")},
        "returns": {r["return_id"] for r in rows(sim, "returns")},
    }
    for line in rows(sim, "invoice_lines"):
        if line["charge_type"] == "storage":
            assert re.match(r"^\d{4}-\d{2}$", line["reference"])
        else:
            assert line["reference"] in references[line["charge_type"]], line


def test_order_lifecycle_is_consistent(sim: SimulationSummary) -> None:
    orders = {r["order_id"]: r for r in rows(sim, "orders")}
    released = {r["order_id"]: r for r in rows(sim, "releases")}
    shipments_by_order: dict[str, list[Row]] = defaultdict(list)
    for s in rows(sim, "shipments"):
        shipments_by_order[s["order_id"]].append(s)
    for order_id, release in released.items():
        placed = ts(orders[order_id]["placed_at"])
        assert timedelta(minutes=1) <= ts(release["released_at"]) - placed <= timedelta(minutes=20)
        for s in shipments_by_order.get(order_id, []):
            assert ts(s["shipped_at"]) > ts(release["released_at"])
    cancelled = {k for k, o in orders.items() if o["cancelled_at"]}
    assert 0.003 < len(cancelled) / len(orders) < 0.025
    assert not cancelled & set(shipments_by_order)
    assert cancelled - set(released), "some orders are cancelled before release"
    assert cancelled & set(released), "some orders are cancelled after release"
    for order_id in cancelled & set(released):
        assert ts(orders[order_id]["cancelled_at"]) > ts(released[order_id]["released_at"])
    for order_id in cancelled - set(released):
        assert ts(orders[order_id]["cancelled_at"]) > ts(orders[order_id]["placed_at"])
    # shipment lines cover the order lines (apart from rare mis-picks)
    ordered: dict[str, Counter[str]] = defaultdict(Counter)
    for line in rows(sim, "order_lines"):
        ordered[line["order_id"]][line["sku"]] += int(line["qty"])
    shipped: dict[str, Counter[str]] = defaultdict(Counter)
    shipment_order = {s["shipment_id"]: s["order_id"] for s in rows(sim, "shipments")}
    for line in rows(sim, "shipment_lines"):
        shipped[shipment_order[line["shipment_id"]]][line["sku"]] += int(line["qty"])
    differing = [o for o in shipped if shipped[o] != ordered[o]]
    assert len(differing) <= 0.004 * len(shipped) + 2
    for order_id in differing:
        assert sum(shipped[order_id].values()) == sum(ordered[order_id].values())
    splits = sum(1 for s in shipments_by_order.values() if len(s) == 2)
    assert 0.02 < splits / len(shipments_by_order) < 0.07
    assert max(len(s) for s in shipments_by_order.values()) == 2
    for order_id, order in orders.items():
        value = sum(
            Decimal(line["unit_price"]) * int(line["qty"]) for line in rows_by_order(sim)[order_id]
        )
        assert Decimal(order["order_value"]) == value


@cache
def _lines_by_order(path: Path) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for line in _read(path):
        grouped[line["order_id"]].append(line)
    return grouped


def rows_by_order(sim: SimulationSummary) -> dict[str, list[Row]]:
    return _lines_by_order(sim.out_dir / "order_lines.csv")


def test_order_shapes(sim: SimulationSummary) -> None:
    per_order = Counter(r["order_id"] for r in rows(sim, "order_lines"))
    assert set(per_order.values()) <= {1, 2, 3, 4, 5}
    assert 0.45 < sum(1 for n in per_order.values() if n == 1) / len(per_order) < 0.7
    quantities = Counter(int(r["qty"]) for r in rows(sim, "order_lines"))
    assert (quantities[1] + quantities[2]) / sum(quantities.values()) > 0.9
    countries = Counter(r["ship_to_country"] for r in rows(sim, "orders"))
    assert set(countries) == {"US", "CA", "GB"}
    assert (countries["CA"] + countries["GB"]) / ORDERS < 0.06
    # international parcels all go to one provider
    international = {r["order_id"] for r in rows(sim, "orders") if r["ship_to_country"] != "US"}
    providers = {r["provider_id"] for r in rows(sim, "releases") if r["order_id"] in international}
    assert len(providers) == 1
    assert {r["facility_id"] for r in rows(sim, "releases")} == {"LAX1", "EWR1", "DFW1"}


def test_seasonality(sim: SimulationSummary) -> None:
    by_month = Counter(r["placed_at"][:7] for r in rows(sim, "orders"))
    assert by_month["2026-12"] > 1.4 * by_month["2026-03"]
    assert by_month["2026-11"] > by_month["2026-06"]
    by_day = Counter(r["placed_at"][:10] for r in rows(sim, "orders"))
    black_friday = by_day["2026-11-27"]
    november = [n for d, n in by_day.items() if d.startswith("2026-11") and d < "2026-11-20"]
    assert black_friday > 2.5 * sum(november) / len(november)
    weekday = Counter(
        date.fromisoformat(r["placed_at"][:10]).weekday() for r in rows(sim, "orders")
    )
    assert weekday[0] > weekday[5]


# -- vocabularies -----------------------------------------------------------------------------


def test_vocabularies(sim: SimulationSummary) -> None:
    statuses = {r["status"] for r in rows(sim, "tracking_events")}
    assert statuses == TRACKING_STATUSES
    assert {r["reason"] for r in rows(sim, "returns")} <= RETURN_REASONS
    assert len({r["reason"] for r in rows(sim, "returns")}) >= 5
    assert {r["disposition"] for r in rows(sim, "returns")} == {"restock", "dispose", "refurbish"}
    tags = [t for r in rows(sim, "feedback") if r["tags"] for t in r["tags"].split(";")]
    assert set(tags) <= FEEDBACK_TAGS
    assert {r["score"] for r in rows(sim, "feedback")} == {"1", "2", "3", "4", "5"}
    assert {r["charge_type"] for r in rows(sim, "invoice_lines")} <= CHARGE_TYPES
    assert {r["packaging"] for r in rows(sim, "shipments")} == {
        "poly_mailer",
        "box_small",
        "box_medium",
    }
    assert {r["carrier"] for r in rows(sim, "shipments")} == {"UPS", "FedEx", "USPS"}
    assert {r["service_level"] for r in rows(sim, "orders")} == {
        "standard",
        "expedited",
        "overnight",
    }
    assert {r["provider_id"] for r in rows(sim, "releases")} == {"westcoast", "eastbridge"}


def test_tracking_numbers_have_carrier_shapes(sim: SimulationSummary) -> None:
    shapes = {
        "UPS": re.compile(r"^1Z[0-9A-Z]{6}\d{10}$"),
        "FedEx": re.compile(r"^\d{12}$"),
        "USPS": re.compile(r"^(\d{22}|LZ\d{9}US)$"),
    }
    for s in rows(sim, "shipments"):
        assert shapes[s["carrier"]].match(s["tracking_number"]), s


def test_tracking_trails_are_ordered(sim: SimulationSummary) -> None:
    trails: dict[str, list[Row]] = defaultdict(list)
    for event in rows(sim, "tracking_events"):
        trails[event["tracking_number"]].append(event)
    shipped = {s["tracking_number"]: ts(s["shipped_at"]) for s in rows(sim, "shipments")}
    for number, events in trails.items():
        times = [ts(e["occurred_at"]) for e in events]
        assert times == sorted(times), number
        assert events[0]["status"] == "label_created"
        assert times[0] <= shipped[number] < times[1]
        assert events[-1]["status"] in {"delivered", "returned_to_sender"}


# -- inventory --------------------------------------------------------------------------------


def book_gaps(sim: SimulationSummary) -> dict[tuple[str, str], list[tuple[str, int, int]]]:
    """(facility, sku) -> [(as_of, book, on_hand)] per snapshot after the first."""
    terms = facilities(sim)
    moves: dict[tuple[str, str], list[tuple[date, int]]] = defaultdict(list)

    def local_date(facility: str, text: str) -> date:
        return terms[facility].local(text).date()

    for r in rows(sim, "receipts"):
        moves[(r["facility_id"], r["sku"])].append(
            (local_date(r["facility_id"], r["stocked_at"]), int(r["received_qty"]))
        )
    shipment = {s["shipment_id"]: s for s in rows(sim, "shipments")}
    for line in rows(sim, "shipment_lines"):
        s = shipment[line["shipment_id"]]
        moves[(s["facility_id"], line["sku"])].append(
            (local_date(s["facility_id"], s["shipped_at"]), -int(line["qty"]))
        )
    for r in rows(sim, "returns"):
        if r["disposition"] == "restock":
            moves[(r["facility_id"], r["sku"])].append(
                (local_date(r["facility_id"], r["processed_at"]), int(r["qty"]))
            )
    for a in rows(sim, "adjustments"):
        if a["approved"] == "true":
            moves[(a["facility_id"], a["sku"])].append(
                (local_date(a["facility_id"], a["occurred_at"]), int(a["qty_delta"]))
            )
    snapshots: dict[tuple[str, str], list[tuple[date, int]]] = defaultdict(list)
    for s in rows(sim, "inventory_snapshots"):
        snapshots[(s["facility_id"], s["sku"])].append(
            (date.fromisoformat(s["as_of"]), int(s["on_hand"]))
        )
    result = {}
    for key, series in snapshots.items():
        series.sort()
        opening_day, opening = series[0]
        events = sorted(moves.get(key, []))
        assert not events or events[0][0] > opening_day
        gaps = []
        for as_of, on_hand in series[1:]:
            book = opening + sum(q for d, q in events if d <= as_of)
            gaps.append((as_of.isoformat(), book, on_hand))
        result[key] = gaps
    return result


def test_snapshots_weekly_and_never_negative(sim: SimulationSummary) -> None:
    dates = sorted({date.fromisoformat(r["as_of"]) for r in rows(sim, "inventory_snapshots")})
    assert dates[0] == date(2025, 12, 31)
    assert all(d.weekday() == 6 for d in dates[1:])
    assert len(dates) == 53
    skus = len(rows(sim, "products"))
    assert len(rows(sim, "inventory_snapshots")) == 3 * skus * len(dates)
    for r in rows(sim, "inventory_snapshots"):
        on_hand, available, damaged = int(r["on_hand"]), int(r["available"]), int(r["damaged"])
        assert on_hand >= 0
        assert 0 <= damaged <= on_hand
        assert 0 <= available <= on_hand - damaged


def test_book_identity_holds_except_for_planted_drift(sim: SimulationSummary) -> None:
    drift = planted(sim)["westcoast_inventory_drift"]
    drift_skus = set(drift["ids"])
    assert 3 <= len(drift_skus) <= 5
    gaps = book_gaps(sim)
    for (facility, sku), series in gaps.items():
        if facility == "LAX1" and sku in drift_skus:
            continue
        for as_of, book, on_hand in series:
            assert book == on_hand, (facility, sku, as_of)
    # a busy non-planted SKU really moved (the identity is not trivially true)
    moved = [s for (f, sku), s in gaps.items() if f == "LAX1" and sku not in drift_skus]
    assert any(s[0][1] != s[-1][1] for s in moved)
    for sku in drift_skus:
        series = gaps[("LAX1", sku)]
        missing = [book - on_hand for _, book, on_hand in series]
        assert all(m >= 0 for m in missing)
        assert missing[-1] > 0
        assert missing[-1] > missing[len(missing) // 2] > missing[0] - 1  # growing
        assert drift["observed"][sku]["gap"] == missing[-1]


def test_receipts_and_adjustments(sim: SimulationSummary) -> None:
    terms = facilities(sim)
    receipts = rows(sim, "receipts")
    assert {r["facility_id"] for r in receipts} == {"LAX1", "EWR1", "DFW1"}
    late = 0
    for r in receipts:
        assert ts(r["stocked_at"]) > ts(r["arrived_at"])
        assert int(r["received_qty"]) > 0
        assert int(r["expected_qty"]) > 0
        facility = terms[r["facility_id"]]
        n = facility.contract["metrics"]["dock_to_stock_on_time_rate"]["within_business_days"]
        late += facility.local(r["stocked_at"]).date() > facility.within(r["arrived_at"], n)
    assert late / len(receipts) < 0.05
    assert any(r["received_qty"] != r["expected_qty"] for r in receipts)
    asns = Counter(r["asn_id"] for r in receipts)
    assert max(asns.values()) > 1
    adjustments = rows(sim, "adjustments")
    assert {a["reason"] for a in adjustments} == {"cycle_count", "damaged"}
    assert any(a["approved"] == "false" for a in adjustments)


# -- SLA shapes and planted problems ----------------------------------------------------------


def ship_on_time(sim: SimulationSummary) -> dict[tuple[str, bool], list[bool]]:
    """(provider, due in peak) -> on-time flag per order due (DESIGN section 5)."""
    terms = facilities(sim)
    orders = {r["order_id"]: r for r in rows(sim, "orders")}
    complete: dict[str, datetime] = {}
    for s in rows(sim, "shipments"):
        shipped = ts(s["shipped_at"])
        complete[s["order_id"]] = max(complete.get(s["order_id"], shipped), shipped)
    result: dict[tuple[str, bool], list[bool]] = defaultdict(list)
    for release in rows(sim, "releases"):
        facility = terms[release["facility_id"]]
        due = facility.ship_due(release["released_at"])
        cancelled = orders[release["order_id"]]["cancelled_at"]
        if cancelled and facility.local(cancelled).date() <= due:
            continue
        done = complete.get(release["order_id"])
        on_time = done is not None and facility.local(done.isoformat()).date() <= due
        result[(facility.provider_id, in_peak(due))].append(on_time)
    return result


def share(flags: list[bool]) -> float:
    return sum(flags) / len(flags)


def test_planted_meltdown_shows_in_eastbridge_peak_on_time(sim: SimulationSummary) -> None:
    on_time = ship_on_time(sim)
    peak = share(on_time[("eastbridge", True)])
    rest = share(on_time[("eastbridge", False)])
    # clearly below the 0.97 peak target, while the rest of the year stays near its 0.985
    # (at this small scale the planted never-shipped orders alone cost a few tenths of a point)
    assert peak < 0.93
    assert rest >= 0.98
    assert share(on_time[("westcoast", True)]) >= 0.97
    assert share(on_time[("westcoast", False)]) >= 0.98
    problem = planted(sim)["eastbridge_peak_meltdown"]
    assert problem["observed"]["peak"]["rate"] == pytest.approx(peak, abs=0.002)
    assert problem["observed"]["rest_of_year"]["rate"] == pytest.approx(rest, abs=0.002)
    assert problem["ids_total"] == len(on_time[("eastbridge", True)]) - sum(
        on_time[("eastbridge", True)]
    )


def test_planted_slow_returns_at_westcoast_only(sim: SimulationSummary) -> None:
    terms = facilities(sim)
    flags: dict[str, list[bool]] = defaultdict(list)
    late_ids = set()
    for r in rows(sim, "returns"):
        facility = terms[r["facility_id"]]
        n = facility.contract["metrics"]["return_processing_on_time_rate"]["within_business_days"]
        on_time = facility.local(r["processed_at"]).date() <= facility.within(r["received_at"], n)
        flags[facility.provider_id].append(on_time)
        if not on_time and facility.provider_id == "westcoast":
            late_ids.add(r["return_id"])
        assert ts(r["processed_at"]) > ts(r["received_at"])
    assert share(flags["westcoast"]) < 0.88
    assert share(flags["eastbridge"]) >= 0.93
    assert share(flags["eastbridge"]) - share(flags["westcoast"]) > 0.1
    problem = planted(sim)["westcoast_slow_returns"]
    assert set(problem["ids"]) == late_ids
    assert problem["ids_total"] == len(late_ids)


def test_planted_no_first_scan(sim: SimulationSummary) -> None:
    scanned = {e["tracking_number"] for e in rows(sim, "tracking_events")}
    silent: dict[str, list[str]] = defaultdict(list)
    total: Counter[str] = Counter()
    for s in rows(sim, "shipments"):
        total[s["provider_id"]] += 1
        if s["tracking_number"] not in scanned:
            silent[s["provider_id"]].append(s["shipment_id"])
    westcoast = yaml.safe_load((sim.out_dir / "contracts" / "westcoast.yaml").read_text())
    assert (
        len(silent["westcoast"]) / total["westcoast"]
        > westcoast["metrics"]["no_first_scan_rate"]["max"]
    )
    eastbridge = yaml.safe_load((sim.out_dir / "contracts" / "eastbridge.yaml").read_text())
    assert (
        len(silent["eastbridge"]) / total["eastbridge"]
        <= eastbridge["metrics"]["no_first_scan_rate"]["max"]
    )
    problem = planted(sim)["westcoast_no_first_scan"]
    assert set(problem["ids"]) == set(silent["westcoast"])


def test_planted_never_shipped(sim: SimulationSummary) -> None:
    orders = {r["order_id"]: r for r in rows(sim, "orders")}
    shipped = {s["order_id"] for s in rows(sim, "shipments")}
    stuck = {
        r["order_id"]
        for r in rows(sim, "releases")
        if r["order_id"] not in shipped and not orders[r["order_id"]]["cancelled_at"]
    }
    problem = planted(sim)["released_never_shipped"]
    assert 10 <= len(stuck) <= 20
    assert set(problem["ids"]) == stuck
    assert problem["ids_total"] == len(stuck)


def expected_invoice_amounts(sim: SimulationSummary) -> dict[tuple[str, str, str], Decimal]:
    """(provider, charge_type, reference) -> amount per the rate card and the activity."""
    rates = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))["rates"] for p in sim.contracts}
    expected: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    units: Counter[str] = Counter()
    shipments_by_order: dict[str, list[Row]] = defaultdict(list)
    for s in rows(sim, "shipments"):
        shipments_by_order[s["order_id"]].append(s)
    shipment_order = {s["shipment_id"]: s["order_id"] for s in rows(sim, "shipments")}
    for line in rows(sim, "shipment_lines"):
        units[shipment_order[line["shipment_id"]]] += int(line["qty"])
    for order_id, shipments in shipments_by_order.items():
        provider = shipments[0]["provider_id"]
        r = rates[provider]
        expected[(provider, "pick_pack", order_id)] = Decimal(str(r["pick_pack"]))
        if units[order_id] > 1:
            extra = Decimal(units[order_id] - 1) * Decimal(str(r["additional_unit"]))
            expected[(provider, "additional_unit", order_id)] = extra
        for s in shipments:
            fee = Decimal(str(r["packaging"][s["packaging"]]))
            expected[(provider, "packaging", order_id)] += fee
        cost = sum(Decimal(s["shipping_cost"]) for s in shipments)
        markup = 1 + Decimal(str(r["shipping_markup_pct"])) / 100
        expected[(provider, "shipping", order_id)] = (cost * markup).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )
    for receipt in rows(sim, "receipts"):
        r = rates[receipt["provider_id"]]
        expected[(receipt["provider_id"], "receiving", receipt["receipt_id"])] = Decimal(
            receipt["received_qty"]
        ) * Decimal(str(r["receiving_per_unit"]))
    for ret in rows(sim, "returns"):
        r = rates[ret["provider_id"]]
        expected[(ret["provider_id"], "returns", ret["return_id"])] = Decimal(ret["qty"]) * Decimal(
            str(r["returns_per_unit"])
        )
    # storage: pallets at each month's last snapshot (per facility, SKU fractions pooled)
    products = {p["sku"]: int(p["units_per_pallet"]) for p in rows(sim, "products")}
    last_as_of: dict[str, str] = {}
    for s in rows(sim, "inventory_snapshots"):
        month = s["as_of"][:7]
        last_as_of[month] = max(last_as_of.get(month, ""), s["as_of"])
    volume: dict[tuple[str, str, str], Fraction] = defaultdict(Fraction)
    for s in rows(sim, "inventory_snapshots"):
        month = s["as_of"][:7]
        if s["as_of"] == last_as_of[month] and month >= "2026-01":
            key = (s["provider_id"], s["facility_id"], month)
            volume[key] += Fraction(int(s["on_hand"]), products[s["sku"]])
    pallets: Counter[tuple[str, str]] = Counter()
    for (provider, _, month), used in volume.items():
        pallets[(provider, month)] += math.ceil(used)
    for (provider, month), count in pallets.items():
        rate = Decimal(str(rates[provider]["storage_per_pallet_month"]))
        expected[(provider, "storage", month)] = count * rate
    return expected


def test_invoices_match_rate_card_except_planted_overbilling(sim: SimulationSummary) -> None:
    expected = expected_invoice_amounts(sim)
    billed: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for line in rows(sim, "invoice_lines"):
        assert Decimal(line["quantity"]) * Decimal(line["unit_rate"]) == Decimal(line["amount"])
        assert line["period_start"][:7] == line["invoice_id"][-6:-2] + "-" + line["invoice_id"][-2:]
        billed[(line["provider_id"], line["charge_type"], line["reference"])].append(line)
    assert set(billed) == set(expected)
    duplicates = set()
    overbilled = set()
    for key, lines in billed.items():
        total = sum(Decimal(line["amount"]) for line in lines)
        if total == expected[key]:
            assert len(lines) == 1 or key[1] == "packaging", key
            continue
        assert key[0] == "eastbridge", key
        if key[1] == "pick_pack":
            assert len(lines) == 2
            assert lines[0]["amount"] == lines[1]["amount"]
            duplicates.add(key[2])
        else:
            assert key[1] == "storage", key
            assert lines[0]["unit_rate"] == "32.00"
            overbilled.add(f"{lines[0]['invoice_id']}#{lines[0]['line_no']}")
    problems = planted(sim)
    assert duplicates == set(problems["eastbridge_duplicate_pick_pack"]["ids"])
    assert duplicates
    assert overbilled == set(problems["eastbridge_storage_overbilled"]["ids"])
    assert len(overbilled) == 3


def test_returns_feedback_and_audits_have_realistic_shares(sim: SimulationSummary) -> None:
    shipped_orders = {s["order_id"] for s in rows(sim, "shipments")}
    returned = {r["order_id"] for r in rows(sim, "returns")}
    assert 0.05 < len(returned) / len(shipped_orders) < 0.12
    feedback = {r["order_id"] for r in rows(sim, "feedback")}
    assert 0.07 < len(feedback) / ORDERS < 0.18
    delivered: dict[str, datetime] = {}
    tracking_order = {s["tracking_number"]: s["order_id"] for s in rows(sim, "shipments")}
    for e in rows(sim, "tracking_events"):
        if e["status"] == "delivered":
            delivered[tracking_order[e["tracking_number"]]] = ts(e["occurred_at"])
    for r in rows(sim, "returns"):
        assert ts(r["received_at"]) > delivered[r["order_id"]]
    audits = rows(sim, "audits")
    assert {a["facility_id"] for a in audits} == {"LAX1", "EWR1", "DFW1"}
    assert 0.9 < sum(a["passed"] == "true" for a in audits) / len(audits) < 1.0
    assert all(a["note"] for a in audits if a["passed"] == "false")
    # order accuracy and delivery promise mostly kept: the background stays within contract
    orders = {r["order_id"]: r for r in rows(sim, "orders")}
    picking_errors = {
        r["order_id"] for r in rows(sim, "returns") if r["reason"] in {"wrong_item", "missing_item"}
    }
    assert len(picking_errors) / len(shipped_orders) < 0.005
    on_promise = [
        d.astimezone(ZoneInfo("UTC")).date()
        <= date.fromisoformat(orders[o]["promised_delivery_date"]) + timedelta(days=1)
        for o, d in delivered.items()
    ]
    assert share(on_promise) > 0.9


def test_planted_json_lists_every_problem(sim: SimulationSummary) -> None:
    document = json.loads(sim.planted_path.read_text(encoding="utf-8"))
    assert document["seed"] == SEED
    assert document["orders"] == ORDERS
    assert document["rows"] == dict(sim.rows)
    problems = document["problems"]
    assert {p["number"] for p in problems} == {1, 2, 3, 4, 5, 6}
    assert [p["name"] for p in problems] == [p.name for p in sim.planted]
    for p in problems:
        for key in (
            "provider_ids",
            "facility_ids",
            "period",
            "metric",
            "expected",
            "id_kind",
            "ids",
            "ids_total",
        ):
            assert key in p, (p["name"], key)
        assert p["provider_ids"]
        assert p["facility_ids"]
        assert p["expected"]["direction"] in {"below", "above", "late"}
        assert len(p["ids"]) <= 1000
        assert p["ids_total"] >= len(p["ids"]) > 0
    by_name = planted(sim)
    assert by_name["eastbridge_peak_meltdown"]["period"] == {
        "from": "2026-11-20",
        "to": "2026-12-31",
    }
    assert by_name["westcoast_inventory_drift"]["facility_ids"] == ["LAX1"]
    assert by_name["westcoast_no_first_scan"]["metric"] == "no_first_scan_rate"


def test_contracts_follow_design_format(sim: SimulationSummary) -> None:
    for path in sim.contracts:
        contract = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert contract["provider"] == path.stem
        assert contract["effective"] == date(2026, 1, 1)
        assert contract["currency"] == "USD"
        assert set(contract["metrics"]) == {
            "ship_on_time_rate",
            "order_accuracy_rate",
            "inventory_accuracy_rate",
            "dock_to_stock_on_time_rate",
            "return_processing_on_time_rate",
            "no_first_scan_rate",
            "dispute_response_on_time_rate",
        }
        assert contract["peak"][0]["from"] == date(2026, 11, 20)
        assert contract["peak"][0]["metrics"]["ship_on_time_rate"]["target"] == 0.97
        assert set(contract["rates"]["packaging"]) == {"poly_mailer", "box_small", "box_medium"}
        assert contract["capacity"]["orders_per_day"] > 0
    westcoast = yaml.safe_load((sim.out_dir / "contracts" / "westcoast.yaml").read_text())
    assert westcoast["facilities"] == [
        {
            "id": "LAX1",
            "timezone": "America/Los_Angeles",
            "country": "US",
            "subdivision": "CA",
            "cutoff": "14:00",
        }
    ]
    eastbridge = yaml.safe_load((sim.out_dir / "contracts" / "eastbridge.yaml").read_text())
    assert [f["id"] for f in eastbridge["facilities"]] == ["EWR1", "DFW1"]
    assert eastbridge["metrics"]["ship_on_time_rate"]["target"] == 0.985
    assert eastbridge["metrics"]["return_processing_on_time_rate"]["within_business_days"] == 3
