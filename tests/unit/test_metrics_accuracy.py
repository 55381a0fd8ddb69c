"""order_accuracy_rate on tiny hand-computed tables (westcoast: LAX1, America/Los_Angeles)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from tallyclerk.metrics import open_context
from tallyclerk.metrics._accuracy import picking_errors
from tallyclerk.store import Store
from tests.support import figures, items, tiny_store

AFTER = datetime(2026, 6, 1, tzinfo=UTC)


def _order(order_id: str) -> dict[str, object]:
    return {"order_id": order_id, "placed_at": "2026-03-02T08:00:00-08:00", "currency": "USD"}


def _release(order_id: str, released_at: str = "2026-03-02T09:00:00-08:00") -> dict[str, object]:
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


def _return(return_id: str, order_id: str, reason: str, received_at: str) -> dict[str, object]:
    return {
        "return_id": return_id,
        "order_id": order_id,
        "provider_id": "westcoast",
        "facility_id": "LAX1",
        "sku": "A",
        "qty": 1,
        "reason": reason,
        "received_at": received_at,
    }


def _feedback(feedback_id: str, order_id: str, tags: str, received_at: str) -> dict[str, object]:
    return {
        "feedback_id": feedback_id,
        "order_id": order_id,
        "received_at": received_at,
        "score": 2,
        "tags": tags,
    }


# order -> (ordered lines, parcels: (shipped_at, lines))
MAR3 = "2026-03-03T10:00:00-08:00"
CASES: dict[str, tuple[dict[str, int], list[tuple[str, dict[str, int]]]]] = {
    "a01_exact": ({"A": 1, "B": 2}, [(MAR3, {"A": 1, "B": 2})]),
    "a02_wrong_sku": ({"A": 1}, [(MAR3, {"B": 1})]),
    "a03_too_many": ({"A": 2}, [(MAR3, {"A": 3})]),
    "a04_swapped_qty": ({"A": 2, "B": 1}, [(MAR3, {"A": 1, "B": 2})]),
    "a05_return_wrong": ({"A": 1}, [(MAR3, {"A": 1})]),
    "a06_return_missing": ({"A": 1}, [(MAR3, {"A": 1})]),
    "a07_feedback_missing": ({"A": 1}, [(MAR3, {"A": 1})]),
    "a08_damage_not_picking": ({"A": 1}, [(MAR3, {"A": 1})]),
    # Split: the second parcel completes the order on 03-04; accurate.
    "a09_split": (
        {"A": 1, "B": 1},
        [(MAR3, {"A": 1}), ("2026-03-04T11:00:00-08:00", {"B": 1})],
    ),
    # Short-shipped: never complete, so neither accurate nor an error (left out).
    "a10_short": ({"A": 2}, [(MAR3, {"A": 1})]),
    # Completed 2026-03-31 23:30 PDT = 04-01 06:30 UTC: a March order at LAX1.
    "a11_month_end": ({"A": 1}, [("2026-03-31T23:30:00-07:00", {"A": 1})]),
    # A wrong-item return that arrives in May, after the order's period.
    "a12_late_return": ({"A": 1}, [(MAR3, {"A": 1})]),
    # The same SKU on two order lines: compared as a total per SKU.
    "a13_two_lines_one_sku": ({"A": 3}, [(MAR3, {"A": 3})]),
}


def _rows() -> dict[str, list[dict[str, Any]]]:
    orders, lines, releases, shipments, shipment_lines = [], [], [], [], []
    for order_id, (ordered, parcels) in CASES.items():
        orders.append(_order(order_id))
        releases.append(_release(order_id))
        if order_id == "a13_two_lines_one_sku":
            lines += [
                {"order_id": order_id, "line_no": 1, "sku": "A", "qty": 1},
                {"order_id": order_id, "line_no": 2, "sku": "A", "qty": 2},
            ]
        else:
            lines += [
                {"order_id": order_id, "line_no": i, "sku": sku, "qty": qty}
                for i, (sku, qty) in enumerate(ordered.items(), 1)
            ]
        for n, (shipped_at, content) in enumerate(parcels, 1):
            shipment_id = f"s-{order_id}-{n}"
            shipments.append(_shipment(shipment_id, order_id, shipped_at))
            shipment_lines += [
                {"shipment_id": shipment_id, "sku": sku, "qty": qty} for sku, qty in content.items()
            ]
    return {
        "orders": orders,
        "order_lines": lines,
        "releases": releases,
        "shipments": shipments,
        "shipment_lines": shipment_lines,
        "returns": [
            _return("r5", "a05_return_wrong", "wrong_item", "2026-03-12T10:00:00-07:00"),
            _return("r6", "a06_return_missing", "missing_item", "2026-03-12T10:00:00-07:00"),
            _return("r8", "a08_damage_not_picking", "damaged", "2026-03-12T10:00:00-07:00"),
            _return("r12", "a12_late_return", "wrong_item", "2026-05-04T10:00:00-07:00"),
        ],
        "feedback": [
            _feedback(
                "f7", "a07_feedback_missing", "packaging;missing_item", "2026-03-05T10:00:00-08:00"
            ),
            _feedback("f8", "a08_damage_not_picking", "damaged;late", MAR3),
            _feedback("f1", "a01_exact", "packaging", MAR3),
        ],
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return tiny_store(tmp_path_factory.mktemp("accuracy"), **_rows())


def test_each_picking_error_route_and_quantity_differences(store: Store) -> None:
    (march,) = figures(store, "order_accuracy_rate", AFTER)
    assert march.period == date(2026, 3, 1)
    # 12 complete orders (a10 is short-shipped); errors: a02, a03, a04 (lines), a05, a06,
    # a12 (returns), a07 (feedback).
    assert (march.numerator, march.denominator) == (5, 12)
    assert march.ids == (
        "a01_exact",
        "a08_damage_not_picking",
        "a09_split",
        "a11_month_end",
        "a13_two_lines_one_sku",
    )
    assert march.value == pytest.approx(5 / 12)


def test_picking_error_routes_are_reported_per_order(store: Store) -> None:
    with open_context(store, as_of=AFTER, settings=getattr(store, "settings", None)) as ctx:
        rows = picking_errors(ctx).to_pyarrow().to_pylist()
    routes = {
        r["order_id"]: tuple(k for k in ("by_lines", "by_return", "by_feedback") if r[k])
        for r in rows
    }
    assert routes == {
        "a02_wrong_sku": ("by_lines",),
        "a03_too_many": ("by_lines",),
        "a04_swapped_qty": ("by_lines",),
        "a05_return_wrong": ("by_return",),
        "a06_return_missing": ("by_return",),
        "a07_feedback_missing": ("by_feedback",),
        "a12_late_return": ("by_return",),
    }


def test_period_is_the_local_date_of_the_completing_shipment(store: Store) -> None:
    by_id = {r["item_id"]: r for r in items(store, "order_accuracy_rate", AFTER)}
    assert "a10_short" not in by_id
    assert by_id["a09_split"]["period_date"] == date(2026, 3, 4)
    assert by_id["a11_month_end"]["period_date"] == date(2026, 3, 31)
    assert all(
        r["provider_id"] == "westcoast" and r["facility_id"] == "LAX1" for r in by_id.values()
    )


def test_as_of_clock_pending_and_later_evidence(store: Store) -> None:
    # Before any shipment: no figure at all (never a made-up 100%).
    assert figures(store, "order_accuracy_rate", datetime(2026, 3, 3, 17, 0, tzinfo=UTC)) == []
    # 2026-03-03 20:00 UTC: the single-parcel orders shipped at 18:00 UTC; the split order
    # is not complete yet, the returns and the late feedback have not arrived.
    early = figures(store, "order_accuracy_rate", datetime(2026, 3, 3, 20, 0, tzinfo=UTC))
    (march,) = early
    assert "a09_split" not in march.ids
    assert "a05_return_wrong" in march.ids  # its wrong-item return comes on 03-12
    assert (march.numerator, march.denominator) == (7, 10)  # errors: a02, a03, a04 only
    # In April the May return of a12 is not known yet; by June it is.
    (april_view,) = figures(store, "order_accuracy_rate", datetime(2026, 4, 15, tzinfo=UTC))
    assert "a12_late_return" in april_view.ids
    (june_view,) = figures(store, "order_accuracy_rate", AFTER)
    assert "a12_late_return" not in june_view.ids
