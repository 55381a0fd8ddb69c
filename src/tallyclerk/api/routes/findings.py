"""Findings of reconciliation and the invoice audit, the audit itself, and inventory variance.

A provider user sees the findings charged to its provider, without the brand's costs: an
inventory finding's value at unit cost (its amount, the unit cost and the variance value in
its evidence, the money in its reason) is left out, as are the values of /inventory/variance.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from tallyclerk.access import NotFoundError, Scope
from tallyclerk.api._csv import FormatQuery, csv_response, csv_responses, paged, snapshot
from tallyclerk.api._deps import PrincipalDep, ScopeDep, ServiceState, StoreDep, service
from tallyclerk.api._models import (
    LARGEST_ID,
    NAME_PATTERN,
    TEXT_ID_PATTERN,
    AsOfQuery,
    FromQuery,
    ProviderQuery,
    Text,
    ToQuery,
    check_range,
    errors,
    parse_clock,
    parse_first_day,
    parse_last_day,
)
from tallyclerk.api._pagination import Page, PageParams, page_params
from tallyclerk.errors import InputError
from tallyclerk.metrics import open_context
from tallyclerk.reconcile import (
    CHECKS,
    Finding,
    acknowledge,
    count_findings,
    get_finding,
    list_findings,
    resolve,
)
from tallyclerk.reconcile._inventory import SkuPosition, inventory_report
from tallyclerk.reconcile._invoice import AuditedFinding, InvoiceSummary, audit_invoices
from tallyclerk.store import Store

router = APIRouter(prefix="/api/v1", tags=["findings"])

Paging = Annotated[PageParams, Depends(page_params)]
State = Annotated[ServiceState, Depends(service)]
FindingIdPath = Annotated[int, Path(ge=1, le=LARGEST_ID, description="The finding's id.")]

# What of an inventory finding is the brand's cost, hidden from provider users.
_COST_EVIDENCE = ("unit_cost", "variance_value")
_MONEY_IN_TEXT = re.compile(r" \((?:[A-Z]{3} )?-?[\d,]+\.\d{2}\)| \(no unit cost\)")


class FindingOut(BaseModel):
    """A problem found by reconciliation or the invoice audit, with its lifecycle."""

    finding_id: int
    domain: str  # handoff | inventory | invoice
    kind: str
    title: str
    provider_id: str | None
    facility_id: str | None
    subject_kind: str
    subject_id: str
    since: datetime | None
    reason: str
    amount: Decimal | None
    currency: str | None
    evidence: dict[str, Any]
    status: str  # open | acknowledged | resolved
    first_detected_at: datetime
    last_detected_at: datetime
    last_as_of: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    dispute_id: str | None


class Resolution(BaseModel):
    """How a finding was resolved, in a few words."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"resolution": "credit note CN-0042 received from the 3PL"}]
        },
    )

    resolution: Text


class InvoiceOut(BaseModel):
    """One invoice: what was billed against what the rate card and the activity call for."""

    provider_id: str
    invoice_id: str
    invoice_date: date | None
    period_start: date | None
    period_end: date | None
    currency: str
    lines: int
    billed: str
    expected: str
    over_billed: str
    under_billed: str
    unbilled: str
    net: str
    findings: dict[str, int]

    @classmethod
    def of(cls, s: InvoiceSummary) -> InvoiceOut:
        """The API form of an invoice's figures (money as text, 2 decimals)."""
        return cls(
            provider_id=s.provider_id,
            invoice_id=s.invoice_id,
            invoice_date=s.invoice_date,
            period_start=s.period_start,
            period_end=s.period_end,
            currency=s.currency,
            lines=s.lines,
            billed=str(s.billed),
            expected=str(s.expected),
            over_billed=str(s.over_billed),
            under_billed=str(s.under_billed),
            unbilled=str(s.unbilled),
            net=str(s.net),
            findings=dict(s.findings),
        )


class AuditFindingOut(BaseModel):
    """A finding of the invoice audit (finding_id and status once recorded by a run)."""

    finding_id: int | None
    status: str | None
    dispute_id: str | None
    kind: str
    provider_id: str | None
    facility_id: str | None
    subject_kind: str
    subject_id: str
    since: datetime | None
    amount: str | None
    currency: str | None
    reason: str
    evidence: dict[str, Any]

    @classmethod
    def of(cls, f: AuditedFinding) -> AuditFindingOut:
        """The API form of an audit finding."""
        d = f.detected
        document = f.as_dict()
        return cls(
            finding_id=f.finding_id,
            status=f.status,
            dispute_id=f.dispute_id,
            kind=d.kind,
            provider_id=d.provider_id,
            facility_id=d.facility_id,
            subject_kind=d.subject_kind,
            subject_id=d.subject_id,
            since=d.since,
            amount=document["amount"],
            currency=d.currency,
            reason=d.reason,
            evidence=document["evidence"],
        )


class InvoiceAuditOut(BaseModel):
    """The invoice audit: per invoice, totals per currency, and the findings behind them."""

    as_of: datetime
    invoices: list[InvoiceOut]
    totals: dict[str, dict[str, str]]
    findings: list[AuditFindingOut]


class SkuVarianceOut(BaseModel):
    """A (facility, SKU) at its latest snapshot: the book against the 3PL's count.

    The values at unit cost (unit_cost, variance_value) are null for provider users.
    """

    provider_id: str
    facility_id: str
    sku: str
    as_of: datetime
    snapshot_date: date | None
    book: int
    on_hand: int
    reported_on_hand: int | None
    variance: int
    unit_cost: Decimal | None
    variance_value: Decimal | None
    currency: str
    tolerance_units: int
    within_tolerance: bool
    snapshots: int
    snapshots_short: int
    short_since: datetime | None
    short_run: int
    deepened: int
    recovered: int
    out_since: datetime | None
    out_run: int
    first_gap_at: datetime | None
    first_gap_date: date | None
    unapproved_total: int
    drift_per_30_days: float | None
    drifting: bool
    trend: str

    @classmethod
    def of(cls, p: SkuPosition, *, costs: bool) -> SkuVarianceOut:
        """The API form of a position (without its values at cost unless `costs`)."""
        fields = {name: getattr(p, name) for name in p.__slots__}
        if not costs:
            fields["unit_cost"] = None
            fields["variance_value"] = None
        return cls(**fields, trend=p.trend)


class InventoryVarianceOut(BaseModel):
    """The inventory book against the 3PL's counts (money at stake first, for the brand)."""

    as_of: datetime
    checked: int
    skus_listed: int
    out_of_tolerance: int
    drifting: int
    units_short: int
    units_over: int
    net_value: dict[str, Decimal] | None  # per currency; null for provider users
    value_at_stake: dict[str, Decimal] | None
    skus: list[SkuVarianceOut]


def finding_out(finding: Finding, scope: Scope) -> FindingOut:
    """A stored finding as the asker may see it (no brand costs for a provider user)."""
    amount = finding.amount
    evidence = dict(finding.evidence)
    reason = finding.reason
    if finding.domain == "inventory" and not scope.principal.sees_costs:
        amount = None
        for name in _COST_EVIDENCE:
            evidence.pop(name, None)
        reason = _MONEY_IN_TEXT.sub("", reason)
    check = CHECKS.get(finding.kind)
    return FindingOut(
        finding_id=finding.finding_id,
        domain=finding.domain,
        kind=finding.kind,
        title=check.title if check is not None else finding.kind,
        provider_id=finding.provider_id,
        facility_id=finding.facility_id,
        subject_kind=finding.subject_kind,
        subject_id=finding.subject_id,
        since=finding.since,
        reason=reason,
        amount=amount,
        currency=finding.currency,
        evidence=evidence,
        status=finding.status,
        first_detected_at=finding.first_detected_at,
        last_detected_at=finding.last_detected_at,
        last_as_of=finding.last_as_of,
        acknowledged_at=finding.acknowledged_at,
        acknowledged_by=finding.acknowledged_by,
        resolved_at=finding.resolved_at,
        resolved_by=finding.resolved_by,
        resolution=finding.resolution,
        dispute_id=finding.dispute_id,
    )


def visible_finding(opened: Store, finding_id: int, scope: Scope) -> Finding:
    """The finding, or NotFound when there is none the asker may see."""
    with opened.connect() as connection:
        try:
            finding = get_finding(connection, finding_id)
        except InputError:
            raise NotFoundError(f"no finding {finding_id}") from None
    scope.check(finding.provider_id, "finding")  # one charged to nobody is the brand's
    return finding


@router.get(
    "/findings",
    response_model=Page[FindingOut],
    summary="List findings",
    description="Findings of reconciliation (hand-offs, inventory) and the invoice audit, "
    "oldest problem first, filtered by domain, kind, provider and status (repeat `status` "
    "for several). A provider user sees the findings charged to it, without the brand's "
    "costs. `format=csv`: every matching finding as a CSV download.",
    responses={**errors(404, 422), **csv_responses()},
)
def list_all(
    scope: ScopeDep,
    opened: StoreDep,
    paging: Paging,
    domain: Annotated[
        Literal["handoff", "inventory", "invoice"] | None, Query(description="Only this domain.")
    ] = None,
    kind: Annotated[
        str | None, Query(pattern=NAME_PATTERN, description="Only this kind of finding.")
    ] = None,
    provider: ProviderQuery = None,
    status: Annotated[
        list[Literal["open", "acknowledged", "resolved"]] | None,
        Query(description="Only this status (repeat it for several)."),
    ] = None,
    fmt: FormatQuery = "json",
) -> Page[FindingOut] | Response:
    """The findings, a page at a time (or all of them as CSV)."""
    chosen = scope.providers(provider)
    filters: dict[str, list[str] | None] = {
        "domains": [domain] if domain else None,
        "kinds": [kind] if kind else None,
        "providers": chosen,
        "statuses": sorted(set(status)) if status else None,
    }
    if fmt == "csv":
        with snapshot(opened) as connection:
            every = paged(
                lambda limit, offset: list_findings(
                    connection, **filters, limit=limit, offset=offset
                )
            )
            return csv_response("findings", FindingOut, (finding_out(f, scope) for f in every))
    with opened.connect() as connection:
        total = count_findings(connection, **filters)
        found = list_findings(connection, **filters, limit=paging.limit, offset=paging.offset)
    return Page[FindingOut].of([finding_out(f, scope) for f in found], total, paging)


@router.get(
    "/findings/{finding_id}",
    response_model=FindingOut,
    summary="One finding",
    description="A finding with its evidence and lifecycle.",
    responses=errors(404, 422),
)
def one(finding_id: FindingIdPath, scope: ScopeDep, opened: StoreDep) -> FindingOut:
    """The finding."""
    return finding_out(visible_finding(opened, finding_id, scope), scope)


@router.post(
    "/findings/{finding_id}/acknowledge",
    response_model=FindingOut,
    summary="Acknowledge a finding",
    description="Mark the finding as seen by someone who will act on it. Admin only.",
    responses=errors(400, 403, 404, 422),
)
def acknowledge_finding(
    finding_id: FindingIdPath, principal: PrincipalDep, scope: ScopeDep, opened: StoreDep
) -> FindingOut:
    """Acknowledge the finding."""
    scope.require_admin()
    visible_finding(opened, finding_id, scope)
    with opened.begin() as connection:
        finding = acknowledge(connection, finding_id, by=principal.user_id)
    return finding_out(finding, scope)


@router.post(
    "/findings/{finding_id}/resolve",
    response_model=FindingOut,
    summary="Resolve a finding",
    description="Close the finding with how it was resolved; a later reconciliation run "
    "does not reopen it. Admin only.",
    responses=errors(400, 403, 404, 422),
)
def resolve_finding(
    finding_id: FindingIdPath,
    body: Resolution,
    principal: PrincipalDep,
    scope: ScopeDep,
    opened: StoreDep,
) -> FindingOut:
    """Resolve the finding."""
    scope.require_admin()
    visible_finding(opened, finding_id, scope)
    with opened.begin() as connection:
        finding = resolve(connection, finding_id, by=principal.user_id, resolution=body.resolution)
    return finding_out(finding, scope)


def _overlaps(s: InvoiceSummary, first: date | None, last: date | None) -> bool:
    start = s.period_start or s.invoice_date
    end = s.period_end or s.invoice_date
    if first is not None and end is not None and end < first:
        return False
    return not (last is not None and start is not None and start > last)


def _in_window(
    f: AuditedFinding, invoices: set[str], first: date | None, last: date | None
) -> bool:
    """A line finding goes with its invoice; activity never billed with its own date."""
    if f.invoice_id is not None:
        return f.invoice_id in invoices
    day = f.detected.evidence.get("activity_date")
    if day is None:
        return first is None and last is None
    moment = date.fromisoformat(str(day)[:10])
    return (first is None or moment >= first) and (last is None or moment <= last)


@router.get(
    "/invoices/audit",
    response_model=InvoiceAuditOut,
    summary="Invoice audit",
    description="Every invoice line against the contract's rates and the recorded "
    "activity: per invoice what was billed, what is owed, over- and under-billed, and the "
    "findings (wrong rate, quantity, amount, duplicates, unknown references, activity "
    "never billed). `from`/`to` keep the invoices whose billing period overlaps them. "
    "Nothing is recorded (reconcile runs keep findings). Money is text with 2 decimals. "
    "`format=csv`: the invoices, one row each, as a CSV download.",
    responses={**errors(400, 404, 422), **csv_responses()},
)
def invoice_audit(
    scope: ScopeDep,
    opened: StoreDep,
    state: State,
    provider: ProviderQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
    invoice: Annotated[
        str | None, Query(pattern=TEXT_ID_PATTERN, description="Only this invoice.")
    ] = None,
    as_of: AsOfQuery = None,
    fmt: FormatQuery = "json",
) -> InvoiceAuditOut | Response:
    """The audit of the invoices in the window (or its invoices as CSV)."""
    chosen = scope.providers(provider)
    first, last = parse_first_day(start), parse_last_day(end)
    check_range(first, last)
    report = audit_invoices(
        opened,
        [invoice] if invoice else None,
        as_of=parse_clock(as_of),
        providers=chosen,
        record=False,
        settings=state.settings,
    )
    invoices = [s for s in report.invoices if _overlaps(s, first, last)]
    if fmt == "csv":
        return csv_response("invoice-audit", InvoiceOut, (InvoiceOut.of(s) for s in invoices))
    kept = {s.invoice_id for s in invoices}
    audited = [f for f in report.findings if _in_window(f, kept, first, last)]
    totals: dict[str, dict[str, Decimal]] = {}
    for s in invoices:
        t = totals.setdefault(
            s.currency, {k: Decimal("0.00") for k in ("billed", "expected", "over", "under", "net")}
        )
        t["billed"] += s.billed
        t["expected"] += s.expected
        t["over"] += s.over_billed
        t["under"] += s.under_billed
        t["net"] += s.net
    return InvoiceAuditOut(
        as_of=report.as_of,
        invoices=[InvoiceOut.of(s) for s in invoices],
        totals={c: {k: str(v) for k, v in t.items()} for c, t in totals.items()},
        findings=[AuditFindingOut.of(f) for f in audited],
    )


@router.get(
    "/inventory/variance",
    response_model=InventoryVarianceOut,
    summary="Inventory book against the 3PL's counts",
    description="Per (facility, SKU) at the latest snapshot: the book (first count + "
    "stocked receipts - shipped + restocked returns + approved adjustments), the 3PL's "
    "count, the variance and its trend. By default only the SKUs off the book or "
    "drifting (`all=true`: every SKU). A provider user gets quantities, not values.",
    responses=errors(400, 404, 422),
)
def inventory_variance(
    scope: ScopeDep,
    opened: StoreDep,
    state: State,
    provider: ProviderQuery = None,
    facility: Annotated[
        str | None, Query(pattern=NAME_PATTERN, description="Only this facility.")
    ] = None,
    sku: Annotated[str | None, Query(pattern=TEXT_ID_PATTERN, description="Only this SKU.")] = None,
    include_all: Annotated[
        bool, Query(alias="all", description="Also the SKUs within tolerance.")
    ] = False,
    as_of: AsOfQuery = None,
) -> InventoryVarianceOut:
    """The inventory variance."""
    chosen = scope.providers(provider)
    costs = scope.principal.sees_costs
    with open_context(opened, as_of=parse_clock(as_of), settings=state.settings) as ctx:
        report = inventory_report(
            ctx,
            providers=chosen,
            facilities=[facility] if facility else None,
            skus=[sku] if sku else None,
            include_all=include_all,
        )
    totals = report.totals()
    return InventoryVarianceOut(
        as_of=report.as_of,
        checked=report.checked,
        skus_listed=totals["skus"],
        out_of_tolerance=totals["out_of_tolerance"],
        drifting=totals["drifting"],
        units_short=totals["units_short"],
        units_over=totals["units_over"],
        net_value=totals["net_value"] if costs else None,
        value_at_stake=totals["value_at_stake"] if costs else None,
        skus=[SkuVarianceOut.of(p, costs=costs) for p in report.positions],
    )


__all__ = ["FindingOut", "finding_out", "router", "visible_finding"]
