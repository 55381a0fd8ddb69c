"""Secrets never reach a log, an error message or a printed setting.

With every logger at DEBUG (as `tallyclerk serve --log-level debug` sets them), a session
logs in with the right and a wrong password, issues, uses and revokes an API token, posts a
form, receives signed webhooks, sends alerts by SMTP (with a login) and to a webhook whose
URL path is its secret, and opens a database whose URL holds a password. No log record, no
answer and no error message holds any of those secrets; Settings print them masked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tallyclerk.alerts._channels import ChannelError, RealSender
from tallyclerk.alerts._rules import EmailChannel, WebhookChannel
from tallyclerk.api import create_app
from tallyclerk.cli import app as cli
from tallyclerk.errors import StoreError
from tallyclerk.settings import Settings
from tallyclerk.store import open_store
from tests.api.conftest import PASSWORD, auth
from tests.integration.test_alert_channels import HookReceiver, Inbox
from tests.security.conftest import SESSION_COOKIE, USER_OF, csrf_of, login_token

WRONG_PASSWORD = "wrong horse battery staple"
DB_PASSWORD = "db-pass-7Hq2x9"
SMTP_PASSWORD = "smtp-pass-Kd83jq"
HOOK_SECRET = "alert-hook-secret-Zp41"
SHOPIFY_SECRET = "shpss_log_secret_55aa"
TRACKING_SECRET = "tracking-log-secret-66bb"
# Loggers of the test's own servers (the SMTP server logs what it receives, by design).
TEST_DOUBLES = ("mail.log", "aiosmtpd")


class Secrets:
    """Every secret the test handles, gathered as they appear."""

    def __init__(self) -> None:
        self.values: set[str] = {
            PASSWORD,
            WRONG_PASSWORD,
            DB_PASSWORD,
            SMTP_PASSWORD,
            HOOK_SECRET,
            SHOPIFY_SECRET,
            TRACKING_SECRET,
        }

    def add(self, value: str | None) -> None:
        assert value, "an empty secret cannot be looked for"
        self.values.add(value)

    def found_in(self, text: str) -> list[str]:
        return [s for s in self.values if s in text]


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at DEBUG, captured."""
    caplog.set_level(logging.DEBUG)
    return caplog


def _logged(caplog: pytest.LogCaptureFixture, *, some: bool = True) -> str:
    """The text of every record (message, arguments and exception) outside the test doubles."""
    formatter = logging.Formatter()
    lines = []
    for record in caplog.records:
        if record.name.startswith(TEST_DOUBLES):
            continue
        lines.append(f"{record.name}: {record.getMessage()}")
        if record.exc_info:
            lines.append(formatter.formatException(record.exc_info))
    assert lines or not some, "nothing was logged: the capture is not working"
    return "\n".join(lines)


def test_the_service_logs_no_secret(
    debug_logs: pytest.LogCaptureFixture,
    api_settings: Settings,
    tokens: dict[str, str],
    tmp_path: Path,
) -> None:
    secrets = Secrets()
    settings = api_settings.model_copy(
        update={
            "service": api_settings.service.model_copy(
                update={
                    "spool_dir": tmp_path / "spool",
                    "shopify_secret": SHOPIFY_SECRET,
                    "tracking_secrets": {"tracking-json": TRACKING_SECRET},
                }
            )
        }
    )
    answers: list[str] = []
    with TestClient(create_app(settings)) as client:
        # Logins: a wrong password, then the right one; a form posted with the session.
        token = login_token(client)  # the login page carries it: looked for in logs only
        logged_only = {token}
        wrong = {"username": USER_OF["admin"], "password": WRONG_PASSWORD, "login_token": token}
        answers.append(client.post("/login", data=wrong).text)
        right = {**wrong, "password": PASSWORD}
        assert client.post("/login", data=right, follow_redirects=False).status_code == 303
        secrets.add(client.cookies.get(SESSION_COOKIE))
        csrf = csrf_of(client.get("/findings"))
        secrets.add(csrf)
        answers.append(client.post("/logout", data={"csrf_token": csrf + "x"}).text)
        # A token: issued, used, revoked, refused.
        admin = auth(tokens["admin"])
        secrets.add(tokens["admin"].split("_", 2)[2])
        issued = client.post("/api/v1/users/otto/tokens", json={"name": "logs"}, headers=admin)
        secret = issued.json()["secret"]
        secrets.add(secret.split("_", 2)[2])
        assert client.get("/api/v1/me", headers=auth(secret)).status_code == 200
        token_id = issued.json()["token"]["token_id"]
        assert client.delete(f"/api/v1/tokens/{token_id}", headers=admin).status_code == 200
        answers.append(client.get("/api/v1/me", headers=auth(secret)).text)
        answers.append(client.get("/api/v1/me", headers=auth(secret[:-1] + "Q")).text)
        # Webhooks: signed right and wrong.
        body = b'{"tracking_number": "1ZLOGS", "carrier": "UPS", "status": "in_transit"}'
        signature = "sha256=" + hmac.new(TRACKING_SECRET.encode(), body, hashlib.sha256).hexdigest()
        secrets.add(signature.removeprefix("sha256="))
        url = "/webhooks/tracking/tracking-json"
        sent = client.post(url, content=body, headers={"X-Tallyclerk-Signature": signature})
        assert sent.status_code == 202, sent.text
        answers.append(client.post(url, content=body + b" ", headers={
            "X-Tallyclerk-Signature": signature}).text)  # fmt: skip
        shopify = base64.b64encode(
            hmac.new(SHOPIFY_SECRET.encode(), b"{}", hashlib.sha256).digest()
        ).decode()
        secrets.add(shopify)
        answers.append(
            client.post(
                "/webhooks/shopify",
                content=b"{} ",
                headers={"X-Shopify-Hmac-Sha256": shopify, "X-Shopify-Topic": "orders/create"},
            ).text
        )
    assert secrets.found_in("\n".join(answers)) == []
    secrets.values |= logged_only
    assert secrets.found_in(_logged(debug_logs)) == []


def test_alert_channels_log_no_secret(
    debug_logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """As `tallyclerk serve` sends them (the service made first), even at DEBUG."""
    create_app(Settings(database_url=f"duckdb:///{tmp_path / 'store.duckdb'}"))
    secrets = Secrets()
    monkeypatch.setenv("TALLYCLERK_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("TALLYCLERK_TEST_HOOK_SECRET", HOOK_SECRET)
    messages = []
    server = Inbox(user="alerts", password=SMTP_PASSWORD).start()
    try:
        channel = EmailChannel(
            port=server.port,
            sender="alerts@brand.example",
            username="alerts",
            password_env="TALLYCLERK_TEST_SMTP_PASSWORD",
        )
        RealSender().email(channel, "sam@brand.example", "breach", "text\n", None)
        assert server.logins == ["alerts"]
        monkeypatch.setenv("TALLYCLERK_TEST_SMTP_PASSWORD", SMTP_PASSWORD + "-wrong")
        secrets.add(SMTP_PASSWORD + "-wrong")
        with pytest.raises(ChannelError) as refused:
            RealSender().email(channel, "sam@brand.example", "breach", "text\n", None)
        messages.append(str(refused.value))
    finally:
        server.stop()
    receiver = HookReceiver(secret=HOOK_SECRET).start()
    try:
        path = receiver.url.split("/", 3)[3]
        secrets.add(path)
        hook = WebhookChannel(url=receiver.url, secret_env="TALLYCLERK_TEST_HOOK_SECRET")
        RealSender().webhook("slack", hook, {"text": "breach"})
        assert len(receiver.hooks) == 1
        receiver.status = 500
        with pytest.raises(ChannelError) as failed:
            RealSender().webhook("slack", hook, {"text": "breach"})
        messages.append(str(failed.value))
    finally:
        receiver.stop()
    assert secrets.found_in(_logged(debug_logs)) == []
    assert secrets.found_in("\n".join(messages)) == []


def test_a_database_password_is_never_shown(
    debug_logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"postgresql+psycopg://tally:{DB_PASSWORD}@127.0.0.1:1/tally"
    secrets = Secrets()
    settings = Settings(
        database_url=url,
        service={"shopify_secret": SHOPIFY_SECRET, "tracking_secrets": {"x": TRACKING_SECRET}},  # type: ignore[arg-type]
    )
    shown = [repr(settings), str(settings), repr(settings.service), f"{settings}"]
    with pytest.raises(StoreError) as refused:
        open_store(url=url)
    shown.append(str(refused.value))
    monkeypatch.chdir(tmp_path)  # no command may make a store where the tests run
    for args in (["--db", url, "status"], ["--db", url, "batches"], ["--db", url, "init"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code != 0, result.output
        shown.append(result.output)
    assert "127.0.0.1" in shown[-1]  # the message names the database, without its password
    assert secrets.found_in("\n".join(shown)) == []
    assert secrets.found_in(_logged(debug_logs, some=False)) == []
    assert settings.database_url == url  # the value itself is unchanged for those who use it
    assert settings.service.shopify_secret == SHOPIFY_SECRET
