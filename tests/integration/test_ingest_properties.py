"""Properties of ingestion, on generated files: idempotent, last version wins, keys unique."""

from __future__ import annotations

import csv
import tempfile
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyclerk.ingest import ingest_paths
from tallyclerk.store import CANONICAL_TABLES, Store, open_store

HEADER = ["order_id", "line_no", "sku", "qty", "unit_price"]

line_rows = st.lists(
    st.tuples(
        st.sampled_from(["o1", "o2", "o3"]),
        st.integers(min_value=1, max_value=4),
        st.sampled_from(["SKU-1", "SKU-2", " SKU-3 "]),
        st.one_of(st.integers(min_value=-2, max_value=5).map(str), st.sampled_from(["", "x"])),
        st.one_of(
            st.decimals(min_value=0, max_value=999, places=2, allow_nan=False).map(str),
            st.just(""),
        ),
    ),
    max_size=25,
)


def _write(path: Path, header: list[str], rows: list[tuple[object, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


_STORES: list[Store] = []


def _store() -> Store:
    """One in-memory store for all examples (emptied after each): migrations run once."""
    if not _STORES:
        _STORES.append(open_store(url="duckdb:///:memory:"))
    return _STORES[0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line_rows)
def test_ingest_is_idempotent_and_the_last_valid_version_wins(
    rows: list[tuple[str, int, str, str, str]],
) -> None:
    store = _store()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        try:
            _write(
                folder / "orders.csv",
                ["order_id", "placed_at"],
                [("o1", "2026-03-01T10:00:00Z"), ("o2", "2026-03-01T11:00:00Z")],
            )
            lines = _write(folder / "order_lines.csv", HEADER, rows)
            first = ingest_paths(store, [folder])
            table = CANONICAL_TABLES["order_lines"]
            columns = [table.c[name] for name in HEADER]
            with store.connect() as connection:
                stored = connection.execute(sa.select(*columns).order_by(*columns)).all()
            second = ingest_paths(store, [lines])
            with store.connect() as connection:
                again = connection.execute(sa.select(*columns).order_by(*columns)).all()
        finally:
            with store.begin() as connection:
                for name in ("orders", "order_lines", "quarantine", "ingestion_batches"):
                    connection.exec_driver_sql(f"DELETE FROM {name}")

    # Every input record is accounted for exactly once.
    batch = first.batches[1]
    assert batch.stored + batch.updated + batch.duplicate + batch.quarantined == len(rows)
    # Ingesting the same file again changes nothing.
    assert again == stored
    assert second.batches[0].stored == 0
    assert second.batches[0].updated == 0
    # Keys are unique and each holds the last valid occurrence in the file.
    keys = [(r[0], r[1]) for r in stored]
    assert len(keys) == len(set(keys))
    expected: dict[tuple[str, int], tuple[str, int, Decimal | None]] = {}
    for order_id, line_no, sku, qty, price in rows:
        if order_id == "o3" or qty in ("", "x") or int(qty) < 1:
            continue
        expected[(order_id, line_no)] = (sku.strip(), int(qty), Decimal(price) if price else None)
    assert {(r[0], r[1]): (r[2], r[3], r[4]) for r in stored} == expected


VALID_ORDERS = (
    b"order_id,placed_at,channel,ship_to_country,ship_to_postal,service_level,"
    b"promised_delivery_date,order_value,currency,cancelled_at\n"
    b"o1,2026-03-01T10:00:00-06:00,web,US,90210,standard,2026-03-05,49.90,USD,\n"
    b'o2,2026-03-01 11:30,"web, app",US,10001,expedited,2026-03-03,20.00,usd,\n'
    b"o3,2026-03-02T08:00:00Z,web,GB,SW1A,standard,,5,GBP,2026-03-02T09:00:00Z\n"
)


@st.composite
def mangled_csv(draw: st.DrawFn) -> bytes:
    """The valid file with random bytes cut, inserted or replaced."""
    data = bytearray(VALID_ORDERS)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        position = draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))
        action = draw(st.sampled_from(["cut", "insert", "replace"]))
        chunk = draw(
            st.binary(min_size=1, max_size=6) | st.sampled_from([b'"', b",", b"\n", b"\r\n"])
        )
        if action == "cut":
            del data[position : position + len(chunk)]
        elif action == "insert":
            data[position:position] = chunk
        else:
            data[position : position + len(chunk)] = chunk
    return bytes(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled_csv())
def test_mangled_files_never_crash_ingest(payload: bytes) -> None:
    store = _store()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.csv"
        path.write_bytes(payload)
        try:
            run = ingest_paths(store, [path])
            table = CANONICAL_TABLES["orders"]
            with store.connect() as connection:
                stored = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()
        finally:
            with store.begin() as connection:
                for name in ("orders", "quarantine", "ingestion_batches"):
                    connection.exec_driver_sql(f"DELETE FROM {name}")
    batch = run.batches[0]
    assert batch.status in {"landed", "failed"}
    if batch.status == "failed":
        assert batch.message
        assert stored == 0
    else:
        assert stored == batch.stored
