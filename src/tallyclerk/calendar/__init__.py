"""Business calendars, order cutoffs and deadlines, per facility (DESIGN sections 3 and 6).

A pure core module: it imports nothing else of tallyclerk.
"""

from __future__ import annotations

from ._business import BusinessCalendar
from ._cutoff import DEFAULT_RULE, SHIP_RULES, parse_cutoff
from ._deadlines import FacilityClock

__all__ = [
    "DEFAULT_RULE",
    "SHIP_RULES",
    "BusinessCalendar",
    "FacilityClock",
    "parse_cutoff",
]
