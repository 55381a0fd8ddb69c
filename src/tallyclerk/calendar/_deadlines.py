"""A facility's clock: local dates, ship-by deadlines and business-day deadlines."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ._business import BusinessCalendar
from ._cutoff import parse_cutoff
from ._zones import end_of_day, localize, require_aware


@dataclasses.dataclass(frozen=True)
class FacilityClock:
    """A facility's time zone, order cutoff and business calendar: everything a deadline needs.

    Every datetime it returns is aware and expressed in the facility's time zone.
    """

    facility_id: str
    timezone: ZoneInfo
    cutoff: time
    calendar: BusinessCalendar
    _ends: dict[date, datetime] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        """Reject parts that would make every later answer wrong."""
        if not isinstance(self.timezone, ZoneInfo):
            raise TypeError(f"timezone must be a zoneinfo.ZoneInfo, got {self.timezone!r}")
        if not isinstance(self.cutoff, time) or self.cutoff.tzinfo is not None:
            raise ValueError(f"cutoff must be a naive local time, got {self.cutoff!r}")
        if not isinstance(self.calendar, BusinessCalendar):
            raise TypeError(f"calendar must be a BusinessCalendar, got {self.calendar!r}")

    @classmethod
    def from_config(
        cls,
        facility_id: str,
        timezone: str,
        cutoff: str,
        country: str | None = None,
        subdivision: str | None = None,
        closed_dates: Iterable[date] = (),
    ) -> FacilityClock:
        """Build a clock from a contract's plain facility fields; bad values raise ValueError."""
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        calendar = BusinessCalendar(country, subdivision, closed_dates)
        return cls(facility_id, zone, parse_cutoff(cutoff), calendar)

    def local_date(self, ts: datetime) -> date:
        """Return the facility's calendar date at instant ts, the day every rule counts from."""
        require_aware(ts)
        return ts.astimezone(self.timezone).date()

    def localize(self, naive: datetime) -> datetime:
        """Read a naive timestamp as facility wall time (gap: shift forward; repeat: first)."""
        return localize(naive, self.timezone)

    def end_of_day(self, d: date) -> datetime:
        """Return the last instant of local day d, since work due on d is late only after it."""
        end = self._ends.get(d)
        if end is None:
            # Cached: a day's end never changes, and millions of orders share a few hundred days.
            end = end_of_day(d, self.timezone)
            self._ends[d] = end
        return end

    def ship_due_date(self, released_at: datetime) -> date:
        """Return the local date an order released at released_at must ship by (same-day rule)."""
        require_aware(released_at, "released_at")
        local = released_at.astimezone(self.timezone)
        d = local.date()
        # The cutoff is compared on the wall clock, as the warehouse floor reads it; an order
        # released on a day off, or at or after the cutoff, joins the next working day's wave.
        if self.calendar.is_business_day(d) and local.time() < self.cutoff:
            return d
        return self.calendar.next_business_day(d)

    def ship_due_at(self, released_at: datetime) -> datetime:
        """Return the instant an order released at released_at is late after (same-day rule)."""
        return self.end_of_day(self.ship_due_date(released_at))

    def deadline_within_business_days_date(self, event_at: datetime, n: int) -> date:
        """Return the local date of the deadline 'within n business days' of event_at."""
        require_aware(event_at, "event_at")
        if n < 0:
            raise ValueError(f"number of business days must be 0 or more, got {n}")
        # An event on a day off starts the count on the next working day, so the provider
        # always gets n full working days.
        start = self.calendar.on_or_after(self.local_date(event_at))
        return self.calendar.add_business_days(start, n)

    def deadline_within_business_days(self, event_at: datetime, n: int) -> datetime:
        """Return the instant after which work 'within n business days' of event_at is late."""
        return self.end_of_day(self.deadline_within_business_days_date(event_at, n))
