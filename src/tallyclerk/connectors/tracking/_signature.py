"""Webhook signatures of the tracking sources: HMAC-SHA256 of the raw body with a secret.

source          header                    value
--------------  ------------------------  ---------------------------------------------
easypost        X-Hmac-Signature          ``hmac-sha256-hex=`` + hex digest (the secret
                                          is NFKD-normalized first, as EasyPost does)
aftership       aftership-hmac-sha256     base64 of the digest
tracking-json   X-Tallyclerk-Signature    ``sha256=`` + hex digest

Signatures are checked over the exact bytes received, in constant time. An empty secret
verifies nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from typing import Final

EASYPOST_SIGNATURE_HEADER: Final = "X-Hmac-Signature"
AFTERSHIP_SIGNATURE_HEADER: Final = "aftership-hmac-sha256"
GENERIC_SIGNATURE_HEADER: Final = "X-Tallyclerk-Signature"

SIGNATURE_HEADERS: Final[dict[str, str]] = {
    "easypost": EASYPOST_SIGNATURE_HEADER,
    "aftership": AFTERSHIP_SIGNATURE_HEADER,
    "tracking-json": GENERIC_SIGNATURE_HEADER,
}

_EASYPOST_PREFIX = "hmac-sha256-hex="
_GENERIC_PREFIX = "sha256="


def _digest(body: bytes, secret: str, source: str) -> bytes:
    if source == "easypost":
        secret = unicodedata.normalize("NFKD", secret)
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()


def _check_source(source: str) -> None:
    if source not in SIGNATURE_HEADERS:
        known = ", ".join(SIGNATURE_HEADERS)
        raise ValueError(f"no webhook signature is known for {source!r} (known: {known})")


def sign(body: bytes, secret: str, *, source: str) -> str:
    """The header value a source sends for `body` signed with `secret`."""
    _check_source(source)
    digest = _digest(body, secret, source)
    if source == "aftership":
        return base64.b64encode(digest).decode("ascii")
    prefix = _EASYPOST_PREFIX if source == "easypost" else _GENERIC_PREFIX
    return prefix + digest.hex()


def verify_signature(body: bytes, header_value: str | None, secret: str, *, source: str) -> bool:
    """Whether the signature header of a webhook matches its body and the source's secret."""
    _check_source(source)
    if header_value is None or not secret:
        return False
    given = header_value.strip()
    expected = sign(body, secret, source=source)
    if source != "aftership":
        # The prefix names the algorithm and the digest is hex: neither depends on case.
        given, expected = given.lower(), expected.lower()
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("ascii"))
