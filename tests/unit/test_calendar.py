"""Worked examples for business calendars, cutoffs and deadlines (DESIGN sections 3 and 6)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tallyclerk.calendar import (
    DEFAULT_RULE,
    SHIP_RULES,
    BusinessCalendar,
    FacilityClock,
    parse_cutoff,
)

LA = ZoneInfo("America/Los_Angeles")
NY = ZoneInfo("America/New_York")
CA_CALENDAR = BusinessCalendar("US", "CA", closed_dates=[date(2026, 12, 26), date(2026, 12, 28)])
LAX1 = FacilityClock("LAX1", LA, time(14, 0), CA_CALENDAR)
JFK1 = FacilityClock("JFK1", NY, time(14, 0), BusinessCalendar("US", "NY"))


def la(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """An unambiguous Los Angeles wall time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=LA)


def la_end(d: date) -> datetime:
    """End of a Los Angeles day, as the facility should report it."""
    return datetime.combine(d, time.max, tzinfo=LA)


# --- BusinessCalendar ---------------------------------------------------------------------------


def test_weekends_and_weekdays() -> None:
    assert CA_CALENDAR.is_business_day(date(2026, 3, 6))  # Friday
    assert not CA_CALENDAR.is_business_day(date(2026, 3, 7))  # Saturday
    assert not CA_CALENDAR.is_business_day(date(2026, 3, 8))  # Sunday
    assert CA_CALENDAR.is_business_day(date(2026, 3, 9))  # Monday


def test_california_holidays_from_the_package() -> None:
    assert CA_CALENDAR.holiday_name(date(2026, 11, 26)) == "Thanksgiving Day"
    assert CA_CALENDAR.holiday_name(date(2026, 11, 27)) == "Day After Thanksgiving"
    assert CA_CALENDAR.holiday_name(date(2026, 3, 31)) == "Cesar Chavez Day"
    assert not CA_CALENDAR.is_business_day(date(2026, 11, 26))
    assert not CA_CALENDAR.is_business_day(date(2026, 11, 27))
    assert not CA_CALENDAR.is_business_day(date(2026, 3, 31))
    # Columbus Day is a federal holiday but not a California one.
    assert CA_CALENDAR.holiday_name(date(2026, 10, 12)) is None
    assert CA_CALENDAR.is_business_day(date(2026, 10, 12))


def test_observed_holidays_count() -> None:
    # 4 July 2026 is a Saturday; the holiday is observed on Friday 3 July.
    assert CA_CALENDAR.holiday_name(date(2026, 7, 3)) == "Independence Day (observed)"
    assert not CA_CALENDAR.is_business_day(date(2026, 7, 3))
    # 1 January 2022 was a Saturday, observed on Friday 31 December 2021.
    assert not CA_CALENDAR.is_business_day(date(2021, 12, 31))


def test_closed_dates_are_not_business_days_nor_holidays() -> None:
    assert not CA_CALENDAR.is_business_day(date(2026, 12, 28))  # a Monday, closed by contract
    assert CA_CALENDAR.holiday_name(date(2026, 12, 28)) is None
    assert CA_CALENDAR.closed_dates == frozenset({date(2026, 12, 26), date(2026, 12, 28)})


def test_no_country_means_weekends_only() -> None:
    plain = BusinessCalendar(None, None)
    assert plain.is_business_day(date(2026, 12, 25))
    assert plain.holiday_name(date(2026, 12, 25)) is None
    assert not plain.is_business_day(date(2026, 12, 26))


def test_custom_weekend() -> None:
    friday_saturday = BusinessCalendar(None, None, weekend=frozenset({4, 5}))
    assert not friday_saturday.is_business_day(date(2026, 3, 6))  # Friday
    assert friday_saturday.is_business_day(date(2026, 3, 8))  # Sunday


def test_next_business_day_and_on_or_after() -> None:
    assert CA_CALENDAR.next_business_day(date(2026, 3, 6)) == date(2026, 3, 9)
    assert CA_CALENDAR.next_business_day(date(2026, 3, 9)) == date(2026, 3, 10)
    assert CA_CALENDAR.next_business_day(date(2026, 11, 25)) == date(2026, 11, 30)
    assert CA_CALENDAR.on_or_after(date(2026, 3, 9)) == date(2026, 3, 9)
    assert CA_CALENDAR.on_or_after(date(2026, 3, 7)) == date(2026, 3, 9)
    assert CA_CALENDAR.previous_business_day(date(2026, 3, 9)) == date(2026, 3, 6)


def test_add_business_days() -> None:
    assert CA_CALENDAR.add_business_days(date(2026, 3, 7), 0) == date(2026, 3, 7)
    assert CA_CALENDAR.add_business_days(date(2026, 3, 6), 1) == date(2026, 3, 9)
    assert CA_CALENDAR.add_business_days(date(2026, 3, 6), 5) == date(2026, 3, 13)
    # Christmas Friday, a weekend, then the contract's closed Monday.
    assert CA_CALENDAR.add_business_days(date(2026, 12, 24), 1) == date(2026, 12, 29)
    assert CA_CALENDAR.add_business_days(date(2026, 3, 9), -1) == date(2026, 3, 6)


def test_business_days_inclusive_range() -> None:
    assert CA_CALENDAR.business_days(date(2026, 11, 23), date(2026, 11, 30)) == [
        date(2026, 11, 23),
        date(2026, 11, 24),
        date(2026, 11, 25),
        date(2026, 11, 30),
    ]
    assert CA_CALENDAR.business_days(date(2026, 3, 9), date(2026, 3, 9)) == [date(2026, 3, 9)]
    assert CA_CALENDAR.business_days(date(2026, 3, 9), date(2026, 3, 8)) == []


def test_calendar_is_frozen_hashable_and_compared_by_value() -> None:
    again = BusinessCalendar("US", "CA", closed_dates=(date(2026, 12, 28), date(2026, 12, 26)))
    again.is_business_day(date(2030, 1, 1))  # a warm cache must not affect equality
    assert again == CA_CALENDAR
    assert hash(again) == hash(CA_CALENDAR)
    assert BusinessCalendar("US", "NY") != BusinessCalendar("US", "CA")
    with pytest.raises(dataclasses.FrozenInstanceError):
        again.country = "GB"  # type: ignore[misc]


def test_unknown_country() -> None:
    with pytest.raises(ValueError, match="unknown country 'XX'"):
        BusinessCalendar("XX", None)


def test_unknown_subdivision() -> None:
    with pytest.raises(ValueError, match="unknown subdivision 'ZZ' for country 'US'"):
        BusinessCalendar("US", "ZZ")


def test_subdivision_without_country() -> None:
    with pytest.raises(ValueError, match="subdivision 'CA' given without a country"):
        BusinessCalendar(None, "CA")


@pytest.mark.parametrize("weekend", [frozenset({7}), frozenset({-1}), frozenset(range(7))])
def test_bad_weekend(weekend: frozenset[int]) -> None:
    with pytest.raises(ValueError, match="weekend"):
        BusinessCalendar(None, None, weekend=weekend)


def test_closed_dates_must_be_dates() -> None:
    with pytest.raises(TypeError, match="closed date"):
        BusinessCalendar(None, None, closed_dates=[datetime(2026, 12, 28)])


def test_datetime_is_not_a_date_for_lookups() -> None:
    with pytest.raises(TypeError, match="expected a date"):
        BusinessCalendar(None, None).is_business_day(datetime(2031, 1, 1))


# --- ship-by rule: same_day_before_cutoff -------------------------------------------------------


def test_rule_constants() -> None:
    assert DEFAULT_RULE == "same_day_before_cutoff"
    assert DEFAULT_RULE in SHIP_RULES


def test_before_cutoff_ships_same_day() -> None:
    released = la(2026, 3, 6, 13, 59)  # Friday
    assert LAX1.ship_due_date(released) == date(2026, 3, 6)
    assert LAX1.ship_due_at(released) == la_end(date(2026, 3, 6))


@pytest.mark.parametrize("released", [la(2026, 3, 6, 14, 0), la(2026, 3, 6, 23, 59, 59)])
def test_at_or_after_cutoff_ships_next_business_day(released: datetime) -> None:
    # The following Sunday is the DST start; Monday's end is in PDT.
    due = LAX1.ship_due_at(released)
    assert due == la_end(date(2026, 3, 9))
    assert due.utcoffset() == timedelta(hours=-7)


@pytest.mark.parametrize("hour", [8, 13, 15])
def test_weekend_release_ships_monday(hour: int) -> None:
    assert LAX1.ship_due_date(la(2026, 3, 7, hour)) == date(2026, 3, 9)  # Saturday


def test_thanksgiving_week_in_california() -> None:
    assert LAX1.ship_due_date(la(2026, 11, 25, 13, 0)) == date(2026, 11, 25)
    # Thursday and Friday are both California holidays, then the weekend.
    assert LAX1.ship_due_date(la(2026, 11, 25, 14, 0)) == date(2026, 11, 30)
    assert LAX1.ship_due_date(la(2026, 11, 26, 9, 0)) == date(2026, 11, 30)
    assert LAX1.ship_due_date(la(2026, 11, 27, 9, 0)) == date(2026, 11, 30)


def test_thanksgiving_week_in_new_york() -> None:
    # The day after Thanksgiving is not a New York holiday in the package.
    assert JFK1.ship_due_date(datetime(2026, 11, 25, 14, 0, tzinfo=NY)) == date(2026, 11, 27)
    assert JFK1.ship_due_date(datetime(2026, 11, 26, 9, 0, tzinfo=NY)) == date(2026, 11, 27)


def test_contract_closed_date() -> None:
    # Friday Christmas, weekend (Saturday also closed by contract), closed Monday: Tuesday.
    assert LAX1.ship_due_date(la(2026, 12, 24, 15, 0)) == date(2026, 12, 29)


def test_release_given_in_utc_is_judged_on_local_time() -> None:
    # 21:59Z is 13:59 PST, before the cutoff; 22:00Z is 14:00 PST.
    assert LAX1.ship_due_date(datetime(2026, 3, 6, 21, 59, tzinfo=UTC)) == date(2026, 3, 6)
    assert LAX1.ship_due_date(datetime(2026, 3, 6, 22, 0, tzinfo=UTC)) == date(2026, 3, 9)
    # 03:00Z on Saturday is still Friday evening in Los Angeles.
    released = datetime(2026, 3, 7, 3, 0, tzinfo=UTC)
    assert LAX1.local_date(released) == date(2026, 3, 6)
    assert LAX1.ship_due_date(released) == date(2026, 3, 9)


def test_new_york_facility() -> None:
    released = datetime(2026, 3, 6, 13, 59, tzinfo=NY)
    due = JFK1.ship_due_at(released)
    assert due == datetime(2026, 3, 6, 23, 59, 59, 999999, tzinfo=NY)
    assert due.utcoffset() == timedelta(hours=-5)
    assert due.astimezone(UTC) == datetime(2026, 3, 7, 4, 59, 59, 999999, tzinfo=UTC)
    # The same instant is 10:59 in Los Angeles, before that facility's cutoff too.
    assert LAX1.ship_due_date(released) == date(2026, 3, 6)
    assert JFK1.ship_due_date(datetime(2026, 3, 6, 14, 0, tzinfo=NY)) == date(2026, 3, 9)


def test_release_on_dst_start_day() -> None:
    # Sunday 2026-03-08: 02:00 PST jumps to 03:00 PDT; a Sunday release ships Monday.
    released = LAX1.localize(datetime(2026, 3, 8, 2, 30))
    assert released == la(2026, 3, 8, 3, 30)
    assert released.utcoffset() == timedelta(hours=-7)
    due = LAX1.ship_due_at(released)
    assert due == la_end(date(2026, 3, 9))
    assert due.astimezone(UTC) == datetime(2026, 3, 10, 6, 59, 59, 999999, tzinfo=UTC)


def test_release_on_dst_end_day() -> None:
    # Sunday 2026-11-01: 02:00 PDT falls back to 01:00 PST; both 01:30s are on Sunday.
    first = LAX1.localize(datetime(2026, 11, 1, 1, 30))
    second = first.replace(fold=1)
    assert first.utcoffset() == timedelta(hours=-7)
    assert second.utcoffset() == timedelta(hours=-8)
    for released in (first, second):
        assert LAX1.local_date(released) == date(2026, 11, 1)
        assert LAX1.ship_due_at(released) == la_end(date(2026, 11, 2))


def test_end_of_day_on_dst_days() -> None:
    start = LAX1.end_of_day(date(2026, 3, 7))
    end = LAX1.end_of_day(date(2026, 3, 8))
    # Python subtracts datetimes sharing a tzinfo on the wall clock, so compare in UTC.
    assert end - start == timedelta(hours=24)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    fall_start = LAX1.end_of_day(date(2026, 10, 31)).astimezone(UTC)
    fall_end = LAX1.end_of_day(date(2026, 11, 1)).astimezone(UTC)
    assert fall_end - fall_start == timedelta(hours=25)


def test_end_of_day_when_dst_ends_at_midnight() -> None:
    # Chile falls back at 24:00 on Saturday 2026-04-04: 23:00-24:00 happens twice.
    santiago = ZoneInfo("America/Santiago")
    clock = FacilityClock("SCL1", santiago, time(14), BusinessCalendar("CL", None))
    end = clock.end_of_day(date(2026, 4, 4))
    assert end.time() == time.max
    assert end.fold == 1
    assert (end + timedelta(microseconds=1)).astimezone(santiago).date() == date(2026, 4, 5)


def test_end_of_day_when_dst_skips_midnight() -> None:
    # Cuba springs forward at 00:00 on Sunday 2026-03-08: that day starts at 01:00.
    havana = ZoneInfo("America/Havana")
    clock = FacilityClock("HAV1", havana, time(14), BusinessCalendar(None, None))
    end = clock.end_of_day(date(2026, 3, 7))
    assert end.astimezone(UTC) == datetime(2026, 3, 8, 4, 59, 59, 999999, tzinfo=UTC)
    assert clock.local_date(end) == date(2026, 3, 7)


# --- within N business days -------------------------------------------------------------------


def test_deadline_within_business_days() -> None:
    arrived = la(2026, 3, 6, 17, 0)  # Friday, after the cutoff: cutoffs play no part here
    assert LAX1.deadline_within_business_days_date(arrived, 2) == date(2026, 3, 10)
    assert LAX1.deadline_within_business_days(arrived, 2) == la_end(date(2026, 3, 10))
    assert LAX1.deadline_within_business_days_date(arrived, 0) == date(2026, 3, 6)


def test_deadline_counts_from_next_business_day_after_day_off() -> None:
    arrived = la(2026, 3, 7, 9, 0)  # Saturday: the count starts on Monday
    assert LAX1.deadline_within_business_days_date(arrived, 0) == date(2026, 3, 9)
    assert LAX1.deadline_within_business_days_date(arrived, 2) == date(2026, 3, 11)


def test_deadline_over_thanksgiving() -> None:
    arrived = la(2026, 11, 25, 10, 0)
    assert LAX1.deadline_within_business_days_date(arrived, 2) == date(2026, 12, 1)
    assert LAX1.deadline_within_business_days_date(arrived, 5) == date(2026, 12, 4)


def test_negative_business_days_rejected() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        LAX1.deadline_within_business_days(la(2026, 3, 6, 9), -1)


# --- naive timestamps, localize -----------------------------------------------------------------


def test_naive_timestamps_rejected() -> None:
    naive = datetime(2026, 3, 6, 13, 0)
    with pytest.raises(ValueError, match="time-zone aware"):
        LAX1.local_date(naive)
    with pytest.raises(ValueError, match="released_at must be time-zone aware"):
        LAX1.ship_due_at(naive)
    with pytest.raises(ValueError, match="event_at must be time-zone aware"):
        LAX1.deadline_within_business_days(naive, 2)


def test_localize() -> None:
    assert LAX1.localize(datetime(2026, 7, 1, 9, 0)) == la(2026, 7, 1, 9, 0)
    assert LAX1.localize(datetime(2026, 7, 1, 9, 0)).tzinfo is LA
    # The input's fold is ignored: repeated times always take the first occurrence.
    again = LAX1.localize(datetime(2026, 11, 1, 1, 30, fold=1))
    assert again.utcoffset() == timedelta(hours=-7)
    with pytest.raises(ValueError, match="naive"):
        LAX1.localize(la(2026, 7, 1, 9, 0))


# --- construction -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("14:00", time(14)), ("00:00", time(0)), ("23:59", time(23, 59)), (" 09:30 ", time(9, 30))],
)
def test_parse_cutoff(text: str, expected: time) -> None:
    assert parse_cutoff(text) == expected


@pytest.mark.parametrize("text", ["24:00", "9:00", "14:60", "14:00:00", "2pm", "", "14.00"])
def test_parse_cutoff_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_cutoff(text)


def test_parse_cutoff_rejects_yaml_sexagesimal() -> None:
    with pytest.raises(ValueError, match="840"):
        parse_cutoff(840)  # type: ignore[arg-type]


def test_from_config() -> None:
    clock = FacilityClock.from_config(
        "LAX1", "America/Los_Angeles", "14:00", "US", "CA", [date(2026, 12, 26), date(2026, 12, 28)]
    )
    assert clock == LAX1
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        FacilityClock.from_config("X", "Mars/Olympus", "14:00")
    with pytest.raises(ValueError, match="unknown time zone 'America'"):
        FacilityClock.from_config("X", "America", "14:00")
    with pytest.raises(ValueError, match="unknown country 'XX'"):
        FacilityClock.from_config("X", "UTC", "14:00", "XX")


def test_clock_rejects_aware_cutoff() -> None:
    with pytest.raises(ValueError, match="naive local time"):
        FacilityClock("X", LA, time(14, tzinfo=UTC), CA_CALENDAR)
