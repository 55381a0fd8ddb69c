"""A kill in the middle of an ingest leaves the store as it was: the batch landed or not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tallyclerk.settings import Settings
from tallyclerk.store import CANONICAL_TABLES, open_store
from tallyclerk.store.schema import ingestion_batches

ROWS = 60_000


def _big_orders(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(
            "order_id,placed_at,channel,ship_to_country,ship_to_postal,service_level,"
            "promised_delivery_date,order_value,currency,cancelled_at\n"
        )
        for i in range(ROWS):
            handle.write(
                f"o{i:07d},2026-03-01T10:00:00-06:00,web,US,90210,standard,2026-03-05,"
                f"{i % 500}.90,USD,\n"
            )
    return path


def _counts(url: str) -> tuple[int, list[str]]:
    store = open_store(Settings(database_url=url))
    try:
        with store.connect() as connection:
            orders = connection.execute(
                sa.select(sa.func.count()).select_from(CANONICAL_TABLES["orders"])
            ).scalar_one()
            statuses = [s for (s,) in connection.execute(sa.select(ingestion_batches.c.status))]
    finally:
        store.close()
    return int(orders), statuses


@pytest.mark.slow
def test_kill_mid_ingest_leaves_the_store_consistent(store_url: str, tmp_path: Path) -> None:
    source = _big_orders(tmp_path / "orders.csv")
    # Create the schema first, so the kill lands in the middle of the data, not the DDL.
    open_store(Settings(database_url=store_url)).close()
    env = {
        **os.environ,
        "TALLYCLERK_DATABASE_URL": store_url,
        "TALLYCLERK_INGEST__CHUNK_BYTES": str(64 * 1024),
    }
    chunks_seen = 0
    with subprocess.Popen(
        [sys.executable, "-m", "tallyclerk", "ingest", "-v", str(source)],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if "not yet committed" in line:
                chunks_seen += 1
                if chunks_seen == 3:
                    break
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert chunks_seen == 3, "the ingest finished or failed before it could be interrupted"

    orders, statuses = _counts(store_url)
    assert orders == 0
    assert statuses == []

    finished = subprocess.run(
        [sys.executable, "-m", "tallyclerk", "ingest", str(source)],
        env={**env, "TALLYCLERK_INGEST__CHUNK_BYTES": str(8 * 1024 * 1024)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    orders, statuses = _counts(store_url)
    assert orders == ROWS
    assert statuses == ["landed"]
