"""Business calendars: weekends, public holidays and contract closed dates."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import holidays

_ONE_DAY = timedelta(days=1)
_DEFAULT_WEEKEND: frozenset[int] = frozenset({5, 6})


def _load_holidays(country: str | None, subdivision: str | None, year: int) -> dict[date, str]:
    """Return the public holidays of one year, so each year is asked of `holidays` only once."""
    if country is None:
        return {}
    # Neighbouring years are populated too: a holiday observed on another day (New Year's Day
    # falling on a Saturday is observed on Friday 31 December) may be filed under either year.
    table = holidays.country_holidays(country, subdiv=subdivision, years=(year - 1, year, year + 1))
    return {day: str(name) for day, name in table.items() if day.year == year}


def _check_region(country: str | None, subdivision: str | None) -> None:
    """Raise a ValueError naming the country or subdivision that `holidays` does not know."""
    if country is None:
        if subdivision is not None:
            raise ValueError(f"subdivision {subdivision!r} given without a country")
        return
    try:
        holidays.country_holidays(country)
    except NotImplementedError:
        raise ValueError(f"unknown country {country!r}") from None
    if subdivision is None:
        return
    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        raise ValueError(f"unknown subdivision {subdivision!r} for country {country!r}") from None


@dataclasses.dataclass(frozen=True, init=False)
class BusinessCalendar:
    """The days a facility works: not a weekend day, not a public holiday, not a closed date.

    Public holidays come from the `holidays` package (its default "public" category, observed
    days included) for `country` and `subdivision`; with no country there are none. Lookups are
    cached per year, so after the first call for a year a check is a single dict lookup.
    """

    country: str | None
    subdivision: str | None
    closed_dates: frozenset[date]
    weekend: frozenset[int]
    _open: dict[date, bool] = dataclasses.field(repr=False, compare=False, hash=False)
    _names: dict[int, dict[date, str]] = dataclasses.field(repr=False, compare=False, hash=False)

    def __init__(
        self,
        country: str | None = None,
        subdivision: str | None = None,
        closed_dates: Iterable[date] = (),
        weekend: Iterable[int] = _DEFAULT_WEEKEND,
    ) -> None:
        """Build a calendar, failing early on an unknown region, weekday or closed date."""
        _check_region(country, subdivision)
        closed = frozenset(closed_dates)
        for day in closed:
            # A datetime is a date too, but it would never equal the dates looked up later.
            if not isinstance(day, date) or isinstance(day, datetime):
                raise TypeError(f"closed date must be a date, got {day!r}")
        days = frozenset(weekend)
        for weekday in days:
            if not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise ValueError(f"weekend day must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
        if len(days) == 7:
            raise ValueError("weekend cannot hold every day of the week")
        object.__setattr__(self, "country", country)
        object.__setattr__(self, "subdivision", subdivision)
        object.__setattr__(self, "closed_dates", closed)
        object.__setattr__(self, "weekend", days)
        object.__setattr__(self, "_open", {})
        object.__setattr__(self, "_names", {})

    def _year_names(self, year: int) -> dict[date, str]:
        """Return the cached public holidays of `year`."""
        names = self._names.get(year)
        if names is None:
            names = _load_holidays(self.country, self.subdivision, year)
            self._names[year] = names
        return names

    def _fill_year(self, d: date) -> bool:
        """Cache whether each day of d's year is open, then answer for d."""
        if not isinstance(d, date) or isinstance(d, datetime):
            raise TypeError(f"expected a date, got {d!r}")
        names = self._year_names(d.year)
        day = date(d.year, 1, 1)
        while day.year == d.year:
            self._open[day] = (
                day.weekday() not in self.weekend
                and day not in names
                and day not in self.closed_dates
            )
            if day == date.max:
                break
            day += _ONE_DAY
        return self._open[d]

    def is_business_day(self, d: date) -> bool:
        """Tell whether the facility works on d, the basis of every deadline."""
        is_open = self._open.get(d)
        if is_open is None:
            is_open = self._fill_year(d)
        return is_open

    def holiday_name(self, d: date) -> str | None:
        """Name the public holiday on d (None if there is none), to explain a day off."""
        return self._year_names(d.year).get(d)

    def next_business_day(self, d: date) -> date:
        """Return the first business day strictly after d, where late work rolls over to."""
        d += _ONE_DAY
        while not self.is_business_day(d):
            d += _ONE_DAY
        return d

    def previous_business_day(self, d: date) -> date:
        """Return the last business day strictly before d, for look-backs."""
        d -= _ONE_DAY
        while not self.is_business_day(d):
            d -= _ONE_DAY
        return d

    def on_or_after(self, d: date) -> date:
        """Return d if it is a business day, else the next one: when a clock starts ticking."""
        while not self.is_business_day(d):
            d += _ONE_DAY
        return d

    def add_business_days(self, d: date, n: int) -> date:
        """Return the n-th business day after d (before it if n < 0; d itself if n == 0)."""
        step = _ONE_DAY if n >= 0 else -_ONE_DAY
        for _ in range(abs(n)):
            d += step
            while not self.is_business_day(d):
                d += step
        return d

    def business_days(self, start: date, end: date) -> list[date]:
        """List the business days from start to end, both included, e.g. to count capacity."""
        days: list[date] = []
        d = start
        while d <= end:
            if self.is_business_day(d):
                days.append(d)
            if d == date.max:
                break
            d += _ONE_DAY
        return days
