"""Findings (with acknowledge and resolve), inventory variance, invoice audit, data health."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import PurePath
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response

from tallyclerk.access import Principal
from tallyclerk.api._csv import export_link
from tallyclerk.api.routes.findings import visible_finding
from tallyclerk.contracts._repository import stored_contracts
from tallyclerk.errors import InputError
from tallyclerk.ingest import count_quarantine, list_quarantine, recent_batches, replay_quarantine
from tallyclerk.ingest._repository import replay_sources
from tallyclerk.metrics import open_context
from tallyclerk.reconcile import (
    CHECKS,
    DOMAINS,
    Finding,
    acknowledge,
    dispute_finding,
    list_findings,
    resolve,
)
from tallyclerk.reconcile._inventory import inventory_report
from tallyclerk.reconcile._invoice import audit_invoices
from tallyclerk.store.schema import ingestion_batches
from tallyclerk.web._common import PAGE_SIZE, Viewer, ViewerDep, is_htmx, local_path, redirect

router = APIRouter(include_in_schema=False)

STATUS_FILTERS = {
    "unresolved": ["open", "acknowledged"],
    "open": ["open"],
    "acknowledged": ["acknowledged"],
    "resolved": ["resolved"],
    "all": None,
}


def _provider_choices(viewer: Viewer) -> list[str]:
    """The providers a brand user may filter on (a provider user has only its own)."""
    if not viewer.principal.is_brand:
        return []
    with viewer.store.connect() as connection:
        return sorted({c.provider_id for c in stored_contracts(connection)})


@dataclass(frozen=True, slots=True)
class FindingView:
    """A finding as one user may see it: the brand's costs left out for a provider user."""

    finding: Finding
    title: str
    reason: str
    amount: Decimal | None


def finding_view(finding: Finding, principal: Principal) -> FindingView:
    """The finding with its reason and amount, or for a provider user without the brand's
    inventory values (an inventory finding's amount and reason are priced at unit cost)."""
    check = CHECKS.get(finding.kind)
    title = check.title if check is not None else finding.kind
    if principal.sees_costs or finding.domain != "inventory":
        return FindingView(finding, title, finding.reason, finding.amount)
    evidence = finding.evidence
    units = evidence.get("variance")
    text = f"{title}: {finding.subject_id}"
    if units is not None:
        text += f", {int(units):+,} units against the book"
    return FindingView(finding, title, text, None)


@router.get("/findings", response_class=HTMLResponse)
def findings_page(
    viewer: ViewerDep,
    domain: str | None = None,
    kind: str | None = None,
    provider: str | None = None,
    status: str = "unresolved",
    offset: int = Query(0, ge=0, le=10**9),
) -> HTMLResponse:
    """Reconciliation and audit findings, filtered; admins acknowledge and resolve them."""
    if domain and domain not in DOMAINS:
        raise InputError(f"domain {domain!r} is not one of {', '.join(DOMAINS)}")
    if kind and kind not in CHECKS:
        raise InputError(f"no finding kind {kind!r}")
    if status not in STATUS_FILTERS:
        raise InputError(f"status {status!r} is not one of {', '.join(STATUS_FILTERS)}")
    providers = viewer.scope.providers(provider or None)
    with viewer.store.connect() as connection:
        found = list_findings(
            connection,
            domains=[domain] if domain else None,
            kinds=[kind] if kind else None,
            providers=providers,
            statuses=STATUS_FILTERS[status],
            limit=PAGE_SIZE + 1,
            offset=offset,
        )
    kinds = [c for c in CHECKS.values() if not domain or c.domain == domain]
    return viewer.render(
        "findings.html",
        csv_url=export_link(
            "/api/v1/findings",
            domain=domain,
            kind=kind,
            provider=provider,
            status=STATUS_FILTERS[status],
        ),
        findings=[finding_view(f, viewer.principal) for f in found[:PAGE_SIZE]],
        more=len(found) > PAGE_SIZE,
        offset=offset,
        page_size=PAGE_SIZE,
        domains=DOMAINS,
        kinds=kinds,
        statuses=list(STATUS_FILTERS),
        providers=_provider_choices(viewer),
        chosen={
            "domain": domain or "",
            "kind": kind or "",
            "provider": provider or "",
            "status": status,
        },
    )


def _finding_in_scope(viewer: Viewer, finding_id: int) -> Finding:
    """The finding for an admin's action (404 when it does not exist)."""
    viewer.scope.require_admin()
    return visible_finding(viewer.store, finding_id, viewer.scope)


def _after_action(viewer: Viewer, finding: Finding, back: str) -> Response:
    if is_htmx(viewer.request):
        return viewer.render("_finding_row.html", v=finding_view(finding, viewer.principal))
    return redirect(viewer.request, local_path(back, "/findings"))


@router.post("/findings/{finding_id}/acknowledge", response_class=HTMLResponse)
def acknowledge_finding(
    viewer: ViewerDep, finding_id: int, back: Annotated[str, Form()] = "/findings"
) -> Response:
    """Mark a finding as seen by the admin who will act on it."""
    _finding_in_scope(viewer, finding_id)
    with viewer.store.begin() as connection:
        finding = acknowledge(connection, finding_id, by=viewer.principal.user_id)
    return _after_action(viewer, finding, back)


@router.post("/findings/{finding_id}/resolve", response_class=HTMLResponse)
def resolve_finding(
    viewer: ViewerDep,
    finding_id: int,
    resolution: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/findings",
) -> Response:
    """Close a finding with a few words on how it was resolved."""
    _finding_in_scope(viewer, finding_id)
    with viewer.store.begin() as connection:
        finding = resolve(
            connection, finding_id, by=viewer.principal.user_id, resolution=resolution
        )
    return _after_action(viewer, finding, back)


@router.post("/findings/{finding_id}/dispute")
def dispute_from_finding(
    viewer: ViewerDep, finding_id: int, note: Annotated[str, Form()] = ""
) -> Response:
    """Turn a finding into a dispute with its provider, then show the dispute."""
    _finding_in_scope(viewer, finding_id)
    _finding, dispute = dispute_finding(
        viewer.store,
        finding_id,
        by=viewer.principal.user_id,
        note=note.strip() or None,
        settings=viewer.settings,
    )
    return redirect(viewer.request, f"/disputes/{dispute.dispute_id}")


@router.get("/inventory", response_class=HTMLResponse)
def inventory_page(
    viewer: ViewerDep,
    provider: str | None = None,
    every: bool = False,
    offset: int = Query(0, ge=0, le=10**9),
) -> HTMLResponse:
    """The book against the 3PL's counts at the latest snapshots (values for brand users)."""
    providers = viewer.scope.providers(provider or None)
    with open_context(viewer.store, settings=viewer.settings) as ctx:
        report = inventory_report(ctx, providers=providers, include_all=every)
    totals = report.totals()
    return viewer.render(
        "inventory.html",
        report=report,
        totals=totals,
        positions=report.positions[offset : offset + PAGE_SIZE],
        more=len(report.positions) > offset + PAGE_SIZE,
        offset=offset,
        page_size=PAGE_SIZE,
        every=every,
        providers=_provider_choices(viewer),
        chosen_provider=provider or "",
        sees_costs=viewer.principal.sees_costs,
    )


@router.get("/invoices", response_class=HTMLResponse)
def invoices_page(viewer: ViewerDep, provider: str | None = None) -> HTMLResponse:
    """Every invoice against the rate card and the recorded activity, with its findings."""
    providers = viewer.scope.providers(provider or None)
    audit = audit_invoices(viewer.store, providers=providers, settings=viewer.settings)
    groups = [
        (kind, CHECKS[kind].title if kind in CHECKS else kind, items)
        for kind, items in audit.by_kind().items()
    ]
    return viewer.render(
        "invoices.html",
        csv_url=export_link("/api/v1/invoices/audit", provider=provider),
        audit=audit,
        totals=audit.totals(),
        groups=groups,
        shown_per_kind=25,
        providers=_provider_choices(viewer),
        chosen_provider=provider or "",
    )


@dataclass(frozen=True, slots=True)
class LatestFile:
    """The newest batch of one source (connector or file format), provider and kind."""

    source: str
    provider_id: str | None
    kind: str
    batch_id: int
    name: str
    status: str
    started_at: datetime
    stored: int
    quarantined: int


def latest_files(connection: sa.Connection, *, scan: int = 5000) -> list[LatestFile]:
    """The newest batch per source, provider and kind, among the latest `scan` batches."""
    b = ingestion_batches.c
    rows = connection.execute(
        sa.select(
            b.batch_id,
            b.source,
            b.kind,
            b.format,
            b.status,
            b.started_at,
            b.stored,
            b.quarantined,
            b.options,
        )
        .order_by(b.batch_id.desc())
        .limit(scan)
    ).mappings()
    seen: dict[tuple[str, str | None, str], LatestFile] = {}
    for row in rows:
        options: dict[str, Any] = {}
        if row["options"]:
            try:
                loaded = json.loads(row["options"])
            except ValueError:
                loaded = {}
            options = loaded if isinstance(loaded, dict) else {}
        source = str(options.get("connector") or row["format"])
        provider = options.get("provider_id")
        key = (source, provider, row["kind"])
        if key in seen:
            continue
        seen[key] = LatestFile(
            source=source,
            provider_id=provider,
            kind=row["kind"],
            batch_id=int(row["batch_id"]),
            name=PurePath(str(row["source"])).name or str(row["source"]),
            status=row["status"],
            started_at=row["started_at"],
            stored=int(row["stored"]),
            quarantined=int(row["quarantined"]),
        )
    return sorted(seen.values(), key=lambda f: (f.source, f.provider_id or "", f.kind))


@router.get("/health", response_class=HTMLResponse)
def health_page(viewer: ViewerDep, replayed: int | None = None) -> HTMLResponse:
    """Recent batches, the last file per source and provider, and the open quarantine."""
    viewer.scope.require_brand()
    with viewer.store.connect() as connection:
        batches = recent_batches(connection, limit=25)
        latest = latest_files(connection)
        held = list_quarantine(connection, limit=PAGE_SIZE)
        held_total = count_quarantine(connection)
        sources = replay_sources(connection)
    return viewer.render(
        "health.html",
        quarantine_csv_url=export_link("/api/v1/quarantine", status="open"),
        batches=batches,
        latest=latest,
        held=held,
        held_total=held_total,
        sources=sources,
        replayed=replayed,
    )


@router.post("/health/replay")
def replay(viewer: ViewerDep, batch_id: Annotated[int | None, Form()] = None) -> Response:
    """Read the quarantined records' sources again (all, or one batch's), admin only."""
    viewer.scope.require_admin()
    run = replay_quarantine(viewer.store, batch_id=batch_id, settings=viewer.settings)
    return redirect(viewer.request, f"/health?replayed={len(run.batches)}")
