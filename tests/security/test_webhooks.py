"""Inbound webhook signatures and replays; the signature of outgoing alert webhooks.

Every inbound source (Shopify and the three tracking sources) gets the same forgeries: no
signature, an empty or wrong one, one cut short, one of another body, one made with another
source's secret, a body changed after signing, the digest in another case or encoding. Each
is 401 and nothing reaches the spool or the store. A delivery sent twice lands once.

Outgoing alert webhooks are signed over "<timestamp>.<body>"; the receivers' verifier refuses
an old (or far future) timestamp when given a tolerance.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tallyclerk.alerts._channels import sign_webhook, verify_webhook_signature
from tallyclerk.api import create_app
from tallyclerk.api._spool import SUFFIX
from tallyclerk.connectors.tracking import SIGNATURE_HEADERS, sign
from tallyclerk.settings import Settings
from tallyclerk.store import open_store
from tallyclerk.store.schema import ingestion_batches, webhook_receipts
from tests.api.test_webhooks import (
    aftership_update,
    count,
    drained,
    easypost_event,
    shopify_order,
    wait_for,
)

SECRETS = {
    "shopify": "shpss_security_0123456789",
    "easypost": "ez-security-secret",
    "aftership": "as-security-secret",
    "tracking-json": "tj-security-secret",
}


def _tracking_json(number: str) -> bytes:
    return (
        b'{"tracking_number": "' + number.encode() + b'", "carrier": "UPS", '
        b'"status": "in_transit", "occurred_at": "2026-03-18T10:00:00+00:00"}'
    )


def _shopify_signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, TestClient, Path]]:
    """The service over an empty store, with a secret per source; its spool folder."""
    folder = tmp_path_factory.mktemp("webhook-security")
    url = f"duckdb:///{folder / 'store.duckdb'}"
    open_store(url=url).close()
    settings = Settings(
        database_url=url,
        service={  # type: ignore[arg-type]
            "spool_dir": folder / "spool",
            "shopify_secret": SECRETS["shopify"],
            "tracking_secrets": {k: v for k, v in SECRETS.items() if k != "shopify"},
        },
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield app, client, folder / "spool"


def _spooled(spool: Path) -> list[Path]:
    """Deliveries in the spool, finished or being written."""
    if not spool.is_dir():
        return []
    return sorted([*spool.glob(f"*{SUFFIX}"), *spool.glob("*.part")])


Source = tuple[str, str, Callable[[bytes, str], str], dict[str, str]]


def _sources(samples: Path) -> dict[str, tuple[bytes, Source]]:
    """source -> (a body, (url, signature header, signer, other headers))."""
    tracking = {
        name: (
            f"/webhooks/tracking/{name}",
            SIGNATURE_HEADERS[name],
            lambda body, secret, name=name: sign(body, secret, source=name),
            {},
        )
        for name in ("easypost", "aftership", "tracking-json")
    }
    return {
        "shopify": (
            shopify_order(samples, 7001),
            (
                "/webhooks/shopify",
                "X-Shopify-Hmac-Sha256",
                _shopify_signature,
                {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "sec-1"},
            ),
        ),
        "easypost": (easypost_event(samples, "evt_security_1"), tracking["easypost"]),
        "aftership": (aftership_update(samples), tracking["aftership"]),
        "tracking-json": (_tracking_json("1ZSECURITY0001"), tracking["tracking-json"]),
    }


def _forgeries(source: str, body: bytes, signer: Callable[[bytes, str], str]) -> list[object]:
    """Signature header values (None: no header) that must not pass, with the body sent."""
    secret = SECRETS[source]
    good = signer(body, secret)
    other_source = next(s for s in SECRETS if s != source)
    flipped = good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1]
    return [
        (None, body),
        ("", body),
        ("garbage", body),
        (good[: len(good) // 2], body),  # cut short
        (good[:-1], body),
        (flipped, body),
        (signer(body + b" ", secret), body),  # the signature of another body
        (signer(body, SECRETS[other_source]), body),  # another source's secret
        (signer(body, secret + "x"), body),
        (good, body + b" "),  # the body changed after signing
        (good, body.replace(b"1", b"2", 1)),
        (good + good, body),
        (" ".join([good, good]), body),
        (good + "é", body),
        (base64.b64encode(good.encode()).decode(), body),
    ]


@pytest.mark.parametrize("source", ["shopify", "easypost", "aftership", "tracking-json"])
def test_a_forged_signature_lands_nothing(
    source: str, service: tuple[FastAPI, TestClient, Path], samples: Path
) -> None:
    app, client, spool = service
    body, (url, header, signer, extra) = _sources(samples)[source]
    wait_for(drained(app))
    before = (count(app, ingestion_batches), count(app, webhook_receipts))
    for value, content in _forgeries(source, body, signer):  # type: ignore[misc]
        headers = dict(extra)
        if value is not None:
            headers[header] = value
        encoded = {k: v.encode("latin-1") for k, v in headers.items()}
        response = client.post(url, content=content, headers=encoded)
        assert response.status_code == 401, (source, str(value)[:40], response.text[:200])
        assert set(response.json()) == {"error"}
    assert _spooled(spool) == []
    wait_for(drained(app))
    assert (count(app, ingestion_batches), count(app, webhook_receipts)) == before
    # The good signature on the same body is taken: the forgeries were refused for theirs.
    good = client.post(url, content=body, headers={**extra, header: signer(body, SECRETS[source])})
    assert good.status_code in (200, 202), good.text


@pytest.mark.parametrize("source", ["shopify", "easypost", "aftership", "tracking-json"])
def test_a_delivery_sent_again_lands_once(
    source: str, service: tuple[FastAPI, TestClient, Path], samples: Path
) -> None:
    app, client, _ = service
    body, (url, header, signer, extra) = _sources(samples)[source]
    body = body.replace(b"7001", b"7101").replace(b"evt_security_1", b"evt_security_2")
    body = body.replace(b"1ZSECURITY0001", b"1ZSECURITY0002") + b"\n"  # a new delivery
    headers = {**extra, header: signer(body, SECRETS[source])}
    if "X-Shopify-Webhook-Id" in headers:
        headers["X-Shopify-Webhook-Id"] = "sec-replay"
    wait_for(drained(app))
    batches = count(app, ingestion_batches)
    first = client.post(url, content=body, headers=headers)
    assert first.status_code == 202, first.text
    delivery = first.json()["delivery_id"]
    again = client.post(url, content=body, headers=headers)  # may still wait in the spool
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    wait_for(drained(app))
    later = client.post(url, content=body, headers=headers)  # after it landed
    assert (later.status_code, later.json()["duplicate"]) == (200, True)
    wait_for(drained(app))
    with app.state.tc.gate.store() as store, store.connect() as connection:
        receipts = connection.execute(
            sa.select(sa.func.count())
            .select_from(webhook_receipts)
            .where(webhook_receipts.c.delivery_id == delivery)
        ).scalar_one()
    assert receipts == 1
    assert count(app, ingestion_batches) == batches + 1


def test_the_alert_signature_refuses_old_timestamps() -> None:
    body, secret = b'{"text": "ship_on_time_rate breached"}', "alert-secret"
    now = 1_773_412_345
    signed = sign_webhook(body, secret, str(now))

    def check(stamp: int, signature: str = signed) -> bool:
        return verify_webhook_signature(
            body, secret, str(stamp), signature, max_age_seconds=300, now=now + 10
        )

    assert check(now)
    assert not check(now - 600, sign_webhook(body, secret, str(now - 600)))  # replayed later
    assert not check(now + 600, sign_webhook(body, secret, str(now + 600)))  # from the future
    assert not check(now + 1)  # the timestamp is part of what is signed
    assert not verify_webhook_signature(body, secret, "now", signed, max_age_seconds=300)
    assert not verify_webhook_signature(body, "other", str(now), signed, now=now)
    assert verify_webhook_signature(
        body, secret, str(int(time.time())), sign_webhook(body, secret, str(int(time.time()))),
        max_age_seconds=300,
    )  # fmt: skip
