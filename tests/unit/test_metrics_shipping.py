"""ship_on_time_rate on tiny hand-computed tables (westcoast: LAX1, US-CA, cutoff 14:00)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tallyclerk.store import Store
from tests.support import WESTCOAST, figures, items, tiny_store

ORDER = {"placed_at": "2026-03-02T08:00:00-08:00", "currency": "USD"}


def _order(order_id: str, **extra: object) -> dict[str, object]:
    return {"order_id": order_id, **ORDER, **extra}


def _release(order_id: str, released_at: str) -> dict[str, object]:
    return {
        "order_id": order_id,
        "provider_id": "westcoast",
        "facility_id": "LAX1",
        "released_at": released_at,
    }


def _shipment(shipment_id: str, order_id: str, shipped_at: str) -> dict[str, object]:
    return {
        "shipment_id": shipment_id,
        "order_id": order_id,
        "provider_id": "westcoast",
        "facility_id": "LAX1",
        "shipped_at": shipped_at,
    }


def test_cutoff_weekend_and_never_shipped(tmp_path: Path) -> None:
    store = tiny_store(
        tmp_path,
        orders=[_order(f"o{i}") for i in range(1, 6)],
        order_lines=[
            {"order_id": f"o{i}", "line_no": 1, "sku": "A", "qty": 1} for i in range(1, 6)
        ],
        releases=[
            _release("o1", "2026-03-06T13:59:00-08:00"),  # Fri before cutoff: due Fri
            _release("o2", "2026-03-06T14:00:00-08:00"),  # Fri at cutoff: due Mon
            _release("o3", "2026-03-07T10:00:00-08:00"),  # Saturday: due Mon
            _release("o4", "2026-03-06T09:00:00-08:00"),  # due Fri, never shipped
            _release("o5", "2026-03-06T09:00:00-08:00"),  # due Fri, shipped Sat: late
        ],
        shipments=[
            _shipment("s1", "o1", "2026-03-06T23:59:00-08:00"),
            _shipment("s2", "o2", "2026-03-09T18:00:00-07:00"),
            _shipment("s3", "o3", "2026-03-10T00:30:00-07:00"),
            _shipment("s5", "o5", "2026-03-07T08:00:00-08:00"),
        ],
        shipment_lines=[{"shipment_id": s, "sku": "A", "qty": 1} for s in ("s1", "s2", "s3", "s5")],
    )
    (march,) = figures(store, "ship_on_time_rate", datetime(2026, 4, 1, tzinfo=UTC))
    assert march.period == date(2026, 3, 1)
    assert (march.numerator, march.denominator) == (2, 5)
    assert march.ids == ("o1", "o2")


def test_unshipped_order_is_pending_until_due(tmp_path: Path) -> None:
    store = tiny_store(
        tmp_path,
        orders=[_order("o1")],
        releases=[_release("o1", "2026-03-06T09:00:00-08:00")],
    )
    before = figures(store, "ship_on_time_rate", datetime(2026, 3, 7, 7, 0, tzinfo=UTC))
    assert before == []  # due 2026-03-06 23:59:59 PST = 03-07 07:59:59 UTC: still pending
    (after,) = figures(store, "ship_on_time_rate", datetime(2026, 3, 7, 8, 0, tzinfo=UTC))
    assert (after.numerator, after.denominator) == (0, 1)


# Edge cases on one store, under a westcoast contract whose closed dates are changed.
CLOSED_CONTRACT = WESTCOAST.read_text(encoding="utf-8").replace(
    "closed_dates: [2026-12-26]", "closed_dates: [2026-06-12, 2026-12-26]"
)
# order -> (released_at, parcels as (shipped_at, skus), cancelled_at)
EDGE_CASES: dict[str, tuple[str, list[tuple[str, tuple[str, ...]]], str | None]] = {
    # Released on Cesar Chavez Day (a CA holiday): due the next business day.
    "h1_on_holiday": ("2026-03-31T10:00:00-07:00", [("2026-04-01T18:00:00-07:00", ("A",))], None),
    # After Monday's cutoff: due Wednesday, the holiday skipped (a Tuesday due date: late).
    "h2_before_holiday": (
        "2026-03-30T15:00:00-07:00",
        [("2026-04-01T12:00:00-07:00", ("A",))],
        None,
    ),
    # Released on the contract's closed date (Fri 06-12): due Mon 06-15.
    "k1_closed_date": ("2026-06-12T10:00:00-07:00", [("2026-06-15T10:00:00-07:00", ("A",))], None),
    # Released Sat 03-07 (PST), due Mon 03-09, after the spring-forward Sunday: the day ends
    # at 03-10 06:59:59 UTC (PDT), not 07:59:59 (PST).
    "s1_spring_in_time": (
        "2026-03-07T10:00:00-08:00",
        [("2026-03-09T23:30:00-07:00", ("A",))],
        None,
    ),
    "s2_spring_too_late": (
        "2026-03-07T10:00:00-08:00",
        [("2026-03-10T00:30:00-07:00", ("A",))],
        None,
    ),
    # 14:30 PDT on Mon 03-09 is after the 14:00 cutoff (it would be before it read as PST).
    "s3_spring_cutoff": (
        "2026-03-09T14:30:00-07:00",
        [("2026-03-10T10:00:00-07:00", ("A",))],
        None,
    ),
    # Released Sat 10-31 (PDT), due Mon 11-02 after the fall-back Sunday: the day ends at
    # 11-03 07:59:59 UTC (PST), so a parcel at 23:30 PST (07:30 UTC) is on time.
    "f1_fall_in_time": ("2026-10-31T10:00:00-07:00", [("2026-11-02T23:30:00-08:00", ("A",))], None),
    # Released on the last day of April after the cutoff: due (and counted) in May.
    "m1_month_end": ("2026-04-30T15:00:00-07:00", [("2026-05-01T09:00:00-07:00", ("A",))], None),
    # Split shipments: complete with the last parcel.
    "p1_split_late": (
        "2026-03-03T09:00:00-08:00",
        [("2026-03-03T16:00:00-08:00", ("A",)), ("2026-03-04T09:00:00-08:00", ("B",))],
        None,
    ),
    "p2_split_on_time": (
        "2026-03-03T09:00:00-08:00",
        [("2026-03-03T16:00:00-08:00", ("A",)), ("2026-03-03T18:00:00-08:00", ("B",))],
        None,
    ),
    # Cancelled before the due time (left out) and after it (counted, late).
    "x1_cancelled_before_due": ("2026-03-03T09:00:00-08:00", [], "2026-03-03T12:00:00-08:00"),
    "x2_cancelled_after_due": ("2026-03-03T09:00:00-08:00", [], "2026-03-05T10:00:00-08:00"),
}


@pytest.fixture(scope="module")
def edge_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    orders, lines, releases, shipments, shipment_lines = [], [], [], [], []
    for order_id, (released_at, parcels, cancelled_at) in EDGE_CASES.items():
        orders.append(_order(order_id, cancelled_at=cancelled_at))
        skus = ("A", "B") if order_id.startswith("p") else ("A",)
        lines += [
            {"order_id": order_id, "line_no": i, "sku": sku, "qty": 1}
            for i, sku in enumerate(skus, 1)
        ]
        releases.append(_release(order_id, released_at))
        for n, (shipped_at, content) in enumerate(parcels, 1):
            shipment_id = f"s-{order_id}-{n}"
            shipments.append(_shipment(shipment_id, order_id, shipped_at))
            shipment_lines += [{"shipment_id": shipment_id, "sku": s, "qty": 1} for s in content]
    return tiny_store(
        tmp_path_factory.mktemp("edges"),
        contracts=(CLOSED_CONTRACT,),
        orders=orders,
        order_lines=lines,
        releases=releases,
        shipments=shipments,
        shipment_lines=shipment_lines,
    )


def test_edge_cases_per_month(edge_store: Store) -> None:
    result = {
        f.period: (f.numerator, f.denominator, f.ids)
        for f in figures(edge_store, "ship_on_time_rate", datetime(2027, 1, 1, tzinfo=UTC))
    }
    # Months without an order due have no figure at all (not 100%).
    assert result == {
        date(2026, 3, 1): (3, 6, ("p2_split_on_time", "s1_spring_in_time", "s3_spring_cutoff")),
        date(2026, 4, 1): (2, 2, ("h1_on_holiday", "h2_before_holiday")),
        date(2026, 5, 1): (1, 1, ("m1_month_end",)),
        date(2026, 6, 1): (1, 1, ("k1_closed_date",)),
        date(2026, 11, 1): (1, 1, ("f1_fall_in_time",)),
    }


def test_edge_cases_due_dates(edge_store: Store) -> None:
    due = {
        r["item_id"]: (r["period_date"], r["hit"])
        for r in items(edge_store, "ship_on_time_rate", datetime(2027, 1, 1, tzinfo=UTC))
    }
    assert due == {
        "h1_on_holiday": (date(2026, 4, 1), True),
        "h2_before_holiday": (date(2026, 4, 1), True),
        "k1_closed_date": (date(2026, 6, 15), True),
        "s1_spring_in_time": (date(2026, 3, 9), True),
        "s2_spring_too_late": (date(2026, 3, 9), False),
        "s3_spring_cutoff": (date(2026, 3, 10), True),
        "f1_fall_in_time": (date(2026, 11, 2), True),
        "m1_month_end": (date(2026, 5, 1), True),
        "p1_split_late": (date(2026, 3, 3), False),
        "p2_split_on_time": (date(2026, 3, 3), True),
        "x2_cancelled_after_due": (date(2026, 3, 3), False),
    }


def test_edge_cases_empty_before_anything_is_due(edge_store: Store) -> None:
    # 2026-03-03 10:00 PST: four orders are released but none is shipped or due yet, the
    # rest are released later: nothing is decided, so there is no figure (not 0%, not 100%).
    assert figures(edge_store, "ship_on_time_rate", datetime(2026, 3, 3, 18, tzinfo=UTC)) == []
