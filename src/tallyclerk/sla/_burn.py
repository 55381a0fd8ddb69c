"""Burn-rate warnings for the open period: see a breach coming days before the month closes.

The error budget of a metric is what its contract allows to go wrong over the period:
(1 - target) x expected volume, or max x expected volume for lower-is-better metrics.
The burn rate over a window is the window's error rate divided by the allowed rate: 1 spends
the budget exactly by the end of the period. As SLO tooling does, a warning needs a fast
burn over a short AND a long window at once (a single bad day alone does not page).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tallyclerk.contracts import Contract, contract_in_force
from tallyclerk.metrics import REGISTRY, MetricContext, get_metric
from tallyclerk.sla._segments import month_bounds

SHORT_WINDOW_DAYS = 1
LONG_WINDOW_DAYS = 7
PAGE_BURN = 2.0  # both windows spending the budget at twice the sustainable pace
WARN_BURN = 1.0


@dataclass(frozen=True, slots=True)
class BurnRate:
    """How fast one metric of one provider is spending its error budget this period."""

    provider_id: str
    metric: str
    period: date
    threshold: float
    lower_is_better: bool
    judged: int  # items decided so far this period
    bad: int  # of which went wrong
    expected: float  # items expected by the end of the period
    budget: float  # bad items the contract allows over the period
    burn_short: float | None
    burn_long: float | None
    projected: float | None  # the value expected at the end of the period
    state: str  # ok | warn | page | no data
    reason: str


def _burn(bad: int, judged: int, allowed: float) -> float | None:
    if judged == 0:
        return None
    rate = bad / judged
    if allowed <= 0:
        return float("inf") if bad else 0.0
    return rate / allowed


def burn_rates(
    ctx: MetricContext,
    versions: dict[str, list[Contract]],
    period: date,
    as_of: datetime,
    providers: Sequence[str] | None = None,
) -> list[BurnRate]:
    """Burn rates of every contracted rate metric for the period holding `as_of`."""
    first, last = month_bounds(period)
    today = min(max(as_of.date(), first), last)
    elapsed = (today - first).days + 1
    total_days = (last - first).days + 1
    out: list[BurnRate] = []
    for provider_id in sorted(versions):
        if providers is not None and provider_id not in providers:
            continue
        contract = contract_in_force(versions[provider_id], today)
        if contract is None:
            continue
        for name in contract.metrics:
            if name not in REGISTRY or get_metric(name).quantile is not None:
                continue
            terms = contract.metric_terms(name, today)
            if terms is None:
                continue
            daily = _daily(ctx, name, provider_id, first, today, contract)
            out.append(
                _assess(
                    provider_id,
                    name,
                    first,
                    terms.threshold,
                    terms.lower_is_better,
                    daily,
                    today,
                    elapsed,
                    total_days,
                )
            )
    return out


def _daily(
    ctx: MetricContext, name: str, provider_id: str, first: date, today: date, contract: Contract
) -> dict[date, tuple[int, int]]:
    """day -> (numerator, denominator) of the provider's judged items, exclusions left out."""
    items = get_metric(name).items(ctx)
    mine = items.filter(
        (items.provider_id == provider_id)
        & (items.period_date >= first)
        & (items.period_date <= today)
    )
    grouped = mine.group_by(day=mine.period_date).aggregate(
        numerator=mine.hit.ifelse(1, 0).cast("int64").sum(), denominator=mine.count()
    )
    out: dict[date, tuple[int, int]] = {}
    for row in grouped.to_pyarrow().to_pylist():
        if contract.is_excluded(row["day"]) is None:
            out[row["day"]] = (int(row["numerator"] or 0), int(row["denominator"]))
    return out


def _assess(
    provider_id: str,
    metric: str,
    period: date,
    threshold: float,
    lower_is_better: bool,
    daily: dict[date, tuple[int, int]],
    today: date,
    elapsed: int,
    total_days: int,
) -> BurnRate:
    # Windows end on the latest day with decided items: today's deadlines mostly lie ahead.
    latest = max(daily) if daily else today

    def window(days: int) -> tuple[int, int]:
        start = latest - timedelta(days=days - 1)
        bad = judged = 0
        for day, (numerator, denominator) in daily.items():
            if start <= day <= latest:
                judged += denominator
                bad += numerator if lower_is_better else denominator - numerator
        return bad, judged

    bad, judged = window(elapsed + 1)
    allowed = threshold if lower_is_better else 1.0 - threshold
    if judged == 0:
        return BurnRate(
            provider_id,
            metric,
            period,
            threshold,
            lower_is_better,
            0,
            0,
            0.0,
            0.0,
            None,
            None,
            None,
            "no data",
            "nothing judged yet this period",
        )
    expected = judged * total_days / elapsed
    budget = allowed * expected
    short_bad, short_judged = window(SHORT_WINDOW_DAYS)
    long_bad, long_judged = window(LONG_WINDOW_DAYS)
    burn_short = _burn(short_bad, short_judged, allowed)
    burn_long = _burn(long_bad, long_judged, allowed)
    long_rate = long_bad / long_judged if long_judged else bad / judged
    projected_bad = bad + long_rate * (expected - judged)
    projected_fail_share = projected_bad / expected
    projected = projected_fail_share if lower_is_better else 1.0 - projected_fail_share
    misses = projected > threshold if lower_is_better else projected < threshold
    pace = (
        f"burning {burn_long:.1f}x the budget over {LONG_WINDOW_DAYS} days and "
        f"{burn_short:.1f}x over the last {SHORT_WINDOW_DAYS} day"
        if burn_short is not None and burn_long is not None
        else "too little recent data to measure the pace"
    )
    outlook = f"projected {projected:.4f} vs {threshold} at the end of {period:%Y-%m}"
    if bad >= budget and bad > 0:
        state, reason = "page", f"error budget spent: {bad} bad of {budget:.0f} allowed; {outlook}"
    elif (burn_short or 0) >= PAGE_BURN and (burn_long or 0) >= PAGE_BURN:
        state, reason = "page", f"{pace}; {outlook}"
    elif ((burn_short or 0) >= WARN_BURN and (burn_long or 0) >= WARN_BURN) or misses:
        state, reason = "warn", f"{pace}; {outlook}"
    else:
        state, reason = "ok", f"{pace}; {outlook}"
    return BurnRate(
        provider_id,
        metric,
        period,
        threshold,
        lower_is_better,
        judged,
        bad,
        expected,
        budget,
        burn_short,
        burn_long,
        projected,
        state,
        reason,
    )


__all__ = ["BurnRate", "burn_rates"]
