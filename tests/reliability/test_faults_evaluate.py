"""A kill in the middle of `tallyclerk evaluate` leaves every recorded run whole, or none.

Two simulated months (two providers with their contracts) are loaded, then copied; the copy
is evaluated once (February) without interruption: that run's results and credit lines are
the reference. On the
store itself, `tallyclerk evaluate` is killed (SIGKILL) at two moments aimed by pausing the
process inside the recording transaction (after the run row is written and before its
results; after everything is written and before the commit), then at random moments of
the length measured up to the commit. After each kill every recorded run must hold exactly
the reference's rows, or not be there at all. Then the same evaluation runs to its end and
records the reference's rows.
"""

from __future__ import annotations

import random
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from tallyclerk.store.schema import sla_burn, sla_credit_lines, sla_results, sla_runs
from tests.conftest import POSTGRES_ADMIN_URL
from tests.reliability._procs import Launched, Launcher, rows, tallyclerk_env

ORDERS = 1_000
PERIOD = "2026-02"  # a closed month: results and credit lines (burn rates are for open ones)
AS_OF = "2026-03-20T18:00:00"
TIMEZONE = "America/Chicago"
RECORDED = (sla_results, sla_credit_lines, sla_burn)
MARK = "RELIABILITY-PAUSED"

# Run inside the evaluate process before the command: pause (for the kill) at one point of
# the recording transaction, announced by a line on stderr.
PAUSE_BEFORE_RESULTS = f"""
import sys, time
from tallyclerk.sla import _repository

_row = _repository._result_row
_paused = []

def _result_row(run_id, m):
    if not _paused:  # the run row is written; no result row yet
        _paused.append(run_id)
        print("{MARK} run", run_id, file=sys.stderr, flush=True)
        time.sleep(120)
    return _row(run_id, m)

_repository._result_row = _result_row
"""
PAUSE_BEFORE_COMMIT = f"""
import sys, time
from tallyclerk.sla import _repository

_record = _repository.record_run

def record_run(connection, **kwargs):
    run_id = _record(connection, **kwargs)  # everything is written, nothing committed
    print("{MARK} run", run_id, file=sys.stderr, flush=True)
    time.sleep(120)
    return run_id

_repository.record_run = record_run
"""


def _build(url: str, data: Path) -> None:
    """The simulated months with their contracts, loaded."""
    from tallyclerk.contracts import load_contract
    from tallyclerk.contracts._repository import add_contract
    from tallyclerk.ingest import ingest_paths
    from tallyclerk.settings import Settings
    from tallyclerk.simulate import simulate
    from tallyclerk.store import open_store

    simulate(data, ORDERS, seed=11, start=date(2026, 1, 1), months=2)
    settings = Settings(database_url=url, brand={"timezone": TIMEZONE})
    store = open_store(settings)
    try:
        with store.begin() as connection:
            for path in sorted((data / "contracts").glob("*.yaml")):
                text = path.read_text(encoding="utf-8")
                add_contract(connection, load_contract(path), text, path.name)
        run = ingest_paths(store, [data], settings=settings)
        assert run.ok, [(b.kind, b.status, b.message) for b in run.batches if not b.ok]
    finally:
        store.close()
    if url.startswith("postgresql"):  # planner statistics, as autovacuum would gather them
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("ANALYZE")


@contextmanager
def _copy(url: str, folder: Path) -> Iterator[str]:
    """A copy of the store (a file copy, or a PostgreSQL database made from it as template)."""
    if url.startswith("duckdb:///"):
        source = Path(url.removeprefix("duckdb:///"))
        target = folder / "copy.duckdb"
        shutil.copyfile(source, target)
        wal = source.with_name(source.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, target.with_name(target.name + ".wal"))
        yield f"duckdb:///{target}"
        return
    base, original = url.rsplit("/", 1)
    name = f"tallyclerk_copy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{original}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _plain(value: Any) -> Any:
    return round(value, 9) if isinstance(value, float) else value


def _recorded(url: str) -> dict[int, dict[str, list[tuple[Any, ...]]]]:
    """Per recorded run: its rows of each table, without the run id, sorted."""
    runs = [run_id for (run_id,) in rows(url, sa.select(sla_runs.c.run_id))]
    out: dict[int, dict[str, list[tuple[Any, ...]]]] = {run_id: {} for run_id in runs}
    for table in RECORDED:
        found: dict[int, list[tuple[Any, ...]]] = {}
        for row in rows(url, sa.select(table)):
            found.setdefault(row[0], []).append(tuple(_plain(v) for v in row[1:]))
        orphans = set(found) - set(runs)
        assert not orphans, f"{table.name} holds rows of runs that were never recorded: {orphans}"
        for run_id in runs:
            out[run_id][table.name] = sorted(found.get(run_id, []), key=repr)
    return out


def _whole_or_absent(url: str, reference: dict[str, list[tuple[Any, ...]]]) -> int:
    """Every recorded run equals the reference; how many there are."""
    recorded = _recorded(url)
    for run_id, tables in recorded.items():
        assert tables == reference, f"run {run_id} is not whole"
    return len(recorded)


def _writing(url: str) -> int:
    """PostgreSQL sessions of the database inside a transaction that has written."""
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND backend_type = 'client backend'"
            " AND backend_xid IS NOT NULL"
        ).fetchone()
    assert found is not None
    return int(found[0])


def _paused(process: Launched) -> str:
    for line in process.follow(timeout=120):
        if MARK in line:
            return line
    pytest.fail(f"the evaluation ended without reaching the pause:\n{process.output()}")


@pytest.mark.slow
def test_kill_mid_evaluation_leaves_whole_runs_or_none(
    launcher: Launcher, store_url: str, tmp_path: Path
) -> None:
    _build(store_url, tmp_path / "data")
    env = tallyclerk_env(store_url, TALLYCLERK_BRAND__TIMEZONE=TIMEZONE)
    duckdb = store_url.startswith("duckdb")
    args = ["evaluate", "--period", PERIOD, "--as-of", AS_OF, "--json"]
    windows = ((0.2, 0.6), (0.6, 1.0)) if duckdb else ((0.2, 0.7),)

    with _copy(store_url, tmp_path) as copy:
        # The uninterrupted run on the copy, while the aimed kills go on beside it.
        clean = launcher.run(args, tallyclerk_env(copy, TALLYCLERK_BRAND__TIMEZONE=TIMEZONE))

        # Aimed: inside the recording transaction, before the results and before the commit.
        # Killed there, the run is not recorded at all.
        lengths = []
        for prelude in (PAUSE_BEFORE_RESULTS, PAUSE_BEFORE_COMMIT):
            started = time.monotonic()
            process = launcher.run(args, env, prelude=prelude)
            _paused(process)
            lengths.append(time.monotonic() - started)
            if not duckdb:  # the writes are there, uncommitted, when the kill comes
                assert _writing(store_url) == 1
            assert process.kill() == -9
            assert _recorded(store_url) == {}

        assert clean.wait(180) == 0, clean.output()
        (reference,) = _recorded(copy).values()
    assert reference["sla_results"], reference
    assert reference["sla_credit_lines"], reference

    # Random moments of the length measured up to the commit (the last may reach it).
    full = min(lengths)
    chance = random.Random()
    outcomes = []
    for low, high in windows:
        share = chance.uniform(low, high)
        process = launcher.run(args, env)
        time.sleep(share * full)
        code = process.kill()
        outcomes.append((round(share, 2), code))
        assert code in (-9, 0), process.output()
        _whole_or_absent(store_url, reference)
    killed = _whole_or_absent(store_url, reference)

    # Run to its end, it records exactly what the uninterrupted run on the copy did.
    process = launcher.run(args, env)
    assert process.wait(180) == 0, process.output()
    assert _whole_or_absent(store_url, reference) == killed + 1
    print(f"evaluation {full:.1f} s to the commit; kills at (share, exit): {outcomes}")
