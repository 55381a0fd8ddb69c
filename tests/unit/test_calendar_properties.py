"""Property tests for business calendars and facility deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyclerk.calendar import BusinessCalendar, FacilityClock

CLOCKS = [
    FacilityClock(
        "LAX1",
        ZoneInfo("America/Los_Angeles"),
        time(14),
        BusinessCalendar("US", "CA", closed_dates=[date(2026, 12, 28)]),
    ),
    FacilityClock("JFK1", ZoneInfo("America/New_York"), time(15, 30), BusinessCalendar("US", "NY")),
    FacilityClock("LHR1", ZoneInfo("Europe/London"), time(12), BusinessCalendar("GB", "ENG")),
    # Chile changes DST at midnight, so its days can start at 01:00 or repeat 23:00.
    FacilityClock("SCL1", ZoneInfo("America/Santiago"), time(0), BusinessCalendar("CL", None)),
    FacilityClock(
        "DXB1", ZoneInfo("Asia/Dubai"), time(23, 59), BusinessCalendar(None, None, (), {4, 5})
    ),
]
ZONES = [clock.timezone for clock in CLOCKS]

PROPERTY = settings(max_examples=150, deadline=None)

clocks = st.sampled_from(CLOCKS)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)
business_day_counts = st.integers(min_value=0, max_value=30)


def dst_weekend_days() -> st.SearchStrategy[date]:
    """Days within a few days of a DST change in the zones under test."""
    changes = []
    for zone in ZONES:
        for year in (2024, 2026, 2031):
            # Noon UTC steps find each change to within a day; the +-2 day shift covers the rest.
            day = datetime(year, 1, 1, 12, tzinfo=UTC)
            while day.year == year:
                step = day + timedelta(days=1)
                if day.astimezone(zone).utcoffset() != step.astimezone(zone).utcoffset():
                    changes.append(step.astimezone(zone).date())
                day = step
    assert changes
    return st.builds(
        lambda d, shift: d + timedelta(days=shift),
        st.sampled_from(changes),
        st.integers(min_value=-2, max_value=2),
    )


DST_DAYS = dst_weekend_days()


@PROPERTY
@given(clocks, instants)
def test_due_time_never_before_release(clock: FacilityClock, released_at: datetime) -> None:
    due = clock.ship_due_at(released_at)
    assert due >= released_at
    assert due.tzinfo is clock.timezone
    assert due.utcoffset() is not None


@PROPERTY
@given(clocks, instants)
def test_due_date_is_a_business_day(clock: FacilityClock, released_at: datetime) -> None:
    due_date = clock.ship_due_date(released_at)
    assert clock.calendar.is_business_day(due_date)
    assert clock.local_date(clock.ship_due_at(released_at)) == due_date
    # Never more than one business day of slack: the due date is the release day or the next.
    released_on = clock.local_date(released_at)
    assert due_date in (released_on, clock.calendar.next_business_day(released_on))


@PROPERTY
@given(clocks, instants, business_day_counts)
def test_deadline_on_business_day_after_event(
    clock: FacilityClock, event_at: datetime, n: int
) -> None:
    deadline = clock.deadline_within_business_days(event_at, n)
    deadline_date = clock.deadline_within_business_days_date(event_at, n)
    assert deadline > event_at
    assert deadline.tzinfo is clock.timezone
    assert clock.local_date(deadline) == deadline_date
    assert clock.calendar.is_business_day(deadline_date)
    # Exactly n business days lie after the first business day, up to the deadline.
    start = clock.calendar.on_or_after(clock.local_date(event_at))
    assert len(clock.calendar.business_days(start, deadline_date)) == n + 1


@PROPERTY
@given(clocks, instants, business_day_counts)
def test_deadline_grows_with_n(clock: FacilityClock, event_at: datetime, n: int) -> None:
    assert clock.deadline_within_business_days(
        event_at, n + 1
    ) > clock.deadline_within_business_days(event_at, n)


@PROPERTY
@given(clocks, days, days, st.integers(min_value=-30, max_value=30), st.integers(0, 30))
def test_add_business_days_is_monotonic(
    clock: FacilityClock, d1: date, d2: date, n: int, extra: int
) -> None:
    cal = clock.calendar
    early, late = sorted((d1, d2))
    assert cal.add_business_days(early, n) <= cal.add_business_days(late, n)
    assert cal.add_business_days(early, n) <= cal.add_business_days(early, n + extra)
    if n != 0:
        assert cal.is_business_day(cal.add_business_days(early, n))
    if n > 0:
        assert cal.add_business_days(early, n) > early
        assert cal.add_business_days(early, n) == cal.add_business_days(
            cal.next_business_day(early), n - 1
        )


@PROPERTY
@given(clocks, days)
def test_day_helpers_agree(clock: FacilityClock, d: date) -> None:
    cal = clock.calendar
    after = cal.next_business_day(d)
    assert after > d
    assert cal.business_days(d + timedelta(days=1), after) == [after]
    assert cal.on_or_after(d) == (d if cal.is_business_day(d) else after)
    assert cal.add_business_days(after, -1) == cal.previous_business_day(after) <= d


@PROPERTY
@given(clocks, days)
def test_is_business_day_matches_holidays_package(clock: FacilityClock, d: date) -> None:
    cal = clock.calendar
    names = (
        holidays.country_holidays(cal.country, subdiv=cal.subdivision, years=d.year)
        if cal.country is not None
        else {}
    )
    expected = d.weekday() not in cal.weekend and d not in names and d not in cal.closed_dates
    assert cal.is_business_day(d) == expected
    assert (cal.holiday_name(d) is not None) == (d in names)


@PROPERTY
@given(clocks, DST_DAYS)
def test_end_of_day_is_last_instant_of_local_day(clock: FacilityClock, d: date) -> None:
    end = clock.end_of_day(d)
    assert end.tzinfo is clock.timezone
    assert clock.local_date(end) == d
    assert clock.local_date(end + timedelta(microseconds=1)) == d + timedelta(days=1)
    previous = clock.end_of_day(d - timedelta(days=1)).astimezone(UTC)
    length = end.astimezone(UTC) - previous
    assert timedelta(hours=23) <= length <= timedelta(hours=25)


@PROPERTY
@given(clocks, st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_localize_shifts_only_forward(clock: FacilityClock, naive: datetime) -> None:
    local = clock.localize(naive)
    assert local.tzinfo is clock.timezone
    wall = local.replace(tzinfo=None, fold=0)
    # Existing times are kept; a time in a DST gap moves forward by at most the gap.
    assert naive.replace(fold=0) <= wall <= naive.replace(fold=0) + timedelta(hours=1)
    assert clock.localize(wall) == local
