"""`tallyclerk experience` end to end: tables by default, --ids, --json, friendly errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tallyclerk.cli import app
from tests.support import EASTBRIDGE, WESTCOAST, tiny_store
from tests.unit.test_experience import records

runner = CliRunner()
AS_OF = "2026-06-01"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("experience-cli")
    store = tiny_store(folder, contracts=(WESTCOAST, EASTBRIDGE), **records())
    store.close()
    return f"duckdb:///{folder / 'tiny.duckdb'}"


def invoke(db: str, *args: str) -> str:
    result = runner.invoke(app, ["--db", db, "experience", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_help_has_examples() -> None:
    result = runner.invoke(app, ["experience", "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    assert "tallyclerk experience --period" in result.output


def test_tables_by_default(db: str) -> None:
    output = invoke(db, "--period", "2026-03", "--as-of", AS_OF)
    for title in ("Perfect orders", "Deliveries", "Damage", "Feedback", "Packaging audits"):
        assert title in output
    assert "westcoast" in output
    assert "eastbridge" in output
    assert "all providers" in output
    assert "25.00%" in output  # westcoast perfect orders 2/8, damage rate 2/8
    assert "2/8" in output
    assert "w2_late_carrier" not in output  # ids only with --ids


def test_ids_lists_the_orders_behind_each_figure(db: str) -> None:
    output = invoke(db, "--period", "2026-03", "--as-of", AS_OF, "--provider", "westcoast", "--ids")
    assert "eastbridge" not in output
    assert "w3_late_3pl_damaged" in output
    assert "w5_wrong_line" in output


def test_json_document(db: str) -> None:
    output = invoke(db, "--period", "2026-03..2026-03", "--as-of", AS_OF, "--json", "-n", "1")
    doc = json.loads(output)
    assert (doc["period_start"], doc["period_end"]) == ("2026-03-01", "2026-03-31")
    assert [p["provider"] for p in doc["providers"]] == ["eastbridge", "westcoast"]
    west = doc["providers"][1]
    assert west["perfect_order"]["rate"] == {
        "metric": "perfect_order_rate",
        "value": 0.25,
        "numerator": 2,
        "denominator": 8,
    }
    late = west["perfect_order"]["reasons"][0]
    assert late["key"] == "late_delivery"
    assert late["orders"] == {"total": 2, "ids": ["w2_late_carrier"], "truncated": True}
    causes = {c["key"]: c["count"] for c in west["delivery"]["causes"]}
    assert causes == {"late_3pl": 1, "late_carrier": 1}
    assert west["damage"]["damage_rate"] == 0.25
    assert west["misship"]["misshipped"]["count"] == 2
    assert west["feedback"]["distribution"] == {"1": 1, "2": 2, "3": 1, "5": 1}
    assert doc["total"]["provider"] is None
    assert doc["total"]["feedback"]["responses"] == 8
    box = next(i for i in west["audits"]["items"] if i["checklist_item"] == "box")
    assert box["failed_audits"]["ids"] == ["a2"]


@pytest.mark.parametrize("period", ["March", "2026-13", "2026-06..2026-01"])
def test_a_bad_period_is_one_line(db: str, period: str) -> None:
    result = runner.invoke(app, ["--db", db, "experience", "--period", period])
    assert result.exit_code == 2
    assert "error:" in result.output
    assert "--period" in result.output
    assert "Traceback" not in result.output
