"""Wall-clock arithmetic in a time zone that stays correct across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

_ONE_MICROSECOND = timedelta(microseconds=1)


def require_aware(ts: datetime, what: str = "timestamp") -> None:
    """Reject a naive datetime, whose instant is unknown, with a ValueError."""
    if not isinstance(ts, datetime):
        raise TypeError(f"{what} must be a datetime, got {ts!r}")
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"{what} must be time-zone aware, got naive {ts.isoformat()}")


def localize(naive: datetime, tz: tzinfo) -> datetime:
    """Read a naive wall-clock time in tz: gap times shift forward, repeated times take the first.

    A time that never happens (the hour skipped when DST starts) is moved forward by the length
    of the gap, e.g. 02:30 becomes 03:30; a time that happens twice (the hour repeated when DST
    ends) is the first occurrence (fold=0). The input's own fold is ignored.
    """
    if not isinstance(naive, datetime):
        raise TypeError(f"expected a datetime, got {naive!r}")
    if naive.tzinfo is not None:
        raise ValueError(f"expected a naive datetime, got {naive.isoformat()}")
    # With fold=0, zoneinfo reads a gap time with the offset in force before the gap, which is
    # exactly "shift forward"; the round trip through UTC turns it into a wall time that exists.
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


def start_of_day(d: date, tz: tzinfo) -> datetime:
    """Return the first instant whose local date is d or later (midnight, unless DST skips it)."""
    first: datetime | None = None
    for fold in (0, 1):
        candidate = datetime.combine(d, time(0), tzinfo=tz).replace(fold=fold).astimezone(UTC)
        # When midnight falls in a DST gap one reading lands on the previous day; skip it.
        # "Or later" keeps the answer defined for a day a zone skips entirely (Pacific/Apia,
        # 2011-12-30): the day then starts, and ends, where the following day starts.
        if candidate.astimezone(tz).date() >= d and (first is None or candidate < first):
            first = candidate
    if first is None:  # pragma: no cover - fold=0 never reads a time back onto an earlier day
        raise ValueError(f"no local day {d.isoformat()} in time zone {tz}")
    return first.astimezone(tz)


def end_of_day(d: date, tz: tzinfo) -> datetime:
    """Return the last instant of local day d, so that 'due by end of d' is a single instant."""
    # Counting back one microsecond from the next day's start in absolute time, rather than
    # writing 23:59:59.999999 on the wall, stays right when DST changes at midnight.
    return (start_of_day(d + timedelta(days=1), tz).astimezone(UTC) - _ONE_MICROSECOND).astimezone(
        tz
    )
