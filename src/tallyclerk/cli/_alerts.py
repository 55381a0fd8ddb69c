"""`tallyclerk alerts run|list|show|ack|check`: the alert rules, from cron or by hand."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table

from tallyclerk.alerts._channels import safe_url
from tallyclerk.alerts._engine import AlertRun, chain_names, run_alerts
from tallyclerk.alerts._repository import (
    ACTIVE_STATUSES,
    Alert,
    acknowledge_alert,
    alert_events,
    count_alerts,
    get_alert,
    list_alerts,
)
from tallyclerk.alerts._rules import KIND_FIELDS, AlertRules, Rule, load_rules
from tallyclerk.cli._common import console, err_console, state, store_session, user_errors
from tallyclerk.cli._findings import Column, Entry, current_user, fitted_table
from tallyclerk.errors import InputError

app = typer.Typer(
    help="Alerts: run the rules (from cron or by hand), list and acknowledge what they raised.",
    no_args_is_help=True,
)

RulesArgument = Annotated[
    Path | None,
    typer.Argument(
        metavar="[RULES.yaml]",
        help="The rules file (default: TALLYCLERK_ALERTS__RULES_FILE).",
        show_default=False,
    ),
]

_STATUS = {
    "open": "[bold red]open[/]",
    "acknowledged": "[yellow]acknowledged[/]",
    "resolved": "[green]resolved[/]",
}
_SEVERITY = {"page": "[bold red]page[/]", "warn": "[yellow]warn[/]"}


def rules_path(given: Path | None) -> Path:
    """The rules file named on the command line, else the configured one."""
    if given is not None:
        return given
    configured = state.effective_settings().alerts.rules_file
    if configured is None:
        raise InputError(
            "no rules file: name one (tallyclerk alerts run RULES.yaml) or set "
            "TALLYCLERK_ALERTS__RULES_FILE"
        )
    return Path(configured)


def parse_now(text: str | None) -> datetime | None:
    """--now: an ISO timestamp (naive means UTC) or a date (its midnight, UTC)."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--now {text!r} is not an ISO timestamp like 2026-03-20T14:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _when(value: datetime | None) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M}" if value is not None else "—"


# ---------------------------------------------------------------------------- run


@app.command("run")
def run_command(
    rules_file: RulesArgument = None,
    now: Annotated[
        str | None,
        typer.Option("--now", help="Run as if the clock read this time (ISO; default now)."),
    ] = None,
    refresh: Annotated[
        bool | None,
        typer.Option(
            "--refresh/--no-refresh",
            help="Bring the findings and the open month's burn rates up to the clock first "
            "(default: TALLYCLERK_ALERTS__REFRESH, on).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Say what would open, be sent, escalate or resolve; change nothing."
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing but failures (for cron).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
) -> None:
    """Run the alert rules once: open, refresh and resolve alerts, notify and escalate.

    Each cause keeps one alert while it lasts. The first contact of the rule's chain is told
    when an alert opens (email and/or webhook); when nobody acknowledges it within the
    escalation delay, the next contact is; inside the quiet hours only page alerts go out.
    Running it again at the same clock sends nothing twice, so it suits cron.

    Exit status: 0 when every message that was due went out (alerts firing is a success),
    1 when a channel failed (the run retries it next time), 2 on a problem with the rules
    file or the store.

    Examples:

      tallyclerk alerts run alerts.yaml

      tallyclerk alerts run alerts.yaml --dry-run --now 2026-03-20T23:30Z

      */15 * * * *  tallyclerk alerts run /etc/tallyclerk/alerts.yaml --quiet
    """
    with user_errors():
        path = rules_path(rules_file)
        rules = load_rules(path)
        moment = parse_now(now)
    settings = state.effective_settings()
    chosen = settings.alerts.refresh if refresh is None else refresh
    with store_session() as store:
        if quiet or as_json:
            run = run_alerts(store, rules, settings, now=moment, refresh=chosen, dry_run=dry_run)
        else:
            with err_console.status("running the alert rules"):
                run = run_alerts(
                    store, rules, settings, now=moment, refresh=chosen, dry_run=dry_run
                )
    _report(run, quiet=quiet, as_json=as_json)
    if run.failed and not dry_run:
        raise typer.Exit(1)


def _report(run: AlertRun, *, quiet: bool, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(run.as_dict()))
        return
    if quiet:
        for line in run.lines:
            if line.startswith("FAILED"):
                err_console.print(escape(line), soft_wrap=True)
        return
    for line in run.lines:
        style = "red" if line.startswith("FAILED") else None
        console.print(escape(line), style=style, soft_wrap=True)
    console.print(("[bold]" if run.failed else "") + escape(run.summary()))


# ---------------------------------------------------------------------------- list, show, ack


def alerts_table(items: list[Alert], *, title: str) -> RenderableType:
    """Alerts: id, severity, status, provider, level, opened; each with its subject."""
    columns = [
        Column("id", right=True, keep=9),
        Column("severity", keep=8),
        Column("status", keep=7),
        Column("provider", keep=5),
        Column("rule", keep=3),
        Column("level", right=True, keep=2),
        Column("opened (UTC)", keep=4),
    ]
    entries = [
        Entry(
            [
                str(a.alert_id),
                _SEVERITY.get(a.severity, escape(a.severity)),
                _STATUS.get(a.status, escape(a.status)),
                escape(a.provider_id or "—"),
                escape(a.rule),
                str(a.level),
                _when(a.opened_at),
            ],
            note=escape(a.subject),
        )
        for a in items
    ]
    return fitted_table(title, columns, entries, note="subject")


@app.command("list")
def list_command(
    show_all: Annotated[
        bool, typer.Option("--all", "-a", help="Resolved alerts too (default: open and acked).")
    ] = False,
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider; repeatable.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """List alerts: open pages first, then newest first.

    Examples:

      tallyclerk alerts list

      tallyclerk alerts list --all --provider westcoast

      tallyclerk alerts list --json
    """
    statuses = None if show_all else list(ACTIVE_STATUSES)
    with store_session() as store, store.connect() as connection:
        items = list_alerts(connection, statuses=statuses, providers=provider, limit=limit)
        total = count_alerts(connection, statuses=statuses, providers=provider)
    if as_json:
        console.print_json(json.dumps({"total": total, "alerts": [a.as_dict() for a in items]}))
        return
    if not items:
        console.print("[green]No alerts.[/]" if show_all else "[green]No open alerts.[/]")
        return
    console.print(alerts_table(items, title=f"Alerts ({len(items)} of {total})"))


@app.command("show")
def show_command(
    alert_id: Annotated[int, typer.Argument(help="The alert's id.", metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """Show one alert with its history: who was told, when, on which channel.

    Examples:

      tallyclerk alerts show 12

      tallyclerk alerts show 12 --json
    """
    with store_session() as store, store.connect() as connection:
        alert = get_alert(connection, alert_id)
        events = alert_events(connection, alert_id)
    if as_json:
        document = {**alert.as_dict(), "events": [e.as_dict() for e in events]}
        console.print_json(json.dumps(document))
        return
    console.print(f"[bold]Alert {alert.alert_id}[/]: {escape(alert.subject)}")
    console.print(escape(alert.message))
    rows = [
        ("status", _STATUS.get(alert.status, escape(alert.status))),
        ("severity", _SEVERITY.get(alert.severity, escape(alert.severity))),
        ("rule", escape(f"{alert.rule} ({alert.kind})")),
        ("cause", escape(alert.cause)),
        ("provider", escape(alert.provider_id or "—")),
        ("level", str(alert.level)),
        ("opened", f"{_when(alert.opened_at)} UTC"),
        ("last seen", f"{_when(alert.last_seen_at)} UTC"),
        ("notified", f"{_when(alert.notified_at)} UTC" if alert.notified_at else "—"),
    ]
    if alert.link:
        rows.append(("link", escape(alert.link)))
    if alert.acknowledged_at:
        rows.append(
            (
                "acknowledged",
                f"{_when(alert.acknowledged_at)} UTC by {escape(alert.acknowledged_by or '—')}",
            )
        )
    if alert.resolved_at:
        rows.append(("resolved", f"{_when(alert.resolved_at)} UTC"))
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    columns = [
        Column("when (UTC)", keep=9),
        Column("step", keep=8),
        Column("contact", keep=7),
        Column("channel", keep=5),
    ]
    entries = [
        Entry(
            [
                _when(e.happened_at),
                escape(e.event),
                escape(e.contact or ""),
                escape(e.channel or ""),
            ],
            note=escape(e.detail or ""),
            style="red" if e.event == "failed" else None,
        )
        for e in events
    ]
    console.print(fitted_table("History", columns, entries, note="detail", note_min=20))


@app.command("ack")
def ack_command(
    alert_ids: Annotated[list[int], typer.Argument(help="Alert ids.", metavar="ID...")],
    by: Annotated[str | None, typer.Option("--by", help="Who (default: your login).")] = None,
) -> None:
    """Acknowledge alerts: someone is on it, so they go no further up the chain.

    An acknowledged alert stays until a run no longer finds its cause, then resolves.

    Examples:

      tallyclerk alerts ack 12

      tallyclerk alerts ack 12 13 --by dana
    """
    who = by or current_user()
    with store_session() as store, store.begin() as connection:
        for alert_id in alert_ids:
            before = get_alert(connection, alert_id)
            alert = acknowledge_alert(connection, alert_id, by=who)
            if before.status == "acknowledged":
                console.print(
                    f"alert {alert.alert_id} was acknowledged already by "
                    f"{escape(alert.acknowledged_by or '—')} at {_when(alert.acknowledged_at)} UTC"
                )
            else:
                console.print(f"alert {alert.alert_id} acknowledged by {escape(who)}")


# ---------------------------------------------------------------------------- check


# How a threshold without a numeric default reads when the rule leaves it out.
_UNSET = {"states": "warn,page", "metrics": "every contracted"}


def _thresholds(rule: Rule) -> str:
    parts = []
    for name, default in KIND_FIELDS[rule.kind].items():
        value = getattr(rule, name)
        if value is None and default is None:
            parts.append(f"{name} {_UNSET.get(name, 'any')} (default)")
            continue
        shown = value if value is not None else default
        if isinstance(shown, list):
            text = ",".join(str(v) for v in shown)
        elif isinstance(shown, float):
            text = f"{shown:g}"
        else:
            text = str(shown)
        parts.append(f"{name} {text}" + ("" if value is not None else " (default)"))
    return " · ".join(parts) or "—"


def _env_note(variable: str | None) -> str:
    if variable is None:
        return ""
    return f"${variable}" + ("" if os.environ.get(variable) else " [red](not set here)[/]")


def describe_rules(rules: AlertRules, path: Path) -> None:
    """Print the contacts, channels, chain, quiet hours and rules of a valid file."""
    console.print(f"[green]{escape(str(path))} is valid.[/]")
    contact_entries = [
        Entry(
            [
                escape(key),
                escape(c.name),
                escape(c.email or "—"),
                escape(c.webhook or "—"),
            ]
        )
        for key, c in rules.contacts.items()
    ]
    console.print(
        fitted_table(
            "Contacts",
            [
                Column("contact", keep=9),
                Column("name", keep=8),
                Column("email", keep=7),
                Column("webhook", keep=6),
            ],
            contact_entries,
        )
    )
    email = rules.channels.email
    if email is not None:
        login = (
            f", login {escape(email.username or '')} with the password in "
            f"{_env_note(email.password_env) or 'no variable'}"
        )
        console.print(
            f"[bold]Email[/] through {escape(email.host)}:{email.port} as {escape(email.sender)}"
            + (", STARTTLS" if email.starttls else "")
            + (login if email.username else "")
        )
    for name, hook in rules.channels.webhooks.items():
        signed = f"signed with {_env_note(hook.secret_env)}" if hook.secret_env else "unsigned"
        console.print(f"[bold]Webhook[/] {escape(name)}: {escape(safe_url(hook.url))} ({signed})")
    chain = " → ".join(escape(n) for n in rules.escalation.chain)
    console.print(
        f"[bold]Escalation[/]: {chain}, one step after "
        f"{rules.escalation.after_minutes:g} minutes without acknowledgement"
    )
    quiet = rules.quiet_hours
    console.print(
        f"[bold]Quiet hours[/]: {quiet.start}-{quiet.end} {escape(quiet.timezone)} "
        "(only page alerts go out)"
        if quiet is not None
        else "[bold]Quiet hours[/]: none"
    )
    console.print(f"[bold]Links[/] to {escape(rules.ack_base_url)}")
    entries = [
        Entry(
            [
                escape(rule.name),
                escape(rule.kind),
                _SEVERITY.get(rule.severity, rule.severity)
                + (" [dim](or burn state)[/]" if rule.kind == "burn_rate" else ""),
                escape(",".join(rule.providers) if rule.providers else "all"),
                escape(" → ".join(chain_names(rules, rule))),
                f"{rules.escalate_after(rule):g} min",
            ],
            note=escape(_thresholds(rule)),
        )
        for rule in rules.rules
    ]
    console.print(
        fitted_table(
            f"Rules ({len(rules.rules)})",
            [
                Column("rule", keep=9),
                Column("kind", keep=8),
                Column("severity", keep=6),
                Column("providers", keep=4),
                Column("chain", keep=5, wrap=True),
                Column("after", right=True, keep=3),
            ],
            entries,
            note="thresholds",
            note_min=24,
        )
    )


@app.command("check")
def check_command(rules_file: RulesArgument = None) -> None:
    """Check a rules file and show what it sets up: contacts, channels, chain, rules.

    Every problem is reported with its file, line and key; nothing is sent.

    Examples:

      tallyclerk alerts check alerts.yaml

      TALLYCLERK_ALERTS__RULES_FILE=alerts.yaml tallyclerk alerts check
    """
    with user_errors():
        path = rules_path(rules_file)
        rules = load_rules(path)
    describe_rules(rules, path)
