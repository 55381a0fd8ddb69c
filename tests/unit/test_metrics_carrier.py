"""no_first_scan_rate on tiny hand-made tables.

Westcoast: LAX1 (US-CA, America/Los_Angeles), 5 business days; 2026-03-31 is Cesar Chavez
Day in California. Eastbridge: EWR1 (US-NJ, America/New_York), 3 business days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tallyclerk.store import Store
from tests.support import EASTBRIDGE, WESTCOAST, figures, items, tiny_store

AFTER = datetime(2026, 6, 1, tzinfo=UTC)
FRIDAY = "2026-03-27T10:00:00-07:00"  # deadline: end of Mon 04-06 (skips Sat, Sun, 03-31)
SATURDAY = "2026-03-28T10:00:00-07:00"  # counts from Mon 03-30: end of Tue 04-07
MONDAY = "2026-03-02T10:00:00-08:00"  # deadline: end of Mon 03-09

# shipment -> (provider, facility, shipped_at, tracking?, events)
CASES: dict[str, tuple[str, str, str, bool, list[tuple[str, str]]]] = {
    "c01_scan_on_last_day": (
        "westcoast",
        "LAX1",
        FRIDAY,
        True,
        [("in_transit", "2026-04-06T23:00:00-07:00")],
    ),
    "c02_scan_a_day_late": (
        "westcoast",
        "LAX1",
        FRIDAY,
        True,
        [("in_transit", "2026-04-07T00:30:00-07:00"), ("delivered", "2026-04-09T12:00:00-04:00")],
    ),
    "c03_shipped_saturday": (
        "westcoast",
        "LAX1",
        SATURDAY,
        True,
        [("out_for_delivery", "2026-04-07T20:00:00-07:00")],
    ),
    # A label is printed by the shipper, not scanned by the carrier.
    "c04_label_only": (
        "westcoast",
        "LAX1",
        MONDAY,
        True,
        [("label_created", "2026-03-02T09:00:00-08:00")],
    ),
    "c05_no_tracking_number": ("westcoast", "LAX1", MONDAY, False, []),
    "c06_scanned_same_day": (
        "westcoast",
        "LAX1",
        MONDAY,
        True,
        [("in_transit", "2026-03-02T12:00:00-08:00")],
    ),
    # Eastbridge's contract gives 3 business days, and 03-31 is a working day in New Jersey:
    # the deadline is the end of Wed 04-01, so a first scan on 04-02 is too late.
    "c07_eastbridge_three_days": (
        "eastbridge",
        "EWR1",
        "2026-03-27T10:00:00-04:00",
        True,
        [("in_transit", "2026-04-02T10:00:00-04:00")],
    ),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    orders, shipments, events = [], [], []
    for shipment_id, (provider, facility, shipped_at, tracked, trail) in CASES.items():
        order_id = f"o-{shipment_id}"
        tracking = f"T-{shipment_id}" if tracked else None
        orders.append({"order_id": order_id, "placed_at": "2026-03-01T08:00:00-08:00"})
        shipments.append(
            {
                "shipment_id": shipment_id,
                "order_id": order_id,
                "provider_id": provider,
                "facility_id": facility,
                "shipped_at": shipped_at,
                "carrier": "UPS",
                "tracking_number": tracking,
            }
        )
        events += [
            {"tracking_number": tracking, "carrier": "UPS", "status": status, "occurred_at": at}
            for status, at in trail
        ]
    return tiny_store(
        tmp_path_factory.mktemp("carrier"),
        contracts=(WESTCOAST, EASTBRIDGE),
        orders=orders,
        shipments=shipments,
        tracking_events=events,
    )


def test_weekend_holiday_label_and_missing_tracking(store: Store) -> None:
    result = {
        (f.provider_id, f.period): (f.numerator, f.denominator, f.ids)
        for f in figures(store, "no_first_scan_rate")
    }
    assert result == {
        # Deadline 03-09: the label alone and the parcel without tracking number are no scans.
        ("westcoast", date(2026, 3, 1)): (2, 3, ("c04_label_only", "c05_no_tracking_number")),
        # Deadlines in April: only the scan 30 minutes after the deadline is too late.
        ("westcoast", date(2026, 4, 1)): (1, 3, ("c02_scan_a_day_late",)),
        ("eastbridge", date(2026, 4, 1)): (1, 1, ("c07_eastbridge_three_days",)),
    }


def test_period_is_the_deadline_date(store: Store) -> None:
    periods = {r["item_id"]: r["period_date"] for r in items(store, "no_first_scan_rate", AFTER)}
    assert periods == {
        "c01_scan_on_last_day": date(2026, 4, 6),
        "c02_scan_a_day_late": date(2026, 4, 6),
        "c03_shipped_saturday": date(2026, 4, 7),
        "c04_label_only": date(2026, 3, 9),
        "c05_no_tracking_number": date(2026, 3, 9),
        "c06_scanned_same_day": date(2026, 3, 9),
        "c07_eastbridge_three_days": date(2026, 4, 1),
    }


def test_as_of_clock_pending_until_scanned_or_deadline(store: Store) -> None:
    # Before anything shipped: no figure (not 0%, not 100%).
    assert figures(store, "no_first_scan_rate", datetime(2026, 3, 2, tzinfo=UTC)) == []
    # The same-day scan decides c06 at once; c04 and c05 wait for their deadline.
    (early,) = figures(store, "no_first_scan_rate", datetime(2026, 3, 3, tzinfo=UTC))
    assert (early.numerator, early.denominator, early.ids) == (0, 1, ())
    # 04-05: the March parcels are decided; westcoast's April ones still have time.
    mid = {
        r["item_id"]: r["hit"]
        for r in items(store, "no_first_scan_rate", datetime(2026, 4, 5, tzinfo=UTC))
    }
    assert mid == {
        "c04_label_only": True,
        "c05_no_tracking_number": True,
        "c06_scanned_same_day": False,
        "c07_eastbridge_three_days": True,  # its deadline (04-02 03:59:59 UTC) has passed
    }
    # 04-07 06:00 UTC: c01's scan (06:00 UTC) has happened; c02's scan is 07:30 UTC, after
    # its deadline (06:59:59 UTC) and after the clock: still pending until the deadline.
    late = {
        r["item_id"]: r["hit"]
        for r in items(store, "no_first_scan_rate", datetime(2026, 4, 7, 6, 0, tzinfo=UTC))
    }
    assert late["c01_scan_on_last_day"] is False
    assert "c02_scan_a_day_late" not in late
    assert "c03_shipped_saturday" not in late  # scanned 04-08 03:00 UTC, deadline 04-08
