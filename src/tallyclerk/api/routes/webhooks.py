"""Inbound webhooks: Shopify orders and fulfillments, carrier tracking events.

No login: the signature is the authentication (DESIGN section 8). A verified body is written
to the spool (fsynced) before the answer, so an accepted delivery survives a crash or a busy
store; the spool's writer lands the waiting deliveries in batches (see `api/_spool.py`). A
delivery id seen before is answered as a duplicate and not taken again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, HTTPException, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from tallyclerk.api._deps import ScopeDep, ServiceState, service
from tallyclerk.api._spool import Spool, SpoolWriter
from tallyclerk.connectors.shopify import (
    HMAC_HEADER,
    TOPIC_HEADER,
    WEBHOOK_ID_HEADER,
    verify_webhook,
)
from tallyclerk.connectors.tracking import SIGNATURE_HEADERS, verify_signature
from tallyclerk.ingest._webhooks import topic_kind

router = APIRouter(tags=["webhooks"])

# Webhook bodies are small (a Shopify order is a few kB); a larger body is refused unread.
MAX_WEBHOOK_BYTES = 5 * 1024 * 1024
SPOOL = "webhook_spool"
WRITER = "webhook_writer"
# Ids longer than this are kept as their hash (the receipts table is keyed by them).
_MAX_ID = 200


class WebhookAnswer(BaseModel):
    """The answer to a delivery: taken (202), or a replay of one taken before (200)."""

    accepted: bool = Field(description="The delivery is safely stored (now or before).")
    delivery_id: str = Field(
        description="The sender's delivery id, or `sha256:<hex>` of the body when it has none."
    )
    duplicate: bool = Field(description="The delivery was received before; nothing was added.")


class WebhookStatus(BaseModel):
    """The spool and its writer."""

    writer_running: bool
    waiting: int = Field(description="Deliveries in the spool, not yet landed.")
    oldest_waiting_at: datetime | None
    landed_since_start: int
    last_landed_at: datetime | None
    last_landed_deliveries: int
    last_batch_ids: list[int]
    last_error: str | None
    last_error_at: datetime | None


_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"model": WebhookAnswer, "description": "A replay: this delivery was received before."},
    400: {"description": "A Shopify topic tallyclerk does not read."},
    401: {"description": "The signature does not match the body."},
    413: {"description": "The body is larger than 5 MB."},
    503: {"description": "No webhook secret is configured for this source."},
}


def install(app: FastAPI) -> None:
    """Attach the spool (its directory is made on the first delivery)."""
    state: ServiceState = app.state.tc
    state.extras[SPOOL] = Spool(state.settings.service.spool_dir)


async def startup(app: FastAPI) -> None:
    """Index what an earlier run left in the spool and start the writer (it lands that first)."""
    state: ServiceState = app.state.tc
    spool: Spool = state.extras[SPOOL]
    await asyncio.to_thread(spool.scan)
    writer = SpoolWriter(spool, state.gate, state.settings)
    state.extras[WRITER] = writer
    # Replays of deliveries landed before the restart are answered as such from the start.
    await asyncio.to_thread(writer.learn_landed)
    writer.start()


async def shutdown(app: FastAPI) -> None:
    """Stop the writer and land what waits (what cannot land stays for the next start)."""
    state: ServiceState = app.state.tc
    writer: SpoolWriter | None = state.extras.get(WRITER)
    if writer is not None:
        await asyncio.to_thread(writer.stop)


async def _body(request: Request) -> bytes:
    """The raw body, refused (413) as soon as it is known to exceed the limit."""
    too_large = HTTPException(
        413, f"the body is larger than {MAX_WEBHOOK_BYTES // (1024 * 1024)} MB; nothing was taken"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        raise too_large
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_WEBHOOK_BYTES:
            raise too_large
        parts.append(chunk)
    return b"".join(parts)


def _content_id(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _plain_id(value: str | None) -> str | None:
    """A sender's delivery id as stored: stripped, hashed when long or unprintable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > _MAX_ID or not value.isprintable():
        return "id-sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value


def _tracking_id(source: str, body: bytes) -> str | None:
    """The event id a tracking source puts in its body (EasyPost `id`, AfterShip `event_id`)."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    if source == "easypost" and doc.get("object") == "Event":
        found = doc.get("id")
    elif source == "aftership":
        found = doc.get("event_id")
    else:
        return None
    return _plain_id(found) if isinstance(found, str) else None


def _take(
    state: ServiceState, source: str, delivery_id: str, topic: str | None, body: bytes
) -> WebhookAnswer:
    """Spool the delivery (fsynced) unless it waits or landed already."""
    spool: Spool = state.extras[SPOOL]
    fresh = spool.accept(source, delivery_id, topic, body, datetime.now(UTC))
    return WebhookAnswer(accepted=True, delivery_id=delivery_id, duplicate=not fresh)


def _answer(answer: WebhookAnswer, response: Response) -> WebhookAnswer:
    response.status_code = 200 if answer.duplicate else 202
    return answer


@router.post(
    "/webhooks/shopify",
    response_model=WebhookAnswer,
    status_code=202,
    responses=_ANSWERS,
    summary="Shopify webhook (orders, fulfillments)",
)
async def shopify_webhook(
    request: Request,
    response: Response,
    hmac_header: Annotated[
        str | None,
        Header(alias=HMAC_HEADER, description="Base64 HMAC-SHA256 of the body, app secret."),
    ] = None,
    topic: Annotated[
        str | None,
        Header(alias=TOPIC_HEADER, description="orders/create, orders/updated, ..."),
    ] = None,
    webhook_id: Annotated[
        str | None,
        Header(alias=WEBHOOK_ID_HEADER, description="The delivery id; a replay repeats it."),
    ] = None,
) -> WebhookAnswer:
    """Take a Shopify webhook: orders/create, orders/updated, orders/cancelled,
    orders/fulfilled, fulfillments/create, fulfillments/update.

    Configure the app secret as `TALLYCLERK_SERVICE__SHOPIFY_SECRET`. The body is stored
    before the answer (202) and lands within a second; a delivery id received before is
    answered 200 with `duplicate: true`.
    """
    state = service(request)
    secret = state.settings.service.shopify_secret
    if not secret:
        raise HTTPException(
            503,
            "webhook secret for shopify is not configured: set TALLYCLERK_SERVICE__SHOPIFY_SECRET",
        )
    body = await _body(request)
    if not verify_webhook(body, hmac_header, secret):
        raise HTTPException(401, f"the {HMAC_HEADER} signature does not match the body")
    topic_kind("shopify", topic)  # an unknown topic is refused now, not after spooling
    delivery_id = _plain_id(webhook_id) or _content_id(body)
    answer = await run_in_threadpool(_take, state, "shopify", delivery_id, topic, body)
    return _answer(answer, response)


@router.post(
    "/webhooks/tracking/{source}",
    response_model=WebhookAnswer,
    status_code=202,
    responses={**_ANSWERS, 404: {"description": "No such tracking source."}},
    summary="Carrier tracking webhook (EasyPost, AfterShip, plain tracking JSON)",
)
async def tracking_webhook(source: str, request: Request, response: Response) -> WebhookAnswer:
    """Take a tracking webhook of `source`: easypost, aftership or tracking-json.

    Signature headers: EasyPost `X-Hmac-Signature` (`hmac-sha256-hex=...`), AfterShip
    `aftership-hmac-sha256` (base64), tracking-json `X-Tallyclerk-Signature` (`sha256=...`),
    each an HMAC-SHA256 of the body with the source's secret from
    `TALLYCLERK_SERVICE__TRACKING_SECRETS` (`{"easypost": "..."}`). Shippo tracks are sent as
    tracking-json. The delivery id is the event id (EasyPost `id`, AfterShip `event_id`),
    else the SHA-256 of the body, so the very same body twice is a replay.
    """
    header = SIGNATURE_HEADERS.get(source)
    if header is None:
        known = ", ".join(SIGNATURE_HEADERS)
        raise HTTPException(404, f"no tracking webhook source {source!r} (known: {known})")
    state = service(request)
    secret = state.settings.service.tracking_secrets.get(source)
    if not secret:
        raise HTTPException(
            503,
            f"webhook secret for {source} is not configured: set "
            "TALLYCLERK_SERVICE__TRACKING_SECRETS",
        )
    body = await _body(request)
    if not verify_signature(body, request.headers.get(header), secret, source=source):
        raise HTTPException(401, f"the {header} signature does not match the body")
    delivery_id = _tracking_id(source, body) or _content_id(body)
    answer = await run_in_threadpool(_take, state, source, delivery_id, None, body)
    return _answer(answer, response)


@router.get(
    "/api/v1/webhooks/status",
    response_model=WebhookStatus,
    summary="Webhook spool and writer (admin)",
)
def webhook_status(request: Request, scope: ScopeDep) -> WebhookStatus:
    """How many deliveries wait in the spool, what landed last and the last error."""
    scope.require_admin()
    state = service(request)
    spool: Spool = state.extras[SPOOL]
    writer: SpoolWriter | None = state.extras.get(WRITER)
    if writer is None:
        return WebhookStatus(
            writer_running=False,
            waiting=spool.waiting,
            oldest_waiting_at=spool.oldest(),
            landed_since_start=0,
            last_landed_at=None,
            last_landed_deliveries=0,
            last_batch_ids=[],
            last_error=None,
            last_error_at=None,
        )
    now = writer.status()
    return WebhookStatus(
        writer_running=now.running,
        waiting=now.waiting,
        oldest_waiting_at=now.oldest_waiting_at,
        landed_since_start=now.landed_total,
        last_landed_at=now.last_landed_at,
        last_landed_deliveries=now.last_landed_deliveries,
        last_batch_ids=list(now.last_batch_ids),
        last_error=now.last_error,
        last_error_at=now.last_error_at,
    )
