"""Disputes: a brand's challenge of a charge or a figure, kept with where it came from.

The answer-and-resolve workflow (the 3PL's reply, counter-offers, the credit ledger) is the
service's; here a dispute is opened and recorded with its source, so the response KPI and
the invoice audit can point at it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa

from tallyclerk.errors import InputError
from tallyclerk.store.schema import disputes

Source = Literal["finding", "sla_breach", "credit", "manual"]
SOURCES: tuple[Source, ...] = ("finding", "sla_breach", "credit", "manual")
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


def _next_id(connection: sa.Connection) -> str:
    ids = connection.execute(
        sa.select(disputes.c.dispute_id).where(disputes.c.dispute_id.like("DSP-%"))
    ).scalars()
    highest = max((int(m.group(1)) for i in ids if (m := _ID_PATTERN.match(i))), default=0)
    return f"DSP-{highest + 1:06d}"


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
) -> Dispute:
    """Record a new open dispute and return it."""
    if source not in SOURCES:
        raise InputError(f"dispute source {source!r} is not one of {', '.join(SOURCES)}")
    if not subject.strip():
        raise InputError("a dispute needs a subject")
    subject = subject.strip()
    dispute_id = _next_id(connection)
    opened_at = (opened_at or datetime.now(UTC)).astimezone(UTC)
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
        "details": json.dumps(details, sort_keys=True) if details else None,
    }
    connection.execute(sa.insert(disputes).values(**values))
    return Dispute(
        dispute_id=dispute_id,
        provider_id=provider_id,
        opened_at=opened_at,
        subject=subject,
        reference=reference,
        amount=amount,
        currency=currency,
        status="open",
        source=source,
        source_ref=source_ref,
        opened_by=opened_by,
        details=details or {},
    )
