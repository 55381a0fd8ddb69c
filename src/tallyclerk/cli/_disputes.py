"""`tallyclerk dispute list|show|open|answer|resolve|comment|ledger`: the dispute workflow.

The command line acts as a brand admin (the shell's login name), except `answer --as USER`,
which answers as a stored user: a provider user answering for its 3PL.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tallyclerk.access import Principal, get_user
from tallyclerk.cli._common import console, state, store_session
from tallyclerk.cli._findings import Column, Entry, fitted_table, format_money
from tallyclerk.errors import InputError
from tallyclerk.sla import (
    DISPUTE_STATUSES,
    Answer,
    Dispute,
    Resolution,
    answer_dispute,
    comment_dispute,
    count_disputes,
    dispute_events,
    get_dispute,
    ledger,
    ledger_totals,
    list_disputes,
    open_dispute,
    open_from_breach,
    open_from_credit,
    parse_period,
    resolve_dispute,
)

app = typer.Typer(
    help="Disputes with the 3PLs: open, answer, resolve, and the credits they booked.",
    no_args_is_help=True,
)

_STATUS = {
    "open": "[bold red]open[/]",
    "accepted": "[green]accepted[/]",
    "rejected": "[yellow]rejected[/]",
    "countered": "[yellow]countered[/]",
    "resolved": "[dim]resolved[/]",
}


def brand_admin() -> Principal:
    """Who the command line acts as: a brand admin named after the shell's user."""
    return Principal(user_id=os.environ.get("USER") or "cli", role="admin")


def _amount(text: str | None, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise typer.BadParameter(f"{text!r} is not an amount like 120.50", param_hint=option)
    return value


def _month(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return parse_period(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from None


def _status(dispute: Dispute, now: datetime) -> str:
    text = _STATUS.get(dispute.status, escape(dispute.status))
    if dispute.status == "resolved" and dispute.resolution:
        text = f"[dim]{escape(dispute.resolution)}[/]"
    if dispute.overdue(now):
        text += " [bold red](overdue)[/]"
    return text


def _when(value: datetime | None) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if value is not None else "—"


def _announce(dispute: Dispute, verb: str) -> None:
    amount = format_money(dispute.amount, dispute.currency)
    console.print(
        f"dispute [bold]{dispute.dispute_id}[/] {verb} with {escape(dispute.provider_id)}"
        + (f" for {amount}" if amount else "")
        + f": {escape(dispute.subject)}"
    )


@app.command("list")
def list_command(
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider; repeatable.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", "-s", help=f"Only this status ({', '.join(DISPUTE_STATUSES)})."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many.")] = 50,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many first.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """List disputes, newest first, with their answer deadline.

    An open dispute past its deadline is marked overdue: the response KPI counts it late.

    Examples:

      tallyclerk dispute list

      tallyclerk dispute list --provider westcoast --status open

      tallyclerk dispute list --json
    """
    if status is not None and status not in DISPUTE_STATUSES:
        raise typer.BadParameter(
            f"{status!r} is not one of {', '.join(DISPUTE_STATUSES)}", param_hint="--status"
        )
    now = datetime.now(UTC)
    with store_session() as store, store.connect() as connection:
        items = list_disputes(
            connection, providers=provider or None, status=status, limit=limit, offset=offset
        )
        total = count_disputes(connection, providers=provider or None, status=status)
    if as_json:
        document = {"total": total, "disputes": [d.as_dict() for d in items]}
        console.print_json(json.dumps(document))
        return
    if not items:
        console.print("[green]No disputes match.[/]")
        return
    columns = [
        Column("id", keep=9),
        Column("provider", keep=6),
        Column("opened", keep=4),
        Column("answer due", keep=3),
        Column("amount", right=True, keep=7),
        Column("status", keep=8),
    ]
    entries = [
        Entry(
            [
                d.dispute_id,
                escape(d.provider_id),
                f"{d.opened_at:%Y-%m-%d}",
                f"{d.response_due_at:%Y-%m-%d %H:%M}" if d.response_due_at else "—",
                format_money(d.amount, d.currency),
                _status(d, now),
            ],
            note=escape(d.subject),
        )
        for d in items
    ]
    console.print(
        fitted_table(f"Disputes ({len(items)} of {total})", columns, entries, note="subject")
    )


@app.command("show")
def show_command(
    dispute_id: Annotated[str, typer.Argument(help="The dispute's id.", metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """Show a dispute with every step of its history.

    Examples:

      tallyclerk dispute show DSP-000012

      tallyclerk dispute show DSP-000012 --json
    """
    now = datetime.now(UTC)
    with store_session() as store, store.connect() as connection:
        dispute = get_dispute(connection, dispute_id)
        events = dispute_events(connection, dispute_id)
    if as_json:
        document = {**dispute.as_dict(), "events": [e.as_dict() for e in events]}
        console.print_json(json.dumps(document))
        return
    console.print(f"[bold]Dispute {dispute.dispute_id}[/] with {escape(dispute.provider_id)}")
    console.print(escape(dispute.subject))
    rows = [
        ("status", _status(dispute, now)),
        ("amount", format_money(dispute.amount, dispute.currency) or "—"),
        ("period", f"{dispute.period:%Y-%m}" if dispute.period else "—"),
        ("source", escape(" ".join(x for x in (dispute.source, dispute.source_ref) if x) or "—")),
        ("opened", f"{_when(dispute.opened_at)} by {escape(dispute.opened_by or '—')}"),
        ("answer due", _when(dispute.response_due_at)),
    ]
    if dispute.responded_at:
        answer = escape(dispute.answer or "")
        if dispute.counter_amount is not None:
            answer += f" {format_money(dispute.counter_amount, dispute.currency)}"
        rows.append(
            (
                "answered",
                f"{_when(dispute.responded_at)} by {escape(dispute.responded_by or '—')}: "
                + answer,
            )
        )
    if dispute.resolved_at:
        rows.append(
            (
                "resolved",
                f"{_when(dispute.resolved_at)} by {escape(dispute.resolved_by or '—')}: "
                f"{escape(dispute.resolution or '')}"
                + (
                    f" {format_money(dispute.credited_amount, dispute.currency)}"
                    if dispute.credited_amount is not None
                    else ""
                ),
            )
        )
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    columns = [
        Column("when", keep=9),
        Column("step", keep=8),
        Column("by", keep=7),
        Column("amount", right=True, keep=5),
    ]
    entries = [
        Entry(
            [
                _when(event.occurred_at),
                escape(event.action),
                escape(event.actor + (f" ({event.role})" if event.role else "")),
                format_money(event.amount, dispute.currency),
            ],
            note=escape(event.note or ""),
        )
        for event in events
    ]
    console.print(fitted_table("History", columns, entries, note="note", note_min=20))


@app.command("open")
def open_command(
    provider: Annotated[str, typer.Option("--provider", "-p", help="The 3PL disputed with.")],
    subject: Annotated[
        str | None, typer.Option("--subject", help="What is disputed (a dispute by hand).")
    ] = None,
    breach: Annotated[
        str | None,
        typer.Option("--breach", help="Dispute the recorded breach of this metric (--period)."),
    ] = None,
    credit: Annotated[
        bool, typer.Option("--credit", help="Claim the month's SLA credits (--period).")
    ] = False,
    period: Annotated[str | None, typer.Option("--period", help="The month, like 2026-03.")] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="The amount claimed (with --subject, --credit).")
    ] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", help="Its currency (default: the contract's).")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="What it refers to (invoice, order).")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", "-m", help="A note for the 3PL.")] = None,
) -> None:
    """Open a dispute: by hand, from a recorded SLA breach, or claiming a month's credits.

    The 3PL owes an answer by the end of the N-th business day (the contract's
    dispute_response_on_time_rate within_business_days, 2 by default).

    Examples:

      tallyclerk dispute open --provider westcoast --subject "pallet 88 lost" --amount 420

      tallyclerk dispute open --provider westcoast --breach ship_on_time_rate --period 2026-03

      tallyclerk dispute open --provider westcoast --credit --period 2026-03
    """
    chosen = [x for x in (subject is not None, breach is not None, credit) if x]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --subject, --breach or --credit")
    month = _month(period)
    claimed = _amount(amount, "--amount")
    if (breach is not None or credit) and month is None:
        raise typer.BadParameter("--breach and --credit need the month", param_hint="--period")
    if breach is not None and (amount is not None or currency is not None):
        raise typer.BadParameter("a breach dispute claims the breach's priced credit")
    by = brand_admin()
    with store_session() as store, store.begin() as connection:
        if breach is not None and month is not None:
            dispute = open_from_breach(
                connection, provider_id=provider, metric=breach, period=month, by=by, note=note
            )
        elif credit and month is not None:
            dispute = open_from_credit(
                connection, provider_id=provider, period=month, by=by, amount=claimed, note=note
            )
        else:
            dispute = open_dispute(
                connection,
                provider_id=provider,
                subject=subject or "",
                source="manual",
                reference=reference,
                amount=claimed,
                currency=currency.upper() if currency else None,
                period=month,
                by=by,
                note=note,
                settings=state.effective_settings(),
            )
    _announce(dispute, "opened")
    console.print(f"the answer is due by {_when(dispute.response_due_at)}")


@app.command("answer")
def answer_command(
    dispute_id: Annotated[str, typer.Argument(help="The dispute's id.", metavar="ID")],
    accept: Annotated[bool, typer.Option("--accept", help="Accept the claim as it is.")] = False,
    reject: Annotated[
        bool, typer.Option("--reject", help="Reject the claim (needs --reason).")
    ] = False,
    counter: Annotated[
        str | None, typer.Option("--counter", help="Offer this amount instead.", metavar="AMOUNT")
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", "--note", "-m", help="Why (required to reject).")
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Answer as this stored user (a provider user); default: the brand admin "
            "recording an answer received by e-mail.",
        ),
    ] = None,
) -> None:
    """Record the 3PL's answer to an open dispute: accept, reject, or counter.

    Examples:

      tallyclerk dispute answer DSP-000012 --accept --as wc-liaison

      tallyclerk dispute answer DSP-000012 --reject --reason "scan shows pickup" --as wc-liaison

      tallyclerk dispute answer DSP-000012 --counter 200.00 --as wc-liaison
    """
    steps = [s for s, given in (("accept", accept), ("reject", reject)) if given]
    if counter is not None:
        steps.append("counter")
    if len(steps) != 1:
        raise typer.BadParameter("give exactly one of --accept, --reject or --counter AMOUNT")
    answer: Answer = "accept" if accept else "reject" if reject else "counter"
    offered = _amount(counter, "--counter")
    with store_session() as store, store.begin() as connection:
        if as_user is None:
            by = brand_admin()
        else:
            user = get_user(connection, as_user)
            if user is None:
                raise InputError(f"no user {as_user!r} (tallyclerk user list shows them)")
            if user.disabled_at is not None:
                raise InputError(f"user {as_user!r} is disabled")
            by = user.principal
        dispute = answer_dispute(
            connection, dispute_id, by=by, answer=answer, note=reason, counter_amount=offered
        )
    late = (
        " (after the deadline: counted late)"
        if dispute.response_due_at
        and dispute.responded_at
        and dispute.responded_at > dispute.response_due_at
        else ""
    )
    console.print(
        f"dispute [bold]{dispute.dispute_id}[/] {dispute.status} by {escape(by.user_id)}{late}"
    )


@app.command("resolve")
def resolve_command(
    dispute_id: Annotated[str, typer.Argument(help="The dispute's id.", metavar="ID")],
    amount: Annotated[
        str | None,
        typer.Argument(
            help="With --credit: the amount agreed (default: the counter-offer or the claim).",
            metavar="[AMOUNT]",
        ),
    ] = None,
    credit: Annotated[
        bool, typer.Option("--credit", help="Book the credit (accepted or countered).")
    ] = False,
    withdraw: Annotated[bool, typer.Option("--withdraw", help="Drop the dispute.")] = False,
    uphold: Annotated[
        bool, typer.Option("--uphold", help="Accept the 3PL's rejection: no credit.")
    ] = False,
    note: Annotated[str | None, typer.Option("--note", "-m", help="A note kept with it.")] = None,
) -> None:
    """Resolve a dispute as the brand: credit it, withdraw it, or uphold the rejection.

    A credit goes to the credit ledger for the dispute's month.

    Examples:

      tallyclerk dispute resolve DSP-000012 --credit

      tallyclerk dispute resolve DSP-000012 --credit 150.00 -m "agreed on the call"

      tallyclerk dispute resolve DSP-000012 --withdraw

      tallyclerk dispute resolve DSP-000012 --uphold
    """
    options: tuple[tuple[Resolution, bool], ...] = (
        ("credited", credit),
        ("withdrawn", withdraw),
        ("upheld", uphold),
    )
    chosen = [resolution for resolution, given in options if given]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --credit, --withdraw or --uphold")
    if amount is not None and not credit:
        raise typer.BadParameter("only --credit takes an amount")
    agreed = _amount(amount, "AMOUNT")
    with store_session() as store, store.begin() as connection:
        dispute = resolve_dispute(
            connection, dispute_id, by=brand_admin(), resolution=chosen[0], amount=agreed, note=note
        )
    booked = (
        f": {format_money(dispute.credited_amount, dispute.currency)} booked to "
        f"{dispute.credit_period:%Y-%m}"
        if dispute.credited_amount is not None
        else ""
    )
    console.print(f"dispute [bold]{dispute.dispute_id}[/] {dispute.resolution}{booked}")


@app.command("comment")
def comment_command(
    dispute_id: Annotated[str, typer.Argument(help="The dispute's id.", metavar="ID")],
    note: Annotated[str, typer.Option("--note", "-m", help="The comment.")],
) -> None:
    """Add a comment to a dispute's history.

    Examples:

      tallyclerk dispute comment DSP-000012 -m "called their account manager"
    """
    with store_session() as store, store.begin() as connection:
        event = comment_dispute(connection, dispute_id, by=brand_admin(), note=note)
    console.print(f"comment added to dispute [bold]{event.dispute_id}[/]")


@app.command("ledger")
def ledger_command(
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider; repeatable.")
    ] = None,
    period: Annotated[str | None, typer.Option("--period", help="Only this month.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """The credit ledger: credits the 3PLs owe, entry by entry, with totals per month.

    Examples:

      tallyclerk dispute ledger

      tallyclerk dispute ledger --provider westcoast --period 2026-03 --json
    """
    month = _month(period)
    with store_session() as store, store.connect() as connection:
        entries = ledger(connection, providers=provider or None, period=month)
        totals = [
            t
            for t in ledger_totals(connection, providers=provider or None)
            if month is None or t[1] == month
        ]
    if as_json:
        document = {
            "entries": [
                {
                    "entry_id": e.entry_id,
                    "provider_id": e.provider_id,
                    "period": f"{e.period:%Y-%m}",
                    "amount": str(e.amount),
                    "currency": e.currency,
                    "source": e.source,
                    "source_ref": e.source_ref,
                    "recorded_at": e.recorded_at.isoformat(),
                    "recorded_by": e.recorded_by,
                    "note": e.note,
                }
                for e in entries
            ],
            "totals": [
                {"provider_id": p, "period": f"{m:%Y-%m}", "currency": c, "total": str(t)}
                for p, m, c, t in totals
            ],
        }
        console.print_json(json.dumps(document))
        return
    if not entries:
        console.print("[green]No credits booked.[/]")
        return
    table = Table(title=f"Credit ledger ({len(entries)} entries)", title_justify="left")
    for name in ("provider", "month", "amount", "source", "recorded", "note"):
        table.add_column(name, justify="right" if name == "amount" else "left", overflow="fold")
    for e in entries:
        table.add_row(
            escape(e.provider_id),
            f"{e.period:%Y-%m}",
            format_money(e.amount, e.currency),
            escape(" ".join(x for x in (e.source, e.source_ref) if x)),
            f"{e.recorded_at:%Y-%m-%d} {escape(e.recorded_by or '')}".strip(),
            escape(e.note or ""),
        )
    console.print(table)
    summary = Table(title="Totals", title_justify="left")
    for name in ("provider", "month", "total"):
        summary.add_column(name, justify="right" if name == "total" else "left")
    for provider_id, month_start, currency, total in totals:
        summary.add_row(escape(provider_id), f"{month_start:%Y-%m}", format_money(total, currency))
    console.print(summary)
