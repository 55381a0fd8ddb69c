"""`tallyclerk report weekly`: a provider's weekly performance review, as PDF, HTML or JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from tallyclerk.api._models import FIRST_YEAR, LAST_YEAR
from tallyclerk.cli._common import console, err_console, state, store_session, user_errors
from tallyclerk.errors import InputError
from tallyclerk.reports._model import AUDIENCES, Audience, IsoWeek

if TYPE_CHECKING:
    from tallyclerk.reports._model import WeeklyReview

FORMATS = {".pdf": "pdf", ".html": "html", ".htm": "html", ".json": "json"}

app = typer.Typer(
    help="Reports for the weekly meeting with each 3PL.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def output_format(out: Path | None) -> str | None:
    """pdf, html or json from the file's suffix; None without a file."""
    if out is None:
        return None
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise InputError(f"--out {out}: give a file ending in .pdf, .html or .json")
    return fmt


def parse_week(text: str) -> IsoWeek:
    """An ISO week such as 2026-W47, or an InputError with IsoWeek.parse's message."""
    try:
        week = IsoWeek.parse(text)
    except ValueError as exc:
        raise InputError(f"--week {exc}") from None
    if not FIRST_YEAR <= week.year <= LAST_YEAR:
        raise InputError(f"--week {text!r} is out of range (years {FIRST_YEAR} to {LAST_YEAR})")
    return week


def parse_as_of(text: str) -> datetime:
    """--as-of YYYY-MM-DD: the end of that day, UTC (as the API reads a date)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--as-of {text!r} is not a date (YYYY-MM-DD)") from None
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)


def default_week(*, today: date | None = None, as_of: date | None = None) -> IsoWeek:
    """The last whole ISO week: whole by the end of `as_of` when given (a Sunday's own week),
    else before `today` (today's week is not over yet)."""
    if as_of is not None:
        return IsoWeek.of(as_of - timedelta(days=6))
    return IsoWeek.of((today or datetime.now(UTC).date()) - timedelta(days=7))


@app.command("weekly")
def weekly_command(
    provider: Annotated[str, typer.Option("--provider", help="The 3PL to review (its id).")],
    week: Annotated[
        str | None,
        typer.Option(
            "--week",
            help="The ISO week, e.g. 2026-W47 (default: the last whole week before today, "
            "or before --as-of).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the review to FILE.pdf, FILE.html (standalone, works offline) or "
            "FILE.json; without it a summary is printed.",
        ),
    ] = None,
    audience: Annotated[
        str,
        typer.Option(
            "--audience",
            help="brand: the full copy; provider: the 3PL's copy, without brand cost data.",
        ),
    ] = "brand",
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Read the figures as they stood at the end of this day (YYYY-MM-DD, UTC; "
            "default: the end of the week).",
        ),
    ] = None,
) -> None:
    """The weekly performance review of a 3PL, for the meeting with it.

    The contracted KPIs of the week against target with their 12-week trend;
    the month's breaches, credits and burn rate; open disputes and their
    deadlines; reconciliation and invoice-audit findings opened and resolved;
    inventory variance; customer experience; the next six weeks of forecast
    against capacity; the action items agreed in reviews, carried until done.
    The provider's copy leaves out the brand's cost data, and says so.

    The format follows the suffix of --out: .pdf (A4, numbered pages), .html
    (one file with its styles and charts, works offline) or .json (the data).
    Without --out a summary is printed.

    Examples:

      tallyclerk report weekly --provider eastbridge

      tallyclerk report weekly --provider eastbridge --out review.pdf

      tallyclerk report weekly --provider westcoast --week 2026-W47 --out w47.pdf

      tallyclerk report weekly --provider westcoast --audience provider \\
          --out w47-for-westcoast.html

      tallyclerk report weekly --provider westcoast --as-of 2026-11-30

      tallyclerk report weekly --provider eastbridge --out review.json
    """
    with user_errors():
        fmt = output_format(out)
        if audience not in AUDIENCES:
            raise InputError(f"--audience {audience!r}: give one of {', '.join(AUDIENCES)}")
        copy: Audience = "provider" if audience == "provider" else "brand"
        clock = parse_as_of(as_of) if as_of is not None else None
        settings = state.effective_settings()
        if week is not None:
            chosen = parse_week(week)
        elif clock is not None:
            chosen = default_week(as_of=clock.date())
        else:
            chosen = default_week(today=datetime.now(ZoneInfo(settings.brand.timezone)).date())
        if clock is not None and clock.date() < chosen.start:
            raise InputError(f"--as-of {as_of} is before {chosen.name} begins ({chosen.start})")

        from tallyclerk.reports._gather import build_review

        with (
            err_console.status(
                f"gathering {escape(provider)}'s review of {chosen.name}", spinner="dots"
            ),
            store_session() as store,
        ):
            review = build_review(store, settings, provider, chosen, audience=copy, as_of=clock)
        if out is not None and fmt is not None:
            _write(review, out, fmt)
    if out is not None:
        console.print(
            f"review of {escape(review.provider_name)} {review.week.name} "
            f"written to {escape(str(out))}",
            soft_wrap=True,
        )
        return
    print_summary(review)


def _write(review: WeeklyReview, out: Path, fmt: str) -> None:
    from tallyclerk.reports._render import render_html, render_pdf

    data: bytes
    if fmt == "json":
        data = (json.dumps(review.as_dict(), indent=2, ensure_ascii=False) + "\n").encode()
    elif fmt == "html":
        with err_console.status("drawing the charts", spinner="dots"):
            data = render_html(review, standalone=True).encode("utf-8")
    else:
        with err_console.status("laying out the PDF", spinner="dots"):
            data = render_pdf(review)
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None


# The terminal summary ------------------------------------------------------------------


def _state(text: str) -> str:
    style = {"met": "green", "ok": "green", "breached": "bold red", "page": "bold red"}
    colour = style.get(text, "yellow" if text == "warn" else "dim")
    return f"[{colour}]{escape(text)}[/]"


def _bad(count: int, what: str) -> str:
    text = f"{count:,} {what}"
    return f"[bold red]{text}[/]" if count else text


def _table(title: str) -> Table:
    return Table(title=title, title_justify="left", title_style="bold", expand=False)


def print_summary(review: WeeklyReview) -> None:
    """The review in the terminal: its header, KPIs against target, findings, disputes and
    action items, each table within 80 columns."""
    from tallyclerk.reports._render import (
        fmt_clock,
        fmt_count,
        fmt_day,
        fmt_money,
        fmt_target,
        fmt_value,
        metric_label,
    )

    week = review.week
    copy = "provider copy" if review.audience == "provider" else "brand copy"
    console.print(f"[bold]{escape(review.provider_name)}[/] ({escape(review.provider_id)})")
    console.print(
        f"Weekly review {week.name} ({week.start} to {week.end}) · {copy} · "
        f"as of {fmt_clock(review.as_of)}"
    )
    if review.audience == "provider":
        left_out = f" ({'; '.join(review.redacted)})" if review.redacted else ""
        console.print(
            f"Copy for {escape(review.provider_name)}: brand cost data left out{escape(left_out)}."
        )
    on = review.as_of.astimezone(UTC).date()
    met = sum(1 for k in review.kpis if k.met is True)
    breached = sum(1 for k in review.kpis if k.met is False)
    credits = (
        "not evaluated"
        if review.credits is None
        else (fmt_money(review.credits.amount, review.credits.currency))
    )
    findings_open = sum(f.open_at_end for f in [*review.findings, *review.invoice_findings])
    disputes_overdue = sum(1 for d in review.disputes if d.overdue)
    actions_overdue = sum(1 for a in review.actions if a.overdue(on))
    console.print(
        f"KPIs {met} met, {_bad(breached, 'breached')} · credits {credits} · "
        f"disputes {len(review.disputes)} open, {_bad(disputes_overdue, 'overdue')} · "
        f"findings {findings_open:,} open · actions {_bad(actions_overdue, 'overdue')}"
    )

    if review.kpis:
        kpis = _table("KPIs against target")
        kpis.add_column("metric")
        kpis.add_column("target", justify="right")
        kpis.add_column("week", justify="right")
        kpis.add_column("basis", justify="right")
        kpis.add_column("state")
        for k in review.kpis:
            basis = (
                f"{k.numerator:,}/{k.denominator:,}" if k.unit == "rate" else f"{k.denominator:,}"
            )
            kpis.add_row(
                metric_label(k.metric),
                fmt_target(k.target, k.unit, k.lower_is_better),
                fmt_value(k.value, k.unit),
                f"[dim]{basis}[/]",
                _state(k.state),
            )
        console.print(kpis)
    else:
        console.print("[dim]No contracted KPI was in force this week.[/]")

    if review.credits is None:
        console.print("[dim]Credits: the month has not been evaluated yet.[/]")
    else:
        c = review.credits
        console.print(
            f"Credits accrued in {c.period}: [bold]{fmt_money(c.amount, c.currency)}[/] "
            f"({fmt_money(c.booked, c.currency)} booked)"
        )
    for b in review.breaches:
        console.print(
            f"[red]breach[/] {metric_label(b.metric)} in {b.period} ({escape(b.segment)})"
        )

    lines = [*review.findings, *review.invoice_findings]
    if lines:
        findings = _table("Findings this week")
        findings.add_column("check")
        findings.add_column("area")
        findings.add_column("opened", justify="right")
        findings.add_column("resolved", justify="right")
        findings.add_column("open", justify="right")
        findings.add_column("at stake", justify="right")
        for f in lines:
            findings.add_row(
                escape(f.title),
                escape(f.domain),
                fmt_count(f.opened),
                fmt_count(f.resolved),
                fmt_count(f.open_at_end),
                "—" if f.amount_open is None else fmt_money(f.amount_open, f.currency),
            )
        console.print(findings)
    else:
        console.print("[dim]No reconciliation or invoice-audit finding this week.[/]")

    if review.disputes:
        disputes = _table("Open disputes")
        disputes.add_column("dispute")
        disputes.add_column("subject")
        disputes.add_column("status")
        disputes.add_column("answer due")
        for d in review.disputes:
            due = "no deadline" if d.response_due_at is None else fmt_clock(d.response_due_at)
            if d.overdue:
                due = f"[bold red]{due} overdue[/]"
            disputes.add_row(
                escape(d.dispute_id), escape(d.subject), escape(metric_label(d.status)), due
            )
        console.print(disputes)
    else:
        console.print("[dim]No dispute open at the end of the week.[/]")

    if review.actions:
        actions = _table("Action items")
        actions.add_column("#", justify="right")
        actions.add_column("action", min_width=16, ratio=3)
        actions.add_column("owner", ratio=2)
        actions.add_column("due", no_wrap=True)
        actions.add_column("status", no_wrap=True)
        actions.add_column("agreed", no_wrap=True)
        for a in review.actions:
            status = escape(metric_label(a.status))
            if a.overdue(on):
                status = "[bold red]overdue[/]"
            actions.add_row(
                str(a.action_id),
                escape(a.title),
                escape(a.owner),
                fmt_day(a.due_on) if a.due_on else "no date",
                status,
                a.opened_week,
            )
        console.print(actions)
    else:
        console.print("[dim]No action item open or closed this week.[/]")

    over = [w for w in review.forecast if w.gap > 0]
    if over:
        weeks = ", ".join(f"{w.week} +{w.gap:,.0f}" for w in over)
        console.print(f"[yellow]Forecast over capacity (P90):[/] {weeks}")
    for note in review.notes:
        console.print(f"[dim]- {escape(note)}[/]")


__all__ = ["app", "default_week", "output_format", "parse_as_of", "parse_week", "print_summary"]
