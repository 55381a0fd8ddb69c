"""External formats through the store: X12, Shopify and tracking payloads as batches."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from tallyclerk.connectors.x12._reader import read
from tallyclerk.connectors.x12._writer import GroupDraft, Party, SetDraft, interchange_text
from tallyclerk.ingest import (
    IngestRequest,
    SourceOptions,
    ingest_payload,
    ingest_sources,
    list_quarantine,
    replay_quarantine,
)
from tallyclerk.settings import Settings
from tallyclerk.store import Store
from tallyclerk.store.schema import CANONICAL_TABLES, outbound_documents

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _x12(path: Path, code: str, functional: str, bodies: list[list[tuple[str, ...]]]) -> Path:
    sets = [SetDraft(code, f"{i + 1:04d}", list(body)) for i, body in enumerate(bodies)]
    text = interchange_text(
        Party("ZZ", "WESTCOAST"),
        Party("ZZ", "BRAND"),
        41,
        [GroupDraft(functional, 41, sets=sets)],
        at=AT,
    )
    path.write_text(text)
    return path


def _rows(store: Store, kind: str) -> list[dict[str, object]]:
    table = CANONICAL_TABLES[kind]
    with store.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.select(table))]


def _943(path: Path) -> Path:
    return _x12(
        path,
        "943",
        "AR",
        [
            [
                ("W06", "F", "ASN-7", "20260301"),
                ("N1", "WH", "West", "91", "reno-1"),
                ("W04", "40", "EA", "", "SK", "SKU-1"),
                ("W04", "10", "EA", "", "SK", "SKU-2"),
                ("W03", "50"),
            ]
        ],
    )


def _944(path: Path, qty: str = "38") -> Path:
    return _x12(
        path,
        "944",
        "RE",
        [
            [
                ("W17", "F", "20260302", "WR-1", "ASN-7"),
                ("N1", "WH", "West", "91", "reno-1"),
                ("W07", qty, "EA", "", "SK", "SKU-1"),
                ("W14", "38"),
            ]
        ],
    )


def test_an_asn_then_its_receipt_advice_complete_one_receipt(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    request = IngestRequest(provider_id="westcoast")
    run = ingest_sources(store, [_943(tmp_path / "asn.edi")], request, settings=settings)
    assert [b.status for b in run.batches] == ["landed"]
    assert run.batches[0].stored == 2
    run = ingest_sources(store, [_944(tmp_path / "receipt.edi")], request, settings=settings)
    assert run.batches[0].updated == 1
    rows = {r["sku"]: r for r in _rows(store, "receipts")}
    # The 944 carries what was received; what the 943 announced stays.
    assert rows["SKU-1"]["expected_qty"] == 40
    assert rows["SKU-1"]["received_qty"] == 38
    assert rows["SKU-1"]["receipt_id"] == "ASN-7"
    assert rows["SKU-2"]["expected_qty"] == 10
    assert rows["SKU-2"]["received_qty"] is None


def test_every_interchange_is_acknowledged_and_the_997_is_kept(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    acks = tmp_path / "acks"
    request = IngestRequest(provider_id="westcoast", ack_dir=acks)
    ingest_sources(store, [_943(tmp_path / "asn.edi")], request, settings=settings)
    ingest_sources(store, [_944(tmp_path / "receipt.edi")], request, settings=settings)
    files = sorted(acks.iterdir())
    assert len(files) == 2
    controls = set()
    for path in files:
        (interchange,) = read(path.read_bytes()).interchanges
        assert not interchange.issues
        ((_group, tx),) = list(interchange.transaction_sets())
        assert tx.code == "997"
        assert tx.segments[0].tag == "AK1"
        assert any(s.tag == "AK5" and s.el(1) == "A" for s in tx.segments)
        controls.add(interchange.control)
    assert len(controls) == 2  # control numbers never repeat
    with store.connect() as connection:
        kept = connection.execute(
            sa.select(outbound_documents.c.document, outbound_documents.c.partner)
        ).all()
    assert sorted(kept) == [("997", "WESTCOAST"), ("997", "WESTCOAST")]


def test_a_bad_segment_is_quarantined_by_segment_and_replayed_after_the_fix(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    request = IngestRequest(provider_id="westcoast")
    ingest_sources(store, [_943(tmp_path / "asn.edi")], request, settings=settings)
    path = _944(tmp_path / "receipt.edi", qty="3O")  # a letter O for a zero
    run = ingest_sources(store, [path], request, settings=settings)
    (batch,) = run.batches
    assert batch.status == "landed"
    assert batch.quarantined == 1
    with store.connect() as connection:
        (record,) = list_quarantine(connection)
    assert record.kind == "receipts"
    assert record.where.startswith("segment 6 (W07)")
    assert "3O" in record.reason
    _944(path)  # the 3PL sends the corrected file under the same name
    replay = replay_quarantine(store, settings=settings)
    assert [b.status for b in replay.batches] == ["landed"]
    assert replay.batches[0].replayed == 1
    with store.connect() as connection:
        assert list_quarantine(connection) == []
    rows = {r["sku"]: r for r in _rows(store, "receipts")}
    assert rows["SKU-1"]["received_qty"] == 38


def test_a_broken_envelope_rejects_its_set_and_the_rest_of_the_file_lands(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    path = _943(tmp_path / "asn.edi")
    text = path.read_text().replace("SE*7*0001", "SE*9*0001")
    path.write_text(text)
    run = ingest_sources(
        store,
        [path],
        IngestRequest(provider_id="westcoast", ack_dir=tmp_path / "a"),
        settings=settings,
    )
    (batch,) = run.batches
    assert batch.stored == 0
    assert batch.quarantined >= 1
    assert any("SE01" in r.reason for r in batch.rejects)
    (ack,) = (tmp_path / "a").iterdir()
    (interchange,) = read(ack.read_bytes()).interchanges
    segments = [s for _g, tx in interchange.transaction_sets() for s in tx.segments]
    assert any(s.tag == "AK5" and s.el(1) == "R" and s.el(2) == "4" for s in segments)


def test_an_x12_file_without_a_provider_fails_with_a_clear_message(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    run = ingest_sources(store, [_943(tmp_path / "asn.edi")], IngestRequest(), settings=settings)
    (batch,) = run.batches
    assert batch.status == "failed"
    assert "--provider" in (batch.message or "")


def test_a_webhook_delivered_twice_is_taken_in_once(
    store: Store, settings: Settings, samples: Path
) -> None:
    body = (samples / "shopify" / "shopify_python_api_fixtures" / "order.json").read_bytes()
    options = SourceOptions("shopify")
    first, _ = ingest_payload(
        store, body, options, source="webhook:orders/create", delivery_id="d-1", settings=settings
    )
    again, _ = ingest_payload(
        store, body, options, source="webhook:orders/create", delivery_id="d-1", settings=settings
    )
    assert first.status == "landed"
    assert first.stored >= 2
    assert again.status == "duplicate"
    assert again.batch_id is None
    order_id = json.loads(body)["order"]["id"]
    assert [r["order_id"] for r in _rows(store, "orders")] == [str(order_id)]
