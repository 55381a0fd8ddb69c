"""The embedded store shared between processes: wait for the holder, never fail at once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tallyclerk.cli import app
from tallyclerk.store import StoreBusyError, StoreGate, open_store, open_waiting

_HOLD = """
import sys, time
import duckdb
connection = duckdb.connect(sys.argv[1])
connection.execute("select 1")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
connection.close()
"""


def _hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the DuckDB file, as a long CLI command would."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "holding"
    process.stdout.close()
    return process


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "shared.duckdb"
    open_store(url=f"duckdb:///{path}").close()
    return path


def test_an_operation_waits_for_the_other_process_and_then_runs(db_file: Path) -> None:
    holder = _hold(db_file, 1.5)
    started = time.monotonic()
    store = open_waiting(f"duckdb:///{db_file}", wait=30)
    waited = time.monotonic() - started
    store.close()
    holder.wait(timeout=30)
    assert waited > 0.3  # it really waited for the file


def test_a_wait_that_runs_out_says_why(db_file: Path) -> None:
    holder = _hold(db_file, 5)
    try:
        with pytest.raises(StoreBusyError, match="another process"):
            open_waiting(f"duckdb:///{db_file}", wait=0.3)
    finally:
        holder.kill()
        holder.wait()


def test_the_gate_releases_the_file_between_operations(db_file: Path) -> None:
    gate = StoreGate(f"duckdb:///{db_file}", wait=5)
    assert gate.per_operation
    with gate.store() as store, store.connect():
        pass
    # Between operations another process can open the file.
    probe = subprocess.run(
        [sys.executable, "-c", _HOLD, str(db_file), "0"], capture_output=True, text=True
    )
    assert probe.returncode == 0, probe.stderr
    gate.close()


def test_a_command_run_beside_a_busy_server_waits_its_turn(
    db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALLYCLERK_PASSWORD", "long enough")
    holder = _hold(db_file, 1.0)
    result = CliRunner().invoke(
        app, ["--db", f"duckdb:///{db_file}", "user", "add", "ada", "--role", "admin"]
    )
    holder.wait(timeout=30)
    assert result.exit_code == 0, result.output
    assert "Added admin user ada" in result.output


def test_threads_of_one_process_take_turns_on_the_file(db_file: Path) -> None:
    import threading

    gate = StoreGate(f"duckdb:///{db_file}", wait=30)
    failures: list[BaseException] = []
    done = []

    def work() -> None:
        try:
            for _ in range(15):
                with gate.store() as store, store.begin() as connection:
                    connection.exec_driver_sql("select 1")
                done.append(1)
        except BaseException as exc:  # the assertion below reports it
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gate.close()
    assert failures == []
    assert len(done) == 8 * 15
    # Released at the end: another process can open the file.
    probe = subprocess.run(
        [sys.executable, "-c", _HOLD, str(db_file), "0"], capture_output=True, text=True
    )
    assert probe.returncode == 0, probe.stderr
