"""Recorded SLA evaluations: runs, results, credit lines and burn rates. Nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from tallyclerk.sla._burn import BurnRate
from tallyclerk.sla._credits import PeriodCredits
from tallyclerk.sla._evaluate import MetricEvaluation, ProviderEvaluation
from tallyclerk.store.schema import sla_burn, sla_credit_lines, sla_results, sla_runs


@dataclass(frozen=True, slots=True)
class Change:
    """A figure that differs from the previous evaluation of the same period (late data)."""

    provider_id: str
    metric: str
    segment_from: date
    before: float | None
    after: float | None
    before_met: bool | None
    after_met: bool | None
    previous_run: int


def previous_results(
    connection: sa.Connection, period: date, provider_ids: list[str]
) -> dict[tuple[str, str, date], tuple[float | None, bool | None, int]]:
    """The latest recorded value per (provider, metric, segment) of a period."""
    r = sla_results.c
    latest = (
        sa.select(r.provider_id, sa.func.max(r.run_id).label("run_id"))
        .where(r.period == period, r.provider_id.in_(provider_ids))
        .group_by(r.provider_id)
        .subquery()
    )
    rows = connection.execute(
        sa.select(r.provider_id, r.metric, r.segment_from, r.value, r.met, r.run_id).join(
            latest, sa.and_(r.provider_id == latest.c.provider_id, r.run_id == latest.c.run_id)
        )
    )
    return {(p, m, s): (v, met, run) for p, m, s, v, met, run in rows}


def changes_since(
    previous: dict[tuple[str, str, date], tuple[float | None, bool | None, int]],
    evaluations: list[ProviderEvaluation],
) -> list[Change]:
    """The figures that moved since the previous run (beyond rounding noise)."""
    out = []
    for evaluation in evaluations:
        for m in evaluation.metrics:
            key = (m.provider_id, m.metric, m.segment.start)
            if key not in previous:
                continue
            before, before_met, run = previous[key]
            if _differs(before, m.value) or before_met != m.met:
                out.append(
                    Change(
                        m.provider_id,
                        m.metric,
                        m.segment.start,
                        before,
                        m.value,
                        before_met,
                        m.met,
                        run,
                    )
                )
    return out


def _differs(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is not b
    return abs(a - b) > 1e-9


def record_run(
    connection: sa.Connection,
    *,
    period: date,
    as_of: datetime,
    engine: str,
    evaluations: list[ProviderEvaluation],
    credits: list[PeriodCredits],
    burn: Sequence[BurnRate] = (),
) -> int:
    """Store a run with its results, credit lines and (open period) burn rates; returns its id."""
    run_id = int(
        connection.execute(
            sla_runs.insert()
            .values(evaluated_at=datetime.now(UTC), as_of=as_of, period=period, engine=engine)
            .returning(sla_runs.c.run_id)
        ).scalar_one()
    )
    rows = [_result_row(run_id, m) for e in evaluations for m in e.metrics]
    if rows:
        connection.execute(sla_results.insert(), rows)
    lines = [
        {
            "run_id": run_id,
            "provider_id": c.provider_id,
            "line_no": i,
            "kind": line.kind,
            "label": line.label,
            "basis": line.basis,
            "amount": line.amount.amount,
            "currency": line.amount.currency,
        }
        for c in credits
        for i, line in enumerate(c.lines, start=1)
    ]
    if lines:
        connection.execute(sla_credit_lines.insert(), lines)
    burn_rows = [_burn_row(run_id, b) for b in burn]
    if burn_rows:
        connection.execute(sla_burn.insert(), burn_rows)
    return run_id


def _result_row(run_id: int, m: MetricEvaluation) -> dict[str, object]:
    return {
        "run_id": run_id,
        "provider_id": m.provider_id,
        "metric": m.metric,
        "segment_from": m.segment.start,
        "segment_to": m.segment.end,
        "segment": m.segment.label,
        "period": m.period,
        "value": m.value,
        "numerator": m.numerator,
        "denominator": m.denominator,
        "excluded": m.excluded,
        "threshold": m.threshold,
        "lower_is_better": m.lower_is_better,
        "met": m.met,
        "contract_effective": m.segment.contract.effective,
    }


def _burn_row(run_id: int, b: BurnRate) -> dict[str, object]:
    return {
        "run_id": run_id,
        "provider_id": b.provider_id,
        "metric": b.metric,
        "period": b.period,
        "threshold": b.threshold,
        "lower_is_better": b.lower_is_better,
        "judged": b.judged,
        "bad": b.bad,
        "expected": b.expected,
        "budget": b.budget,
        "burn_short": b.burn_short,
        "burn_long": b.burn_long,
        "projected": b.projected,
        "state": b.state,
        "reason": b.reason,
    }
