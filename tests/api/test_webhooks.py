"""Inbound webhooks through the app: signatures, replays, bursts, restarts, a busy store."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyclerk.access import add_user, create_token
from tallyclerk.api import create_app
from tallyclerk.api._spool import SUFFIX, Spool, SpoolWriter
from tallyclerk.connectors.tracking import sign
from tallyclerk.settings import Settings
from tallyclerk.store import open_store
from tallyclerk.store.schema import CANONICAL_TABLES, ingestion_batches, webhook_receipts

SHOPIFY_SECRET = "shpss_test_0123456789"
TRACKING_SECRETS = {"easypost": "ez-secret-✓", "aftership": "as-secret"}
ORDERS = CANONICAL_TABLES["orders"]
TRACKING_EVENTS = CANONICAL_TABLES["tracking_events"]


@dataclass
class Service:
    """A store with users, and how to start the app on it."""

    folder: Path
    url: str
    admin: str
    analyst: str

    def settings(self, **service: Any) -> Settings:
        values: dict[str, Any] = {
            "spool_dir": self.folder / "spool",
            "shopify_secret": SHOPIFY_SECRET,
            "tracking_secrets": TRACKING_SECRETS,
            "store_wait_seconds": 5,
        }
        values.update(service)
        return Settings(database_url=self.url, service=values)  # type: ignore[arg-type]

    @property
    def spool(self) -> Path:
        return self.folder / "spool"

    def spooled(self) -> list[Path]:
        return sorted(self.spool.glob(f"*{SUFFIX}")) if self.spool.is_dir() else []


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A store with an admin and an analyst, built once and copied for each test."""
    path = tmp_path_factory.mktemp("webhooks") / "store.duckdb"
    store = open_store(url=f"duckdb:///{path}")
    with store.begin() as connection:
        add_user(connection, "ana", "admin")
        add_user(connection, "otto", "analyst")
        admin = create_token(connection, "ana")[1]
        analyst = create_token(connection, "otto")[1]
    store.close()
    return path, admin, analyst


@pytest.fixture
def svc(template: tuple[Path, str, str], tmp_path: Path) -> Service:
    path, admin, analyst = template
    target = tmp_path / "store.duckdb"
    shutil.copy(path, target)
    return Service(tmp_path, f"duckdb:///{target}", admin, analyst)


@pytest.fixture
def started(svc: Service) -> Iterator[tuple[FastAPI, TestClient]]:
    app = create_app(svc.settings())
    with TestClient(app) as client:
        yield app, client


def shopify_order(samples: Path, order_id: int, **changes: Any) -> bytes:
    """The real Shopify order fixture as an orders/create body, with another id."""
    path = samples / "shopify" / "shopify_python_api_fixtures" / "order.json"
    order: dict[str, Any] = json.loads(path.read_text())["order"]
    order.pop("fulfillments", None)
    order.update(id=order_id, name=f"#{order_id}", **changes)
    return json.dumps(order).encode()


def shopify_headers(
    body: bytes, delivery_id: str | None, topic: str = "orders/create", secret: str = SHOPIFY_SECRET
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    headers = {
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Topic": topic,
        "Content-Type": "application/json",
    }
    if delivery_id is not None:
        headers["X-Shopify-Webhook-Id"] = delivery_id
    return headers


def post_order(client: TestClient, body: bytes, delivery_id: str | None) -> Any:
    return client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, delivery_id)
    )


def easypost_event(samples: Path, event_id: str) -> bytes:
    path = samples / "carrier_tracking" / "easypost_examples" / "trackers-create.json"
    tracker = json.loads(path.read_text())
    event = {"object": "Event", "id": event_id, "description": "tracker.updated", "result": tracker}
    return json.dumps(event).encode()


def aftership_update(samples: Path) -> bytes:
    path = samples / "carrier_tracking" / "pyaftership_fixtures" / "get_trackings.json"
    tracking = json.loads(path.read_text())["data"]["trackings"][0]
    return json.dumps({"event": "tracking_update", "msg": tracking, "ts": 1533150000}).encode()


def count(app: FastAPI, table: sa.Table) -> int:
    with app.state.tc.gate.store() as store, store.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def writer_of(app: FastAPI) -> SpoolWriter:
    writer: SpoolWriter = app.state.tc.extras["webhook_writer"]
    return writer


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def drained(app: FastAPI) -> Callable[[], bool]:
    return lambda: writer_of(app).status().waiting == 0


# -- accepted, refused -----------------------------------------------------------------------


def test_a_signed_order_is_accepted_then_lands(
    started: tuple[FastAPI, TestClient], svc: Service, samples: Path
) -> None:
    app, client = started
    response = post_order(client, shopify_order(samples, 1001), "wh-1")
    assert response.status_code == 202
    assert response.json() == {"accepted": True, "delivery_id": "wh-1", "duplicate": False}
    wait_for(drained(app))
    assert count(app, ORDERS) == 1
    assert count(app, webhook_receipts) == 1
    assert svc.spooled() == []


def test_a_bad_signature_is_refused_and_nothing_is_kept(
    started: tuple[FastAPI, TestClient], svc: Service, samples: Path
) -> None:
    _, client = started
    body = shopify_order(samples, 1002)
    tampered = body.replace(b"409.94", b"0.01")
    forged = [
        (tampered, shopify_headers(body, "a")),
        (body, shopify_headers(body, "b", secret="another-secret")),
        (body, {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "c"}),
    ]
    for content, headers in forged:
        response = client.post("/webhooks/shopify", content=content, headers=headers)
        assert response.status_code == 401
        assert (
            "X-Shopify-Hmac-Sha256 signature does not match" in response.json()["error"]["message"]
        )
    assert svc.spooled() == []


def test_a_replay_is_a_duplicate_and_lands_once(
    started: tuple[FastAPI, TestClient], samples: Path
) -> None:
    app, client = started
    body = shopify_order(samples, 1003)
    assert post_order(client, body, "wh-replay").status_code == 202
    again = post_order(client, body, "wh-replay")  # while it may still wait in the spool
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    wait_for(drained(app))
    later = post_order(client, body, "wh-replay")  # after it landed
    assert (later.status_code, later.json()["duplicate"]) == (200, True)
    wait_for(drained(app))
    assert count(app, ORDERS) == 1
    assert count(app, webhook_receipts) == 1
    assert count(app, ingestion_batches) == 1


def test_a_body_without_a_delivery_id_is_known_by_its_content(
    started: tuple[FastAPI, TestClient], samples: Path
) -> None:
    app, client = started
    body = shopify_order(samples, 1004)
    first = post_order(client, body, None)
    assert first.status_code == 202
    assert first.json()["delivery_id"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert post_order(client, body, None).json()["duplicate"] is True
    other = shopify_order(samples, 1005)
    assert post_order(client, other, None).status_code == 202
    wait_for(drained(app))
    assert count(app, ORDERS) == 2


def test_refusals_say_why(svc: Service, samples: Path) -> None:
    app = create_app(svc.settings(shopify_secret=None, tracking_secrets={}))
    body = shopify_order(samples, 1006)
    with TestClient(app) as client:
        missing = post_order(client, body, "x")
        assert missing.status_code == 503
        assert missing.json()["error"]["message"] == (
            "webhook secret for shopify is not configured: set TALLYCLERK_SERVICE__SHOPIFY_SECRET"
        )
        tracking = client.post("/webhooks/tracking/easypost", content=b"{}")
        assert tracking.status_code == 503
        assert tracking.json()["error"]["message"] == (
            "webhook secret for easypost is not configured: set "
            "TALLYCLERK_SERVICE__TRACKING_SECRETS"
        )
        unknown = client.post("/webhooks/tracking/pigeon", content=b"{}")
        assert unknown.status_code == 404
        assert "no tracking webhook source 'pigeon'" in unknown.json()["error"]["message"]


def test_a_large_body_or_an_unknown_topic_is_refused(
    started: tuple[FastAPI, TestClient], svc: Service, samples: Path
) -> None:
    _, client = started
    huge = b'{"id": 1, "note": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    response = client.post("/webhooks/shopify", content=huge, headers=shopify_headers(huge, "big"))
    assert response.status_code == 413
    assert "larger than 5 MB" in response.json()["error"]["message"]
    body = shopify_order(samples, 1007)
    headers = shopify_headers(body, "p-1", topic="products/create")
    topic = client.post("/webhooks/shopify", content=body, headers=headers)
    assert topic.status_code == 400
    assert "'products/create' is not one tallyclerk reads" in topic.json()["error"]["message"]
    assert svc.spooled() == []


# -- tracking sources ------------------------------------------------------------------------


def test_tracking_webhooks_land_with_their_event_ids(
    started: tuple[FastAPI, TestClient], samples: Path
) -> None:
    app, client = started
    event = easypost_event(samples, "evt_9f1")
    headers = {"X-Hmac-Signature": sign(event, TRACKING_SECRETS["easypost"], source="easypost")}
    first = client.post("/webhooks/tracking/easypost", content=event, headers=headers)
    assert (first.status_code, first.json()["delivery_id"]) == (202, "evt_9f1")
    assert client.post("/webhooks/tracking/easypost", content=event, headers=headers).json()[
        "duplicate"
    ]
    update = aftership_update(samples)
    signed = {"aftership-hmac-sha256": sign(update, "as-secret", source="aftership")}
    answer = client.post("/webhooks/tracking/aftership", content=update, headers=signed)
    assert answer.status_code == 202
    assert answer.json()["delivery_id"].startswith("sha256:")
    wrong = client.post(
        "/webhooks/tracking/aftership", content=update, headers={"aftership-hmac-sha256": "x"}
    )
    assert wrong.status_code == 401
    wait_for(drained(app))
    assert count(app, TRACKING_EVENTS) == 2 + 11
    assert count(app, webhook_receipts) == 2


# -- bursts, restarts, a busy store ----------------------------------------------------------


def test_a_burst_from_many_senders_lands_whole_in_few_batches(
    started: tuple[FastAPI, TestClient], samples: Path
) -> None:
    app, client = started
    bodies = [(shopify_order(samples, 20_000 + n), f"burst-{n}") for n in range(300)]
    replays = bodies[:20]

    def send(item: tuple[bytes, str]) -> int:
        return post_order(client, *item).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(send, bodies))
        # The same deliveries again (Shopify retries): duplicates whether waiting or landed.
        again = list(pool.map(send, replays))
    assert codes == [202] * 300
    assert again == [200] * 20
    wait_for(drained(app))
    assert count(app, ORDERS) == 300
    assert count(app, webhook_receipts) == 300
    batches = count(app, ingestion_batches)
    assert 1 <= batches <= 60, f"{batches} batches for 300 deliveries"


def test_the_spool_survives_a_stop_before_landing(svc: Service, samples: Path) -> None:
    first = create_app(svc.settings())
    bodies = [shopify_order(samples, 30_000 + n) for n in range(3)]
    with TestClient(first) as client:
        writer_of(first).stop(drain=False)  # as if the process died before the writer ran
        for n, body in enumerate(bodies):
            assert post_order(client, body, f"keep-{n}").status_code == 202
    files = svc.spooled()
    assert len(files) == 3
    header, _, content = files[0].read_bytes().partition(b"\n")
    assert json.loads(header)["delivery_id"] == "keep-0"
    assert content == bodies[0]  # the body exactly as received

    second = create_app(svc.settings())
    with TestClient(second) as client:
        wait_for(drained(second))
        assert count(second, ORDERS) == 3
        # A replay of a delivery that landed before this start is still a duplicate.
        assert post_order(client, bodies[0], "keep-0").json()["duplicate"] is True
    assert svc.spooled() == []


_HOLD = """
import sys, time
import duckdb
connection = duckdb.connect(sys.argv[1])
connection.execute("select 1")
print("holding", flush=True)
sys.stdin.readline()
connection.close()
"""


def count_files(svc: Service) -> int:
    return len(svc.spooled())


def test_a_busy_store_does_not_delay_the_answer(svc: Service, samples: Path) -> None:
    app = create_app(svc.settings(store_wait_seconds=0.2))
    path = svc.url.removeprefix("duckdb:///")
    with TestClient(app) as client:
        with subprocess.Popen(
            [sys.executable, "-c", _HOLD, path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as holder:
            assert holder.stdout is not None
            assert holder.stdin is not None
            try:
                assert holder.stdout.readline().strip() == "holding"
                started = time.monotonic()
                response = post_order(client, shopify_order(samples, 40_001), "busy-1")
                assert response.status_code == 202
                assert time.monotonic() - started < 2
                wait_for(lambda: writer_of(app).status().last_error is not None)
                status = writer_of(app).status()
                assert status.waiting == 1
                assert "another process" in (status.last_error or "")
                assert count_files(svc) == 1
            finally:
                holder.stdin.write("done\n")
                holder.stdin.flush()
                holder.wait(timeout=30)
        wait_for(drained(app))
        assert count(app, ORDERS) == 1
        assert count(app, webhook_receipts) == 1


def test_status_is_for_admins(
    started: tuple[FastAPI, TestClient], svc: Service, samples: Path
) -> None:
    app, client = started
    assert post_order(client, shopify_order(samples, 50_001), "st-1").status_code == 202
    wait_for(drained(app))
    answer = client.get("/api/v1/webhooks/status", headers={"Authorization": f"Bearer {svc.admin}"})
    assert answer.status_code == 200
    status = answer.json()
    assert status["writer_running"] is True
    assert status["waiting"] == 0
    assert status["landed_since_start"] == 1
    assert len(status["last_batch_ids"]) == 1
    analyst = client.get(
        "/api/v1/webhooks/status", headers={"Authorization": f"Bearer {svc.analyst}"}
    )
    assert analyst.status_code == 403
    assert client.get("/api/v1/webhooks/status").status_code == 401


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["shopify", "easypost"]), st.text(min_size=1, max_size=40)),
        max_size=15,
    )
)
def test_the_spool_keeps_each_delivery_once_in_arrival_order(
    tmp_path_factory: pytest.TempPathFactory, deliveries: list[tuple[str, str]]
) -> None:
    folder = tmp_path_factory.mktemp("spool")
    spool = Spool(folder)
    expected: list[tuple[str, str]] = []
    for source, delivery_id in deliveries:
        topic = "orders/create" if source == "shopify" else None
        fresh = spool.accept(source, delivery_id, topic, f"{source}:{delivery_id}".encode())
        assert fresh == ((source, delivery_id) not in expected)
        if fresh:
            expected.append((source, delivery_id))
    # Ids with any characters ("../", newlines) make safe file names inside the folder.
    assert all(p.parent == folder for p in folder.iterdir())
    reread = Spool(folder)
    assert reread.scan() == len(expected)
    items = reread.take(100)
    assert [item.key for item in items] == expected
    for item in items:
        delivery = reread.load(item)
        assert delivery is not None
        assert delivery.body == f"{item.source}:{item.delivery_id}".encode()
    reread.finish(items)
    assert list(folder.iterdir()) == []
    assert all(reread.is_landed(*key) for key in expected)


def test_unusable_spool_files_are_set_aside_and_unfinished_ones_dropped(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    folder.mkdir()
    (folder / f"00000000000000000001-shopify-abc{SUFFIX}").write_bytes(b"not json\n{}")
    (folder / f"00000000000000000002-shopify-def{SUFFIX}.part").write_bytes(b"half")
    spool = Spool(folder)
    assert spool.scan() == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        f"00000000000000000001-shopify-abc{SUFFIX}.unreadable"
    ]
