"""The recorded scorecards, read back: what the dashboard, the API and the reports show.

Nothing is recomputed here. A scorecard is the latest recorded evaluation of a provider and
month (sla_runs, sla_results, sla_credit_lines), with the burn-rate states stored when the
month was still open (sla_burn) and the credits already booked in the ledger.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tallyclerk.metrics import CATALOGUE_ORDER
from tallyclerk.sla._segments import month_bounds
from tallyclerk.store.schema import credit_ledger, sla_burn, sla_credit_lines, sla_results, sla_runs

_ORDER = {name: i for i, name in enumerate(CATALOGUE_ORDER)}


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class BurnState:
    """How fast a metric was spending its error budget when its open month was evaluated."""

    state: str  # ok | warn | page | no data
    burn_short: float | None
    burn_long: float | None
    projected: float | None
    judged: int
    bad: int
    budget: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """The burn state as plain JSON values.

        JSON has no infinity: a burn rate against a zero budget (a target of 1.0 with a bad
        item) is given as null there; its state (page) and reason say what happened.
        """
        return {
            "state": self.state,
            "burn_short": _finite(self.burn_short),
            "burn_long": _finite(self.burn_long),
            "projected": _finite(self.projected),
            "judged": self.judged,
            "bad": self.bad,
            "budget": self.budget,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class MetricStanding:
    """One contracted metric of a provider over one segment of a month, as last recorded."""

    provider_id: str
    metric: str
    period: date  # first day of the month
    segment: str  # as stored, e.g. the peak variant's name
    segment_from: date
    segment_to: date
    value: float | None
    threshold: float
    lower_is_better: bool
    met: bool | None  # None: no data
    numerator: int
    denominator: int
    excluded: int
    burn: BurnState | None

    @property
    def state(self) -> str:
        """met, breached, or no data (nothing was judged: not a perfect score)."""
        if self.met is None:
            return "no data"
        return "met" if self.met else "breached"

    def as_dict(self) -> dict[str, Any]:
        """The standing as plain JSON values (dates as ISO text)."""
        return {
            "provider_id": self.provider_id,
            "metric": self.metric,
            "period": f"{self.period:%Y-%m}",
            "segment": self.segment,
            "segment_from": self.segment_from.isoformat(),
            "segment_to": self.segment_to.isoformat(),
            "value": self.value,
            "threshold": self.threshold,
            "lower_is_better": self.lower_is_better,
            "met": self.met,
            "state": self.state,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "excluded": self.excluded,
            "burn": self.burn.as_dict() if self.burn is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Scorecard:
    """A provider's month: its latest recorded evaluation, credits and booked credits."""

    provider_id: str
    period: date
    run_id: int
    evaluated_at: datetime
    as_of: datetime
    metrics: list[MetricStanding]  # catalogue order, then segment_from
    credits: Decimal  # SLA credits of the run's credit lines
    currency: str | None
    ledger_credits: Decimal  # credits booked in the ledger for the provider and month

    @property
    def breached(self) -> list[MetricStanding]:
        """The standings that missed their target."""
        return [m for m in self.metrics if m.met is False]

    @property
    def light(self) -> str:
        """red: a breach or a paging burn; amber: a burn warning; green; grey: no data at all."""
        burns = [m.burn.state for m in self.metrics if m.burn is not None]
        if self.breached or "page" in burns:
            return "red"
        if "warn" in burns:
            return "amber"
        if all(m.met is None for m in self.metrics) and all(s == "no data" for s in burns):
            return "grey"
        return "green"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _money(value: object) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(value))


def _latest_runs(
    connection: sa.Connection, period: date, providers: Sequence[str] | None
) -> dict[str, int]:
    """provider -> the latest run that recorded its results for the month."""
    r = sla_results.c
    query = (
        sa.select(r.provider_id, sa.func.max(r.run_id))
        .where(r.period == period)
        .group_by(r.provider_id)
    )
    if providers is not None:
        query = query.where(r.provider_id.in_(list(providers)))
    return {p: int(run) for p, run in connection.execute(query)}


def _latest_runs_by_month(
    connection: sa.Connection, provider_id: str, first: date, last: date
) -> dict[date, int]:
    """month -> the latest run that recorded the provider's results for it."""
    r = sla_results.c
    query = (
        sa.select(r.period, sa.func.max(r.run_id))
        .where(r.provider_id == provider_id, r.period >= first, r.period <= last)
        .group_by(r.period)
    )
    return {period: int(run) for period, run in connection.execute(query)}


def _standings(
    connection: sa.Connection, runs: Sequence[tuple[int, str]], metric: str | None = None
) -> dict[tuple[int, str], list[MetricStanding]]:
    """(run, provider) -> its standings, each with the burn of its metric where recorded."""
    if not runs:
        return {}
    wanted = set(runs)
    run_ids = sorted({run for run, _ in runs})
    provider_ids = sorted({provider for _, provider in runs})
    r = sla_results.c
    query = sa.select(sla_results).where(r.run_id.in_(run_ids), r.provider_id.in_(provider_ids))
    if metric is not None:
        query = query.where(r.metric == metric)
    b = sla_burn.c
    burn_query = sa.select(sla_burn).where(b.run_id.in_(run_ids), b.provider_id.in_(provider_ids))
    if metric is not None:
        burn_query = burn_query.where(b.metric == metric)
    burns: dict[tuple[int, str, str], BurnState] = {}
    for row in connection.execute(burn_query).mappings():
        if (int(row["run_id"]), row["provider_id"]) not in wanted:
            continue
        burns[(int(row["run_id"]), row["provider_id"], row["metric"])] = BurnState(
            state=row["state"],
            burn_short=row["burn_short"],
            burn_long=row["burn_long"],
            projected=row["projected"],
            judged=int(row["judged"]),
            bad=int(row["bad"]),
            budget=float(row["budget"]),
            reason=row["reason"],
        )
    run_clock: dict[int, datetime] = {
        int(run): _utc(as_of)
        for run, as_of in connection.execute(
            sa.select(sla_runs.c.run_id, sla_runs.c.as_of).where(sla_runs.c.run_id.in_(run_ids))
        )
    }
    rows = sorted(
        (
            m
            for m in connection.execute(query).mappings()
            if (int(m["run_id"]), m["provider_id"]) in wanted
        ),
        key=lambda m: (m["period"], _ORDER.get(m["metric"], len(_ORDER)), m["segment_from"]),
    )
    # The burn belongs to the segment running on the evaluation clock (the burn is judged
    # against the terms in force that day), else to the metric's last segment.
    holder: dict[tuple[int, str, str], date] = {}
    for row in rows:
        key = (int(row["run_id"]), row["provider_id"], row["metric"])
        first, last = month_bounds(row["period"])
        today = min(max(run_clock[key[0]].date(), first), last)
        if key not in holder or row["segment_from"] <= today:
            holder[key] = row["segment_from"]
    out: dict[tuple[int, str], list[MetricStanding]] = {}
    for row in rows:
        key = (int(row["run_id"]), row["provider_id"], row["metric"])
        out.setdefault((key[0], key[1]), []).append(
            MetricStanding(
                provider_id=row["provider_id"],
                metric=row["metric"],
                period=row["period"],
                segment=row["segment"],
                segment_from=row["segment_from"],
                segment_to=row["segment_to"],
                value=row["value"],
                threshold=float(row["threshold"]),
                lower_is_better=bool(row["lower_is_better"]),
                met=row["met"],
                numerator=int(row["numerator"]),
                denominator=int(row["denominator"]),
                excluded=int(row["excluded"]),
                burn=burns.get(key) if holder[key] == row["segment_from"] else None,
            )
        )
    return out


def periods_evaluated(
    connection: sa.Connection, *, providers: Sequence[str] | None = None
) -> list[date]:
    """Months with at least one recorded run (of the providers named), newest first."""
    if providers is None:
        query = sa.select(sla_runs.c.period).distinct()
    else:
        query = (
            sa.select(sla_results.c.period)
            .where(sla_results.c.provider_id.in_(list(providers)))
            .distinct()
        )
    return sorted(connection.execute(query).scalars(), reverse=True)


def scorecards(
    connection: sa.Connection,
    *,
    providers: Sequence[str] | None = None,
    period: date | None = None,
) -> list[Scorecard]:
    """Latest recorded evaluation of `period` (default: the latest period with any run) per
    provider, sorted by provider; providers=None means all."""
    if period is None:
        evaluated = periods_evaluated(connection, providers=providers)
        if not evaluated:
            return []
        period = evaluated[0]
    period = month_bounds(period)[0]
    latest = _latest_runs(connection, period, providers)
    if not latest:
        return []
    pairs = [(run, provider) for provider, run in latest.items()]
    standings = _standings(connection, pairs)
    runs = {
        int(row.run_id): (_utc(row.evaluated_at), _utc(row.as_of))
        for row in connection.execute(
            sa.select(sla_runs.c.run_id, sla_runs.c.evaluated_at, sla_runs.c.as_of).where(
                sla_runs.c.run_id.in_(sorted(set(latest.values())))
            )
        )
    }
    c = sla_credit_lines.c
    credit_rows = connection.execute(
        sa.select(c.run_id, c.provider_id, c.currency, sa.func.sum(c.amount))
        .where(c.run_id.in_(sorted(set(latest.values()))), c.provider_id.in_(sorted(latest)))
        .group_by(c.run_id, c.provider_id, c.currency)
    ).all()
    credits = {
        p: (cur, _money(total)) for run, p, cur, total in credit_rows if latest[p] == int(run)
    }
    booked = _booked(connection, period, sorted(latest))
    out = []
    for provider_id in sorted(latest):
        run_id = latest[provider_id]
        evaluated_at, as_of = runs[run_id]
        currency, total = credits.get(provider_id, (None, Decimal(0)))
        out.append(
            Scorecard(
                provider_id=provider_id,
                period=period,
                run_id=run_id,
                evaluated_at=evaluated_at,
                as_of=as_of,
                metrics=standings.get((run_id, provider_id), []),
                credits=total,
                currency=currency,
                ledger_credits=booked.get(provider_id, Decimal(0)),
            )
        )
    return out


def _booked(connection: sa.Connection, period: date, providers: list[str]) -> dict[str, Decimal]:
    """provider -> the credits booked in the ledger for the month."""
    ledger = credit_ledger.c
    rows = connection.execute(
        sa.select(ledger.provider_id, sa.func.sum(ledger.amount))
        .where(ledger.period == period, ledger.provider_id.in_(providers))
        .group_by(ledger.provider_id)
    )
    return {p: _money(total) for p, total in rows}


def _shift_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def metric_trend(
    connection: sa.Connection,
    *,
    provider_id: str,
    metric: str | None = None,
    months: int = 12,
    until: date | None = None,
) -> list[MetricStanding]:
    """Per month (latest run of each month), oldest first, for the months ending at `until`
    (default latest)."""
    if months < 1:
        return []
    if until is None:
        evaluated = periods_evaluated(connection, providers=[provider_id])
        if not evaluated:
            return []
        until = evaluated[0]
    last = month_bounds(until)[0]
    first = _shift_months(last, -(months - 1))
    runs = _latest_runs_by_month(connection, provider_id, first, last)
    standings = _standings(connection, [(run, provider_id) for run in runs.values()], metric)
    return [m for month in sorted(runs) for m in standings.get((runs[month], provider_id), [])]


def credit_lines(
    connection: sa.Connection, *, provider_id: str, period: date
) -> list[dict[str, Any]]:
    """The latest run's credit lines (kind, label, basis, amount, currency) of provider+period."""
    run = _latest_runs(connection, month_bounds(period)[0], [provider_id]).get(provider_id)
    if run is None:
        return []
    c = sla_credit_lines.c
    rows = connection.execute(
        sa.select(c.kind, c.label, c.basis, c.amount, c.currency)
        .where(c.run_id == run, c.provider_id == provider_id)
        .order_by(c.line_no)
    ).mappings()
    return [
        {
            "kind": row["kind"],
            "label": row["label"],
            "basis": row["basis"],
            "amount": _money(row["amount"]),
            "currency": row["currency"],
        }
        for row in rows
    ]


__all__ = [
    "BurnState",
    "MetricStanding",
    "Scorecard",
    "credit_lines",
    "metric_trend",
    "periods_evaluated",
    "scorecards",
]


@dataclass(frozen=True, slots=True)
class BurnWatch:
    """A metric's burn-rate state from the latest evaluation of a still-open month."""

    provider_id: str
    metric: str
    period: date
    as_of: datetime  # the evaluation clock the state was read at
    threshold: float
    lower_is_better: bool
    burn: BurnState

    def as_dict(self) -> dict[str, Any]:
        """The watch as plain JSON values."""
        return {
            "provider_id": self.provider_id,
            "metric": self.metric,
            "period": self.period.isoformat(),
            "as_of": self.as_of.isoformat(),
            "threshold": self.threshold,
            "lower_is_better": self.lower_is_better,
            **self.burn.as_dict(),
        }


def latest_burn(
    connection: sa.Connection, *, providers: Sequence[str] | None = None
) -> list[BurnWatch]:
    """Per provider, the burn states of its most recent run that recorded any.

    A month evaluated after it closed records no burn, so this shows the last warnings
    raised while a month was still open, with the clock they were read at.
    """
    b = sla_burn.c
    query = sa.select(b.provider_id, sa.func.max(b.run_id)).group_by(b.provider_id)
    if providers is not None:
        query = query.where(b.provider_id.in_(list(providers)))
    latest = {p: int(run) for p, run in connection.execute(query)}
    if not latest:
        return []
    clocks = {
        int(run): _utc(as_of)
        for run, as_of in connection.execute(
            sa.select(sla_runs.c.run_id, sla_runs.c.as_of).where(
                sla_runs.c.run_id.in_(sorted(set(latest.values())))
            )
        )
    }
    rows = connection.execute(
        sa.select(sla_burn).where(
            sa.or_(*(sa.and_(b.provider_id == p, b.run_id == r) for p, r in latest.items()))
        )
    )
    out = [
        BurnWatch(
            provider_id=row.provider_id,
            metric=row.metric,
            period=row.period,
            as_of=clocks[int(row.run_id)],
            threshold=float(row.threshold),
            lower_is_better=bool(row.lower_is_better),
            burn=BurnState(
                state=row.state,
                burn_short=row.burn_short,
                burn_long=row.burn_long,
                projected=row.projected,
                judged=int(row.judged),
                bad=int(row.bad),
                budget=float(row.budget),
                reason=row.reason,
            ),
        )
        for row in rows
    ]
    return sorted(out, key=lambda w: (w.provider_id, _ORDER.get(w.metric, len(_ORDER)), w.metric))
