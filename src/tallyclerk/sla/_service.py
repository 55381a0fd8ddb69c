"""The SLA service: evaluate a period on an engine, price the credits, watch the burn, record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from tallyclerk.metrics import Engine, open_context
from tallyclerk.metrics._engines import load_versions
from tallyclerk.settings import Settings
from tallyclerk.sla import _repository
from tallyclerk.sla._burn import BurnRate, burn_rates
from tallyclerk.sla._credits import PeriodCredits, period_credits
from tallyclerk.sla._evaluate import ProviderEvaluation, evaluate_period
from tallyclerk.sla._repository import Change
from tallyclerk.sla._segments import month_bounds
from tallyclerk.store import Store


@dataclass
class ProviderReport:
    """Everything evaluated for one provider and period."""

    evaluation: ProviderEvaluation
    credits: PeriodCredits
    burn: list[BurnRate] = field(default_factory=list)

    @property
    def provider_id(self) -> str:
        """The provider."""
        return self.evaluation.provider_id


@dataclass
class EvaluationReport:
    """A period's evaluation for every provider, with what changed since the last run."""

    period: date
    as_of: datetime
    engine: str
    providers: list[ProviderReport]
    changes: list[Change]
    run_id: int | None

    @property
    def open(self) -> bool:
        """Whether the period was still running on the evaluation clock."""
        return self.as_of.date() <= month_bounds(self.period)[1]


def evaluate(
    store: Store,
    period: date,
    *,
    providers: Sequence[str] | None = None,
    as_of: datetime | None = None,
    engine: Engine | None = None,
    record: bool = True,
    settings: Settings | None = None,
) -> EvaluationReport:
    """Evaluate `period` (a month) for every provider with a contract, or those named."""
    (report,) = evaluate_periods(
        store,
        [period],
        providers=providers,
        as_of=as_of,
        engine=engine,
        record=record,
        settings=settings,
    )
    return report


def evaluate_periods(
    store: Store,
    periods: Sequence[date],
    *,
    providers: Sequence[str] | None = None,
    as_of: datetime | None = None,
    engine: Engine | None = None,
    record: bool = True,
    settings: Settings | None = None,
) -> list[EvaluationReport]:
    """Evaluate several months on one engine session (the demo's year of scorecards)."""
    as_of = (as_of or datetime.now(UTC)).astimezone(UTC)
    with store.connect() as connection:
        versions = load_versions(connection)
    chosen = [p for p in versions if providers is None or p in providers]
    engine_name = engine or ("duckdb" if store.dialect == "duckdb" else "postgres")
    computed: list[tuple[date, list[ProviderReport]]] = []
    with open_context(store, engine=engine, as_of=as_of, settings=settings) as ctx:
        for period in periods:
            first, last = month_bounds(period)
            evaluations = evaluate_period(ctx, versions, first, chosen)
            reports = [ProviderReport(e, period_credits(ctx, e)) for e in evaluations]
            if first <= as_of.date() <= last:
                burn = burn_rates(ctx, versions, first, as_of, chosen)
                for report in reports:
                    report.burn = [b for b in burn if b.provider_id == report.provider_id]
            computed.append((first, reports))
    out = []
    with store.begin() as connection:
        for first, reports in computed:
            evaluations = [r.evaluation for r in reports]
            previous = _repository.previous_results(
                connection, first, [r.provider_id for r in reports]
            )
            changes = _repository.changes_since(previous, evaluations)
            run_id = (
                _repository.record_run(
                    connection,
                    period=first,
                    as_of=as_of,
                    engine=engine_name,
                    evaluations=evaluations,
                    credits=[r.credits for r in reports],
                    burn=[b for r in reports for b in r.burn],
                )
                if record and reports
                else None
            )
            out.append(EvaluationReport(first, as_of, engine_name, reports, changes, run_id))
    return out
