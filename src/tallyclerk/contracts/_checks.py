"""Rules that span several keys of a contract, checked on the raw input so that every problem is
found in one pass, even when other parts of the contract are malformed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pydantic import BaseModel

from tallyclerk.contracts._catalogue import (
    BUSINESS_DAY_METRICS,
    HOURS_METRICS,
    KPI_NAMES,
    LOWER_IS_BETTER_METRICS,
    RULE_METRICS,
    TOLERANCE_METRICS,
)
from tallyclerk.contracts._values import as_date, as_number, as_whole, describe, one_of

Loc = tuple[str | int, ...]
"""A path into the contract, as pydantic writes it ("[key]" marks a mapping key itself)."""
Problem = tuple[Loc, str]
"""A located plain-language problem."""

_PYTHON_NAMES = {"from": "from_"}


def _get(obj: object, key: str) -> object:
    """The value at `key` of a raw mapping or an already-built model (None when absent)."""
    if isinstance(obj, Mapping):
        value = obj.get(key)
        if value is None and key in _PYTHON_NAMES:
            value = obj.get(_PYTHON_NAMES[key])
        return value
    if isinstance(obj, BaseModel):
        return getattr(obj, _PYTHON_NAMES.get(key, key), None)
    return None


def _has(obj: object, key: str) -> bool:
    return _get(obj, key) is not None


def _items(obj: object) -> list[tuple[object, object]]:
    return list(obj.items()) if isinstance(obj, Mapping) else []


def _entries(obj: object) -> list[object]:
    return list(obj) if isinstance(obj, list | tuple) else []


def cross_check(data: Mapping[object, object]) -> list[Problem]:
    """Every problem of the rules that relate one key of the contract to another."""
    metrics = _get(data, "metrics")
    contracted: set[str] | None = None
    if isinstance(metrics, Mapping):
        contracted = {name for name in metrics if isinstance(name, str)}
    problems: list[Problem] = []
    problems += _check_facilities(_get(data, "facilities"))
    problems += _check_capacity(_get(data, "capacity"))
    for name, terms in _items(metrics):
        if isinstance(name, str) and name in KPI_NAMES:
            problems += _check_metric(("metrics", name), name, terms, override=False)
    problems += _check_windows("peak", _get(data, "peak"), may_overlap=False)
    problems += _check_peak_overrides(_get(data, "peak"), contracted)
    problems += _check_windows("exclusions", _get(data, "exclusions"), may_overlap=True)
    problems += _check_tiers(_get(_get(data, "credits"), "tiers"), contracted)
    return problems


def _check_facilities(facilities: object) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(facilities, list | tuple) and not facilities:
        problems.append((("facilities",), "at least one facility is required"))
    first_use: dict[str, int] = {}
    for index, facility in enumerate(_entries(facilities)):
        facility_id = _get(facility, "id")
        if not isinstance(facility_id, str):
            continue
        if facility_id in first_use:
            problems.append(
                (
                    ("facilities", index, "id"),
                    f"duplicate facility id '{facility_id}' "
                    f"(already used by facilities[{first_use[facility_id]}])",
                )
            )
        else:
            first_use[facility_id] = index
    return problems


def _check_capacity(capacity: object) -> list[Problem]:
    normal = as_whole(_get(capacity, "orders_per_day"))
    peak = as_whole(_get(capacity, "peak_orders_per_day"))
    if normal is not None and peak is not None and 0 < peak < normal:
        return [
            (
                ("capacity", "peak_orders_per_day"),
                f"must be at least orders_per_day ({normal}), got {peak}",
            )
        ]
    return []


def _check_metric(loc: Loc, name: str, terms: object, *, override: bool) -> list[Problem]:
    """Rules that depend on which metric the terms are for."""
    if not isinstance(terms, Mapping | BaseModel):
        return []
    problems: list[Problem] = []
    lower = name in LOWER_IS_BETTER_METRICS
    if lower and _has(terms, "target") and not _has(terms, "max"):
        problems.append(
            ((*loc, "target"), f"{name} is better when lower: give 'max', not 'target'")
        )
    if not lower and _has(terms, "max") and not _has(terms, "target"):
        problems.append(((*loc, "max"), f"{name} is better when higher: give 'target', not 'max'"))
    limit = _get(terms, "max")
    number = as_number(limit)
    if lower and number is not None:
        if name in HOURS_METRICS and number == 0:
            problems.append(((*loc, "max"), "must be a number of hours greater than 0, got 0"))
        if name not in HOURS_METRICS and number > 1:
            problems.append(
                ((*loc, "max"), f"must be a number between 0 and 1, got {describe(limit)}")
            )
    if name in BUSINESS_DAY_METRICS:
        if not override and not _has(terms, "within_business_days"):
            problems.append(
                (
                    (*loc, "within_business_days"),
                    f"required key is missing ({name} counts what is done within N business days)",
                )
            )
    elif _has(terms, "within_business_days"):
        problems.append(
            (
                (*loc, "within_business_days"),
                f"does not apply to {name} (only to {one_of(BUSINESS_DAY_METRICS)})",
            )
        )
    if name not in TOLERANCE_METRICS and _has(terms, "tolerance_units"):
        problems.append(
            (
                (*loc, "tolerance_units"),
                f"does not apply to {name} (only to {one_of(TOLERANCE_METRICS)})",
            )
        )
    if name not in RULE_METRICS and _has(terms, "rule"):
        problems.append(
            ((*loc, "rule"), f"does not apply to {name} (only to {one_of(RULE_METRICS)})")
        )
    return problems


def _window(window: object) -> tuple[date, date] | None:
    start = as_date(_get(window, "from"))
    end = as_date(_get(window, "to"))
    return None if start is None or end is None else (start, end)


def _check_windows(kind: str, windows: object, *, may_overlap: bool) -> list[Problem]:
    problems: list[Problem] = []
    seen: list[tuple[int, date, date]] = []
    for index, window in enumerate(_entries(windows)):
        bounds = _window(window)
        if bounds is None:
            continue
        start, end = bounds
        if end < start:
            problems.append(((kind, index, "to"), f"must be on or after from ({start}), got {end}"))
            continue
        if not may_overlap:
            for other, other_start, other_end in seen:
                if start <= other_end and other_start <= end:
                    problems.append(
                        (
                            (kind, index, "from"),
                            f"this window overlaps {kind}[{other}] ({other_start} to "
                            f"{other_end}); {kind} windows must not overlap",
                        )
                    )
                    break
        seen.append((index, start, end))
    return problems


def _check_peak_overrides(peak: object, contracted: set[str] | None) -> list[Problem]:
    problems: list[Problem] = []
    for index, variant in enumerate(_entries(peak)):
        for name, override in _items(_get(variant, "metrics")):
            if not isinstance(name, str) or name not in KPI_NAMES:
                continue  # the schema reports unknown metric names
            loc: Loc = ("peak", index, "metrics", name)
            if contracted is not None and name not in contracted:
                problems.append(
                    (
                        (*loc, "[key]"),
                        f"metric '{name}' is not in this contract's metrics, "
                        "so a peak variant cannot override it",
                    )
                )
            else:
                problems += _check_metric(loc, name, override, override=True)
    return problems


def _check_tiers(tiers: object, contracted: set[str] | None) -> list[Problem]:
    problems: list[Problem] = []
    first_use: dict[tuple[str, object], int] = {}
    for index, tier in enumerate(_entries(tiers)):
        metric = _get(tier, "metric")
        if not isinstance(metric, str) or metric not in KPI_NAMES:
            continue  # the schema reports unknown metric names
        if contracted is not None and metric not in contracted:
            problems.append(
                (
                    ("credits", "tiers", index, "metric"),
                    f"metric '{metric}' is not in this contract's metrics",
                )
            )
        elif metric in LOWER_IS_BETTER_METRICS:
            problems.append(
                (
                    ("credits", "tiers", index, "metric"),
                    f"{metric} is better when lower, but a credit tier applies when a metric "
                    "falls below a level; tiers fit only metrics where higher is better",
                )
            )
        below = as_number(_get(tier, "below"))
        if below is not None:
            key = (metric, below)
            if key in first_use:
                problems.append(
                    (
                        ("credits", "tiers", index, "below"),
                        f"repeats the level of credits.tiers[{first_use[key]}] for {metric}",
                    )
                )
            else:
                first_use[key] = index
    return problems
