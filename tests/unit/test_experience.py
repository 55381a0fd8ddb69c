"""The customer-experience report on a hand-made store, checked against hand counts.

Westcoast (LAX1, America/Los_Angeles) and Eastbridge (EWR1, America/New_York); the brand's
clock is UTC. Every order is released Mon 2026-03-02 morning (due by the end of that day)
and promised for Thu 2026-03-05.

Westcoast, March (promised date):

    order               on time  complete  picking error        damaged
    w1_perfect          yes      yes       -                    -
    w2_late_carrier     no       yes       -                    -         shipped on time
    w3_late_3pl_damaged no       yes       -                    return    shipped late
    w4_short            yes      no        -                    -
    w5_wrong_line       yes      yes       shipped B for A      -
    w6_damaged_twice    yes      yes       -                    return + feedback
    w7_wrong_twice      yes      yes       return + feedback    -
    w8_packaging        yes      yes       -                    -         (feedback: packaging)

Eastbridge: e1_perfect, e2_late_carrier.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest

from tallyclerk.errors import InputError
from tallyclerk.experience import TOTAL, Breakdown, ExperienceReport, experience_report
from tallyclerk.metrics import open_context
from tallyclerk.store import Store
from tests.support import EASTBRIDGE, WESTCOAST, figures, tiny_store

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
PROMISED = "2026-03-05"
ON_TIME_DELIVERY = "2026-03-04T12:00:00+00:00"
LATE_DELIVERY = "2026-03-06T12:00:00+00:00"

SITES = {
    "westcoast": ("LAX1", "-08:00"),
    "eastbridge": ("EWR1", "-05:00"),
}

# order -> provider, ordered lines, shipped lines, shipped late?, delivered at
ORDERS: dict[str, tuple[str, Mapping[str, int], Mapping[str, int], bool, str]] = {
    "w1_perfect": ("westcoast", {"A": 1}, {"A": 1}, False, ON_TIME_DELIVERY),
    "w2_late_carrier": ("westcoast", {"A": 1}, {"A": 1}, False, LATE_DELIVERY),
    "w3_late_3pl_damaged": ("westcoast", {"A": 1}, {"A": 1}, True, LATE_DELIVERY),
    "w4_short": ("westcoast", {"A": 2}, {"A": 1}, False, ON_TIME_DELIVERY),
    "w5_wrong_line": ("westcoast", {"A": 1}, {"B": 1}, False, ON_TIME_DELIVERY),
    "w6_damaged_twice": ("westcoast", {"A": 1}, {"A": 1}, False, ON_TIME_DELIVERY),
    "w7_wrong_twice": ("westcoast", {"A": 1}, {"A": 1}, False, ON_TIME_DELIVERY),
    "w8_packaging": ("westcoast", {"A": 1}, {"A": 1}, False, ON_TIME_DELIVERY),
    "e1_perfect": ("eastbridge", {"A": 1}, {"A": 1}, False, ON_TIME_DELIVERY),
    "e2_late_carrier": ("eastbridge", {"A": 1}, {"A": 1}, False, LATE_DELIVERY),
}

RETURNS = [
    ("r3", "w3_late_3pl_damaged", "damaged"),
    ("r6", "w6_damaged_twice", "damaged"),
    ("r7", "w7_wrong_twice", "wrong_item"),
]

# feedback id -> order, received (UTC), score, tags
FEEDBACK: dict[str, tuple[str | None, str, int | None, str | None]] = {
    "f1": ("w1_perfect", "2026-03-06T10:00:00+00:00", 5, None),
    "f3": ("w3_late_3pl_damaged", "2026-03-07T10:00:00+00:00", 1, "late"),
    "f6": ("w6_damaged_twice", "2026-03-07T10:00:00+00:00", 2, "damaged"),
    "f7": ("w7_wrong_twice", "2026-03-07T10:00:00+00:00", 3, "wrong_item;missing_item"),
    "f8": ("w8_packaging", "2026-03-08T10:00:00+00:00", 2, "packaging"),
    "f8b": ("w8_packaging", "2026-03-09T10:00:00+00:00", None, None),  # no score
    "fe1": ("e1_perfect", "2026-03-06T10:00:00+00:00", 4, None),
    "f0": (None, "2026-03-06T10:00:00+00:00", 4, None),  # no order: brand total only
    "f_april": ("w1_perfect", "2026-04-02T10:00:00+00:00", 1, "late"),  # not in March
}

# audit id -> provider, order, audited at, {checklist item: passed}
AUDITS: dict[str, tuple[str, str, str, dict[str, bool]]] = {
    "a1": ("westcoast", "w1_perfect", "2026-03-02T10:00:00-08:00", {"box": True, "fill": True}),
    "a2": ("westcoast", "w5_wrong_line", "2026-03-02T11:00:00-08:00", {"box": False, "fill": True}),
    # 03-31 20:00 in Los Angeles is 04-01 in UTC: March by the facility's date.
    "a3": ("westcoast", "w8_packaging", "2026-03-31T20:00:00-07:00", {"box": True, "fill": False}),
    "a4": ("westcoast", "w2_late_carrier", "2026-04-01T10:00:00-07:00", {"box": False}),  # April
    "ae1": ("eastbridge", "e1_perfect", "2026-03-02T10:00:00-05:00", {"box": True}),
}


def records() -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "orders",
            "order_lines",
            "releases",
            "shipments",
            "shipment_lines",
            "tracking_events",
        )
    }
    for order_id, (provider, ordered, shipped, late, delivered_at) in ORDERS.items():
        facility, offset = SITES[provider]
        rows["orders"].append(
            {
                "order_id": order_id,
                "placed_at": f"2026-03-02T08:00:00{offset}",
                "promised_delivery_date": PROMISED,
                "currency": "USD",
            }
        )
        rows["order_lines"] += [
            {"order_id": order_id, "line_no": i, "sku": sku, "qty": qty}
            for i, (sku, qty) in enumerate(ordered.items(), 1)
        ]
        rows["releases"].append(
            {
                "order_id": order_id,
                "provider_id": provider,
                "facility_id": facility,
                "released_at": f"2026-03-02T09:00:00{offset}",
            }
        )
        shipped_day = "2026-03-03" if late else "2026-03-02"
        rows["shipments"].append(
            {
                "shipment_id": f"s-{order_id}",
                "order_id": order_id,
                "provider_id": provider,
                "facility_id": facility,
                "shipped_at": f"{shipped_day}T11:00:00{offset}",
                "carrier": "UPS",
                "tracking_number": f"T-{order_id}",
            }
        )
        rows["shipment_lines"] += [
            {"shipment_id": f"s-{order_id}", "sku": sku, "qty": qty} for sku, qty in shipped.items()
        ]
        rows["tracking_events"] += [
            {
                "tracking_number": f"T-{order_id}",
                "carrier": "UPS",
                "status": "delivered",
                "occurred_at": delivered_at,
            }
        ]
    rows["returns"] = [
        {
            "return_id": return_id,
            "order_id": order_id,
            "provider_id": "westcoast",
            "facility_id": "LAX1",
            "sku": "A",
            "qty": 1,
            "reason": reason,
            "received_at": "2026-03-10T10:00:00-07:00",
        }
        for return_id, order_id, reason in RETURNS
    ]
    rows["feedback"] = [
        {"feedback_id": f, "order_id": o, "received_at": at, "score": score, "tags": tags}
        for f, (o, at, score, tags) in FEEDBACK.items()
    ]
    rows["audits"] = [
        {
            "audit_id": audit_id,
            "provider_id": provider,
            "facility_id": SITES[provider][0],
            "order_id": order_id,
            "audited_at": at,
            "checklist_item": item,
            "passed": passed,
        }
        for audit_id, (provider, order_id, at, checks) in AUDITS.items()
        for item, passed in checks.items()
    ]
    return rows


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """The hand-made store, once on DuckDB and once on PostgreSQL (a database of its own)."""
    folder = tmp_path_factory.mktemp(f"experience-{request.param}")
    if request.param == "duckdb":
        opened = tiny_store(folder, contracts=(WESTCOAST, EASTBRIDGE), **records())
        try:
            yield opened
        finally:
            opened.close()
        return
    admin = str(request.getfixturevalue("postgres_admin"))
    name = f"tallyclerk_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{admin.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        opened = tiny_store(folder, url=url, contracts=(WESTCOAST, EASTBRIDGE), **records())
        try:
            yield opened
        finally:
            opened.close()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(store: Store, period: tuple[date, date] = MARCH, **options: Any) -> ExperienceReport:
    settings = getattr(store, "settings", None)
    with open_context(store, as_of=AS_OF, settings=settings) as ctx:
        return experience_report(ctx, *period, **options)


@pytest.fixture(scope="module")
def report(store: Store) -> ExperienceReport:
    return run(store)


def by_provider(report: ExperienceReport) -> dict[str, Any]:
    return {p.provider_id: p for p in (*report.providers, report.total)}


def counted(b: Breakdown) -> tuple[str, int, int, tuple[str, ...]]:
    return (b.key, b.count, b.base, b.orders.ids)


def test_providers_and_total(report: ExperienceReport) -> None:
    assert [p.provider_id for p in report.providers] == ["eastbridge", "westcoast"]
    assert report.total.provider_id == TOTAL
    assert report.period_start == date(2026, 3, 1)


def test_perfect_order_failure_reasons(report: ExperienceReport) -> None:
    west = by_provider(report)["westcoast"].perfect_order
    assert (west.rate.metric, west.rate.numerator, west.rate.denominator) == (
        "perfect_order_rate",
        2,
        8,
    )
    assert west.failed.count == 6
    # w3 fails twice: late and damaged, and is counted under both.
    assert [counted(b) for b in west.reasons] == [
        ("late_delivery", 2, 8, ("w2_late_carrier", "w3_late_3pl_damaged")),
        ("not_complete", 1, 8, ("w4_short",)),
        ("picking_error", 2, 8, ("w5_wrong_line", "w7_wrong_twice")),
        ("damaged", 2, 8, ("w3_late_3pl_damaged", "w6_damaged_twice")),
    ]
    assert west.reasons[0].share == pytest.approx(0.25)
    total = report.total.perfect_order
    assert (total.rate.numerator, total.rate.denominator) == (3, 10)
    assert [(b.key, b.count) for b in total.reasons] == [
        ("late_delivery", 3),
        ("not_complete", 1),
        ("picking_error", 2),
        ("damaged", 2),
    ]
    assert total.reasons[0].orders.ids == (
        "e2_late_carrier",
        "w2_late_carrier",
        "w3_late_3pl_damaged",
    )


def test_late_deliveries_split_3pl_vs_carrier(report: ExperienceReport) -> None:
    west = by_provider(report)["westcoast"].delivery
    assert (west.rate.numerator, west.rate.denominator) == (6, 8)
    assert counted(west.late) == ("late", 2, 8, ("w2_late_carrier", "w3_late_3pl_damaged"))
    assert [counted(b) for b in west.causes] == [
        ("late_3pl", 1, 8, ("w3_late_3pl_damaged",)),
        ("late_carrier", 1, 8, ("w2_late_carrier",)),
    ]
    east = by_provider(report)["eastbridge"].delivery
    assert [(b.key, b.count) for b in east.causes] == [("late_3pl", 0), ("late_carrier", 1)]
    total = report.total.delivery
    assert (total.late.count, total.causes[0].count, total.causes[1].count) == (3, 1, 2)


def test_damage_from_returns_and_feedback_counted_once(report: ExperienceReport) -> None:
    damage = by_provider(report)["westcoast"].damage
    assert (damage.rate.metric, damage.rate.numerator, damage.rate.denominator) == (
        "damage_free_rate",
        6,
        8,
    )
    assert counted(damage.damaged) == (
        "damaged",
        2,
        8,
        ("w3_late_3pl_damaged", "w6_damaged_twice"),
    )
    assert damage.damage_rate == pytest.approx(0.25)
    assert [counted(b) for b in damage.routes] == [
        ("by_return", 2, 8, ("w3_late_3pl_damaged", "w6_damaged_twice")),
        ("by_feedback", 1, 8, ("w6_damaged_twice",)),
    ]


def test_misship_from_lines_returns_and_feedback_counted_once(report: ExperienceReport) -> None:
    misship = by_provider(report)["westcoast"].misship
    # Shipped complete: every order but the short-shipped one.
    assert (misship.rate.metric, misship.rate.numerator, misship.rate.denominator) == (
        "order_accuracy_rate",
        5,
        7,
    )
    assert counted(misship.misshipped) == (
        "misshipped",
        2,
        7,
        ("w5_wrong_line", "w7_wrong_twice"),
    )
    assert misship.misship_rate == pytest.approx(2 / 7)
    assert [counted(b) for b in misship.routes] == [
        ("by_lines", 1, 7, ("w5_wrong_line",)),
        ("by_return", 1, 7, ("w7_wrong_twice",)),
        ("by_feedback", 1, 7, ("w7_wrong_twice",)),
    ]
    assert by_provider(report)["eastbridge"].misship.misshipped.count == 0


def test_feedback_scores_and_tags(report: ExperienceReport) -> None:
    west = by_provider(report)["westcoast"].feedback
    assert (west.responses, west.scored, west.score_sum) == (6, 5, 13)
    assert west.mean_score == pytest.approx(2.6)
    assert west.distribution == ((1, 1), (2, 2), (3, 1), (5, 1))
    tags = {b.key: b for b in west.tags}
    assert {k: b.count for k, b in tags.items()} == {
        "late": 1,
        "damaged": 1,
        "wrong_item": 1,
        "missing_item": 1,
        "packaging": 1,
    }
    assert tags["packaging"].share == pytest.approx(1 / 6)
    assert tags["late"].orders.ids == ("w3_late_3pl_damaged",)  # the April one is not in
    assert tags["wrong_item"].records is not None
    assert tags["wrong_item"].records.ids == ("f7",)
    total = report.total.feedback
    # The brand total also holds the feedback no provider can be found for.
    assert (total.responses, total.scored, total.score_sum) == (8, 7, 21)
    assert total.mean_score == pytest.approx(3.0)
    assert total.distribution == ((1, 1), (2, 2), (3, 1), (4, 2), (5, 1))


def test_audit_pass_rates_by_checklist_item(report: ExperienceReport) -> None:
    west = by_provider(report)["westcoast"].audits
    items = {i.checklist_item: i for i in west.items}
    assert sorted(items) == ["box", "fill"]
    box, fill = items["box"], items["fill"]
    # a3 at 20:00 on 03-31 in Los Angeles is in March; a4 (April) is not.
    assert (box.checks, box.passed, box.failed_audits.ids, box.failed_orders.ids) == (
        3,
        2,
        ("a2",),
        ("w5_wrong_line",),
    )
    assert (fill.checks, fill.passed, fill.failed_audits.ids) == (3, 2, ("a3",))
    assert box.pass_rate == pytest.approx(2 / 3)
    assert (west.orders_audited, west.orders_passed) == (3, 1)
    total = report.total.audits
    assert {i.checklist_item: (i.checks, i.passed) for i in total.items} == {
        "box": (4, 3),
        "fill": (3, 2),
    }
    assert (total.orders_audited, total.orders_passed) == (4, 2)


@pytest.mark.parametrize(
    "metric",
    ["perfect_order_rate", "delivery_on_time_rate", "damage_free_rate", "order_accuracy_rate"],
)
def test_kpi_figures_equal_the_catalogue(
    store: Store, report: ExperienceReport, metric: str
) -> None:
    kpi = {
        (f.provider_id, f.period): (f.numerator, f.denominator)
        for f in figures(store, metric, AS_OF)
    }
    shown = {
        "perfect_order_rate": lambda p: p.perfect_order.rate,
        "delivery_on_time_rate": lambda p: p.delivery.rate,
        "damage_free_rate": lambda p: p.damage.rate,
        "order_accuracy_rate": lambda p: p.misship.rate,
    }[metric]
    for p in report.providers:
        rate = shown(p)
        assert rate.metric == metric
        assert (rate.numerator, rate.denominator) == kpi[(p.provider_id, date(2026, 3, 1))]
    # The breakdown's headline count is the KPI's complement.
    west = by_provider(report)["westcoast"]
    assert west.perfect_order.failed.count == (
        west.perfect_order.rate.denominator - west.perfect_order.rate.numerator
    )
    assert west.damage.damaged.count == west.damage.rate.denominator - west.damage.rate.numerator


def test_provider_filter_and_id_cap(store: Store) -> None:
    report = run(store, providers=["westcoast"], id_limit=1)
    assert [p.provider_id for p in report.providers] == ["westcoast"]
    late = report.providers[0].perfect_order.reasons[0]
    assert late.count == 2
    assert late.orders.total == 2
    assert late.orders.ids == ("w2_late_carrier",)
    assert late.orders.truncated
    # The total is the providers asked for: no eastbridge, no feedback without a provider.
    assert report.total.perfect_order.rate.denominator == 8
    assert report.total.feedback.responses == 6


def test_an_empty_period_and_a_backwards_one(store: Store) -> None:
    report = run(store, (date(2025, 1, 1), date(2025, 1, 31)))
    assert report.providers == ()
    assert report.total.perfect_order.rate.value is None
    assert report.total.feedback.mean_score is None
    with pytest.raises(InputError):
        run(store, (date(2026, 3, 31), date(2026, 3, 1)))


def test_a_range_of_months(store: Store) -> None:
    report = run(store, (date(2026, 3, 1), date(2026, 4, 30)))
    west = by_provider(report)["westcoast"]
    assert west.feedback.responses == 7  # f_april joins
    assert {i.checklist_item: i.checks for i in west.audits.items} == {"box": 4, "fill": 3}
    assert west.perfect_order.rate.denominator == 8
