"""Turning Shopify values into canonical text cells, or saying plainly why one cannot be."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_WHOLE = re.compile(r"[+-]?\d{1,18}")
_DECIMAL = re.compile(r"[+-]?(\d{1,30}(\.\d{0,12})?|\.\d{1,12})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Shopify's CSV exports write "2024-03-05 14:03:22 -0500".
_EXPORT_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y/%m/%d %H:%M:%S %z")


class BadValueError(Exception):
    """A value that cannot become a canonical cell; the message is the reject reason."""


def show(value: Any) -> str:
    """A short, quoted rendering of a source value for a reject reason."""
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return repr(text)
    if isinstance(value, Decimal):
        text = str(value)
        return text if len(text) <= 60 else text[:57] + "..."
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def record(value: Any) -> str | None:
    """The JSON text of a rejected record for the quarantine (None when it cannot be written)."""
    try:
        return json.dumps(value, default=str)[:4000]
    except (TypeError, ValueError, RecursionError):
        return None


def text(field: str, value: Any) -> str | None:
    """A text cell: strings trimmed (empty = None), numbers written out, nothing nested."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal) and value.is_finite() and -30 < value.adjusted() < 30:
        return format(value, "f")
    raise BadValueError(f"{field} {show(value)} is not text")


def identifier(field: str, value: Any) -> str:
    """An id: a whole number or a non-empty string; a missing one is an error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadValueError(f"{field} is missing")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadValueError(f"{field} {show(value)} is not an id")
    return str(value).strip()


def whole(field: str, value: Any) -> str:
    """A whole number written as text ("3")."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadValueError(f"{field} is missing")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**18:
        return str(value)
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        return str(int(value.strip()))
    if (
        isinstance(value, Decimal)
        and value.is_finite()
        and value.adjusted() < 18
        and value == value.to_integral_value()
    ):
        return str(int(value))
    raise BadValueError(f"{field} {show(value)} is not a whole number")


def amount(field: str, value: Any) -> str | None:
    """A money amount as a plain decimal string ("409.94"), exact; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None
        if _DECIMAL.fullmatch(stripped):
            return stripped
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**30:
        return str(value)
    elif isinstance(value, Decimal) and value.is_finite() and -13 < value.adjusted() < 30:
        return format(value, "f")
    raise BadValueError(f"{field} {show(value)} is not an amount")


def timestamp(field: str, value: Any) -> str:
    """An ISO 8601 timestamp, keeping the source's UTC offset."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadValueError(f"{field} is missing")
    if isinstance(value, str) and len(value) <= 40:
        raw = value.strip()
        parsed: datetime | None = None
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            for pattern in _EXPORT_FORMATS:
                try:
                    parsed = datetime.strptime(raw, pattern)
                    break
                except ValueError:
                    continue
        if parsed is not None:
            return parsed.isoformat()
    raise BadValueError(f"{field} {show(value)} is not a date and time")


def optional_timestamp(field: str, value: Any) -> str | None:
    """A timestamp that may be empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return timestamp(field, value)


def calendar_date(value: Any) -> str | None:
    """The date a text names ("2024-05-03", or the date part of a timestamp), else None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    raw = value.strip()
    head = raw[:10]
    if not _DATE.fullmatch(head):
        return None
    try:
        day = date.fromisoformat(head)
        if len(raw) > 10:
            datetime.fromisoformat(raw)
    except ValueError:
        return None
    return day.isoformat()
