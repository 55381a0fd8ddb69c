"""Retail calendar features: the yearly cycle and the days around the holiday peak.

Every feature is a function of the date alone, so its future values are known and can be
given for the forecast horizon. The columns:

- `year_sin1`, `year_cos1`, ... : Fourier terms of the year (period 365.25 days, counted from
  1970-01-01 so every series shares the same phase), a few harmonics for the smooth rise to
  the holidays and the January lull;
- retail-peak indicators, which together cover November 1 to December 31: the run-up in
  November, US Thanksgiving itself, Black Friday, the weekend after it, Cyber Monday, the
  week after Cyber Monday, the December rush up to the last ground-shipping day for
  Christmas, and the days after it (December 21 to 31), when orders fall off;
- `public_holiday`: the public holidays of a country (from the `holidays` package), except
  those from Thanksgiving to Cyber Week, which have their own columns.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
import numpy as np

from tallyclerk.errors import InputError
from tallyclerk.forecast._types import FloatArray

HARMONICS = 3
YEAR_DAYS = 365.25
LAST_SHIPPING_DAY = 21  # December: from this day on, Christmas orders stop
PEAK_COLUMNS = (
    "november",
    "thanksgiving",
    "black_friday",
    "peak_weekend",
    "cyber_monday",
    "cyber_week",
    "december_rush",
    "late_december",
)
# Thanksgiving to Cyber Week: a public holiday on these days is left to its own column.
_EVENT_COLUMNS = frozenset(range(1, 6))
_EPOCH = date(1970, 1, 1).toordinal()


def thanksgiving(year: int) -> date:
    """US Thanksgiving: the fourth Thursday of November."""
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


def peak_span(year: int) -> tuple[date, date]:
    """The November-December peak of a year: November 1 to December 31."""
    return date(year, 11, 1), date(year, 12, 31)


def peak_years(start: date, days: int) -> list[int]:
    """The years whose whole peak span lies within `days` days from `start`."""
    if days <= 0:
        return []
    end = start + timedelta(days=days - 1)
    years = []
    for year in range(start.year, end.year + 1):
        first, last = peak_span(year)
        if start <= first and last <= end:
            years.append(year)
    return years


@lru_cache(maxsize=64)
def _public_holidays(country: str, first_year: int, last_year: int) -> frozenset[date]:
    try:
        table = holidays.country_holidays(country, years=range(first_year, last_year + 1))
    except NotImplementedError as error:
        raise InputError(
            f"Unknown country code {country!r} for public holidays: use an ISO code such as "
            "'US', 'GB' or 'DE', or no country."
        ) from error
    return frozenset(table.keys())


def check_country(country: str | None) -> None:
    """Raise InputError when the `holidays` package does not know the country code."""
    if country is not None:
        _public_holidays(country, 2000, 2000)


def feature_names(country: str | None, harmonics: int = HARMONICS) -> list[str]:
    """The column names `calendar_features` returns, in order."""
    names = []
    for k in range(1, harmonics + 1):
        names += [f"year_sin{k}", f"year_cos{k}"]
    names += list(PEAK_COLUMNS)
    if country is not None:
        names.append("public_holiday")
    return names


def calendar_features(
    start: date, days: int, *, country: str | None, harmonics: int = HARMONICS
) -> FloatArray:
    """The features of `days` consecutive days from `start`, one row a day (float64).

    Columns as `feature_names(country, harmonics)`.
    """
    n = max(days, 0)
    columns: list[FloatArray] = []
    ordinal = np.arange(n, dtype=np.float64) + (start.toordinal() - _EPOCH)
    for k in range(1, harmonics + 1):
        angle = 2.0 * np.pi * k * ordinal / YEAR_DAYS
        columns += [np.sin(angle), np.cos(angle)]

    peak = np.zeros((n, len(PEAK_COLUMNS)), dtype=np.float64)
    marked: set[date] = set()
    end = start + timedelta(days=n - 1)
    for year in range(start.year, end.year + 1):
        day0 = thanksgiving(year)
        spans = (
            (0, date(year, 11, 1), day0.day - 1),  # the run-up, to Thanksgiving's eve
            (1, day0, 1),  # Thanksgiving
            (2, day0 + timedelta(days=1), 1),  # Black Friday
            (3, day0 + timedelta(days=2), 2),  # Saturday and Sunday
            (4, day0 + timedelta(days=4), 1),  # Cyber Monday
            (5, day0 + timedelta(days=5), 7),  # Tuesday to the next Monday
            (6, day0 + timedelta(days=12), (date(year, 12, LAST_SHIPPING_DAY) - day0).days - 12),
            (7, date(year, 12, LAST_SHIPPING_DAY), 32 - LAST_SHIPPING_DAY),
        )
        for column, first, length in spans:
            for offset in range(length):
                day = first + timedelta(days=offset)
                if column in _EVENT_COLUMNS:
                    marked.add(day)
                index = (day - start).days
                if 0 <= index < n:
                    peak[index, column] = 1.0
    columns += [peak[:, j] for j in range(len(PEAK_COLUMNS))]

    if country is not None:
        table = _public_holidays(country, start.year, end.year if n else start.year)
        flags = np.zeros(n, dtype=np.float64)
        for day in table:
            index = (day - start).days
            if 0 <= index < n and day not in marked:
                flags[index] = 1.0
        columns.append(flags)
    if not columns:
        return np.zeros((n, 0), dtype=np.float64)
    return np.column_stack(columns).astype(np.float64, copy=False).reshape(n, len(columns))
