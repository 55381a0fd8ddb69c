"""Shopify webhooks: the signature check and reading a body by its topic.

Shopify signs each webhook body with the app's secret: the `X-Shopify-Hmac-Sha256` header
holds the base64 HMAC-SHA256 of the raw body. The `X-Shopify-Webhook-Id` header names the
delivery (retries repeat it); the service receiving webhooks uses it to drop replays.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from tallyclerk.connectors._base import ConnectorError, Parsed, ParseOptions
from tallyclerk.connectors.shopify._map import Config, Mapper, Where, order_label
from tallyclerk.connectors.shopify._read import decode, loads

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"

ORDER_TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "orders/fulfilled")
FULFILLMENT_TOPICS = ("fulfillments/create", "fulfillments/update")
TOPICS = ORDER_TOPICS + FULFILLMENT_TOPICS


def verify_webhook(body: bytes, header_value: str | None, secret: str | bytes) -> bool:
    """Whether the HMAC header is the signature of the raw body under the app secret."""
    if not header_value or not secret or not isinstance(header_value, str):
        return False
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest())
    given = header_value.strip().encode("utf-8", errors="replace")
    return hmac.compare_digest(expected, given)


def parse_webhook(body: bytes, topic: str, options: ParseOptions | None = None) -> Parsed:
    """Map one webhook body: an order (orders/...) or a fulfillment (fulfillments/...)."""
    options = options or ParseOptions()
    name = topic.strip().lower() if isinstance(topic, str) else ""
    if name not in TOPICS:
        raise ConnectorError(
            f"Shopify webhook topic {topic!r} is not read here (topics: {', '.join(TOPICS)})"
        )
    source = options.source if options.source != "<payload>" else f"{name} webhook"
    text = decode(body, source)
    try:
        doc = loads(text)
    except ValueError:
        raise ConnectorError(f"{source}: the body is not valid JSON") from None
    except RecursionError:
        raise ConnectorError(f"{source}: the body is not valid JSON (nested too deeply)") from None
    wrapper = "order" if name in ORDER_TOPICS else "fulfillment"
    if isinstance(doc, dict) and isinstance(doc.get(wrapper), dict):
        doc = doc[wrapper]
    if not isinstance(doc, dict):
        raise ConnectorError(f"{source}: the body is not a JSON object")
    parsed = Parsed(summary=f"{name} webhook")
    mapper = Mapper(parsed, Config.of(options))
    if wrapper == "order":
        mapper.order(doc, Where(1, f"order 1 ({order_label(doc)})"))
    else:
        mapper.fulfillment(doc, Where(1, f"fulfillment 1 ({order_label({'id': doc.get('id')})})"))
    mapper.finish()
    return parsed
