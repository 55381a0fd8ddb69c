"""Alert channels against real servers on 127.0.0.1: an SMTP server (aiosmtpd) and an HTTP
webhook receiver that checks every signature.

`Inbox` and `HookReceiver` are also used by the engine and CLI tests.
"""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tallyclerk.alerts._channels import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ChannelError,
    RealSender,
    sign_webhook,
    verify_webhook_signature,
)
from tallyclerk.alerts._rules import EmailChannel, WebhookChannel

HOOK_SECRET = "whsec-test-7f3a9c"
HOOK_SECRET_ENV = "TALLYCLERK_TEST_HOOK_SECRET"


def free_port() -> int:
    """A TCP port nobody listens on (right now) on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Mail:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]

    @property
    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        if part is None:
            return None
        return str(part.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]


class Inbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 keeping every message it accepts.

    With `password`, it offers AUTH LOGIN/PLAIN (without TLS, for the test) and accepts only
    `user` with that password; `logins` lists who logged in.
    """

    def __init__(
        self, port: int | None = None, *, user: str | None = None, password: str | None = None
    ) -> None:
        self.messages: list[Mail] = []
        self.started = False
        self.logins: list[str] = []
        self.user = user
        self.password = password
        extra: dict[str, Any] = {}
        if password is not None:
            extra = {
                "authenticator": self._authenticate,
                "auth_require_tls": False,
            }
        self.controller = Controller(self, hostname="127.0.0.1", port=port or free_port(), **extra)

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> Inbox:
        self.controller.start()
        self.started = True
        return self

    def stop(self) -> None:
        if self.started:
            self.controller.stop()
            self.started = False
        self.controller.loop.close()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            login = data.login.decode()
            if login == self.user and data.password.decode() == self.password:
                self.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        message = email.message_from_bytes(raw, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.messages.append(
            Mail(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], message)
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Mail]:
        """The messages sent to an address."""
        return [m for m in self.messages if address in m.rcpt_tos]


@dataclass(frozen=True)
class Hook:
    """One POST the receiver accepted, its signature checked."""

    path: str
    headers: dict[str, str]
    raw: bytes
    body: dict[str, Any]


class HookReceiver:
    """A real HTTP server on 127.0.0.1 that takes webhook POSTs.

    Each request's signature is checked with `verify_webhook_signature` against `secret`: a
    good one is kept and answered `status` (200 unless changed); a bad or missing one is
    counted in `refused` and answered 401.
    """

    def __init__(self, secret: str | None = HOOK_SECRET) -> None:
        self.secret = secret
        self.status = 200
        self.hooks: list[Hook] = []
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = dict(self.headers.items())
                good = receiver.secret is None or verify_webhook_signature(
                    raw,
                    receiver.secret,
                    headers.get(TIMESTAMP_HEADER),
                    headers.get(SIGNATURE_HEADER),
                    max_age_seconds=300,
                )
                if not good:
                    receiver.refused += 1
                    self.send_response(401)
                elif receiver.status >= 300:
                    self.send_response(receiver.status)
                else:
                    receiver.hooks.append(Hook(self.path, headers, raw, json.loads(raw)))
                    self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T01/B02/XyZsecretpath"

    def start(self) -> HookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    server = Inbox().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[HookReceiver]:
    monkeypatch.setenv(HOOK_SECRET_ENV, HOOK_SECRET)
    server = HookReceiver().start()
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------- signatures


def test_the_signature_is_an_hmac_of_the_timestamp_and_the_body() -> None:
    body = b'{"text":"westcoast: 14 orders stuck"}'
    expected = hmac.new(
        b"s3cret", b'1773412345.{"text":"westcoast: 14 orders stuck"}', hashlib.sha256
    ).hexdigest()
    assert sign_webhook(body, "s3cret", "1773412345") == f"sha256={expected}"
    assert verify_webhook_signature(
        body, "s3cret", "1773412345", f"sha256={expected}", now=1773412345
    )
    assert verify_webhook_signature(
        body, "s3cret", "1773412345", expected, now=1773412345
    )  # bare hex
    assert verify_webhook_signature(
        body, "s3cret", "1773412345", f"sha256={expected.upper()}", now=1773412345
    )


def test_a_changed_body_timestamp_or_key_fails_the_signature() -> None:
    body = b'{"a":1}'
    good = sign_webhook(body, "s3cret", "1773412345")
    assert not verify_webhook_signature(b'{"a":2}', "s3cret", "1773412345", good, now=1773412345)
    assert not verify_webhook_signature(body, "s3cret", "1773412346", good, now=1773412345)
    assert not verify_webhook_signature(body, "other", "1773412345", good, now=1773412345)
    assert not verify_webhook_signature(body, "s3cret", None, good, now=1773412345)
    assert not verify_webhook_signature(body, "s3cret", "1773412345", None, now=1773412345)
    assert not verify_webhook_signature(body, "s3cret", "not-a-time", good, now=1773412345)


def test_an_old_timestamp_is_refused_when_the_receiver_bounds_its_age() -> None:
    body = b"{}"
    good = sign_webhook(body, "k", "1000000")
    assert verify_webhook_signature(
        body, "k", "1000000", good, max_age_seconds=None
    )  # the key only
    assert verify_webhook_signature(body, "k", "1000000", good, max_age_seconds=300, now=1000299)
    assert not verify_webhook_signature(
        body, "k", "1000000", good, max_age_seconds=300, now=1000301
    )


# ---------------------------------------------------------------------------- email


def test_an_email_arrives_with_its_text_and_html_parts(inbox: Inbox) -> None:
    channel = EmailChannel(host="127.0.0.1", port=inbox.port, sender="alerts@brand.example")
    RealSender().email(
        channel,
        "dana@brand.example",
        "[tallyclerk PAGE] westcoast: 14 orders stuck",
        "14 orders are stuck.\n",
        "<p>14 orders are stuck.</p>",
    )
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail.mail_from == "alerts@brand.example"
    assert mail.rcpt_tos == ["dana@brand.example"]
    assert mail.subject == "[tallyclerk PAGE] westcoast: 14 orders stuck"
    assert mail.message["From"] == "alerts@brand.example"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert mail.text == "14 orders are stuck.\n"
    assert mail.html is not None
    assert "<p>14 orders are stuck.</p>" in mail.html


def test_the_smtp_login_uses_the_password_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = Inbox(user="alerts", password="pw-from-env-41").start()
    try:
        channel = EmailChannel(
            port=server.port,
            sender="alerts@brand.example",
            username="alerts",
            password_env="TALLYCLERK_TEST_SMTP_PASSWORD",
        )
        monkeypatch.delenv("TALLYCLERK_TEST_SMTP_PASSWORD", raising=False)
        with pytest.raises(ChannelError) as unset:
            RealSender().email(channel, "sam@brand.example", "s", "t", None)
        assert "TALLYCLERK_TEST_SMTP_PASSWORD is not set" in str(unset.value)
        monkeypatch.setenv("TALLYCLERK_TEST_SMTP_PASSWORD", "wrong-password")
        with pytest.raises(ChannelError) as refused:
            RealSender().email(channel, "sam@brand.example", "s", "t", None)
        assert "refused the login" in str(refused.value)
        assert "wrong-password" not in str(refused.value)
        monkeypatch.setenv("TALLYCLERK_TEST_SMTP_PASSWORD", "pw-from-env-41")
        RealSender().email(channel, "sam@brand.example", "hello", "text\n", None)
        assert server.logins == ["alerts"]
        assert [m.subject for m in server.messages] == ["hello"]
        assert server.messages[0].html is None
    finally:
        server.stop()


def test_an_smtp_server_that_is_down_is_a_channel_error() -> None:
    port = free_port()
    channel = EmailChannel(port=port, sender="alerts@brand.example", timeout_seconds=3)
    with pytest.raises(ChannelError) as caught:
        RealSender().email(channel, "dana@brand.example", "s", "t", None)
    message = str(caught.value)
    assert message.startswith(f"email to dana@brand.example through 127.0.0.1:{port} failed:")
    assert "refused" in message.lower()


# ---------------------------------------------------------------------------- webhooks


def test_a_webhook_is_posted_as_signed_json(receiver: HookReceiver) -> None:
    channel = WebhookChannel(url=receiver.url, secret_env=HOOK_SECRET_ENV)
    body = {"text": "westcoast: 14 orders stuck ✓", "blocks": [], "alert": {"alert_id": 7}}
    RealSender().webhook("ops", channel, body)
    assert receiver.refused == 0
    assert len(receiver.hooks) == 1
    hook = receiver.hooks[0]
    assert hook.path == "/services/T01/B02/XyZsecretpath"
    assert hook.body == body
    assert hook.headers["Content-Type"] == "application/json; charset=utf-8"
    timestamp = hook.headers[TIMESTAMP_HEADER]
    expected = hmac.new(
        HOOK_SECRET.encode(), timestamp.encode() + b"." + hook.raw, hashlib.sha256
    ).hexdigest()
    assert hook.headers[SIGNATURE_HEADER] == f"sha256={expected}"


def test_a_webhook_signed_with_another_key_is_refused_by_the_receiver(
    receiver: HookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALLYCLERK_TEST_OTHER_SECRET", "not-the-receivers")
    channel = WebhookChannel(url=receiver.url, secret_env="TALLYCLERK_TEST_OTHER_SECRET")
    with pytest.raises(ChannelError) as caught:
        RealSender().webhook("ops", channel, {"text": "x"})
    assert receiver.refused == 1
    assert receiver.hooks == []
    assert "answered 401" in str(caught.value)


def test_a_failing_receiver_is_a_channel_error_that_hides_the_url_path(
    receiver: HookReceiver,
) -> None:
    receiver.status = 503
    channel = WebhookChannel(url=receiver.url, secret_env=HOOK_SECRET_ENV)
    with pytest.raises(ChannelError) as caught:
        RealSender().webhook("ops", channel, {"text": "x"})
    message = str(caught.value)
    port = receiver.server.server_address[1]
    assert message == (
        f"webhook ops (http://127.0.0.1:{port}) failed: the receiver answered 503 "
        "Service Unavailable"
    )
    assert "XyZsecretpath" not in message
    assert HOOK_SECRET not in message


def test_a_webhook_nobody_listens_on_is_a_channel_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOOK_SECRET_ENV, HOOK_SECRET)
    port = free_port()
    channel = WebhookChannel(
        url=f"http://127.0.0.1:{port}/hook/topsecret", secret_env=HOOK_SECRET_ENV
    )
    with pytest.raises(ChannelError) as caught:
        RealSender().webhook("ops", channel, {"text": "x"})
    message = str(caught.value)
    assert message.startswith(f"webhook ops (http://127.0.0.1:{port}) failed:")
    assert "topsecret" not in message


def test_a_missing_secret_is_named_and_nothing_is_sent(
    receiver: HookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TALLYCLERK_TEST_MISSING_SECRET", raising=False)
    channel = WebhookChannel(url=receiver.url, secret_env="TALLYCLERK_TEST_MISSING_SECRET")
    with pytest.raises(ChannelError) as caught:
        RealSender().webhook("ops", channel, {"text": "x"})
    assert "TALLYCLERK_TEST_MISSING_SECRET is not set" in str(caught.value)
    assert receiver.hooks == []
    assert receiver.refused == 0


def test_a_channel_without_a_secret_posts_unsigned() -> None:
    server = HookReceiver(secret=None).start()
    try:
        RealSender().webhook("slack", WebhookChannel(url=server.url), {"text": "hello"})
        assert len(server.hooks) == 1
        assert SIGNATURE_HEADER not in server.hooks[0].headers
        assert server.hooks[0].headers[TIMESTAMP_HEADER].isdigit()
    finally:
        server.stop()
