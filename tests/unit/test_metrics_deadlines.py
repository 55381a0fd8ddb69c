"""Deadline KPIs on tiny hand-computed tables: dock to stock, returns and dispute responses.

westcoast LAX1 (US-CA, America/Los_Angeles): dock to stock within 2 business days, returns
within 5, disputes within 2. eastbridge EWR1 (US-NJ, America/New_York): dock to stock within
2, 4 in its peak (2026-11-23 to 12-23), closed 2026-12-24. DST starts 2026-03-08; Cesar Chavez
Day (Tuesday 2026-03-31) is a California public holiday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tallyclerk.store import Store
from tallyclerk.store.schema import disputes
from tests.support import EASTBRIDGE, WESTCOAST, figures, items, tiny_store

LATER = datetime(2027, 1, 15, tzinfo=UTC)
ANCHOR = [{"order_id": "anchor", "placed_at": "2026-03-01T08:00:00-08:00"}]


def _receipt(
    receipt_id: str, arrived_at: str | None, stocked_at: str | None, facility: str = "LAX1"
) -> dict[str, Any]:
    return {
        "receipt_id": receipt_id,
        "provider_id": "westcoast" if facility == "LAX1" else "eastbridge",
        "facility_id": facility,
        "sku": "A",
        "expected_qty": 10,
        "received_qty": 10,
        "arrived_at": arrived_at,
        "stocked_at": stocked_at,
    }


def _hits(rows: list[dict[str, Any]]) -> dict[str, tuple[date, bool]]:
    return {r["item_id"]: (r["period_date"], r["hit"]) for r in rows}


# -- dock to stock ---------------------------------------------------------------------------

WESTCOAST_RECEIPTS = [
    # Friday 16:00 PST, late in the day: deadline Tuesday 03-10, ending 23:59:59 PDT (the clocks
    # went forward on Sunday), i.e. 03-11 06:59:59 UTC.
    _receipt("r1", "2026-03-06T16:00:00-08:00", "2026-03-10T23:30:00-07:00"),  # on time
    _receipt("r2", "2026-03-06T16:00:00-08:00", "2026-03-11T00:30:00-07:00"),  # late by 31 min
    # Saturday arrival: the count starts Monday 03-09, deadline Wednesday 03-11.
    _receipt("r3", "2026-03-07T11:00:00-08:00", "2026-03-11T17:00:00-07:00"),
    # Monday 03-30; Tuesday is Cesar Chavez Day: deadline Thursday 04-02 (an April item).
    _receipt("r4", "2026-03-30T09:00:00-07:00", "2026-04-02T10:00:00-07:00"),
    # Wednesday 04-08: deadline Friday 04-10 23:59:59 PDT = 04-11 06:59:59 UTC.
    _receipt("r5", "2026-04-08T10:00:00-07:00", None),  # never stocked
    _receipt("r6", "2026-04-08T10:00:00-07:00", "2026-04-13T09:00:00-07:00"),  # stocked late
    _receipt("r7", None, None),  # announced, not arrived: no item
]


def test_dock_to_stock_business_days(tmp_path: Path, store_url: str) -> None:
    with tiny_store(tmp_path, url=store_url, receipts=WESTCOAST_RECEIPTS) as store:
        assert _hits(items(store, "dock_to_stock_on_time_rate", LATER)) == {
            "r1|A": (date(2026, 3, 10), True),
            "r2|A": (date(2026, 3, 10), False),
            "r3|A": (date(2026, 3, 11), True),
            "r4|A": (date(2026, 4, 2), True),
            "r5|A": (date(2026, 4, 10), False),
            "r6|A": (date(2026, 4, 10), False),
        }
        march, april = figures(store, "dock_to_stock_on_time_rate", LATER)
        assert (march.period, march.numerator, march.denominator) == (date(2026, 3, 1), 2, 3)
        assert march.ids == ("r1|A", "r3|A")
        assert (april.period, april.numerator, april.denominator) == (date(2026, 4, 1), 1, 3)


def test_dock_to_stock_pending_until_the_deadline_passes(tmp_path: Path) -> None:
    store = tiny_store(tmp_path, receipts=WESTCOAST_RECEIPTS)
    # 04-11 06:00 UTC is still Friday 04-10 at LAX1: r5 and r6 are pending, r4 is decided.
    before = _hits(items(store, "dock_to_stock_on_time_rate", datetime(2026, 4, 11, 6, tzinfo=UTC)))
    assert {k for k, (d, _) in before.items() if d.month == 4} == {"r4|A"}
    # An hour later the deadline has passed: both count as late, r6's stock is still ahead.
    after = _hits(items(store, "dock_to_stock_on_time_rate", datetime(2026, 4, 11, 7, tzinfo=UTC)))
    assert after["r5|A"] == after["r6|A"] == (date(2026, 4, 10), False)
    # Before any arrival nothing has happened: no figure.
    assert figures(store, "dock_to_stock_on_time_rate", datetime(2026, 3, 6, tzinfo=UTC)) == []


@pytest.mark.parametrize("closed", [False, True])
def test_dock_to_stock_contract_closed_date(tmp_path: Path, closed: bool) -> None:
    text = WESTCOAST.read_text(encoding="utf-8")
    if closed:
        text = text.replace("closed_dates: [2026-12-26]", "closed_dates: [2026-03-11]")
    store = tiny_store(
        tmp_path,
        contracts=[text],
        # Saturday arrival: deadline Wednesday 03-11, or Thursday 03-12 when 03-11 is closed.
        receipts=[_receipt("r1", "2026-03-07T11:00:00-08:00", "2026-03-12T10:00:00-07:00")],
    )
    (row,) = items(store, "dock_to_stock_on_time_rate", LATER)
    assert (row["period_date"], row["hit"]) == (
        (date(2026, 3, 12), True) if closed else (date(2026, 3, 11), False)
    )


def test_dock_to_stock_peak_variant_sets_n_by_arrival_date(tmp_path: Path) -> None:
    store = tiny_store(
        tmp_path,
        contracts=[EASTBRIDGE],
        receipts=[
            # Friday 11-20, before the peak: N = 2, deadline Tuesday 11-24.
            _receipt("e1", "2026-11-20T10:00:00-05:00", "2026-11-25T10:00:00-05:00", "EWR1"),
            # Monday 11-23, in the peak: N = 4 skipping Thanksgiving (11-26): Monday 11-30.
            _receipt("e2", "2026-11-23T10:00:00-05:00", "2026-11-27T10:00:00-05:00", "EWR1"),
            _receipt("e3", "2026-11-23T10:00:00-05:00", "2026-12-01T10:00:00-05:00", "EWR1"),
            # Wednesday 12-23, last peak day: 12-24 closed, 12-25 Christmas: Thursday 12-31.
            _receipt("e4", "2026-12-23T10:00:00-05:00", "2026-12-31T10:00:00-05:00", "EWR1"),
        ],
    )
    rows = items(store, "dock_to_stock_on_time_rate", LATER)
    assert _hits(rows) == {
        "e1|A": (date(2026, 11, 24), False),
        "e2|A": (date(2026, 11, 30), True),
        "e3|A": (date(2026, 11, 30), False),
        "e4|A": (date(2026, 12, 31), True),
    }
    assert {(r["provider_id"], r["facility_id"]) for r in rows} == {("eastbridge", "EWR1")}


# -- returns ---------------------------------------------------------------------------------


def _return(return_id: str, received_at: str, processed_at: str | None) -> dict[str, Any]:
    return {
        "return_id": return_id,
        "provider_id": "westcoast",
        "facility_id": "LAX1",
        "sku": "A",
        "qty": 1,
        "received_at": received_at,
        "processed_at": processed_at,
        "disposition": "restock",
    }


def test_return_processing_within_five_business_days(tmp_path: Path) -> None:
    store = tiny_store(
        tmp_path,
        returns=[
            # Friday 03-27: 03-30, (03-31 holiday), 04-01, 04-02, 04-03, 04-06: Monday 04-06.
            _return("m1", "2026-03-27T15:00:00-07:00", "2026-04-06T18:00:00-07:00"),
            _return("m2", "2026-03-27T15:00:00-07:00", "2026-04-07T09:00:00-07:00"),
            _return("m3", "2026-03-27T15:00:00-07:00", None),
            # Sunday 03-01 before DST: the count starts Monday 03-02; deadline Monday 03-09.
            _return("m4", "2026-03-01T12:00:00-08:00", "2026-03-09T23:00:00-07:00"),
            # Received 04-20: deadline Monday 04-27, after the clock below.
            _return("m5", "2026-04-20T10:00:00-07:00", None),
        ],
    )
    as_of = datetime(2026, 4, 22, tzinfo=UTC)
    assert _hits(items(store, "return_processing_on_time_rate", as_of)) == {
        "m1|A": (date(2026, 4, 6), True),
        "m2|A": (date(2026, 4, 6), False),
        "m3|A": (date(2026, 4, 6), False),
        "m4|A": (date(2026, 3, 9), True),
    }
    march, april = figures(store, "return_processing_on_time_rate", as_of)
    assert (march.numerator, march.denominator) == (1, 1)
    assert (april.numerator, april.denominator, april.ids) == (1, 3, ("m1|A",))


# -- disputes --------------------------------------------------------------------------------


def _add_disputes(store: Store, rows: list[tuple[str, str, str, str | None]]) -> None:
    with store.begin() as connection:
        connection.execute(
            disputes.insert(),
            [
                {
                    "dispute_id": dispute_id,
                    "provider_id": provider_id,
                    "opened_at": datetime.fromisoformat(opened),
                    "subject": "invoice line",
                    "status": "open" if responded is None else "answered",
                    "responded_at": None
                    if responded is None
                    else datetime.fromisoformat(responded),
                }
                for dispute_id, provider_id, opened, responded in rows
            ],
        )


def test_dispute_response_on_the_brand_calendar(tmp_path: Path, store_url: str) -> None:
    with tiny_store(
        tmp_path, url=store_url, contracts=[WESTCOAST, EASTBRIDGE], orders=ANCHOR
    ) as store:
        _add_disputes(
            store,
            [
                # Friday 03-06 22:00 UTC (brand clock: UTC): deadline Tuesday 03-10 end.
                ("d1", "westcoast", "2026-03-06T22:00:00+00:00", "2026-03-10T23:00:00+00:00"),
                ("d2", "westcoast", "2026-03-06T22:00:00+00:00", "2026-03-11T00:30:00+00:00"),
                ("d3", "westcoast", "2026-03-06T22:00:00+00:00", None),
                # Monday 03-30: Cesar Chavez Day is no holiday on the brand's calendar, so the
                # deadline is Wednesday 04-01, not the Thursday LAX1 would give.
                ("d4", "westcoast", "2026-03-30T10:00:00+00:00", "2026-04-01T20:00:00+00:00"),
                ("d5", "eastbridge", "2026-03-30T10:00:00+00:00", "2026-04-02T10:00:00+00:00"),
                # Opened Thursday 04-09: deadline Monday 04-13, after the clock.
                ("d6", "westcoast", "2026-04-09T10:00:00+00:00", None),
            ],
        )
        as_of = datetime(2026, 4, 12, tzinfo=UTC)
        rows = items(store, "dispute_response_on_time_rate", as_of)
        assert _hits(rows) == {
            "d1": (date(2026, 3, 10), True),
            "d2": (date(2026, 3, 10), False),
            "d3": (date(2026, 3, 10), False),
            "d4": (date(2026, 4, 1), True),
            "d5": (date(2026, 4, 1), False),
        }
        assert {r["facility_id"] for r in rows} == {None}
        results = figures(store, "dispute_response_on_time_rate", as_of)
        assert [(r.provider_id, r.period, r.numerator, r.denominator) for r in results] == [
            ("eastbridge", date(2026, 4, 1), 0, 1),
            ("westcoast", date(2026, 3, 1), 1, 3),
            ("westcoast", date(2026, 4, 1), 1, 1),
        ]


def test_dispute_deadline_in_the_brand_time_zone(tmp_path: Path) -> None:
    store = tiny_store(tmp_path, brand_timezone="America/New_York", orders=ANCHOR)
    # Friday 23:30 in New York is Saturday 04:30 UTC: the count starts that Friday, so the
    # deadline is Tuesday 03-10 23:59:59 EDT; a Wednesday answer is late.
    _add_disputes(
        store,
        [
            ("d1", "westcoast", "2026-03-07T04:30:00+00:00", "2026-03-11T03:30:00+00:00"),
            ("d2", "westcoast", "2026-03-07T04:30:00+00:00", "2026-03-11T04:30:00+00:00"),
        ],
    )
    assert _hits(items(store, "dispute_response_on_time_rate", LATER)) == {
        "d1": (date(2026, 3, 10), True),
        "d2": (date(2026, 3, 10), False),
    }


def test_no_disputes_no_figure(tmp_path: Path) -> None:
    store = tiny_store(tmp_path, orders=ANCHOR)
    assert figures(store, "dispute_response_on_time_rate", LATER) == []
    assert figures(store, "return_processing_on_time_rate", LATER) == []
