"""The weekly review's data, gathered from a small hand-made store on DuckDB and PostgreSQL.

The store holds two providers. acme ships seven orders in late February and March 2026 (one
late in 2026-W09, none late in W10, one of four late in W11), counts two SKUs three times,
has disputes, findings and action items with known timestamps, a recorded evaluation of March
and two kept forecast runs. Every figure below is worked out by hand from those records, or
read from the service the review must agree with (the KPI catalogue, the recorded scorecard).
The reviews are built once per database and shared by the tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import sqlalchemy as sa

from tallyclerk.access import Principal
from tallyclerk.calendar import BusinessCalendar
from tallyclerk.errors import InputError
from tallyclerk.experience import experience_report
from tallyclerk.forecast import ForecastRun, SeriesForecast, SeriesKey, save_run
from tallyclerk.metrics import aggregate, compute, get_metric, open_context
from tallyclerk.metrics._inventory import inventory_accuracy_items
from tallyclerk.reports import IsoWeek, WeeklyReview
from tallyclerk.reports._gather import build_review
from tallyclerk.reports._gather_records import dispute_lines
from tallyclerk.settings import Settings
from tallyclerk.sla import (
    answer_dispute,
    credit_lines,
    evaluate,
    open_dispute,
    resolve_dispute,
    scorecards,
)
from tallyclerk.store import Store
from tallyclerk.store.schema import action_items, findings
from tests.support import tiny_store

BRAND_TIMEZONE = "America/Chicago"
WEEK = IsoWeek(2026, 11)  # Monday 2026-03-09 .. Sunday 2026-03-15
# The end of WEEK in the brand's zone: Monday 2026-03-16 00:00 CDT.
WEEK_END = datetime(2026, 3, 16, 5, 0, tzinfo=UTC)
WEEK_START = datetime(2026, 3, 9, 5, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)  # when the reviews are generated
EMPTY_WEEK = IsoWeek(2026, 20)  # 2026-05-11..17: nothing happened, nothing was evaluated
MIDWEEK = datetime(2026, 5, 13, 12, 0, tzinfo=UTC)

ACME = """
provider: acme
name: Acme fulfilment agreement
effective: 2026-01-01
currency: USD
facilities:
  - {id: LAX1, timezone: America/Los_Angeles, country: US, subdivision: CA, cutoff: "14:00"}
capacity: {orders_per_day: 120}
metrics:
  ship_on_time_rate: {target: 0.95}
  inventory_accuracy_rate: {target: 0.99, tolerance_units: 0}
  dispute_response_on_time_rate: {target: 1.0, within_business_days: 2}
peak: [{from: 2026-03-02, to: 2026-03-08, metrics: {ship_on_time_rate: {target: 0.90}}}]
credits:
  cap_pct_of_fees: 10
  tiers:
    - {metric: ship_on_time_rate, below: 0.95, credit_pct_of_fees: 5}
rates:
  pick_pack: 3.00
  additional_unit: 0.75
  packaging: {box_small: 0.85}
  storage_per_pallet_month: 25.00
  receiving_per_unit: 0.25
  returns_per_unit: 3.50
  shipping_markup_pct: 0
"""

BRAVO = """
provider: bravo
name: Bravo logistics agreement
effective: 2026-01-01
currency: EUR
facilities:
  - {id: JFK1, timezone: America/New_York, country: US, subdivision: NY, cutoff: "12:00"}
capacity: {orders_per_day: 50}
metrics:
  ship_on_time_rate: {target: 0.98}
credits:
  cap_pct_of_fees: 10
  tiers: []
rates:
  pick_pack: 2.50
  additional_unit: 0.50
  packaging: {}
  storage_per_pallet_month: 20.00
  receiving_per_unit: 0.20
  returns_per_unit: 3.00
  shipping_markup_pct: 0
"""


# Released at 17:00 UTC (09:00 or 10:00 in Los Angeles, before the 14:00 cutoff) on business
# days, so each is due by the end of its own day; "late" ones ship the next day.
def _at_utc(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


SHIPPED = {  # order -> (release day, shipped late)
    "o0": (date(2026, 2, 24), True),  # W09
    "o1": (date(2026, 3, 2), False),  # W10 (the peak week: target 0.90)
    "o2": (date(2026, 3, 3), False),
    "o3": (date(2026, 3, 9), False),  # W11: 3 of 4 on time
    "o4": (date(2026, 3, 10), False),
    "o5": (date(2026, 3, 11), False),
    "o6": (date(2026, 3, 12), True),
}
# The customer's side of W11: promised dates, deliveries (o4 a day late, o6 not yet), two
# answers (one scoring 2 and reporting damage on o4) and a packaging audit of o3 and o5.
PROMISED = {"o3": date(2026, 3, 12), "o4": date(2026, 3, 13), "o5": date(2026, 3, 14)}
PROMISED["o6"] = date(2026, 3, 14)
DELIVERED = {"o3": _at_utc(3, 11, 20), "o4": _at_utc(3, 14, 20), "o5": _at_utc(3, 13, 20)}
FEEDBACK = [  # (id, order, received, score, tags)
    ("fb1", "o3", _at_utc(3, 12, 15), 5, ""),
    ("fb2", "o4", _at_utc(3, 14, 15), 2, "damaged;late"),
    ("fb3", "o1", _at_utc(3, 20, 15), 1, ""),  # after the week
]
AUDITS = [  # (id, order, checklist item, passed): o3 fails its tape, o5 passes
    ("a1", "o3", "box", True),
    ("a2", "o3", "tape", False),
    ("a3", "o5", "box", True),
]
# (on hand of C, of D) at each count; C is valued at 2.50 and D at 1.00. The first count is
# the book's baseline; nothing moves either SKU, so the book stays at 10 and 5.
COUNTS = {
    datetime(2026, 3, 1, 18, 0, tzinfo=UTC): (10, 5),  # Sunday of W09 (the baseline)
    datetime(2026, 3, 14, 12, 0, tzinfo=UTC): (7, 5),  # Saturday of W11: C is 3 short
    datetime(2026, 3, 18, 12, 0, tzinfo=UTC): (0, 0),  # after the week: never in its review
}


def _records() -> dict[str, list[dict[str, Any]]]:
    orders, releases, shipments, lines = [], [], [], []
    for order_id, (day, late) in SHIPPED.items():
        released = datetime(day.year, day.month, day.day, 17, 0, tzinfo=UTC)
        shipped = released + timedelta(hours=2, days=1 if late else 0)
        orders.append(
            {
                "order_id": order_id,
                "placed_at": released,
                "promised_delivery_date": PROMISED.get(order_id),
                "order_value": "40",
                "currency": "USD",
            }
        )
        releases.append(
            {
                "order_id": order_id,
                "provider_id": "acme",
                "facility_id": "LAX1",
                "released_at": released,
            }
        )
        shipments.append(
            {
                "shipment_id": f"s-{order_id}",
                "order_id": order_id,
                "provider_id": "acme",
                "facility_id": "LAX1",
                "shipped_at": shipped,
                "carrier": "ups",
                "tracking_number": f"T-{order_id}",
            }
        )
        lines.append({"shipment_id": f"s-{order_id}", "sku": "A", "qty": 1})
    snapshots = [
        {
            "provider_id": "acme",
            "facility_id": "LAX1",
            "as_of": at,
            "sku": sku,
            "on_hand": qty,
            "available": qty,
            "damaged": 0,
        }
        for at, counts in COUNTS.items()
        for sku, qty in zip(("C", "D"), counts, strict=True)
    ]
    products = [
        {"sku": "A", "name": "Mug", "unit_cost": "4.00"},
        {"sku": "C", "name": "Cap", "unit_cost": "2.50"},
        {"sku": "D", "name": "Dish", "unit_cost": "1.00"},
    ]
    tracking = [
        {"tracking_number": f"T-{o}", "carrier": "ups", "status": "delivered", "occurred_at": at}
        for o, at in DELIVERED.items()
    ]
    feedback = [
        {"feedback_id": f, "order_id": o, "channel": "email", "received_at": at, "score": n,
         "tags": tags}
        for f, o, at, n, tags in FEEDBACK
    ]  # fmt: skip
    audits = [
        {"audit_id": a, "provider_id": "acme", "facility_id": "LAX1", "order_id": o,
         "audited_at": _at_utc(3, 11), "checklist_item": item, "passed": ok}
        for a, o, item, ok in AUDITS
    ]  # fmt: skip
    return {
        "tracking_events": tracking,
        "feedback": feedback,
        "audits": audits,
        "products": products,
        "orders": orders,
        "releases": releases,
        "shipments": shipments,
        "shipment_lines": lines,
        "inventory_snapshots": snapshots,
    }


def _at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


VARIANCE_REASON = (
    "LAX1 counts 7 of C against a book of 10: 3 units short (USD 7.50), beyond the tolerance of 0"
)
# name -> (provider, domain, kind, first detected, resolved, status, amount, reason)
FINDINGS: dict[str, tuple[str, str, str, datetime, datetime | None, str, str | None, str]] = {
    "F1": ("acme", "handoff", "not_shipped", _at(3, 10), None, "open", None, "o3 waits"),
    "F2": ("acme", "handoff", "not_shipped", _at(3, 2), _at(3, 11), "resolved", None, "o1"),
    "F3": ("acme", "handoff", "not_shipped", _at(3, 1), None, "acknowledged", None, "o0"),
    "F4": ("acme", "handoff", "not_shipped", _at(3, 16, 6), None, "open", None, "later"),
    # Sunday 23:00 in Chicago: before the week began in the brand's zone.
    "F5": ("acme", "handoff", "not_shipped", _at(3, 9, 4), None, "open", None, "o2 waits"),
    "F6": ("acme", "handoff", "no_first_scan", _at(3, 12), _at(3, 13), "resolved", None, "s"),
    "F7": ("acme", "inventory", "inventory_variance", _at(3, 11), None, "open", "7.50", ""),
    "F8": ("acme", "invoice", "wrong_rate", _at(3, 12), None, "open", "12.00", "INV-1#2"),
    "F9": ("acme", "invoice", "wrong_rate", _at(3, 3), _at(3, 4), "resolved", "3.00", "old"),
    "F10": ("bravo", "handoff", "not_shipped", _at(3, 10), None, "open", None, "bravo's"),
}


def _add_findings(connection: sa.Connection) -> None:
    rows = []
    for name, (provider, domain, kind, first, resolved, status, amount, reason) in FINDINGS.items():
        rows.append(
            {
                "fingerprint": f"{kind}|{provider}|test:{name}",
                "domain": domain,
                "kind": kind,
                "provider_id": provider,
                "facility_id": "LAX1",
                "subject_kind": "test",
                "subject_id": name,
                "since": first,
                "reason": VARIANCE_REASON if name == "F7" else reason,
                "amount": Decimal(amount) if amount is not None else None,
                "currency": "USD" if amount is not None else None,
                "status": status,
                "first_detected_at": first,
                "last_detected_at": first,
                "last_as_of": first,
                "resolved_at": resolved,
                "resolved_by": "ana" if resolved else None,
            }
        )
    connection.execute(sa.insert(findings), rows)


ADMIN = Principal("ana", "admin")
ACME_USER = Principal("pat", "provider", "acme")


def _add_disputes(connection: sa.Connection, settings: Settings) -> dict[str, str]:
    """Disputes named by their story; returns name -> dispute id."""

    def opened(name: str, at: datetime, amount: str | None = None) -> str:
        return open_dispute(
            connection,
            provider_id="acme",
            subject=f"dispute {name}",
            source="manual",
            amount=Decimal(amount) if amount else None,
            opened_at=at,
            opened_by="ana",
            settings=settings,
        ).dispute_id

    ids = {
        "unanswered": opened("unanswered", _at(3, 2, 15), "40.00"),  # due 03-04: overdue
        "not_due_yet": opened("not_due_yet", _at(3, 13, 15)),  # due 03-17
        "accepted": opened("accepted", _at(3, 2, 15)),
        "withdrawn": opened("withdrawn", _at(3, 2, 15)),
        "answered_late": opened("answered_late", _at(3, 2, 15)),  # answered after the week
        "opened_later": opened("opened_later", _at(3, 20, 15)),
    }
    answer_dispute(connection, ids["accepted"], by=ACME_USER, answer="accept", now=_at(3, 3))
    resolve_dispute(connection, ids["withdrawn"], by=ADMIN, resolution="withdrawn", now=_at(3, 5))
    answer_dispute(
        connection,
        ids["answered_late"],
        by=ACME_USER,
        answer="reject",
        note="not ours",
        now=_at(3, 20),
    )
    return ids


def _add_actions(connection: sa.Connection) -> dict[str, int]:
    """Action items named by their story; returns name -> action id."""
    base = {"owner": "Pat", "party": "provider", "created_at": _at(3, 1), "updated_at": _at(3, 1)}
    # name -> (provider, week agreed, status, due on, done at)
    stories: dict[str, tuple[str, str, str, date | None, datetime | None]] = {
        "overdue": ("acme", "2026-W10", "open", date(2026, 3, 12), None),
        "done_in_week": ("acme", "2026-W11", "done", None, _at(3, 13)),
        "done_long_ago": ("acme", "2026-W07", "done", None, _at(2, 20)),
        "agreed_later": ("acme", "2026-W12", "open", None, None),
        "bravo": ("bravo", "2026-W10", "open", None, None),
    }
    ids = {}
    for name, (provider, week, status, due_on, done_at) in stories.items():
        values = {
            "provider_id": provider,
            "opened_week": week,
            "status": status,
            "due_on": due_on,
            "done_at": done_at,
        }
        ids[name] = int(
            connection.execute(
                sa.insert(action_items)
                .values(title=f"action {name}", **base, **values)
                .returning(action_items.c.action_id)
            ).scalar_one()
        )
    return ids


def _forecast(as_of: date, days: int, providers: tuple[str, ...]) -> ForecastRun:
    """A kept run forecasting 100 orders a day (P90: 150) from the day after `as_of`."""
    series = [
        SeriesForecast(
            key=SeriesKey(provider, None, "orders"),
            model="constant",
            method="direct",
            start=as_of + timedelta(days=1),
            p50=np.full(days, 100.0),
            p90=np.full(days, 150.0),
            history_start=date(2026, 1, 1),
            history_days=(as_of - date(2026, 1, 1)).days + 1,
        )
        for provider in providers
    ]
    return ForecastRun(as_of=as_of, horizon=days, series=series, created_at=NOW)


@dataclass
class Built:
    """The store of one database, and the reviews built from it (once, on first use)."""

    store: Store
    settings: Settings
    disputes: dict[str, str]
    actions: dict[str, int]
    reviews: dict[str, WeeklyReview] = field(default_factory=dict)

    def review(self, key: str) -> WeeklyReview:
        if key not in self.reviews:
            if key == "brand":
                made = build_review(self.store, self.settings, "acme", WEEK, now=NOW)
            elif key == "provider":
                made = build_review(
                    self.store, self.settings, "acme", WEEK, audience="provider", now=NOW
                )
            else:  # bravo's empty week, read on its Wednesday: the clock stops at `now`
                made = build_review(self.store, self.settings, "bravo", EMPTY_WEEK, now=MIDWEEK)
            self.reviews[key] = made
        return self.reviews[key]


def _postgres_url(admin: str, name: str) -> str:
    base = admin.rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    """The hand-made store on each database, with its evaluation, findings and runs."""
    folder = tmp_path_factory.mktemp("review")
    admin: str | None = None
    name = f"tallyclerk_review_{uuid.uuid4().hex[:12]}"
    if request.param == "duckdb":
        url = f"duckdb:///{folder / 'store.duckdb'}"
    else:
        admin = request.getfixturevalue("postgres_admin")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = _postgres_url(admin, name)
    store = tiny_store(
        folder, contracts=[ACME, BRAVO], url=url, brand_timezone=BRAND_TIMEZONE, **_records()
    )
    settings: Settings = store.settings  # type: ignore[attr-defined]
    try:
        with store.begin() as connection:
            _add_findings(connection)
            dispute_ids = _add_disputes(connection, settings)
            action_ids = _add_actions(connection)
            save_run(connection, _forecast(date(2026, 3, 15), 60, ("acme",)))
            # Made after WEEK (so not acme's there), two weeks ahead only.
            save_run(connection, _forecast(date(2026, 4, 30), 14, ("acme", "bravo")))
        evaluate(store, date(2026, 3, 1), as_of=WEEK_END, settings=settings)
        yield Built(store, settings, dispute_ids, action_ids)
    finally:
        store.close()
        if admin is not None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the clock --------------------------------------------------------------------------------


def test_the_review_reads_the_week_at_its_end_in_the_brands_zone(built: Built) -> None:
    review = built.review("brand")
    assert review.as_of == WEEK_END
    assert review.generated_at == NOW
    assert review.provider_name == "Acme fulfilment agreement"
    assert review.currency == "USD"
    assert review.audience == "brand"
    assert review.redacted == []
    bravo = built.review("bravo")  # generated mid-week: the clock is never later than now
    assert bravo.as_of == MIDWEEK
    assert bravo.generated_at == MIDWEEK
    assert any("before 2026-W20 ended" in note for note in bravo.notes)


# -- KPIs ---------------------------------------------------------------------------------------


def test_kpis_are_the_contracted_metrics_with_twelve_weeks_of_trend(built: Built) -> None:
    review = built.review("brand")
    assert [k.metric for k in review.kpis] == [
        "ship_on_time_rate",
        "inventory_accuracy_rate",
        "dispute_response_on_time_rate",
    ]
    ship = review.kpis[0]
    assert [p.week for p in ship.trend] == [WEEK.shifted(-i).name for i in range(11, -1, -1)]
    assert ship.trend[0].week == "2025-W52"
    by_week = {p.week: p for p in ship.trend}
    # By hand: o0 late (W09), o1 and o2 on time (W10), o6 of o3..o6 late (W11).
    assert (by_week["2026-W09"].numerator, by_week["2026-W09"].denominator) == (0, 1)
    assert (by_week["2026-W10"].numerator, by_week["2026-W10"].denominator) == (2, 2)
    assert (ship.numerator, ship.denominator, ship.value) == (3, 4, 0.75)
    assert by_week["2026-W08"].value is None
    assert by_week["2026-W08"].denominator == 0
    # Targets: none before the contract (W01 starts on 2025-12-29), the peak's in W10.
    assert by_week["2025-W52"].target is None
    assert by_week["2026-W01"].target is None
    assert by_week["2026-W02"].target == 0.95
    assert by_week["2026-W10"].target == 0.90
    assert ship.target == 0.95
    assert ship.met is False
    assert ship.state == "breached"
    assert ship.unit == "rate"
    assert ship.lower_is_better is False
    # Inventory accuracy at the week's last count (03-14): C is 3 short, D matches.
    stock = review.kpis[1]
    assert (stock.numerator, stock.denominator, stock.value, stock.met) == (1, 2, 0.5, False)
    assert {p.week: p.denominator for p in stock.trend}["2026-W09"] == 0  # the baseline


def test_kpis_agree_with_the_catalogue_at_week_grain(built: Built) -> None:
    review = built.review("brand")
    first, last = WEEK.shifted(-11).start, WEEK.start
    with open_context(built.store, as_of=review.as_of, settings=built.settings) as ctx:
        expected = {
            (r.metric, r.period): (r.numerator, r.denominator, r.value)
            for r in compute(
                ctx,
                ["ship_on_time_rate", "dispute_response_on_time_rate"],
                grain="week",
                start=first,
                end=last,
            )
            if r.provider_id == "acme"
        }
        # Inventory accuracy judged at each week's last count: the catalogue's items at week
        # grain (the registered metric judges the month's last count, the SLA period).
        weekly = replace(
            get_metric("inventory_accuracy_rate"),
            items=lambda c: inventory_accuracy_items(c, "week"),
        )
        weekly_stock = aggregate(ctx, weekly, grain="week", start=first, end=last).to_pyarrow()
    for row in weekly_stock.to_pylist():
        if row["provider_id"] == "acme":
            n, d = int(row["numerator"]), int(row["denominator"])
            expected[("inventory_accuracy_rate", row["period"])] = (n, d, n / d)
    seen = 0
    for line in review.kpis:
        for point in line.trend:
            figure = expected.get((line.metric, point.start), (0, 0, None))
            assert (point.numerator, point.denominator, point.value) == figure, (line.metric, point)
            seen += point.denominator
    assert seen >= 7  # the orders and counts above are in there
    assert any(key[0] == "dispute_response_on_time_rate" for key in expected)


# -- the month's recorded evaluation ------------------------------------------------------------


def test_breaches_credits_and_burn_are_the_recorded_evaluation(built: Built) -> None:
    review = built.review("brand")
    with built.store.connect() as connection:
        (card,) = scorecards(connection, providers=["acme"], period=date(2026, 3, 1))
        lines = credit_lines(connection, provider_id="acme", period=date(2026, 3, 1))
    assert [(b.metric, b.segment, b.value, b.threshold) for b in review.breaches] == [
        (m.metric, m.segment, m.value, m.threshold) for m in card.breached
    ]
    ship = [b for b in review.breaches if b.metric == "ship_on_time_rate"]
    assert [(b.period, b.segment, b.value, b.threshold) for b in ship] == [
        ("2026-03", "base", 0.75, 0.95)
    ]
    assert review.credits is not None
    assert review.credits.period == "2026-03"
    assert review.credits.amount == card.credits > 0  # the tier of ship_on_time_rate
    assert review.credits.currency == "USD"
    assert review.credits.booked == Decimal(0)
    assert review.credits.lines == lines
    # The month was open on the evaluation clock: burn states were recorded.
    assert {b.metric for b in review.burn} == {m.metric for m in card.metrics if m.burn}
    assert review.burn
    assert all(b.period == "2026-03" for b in review.burn)


# -- disputes -----------------------------------------------------------------------------------


def test_disputes_open_at_the_clock_with_overdue_answers(built: Built) -> None:
    review = built.review("brand")
    ids = built.disputes
    by_id = {d.dispute_id: d for d in review.disputes}
    assert set(by_id) == {
        ids["unanswered"],
        ids["not_due_yet"],
        ids["accepted"],
        ids["answered_late"],
    }
    assert by_id[ids["unanswered"]].overdue is True
    assert by_id[ids["unanswered"]].amount == Decimal("40.00")
    assert by_id[ids["unanswered"]].status == "open"
    assert by_id[ids["not_due_yet"]].overdue is False
    # Due by the end of Tuesday 03-17 in Chicago (two business days after Friday 03-13).
    end_of_tuesday = datetime(2026, 3, 18, 5, 0, tzinfo=UTC) - timedelta(microseconds=1)
    assert by_id[ids["not_due_yet"]].response_due_at == end_of_tuesday
    assert (by_id[ids["accepted"]].status, by_id[ids["accepted"]].overdue) == ("accepted", False)
    # Answered on 03-20, after the clock: still open and overdue when the week ended.
    late = by_id[ids["answered_late"]]
    assert (late.status, late.overdue) == ("open", True)


# -- findings -----------------------------------------------------------------------------------


def test_findings_opened_resolved_and_open_per_kind(built: Built) -> None:
    review = built.review("brand")
    handoff = [(f.domain, f.kind, f.opened, f.resolved, f.open_at_end) for f in review.findings]
    assert handoff == [
        # F1 opened; F2 resolved; F1, F3 (acknowledged), F5 (before Monday in Chicago) open.
        ("handoff", "not_shipped", 1, 1, 3),
        ("handoff", "no_first_scan", 1, 1, 0),  # F6
        ("inventory", "inventory_variance", 1, 0, 1),  # F7
    ]
    not_shipped = review.findings[0]
    assert not_shipped.title == "Released, not shipped"
    assert not_shipped.examples == ["F1: o3 waits", "F5: o2 waits", "F2: o1"]
    assert not_shipped.amount_open is None
    variance = review.findings[2]
    assert variance.amount_open == Decimal("7.50")
    assert variance.currency == "USD"
    assert variance.examples == [f"F7: {VARIANCE_REASON}"]
    (invoice,) = review.invoice_findings
    assert (invoice.kind, invoice.opened, invoice.resolved, invoice.open_at_end) == (
        "wrong_rate",
        1,
        0,
        1,
    )
    assert invoice.amount_open == Decimal("12.00")


# -- inventory ----------------------------------------------------------------------------------


def test_inventory_is_the_latest_count_of_the_week_against_the_book(built: Built) -> None:
    stock = built.review("brand").inventory
    assert stock is not None
    assert stock.counted_on == date(2026, 3, 14)
    assert (stock.skus_counted, stock.skus_off, stock.units_off) == (2, 1, 3)
    assert stock.value_off == Decimal("7.50")
    assert stock.currency == "USD"
    assert stock.accuracy == 0.5
    assert stock.top == [
        {
            "facility_id": "LAX1",
            "sku": "C",
            "book": 10,
            "counted": 7,
            "difference": -3,
            "value": Decimal("-7.5"),
        }
    ]


# -- the provider's copy --------------------------------------------------------------------------


def test_the_providers_copy_leaves_out_the_brands_costs(built: Built) -> None:
    brand = built.review("brand")
    copy = built.review("provider")
    assert copy.audience == "provider"
    assert copy.redacted
    assert any("inventory" in item for item in copy.redacted)
    assert copy.inventory is not None
    assert copy.inventory.value_off is None
    assert all("value" not in item for item in copy.inventory.top)
    assert copy.inventory.units_off == brand.inventory.units_off == 3  # type: ignore[union-attr]
    variance = next(f for f in copy.findings if f.kind == "inventory_variance")
    assert variance.amount_open is None
    assert variance.examples == [
        "F7: LAX1 counts 7 of C against a book of 10: 3 units short, beyond the tolerance of 0"
    ]
    shown = copy.as_dict()
    assert "7.5" not in str(shown["findings"]) + str(shown["inventory"])
    # The provider's own figures stay: its invoice, its disputes, its credits, its KPIs.
    assert copy.invoice_findings[0].amount_open == Decimal("12.00")
    assert [d.amount for d in copy.disputes] == [d.amount for d in brand.disputes]
    assert copy.credits == brand.credits
    assert copy.kpis == brand.kpis


# -- experience, forecast, actions ------------------------------------------------------------


def test_experience_forecast_and_actions(built: Built) -> None:
    review = built.review("brand")
    names = [line.name for line in review.experience]
    assert names[:4] == [
        "perfect_order_rate",
        "on_time_delivery_rate",
        "damage_rate",
        "mis_ship_rate",
    ]
    figures = {line.name: (line.numerator, line.denominator) for line in review.experience}
    # By hand: o3..o6 shipped complete without a picking error; o3, o4, o5 delivered, o4 a day
    # after its promise and reported damaged; fb1 (5) and fb2 (2) answered in the week; o3
    # failed one audit check, o5 passed.
    assert figures["mis_ship_rate"] == (0, 4)
    assert figures["on_time_delivery_rate"] == (2, 3)
    assert figures["damage_rate"] == (1, 3)
    assert figures["feedback_score"] == (7, 2)
    assert figures["audit_pass_rate"] == (1, 2)
    values = {line.name: line.value for line in review.experience}
    assert values["feedback_score"] == 3.5
    assert values["audit_pass_rate"] == 0.5
    # The same figures as the experience report of the week.
    with open_context(built.store, as_of=review.as_of, settings=built.settings) as ctx:
        report = experience_report(ctx, WEEK.start, WEEK.end, ["acme"])
    (acme,) = report.providers
    assert figures == {
        "perfect_order_rate": (
            acme.perfect_order.rate.numerator,
            acme.perfect_order.rate.denominator,
        ),
        "on_time_delivery_rate": (acme.delivery.rate.numerator, acme.delivery.rate.denominator),
        "damage_rate": (acme.damage.damaged.count, acme.damage.damaged.base),
        "mis_ship_rate": (acme.misship.misshipped.count, acme.misship.misshipped.base),
        "feedback_score": (acme.feedback.score_sum, acme.feedback.scored),
        "audit_pass_rate": (acme.audits.orders_passed, acme.audits.orders_audited),
    }
    assert figures["perfect_order_rate"][1] > 0
    assert review.forecast_as_of == date(2026, 3, 15)  # the run made before the clock
    assert [w.week for w in review.forecast] == [WEEK.shifted(i).name for i in range(1, 7)]
    calendar = BusinessCalendar("US", "CA")
    for line in review.forecast:
        assert (line.p50, line.p90) == (700.0, 1050.0)
        open_days = calendar.business_days(line.start, line.start + timedelta(days=6))
        assert line.capacity == 120 * len(open_days)
    first, second = review.forecast[:2]
    # W12: every weekday's P90 (150) is 30 over 120. W13: Monday also carries the weekend.
    assert (first.days_over, first.gap) == (5, 150.0)
    assert (second.days_over, second.gap) == (5, 330.0 + 4 * 30.0)
    ids = built.actions
    assert [a.action_id for a in review.actions] == [ids["overdue"], ids["done_in_week"]]
    assert review.actions[0].overdue(WEEK.end)


# -- what is missing ------------------------------------------------------------------------------


def test_a_week_without_data_still_builds_and_says_what_is_missing(built: Built) -> None:
    review = built.review("bravo")
    assert review.credits is None
    assert review.breaches == []
    assert review.burn == []  # bravo's last burn watch is of March
    assert [k.metric for k in review.kpis] == ["ship_on_time_rate"]
    assert all(k.value is None and k.met is None for k in review.kpis)
    assert review.inventory is None
    assert review.disputes == []
    assert review.invoice_findings == []
    # What was still open carries over: F10, opened in March.
    assert [(f.kind, f.opened, f.resolved, f.open_at_end) for f in review.findings] == [
        ("not_shipped", 0, 0, 1)
    ]
    assert [a.action_id for a in review.actions] == [built.actions["bravo"]]
    # The run kept before the clock (history to 04-30) forecasts two weeks only.
    assert review.forecast == []
    assert review.forecast_as_of == date(2026, 4, 30)
    text = "\n".join(review.notes)
    for expected in (
        "no evaluation recorded for 2026-05: run tallyclerk evaluate --period 2026-05",
        "no contracted KPI of bravo has data in 2026-W20",
        "no invoice-audit findings were ever recorded for bravo: run tallyclerk billing audit",
        "no inventory count from bravo on or before 2026-05-13",
        "no customer-experience data for bravo in 2026-W20",
        "does not cover 2026-W21..2026-W26: run tallyclerk forecast",
    ):
        assert expected in text


def test_disputes_read_at_a_later_clock(built: Built) -> None:
    ids = built.disputes
    with built.store.connect() as connection:
        lines = dispute_lines(connection, "acme", datetime(2026, 5, 18, tzinfo=UTC))
    statuses = {d.dispute_id: (d.status, d.overdue) for d in lines}
    assert statuses == {
        ids["unanswered"]: ("open", True),
        ids["not_due_yet"]: ("open", True),
        ids["accepted"]: ("accepted", False),
        ids["answered_late"]: ("rejected", False),
        ids["opened_later"]: ("open", True),
    }


def test_unknown_provider_and_audience_are_refused(built: Built) -> None:
    with pytest.raises(InputError, match=r"unknown provider 'zulu'; the store knows: acme, bravo"):
        build_review(built.store, built.settings, "zulu", WEEK, now=NOW)
    with pytest.raises(InputError, match="audience"):
        build_review(built.store, built.settings, "acme", WEEK, audience="3pl", now=NOW)  # type: ignore[arg-type]


def test_the_review_is_plain_json(built: Built, tmp_path: Path) -> None:
    import json

    data = built.review("provider").as_dict()
    text = json.dumps(data)
    assert json.loads(text)["week"] == "2026-W11"
    assert data["inventory"]["value_off"] is None
