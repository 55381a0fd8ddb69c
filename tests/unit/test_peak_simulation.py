"""The peak simulation on small scenarios whose every figure is worked out by hand.

The test contract: one facility F1 (US, no state: no public holiday in March 2026), cutoff
14:00, 100 orders per business day (150 inside a peak window), ship_on_time_rate target 0.99,
tiers 5% below 0.99 and 8% below 0.98, missed ship dates at 2.00 each, credits capped at 10%
of fees. Fees are 3.00 per order shipped. March 2026: Monday 2, 9, 16, 23 are Mondays.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tallyclerk.calendar import BusinessCalendar, FacilityClock
from tallyclerk.contracts import Contract, parse_contract
from tallyclerk.errors import InputError
from tallyclerk.forecast._peak import (
    CapacityPlan,
    ExtraCapacity,
    FacilityDemand,
    PeakDay,
    PeakResult,
    simulate_peak,
)

CONTRACT = """\
provider: acme
name: Acme fulfillment agreement
effective: 2026-01-01
currency: USD
facilities:
  - {id: F1, timezone: America/Chicago, country: US, cutoff: "14:00"}
  - {id: F2, timezone: America/New_York, country: US, cutoff: "12:00"}
capacity: {orders_per_day: 100, peak_orders_per_day: 150}
metrics:
  ship_on_time_rate: {target: 0.99}
peak: [{from: 2026-03-16, to: 2026-03-22, metrics: {ship_on_time_rate: {target: 0.95}}}]
credits:
  cap_pct_of_fees: 10
  tiers:
    - {metric: ship_on_time_rate, below: 0.99, credit_pct_of_fees: 5}
    - {metric: ship_on_time_rate, below: 0.98, credit_pct_of_fees: 8}
  per_incident: {missed_ship_date: 2.00}
rates:
  pick_pack: 3.00
  additional_unit: 0.50
  storage_per_pallet_month: 20
  receiving_per_unit: 0.20
  returns_per_unit: 2.00
  shipping_markup_pct: 0
"""
FEE = Decimal("3.00")


def contract(*replacements: tuple[str, str]) -> Contract:
    text = CONTRACT
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    return parse_contract(text)


def clock(terms: Contract, facility_id: str = "F1") -> FacilityClock:
    facility = terms.facility(facility_id)
    calendar = BusinessCalendar(facility.country, facility.subdivision, terms.closed_dates)
    return FacilityClock(facility.id, facility.timezone, facility.cutoff, calendar)


def weekdays(first: date, last: date, orders: float) -> dict[date, float]:
    """`orders` on every Monday to Friday of first..last."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return {day: orders for day in days if day.weekday() < 5}


def simulate(
    terms: Contract,
    orders: Mapping[date, float],
    start: date,
    end: date,
    *,
    share: float = 1.0,
    plan: CapacityPlan | None = None,
) -> PeakResult:
    demand = FacilityDemand(clock(terms), orders, share)
    return simulate_peak([terms], "acme", [demand], start, end, capacity=plan, fee_per_order=FEE)


def day_of(result: PeakResult, day: date, facility: str = "F1") -> PeakDay:
    return next(r for r in result.days if r.day == day and r.facility_id == facility)


def test_capacity_exactly_met() -> None:
    # 100 orders every business day of 2-13 March, all before the cutoff, 100 of capacity:
    # each is due and shipped the day it arrives; nothing waits, nothing is late.
    terms = contract()
    result = simulate(terms, weekdays(date(2026, 3, 2), date(2026, 3, 13), 100), *_MARCH_2_13)
    for row in result.days:
        if row.business_day:
            assert (row.due, row.capacity, row.shipped, row.shipped_on_time) == (100, 100, 100, 100)
        else:
            assert (row.due, row.capacity, row.shipped) == (0, 0, 0)
        assert (row.backlog, row.late, row.overdue) == (0, 0, 0)
    (period,) = result.periods
    assert (period.start, period.end, period.label) == (date(2026, 3, 2), date(2026, 3, 13), "base")
    assert (period.due, period.on_time, period.rate, period.target, period.met) == (
        1000,
        1000,
        1.0,
        0.99,
        True,
    )
    (month,) = result.credits
    assert month.fees == Decimal("3000.00")  # 1,000 orders shipped x 3.00
    assert month.lines == ()
    assert month.total == Decimal("0.00")
    rec = result.recommendation
    assert not rec.needed
    assert rec.capacity.orders_per_day == 0
    assert rec.capacity.orders_per_day_no_late == 0
    assert rec.capacity.dates == ()
    assert rec.routing.keep_share == 1.0
    assert rec.routing.routed_orders == 0
    assert rec.summary[0].startswith("No action needed")
    assert result.totals.late == 0
    assert result.totals.worst_backlog == 0
    assert result.totals.worst_backlog_day is None


_MARCH_2_13 = (date(2026, 3, 2), date(2026, 3, 13))


def _one_day_over() -> dict[date, float]:
    orders = weekdays(*_MARCH_2_13, 90)
    orders[date(2026, 3, 4)] = 110  # Wednesday: capacity + 10
    return orders


def test_one_day_over_capacity() -> None:
    result = simulate(contract(), _one_day_over(), *_MARCH_2_13)
    wednesday = day_of(result, date(2026, 3, 4))
    # 110 due, 100 shipped on time: 10 late and waiting at the end of the day.
    assert (wednesday.due, wednesday.shipped, wednesday.shipped_on_time) == (110, 100, 100)
    assert (wednesday.late, wednesday.backlog, wednesday.overdue) == (10, 10, 10)
    thursday = day_of(result, date(2026, 3, 5))
    # The 10 ship first (late), then all 90 due Thursday: 100 shipped, 90 of them on time.
    assert (thursday.shipped, thursday.shipped_on_time, thursday.late) == (100, 90, 0)
    assert thursday.backlog == 0
    (period,) = result.periods
    # Due: 9 days x 90 + 110 = 920; late 10; rate 910 / 920 = 0.98913 < 0.99: breached.
    assert (period.due, period.on_time, period.late) == (920, 910, 10)
    assert period.rate == pytest.approx(910 / 920)
    assert period.met is False
    (month,) = result.credits
    # Fees 920 x 3.00 = 2,760.00. Tier: 0.98913 is below 0.99 (5%) but not 0.98 (8%):
    # 5% x 2,760.00 = 138.00. Missed ship dates: 10 x 2.00 = 20.00. Total 158.00, under the
    # cap of 10% x 2,760.00 = 276.00.
    assert month.fees == Decimal("2760.00")
    assert [(line.kind, line.amount) for line in month.lines] == [
        ("tier", Decimal("138.00")),
        ("incident", Decimal("20.00")),
    ]
    assert month.total == Decimal("158.00")
    assert not month.capped
    assert result.totals.credits == Decimal("158.00")
    assert result.totals.worst_backlog == 10
    assert result.totals.worst_backlog_day == date(2026, 3, 4)

    rec = result.recommendation
    assert rec.needed
    assert rec.capacity.dates == (date(2026, 3, 4),)  # the only day due exceeds capacity
    # The target allows 1% of 920 = 9.2 late orders: e extra on Wednesday leaves 10 - e late,
    # so e >= 0.8, booked as 1 whole order (rate 911 / 920 = 0.99022). No late at all: 10.
    assert rec.capacity.orders_per_day == 1
    assert rec.capacity.worst_rate == pytest.approx(911 / 920)
    assert rec.capacity.orders_per_day_no_late == 10
    assert rec.capacity.schedule_no_late == ((date(2026, 3, 4), 10),)
    # Routing: only Wednesday's arrivals fall due on Wednesday. Keeping k of them: due is
    # 810 + 110k, late 110k - 100; late <= 1% of due gives 108.9k <= 108.1, k <= 0.99265:
    # 0.992 kept (109.12: 9.12 late <= 9.1912), 0.993 is too much (9.23 > 9.1923).
    assert rec.routing.dates == (date(2026, 3, 4),)
    assert rec.routing.keep_share == 0.992
    assert rec.routing.route_share == 0.008
    assert rec.routing.routed_orders == pytest.approx(0.88)  # 0.8% of 110
    assert rec.routing.peak_routed_orders == pytest.approx(0.88)
    assert rec.routing.peak_routed_day == date(2026, 3, 4)
    # No late order: 110k <= 100, k <= 0.90909: 0.909.
    assert rec.routing.keep_share_no_late == 0.909
    assert rec.summary[0].startswith("Book 1 extra orders per day on 2026-03-04")


def test_booked_extra_capacity_removes_the_lateness() -> None:
    # The recommendation's 10 extra orders booked on Wednesday: nothing is late any more.
    plan = CapacityPlan(extra=(ExtraCapacity(date(2026, 3, 4), date(2026, 3, 4), 10),))
    result = simulate(contract(), _one_day_over(), *_MARCH_2_13, plan=plan)
    assert day_of(result, date(2026, 3, 4)).capacity == 110
    assert day_of(result, date(2026, 3, 5)).capacity == 100
    assert result.totals.late == 0
    assert result.periods[0].met is True
    assert result.credits[0].total == Decimal("0.00")


def test_the_recommended_share_meets_the_target_when_routed() -> None:
    # Routing 0.8% of Wednesday's orders away, as recommended, meets the target.
    orders = _one_day_over()
    orders[date(2026, 3, 4)] = 110 * 0.992
    result = simulate(contract(), orders, *_MARCH_2_13)
    assert result.periods[0].met is True
    orders[date(2026, 3, 4)] = 110 * 0.993
    assert simulate(contract(), orders, *_MARCH_2_13).periods[0].met is False


def _weekend_spike() -> dict[date, float]:
    # Mon 2 to Thu 5 March: 50 a day; Fri 6: 150, Sat 7: 80, Sun 8: 70 (the spike); Mon 9 and
    # Tue 10: 50.
    orders = weekdays(date(2026, 3, 2), date(2026, 3, 5), 50)
    orders |= {
        date(2026, 3, 6): 150,
        date(2026, 3, 7): 80,
        date(2026, 3, 8): 70,
        date(2026, 3, 9): 50,
        date(2026, 3, 10): 50,
    }
    return orders


_MARCH_2_10 = (date(2026, 3, 2), date(2026, 3, 10))


def test_a_weekend_spike_with_the_cutoff() -> None:
    # 60% of each day's orders arrive before the cutoff.
    result = simulate(contract(), _weekend_spike(), *_MARCH_2_10, share=0.6)
    friday = day_of(result, date(2026, 3, 6))
    # Friday: 90 due today + Thursday's 20 after-cutoff orders (shipped on Thursday already):
    # due 110. In the queue: 90 due Friday, 60 due Monday. 100 ship: the 90, then 10 of Monday's.
    assert friday.due == pytest.approx(110)
    assert (friday.shipped, friday.shipped_on_time, friday.late) == (100, 100, 0)
    assert friday.backlog == pytest.approx(50)
    saturday, sunday = day_of(result, date(2026, 3, 7)), day_of(result, date(2026, 3, 8))
    # Nothing ships at the weekend; everything arriving is due on Monday.
    assert (saturday.business_day, saturday.capacity, saturday.shipped) == (False, 0, 0)
    assert saturday.backlog == pytest.approx(130)  # 50 + 80
    assert sunday.backlog == pytest.approx(200)  # 130 + 70
    monday = day_of(result, date(2026, 3, 9))
    # Due Monday: Friday's after-cutoff 60 + Saturday 80 + Sunday 70 + Monday's before-cutoff
    # 30 = 240; 10 of them shipped on Friday; 100 ship today: 240 - 10 - 100 = 130 late.
    # Backlog: the 130 late + Monday's 20 after-cutoff orders due Tuesday = 150.
    assert monday.due == pytest.approx(240)
    assert (monday.shipped, monday.shipped_on_time) == (100, 100)
    assert monday.late == pytest.approx(130)
    assert monday.backlog == pytest.approx(150)
    assert monday.overdue == pytest.approx(130)
    tuesday = day_of(result, date(2026, 3, 10))
    # Tuesday: the queue holds 130 overdue, 20 + 30 due Tuesday, 20 due Wednesday. The 100
    # shipped are all overdue ones: none on time, Tuesday's 50 are late too; left: 30 + 50 +
    # 20 = 100, of which 80 past due.
    assert tuesday.due == pytest.approx(50)
    assert (tuesday.shipped, tuesday.shipped_on_time) == (100, 0)
    assert tuesday.late == pytest.approx(50)
    assert tuesday.backlog == pytest.approx(100)
    assert tuesday.overdue == pytest.approx(80)
    (period,) = result.periods
    # Due: 30 + 50 + 50 + 50 + 110 + 240 + 50 = 580; late 130 + 50 = 180; rate 400 / 580.
    assert period.due == pytest.approx(580)
    assert period.late == pytest.approx(180)
    assert period.rate == pytest.approx(400 / 580)
    # Tuesday's 20 after-cutoff orders are due on Wednesday, after the end: not judged.
    assert result.totals.not_judged == pytest.approx(20)
    (month,) = result.credits
    # Shipped: 4 x 50 + 100 + 100 + 100 = 500; fees 1,500.00. Tier 8% (0.6897 < 0.98):
    # 120.00; missed ship dates 180 x 2.00 = 360.00; 480.00 is over the cap of 150.00.
    assert month.fees == Decimal("1500.00")
    assert [(line.kind, line.amount) for line in month.lines] == [
        ("tier", Decimal("120.00")),
        ("incident", Decimal("360.00")),
        ("cap", Decimal("-330.00")),
    ]
    assert month.total == Decimal("150.00")
    assert month.capped

    rec = result.recommendation
    # Over capacity: Friday (110 due) and Monday (240 due).
    assert rec.capacity.dates == (date(2026, 3, 6), date(2026, 3, 9))
    # e extra on both days: above 50, Friday ships all 60 Monday orders early and Monday
    # leaves 240 - 60 - (100 + e) = 80 - e late, Tuesday none; the target allows 1% of 580
    # = 5.8, so e >= 74.2: 75. No late order: 80.
    assert rec.capacity.orders_per_day == 75
    assert rec.capacity.orders_per_day_no_late == 80
    # Day by day instead: Friday ships everything due that day without help; Monday then
    # lacks exactly its 130 late orders (and Tuesday nothing once Monday is settled).
    assert rec.capacity.schedule_no_late == ((date(2026, 3, 9), 130),)
    # Routing: the arrivals due on Friday or Monday are Thursday's (after cutoff), Friday's,
    # the weekend's and Monday's. Keeping k of them (k <= 2/3, where Friday ships all of
    # Monday's 60k early): due 180 + 400k, late 180k - 100; 180k - 100 <= 1.8 + 4k gives
    # k <= 0.57841: 0.578 (4.04 late <= 4.112). No late order: 180k <= 100, k <= 0.555.
    assert rec.routing.dates == (
        date(2026, 3, 5),
        date(2026, 3, 6),
        date(2026, 3, 7),
        date(2026, 3, 8),
        date(2026, 3, 9),
    )
    assert rec.routing.keep_share == 0.578
    assert rec.routing.keep_share_no_late == 0.555
    # Routed: 42.2% of 50 + 150 + 80 + 70 + 50 = 400 is 168.8; the most on Friday, 63.3.
    assert rec.routing.routed_orders == pytest.approx(168.8)
    assert rec.routing.peak_routed_orders == pytest.approx(63.3)
    assert rec.routing.peak_routed_day == date(2026, 3, 6)


def test_following_the_advice_on_the_weekend_spike() -> None:
    terms = contract()
    demand = FacilityDemand(clock(terms), _weekend_spike(), 0.6)
    result = simulate_peak(
        [terms],
        "acme",
        [demand],
        *_MARCH_2_10,
        fee_per_order=FEE,
        second_provider="westcoast",
        second_provider_capacity=50,
    )
    rec = result.recommendation
    # The busiest routed day, Friday, sends 42.2% of 150 = 63.3 orders: more than 50.
    assert rec.routing.fits_second_provider is False
    assert rec.summary[1].startswith(
        "Or route 42.2% of the orders arriving on 2026-03-05..2026-03-09 to westcoast: 169 "
        "orders, at most 63 on 2026-03-06"
    )
    assert rec.summary[2].startswith("westcoast has as little as 50 orders per day to spare")
    assert rec.summary[2].endswith("the busiest routed day may not fit.")
    # Booking the flat figure on both days meets the target; the schedule leaves none late.
    flat = CapacityPlan(
        extra=tuple(ExtraCapacity(day, day, 75) for day in rec.capacity.dates),
    )
    booked = simulate(terms, _weekend_spike(), *_MARCH_2_10, share=0.6, plan=flat)
    assert all(p.met for p in booked.periods)
    assert booked.periods[0].late == pytest.approx(5)  # 80 - 75
    scheduled = CapacityPlan(
        extra=tuple(ExtraCapacity(day, day, n) for day, n in rec.capacity.schedule_no_late),
    )
    booked = simulate(terms, _weekend_spike(), *_MARCH_2_10, share=0.6, plan=scheduled)
    assert booked.totals.late == pytest.approx(0)


def test_a_closed_date_shifts_due_days() -> None:
    # Thursday 12 March is closed. 80 orders a day Monday to Friday, 60% before the cutoff.
    closed = contract(("credits:", "closed_dates: [2026-03-12]\ncredits:"))
    orders = weekdays(date(2026, 3, 9), date(2026, 3, 13), 80)
    result = simulate(closed, orders, date(2026, 3, 9), date(2026, 3, 13), share=0.6)
    wednesday = day_of(result, date(2026, 3, 11))
    assert wednesday.due == pytest.approx(80)  # 48 of Wednesday's + 32 of Tuesday's
    thursday = day_of(result, date(2026, 3, 12))
    # Closed: nothing is due, nothing ships; the 80 arriving wait for Friday.
    assert (thursday.business_day, thursday.due, thursday.capacity, thursday.shipped) == (
        False,
        0,
        0,
        0,
    )
    assert thursday.backlog == pytest.approx(80)
    friday = day_of(result, date(2026, 3, 13))
    # Due Friday: Wednesday's 32 after-cutoff orders (shipped on Wednesday), Thursday's 80 and
    # Friday's 48 before the cutoff = 160. 128 of them wait; 100 ship; 28 late. Backlog: 28 +
    # Friday's 32 after-cutoff orders (due Monday 16, after the end: not judged) = 60.
    assert friday.due == pytest.approx(160)
    assert friday.shipped == pytest.approx(100)
    assert friday.late == pytest.approx(28)
    assert friday.backlog == pytest.approx(60)
    assert result.totals.not_judged == pytest.approx(32)
    (period,) = result.periods
    # Due: 48 + 80 + 80 + 0 + 160 = 368; on time 340.
    assert period.due == pytest.approx(368)
    assert period.rate == pytest.approx(340 / 368)
    # The same week without the closed date: Thursday works, nothing is late.
    open_week = simulate(contract(), orders, date(2026, 3, 9), date(2026, 3, 13), share=0.6)
    assert day_of(open_week, date(2026, 3, 12)).due == pytest.approx(80)
    assert open_week.totals.late == 0


def test_a_public_holiday_shifts_due_days() -> None:
    # Thanksgiving, Thursday 26 November 2026, is a US public holiday: Wednesday's orders
    # after the cutoff and Thursday's are due on Friday 27.
    orders = {date(2026, 11, 25): 50.0, date(2026, 11, 26): 40.0}
    result = simulate(contract(), orders, date(2026, 11, 25), date(2026, 11, 27), share=0.5)
    assert not day_of(result, date(2026, 11, 26)).business_day
    assert day_of(result, date(2026, 11, 25)).due == 25
    assert day_of(result, date(2026, 11, 26)).due == 0
    assert day_of(result, date(2026, 11, 27)).due == 25 + 40


_MARCH_9_27 = (date(2026, 3, 9), date(2026, 3, 27))


def _peak_weeks() -> dict[date, float]:
    orders = weekdays(date(2026, 3, 9), date(2026, 3, 13), 100)
    orders |= weekdays(date(2026, 3, 16), date(2026, 3, 19), 140)
    orders[date(2026, 3, 20)] = 170
    orders |= weekdays(date(2026, 3, 23), date(2026, 3, 27), 80)
    return orders


def test_peak_capacity_and_target_apply_inside_the_window_only() -> None:
    # Peak window 16-22 March: 150 a day and a 0.95 target; 100 and 0.99 outside.
    result = simulate(contract(), _peak_weeks(), *_MARCH_9_27)
    assert day_of(result, date(2026, 3, 13)).capacity == 100
    assert day_of(result, date(2026, 3, 16)).capacity == 150
    assert day_of(result, date(2026, 3, 20)).capacity == 150
    assert day_of(result, date(2026, 3, 21)).capacity == 0  # Saturday
    assert day_of(result, date(2026, 3, 23)).capacity == 100
    assert [r.peak for r in result.days if r.day.day in (15, 16, 22, 23)] == [
        False,
        True,
        True,
        False,
    ]
    # Friday 20: 170 due, 150 ship, 20 late. Monday 23: the 20 ship first, then 80 on time.
    assert day_of(result, date(2026, 3, 20)).late == 20
    monday = day_of(result, date(2026, 3, 23))
    assert (monday.shipped, monday.shipped_on_time, monday.late, monday.backlog) == (
        100,
        80,
        0,
        0,
    )
    # Segments as the SLA cuts March: base to the 15th, peak 16-22, base from the 23rd.
    # Peak: due 4 x 140 + 170 = 730, late 20, rate 710 / 730 = 0.9726: below 0.99 but it
    # meets the peak target 0.95.
    assert [(p.start, p.end, p.label, p.due, p.target, p.met) for p in result.periods] == [
        (date(2026, 3, 9), date(2026, 3, 15), "base", 500, 0.99, True),
        (date(2026, 3, 16), date(2026, 3, 22), "peak 03-16..03-22", 730, 0.95, True),
        (date(2026, 3, 23), date(2026, 3, 27), "base", 400, 0.99, True),
    ]
    assert result.periods[1].rate == pytest.approx(710 / 730)
    # No tier (no segment breached); the 20 missed ship dates still cost 20 x 2.00 = 40.00.
    # Fees: (500 + 730 + 400) x 3.00 = 4,890.00.
    (month,) = result.credits
    assert month.fees == Decimal("4890.00")
    assert [(line.kind, line.amount) for line in month.lines] == [("incident", Decimal("40.00"))]
    rec = result.recommendation
    assert not rec.needed
    # For no late order at all: Friday 20 (170 due, 150 capacity) needs 20 more.
    assert rec.capacity.dates == (date(2026, 3, 20),)
    assert rec.capacity.orders_per_day == 0
    assert rec.capacity.orders_per_day_no_late == 20
    assert rec.capacity.schedule_no_late == ((date(2026, 3, 20), 20),)
    assert rec.summary[0].startswith("No action needed to meet")


def test_the_same_rate_outside_the_peak_window_is_a_breach() -> None:
    # The peak window moved to April: the week of 16 March has 100 a day and a 0.99 target.
    moved = contract(("from: 2026-03-16, to: 2026-03-22", "from: 2026-04-13, to: 2026-04-19"))
    result = simulate(moved, _peak_weeks(), *_MARCH_9_27)
    assert day_of(result, date(2026, 3, 16)).capacity == 100
    (period,) = result.periods
    assert period.label == "base"
    assert period.met is False


def test_capacity_overrides_replace_their_own_figure() -> None:
    plan = CapacityPlan(orders_per_day=120, peak_orders_per_day=160)
    result = simulate(contract(), _peak_weeks(), *_MARCH_9_27, plan=plan)
    assert day_of(result, date(2026, 3, 13)).capacity == 120
    assert day_of(result, date(2026, 3, 20)).capacity == 160
    assert day_of(result, date(2026, 3, 20)).late == 10  # 170 due, 160 shipped
    only_base = simulate(
        contract(), _peak_weeks(), *_MARCH_9_27, plan=CapacityPlan(orders_per_day=120)
    )
    assert day_of(only_base, date(2026, 3, 13)).capacity == 120
    assert day_of(only_base, date(2026, 3, 16)).capacity == 150  # the contract's peak figure


def test_an_exclusion_window_leaves_its_due_orders_out() -> None:
    excluded = contract(
        ("credits:", "exclusions: [{from: 2026-03-04, to: 2026-03-04, reason: flood}]\ncredits:")
    )
    result = simulate(excluded, _one_day_over(), *_MARCH_2_13)
    (period,) = result.periods
    # Wednesday's 110 (with its 10 late) are excluded: 810 judged, all on time.
    assert (period.due, period.excluded, period.late, period.met) == (810, 110, 0, True)
    assert result.credits[0].total == Decimal("0.00")
    assert result.totals.late == 10  # the floor still shipped them late
    assert not result.recommendation.needed


def test_capacity_is_split_by_demand_share_or_as_given() -> None:
    terms = contract()
    f1 = FacilityDemand(clock(terms, "F1"), weekdays(*_MARCH_2_13, 60), 1.0)
    f2 = FacilityDemand(clock(terms, "F2"), weekdays(*_MARCH_2_13, 40), 1.0)
    result = simulate_peak([terms], "acme", [f1, f2], *_MARCH_2_13, fee_per_order=FEE)
    # 600 of 1,000 orders at F1: 60% of the 100 a day, 40 at F2; both ship all on time.
    assert [(f.facility_id, f.capacity_share) for f in result.facilities] == [
        ("F1", 0.6),
        ("F2", 0.4),
    ]
    assert day_of(result, date(2026, 3, 2), "F1").capacity == pytest.approx(60)
    assert day_of(result, date(2026, 3, 2), "F2").capacity == pytest.approx(40)
    assert result.totals.late == pytest.approx(0)
    (total,) = [d for d in result.by_day() if d.day == date(2026, 3, 2)]
    assert total.facility_id is None
    assert total.arriving == 100
    assert total.capacity == pytest.approx(100)
    # An even split leaves F1 10 short a day: 10 late on 2 March, 20 on the 3rd, ...
    even = CapacityPlan(split={"F1": 1, "F2": 1})
    result = simulate_peak(
        [terms], "acme", [f1, f2], *_MARCH_2_13, capacity=even, fee_per_order=FEE
    )
    assert day_of(result, date(2026, 3, 2), "F1").capacity == 50
    assert day_of(result, date(2026, 3, 2), "F1").late == 10
    assert day_of(result, date(2026, 3, 3), "F1").late == 20
    assert day_of(result, date(2026, 3, 3), "F2").late == 0
    with pytest.raises(InputError, match="names F9, not simulated and leaves out F2"):
        simulate_peak(
            [terms],
            "acme",
            [f1, f2],
            *_MARCH_2_13,
            capacity=CapacityPlan(split={"F1": 1, "F9": 1}),
            fee_per_order=FEE,
        )


def test_days_before_the_first_contract_are_not_judged() -> None:
    late_start = contract(("effective: 2026-01-01", "effective: 2026-03-05"))
    result = simulate(late_start, weekdays(*_MARCH_2_13, 100), *_MARCH_2_13)
    assert [(p.start, p.end) for p in result.periods] == [(date(2026, 3, 5), date(2026, 3, 13))]
    assert any("before the first contract version" in note for note in result.notes)
    assert day_of(result, date(2026, 3, 2)).capacity == 100  # its capacity all the same


def test_the_result_as_json() -> None:
    result = simulate(contract(), _one_day_over(), *_MARCH_2_13)
    data = json.loads(json.dumps(result.as_dict()))
    assert data["from"] == "2026-03-02"
    assert data["credits"][0]["fees"] == "2760.00"
    assert data["credits"][0]["total"] == "158.00"
    assert data["totals"]["credits"] == "158.00"
    assert data["totals"]["worst_backlog_day"] == "2026-03-04"
    assert data["periods"][0]["rate"] == round(910 / 920, 6)
    assert data["recommendation"]["capacity"]["dates"] == ["2026-03-04"]
    assert data["recommendation"]["routing"]["route_share"] == 0.008
    assert len(data["days"]) == 12  # 2..13 March
    assert len(data["facility_days"]) == 12
    assert data["days"][2] == {
        "facility": None,
        "day": "2026-03-04",
        "business_day": True,
        "peak": False,
        "arriving": 110.0,
        "due": 110.0,
        "capacity": 100.0,
        "shipped": 100.0,
        "shipped_on_time": 100.0,
        "backlog": 10.0,
        "overdue": 10.0,
        "late": 10.0,
    }


def test_inputs_are_checked() -> None:
    terms = contract()
    with pytest.raises(ValueError, match="between 0 and 1"):
        FacilityDemand(clock(terms), {}, 1.5)
    with pytest.raises(ValueError, match="0 or more"):
        FacilityDemand(clock(terms), {date(2026, 3, 2): -1.0}, 0.5)
    with pytest.raises(InputError, match="no contract for provider acme"):
        simulate_peak([], "acme", [], *_MARCH_2_13, fee_per_order=FEE)
    with pytest.raises(ValueError, match="ends"):
        simulate(terms, {}, date(2026, 3, 13), date(2026, 3, 2))
