"""`tallyclerk reconcile` end to end: tables by default, JSON on request, findings kept."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tallyclerk.cli import app
from tallyclerk.cli._common import console
from tests.support import tiny_store

runner = CliRunner()

AS_OF = "2026-03-20T12:00:00Z"
WC = {"provider_id": "westcoast", "facility_id": "LAX1"}


def _store_url(tmp_path: Path) -> str:
    """A DuckDB store with one finding of three kinds, closed again for the CLI."""
    url = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    store = tiny_store(
        tmp_path,
        url=url,
        orders=[
            # Never released: placed 03-10, 24 hours of grace.
            {"order_id": "o-waiting", "placed_at": "2026-03-10T08:00:00Z"},
            # Released Mon 03-16 10:00 local, due by the end of that day, never shipped.
            {"order_id": "o-late", "placed_at": "2026-03-08T17:00:00Z"},
            # Released, shipped complete and on time: no finding.
            {"order_id": "o-fine", "placed_at": "2026-03-08T17:00:00Z"},
        ],
        order_lines=[
            {"order_id": "o-late", "line_no": 1, "sku": "A", "qty": 3},
            {"order_id": "o-fine", "line_no": 1, "sku": "A", "qty": 1},
        ],
        releases=[
            {"order_id": "o-late", **WC, "released_at": "2026-03-16T17:00:00Z"},
            {"order_id": "o-fine", **WC, "released_at": "2026-03-16T17:00:00Z"},
        ],
        shipments=[
            {
                "shipment_id": "s-fine",
                "order_id": "o-fine",
                **WC,
                "shipped_at": "2026-03-16T20:00:00Z",
            },
            # For an order nobody placed.
            {
                "shipment_id": "s-ghost",
                "order_id": "o-ghost",
                **WC,
                "shipped_at": "2026-03-17T18:00:00Z",
            },
        ],
        shipment_lines=[
            {"shipment_id": "s-fine", "sku": "A", "qty": 1},
            {"shipment_id": "s-ghost", "sku": "A", "qty": 1},
        ],
    )
    store.close()
    return url


def _run(url: str, *args: str) -> Any:
    result = runner.invoke(app, ["--db", url, "reconcile", "--as-of", AS_OF, *args])
    assert result.exit_code == 0, result.output
    return result


def test_help_has_examples() -> None:
    result = runner.invoke(app, ["reconcile", "--help"])
    assert result.exit_code == 0
    assert "Examples" in result.output
    assert "tallyclerk reconcile" in result.output


def test_tables_then_json_then_the_same_findings_again(tmp_path: Path) -> None:
    url = _store_url(tmp_path)

    first = _run(url)
    out = first.output
    assert "as of 2026-03-20 12:00 UTC: 3 findings" in out
    for title in ("Placed, never released", "Released, not shipped", "Shipment for an unknown"):
        assert title in out
    for subject in ("o-waiting", "o-late", "s-ghost"):
        assert subject in out
    assert "westcoast LAX1" in out
    assert " new " in out  # the status of a finding raised by this run
    assert "Stored: 3 new, 0 seen again, 0 reopened, 0 cleared" in out

    second = _run(url, "--json")
    doc = json.loads(second.output)
    assert doc["as_of"] == "2026-03-20T12:00:00+00:00"
    assert doc["recorded"] is True
    assert doc["sync"] == {"new": 0, "seen_again": 3, "reopened": 0, "cleared": 0}
    counts = {(c["kind"], c["provider_id"]): (c["count"], c["new"]) for c in doc["counts"]}
    assert counts == {
        ("never_released", None): (1, 0),
        ("not_shipped", "westcoast"): (1, 0),
        ("unknown_order", "westcoast"): (1, 0),
    }
    late = next(f for f in doc["findings"] if f["kind"] == "not_shipped")
    assert late["subject_id"] == "o-late"
    assert late["reason"] == (
        "released 2026-03-16 17:00 UTC to westcoast LAX1, due by the end of 2026-03-16 "
        "(local); 0 of 3 units shipped"
    )
    assert late["status"] == "open"
    assert late["since"] == "2026-03-17T06:59:59.999999+00:00"
    assert late["age_days"] == 3.21
    assert late["evidence"]["ordered_units"] == 3
    assert isinstance(late["finding_id"], int)


def test_filters_and_detect_only(tmp_path: Path) -> None:
    url = _store_url(tmp_path)

    only = _run(url, "--provider", "westcoast", "--kind", "not_shipped", "--no-record", "--json")
    doc = json.loads(only.output)
    assert doc["sync"] is None
    assert [(f["kind"], f["subject_id"], f["status"]) for f in doc["findings"]] == [
        ("not_shipped", "o-late", "not recorded")
    ]

    # Nothing was stored: a recorded run still finds all three new.
    recorded = _run(url, "--limit", "0")
    assert "Stored: 3 new" in recorded.output
    assert "Findings by kind and provider" in recorded.output

    # A longer grace lets the waiting order off.
    graced = json.loads(_run(url, "--grace-hours", "400", "--json").output)
    assert {f["kind"] for f in graced["findings"]} == {"not_shipped", "unknown_order"}
    assert graced["sync"]["cleared"] == 1


def test_unknown_kind_is_one_line_error(tmp_path: Path) -> None:
    url = _store_url(tmp_path)
    result = runner.invoke(app, ["--db", url, "reconcile", "--kind", "nope"])
    assert result.exit_code != 0
    assert "--kind nope is not a check" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("width", "line"),
    [
        # Too narrow for a reason column: the reason goes under its row, in full width.
        (60, "│     released 2026-03-16 17:00 UTC to westcoast LAX1,"),
        (80, "│     released 2026-03-16 17:00 UTC to westcoast LAX1, due by the end of"),
        # Wide: one line per finding, the reason in its own column.
        (
            160,
            "│ new    │ released 2026-03-16 17:00 UTC to westcoast LAX1, due by the end of "
            "2026-03-16 (local); 0 of 3 units shipped │",
        ),
    ],
)
def test_reasons_read_whole_at_any_width(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int, line: str
) -> None:
    """The reason is never squeezed into a column a few characters wide."""
    monkeypatch.setattr(console, "_width", width)
    out = _run(_store_url(tmp_path)).output
    assert line in out
    # The row, its subject whole (ids are given out by the store: any number).
    assert re.search(r"│ +\d+ +(│ )?o-late ", out), out
    assert all(len(text) <= width for text in out.splitlines())
