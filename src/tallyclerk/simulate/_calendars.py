"""Business-day calendars per facility and for carriers, precomputed over the simulated range."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import holidays

from ._clock import day_date, day_index


class BusinessCalendar:
    """Weekends, public holidays of a country/subdivision and contract closed dates."""

    __slots__ = ("_days", "_next_on_or_after", "_rank", "first_day", "is_business", "last_day")

    def __init__(
        self,
        first_day: int,
        last_day: int,
        country: str,
        subdivision: str | None,
        closed: Iterable[date] = (),
    ) -> None:
        self.first_day = first_day
        self.last_day = last_day
        years = range(day_date(first_day).year, day_date(last_day).year + 1)
        public = holidays.country_holidays(country, subdiv=subdivision, years=years)
        closed_days = {day_index(d) for d in closed} | {day_index(d) for d in public}
        span = last_day - first_day + 1
        self.is_business = bytearray(span)
        self._days: list[int] = []
        self._rank: list[int] = [0] * span
        for offset in range(span):
            day = first_day + offset
            # Day index 0 (1970-01-01) was a Thursday: weekday = (day + 3) % 7, Monday = 0.
            if (day + 3) % 7 < 5 and day not in closed_days:
                self.is_business[offset] = 1
                self._days.append(day)
            self._rank[offset] = len(self._days)
        self._next_on_or_after = [0] * span
        following = last_day + 1
        for offset in range(span - 1, -1, -1):
            if self.is_business[offset]:
                following = first_day + offset
            self._next_on_or_after[offset] = following

    def business(self, day: int) -> bool:
        """Whether a day index is a business day."""
        return bool(self.is_business[day - self.first_day])

    def on_or_after(self, day: int) -> int:
        """The first business day on or after a day."""
        return self._next_on_or_after[day - self.first_day]

    def after(self, day: int) -> int:
        """The first business day strictly after a day."""
        return self._next_on_or_after[day + 1 - self.first_day]

    def add(self, day: int, n: int) -> int:
        """The n-th business day after a day (n >= 1); the day itself need not be one."""
        # _rank counts business days up to and including the day.
        return self._days[self._rank[day - self.first_day] + n - 1]

    def within(self, day: int, n: int) -> int:
        """Deadline day of "within n business days" of an event on a day (DESIGN section 3)."""
        first = self.on_or_after(day)
        return first if n == 0 else self.add(first, n)
