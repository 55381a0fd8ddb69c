"""Contract segments of a period: versions, peak variants, exclusion windows."""

from __future__ import annotations

from datetime import date

import pytest

from tallyclerk.contracts import parse_contract
from tallyclerk.sla import month_bounds, parse_period, segments
from tests.support import WESTCOAST


def test_month_bounds_and_periods() -> None:
    assert month_bounds(date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert parse_period("2026-11") == date(2026, 11, 1)
    with pytest.raises(ValueError, match="not a month like 2026-11"):
        parse_period("November")


def test_a_peak_window_splits_the_month_and_overrides_targets() -> None:
    contract = parse_contract(WESTCOAST.read_text())
    parts = segments("westcoast", [contract], date(2026, 11, 1), date(2026, 11, 30))
    assert [(p.start, p.end, p.label) for p in parts] == [
        (date(2026, 11, 1), date(2026, 11, 19), "base"),
        (date(2026, 11, 20), date(2026, 11, 30), "peak 11-20..12-31"),
    ]
    base_terms = parts[0].terms("ship_on_time_rate")
    peak_terms = parts[1].terms("ship_on_time_rate")
    assert base_terms is not None
    assert peak_terms is not None
    assert (base_terms.threshold, peak_terms.threshold) == (0.99, 0.97)


def test_exclusions_and_versions() -> None:
    text = WESTCOAST.read_text()
    v1 = parse_contract(text)
    v2 = parse_contract(
        text.replace("effective: 2026-01-01", "effective: 2026-01-20").replace(
            "order_accuracy_rate: {target: 0.995}", "order_accuracy_rate: {target: 0.998}"
        )
    )
    parts = segments("westcoast", [v1, v2], date(2026, 1, 1), date(2026, 1, 31))
    assert [(p.start, p.end, p.contract.effective) for p in parts] == [
        (date(2026, 1, 1), date(2026, 1, 19), date(2026, 1, 1)),
        (date(2026, 1, 20), date(2026, 1, 31), date(2026, 1, 20)),
    ]
    assert parts[0].excluded_days == {date(2026, 1, 10), date(2026, 1, 11), date(2026, 1, 12)}
    before = segments("westcoast", [v2], date(2026, 1, 1), date(2026, 1, 31))
    assert before[0].start == date(2026, 1, 20)  # no terms before the first version
