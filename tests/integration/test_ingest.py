"""Ingestion on a real store, DuckDB and PostgreSQL alike: idempotency, updates, quarantine."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.ingest import count_quarantine, ingest_paths, list_quarantine, replay_quarantine
from tallyclerk.settings import Settings
from tallyclerk.store import CANONICAL_TABLES, Store
from tests.conftest import FIXTURES

ORDERS_HEADER = (
    "order_id,placed_at,channel,ship_to_country,ship_to_postal,service_level,"
    "promised_delivery_date,order_value,currency,cancelled_at\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rows(store: Store, table: str, order_by: str) -> list[tuple[object, ...]]:
    with store.connect() as connection:
        return [
            tuple(r)
            for r in connection.execute(
                sa.select(CANONICAL_TABLES[table]).order_by(sa.text(order_by))
            )
        ]


def count(store: Store, table: str) -> int:
    with store.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count()).select_from(CANONICAL_TABLES[table])
            ).scalar_one()
        )


def good_orders(tmp_path: Path) -> Path:
    return write(
        tmp_path / "orders.csv",
        ORDERS_HEADER
        + "o1,2026-03-01T10:00:00-06:00,web,US,90210,standard,2026-03-05,49.90,USD,\n"
        + "o2,2026-03-01T11:30:00Z,web,US,10001,expedited,2026-03-03,20.00,usd,\n",
    )


def test_ingesting_twice_changes_nothing(store: Store, settings: Settings, tmp_path: Path) -> None:
    orders = good_orders(tmp_path)
    first = ingest_paths(store, [orders], settings=settings)
    assert [(b.stored, b.updated, b.duplicate, b.quarantined) for b in first.batches] == [
        (2, 0, 0, 0)
    ]
    before = rows(store, "orders", "order_id")
    second = ingest_paths(store, [orders], settings=settings)
    assert [(b.stored, b.updated, b.duplicate, b.quarantined) for b in second.batches] == [
        (0, 0, 2, 0)
    ]
    after = rows(store, "orders", "order_id")
    # Only the lineage column may differ; here nothing was rewritten, so nothing differs.
    assert after == before
    assert after[0][1] == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert after[0][7] == Decimal("49.90")
    assert after[1][8] == "USD"


def test_a_later_version_of_a_record_updates_it(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    ingest_paths(store, [good_orders(tmp_path)], settings=settings)
    (tmp_path / "later").mkdir()
    later = write(
        tmp_path / "later" / "orders.csv",
        ORDERS_HEADER
        + "o1,2026-03-01T10:00:00-06:00,web,US,90210,standard,2026-03-05,49.90,USD,"
        + "2026-03-01T12:00:00-06:00\n",
    )
    run = ingest_paths(store, [later], settings=settings)
    assert (run.batches[0].stored, run.batches[0].updated, run.batches[0].duplicate) == (0, 1, 0)
    cancelled = {r[0]: r[9] for r in rows(store, "orders", "order_id")}
    assert cancelled["o1"] == datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
    assert cancelled["o2"] is None


def test_bad_records_are_quarantined_with_line_column_and_reason(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    ingest_paths(store, [good_orders(tmp_path)], settings=settings)
    lines = write(
        tmp_path / "order_lines.csv",
        "order_id,line_no,sku,qty,unit_price\n"
        "o1,1,SKU-1,2,10.00\n"  # line 2: fine
        "o1,2,SKU-2,-3,5.00\n"  # line 3: negative quantity
        "o9,1,SKU-1,1,10.00\n"  # line 4: unknown order
        ",1,SKU-1,1,10.00\n"  # line 5: missing key
        "o2,1,SKU-3,1\n"  # line 6: a field short
        "o2,2,SKU-4,one,1.00\n",  # line 7: not a number
    )
    run = ingest_paths(store, [lines], settings=settings)
    batch = run.batches[0]
    assert batch.status == "landed"
    assert batch.stored == 1
    assert batch.quarantined == 5
    with store.connect() as connection:
        held = {r.line: r for r in list_quarantine(connection)}
    assert set(held) == {3, 4, 5, 6, 7}
    assert held[3].column == "qty"
    assert '"-3" is below the minimum of 1' in held[3].reason
    assert held[4].column == "order_id"
    assert "'o9' is not known" in held[4].reason
    assert held[5].column == "order_id"
    assert "required" in held[5].reason
    assert "expected 5 fields, found 4" in held[6].reason
    assert held[7].column == "qty"
    assert '"one" is not a whole number' in held[7].reason
    assert all(r.source.endswith("order_lines.csv") for r in held.values())
    assert json.loads(held[7].record or "{}")["qty"] == "one"
    assert count(store, "order_lines") == 1


def test_unknown_vocabulary_and_dates_are_named(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    events = write(
        tmp_path / "tracking_events.csv",
        "tracking_number,carrier,status,occurred_at,location\n"
        "1Z1,UPS,delivered,2026-03-04T15:00:00Z,Dallas TX\n"
        "1Z1,UPS,delivred,2026-03-03T15:00:00Z,Dallas TX\n"
        "1Z2,UPS,in_transit,yesterday,Dallas TX\n",
    )
    run = ingest_paths(store, [events], settings=settings)
    assert run.batches[0].stored == 1
    reasons = {r.line: r.reason for r in run.batches[0].rejects}
    assert "is not one of label_created" in reasons[3]
    assert '"yesterday" is not an ISO 8601 timestamp' in reasons[4]


def test_shipments_for_unknown_orders_are_stored(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    shipments = write(
        tmp_path / "shipments.csv",
        "shipment_id,order_id,provider_id,facility_id,shipped_at,carrier,service,"
        "tracking_number,packaging,weight_kg,shipping_cost\n"
        "s1,o-unknown,westcoast,LAX1,2026-03-02T10:00:00-08:00,UPS,Ground,1Z9,box_small,1.2,7.10\n",
    )
    run = ingest_paths(store, [shipments], settings=settings)
    assert (run.batches[0].stored, run.batches[0].quarantined) == (1, 0)


def test_naive_timestamps_are_read_in_the_facility_time_zone(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    contract_path = FIXTURES / "contracts" / "westcoast.yaml"
    with store.begin() as connection:
        add_contract(connection, load_contract(contract_path), contract_path.read_text(), "wc")
    releases = write(
        tmp_path / "releases.csv",
        "order_id,provider_id,facility_id,released_at\n"
        "o1,westcoast,LAX1,2026-07-01 09:00:00\n"  # PDT, UTC-7
        "o2,westcoast,LAX1,2026-01-15 09:00:00\n"  # PST, UTC-8
        "o3,westcoast,NOWHERE,2026-01-15 09:00:00\n",  # unknown facility: brand zone (UTC)
    )
    ingest_paths(store, [releases], settings=settings)
    released = {r[0]: r[3] for r in rows(store, "releases", "order_id")}
    assert released["o1"] == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    assert released["o2"] == datetime(2026, 1, 15, 17, 0, tzinfo=UTC)
    assert released["o3"] == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def test_replay_after_the_source_is_fixed(store: Store, settings: Settings, tmp_path: Path) -> None:
    ingest_paths(store, [good_orders(tmp_path)], settings=settings)
    lines = write(
        tmp_path / "order_lines.csv",
        "order_id,line_no,sku,qty,unit_price\no1,1,SKU-1,2,10.00\no1,2,SKU-2,two,5.00\n",
    )
    assert ingest_paths(store, [lines], settings=settings).batches[0].quarantined == 1
    write(lines, "order_id,line_no,sku,qty,unit_price\no1,1,SKU-1,2,10.00\no1,2,SKU-2,2,5.00\n")
    run = replay_quarantine(store, settings=settings)
    assert [(b.stored, b.duplicate, b.quarantined, b.replayed) for b in run.batches] == [
        (1, 1, 0, 1)
    ]
    with store.connect() as connection:
        assert count_quarantine(connection) == 0
        assert list_quarantine(connection, status="replayed")[0].line == 3
    assert count(store, "order_lines") == 2


def test_lines_that_arrive_before_their_orders_replay_from_the_archive(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    lines = write(
        tmp_path / "order_lines.csv",
        "order_id,line_no,sku,qty,unit_price\no1,1,SKU-1,2,10.00\no2,1,SKU-2,1,5.00\n",
    )
    assert ingest_paths(store, [lines], settings=settings).batches[0].quarantined == 2
    lines.unlink()  # the drop folder moved on; the archive still has the bytes
    ingest_paths(store, [good_orders(tmp_path)], settings=settings)
    run = replay_quarantine(store, settings=settings)
    assert run.batches[0].stored == 2
    with store.connect() as connection:
        assert count_quarantine(connection) == 0


def test_a_file_without_a_required_column_fails_whole_and_is_recorded(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    broken = write(tmp_path / "orders.csv", "order_id,channel\no1,web\n")
    run = ingest_paths(store, [broken], settings=settings)
    batch = run.batches[0]
    assert batch.status == "failed"
    assert batch.message is not None
    assert "lacks required column(s) placed_at" in batch.message
    assert "line 1" in batch.message
    assert count(store, "orders") == 0


def test_json_lines_with_a_broken_line(store: Store, settings: Settings, tmp_path: Path) -> None:
    feedback = write(
        tmp_path / "feedback.jsonl",
        json.dumps(
            {
                "feedback_id": "f1",
                "order_id": "o1",
                "received_at": "2026-03-09T10:00:00Z",
                "score": 2,
                "tags": ["late", "Damaged"],
            }
        )
        + "\n{not json\n"
        + json.dumps({"feedback_id": "f2", "received_at": "2026-03-09T11:00:00Z", "score": 11})
        + "\n",
    )
    run = ingest_paths(store, [feedback], settings=settings)
    batch = run.batches[0]
    assert (batch.stored, batch.quarantined) == (1, 2)
    reasons = {r.line: r.reason for r in batch.rejects}
    assert "not valid JSON" in reasons[2]
    assert "above the maximum of 10" in reasons[3]
    assert rows(store, "feedback", "feedback_id")[0][5] == "damaged;late"


def test_directory_ingest_orders_parents_first_and_names_strangers(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write(drop / "order_lines.csv", "order_id,line_no,sku,qty\no1,1,SKU-1,1\n")
    good_orders(drop)
    write(drop / "notes.txt", "hello")
    run = ingest_paths(store, [drop], settings=settings)
    assert [b.kind for b in run.batches] == ["orders", "order_lines"]
    assert run.ok
    assert [p.name for p in run.unrecognized] == ["notes.txt"]


def test_quoted_values_spanning_lines_keep_line_numbers_right(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    feedback = write(
        tmp_path / "feedback.csv",
        "feedback_id,order_id,channel,received_at,score,tags,text\n"
        'f1,o1,email,2026-03-09T10:00:00Z,4,,"first line\nsecond line"\n'
        "f2,o2,email,2026-03-09T10:00:00Z,4,lat,ok\n",
    )
    run = ingest_paths(store, [feedback], settings=settings)
    assert run.batches[0].stored == 1
    assert [r.line for r in run.batches[0].rejects] == [4]


def test_a_windows_1252_export_is_read_and_said_so(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    products = tmp_path / "products.csv"
    products.write_bytes(
        "sku,name,unit_cost\nSKU-1,Café crème mug,4.10\nSKU-2,Tee – navy,2.00\n".encode("cp1252")
    )
    run = ingest_paths(store, [products], settings=settings)
    batch = run.batches[0]
    assert (batch.stored, batch.quarantined) == (2, 0)
    assert batch.message is not None
    assert "Windows-1252" in batch.message
    names = {r[0]: r[1] for r in rows(store, "products", "sku")}
    assert names == {"SKU-1": "Café crème mug", "SKU-2": "Tee – navy"}
