"""Disputes with the 3PLs (open, answer, resolve, comment) and the credit ledger.

The brand's admins open and resolve disputes; a provider's users answer their own (accept,
reject with a reason, or counter with an amount) by the response deadline, which the
dispute response KPI reads. The workflow's own checks decide who may take which step.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from tallyclerk.access import NotFoundError, Scope
from tallyclerk.api._csv import FormatQuery, csv_response, csv_responses, paged, snapshot
from tallyclerk.api._deps import PrincipalDep, ScopeDep, ServiceState, StoreDep, service
from tallyclerk.api._models import (
    LARGEST_ID,
    MONTH_PATTERN,
    NAME_PATTERN,
    MonthQuery,
    ProviderQuery,
    ShortText,
    Text,
    errors,
    parse_month,
)
from tallyclerk.api._pagination import Page, PageParams, page_params
from tallyclerk.api.routes.findings import visible_finding
from tallyclerk.contracts._repository import stored_contracts
from tallyclerk.errors import InputError
from tallyclerk.metrics import CATALOGUE_ORDER
from tallyclerk.reconcile import dispute_finding
from tallyclerk.sla import (
    Dispute,
    DisputeEvent,
    LedgerEntry,
    answer_dispute,
    comment_dispute,
    count_disputes,
    dispute_events,
    get_dispute,
    ledger,
    list_disputes,
    open_dispute,
    open_from_breach,
    open_from_credit,
    resolve_dispute,
)
from tallyclerk.store import Store

router = APIRouter(prefix="/api/v1", tags=["disputes"])

Paging = Annotated[PageParams, Depends(page_params)]
State = Annotated[ServiceState, Depends(service)]
DisputeIdPath = Annotated[
    str, Path(pattern=NAME_PATTERN, description="The dispute's id.", examples=["DSP-000001"])
]
Amount = Annotated[Decimal, Field(ge=0, le=10**12, max_digits=18, decimal_places=4)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Period = Annotated[str, Field(pattern=MONTH_PATTERN, examples=["2026-02"])]
ProviderId = Annotated[str, Field(pattern=NAME_PATTERN)]


class DisputeEventOut(BaseModel):
    """One step of a dispute: who did what, and the status it left the dispute in."""

    event_id: int
    occurred_at: datetime
    actor: str
    role: str | None
    action: str
    status: str
    amount: Decimal | None
    note: str | None

    @classmethod
    def of(cls, event: DisputeEvent) -> DisputeEventOut:
        """The API form of a dispute step."""
        return cls(
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            actor=event.actor,
            role=event.role,
            action=event.action,
            status=event.status,
            amount=event.amount,
            note=event.note,
        )


class DisputeOut(BaseModel):
    """A dispute: what is challenged, where it came from, the answer and the resolution."""

    dispute_id: str
    provider_id: str
    status: str  # open | accepted | rejected | countered | resolved
    subject: str
    reference: str | None
    amount: Decimal | None
    currency: str | None
    period: str | None  # YYYY-MM: the month a credit belongs to
    source: str | None  # finding | sla_breach | credit | manual
    source_ref: str | None
    opened_at: datetime
    opened_by: str | None
    response_due_at: datetime | None
    overdue: bool  # still unanswered after its deadline
    responded_at: datetime | None
    responded_by: str | None
    answer: str | None
    answer_note: str | None
    counter_amount: Decimal | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    credited_amount: Decimal | None
    details: dict[str, Any]

    @classmethod
    def fields_of(cls, d: Dispute) -> dict[str, Any]:
        """The fields of a stored dispute."""
        return {
            "dispute_id": d.dispute_id,
            "provider_id": d.provider_id,
            "status": d.status,
            "subject": d.subject,
            "reference": d.reference,
            "amount": d.amount,
            "currency": d.currency,
            "period": f"{d.period:%Y-%m}" if d.period else None,
            "source": d.source,
            "source_ref": d.source_ref,
            "opened_at": d.opened_at,
            "opened_by": d.opened_by,
            "response_due_at": d.response_due_at,
            "overdue": d.overdue(datetime.now(UTC)),
            "responded_at": d.responded_at,
            "responded_by": d.responded_by,
            "answer": d.answer,
            "answer_note": d.answer_note,
            "counter_amount": d.counter_amount,
            "resolved_at": d.resolved_at,
            "resolved_by": d.resolved_by,
            "resolution": d.resolution,
            "credited_amount": d.credited_amount,
            "details": d.details,
        }

    @classmethod
    def of(cls, d: Dispute) -> DisputeOut:
        """The API form of a stored dispute."""
        return cls(**cls.fields_of(d))


class DisputeDetail(DisputeOut):
    """A dispute with its history."""

    events: list[DisputeEventOut]


class ManualDispute(BaseModel):
    """A dispute opened by hand: a provider, what is challenged, and the amount claimed."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: Literal["manual"] = Field(alias="from")
    provider_id: ProviderId
    subject: ShortText
    amount: Amount | None = None
    currency: Currency | None = None
    reference: ShortText | None = None
    period: Period | None = None
    note: Text | None = None


class BreachDispute(BaseModel):
    """A dispute of a recorded SLA breach (claims the breach's tier credit)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: Literal["breach"] = Field(alias="from")
    provider_id: ProviderId
    metric: Annotated[str, Field(pattern=NAME_PATTERN)]
    period: Period
    note: Text | None = None


class CreditDispute(BaseModel):
    """A claim of a month's SLA credits (default: those of its latest evaluation)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: Literal["credit"] = Field(alias="from")
    provider_id: ProviderId
    period: Period
    amount: Amount | None = None
    note: Text | None = None


class FindingDispute(BaseModel):
    """A dispute of a finding (an invoice-audit or reconciliation finding), with its amount."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: Literal["finding"] = Field(alias="from")
    finding_id: Annotated[int, Field(ge=1, le=LARGEST_ID)]
    note: Text | None = None


NewDispute = Annotated[
    ManualDispute | BreachDispute | CreditDispute | FindingDispute,
    Field(discriminator="source"),
]
_NEW_EXAMPLES = {
    "manual": {
        "summary": "By hand",
        "value": {
            "from": "manual",
            "provider_id": "westcoast",
            "subject": "Pallet damaged at receiving, ASN-7",
            "amount": "180.00",
            "currency": "USD",
            "period": "2026-03",
        },
    },
    "breach": {
        "summary": "From a recorded SLA breach",
        "value": {
            "from": "breach",
            "provider_id": "eastbridge",
            "metric": "ship_on_time_rate",
            "period": "2026-02",
        },
    },
    "credit": {
        "summary": "Claim a month's SLA credits",
        "value": {"from": "credit", "provider_id": "eastbridge", "period": "2026-02"},
    },
    "finding": {
        "summary": "From a finding",
        "value": {"from": "finding", "finding_id": 12, "note": "billed twice"},
    },
}


class AnswerIn(BaseModel):
    """The provider's answer: accept, reject (with the reason) or counter (with an amount)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"answer": "accept"},
                {"answer": "reject", "note": "the order shipped on time; see the 945"},
                {"answer": "counter", "counter_amount": "90.00", "note": "half: carrier delay"},
            ]
        },
    )

    answer: Literal["accept", "reject", "counter"]
    note: Text | None = None
    counter_amount: Amount | None = None


class ResolveIn(BaseModel):
    """The brand closes the dispute: credited (booked in the ledger), upheld or withdrawn."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"resolution": "credited", "note": "credit note CN-0042"},
                {"resolution": "credited", "amount": "90.00"},
                {"resolution": "withdrawn", "note": "our mistake"},
            ]
        },
    )

    resolution: Literal["credited", "withdrawn", "upheld"]
    amount: Amount | None = None
    note: Text | None = None


class CommentIn(BaseModel):
    """A note added to a dispute's history."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "photos of the damaged pallet attached"}]},
    )

    note: Annotated[Text, Field(min_length=1)]


class CreditEntryOut(BaseModel):
    """One booked credit a provider owes the brand."""

    entry_id: int
    provider_id: str
    period: str  # YYYY-MM
    amount: Decimal
    currency: str
    source: str  # dispute | sla_credit | adjustment
    source_ref: str | None
    recorded_at: datetime
    recorded_by: str | None
    note: str | None

    @classmethod
    def of(cls, entry: LedgerEntry) -> CreditEntryOut:
        """The API form of a ledger entry."""
        return cls(
            entry_id=entry.entry_id,
            provider_id=entry.provider_id,
            period=f"{entry.period:%Y-%m}",
            amount=entry.amount,
            currency=entry.currency,
            source=entry.source,
            source_ref=entry.source_ref,
            recorded_at=entry.recorded_at,
            recorded_by=entry.recorded_by,
            note=entry.note,
        )


def _visible(opened: Store, dispute_id: str, scope: Scope) -> Dispute:
    with opened.connect() as connection:
        try:
            dispute = get_dispute(connection, dispute_id)
        except InputError:
            raise NotFoundError(f"no dispute {dispute_id!r}") from None
    scope.check(dispute.provider_id, "dispute")
    return dispute


def _month(text: str) -> date:
    month = parse_month(text)
    assert month is not None
    return month


@router.get(
    "/disputes",
    response_model=Page[DisputeOut],
    summary="List disputes",
    description="Disputes, newest first, by provider and status. A provider user sees its "
    "own. `format=csv`: every matching dispute as a CSV download.",
    responses={**errors(404, 422), **csv_responses()},
)
def disputes(
    scope: ScopeDep,
    opened: StoreDep,
    paging: Paging,
    provider: ProviderQuery = None,
    status: Annotated[
        Literal["open", "accepted", "rejected", "countered", "resolved"] | None,
        Query(description="Only this status."),
    ] = None,
    fmt: FormatQuery = "json",
) -> Page[DisputeOut] | Response:
    """The disputes, a page at a time (or all of them as CSV)."""
    chosen = scope.providers(provider)
    if fmt == "csv":
        with snapshot(opened) as connection:
            every = paged(
                lambda limit, offset: list_disputes(
                    connection, providers=chosen, status=status, limit=limit, offset=offset
                )
            )
            return csv_response("disputes", DisputeOut, (DisputeOut.of(d) for d in every))
    with opened.connect() as connection:
        total = count_disputes(connection, providers=chosen, status=status)
        found = list_disputes(
            connection, providers=chosen, status=status, limit=paging.limit, offset=paging.offset
        )
    return Page[DisputeOut].of([DisputeOut.of(d) for d in found], total, paging)


@router.get(
    "/disputes/{dispute_id}",
    response_model=DisputeDetail,
    summary="One dispute",
    description="A dispute with every step of its history.",
    responses=errors(404, 422),
)
def one_dispute(dispute_id: DisputeIdPath, scope: ScopeDep, opened: StoreDep) -> DisputeDetail:
    """The dispute and its history."""
    dispute = _visible(opened, dispute_id, scope)
    with opened.connect() as connection:
        events = dispute_events(connection, dispute_id)
    return DisputeDetail(
        **DisputeOut.fields_of(dispute), events=[DisputeEventOut.of(e) for e in events]
    )


def _known_provider(opened: Store, provider_id: str) -> None:
    with opened.connect() as connection:
        if not stored_contracts(connection, provider_id):
            raise InputError(f"no provider {provider_id!r} (add its contract first)")


@router.post(
    "/disputes",
    response_model=DisputeOut,
    status_code=201,
    summary="Open a dispute",
    description="Open a dispute with a provider: by hand (`from: manual`), from a recorded "
    "SLA breach (`breach`: claims its tier credit), from a month's SLA credits (`credit`) "
    "or from a finding (`finding`: carries its amount and evidence). The provider's answer "
    "is due by the contract's business days. Admin only.",
    responses=errors(400, 403, 404, 422),
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"examples": _NEW_EXAMPLES}},
        }
    },
)
def new_dispute(
    body: NewDispute, principal: PrincipalDep, scope: ScopeDep, opened: StoreDep, state: State
) -> DisputeOut:
    """Open the dispute."""
    scope.require_admin()
    if isinstance(body, FindingDispute):
        visible_finding(opened, body.finding_id, scope)
        _, dispute = dispute_finding(
            opened,
            body.finding_id,
            by=principal.user_id,
            note=body.note,
            settings=state.settings,
        )
        return DisputeOut.of(dispute)
    _known_provider(opened, body.provider_id)
    with opened.begin() as connection:
        if isinstance(body, BreachDispute):
            if body.metric not in CATALOGUE_ORDER:
                raise InputError(f"unknown metric {body.metric!r} (see GET /api/v1/kpis)")
            dispute = open_from_breach(
                connection,
                provider_id=body.provider_id,
                metric=body.metric,
                period=_month(body.period),
                by=principal,
                note=body.note,
                settings=state.settings,
            )
        elif isinstance(body, CreditDispute):
            dispute = open_from_credit(
                connection,
                provider_id=body.provider_id,
                period=_month(body.period),
                by=principal,
                amount=body.amount,
                note=body.note,
                settings=state.settings,
            )
        else:
            dispute = open_dispute(
                connection,
                provider_id=body.provider_id,
                subject=body.subject,
                source="manual",
                reference=body.reference,
                amount=body.amount,
                currency=body.currency,
                period=parse_month(body.period),
                by=principal,
                note=body.note,
                settings=state.settings,
            )
    return DisputeOut.of(dispute)


@router.post(
    "/disputes/{dispute_id}/answer",
    response_model=DisputeOut,
    summary="Answer a dispute",
    description="The provider's answer: accept, reject (the note gives the reason) or "
    "counter (counter_amount, less than the claim). A user of the dispute's provider "
    "answers; a brand admin may record an answer the provider sent another way.",
    responses=errors(400, 403, 404, 422),
)
def answer(
    dispute_id: DisputeIdPath,
    body: AnswerIn,
    principal: PrincipalDep,
    scope: ScopeDep,
    opened: StoreDep,
) -> DisputeOut:
    """Record the answer."""
    _visible(opened, dispute_id, scope)
    with opened.begin() as connection:
        dispute = answer_dispute(
            connection,
            dispute_id,
            by=principal,
            answer=body.answer,
            note=body.note,
            counter_amount=body.counter_amount,
        )
    return DisputeOut.of(dispute)


@router.post(
    "/disputes/{dispute_id}/resolve",
    response_model=DisputeOut,
    summary="Resolve a dispute",
    description="Close the dispute: credited (the amount given, else the counter-offer or "
    "the claim, is booked in the credit ledger), upheld (the provider's rejection stands) "
    "or withdrawn. Admin only.",
    responses=errors(400, 403, 404, 422),
)
def resolve(
    dispute_id: DisputeIdPath,
    body: ResolveIn,
    principal: PrincipalDep,
    scope: ScopeDep,
    opened: StoreDep,
) -> DisputeOut:
    """Resolve the dispute."""
    scope.require_admin()
    _visible(opened, dispute_id, scope)
    with opened.begin() as connection:
        dispute = resolve_dispute(
            connection,
            dispute_id,
            by=principal,
            resolution=body.resolution,
            amount=body.amount,
            note=body.note,
        )
    return DisputeOut.of(dispute)


@router.post(
    "/disputes/{dispute_id}/comments",
    response_model=DisputeEventOut,
    status_code=201,
    summary="Comment on a dispute",
    description="Add a note to the dispute's history (a brand admin, or a user of the "
    "dispute's provider).",
    responses=errors(400, 403, 404, 422),
)
def comment(
    dispute_id: DisputeIdPath,
    body: CommentIn,
    principal: PrincipalDep,
    scope: ScopeDep,
    opened: StoreDep,
) -> DisputeEventOut:
    """Add the comment."""
    _visible(opened, dispute_id, scope)
    with opened.begin() as connection:
        event = comment_dispute(connection, dispute_id, by=principal, note=body.note)
    return DisputeEventOut.of(event)


@router.get(
    "/credits",
    response_model=Page[CreditEntryOut],
    summary="The credit ledger",
    description="Credits booked for providers (agreed disputes, confirmed SLA credits, "
    "adjustments), by provider, month and entry. A provider user sees its own. "
    "`format=csv`: every matching entry as a CSV download.",
    responses={**errors(400, 404, 422), **csv_responses()},
)
def credits(
    scope: ScopeDep,
    opened: StoreDep,
    paging: Paging,
    provider: ProviderQuery = None,
    period: MonthQuery = None,
    fmt: FormatQuery = "json",
) -> Page[CreditEntryOut] | Response:
    """The ledger, a page at a time (or all of it as CSV)."""
    chosen = scope.providers(provider)
    with opened.connect() as connection:
        entries = ledger(connection, providers=chosen, period=parse_month(period))
    if fmt == "csv":
        return csv_response("credits", CreditEntryOut, (CreditEntryOut.of(e) for e in entries))
    chosen_entries = entries[paging.offset : paging.offset + paging.limit]
    return Page[CreditEntryOut].of(
        [CreditEntryOut.of(e) for e in chosen_entries], len(entries), paging
    )
