"""End to end through the command line: real formats in, records out, bad ones named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from tallyclerk.cli import app
from tallyclerk.settings import Settings
from tallyclerk.store import open_store
from tallyclerk.store.schema import CANONICAL_TABLES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "profiles"
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    return f"duckdb:///{tmp_path / 'cli.duckdb'}"


def _run(db: str, *args: str) -> Result:
    return runner.invoke(app, ["--db", db, *args])


def _count(url: str, kind: str) -> int:
    store = open_store(Settings(database_url=url))
    try:
        with store.connect() as connection:
            table = CANONICAL_TABLES[kind]
            return int(
                connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            )
    finally:
        store.close()


def test_a_3pl_export_lands_through_its_csv_profile(db: str, tmp_path: Path) -> None:
    export = tmp_path / "heartland-shipments.csv"
    shutil.copy(EXAMPLES / "heartland-shipments.csv", export)
    result = _run(
        db, *["ingest", str(export), "--profile", str(EXAMPLES / "heartland-shipments.yaml")]
    )
    assert _count(db, "shipments") > 0
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1), result.output
    again = _run(
        db, *["ingest", str(export), "--profile", str(EXAMPLES / "heartland-shipments.yaml")]
    )
    assert again.exit_code == result.exit_code
    assert "landed" in again.output


def test_a_profile_for_another_kind_or_a_missing_column_is_named(db: str, tmp_path: Path) -> None:
    export = tmp_path / "inventory.csv"
    export.write_text("Artikelnummer;Lager\nA;Lager Nord\n", encoding="cp1252")
    result = _run(db, *["ingest", str(export), "--profile", str(EXAMPLES / "inventory-eu.yaml")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_x12_samples_land_with_a_997_each(db: str, tmp_path: Path, samples: Path) -> None:
    acks = tmp_path / "acks"
    source = samples / "edi" / "x12" / "944" / "stupidedi_RE944_pass_1.edi"
    result = _run(db, *["ingest", str(source), "--provider", "acme", "--ack-dir", str(acks)])
    assert result.exit_code == 0, result.output
    assert _count(db, "receipts") == 1
    assert len(list(acks.iterdir())) == 1
    listed = _run(db, *["outbox", "--document", "997"])
    assert listed.exit_code == 0
    assert "997" in listed.output


def test_a_broken_x12_set_is_reported_by_segment(db: str, samples: Path) -> None:
    source = samples / "edi" / "x12" / "945" / "x12-types_test_945_parse_1.edi"
    result = _run(db, *["ingest", str(source), "--provider", "waqe"])
    assert result.exit_code == 1
    assert "segment" in result.output
    assert "SE01" in result.output
    assert "Traceback" not in result.output
    listed = _run(db, *["quarantine", "list"])
    assert "SE01" in listed.output
    as_json = _run(db, *["quarantine", "list", "--json"])
    assert as_json.exit_code == 0, as_json.output
    record = json.loads(as_json.output.splitlines()[0])
    assert record["position"] == "segment 18 (SE)"
    assert record["record"].startswith("ST*945*")


def test_shopify_and_tracking_payloads_are_recognized(db: str, samples: Path) -> None:
    order = samples / "shopify" / "shopify_python_api_fixtures" / "order.json"
    tracking = samples / "carrier_tracking" / "pyaftership_fixtures" / "get_trackings.json"
    result = _run(db, *["ingest", str(order), str(tracking)])
    assert result.exit_code in (0, 1), result.output
    assert _count(db, "orders") == 1
    assert _count(db, "tracking_events") > 10


def test_release_writes_one_940_per_order_and_not_twice(db: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text(
        "order_id,placed_at,ship_to_country,ship_to_postal,service_level\n"
        "O-1,2026-03-02T09:00:00+00:00,US,94107,standard\n"
        "O-2,2026-03-02T10:00:00+00:00,US,10001,expedited\n"
    )
    (data / "order_lines.csv").write_text(
        "order_id,line_no,sku,qty\nO-1,1,SKU-1,2\nO-1,2,SKU-2,1\nO-2,1,SKU-1,5\n"
    )
    (data / "releases.csv").write_text(
        "order_id,provider_id,facility_id,released_at\n"
        "O-1,westcoast,LAX1,2026-03-02T09:05:00+00:00\n"
        "O-2,westcoast,LAX1,2026-03-02T10:05:00+00:00\n"
    )
    assert _run(db, *["ingest", str(data)]).exit_code == 0
    out = tmp_path / "out"
    first = _run(db, *["release", "--provider", "westcoast", "--out", str(out)])
    assert first.exit_code == 0, first.output
    files = sorted(out.iterdir())
    assert len(files) == 2
    second = _run(db, *["release", "--provider", "westcoast", "--out", str(out)])
    assert second.exit_code == 0
    assert "0 warehouse shipping order" in second.output
    resent = _run(
        db, *["release", "--provider", "westcoast", "--since", "2026-03-02", "--out", str(out)]
    )
    assert "2 warehouse shipping order" in resent.output
    # The 940s read back as the same releases.
    roundtrip = tmp_path / "rt.duckdb"
    back = _run(
        f"duckdb:///{roundtrip}",
        *["ingest", str(files[0]), "--provider", "westcoast"],
    )
    assert back.exit_code == 0, back.output
    assert _count(f"duckdb:///{roundtrip}", "releases") == 1
    unknown = _run(db, *["release", "--provider", "nobody", "--out", str(out)])
    assert unknown.exit_code == 2
    assert "nobody" in unknown.output


def test_watch_once_takes_a_dropped_file(db: str, tmp_path: Path, samples: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(samples / "edi" / "x12" / "943" / "stupidedi_AR943_pass_1.edi", inbox / "asn.edi")
    result = _run(db, *["watch", str(inbox), "--provider", "acme", "--once", "--settle", "0"])
    assert result.exit_code == 0, result.output
    assert "processed" in result.output
    assert (inbox / "processed" / "asn.edi").is_file()
    assert (inbox / "processed" / "asn.edi.report.json").is_file()
    assert len(list((inbox / "outbound").iterdir())) == 1
    assert _count(db, "receipts") == 1
