"""`tallyclerk findings list|show|ack|resolve|dispute`: work through what the checks found."""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from tallyclerk.cli._common import console, state, store_session
from tallyclerk.reconcile import (
    CHECKS,
    DOMAINS,
    STATUSES,
    Finding,
    acknowledge,
    dispute_finding,
    get_finding,
    list_findings,
    resolve,
)

app = typer.Typer(
    help="Findings of reconciliation and the invoice audit: list, acknowledge, resolve, dispute.",
    no_args_is_help=True,
)


def current_user() -> str:
    """Who is acting, for the record (the login name of the shell)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def format_age(days: float | None) -> str:
    """An age people read at a glance: 5 h, 3.2 d, 41 d."""
    if days is None:
        return "—"
    if days < 1:
        return f"{days * 24:.0f} h"
    if days < 10:
        return f"{days:.1f} d"
    return f"{days:,.0f} d"


def format_money(
    amount: object, currency: str | None, *, signed: bool = False, blank: str = ""
) -> str:
    """Money as 1,234.50 USD (+/- with signed; `blank` when there is none)."""
    if amount is None:
        return blank
    text = f"{amount:+,.2f}" if signed else f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


def title_of(kind: str) -> str:
    """The human title of a finding kind."""
    check = CHECKS.get(kind)
    return check.title if check else kind


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a fitted table.

    Figures are right-aligned (`right`). When the console is too narrow for every column on
    one line, the columns with the lowest `keep` leave the row first and are shown under it,
    as `name value` (just the value without `label`). A `wrap` column may break its cells
    over several lines in the one-line layout.
    """

    name: str
    right: bool = False
    keep: int = 5
    label: bool = True
    wrap: bool = False


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of a fitted table: its cells (rich markup), an optional note, a style."""

    cells: Sequence[str]
    note: str = ""
    style: str | None = None
    end_section: bool = False


# The narrowest a note column (a finding's reason) may get before the notes go under the rows.
NOTE_MIN = 40
_GAP = 2  # spaces between columns when the notes go under the rows
_FRAME = 4  # the box and padding around those rows


def _cell_len(markup: str) -> int:
    return max((cell_len(line) for line in Text.from_markup(markup).plain.split("\n")), default=0)


def _words(markup: str) -> int:
    """The longest word of a cell: how narrow it may wrap."""
    plain = Text.from_markup(markup).plain
    return max((cell_len(w) for w in plain.split()), default=0)


def _pieces(name: str) -> list[str]:
    """A header split where it may break: at spaces, and after a hyphen or a slash."""
    return [p for word in name.split() for p in re.findall(r"[^-/]+[-/]?|[-/]", word)]


def _head_min(name: str) -> int:
    return max((cell_len(p) for p in _pieces(name)), default=0)


def wrap_header(name: str, width: int) -> str:
    """A header broken into lines of at most `width` (spaces, hyphens and slashes break)."""
    lines: list[str] = []
    line = ""
    for piece in _pieces(name):
        joiner = "" if not line or line.endswith(("-", "/")) else " "
        if line and cell_len(line + joiner + piece) > width:
            lines.append(line)
            line = piece
        else:
            line += joiner + piece
    lines.append(line)
    return "\n".join(lines)


def _pack(items: Sequence[str], width: int) -> list[str]:
    """Markup items on as few lines as fit `width`, two spaces apart, none split."""
    lines: list[str] = []
    line, used = "", 0
    for item in items:
        size = _cell_len(item)
        if line and used + _GAP + size > width:
            lines.append(line)
            line, used = "", 0
        line, used = (f"{line}  {item}", used + _GAP + size) if line else (item, size)
    if line:
        lines.append(line)
    return lines


def fitted_table(
    title: str,
    columns: Sequence[Column],
    entries: Sequence[Entry],
    *,
    note: str | None = None,
    note_min: int = NOTE_MIN,
    empty_note: str = "",
    label_note: bool = False,
    width: int | None = None,
) -> RenderableType:
    """A table that reads well at the console's width.

    Wide enough: one line per entry, the note (e.g. a finding's reason) as the last column,
    never narrower than `note_min`, the other cells kept whole. Too narrow: each entry is a
    line of the columns that fit, then, indented under it, the columns that did not fit and
    the note in full width (after its name with `label_note`). `empty_note` stands in an
    empty note in the one-line layout.
    """
    width = width or console.width
    notes = [e.note for e in entries] if note else []
    longest_note = max((_cell_len(n) for n in notes), default=0)
    cells = [[_cell_len(e.cells[i]) for e in entries] for i in range(len(columns))]
    whole = [max(sizes, default=0) for sizes in cells]
    full = [max(_cell_len(c.name), w) for c, w in zip(columns, whole, strict=True)]
    least = [
        max([_head_min(c.name), *((_words(e.cells[i]) for e in entries) if c.wrap else [whole[i]])])
        for i, c in enumerate(columns)
    ]
    frame = 3 * (len(columns) + (1 if note else 0)) + 1
    note_width = min(note_min, max(longest_note, _cell_len(empty_note), 1)) if note else 0
    room = width - frame - note_width
    if sum(least) <= room:
        widths = _shrink(full, [max(w, m) for w, m in zip(whole, least, strict=True)], room)
        widths = _shrink(widths, least, room)
        return _one_line(title, columns, entries, note, widths, empty_note, note_width)
    label = f"[dim]{note}[/] " if note and label_note else ""
    compact = [max(w, _head_min(c.name)) for c, w in zip(columns, whole, strict=True)]
    return _stacked(title, columns, entries, full, compact, width, label)


def _shrink(widths: Sequence[int], floor: Sequence[int], room: int) -> list[int]:
    """Narrow the widest columns first, none below its floor, until they fit `room`."""
    out = list(widths)
    excess = sum(out) - room
    while excess > 0:
        over = [i for i, w in enumerate(out) if w > floor[i]]
        if not over:
            break
        widest = max(over, key=lambda i: out[i])
        out[widest] -= 1
        excess -= 1
    return out


def _one_line(
    title: str,
    columns: Sequence[Column],
    entries: Sequence[Entry],
    note: str | None,
    widths: Sequence[int],
    empty_note: str,
    note_width: int,
) -> Table:
    table = Table(title=title, title_justify="left")
    for column, size in zip(columns, widths, strict=True):
        table.add_column(
            wrap_header(column.name, size) if _cell_len(column.name) > size else column.name,
            justify="right" if column.right else "left",
            width=size,
            no_wrap=not column.wrap,
            overflow="fold",
        )
    if note:
        table.add_column(note, overflow="fold", min_width=note_width)
    for e in entries:
        row = [*e.cells, *([e.note or empty_note] if note else [])]
        table.add_row(*row, style=e.style, end_section=e.end_section)
    return table


def _stacked(
    title: str,
    columns: Sequence[Column],
    entries: Sequence[Entry],
    full: Sequence[int],
    compact: Sequence[int],
    width: int,
    note_label: str,
) -> Table:
    room = width - _FRAME
    kept = list(range(len(columns)))
    leaving = sorted(kept, key=lambda i: (columns[i].keep, -i))
    while len(kept) > 1 and sum(compact[i] for i in kept) + _GAP * (len(kept) - 1) > room:
        kept.remove(leaving.pop(0))
    moved = [i for i in range(len(columns)) if i not in kept]
    # The kept columns as wide as their headers where there is room, else headers wrap.
    fitted = _shrink(
        [full[i] for i in kept], [compact[i] for i in kept], room - _GAP * (len(kept) - 1)
    )
    size = dict(zip(kept, fitted, strict=True))
    # Under the second column when the first is a short number (an id), else a little in.
    first = kept[0]
    indent = size[first] + _GAP if columns[first].right and size[first] <= 8 else 2

    def grid(cells: Sequence[str], style: str | None = None) -> Table:
        row = Table.grid(padding=(0, _GAP))
        for i in kept:
            row.add_column(
                justify="right" if columns[i].right else "left",
                vertical="bottom",
                width=size[i],
                no_wrap=True,
                overflow="ellipsis",
            )
        row.add_row(*cells, style=style)
        return row

    detailed = [
        bool(e.note or any(Text.from_markup(e.cells[i]).plain for i in moved)) for e in entries
    ]
    # Rules between the entries when most of them run over several lines.
    table = Table(title=title, title_justify="left", show_lines=2 * sum(detailed) >= len(entries))
    table.add_column(grid([wrap_header(columns[i].name, size[i]) for i in kept]))
    for e, has_detail in zip(entries, detailed, strict=True):
        parts: list[RenderableType] = [grid([e.cells[i] for i in kept], e.style)]
        if has_detail:
            extra = [
                (f"[dim]{columns[i].name}[/] " if columns[i].label else "") + e.cells[i]
                for i in moved
                if Text.from_markup(e.cells[i]).plain
            ]
            lines = [*_pack(extra, room - indent), *([note_label + e.note] if e.note else [])]
            detail = Text.from_markup("\n".join(lines), style=e.style or "", overflow="fold")
            parts.append(Padding(detail, (0, 0, 0, indent)))
        table.add_row(Group(*parts), end_section=e.end_section)
    return table


_STATUS = {
    "open": "[bold red]open[/]",
    "acknowledged": "[yellow]acknowledged[/]",
    "resolved": "[green]resolved[/]",
}


def where(provider: str | None, facility: str | None) -> str:
    """Provider and facility: westcoast LAX1 (— for none)."""
    if provider is None:
        return "—"
    return f"{provider} {facility}" if facility else provider


def findings_table(items: list[Finding], *, title: str, as_of: datetime) -> RenderableType:
    """Findings: id, subject, where, age, amount, status, kind; each with its reason."""
    columns = [
        Column("id", right=True, keep=9),
        Column("kind", keep=1, label=False),
        Column("subject", keep=8),
        Column("provider", keep=4),
        Column("age", right=True, keep=6),
        Column("amount", right=True, keep=3),
        Column("status", keep=7),
    ]
    entries = [
        Entry(
            [
                str(f.finding_id),
                escape(title_of(f.kind)),
                escape(f.subject_id),
                escape(where(f.provider_id, f.facility_id)),
                format_age(f.age_days(as_of)),
                format_money(f.amount, f.currency),
                _STATUS.get(f.status, escape(f.status)),
            ],
            note=escape(f.reason),
        )
        for f in items
    ]
    return fitted_table(title, columns, entries, note="reason")


@app.command("list")
def list_command(
    domain: Annotated[
        list[str] | None,
        typer.Option(
            "--domain", "-d", help=f"Only this domain ({', '.join(DOMAINS)}); repeatable."
        ),
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", "-k", help="Only this kind; repeatable.")
    ] = None,
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider; repeatable.")
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status", "-s", help="open, acknowledged, resolved (default: open and acknowledged)."
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many.")] = 50,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many first.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """List stored findings, oldest problem first.

    Findings are written by `tallyclerk reconcile` and `tallyclerk billing audit`; each
    problem is kept once, with its status and who acknowledged or resolved it.

    Examples:

      tallyclerk findings list

      tallyclerk findings list --kind not_shipped --provider westcoast

      tallyclerk findings list --status resolved --json
    """
    for name in domain or ():
        if name not in DOMAINS:
            raise typer.BadParameter(
                f"{name!r} is not one of {', '.join(DOMAINS)}", param_hint="--domain"
            )
    for name in status or ():
        if name not in STATUSES:
            raise typer.BadParameter(
                f"{name!r} is not one of {', '.join(STATUSES)}", param_hint="--status"
            )
    now = datetime.now(UTC)
    with store_session() as store, store.connect() as connection:
        items = list_findings(
            connection,
            domains=domain,
            kinds=kind,
            providers=provider,
            statuses=status or ["open", "acknowledged"],
            limit=limit,
            offset=offset,
        )
    if as_json:
        console.print_json(json.dumps({"findings": [f.as_dict(now) for f in items]}))
        return
    if not items:
        console.print("[green]No findings match.[/]")
        return
    console.print(findings_table(items, title=f"Findings ({len(items)} shown)", as_of=now))


def _one(finding_id: int) -> Finding:
    with store_session() as store, store.connect() as connection:
        return get_finding(connection, finding_id)


@app.command("show")
def show_command(
    finding_id: Annotated[int, typer.Argument(help="The finding's id.", metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """Show one finding with its evidence and its history.

    Examples:

      tallyclerk findings show 12
    """
    now = datetime.now(UTC)
    finding = _one(finding_id)
    document = finding.as_dict(now)
    if as_json:
        console.print_json(json.dumps(document))
        return
    console.print(f"[bold]Finding {finding.finding_id}[/]: {title_of(finding.kind)}")
    console.print(finding.reason)
    rows = [
        ("status", _STATUS.get(finding.status, finding.status)),
        ("subject", f"{finding.subject_kind} {finding.subject_id}"),
        ("provider", " ".join(x for x in (finding.provider_id, finding.facility_id) if x) or "—"),
        ("since", document["since"] or "—"),
        ("age", format_age(finding.age_days(now))),
        ("amount", format_money(finding.amount, finding.currency) or "—"),
        ("first detected", document["first_detected_at"]),
        ("last detected", f"{document['last_detected_at']} (clock {document['last_as_of']})"),
    ]
    if finding.acknowledged_at:
        rows.append(("acknowledged", f"{document['acknowledged_at']} by {finding.acknowledged_by}"))
    if finding.resolved_at:
        rows.append(
            (
                "resolved",
                f"{document['resolved_at']} by {finding.resolved_by}: {finding.resolution}",
            )
        )
    if finding.dispute_id:
        rows.append(("dispute", finding.dispute_id))
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    if finding.evidence:
        console.print("[bold]evidence[/]")
        console.print_json(json.dumps(finding.evidence))


@app.command("ack")
def ack_command(
    finding_ids: Annotated[list[int], typer.Argument(help="Finding ids.", metavar="ID...")],
    by: Annotated[str | None, typer.Option("--by", help="Who (default: your login).")] = None,
) -> None:
    """Acknowledge findings: someone has seen them and is on it.

    Examples:

      tallyclerk findings ack 12 13 --by maria
    """
    who = by or current_user()
    with store_session() as store, store.begin() as connection:
        for finding_id in finding_ids:
            finding = acknowledge(connection, finding_id, by=who)
            console.print(f"finding {finding.finding_id} acknowledged by {who}")


@app.command("resolve")
def resolve_command(
    finding_ids: Annotated[list[int], typer.Argument(help="Finding ids.", metavar="ID...")],
    note: Annotated[
        str, typer.Option("--note", "-m", help="How it was resolved (kept with the finding).")
    ],
    by: Annotated[str | None, typer.Option("--by", help="Who (default: your login).")] = None,
) -> None:
    """Resolve findings with a note; a later run does not raise them again.

    Examples:

      tallyclerk findings resolve 12 -m "3PL found the parcel; reshipped on 2026-03-04"
    """
    who = by or current_user()
    with store_session() as store, store.begin() as connection:
        for finding_id in finding_ids:
            finding = resolve(connection, finding_id, by=who, resolution=note)
            console.print(f"finding {finding.finding_id} resolved by {who}")


@app.command("dispute")
def dispute_command(
    finding_id: Annotated[int, typer.Argument(help="The finding's id.", metavar="ID")],
    note: Annotated[str | None, typer.Option("--note", "-m", help="A note for the 3PL.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who (default: your login).")] = None,
) -> None:
    """Open a dispute with the 3PL from a finding (its amount and evidence go along).

    Examples:

      tallyclerk findings dispute 12 -m "storage billed at 32.00, contract says 25.00"
    """
    who = by or current_user()
    with store_session() as store:
        finding, dispute = dispute_finding(
            store, finding_id, by=who, note=note, settings=state.effective_settings()
        )
    amount = format_money(dispute.amount, dispute.currency)
    console.print(
        f"dispute [bold]{dispute.dispute_id}[/] opened with {dispute.provider_id} "
        f"from finding {finding.finding_id}" + (f" for {amount}" if amount else "")
    )
