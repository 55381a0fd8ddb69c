"""Webhook deliveries landed in batches, and JSON records, on DuckDB and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyclerk.errors import InputError
from tallyclerk.ingest import list_quarantine, replay_batch
from tallyclerk.ingest._webhooks import Delivery, ingest_deliveries, ingest_records
from tallyclerk.store import Store, open_store
from tallyclerk.store.schema import CANONICAL_TABLES, ingestion_batches, webhook_receipts

orders = CANONICAL_TABLES["orders"]
order_lines = CANONICAL_TABLES["order_lines"]
shipments = CANONICAL_TABLES["shipments"]
tracking_events = CANONICAL_TABLES["tracking_events"]
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def shopify_order(samples: Path, order_id: int, **changes: Any) -> dict[str, Any]:
    """The real Shopify order fixture as an orders/* webhook body, with another id."""
    path = samples / "shopify" / "shopify_python_api_fixtures" / "order.json"
    order: dict[str, Any] = json.loads(path.read_text())["order"]
    order.pop("fulfillments", None)
    order["id"] = order_id
    order["name"] = f"#{order_id}"
    order.update(changes)
    return order


def shopify_fulfillment(samples: Path) -> dict[str, Any]:
    """The real fulfillment fixture (of order 450789469), shipped."""
    path = samples / "shopify" / "shopify_api_ruby_fixtures" / "fulfillments.json"
    fulfillment: dict[str, Any] = json.loads(path.read_text())[0]
    fulfillment["status"] = "success"
    return fulfillment


def easypost_event(samples: Path, event_id: str = "evt_1") -> dict[str, Any]:
    """A tracker.updated event wrapping the real EasyPost tracker sample."""
    path = samples / "carrier_tracking" / "easypost_examples" / "trackers-create.json"
    tracker = json.loads(path.read_text())
    return {"object": "Event", "id": event_id, "description": "tracker.updated", "result": tracker}


def aftership_update(samples: Path) -> dict[str, Any]:
    """An AfterShip tracking_update webhook of the real FedEx tracking sample."""
    path = samples / "carrier_tracking" / "pyaftership_fixtures" / "get_trackings.json"
    tracking = json.loads(path.read_text())["data"]["trackings"][0]
    return {"event": "tracking_update", "msg": tracking, "ts": 1533150000}


def delivery(
    source: str, delivery_id: str, body: Any, topic: str | None = None, minutes: int = 0
) -> Delivery:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Delivery(source, delivery_id, topic, data, T0 + timedelta(minutes=minutes))


def count(store: Store, table: sa.Table) -> int:
    with store.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@pytest.fixture(scope="module")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "store.duckdb"
    open_store(url=f"duckdb:///{path}").close()
    return path


@pytest.fixture
def fresh_stores(template_store: Path, tmp_path: Path) -> Iterator[Any]:
    made: list[Store] = []

    def make(name: str) -> Store:
        target = tmp_path / f"{name}-{len(made)}.duckdb"
        shutil.copy(template_store, target)
        store = open_store(url=f"duckdb:///{target}")
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def duck(fresh_stores: Any) -> Store:
    """A fresh DuckDB store, for rules that do not depend on the database."""
    store: Store = fresh_stores("duck")
    return store


def test_a_mixed_burst_lands_in_one_batch_per_group(store: Store, samples: Path) -> None:
    deliveries = [
        delivery("shopify", f"w-{n}", shopify_order(samples, 1000 + n), "orders/create", n)
        for n in range(40)
    ]
    deliveries.insert(5, delivery("easypost", "evt_1", easypost_event(samples)))
    deliveries.insert(9, delivery("aftership", "as-1", aftership_update(samples)))
    order = shopify_order(samples, 450789469)
    deliveries.append(
        delivery("shopify", "w-f", shopify_fulfillment(samples), "fulfillments/create")
    )
    deliveries.append(delivery("shopify", "w-o", order, "orders/create"))

    report = ingest_deliveries(store, deliveries)

    # Orders land before the fulfillment that ships one of them, though it arrived first.
    assert [(g.source, g.topic_kind) for g in report.groups] == [
        ("shopify", "orders"),
        ("shopify", "fulfillments"),
        ("easypost", "tracking"),
        ("aftership", "tracking"),
    ]
    assert report.deliveries == len(deliveries) == report.landed
    assert [b.quarantined for b in report.batches] == [0, 0, 0, 0]
    assert count(store, orders) == 41
    assert count(store, order_lines) == 41 * 3
    assert count(store, shipments) == 1
    assert count(store, tracking_events) == 2 + 11
    assert count(store, webhook_receipts) == len(deliveries)
    assert count(store, ingestion_batches) == 4
    with store.connect() as connection:
        rows = connection.execute(
            sa.select(webhook_receipts.c.delivery_id, webhook_receipts.c.batch_id)
        ).all()
    by_id = dict(rows)
    assert by_id["w-f"] == report.groups[1].batch.batch_id  # type: ignore[union-attr]
    assert by_id["evt_1"] == report.groups[2].batch.batch_id  # type: ignore[union-attr]


def test_landing_the_same_deliveries_again_changes_nothing(store: Store, samples: Path) -> None:
    deliveries = [
        delivery("shopify", f"w-{n}", shopify_order(samples, 2000 + n), "orders/create", n)
        for n in range(5)
    ]
    first = ingest_deliveries(store, deliveries[:3])
    assert first.landed == 3
    # A crash after landing left every file in the spool: the retry lands only the new ones.
    again = ingest_deliveries(store, deliveries)
    assert again.already_landed == 3
    assert again.groups[0].already_landed == ["w-0", "w-1", "w-2"]
    assert again.batches[0].stored == 2 * 4  # two orders with three lines each
    once_more = ingest_deliveries(store, deliveries)
    assert once_more.batches == []
    assert once_more.already_landed == 5
    assert count(store, orders) == 5
    assert count(store, webhook_receipts) == 5
    assert count(store, ingestion_batches) == 2


def test_an_unreadable_delivery_is_quarantined_by_its_id(store: Store, samples: Path) -> None:
    deliveries = [
        delivery("shopify", "ok-1", shopify_order(samples, 3001), "orders/create"),
        delivery("shopify", "broken-7", b'{"id": 3002,\x00 "line_items": [', "orders/create"),
        delivery("shopify", "ok-2", shopify_order(samples, 3003), "orders/updated"),
    ]
    report = ingest_deliveries(store, deliveries)
    (group,) = report.groups
    assert group.unreadable == ["broken-7"]
    assert group.batch is not None
    assert group.batch.quarantined == 1
    assert count(store, orders) == 2
    # The broken delivery is taken: a retry of it is a no-op, not a second quarantine.
    assert count(store, webhook_receipts) == 3
    with store.connect() as connection:
        (held,) = list_quarantine(connection, batch_id=group.batch.batch_id)
    assert held.where == "delivery broken-7"
    assert held.kind == "orders"
    assert "the body is not valid JSON" in held.reason
    assert held.record == '{"id": 3002,\ufffd "line_items": ['  # a NUL kept as text


def test_a_bad_record_inside_a_delivery_names_the_delivery(duck: Store, samples: Path) -> None:
    bad = shopify_order(samples, 3101, created_at="not a time")
    report = ingest_deliveries(
        duck,
        [
            delivery("shopify", "d-1", shopify_order(samples, 3100), "orders/create"),
            delivery("shopify", "d-2", bad, "orders/create"),
        ],
    )
    (batch,) = report.batches
    with duck.connect() as connection:
        held = list_quarantine(connection, batch_id=batch.batch_id)
    assert held, "the order with a bad created_at is quarantined"
    assert held[0].where.startswith("delivery d-2, order 1 (")
    assert held[0].line == 2  # its place in the batch
    assert count(duck, orders) == 1


def test_later_deliveries_win_and_absent_keys_keep_stored_values(
    store: Store, samples: Path
) -> None:
    created = shopify_order(samples, 4000)
    updated = shopify_order(samples, 4000, total_price="500.00")
    del updated["shipping_address"]  # an update that does not carry the address
    cancelled = shopify_order(samples, 4000, total_price="500.00")
    del cancelled["shipping_address"]
    cancelled["cancelled_at"] = "2026-03-02T10:00:00-05:00"
    report = ingest_deliveries(
        store,
        [
            delivery("shopify", "c", created, "orders/create", 0),
            delivery("shopify", "u", updated, "orders/updated", 1),
            delivery("shopify", "x", cancelled, "orders/cancelled", 2),
        ],
    )
    assert len(report.batches) == 1
    with store.connect() as connection:
        row = connection.execute(
            sa.select(orders.c.ship_to_country, orders.c.order_value, orders.c.cancelled_at)
        ).one()
    assert row.ship_to_country == "US"  # from orders/create, untouched by the updates
    assert Decimal(str(row.order_value)) == Decimal("500.00")
    assert row.cancelled_at is not None


def test_replaying_a_webhook_batch_reads_the_archive_again(duck: Store, samples: Path) -> None:
    report = ingest_deliveries(
        duck,
        [
            delivery("shopify", f"r-{n}", shopify_order(samples, 5000 + n), "orders/create")
            for n in range(3)
        ],
    )
    (batch,) = report.batches
    assert batch.batch_id is not None
    again = replay_batch(duck, batch.batch_id)
    assert again.status == "landed"
    assert (again.stored, again.updated, again.quarantined) == (0, 0, 0)
    assert again.duplicate == 3 * 4
    assert count(duck, orders) == 3


def test_an_unknown_topic_is_refused_before_anything_is_written(duck: Store, samples: Path) -> None:
    with pytest.raises(InputError, match="topic 'products/create' is not one tallyclerk reads"):
        ingest_deliveries(
            duck, [delivery("shopify", "p", shopify_order(samples, 1), "products/create")]
        )
    assert count(duck, ingestion_batches) == 0


# -- JSON records ----------------------------------------------------------------------------


def test_records_land_as_one_batch_and_bad_ones_are_named(store: Store) -> None:
    records: list[Any] = [
        {
            "order_id": "A-1",
            "placed_at": "2026-03-02T09:00:00-05:00",
            "order_value": Decimal("19.99"),
            "currency": "USD",
            "ignored_column": "x",
        },
        {"order_id": "A-2", "placed_at": "last tuesday"},
        "not an object",
        {"order_id": "A-3", "placed_at": "2026-03-02T09:30:00Z", "order_value": {"x": 1}},
    ]
    report = ingest_records(store, "orders", records)
    assert (report.stored, report.quarantined) == (1, 3)
    with store.connect() as connection:
        held = list_quarantine(connection, batch_id=report.batch_id)
        value = connection.execute(sa.select(orders.c.order_value)).scalar_one()
    assert Decimal(str(value)) == Decimal("19.99")
    assert [q.where for q in held] == ["record 2", "record 3", "record 4"]
    assert "placed_at" in held[0].reason
    assert held[1].reason == "not a JSON object"
    assert held[2].reason.startswith("order_value: is an object")
    # The batch replays through the canonical JSON Lines reader: nothing new.
    assert report.batch_id is not None
    again = replay_batch(store, report.batch_id)
    assert (again.stored, again.duplicate, again.quarantined) == (0, 1, 3)


def test_records_take_the_request_provider(duck: Store) -> None:
    base = {
        "facility_id": "LAX1",
        "as_of": "2026-03-01T00:00:00Z",
        "on_hand": 5,
        "available": 5,
        "damaged": 0,
    }
    records = [
        {**base, "sku": "S-1"},
        {**base, "sku": "S-2", "provider_id": "westcoast"},
        {**base, "sku": "S-3", "provider_id": "eastbridge"},
    ]
    report = ingest_records(duck, "inventory_snapshots", records, provider_id="westcoast")
    assert (report.stored, report.quarantined) == (2, 1)
    assert report.rejects[0].where == "record 3"
    assert "'eastbridge' is not the provider of the request" in report.rejects[0].reason


def test_records_of_an_unknown_kind_are_refused(duck: Store) -> None:
    with pytest.raises(InputError, match="unknown kind 'parcels'"):
        ingest_records(duck, "parcels", [{}])


# -- a property: how deliveries are split into rounds does not matter ------------------------


def _orders_table(store: Store) -> list[tuple[Any, ...]]:
    with store.connect() as connection:
        rows = connection.execute(
            sa.select(orders.c.order_id, orders.c.order_value, orders.c.ship_to_country).order_by(
                orders.c.order_id
            )
        )
        return [tuple(row) for row in rows]


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    versions=st.lists(
        st.tuples(st.integers(0, 3), st.integers(1, 999), st.booleans()), min_size=1, max_size=12
    ),
    cuts=st.lists(st.integers(0, 12), max_size=4),
    repeat=st.booleans(),
)
def test_rounds_and_retries_do_not_change_the_result(
    samples: Path,
    fresh_stores: Any,
    versions: list[tuple[int, int, bool]],
    cuts: list[int],
    repeat: bool,
) -> None:
    deliveries = []
    for n, (order, cents, with_address) in enumerate(versions):
        body = shopify_order(samples, 6000 + order, total_price=f"{cents / 100:.2f}")
        if not with_address:
            del body["shipping_address"]
        deliveries.append(delivery("shopify", f"v-{n}", body, "orders/updated", n))
    whole = fresh_stores("whole")
    ingest_deliveries(whole, deliveries)
    split = fresh_stores("split")
    bounds = sorted({0, len(deliveries), *(c for c in cuts if c < len(deliveries))})
    for start, end in itertools.pairwise(bounds):
        ingest_deliveries(split, deliveries[start:end])
        if repeat:
            ingest_deliveries(split, deliveries[:end])  # a retry of everything so far
    assert _orders_table(split) == _orders_table(whole)
    assert count(split, webhook_receipts) == len(deliveries)
