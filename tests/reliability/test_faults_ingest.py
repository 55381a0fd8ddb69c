"""A kill in the middle of an ingest leaves the store as it was; the ingest run again lands once.

One canonical orders file of GOOD good rows with a bad one after every SPREAD of them (a date
that is not one, a missing required value, a negative amount, an impossible day). The
command `tallyclerk ingest -v` logs each chunk it has merged but not committed; it is killed
(SIGKILL) after the third chunk, then again once the records of all but about the last
chunk are merged. Each time the store must hold no order, no batch and no quarantined
record. Then the same command runs to
the end: every good row stored once, every bad row quarantined once with its file and line.
The same file once more changes nothing: every good row is a duplicate, and the open
quarantine is the new batch's, the older records closed as replayed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tallyclerk.store import CANONICAL_TABLES
from tallyclerk.store.schema import ingestion_batches, quarantine
from tests.reliability._procs import Launcher, count, rows, tallyclerk_env

GOOD = 20_000
SPREAD = 400  # one bad row after every SPREAD good ones
HEADER = (
    "order_id,placed_at,channel,ship_to_country,ship_to_postal,service_level,"
    "promised_delivery_date,order_value,currency,cancelled_at\n"
)
# Bad rows, in turn: each breaks exactly one rule of the orders kind.
BAD_ROWS = (
    "bad{n:05d},the second of March,web,US,90210,standard,2026-03-05,10.00,USD,\n",
    "bad{n:05d},,web,US,90210,standard,2026-03-05,10.00,USD,\n",
    ",2026-03-01T10:00:00-06:00,web,US,90210,standard,2026-03-05,10.00,USD,\n",
    "bad{n:05d},2026-03-01T10:00:00-06:00,web,US,90210,standard,2026-03-05,-4.00,USD,\n",
    "bad{n:05d},2026-03-01T10:00:00-06:00,web,US,90210,standard,2026-02-30,10.00,USD,\n",
)
CHUNK_BYTES = 64 * 1024
# Rows of about one chunk (a row is 70 to 80 bytes): the late kill leaves them unread.
LAST_CHUNK = CHUNK_BYTES // 70
ORDERS = CANONICAL_TABLES["orders"]


def _orders_file(path: Path) -> tuple[Path, set[int]]:
    """The file and the line numbers of its bad rows (the header is line 1)."""
    bad_lines: set[int] = set()
    line = 1
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER)
        for i in range(GOOD):
            line += 1
            handle.write(
                f"o{i:07d},2026-03-01T10:{i % 60:02d}:00-06:00,web,US,{10000 + i % 89999},"
                f"standard,2026-03-05,{i % 500}.{i % 100:02d},USD,\n"
            )
            if i % SPREAD == SPREAD // 2:
                n = len(bad_lines)
                line += 1
                handle.write(BAD_ROWS[n % len(BAD_ROWS)].format(n=n))
                bad_lines.add(line)
    return path, bad_lines


def _state(url: str) -> dict[str, Any]:
    return {
        "orders": count(url, ORDERS),
        "batches": rows(url, sa.select(ingestion_batches.c.batch_id, ingestion_batches.c.status)),
        "quarantine": count(url, quarantine),
    }


def _kill_after(
    launcher: Launcher, url: str, source: Path, *, records: int | None, chunks: int | None
) -> int:
    """Start `tallyclerk ingest -v` and SIGKILL it after `chunks` chunks, or once `records`
    records are merged (not committed); the records merged when it was killed."""
    env = tallyclerk_env(url, TALLYCLERK_INGEST__CHUNK_BYTES=str(CHUNK_BYTES))
    process = launcher.run(["ingest", "-v", str(source)], env)
    seen = merged = 0
    for line in process.follow(timeout=120):
        if "not yet committed" in line:
            seen += 1
            merged += int(line.split("chunk of ", 1)[1].split(" ", 1)[0])
            if (chunks is not None and seen >= chunks) or (
                records is not None and merged >= records
            ):
                break
    assert process.kill() == -9, f"the ingest ended on its own:\n{process.output()}"
    return merged


@pytest.mark.slow
def test_kill_mid_ingest_then_restart_lands_every_row_once(
    launcher: Launcher, store_url: str, tmp_path: Path
) -> None:
    source, bad_lines = _orders_file(tmp_path / "orders.csv")
    total = GOOD + len(bad_lines)
    env = tallyclerk_env(store_url)
    # The schema first, so the kills land in the data, not in the migrations.
    code, output = launcher.run_to_end(["init"], env)
    assert code == 0, output
    empty = _state(store_url)
    assert empty == {"orders": 0, "batches": [], "quarantine": 0}

    # Early: three chunks merged. Late: the records of every chunk but about the last one
    # merged; the kill comes while the last is read and merged, before the commit.
    early = _kill_after(launcher, store_url, source, records=None, chunks=3)
    assert 0 < early < total
    assert _state(store_url) == empty
    late = _kill_after(launcher, store_url, source, records=total - LAST_CHUNK, chunks=None)
    assert early < late < total
    assert _state(store_url) == empty

    # The same command run to its end (exit 1: records were quarantined).
    code, output = launcher.run_to_end(["ingest", str(source)], env)
    assert code == 1, output
    ((first_batch, status),) = _state(store_url)["batches"]
    assert status == "landed"
    assert count(store_url, ORDERS) == GOOD
    assert rows(store_url, sa.select(sa.func.count(sa.distinct(ORDERS.c.order_id)))) == [(GOOD,)]
    assert count(store_url, ORDERS, ORDERS.c.order_id.like("bad%")) == 0
    q = quarantine.c
    held = rows(store_url, sa.select(q.line, q.source, q.status, q.batch_id))
    assert sorted(line for line, *_ in held) == sorted(bad_lines)  # each bad row once
    assert {(s, st, b) for _, s, st, b in held} == {(str(source.resolve()), "open", first_batch)}
    b = ingestion_batches.c
    counts = rows(store_url, sa.select(b.stored, b.updated, b.duplicate, b.quarantined))
    assert counts == [(GOOD, 0, 0, len(bad_lines))]
    stored = rows(store_url, sa.select(ORDERS).order_by(ORDERS.c.order_id))

    # The same file again: nothing new; its quarantine replaces the older one.
    code, output = launcher.run_to_end(["ingest", str(source)], env)
    assert code == 1, output
    batches = rows(
        store_url,
        sa.select(b.batch_id, b.status, b.stored, b.updated, b.duplicate, b.quarantined).order_by(
            b.batch_id
        ),
    )
    assert len(batches) == 2
    second = batches[1][0]
    assert batches[1][1:] == ("landed", 0, 0, GOOD, len(bad_lines))
    assert rows(store_url, sa.select(ORDERS).order_by(ORDERS.c.order_id)) == stored
    still_open = rows(store_url, sa.select(q.line, q.batch_id).where(q.status == "open"))
    assert sorted(line for line, _ in still_open) == sorted(bad_lines)
    assert {batch for _, batch in still_open} == {second}
    closed = rows(store_url, sa.select(q.line, q.resolved_batch_id).where(q.status == "replayed"))
    assert sorted(line for line, _ in closed) == sorted(bad_lines)
    assert {batch for _, batch in closed} == {second}
    print(
        f"{total} records ({len(bad_lines)} bad); killed after {early} and {late} merged; "
        f"then {GOOD} stored and {len(bad_lines)} quarantined once, then {GOOD} duplicates"
    )
