"""The vetting report as JSON (`tallyclerk vet --json`, the API) and as a standalone HTML page."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from tallyclerk.vetting._service import CandidateResult, VetReport
from tallyclerk.vetting._types import CostToServe

_CENT = Decimal("0.01")


def _money(value: Decimal) -> str:
    return str(value.quantize(_CENT))


def _cost_document(cost: CostToServe) -> dict[str, Any]:
    return {
        "total": _money(cost.total),
        "monthly": _money(cost.monthly(cost.total)),
        "risk_adjusted": _money(cost.risk_adjusted),
        "risk_adjusted_monthly": _money(cost.monthly(cost.risk_adjusted)),
        "by_charge": {k: _money(v) for k, v in sorted(cost.by_charge().items())},
        "error_rate": cost.error_rate,
        "error_rate_source": cost.error_rate_source,
        "error_cost": _money(cost.error_cost),
        "late_rate": cost.late_rate,
        "late_rate_source": cost.late_rate_source,
        "late_cost": _money(cost.late_cost),
        "notes": list(cost.notes),
    }


def _criterion(result: CandidateResult, criterion_id: str) -> float | None:
    for criterion in result.score.criteria:
        if criterion.criterion_id == criterion_id:
            return criterion.raw
    return None


def integration_fit(result: CandidateResult, report: VetReport) -> float | None:
    """The 0..100 score of the RFP's integration criterion, if it has one."""
    for criterion in report.rfp.criteria:
        if criterion.rule == "integration_fit":
            return _criterion(result, criterion.id)
    return None


def candidate_document(result: CandidateResult, report: VetReport) -> dict[str, Any]:
    """One ranked candidate: score, standing, reasons, criteria, cost and risk, capacity."""
    score = result.score
    growth = result.growth
    growth_pct = report.rfp.risk.growth_pct
    return {
        "rank": score.rank,
        "candidate_id": score.candidate_id,
        "name": score.name,
        "score": score.total,
        "standing": score.standing,
        "consequence": score.consequence,
        "reasons": list(score.reasons),
        "verified_share": round(score.verified_share, 4),
        "pilot_provider": result.candidate.pilot_provider,
        "capacity_fit": None if result.capacity_fit is None else round(result.capacity_fit, 4),
        "integration_fit": integration_fit(result, report),
        "criteria": [
            {
                "criterion_id": c.criterion_id,
                "name": c.name,
                "weight": c.weight,
                "value": c.value,
                "raw": None if c.raw is None else round(c.raw, 2),
                "evidence": c.evidence,
                "factor": c.factor,
                "points": round(c.points, 2),
                "reason": c.reason,
            }
            for c in score.criteria
        ],
        "cost": _cost_document(result.cost),
        "peak_shortfall": None
        if result.peak is None
        else {
            "capacity": result.peak.capacity,
            "demand": result.peak.demand,
            "days_over": result.peak.days_over,
            "late_orders": result.peak.late_orders,
            "worst_day": result.peak.worst_day.isoformat() if result.peak.worst_day else None,
            "worst_backlog": result.peak.worst_backlog,
            "cost": _money(result.peak_cost),
        },
        "growth": None if growth is None else {"pct": str(growth_pct), **_cost_document(growth)},
    }


def report_document(report: VetReport) -> dict[str, Any]:
    """The whole vetting: the window, the activity priced, the peak used, ranked candidates."""
    rfp = report.rfp
    return {
        "rfp": rfp.name,
        "currency": rfp.currency,
        "window": {"from": f"{report.first:%Y-%m}", "to": f"{report.last:%Y-%m}"},
        "months": len(report.months),
        "activity": [
            {
                "month": f"{m.month:%Y-%m}",
                "orders": m.orders,
                "units": m.units,
                "parcels": dict(sorted(m.parcels.items())),
                "received_units": m.received_units,
                "returned_units": m.returned_units,
                "pallets": m.pallets,
                "shipping_cost": _money(m.shipping_cost),
            }
            for m in report.activity
        ],
        "peak_demand": None
        if report.peak is None
        else {
            "forecast_run": report.peak.run_id,
            "as_of": report.peak.as_of.isoformat(),
            "day": report.peak.day.isoformat(),
            "orders_p90": round(report.peak.orders, 1),
        },
        "notes": list(report.notes),
        "candidates": [candidate_document(r, report) for r in report.results],
    }


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;
 color:#1d2330}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{padding:.35rem .5rem;border-bottom:1px solid #dde2ea;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#5f6b7a}.band{font-weight:600}
.excellent{color:#1b7f3b}.average{color:#8a6d00}.poor{color:#b35c00}.very-poor{color:#c62828}
"""


def report_html(report: VetReport) -> str:
    """A standalone HTML page of the vetting (no script, no external file)."""
    doc = report_document(report)
    cur = escape(doc["currency"])
    rows = []
    for c in doc["candidates"]:
        band = escape(c["standing"]).replace(" ", "-")
        fit = "—" if c["capacity_fit"] is None else f"{c['capacity_fit']:.0%}"
        integ = "—" if c["integration_fit"] is None else f"{c['integration_fit']:.0f}"
        rows.append(
            f"<tr><td class='n'>{c['rank']}</td><td>{escape(c['name'])}"
            f"<div class='meta'>{escape(c['candidate_id'])}</div></td>"
            f"<td class='n'>{c['score']:.1f}</td>"
            f"<td class='band {band}'>{escape(c['standing'])}"
            f"<div class='meta'>{escape(c['consequence'])}</div></td>"
            f"<td class='n'>{c['cost']['monthly']} {cur}</td>"
            f"<td class='n'>{c['cost']['risk_adjusted_monthly']} {cur}</td>"
            f"<td class='n'>{fit}</td><td class='n'>{integ}</td></tr>"
        )
    details = []
    for c in doc["candidates"]:
        criteria = "".join(
            f"<tr><td>{escape(k['name'])}</td><td class='n'>{k['weight']:g}</td>"
            f"<td>{escape(k['evidence'])}</td><td class='n'>{k['points']:.1f}</td>"
            f"<td>{escape(k['reason'])}</td></tr>"
            for k in c["criteria"]
        )
        charges = "".join(
            f"<tr><td>{escape(kind)}</td><td class='n'>{amount} {cur}</td></tr>"
            for kind, amount in c["cost"]["by_charge"].items()
        )
        reasons = "".join(f"<li>{escape(r)}</li>" for r in c["reasons"])
        peak = c["peak_shortfall"]
        if peak is not None:
            reasons += (
                f"<li>Against the forecast's P90 days, its claimed {peak['capacity']:,} orders a "
                f"day would ship {peak['late_orders']:,} orders late ({peak['cost']} {cur} at "
                "the RFP's cost per late order).</li>"
            )
        details.append(
            f"<h2>{c['rank']}. {escape(c['name'])} — {c['score']:.1f}, {escape(c['standing'])}</h2>"
            f"<ul>{reasons}</ul>"
            "<table><tr><th>criterion</th><th class='n'>weight</th><th>evidence</th>"
            f"<th class='n'>points</th><th>why</th></tr>{criteria}</table>"
            "<table><tr><th>charge over the window</th><th class='n'>amount</th></tr>"
            f"{charges}<tr><td>expected errors ({escape(c['cost']['error_rate_source'])})</td>"
            f"<td class='n'>{c['cost']['error_cost']} {cur}</td></tr>"
            f"<tr><td>expected late orders ({escape(c['cost']['late_rate_source'])})</td>"
            f"<td class='n'>{c['cost']['late_cost']} {cur}</td></tr></table>"
        )
    notes = "".join(f"<li>{escape(n)}</li>" for n in doc["notes"])
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(doc['rfp'])}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(doc['rfp'])}</h1>"
        f"<p class='meta'>Cost-to-serve on the brand's activity {doc['window']['from']} to "
        f"{doc['window']['to']} ({doc['months']} months); amounts in {cur} per average month.</p>"
        "<table><tr><th class='n'>#</th><th>candidate</th><th class='n'>score</th>"
        "<th>standing</th><th class='n'>fees / month</th><th class='n'>risk-adjusted</th>"
        f"<th class='n'>capacity fit</th><th class='n'>integration</th></tr>{''.join(rows)}"
        f"</table>{f'<ul class=meta>{notes}</ul>' if notes else ''}{''.join(details)}"
        "</body></html>"
    )


__all__ = ["candidate_document", "integration_fit", "report_document", "report_html"]
