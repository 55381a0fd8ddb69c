"""The dispute workflow in the store: open, answer, resolve, the ledger, and the response KPI."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tallyclerk.access import AccessError, NotFoundError, Principal
from tallyclerk.errors import InputError
from tallyclerk.sla import (
    Dispute,
    answer_dispute,
    comment_dispute,
    count_disputes,
    dispute_events,
    evaluate,
    get_dispute,
    ledger,
    ledger_totals,
    list_disputes,
    open_dispute,
    open_from_breach,
    open_from_credit,
    resolve_dispute,
    scorecards,
)
from tallyclerk.store import Store
from tests.support import figures, items, tiny_store

ACME = """
provider: acme
name: Acme fulfilment agreement
effective: 2026-01-01
currency: USD
facilities:
  - {id: LAX1, timezone: America/Los_Angeles, country: US, subdivision: CA, cutoff: "14:00"}
capacity: {orders_per_day: 100}
metrics:
  ship_on_time_rate: {target: 0.95}
  dispute_response_on_time_rate: {target: 1.0, within_business_days: 3}
credits:
  cap_pct_of_fees: 10
  tiers:
    - {metric: ship_on_time_rate, below: 0.95, credit_pct_of_fees: 5}
  per_incident: {missed_ship_date: 5.00}
rates:
  pick_pack: 3.00
  additional_unit: 0.75
  packaging: {box_small: 0.85}
  storage_per_pallet_month: 25.00
  receiving_per_unit: 0.25
  returns_per_unit: 3.50
  shipping_markup_pct: 0
"""

# Bravo's contract names no dispute response metric: its 3PL gets the default 2 days.
BRAVO = """
provider: bravo
name: Bravo logistics agreement
effective: 2026-01-01
currency: EUR
facilities:
  - {id: JFK1, timezone: America/New_York, country: US, subdivision: NY, cutoff: "12:00"}
capacity: {orders_per_day: 100}
metrics:
  ship_on_time_rate: {target: 0.98}
credits: {cap_pct_of_fees: 10, tiers: []}
rates:
  pick_pack: 2.50
  additional_unit: 0.50
  packaging: {}
  storage_per_pallet_month: 20.00
  receiving_per_unit: 0.20
  returns_per_unit: 3.00
  shipping_markup_pct: 0
"""

ADMIN = Principal("ana", "admin")
ANALYST = Principal("bob", "analyst")
ACME_USER = Principal("acme-liaison", "provider", "acme")
BRAVO_USER = Principal("bravo-liaison", "provider", "bravo")
BRAND_ZONE = "America/New_York"
MONDAY = datetime(2026, 4, 6, 14, 0, tzinfo=UTC)  # 10:00 in New York
MINUTE = timedelta(minutes=1)


def _march() -> dict[str, list[dict[str, Any]]]:
    """Eight acme orders in March, the one of 03-04 shipped two days late; 1,000.00 of fees."""
    kinds: dict[str, list[dict[str, Any]]] = {
        "orders": [],
        "releases": [],
        "shipments": [],
        "shipment_lines": [],
    }
    for day in (2, 3, 4, 5, 6, 9, 10, 11):
        released = datetime(2026, 3, day, 17, 0, tzinfo=UTC)
        late = timedelta(days=2) if day == 4 else timedelta(0)
        kinds["orders"].append({"order_id": f"a{day}", "placed_at": released, "currency": "USD"})
        kinds["releases"].append(
            {
                "order_id": f"a{day}",
                "provider_id": "acme",
                "facility_id": "LAX1",
                "released_at": released,
            }
        )
        kinds["shipments"].append(
            {
                "shipment_id": f"as{day}",
                "order_id": f"a{day}",
                "provider_id": "acme",
                "facility_id": "LAX1",
                "shipped_at": released + timedelta(hours=1) + late,
            }
        )
        kinds["shipment_lines"].append({"shipment_id": f"as{day}", "sku": "A", "qty": 1})
    kinds["invoice_lines"] = [
        {
            "invoice_id": "INV-A3",
            "line_no": 1,
            "provider_id": "acme",
            "invoice_date": "2026-04-02",
            "period_start": "2026-03-01",
            "period_end": "2026-03-31",
            "charge_type": "storage",
            "reference": "2026-03",
            "quantity": 40,
            "unit_rate": "25.00",
            "amount": "1000.00",
            "currency": "USD",
        }
    ]
    return kinds


@pytest.fixture
def shop(tmp_path: Path, store_url: str) -> Any:
    store = tiny_store(
        tmp_path, contracts=[ACME, BRAVO], url=store_url, brand_timezone=BRAND_ZONE, **_march()
    )
    try:
        yield store
    finally:
        store.close()


def _open(store: Store, provider: str = "acme", **more: Any) -> Dispute:
    values: dict[str, Any] = {
        "provider_id": provider,
        "subject": "pallet 88 lost in receiving",
        "source": "manual",
        "amount": Decimal("420.00"),
        "opened_at": MONDAY,
        "by": ADMIN,
        "settings": store.settings,  # type: ignore[attr-defined]
        **more,
    }
    with store.begin() as connection:
        return open_dispute(connection, **values)


def test_a_counter_offer_credited_lands_in_the_ledger(shop: Store) -> None:
    opened = _open(shop, period=date(2026, 3, 17), note="see the receiving report")
    assert (opened.dispute_id, opened.status, opened.currency) == ("DSP-000001", "open", "USD")
    assert opened.period == date(2026, 3, 1)
    # Three business days on the brand's calendar: Thursday 2026-04-09, end of day New York.
    assert opened.response_due_at == datetime(2026, 4, 10, 3, 59, 59, 999999, tzinfo=UTC)
    answered_at = MONDAY + timedelta(days=1)
    with shop.begin() as connection:
        countered = answer_dispute(
            connection,
            opened.dispute_id,
            by=ACME_USER,
            answer="counter",
            counter_amount=Decimal("300.00"),
            note="half the pallet was found",
            now=answered_at,
        )
    assert (countered.status, countered.answer, countered.counter_amount) == (
        "countered",
        "countered",
        Decimal("300.00"),
    )
    assert (countered.responded_at, countered.responded_by) == (answered_at, "acme-liaison")
    assert countered.answer_note == "half the pallet was found"
    resolved_at = MONDAY + timedelta(days=2)
    with shop.begin() as connection:
        done = resolve_dispute(
            connection, opened.dispute_id, by=ADMIN, resolution="credited", now=resolved_at
        )
        entries = ledger(connection)
        totals = ledger_totals(connection, providers=["acme"])
        history = dispute_events(connection, opened.dispute_id)
    assert (done.status, done.resolution, done.credited_amount) == (
        "resolved",
        "credited",
        Decimal("300.00"),
    )
    assert (done.resolved_at, done.resolved_by) == (resolved_at, "ana")
    (entry,) = entries
    assert (entry.provider_id, entry.period, entry.amount, entry.currency) == (
        "acme",
        date(2026, 3, 1),
        Decimal("300.00"),
        "USD",
    )
    assert (entry.source, entry.source_ref, entry.recorded_by) == ("dispute", "DSP-000001", "ana")
    assert totals == [("acme", date(2026, 3, 1), "USD", Decimal("300.00"))]
    assert [(e.action, e.status, e.actor, e.role, e.amount) for e in history] == [
        ("opened", "open", "ana", "admin", Decimal("420.00")),
        ("countered", "countered", "acme-liaison", "provider", Decimal("300.00")),
        ("credited", "resolved", "ana", "admin", Decimal("300.00")),
    ]
    assert history[0].note == "see the receiving report"
    assert [e.occurred_at for e in history] == [MONDAY, answered_at, resolved_at]


def test_who_may_do_what(shop: Store) -> None:
    with pytest.raises(AccessError, match="admin"):
        _open(shop, by=ANALYST)
    with pytest.raises(AccessError):
        _open(shop, by=ACME_USER)
    dispute = _open(shop)
    key = dispute.dispute_id
    with shop.begin() as connection:
        with pytest.raises(NotFoundError):  # another 3PL's dispute looks absent
            answer_dispute(connection, key, by=BRAVO_USER, answer="accept", now=MONDAY)
        with pytest.raises(AccessError, match="analyst"):
            answer_dispute(connection, key, by=ANALYST, answer="accept", now=MONDAY)
        with pytest.raises(AccessError, match="admin"):
            resolve_dispute(connection, key, by=ACME_USER, resolution="withdrawn")
        with pytest.raises(AccessError):
            comment_dispute(connection, key, by=BRAVO_USER, note="not ours")
        with pytest.raises(AccessError):
            comment_dispute(connection, key, by=ANALYST, note="looking")
        comment = comment_dispute(
            connection, key, by=ACME_USER, note="checking the cameras", now=MONDAY + MINUTE
        )
        assert (comment.action, comment.status, comment.role) == ("commented", "open", "provider")
        with pytest.raises(InputError, match=f"rejecting dispute {key} needs the reason"):
            answer_dispute(connection, key, by=ACME_USER, answer="reject", now=MONDAY)
        with pytest.raises(InputError, match=r"less than the 420\.00 claimed"):
            answer_dispute(
                connection, key, by=ACME_USER, answer="counter", counter_amount=Decimal(420)
            )
        with pytest.raises(InputError, match="before it was opened"):
            answer_dispute(
                connection, key, by=ACME_USER, answer="accept", now=MONDAY - timedelta(hours=1)
            )
        with pytest.raises(InputError, match=f"dispute {key} is open"):
            resolve_dispute(connection, key, by=ADMIN, resolution="credited")
        with pytest.raises(InputError, match=f"dispute {key} is open"):
            resolve_dispute(connection, key, by=ADMIN, resolution="upheld")
        # A brand admin records the answer that came by e-mail: the step keeps the admin's role.
        rejected = answer_dispute(
            connection,
            key,
            by=ADMIN,
            answer="reject",
            note="pallet signed for",
            now=MONDAY + 2 * MINUTE,
        )
        assert (rejected.status, rejected.responded_by) == ("rejected", "ana")
        with pytest.raises(InputError, match=f"dispute {key} is rejected"):
            answer_dispute(connection, key, by=ACME_USER, answer="accept", now=MONDAY)
        with pytest.raises(InputError, match=f"dispute {key} is rejected"):
            resolve_dispute(connection, key, by=ADMIN, resolution="credited")
        upheld = resolve_dispute(
            connection, key, by=ADMIN, resolution="upheld", now=MONDAY + 3 * MINUTE
        )
        assert (upheld.status, upheld.resolution, upheld.credited_amount) == (
            "resolved",
            "upheld",
            None,
        )
        with pytest.raises(InputError, match=f"dispute {key} is resolved already"):
            resolve_dispute(connection, key, by=ADMIN, resolution="withdrawn")
        assert ledger(connection) == []  # upholding a rejection books nothing
        steps = [(e.action, e.role) for e in dispute_events(connection, key)]
    assert steps == [
        ("opened", "admin"),
        ("commented", "provider"),
        ("rejected", "admin"),
        ("upheld", "admin"),
    ]


def test_the_brand_withdraws_an_open_dispute_and_lists_page(shop: Store) -> None:
    first = _open(shop)
    second = _open(shop, provider="bravo", opened_at=MONDAY + timedelta(hours=1), amount=None)
    third = _open(shop, opened_at=MONDAY + timedelta(hours=2))
    assert second.currency is None  # no amount, no currency
    with shop.begin() as connection:
        withdrawn = resolve_dispute(connection, first.dispute_id, by=ADMIN, resolution="withdrawn")
        assert withdrawn.resolution == "withdrawn"
        newest = list_disputes(connection)
        assert [d.dispute_id for d in newest] == [
            third.dispute_id,
            second.dispute_id,
            first.dispute_id,
        ]
        page = list_disputes(connection, limit=1, offset=1)
        assert [d.dispute_id for d in page] == [second.dispute_id]
        assert [d.dispute_id for d in list_disputes(connection, providers=["acme"])] == [
            third.dispute_id,
            first.dispute_id,
        ]
        assert count_disputes(connection, status="open") == 2
        assert count_disputes(connection, providers=["bravo"], status="open") == 1
        assert count_disputes(connection, providers=["acme"], status="resolved") == 1
        with pytest.raises(InputError, match="is not one of"):
            list_disputes(connection, status="closed")
        with pytest.raises(InputError, match="no dispute 'DSP-404'"):
            get_dispute(connection, "DSP-404")
        with pytest.raises(InputError, match="counter"):
            answer_dispute(
                connection,
                second.dispute_id,
                by=BRAVO_USER,
                answer="counter",
                counter_amount=Decimal(1),
                now=MONDAY + timedelta(hours=3),
            )


def test_a_breach_and_a_credit_claim_from_the_recorded_evaluation(shop: Store) -> None:
    settings = shop.settings  # type: ignore[attr-defined]
    with shop.begin() as connection, pytest.raises(InputError, match="evaluate the month"):
        open_from_breach(
            connection,
            provider_id="acme",
            metric="ship_on_time_rate",
            period=date(2026, 3, 1),
            by=ADMIN,
        )
    report = evaluate(shop, date(2026, 3, 1), as_of=datetime(2026, 4, 3, tzinfo=UTC))
    (acme,) = [r for r in report.providers if r.provider_id == "acme"]
    assert acme.credits.total.amount == Decimal("55.00")  # 5% of 1,000.00 and one late order
    with shop.begin() as connection:
        with pytest.raises(AccessError):
            open_from_breach(
                connection,
                provider_id="acme",
                metric="ship_on_time_rate",
                period=date(2026, 3, 1),
                by=ANALYST,
            )
        breach = open_from_breach(
            connection,
            provider_id="acme",
            metric="ship_on_time_rate",
            period=date(2026, 3, 20),
            by=ADMIN,
            now=MONDAY,
            settings=settings,
        )
        with pytest.raises(InputError, match=f"disputed already as {breach.dispute_id}"):
            open_from_breach(
                connection,
                provider_id="acme",
                metric="ship_on_time_rate",
                period=date(2026, 3, 1),
                by=ADMIN,
            )
        with pytest.raises(InputError, match="no breach of ship_on_time_rate"):
            open_from_breach(
                connection,
                provider_id="bravo",
                metric="ship_on_time_rate",
                period=date(2026, 3, 1),
                by=ADMIN,
            )
        claim = open_from_credit(
            connection,
            provider_id="acme",
            period=date(2026, 3, 1),
            by=ADMIN,
            now=MONDAY,
            settings=settings,
        )
        with pytest.raises(InputError, match="owes no SLA credits"):
            open_from_credit(connection, provider_id="bravo", period=date(2026, 3, 1), by=ADMIN)
        with pytest.raises(InputError, match="no evaluation of 2026-02"):
            open_from_credit(connection, provider_id="acme", period=date(2026, 2, 1), by=ADMIN)
        with pytest.raises(InputError, match=f"claimed already in {claim.dispute_id}"):
            open_from_credit(connection, provider_id="acme", period=date(2026, 3, 1), by=ADMIN)
    assert breach.subject == "ship_on_time_rate 87.5% against 95.0% in 2026-03"
    assert (breach.source, breach.source_ref, breach.period) == (
        "sla_breach",
        "ship_on_time_rate@2026-03",
        date(2026, 3, 1),
    )
    assert (breach.amount, breach.currency) == (Decimal("50.00"), "USD")  # the tier credit
    assert breach.details["metric"] == "ship_on_time_rate"
    assert breach.details["state"] == "breached"
    assert (breach.details["numerator"], breach.details["denominator"]) == (7, 8)
    assert breach.details["run_id"] == report.run_id
    assert (claim.source, claim.source_ref, claim.amount, claim.currency) == (
        "credit",
        "credits@2026-03",
        Decimal("55.00"),
        "USD",
    )
    assert [line["kind"] for line in claim.details["credit_lines"]] == ["tier", "incident"]
    with shop.begin() as connection:
        answer_dispute(connection, claim.dispute_id, by=ACME_USER, answer="accept", now=MONDAY)
        resolve_dispute(connection, claim.dispute_id, by=ADMIN, resolution="credited", now=MONDAY)
        answer_dispute(connection, breach.dispute_id, by=ACME_USER, answer="accept", now=MONDAY)
        with pytest.raises(InputError, match="more than that"):
            resolve_dispute(
                connection,
                breach.dispute_id,
                by=ADMIN,
                resolution="credited",
                amount=Decimal("50.01"),
            )
        resolve_dispute(
            connection,
            breach.dispute_id,
            by=ADMIN,
            resolution="credited",
            amount=Decimal("20.00"),
            note="agreed on the call",
        )
        (card,) = scorecards(connection, providers=["acme"], period=date(2026, 3, 1))
        totals = ledger_totals(connection)
    assert card.ledger_credits == Decimal("75.00")
    assert totals == [("acme", date(2026, 3, 1), "USD", Decimal("75.00"))]


# Opening instants and how the 3PL answers, on the brand's calendar (America/New_York):
# acme has 3 business days, bravo (no such metric in its contract) the default 2.
OPENINGS = [
    ("acme", datetime(2026, 4, 6, 14, 0, tzinfo=UTC), "at the deadline"),  # Monday morning
    ("acme", datetime(2026, 4, 11, 3, 30, tzinfo=UTC), "at the deadline"),  # Friday 23:30 local
    ("acme", datetime(2026, 4, 11, 16, 0, tzinfo=UTC), "a moment late"),  # Saturday
    ("bravo", datetime(2026, 4, 7, 3, 59, tzinfo=UTC), "at the deadline"),  # Monday 23:59 local
    ("bravo", datetime(2026, 4, 8, 12, 0, tzinfo=UTC), "never"),  # Wednesday
    ("acme", datetime(2026, 4, 14, 12, 0, tzinfo=UTC), "a day early"),
]


def test_the_kpi_reads_the_workflow_deadline(shop: Store) -> None:
    expected: dict[str, bool] = {}
    for provider, opened_at, how in OPENINGS:
        dispute = _open(shop, provider=provider, opened_at=opened_at)
        due = dispute.response_due_at
        assert due is not None
        answered = {
            "at the deadline": due,
            "a moment late": due + timedelta(microseconds=1),
            "a day early": due - timedelta(days=1),
        }.get(how)
        if answered is not None:
            user = ACME_USER if provider == "acme" else BRAVO_USER
            with shop.begin() as connection:
                after = answer_dispute(
                    connection, dispute.dispute_id, by=user, answer="accept", now=answered
                )
            assert after.overdue(answered + timedelta(days=30)) is False
        else:
            assert dispute.overdue(due + timedelta(microseconds=1))
        expected[dispute.dispute_id] = how in ("at the deadline", "a day early")
    as_of = datetime(2026, 5, 15, tzinfo=UTC)
    judged = {
        row["item_id"]: row["hit"] for row in items(shop, "dispute_response_on_time_rate", as_of)
    }
    assert judged == expected
    # Through the KPI's figures: April's late and missing answers count against each 3PL.
    april = {
        r.provider_id: (r.numerator, r.denominator)
        for r in figures(shop, "dispute_response_on_time_rate", as_of)
        if r.period == date(2026, 4, 1)
    }
    assert april == {"acme": (3, 4), "bravo": (1, 2)}
