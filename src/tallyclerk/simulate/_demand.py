"""Order volume over time: weekly and yearly seasonality with a Black Friday/Cyber Monday spike."""

from __future__ import annotations

from datetime import date, timedelta

from ._clock import day_date

# Monday first: DTC orders lean to the start of the week, dip on Friday/Saturday.
_WEEKDAY = (1.12, 1.06, 1.0, 0.98, 0.92, 0.84, 0.98)
# January to December: post-holiday lull, spring/summer plateau, holiday peak.
_MONTH = (0.82, 0.78, 0.9, 0.95, 1.0, 0.95, 0.92, 0.95, 0.98, 1.05, 1.35, 1.7)

# Placement time of day in the brand's zone (America/Chicago), weight per hour.
HOURLY = (
    1.5, 0.9, 0.6, 0.4, 0.4, 0.6, 1.2, 2.2, 3.2, 3.8, 4.2, 4.5,
    5.0, 4.8, 4.5, 4.4, 4.5, 4.8, 5.3, 6.0, 6.4, 6.0, 4.5, 2.8,
)  # fmt: skip


def _thanksgiving(year: int) -> date:
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=21)


def day_weight(day: int) -> float:
    """Relative order volume of a calendar day."""
    d = day_date(day)
    weight = _WEEKDAY[d.weekday()] * _MONTH[d.month - 1]
    thanksgiving = _thanksgiving(d.year)
    since = (d - thanksgiving).days
    if since == 1:  # Black Friday
        weight *= 3.4
    elif since == 4:  # Cyber Monday
        weight *= 3.0
    elif 0 <= since <= 5:  # Thanksgiving through Cyber Week's Tuesday
        weight *= 2.0
    elif 6 <= since <= 12:
        weight *= 1.3
    if d.month == 12 and d.day >= 21:  # after the last ground-shipping day for Christmas
        weight *= 0.55
    return weight


def daily_counts(orders: int, first_day: int, end_day: int) -> list[int]:
    """Orders per day on [first_day, end_day), summing exactly to `orders` (largest remainder)."""
    weights = [day_weight(d) for d in range(first_day, end_day)]
    total = sum(weights)
    exact = [orders * w / total for w in weights]
    counts = [int(x) for x in exact]
    short = orders - sum(counts)
    by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[:short]:
        counts[i] += 1
    return counts
