"""A shipment's current status from events that may arrive in any order.

Carriers and tracking services resend, batch and reorder events, so the status of a parcel
is decided by the events themselves, never by the order they came in:

1. a terminal status (delivered, returned_to_sender) is never replaced by a non-terminal
   one, however late the non-terminal event is stamped;
2. otherwise the latest event by time wins (times are compared as instants, so offsets do
   not matter; a naive time is read as UTC);
3. among events at the same instant the one furthest along wins, by `STATUS_RANK`.

These rules order every (status, time) pair totally, so the current status of a set of
events is its greatest pair, and folding events in one by one with `later_status` ends at
the same status whatever the order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from tallyclerk.domain import TERMINAL_TRACKING, TRACKING_PRECEDENCE

# How far along a parcel is: the tie-break between events at the same instant. The order
# and the final statuses are the domain's, which reconciliation reads too.
STATUS_RANK: Final[dict[str, int]] = {s.value: i for i, s in enumerate(TRACKING_PRECEDENCE)}

TERMINAL_STATUSES: Final = frozenset(s.value for s in TERMINAL_TRACKING)

_EPOCH = datetime.min
_NEVER = timedelta.min


def _instant(at: datetime | None) -> timedelta:
    """The time as an offset from year 1 in UTC: comparable, and never out of range."""
    if at is None:
        return _NEVER
    offset = at.utcoffset() or timedelta(0)
    return (at.replace(tzinfo=None) - _EPOCH) - offset


def _key(status: str, at: datetime | None) -> tuple[bool, timedelta, int]:
    rank = STATUS_RANK.get(status)
    if rank is None:
        raise ValueError(f"{status!r} is not a tracking status ({', '.join(STATUS_RANK)})")
    return status in TERMINAL_STATUSES, _instant(at), rank


def current_status(events: Iterable[tuple[str, datetime]]) -> str | None:
    """The status of a shipment given its (status, occurred_at) events in any order."""
    best: tuple[bool, timedelta, int] | None = None
    status: str | None = None
    for candidate, at in events:
        key = _key(candidate, at)
        if best is None or key > best:
            best, status = key, candidate
    return status


def later_status(
    current: str | None, current_at: datetime | None, new: str, new_at: datetime
) -> bool:
    """Whether a new event moves the shipment's status from `current` (None: no status yet).

    A current status without a time loses to any timed event of the same terminal class.
    """
    new_key = _key(new, new_at)
    if current is None:
        return True
    return new_key > _key(current, current_at)
