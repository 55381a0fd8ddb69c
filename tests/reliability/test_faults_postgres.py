"""PostgreSQL stopped and started again under the running service: nothing accepted is lost.

A private PostgreSQL cluster (initdb in a temporary folder, its own port: the shared test
server is never touched) holds the store of a running `tallyclerk serve`. A sender posts
signed Shopify orders/create deliveries one after another while a reader asks the API
(`/api/v1/batches`) and the dashboard (`/`) in turn. PostgreSQL is stopped (`immediate`: as
a crash) for OUTAGE seconds and started again. Webhooks are answered 202 all along (they
are spooled); API requests during the outage are answered 503 with a JSON error, the
dashboard with its error page, never a trace; afterwards the same service process answers
again and lands what waited: every accepted delivery exactly once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import sqlalchemy as sa

from tallyclerk.store import CANONICAL_TABLES
from tallyclerk.store.schema import webhook_receipts
from tests.reliability._procs import (
    Launcher,
    PrivatePostgres,
    Server,
    admin_token,
    count,
    order_deliveries,
    post_delivery,
    private_postgres,
    rows,
    serving,
    stop_server,
    wait_for_spool,
    wait_until,
)

BEFORE = 1.5  # seconds of traffic before PostgreSQL stops
OUTAGE = 3.0  # seconds it stays down
AFTER = 1.5  # seconds of traffic once the service answers again
PAUSE = 0.01  # between two deliveries of the sender
ORDERS = CANONICAL_TABLES["orders"]


@dataclass(frozen=True)
class Answer:
    """One request of the reader: when it was sent and answered, what came back."""

    path: str
    sent: float
    done: float
    status: int
    kind: str
    retry_after: str | None
    body: str


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_restart_under_the_service(launcher: Launcher, tmp_path: Path) -> None:
    with private_postgres() as cluster:
        with psycopg.connect(cluster.url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("CREATE DATABASE tallyclerk")
        url = cluster.url.rsplit("/", 1)[0] + "/tallyclerk"
        token = admin_token(url)
        with serving(launcher, tmp_path, url, token=token) as server:
            _through_an_outage(cluster, server, url)


def _through_an_outage(cluster: PrivatePostgres, server: Server, url: str) -> None:
    """Traffic before, during and after PostgreSQL's outage; what was answered and kept."""
    deliveries = order_deliveries(2_000, prefix="pg")
    sent: dict[str, tuple[int, float]] = {}
    answers: list[Answer] = []
    stop = threading.Event()

    def sender() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for delivery in deliveries:
                if stop.is_set():
                    return
                status = post_delivery(client, delivery)
                sent[delivery.delivery_id] = (status, time.monotonic())
                time.sleep(PAUSE)

    def reader() -> None:
        with httpx.Client(base_url=server.url, timeout=30, headers=server.auth()) as client:
            while not stop.is_set():
                for path in ("/api/v1/batches?limit=5", "/"):
                    started = time.monotonic()
                    response = client.get(path)
                    answers.append(
                        Answer(
                            path,
                            started,
                            time.monotonic(),
                            response.status_code,
                            response.headers.get("content-type", ""),
                            response.headers.get("retry-after"),
                            response.text,
                        )
                    )
                time.sleep(0.05)

    threads = [threading.Thread(target=sender), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(BEFORE)
        stopping = time.monotonic()
        cluster.stop("immediate")
        down = time.monotonic()
        time.sleep(OUTAGE)
        restarting = time.monotonic()
        cluster.start()
        up = time.monotonic()

        def reading_again() -> bool:
            late = [a for a in answers if a.sent > up]
            return len(late) >= 2 and all(a.status == 200 for a in late[-2:])

        wait_until(reading_again, 60, "the service did not answer again after the restart")
        time.sleep(AFTER)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    assert server.process.poll() is None, server.log_text()  # the same process throughout

    # Every delivery was answered 202, during the outage too.
    statuses = [status for status, _ in sent.values()]
    assert set(statuses) == {202}, {s: statuses.count(s) for s in set(statuses)}
    during = sum(1 for _, at in sent.values() if down < at < restarting)
    assert during > 0
    # The API and the dashboard: 200 before and after, a plain 503 while PostgreSQL was down.
    inside = [a for a in answers if a.sent > down + 0.5 and a.done < restarting]
    assert inside, "no request was made during the outage"
    where = f"127.0.0.1:{cluster.port}"
    for answer in inside:
        assert answer.status == 503, answer
        assert "Traceback" not in answer.body, answer
        assert 'File "' not in answer.body, answer
        assert where not in answer.body, answer  # the database's address stays inside
        if answer.path.startswith("/api/"):
            assert answer.kind.startswith("application/json"), answer
            assert answer.retry_after, answer
            error = httpx.Response(503, content=answer.body.encode()).json()["error"]
            assert error["status"] == 503
            assert error["message"]
        else:
            assert answer.kind.startswith("text/html"), answer
    assert {a.status for a in answers} <= {200, 503}
    before = [a for a in answers if a.done < stopping]
    assert before
    assert all(a.status == 200 for a in before), before

    status = wait_for_spool(server)
    assert status["writer_running"], status
    assert status["last_error"], status  # the writer met the outage, and went on
    stop_server(server)
    assert server.process.returncode == 0, server.log_text()
    assert "Traceback" not in server.log_text(), server.log_text()

    accepted = sorted(sent)
    receipts = rows(url, sa.select(webhook_receipts.c.delivery_id))
    assert sorted(r for (r,) in receipts) == accepted
    assert count(url, ORDERS) == len(accepted)
    assert count(url, CANONICAL_TABLES["order_lines"]) == 3 * len(accepted)
    again = min(a.done for a in answers if a.sent > up and a.status == 200)
    print(
        f"{len(accepted)} deliveries ({during} while PostgreSQL was down), "
        f"{len(answers)} reads ({len(inside)} answered 503 during the outage), "
        f"reads answered 200 again {again - up:.1f} s after the restart"
    )
