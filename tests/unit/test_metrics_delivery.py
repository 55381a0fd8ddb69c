"""delivery_on_time_rate, damage_free_rate and perfect_order_rate on tiny hand-made tables.

Westcoast (LAX1, America/Los_Angeles, cutoff 14:00); the brand's clock is America/Chicago,
so a delivery at 23:30 Chicago time is still on the promised day although it is the next
day in UTC. Every order is released Mon 2026-03-02 09:00 PST (due by the end of that day).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tallyclerk.metrics import open_context
from tallyclerk.metrics._delivery import LatenessSplit, lateness_split
from tallyclerk.store import Store
from tests.support import figures, items, tiny_store

AFTER = datetime(2026, 6, 1, tzinfo=UTC)
RELEASED = "2026-03-02T09:00:00-08:00"
ON_TIME = "2026-03-02T15:00:00-08:00"  # shipped before the end of the due day
LATE = "2026-03-03T15:00:00-08:00"  # shipped a day after the due day
MARCH = date(2026, 3, 1)
APRIL = date(2026, 4, 1)


class Parcel:
    """One shipment of a case: when it shipped, its tracking number, lines and events."""

    def __init__(
        self,
        shipped_at: str = ON_TIME,
        events: Sequence[tuple[str, str]] = (),
        *,
        tracked: bool = True,
        lines: Mapping[str, int] | None = None,
    ) -> None:
        self.shipped_at = shipped_at
        self.events = events
        self.tracked = tracked
        self.lines = lines or {"A": 1}


def delivered(at: str) -> list[tuple[str, str]]:
    """A parcel's usual trail ending with a delivery at `at`."""
    return [("in_transit", "2026-03-03T10:00:00-06:00"), ("delivered", at)]


# order -> (promised date, ordered lines, parcels)
CASES: dict[str, tuple[str | None, Mapping[str, int], list[Parcel]]] = {
    # On the promised day in Chicago (03-06 05:30 UTC): on time.
    "d01_last_minute": (
        "2026-03-05",
        {"A": 1},
        [Parcel(events=delivered("2026-03-05T23:30:00-06:00"))],
    ),
    # The day after in Chicago: late, although shipped on time (carrier-caused).
    "d02_day_after": (
        "2026-03-05",
        {"A": 1},
        [Parcel(events=delivered("2026-03-06T00:30:00-06:00"))],
    ),
    # Events out of order, with a later duplicate delivered scan: the first one counts.
    "d03_out_of_order": (
        "2026-03-05",
        {"A": 1},
        [
            Parcel(
                events=[
                    ("delivered", "2026-03-07T10:00:00-06:00"),
                    ("in_transit", "2026-03-08T09:00:00-05:00"),
                    ("delivered", "2026-03-04T14:00:00-06:00"),
                    ("out_for_delivery", "2026-03-04T08:00:00-06:00"),
                ]
            )
        ],
    ),
    # Two parcels; the second is delivered only on 03-09: pending until then, then late.
    "d04_one_of_two": (
        "2026-03-05",
        {"A": 1, "B": 1},
        [
            Parcel(events=delivered("2026-03-04T12:00:00-06:00"), lines={"A": 1}),
            Parcel(events=delivered("2026-03-09T12:00:00-05:00"), lines={"B": 1}),
        ],
    ),
    # Shipped late by the 3PL and delivered late: 3PL-caused.
    "d05_shipped_late": (
        "2026-03-05",
        {"A": 1},
        [Parcel(LATE, events=delivered("2026-03-06T12:00:00-06:00"))],
    ),
    # No promise: not judged on time, but counted for damage.
    "d06_no_promise": (None, {"A": 1}, [Parcel(events=delivered("2026-03-04T12:00:00-06:00"))]),
    # A parcel without tracking number is ignored for delivery.
    "d07_untracked_parcel": (
        "2026-03-05",
        {"A": 1, "B": 1},
        [
            Parcel(events=delivered("2026-03-04T12:00:00-06:00"), lines={"A": 1}),
            Parcel(tracked=False, lines={"B": 1}),
        ],
    ),
    # Lost: a label and a scan, never delivered: left out everywhere.
    "d09_lost": (
        "2026-03-05",
        {"A": 1},
        [
            Parcel(
                events=[
                    ("label_created", "2026-03-02T12:00:00-08:00"),
                    ("in_transit", "2026-03-03T10:00:00-06:00"),
                ]
            )
        ],
    ),
    "d10_damaged_return": (
        "2026-03-05",
        {"A": 1},
        [Parcel(events=delivered("2026-03-04T12:00:00-06:00"))],
    ),
    "d11_damaged_feedback": (
        "2026-03-05",
        {"A": 1},
        [Parcel(events=delivered("2026-03-04T12:00:00-06:00"))],
    ),
    "d12_packaging_only": (
        "2026-03-05",
        {"A": 1},
        [Parcel(events=delivered("2026-03-04T12:00:00-06:00"))],
    ),
    # Delivered 03-31 23:30 in Chicago (04-01 04:30 UTC), promised for 04-02.
    "d13_month_edge": (
        "2026-04-02",
        {"A": 1},
        [Parcel(events=delivered("2026-03-31T23:30:00-05:00"))],
    ),
    # Short-shipped: one unit of two, delivered on time, never complete.
    "d14_short_shipped": (
        "2026-03-05",
        {"A": 2},
        [Parcel(events=delivered("2026-03-04T12:00:00-06:00"))],
    ),
    "d15_picking_error": (
        "2026-03-05",
        {"A": 1},
        [Parcel(events=delivered("2026-03-04T12:00:00-06:00"))],
    ),
}


def _rows(
    cases: Mapping[str, tuple[str | None, Mapping[str, int], list[Parcel]]],
) -> dict[str, Any]:
    rows: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "orders",
            "order_lines",
            "releases",
            "shipments",
            "shipment_lines",
            "tracking_events",
        )
    }
    for order_id, (promised, ordered, parcels) in cases.items():
        rows["orders"].append(
            {
                "order_id": order_id,
                "placed_at": "2026-03-02T08:00:00-08:00",
                "promised_delivery_date": promised,
                "currency": "USD",
            }
        )
        rows["order_lines"] += [
            {"order_id": order_id, "line_no": i, "sku": sku, "qty": qty}
            for i, (sku, qty) in enumerate(ordered.items(), 1)
        ]
        rows["releases"].append(
            {
                "order_id": order_id,
                "provider_id": "westcoast",
                "facility_id": "LAX1",
                "released_at": RELEASED,
            }
        )
        for n, parcel in enumerate(parcels, 1):
            shipment_id = f"s-{order_id}-{n}"
            tracking = f"T-{order_id}-{n}" if parcel.tracked else None
            rows["shipments"].append(
                {
                    "shipment_id": shipment_id,
                    "order_id": order_id,
                    "provider_id": "westcoast",
                    "facility_id": "LAX1",
                    "shipped_at": parcel.shipped_at,
                    "carrier": "UPS",
                    "tracking_number": tracking,
                }
            )
            rows["shipment_lines"] += [
                {"shipment_id": shipment_id, "sku": sku, "qty": qty}
                for sku, qty in parcel.lines.items()
            ]
            rows["tracking_events"] += [
                {"tracking_number": tracking, "carrier": "UPS", "status": status, "occurred_at": at}
                for status, at in parcel.events
            ]
    ids = set(cases)
    rows["returns"] = [
        r
        for r in [
            {
                "return_id": "r10",
                "order_id": "d10_damaged_return",
                "provider_id": "westcoast",
                "facility_id": "LAX1",
                "sku": "A",
                "qty": 1,
                "reason": "damaged",
                "received_at": "2026-03-10T10:00:00-07:00",
            }
        ]
        if r["order_id"] in ids
    ]
    rows["feedback"] = [
        f
        for f in [
            {
                "feedback_id": "f11",
                "order_id": "d11_damaged_feedback",
                "received_at": "2026-03-05T10:00:00-06:00",
                "tags": "damaged;late",
            },
            {
                "feedback_id": "f12",
                "order_id": "d12_packaging_only",
                "received_at": "2026-03-05T10:00:00-06:00",
                "tags": "packaging",
            },
            {
                "feedback_id": "f15",
                "order_id": "d15_picking_error",
                "received_at": "2026-03-05T10:00:00-06:00",
                "tags": "wrong_item",
            },
        ]
        if f["order_id"] in ids
    ]
    return {k: v for k, v in rows.items() if v}


@pytest.fixture(scope="module")
def chicago(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return tiny_store(
        tmp_path_factory.mktemp("chicago"), brand_timezone="America/Chicago", **_rows(CASES)
    )


@pytest.fixture(scope="module")
def utc(tmp_path_factory: pytest.TempPathFactory) -> Store:
    edge = {k: CASES[k] for k in ("d01_last_minute", "d13_month_edge")}
    return tiny_store(tmp_path_factory.mktemp("utc"), brand_timezone="UTC", **_rows(edge))


def _by_period(
    store: Store, metric: str, as_of: datetime = AFTER
) -> dict[date, tuple[int, int, tuple[str, ...]]]:
    return {f.period: (f.numerator, f.denominator, f.ids) for f in figures(store, metric, as_of)}


def test_delivery_on_time_in_the_brand_zone(chicago: Store) -> None:
    result = _by_period(chicago, "delivery_on_time_rate")
    assert result == {
        MARCH: (
            8,
            11,
            (
                "d01_last_minute",
                "d03_out_of_order",
                "d07_untracked_parcel",
                "d10_damaged_return",
                "d11_damaged_feedback",
                "d12_packaging_only",
                "d14_short_shipped",
                "d15_picking_error",
            ),
        ),
        APRIL: (1, 1, ("d13_month_edge",)),  # the promised date places it
    }


def test_local_date_effect_of_the_brand_zone(utc: Store) -> None:
    # The same 23:30 Chicago delivery is on 03-06 in UTC: late against a 03-05 promise.
    assert _by_period(utc, "delivery_on_time_rate") == {
        MARCH: (0, 1, ()),
        APRIL: (1, 1, ("d13_month_edge",)),
    }
    # And the month-end delivery falls in April for damage (period: the delivery date).
    assert _by_period(utc, "damage_free_rate") == {
        MARCH: (1, 1, ("d01_last_minute",)),
        APRIL: (1, 1, ("d13_month_edge",)),
    }


def test_delivery_moment_first_delivered_event_of_last_parcel(chicago: Store) -> None:
    rows = {r["item_id"]: r for r in items(chicago, "damage_free_rate")}
    assert rows["d03_out_of_order"]["period_date"] == date(2026, 3, 4)  # first delivered event
    assert rows["d04_one_of_two"]["period_date"] == date(2026, 3, 9)  # the later parcel
    assert rows["d13_month_edge"]["period_date"] == date(2026, 3, 31)  # Chicago, not UTC
    assert "d09_lost" not in rows
    assert {r["provider_id"] for r in rows.values()} == {"westcoast"}
    assert {r["facility_id"] for r in rows.values()} == {"LAX1"}


def test_as_of_clock_pending_parcels_and_evidence(chicago: Store) -> None:
    assert figures(chicago, "delivery_on_time_rate", datetime(2026, 3, 4, tzinfo=UTC)) == []
    assert figures(chicago, "damage_free_rate", datetime(2026, 3, 4, tzinfo=UTC)) == []
    assert figures(chicago, "perfect_order_rate", datetime(2026, 3, 4, tzinfo=UTC)) == []
    as_of = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
    on_time = {r["item_id"] for r in items(chicago, "delivery_on_time_rate", as_of)}
    # d04: one of two parcels delivered (not delivered yet); d05: delivered 18:00 UTC.
    assert "d04_one_of_two" not in on_time
    assert "d05_shipped_late" not in on_time
    assert "d02_day_after" in on_time
    damage = {r["item_id"]: r["hit"] for r in items(chicago, "damage_free_rate", as_of)}
    assert damage["d10_damaged_return"] is True  # its damaged return arrives on 03-10
    assert damage["d11_damaged_feedback"] is False


def test_damage_free_via_return_and_feedback(chicago: Store) -> None:
    (march,) = figures(chicago, "damage_free_rate")
    assert (march.numerator, march.denominator) == (11, 13)
    assert "d10_damaged_return" not in march.ids
    assert "d11_damaged_feedback" not in march.ids
    assert "d12_packaging_only" in march.ids
    assert "d06_no_promise" in march.ids  # no promise needed for damage


def test_perfect_order_combinations(chicago: Store) -> None:
    assert _by_period(chicago, "perfect_order_rate") == {
        MARCH: (
            4,
            11,
            ("d01_last_minute", "d03_out_of_order", "d07_untracked_parcel", "d12_packaging_only"),
        ),
        APRIL: (1, 1, ("d13_month_edge",)),
    }


def test_lateness_split_3pl_vs_carrier(chicago: Store) -> None:
    with open_context(chicago, as_of=AFTER, settings=getattr(chicago, "settings", None)) as ctx:
        split = lateness_split(ctx)
    assert split == [
        LatenessSplit("westcoast", None, MARCH, delivered=11, late=3, late_3pl=1, late_carrier=2),
        LatenessSplit("westcoast", None, APRIL, delivered=1, late=0, late_3pl=0, late_carrier=0),
    ]
