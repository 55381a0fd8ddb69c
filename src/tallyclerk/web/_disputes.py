"""Disputes: the brand opens one, the provider answers by the deadline, the brand resolves.

Each step is a plain form (HTMX is not needed for a page that changes state this much); the
rules of who may take which step live in `tallyclerk.sla`, and this module only checks the
scope first so another provider's dispute reads as absent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response

from tallyclerk.access import NotFoundError
from tallyclerk.api._csv import export_link
from tallyclerk.contracts._repository import stored_contracts
from tallyclerk.errors import InputError
from tallyclerk.sla import (
    ANSWERS,
    DISPUTE_STATUSES,
    Dispute,
    answer_dispute,
    comment_dispute,
    count_disputes,
    dispute_events,
    get_dispute,
    ledger_totals,
    list_disputes,
    open_dispute,
    open_from_breach,
    resolve_dispute,
)
from tallyclerk.sla._disputes import TRANSITIONS
from tallyclerk.web._common import PAGE_SIZE, Viewer, ViewerDep, parse_month, redirect

router = APIRouter(include_in_schema=False)


def parse_amount(text: str | None, what: str = "amount") -> Decimal | None:
    """A money amount typed in a form (None when left empty)."""
    if text is None or not text.strip():
        return None
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise InputError(f"the {what} {text.strip()!r} is not a number") from None
    if not value.is_finite():
        raise InputError(f"the {what} {text.strip()!r} is not a number")
    return value


def _visible(viewer: Viewer, dispute_id: str) -> Dispute:
    """The dispute, or 404 when it does not exist or belongs to another provider."""
    with viewer.store.connect() as connection:
        try:
            dispute = get_dispute(connection, dispute_id)
        except InputError:
            raise NotFoundError(f"no dispute {dispute_id!r}") from None
    viewer.scope.check(dispute.provider_id, "dispute")
    return dispute


@router.get("/disputes", response_class=HTMLResponse)
def disputes_page(
    viewer: ViewerDep,
    status: str | None = None,
    provider: str | None = None,
    offset: int = Query(0, ge=0, le=10**9),
) -> HTMLResponse:
    """Disputes, newest first; admins open one by hand here; the credit ledger's totals."""
    if status and status not in DISPUTE_STATUSES:
        raise InputError(f"status {status!r} is not one of {', '.join(DISPUTE_STATUSES)}")
    providers = viewer.scope.providers(provider or None)
    with viewer.store.connect() as connection:
        found = list_disputes(
            connection, providers=providers, status=status or None, limit=PAGE_SIZE, offset=offset
        )
        total = count_disputes(connection, providers=providers, status=status or None)
        totals = ledger_totals(connection, providers=providers)
        choices = (
            sorted({c.provider_id for c in stored_contracts(connection)})
            if viewer.principal.is_brand
            else []
        )
    return viewer.render(
        "disputes.html",
        csv_url=export_link("/api/v1/disputes", status=status, provider=provider),
        credits_csv_url=export_link("/api/v1/credits", provider=provider),
        disputes=found,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        statuses=DISPUTE_STATUSES,
        chosen_status=status or "",
        chosen_provider=provider or "",
        providers=choices,
        ledger_totals=totals,
        now=datetime.now(UTC),
    )


@router.post("/disputes")
def open_by_hand(
    viewer: ViewerDep,
    provider_id: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    reference: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    period: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """An admin opens a dispute by hand (a charge, a figure, anything with the provider)."""
    viewer.scope.require_admin()
    with viewer.store.begin() as connection:
        if not provider_id or not stored_contracts(connection, provider_id):
            raise InputError(f"no provider {provider_id!r} with a contract in the store")
        dispute = open_dispute(
            connection,
            provider_id=provider_id,
            subject=subject,
            source="manual",
            reference=reference.strip() or None,
            amount=parse_amount(amount),
            period=parse_month(period),
            by=viewer.principal,
            note=note.strip() or None,
            settings=viewer.settings,
        )
    return redirect(viewer.request, f"/disputes/{dispute.dispute_id}")


@router.post("/disputes/from-breach")
def open_breach_dispute(
    viewer: ViewerDep,
    provider_id: Annotated[str, Form()],
    metric: Annotated[str, Form()],
    period: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    """An admin disputes a recorded breach (the button beside a breached metric)."""
    viewer.scope.require_admin()
    month = parse_month(period)
    if month is None:
        raise InputError("the period of the breach is missing")
    with viewer.store.begin() as connection:
        dispute = open_from_breach(
            connection,
            provider_id=provider_id,
            metric=metric,
            period=month,
            by=viewer.principal,
            note=note.strip() or None,
            settings=viewer.settings,
        )
    return redirect(viewer.request, f"/disputes/{dispute.dispute_id}")


@router.get("/disputes/{dispute_id}", response_class=HTMLResponse)
def dispute_page(viewer: ViewerDep, dispute_id: str) -> HTMLResponse:
    """A dispute with its history and the forms for the next step the viewer may take."""
    dispute = _visible(viewer, dispute_id)
    with viewer.store.connect() as connection:
        events = dispute_events(connection, dispute_id)
    principal = viewer.principal
    steps = TRANSITIONS.get(dispute.status, {})
    may_answer = dispute.status == "open" and principal.role in ("provider", "admin")
    resolutions = [s for s in steps if s not in ANSWERS] if principal.can_change else []
    return viewer.render(
        "dispute.html",
        d=dispute,
        events=events,
        now=datetime.now(UTC),
        may_answer=may_answer,
        answers=ANSWERS,
        resolutions=resolutions,
        may_comment=principal.role == "provider" or principal.can_change,
    )


@router.post("/disputes/{dispute_id}/answer")
def answer(
    viewer: ViewerDep,
    dispute_id: str,
    answer: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    counter_amount: Annotated[str, Form()] = "",
) -> Response:
    """The provider's answer: accept, reject with the reason, or counter with an amount."""
    _visible(viewer, dispute_id)
    if answer not in ANSWERS:
        raise InputError(f"choose an answer: {', '.join(ANSWERS)}")
    with viewer.store.begin() as connection:
        answer_dispute(
            connection,
            dispute_id,
            by=viewer.principal,
            answer=answer,
            note=note.strip() or None,
            counter_amount=parse_amount(counter_amount, "counter-offer")
            if answer == "counter"
            else None,
        )
    return redirect(viewer.request, f"/disputes/{dispute_id}")


@router.post("/disputes/{dispute_id}/resolve")
def resolve(
    viewer: ViewerDep,
    dispute_id: str,
    resolution: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """The brand closes the dispute: credited (booked in the ledger), upheld or withdrawn."""
    _visible(viewer, dispute_id)
    viewer.scope.require_admin()
    with viewer.store.begin() as connection:
        resolve_dispute(
            connection,
            dispute_id,
            by=viewer.principal,
            resolution=resolution,  # type: ignore[arg-type]  # resolve_dispute checks it
            amount=parse_amount(amount) if resolution == "credited" else None,
            note=note.strip() or None,
        )
    return redirect(viewer.request, f"/disputes/{dispute_id}")


@router.post("/disputes/{dispute_id}/comment")
def comment(viewer: ViewerDep, dispute_id: str, note: Annotated[str, Form()] = "") -> Response:
    """A note in the dispute's history, from the brand's admin or the provider."""
    _visible(viewer, dispute_id)
    with viewer.store.begin() as connection:
        comment_dispute(connection, dispute_id, by=viewer.principal, note=note)
    return redirect(viewer.request, f"/disputes/{dispute_id}")
