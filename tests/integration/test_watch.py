"""The drop folder: complete files are ingested once and moved aside with a report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tallyclerk.ingest import IngestRequest, Watcher, ingest_sources
from tallyclerk.settings import Settings
from tallyclerk.store import Store, open_store
from tallyclerk.store.schema import ingestion_batches
from tests.support import write_kind

ORDERS = [
    {"order_id": "O-1", "placed_at": "2026-01-05T10:00:00+00:00"},
    {"order_id": "O-2", "placed_at": "2026-01-05T11:00:00+00:00"},
]


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _watcher(folder: Path, settings: Settings, **kwargs: object) -> Watcher:
    @contextmanager
    def per_file() -> Iterator[Store]:
        store = open_store(settings)
        try:
            yield store
        finally:
            store.close()

    return Watcher(folder, per_file, settings=settings, **kwargs)  # type: ignore[arg-type]


def _batches(settings: Settings) -> int:
    store = open_store(settings)
    try:
        with store.connect() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count()).select_from(ingestion_batches)
                ).scalar_one()
            )
    finally:
        store.close()


@pytest.fixture
def duck(tmp_path: Path) -> Settings:
    return Settings(database_url=f"duckdb:///{tmp_path / 'store.duckdb'}")


def test_a_complete_file_lands_and_moves_to_processed_with_a_report(
    tmp_path: Path, duck: Settings
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_kind(inbox, "orders", ORDERS)
    outcomes = _watcher(inbox, duck, settle=0).poll()
    assert [(o.name, o.status) for o in outcomes] == [("orders.csv", "processed")]
    assert not (inbox / "orders.csv").exists()
    assert (inbox / "processed" / "orders.csv").is_file()
    report = json.loads((inbox / "processed" / "orders.csv.report.json").read_text())
    assert report["status"] == "processed"
    assert report["batches"][0]["stored"] == 2


def test_a_file_still_growing_or_with_a_temporary_name_waits(
    tmp_path: Path, duck: Settings
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    clock = _Clock()
    watcher = _watcher(inbox, duck, settle=2.0, clock=clock)
    path = write_kind(inbox, "orders", ORDERS[:1])
    (inbox / ".orders.csv.part").write_text("order_id,placed_at\n")
    (inbox / "shipments.csv.tmp").write_text("shipment_id\n")
    assert watcher.poll() == []  # first seen now
    clock.now = 1.0
    with path.open("a") as handle:  # still being written
        handle.write("O-2,2026-01-05T11:00:00+00:00" + "," * 8 + "\r\n")
    assert watcher.poll() == []
    clock.now = 2.5  # changed at 1.0: not yet settled
    assert watcher.poll() == []
    clock.now = 3.5
    outcomes = watcher.poll()
    assert [o.name for o in outcomes] == ["orders.csv"]
    report = json.loads(outcomes[0].report.read_text())
    assert report["batches"][0]["stored"] == 2
    assert (inbox / ".orders.csv.part").exists()
    assert (inbox / "shipments.csv.tmp").exists()


def test_an_unreadable_file_moves_to_failed_with_the_reason(tmp_path: Path, duck: Settings) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "notes.txt").write_text("hello, this is not data\n")
    (outcome,) = _watcher(inbox, duck, settle=0).poll()
    assert outcome.status == "failed"
    assert (inbox / "failed" / "notes.txt").is_file()
    report = json.loads((inbox / "failed" / "notes.txt.report.json").read_text())
    assert "not a file tallyclerk recognizes" in report["message"]


def test_a_restart_after_ingest_but_before_the_move_does_not_ingest_twice(
    tmp_path: Path, duck: Settings
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = write_kind(inbox, "orders", ORDERS)
    store = open_store(duck)
    try:  # the watcher died right after this batch committed
        ingest_sources(store, [path], IngestRequest(), settings=duck)
    finally:
        store.close()
    assert _batches(duck) == 1
    (outcome,) = _watcher(inbox, duck, settle=0).poll()
    assert outcome.status == "processed"
    assert "already ingested" in (outcome.message or "")
    assert _batches(duck) == 1
    assert (inbox / "processed" / "orders.csv").is_file()


def test_a_second_file_of_the_same_name_is_kept_beside_the_first(
    tmp_path: Path, duck: Settings
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watcher = _watcher(inbox, duck, settle=0)
    write_kind(inbox, "orders", ORDERS[:1])
    watcher.poll()
    write_kind(inbox, "orders", ORDERS)
    (outcome,) = watcher.poll()
    assert outcome.status == "processed"
    assert len(list((inbox / "processed").glob("orders*.csv"))) == 2
    assert _batches(duck) == 2


def test_watching_a_missing_directory_is_a_clear_error(tmp_path: Path, duck: Settings) -> None:
    from tallyclerk.errors import TallyclerkError

    with pytest.raises(TallyclerkError, match="no such directory"):
        _watcher(tmp_path / "nope", duck)


def test_an_internal_error_on_one_file_moves_it_to_failed_and_the_watch_goes_on(
    tmp_path: Path, duck: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tallyclerk.ingest import _watch

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_kind(inbox, "orders", ORDERS)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(_watch, "ingest_sources", broken)
    watcher = _watcher(inbox, duck, settle=0)
    (outcome,) = watcher.poll()
    assert outcome.status == "failed"
    assert "disk on fire" in (outcome.message or "")
    assert (inbox / "failed" / "orders.csv").is_file()
    monkeypatch.undo()
    write_kind(inbox, "orders", ORDERS)
    (outcome,) = watcher.poll()
    assert outcome.status == "processed"
