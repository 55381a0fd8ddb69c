"""The command line end to end: what a user types, what they see, what lands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tallyclerk.cli import app
from tests.conftest import FIXTURES

runner = CliRunner()


def _commands() -> list[list[str]]:
    """Every command of the app, groups walked: a new command is covered without listing it."""
    import typer.main

    def walk(command: Any, path: list[str]) -> list[list[str]]:
        if hasattr(command, "commands"):  # a group
            out: list[list[str]] = []
            for name, sub in sorted(command.commands.items()):
                out += walk(sub, [*path, name])
            return out
        return [path]

    return walk(typer.main.get_command(app), [])


COMMANDS = _commands()


def test_the_command_list_is_complete() -> None:
    names = {" ".join(c) for c in COMMANDS}
    assert {"ingest", "evaluate", "reconcile", "billing audit", "findings resolve"} <= names
    assert len(names) >= 27


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert "tallyclerk " + command[0] in result.output


def test_ingest_reports_and_exits_1_when_records_are_quarantined(
    duckdb_url: str, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "products.csv").write_text(
        "sku,name,unit_cost,weight_kg,units_per_pallet\n"
        "SKU-1,Tee,4.10,0.2,400\n"
        "SKU-2,Mug,abc,0.4,200\n"
    )
    result = runner.invoke(app, ["--db", duckdb_url, "ingest", str(drop)])
    assert result.exit_code == 1
    assert "products.csv:3" in result.output
    assert '"abc" is not a decimal number' in result.output

    listed = runner.invoke(app, ["--db", duckdb_url, "quarantine", "list"])
    assert listed.exit_code == 0
    assert "unit_cost" in listed.output

    (drop / "products.csv").write_text(
        "sku,name,unit_cost,weight_kg,units_per_pallet\n"
        "SKU-1,Tee,4.10,0.2,400\n"
        "SKU-2,Mug,3.00,0.4,200\n"
    )
    replay = runner.invoke(app, ["--db", duckdb_url, "quarantine", "replay"])
    assert replay.exit_code == 0, replay.output
    assert "0 still in quarantine" in replay.output

    again = runner.invoke(app, ["--db", duckdb_url, "ingest", str(drop / "products.csv")])
    assert again.exit_code == 0
    batches = runner.invoke(app, ["--db", duckdb_url, "batches"])
    assert "products" in batches.output


def test_contract_check_locates_errors_and_add_stores_versions(
    duckdb_url: str, tmp_path: Path
) -> None:
    good = FIXTURES / "contracts" / "westcoast.yaml"
    broken = tmp_path / "broken.yaml"
    broken.write_text(good.read_text().replace("target: 0.995", "target: 1.5"))
    result = runner.invoke(app, ["contract", "check", str(good), str(broken)])
    assert result.exit_code == 1
    assert "broken.yaml:" in result.output
    assert "metrics.order_accuracy_rate.target" in result.output

    added = runner.invoke(app, ["--db", duckdb_url, "contract", "add", str(good)])
    assert added.exit_code == 0, added.output
    assert "added" in added.output
    again = runner.invoke(app, ["--db", duckdb_url, "contract", "add", str(good)])
    assert "unchanged" in again.output
    listed = runner.invoke(app, ["--db", duckdb_url, "contract", "list"])
    assert "westcoast" in listed.output


def test_export_parquet_writes_every_table(duckdb_url: str, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,placed_at,order_value,currency\no1,2026-03-01T10:00:00Z,12.50,USD\n"
    )
    assert runner.invoke(app, ["--db", duckdb_url, "ingest", str(orders)]).exit_code == 0
    out = tmp_path / "parquet"
    result = runner.invoke(app, ["--db", duckdb_url, "export", "parquet", str(out)])
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("*.parquet"))) == 15
    table = pq.read_table(out / "orders.parquet")
    assert table.num_rows == 1
    assert str(table.schema.field("order_value").type) == "decimal128(18, 4)"


def test_errors_reach_the_user_as_one_line_without_a_trace(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tallyclerk", "--db", "mysql://nowhere/x", "init"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "unsupported database 'mysql'" in result.stderr
    assert "Traceback" not in result.stderr

    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "tallyclerk",
            "--db",
            f"duckdb:///{tmp_path}/s.duckdb",
            "ingest",
            str(tmp_path / "nope.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "no such file or directory" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_init_creates_then_reports_up_to_date(duckdb_url: str) -> None:
    first = runner.invoke(app, ["--db", duckdb_url, "init"])
    assert "Created the store" in first.output
    second = runner.invoke(app, ["--db", duckdb_url, "init"])
    assert "is up to date" in second.output


def test_replay_a_batch_from_the_archive(duckdb_url: str, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,placed_at\no1,2026-03-01T10:00:00Z\n")
    assert runner.invoke(app, ["--db", duckdb_url, "ingest", str(orders)]).exit_code == 0
    orders.unlink()
    result = runner.invoke(app, ["--db", duckdb_url, "replay", "1"])
    assert result.exit_code == 0, result.output
    assert "orders.csv" in result.output
    missing = runner.invoke(app, ["--db", duckdb_url, "replay", "99"])
    assert missing.exit_code == 2
    assert "there is no batch 99" in missing.output
