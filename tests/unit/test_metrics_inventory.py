"""inventory_accuracy_rate on tiny hand-computed tables (westcoast: LAX1, America/Los_Angeles).

Snapshots of LAX1 (SKUs A, B, C):
  t0 2026-03-01 00:00 PST  first snapshot: the book's baseline   A 100  B 50  C 10
  t1 2026-03-15 00:00 PDT  (after the DST change)                 A 118  B 50  C 10
  t2 2026-03-31 23:30 PDT  = 04-01 06:30 UTC, March's last        A 123  B 49  (C left out)
  t3 2026-04-05 00:00 PDT  April's last                           A 128  B 49  C 10

Book of A at t2: 100 + 20 (stocked 03-03) + 5 (stocked at t2 exactly) - 3 (shipped)
+ 2 (restocked return) - 1 (approved adjustment) = 123; at t3 a further 5 stocked one minute
after t2 gives 128. Movements before or at t0, unstocked receipts, other facilities, disposed
or unprocessed returns and unapproved adjustments do not move it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tallyclerk.metrics import open_context
from tallyclerk.metrics._inventory import inventory_book
from tallyclerk.store import Store
from tests.support import EASTBRIDGE, WESTCOAST, figures, items, tiny_store

T0 = "2026-03-01T00:00:00-08:00"
T1 = "2026-03-15T00:00:00-07:00"
T2 = "2026-03-31T23:30:00-07:00"
T3 = "2026-04-05T00:00:00-07:00"
AFTER = datetime(2026, 5, 1, tzinfo=UTC)


def _snap(as_of: str, sku: str, on_hand: int, facility: str = "LAX1") -> dict[str, Any]:
    provider = "westcoast" if facility == "LAX1" else "eastbridge"
    return {
        "provider_id": provider,
        "facility_id": facility,
        "as_of": as_of,
        "sku": sku,
        "on_hand": on_hand,
    }


def _receipt(receipt_id: str, qty: int, stocked_at: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "receipt_id": receipt_id,
        "provider_id": "westcoast",
        "facility_id": "LAX1",
        "sku": "A",
        "expected_qty": qty,
        "received_qty": qty,
        "arrived_at": "2026-02-20T09:00:00-08:00",
        "stocked_at": stocked_at,
        **extra,
    }


def _return(return_id: str, qty: int, processed_at: str | None, disposition: str) -> dict[str, Any]:
    return {
        "return_id": return_id,
        "provider_id": "westcoast",
        "facility_id": "LAX1",
        "sku": "A",
        "qty": qty,
        "received_at": "2026-03-05T09:00:00-08:00",
        "processed_at": processed_at,
        "disposition": disposition,
    }


def _adjustment(adjustment_id: str, delta: int, at: str, approved: bool) -> dict[str, Any]:
    return {
        "adjustment_id": adjustment_id,
        "provider_id": "westcoast",
        "facility_id": "LAX1",
        "sku": "A",
        "qty_delta": delta,
        "occurred_at": at,
        "reason": "cycle_count",
        "approved": approved,
    }


def _store(
    tmp_path: Path, contracts: tuple[Path | str, ...] = (WESTCOAST,), url: str | None = None
) -> Store:
    return tiny_store(
        tmp_path,
        url=url,
        contracts=(*contracts, EASTBRIDGE),
        inventory_snapshots=[
            *(_snap(T0, sku, n) for sku, n in (("A", 100), ("B", 50), ("C", 10))),
            *(_snap(T1, sku, n) for sku, n in (("A", 118), ("B", 50), ("C", 10))),
            _snap(T2, "A", 123),
            _snap(T2, "B", 49),  # shrink: one unit gone without a record
            *(_snap(T3, sku, n) for sku, n in (("A", 128), ("B", 49), ("C", 10))),
        ],
        receipts=[
            _receipt("R0", 7, "2026-02-27T10:00:00-08:00"),  # before the baseline
            _receipt("R00", 9, T0),  # at the baseline instant: already in it
            _receipt("R1", 20, "2026-03-03T10:00:00-08:00"),
            _receipt("R2", 30, None),  # arrived, not stocked
            _receipt("R3", 5, T2),  # stocked at the snapshot instant: counts
            _receipt("R4", 5, "2026-03-31T23:31:00-07:00"),  # one minute after t2
            _receipt(
                "R9", 40, "2026-03-03T10:00:00-05:00", provider_id="eastbridge", facility_id="EWR1"
            ),
        ],
        orders=[{"order_id": o, "placed_at": "2026-03-02T08:00:00-08:00"} for o in ("o1", "o2")],
        shipments=[
            {
                "shipment_id": "s1",
                "order_id": "o1",
                "provider_id": "westcoast",
                "facility_id": "LAX1",
                "shipped_at": "2026-03-04T15:00:00-08:00",
            },
            {
                "shipment_id": "s2",
                "order_id": "o2",
                "provider_id": "eastbridge",
                "facility_id": "EWR1",
                "shipped_at": "2026-03-04T15:00:00-05:00",
            },
        ],
        shipment_lines=[
            {"shipment_id": "s1", "sku": "A", "qty": 3},
            {"shipment_id": "s2", "sku": "A", "qty": 8},
        ],
        returns=[
            _return("RMA1", 2, "2026-03-10T11:00:00-07:00", "restock"),
            _return("RMA2", 5, "2026-03-10T11:00:00-07:00", "dispose"),
            _return("RMA3", 4, None, "restock"),  # not processed yet
        ],
        adjustments=[
            _adjustment("ADJ1", -1, "2026-03-12T10:00:00-07:00", True),
            _adjustment("ADJ2", -4, "2026-03-12T10:00:00-07:00", False),
        ],
    )


def _book(store: Store, as_of: datetime = AFTER) -> dict[tuple[str, str], dict[str, Any]]:
    settings = getattr(store, "settings", None)
    with open_context(store, as_of=as_of, settings=settings) as ctx:
        rows = inventory_book(ctx).to_pyarrow().to_pylist()
    return {(r["sku"], r["as_of"].astimezone(UTC).isoformat()): r for r in rows}


def _utc(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).isoformat()


def test_book_counts_terms_up_to_and_including_the_snapshot(tmp_path: Path) -> None:
    book = _book(_store(tmp_path))
    assert book[("A", _utc(T0))]["book"] == 100
    assert book[("A", _utc(T1))]["book"] == 100 + 20 - 3 + 2 - 1
    a2 = book[("A", _utc(T2))]
    assert (a2["book"], a2["on_hand"], a2["variance"]) == (123, 123, 0)
    assert book[("A", _utc(T3))]["book"] == 128
    b2 = book[("B", _utc(T2))]
    assert (b2["book"], b2["on_hand"], b2["variance"]) == (50, 49, -1)  # shrink
    c2 = book[("C", _utc(T2))]
    assert (c2["reported_on_hand"], c2["on_hand"], c2["book"]) == (None, 0, 10)


def test_last_snapshot_of_each_local_month(tmp_path: Path, store_url: str) -> None:
    with _store(tmp_path, url=store_url) as store:
        march, april = figures(store, "inventory_accuracy_rate", AFTER)
        # t2 is 1 April in UTC but 31 March at LAX1: March's last snapshot.
        assert (march.period, march.numerator, march.denominator) == (date(2026, 3, 1), 1, 3)
        assert march.ids == ("LAX1|A",)
        assert (april.period, april.numerator, april.denominator) == (date(2026, 4, 1), 2, 3)
        assert april.ids == ("LAX1|A", "LAX1|C")
        rows = items(store, "inventory_accuracy_rate", AFTER)
        assert {(r["period_date"], r["item_id"], r["hit"]) for r in rows} == {
            (date(2026, 3, 31), "LAX1|A", True),
            (date(2026, 3, 31), "LAX1|B", False),
            (date(2026, 3, 31), "LAX1|C", False),
            (date(2026, 4, 5), "LAX1|A", True),
            (date(2026, 4, 5), "LAX1|B", False),
            (date(2026, 4, 5), "LAX1|C", True),
        }
        assert {r["facility_id"] for r in rows} == {"LAX1"}


def test_clock_sees_only_snapshots_taken(tmp_path: Path) -> None:
    store = _store(tmp_path)
    # Before t3 April has no snapshot yet: no figure, never a made-up one.
    (march,) = figures(store, "inventory_accuracy_rate", datetime(2026, 4, 4, tzinfo=UTC))
    assert (march.numerator, march.denominator) == (1, 3)
    # Before t2, March's last snapshot so far is t1, where the book matched everything.
    (early,) = figures(store, "inventory_accuracy_rate", datetime(2026, 3, 20, tzinfo=UTC))
    assert (early.numerator, early.denominator) == (3, 3)
    # With only the baseline there is nothing to measure.
    assert figures(store, "inventory_accuracy_rate", datetime(2026, 3, 2, tzinfo=UTC)) == []


WESTCOAST_APRIL_TOLERANCE = (
    WESTCOAST.read_text(encoding="utf-8")
    .replace("effective: 2026-01-01", "effective: 2026-04-01")
    .replace("tolerance_units: 0", "tolerance_units: 1")
)


@pytest.mark.parametrize("with_version", [False, True])
def test_tolerance_of_the_version_in_force_on_the_snapshot_date(
    tmp_path: Path, with_version: bool
) -> None:
    contracts: tuple[Path | str, ...] = (WESTCOAST,)
    if with_version:
        contracts = (WESTCOAST, WESTCOAST_APRIL_TOLERANCE)
    march, april = figures(_store(tmp_path, contracts), "inventory_accuracy_rate", AFTER)
    assert (march.numerator, march.denominator) == (1, 3)  # tolerance 0 on 31 March
    # From 1 April one unit of shrink is within tolerance.
    assert april.numerator == (3 if with_version else 2)
    assert ("LAX1|B" in april.ids) is with_version


def test_empty_store_gives_no_figure(tmp_path: Path) -> None:
    assert figures(tiny_store(tmp_path), "inventory_accuracy_rate", AFTER) == []
