"""The capacity check on hand-computed loads: closed days carried on, peak figures in force."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from tallyclerk.contracts import parse_contract
from tallyclerk.forecast import SeriesForecast, SeriesKey
from tallyclerk.forecast._capacity import business_loads, capacity_weeks, daily_capacity

CONTRACT = """
provider: westcoast
name: test
effective: 2026-01-01
currency: USD
facilities:
  - {id: LAX1, timezone: America/Los_Angeles, country: US, subdivision: CA, cutoff: "14:00"}
capacity: {orders_per_day: 100, peak_orders_per_day: 150}
metrics:
  ship_on_time_rate: {target: 0.99}
peak: [{from: 2026-11-20, to: 2026-12-31, metrics: {ship_on_time_rate: {target: 0.97}}}]
credits: {cap_pct_of_fees: 10}
rates:
  pick_pack: 3.00
  additional_unit: 0.75
  storage_per_pallet_month: 25.00
  receiving_per_unit: 0.25
  returns_per_unit: 3.50
  shipping_markup_pct: 0
"""

START = date(2026, 11, 16)  # a Monday


def _forecast(days: int = 15) -> SeriesForecast:
    p90 = np.array(
        [40.0 if (START + timedelta(days=i)).weekday() >= 5 else 90.0 for i in range(days)]
    )
    return SeriesForecast(
        key=SeriesKey("westcoast", None, "orders"),
        model="test",
        method="direct",
        start=START,
        p50=np.full(days, 80.0),
        p90=p90,
        history_start=date(2026, 1, 1),
        history_days=319,
    )


def test_daily_capacity_uses_the_peak_figure_inside_the_window() -> None:
    versions = [parse_contract(CONTRACT)]
    assert daily_capacity(versions, date(2026, 11, 19)) == (100, False)
    assert daily_capacity(versions, date(2026, 11, 20)) == (150, True)
    assert daily_capacity(versions, date(2025, 12, 31)) == (None, False)  # before the contract


def test_closed_days_are_carried_to_the_next_business_day() -> None:
    loads = business_loads(_forecast(), [parse_contract(CONTRACT)])
    p90 = {day: load for day, _p50, load in loads}
    # Sat 21 and Sun 22 (40 each) land on Mon 23 with its own 90: 170.
    assert p90[date(2026, 11, 23)] == 170
    # Thanksgiving (26) and the day after (27, a California holiday) at 90 each, the weekend
    # at 40 each, then Monday 30 itself at 90: 90 + 90 + 40 + 40 + 90 = 350.
    assert p90[date(2026, 11, 30)] == 350
    assert date(2026, 11, 26) not in p90
    assert date(2026, 11, 28) not in p90
    p50 = {day: load for day, load, _p90 in loads}
    assert p50[date(2026, 11, 30)] == 5 * 80


def test_weeks_are_flagged_with_the_size_of_the_gap() -> None:
    weeks = {
        w.week: w for w in capacity_weeks("westcoast", _forecast(), [parse_contract(CONTRACT)])
    }
    assert list(weeks) == ["2026-W47", "2026-W48", "2026-W49"]
    first = weeks["2026-W47"]
    # Mon 16 to Fri 20 at 90 against 100 (150 on the 20th): nothing over.
    assert not first.flagged
    assert first.capacity_per_day == 100
    assert first.peak_terms
    assert first.p50_orders == 7 * 80  # the week's P50 counts every day, closed ones too
    second = weeks["2026-W48"]
    # Only Monday 23 is over: 170 - 150 = 20.
    assert (second.over_days, second.gap_orders, second.p90_peak_day) == (1, 20, 170)
    assert second.capacity_per_day == 150
    assert second.flagged
    third = weeks["2026-W49"]
    assert (third.over_days, third.gap_orders) == (1, 350 - 150)
