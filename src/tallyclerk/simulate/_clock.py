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


def seconds_east(moment: datetime) -> int:
    """The UTC offset of an aware datetime, in seconds."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("an aware datetime is needed")
    return int(offset.total_seconds())


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
        start = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=first_day - 1)

        def offset_at(moment: datetime) -> int:
            """UTC offset in seconds of the zone at a moment."""
            return seconds_east(moment.astimezone(tz))

        # Daily sampling finds the days with a change; hourly sampling within them finds the
        # transition (zones change offset on the hour, at most once a day).
        for day in range(last_day - first_day + 3):
            moment = start + timedelta(days=day)
            offset = offset_at(moment)
            if offset == previous:
                continue
            if previous is not None:
                moment -= timedelta(days=1)
                while offset_at(moment) == previous:
                    moment += timedelta(hours=1)
                offset = offset_at(moment)
            self.transitions.append(int(moment.timestamp()))
            self.offsets.append(offset)
            self.offset_text[offset] = _offset_string(offset)
            previous = offset
        self.transitions[0] = -(2**62)
        for day in range(first_day, last_day + 1):
            noon = datetime.combine(day_date(day), datetime.min.time()).replace(hour=12, tzinfo=tz)
            self.noon_offset.append(seconds_east(noon))
            midnight = datetime.combine(day_date(day), datetime.min.time()).replace(tzinfo=tz)
            self.local_midnight.append(int(midnight.timestamp()))

    def offset(self, ts: int) -> int:
        """UTC offset in seconds at a UTC timestamp."""
        return self.offsets[bisect_right(self.transitions, ts) - 1]


class Clock:
    """Formats and converts timestamps for a fixed list of zones over a day range."""

    def __init__(self, zones: Sequence[str], first_day: int, last_day: int) -> None:
        self.first_day = first_day
        self.last_day = last_day
        self.zone_names = list(zones)
        self._zones = [_Zone(name, first_day, last_day) for name in zones]
        self._dates = [day_date(d).isoformat() for d in range(first_day, last_day + 1)]
        self._months = [text[:7] for text in self._dates]
        # Per zone and UTC hour: offset, "YYYY-MM-DDTHH:" and "+HH:MM" (offsets are whole hours
        # in every zone used, and zones change offset only on the hour).
        self._base_hour = first_day * 24
        hours = (last_day - first_day + 1) * 24
        around = [day_date(d).isoformat() for d in range(first_day - 1, last_day + 2)]
        self._hour_offset: list[list[int]] = []
        self._hour_prefix: list[list[str]] = []
        self._hour_suffix: list[list[str]] = []
        for z in self._zones:
            offsets, prefixes, suffixes = [], [], []
            for h in range(self._base_hour, self._base_hour + hours):
                offset = z.offset(h * 3600)
                local_hour = h + offset // 3600
                day, hour = divmod(local_hour, 24)
                offsets.append(offset)
                prefixes.append(f"{around[day - first_day + 1]}T{hour:02d}:")
                suffixes.append(z.offset_text[offset])
            self._hour_offset.append(offsets)
            self._hour_prefix.append(prefixes)
            self._hour_suffix.append(suffixes)
        self._minute_second = [f"{m:02d}:{s:02d}" for m in range(60) for s in range(60)]

    def zone(self, name: str) -> int:
        """The index of a zone name given at construction."""
        return self.zone_names.index(name)

    def date_text(self, day: int) -> str:
        """`YYYY-MM-DD` of a day index."""
        return self._dates[day - self.first_day]

    def month_text(self, day: int) -> str:
        """`YYYY-MM` of a day index."""
        return self._months[day - self.first_day]

    def text(self, zone: int, ts: int) -> str:
        """ISO 8601 local time with its UTC offset, e.g. `2026-03-09T10:15:00-07:00`."""
        hour = ts // 3600 - self._base_hour
        return (
            self._hour_prefix[zone][hour]
            + self._minute_second[ts % 3600]
            + self._hour_suffix[zone][hour]
        )

    def local(self, zone: int, ts: int) -> int:
        """Local wall-clock seconds since 1970-01-01 (divmod by DAY gives day and second)."""
        return ts + self._hour_offset[zone][ts // 3600 - self._base_hour]

    def at(self, zone: int, day: int, second: int) -> int:
        """UTC timestamp of a local day and second of day (exact between 03:00 and 24:00)."""
        return day * DAY + second - self._zones[zone].noon_offset[day - self.first_day]

    def midnight(self, zone: int, day: int) -> int:
        """UTC timestamp of the start of a local day."""
        return self._zones[zone].local_midnight[day - self.first_day]
