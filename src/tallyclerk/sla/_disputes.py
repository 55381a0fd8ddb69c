"""Disputes: the brand challenges a charge or a figure, the 3PL answers, the brand resolves.

The workflow (docs/disputes.md):

    open --(provider answers)--> accepted | rejected | countered --(brand)--> resolved

A dispute is opened from a finding, a recorded SLA breach, a month's SLA credits or by hand,
and is due an answer by the end of the N-th business day after it was opened, N being the
contract's `dispute_response_on_time_rate.within_business_days`; the response KPI reads the
same deadline, so a late answer counts against the provider there. The brand resolves a
dispute as credited (the agreed amount goes to the credit ledger), upheld (the provider's
rejection stands) or withdrawn. Every step is kept in dispute_events. Nothing here commits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa

from tallyclerk.access import AccessError, Principal, Scope
from tallyclerk.calendar import FacilityClock
from tallyclerk.contracts import Contract, contract_in_force
from tallyclerk.contracts._repository import contract_versions
from tallyclerk.errors import InputError
from tallyclerk.metrics import BRAND_FACILITY, REGISTRY, sites_from_contracts
from tallyclerk.metrics._frames import DEFAULT_BUSINESS_DAYS
from tallyclerk.settings import Settings, get_settings
from tallyclerk.sla._ledger import record_credit
from tallyclerk.sla._read import MetricStanding, credit_lines, scorecards
from tallyclerk.sla._segments import month_bounds
from tallyclerk.store.schema import dispute_events as dispute_events_table
from tallyclerk.store.schema import disputes

Source = Literal["finding", "sla_breach", "credit", "manual"]
SOURCES: tuple[Source, ...] = ("finding", "sla_breach", "credit", "manual")
DisputeStatus = Literal["open", "accepted", "rejected", "countered", "resolved"]
DISPUTE_STATUSES: tuple[DisputeStatus, ...] = (
    "open",
    "accepted",
    "rejected",
    "countered",
    "resolved",
)
Answer = Literal["accept", "reject", "counter"]
ANSWERS: tuple[Answer, ...] = ("accept", "reject", "counter")
Resolution = Literal["credited", "withdrawn", "upheld"]
RESOLUTIONS: tuple[Resolution, ...] = ("credited", "withdrawn", "upheld")
RESPONSE_METRIC = "dispute_response_on_time_rate"
DEFAULT_RESPONSE_DAYS = DEFAULT_BUSINESS_DAYS[RESPONSE_METRIC]

# status -> step -> status after. An answer is the provider's step, a resolution the brand's.
TRANSITIONS: dict[str, dict[str, str]] = {
    "open": {
        "accept": "accepted",
        "reject": "rejected",
        "counter": "countered",
        "withdrawn": "resolved",
    },
    "accepted": {"credited": "resolved", "withdrawn": "resolved"},
    "countered": {"credited": "resolved", "withdrawn": "resolved"},
    "rejected": {"upheld": "resolved", "withdrawn": "resolved"},
    "resolved": {},
}
_ID_PATTERN = re.compile(r"^DSP-(\d+)$")


@dataclass(frozen=True, slots=True)
class Dispute:
    """A stored dispute."""

    dispute_id: str
    provider_id: str
    opened_at: datetime
    subject: str
    reference: str | None
    amount: Decimal | None
    currency: str | None
    status: str
    source: str | None
    source_ref: str | None
    opened_by: str | None
    details: dict[str, Any]
    period: date | None = None  # the month a credit would belong to
    response_due_at: datetime | None = None
    responded_at: datetime | None = None
    responded_by: str | None = None
    answer: str | None = None  # accepted | rejected | countered
    answer_note: str | None = None
    counter_amount: Decimal | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None  # credited | withdrawn | upheld
    credited_amount: Decimal | None = None

    def overdue(self, now: datetime) -> bool:
        """Still unanswered after the end of its response deadline."""
        return (
            self.status == "open"
            and self.response_due_at is not None
            and now.astimezone(UTC) > self.response_due_at
        )

    @property
    def credit_period(self) -> date:
        """The month a credit of this dispute is booked to: its period, else its opening's."""
        return self.period or self.opened_at.astimezone(UTC).date().replace(day=1)

    def as_dict(self) -> dict[str, Any]:
        """The dispute as plain JSON values (amounts as text, times as ISO 8601)."""

        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        def money(value: Decimal | None) -> str | None:
            return str(value) if value is not None else None

        return {
            "dispute_id": self.dispute_id,
            "provider_id": self.provider_id,
            "status": self.status,
            "subject": self.subject,
            "reference": self.reference,
            "amount": money(self.amount),
            "currency": self.currency,
            "period": f"{self.period:%Y-%m}" if self.period else None,
            "source": self.source,
            "source_ref": self.source_ref,
            "opened_at": when(self.opened_at),
            "opened_by": self.opened_by,
            "response_due_at": when(self.response_due_at),
            "responded_at": when(self.responded_at),
            "responded_by": self.responded_by,
            "answer": self.answer,
            "answer_note": self.answer_note,
            "counter_amount": money(self.counter_amount),
            "resolved_at": when(self.resolved_at),
            "resolved_by": self.resolved_by,
            "resolution": self.resolution,
            "credited_amount": money(self.credited_amount),
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class DisputeEvent:
    """One step of a dispute: who did what, and the status it left the dispute in."""

    event_id: int
    dispute_id: str
    occurred_at: datetime
    actor: str
    role: str | None
    action: str  # opened | accepted | rejected | countered | credited | withdrawn | upheld ...
    status: str
    amount: Decimal | None
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        """The event as plain JSON values."""
        return {
            "event_id": self.event_id,
            "dispute_id": self.dispute_id,
            "occurred_at": self.occurred_at.isoformat(),
            "actor": self.actor,
            "role": self.role,
            "action": self.action,
            "status": self.status,
            "amount": str(self.amount) if self.amount is not None else None,
            "note": self.note,
        }


# ---------------------------------------------------------------------------- pure rules


def next_status(dispute_id: str, status: str, step: str) -> str:
    """The status a step leaves a dispute in, or an InputError naming what is allowed."""
    allowed = TRANSITIONS.get(status, {})
    after = allowed.get(step)
    if after is not None:
        return after
    if status == "resolved":
        raise InputError(f"dispute {dispute_id} is resolved already; nothing more can change")
    choices = ", ".join(allowed) or "nothing"
    raise InputError(f"dispute {dispute_id} is {status}: it can take {choices}, not {step}")


def response_due(opened_at: datetime, business_days: int, brand_timezone: str) -> datetime:
    """The end of the N-th business day after opening, on the brand's calendar (UTC).

    The same clock as the response KPI (metrics/_deadlines.py): the brand's time zone,
    weekends off, the count starting on the first business day on or after the opening date.
    """
    clock = brand_clock(brand_timezone)
    return clock.deadline_within_business_days(opened_at, business_days).astimezone(UTC)


def brand_clock(brand_timezone: str) -> FacilityClock:
    """The brand's own clock, built as the KPIs build it for records without a facility."""
    sites = sites_from_contracts({}, brand_timezone)
    return next(s.clock for s in sites if s.facility_id == BRAND_FACILITY)


def response_days(versions: Sequence[Contract], on: date) -> int:
    """N of the contract in force on `on` (the first version before any is in force)."""
    contract = contract_in_force(versions, on) or (
        min(versions, key=lambda c: c.effective) if versions else None
    )
    terms = contract.metric_terms(RESPONSE_METRIC, on) if contract is not None else None
    if terms is not None and terms.within_business_days:
        return terms.within_business_days
    return DEFAULT_RESPONSE_DAYS


def check_answer(
    dispute: Dispute, answer: str, note: str | None, counter_amount: Decimal | None
) -> str:
    """The status an answer leaves the dispute in, once its values make sense."""
    if answer not in ANSWERS:
        raise InputError(f"answer {answer!r} is not one of {', '.join(ANSWERS)}")
    after = next_status(dispute.dispute_id, dispute.status, answer)
    if answer == "reject" and not (note and note.strip()):
        raise InputError(f"rejecting dispute {dispute.dispute_id} needs the reason as a note")
    if answer == "counter":
        if dispute.amount is None:
            raise InputError(
                f"dispute {dispute.dispute_id} claims no amount, so there is nothing to counter"
            )
        if counter_amount is None:
            raise InputError(f"countering dispute {dispute.dispute_id} needs the amount offered")
        if not Decimal(0) <= counter_amount < dispute.amount:
            raise InputError(
                f"a counter-offer on dispute {dispute.dispute_id} must be at least 0 and less "
                f"than the {dispute.amount:,.2f} claimed, not {counter_amount:,.2f}"
            )
    elif counter_amount is not None:
        raise InputError(f"only a counter-offer takes an amount ({answer} given)")
    return after


def credit_amount(dispute: Dispute, amount: Decimal | None) -> Decimal:
    """The amount a credited resolution books: the one given, else the counter-offer or claim."""
    if amount is None:
        amount = dispute.counter_amount if dispute.status == "countered" else dispute.amount
    if amount is None:
        raise InputError(
            f"dispute {dispute.dispute_id} claims no amount; name the amount to credit"
        )
    if amount <= 0:
        raise InputError(f"a credit must be more than 0, not {amount:,.2f}")
    if dispute.amount is not None and amount > dispute.amount:
        raise InputError(
            f"dispute {dispute.dispute_id} claimed {dispute.amount:,.2f}; "
            f"{amount:,.2f} is more than that"
        )
    return amount


def check_answerer(dispute: Dispute, by: Principal) -> None:
    """A provider user of the dispute's provider, or a brand admin recording an answer."""
    if by.role == "provider":
        Scope(by).check(dispute.provider_id, "dispute")
        return
    if by.role != "admin":
        raise AccessError(
            f"only {dispute.provider_id}'s users answer dispute {dispute.dispute_id} "
            f"(or an admin recording their answer); {by.user_id} is {by.role}"
        )


# ---------------------------------------------------------------------------- the store


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _dispute(row: sa.RowMapping) -> Dispute:
    details = json.loads(row["details"]) if row["details"] else {}
    opened_at = _utc(row["opened_at"])
    assert opened_at is not None  # a required column
    return Dispute(
        dispute_id=row["dispute_id"],
        provider_id=row["provider_id"],
        opened_at=opened_at,
        subject=row["subject"],
        reference=row["reference"],
        amount=_decimal(row["amount"]),
        currency=row["currency"],
        status=row["status"],
        source=row["source"],
        source_ref=row["source_ref"],
        opened_by=row["opened_by"],
        details=details if isinstance(details, dict) else {"details": details},
        period=row["period"],
        response_due_at=_utc(row["response_due_at"]),
        responded_at=_utc(row["responded_at"]),
        responded_by=row["responded_by"],
        answer=row["answer"],
        answer_note=row["answer_note"],
        counter_amount=_decimal(row["counter_amount"]),
        resolved_at=_utc(row["resolved_at"]),
        resolved_by=row["resolved_by"],
        resolution=row["resolution"],
        credited_amount=_decimal(row["credited_amount"]),
    )


def _event(row: sa.RowMapping) -> DisputeEvent:
    occurred_at = _utc(row["occurred_at"])
    assert occurred_at is not None
    return DisputeEvent(
        event_id=int(row["event_id"]),
        dispute_id=row["dispute_id"],
        occurred_at=occurred_at,
        actor=row["actor"],
        role=row["role"],
        action=row["action"],
        status=row["status"],
        amount=_decimal(row["amount"]),
        note=row["note"],
    )


def _record_event(
    connection: sa.Connection,
    dispute_id: str,
    *,
    occurred_at: datetime,
    actor: str,
    role: str | None,
    action: str,
    status: str,
    amount: Decimal | None = None,
    note: str | None = None,
) -> DisputeEvent:
    event_id = connection.execute(
        sa.insert(dispute_events_table)
        .values(
            dispute_id=dispute_id,
            occurred_at=occurred_at,
            actor=actor,
            role=role,
            action=action,
            status=status,
            amount=amount,
            note=note,
        )
        .returning(dispute_events_table.c.event_id)
    ).scalar_one()
    e = dispute_events_table.c
    row = (
        connection.execute(sa.select(dispute_events_table).where(e.event_id == event_id))
        .mappings()
        .one()
    )
    return _event(row)


def _next_id(connection: sa.Connection) -> str:
    ids = connection.execute(
        sa.select(disputes.c.dispute_id).where(disputes.c.dispute_id.like("DSP-%"))
    ).scalars()
    highest = max((int(m.group(1)) for i in ids if (m := _ID_PATTERN.match(i))), default=0)
    return f"DSP-{highest + 1:06d}"


def _find(connection: sa.Connection, dispute_id: str) -> Dispute | None:
    row = (
        connection.execute(sa.select(disputes).where(disputes.c.dispute_id == dispute_id))
        .mappings()
        .first()
    )
    return _dispute(row) if row is not None else None


def get_dispute(connection: sa.Connection, dispute_id: str) -> Dispute:
    """The stored dispute, or an InputError when there is none by that id."""
    found = _find(connection, dispute_id)
    if found is None:
        raise InputError(f"no dispute {dispute_id!r}")
    return found


def _filtered(
    query: sa.Select[Any], providers: Sequence[str] | None, status: str | None
) -> sa.Select[Any]:
    if providers is not None:
        query = query.where(disputes.c.provider_id.in_(list(providers)))
    if status is not None:
        if status not in DISPUTE_STATUSES:
            raise InputError(
                f"dispute status {status!r} is not one of {', '.join(DISPUTE_STATUSES)}"
            )
        query = query.where(disputes.c.status == status)
    return query


def list_disputes(
    connection: sa.Connection,
    *,
    providers: Sequence[str] | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Dispute]:
    """Stored disputes, newest first (of some providers, in one status)."""
    query = _filtered(sa.select(disputes), providers, status).order_by(
        disputes.c.opened_at.desc(), disputes.c.dispute_id.desc()
    )
    query = query.limit(max(0, limit)).offset(max(0, offset))
    return [_dispute(row) for row in connection.execute(query).mappings()]


def count_disputes(
    connection: sa.Connection,
    *,
    providers: Sequence[str] | None = None,
    status: str | None = None,
) -> int:
    """How many disputes `list_disputes` would page through."""
    query = _filtered(sa.select(sa.func.count()).select_from(disputes), providers, status)
    return int(connection.execute(query).scalar_one())


def dispute_events(connection: sa.Connection, dispute_id: str) -> list[DisputeEvent]:
    """A dispute's history, oldest step first."""
    e = dispute_events_table.c
    rows = connection.execute(
        sa.select(dispute_events_table)
        .where(e.dispute_id == dispute_id)
        .order_by(e.occurred_at, e.event_id)
    ).mappings()
    return [_event(row) for row in rows]


def open_dispute(
    connection: sa.Connection,
    *,
    provider_id: str,
    subject: str,
    source: Source,
    reference: str | None = None,
    source_ref: str | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
    opened_by: str | None = None,
    details: dict[str, Any] | None = None,
    opened_at: datetime | None = None,
    period: date | None = None,
    by: Principal | None = None,
    note: str | None = None,
    settings: Settings | None = None,
) -> Dispute:
    """Record a new open dispute with its response deadline, and the step that opened it.

    `by` (a brand admin) is who opens it; callers that only know a name pass `opened_by`.
    """
    if by is not None:
        Scope(by).require_admin()
    if source not in SOURCES:
        raise InputError(f"dispute source {source!r} is not one of {', '.join(SOURCES)}")
    if not subject.strip():
        raise InputError("a dispute needs a subject")
    if amount is not None and (not amount.is_finite() or amount < 0):
        raise InputError(f"a disputed amount must be 0 or more, not {amount}")
    subject = subject.strip()
    versions = contract_versions(connection, provider_id)
    if currency is None and amount is not None and versions:
        currency = versions[-1].currency
    settings = settings or get_settings()
    opened_at = _now(opened_at)
    opened_by = opened_by or (by.user_id if by is not None else None)
    # N is the contract's on the opening's brand-local date, as the KPI reads it.
    brand_day = brand_clock(settings.brand.timezone).local_date(opened_at)
    due = response_due(opened_at, response_days(versions, brand_day), settings.brand.timezone)
    dispute_id = _next_id(connection)
    values = {
        "dispute_id": dispute_id,
        "provider_id": provider_id,
        "opened_at": opened_at,
        "subject": subject,
        "reference": reference,
        "amount": amount,
        "currency": currency,
        "status": "open",
        "source": source,
        "source_ref": source_ref,
        "opened_by": opened_by,
        "details": json.dumps(details, sort_keys=True, default=str) if details else None,
        "period": month_bounds(period)[0] if period is not None else None,
        "response_due_at": due,
    }
    connection.execute(sa.insert(disputes).values(**values))
    _record_event(
        connection,
        dispute_id,
        occurred_at=opened_at,
        actor=opened_by or (by.user_id if by is not None else "system"),
        role=by.role if by is not None else None,
        action="opened",
        status="open",
        amount=amount,
        note=note,
    )
    return get_dispute(connection, dispute_id)


def _unresolved(connection: sa.Connection, provider_id: str, source: str, ref: str) -> str | None:
    """The id of an unresolved dispute already raised from the same source, if any."""
    c = disputes.c
    return connection.execute(
        sa.select(c.dispute_id).where(
            c.provider_id == provider_id,
            c.source == source,
            c.source_ref == ref,
            c.status != "resolved",
        )
    ).scalar()


def _figure(metric: str, value: float) -> str:
    unit = REGISTRY[metric].unit if metric in REGISTRY else "rate"
    return f"{value:.1%}" if unit == "rate" else f"{value:,.1f} h"


def breach_subject(standing: MetricStanding) -> str:
    """'ship_on_time_rate 96.1% against 98.0% in 2026-03' (the segment when not the base)."""
    assert standing.value is not None
    text = (
        f"{standing.metric} {_figure(standing.metric, standing.value)} against "
        f"{_figure(standing.metric, standing.threshold)} in {standing.period:%Y-%m}"
    )
    return text if standing.segment == "base" else f"{text} ({standing.segment})"


def open_from_breach(
    connection: sa.Connection,
    *,
    provider_id: str,
    metric: str,
    period: date,
    by: Principal,
    note: str | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> Dispute:
    """Dispute a recorded SLA breach; it claims the breach's tier credit where one was priced."""
    Scope(by).require_admin()
    first = month_bounds(period)[0]
    cards = scorecards(connection, providers=[provider_id], period=first)
    breached = [m for card in cards for m in card.breached if m.metric == metric]
    if not breached:
        raise InputError(
            f"no breach of {metric} is recorded for {provider_id} in {first:%Y-%m}; "
            "evaluate the month first (tallyclerk evaluate)"
        )
    ref = f"{metric}@{first:%Y-%m}"
    existing = _unresolved(connection, provider_id, "sla_breach", ref)
    if existing is not None:
        raise InputError(f"the {metric} breach of {first:%Y-%m} is disputed already as {existing}")
    standing = breached[0]
    lines = [
        line
        for line in credit_lines(connection, provider_id=provider_id, period=first)
        if line["kind"] == "tier" and str(line["label"]).startswith(f"{metric}:")
    ]
    amount = sum((line["amount"] for line in lines), Decimal(0)) if lines else None
    details = {**standing.as_dict(), "run_id": cards[0].run_id}
    if len(breached) > 1:
        details["other_segments"] = [m.as_dict() for m in breached[1:]]
    return open_dispute(
        connection,
        provider_id=provider_id,
        subject=breach_subject(standing),
        source="sla_breach",
        reference=f"{first:%Y-%m}",
        source_ref=ref,
        amount=amount,
        currency=lines[0]["currency"] if lines else None,
        details=details,
        opened_at=now,
        period=first,
        by=by,
        note=note,
        settings=settings,
    )


def open_from_credit(
    connection: sa.Connection,
    *,
    provider_id: str,
    period: date,
    by: Principal,
    amount: Decimal | None = None,
    note: str | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> Dispute:
    """Claim a month's SLA credits (default: those of its latest recorded evaluation)."""
    Scope(by).require_admin()
    first = month_bounds(period)[0]
    cards = scorecards(connection, providers=[provider_id], period=first)
    if not cards:
        raise InputError(
            f"no evaluation of {first:%Y-%m} is recorded for {provider_id}; "
            "evaluate the month first (tallyclerk evaluate)"
        )
    (card,) = cards
    claimed = card.credits if amount is None else amount
    if claimed <= 0:
        raise InputError(
            f"{provider_id} owes no SLA credits for {first:%Y-%m}"
            if amount is None
            else f"a credit claim must be more than 0, not {amount}"
        )
    ref = f"credits@{first:%Y-%m}"
    existing = _unresolved(connection, provider_id, "credit", ref)
    if existing is not None:
        raise InputError(f"the credits of {first:%Y-%m} are claimed already in {existing}")
    lines = credit_lines(connection, provider_id=provider_id, period=first)
    details = {
        "run_id": card.run_id,
        "evaluated_credits": str(card.credits),
        "credit_lines": [{**line, "amount": str(line["amount"])} for line in lines],
        "breached": [m.as_dict() for m in card.breached],
    }
    currency = card.currency
    if currency is None:
        versions = contract_versions(connection, provider_id)
        currency = versions[-1].currency if versions else None
    return open_dispute(
        connection,
        provider_id=provider_id,
        subject=f"SLA credits of {first:%Y-%m}: {claimed:,.2f} {currency or ''}".strip(),
        source="credit",
        reference=f"{first:%Y-%m}",
        source_ref=ref,
        amount=claimed,
        currency=currency,
        details=details,
        opened_at=now,
        period=first,
        by=by,
        note=note,
        settings=settings,
    )


def _change(
    connection: sa.Connection, dispute: Dispute, values: dict[str, Any], stamp: str
) -> Dispute:
    """Apply a step, guarded by the status it was decided on (a concurrent step loses)."""
    c = disputes.c
    connection.execute(
        sa.update(disputes)
        .where(c.dispute_id == dispute.dispute_id, c.status == dispute.status)
        .values(**values)
    )
    changed = get_dispute(connection, dispute.dispute_id)
    if changed.status != values["status"] or getattr(changed, stamp) != values[stamp]:
        raise InputError(
            f"dispute {dispute.dispute_id} changed meanwhile (it is {changed.status} now); "
            "look at it again"
        )
    return changed


def answer_dispute(
    connection: sa.Connection,
    dispute_id: str,
    *,
    by: Principal,
    answer: Answer,
    note: str | None = None,
    counter_amount: Decimal | None = None,
    now: datetime | None = None,
) -> Dispute:
    """The provider's answer: accept, reject (with the reason) or counter with an amount.

    A brand admin may record an answer the provider sent another way (the step keeps the
    admin's role). An answer after the deadline is taken, and counts as late in the KPI.
    """
    dispute = get_dispute(connection, dispute_id)
    check_answerer(dispute, by)
    after = check_answer(dispute, answer, note, counter_amount)
    when = _now(now)
    if when < dispute.opened_at:
        raise InputError(f"dispute {dispute_id} cannot be answered before it was opened")
    note = note.strip() if note and note.strip() else None
    changed = _change(
        connection,
        dispute,
        {
            "status": after,
            "answer": after,
            "answer_note": note,
            "counter_amount": counter_amount,
            "responded_at": when,
            "responded_by": by.user_id,
        },
        "responded_at",
    )
    _record_event(
        connection,
        dispute_id,
        occurred_at=when,
        actor=by.user_id,
        role=by.role,
        action=after,
        status=after,
        amount=counter_amount if answer == "counter" else dispute.amount,
        note=note,
    )
    return changed


def resolve_dispute(
    connection: sa.Connection,
    dispute_id: str,
    *,
    by: Principal,
    resolution: Resolution,
    amount: Decimal | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Dispute:
    """The brand closes a dispute: credited (booked in the ledger), upheld or withdrawn."""
    Scope(by).require_admin()
    dispute = get_dispute(connection, dispute_id)
    if resolution not in RESOLUTIONS:
        raise InputError(f"resolution {resolution!r} is not one of {', '.join(RESOLUTIONS)}")
    next_status(dispute_id, dispute.status, resolution)
    if amount is not None and resolution != "credited":
        raise InputError(f"only a credited resolution takes an amount ({resolution} given)")
    credited = credit_amount(dispute, amount) if resolution == "credited" else None
    when = _now(now)
    note = note.strip() if note and note.strip() else None
    currency = dispute.currency
    if credited is not None and currency is None:
        versions = contract_versions(connection, dispute.provider_id)
        currency = versions[-1].currency if versions else None
        if currency is None:
            raise InputError(f"dispute {dispute_id} has no currency to book the credit in")
    changed = _change(
        connection,
        dispute,
        {
            "status": "resolved",
            "resolution": resolution,
            "resolved_at": when,
            "resolved_by": by.user_id,
            "credited_amount": credited,
        },
        "resolved_at",
    )
    if credited is not None and currency is not None:
        record_credit(
            connection,
            provider_id=dispute.provider_id,
            period=dispute.credit_period,
            amount=credited,
            currency=currency,
            source="dispute",
            source_ref=dispute_id,
            by=by.user_id,
            note=note,
            now=when,
        )
    _record_event(
        connection,
        dispute_id,
        occurred_at=when,
        actor=by.user_id,
        role=by.role,
        action=resolution,
        status="resolved",
        amount=credited,
        note=note,
    )
    return changed


def comment_dispute(
    connection: sa.Connection,
    dispute_id: str,
    *,
    by: Principal,
    note: str,
    now: datetime | None = None,
) -> DisputeEvent:
    """Add a note to a dispute's history (a brand admin or the provider's own users)."""
    dispute = get_dispute(connection, dispute_id)
    if by.role == "provider":
        Scope(by).check(dispute.provider_id, "dispute")
    else:
        Scope(by).require_admin()
    if not note.strip():
        raise InputError(f"a comment on dispute {dispute_id} needs some text")
    return _record_event(
        connection,
        dispute_id,
        occurred_at=_now(now),
        actor=by.user_id,
        role=by.role,
        action="commented",
        status=dispute.status,
        note=note.strip(),
    )
