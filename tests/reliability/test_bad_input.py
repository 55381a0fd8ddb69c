"""Bad input through the real entry points: the CLI, the drop folder, uploads and webhooks.

Oversized bodies, archives and gzip bombs, JSON nested tens of thousands of levels deep, wrong
encodings, NUL bytes, broken X12 envelopes, empty files. Each must meet a clear refusal or
quarantine naming the file, line or segment; the good part of a batch must land; nothing
else may be stored; and the service must keep answering.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import gzip
import hashlib
import hmac
import io
import json
import shutil
import time
import zipfile
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from tallyclerk.access import add_user, create_token
from tallyclerk.api import create_app
from tallyclerk.cli import app as cli
from tallyclerk.connectors.tracking import sign
from tallyclerk.ingest._dispatch import IngestRequest
from tallyclerk.ingest._watch import Watcher
from tallyclerk.settings import Settings
from tallyclerk.store import Store, open_store
from tallyclerk.store.schema import CANONICAL_TABLES, ingestion_batches, quarantine

runner = CliRunner()
SHOPIFY_SECRET = "shpss_bad_input"
TRACKING_SECRETS = {"easypost": "ez-bad", "aftership": "as-bad", "tracking-json": "tj-bad"}
_T = TypeVar("_T")
UPLOAD_LIMIT = 256 * 1024
WEBHOOK_LIMIT = 5 * 1024 * 1024
DEEP = 40_000  # levels of nesting, far beyond what a recursive reader survives

ORDERS_HEADER = "order_id,placed_at,channel,order_value,currency\n"
PRODUCTS = b"sku,name,unit_cost\nSKU-1,Tee,4.10\nSKU-2,Mug,3.00\n"
X12_945 = (
    "ISA*00*          *00*          *ZZ*WESTCOAST3PL   *ZZ*BRANDCO        *260302*0915*U*"
    "00401*000000101*0*P*>~\n"
    "GS*SW*WESTCOAST3PL*BRANDCO*20260302*0915*7*X*004010~\n"
    "ST*945*0001~\nW06*N*ORD-1*20260302*SHP-1~\nN1*WH*WestCoast Reno*91*RNO1~\n"
    "G62*11*20260302*W*1415~\nW27*M*UPSN*GROUND~\nN9*2I*1Z999AA10123456784~\n"
    "LX*1~\nW12*CC*2*2**EA**SK*SKU-A~\nW03*2*1.5*LB~\nSE*10*0001~\n"
    "GE*1*7~\nIEA*1*000000101~\n"
)


def flat(text: str) -> str:
    """Output with its line wrapping undone."""
    return " ".join(text.split())


def ingest(url: str, *args: object) -> Result:
    """`tallyclerk --db URL ingest ARGS...`, as typed."""
    return runner.invoke(
        cli, ["--db", url, "ingest", *map(str, args)], env={"COLUMNS": "400", "NO_COLOR": "1"}
    )


@dataclass(frozen=True)
class Stored:
    """What a store holds after a run: batches, quarantine and canonical rows."""

    batches: list[dict[str, Any]]
    held: list[dict[str, Any]]
    rows: dict[str, int]


def stored(store: Store) -> Stored:
    with store.connect() as connection:
        batches = [
            dict(row._mapping)
            for row in connection.execute(
                sa.select(
                    ingestion_batches.c.source,
                    ingestion_batches.c.status,
                    ingestion_batches.c.message,
                    ingestion_batches.c.stored,
                    ingestion_batches.c.quarantined,
                    ingestion_batches.c.payload_sha256,
                ).order_by(ingestion_batches.c.batch_id)
            )
        ]
        held = [
            dict(row._mapping)
            for row in connection.execute(
                sa.select(
                    quarantine.c.source,
                    quarantine.c.line,
                    quarantine.c.position,
                    quarantine.c.column_name,
                    quarantine.c.reason,
                    quarantine.c.record,
                ).order_by(quarantine.c.quarantine_id)
            )
        ]
        rows = {
            name: int(connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for name, t in CANONICAL_TABLES.items()
        }
    return Stored(batches, held, {k: v for k, v in rows.items() if v})


def stored_at(url: str) -> Stored:
    store = open_store(url=url)
    try:
        return stored(store)
    finally:
        store.close()


# -- stores ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """An empty store with an admin and the admin's token, built once and copied per test."""
    path = tmp_path_factory.mktemp("bad-input") / "store.duckdb"
    store = open_store(url=f"duckdb:///{path}")
    with store.begin() as connection:
        add_user(connection, "ana", "admin")
        token = create_token(connection, "ana")[1]
    store.close()
    return path, token


@pytest.fixture
def url(template: tuple[Path, str], tmp_path: Path) -> str:
    """A fresh DuckDB store for one test."""
    target = tmp_path / "store.duckdb"
    shutil.copy(template[0], target)
    return f"duckdb:///{target}"


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_url(request: pytest.FixtureRequest) -> str:
    """A fresh store on each database (PostgreSQL refuses what DuckDB lets pass)."""
    if request.param == "duckdb":
        return str(request.getfixturevalue("url"))
    return str(request.getfixturevalue("postgres_url"))


# -- the service -------------------------------------------------------------------------------


@dataclass
class Service:
    """The running service of this module, with an admin's token and its webhook spool."""

    app: FastAPI
    client: TestClient
    token: str
    spool: Path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def now(self) -> Stored:
        with self.app.state.tc.gate.store() as store:
            return stored(store)

    def upload(self, *files: tuple[str, bytes], **form: str) -> Any:
        parts = [("files", (name, content, "application/octet-stream")) for name, content in files]
        return self.client.post("/api/v1/uploads", files=parts, data=form, headers=self.auth)

    def landed(self, timeout: float = 30.0) -> None:
        """Wait until the webhook writer has landed every spooled delivery."""
        writer = self.app.state.tc.extras["webhook_writer"]
        deadline = time.monotonic() + timeout
        while writer.status().waiting:
            assert time.monotonic() < deadline, "the webhook writer did not land the spool"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def service(
    template: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The service over its own store, uploads limited to UPLOAD_LIMIT bytes."""
    folder = tmp_path_factory.mktemp("bad-input-service")
    shutil.copy(template[0], folder / "store.duckdb")
    settings = Settings(
        database_url=f"duckdb:///{folder / 'store.duckdb'}",
        service={  # type: ignore[arg-type]
            "spool_dir": folder / "spool",
            "max_upload_bytes": UPLOAD_LIMIT,
            "shopify_secret": SHOPIFY_SECRET,
            "tracking_secrets": TRACKING_SECRETS,
            "store_wait_seconds": 60,
        },
    )
    application = create_app(settings)
    with TestClient(application) as client:
        yield Service(application, client, template[1], folder / "spool")


def answers(service: Service) -> None:
    """The service still answers an ordinary request."""
    response = service.client.get("/api/v1/batches", headers=service.auth)
    assert response.status_code == 200, response.text


def error_of(response: Any, status: int) -> str:
    """The message of a JSON error answer, checked to be one."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    message: str = body["error"]["message"]
    assert "Traceback" not in response.text
    return message


def shopify_post(service: Service, body: bytes, delivery: str) -> Any:
    digest = hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()
    headers = {
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": delivery,
        "Content-Type": "application/json",
    }
    return service.client.post("/webhooks/shopify", content=body, headers=headers)


def tracking_post(service: Service, source: str, body: bytes) -> Any:
    header = {
        "easypost": "X-Hmac-Signature",
        "aftership": "aftership-hmac-sha256",
        "tracking-json": "X-Tallyclerk-Signature",
    }[source]
    signature = sign(body, TRACKING_SECRETS[source], source=source)
    return service.client.post(
        f"/webhooks/tracking/{source}",
        content=body,
        headers={header: signature, "Content-Type": "application/json"},
    )


# -- oversized bodies ----------------------------------------------------------------------------


def test_an_upload_over_the_limit_is_refused_unread_and_nothing_is_stored(
    service: Service,
) -> None:
    before = service.now()
    big = ORDERS_HEADER.encode() + b"O-BIG,2026-03-02T10:00:00Z,web,1.00,USD\n" * 8000
    assert len(big) > UPLOAD_LIMIT
    message = error_of(service.upload(("orders.csv", big)), 413)
    assert message == (
        f"the upload is larger than {UPLOAD_LIMIT:,} bytes "
        "(TALLYCLERK_SERVICE__MAX_UPLOAD_BYTES); nothing was taken"
    )
    records = json.dumps({"records": [{"order_id": "x" * 1000}] * 300}).encode()
    response = service.client.post(
        "/api/v1/ingest/orders",
        content=records,
        headers={**service.auth, "Content-Type": "application/json"},
    )
    assert "nothing was taken" in error_of(response, 413)
    assert service.now() == before
    answers(service)
    small = service.upload(("orders.csv", big[:2000].rsplit(b"\n", 1)[0] + b"\n"))
    assert small.status_code == 200, small.text
    assert small.json()["files"][0]["stored"] == 1  # one order id, repeated


def test_a_webhook_over_5_mb_is_refused_and_nothing_is_spooled(service: Service) -> None:
    body = b'{"id": 1, "note": "' + b"x" * WEBHOOK_LIMIT + b'"}'
    message = error_of(shopify_post(service, body, "too-big"), 413)
    assert message == "the body is larger than 5 MB; nothing was taken"
    assert "nothing was taken" in error_of(tracking_post(service, "easypost", body), 413)
    assert not list(service.spool.glob("*.delivery"))
    answers(service)


async def _stream(
    app: FastAPI, path: str, headers: list[tuple[bytes, bytes]], chunks: Iterator[bytes]
) -> tuple[int, int, bytes]:
    """POST a body sent in chunks without a length: (status, chunks the app pulled, body)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            await asyncio.sleep(3600)  # the client has nothing more; it waits for an answer
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=60)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(start["status"]), pulled, body


def _run_alone(make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine in a loop of its own, on a thread of its own.

    Another test's session (Playwright's sync API) may keep an event loop running on the main
    thread, where asyncio.run refuses to start; the coroutine is made on the thread too.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _endless(first: bytes, size: int, total: int) -> Iterator[bytes]:
    yield first
    for _ in range(total // size):
        yield b"A" * size


def test_the_limits_hold_while_the_body_streams_in(service: Service) -> None:
    # No Content-Length: the body is refused once too much has arrived, not read to its end.
    boundary = b"limit-boundary"
    head = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; '
        b'filename="orders.csv"\r\nContent-Type: text/csv\r\n\r\n'
    )
    headers = [
        (b"content-type", b"multipart/form-data; boundary=" + boundary),
        (b"authorization", f"Bearer {service.token}".encode()),
    ]
    size = 16 * 1024
    status, pulled, body = _run_alone(
        lambda: _stream(
            service.app, "/api/v1/uploads", headers, _endless(head, size, 64 * UPLOAD_LIMIT)
        )
    )
    assert status == 413, body
    assert json.loads(body)["error"]["status"] == 413
    assert pulled <= UPLOAD_LIMIT // size + 2  # of the 1,025 chunks on offer

    size = 256 * 1024
    digest = base64.b64encode(hmac.new(SHOPIFY_SECRET.encode(), b"", hashlib.sha256).digest())
    headers = [
        (b"content-type", b"application/json"),
        (b"x-shopify-hmac-sha256", digest),
        (b"x-shopify-topic", b"orders/create"),
    ]
    status, pulled, body = _run_alone(
        lambda: _stream(
            service.app, "/webhooks/shopify", headers, _endless(b"{", size, 20 * WEBHOOK_LIMIT)
        )
    )
    assert status == 413, body
    assert json.loads(body)["error"]["message"] == "the body is larger than 5 MB; nothing was taken"
    assert pulled <= WEBHOOK_LIMIT // size + 2  # of the 401 chunks on offer
    assert not list(service.spool.glob("*.delivery"))
    answers(service)


# -- archives and gzip bombs ---------------------------------------------------------------------


def gzip_bomb(megabytes: int) -> bytes:
    """A gzip file of an orders header and `megabytes` MB of zeros (a thousand times more)."""
    # A gzip file may hold several members, read one after the other.
    member = gzip.compress(b"0" * 1024 * 1024, compresslevel=9)
    return gzip.compress(ORDERS_HEADER.encode()) + member * megabytes


def zip_of(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def test_uploaded_archives_and_a_gzip_bomb_are_refused_by_name(service: Service) -> None:
    before = service.now()
    bomb = gzip_bomb(200)
    assert len(bomb) < UPLOAD_LIMIT
    started = time.monotonic()
    response = service.upload(
        ("orders.csv", zip_of("orders.csv", b"order_id,placed_at\nO-ZIP,2026-03-02\n")),
        ("orders.csv.gz", bomb),
        ("feedback.csv", gzip.compress(b"feedback_id,received_at\nF1,2026-03-02T10:00:00Z\n")),
        ("products.csv", PRODUCTS),
    )
    assert time.monotonic() - started < 60
    assert response.status_code == 200, response.text
    files = {f["file"]: f for f in response.json()["files"]}
    assert files["products.csv"]["status"] == "landed"
    assert files["products.csv"]["stored"] == 2
    assert files["orders.csv"]["status"] == "failed"
    assert files["orders.csv"]["message"] == (
        "orders.csv: line 1: this is a ZIP archive (or an Excel workbook), not a CSV file: "
        "unpack it, or export the sheet as CSV"
    )
    assert files["orders.csv.gz"]["status"] == "failed"
    assert files["orders.csv.gz"]["message"] == (
        "orders.csv.gz: decompresses to more than 67,108,864 bytes (200 times its size): "
        "refused as a likely gzip bomb"
    )
    assert files["feedback.csv"]["message"] == (
        "feedback.csv: line 1: this is gzip-compressed, not a CSV file: name it with .gz at the "
        "end, as in orders.csv.gz"
    )
    after = service.now()
    new = after.batches[len(before.batches) :]
    # Nothing lost: each refused file is a failed batch with its bytes archived for replay.
    assert sorted((Path(b["source"]).name, b["status"]) for b in new) == [
        ("feedback.csv", "failed"),
        ("orders.csv", "failed"),
        ("orders.csv.gz", "failed"),
        ("products.csv", "landed"),
    ]
    assert all(b["payload_sha256"] for b in new)
    assert after.held == before.held
    assert after.rows == {**before.rows, "products": before.rows.get("products", 0) + 2}
    answers(service)


def test_dropped_archives_go_to_failed_and_the_rest_lands(url: str, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "shipments.csv").write_bytes(zip_of("shipments.csv", b"shipment_id\nS1\n"))
    (drop / "orders.csv.gz").write_bytes(gzip_bomb(100))
    (drop / "products.csv").write_bytes(PRODUCTS)

    watcher = Watcher(drop, opener(url), IngestRequest(), settle=0)
    outcomes = {o.name: o for o in watcher.poll()}
    assert {name: o.status for name, o in outcomes.items()} == {
        "orders.csv.gz": "failed",
        "products.csv": "processed",
        "shipments.csv": "failed",
    }
    assert "refused as a likely gzip bomb" in (outcomes["orders.csv.gz"].message or "")
    assert "line 1: this is a ZIP archive" in (outcomes["shipments.csv"].message or "")
    report = json.loads(outcomes["shipments.csv"].report.read_text())
    assert report["status"] == "failed"
    assert (drop / "failed" / "shipments.csv").is_file()  # kept, not lost
    now = stored_at(url)
    assert now.rows == {"products": 2}
    assert now.held == []


def opener(url: str) -> Callable[[], AbstractContextManager[Store]]:
    """How the watcher opens the store: for each file, closed after."""

    @contextmanager
    def opened() -> Iterator[Store]:
        store = open_store(url=url)
        try:
            yield store
        finally:
            store.close()

    return opened


def test_the_cli_refuses_a_gzip_bomb_and_a_zip(url: str, tmp_path: Path) -> None:
    (tmp_path / "orders.csv.gz").write_bytes(gzip_bomb(100))
    (tmp_path / "orders.csv").write_bytes(zip_of("orders.csv", b"x"))
    result = ingest(url, tmp_path / "orders.csv.gz", tmp_path / "orders.csv")
    assert result.exit_code == 2, result.output
    out = flat(result.output)
    assert "orders.csv.gz: " in out
    assert "decompresses to more than 67,108,864 bytes (200 times its size)" in out
    assert "line 1: this is a ZIP archive (or an Excel workbook), not a CSV file" in out
    assert "Traceback" not in result.output
    now = stored_at(url)
    assert [b["status"] for b in now.batches] == ["failed", "failed"]
    assert now.rows == {}


# -- deeply nested JSON --------------------------------------------------------------------------


def test_deep_json_webhooks_are_taken_then_quarantined_whole(service: Service) -> None:
    before = service.now()
    deep = b"[" * DEEP
    objects = b'{"a":' * DEEP
    assert shopify_post(service, deep, "deep-1").status_code == 202
    assert shopify_post(service, objects, "deep-2").status_code == 202
    for source in TRACKING_SECRETS:
        assert tracking_post(service, source, deep).status_code == 202
    answers(service)
    service.landed()
    after = service.now()
    held = after.held[len(before.held) :]
    assert sorted(h["position"] for h in held) == [
        "delivery deep-1",
        "delivery deep-2",
        *sorted(f"delivery sha256:{hashlib.sha256(deep).hexdigest()}" for _ in TRACKING_SECRETS),
    ]
    reasons = sorted(h["reason"] for h in held)
    assert [r for r in reasons if r.startswith("shopify")] == [
        "shopify delivery deep-1: the body is not valid JSON (nested too deeply)",
        "shopify delivery deep-2: the body is not valid JSON (nested too deeply)",
    ]
    tracked = [r for r in reasons if not r.startswith("shopify")]
    for source, reason in zip(sorted(TRACKING_SECRETS), tracked, strict=True):
        assert reason.startswith(f"{source} delivery sha256:")
        assert reason.endswith(": the JSON is nested too deeply to read")
    assert after.rows == before.rows
    status = service.client.get("/api/v1/webhooks/status", headers=service.auth).json()
    assert status["last_error"] is None
    assert status["waiting"] == 0


def test_gzip_webhook_bodies_are_refused_by_name_not_decompressed(service: Service) -> None:
    before = service.now()
    bomb = gzip_bomb(4)  # 4 KB that would be 4 MB of zeros
    assert shopify_post(service, bomb, "gzip-1").status_code == 202
    assert tracking_post(service, "tracking-json", bomb).status_code == 202
    service.landed()
    after = service.now()
    held = after.held[len(before.held) :]
    assert sorted(h["reason"] for h in held) == [
        "shopify delivery gzip-1: the payload is gzip-compressed; send it uncompressed",
        f"tracking-json delivery sha256:{hashlib.sha256(bomb).hexdigest()}: the payload is "
        "gzip-compressed; send it uncompressed",
    ]
    assert after.rows == before.rows
    answers(service)


def test_deep_json_records_and_files_get_a_clear_answer(service: Service) -> None:
    before = service.now()
    headers = {**service.auth, "Content-Type": "application/json"}
    for body in (b'{"records": ' + b"[" * DEEP, b'{"records": [' + b'{"a":' * DEEP):
        response = service.client.post("/api/v1/ingest/orders", content=body, headers=headers)
        message = error_of(response, 422)
        assert message.startswith("the body is not valid JSON (maximum recursion depth exceeded")
    huge = b'{"records": [{"order_id": "O-1", "order_value": 8E888888888888888861}]}'
    response = service.client.post("/api/v1/ingest/orders", content=huge, headers=headers)
    assert error_of(response, 422) == (
        "the body is not valid JSON (the number 8E888888888888888861 is out of range)"
    )
    # Deep, yet within what JSON reading takes: the record is quarantined, the other lands.
    nested = "[" * 900 + "]" * 900
    body = (
        '{"records": [{"order_id": "O-DEEP-1", "placed_at": "2026-03-02T10:00:00Z"}, '
        f'{{"order_id": {nested}, "placed_at": "2026-03-02T10:00:00Z"}}, {nested}]}}'
    ).encode()
    response = service.client.post("/api/v1/ingest/orders", content=body, headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["stored"], result["quarantined"]) == (1, 2)
    assert [(r["position"], r["reason"]) for r in result["rejects"]] == [
        ("record 2", "order_id: is a list holding lists or objects; plain values are expected"),
        ("record 3", "not a JSON object"),
    ]
    lines = b'{"order_id": "O-DEEP-2", "placed_at": "2026-03-02T10:00:00Z"}\n' + b"[" * DEEP
    response = service.upload(("orders.jsonl", lines))
    assert response.status_code == 200, response.text
    files = {f["file"]: f for f in response.json()["files"]}
    assert files["orders.jsonl"]["stored"] == 1
    assert [(r["position"], r["reason"]) for r in files["orders.jsonl"]["rejects"]] == [
        ("line 2", "not read: the JSON is nested too deeply")
    ]
    deep = b'{"order": ' + b"[" * DEEP
    response = service.upload(("order.json", deep))
    assert error_of(response, 400) == (
        "order.json: not a file tallyclerk recognizes: canonical files are <kind>.csv or .jsonl; "
        "X12 starts with ISA; Shopify and tracking payloads are JSON (name the format with the "
        "format field, or name a profile)"
    )
    response = service.upload(("order.json", deep), format="shopify")
    assert response.status_code == 200, response.text
    (failed,) = response.json()["files"]
    assert failed["status"] == "failed"
    assert failed["message"] == "order.json: not valid JSON (nested too deeply)"
    after = service.now()
    assert after.rows["orders"] == before.rows.get("orders", 0) + 2
    answers(service)


# -- encodings -------------------------------------------------------------------------------------

ORDERS = [
    "O-1,2026-03-02T10:00:00Z,web,10.00,USD",
    "O-2,2026-03-02T11:00:00Z,web,12.50,USD",
    "O-3,2026-03-02T12:00:00Z,web,7.25,USD",
]


def test_byte_order_marks_and_mixed_line_endings_are_read(url: str, tmp_path: Path) -> None:
    text = ORDERS_HEADER + "\n".join(ORDERS) + "\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "orders.csv").write_bytes(codecs.BOM_UTF8 + text.encode())
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "orders.csv").write_bytes(text.replace("O-", "U-").encode("utf-16"))
    (tmp_path / "c").mkdir()
    mixed = ORDERS_HEADER + f"{ORDERS[0]}\r\n{ORDERS[1]}\r{ORDERS[2]}\nO-4,someday,web,1,USD\r\n"
    (tmp_path / "c" / "orders.csv").write_bytes(mixed.replace("O-", "M-").encode())
    result = ingest(url, *(tmp_path / d / "orders.csv" for d in "abc"))
    assert result.exit_code == 1, result.output  # the last mixed row is bad, on its own line
    assert "orders.csv:5: placed_at" in flat(result.output)
    now = stored_at(url)
    assert [(b["status"], b["stored"], b["quarantined"]) for b in now.batches] == [
        ("landed", 3, 0),
        ("landed", 3, 0),
        ("landed", 3, 1),
    ]
    assert now.rows == {"orders": 9}
    assert [(h["line"], h["column_name"]) for h in now.held] == [(5, "placed_at")]


def test_wrong_encodings_are_named_and_only_their_lines_held(any_url: str, tmp_path: Path) -> None:
    latin = (ORDERS_HEADER + f"{ORDERS[0]}\nCafé-2,2026-03-02T11:00:00Z,web,2,EUR\n").encode()
    latin = latin.replace("é".encode(), b"\xe9") + "Été-3,2026-03-02T12:00:00Z,web,3,EUR\n".encode()
    nul = (ORDERS_HEADER + f"{ORDERS[1]}\nO\x00NUL,2026-03-02T11:00:00Z,web,2,USD\n").encode()
    (tmp_path / "latin").mkdir()
    (tmp_path / "latin" / "orders.csv").write_bytes(latin)
    (tmp_path / "nul").mkdir()
    (tmp_path / "nul" / "orders.csv").write_bytes(nul)
    (tmp_path / "utf16").mkdir()
    (tmp_path / "utf16" / "orders.csv").write_bytes(
        (ORDERS_HEADER + ORDERS[2] + "\n").encode("utf-16-le")
    )
    lines = [
        '{"order_id": "J-1", "placed_at": "2026-03-02T10:00:00Z"}',
        '{"order_id": "J-\\u0000", "placed_at": "2026-03-02T10:00:00Z"}',
        '{"order_id": "J-\\ud800", "placed_at": "2026-03-02T10:00:00Z"}',
    ]
    jsonl = ("\n".join(lines) + "\n").encode() + b'{"order_id": "J-\xe9"}\n'
    (tmp_path / "orders.jsonl").write_bytes(jsonl)
    tracking = json.dumps(
        [
            {"tracking_number": "1Z-OK", "status": "delivered", "occurred_at": "2026-03-02T10:00Z"},
            {
                "tracking_number": "1Z-\x00",
                "status": "delivered",
                "occurred_at": "2026-03-02T10:00Z",
            },
        ]
    ).encode()
    (tmp_path / "tracking.json").write_bytes(tracking)
    paths = [tmp_path / d / "orders.csv" for d in ("latin", "nul", "utf16")]
    result = ingest(any_url, *paths, tmp_path / "orders.jsonl")
    assert result.exit_code == 2, result.output
    out = flat(result.output)
    assert "Traceback" not in result.output
    assert (
        "orders.csv:3: not valid UTF-8 (byte 0xE9 at position 4), unlike the rest of the file: "
        "save the file as UTF-8 and ingest it again"
    ) in out
    assert (
        "orders.csv:3: holds a NUL byte (0x00) at position 2, which is not text "
        "(is the file binary, or UTF-16?)"
    ) in out
    assert (
        "line 1: the file looks like UTF-16 (little-endian) without a byte-order mark: "
        "save it as UTF-8"
    ) in out
    assert (
        "orders.jsonl:2: order_id holds a NUL character (U+0000), which cannot be stored as text"
    ) in out
    assert "orders.jsonl:3: order_id holds an unpaired surrogate (\\ud800)" in out
    assert "orders.jsonl:4: not valid UTF-8 (byte 0xE9 at position 17)" in out
    tracked = ingest(any_url, tmp_path / "tracking.json", "--format", "tracking-json")
    assert tracked.exit_code == 1, tracked.output
    assert "tracking_number holds a NUL character (U+0000)" in flat(tracked.output)
    now = stored_at(any_url)
    assert sorted(
        (Path(b["source"]).name, b["status"], b["stored"], b["quarantined"]) for b in now.batches
    ) == [
        ("orders.csv", "failed", 0, 0),
        ("orders.csv", "landed", 1, 1),
        ("orders.csv", "landed", 2, 1),
        ("orders.jsonl", "landed", 1, 3),
        ("tracking.json", "landed", 1, 1),
    ]
    assert now.rows == {"orders": 4, "tracking_events": 1}
    assert [(Path(h["source"]).name, h["line"]) for h in now.held] == [
        ("orders.csv", 3),
        ("orders.csv", 3),
        ("orders.jsonl", 2),
        ("orders.jsonl", 3),
        ("orders.jsonl", 4),
        ("tracking.json", 2),
    ]
    assert (
        json.loads(now.held[0]["record"])["order_id"] == "Caf\ufffd-2"
    )  # what was read, kept for whoever fixes it


def test_a_windows_1252_file_is_read_whole_and_says_so(url: str, tmp_path: Path) -> None:
    text = (
        ORDERS_HEADER
        + "Café-1,2026-03-02T10:00:00Z,web,3.00,EUR\nO-2,2026-03-02T10:00:00Z,web,1,EUR\n"
    )
    (tmp_path / "orders.csv").write_bytes(text.encode("cp1252"))
    result = ingest(url, tmp_path / "orders.csv")
    assert result.exit_code == 0, result.output
    now = stored_at(url)
    assert now.batches[0]["message"] == "not valid UTF-8: read as Windows-1252 (cp1252)"
    assert now.rows == {"orders": 2}
    store = open_store(url=url)
    try:
        with store.connect() as connection:
            ids = connection.execute(sa.select(CANONICAL_TABLES["orders"].c.order_id)).scalars()
            assert sorted(ids) == ["Café-1", "O-2"]
    finally:
        store.close()


# -- X12 envelopes, empty files, headers alone -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.edi", "", "not an X12 interchange (it does not start with ISA)"),
        ("cut.edi", X12_945[:50], "segment 1 (ISA): the ISA is cut short (fewer than 16 elements)"),
        (
            "pipes.edi",
            X12_945.replace("*", "|", 3),
            "segment 1 (ISA): the ISA is cut short (fewer than 16 elements)",
        ),
        (
            "terminator.edi",
            X12_945.replace("P*>~", "P*>X", 1),
            "segment 1 (ISA): 'X' after ISA16 cannot be the segment terminator",
        ),
    ],
)
def test_a_broken_x12_envelope_is_refused_with_its_segment(
    url: str, tmp_path: Path, name: str, content: str, message: str
) -> None:
    (tmp_path / name).write_text(content)
    result = ingest(url, tmp_path / name, "--format", "x12", "--provider", "westcoast")
    assert result.exit_code == 2, result.output
    # The file named twice: the file of the batch, and its full path in the message.
    assert f"{name}: {tmp_path.resolve() / name}: {message}" in flat(result.output)
    now = stored_at(url)
    assert [(b["status"], b["message"]) for b in now.batches] == [
        ("failed", f"{tmp_path.resolve() / name}: {message}")
    ]
    assert now.rows == {}
    assert now.held == []


def test_an_x12_envelope_without_sets_and_a_bad_delimiter_in_a_set(
    url: str, tmp_path: Path
) -> None:
    header_only = X12_945.split("ST*")[0] + "GE*0*7~\nIEA*1*000000101~\n"
    (tmp_path / "header.edi").write_text(header_only)
    # Two sets; in the second a segment written with another element separator: that set is
    # refused whole, the first lands.
    head, rest = X12_945.split("ST*", 1)
    first = "ST*" + rest.split("GE*")[0]
    second = first.replace("0001~", "0002~").replace("ORD-1*", "ORD-2*").replace("SHP-1", "SHP-2")
    second = second.replace("W12*CC*2*2**EA**SK*SKU-A", "W12|CC|2")
    (tmp_path / "mixed.edi").write_text(head + first + second + "GE*2*7~\nIEA*1*000000101~\n")
    result = ingest(url, tmp_path / "header.edi", tmp_path / "mixed.edi", "--provider", "westcoast")
    assert result.exit_code == 1, result.output
    out = flat(result.output)
    assert "header.edi: no transaction sets" in out
    assert (
        "mixed.edi segment 20 (W12): segment 20 (W12): 'W12|CC|2' is not a segment (a segment "
        "starts with an id of 2 or 3 letters and digits); transaction set 945 0002 is refused whole"
    ) in out
    now = stored_at(url)
    assert [(b["status"], b["stored"], b["quarantined"]) for b in now.batches] == [
        ("landed", 0, 0),
        ("landed", 2, 1),
    ]
    assert now.rows == {"shipment_lines": 1, "shipments": 1}
    assert [(h["position"], h["column_name"]) for h in now.held] == [("segment 20 (W12)", None)]


def test_an_empty_file_and_a_header_alone(url: str, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "orders.csv").write_bytes(b"")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "orders.csv").write_text(ORDERS_HEADER)
    (tmp_path / "orders.jsonl").write_bytes(b"\n\n")
    result = ingest(url, tmp_path / "a" / "orders.csv", tmp_path / "b" / "orders.csv")
    assert result.exit_code == 2, result.output
    assert "orders.csv: line 1: the file is empty; a header row is expected" in flat(result.output)
    assert ingest(url, tmp_path / "orders.jsonl").exit_code == 0
    now = stored_at(url)
    assert [(b["status"], b["stored"], b["quarantined"]) for b in now.batches] == [
        ("failed", 0, 0),
        ("landed", 0, 0),
        ("landed", 0, 0),
    ]
    assert now.rows == {}
    assert now.held == []
