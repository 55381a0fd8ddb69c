"""The review's weeks: their bounds in the brand's zone, the trend's weeks, the targets in force."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tallyclerk.contracts import parse_contract
from tallyclerk.reports import IsoWeek
from tallyclerk.reports._gather import week_bounds
from tallyclerk.reports._gather_kpis import contracted_metrics, terms_on, trend_weeks

CONTRACT = """
provider: acme
name: Acme
effective: 2026-01-07
currency: USD
facilities:
  - {id: LAX1, timezone: America/Los_Angeles, country: US, subdivision: CA, cutoff: "14:00"}
capacity: {orders_per_day: 100}
metrics:
  ship_on_time_rate: {target: 0.95}
  no_first_scan_rate: {max: 0.01, within_business_days: 5}
peak: [{from: 2026-11-25, to: 2026-12-06, metrics: {ship_on_time_rate: {target: 0.9}}}]
credits: {cap_pct_of_fees: 10, tiers: []}
rates:
  pick_pack: 3.00
  additional_unit: 0.75
  packaging: {}
  storage_per_pallet_month: 25.00
  receiving_per_unit: 0.25
  returns_per_unit: 3.50
  shipping_markup_pct: 0
"""
NEWER = CONTRACT.replace("effective: 2026-01-07", "effective: 2026-12-02").replace(
    "no_first_scan_rate: {max: 0.01, within_business_days: 5}",
    "order_accuracy_rate: {target: 0.995}",
)


def test_a_week_runs_from_monday_to_sunday_midnight_in_the_brands_zone() -> None:
    # 2026-W10 holds the start of daylight saving time in Chicago (Sunday 03-08).
    assert week_bounds(IsoWeek(2026, 10), "America/Chicago") == (
        datetime(2026, 3, 2, 6, 0, tzinfo=UTC),
        datetime(2026, 3, 9, 5, 0, tzinfo=UTC),
    )
    assert week_bounds(IsoWeek(2026, 53), "UTC") == (
        datetime(2026, 12, 28, tzinfo=UTC),
        datetime(2027, 1, 4, tzinfo=UTC),
    )
    start, end = week_bounds(IsoWeek(2026, 1), "Asia/Tokyo")
    assert (start, end) == (
        datetime(2025, 12, 28, 15, 0, tzinfo=UTC),
        datetime(2026, 1, 4, 15, 0, tzinfo=UTC),
    )


def test_the_trend_is_twelve_weeks_across_the_year_end() -> None:
    weeks = trend_weeks(IsoWeek(2027, 3))
    assert len(weeks) == 12
    assert weeks[-1] == IsoWeek(2027, 3)
    # 2026 has 53 ISO weeks.
    assert [w.name for w in weeks[:4]] == ["2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    assert [w.name for w in weeks[8:]] == ["2026-W53", "2027-W01", "2027-W02", "2027-W03"]


def test_targets_follow_versions_and_peak_windows() -> None:
    old = parse_contract(CONTRACT, "acme.yaml")
    new = parse_contract(NEWER, "acme-2.yaml")
    versions = [old, new]
    assert terms_on("acme", versions, "ship_on_time_rate", date(2026, 1, 5)) is None
    base = terms_on("acme", versions, "ship_on_time_rate", date(2026, 11, 23))
    peak = terms_on("acme", versions, "ship_on_time_rate", date(2026, 11, 30))
    assert base is not None
    assert peak is not None
    assert (base.threshold, peak.threshold) == (0.95, 0.9)
    scan = terms_on("acme", versions, "no_first_scan_rate", date(2026, 11, 30))
    assert scan is not None
    assert scan.lower_is_better
    # The newer version (from Wednesday 12-02) drops no_first_scan_rate.
    assert terms_on("acme", versions, "no_first_scan_rate", date(2026, 12, 7)) is None
    # A week under both versions reviews what either held the provider to.
    assert contracted_metrics("acme", versions, IsoWeek(2026, 49)) == [
        "ship_on_time_rate",
        "order_accuracy_rate",
        "no_first_scan_rate",
    ]
    assert contracted_metrics("acme", versions, IsoWeek(2026, 1)) == []
