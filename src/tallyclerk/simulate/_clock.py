"""Wall clocks: UTC seconds to facility-local ISO 8601 strings, fast enough for millions of rows."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DAY = 86_400


def day_index(d: date) -> int:
    """Days since 1970-01-01, the simulator's integer date."""
    return d.toordinal() - EPOCH_ORDINAL


def day_date(day: int) -> date:
    """The calendar date of a day index."""
    return date.fromordinal(day + EPOCH_ORDINAL)


def _offset_string(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    minutes = abs(seconds) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


class _Zone:
    """UTC offset transitions of one time zone over the simulated range."""

    __slots__ = ("local_midnight", "noon_offset", "offset_text", "offsets", "transitions")

    def __init__(self, name: str, first_day: int, last_day: int) -> None:
        tz = ZoneInfo(name)
        self.transitions: list[int] = []
        self.offsets: list[int] = []
        self.noon_offset: list[int] = []
        self.local_midnight: list[int] = []
        self.offset_text: dict[int, str] = {}
        previous: int | None = None
        # Hourly sampling finds every transition: zones change offset at most once an hour.
        start = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=first_day - 1)
        for hour in range((last_day - first_day + 3) * 24):
            moment = start + timedelta(hours=hour)
            offset = int(moment.astimezone(tz).utcoffset().total_seconds())  # type: ignore[union-attr]
            if offset != previous:
                self.transitions.append(int(moment.timestamp()))
                self.offsets.append(offset)
                self.offset_text[offset] = _offset_string(offset)
                previous = offset
        self.transitions[0] = -(2**62)
        for day in range(first_day, last_day + 1):
            noon = datetime.combine(day_date(day), datetime.min.time()).replace(hour=12, tzinfo=tz)
            self.noon_offset.append(int(noon.utcoffset().total_seconds()))  # type: ignore[union-attr]
            midnight = datetime.combine(day_date(day), datetime.min.time()).replace(tzinfo=tz)
            self.local_midnight.append(int(midnight.timestamp()))

    def offset(self, ts: int) -> int:
        return self.offsets[bisect_right(self.transitions, ts) - 1]


class Clock:
    """Formats and converts timestamps for a fixed list of zones over a day range."""

    def __init__(self, zones: Sequence[str], first_day: int, last_day: int) -> None:
        self.first_day = first_day
        self.last_day = last_day
        self.zone_names = list(zones)
        self._zones = [_Zone(name, first_day, last_day) for name in zones]
        self._dates = [day_date(d).isoformat() for d in range(first_day, last_day + 1)]
        self._times = [
            f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        ]

    def zone(self, name: str) -> int:
        """The index of a zone name given at construction."""
        return self.zone_names.index(name)

    def date_text(self, day: int) -> str:
        """`YYYY-MM-DD` of a day index."""
        return self._dates[day - self.first_day]

    def text(self, zone: int, ts: int) -> str:
        """ISO 8601 local time with its UTC offset, e.g. `2026-03-09T10:15:00-07:00`."""
        z = self._zones[zone]
        offset = z.offsets[bisect_right(z.transitions, ts) - 1]
        local = ts + offset
        day, second = divmod(local, DAY)
        return self._dates[day - self.first_day] + "T" + self._times[second] + z.offset_text[offset]

    def local_day(self, zone: int, ts: int) -> int:
        """The local date (day index) of a UTC timestamp."""
        return (ts + self._zones[zone].offset(ts)) // DAY

    def local_second(self, zone: int, ts: int) -> int:
        """Seconds since local midnight of a UTC timestamp."""
        return (ts + self._zones[zone].offset(ts)) % DAY

    def at(self, zone: int, day: int, second: int) -> int:
        """UTC timestamp of a local day and second of day (exact between 03:00 and 24:00)."""
        return day * DAY + second - self._zones[zone].noon_offset[day - self.first_day]

    def midnight(self, zone: int, day: int) -> int:
        """UTC timestamp of the start of a local day."""
        return self._zones[zone].local_midnight[day - self.first_day]
