"""A crash of the service in the middle of a webhook burst loses no delivery it accepted.

The real service (`tallyclerk serve`) takes a burst of DELIVERIES distinct Shopify
orders/create deliveries (three lines each, signed with the app secret) from SENDERS
concurrent senders, and is killed (SIGKILL) once KILL_AT of them were answered. It is
started again on the same spool and store; the senders then retry every delivery they saw
no answer to, as Shopify does, and replay REPLAYS of those answered before the kill. Once
the spool is empty and the service stopped, every delivery has landed exactly once: one
order, its three lines and one receipt each.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tallyclerk.store import CANONICAL_TABLES
from tallyclerk.store.schema import quarantine, webhook_receipts
from tests.reliability._procs import (
    Delivery,
    Launcher,
    Server,
    admin_token,
    count,
    order_deliveries,
    post_delivery,
    rows,
    serving,
    stop_server,
    wait_for_spool,
)

DELIVERIES = 600
SENDERS = 6
KILL_AT = 250
REPLAYS = 60
ORDERS = CANONICAL_TABLES["orders"]
LINES = CANONICAL_TABLES["order_lines"]


def _send(
    server: Server,
    deliveries: Sequence[Delivery],
    *,
    kill_at: int | None = None,
) -> dict[str, int]:
    """Send from SENDERS threads; each delivery's status (0: no answer). With `kill_at`, the
    server is killed as soon as that many were answered 202."""
    statuses: dict[str, int] = {}
    cursor = iter(deliveries)
    lock = threading.Lock()
    accepted = 0

    def sender() -> None:
        nonlocal accepted
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while True:
                with lock:
                    delivery = next(cursor, None)
                if delivery is None:
                    return
                status = post_delivery(client, delivery)
                with lock:
                    statuses[delivery.delivery_id] = status
                    if status == 202:
                        accepted += 1
                        if accepted == kill_at:
                            server.process.kill()

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a sender hung"
    return statuses


@pytest.mark.slow
def test_kill_mid_webhook_burst_loses_nothing_accepted(
    launcher: Launcher, store_url: str, tmp_path: Path
) -> None:
    token = admin_token(store_url)
    deliveries = order_deliveries(DELIVERIES)
    with serving(launcher, tmp_path, store_url, token=token) as server:
        first = _send(server, deliveries, kill_at=KILL_AT)
        assert server.process.wait(30) == -9, "the server was not killed"
    spool = server.spool
    assert set(first.values()) <= {202, 0}, first
    answered = [d for d in deliveries if first[d.delivery_id] == 202]
    unanswered = [d for d in deliveries if first[d.delivery_id] != 202]
    assert len(answered) >= KILL_AT
    assert unanswered, "the burst ended before the kill"
    spooled = len(list(spool.glob("*.delivery")))
    unfinished = len(list(spool.glob("*.part")))

    with serving(launcher, tmp_path, store_url, token=token, spool=spool) as server:
        replays = answered[:: max(1, len(answered) // REPLAYS)][:REPLAYS]
        second = _send(server, [*unanswered, *replays])
        # Retried deliveries are taken now (202), or were spooled before the kill though the
        # answer never left (200); replays of accepted deliveries are known (200).
        assert {second[d.delivery_id] for d in unanswered} <= {200, 202}
        assert {second[d.delivery_id] for d in replays} == {200}
        wait_for_spool(server)
        stop_server(server)
        assert server.process.returncode == 0, server.log_text()

    assert count(store_url, ORDERS) == DELIVERIES
    assert sorted(i for (i,) in rows(store_url, sa.select(ORDERS.c.order_id))) == sorted(
        d.order_id for d in deliveries
    )
    assert count(store_url, LINES) == 3 * DELIVERIES
    receipts = rows(store_url, sa.select(webhook_receipts.c.source, webhook_receipts.c.delivery_id))
    assert sorted(receipts) == sorted(("shopify", d.delivery_id) for d in deliveries)
    assert count(store_url, quarantine) == 0
    print(
        f"{len(answered)} answered 202 before the kill, {spooled} waiting in the spool then "
        f"({unfinished} half-written), "
        f"{len(unanswered)} retried ({sum(s == 200 for s in second.values()) - len(replays)} "
        f"of them spooled before the kill), {len(replays)} replayed"
    )
