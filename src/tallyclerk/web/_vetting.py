"""The vetting page: candidate 3PLs ranked on evidence and on their cost to serve the brand.

The figures are the latest report kept by `tallyclerk vet RFP.yaml` (or `?report_id=`), read
through the same helper as `GET /api/v1/vetting`, so the page and the API show one document.
Brand users only: a provider user gets 404 and has no menu entry.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from tallyclerk.api._models import LARGEST_ID
from tallyclerk.api.routes.vetting import brand_report, kept_document
from tallyclerk.web._common import ViewerDep

router = APIRouter(include_in_schema=False)

CHARGE_LABELS = {
    "pick_pack": "Pick and pack",
    "additional_unit": "Additional units",
    "packaging": "Packaging",
    "storage": "Storage",
    "receiving": "Receiving",
    "returns": "Returns",
    "shipping": "Shipping",
}
# The example RFP's standings and their colours; a standing of another name is grey.
STANDING_TONES = {
    "excellent": "green",
    "good": "green",
    "average": "amber",
    "fair": "amber",
    "poor": "orange",
    "very poor": "red",
    "reject": "red",
}
EVIDENCE_HELP = {
    "measured": "measured in the brand's pilot: counts in full",
    "priced": "priced on the brand's own activity",
    "rated": "the brand's own rating",
    "verified": "claim verified",
    "received": "proof received, not verified",
    "requested": "proof requested, not received",
    "none": "a bare claim",
}


def standing_tone(standing: str) -> str:
    """The colour of a standing: green, amber, orange, red, or grey for a name not known."""
    return STANDING_TONES.get(standing.strip().lower(), "grey")


def share(value: float | None, digits: int = 1) -> str:
    """A share 0..1 as a percentage (— for none)."""
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f} %"


def rate_source(source: str) -> str:
    """Where an error or late rate comes from, for people: 'pilot westcoast' -> 'measured in
    the pilot (westcoast)'."""
    if source.startswith("pilot "):
        return f"measured in the pilot ({source.removeprefix('pilot ').strip()})"
    if source == "claimed":
        return "claimed by the candidate"
    if source == "none":
        return "neither measured nor claimed: not costed"
    return source


def per_month(amount: str | Decimal, months: int) -> Decimal:
    """A window's amount as an average month, to the cent."""
    value = Decimal(str(amount))
    return (value / months if months else Decimal(0)).quantize(Decimal("0.01"))


def chart_data(document: dict[str, Any]) -> dict[str, Any]:
    """What dashboard.js draws: per candidate in rank order, the fees and the risk-adjusted
    cost per average month (floats, in the report's currency)."""
    candidates = document["candidates"]
    return {
        "currency": document["currency"],
        "labels": [c["name"] for c in candidates],
        "candidates": [c["candidate_id"] for c in candidates],
        "fees": [float(c["cost"]["monthly"]) for c in candidates],
        "risk_adjusted": [float(c["cost"]["risk_adjusted_monthly"]) for c in candidates],
    }


@router.get("/vetting", response_class=HTMLResponse)
def vetting_page(
    viewer: ViewerDep,
    report_id: Annotated[int | None, Query(ge=1, le=LARGEST_ID)] = None,
) -> HTMLResponse:
    """The latest kept vetting (or `report_id`): ranked table, chart, per-candidate detail."""
    with viewer.store.connect() as connection:
        kept = brand_report(connection, viewer.scope, report_id)
    if kept is None:
        return viewer.render("vetting.html", report=None)
    document = kept_document(kept)
    activity = document["activity"]
    return viewer.render(
        "vetting.html",
        report=document,
        candidates=document["candidates"],
        leader=document["candidates"][0] if document["candidates"] else None,
        orders=sum(int(m["orders"]) for m in activity),
        chart=chart_data(document),
        charge_labels=CHARGE_LABELS,
        evidence_help=EVIDENCE_HELP,
        tone=standing_tone,
        share=share,
        rate_source=rate_source,
        per_month=per_month,
    )
