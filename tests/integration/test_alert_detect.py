"""Alert detection: each rule kind's signals from hand-built store states, on DuckDB and
PostgreSQL, and `refresh` bringing findings and burn states up to the clock.

The hand-built states live together in one store per database (`world`), built once for the
module: every rule reads its own tables or finding kinds, and the tests only read. Tests that
write (a later burn evaluation, a refresh) get a store of their own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import sqlalchemy as sa

from tallyclerk.alerts import RULE_KINDS, AlertRules, Signal
from tallyclerk.alerts._detect import detect, refresh
from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.forecast import ForecastRun, SeriesForecast, SeriesKey, save_run
from tallyclerk.ingest import ingest_paths
from tallyclerk.settings import BrandSettings, Settings
from tallyclerk.simulate import simulate
from tallyclerk.sla import BurnRate, latest_burn
from tallyclerk.sla._repository import record_run
from tallyclerk.store import Store, open_store
from tallyclerk.store.schema import (
    CANONICAL_TABLES,
    disputes,
    findings,
    ingestion_batches,
    providers,
    sla_burn,
    sla_runs,
)
from tests.support import EASTBRIDGE, WESTCOAST

NOW = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)


def rules(*items: dict[str, Any]) -> AlertRules:
    """A rules file holding the given rules (one contact reached by email)."""
    return AlertRules.model_validate(
        {
            "contacts": {"ops": {"name": "Ops", "email": "ops@brand.example"}},
            "channels": {"email": {"sender": "alerts@brand.example"}},
            "escalation": {"chain": ["ops"]},
            "rules": list(items),
        }
    )


@dataclass(frozen=True)
class World:
    """A store with every hand-built state below, its settings and the kept forecast run."""

    store: Store
    settings: Settings
    forecast_run: int


def signals(
    where: World | tuple[Store, Settings], *items: dict[str, Any], now: datetime = NOW
) -> list[Signal]:
    store, settings = (where.store, where.settings) if isinstance(where, World) else where
    return detect(store, rules(*items), settings, now=now)


def causes(found: list[Signal]) -> list[str]:
    return [s.cause for s in found]


def by_cause(found: list[Signal]) -> dict[str, Signal]:
    return {s.cause: s for s in found}


def hours_ago(hours: float, now: datetime = NOW) -> datetime:
    return now - timedelta(hours=hours)


_fingerprints = iter(range(1, 10**6))


def add_finding(
    connection: sa.Connection,
    *,
    kind: str,
    subject_id: str,
    provider: str | None = "westcoast",
    domain: str = "handoff",
    subject_kind: str = "order",
    since: datetime | None = None,
    amount: str | None = None,
    status: str = "open",
    evidence: dict[str, Any] | None = None,
) -> None:
    connection.execute(
        findings.insert().values(
            fingerprint=f"{kind}|{provider}|{subject_id}|{next(_fingerprints)}",
            domain=domain,
            kind=kind,
            provider_id=provider,
            facility_id=None,
            subject_kind=subject_kind,
            subject_id=subject_id,
            since=since,
            reason=f"{kind} of {subject_id}",
            amount=None if amount is None else Decimal(amount),
            currency=None if amount is None else "USD",
            evidence=json.dumps(evidence) if evidence else None,
            status=status,
            first_detected_at=NOW - timedelta(days=5),
            last_detected_at=NOW - timedelta(days=1),
            last_as_of=NOW - timedelta(days=1),
        )
    )


# ------------------------------------------------------------------ stuck orders, no scan


def add_aged(c: sa.Connection) -> None:
    """Hand-off findings of known ages."""
    if c is not None:  # one indented block, like the other builders
        add_finding(c, kind="not_shipped", subject_id="ORD-W1", since=hours_ago(52))
        add_finding(
            c, kind="not_shipped", subject_id="ORD-W2", since=hours_ago(30), status="acknowledged"
        )
        add_finding(c, kind="not_shipped", subject_id="ORD-W3", since=hours_ago(23.5))
        add_finding(
            c, kind="not_shipped", subject_id="ORD-W4", since=hours_ago(100), status="resolved"
        )
        add_finding(
            c, kind="not_shipped", subject_id="ORD-E1", provider="eastbridge", since=hours_ago(25)
        )
        add_finding(
            c, kind="never_released", subject_id="ORD-N1", provider=None, since=hours_ago(48)
        )
        add_finding(c, kind="quantity_mismatch", subject_id="ORD-W9", since=hours_ago(200))
        for i in range(1, 8):  # eastbridge parcels 11 to 17 hours past their scan deadline
            add_finding(
                c,
                kind="no_first_scan",
                subject_id=f"SHP-E{i}",
                subject_kind="shipment",
                provider="eastbridge",
                since=hours_ago(10 + i),
            )


# -------------------------------------------------------------------- inventory, invoices


def add_priced(c: sa.Connection) -> None:
    """Inventory and invoice findings with known amounts."""
    inventory: dict[str, Any] = {
        "domain": "inventory",
        "subject_kind": "sku",
        "since": hours_ago(72),
    }
    if c is not None:
        add_finding(
            c, kind="inventory_variance", subject_id="LAX1|SKU-1", amount="800.00", **inventory
        )
        add_finding(
            c,
            kind="inventory_variance",
            subject_id="LAX1|SKU-2",
            amount="150.50",
            status="acknowledged",
            **inventory,
        )
        add_finding(c, kind="inventory_variance", subject_id="LAX1|SKU-4", **inventory)  # no cost
        add_finding(c, kind="inventory_drift", subject_id="LAX1|SKU-1", **inventory)
        add_finding(
            c,
            kind="inventory_variance",
            subject_id="LAX1|SKU-3",
            amount="999.00",
            status="resolved",
            **inventory,
        )
        add_finding(
            c,
            kind="inventory_variance",
            subject_id="EWR1|SKU-9",
            provider="eastbridge",
            amount="-40.00",
            **inventory,
        )
        line: dict[str, Any] = {
            "domain": "invoice",
            "subject_kind": "invoice_line",
            "since": hours_ago(200),
        }
        for subject, kind, amount, status in (
            ("INV-1#1", "duplicate_charge", "3.00", "open"),
            ("INV-1#4", "wrong_rate", "0.50", "acknowledged"),
            ("INV-1#7", "wrong_quantity", "-1.25", "open"),
            ("INV-1#9", "wrong_rate", "40.00", "resolved"),
            ("INV-2#2", "wrong_amount", "-5.00", "open"),
        ):
            add_finding(
                c,
                kind=kind,
                subject_id=subject,
                amount=amount,
                status=status,
                evidence={"invoice_id": subject.split("#")[0], "line_no": 1},
                **line,
            )
        add_finding(
            c,
            kind="unbilled_activity",
            subject_id="ORD-9",
            domain="invoice",
            amount="-3.00",
            since=hours_ago(100),
        )
        # An invoice id holding '#': the evidence names it; without evidence, the subject.
        add_finding(
            c,
            kind="duplicate_charge",
            subject_id="INV#A#3",
            provider="eastbridge",
            amount="10.00",
            evidence={"invoice_id": "INV#A"},
            **line,
        )
        add_finding(
            c, kind="wrong_rate", subject_id="EB-7#2", provider="eastbridge", amount="1.00", **line
        )


# ------------------------------------------------------------------------------- burn rate


def burn(
    provider: str,
    metric: str,
    state: str,
    *,
    period: date = date(2026, 3, 1),
    short: float | None = 1.5,
    long: float | None = 1.2,
    projected: float | None = 0.985,
    threshold: float = 0.99,
) -> BurnRate:
    return BurnRate(
        provider_id=provider,
        metric=metric,
        period=period,
        threshold=threshold,
        lower_is_better=False,
        judged=400,
        bad=5,
        expected=620.0,
        budget=6.2,
        burn_short=short,
        burn_long=long,
        projected=projected,
        state=state,
        reason="as recorded",
    )


def record_burn(store: Store, as_of: datetime, *rates: BurnRate) -> None:
    with store.begin() as c:
        record_run(
            c,
            period=rates[0].period,
            as_of=as_of,
            engine=store.dialect,
            evaluations=[],
            credits=[],
            burn=list(rates),
        )


def add_burns(store: Store) -> None:
    """Burn states recorded as the SLA evaluation records them."""
    # northpeak's last warning is of February, a month closed on the clock.
    record_burn(
        store,
        datetime(2026, 2, 27, tzinfo=UTC),
        burn("northpeak", "ship_on_time_rate", "page", period=date(2026, 2, 1)),
    )
    record_burn(
        store,
        hours_ago(6),
        burn("westcoast", "ship_on_time_rate", "warn"),
        burn("westcoast", "order_accuracy_rate", "ok", short=0.2, long=0.3, threshold=0.995),
    )
    record_burn(
        store,
        hours_ago(5),
        burn(
            "eastbridge",
            "dispute_response_on_time_rate",
            "page",
            short=float("inf"),
            long=float("inf"),
            projected=0.9,
            threshold=1.0,
        ),
        burn("eastbridge", "ship_on_time_rate", "no data", short=None, long=None, projected=None),
    )


# ------------------------------------------------------------------------- capacity risk


def add_contracts(store: Store, *paths: Path) -> None:
    with store.begin() as c:
        for path in paths:
            add_contract(c, load_contract(path), path.read_text(encoding="utf-8"), path.name)


def forecast_run(start: date, p90: dict[date, float], days: int = 42) -> ForecastRun:
    """westcoast's orders forecast: 1,000 a day on weekdays (P90), none at weekends, and the
    days of `p90` as given."""
    values = []
    for i in range(days):
        day = start + timedelta(days=i)
        values.append(p90.get(day, 0.0 if day.weekday() >= 5 else 1000.0))
    high = np.array(values, dtype=np.float64)
    series = SeriesForecast(
        key=SeriesKey("westcoast", None, "orders"),
        model="hand-made",
        method="direct",
        start=start,
        p50=high * 0.8,
        p90=high,
        history_start=start - timedelta(days=365),
        history_days=365,
    )
    return ForecastRun(
        as_of=start - timedelta(days=1),
        horizon=days,
        series=[series],
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
    )


# ------------------------------------------------------------------------- source silent


def add_batch(
    connection: sa.Connection, kind: str, finished_at: datetime | None, *, started: datetime
) -> int:
    return int(
        connection.execute(
            ingestion_batches.insert()
            .values(
                source=f"{kind}.csv",
                kind=kind,
                format="csv",
                started_at=started,
                finished_at=finished_at,
                status="landed",
            )
            .returning(ingestion_batches.c.batch_id)
        ).scalar_one()
    )


def add_sources(c: sa.Connection) -> None:
    """Batches of known finish times and the rows they stored (providers from the contracts,
    plus northpeak, which never sent anything)."""
    t = CANONICAL_TABLES
    if c is not None:
        c.execute(providers.insert().values(provider_id="northpeak"))
        orders = add_batch(c, "orders", hours_ago(3), started=hours_ago(3.1))
        c.execute(
            t["orders"].insert().values(order_id="O-1", placed_at=hours_ago(4), batch_id=orders)
        )
        # westcoast: shipments 30 hours ago, then inventory counts 13 hours ago.
        ship = add_batch(c, "shipments", hours_ago(30), started=hours_ago(30.2))
        counts = add_batch(c, "inventory_snapshots", hours_ago(13), started=hours_ago(13.5))
        c.execute(
            t["shipments"]
            .insert()
            .values(
                shipment_id="S-1",
                order_id="O-1",
                provider_id="westcoast",
                facility_id="LAX1",
                shipped_at=hours_ago(31),
                batch_id=ship,
            )
        )
        c.execute(
            t["inventory_snapshots"]
            .insert()
            .values(
                provider_id="westcoast",
                facility_id="LAX1",
                as_of=hours_ago(14),
                sku="SKU-1",
                on_hand=5,
                batch_id=counts,
            )
        )
        # eastbridge: receipts 40 hours ago; then a batch (a higher id) started 41 hours ago
        # and never finished: its start counts, so the receipts are the latest arrival.
        receipts = add_batch(c, "receipts", hours_ago(40), started=hours_ago(40.5))
        running = add_batch(c, "returns", None, started=hours_ago(41))
        c.execute(
            t["receipts"]
            .insert()
            .values(
                receipt_id="R-1",
                provider_id="eastbridge",
                facility_id="EWR1",
                sku="SKU-1",
                batch_id=receipts,
            )
        )
        c.execute(
            t["returns"]
            .insert()
            .values(
                return_id="RT-1",
                order_id="O-1",
                provider_id="eastbridge",
                facility_id="EWR1",
                sku="SKU-1",
                qty=1,
                received_at=hours_ago(42),
                batch_id=running,
            )
        )
        # Rows without lineage (loaded outside ingestion) say nothing about arrivals.
        c.execute(
            t["releases"]
            .insert()
            .values(
                order_id="O-1",
                provider_id="northpeak",
                facility_id="NP1",
                released_at=hours_ago(1),
                batch_id=None,
            )
        )


# ----------------------------------------------------------------------- dispute deadline


def add_disputes(c: sa.Connection) -> None:
    """Disputes in every status, with response deadlines around the clock."""
    rows = [
        ("DSP-000001", "westcoast", "open", NOW + timedelta(hours=5), "25.00"),
        ("DSP-000002", "westcoast", "open", hours_ago(26), None),
        ("DSP-000003", "eastbridge", "open", NOW + timedelta(hours=30), None),
        ("DSP-000004", "westcoast", "countered", hours_ago(1), "9.00"),
        ("DSP-000005", "eastbridge", "open", None, None),
        ("DSP-000006", "eastbridge", "resolved", hours_ago(100), None),
    ]
    if c is not None:
        c.execute(
            disputes.insert(),
            [
                {
                    "dispute_id": dispute_id,
                    "provider_id": provider,
                    "opened_at": NOW - timedelta(days=3),
                    "subject": f"charge in question ({dispute_id})",
                    "status": status,
                    "response_due_at": due,
                    "amount": Decimal(amount) if amount else None,
                    "currency": "USD" if amount else None,
                }
                for dispute_id, provider, status, due, amount in rows
            ],
        )


# ---------------------------------------------------------------------------- the world


@contextmanager
def _database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new store URL on the fixture's database (a PostgreSQL one is dropped afterwards)."""
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path / 'store.duckdb'}"
        return
    admin = str(request.getfixturevalue("postgres_admin"))
    name = f"tallyclerk_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = admin.rsplit("/", 1)[0]
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One store per database holding every hand-built state, built once for the module."""
    with _database(request, tmp_path_factory.mktemp("alerts-world")) as url:
        settings = Settings(database_url=url)
        store = open_store(settings)
        try:
            add_contracts(store, WESTCOAST, EASTBRIDGE)
            run = forecast_run(
                date(2026, 3, 2),
                {date(2026, 3, 18): 4500.0, date(2026, 3, 19): 4500.0, date(2026, 4, 8): 6000.0},
            )
            with store.begin() as c:
                add_aged(c)
                add_priced(c)
                add_sources(c)
                add_disputes(c)
                run_id = save_run(c, run)
            add_burns(store)
            yield World(store, settings, run_id)
        finally:
            store.close()


# ------------------------------------------------------------------ stuck orders, no scan


def test_stuck_orders_per_provider_and_the_store(world: World) -> None:
    found = signals(world, {"name": "stuck", "kind": "stuck_orders"})
    assert causes(found) == ["stuck:eastbridge", "stuck:store", "stuck:westcoast"]
    west = by_cause(found)["stuck:westcoast"]
    assert west.provider_id == "westcoast"
    assert west.kind == "stuck_orders"
    assert west.rule == "stuck"
    assert west.severity == "warn"
    assert west.subject == "westcoast: 2 orders released and not shipped by their ship due time"
    assert west.message == (
        "westcoast: 2 orders released and not shipped by their ship due time; the oldest has "
        "waited 52 hours past its ship due time (ORD-W1, ORD-W2). The rule counts those at "
        "least 24 hours past their ship due time."
    )
    assert west.link == "/findings?provider=westcoast&kind=not_shipped"
    assert west.details["count"] == 2
    assert west.details["sample_ids"] == ["ORD-W1", "ORD-W2"]
    assert west.details["oldest_hours"] == 52.0
    assert west.details["oldest_since"] == hours_ago(52).isoformat()
    store_signal = by_cause(found)["stuck:store"]
    assert store_signal.provider_id is None
    assert store_signal.subject == (
        "store: 1 order placed and not released to any 3PL by its release due time"
    )
    assert store_signal.link == "/findings?kind=never_released"
    east = by_cause(found)["stuck:eastbridge"]
    assert east.details["count"] == 1
    assert "it has waited 25 hours" in east.message
    json.dumps([s.details for s in found])  # JSON values only


def test_stuck_orders_thresholds(world: World) -> None:
    def count(**thresholds: Any) -> dict[str, int]:
        rule = {"name": "stuck", "kind": "stuck_orders", **thresholds}
        return {s.cause: s.details["count"] for s in signals(world, rule)}

    # ORD-W3 is 23.5 hours past due: counted from 23.5 hours on, not from 23.6.
    assert count(older_than_hours=23.6)["stuck:westcoast"] == 2
    assert count(older_than_hours=23.5)["stuck:westcoast"] == 3
    assert count(min_count=2) == {"stuck:westcoast": 2}
    assert count(min_count=3) == {}
    assert count(older_than_hours=23.5, min_count=3) == {"stuck:westcoast": 3}
    # ORD-W1 (52 hours) alone is old enough past 51.9 hours; nobody past 52.1.
    assert count(older_than_hours=51.9) == {"stuck:westcoast": 1}
    assert count(older_than_hours=52.1) == {}
    # A provider filter leaves out the store's orders, which belong to no provider.
    assert count(providers=["westcoast"]) == {"stuck:westcoast": 2}
    assert count(providers=["eastbridge", "northpeak"]) == {"stuck:eastbridge": 1}


def test_stuck_orders_causes_stay_while_figures_change(world: World) -> None:
    rule = {"name": "stuck", "kind": "stuck_orders", "severity": "page"}
    before = by_cause(signals(world, rule))
    later = NOW + timedelta(hours=5)
    after = by_cause(signals(world, rule, now=later))
    assert list(before) == list(after)
    west_before, west_after = before["stuck:westcoast"], after["stuck:westcoast"]
    assert west_before.severity == west_after.severity == "page"
    assert west_before.details["count"] == 2
    assert west_after.details["count"] == 3
    assert west_after.details["sample_ids"] == ["ORD-W1", "ORD-W2", "ORD-W3"]
    assert "57 hours" in west_after.message
    assert west_before.message != west_after.message


def test_no_first_scan(world: World) -> None:
    (found,) = signals(world, {"name": "lost", "kind": "no_first_scan"})
    assert found.cause == "lost:eastbridge"
    assert found.subject == (
        "eastbridge: 7 shipments shipped and not scanned by the carrier by their deadline"
    )
    # The oldest five named, oldest first; the others left to the link.
    assert "the oldest has waited 17 hours past its scan deadline" in found.message
    assert "(SHP-E7, SHP-E6, SHP-E5, SHP-E4, SHP-E3, ...)" in found.message
    assert found.details["count"] == 7
    assert found.link == "/findings?provider=eastbridge&kind=no_first_scan"
    # Ages 11 to 17 hours: 14, 15, 16 and 17 are at least 13.5 hours past the deadline.
    rule = {"name": "lost", "kind": "no_first_scan", "older_than_hours": 13.5}
    assert [s.details["count"] for s in signals(world, rule)] == [4]
    assert signals(world, {**rule, "min_count": 5}) == []
    assert [s.cause for s in signals(world, {**rule, "min_count": 4})] == ["lost:eastbridge"]
    assert signals(world, {**rule, "providers": ["westcoast"]}) == []


# -------------------------------------------------------------------- inventory, invoices


def test_inventory_variance(world: World) -> None:
    found = signals(world, {"name": "stock", "kind": "inventory_variance"})
    assert causes(found) == ["stock:eastbridge", "stock:westcoast"]
    west = by_cause(found)["stock:westcoast"]
    # 800.00 + 150.50 (the acknowledged one counts); the resolved 999.00 does not.
    assert west.subject == (
        "westcoast: inventory off the book worth USD 950.50 at unit cost (4 findings)"
    )
    assert west.message == (
        "westcoast: 4 unresolved inventory findings (count off the book: 3, repeated shrink: 1) "
        "put USD 950.50 at stake at unit cost. The largest: LAX1|SKU-1 (USD 800.00), "
        "LAX1|SKU-2 (USD 150.50). 1 count off the book carries no value (no unit cost)."
    )
    assert west.link == "/inventory?provider=westcoast"
    assert west.details["value"] == "950.50"
    assert west.details["by_kind"] == {"inventory_drift": 1, "inventory_variance": 3}
    assert by_cause(found)["stock:eastbridge"].details["value"] == "40.00"  # absolute value

    def chosen(**thresholds: Any) -> list[str]:
        rule = {"name": "stock", "kind": "inventory_variance", **thresholds}
        return causes(signals(world, rule))

    assert chosen(min_value=950.50) == ["stock:westcoast"]
    assert chosen(min_value=950.51) == []
    assert chosen(min_value=40) == ["stock:eastbridge", "stock:westcoast"]
    assert chosen(providers=["eastbridge"]) == ["stock:eastbridge"]


def test_overbilling_per_invoice(world: World) -> None:
    found = signals(world, {"name": "bill", "kind": "overbilling", "severity": "page"})
    # INV-1 nets 3.00 + 0.50 - 1.25 = 2.25; INV-2 is under-billed; unbilled activity is on no
    # invoice; eastbridge's INV#A over-bills 10.00 and EB-7 1.00.
    assert causes(found) == [
        "bill:eastbridge:EB-7",
        "bill:eastbridge:INV#A",
        "bill:westcoast:INV-1",
    ]
    inv1 = by_cause(found)["bill:westcoast:INV-1"]
    assert inv1.severity == "page"
    assert inv1.subject == "westcoast: invoice INV-1 over-billed by USD 2.25"
    assert inv1.message == (
        "westcoast: invoice INV-1 bills USD 2.25 more than the rate card and the recorded "
        "activity call for, on 3 lines with findings (charge billed twice: 1, not the "
        "contract's rate: 1, quantity differs from activity: 1): INV-1#1, INV-1#4, INV-1#7."
    )
    assert inv1.link == "/invoices?provider=westcoast"
    assert inv1.details["amount"] == "2.25"
    assert inv1.details["lines"] == ["INV-1#1", "INV-1#4", "INV-1#7"]

    def chosen(**thresholds: Any) -> list[str]:
        rule = {"name": "bill", "kind": "overbilling", **thresholds}
        return causes(signals(world, rule))

    assert chosen(min_amount=2.25) == ["bill:eastbridge:INV#A", "bill:westcoast:INV-1"]
    assert chosen(min_amount=2.26) == ["bill:eastbridge:INV#A"]
    assert chosen(min_amount=10.01) == []
    assert chosen(providers=["westcoast"]) == ["bill:westcoast:INV-1"]


# ------------------------------------------------------------------------------- burn rate


def test_burn_rate(world: World) -> None:
    found = signals(world, {"name": "burn", "kind": "burn_rate"})
    assert causes(found) == [
        "burn:eastbridge:dispute_response_on_time_rate:2026-03",
        "burn:westcoast:ship_on_time_rate:2026-03",
    ]
    east, west = found
    assert (east.severity, west.severity) == ("page", "warn")  # the burn state, not the rule's
    assert west.subject == (
        "westcoast: ship_on_time_rate is burning its 2026-03 error budget, heading for 98.5% "
        "against a target of 99.0%"
    )
    assert west.message == (
        "westcoast: ship_on_time_rate is spending its 2026-03 error budget at 1.5x the "
        "sustainable pace over the last day and 1.2x over the last 7 days; 5 bad items of 400 "
        "judged so far, against a budget of 6.2 for the month. At this pace the month ends at "
        "98.5%, against a target of 99.0%. Read at 2026-03-20 12:00 UTC."
    )
    assert west.link == "/providers/westcoast"
    assert "at unbounded the sustainable pace" in east.message
    assert east.details["burn_short"] is None
    assert east.details["state"] == "page"
    json.dumps([s.details for s in found], allow_nan=False)

    def chosen(**options: Any) -> list[str]:
        return causes(signals(world, {"name": "burn", "kind": "burn_rate", **options}))

    assert chosen(states=["page"]) == ["burn:eastbridge:dispute_response_on_time_rate:2026-03"]
    assert chosen(metrics=["ship_on_time_rate"]) == ["burn:westcoast:ship_on_time_rate:2026-03"]
    assert chosen(metrics=["order_accuracy_rate"]) == []
    assert chosen(providers=["westcoast", "northpeak"]) == [
        "burn:westcoast:ship_on_time_rate:2026-03"
    ]
    # On April's clock March has closed: its warnings are not signalled any more.
    assert (
        signals(
            world,
            {"name": "burn", "kind": "burn_rate"},
            now=datetime(2026, 4, 1, 1, tzinfo=UTC),
        )
        == []
    )


def test_burn_rate_reads_the_latest_evaluation(store: Store, settings: Settings) -> None:
    add_burns(store)
    own = (store, settings)
    rule = {"name": "burn", "kind": "burn_rate"}
    before = by_cause(signals(own, rule))
    record_burn(
        store,
        hours_ago(1),
        burn("westcoast", "ship_on_time_rate", "page", short=2.6, long=2.1, projected=0.97),
        burn("westcoast", "order_accuracy_rate", "ok", short=0.2, long=0.3, threshold=0.995),
    )
    after = by_cause(signals(own, rule))
    cause = "burn:westcoast:ship_on_time_rate:2026-03"
    assert list(before) == list(after)
    assert (before[cause].severity, after[cause].severity) == ("warn", "page")
    assert after[cause].details["burn_short"] == 2.6
    assert "2.6x" in after[cause].message
    assert "2.6x" not in before[cause].message
    # A provider's latest evaluation counts, even when it no longer warns.
    record_burn(store, hours_ago(0.5), burn("westcoast", "ship_on_time_rate", "ok"))
    assert causes(signals(own, rule)) == ["burn:eastbridge:dispute_response_on_time_rate:2026-03"]


# ------------------------------------------------------------------------- capacity risk


def test_capacity_risk(world: World) -> None:
    # The world's forecast: westcoast commits 4,000 orders a day (outside its peak); W12 has
    # two days over by 500 each (Wed 18 and Thu 19 March), W15 one day over by 2,000 (Wed 8
    # April); eastbridge has no forecast.
    def found(now: datetime, **options: Any) -> list[Signal]:
        rule = {"name": "cap", "kind": "capacity_risk", **options}
        return signals(world, rule, now=now)

    # Weeks starting less than `weeks` weeks after the clock's date, the one under way too.
    monday_w11 = datetime(2026, 3, 9, 15, tzinfo=UTC)
    assert found(monday_w11, weeks=1) == []  # W11 alone: nothing over
    (first,) = found(monday_w11, weeks=2)
    assert first.cause == "cap:westcoast:2026-W12"
    assert first.subject == (
        "westcoast: forecast demand over committed capacity in 2026-W12 (2 days)"
    )
    assert first.message == (
        "westcoast: the P90 forecast exceeds the 4,000 orders a day committed on 2 days of "
        "the week of 2026-03-16 (2026-W12), by 1,000 orders in all; the busiest day is "
        f"forecast at 4,500 orders. From forecast run {world.forecast_run} (history to 2026-03-01)."
    )
    assert first.link == "/providers/westcoast/forecast"
    assert first.details["over_days"] == 2
    assert first.details["gap_orders"] == "1000.0"
    (both,) = found(monday_w11)  # six weeks by default: W12 and W15
    assert both.cause == "cap:westcoast:2026-W12"
    assert [w["week"] for w in both.details["weeks_at_risk"]] == ["2026-W12", "2026-W15"]
    assert "2 weeks are at risk ahead (2026-W12, 2026-W15): 3 days and 3,000 orders" in (
        both.message
    )
    # The week under way still counts on its Friday; once it is over, the next one leads.
    friday_w12 = datetime(2026, 3, 20, 15, tzinfo=UTC)
    assert causes(found(friday_w12, weeks=1)) == ["cap:westcoast:2026-W12"]
    monday_w13 = datetime(2026, 3, 23, 15, tzinfo=UTC)
    assert found(monday_w13, weeks=2) == []
    assert causes(found(monday_w13, weeks=3)) == ["cap:westcoast:2026-W15"]
    assert found(monday_w11, providers=["eastbridge"]) == []


# ------------------------------------------------------------------------- source silent


def test_source_silent(world: World) -> None:
    found = signals(world, {"name": "silent", "kind": "source_silent", "hours": 12})
    # store: 3 hours (quiet enough); westcoast: 13 hours; eastbridge: 40; northpeak: never.
    assert causes(found) == ["silent:eastbridge", "silent:northpeak", "silent:westcoast"]
    west = by_cause(found)["silent:westcoast"]
    assert west.subject == "westcoast: no data received for 13 hours"
    assert west.message == (
        "westcoast: no records have arrived for 13 hours (the rule allows 12 hours); the "
        f"latest, inventory_snapshots of batch {west.details['last_batch_id']}, arrived "
        "2026-03-20 05:00 UTC."
    )
    assert west.link == "/health"
    assert west.details["hours_silent"] == 13.0
    north = by_cause(found)["silent:northpeak"]
    assert north.subject == "northpeak: no data ever received"
    assert north.details["last_at"] is None
    east = by_cause(found)["silent:eastbridge"]
    assert east.details["last_kind"] == "receipts"
    assert east.details["hours_silent"] == 40.0

    def chosen(**options: Any) -> list[str]:
        rule = {"name": "silent", "kind": "source_silent", **options}
        return causes(signals(world, rule))

    assert chosen(hours=13) == ["silent:eastbridge", "silent:northpeak"]  # 13 is not more
    assert chosen(hours=12.99) == ["silent:eastbridge", "silent:northpeak", "silent:westcoast"]
    assert chosen(hours=2.9) == [
        "silent:eastbridge",
        "silent:northpeak",
        "silent:store",
        "silent:westcoast",
    ]
    # With providers named, the store's orders are not watched.
    assert chosen(hours=2.9, providers=["westcoast"]) == ["silent:westcoast"]
    assert chosen(hours=48) == ["silent:northpeak"]
    later = by_cause(
        signals(
            world,
            {"name": "silent", "kind": "source_silent", "hours": 12},
            now=NOW + timedelta(hours=6),
        )
    )
    assert later["silent:westcoast"].details["hours_silent"] == 19.0


# ----------------------------------------------------------------------- dispute deadline


def test_dispute_deadline(world: World) -> None:
    found = signals(world, {"name": "answer", "kind": "dispute_deadline"})
    assert causes(found) == ["answer:DSP-000001", "answer:DSP-000002"]
    soon, late = found
    assert soon.provider_id == "westcoast"
    assert soon.subject == "westcoast: dispute DSP-000001 due an answer in 5 hours"
    assert soon.message == (
        "westcoast: dispute DSP-000001 (charge in question (DSP-000001)) is due an answer by "
        "2026-03-20 23:00 UTC, in 5 hours; it claims USD 25.00."
    )
    assert soon.link == "/disputes/DSP-000001"
    assert soon.details["amount"] == "25.00"
    assert soon.details["overdue"] is False
    assert late.subject == "westcoast: dispute DSP-000002 unanswered, 26 hours overdue"
    assert "was due an answer by 2026-03-19 16:00 UTC and is 26 hours overdue" in late.message
    assert late.details["overdue"] is True
    assert late.details["hours_left"] == -26.0

    def chosen(**options: Any) -> list[str]:
        rule = {"name": "answer", "kind": "dispute_deadline", **options}
        return causes(signals(world, rule))

    assert chosen(hours=30) == ["answer:DSP-000001", "answer:DSP-000002", "answer:DSP-000003"]
    assert chosen(hours=29.9) == ["answer:DSP-000001", "answer:DSP-000002"]
    assert chosen(hours=4.9) == ["answer:DSP-000002"]
    assert chosen(hours=30, providers=["eastbridge"]) == ["answer:DSP-000003"]
    # Three hours on, the same disputes under the same causes, with new figures.
    later = signals(
        world,
        {"name": "answer", "kind": "dispute_deadline"},
        now=NOW + timedelta(hours=3),
    )
    assert causes(later) == causes(found)
    assert later[0].details["hours_left"] == 2.0
    assert later[1].details["hours_left"] == -29.0


# --------------------------------------------------------------------- order across rules


def test_signals_follow_rule_order(world: World) -> None:
    found = signals(
        world,
        {"name": "z-lost", "kind": "no_first_scan"},
        {"name": "a-stuck", "kind": "stuck_orders", "providers": ["westcoast", "eastbridge"]},
    )
    assert causes(found) == ["z-lost:eastbridge", "a-stuck:eastbridge", "a-stuck:westcoast"]
    assert found == signals(
        world,
        {"name": "z-lost", "kind": "no_first_scan"},
        {"name": "a-stuck", "kind": "stuck_orders", "providers": ["westcoast", "eastbridge"]},
    )


# -------------------------------------------------------------------------------- refresh

REFRESH_NOW = datetime(2026, 2, 20, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("alerts-sim")
    simulate(folder, 150, seed=5, start=date(2026, 1, 1), months=2)
    return folder


@pytest.fixture
def simulated_store(store_url: str, simulated: Path) -> Iterator[tuple[Store, Settings]]:
    settings = Settings(database_url=store_url, brand=BrandSettings(timezone="America/Chicago"))
    opened = open_store(settings)
    try:
        add_contracts(opened, *sorted((simulated / "contracts").glob("*.yaml")))
        assert ingest_paths(opened, [simulated], settings=settings).ok
        yield opened, settings
    finally:
        opened.close()


def _kept(store: Store) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The findings (fingerprint, status) and the latest burn states, comparable across runs."""
    with store.connect() as c:
        kept = sorted(
            tuple(r) for r in c.execute(sa.select(findings.c.fingerprint, findings.c.status))
        )
        burns = sorted(
            (w.provider_id, w.metric, w.period, w.burn.state, w.burn.judged, w.burn.bad)
            for w in latest_burn(c)
        )
    return kept, burns


def test_refresh_records_findings_and_the_open_month(
    simulated_store: tuple[Store, Settings],
) -> None:
    store, settings = simulated_store
    assert _kept(store) == ([], [])
    lines = refresh(store, settings, now=REFRESH_NOW)
    assert len(lines) == 2
    assert lines[0].startswith("findings as of 2026-02-20 18:00 UTC: ")
    assert lines[1].startswith("SLA 2026-02 evaluated as of 2026-02-20 18:00 UTC (run ")
    kept, burns = _kept(store)
    assert kept
    assert all(status == "open" for _, status in kept)
    assert f"{len(kept)} new, 0 seen again, 0 reopened, 0 cleared" in lines[0]
    assert {(p, period) for p, _m, period, *_ in burns} == {
        ("eastbridge", date(2026, 2, 1)),
        ("westcoast", date(2026, 2, 1)),
    }
    with store.connect() as c:
        runs = c.execute(sa.select(sla_runs.c.period, sla_runs.c.as_of)).all()
        recorded = c.execute(sa.select(sa.func.count()).select_from(sla_burn)).scalar_one()
    assert [(p, a.astimezone(UTC)) for p, a in runs] == [(date(2026, 2, 1), REFRESH_NOW)]
    assert recorded == len(burns)

    # Detection reads what refresh kept: a burn signal for each state that warns or pages.
    found = detect(store, rules({"name": "burn", "kind": "burn_rate"}), settings, now=REFRESH_NOW)
    expected = sorted(
        f"burn:{p}:{m}:2026-02" for p, m, _period, state, *_ in burns if state in ("warn", "page")
    )
    assert expected  # the simulated month has problems planted
    assert causes(found) == expected

    # Again on the same clock: the same findings and burn states, nothing new.
    again = refresh(store, settings, now=REFRESH_NOW)
    assert f"0 new, {len(kept)} seen again, 0 reopened, 0 cleared" in again[0]
    assert _kept(store) == (kept, burns)
    assert [
        s.cause
        for s in detect(
            store, rules({"name": "burn", "kind": "burn_rate"}), settings, now=REFRESH_NOW
        )
    ] == expected


def test_an_empty_store(store: Store, settings: Settings) -> None:
    every_kind = [{"name": kind.replace("_", "-"), "kind": kind} for kind in RULE_KINDS]
    (found,) = signals((store, settings), *every_kind)
    # Only the store's silence: no order ever arrived.
    assert found.cause == "source-silent:store"
    assert found.provider_id is None
    assert found.subject == "store: no data ever received"
    assert found.message == (
        "store: no orders (Shopify webhooks or order files) have ever arrived; check the "
        "connection, the drop folder or the webhooks that should bring them."
    )
