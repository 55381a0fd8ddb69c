"""What the API routes share: error responses, query parameters and their parsing.

Query values that name things (providers, metrics, ids) are checked against a pattern, so
nothing a database would refuse (a NUL byte, an endless string) reaches a query; free text
in request bodies is checked the same way. Dates and months are parsed here, with a plain
message when they are not dates.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BaseModel, Field

from tallyclerk.errors import InputError

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$"
# Ids of records that come from outside (SKUs, invoice numbers): any printable text.
TEXT_ID_PATTERN = r"^[^\x00-\x1f\x7f]{1,200}$"
MONTH_PATTERN = r"^\d{4}-\d{2}$"
DAY_OR_MONTH_PATTERN = r"^\d{4}-\d{2}(-\d{2})?$"
LARGEST_ID = 2**53  # ids beyond this are not ids (and would overflow a BIGINT)


class ErrorDetail(BaseModel):
    """The error itself."""

    status: int
    message: str
    details: list[Any] | None = None


class ErrorOut(BaseModel):
    """Every error: `{"error": {"status", "message", "details"}}`."""

    error: ErrorDetail


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error responses of a route, for the OpenAPI document."""
    described = {
        400: "The request cannot be used as it is (a bad date, an unknown name).",
        401: "No valid credentials came with the request.",
        403: "The user's role may not do this.",
        404: "Nothing by that id that this user may see.",
        409: "The record is not in a state that allows this.",
        422: "A parameter or the body does not match the schema.",
        503: "The embedded store is busy with another process; retry shortly.",
    }
    return {s: {"model": ErrorOut, "description": described[s]} for s in (401, *statuses)}


def _no_control_characters(value: str) -> str:
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValueError("control characters are not allowed")
    return value


Text = Annotated[str, Field(max_length=4000), AfterValidator(_no_control_characters)]
ShortText = Annotated[
    str, Field(min_length=1, max_length=200), AfterValidator(_no_control_characters)
]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]

ProviderQuery = Annotated[
    str | None,
    Query(pattern=NAME_PATTERN, description="Only this provider (a provider user: its own)."),
]
MonthQuery = Annotated[
    str | None, Query(pattern=MONTH_PATTERN, description="A month, YYYY-MM.", examples=["2026-02"])
]
AsOfQuery = Annotated[
    str | None,
    Query(
        alias="as_of",
        max_length=40,
        description="The clock to compute at (ISO date or timestamp; default now). A date "
        "means its end, UTC.",
        examples=["2026-03-20"],
    ),
]
FromQuery = Annotated[
    str | None,
    Query(
        alias="from",
        pattern=DAY_OR_MONTH_PATTERN,
        description="First day (YYYY-MM-DD) or month (YYYY-MM).",
        examples=["2026-02"],
    ),
]
ToQuery = Annotated[
    str | None,
    Query(
        alias="to",
        pattern=DAY_OR_MONTH_PATTERN,
        description="Last day (YYYY-MM-DD) or month (YYYY-MM: its last day).",
        examples=["2026-03"],
    ),
]


FIRST_YEAR, LAST_YEAR = 1900, 2999


def _in_range(day: date, text: str, name: str) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InputError(f"{name} {text!r} is out of range (years {FIRST_YEAR} to {LAST_YEAR})")
    return day


def parse_month(text: str | None, name: str = "period") -> date | None:
    """'2026-02' -> 2026-02-01 (None stays None); InputError when it is not a month."""
    if text is None:
        return None
    try:
        year, month = text.split("-")
        day = date(int(year), int(month), 1)
    except ValueError:
        raise InputError(f"{name} {text!r} is not a month like 2026-02") from None
    return _in_range(day, text, name)


def parse_first_day(text: str | None, name: str = "from") -> date | None:
    """A day, or a month meaning its first day."""
    if text is None:
        return None
    if len(text) == 7:
        return parse_month(text, name)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{name} {text!r} is not a date like 2026-02-01 or 2026-02") from None
    return _in_range(day, text, name)


def parse_last_day(text: str | None, name: str = "to") -> date | None:
    """A day, or a month meaning its last day."""
    if text is None:
        return None
    if len(text) == 7:
        first = parse_month(text, name)
        assert first is not None
        return first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return parse_first_day(text, name)


def parse_clock(text: str | None) -> datetime | None:
    """as_of: an ISO timestamp (naive means UTC) or a date (its end, UTC); None: now."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"as_of {text!r} is not an ISO date or timestamp") from None
    _in_range(moment.date(), text, "as_of")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_range(first: date | None, last: date | None) -> None:
    """Refuse a range that ends before it starts."""
    if first is not None and last is not None and last < first:
        raise InputError(f"the range ends ({last}) before it starts ({first})")


def page_slice(items: list[Any], limit: int, offset: int) -> list[Any]:
    """The slice of an in-memory list that a page asks for."""
    return items[offset : offset + limit]


__all__ = [
    "DAY_OR_MONTH_PATTERN",
    "LARGEST_ID",
    "MONTH_PATTERN",
    "NAME_PATTERN",
    "TEXT_ID_PATTERN",
    "AsOfQuery",
    "ErrorDetail",
    "ErrorOut",
    "FromQuery",
    "MonthQuery",
    "Name",
    "ProviderQuery",
    "ShortText",
    "Text",
    "ToQuery",
    "check_range",
    "errors",
    "page_slice",
    "parse_clock",
    "parse_first_day",
    "parse_last_day",
    "parse_month",
]
