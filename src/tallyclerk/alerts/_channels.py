"""How alerts reach people: email over SMTP, and JSON webhooks signed with HMAC-SHA256.

Email goes through the rules file's `channels.email` server: STARTTLS when `starttls` is set,
a login when `username` is set (the password is read from the environment variable named by
`password_env`, never from the file). Each message has a plain-text part and an HTML part.

A webhook is an HTTP POST of a JSON body that Slack's incoming webhooks accept as it is
(`text` and `blocks`), with the alert itself under `alert` and the acknowledgement link under
`ack_url` for any other receiver. Two headers come with it:

    X-Tallyclerk-Timestamp: 1773412345          (Unix seconds when it was sent)
    X-Tallyclerk-Signature: sha256=<hex>        (HMAC-SHA256 of "<timestamp>.<raw body>")

The key is the secret in the environment variable named by the channel's `secret_env` (no
signature header when the channel has none). The timestamp is part of what is signed, so a
receiver that checks the signature and refuses timestamps older than a few minutes also
refuses a recorded request played again: `verify_webhook_signature(body, secret, timestamp,
signature)` does both (5 minutes by default).

A failed delivery raises `ChannelError` with a plain message; secrets (the password, the
HMAC key, the path and query of a webhook URL, which for Slack is itself the secret) never
appear in it.
"""

from __future__ import annotations

import email.policy
import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from tallyclerk.alerts._rules import EmailChannel, WebhookChannel
from tallyclerk.errors import TallyclerkError

SIGNATURE_HEADER = "X-Tallyclerk-Signature"
TIMESTAMP_HEADER = "X-Tallyclerk-Timestamp"
SIGNATURE_PREFIX = "sha256="
USER_AGENT = "tallyclerk-alerts"
# Header lines may run to RFC 5322's 998 characters: a subject is never folded in two.
_MAIL_POLICY = email.policy.default.clone(max_line_length=998)


class ChannelError(TallyclerkError):
    """A message could not be delivered through a channel; the message says why, plainly."""


class Sender(Protocol):
    """What delivers alert messages (the real channels, or another sender in a test)."""

    def email(
        self, channel: EmailChannel, to: str, subject: str, text: str, html: str | None
    ) -> None:
        """Send one email; raise ChannelError when it cannot be delivered."""
        ...

    def webhook(self, name: str, channel: WebhookChannel, body: dict[str, Any]) -> None:
        """POST one JSON body to a webhook; raise ChannelError when it is refused."""
        ...


# ---------------------------------------------------------------------------- signatures


def _signed_bytes(body: bytes, timestamp: str) -> bytes:
    return timestamp.encode("ascii") + b"." + body


def sign_webhook(body: bytes, secret: str, timestamp: str) -> str:
    """The `X-Tallyclerk-Signature` value: `sha256=` and the hex HMAC-SHA256, keyed with
    `secret`, of the timestamp, a dot, and the raw body."""
    digest = hmac.new(secret.encode("utf-8"), _signed_bytes(body, timestamp), hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def verify_webhook_signature(
    body: bytes,
    secret: str,
    timestamp: str | None,
    signature: str | None,
    *,
    max_age_seconds: float | None = 300.0,
    now: float | None = None,
) -> bool:
    """Whether a received webhook was signed with `secret` (for receivers, and the tests).

    `signature` is the header's value (`sha256=<hex>`; the bare hex is accepted too). A
    timestamp further than `max_age_seconds` (5 minutes) from `now` (Unix seconds, default the
    current time) is refused as well, which stops a recorded request from being replayed;
    `max_age_seconds=None` checks the key only.
    """
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if max_age_seconds is not None:
        clock = time.time() if now is None else now
        if abs(clock - int(timestamp)) > max_age_seconds:
            return False
    given = signature.strip()
    if given.startswith(SIGNATURE_PREFIX):
        given = given[len(SIGNATURE_PREFIX) :]
    expected = sign_webhook(body, secret, timestamp)[len(SIGNATURE_PREFIX) :]
    return hmac.compare_digest(given.lower().encode("ascii", "replace"), expected.encode())


# ---------------------------------------------------------------------------- the real channels


def _secret(variable: str, what: str) -> str:
    value = os.environ.get(variable)
    if not value:
        raise ChannelError(f"{what}: the environment variable {variable} is not set")
    return value


def safe_url(url: str) -> str:
    """A webhook URL as it may be shown: scheme, host and port only (the path may be a key)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class RealSender:
    """Delivers through the channels of the rules file: SMTP, and HTTPS/HTTP POSTs."""

    def email(
        self, channel: EmailChannel, to: str, subject: str, text: str, html: str | None
    ) -> None:
        """Send one email through the channel's SMTP server."""
        where = f"email to {to} through {channel.host}:{channel.port}"
        password: str | None = None
        if channel.username is not None:
            if channel.password_env is None:
                raise ChannelError(
                    f"{where}: channels.email.username is set but password_env is not"
                )
            password = _secret(channel.password_env, where)
        message = EmailMessage(policy=_MAIL_POLICY)
        message["From"] = channel.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(domain=channel.sender.rsplit("@", 1)[-1])
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
        try:
            with smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout_seconds) as smtp:
                smtp.ehlo()
                if channel.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if channel.username is not None and password is not None:
                    smtp.login(channel.username, password)
                refused = smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelError(
                f"{where} failed: the server refused the login ({exc.smtp_code})"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = ", ".join(f"{code}" for code, _ in exc.recipients.values())
            raise ChannelError(
                f"{where} failed: the server refused the recipient ({codes})"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raw = exc.smtp_error
            detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
            raise ChannelError(f"{where} failed: {exc.smtp_code} {detail}".rstrip()) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"{where} failed: {_reason(exc)}") from None
        if refused:
            raise ChannelError(f"{where} failed: the server refused the recipient")

    def webhook(self, name: str, channel: WebhookChannel, body: dict[str, Any]) -> None:
        """POST the body as JSON, signed when the channel has a secret."""
        where = f"webhook {name} ({safe_url(channel.url)})"
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            TIMESTAMP_HEADER: timestamp,
        }
        if channel.secret_env is not None:
            headers[SIGNATURE_HEADER] = sign_webhook(
                raw, _secret(channel.secret_env, where), timestamp
            )
        try:
            response = httpx.post(
                channel.url,
                content=raw,
                headers=headers,
                timeout=channel.timeout_seconds,
                follow_redirects=False,
            )
        except httpx.TimeoutException:
            raise ChannelError(
                f"{where} failed: no answer within {channel.timeout_seconds:g} s"
            ) from None
        except httpx.HTTPError as exc:
            reason = _reason(exc).replace(channel.url, safe_url(channel.url))
            raise ChannelError(f"{where} failed: {reason}") from None
        if not 200 <= response.status_code < 300:
            raise ChannelError(
                f"{where} failed: the receiver answered {response.status_code} "
                f"{response.reason_phrase}".rstrip()
            )


__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ChannelError",
    "RealSender",
    "Sender",
    "safe_url",
    "sign_webhook",
    "verify_webhook_signature",
]
