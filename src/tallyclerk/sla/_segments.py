"""Which contract terms hold on which days of a period: versions, peak variants, exclusions."""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from tallyclerk.contracts import Contract, MetricTerms, PeakVariant, contract_in_force


def month_bounds(period: date) -> tuple[date, date]:
    """First and last day of the month holding `period`."""
    first = period.replace(day=1)
    last = first.replace(day=_calendar.monthrange(first.year, first.month)[1])
    return first, last


def parse_period(text: str) -> date:
    """'2026-11' -> 2026-11-01, or a ValueError saying what is expected."""
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise ValueError(f"period {text!r} is not a month like 2026-11") from None


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of days of one period under the same contract version and peak variant."""

    provider_id: str
    start: date
    end: date
    contract: Contract
    peak: PeakVariant | None
    excluded_days: frozenset[date]

    @property
    def label(self) -> str:
        """'base', or 'peak' with its window, for scorecards."""
        if self.peak is None:
            return "base"
        return f"peak {self.peak.from_:%m-%d}..{self.peak.to:%m-%d}"

    def terms(self, metric: str) -> MetricTerms | None:
        """The contract's terms for a metric on these days (peak override applied)."""
        return self.contract.metric_terms(metric, self.start)

    def days(self) -> list[date]:
        """Every day of the segment."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def segments(
    provider_id: str, versions: Sequence[Contract], first: date, last: date
) -> list[Segment]:
    """Split first..last into runs of days under one version and peak variant.

    Days before the provider's first contract is effective have no terms and no segment.
    """
    out: list[Segment] = []
    day = first
    current: tuple[Contract, PeakVariant | None] | None = None
    start = first
    excluded: set[date] = set()
    while day <= last:
        contract = contract_in_force(versions, day)
        key = None if contract is None else (contract, contract.peak_variant(day))
        if key != current:
            if current is not None:
                out.append(
                    Segment(
                        provider_id, start, day - timedelta(days=1), *current, frozenset(excluded)
                    )
                )
            current, start, excluded = key, day, set()
        if contract is not None and contract.is_excluded(day) is not None:
            excluded.add(day)
        day += timedelta(days=1)
    if current is not None:
        out.append(Segment(provider_id, start, last, *current, frozenset(excluded)))
    return out
