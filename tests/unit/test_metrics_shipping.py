"""ship_on_time_rate on tiny hand-computed tables (westcoast: LAX1, US-CA, cutoff 14:00)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from tests.support import figures, tiny_store

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
