"""Browser tests: the real service under uvicorn over a small real store, driven by Chromium.

The store is built once per session: two simulated months (November and December 2026, two
providers with their contracts), ingested, evaluated with the clock in December (so the
open month has burn rates), reconciled, with an admin and one user per provider. The
service runs in its own process on a free loopback port, as `tallyclerk serve` would.

Chromium is Debian's (/usr/bin/chromium). Without it the tests are skipped, except in CI
(CI=true), where they fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tallyclerk.access import add_user, create_token
from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.ingest import ingest_paths
from tallyclerk.reconcile import DOMAINS, run_findings
from tallyclerk.settings import Settings
from tallyclerk.simulate import simulate
from tallyclerk.sla import evaluate_periods
from tallyclerk.store import Store, open_store, open_waiting

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
BRAND_TIMEZONE = "America/Chicago"
PERIODS = (date(2026, 11, 1), date(2026, 12, 1))
AS_OF = datetime(2026, 12, 20, 18, 0, tzinfo=UTC)  # December still open: burn rates recorded
PROVIDERS = ("eastbridge", "westcoast")
PASSWORD = "correct horse battery"
ADMIN = "ana"
PROVIDER_USERS = {"eastbridge": "eve", "westcoast": "wes"}
ORDERS = 300
SEED = 3


def pytest_configure(config: pytest.Config) -> None:
    """The `browser` marker (until pyproject.toml names it)."""
    config.addinivalue_line(
        "markers", "browser: drives the dashboard in headless Chromium (/usr/bin/chromium)"
    )


@dataclass(frozen=True)
class Service:
    """The running service: where it listens, its store and the admin's API token."""

    base_url: str
    settings: Settings
    admin_token: str

    def store(self) -> Store:
        """The store, opened for a moment (the service opens it per request too)."""
        return open_waiting(self.settings.database_url, wait=30)

    def api(self, path: str, **params: Any) -> Any:
        """A GET on the REST API as the admin, its JSON body."""
        response = httpx.get(
            f"{self.base_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; skipped without it, except in CI where it must be there."""
    if not CHROMIUM.exists():
        message = f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


def _build_store(folder: Path) -> tuple[Settings, str]:
    """The simulated quarter, loaded, evaluated and reconciled; returns the admin's token."""
    data = folder / "data"
    simulate(data, ORDERS, seed=SEED, start=PERIODS[0], months=len(PERIODS))
    settings = Settings(
        database_url=f"duckdb:///{folder / 'store.duckdb'}",
        brand={"timezone": BRAND_TIMEZONE},  # type: ignore[arg-type]
    )
    store = open_store(settings)
    try:
        with store.begin() as connection:
            for path in sorted((data / "contracts").glob("*.yaml")):
                add_contract(
                    connection, load_contract(path), path.read_text(encoding="utf-8"), path.name
                )
        run = ingest_paths(store, [data], settings=settings)
        assert run.ok, [(b.kind, b.status, b.message) for b in run.batches if not b.ok]
        evaluate_periods(store, list(PERIODS), as_of=AS_OF, settings=settings)
        run_findings(store, DOMAINS, as_of=AS_OF, settings=settings)
        with store.begin() as connection:
            add_user(connection, ADMIN, "admin", password=PASSWORD, display_name="Ana")
            for provider, user in PROVIDER_USERS.items():
                add_user(connection, user, "provider", provider_id=provider, password=PASSWORD)
            _, token = create_token(connection, ADMIN, name="browser tests")
    finally:
        store.close()
    return settings, token


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited early:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"the service did not answer within 60 s:\n{log.read_text(errors='replace')}"
    )


@pytest.fixture(scope="session")
def service(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service in its own process over the session's store, stopped at the end."""
    folder = tmp_path_factory.mktemp("browser-store")
    settings, token = _build_store(folder)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "TALLYCLERK_DATABASE_URL": settings.database_url,
        "TALLYCLERK_BRAND__TIMEZONE": BRAND_TIMEZONE,
        "TALLYCLERK_SERVICE__SPOOL_DIR": str(folder / "spool"),
    }
    log = folder / "service.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "tallyclerk.api:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=folder,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(base_url, process, log)
        yield Service(base_url, settings, token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Any]:
    """One headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the tests leave their screenshots (test-artifacts/screenshots)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
