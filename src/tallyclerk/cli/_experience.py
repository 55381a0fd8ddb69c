"""`tallyclerk experience`: what customers went through, per 3PL, and the orders behind it."""

from __future__ import annotations

import calendar
import json
from datetime import date
from typing import Annotated, Any

import typer
from rich.markup import escape

from tallyclerk.cli._common import console, state, store_session, user_errors
from tallyclerk.cli._evaluate import parse_as_of
from tallyclerk.cli._findings import Column, Entry, fitted_table
from tallyclerk.errors import InputError
from tallyclerk.experience import (
    ID_LIMIT,
    TOTAL,
    Breakdown,
    ExperienceReport,
    Ids,
    ProviderExperience,
    Rate,
    experience_report,
)
from tallyclerk.metrics import open_context
from tallyclerk.sla import parse_period

_LABELS = {
    "failed": "not perfect",
    "late_delivery": "late delivery",
    "not_complete": "not shipped complete",
    "picking_error": "picking error",
    "damaged": "damaged",
    "late": "late",
    "late_3pl": "3PL-caused (shipped late)",
    "late_carrier": "carrier-caused",
    "by_return": "via return",
    "by_feedback": "via feedback",
    "by_lines": "via shipped lines",
    "misshipped": "mis-shipped",
}


def parse_months(text: str) -> tuple[date, date]:
    """'2026-11' or '2026-01..2026-06' -> (first day, last day) of the months."""
    first_text, sep, last_text = text.partition("..")
    try:
        first = parse_period(first_text.strip())
        last = parse_period(last_text.strip()) if sep else first
    except ValueError as exc:
        raise InputError(f"--period: {exc} (or a range like 2026-01..2026-06)") from None
    if last < first:
        raise InputError(f"--period {text!r} ends before it starts")
    end = last.replace(day=calendar.monthrange(last.year, last.month)[1])
    return first, end


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _name(provider_id: str) -> str:
    return "all providers" if provider_id == TOTAL else provider_id


def _count(b: Breakdown) -> str:
    """'12 (3.10%)': a count and its share of the figure's orders."""
    return f"{b.count:,} ({_pct(b.share)})" if b.count else "0"


def _rate(rate: Rate) -> str:
    return _pct(rate.value)


def _rows(report: ExperienceReport) -> list[ProviderExperience]:
    return [*report.providers, report.total]


def _columns(names: list[str], *, labels: int = 1) -> list[Column]:
    """The first `labels` columns are text kept on the row; the figures leave it right to left."""
    return [
        Column(name, keep=9 if i < labels else 8 - i, right=i >= labels, wrap=i >= labels)
        for i, name in enumerate(names)
    ]


def _style(p: ProviderExperience) -> str | None:
    return "bold" if p.provider_id == TOTAL else None


def _row(p: ProviderExperience, *cells: str) -> Entry:
    return Entry([escape(_name(p.provider_id)), *cells], style=_style(p))


def print_report(report: ExperienceReport) -> None:
    """The report as compact tables, one per section, with a brand total row."""
    console.print(
        f"[bold]Customer experience {report.period_start} – {report.period_end}[/] "
        f"as of {report.as_of:%Y-%m-%d %H:%M} UTC"
    )
    rows = _rows(report)
    console.print(
        fitted_table(
            "Perfect orders (by promised date; an order may fail several ways)",
            _columns(
                [
                    "provider",
                    "perfect",
                    "orders",
                    *(_LABELS[b.key] for b in report.total.perfect_order.reasons),
                ]
            ),
            [
                _row(
                    p,
                    _rate(p.perfect_order.rate),
                    f"{p.perfect_order.rate.numerator:,}/{p.perfect_order.rate.denominator:,}",
                    *(_count(b) for b in p.perfect_order.reasons),
                )
                for p in rows
            ],
        )
    )
    console.print(
        fitted_table(
            "Deliveries (by promised date)",
            _columns(
                [
                    "provider",
                    "on time",
                    "delivered",
                    "late",
                    *(_LABELS[b.key] for b in report.total.delivery.causes),
                ]
            ),
            [
                _row(
                    p,
                    _rate(p.delivery.rate),
                    f"{p.delivery.rate.denominator:,}",
                    _count(p.delivery.late),
                    *(_count(b) for b in p.delivery.causes),
                )
                for p in rows
            ],
        )
    )
    console.print(
        fitted_table(
            "Damage (by delivery date; an order reported both ways counts once)",
            _columns(
                ["provider", "damage rate", "damaged/delivered", "via return", "via feedback"]
            ),
            [
                _row(
                    p,
                    _pct(p.damage.damage_rate),
                    f"{p.damage.damaged.count:,}/{p.damage.rate.denominator:,}",
                    *(f"{b.count:,}" for b in p.damage.routes),
                )
                for p in rows
            ],
        )
    )
    console.print(
        fitted_table(
            "Mis-ships (by completion date; an order found several ways counts once)",
            _columns(
                [
                    "provider",
                    "mis-ship rate",
                    "mis-shipped/complete",
                    "via lines",
                    "via return",
                    "via feedback",
                ]
            ),
            [
                _row(
                    p,
                    _pct(p.misship.misship_rate),
                    f"{p.misship.misshipped.count:,}/{p.misship.rate.denominator:,}",
                    *(f"{b.count:,}" for b in p.misship.routes),
                )
                for p in rows
            ],
        )
    )
    feedback = [
        _row(
            p,
            f"{p.feedback.responses:,}",
            "—" if p.feedback.mean_score is None else f"{p.feedback.mean_score:.2f}",
            " ".join(f"{score}:{n}" for score, n in p.feedback.distribution) or "—",
        )
        for p in rows
    ]
    console.print(
        fitted_table(
            "Feedback (by received date, brand time zone)",
            _columns(["provider", "responses", "mean score", "scores (score:responses)"]),
            feedback,
        )
    )
    console.print(
        fitted_table(
            "Feedback tags (responses with the tag, share of responses)",
            _columns(["provider", *(escape(b.key) for b in report.total.feedback.tags)]),
            [_row(p, *(_count(b) for b in p.feedback.tags)) for p in rows],
        )
    )
    audits: list[Entry] = []
    for p in rows:
        a = p.audits
        for item in a.items:
            audits.append(
                _row(
                    p,
                    escape(item.checklist_item),
                    _pct(item.pass_rate),
                    f"{item.passed:,}/{item.checks:,}",
                    f"{item.failed_audits.total:,}",
                )
            )
        if a.orders_audited:
            audits.append(
                Entry(
                    [
                        escape(_name(p.provider_id)),
                        "every item (orders)",
                        _pct(a.pass_rate),
                        f"{a.orders_passed:,}/{a.orders_audited:,}",
                        f"{a.orders_audited - a.orders_passed:,}",
                    ],
                    style="bold",
                    end_section=True,
                )
            )
    console.print(
        fitted_table(
            "Packaging audits (by audit date)",
            _columns(
                ["provider", "checklist item", "pass rate", "passed/checks", "failing audits"],
                labels=2,
            ),
            audits,
        )
    )
    if not report.providers:
        console.print("No provider has experience data in this period.")


def _id_line(label: str, ids: Ids) -> None:
    if not ids.total:
        return
    more = f" [dim]… and {ids.total - len(ids.ids):,} more[/]" if ids.truncated else ""
    console.print(f"  {label} ({ids.total:,}): {', '.join(ids.ids)}{more}")


def print_ids(report: ExperienceReport) -> None:
    """The orders (and feedback or audits) behind each figure, per provider."""
    for p in report.providers:
        console.print(f"[bold]{p.provider_id}[/]: the orders behind each figure")
        for b in (p.perfect_order.failed, *p.perfect_order.reasons):
            _id_line(f"perfect order, {_LABELS[b.key]}", b.orders)
        for b in (p.delivery.late, *p.delivery.causes):
            _id_line(f"delivery, {_LABELS[b.key]}", b.orders)
        for b in (p.damage.damaged, *p.damage.routes):
            _id_line(f"damage, {_LABELS[b.key]}", b.orders)
        for b in (p.misship.misshipped, *p.misship.routes):
            _id_line(f"mis-ship, {_LABELS[b.key]}", b.orders)
        for b in p.feedback.tags:
            _id_line(f"feedback tagged {b.key}", b.orders)
        for item in p.audits.items:
            _id_line(f"audit {item.checklist_item} failed, audits", item.failed_audits)
            _id_line(f"audit {item.checklist_item} failed, orders", item.failed_orders)


def _ids(ids: Ids) -> dict[str, Any]:
    return {"total": ids.total, "ids": list(ids.ids), "truncated": ids.truncated}


def _breakdown(b: Breakdown) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "key": b.key,
        "count": b.count,
        "base": b.base,
        "share": b.share,
        "orders": _ids(b.orders),
    }
    if b.records is not None:
        doc["records"] = _ids(b.records)
    return doc


def _rate_doc(rate: Rate) -> dict[str, Any]:
    return {
        "metric": rate.metric,
        "value": rate.value,
        "numerator": rate.numerator,
        "denominator": rate.denominator,
    }


def provider_document(p: ProviderExperience) -> dict[str, Any]:
    """One provider's (or the brand's) figures as JSON."""
    return {
        "provider": None if p.provider_id == TOTAL else p.provider_id,
        "perfect_order": {
            "rate": _rate_doc(p.perfect_order.rate),
            "failed": _breakdown(p.perfect_order.failed),
            "reasons": [_breakdown(b) for b in p.perfect_order.reasons],
        },
        "delivery": {
            "rate": _rate_doc(p.delivery.rate),
            "late": _breakdown(p.delivery.late),
            "causes": [_breakdown(b) for b in p.delivery.causes],
        },
        "damage": {
            "damage_rate": p.damage.damage_rate,
            "damage_free": _rate_doc(p.damage.rate),
            "damaged": _breakdown(p.damage.damaged),
            "routes": [_breakdown(b) for b in p.damage.routes],
        },
        "misship": {
            "misship_rate": p.misship.misship_rate,
            "order_accuracy": _rate_doc(p.misship.rate),
            "misshipped": _breakdown(p.misship.misshipped),
            "routes": [_breakdown(b) for b in p.misship.routes],
        },
        "feedback": {
            "responses": p.feedback.responses,
            "scored": p.feedback.scored,
            "mean_score": p.feedback.mean_score,
            "distribution": {str(score): n for score, n in p.feedback.distribution},
            "tags": [_breakdown(b) for b in p.feedback.tags],
        },
        "audits": {
            "orders_audited": p.audits.orders_audited,
            "orders_passed": p.audits.orders_passed,
            "pass_rate": p.audits.pass_rate,
            "items": [
                {
                    "checklist_item": i.checklist_item,
                    "checks": i.checks,
                    "passed": i.passed,
                    "pass_rate": i.pass_rate,
                    "failed_audits": _ids(i.failed_audits),
                    "failed_orders": _ids(i.failed_orders),
                }
                for i in p.audits.items
            ],
        },
    }


def report_document(report: ExperienceReport) -> dict[str, Any]:
    """The JSON document of an experience report (the CLI's --json)."""
    return {
        "period_start": report.period_start.isoformat(),
        "period_end": report.period_end.isoformat(),
        "as_of": report.as_of.isoformat(),
        "id_limit": report.id_limit,
        "providers": [provider_document(p) for p in report.providers],
        "total": provider_document(report.total),
    }


def experience_command(
    period: Annotated[
        str,
        typer.Option(
            "--period", "-p", help="A month (2026-11) or a range of months (2026-01..2026-06)."
        ),
    ],
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider (repeatable).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Report as if the clock read this time (ISO; default now)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
    ids: Annotated[
        bool, typer.Option("--ids", help="Also list the orders behind each figure.")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="At most this many ids per figure.")
    ] = ID_LIMIT,
) -> None:
    """Customer experience per 3PL: perfect orders, late deliveries, damage, feedback, audits.

    Perfect-order rate and why orders were not perfect (late, not shipped complete, picking
    error, damaged); late deliveries split into 3PL-caused (shipped late) and
    carrier-caused; damage and mis-ship rates; feedback scores and tags; packaging audit
    pass rates by checklist item. The KPI figures are the catalogue's (the scorecard's).

    Examples:

      tallyclerk experience --period 2026-11

      tallyclerk experience --period 2026-01..2026-06 --provider westcoast --ids

      tallyclerk experience --period 2026-11 --as-of 2026-12-15 --json
    """
    with user_errors():
        first, last = parse_months(period)
    with store_session() as store:
        clock = parse_as_of(as_of)
        settings = state.effective_settings()
        with open_context(store, as_of=clock, settings=settings) as ctx:
            report = experience_report(ctx, first, last, provider or None, id_limit=limit)
    if as_json:
        console.print_json(json.dumps(report_document(report)))
        return
    print_report(report)
    if ids:
        print_ids(report)
