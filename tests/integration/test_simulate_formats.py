"""The simulated data written as Shopify webhooks and 3PL X12 files lands exactly as the CSVs do."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tallyclerk.connectors import ParseOptions
from tallyclerk.connectors.x12 import X12Connector, load_profile
from tallyclerk.connectors.x12._reader import read
from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.domain import KINDS_BY_NAME
from tallyclerk.ingest import IngestRequest, IngestRun, count_quarantine, ingest_sources
from tallyclerk.settings import Settings
from tallyclerk.simulate import simulate
from tallyclerk.simulate._formats import RealFormats, _Clock, write_real_formats
from tallyclerk.store import CANONICAL_TABLES, Store, open_store

SEED = 3
ORDERS = 1200
CONVERTED = (
    "orders",
    "order_lines",
    "shipments",
    "shipment_lines",
    "inventory_snapshots",
    "receipts",
    "returns",
)


@dataclass(frozen=True)
class Loaded:
    """The same simulation loaded from canonical CSVs and from the real formats."""

    canonical: Store
    real: Store
    formats: RealFormats
    runs: list[IngestRun]


def _simulate(out: Path) -> None:
    simulate(out, ORDERS, seed=SEED, start=date(2026, 1, 1), months=2)


def _open(path: Path, data: Path) -> Store:
    store = open_store(Settings(database_url=f"duckdb:///{path}"))
    with store.begin() as connection:
        for contract_path in sorted((data / "contracts").glob("*.yaml")):
            contract = load_contract(contract_path)
            add_contract(connection, contract, contract_path.read_text("utf-8"), contract_path.name)
    return store


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """Two copies of one simulation; the second converted, both loaded into fresh stores."""
    base = tmp_path_factory.mktemp("real-formats")
    canonical_dir, real_dir = base / "canonical", base / "real"
    _simulate(canonical_dir)
    _simulate(real_dir)
    formats = write_real_formats(real_dir)
    canonical = _open(base / "canonical.duckdb", canonical_dir)
    real = _open(base / "real.duckdb", real_dir)
    try:
        runs = [ingest_sources(canonical, [canonical_dir], IngestRequest())]
        runs.append(ingest_sources(real, [formats.canonical_dir], IngestRequest()))
        runs.append(ingest_sources(real, [formats.shopify_dir], IngestRequest()))
        for provider, directory in formats.x12_dirs.items():
            request = IngestRequest(provider_id=provider, profile=formats.profile(provider))
            runs.append(ingest_sources(real, [directory], request))
        yield Loaded(canonical, real, formats, runs)
    finally:
        canonical.close()
        real.close()


def _value(value: object) -> object:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, Decimal):
        return value.normalize()
    return value


def _rows(store: Store, kind: str) -> list[tuple[object, ...]]:
    table = CANONICAL_TABLES[kind]
    columns = [table.c[name] for name in KINDS_BY_NAME[kind].column_names]
    with store.connect() as connection:
        rows = [tuple(_value(v) for v in row) for row in connection.execute(sa.select(*columns))]
    return sorted(rows, key=repr)


def test_the_converted_directory_holds_the_real_formats_instead(loaded: Loaded) -> None:
    formats = loaded.formats
    data = formats.canonical_dir
    for kind in CONVERTED:
        assert not (data / f"{kind}.csv").exists(), kind
    for kind in ("adjustments", "releases", "tracking_events", "invoice_lines", "products"):
        assert (data / f"{kind}.csv").is_file(), kind
    assert formats.kept == {}
    assert formats.converted["orders"] == ORDERS
    assert set(formats.x12_dirs) == {"eastbridge", "westcoast"}
    assert sorted(p.name for p in formats.shopify_dir.iterdir()) == [
        "orders-2026-01.jsonl",
        "orders-2026-02.jsonl",
    ]
    lines = sum(len(p.read_text("utf-8").splitlines()) for p in formats.shopify_dir.glob("*.jsonl"))
    assert lines == formats.documents["shopify"] == ORDERS
    edi = list((data / "x12").rglob("*.edi"))
    assert len(edi) == sum(formats.files[code] for code in ("945", "846", "943", "944", "180"))
    assert (data / "x12" / "westcoast" / "945-LAX1-20260102.edi").is_file()
    assert {p.name.split("-")[1] for p in (data / "x12" / "eastbridge").iterdir()} == {
        "EWR1",
        "DFW1",
    }
    with (formats.shopify_dir / "orders-2026-01.jsonl").open(encoding="utf-8") as handle:
        first = json.loads(handle.readline())
    assert first["id"] == "ORD-00000001"
    assert first["source_name"] == "web"
    assert first["note_attributes"] == [{"name": "Promised delivery date", "value": "2026-01-09"}]


def test_nothing_is_quarantined(loaded: Loaded) -> None:
    for run in loaded.runs:
        bad = [(b.source, b.status, [r.reason for r in b.rejects[:3]]) for b in run.batches]
        assert run.ok, [entry for entry in bad if entry[1] != "landed" or entry[2]]
        assert all(b.quarantined == 0 for b in run.batches)
    shopify_run = loaded.runs[2]
    assert shopify_run.unrecognized == []
    assert {b.kind for b in shopify_run.batches} == {"shopify"}
    for run in loaded.runs[3:]:
        assert run.unrecognized == []
        assert {b.kind for b in run.batches} == {"x12"}
    for store in (loaded.canonical, loaded.real):
        with store.connect() as connection:
            assert count_quarantine(connection) == 0


@pytest.mark.parametrize("kind", CONVERTED)
def test_every_converted_table_is_equal(loaded: Loaded, kind: str) -> None:
    expected = _rows(loaded.canonical, kind)
    got = _rows(loaded.real, kind)
    assert expected, kind
    assert len(got) == len(expected)
    differ = [(e, g) for e, g in zip(expected, got, strict=True) if e != g]
    assert not differ, differ[:3]


def test_the_945_files_parse_with_no_envelope_issue(loaded: Loaded) -> None:
    formats = loaded.formats
    seen = 0
    controls: set[str] = set()
    for provider, directory in formats.x12_dirs.items():
        options = ParseOptions(provider_id=provider, profile=formats.profile(provider))
        for path in sorted(directory.glob("945-*.edi")):
            document = read(path.read_bytes(), path.name)
            (interchange,) = document.interchanges
            assert not interchange.issues, path.name
            assert interchange.control not in controls
            controls.add(interchange.control)
            (group,) = interchange.groups
            assert not group.issues, path.name
            assert group.functional_id == "SW"
            for tx in group.sets:
                assert not tx.issues, (path.name, tx.control)
                assert tx.code == "945"
            parsed = X12Connector().parse(path.read_bytes(), options)
            assert parsed.rejects == [], path.name
            assert parsed.notes == [], path.name
            assert parsed.count("shipments") == len(group.sets)
            ack = parsed.outbound[0].content.decode()
            assert "AK9*A*" in ack, path.name
            seen += len(group.sets)
    assert seen == formats.documents["945"] == formats.converted["shipments"]


def test_each_profile_loads_and_reads_what_was_written(loaded: Loaded) -> None:
    for provider in loaded.formats.x12_dirs:
        profile = load_profile(loaded.formats.profile(provider))
        assert profile.provider == provider
        assert profile.interchange_id == provider.upper()
        assert [str(r) for r in profile.s945.packaging] == ["N9:PKG"]
        assert [str(r) for r in profile.s945.shipping_cost] == ["N9:FRT"]
        assert [str(r) for r in profile.s943.asn_id] == ["W06-04"]
        assert profile.s180.reason("ZM") == "missing_item"
        assert profile.s180.reason("ZZ") == "other"
        assert profile.s180.disposition("RS") == "restock"
        assert profile.s180.disposition("RF") == "refurbish"
        assert profile.s180.disposition("DI") == "dispose"


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def test_rows_a_real_format_cannot_carry_stay_canonical(tmp_path: Path) -> None:
    returns = KINDS_BY_NAME["returns"].column_names
    ok = ["RMA-1", "ORD-1", "westcoast", "LAX1", "SKU-1", "1", "damaged"]
    times = ["2026-01-05T10:00:00-08:00", "2026-01-06T11:30:00-08:00", "dispose"]
    zero = ["RMA-2", "ORD-2", "westcoast", "LAX1", "SKU-2", "0", "late", *times]
    star = ["RMA-3", "ORD-3", "westcoast", "LAX1", "SKU*3", "1", "late", *times]
    _write_csv(tmp_path / "returns.csv", list(returns), [[*ok, *times], zero, star])
    lines = KINDS_BY_NAME["shipment_lines"].column_names
    _write_csv(tmp_path / "shipment_lines.csv", list(lines), [["SHP-9", "SKU-1", "1"]])
    _write_csv(tmp_path / "shipments.csv", list(KINDS_BY_NAME["shipments"].column_names), [])

    formats = write_real_formats(tmp_path)

    assert formats.converted == {"returns": 1}
    assert formats.kept == {"returns": 2, "shipment_lines": 1}
    with (tmp_path / "returns.csv").open(encoding="utf-8") as handle:
        kept = list(csv.DictReader(handle))
    assert [r["return_id"] for r in kept] == ["RMA-2", "RMA-3"]
    assert kept[1]["sku"] == "SKU*3"
    assert not (tmp_path / "shipments.csv").exists()
    assert (tmp_path / "shipment_lines.csv").read_text("utf-8").splitlines()[1] == "SHP-9,SKU-1,1"
    (edi,) = (tmp_path / "x12" / "westcoast").iterdir()
    assert edi.name == "180-LAX1-20260105.edi"
    text = edi.read_text("utf-8")
    assert "BGN*00*RMA-1*20260105*100000~" in text
    assert "DTM*009*20260106*113000*PS~" in text
    assert "RDR*DI*DA~" in text


def test_times_carry_the_time_code_of_the_offset_in_force() -> None:
    clock = _Clock({"EWR1": ZoneInfo("America/New_York")})
    # The hour the clocks fall back happens twice: the time code tells the two apart.
    assert clock.stamp("EWR1", "2026-11-01T01:30:00-04:00") == ("20261101", "013000", "ED")
    assert clock.stamp("EWR1", "2026-11-01T01:30:00-05:00") == ("20261101", "013000", "ES")
    # Written in the facility's local time, whatever offset the source used.
    assert clock.stamp("EWR1", "2026-11-01T06:30:00+00:00") == ("20261101", "013000", "ES")
    # An offset no time code names (and no known zone) goes out in UTC.
    assert clock.stamp("BOM1", "2026-01-05T10:00:00+05:30") == ("20260105", "043000", "UT")
    # A naive time stays local time with no code: ingest reads it in the facility's zone.
    assert clock.stamp("EWR1", "2026-01-05T10:00:00") == ("20260105", "100000", "")
