"""The credit ledger: credits a provider owes the brand, per month, one row per entry.

An entry is written when a credit is agreed (a dispute resolved as credited) and never
changed afterwards; a correction is a further entry. The balance of a month is the sum.
Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from tallyclerk.errors import InputError
from tallyclerk.sla._segments import month_bounds
from tallyclerk.store.schema import credit_ledger

LEDGER_SOURCES = ("dispute", "sla_credit", "adjustment")


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One booked credit."""

    entry_id: int
    provider_id: str
    period: date  # the month the credit belongs to (its first day)
    amount: Decimal
    currency: str
    source: str  # dispute | sla_credit | adjustment
    source_ref: str | None
    recorded_at: datetime
    recorded_by: str | None
    note: str | None


def _entry(row: sa.RowMapping) -> LedgerEntry:
    recorded = row["recorded_at"]
    return LedgerEntry(
        entry_id=int(row["entry_id"]),
        provider_id=row["provider_id"],
        period=row["period"],
        amount=Decimal(str(row["amount"])),
        currency=row["currency"],
        source=row["source"],
        source_ref=row["source_ref"],
        recorded_at=recorded.replace(tzinfo=UTC)
        if recorded.tzinfo is None
        else recorded.astimezone(UTC),
        recorded_by=row["recorded_by"],
        note=row["note"],
    )


def record_credit(
    connection: sa.Connection,
    *,
    provider_id: str,
    period: date,
    amount: Decimal,
    currency: str,
    source: str,
    source_ref: str | None = None,
    by: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> LedgerEntry:
    """Book a credit for a provider's month, so the scorecard shows what was agreed."""
    if source not in LEDGER_SOURCES:
        raise InputError(f"credit source {source!r} is not one of {', '.join(LEDGER_SOURCES)}")
    if not currency or len(currency) != 3:
        raise InputError(f"a credit needs a three-letter currency, not {currency!r}")
    amount = Decimal(amount)
    if not amount.is_finite():
        raise InputError(f"a credit amount must be a number, not {amount}")
    values = {
        "provider_id": provider_id,
        "period": month_bounds(period)[0],
        "amount": amount,
        "currency": currency.upper(),
        "source": source,
        "source_ref": source_ref,
        "recorded_at": (now or datetime.now(UTC)).astimezone(UTC),
        "recorded_by": by,
        "note": note,
    }
    entry_id = connection.execute(
        sa.insert(credit_ledger).values(**values).returning(credit_ledger.c.entry_id)
    ).scalar_one()
    row = (
        connection.execute(sa.select(credit_ledger).where(credit_ledger.c.entry_id == entry_id))
        .mappings()
        .one()
    )
    return _entry(row)


def ledger(
    connection: sa.Connection,
    *,
    providers: Sequence[str] | None = None,
    period: date | None = None,
) -> list[LedgerEntry]:
    """The booked credits by provider, month and entry (of some providers or a month)."""
    c = credit_ledger.c
    query = sa.select(credit_ledger).order_by(c.provider_id, c.period, c.entry_id)
    if providers is not None:
        query = query.where(c.provider_id.in_(list(providers)))
    if period is not None:
        query = query.where(c.period == month_bounds(period)[0])
    return [_entry(row) for row in connection.execute(query).mappings()]


def ledger_totals(
    connection: sa.Connection, *, providers: Sequence[str] | None = None
) -> list[tuple[str, date, str, Decimal]]:
    """(provider, month, currency, total) of the booked credits, by provider then month."""
    c = credit_ledger.c
    query = (
        sa.select(c.provider_id, c.period, c.currency, sa.func.sum(c.amount))
        .group_by(c.provider_id, c.period, c.currency)
        .order_by(c.provider_id, c.period, c.currency)
    )
    if providers is not None:
        query = query.where(c.provider_id.in_(list(providers)))
    return [
        (p, period, cur, Decimal(str(total))) for p, period, cur, total in connection.execute(query)
    ]


__all__ = ["LEDGER_SOURCES", "LedgerEntry", "ledger", "ledger_totals", "record_credit"]
