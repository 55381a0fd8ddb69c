"""A facility as the simulation runs it: its index, clock zone and business calendar."""

from __future__ import annotations

from dataclasses import dataclass

from ._calendars import BusinessCalendar
from ._network import Facility


@dataclass(frozen=True, slots=True)
class Site:
    """A facility as the simulation runs it."""

    index: int
    facility: Facility
    zone: int
    calendar: BusinessCalendar
