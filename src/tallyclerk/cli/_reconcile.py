"""`tallyclerk reconcile`: every hand-off that broke, as of a time, with its reason and age."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.markup import escape

from tallyclerk.cli._common import console, state, store_session
from tallyclerk.cli._evaluate import parse_as_of
from tallyclerk.cli._findings import Column, Entry, fitted_table, format_age, where
from tallyclerk.errors import InputError
from tallyclerk.reconcile import (
    CHECKS,
    CheckParams,
    Detected,
    Domain,
    Finding,
    FindingsRun,
    checks_of,
    run_findings,
)

# A finding of one kind: its id, what it is about, where, how old, its status (then its reason).
FINDING_COLUMNS = (
    Column("id", right=True, keep=9),
    Column("subject", keep=8),
    Column("provider", keep=4),
    Column("age", right=True, keep=6),
    Column("status", keep=7),
)

# What `tallyclerk reconcile` looks at: the hand-offs, and the inventory book against the 3PL.
DOMAINS: tuple[Domain, ...] = ("handoff", "inventory")


@dataclass(frozen=True, slots=True)
class Row:
    """One finding as shown: stored (with its id and status) or only detected."""

    domain: str
    kind: str
    provider_id: str | None
    facility_id: str | None
    subject_kind: str
    subject_id: str
    since: datetime | None
    reason: str
    finding_id: int | None
    status: str
    new: bool
    document: dict[str, Any] = field(compare=False)

    def age_days(self, as_of: datetime) -> float | None:
        """Days from `since` to `as_of`."""
        if self.since is None:
            return None
        return (as_of - self.since).total_seconds() / 86400


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _detected_document(item: Detected, as_of: datetime, stored: Finding | None) -> dict[str, Any]:
    """A detected finding in the shape of Finding.as_dict (id and status from the store)."""
    age = None if item.since is None else (as_of - item.since).total_seconds() / 86400
    return {
        "finding_id": stored.finding_id if stored else None,
        "domain": item.domain,
        "kind": item.kind,
        "provider_id": item.provider_id,
        "facility_id": item.facility_id,
        "subject_kind": item.subject_kind,
        "subject_id": item.subject_id,
        "since": _iso(item.since),
        "reason": item.reason,
        "amount": None if item.amount is None else str(item.amount),
        "currency": item.currency,
        "evidence": item.evidence,
        "status": stored.status if stored else "not recorded",
        "age_days": None if age is None else round(age, 2),
    }


def rows_of(run: FindingsRun, *, started: datetime, recorded: bool) -> tuple[list[Row], int]:
    """The findings this run detected, as stored; and how many of them a person had resolved.

    Recorded: each detected finding as stored, unless a person resolved it (their resolution
    stands; such findings are only counted). Detect only: each detected finding, with the
    id and status of its stored twin when there is an open one.
    """
    stored = {f.fingerprint: f for f in run.open_findings}
    rows: list[Row] = []
    kept_resolved = 0
    for item in run.detected:
        twin = stored.get(item.fingerprint)
        if recorded:
            if twin is None:
                kept_resolved += 1
                continue
            rows.append(
                Row(
                    domain=twin.domain,
                    kind=twin.kind,
                    provider_id=twin.provider_id,
                    facility_id=twin.facility_id,
                    subject_kind=twin.subject_kind,
                    subject_id=twin.subject_id,
                    since=twin.since,
                    reason=twin.reason,
                    finding_id=twin.finding_id,
                    status=twin.status,
                    new=twin.first_detected_at >= started,
                    document=twin.as_dict(run.as_of),
                )
            )
            continue
        rows.append(
            Row(
                domain=item.domain,
                kind=item.kind,
                provider_id=item.provider_id,
                facility_id=item.facility_id,
                subject_kind=item.subject_kind,
                subject_id=item.subject_id,
                since=item.since,
                reason=item.reason,
                finding_id=twin.finding_id if twin else None,
                status=twin.status if twin else "not recorded",
                new=twin is None,
                document=_detected_document(item, run.as_of, twin),
            )
        )
    return rows, kept_resolved


@dataclass(frozen=True, slots=True)
class Count:
    """Findings of one kind charged to one provider."""

    domain: str
    kind: str
    title: str
    provider_id: str | None
    count: int
    new: int
    oldest_age_days: float | None


def _order(kinds: Sequence[str]) -> dict[str, int]:
    return {kind: i for i, kind in enumerate(kinds)}


def count_rows(rows: Sequence[Row], as_of: datetime, kinds: Sequence[str]) -> list[Count]:
    """Per (kind, provider): how many, how many new, the oldest age (catalogue order)."""
    groups: dict[tuple[str, str | None], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.kind, row.provider_id), []).append(row)
    rank = _order(kinds)
    out = []
    for (kind, provider), members in groups.items():
        ages = [a for a in (m.age_days(as_of) for m in members) if a is not None]
        check = CHECKS.get(kind)
        out.append(
            Count(
                domain=members[0].domain,
                kind=kind,
                title=check.title if check else kind,
                provider_id=provider,
                count=len(members),
                new=sum(m.new for m in members),
                oldest_age_days=max(ages) if ages else None,
            )
        )
    out.sort(key=lambda c: (rank.get(c.kind, len(rank)), c.kind, c.provider_id or ""))
    return out


def reconcile_command(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Reconcile as if the clock read this time (ISO; default now)."
        ),
    ] = None,
    provider: Annotated[
        list[str] | None,
        typer.Option(
            "--provider",
            help="Only findings charged to this provider (repeatable); findings charged to "
            "nobody (an order never released) are shown only without it.",
        ),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Show only this kind of finding (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
    record: Annotated[
        bool,
        typer.Option(
            "--record/--no-record",
            help="Keep the findings with their lifecycle (--no-record: detect only).",
        ),
    ] = True,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Findings listed per kind (oldest first).")
    ] = 20,
    grace_hours: Annotated[
        float | None,
        typer.Option(
            "--grace-hours",
            min=0,
            help="Hours an order may wait for its release (default 24).",
            show_default=False,
        ),
    ] = None,
    stale_days: Annotated[
        int | None,
        typer.Option(
            "--stale-days",
            min=1,
            help="Days without a carrier event before tracking counts as stale (default 7).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """List every order, shipment and parcel that broke a hand-off, with its reason and age.

    Orders placed but never released, released but not shipped by their due time, shipped
    quantities that differ from the order, shipments after a cancellation or for unknown
    orders, parcels the carrier never scanned, tracking stuck in exception or gone quiet,
    deliveries without a shipment record; and the inventory checks. Findings are kept: a
    problem found again is not raised twice, one that went away is resolved by tallyclerk,
    a resolution by a person stands (`tallyclerk findings`). Findings are not errors: the
    exit code is 0.

    Examples:

      tallyclerk reconcile

      tallyclerk reconcile --as-of 2026-03-20T12:00 --provider westcoast

      tallyclerk reconcile --kind not_shipped --kind no_first_scan --limit 50

      tallyclerk reconcile --no-record --json
    """
    overrides: dict[str, Any] = {}
    if grace_hours is not None:
        overrides["release_grace_hours"] = grace_hours
    if stale_days is not None:
        overrides["stale_tracking_days"] = stale_days
    with store_session() as store:
        clock = parse_as_of(as_of)
        catalogue = [c.kind for d in DOMAINS for c in checks_of(d)]
        unknown = sorted(set(kind or ()) - set(catalogue))
        if unknown:
            raise InputError(
                f"--kind {', '.join(unknown)} is not a check; known: {', '.join(catalogue)}"
            )
        started = datetime.now(UTC)
        run = run_findings(
            store,
            DOMAINS,
            as_of=clock,
            providers=provider or None,
            params=CheckParams(**overrides),
            record=record,
            settings=state.effective_settings(),
        )
    rows, kept_resolved = rows_of(run, started=started, recorded=record)
    if kind:
        wanted = set(kind)
        rows = [r for r in rows if r.kind in wanted]
    counts = count_rows(rows, run.as_of, catalogue)
    if as_json:
        console.print_json(json.dumps(document(run, rows, counts, kept_resolved, recorded=record)))
        return
    print_run(run, rows, counts, kept_resolved, limit=limit, recorded=record)


def document(
    run: FindingsRun,
    rows: Sequence[Row],
    counts: Sequence[Count],
    kept_resolved: int,
    *,
    recorded: bool,
) -> dict[str, Any]:
    """The JSON document of a reconciliation run."""
    sync = run.sync
    return {
        "as_of": run.as_of.isoformat(),
        "domains": list(run.domains),
        "providers": list(run.providers) if run.providers is not None else None,
        "recorded": recorded,
        "total": len(rows),
        "counts": [
            {
                "domain": c.domain,
                "kind": c.kind,
                "title": c.title,
                "provider_id": c.provider_id,
                "count": c.count,
                "new": c.new,
                "oldest_age_days": None
                if c.oldest_age_days is None
                else round(c.oldest_age_days, 2),
            }
            for c in counts
        ],
        "sync": None
        if sync is None
        else {
            "new": sync.new,
            "seen_again": sync.seen_again,
            "reopened": sync.reopened,
            "cleared": sync.cleared,
        },
        "resolved_by_a_person": kept_resolved,
        "findings": [_jsonable(r.document) for r in rows],
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def print_run(
    run: FindingsRun,
    rows: Sequence[Row],
    counts: Sequence[Count],
    kept_resolved: int,
    *,
    limit: int,
    recorded: bool,
) -> None:
    """A summary table, then one table per kind, then what changed in the store."""
    scope = f" for {', '.join(run.providers)}" if run.providers else ""
    console.print(
        f"[bold]Reconciliation[/] ({', '.join(run.domains)}){scope} as of "
        f"{run.as_of:%Y-%m-%d %H:%M} UTC: {len(rows):,} finding{'' if len(rows) == 1 else 's'}"
    )
    if not rows:
        console.print("No findings: every hand-off reconciles.")
    else:
        summary = fitted_table(
            "Findings by kind and provider",
            [
                Column("finding", keep=9, wrap=True),
                Column("provider", keep=8),
                Column("count", right=True, keep=7),
                Column("oldest", right=True, keep=6),
                Column("new", right=True, keep=5),
            ],
            [
                Entry(
                    [
                        escape(c.title),
                        escape(c.provider_id or "—"),
                        f"{c.count:,}",
                        format_age(c.oldest_age_days),
                        f"{c.new:,}" if c.new else "",
                    ]
                )
                for c in counts
            ],
        )
        console.print(summary)
        by_kind: dict[str, list[Row]] = {}
        for row in rows:
            by_kind.setdefault(row.kind, []).append(row)
        for c_kind in dict.fromkeys(c.kind for c in counts):
            _print_kind(c_kind, by_kind[c_kind], run.as_of, limit)
    if run.sync is None:
        console.print("Detect only (--no-record): nothing was stored.")
    else:
        s = run.sync
        console.print(
            f"Stored: {s.new:,} new, {s.seen_again:,} seen again, {s.reopened:,} reopened, "
            f"{s.cleared:,} cleared (no longer detected: resolved by tallyclerk)."
        )
    if kept_resolved:
        console.print(
            f"[dim]{kept_resolved:,} detected again but resolved by a person: not shown.[/]"
        )


def _print_kind(kind: str, rows: list[Row], as_of: datetime, limit: int) -> None:
    if limit == 0:
        return
    check = CHECKS.get(kind)
    title = check.title if check else kind
    ordered = sorted(
        rows,
        key=lambda r: (r.since is None, r.since or as_of, r.provider_id or "", r.subject_id),
    )
    entries = []
    for row in ordered[:limit]:
        if row.finding_id is None:
            status = "detected"
        elif row.new:
            status = "[bold]new[/]"
        else:
            status = escape(row.status)
        entries.append(
            Entry(
                [
                    "—" if row.finding_id is None else str(row.finding_id),
                    escape(row.subject_id),
                    escape(where(row.provider_id, row.facility_id)),
                    format_age(row.age_days(as_of)),
                    status,
                ],
                note=escape(row.reason),
            )
        )
    table = fitted_table(
        f"{title} ({kind}): {len(rows):,}", FINDING_COLUMNS, entries, note="reason"
    )
    console.print(table)
    if len(ordered) > limit:
        console.print(f"[dim]… and {len(ordered) - limit:,} more (raise --limit, or use --json)[/]")
