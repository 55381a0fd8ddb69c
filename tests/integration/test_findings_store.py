"""The findings lifecycle in the store, on DuckDB and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tallyclerk.errors import InputError
from tallyclerk.reconcile import (
    SYSTEM_USER,
    Detected,
    Finding,
    SyncResult,
    acknowledge,
    get_finding,
    list_findings,
    resolve,
    sync_findings,
)
from tallyclerk.reconcile._service import dispute_finding
from tallyclerk.store import Store
from tallyclerk.store.schema import disputes

T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


def found(
    subject: str, *, provider: str | None = "westcoast", amount: str | None = None
) -> Detected:
    return Detected(
        kind="not_shipped",
        domain="handoff",
        provider_id=provider,
        facility_id="LAX1" if provider else None,
        subject_kind="order",
        subject_id=subject,
        since=T0 - timedelta(days=2),
        reason=f"order {subject} was not shipped",
        amount=None if amount is None else Decimal(amount),
        currency=None if amount is None else "USD",
        evidence={"ordered_units": 3, "shipped_units": 0, "due": "2026-02-28"},
    )


def sync(
    store: Store, items: list[Detected], as_of: datetime, providers: list[str] | None = None
) -> SyncResult:
    with store.begin() as connection:
        return sync_findings(
            connection, items, domains=["handoff"], as_of=as_of, providers=providers
        )


def stored(store: Store, statuses: list[str] | None = None) -> dict[str, Finding]:
    with store.connect() as connection:
        return {f.subject_id: f for f in list_findings(connection, statuses=statuses)}


def test_a_finding_is_raised_once_and_updated(store: Store) -> None:
    first = sync(store, [found("A"), found("B"), found("A")], T0)
    assert (first.new, first.seen_again, first.cleared) == (2, 0, 0)
    again = sync(store, [found("A"), found("B")], T0 + timedelta(hours=1))
    assert (again.new, again.seen_again, again.cleared) == (0, 2, 0)
    rows = stored(store)
    assert set(rows) == {"A", "B"}
    a = rows["A"]
    assert a.status == "open"
    assert a.evidence == {"ordered_units": 3, "shipped_units": 0, "due": "2026-02-28"}
    assert a.last_as_of == T0 + timedelta(hours=1)
    assert a.age_days(T0) == pytest.approx(2.0)


def test_a_vanished_finding_is_cleared_and_reopened_when_it_returns(store: Store) -> None:
    sync(store, [found("A"), found("B")], T0)
    result = sync(store, [found("A")], T0 + timedelta(days=1))
    assert result.cleared == 1
    b = stored(store, statuses=["resolved"])["B"]
    assert b.resolved_by == SYSTEM_USER
    assert "no longer detected" in b.resolution
    back = sync(store, [found("A"), found("B")], T0 + timedelta(days=2))
    assert (back.new, back.reopened) == (0, 1)
    assert stored(store)["B"].status == "open"


def test_an_earlier_clock_clears_nothing(store: Store) -> None:
    sync(store, [found("A")], T0)
    result = sync(store, [], T0 - timedelta(days=1))
    assert result.cleared == 0
    assert stored(store)["A"].status == "open"


def test_an_earlier_clock_does_not_rewrite_the_facts(store: Store) -> None:
    sync(store, [found("A")], T0)
    older = dataclasses.replace(found("A"), reason="as it looked a day earlier")
    result = sync(store, [older], T0 - timedelta(days=1))
    assert result.seen_again == 1
    kept = stored(store)["A"]
    assert kept.reason == "order A was not shipped"
    assert kept.last_as_of == T0


def test_a_run_for_one_provider_leaves_the_others_alone(store: Store) -> None:
    sync(store, [found("A"), found("E", provider="eastbridge")], T0)
    result = sync(store, [found("A")], T0 + timedelta(days=1), providers=["westcoast"])
    assert result.cleared == 0
    assert stored(store)["E"].status == "open"


def test_a_human_resolution_is_kept(store: Store) -> None:
    sync(store, [found("A")], T0)
    finding_id = stored(store)["A"].finding_id
    with store.begin() as connection:
        acknowledged = acknowledge(connection, finding_id, by="maria")
        assert acknowledged.status == "acknowledged"
        resolve(connection, finding_id, by="maria", resolution="reshipped")
    sync(store, [found("A")], T0 + timedelta(days=1))
    with store.connect() as connection:
        kept = get_finding(connection, finding_id)
    assert (kept.status, kept.resolved_by, kept.resolution) == ("resolved", "maria", "reshipped")
    assert kept.acknowledged_by == "maria"
    with store.begin() as connection, pytest.raises(InputError, match="already resolved"):
        resolve(connection, finding_id, by="joe", resolution="again")
    with store.begin() as connection, pytest.raises(InputError, match="no finding 999"):
        get_finding(connection, 999)


def test_a_finding_becomes_a_dispute_once(store: Store) -> None:
    sync(store, [found("A", amount="7.0000")], T0)
    finding_id = stored(store)["A"].finding_id
    finding, dispute = dispute_finding(store, finding_id, by="maria", note="please credit")
    assert finding.dispute_id == dispute.dispute_id == "DSP-000001"
    with store.connect() as connection:
        row = connection.execute(sa.select(disputes)).one()
    assert row.amount == Decimal("7.0000")
    assert (row.source, row.source_ref, row.status, row.opened_by) == (
        "finding",
        str(finding_id),
        "open",
        "maria",
    )
    assert row.provider_id == "westcoast"
    with pytest.raises(InputError, match="already disputed"):
        dispute_finding(store, finding_id, by="maria")


def test_a_finding_without_provider_cannot_be_disputed(store: Store) -> None:
    sync(store, [found("N", provider=None)], T0)
    finding_id = stored(store)["N"].finding_id
    with pytest.raises(InputError, match="not charged to a provider"):
        dispute_finding(store, finding_id, by="maria")


def test_many_findings_sync_in_bulk(store: Store) -> None:
    items = [found(f"O{i:05d}") for i in range(3000)]
    assert sync(store, items, T0).new == 3000
    result = sync(store, items[:2000], T0 + timedelta(days=1))
    assert (result.seen_again, result.cleared) == (2000, 1000)
