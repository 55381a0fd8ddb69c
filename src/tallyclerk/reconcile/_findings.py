"""Findings: what a check detects, and their lifecycle in the store.

A check is an Ibis expression that lists the subjects (orders, shipments, SKUs, invoice
lines, ...) breaking one rule, with the columns of DETECTED_COLUMNS and any extra columns,
which become the finding's evidence. A finding is identified by its fingerprint (kind,
provider, subject): a problem found again updates the stored finding instead of raising a
second one, and a human's acknowledgement or resolution is kept.

Lifecycle: open -> acknowledged -> resolved. A finding the checks no longer detect (the late
order shipped, the scan arrived) is resolved by tallyclerk itself, with the reason; should
it be detected again later it is reopened. A resolution by a person is never undone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import sqlalchemy as sa

from tallyclerk.errors import InputError
from tallyclerk.store.bulk import append_arrow, column_list
from tallyclerk.store.schema import findings

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from tallyclerk.metrics import MetricContext

Domain = Literal["handoff", "inventory", "invoice"]
DOMAINS: tuple[Domain, ...] = ("handoff", "inventory", "invoice")
Status = Literal["open", "acknowledged", "resolved"]
STATUSES: tuple[Status, ...] = ("open", "acknowledged", "resolved")
SYSTEM_USER = "tallyclerk"

# Every check's expression has these columns (extra columns become the evidence):
#   provider_id   the 3PL the problem is charged to (null: none yet, e.g. never released)
#   facility_id   its facility, or null
#   subject_kind  order | shipment | tracking_number | sku | invoice_line | receipt | return ...
#   subject_id    the subject's id (a SKU at a facility: "LAX1|SKU"; a line: "INV-1#3")
#   since         UTC timestamp the problem dates from: its age is as_of - since (or null)
# and optionally amount (Decimal money at stake) and currency.
DETECTED_COLUMNS = ("provider_id", "facility_id", "subject_kind", "subject_id", "since")
OPTIONAL_COLUMNS = ("amount", "currency")


@dataclass(frozen=True, slots=True)
class CheckParams:
    """The knobs of the checks (defaults are what most brands start with)."""

    release_grace_hours: float = 24.0  # placed but not released after this long: a finding
    no_scan_business_days: int | None = None  # None: the contract's no_first_scan_rate N, else 5
    stale_tracking_days: int = 7  # no new carrier event for this many days while in transit
    exception_days: int = 2  # tracking stuck in exception for this many days


@dataclass(frozen=True, slots=True)
class Check:
    """One reconciliation or audit rule."""

    kind: str  # part of the interface (stored, filtered on)
    domain: Domain
    title: str  # short label for tables, e.g. "Released, not shipped"
    description: str  # one or two sentences for --help and the docs
    detect: Callable[[MetricContext, CheckParams], ir.Table]
    reason: Callable[[Mapping[str, Any]], str]  # one row (as a dict) -> a sentence


CHECKS: dict[str, Check] = {}


def register_check(check: Check) -> Check:
    """Add a check to the catalogue (kinds are unique)."""
    if check.kind in CHECKS:
        raise ValueError(f"check {check.kind!r} is registered twice")
    CHECKS[check.kind] = check
    return check


def checks_of(domain: Domain) -> list[Check]:
    """The registered checks of a domain, in registration order."""
    return [c for c in CHECKS.values() if c.domain == domain]


@dataclass(frozen=True, slots=True)
class Detected:
    """One finding as a check produced it in this run (not yet stored)."""

    kind: str
    domain: Domain
    provider_id: str | None
    facility_id: str | None
    subject_kind: str
    subject_id: str
    since: datetime | None
    reason: str
    amount: Decimal | None
    currency: str | None
    evidence: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        """What makes it the same problem across runs."""
        return fingerprint(self.kind, self.provider_id, self.subject_kind, self.subject_id)


def fingerprint(kind: str, provider_id: str | None, subject_kind: str, subject_id: str) -> str:
    """kind|provider|subject_kind:subject_id (one check may judge subjects of several kinds,
    e.g. an order and a receipt that share an id)."""
    return f"{kind}|{provider_id or ''}|{subject_kind}:{subject_id}"


def _plain(value: Any) -> Any:
    """A JSON-ready value: dates and timestamps in ISO form, Decimal as text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def run_check(ctx: MetricContext, check: Check, params: CheckParams) -> list[Detected]:
    """Run one check on the context's engine and turn its rows into findings."""
    table = check.detect(ctx, params)
    missing = [c for c in DETECTED_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"check {check.kind!r} lacks columns {missing}")
    return detected_from_arrow(check, table.to_pyarrow())


def detected_from_arrow(check: Check, rows: pa.Table) -> list[Detected]:
    """Findings from a check's result rows (extra columns become the evidence)."""
    out = []
    for row in rows.to_pylist():
        since = row.get("since")
        if isinstance(since, datetime) and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        amount = row.get("amount")
        evidence = {
            k: _plain(v)
            for k, v in row.items()
            if k not in DETECTED_COLUMNS and k not in OPTIONAL_COLUMNS and v is not None
        }
        out.append(
            Detected(
                kind=check.kind,
                domain=check.domain,
                provider_id=row["provider_id"],
                facility_id=row["facility_id"],
                subject_kind=row["subject_kind"],
                subject_id=str(row["subject_id"]),
                since=since,
                reason=check.reason(row),
                amount=None if amount is None else Decimal(str(amount)),
                currency=row.get("currency"),
                evidence=evidence,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Finding:
    """A stored finding."""

    finding_id: int
    fingerprint: str
    domain: str
    kind: str
    provider_id: str | None
    facility_id: str | None
    subject_kind: str
    subject_id: str
    since: datetime | None
    reason: str
    amount: Decimal | None
    currency: str | None
    evidence: dict[str, Any]
    status: str
    first_detected_at: datetime
    last_detected_at: datetime
    last_as_of: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    dispute_id: str | None

    def age_days(self, as_of: datetime) -> float | None:
        """Days from `since` to `as_of` (None without a start)."""
        if self.since is None:
            return None
        return (as_of - self.since).total_seconds() / 86400

    def as_dict(self, as_of: datetime | None = None) -> dict[str, Any]:
        """JSON-ready form (with the age at `as_of`, when given)."""
        out = {
            "finding_id": self.finding_id,
            "domain": self.domain,
            "kind": self.kind,
            "provider_id": self.provider_id,
            "facility_id": self.facility_id,
            "subject_kind": self.subject_kind,
            "subject_id": self.subject_id,
            "since": _plain(self.since),
            "reason": self.reason,
            "amount": _plain(self.amount),
            "currency": self.currency,
            "evidence": self.evidence,
            "status": self.status,
            "first_detected_at": _plain(self.first_detected_at),
            "last_detected_at": _plain(self.last_detected_at),
            "last_as_of": _plain(self.last_as_of),
            "acknowledged_at": _plain(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "resolved_at": _plain(self.resolved_at),
            "resolved_by": self.resolved_by,
            "resolution": self.resolution,
            "dispute_id": self.dispute_id,
        }
        if as_of is not None:
            age = self.age_days(as_of)
            out["age_days"] = None if age is None else round(age, 2)
        return out


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _finding(row: sa.Row[Any]) -> Finding:
    m = row._mapping
    evidence = json.loads(m["evidence"]) if m["evidence"] else {}
    amount = m["amount"]
    return Finding(
        finding_id=int(m["finding_id"]),
        fingerprint=m["fingerprint"],
        domain=m["domain"],
        kind=m["kind"],
        provider_id=m["provider_id"],
        facility_id=m["facility_id"],
        subject_kind=m["subject_kind"],
        subject_id=m["subject_id"],
        since=_utc(m["since"]),
        reason=m["reason"],
        amount=None if amount is None else Decimal(amount),
        currency=m["currency"],
        evidence=evidence,
        status=m["status"],
        first_detected_at=_utc(m["first_detected_at"]),  # type: ignore[arg-type]
        last_detected_at=_utc(m["last_detected_at"]),  # type: ignore[arg-type]
        last_as_of=_utc(m["last_as_of"]),  # type: ignore[arg-type]
        acknowledged_at=_utc(m["acknowledged_at"]),
        acknowledged_by=m["acknowledged_by"],
        resolved_at=_utc(m["resolved_at"]),
        resolved_by=m["resolved_by"],
        resolution=m["resolution"],
        dispute_id=m["dispute_id"],
    )


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a run changed in the stored findings."""

    new: int  # raised for the first time
    seen_again: int  # already stored, updated
    reopened: int  # cleared by tallyclerk earlier, detected again
    cleared: int  # no longer detected: resolved by tallyclerk


_STAGE = "_tallyclerk_findings_in"
_STAGED = (
    "fingerprint",
    "domain",
    "kind",
    "provider_id",
    "facility_id",
    "subject_kind",
    "subject_id",
    "since",
    "reason",
    "amount",
    "currency",
    "evidence",
)
_STAGE_SCHEMA = pa.schema(
    [
        ("fingerprint", pa.string()),
        ("domain", pa.string()),
        ("kind", pa.string()),
        ("provider_id", pa.string()),
        ("facility_id", pa.string()),
        ("subject_kind", pa.string()),
        ("subject_id", pa.string()),
        ("since", pa.timestamp("us", tz="UTC")),
        ("reason", pa.string()),
        ("amount", pa.decimal128(18, 4)),
        ("currency", pa.string()),
        ("evidence", pa.string()),
    ]
)
_MONEY_QUANTUM = Decimal("0.0001")


def _staged(detected: Sequence[Detected]) -> pa.Table:
    by_print: dict[str, Detected] = {}
    for item in detected:
        by_print.setdefault(item.fingerprint, item)
    rows = [
        {
            "fingerprint": key,
            "domain": item.domain,
            "kind": item.kind,
            "provider_id": item.provider_id,
            "facility_id": item.facility_id,
            "subject_kind": item.subject_kind,
            "subject_id": item.subject_id,
            "since": item.since,
            "reason": item.reason,
            "amount": None if item.amount is None else item.amount.quantize(_MONEY_QUANTUM),
            "currency": item.currency,
            "evidence": json.dumps(item.evidence, sort_keys=True) if item.evidence else None,
        }
        for key, item in by_print.items()
    ]
    return pa.Table.from_pylist(rows, schema=_STAGE_SCHEMA)


def sync_findings(
    connection: sa.Connection,
    detected: Sequence[Detected],
    *,
    domains: Iterable[Domain],
    as_of: datetime,
    providers: Sequence[str] | None = None,
    now: datetime | None = None,
) -> SyncResult:
    """Store a run's findings: insert new ones, update known ones, clear vanished ones.

    `domains` and `providers` are the run's scope: a stored finding is cleared only when it
    falls in that scope and the run looked at least as late as the run that last saw it
    (a run with an earlier clock says nothing about what happened since); likewise a finding
    cleared by tallyclerk is reopened only by a run looking at least as late as the one that
    cleared it. Set-based: the
    run's findings are staged in a temporary table, whatever their number.
    """
    now = now or datetime.now(UTC)
    as_of = as_of.astimezone(UTC)
    staged = _staged(detected)
    columns = column_list(_STAGED)
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGE}")
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {_STAGE} AS SELECT {columns} FROM findings WHERE 1 = 0"
    )
    try:
        append_arrow(connection, _STAGE, staged)
        known = f"EXISTS (SELECT 1 FROM {_STAGE} s WHERE s.fingerprint = findings.fingerprint)"
        params: dict[str, Any] = {"now": now, "as_of": as_of, "system": SYSTEM_USER}
        seen_again = connection.execute(
            sa.text(f"SELECT count(*) FROM findings WHERE {known}")
        ).scalar_one()
        reopened = connection.execute(
            sa.text(
                f"SELECT count(*) FROM findings WHERE {known} "
                "AND status = 'resolved' AND resolved_by = :system AND last_as_of <= :as_of"
            ),
            params,
        ).scalar_one()
        if reopened:
            connection.execute(
                sa.text(
                    "UPDATE findings SET status = 'open', resolved_at = NULL, "
                    f"resolved_by = NULL, resolution = NULL WHERE {known} "
                    "AND status = 'resolved' AND resolved_by = :system AND last_as_of <= :as_of"
                ),
                params,
            )
        if seen_again:
            updates = ", ".join(
                f"{c} = s.{c}"
                for c in ("since", "reason", "amount", "currency", "evidence", "facility_id")
            )
            # The facts (reason, evidence, ...) are those of the latest clock: a run looking
            # back in time confirms a finding but does not rewrite it with older facts.
            connection.execute(
                sa.text(
                    f"UPDATE findings SET {updates} FROM {_STAGE} s "
                    "WHERE s.fingerprint = findings.fingerprint AND findings.last_as_of <= :as_of"
                ),
                params,
            )
            connection.execute(
                sa.text(
                    "UPDATE findings SET last_detected_at = :now, "
                    "last_as_of = CASE WHEN findings.last_as_of > :as_of "
                    "THEN findings.last_as_of ELSE :as_of END "
                    f"FROM {_STAGE} s WHERE s.fingerprint = findings.fingerprint"
                ),
                params,
            )
        new = staged.num_rows - int(seen_again)
        if new:
            connection.execute(
                sa.text(
                    f"INSERT INTO findings ({columns}, status, first_detected_at, "
                    "last_detected_at, last_as_of) "
                    f"SELECT {', '.join('s.' + c for c in _STAGED)}, 'open', :now, :now, :as_of "
                    f"FROM {_STAGE} s WHERE NOT EXISTS "
                    "(SELECT 1 FROM findings f WHERE f.fingerprint = s.fingerprint)"
                ),
                params,
            )
        scope = sa.and_(
            findings.c.domain.in_(list(domains)),
            findings.c.status != "resolved",
            findings.c.last_as_of <= as_of,
            sa.text(f"NOT {known}"),
        )
        if providers is not None:
            scope = sa.and_(scope, findings.c.provider_id.in_(list(providers)))
        cleared = connection.execute(
            sa.select(sa.func.count()).select_from(findings).where(scope)
        ).scalar_one()
        if cleared:
            connection.execute(
                sa.update(findings)
                .where(scope)
                .values(
                    status="resolved",
                    resolved_at=now,
                    resolved_by=SYSTEM_USER,
                    resolution=f"no longer detected as of {as_of.isoformat(timespec='minutes')}",
                    last_as_of=as_of,
                )
            )
    finally:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGE}")
    return SyncResult(
        new=new, seen_again=int(seen_again), reopened=int(reopened), cleared=int(cleared)
    )


def _filtered(
    query: sa.Select[Any],
    *,
    domains: Sequence[str] | None,
    kinds: Sequence[str] | None,
    providers: Sequence[str] | None,
    statuses: Sequence[str] | None,
    subject_ids: Sequence[str] | None,
) -> sa.Select[Any]:
    """`query` over the findings narrowed to the named values (None or none named: all)."""
    f = findings.c
    for column, wanted in (
        (f.domain, domains),
        (f.kind, kinds),
        (f.provider_id, providers),
        (f.status, statuses),
        (f.subject_id, subject_ids),
    ):
        if wanted:
            query = query.where(column.in_(list(wanted)))
    return query


def list_findings(
    connection: sa.Connection,
    *,
    domains: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    providers: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    subject_ids: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Finding]:
    """Stored findings, filtered, oldest problem first (then by id)."""
    f = findings.c
    query = _filtered(
        sa.select(findings),
        domains=domains,
        kinds=kinds,
        providers=providers,
        statuses=statuses,
        subject_ids=subject_ids,
    )
    query = query.order_by(f.since.asc().nulls_last(), f.finding_id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [_finding(row) for row in connection.execute(query)]


def count_findings(
    connection: sa.Connection,
    *,
    domains: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    providers: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    subject_ids: Sequence[str] | None = None,
) -> int:
    """How many stored findings `list_findings` gives for the same filters, all pages."""
    query = _filtered(
        sa.select(sa.func.count()).select_from(findings),
        domains=domains,
        kinds=kinds,
        providers=providers,
        statuses=statuses,
        subject_ids=subject_ids,
    )
    return int(connection.execute(query).scalar_one())


def get_finding(connection: sa.Connection, finding_id: int) -> Finding:
    """One stored finding, or an InputError naming the id."""
    row = connection.execute(
        sa.select(findings).where(findings.c.finding_id == finding_id)
    ).one_or_none()
    if row is None:
        raise InputError(f"no finding {finding_id}")
    return _finding(row)


def acknowledge(
    connection: sa.Connection, finding_id: int, *, by: str, now: datetime | None = None
) -> Finding:
    """Mark a finding as seen by someone who will act on it."""
    current = get_finding(connection, finding_id)
    if current.status == "resolved":
        raise InputError(f"finding {finding_id} is already resolved")
    connection.execute(
        sa.update(findings)
        .where(findings.c.finding_id == finding_id)
        .values(status="acknowledged", acknowledged_at=now or datetime.now(UTC), acknowledged_by=by)
    )
    return get_finding(connection, finding_id)


def resolve(
    connection: sa.Connection,
    finding_id: int,
    *,
    by: str,
    resolution: str,
    now: datetime | None = None,
) -> Finding:
    """Close a finding with how it was resolved (kept; a later run does not reopen it)."""
    if not resolution.strip():
        raise InputError("a resolution needs a few words on how it was resolved")
    current = get_finding(connection, finding_id)
    if current.status == "resolved" and current.resolved_by != SYSTEM_USER:
        raise InputError(f"finding {finding_id} is already resolved by {current.resolved_by}")
    connection.execute(
        sa.update(findings)
        .where(findings.c.finding_id == finding_id)
        .values(
            status="resolved",
            resolved_at=now or datetime.now(UTC),
            resolved_by=by,
            resolution=resolution.strip(),
        )
    )
    return get_finding(connection, finding_id)


def link_dispute(connection: sa.Connection, finding_id: int, dispute_id: str) -> None:
    """Record the dispute a finding was turned into."""
    connection.execute(
        sa.update(findings).where(findings.c.finding_id == finding_id).values(dispute_id=dispute_id)
    )


def count_by(
    items: Iterable[Finding | Detected],
) -> dict[tuple[str, str | None], int]:
    """How many findings per (kind, provider)."""
    out: dict[tuple[str, str | None], int] = {}
    for item in items:
        key = (item.kind, item.provider_id)
        out[key] = out.get(key, 0) + 1
    return out
