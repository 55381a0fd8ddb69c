"""Daily demand read from the store: per facility-local day, per brand-local day, both engines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from tallyclerk.forecast import (
    ForecastRun,
    ModelScore,
    SeriesForecast,
    SeriesKey,
    StorageCheck,
    load_run,
    save_run,
)
from tallyclerk.forecast._capacity import pallet_counts
from tallyclerk.forecast._series import facility_series, provider_totals, store_series
from tallyclerk.metrics import open_context
from tallyclerk.store import Store
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


def test_runs_are_kept_and_read_back_on_both_engines(store: Store) -> None:
    """save_run / load_run on DuckDB and PostgreSQL: the figures, the scope, the latest run."""
    start = date(2026, 4, 1)

    def forecast(provider: str | None, level: float) -> SeriesForecast:
        return SeriesForecast(
            key=SeriesKey(provider, None, "orders"),
            model="AutoETS(7)",
            method="direct" if provider is None else "top-down",
            start=start,
            p50=np.array([level, level + 0.5, level + 1.25]),
            p90=np.array([level + 2, level + 3, level + 4.125]),
            history_start=date(2025, 1, 1),
            history_days=455,
            scores=(ModelScore("AutoETS(7)", 0.8, 21.5, 3, 28),),
            baseline=ModelScore("SeasonalNaive(7)", 1.0, 25.0, 3, 28),
            notes=("a note",),
        )

    run = ForecastRun(
        as_of=date(2026, 3, 31),
        horizon=3,
        series=[forecast(None, 30), forecast("eastbridge", 20), forecast("westcoast", 10)],
        created_at=datetime(2026, 4, 1, 6, tzinfo=UTC),
        storage={"westcoast": StorageCheck("westcoast", date(2026, 3, 29), 40, 1.5, 47, 45)},
    )
    with store.begin() as connection:
        first = save_run(connection, run, created_by="tests")
        second = save_run(connection, run)
    assert second > first
    with store.connect() as connection:
        everything = load_run(connection)
        kept = load_run(connection, first)
        west = load_run(connection, provider_ids=["westcoast"], include_store=False)
        nobody = load_run(connection, provider_ids=["nobody"])
    assert everything is not None
    assert everything.run_id == second
    assert kept is not None
    assert kept.created_by == "tests"
    assert [s.key.provider_id for s in kept.series] == [None, "eastbridge", "westcoast"]
    east = kept.find("eastbridge")
    assert east is not None
    assert east.p50.tolist() == [20, 20.5, 21.25]
    assert east.p90.tolist() == [22, 23, 24.125]
    assert east.chosen == ModelScore("AutoETS(7)", 0.8, 21.5, 3, 28)
    assert east.notes == ("a note",)
    assert kept.storage["westcoast"] == run.storage["westcoast"]
    assert west is not None
    assert [s.key.provider_id for s in west.series] == ["westcoast"]
    assert set(west.storage) == {"westcoast"}
    assert nobody is None
