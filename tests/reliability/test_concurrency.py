"""Many requests at once on the embedded store: each waits its turn, none starves the others.

The store is taken in a thread of its own (not anyio's shared pool of 40): when more than 40
requests waited there for the DuckDB file, the request holding it found no thread left to
finish with, and every request timed out with 503 after the store wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tallyclerk.access import add_user, create_token
from tallyclerk.api import create_app
from tallyclerk.settings import Settings
from tallyclerk.store import open_store

CONCURRENT = 64


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    url = f"duckdb:///{tmp_path / 'store.duckdb'}"
    store = open_store(url=url)
    with store.begin() as connection:
        add_user(connection, "ana", "admin")
        token = create_token(connection, "ana")[1]
    store.close()
    settings = Settings(
        database_url=url,
        service={"spool_dir": tmp_path / "spool", "store_wait_seconds": 120},  # type: ignore[arg-type]
    )
    with TestClient(create_app(settings)) as client:
        yield client, token


def test_more_requests_than_threads_all_get_their_turn(served: tuple[TestClient, str]) -> None:
    client, token = served
    headers = {"Authorization": f"Bearer {token}"}

    def ask(_: int) -> int:
        return client.get("/api/v1/health", headers=headers).status_code

    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        statuses = list(pool.map(ask, range(CONCURRENT * 2)))
    assert statuses == [200] * (CONCURRENT * 2)
