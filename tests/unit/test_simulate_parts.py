"""Building blocks of the simulator: clock, business calendars, CSV writer, volume curve."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest

from tallyclerk.simulate._calendars import BusinessCalendar
from tallyclerk.simulate._clock import Clock, day_date, day_index
from tallyclerk.simulate._demand import daily_counts
from tallyclerk.simulate._draw import Draw
from tallyclerk.simulate._engine import add_months
from tallyclerk.simulate._network import all_zones
from tallyclerk.simulate._writer import TableWriter

FIRST = day_index(date(2025, 12, 1))
LAST = day_index(date(2027, 3, 31))


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(all_zones(), FIRST, LAST)


def test_clock_text_matches_zoneinfo(clock: Clock) -> None:
    rng = random.Random(1)
    low = int(datetime(2025, 12, 2, tzinfo=UTC).timestamp())
    high = int(datetime(2027, 3, 30, tzinfo=UTC).timestamp())
    for zone, name in enumerate(clock.zone_names):
        tz = ZoneInfo(name)
        for _ in range(3000):
            ts = rng.randrange(low, high)
            expected = datetime.fromtimestamp(ts, tz)
            assert clock.text(zone, ts) == expected.isoformat()
            offset = expected.utcoffset()
            assert offset is not None
            assert clock.local(zone, ts) == ts + int(offset.total_seconds())


def test_clock_local_times_round_trip(clock: Clock) -> None:
    chicago = clock.zone("America/Chicago")
    tz = ZoneInfo("America/Chicago")
    # includes both DST change days of 2026
    for d in (date(2026, 3, 8), date(2026, 7, 1), date(2026, 11, 1), date(2026, 12, 31)):
        day = day_index(d)
        midnight = clock.midnight(chicago, day)
        assert datetime.fromtimestamp(midnight, tz) == datetime(d.year, d.month, d.day, tzinfo=tz)
        for hour in (3, 9, 14, 23):
            ts = clock.at(chicago, day, hour * 3600 + 61)
            local = datetime.fromtimestamp(ts, tz)
            assert (local.date(), local.hour, local.minute, local.second) == (d, hour, 1, 1)
    assert clock.date_text(day_index(date(2026, 2, 3))) == "2026-02-03"
    assert clock.month_text(day_index(date(2026, 2, 3))) == "2026-02"


@pytest.mark.parametrize(("country", "subdivision"), [("US", "CA"), ("US", "NJ"), ("US", "TX")])
def test_business_days_are_weekdays_without_holidays_or_closed_dates(
    country: str, subdivision: str
) -> None:
    closed = [date(2026, 12, 24), date(2026, 12, 26)]
    calendar = BusinessCalendar(FIRST, LAST, country, subdivision, closed)
    public = holidays.country_holidays(country, subdiv=subdivision, years=range(2025, 2028))
    for day in range(FIRST, LAST + 1):
        d = day_date(day)
        expected = d.weekday() < 5 and d not in public and d not in closed
        assert calendar.business(day) == expected, d


def test_business_day_arithmetic() -> None:
    calendar = BusinessCalendar(FIRST, LAST, "US", "NJ")
    friday = day_index(date(2026, 3, 6))
    saturday = friday + 1
    monday = friday + 3
    assert calendar.after(friday) == monday
    assert calendar.on_or_after(saturday) == monday
    assert calendar.on_or_after(friday) == friday
    assert calendar.add(friday, 1) == monday
    assert calendar.add(saturday, 1) == monday
    assert calendar.add(friday, 3) == monday + 2
    # "within 2 business days" of an event on a Saturday: Monday is day 0, deadline Wednesday
    assert calendar.within(saturday, 2) == monday + 2
    assert calendar.within(friday, 0) == friday
    # Thanksgiving 2026 (Thursday) is a holiday in NJ; Friday is not
    thanksgiving = day_index(date(2026, 11, 26))
    assert not calendar.business(thanksgiving)
    assert calendar.after(thanksgiving - 1) == thanksgiving + 1


def _csv_text(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "rows",
    [
        [("a", "1", ""), ("b", "2", "x")],
        [("a", "Ontario, CA", "x"), ("b", "2", "")],
        [("a", 'say "hi"', "x")],
        [("a", "two\nlines", "x"), ("b", "", "")],
    ],
)
def test_table_writer_output_equals_csv_writer(tmp_path: Path, rows: list[tuple[str, ...]]) -> None:
    header = ("k", "v", "w")
    path = tmp_path / "t.csv"
    writer = TableWriter(path, header)
    for row in rows:
        writer.append(row)
    writer.flush()
    writer.append(("z", "9", "9"))
    writer.close()
    assert writer.count == len(rows) + 1
    assert path.read_text(encoding="utf-8") == _csv_text([*rows, ("z", "9", "9")], header)


def test_daily_counts_sum_exactly_and_follow_the_seasons() -> None:
    start = day_index(date(2026, 1, 1))
    end = day_index(date(2027, 1, 1))
    for orders in (0, 1, 17, 50_000):
        counts = daily_counts(orders, start, end)
        assert len(counts) == 365
        assert sum(counts) == orders
        assert min(counts) >= 0
    counts = daily_counts(1_000_000, start, end)
    black_friday = counts[day_index(date(2026, 11, 27)) - start]
    assert black_friday > 3 * counts[day_index(date(2026, 11, 6)) - start]
    assert counts[day_index(date(2026, 3, 2)) - start] > counts[day_index(date(2026, 3, 7)) - start]


def test_draw_stays_in_bounds() -> None:
    rng = Draw(3)
    cum = (0.0, 1.0, 1.0)
    assert {rng.pick(cum) for _ in range(1000)} == {1}
    values = {rng.between(5, 8) for _ in range(1000)}
    assert values == {5, 6, 7}
    assert {rng.one("ab") for _ in range(100)} == {"a", "b"}


def test_add_months() -> None:
    assert add_months(date(2026, 1, 1), 12) == date(2027, 1, 1)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 2) == date(2027, 1, 15)
    assert add_months(date(2026, 12, 1), 1) - timedelta(days=1) == date(2026, 12, 31)
