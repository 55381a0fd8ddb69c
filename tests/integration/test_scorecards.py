"""Recorded scorecards read back: standings, segments, burn, credits, trend, ledger."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from tallyclerk.metrics import CATALOGUE_ORDER
from tallyclerk.sla import (
    BurnState,
    MetricStanding,
    Scorecard,
    credit_lines,
    evaluate,
    latest_burn,
    metric_trend,
    periods_evaluated,
    record_credit,
    scorecards,
)
from tallyclerk.store import Store
from tallyclerk.store.schema import sla_burn
from tests.support import tiny_store

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
  dock_to_stock_on_time_rate: {target: 0.95, within_business_days: 2}
peak: [{from: 2026-03-16, to: 2026-03-31, metrics: {ship_on_time_rate: {target: 0.90}}}]
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

# Business days of March 2026 on which acme releases one order each, 09:00 or 10:00 local.
BASE_DAYS = (2, 3, 4, 5, 6, 9, 12, 13)  # before the peak window: target 0.95
PEAK_DAYS = (16, 17, 18, 19)  # in the peak window: target 0.90
CLOSED = datetime(2026, 4, 15, tzinfo=UTC)
OPEN = datetime(2026, 3, 21, tzinfo=UTC)


def _records(late: dict[int, int]) -> dict[str, list[dict[str, Any]]]:
    """One acme order per release day; `late` maps a March day to days shipped late."""
    kinds: dict[str, list[dict[str, Any]]] = {
        "orders": [],
        "releases": [],
        "shipments": [],
        "shipment_lines": [],
    }
    for day in (*BASE_DAYS, *PEAK_DAYS):
        order_id = f"m{day:02d}"
        released = datetime(2026, 3, day, 17, 0, tzinfo=UTC)
        kinds["orders"].append({"order_id": order_id, "placed_at": released, "currency": "USD"})
        kinds["releases"].append(
            {
                "order_id": order_id,
                "provider_id": "acme",
                "facility_id": "LAX1",
                "released_at": released,
            }
        )
        kinds["shipments"].append(
            {
                "shipment_id": f"s{day:02d}",
                "order_id": order_id,
                "provider_id": "acme",
                "facility_id": "LAX1",
                "shipped_at": released + timedelta(hours=1, days=late.get(day, 0)),
            }
        )
        kinds["shipment_lines"].append({"shipment_id": f"s{day:02d}", "sku": "A", "qty": 1})
    kinds["invoice_lines"] = [
        {
            "invoice_id": "INV-M",
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


def _store(tmp_path: Path, url: str, late: dict[int, int]) -> Store:
    return tiny_store(tmp_path, contracts=[ACME, BRAVO], url=url, **_records(late))


def _burn_rows(store: Store, run_id: int) -> int:
    with store.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count()).select_from(sla_burn).where(sla_burn.c.run_id == run_id)
            ).scalar_one()
        )


def test_a_closed_month_reads_back_as_recorded(tmp_path: Path, store_url: str) -> None:
    store = _store(tmp_path, store_url, late={3: 2})
    try:
        report = evaluate(store, date(2026, 3, 1), as_of=CLOSED)
        assert report.run_id is not None
        assert _burn_rows(store, report.run_id) == 0  # a closed month has no burn
        with store.connect() as connection:
            cards = scorecards(connection)
            lines = credit_lines(connection, provider_id="acme", period=date(2026, 3, 9))
            only_bravo = scorecards(connection, providers=["bravo"], period=date(2026, 3, 1))
    finally:
        store.close()
    assert [c.provider_id for c in cards] == ["acme", "bravo"]
    acme, bravo = cards
    assert (acme.period, acme.run_id, acme.as_of) == (date(2026, 3, 1), report.run_id, CLOSED)
    recorded = report.providers[0].evaluation.metrics
    assert [(m.metric, m.segment_from) for m in acme.metrics] == [
        (m.metric, m.segment.start) for m in recorded
    ]
    ranks = [CATALOGUE_ORDER.index(m.metric) for m in acme.metrics]
    assert ranks == sorted(ranks)
    # The peak window splits the month for every metric: base and peak segments each.
    base, peak, dock, dock_peak = acme.metrics
    # 7 of the 8 base orders on time against 0.95; all 4 peak orders against 0.90.
    assert (base.metric, base.segment, base.numerator, base.denominator) == (
        "ship_on_time_rate",
        "base",
        7,
        8,
    )
    assert base.value == pytest.approx(7 / 8)
    assert (base.state, base.threshold) == ("breached", 0.95)
    assert (peak.segment_from, peak.segment_to) == (date(2026, 3, 16), date(2026, 3, 31))
    assert peak.segment == "peak 03-16..03-31"
    assert (peak.state, peak.threshold, peak.value) == ("met", 0.90, 1.0)
    assert (dock.metric, dock.state, dock.value, dock.denominator) == (
        "dock_to_stock_on_time_rate",
        "no data",
        None,
        0,
    )
    assert (dock_peak.segment, dock_peak.state) == (peak.segment, "no data")
    assert all(m.burn is None for m in acme.metrics)
    assert acme.breached == [base]
    assert acme.light == "red"
    # 5% of the invoiced 1,000.00 for the breach, and one missed ship date at 5.00.
    assert acme.credits == Decimal("55.00") == report.providers[0].credits.total.amount
    assert acme.currency == "USD"
    assert acme.ledger_credits == 0
    assert [(line["kind"], line["amount"]) for line in lines] == [
        ("tier", Decimal("50.00")),
        ("incident", Decimal("5.00")),
    ]
    assert {line["currency"] for line in lines} == {"USD"}
    assert lines[1]["basis"] == "1 x 5.00 USD"
    # Bravo has a contract and no activity: no data is grey, not green, and owes nothing.
    assert bravo.light == "grey"
    assert [m.state for m in bravo.metrics] == ["no data"]
    assert (bravo.credits, bravo.currency) == (Decimal(0), None)
    assert only_bravo == [bravo]


def test_an_open_month_keeps_its_burn_on_the_running_segment(
    tmp_path: Path, store_url: str
) -> None:
    # The peak orders of 03-17..03-19 each ship a day late: the budget burns fast.
    store = _store(tmp_path, store_url, late={17: 1, 18: 1, 19: 1})
    try:
        report = evaluate(store, date(2026, 3, 1), providers=["acme"], as_of=OPEN)
        assert report.run_id is not None
        burns = report.providers[0].burn
        assert _burn_rows(store, report.run_id) == len(burns) == 2
        with store.connect() as connection:
            (card,) = scorecards(connection, period=date(2026, 3, 1))
    finally:
        store.close()
    computed = {b.metric: b for b in burns}
    base, peak, dock_base, dock = card.metrics
    # The burn judges the terms in force on 03-21, the peak's: it sits on the peak segments.
    assert base.burn is None
    assert dock_base.burn is None
    assert peak.burn is not None
    assert dock.burn is not None
    for standing in (peak, dock):
        assert standing.burn is not None
        burn = computed[standing.metric]
        assert standing.burn == BurnState(
            state=burn.state,
            burn_short=burn.burn_short,
            burn_long=burn.burn_long,
            projected=burn.projected,
            judged=burn.judged,
            bad=burn.bad,
            budget=burn.budget,
            reason=burn.reason,
        )
    assert peak.burn.state == "page"
    assert (peak.burn.judged, peak.burn.bad) == (computed["ship_on_time_rate"].judged, 3)
    assert dock.burn.state == "no data"
    assert card.light == "red"
    assert card.as_of == OPEN


def test_the_latest_run_wins_and_the_trend_runs_oldest_first(
    tmp_path: Path, store_url: str
) -> None:
    store = _store(tmp_path, store_url, late={3: 2})
    try:
        evaluate(store, date(2026, 2, 1), as_of=CLOSED)
        first = evaluate(store, date(2026, 3, 1), as_of=OPEN)
        second = evaluate(store, date(2026, 3, 1), as_of=CLOSED)
        evaluate(store, date(2026, 4, 1), as_of=datetime(2026, 5, 10, tzinfo=UTC))
        with store.begin() as connection:
            record_credit(
                connection,
                provider_id="acme",
                period=date(2026, 3, 1),
                amount=Decimal("30.00"),
                currency="USD",
                source="adjustment",
            )
        with store.connect() as connection:
            months = periods_evaluated(connection)
            acme_months = periods_evaluated(connection, providers=["acme"])
            nobody = periods_evaluated(connection, providers=["zulu"])
            latest = scorecards(connection, providers=["acme"])
            (march,) = scorecards(connection, providers=["acme"], period=date(2026, 3, 1))
            trend = metric_trend(
                connection, provider_id="acme", metric="ship_on_time_rate", months=2
            )
            year = metric_trend(connection, provider_id="acme")
            until_march = metric_trend(
                connection, provider_id="acme", until=date(2026, 3, 31), months=1
            )
    finally:
        store.close()
    assert months == acme_months == [date(2026, 4, 1), date(2026, 3, 1), date(2026, 2, 1)]
    assert nobody == []
    assert [c.period for c in latest] == [date(2026, 4, 1)]
    assert second.run_id is not None
    assert first.run_id is not None
    assert second.run_id > first.run_id
    assert (march.run_id, march.as_of) == (second.run_id, CLOSED)
    assert all(m.burn is None for m in march.metrics)  # the open run's burn is history
    assert march.ledger_credits == Decimal("30.00")
    assert [(m.period, m.segment) for m in trend] == [
        (date(2026, 3, 1), "base"),
        (date(2026, 3, 1), "peak 03-16..03-31"),
        (date(2026, 4, 1), "base"),
    ]
    assert [m.period for m in year] == sorted(m.period for m in year)
    assert {m.period for m in year} == {date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)}
    assert {m.metric for m in year} == {"ship_on_time_rate", "dock_to_stock_on_time_rate"}
    assert until_march == march.metrics


def _standing(met: bool | None, burn: str | None) -> MetricStanding:
    return MetricStanding(
        provider_id="acme",
        metric="ship_on_time_rate",
        period=date(2026, 3, 1),
        segment="base",
        segment_from=date(2026, 3, 1),
        segment_to=date(2026, 3, 31),
        value=None if met is None else (0.99 if met else 0.5),
        threshold=0.95,
        lower_is_better=False,
        met=met,
        numerator=0,
        denominator=0 if met is None else 10,
        excluded=0,
        burn=None if burn is None else BurnState(burn, None, None, None, 0, 0, 0.0, burn),
    )


@given(
    st.lists(
        st.tuples(
            st.sampled_from([True, False, None]),
            st.sampled_from([None, "ok", "warn", "page", "no data"]),
        ),
        max_size=6,
    )
)
def test_the_traffic_light(parts: list[tuple[bool | None, str | None]]) -> None:
    card = Scorecard(
        provider_id="acme",
        period=date(2026, 3, 1),
        run_id=1,
        evaluated_at=CLOSED,
        as_of=CLOSED,
        metrics=[_standing(met, burn) for met, burn in parts],
        credits=Decimal(0),
        currency=None,
        ledger_credits=Decimal(0),
    )
    states = {burn for _, burn in parts}
    if any(met is False for met, _ in parts) or "page" in states:
        assert card.light == "red"
    elif "warn" in states:
        assert card.light == "amber"
    elif any(met is not None for met, _ in parts) or states & {"ok"}:
        assert card.light == "green"
    else:
        assert card.light == "grey"
    assert [m.state for m in card.breached] == ["breached"] * sum(m is False for m, _ in parts)


def test_standings_serialize_as_strict_json() -> None:
    standing = _standing(False, "page")
    assert standing.burn is not None
    # A target of 1.0 leaves no budget: one bad item burns it infinitely fast.
    burning = replace(standing, burn=replace(standing.burn, burn_short=math.inf, burn_long=2.5))
    document = json.loads(json.dumps(burning.as_dict(), allow_nan=False))
    assert document["burn"]["burn_short"] is None
    assert document["burn"]["burn_long"] == 2.5
    assert document["burn"]["state"] == "page"
    assert (document["state"], document["period"], document["segment_to"]) == (
        "breached",
        "2026-03",
        "2026-03-31",
    )


def test_the_last_open_month_warnings_outlive_a_settled_rerun(
    tmp_path: Path, store_url: str
) -> None:
    store = _store(tmp_path, store_url, late={17: 1, 18: 1, 19: 1})
    try:
        evaluate(store, date(2026, 3, 1), providers=["acme"], as_of=OPEN)
        settled = datetime(2026, 4, 30, tzinfo=UTC)
        evaluate(store, date(2026, 3, 1), providers=["acme"], as_of=settled)
        with store.connect() as connection:
            (card,) = scorecards(connection, period=date(2026, 3, 1))
            watch = latest_burn(connection)
            none_for_bravo = latest_burn(connection, providers=["bravo"])
    finally:
        store.close()
    assert card.as_of == settled
    assert all(m.burn is None for m in card.metrics)  # the settled run has no burn
    assert {w.metric for w in watch} == {"ship_on_time_rate", "dock_to_stock_on_time_rate"}
    ship = next(w for w in watch if w.metric == "ship_on_time_rate")
    assert ship.as_of == OPEN
    assert ship.burn.state == "page"
    assert ship.as_dict()["state"] == "page"
    assert none_for_bravo == []
