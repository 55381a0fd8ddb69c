"""Run the checks of one or more domains on an engine and keep their findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tallyclerk.errors import InputError
from tallyclerk.metrics import Engine, MetricContext, open_context
from tallyclerk.reconcile._findings import (
    CheckParams,
    Detected,
    Domain,
    Finding,
    SyncResult,
    checks_of,
    get_finding,
    link_dispute,
    list_findings,
    run_check,
    sync_findings,
)
from tallyclerk.settings import Settings
from tallyclerk.sla._disputes import Dispute, open_dispute
from tallyclerk.store import Store


@dataclass(frozen=True, slots=True)
class FindingsRun:
    """A run of checks: what was detected, what changed in the store, what is open now."""

    as_of: datetime
    domains: tuple[Domain, ...]
    providers: tuple[str, ...] | None
    detected: list[Detected]
    sync: SyncResult | None
    open_findings: list[Finding]


def detect(
    ctx: MetricContext,
    domains: Sequence[Domain],
    *,
    params: CheckParams | None = None,
    providers: Sequence[str] | None = None,
) -> list[Detected]:
    """Every finding of the domains' checks on the context (nothing stored).

    With `providers`, only findings charged to them; findings with no provider (an order
    never released) are kept only when no provider is named.
    """
    params = params or CheckParams()
    out: list[Detected] = []
    for domain in domains:
        for check in checks_of(domain):
            out += run_check(ctx, check, params)
    if providers is not None:
        wanted = set(providers)
        out = [d for d in out if d.provider_id in wanted]
    out.sort(key=lambda d: (d.domain, d.kind, d.provider_id or "", d.subject_id))
    return out


def run_findings(
    store: Store,
    domains: Sequence[Domain],
    *,
    as_of: datetime | None = None,
    providers: Sequence[str] | None = None,
    params: CheckParams | None = None,
    engine: Engine | None = None,
    record: bool = True,
    settings: Settings | None = None,
) -> FindingsRun:
    """Detect on the engine, then (with `record`) keep the findings with their lifecycle."""
    as_of = (as_of or datetime.now(UTC)).astimezone(UTC)
    with open_context(store, engine=engine, as_of=as_of, settings=settings) as ctx:
        detected = detect(ctx, domains, params=params, providers=providers)
    sync = None
    with store.begin() as connection:
        if record:
            sync = sync_findings(
                connection, detected, domains=domains, as_of=as_of, providers=providers
            )
        current = list_findings(
            connection,
            domains=list(domains),
            providers=list(providers) if providers is not None else None,
            statuses=["open", "acknowledged"],
        )
    return FindingsRun(
        as_of=as_of,
        domains=tuple(domains),
        providers=tuple(providers) if providers is not None else None,
        detected=detected,
        sync=sync,
        open_findings=current,
    )


def dispute_finding(
    store: Store,
    finding_id: int,
    *,
    by: str,
    note: str | None = None,
    settings: Settings | None = None,
) -> tuple[Finding, Dispute]:
    """Turn a finding into an open dispute with the 3PL, carrying its amount and evidence."""
    with store.begin() as connection:
        finding = get_finding(connection, finding_id)
        if finding.dispute_id is not None:
            raise InputError(f"finding {finding_id} is already disputed as {finding.dispute_id}")
        if finding.provider_id is None:
            raise InputError(
                f"finding {finding_id} is not charged to a provider, so there is nobody to "
                "dispute it with"
            )
        details = {
            "finding_id": finding.finding_id,
            "kind": finding.kind,
            "reason": finding.reason,
            "evidence": finding.evidence,
        }
        if note:
            details["note"] = note
        dispute = open_dispute(
            connection,
            provider_id=finding.provider_id,
            subject=f"{finding.kind}: {finding.reason}",
            source="finding",
            reference=finding.subject_id,
            source_ref=str(finding.finding_id),
            amount=finding.amount,
            currency=finding.currency,
            opened_by=by,
            details=details,
            settings=settings,
        )
        link_dispute(connection, finding_id, dispute.dispute_id)
        finding = get_finding(connection, finding_id)
    return finding, dispute
