"""Typed scalar values of a contract, each validated with a plain-language message."""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Annotated, Literal, NoReturn

import holidays
from pydantic import BeforeValidator, PlainSerializer, PlainValidator
from pydantic_core import PydanticCustomError

from tallyclerk.contracts._catalogue import (
    INCIDENT_KINDS,
    KPI_NAMES,
    SHIP_RULES,
    IncidentKind,
    ShipRule,
)

ERROR_TYPE = "contract"
"""The pydantic error type of every problem this package reports itself."""


def fail(message: str) -> NoReturn:
    """Raise the pydantic error that carries one of our plain-language messages."""
    raise PydanticCustomError(ERROR_TYPE, "{reason}", {"reason": message})


def describe(value: object) -> str:
    """Show a value as a contract author would recognise it in their YAML."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 128:
        return "a number far too large"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"'{shown}'"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def one_of(choices: Iterable[object]) -> str:
    """List the accepted choices, sorted, for a message."""
    return ", ".join(sorted(str(c) for c in choices))


def did_you_mean(value: object, choices: Iterable[object]) -> str:
    """Suggest the closest choice, if any is close, as "did you mean 'x'? " (or '')."""
    if not isinstance(value, str):
        return ""
    options = [str(c) for c in choices]
    by_upper = {o.upper(): o for o in options}
    if value.upper() in by_upper and by_upper[value.upper()] != value:
        return f"did you mean '{by_upper[value.upper()]}'? "
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.75)
    return f"did you mean '{close[0]}'? " if close else ""


# --- numbers -------------------------------------------------------------------------------


_MAX_DIGITS = 15


def as_number(value: object) -> Decimal | None:
    """The value as a finite Decimal of sensible size, or None when it is not a number.

    Booleans are not numbers; neither is anything of 10**15 or more, or nearer 0 than 1e-15.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))  # the shortest text that round-trips, so 0.35 stays 0.35
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except (InvalidOperation, ValueError):
            return None
    else:
        return None
    if not number.is_finite():
        return None
    if number and not -_MAX_DIGITS <= number.adjusted() < _MAX_DIGITS:
        return None  # 1e999999999 is no amount a contract means, and int() of it never ends
    return number


def as_whole(value: object) -> int | None:
    """The value as an int when it is a whole number, else None."""
    number = as_number(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def _rate(value: object) -> float:
    number = as_number(value)
    if number is None or not 0 <= number <= 1:
        fail(f"must be a number between 0 and 1, got {describe(value)}")
    return float(number)


def _non_negative_float(value: object) -> float:
    number = as_number(value)
    if number is None or number < 0:
        fail(f"must be a number of 0 or more, got {describe(value)}")
    return float(number)


def _money(value: object) -> Decimal:
    number = as_number(value)
    if number is None or number < 0:
        fail(f"must be an amount of money (a number of 0 or more), got {describe(value)}")
    return number


def _percent(value: object) -> Decimal:
    number = as_number(value)
    if number is None or not 0 <= number <= 100:
        fail(f"must be a percentage between 0 and 100, got {describe(value)}")
    return number


def _non_negative_percent(value: object) -> Decimal:
    number = as_number(value)
    if number is None or number < 0:
        fail(f"must be a percentage of 0 or more, got {describe(value)}")
    return number


def _positive_int(value: object) -> int:
    number = as_whole(value)
    if number is None or number < 1:
        fail(f"must be a whole number of 1 or more, got {describe(value)}")
    return number


def _non_negative_int(value: object) -> int:
    number = as_whole(value)
    if number is None or number < 0:
        fail(f"must be a whole number of 0 or more, got {describe(value)}")
    return number


Rate = Annotated[float, PlainValidator(_rate, json_schema_input_type=float)]
"""A share between 0 and 1."""
NonNegativeFloat = Annotated[
    float, PlainValidator(_non_negative_float, json_schema_input_type=float)
]
"""A number of 0 or more (a rate or a number of hours)."""
Money = Annotated[Decimal, PlainValidator(_money, json_schema_input_type=Decimal)]
"""An amount of money of 0 or more, exact."""
Percent = Annotated[Decimal, PlainValidator(_percent, json_schema_input_type=Decimal)]
"""A percentage between 0 and 100, exact."""
NonNegativePercent = Annotated[
    Decimal, PlainValidator(_non_negative_percent, json_schema_input_type=Decimal)
]
"""A percentage of 0 or more, exact."""
PositiveInt = Annotated[int, PlainValidator(_positive_int, json_schema_input_type=int)]
"""A whole number of 1 or more."""
NonNegativeInt = Annotated[int, PlainValidator(_non_negative_int, json_schema_input_type=int)]
"""A whole number of 0 or more."""


# --- text ----------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_CURRENCY = re.compile(r"[A-Z]{3}")


def _text(value: object) -> str:
    if not isinstance(value, str):
        fail(f"must be text, got {describe(value)}")
    if not value.strip():
        fail("must not be empty")
    return value


def _identifier(value: object) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        fail(
            f"must be an identifier made of letters, digits, '-', '_' or '.', got {describe(value)}"
        )
    return value


def _currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        hint = did_you_mean(value, [value.upper()]) if isinstance(value, str) else ""
        fail(
            f"{hint}must be a 3-letter ISO 4217 currency code in capitals such as USD, "
            f"got {describe(value)}"
        )
    return value


Text = Annotated[str, PlainValidator(_text, json_schema_input_type=str)]
"""Non-blank text."""
Identifier = Annotated[str, PlainValidator(_identifier, json_schema_input_type=str)]
"""An id such as a provider or facility id: letters, digits, '-', '_', '.'."""
CurrencyCode = Annotated[str, PlainValidator(_currency, json_schema_input_type=str)]
"""A 3-letter ISO 4217 code in capitals."""


# --- dates and times -----------------------------------------------------------------------

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CUTOFF = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def as_date(value: object) -> date | None:
    """The value as a calendar date (a datetime is not one), or None."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _date(value: object) -> date:
    parsed = as_date(value)
    if parsed is None:
        if isinstance(value, datetime):
            fail(f"must be a date without a time of day, got {describe(value)}")
        fail(f"must be a date written YYYY-MM-DD, got {describe(value)}")
    return parsed


def as_cutoff(value: object) -> time | None:
    """The value as a local time of day without seconds, or None."""
    if isinstance(value, time):
        return value if value.tzinfo is None else None
    if isinstance(value, str):
        match = _CUTOFF.fullmatch(value.strip())
        if match:
            return time(int(match.group(1)), int(match.group(2)))
    return None


def _cutoff(value: object) -> time:
    parsed = as_cutoff(value)
    if parsed is None:
        fail(f'must be a time of day written "HH:MM" (24-hour clock), got {describe(value)}')
    return parsed


ContractDate = Annotated[date, PlainValidator(_date, json_schema_input_type=date)]
"""A calendar date."""
Cutoff = Annotated[
    time,
    PlainValidator(_cutoff, json_schema_input_type=str),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
]
"""A local order cutoff time, written "HH:MM"."""


# --- places --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def known_time_zones() -> frozenset[str]:
    """Every IANA time zone name the system knows."""
    return frozenset(zoneinfo.available_timezones())


@lru_cache(maxsize=1)
def supported_countries() -> dict[str, tuple[str, ...]]:
    """Country codes the holidays package has calendars for, with their subdivision codes."""
    countries = holidays.list_supported_countries(include_aliases=False)
    return {code: tuple(subdivisions) for code, subdivisions in countries.items()}


def _time_zone(value: object) -> zoneinfo.ZoneInfo:
    if isinstance(value, zoneinfo.ZoneInfo):
        return value
    if not isinstance(value, str):
        fail(f"must be an IANA time zone name such as America/New_York, got {describe(value)}")
    zones = known_time_zones()
    if value not in zones:
        hint = did_you_mean(value, zones)
        fail(f"unknown time zone '{value}'" + (f" ({hint.strip()})" if hint else ""))
    try:
        return zoneinfo.ZoneInfo(value)
    except (ValueError, OSError, KeyError):
        fail(f"unknown time zone '{value}'")


def _country(value: object) -> str:
    if not isinstance(value, str):
        fail(f"must be a 2-letter ISO 3166 country code such as US, got {describe(value)}")
    countries = supported_countries()
    if value not in countries:
        hint = did_you_mean(value, countries)
        fail(
            f"unknown country '{value}' ({hint}expected a 2-letter ISO 3166 country code "
            "that the holidays package supports, such as US, GB or DE)"
        )
    return value


def check_subdivision(value: str, country: str) -> str:
    """Validate a subdivision code against the country's subdivisions in the holidays package."""
    subdivisions = supported_countries().get(country, ())
    if value not in subdivisions:
        if not subdivisions:
            fail(f"country {country} has no subdivisions in the holidays package; leave it out")
        hint = did_you_mean(value, subdivisions)
        fail(
            f"unknown subdivision '{value}' of country {country} "
            f"({hint}expected one of: {one_of(subdivisions)})"
        )
    return value


TimeZoneName = Annotated[
    zoneinfo.ZoneInfo,
    PlainValidator(_time_zone, json_schema_input_type=str),
    PlainSerializer(lambda z: z.key, return_type=str),
]
"""An IANA time zone, written by name (America/Los_Angeles)."""
CountryCode = Annotated[str, PlainValidator(_country, json_schema_input_type=str)]
"""A country the holidays package has a calendar for."""


# --- names from the catalogue --------------------------------------------------------------


def _metric_name(value: object) -> str:
    if not isinstance(value, str) or value not in KPI_NAMES:
        hint = did_you_mean(value, KPI_NAMES)
        fail(f"unknown metric {describe(value)} ({hint}the KPI catalogue has: {one_of(KPI_NAMES)})")
    return value


def _ship_rule(value: object) -> ShipRule:
    if not isinstance(value, str) or value not in SHIP_RULES:
        fail(f"unknown rule {describe(value)} (expected one of: {one_of(SHIP_RULES)})")
    return value


def _incident_kind(value: object) -> IncidentKind:
    if not isinstance(value, str) or value not in INCIDENT_KINDS:
        hint = did_you_mean(value, INCIDENT_KINDS)
        fail(
            f"unknown incident kind {describe(value)} "
            f"({hint}expected one of: {one_of(INCIDENT_KINDS)})"
        )
    return value


ORDER_VALUE: Literal["order_value"] = "order_value"
"""A per-incident credit of the affected order's value."""


def _incident_credit(value: object) -> Decimal | Literal["order_value"]:
    if value == ORDER_VALUE:
        return ORDER_VALUE
    number = as_number(value)
    if number is None or number < 0:
        fail(f"must be an amount of money (0 or more) or {ORDER_VALUE}, got {describe(value)}")
    return number


def _none_as_empty_list(value: object) -> object:
    return [] if value is None else value


def _none_as_empty_dict(value: object) -> object:
    return {} if value is None else value


MetricName = Annotated[str, PlainValidator(_metric_name, json_schema_input_type=str)]
"""A metric name of the KPI catalogue."""
ShipRuleName = Annotated[ShipRule, PlainValidator(_ship_rule, json_schema_input_type=ShipRule)]
"""A known ship rule."""
IncidentKindName = Annotated[
    IncidentKind, PlainValidator(_incident_kind, json_schema_input_type=IncidentKind)
]
"""A known incident kind."""
IncidentCredit = Annotated[
    Decimal | Literal["order_value"],
    PlainValidator(_incident_credit, json_schema_input_type=Decimal | Literal["order_value"]),
]
"""A per-incident credit: an amount of money, or the literal 'order_value'."""
EmptyIfNone = BeforeValidator(_none_as_empty_list)
"""Read a blank list-valued key as an empty list."""
EmptyDictIfNone = BeforeValidator(_none_as_empty_dict)
"""Read a blank mapping-valued key as an empty mapping."""
