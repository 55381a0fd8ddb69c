"""`tallyclerk experience`: what customers went through, per 3PL, and the orders behind it."""

from __future__ import annotations

import calendar
import json
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from tallyclerk.cli._common import console, state, store_session, user_errors
from tallyclerk.cli._evaluate import parse_as_of
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


def _table(title: str, columns: list[str], *, labels: int = 1) -> Table:
    """A table whose first `labels` columns are text, the others figures."""
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        text = i < labels
        table.add_column(column, justify="left" if text else "right", no_wrap=text)
    return table


def _style(p: ProviderExperience) -> str | None:
    return "bold" if p.provider_id == TOTAL else None


def print_report(report: ExperienceReport) -> None:
    """The report as compact tables, one per section, with a brand total row."""
    console.print(
        f"[bold]Customer experience {report.period_start} – {report.period_end}[/] "
        f"as of {report.as_of:%Y-%m-%d %H:%M} UTC"
    )
    perfect = _table(
        "Perfect orders (by promised date; an order may fail several ways)",
        [
            "provider",
            "perfect",
            "orders",
            *(_LABELS[b.key] for b in report.total.perfect_order.reasons),
        ],
    )
    for p in _rows(report):
        po = p.perfect_order
        perfect.add_row(
            _name(p.provider_id),
            _rate(po.rate),
            f"{po.rate.numerator:,}/{po.rate.denominator:,}",
            *(_count(b) for b in po.reasons),
            style=_style(p),
        )
    console.print(perfect)

    delivery = _table(
        "Deliveries (by promised date)",
        [
            "provider",
            "on time",
            "delivered",
            "late",
            *(_LABELS[b.key] for b in report.total.delivery.causes),
        ],
    )
    for p in _rows(report):
        d = p.delivery
        delivery.add_row(
            _name(p.provider_id),
            _rate(d.rate),
            f"{d.rate.denominator:,}",
            _count(d.late),
            *(_count(b) for b in d.causes),
            style=_style(p),
        )
    console.print(delivery)

    damage = _table(
        "Damage (by delivery date; an order reported both ways counts once)",
        ["provider", "damage rate", "damaged/delivered", "via return", "via feedback"],
    )
    for p in _rows(report):
        dm = p.damage
        damage.add_row(
            _name(p.provider_id),
            _pct(dm.damage_rate),
            f"{dm.damaged.count:,}/{dm.rate.denominator:,}",
            *(f"{b.count:,}" for b in dm.routes),
            style=_style(p),
        )
    console.print(damage)

    misship = _table(
        "Mis-ships (by completion date; an order found several ways counts once)",
        [
            "provider",
            "mis-ship rate",
            "mis-shipped/complete",
            "via lines",
            "via return",
            "via feedback",
        ],
    )
    for p in _rows(report):
        ms = p.misship
        misship.add_row(
            _name(p.provider_id),
            _pct(ms.misship_rate),
            f"{ms.misshipped.count:,}/{ms.rate.denominator:,}",
            *(f"{b.count:,}" for b in ms.routes),
            style=_style(p),
        )
    console.print(misship)

    feedback = _table(
        "Feedback (by received date, brand time zone)",
        ["provider", "responses", "mean score", "scores (score:responses)"],
    )
    tags = _table(
        "Feedback tags (responses with the tag, share of responses)",
        ["provider", *(b.key for b in report.total.feedback.tags)],
    )
    for p in _rows(report):
        fb = p.feedback
        feedback.add_row(
            _name(p.provider_id),
            f"{fb.responses:,}",
            "—" if fb.mean_score is None else f"{fb.mean_score:.2f}",
            " ".join(f"{score}:{n}" for score, n in fb.distribution) or "—",
            style=_style(p),
        )
        tags.add_row(_name(p.provider_id), *(_count(b) for b in fb.tags), style=_style(p))
    console.print(feedback)
    console.print(tags)

    audits = _table(
        "Packaging audits (by audit date)",
        ["provider", "checklist item", "pass rate", "passed/checks", "failing audits"],
        labels=2,
    )
    for p in _rows(report):
        a = p.audits
        for item in a.items:
            audits.add_row(
                _name(p.provider_id),
                item.checklist_item,
                _pct(item.pass_rate),
                f"{item.passed:,}/{item.checks:,}",
                f"{item.failed_audits.total:,}",
                style=_style(p),
            )
        if a.orders_audited:
            audits.add_row(
                _name(p.provider_id),
                "every item (orders)",
                _pct(a.pass_rate),
                f"{a.orders_passed:,}/{a.orders_audited:,}",
                f"{a.orders_audited - a.orders_passed:,}",
                style="bold",
                end_section=True,
            )
    console.print(audits)
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
