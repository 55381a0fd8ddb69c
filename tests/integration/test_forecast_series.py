"""Daily demand read from the store: per facility-local day, per brand-local day, both engines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from tallyclerk.forecast import SeriesKey
from tallyclerk.forecast._capacity import pallet_counts
from tallyclerk.forecast._series import facility_series, provider_totals, store_series
from tallyclerk.metrics import open_context
from tests.support import tiny_store

AS_OF = datetime(2026, 3, 10, tzinfo=UTC)


def _orders() -> list[dict[str, object]]:
    # LAX1 is America/Los_Angeles (UTC-8 in March before the 8th, UTC-7 after).
    return [
        {"order_id": "a", "placed_at": "2026-03-02T07:30:00+00:00"},  # Chicago: Mar 2 01:30
        {"order_id": "b", "placed_at": "2026-03-02T05:00:00+00:00"},  # Chicago: Mar 1 23:00
        {"order_id": "c", "placed_at": "2026-03-04T18:00:00+00:00"},
        {"order_id": "d", "placed_at": "2026-03-11T18:00:00+00:00"},  # after the last day
    ]


def _releases() -> list[dict[str, object]]:
    return [
        # 2026-03-02 07:30 UTC is 23:30 on Mar 1 in Los Angeles: a Mar 1 release there.
        {"order_id": "a", "provider_id": "westcoast", "facility_id": "LAX1",
         "released_at": "2026-03-02T07:30:00+00:00"},
        {"order_id": "b", "provider_id": "westcoast", "facility_id": "LAX1",
         "released_at": "2026-03-02T09:00:00+00:00"},  # Mar 2 01:00 local
        {"order_id": "c", "provider_id": "westcoast", "facility_id": "LAX1",
         "released_at": "2026-03-04T18:30:00+00:00"},
    ]  # fmt: skip


def _lines() -> list[dict[str, object]]:
    return [
        {"order_id": "a", "line_no": 1, "sku": "S1", "qty": 2},
        {"order_id": "a", "line_no": 2, "sku": "S2", "qty": 1},
        {"order_id": "b", "line_no": 1, "sku": "S1", "qty": 4},
        {"order_id": "c", "line_no": 1, "sku": "S1", "qty": 1},
        {"order_id": "d", "line_no": 1, "sku": "S1", "qty": 9},
    ]


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_daily_counts_by_local_day(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = None if engine == "duckdb" else str(request.getfixturevalue("postgres_url"))
    store = tiny_store(
        tmp_path,
        url=url,
        brand_timezone="America/Chicago",
        products=[
            {"sku": "S1", "name": "one", "units_per_pallet": 10},
            {"sku": "S2", "name": "two", "units_per_pallet": 4},
        ],
        orders=_orders(),
        order_lines=_lines(),
        releases=_releases(),
        inventory_snapshots=[
            # LAX1 pallets: ceil(25/10 + 6/4) = ceil(4.0) = 4; then ceil(31/10 + 0) = 4.
            {
                "provider_id": "westcoast",
                "facility_id": "LAX1",
                "as_of": "2026-03-01",
                "sku": "S1",
                "on_hand": 25,
            },
            {
                "provider_id": "westcoast",
                "facility_id": "LAX1",
                "as_of": "2026-03-01",
                "sku": "S2",
                "on_hand": 6,
            },
            {
                "provider_id": "westcoast",
                "facility_id": "LAX1",
                "as_of": "2026-03-08",
                "sku": "S1",
                "on_hand": 31,
            },
        ],
    )
    try:
        last = date(2026, 3, 9)
        with open_context(store, as_of=AS_OF, settings=store.settings) as ctx:  # type: ignore[attr-defined]
            facilities = facility_series(ctx, last)
            brand = store_series(ctx, last, "America/Chicago")
            pallets = pallet_counts(ctx, "westcoast", last)
    finally:
        store.close()
    orders = facilities[SeriesKey("westcoast", "LAX1", "orders")]
    units = facilities[SeriesKey("westcoast", "LAX1", "units")]
    assert orders.start == date(2026, 3, 1)
    assert orders.end == last
    # Mar 1: a; Mar 2: b; Mar 4: c; zeros elsewhere up to Mar 9.
    assert orders.values.tolist() == [1, 1, 0, 1, 0, 0, 0, 0, 0]
    assert units.values.tolist() == [3, 4, 0, 1, 0, 0, 0, 0, 0]
    totals = provider_totals(facilities)
    assert np.array_equal(totals[SeriesKey("westcoast", None, "orders")].values, orders.values)
    placed = brand[SeriesKey(None, None, "orders")]
    # Chicago days: b on Mar 1, a on Mar 2, c on Mar 4; d is after the last day.
    assert placed.start == date(2026, 3, 1)
    assert placed.values.tolist() == [1, 1, 0, 1, 0, 0, 0, 0, 0]
    assert brand[SeriesKey(None, None, "units")].values.tolist() == [4, 3, 0, 1, 0, 0, 0, 0, 0]
    assert pallets == [(date(2026, 3, 1), 4), (date(2026, 3, 8), 4)]
